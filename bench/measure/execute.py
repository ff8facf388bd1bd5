"""Run one scheduler on one workload once, in this process, and validate it.

This is the unit every measurement is made of: the one-shot CLI calls it directly and
each pyperf worker calls it inside its timed function. Only ``scheduler.run`` sits
between the two clock readings; building the scheduler, the coroutines and the trace,
and validating afterwards, all happen outside the timed region.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.measure.clocks import ClockKind, make_clock
from bench.measure.registry import SchedulerEntry
from bench.workload.checks import Verdict, validate
from bench.workload.rockets import Workload, build_coroutines


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

    @property
    def resumes_for_cost(self) -> int:
        """The denominator of switch cost: useful rocket resumes, the same for everyone.

        A polling design's extra resumes are its overhead, so they show up as a higher
        cost per useful switch rather than disappearing into a larger denominator.
        """
        return self.workload.expected_resumes


def execute_once(entry: SchedulerEntry, workload: Workload, clock_kind: ClockKind = "real",
                 probe: Probe | None = None) -> RunOutcome:
    """Build, run (timed) and validate one run. Raises ``SchedulerCrashed`` on error.

    ``probe``, when given, is started right before ``run`` and stopped right after it.
    """
    cls = entry.cls
    assert cls is not None, "execute_once needs an available scheduler"
    clock = make_clock(clock_kind)
    try:
        scheduler = cls(clock)
        coros, trace = build_coroutines(workload, cls.dialect, scheduler.sleep, clock.now)
    except Exception as exc:
        raise SchedulerCrashed(f"setup failed: {type(exc).__name__}: {exc}") from exc
    # Collect leftovers of the previous run now, not in the middle of this one.
    gc.collect()
    run = scheduler.run
    cpu0 = time.process_time()
    t0 = time.perf_counter()
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
    except Exception as exc:
        _close_all(coros)
        raise SchedulerCrashed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        if probe is not None:
            probe.stop()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    _close_all(coros)  # a scheduler that lost a rocket leaves a suspended coroutine behind
    verdict = validate(workload, trace.events, trace.lateness, _counters(counters), entry.polling)
    return RunOutcome(entry.name, workload, clock_kind, wall, cpu, _counters(counters), verdict,
                      trace.lateness)


def _counters(raw: Any) -> Mapping[str, int] | None:
    if raw is None:
        return None
    return {str(k): int(v) for k, v in dict(raw).items()}


def _close_all(coros: list[Any]) -> None:
    for coro in coros:
        close = getattr(coro, "close", None)
        if close is not None:
            # A coroutine refusing to close must not hide the run's result.
            with contextlib.suppress(Exception):
                close()
