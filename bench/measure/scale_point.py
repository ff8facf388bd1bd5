"""Measure one point of the scaling sweep: one scheduler, one mode, N rockets.

The ``scale-point`` handler of ``bench.measure.isolate``: each point gets a fresh process,
so peak RSS belongs to this point alone, and returns one JSON object. Scheduler
``body-floor/generator`` measures the body floor at the same N, so cache
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

import resource
import statistics
import tracemalloc
from collections.abc import Mapping
from typing import Any

from bench.measure.alarm import Alarm, RunTimeout
from bench.measure.clocks import ClockKind
from bench.measure.execute import SchedulerCrashed
from bench.measure.executors import run_once
from bench.measure.targets import load_target
from bench.workload.rockets import Mode, Workload, build_coroutines

MIN_TOTAL_S = 0.3
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


def handle(params: Mapping[str, Any], channel: object) -> dict[str, Any]:
    rockets, budget = int(params["rockets"]), float(params["budget_s"])
    entry = load_target(params["scheduler"])
    if not entry.available:
        return {"status": "skipped", "reason": f"unavailable: {entry.error}"}
    mode: Mode = params["mode"] if params["mode"] in ("switch", "io") else "timed"
    clock: ClockKind = "virtual" if mode == "timed" else "real"
    workload = Workload.generate(rockets, int(params["seed"]), mode, 1.0)
    per_resume: list[float] = []
    total = 0.0
    # A loop that runs once per process (Twisted's reactor) gets one timing run, and its
    # memory is not traced: that would need a second run in this process.
    repeats = 1 if entry.one_run_per_process else MAX_REPEATS
    while total < MIN_TOTAL_S and len(per_resume) < repeats:
        alarm = Alarm(budget - total, f"exceeded {budget:g} s")
        try:
            outcome = run_once(entry, workload, clock, probe=alarm)
        except (RunTimeout, SchedulerCrashed):
            if not alarm.fired:
                raise
            return {"status": "stopped", "run_s": budget,
                    "reason": f"exceeded the {budget:g} s budget at N={rockets:,}"}
        if not outcome.verdict.valid:
            return {"status": "failed", "reason": f"INVALID: {outcome.verdict.explain()}"}
        per_resume.append(outcome.wall_s / workload.expected_resumes)
        total += outcome.wall_s
        del outcome
    # io points: no memory pass (its sockets are kernel memory that tracemalloc cannot see).
    traced = not entry.one_run_per_process and mode != "io"
    bytes_per_rocket = measure_memory(entry, workload, clock) if traced else None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return {
        "status": "ok", "reason": None,
        "ns_per_resume": statistics.median(per_resume) * 1e9,
        "repeats": len(per_resume),
        "wall_s": total / len(per_resume),
        "run_s": total,
        "tracemalloc_bytes_per_rocket": bytes_per_rocket,
        "peak_rss_bytes": rss,
    }
