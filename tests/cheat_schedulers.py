"""Cheating schedulers, loaded as plugins only by the tests that need them (test_cheats).

Each one gets a perfect-looking result the cheap way; before the harness caught them,
every one came out VALID and ranked first. They are the heapq design (or a minimal loop)
with exactly one cheat, so a test catching one can only be the harness noticing that
cheat.
"""

from __future__ import annotations

import heapq
import math
import os
import sys
import time
from collections.abc import Coroutine, Generator, Iterable, Mapping
from typing import Any, ClassVar

from schedulers.heapq_timers import HeapqScheduler

#: The real clocks, read when this plugin is imported (the harness imported its own first).
_REAL_PERF_COUNTER = time.perf_counter
_REAL_PROCESS_TIME = time.process_time


class PatchesClock(HeapqScheduler):
    """Cheat 1: runs correctly, then replaces ``time.perf_counter`` and
    ``time.process_time`` so the harness's closing readings make the run look instant."""

    name: ClassVar[str] = "patches-clock"
    #: The run's duration by the real clock, as this plugin saw it (for the tests).
    last_real_elapsed: ClassVar[float | None] = None

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        start, cpu_start = _REAL_PERF_COUNTER(), _REAL_PROCESS_TIME()
        counters = super().run(coroutines)
        type(self).last_real_elapsed = _REAL_PERF_COUNTER() - start
        time.perf_counter = lambda: start + 1e-6
        time.process_time = lambda: cpu_start + 1e-6
        return counters


class FeedsDeadlines(HeapqScheduler):
    """Cheat 2: a virtual clock in disguise on the real clock.

    Replaces the clock class's ``now`` with its own time line and jumps it to each
    rocket's deadline instead of waiting: rockets that read the time through the clock
    class see lateness exactly 0, and the run takes no time at all.
    """

    name: ClassVar[str] = "feeds-deadlines"

    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self.fake_now = 0.0
        type(clock).now = staticmethod(lambda: self.fake_now)

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        heap = [(0.0, seq, task) for seq, task in enumerate(coroutines)]
        seq = len(heap)
        resumes = 0
        while heap:
            due, _, task = heapq.heappop(heap)
            self.fake_now = max(self.fake_now, due)  # "wait" by jumping
            resumes += 1
            try:
                seconds = task.send(None)
            except StopIteration:
                continue
            heapq.heappush(heap, (self.fake_now + seconds, seq, task))
            seq += 1
        return {"resumes": resumes}


class WritesTrace(HeapqScheduler):
    """Cheat 3: starts each rocket (it runs to its first sleep) and never resumes it again;
    writes its expected events (and small, plausible lateness) through its frame and
    reports the expected resume count."""

    name: ClassVar[str] = "writes-trace"
    lateness_s: ClassVar[float] = 50e-6

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        resumes = 0
        for coro in coroutines:
            next(coro)  # started, so it does not look untouched; suspended in its first sleep
            local = coro.gi_frame.f_locals
            steps, launch, record = local["steps"], local["launch"], local["record"]
            late = local.get("late")  # timed bodies only
            sleeps = len(steps) + 1
            for _ in range(sleeps if late is not None else 0):
                late(self.lateness_s)
            for step in steps:
                record(step)
            record(launch)
            resumes += 1 + sleeps
        return {"resumes": resumes}


class WritesNanTrace(WritesTrace):
    """Cheat 3 with NaN lateness (a NaN compares false with everything: never "early")."""

    name: ClassVar[str] = "writes-nan-trace"
    lateness_s: ClassVar[float] = math.nan


class SkipsSleep(HeapqScheduler):
    """Cheat 4: ``sleep(0)`` returns at once instead of suspending, and the resume count it
    reports adds one resume per skipped sleep, so it matches the expected count."""

    name: ClassVar[str] = "skips-sleep"

    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self.skipped = 0

    def sleep(self, seconds: float) -> Any:  # type: ignore[override]
        if seconds == 0:
            self.skipped += 1
            return ()
        return HeapqScheduler.sleep(seconds)

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        counters = dict(super().run(coroutines))
        counters["resumes"] += self.skipped
        return counters


class _Ready:
    """Awaiting it returns at once: no suspension."""

    def __await__(self) -> Generator[Any, None, None]:
        return iter(())  # type: ignore[return-value]


class _WaitRequest:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __await__(self) -> Generator[float, None, None]:
        yield self.seconds


class SkipsSleepAsync:
    """Cheat 4 in the async dialect: a heap loop over coroutine objects whose ``sleep(0)``
    is an awaitable that completes without suspending."""

    name: ClassVar[str] = "skips-sleep-async"
    dialect: ClassVar[str] = "async"

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.skipped = 0

    def sleep(self, seconds: float) -> Any:
        if seconds == 0:
            self.skipped += 1
            return _Ready()
        return _WaitRequest(seconds)

    def run(self, coroutines: Iterable[Coroutine[Any, Any, None]]) -> Mapping[str, int]:
        now, wait = self.clock.now, self.clock.wait
        heap = [(now(), seq, coro) for seq, coro in enumerate(coroutines)]
        seq = len(heap)
        resumes = 0
        while heap:
            due, _, coro = heapq.heappop(heap)
            if due > now():
                wait(due - now())
            resumes += 1
            try:
                seconds = coro.send(None)
            except StopIteration:
                continue
            heapq.heappush(heap, (now() + seconds, seq, coro))
            seq += 1
        return {"resumes": resumes + self.skipped}


class ZeroesLateness(HeapqScheduler):
    """Runs correctly, then overwrites every recorded lateness with 0.0 through a frame:
    the trace stays right and the makespan real, only the figures are impossible."""

    name: ClassVar[str] = "zeroes-lateness"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        coros = list(coroutines)
        late = coros[0].gi_frame.f_locals.get("late") if coros else None
        counters = super().run(coros)
        if late is not None:
            lateness = late.__self__
            lateness[:] = [0.0] * len(lateness)
        return counters


class _BadCounter(HeapqScheduler):
    bad: ClassVar[object] = None

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, Any]:  # type: ignore[override]
        counters: dict[str, Any] = dict(super().run(coroutines))
        counters["resumes"] = self.bad
        return counters


class NanCounter(_BadCounter):
    name: ClassVar[str] = "bad-counter-nan"
    bad: ClassVar[object] = math.nan


class HugeCounter(_BadCounter):
    name: ClassVar[str] = "bad-counter-huge"
    bad: ClassVar[object] = 10**400


class StrCounter(_BadCounter):
    name: ClassVar[str] = "bad-counter-str"
    bad: ClassVar[object] = "12"


class NegativeCounter(_BadCounter):
    name: ClassVar[str] = "bad-counter-negative"
    bad: ClassVar[object] = -5


class ExitsMidRun(HeapqScheduler):
    """Ends its whole process, successfully, halfway through a run."""

    name: ClassVar[str] = "exits-mid-run"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        coros = list(coroutines)
        for coro in coros[: len(coros) // 2]:
            next(coro)
        os._exit(0)


# ---- the harness's own names (issue findings 1 and 2) ------------------------------------

def harness_bindings(*originals: object) -> list[tuple[dict[str, Any], str]]:
    """Every module-level name in the harness's modules bound to one of ``originals``,
    discovered when called: a rename in the harness cannot hide a name from these cheats."""
    found = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("bench."):
            continue
        namespace = vars(module)
        for key, value in list(namespace.items()):
            if any(value is original for original in originals):
                found.append((namespace, key))
    return found


def rebind(bindings: list[tuple[dict[str, Any], str]], fake: Any, once: bool) -> None:
    """Bind every name to ``fake(original, restore)``; with ``once`` the fake restores all
    the originals on its first call, so nothing is left to see afterwards."""
    saved = [(namespace, key, namespace[key]) for namespace, key in bindings]

    def restore() -> None:
        if once:
            for namespace, key, value in saved:
                namespace[key] = value

    for namespace, key, value in saved:
        namespace[key] = fake(value, restore)


class RebindsClockOnce(HeapqScheduler):
    """Runs honestly, then rebinds every harness name bound to the clocks the harness
    captured so the closing readings report a third of the real time; the fakes put the
    originals back on their first call."""

    name: ClassVar[str] = "rebinds-clock-once"
    once: ClassVar[bool] = True

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        began = {_REAL_PERF_COUNTER: _REAL_PERF_COUNTER(), _REAL_PROCESS_TIME: _REAL_PROCESS_TIME()}
        counters = super().run(coroutines)

        def fake(original: Any, restore: Any) -> Any:
            start = began[original]

            def reading() -> float:
                restore()
                return float(start + (original() - start) / 3)
            return reading

        rebind(harness_bindings(_REAL_PERF_COUNTER, _REAL_PROCESS_TIME), fake, once=self.once)
        return counters


class LeavesClockRebound(RebindsClockOnce):
    """``rebinds-clock-once`` that leaves its fakes in place."""

    name: ClassVar[str] = "leaves-clock-rebound"
    once: ClassVar[bool] = False


def _valid_verdict(original: Any, restore: Any) -> Any:
    """A validator that calls the real one and reports its verdict as VALID."""
    def validate(workload: Any, *args: Any, **kwargs: Any) -> Any:
        restore()
        verdict = original(workload, *args, **kwargs)
        status = type(verdict.status)
        return type(verdict)(status("valid"), (), workload.expected_resumes, workload.expected_resumes, None, 0, 0.0)
    return validate


class RebindsValidator(WritesTrace):
    """Does no work (writes the trace through the frames, as ``writes-trace``) and rebinds
    every harness name bound to the validator to one that calls it and says VALID; the fake
    puts the original back on its first call."""

    name: ClassVar[str] = "rebinds-validator"
    once: ClassVar[bool] = True

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        counters = super().run(coroutines)
        checks = sys.modules["bench.workload.checks"]
        rebind(harness_bindings(checks.validate), _valid_verdict, once=self.once)
        return counters


class LeavesValidatorRebound(RebindsValidator):
    """``rebinds-validator`` that leaves its fake in place."""

    name: ClassVar[str] = "leaves-validator-rebound"
    once: ClassVar[bool] = False


class HonestWhenChecked(WritesTrace):
    """Runs honestly when handed as few rockets as the old checking run (300 at most);
    otherwise writes the trace through the frames and closes every coroutine, so none is
    left suspended."""

    name: ClassVar[str] = "honest-when-checked"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        coros = list(coroutines)
        if len(coros) <= 300:
            return HeapqScheduler.run(self, coros)
        counters = super().run(coros)
        for coro in coros:
            coro.close()
        return counters


class SwapsClockClassDuringRun(FeedsDeadlines):
    """``feeds-deadlines`` that replaces the clock class's ``now`` only while ``run`` runs
    and puts it back in ``finally``: no trace of the swap remains when ``run`` returns."""

    name: ClassVar[str] = "swaps-clock-class"

    def __init__(self, clock: Any) -> None:
        HeapqScheduler.__init__(self, clock)
        self.fake_now = 0.0
        self.clock_class = type(clock)

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        original = self.clock_class.__dict__["now"]
        self.clock_class.now = staticmethod(lambda: self.fake_now)
        try:
            return super().run(coroutines)
        finally:
            self.clock_class.now = original


class RaisesKeyboardInterrupt(HeapqScheduler):
    """Raises KeyboardInterrupt from ``run`` (nobody pressed Ctrl-C)."""

    name: ClassVar[str] = "raises-keyboard-interrupt"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        raise KeyboardInterrupt("from the plugin")


class PluginStop(BaseException):
    """Not an Exception: escapes ``except Exception``."""


class RaisesBaseException(HeapqScheduler):
    name: ClassVar[str] = "raises-base-exception"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        raise PluginStop("the plugin's own BaseException")


class SysExitMidRun(HeapqScheduler):
    name: ClassVar[str] = "sys-exit-mid-run"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        sys.exit(4)


def __getattr__(name: str) -> Any:
    """Entry points that misbehave while being loaded (``ep.load()`` resolves the attribute
    with ``getattr``): ``ExitsAtLoad`` ends the loading process with status 0,
    ``SysExitAtLoad`` raises ``SystemExit(3)``, ``PatchesAtLoad`` replaces
    ``time.perf_counter`` in the loading process and then loads like heapq."""
    if name == "ExitsAtLoad":
        os._exit(0)
    if name == "SysExitAtLoad":
        raise SystemExit(3)
    if name == "PatchesAtLoad":
        time.perf_counter = lambda: 0.0
        return HeapqScheduler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
