"""Measure one point of the scaling sweep: one scheduler, one mode, N rockets.

Run as ``python -m bench.measure.scale_point --scheduler heapq --mode switch --rockets 100000``
in a fresh process, so peak RSS belongs to this point alone. Prints one JSON object.

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
import statistics
import sys
import tracemalloc

from bench.measure.clocks import ClockKind
from bench.measure.execute import execute_once
from bench.measure.registry import load_named
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scheduler", required=True)
    parser.add_argument("--mode", choices=("switch", "virtual"), required=True)
    parser.add_argument("--rockets", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1969)
    args = parser.parse_args(argv)
    entry = load_named(args.scheduler)
    if not entry.available:
        print(json.dumps({"status": "skipped", "reason": f"unavailable: {entry.error}"}))
        return 0
    mode: Mode = "switch" if args.mode == "switch" else "timed"
    clock: ClockKind = "real" if args.mode == "switch" else "virtual"
    workload = Workload.generate(args.rockets, args.seed, mode, 1.0)
    per_resume: list[float] = []
    total = 0.0
    while total < MIN_TOTAL_S and len(per_resume) < MAX_REPEATS:
        outcome = execute_once(entry, workload, clock)
        if not outcome.verdict.valid:
            print(json.dumps({"status": "failed", "reason": f"INVALID: {outcome.verdict.explain()}"}))
            return 0
        per_resume.append(outcome.wall_s / workload.expected_resumes)
        total += outcome.wall_s
        del outcome
    bytes_per_rocket = measure_memory(entry, workload, clock)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({
        "status": "ok", "reason": None,
        "ns_per_resume": statistics.median(per_resume) * 1e9,
        "repeats": len(per_resume),
        "wall_s": total / len(per_resume),
        "tracemalloc_bytes_per_rocket": bytes_per_rocket,
        "peak_rss_bytes": rss,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
