"""Run one scheduler on one workload once, in this process, and validate it.

This is the unit every measurement is made of: the one-shot CLI calls it directly and
each pyperf worker calls it inside its timed function. Only ``scheduler.run`` sits
between the two clock readings; building the scheduler, the coroutines and the trace,
and validating afterwards, all happen outside the timed region.

What the harness reads is fixed when this module is imported, before any scheduler is:
the two clocks (``time.perf_counter`` and ``time.process_time``, captured in
``bench.measure.clocks``), the rocket bodies' ``now`` (a captured function, never looked
up through the clock's class) and the validator. A scheduler that patches ``time`` or
the clock classes afterwards fools only itself, and the run is refused
(``clocks.tampering``).
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from bench.measure.alarm import RunTimeout
from bench.measure.clocks import HARNESS_CPU, HARNESS_NOW, ClockKind, bodies_now, make_clock, tampering
from bench.measure.registry import SchedulerEntry
from bench.workload.checks import Verdict, check_lateness, parse_counters, validate
from bench.workload.rockets import Workload, build_coroutines
from bench.workload.status import Status

#: Module-level references captured at import (before any plugin is imported): the
#: measuring clocks and the functions that record and judge a run.
_perf_counter: Final = HARNESS_NOW
_process_time: Final = HARNESS_CPU
_collect: Final = gc.collect
_validate: Final = validate
_tampering: Final = tampering

#: Wraps the scheduler's ``sleep`` before the bodies get it (the unmeasured suspension
#: check counts suspensions through it); None: the bodies get ``scheduler.sleep`` itself.
SleepWrapper = Callable[[Callable[[float], Any], str], Callable[[float], Any]]


class Probe(Protocol):
    """Something switched on immediately before ``scheduler.run`` and off right after it.

    The Valgrind instruction counter uses it (Callgrind client requests), so the count
    covers ``run`` alone. ``start``/``stop`` must cost nothing per resume.
    """

    def start(self) -> None: ...

    def stop(self) -> None: ...


class SchedulerCrashed(Exception):
    """The scheduler raised while running; the message says what it raised."""


@dataclass
class RunOutcome:
    scheduler: str
    workload: Workload
    clock: ClockKind
    wall_s: float
    cpu_s: float
    counters: Mapping[str, int] | None
    verdict: Verdict
    lateness_s: list[float] = field(default_factory=list)
    #: Per wake (timed mode): due before the last rocket started (the start-up burst).
    burst_flags: list[bool] = field(default_factory=list)

    @property
    def resumes_for_cost(self) -> int:
        """The denominator of switch cost: useful rocket resumes, the same for everyone.

        A polling design's extra resumes are its overhead, so they show up as a higher
        cost per useful switch rather than disappearing into a larger denominator.
        """
        return self.workload.expected_resumes


def execute_once(entry: SchedulerEntry, workload: Workload, clock_kind: ClockKind = "real",
                 probe: Probe | None = None, wrap_sleep: SleepWrapper | None = None) -> RunOutcome:
    """Build, run (timed) and validate one run. Raises ``SchedulerCrashed`` on error.

    ``probe``, when given, is started right before ``run`` and stopped right after it.
    ``wrap_sleep(sleep, dialect)``, when given, replaces the ``sleep`` the bodies call.
    """
    cls = entry.cls
    assert cls is not None, "execute_once needs an available scheduler"
    clock = make_clock(clock_kind)
    now = bodies_now(clock)  # captured at import: not ``clock.now`` looked up at run time
    try:
        scheduler = cls(clock)
        dialect = cls.dialect
        sleep = scheduler.sleep
        if wrap_sleep is not None:
            sleep = wrap_sleep(sleep, dialect)
        coros, trace = build_coroutines(workload, dialect, sleep, now)
    except Exception as exc:
        raise SchedulerCrashed(f"setup failed: {type(exc).__name__}: {exc}") from exc
    # Collect leftovers of the previous run now, not in the middle of this one.
    _collect()
    run = scheduler.run
    cpu0 = _process_time()
    t0 = _perf_counter()
    if probe is not None:
        probe.start()
    try:
        counters = run(coros)
    except MemoryError:
        # Not a scheduler bug to describe: the caller decides (a worker reports it as
        # "out of memory"); free the coroutines first so reporting has room to work.
        _close_all(coros)
        coros.clear()
        raise
    except RunTimeout:
        raise  # the harness's own limit: the caller reports it
    except BaseException as exc:
        # KeyboardInterrupt, SystemExit and a plugin's own BaseException subclasses too: in a
        # worker they can only come from the plugin, and the reason must name them.
        _close_all(coros)
        raise SchedulerCrashed(describe_raise(exc)) from exc
    finally:
        if probe is not None:
            probe.stop()
    wall = _perf_counter() - t0
    cpu = _process_time() - cpu0
    unstarted = sum(1 for coro in coros if _never_started(coro))
    # Proof of work, inline rather than through a module-level name a plugin could rebind:
    # every coroutine ran to its end (no frame left) and none was closed or thrown into.
    unfinished = sum(1 for coro in coros if getattr(coro, "gi_frame", None) or getattr(coro, "cr_frame", None))
    aborted = len(trace.aborted)
    _close_all(coros)  # a scheduler that lost a rocket leaves a suspended coroutine behind
    verdict = _validate(workload, trace.events, trace.lateness, counters, entry.polling,
                        wall_s=wall, real_clock=clock_kind == "real", tampered=_tampering(),
                        unstarted=unstarted)
    if (unfinished or aborted) and verdict.status is not Status.INVALID:
        why = (f"proof of work failed: {unfinished + aborted} rockets did not run to their end ({unfinished} left "
               f"suspended, {aborted} closed or thrown into), yet the run looked complete")
        verdict = Verdict(Status.INVALID, (*verdict.reasons, why), verdict.resumes, verdict.expected_resumes,
                          verdict.wasted, verdict.early_wakes, verdict.worst_early_s)
    parsed, _ = parse_counters(counters)
    checked = check_lateness(trace.lateness)
    lateness = checked if isinstance(checked, list) else []  # no NaN or junk past this point
    flags = trace.burst_flags() if len(lateness) == len(trace.deadlines) else []
    return RunOutcome(entry.name, workload, clock_kind, wall, cpu, parsed, verdict, lateness, flags)


def describe_raise(exc: BaseException) -> str:
    """What ``run`` raised, in words: the exception's type and message, and what kind of
    exit it was when it was not an ordinary exception."""
    kind = type(exc)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    if isinstance(exc, SystemExit):
        return f"run() called sys.exit({exc.code!r})"
    if isinstance(exc, KeyboardInterrupt):
        return f"run() raised KeyboardInterrupt{': ' + str(exc) if str(exc) else ''} (not a Ctrl-C of the harness)"
    if not isinstance(exc, Exception):
        return f"run() raised {name} (a BaseException, not an Exception){': ' + str(exc) if str(exc) else ''}"
    return f"{kind.__name__}: {exc}"


def _never_started(coro: Any) -> bool:
    """True for a generator or coroutine object still in its created state."""
    if isinstance(coro, types.GeneratorType):
        return inspect.getgeneratorstate(coro) == inspect.GEN_CREATED
    if isinstance(coro, types.CoroutineType):
        return inspect.getcoroutinestate(coro) == inspect.CORO_CREATED
    return False  # the greenlet dialect's callables have no state to ask


def _close_all(coros: list[Any]) -> None:
    for coro in coros:
        close = getattr(coro, "close", None)
        if close is not None:
            # A coroutine refusing to close must not hide the run's result.
            with contextlib.suppress(Exception):
                close()
