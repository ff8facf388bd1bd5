"""Measure one point of the scaling sweep: one scheduler, one mode, N rockets.

Run as ``python -m bench.measure.scale_point --scheduler heapq --mode switch --rockets 100000
--budget 90`` in a fresh process, so peak RSS belongs to this point alone. Prints one JSON
object. ``--scheduler body-floor/generator`` measures the body floor at the same N, so cache
effects of N live coroutines are separated from the scheduler's own growth.

The budget counts the scheduler's ``run`` alone (not building the coroutines, validating or
tracing memory): a run is stopped by an interval timer armed only around ``run``, and the
point is ``stopped`` once the runs together exceed the budget.

Two separate passes, because tracing memory distorts time:

1. timing: repeated untraced runs (at least ``MIN_TOTAL_S`` of scheduler time, at most
   ``MAX_REPEATS`` runs), the median wall time per useful resume reported;
2. memory: one run under ``tracemalloc``; bytes per rocket = peak traced memory while the
   rockets are built and run, minus what was traced before, divided by N. It counts the
   coroutine frames, the scheduler's per-task structures and the trace itself (the same
   for every scheduler); it excludes the interpreter. Peak RSS is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import statistics
import sys
import tracemalloc
from types import FrameType
from typing import Any

from bench.measure.clocks import ClockKind
from bench.measure.execute import SchedulerCrashed, execute_once
from bench.measure.scale import DEFAULT_BUDGET_S
from bench.measure.targets import load_target
from bench.measure.worker import RunTimeout
from bench.workload.rockets import Mode, Workload, build_coroutines

MIN_TOTAL_S = 0.3


class RunAlarm:
    """A probe that arms an interval timer for ``run`` alone: the budget never pays for
    building the coroutines or validating the trace."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.previous: Any = None
        #: Whether the alarm went off. A loop may catch the ``RunTimeout`` raised inside it
        #: and raise its own error instead (trio wraps it in ``TrioInternalError``): the
        #: flag, not the exception's type, says the budget ran out.
        self.fired = False

    def start(self) -> None:
        def on_alarm(signum: int, frame: FrameType | None) -> None:
            self.fired = True
            raise RunTimeout(f"exceeded {self.seconds:g} s")

        self.previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
MAX_REPEATS = 15


def measure_memory(entry: object, workload: Workload, clock: str) -> float:
    from bench.measure.clocks import make_clock

    cls = entry.cls  # type: ignore[attr-defined]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    clock_obj = make_clock(clock)  # type: ignore[arg-type]
    scheduler = cls(clock_obj)
    coros, trace = build_coroutines(workload, cls.dialect, scheduler.sleep, clock_obj.now)
    scheduler.run(coros)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del coros, trace, scheduler
    return (peak - before) / workload.count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scheduler", required=True)
    parser.add_argument("--mode", choices=("switch", "virtual"), required=True)
    parser.add_argument("--rockets", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1969)
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S)
    args = parser.parse_args(argv)
    entry = load_target(args.scheduler)
    if not entry.available:
        print(json.dumps({"status": "skipped", "reason": f"unavailable: {entry.error}"}))
        return 0
    mode: Mode = "switch" if args.mode == "switch" else "timed"
    clock: ClockKind = "real" if args.mode == "switch" else "virtual"
    workload = Workload.generate(args.rockets, args.seed, mode, 1.0)
    per_resume: list[float] = []
    total = 0.0
    # A loop that runs once per process (Twisted's reactor) gets one timing run, and its
    # memory is not traced: that would need a second run in this process.
    repeats = 1 if entry.one_run_per_process else MAX_REPEATS
    while total < MIN_TOTAL_S and len(per_resume) < repeats:
        alarm = RunAlarm(max(args.budget - total, 1e-3))
        try:
            outcome = execute_once(entry, workload, clock, probe=alarm)
        except (RunTimeout, SchedulerCrashed):
            if not alarm.fired:
                raise
            print(json.dumps({"status": "stopped", "run_s": args.budget,
                              "reason": f"exceeded the {args.budget:g} s budget at N={args.rockets:,}"}))
            return 0
        if not outcome.verdict.valid:
            print(json.dumps({"status": "failed", "reason": f"INVALID: {outcome.verdict.explain()}"}))
            return 0
        per_resume.append(outcome.wall_s / workload.expected_resumes)
        total += outcome.wall_s
        del outcome
    bytes_per_rocket = None if entry.one_run_per_process else measure_memory(entry, workload, clock)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({
        "status": "ok", "reason": None,
        "ns_per_resume": statistics.median(per_resume) * 1e9,
        "repeats": len(per_resume),
        "wall_s": total / len(per_resume),
        "run_s": total,
        "tracemalloc_bytes_per_rocket": bytes_per_rocket,
        "peak_rss_bytes": rss,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
