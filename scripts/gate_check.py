"""How honest are the regression gates? A/A false alarms and planted slowdowns, measured.

A gate is only useful if comparing the *same* code almost never fails it and a real
slowdown does. This script measures both gates the way CI uses them:

* ``time``: each trial runs the quick wall-time suite four times, interleaved A B B A
  (A = the control, B = the same code, or with a planted slowdown), and compares the
  pooled sides: ``compare A1,A2 B1,B2``. Interleaving cancels a linear drift of the
  machine's speed; pooling puts two moments into each side's sample.
* ``instructions``: each trial counts instructions twice (A, then B) under Valgrind and
  compares them.

The planted slowdown is ``--handicap heapq:N``: N turns of an empty loop in every call of
heapq's ``sleep`` (fixed *work*, so it means the same in instructions and in time). The
control side runs the same hook with 0 turns, so the only difference is the planted work.

Every trial's files and the comparison at each threshold are kept under ``--dir``, so the
analysis (``analyse``) can replay ``compare`` at any threshold without measuring again.

    .venv/bin/python scripts/gate_check.py time --trials 10 --handicap 0 --dir results/scratch/gate/aa
    .venv/bin/python scripts/gate_check.py time --trials 10 --handicap 40 --dir results/scratch/gate/h40
    .venv/bin/python scripts/gate_check.py instructions --trials 10 --handicap 2 --dir results/scratch/gate/i2
    .venv/bin/python scripts/gate_check.py analyse results/scratch/gate/*
    .venv/bin/python scripts/gate_check.py calibrate --turns 8 24 48
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gate.compare import compare_documents, pool  # noqa: E402
from bench.results.store import load  # noqa: E402

TIME_RUN = ("--fast", "--mode", "switch", "-s", "heapq")
INSTRUCTION_RUN = ("--measure", "instructions", "--mode", "switch", "-s", "heapq,hybrid,asyncio,trio",
                   "--rockets", "2000", "--repeats", "1")
THRESHOLDS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.50, 0.75)
SCHEDULER = "heapq"


def bench(*args: str) -> float:
    """One ``bench run`` into the file after ``-o``; stops the script if it wrote nothing."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "--replace", *args], cwd=ROOT,
                          capture_output=True, text=True)
    out = Path(args[list(args).index("-o") + 1])
    if proc.returncode not in (0, 1) or not out.exists():
        raise SystemExit(f"bench run failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-3:]}")
    return time.monotonic() - started


def run_time(args: argparse.Namespace) -> None:
    where = Path(args.dir)
    where.mkdir(parents=True, exist_ok=True)
    for trial in range(args.trials):
        files = {}
        for label, turns in (("A1", 0), ("B1", args.handicap), ("B2", args.handicap), ("A2", 0)):
            out = where / f"t{trial:02d}-{label}.json"
            files[label] = out
            if not out.exists():
                took = bench(*TIME_RUN, "--handicap", f"{SCHEDULER}:{turns}", "-o", str(out))
                print(f"trial {trial} {label} ({turns} turns): {took:.0f} s", flush=True)
        record(where, trial, [files["A1"], files["A2"]], [files["B1"], files["B2"]], args.handicap)


def run_instructions(args: argparse.Namespace) -> None:
    where = Path(args.dir)
    where.mkdir(parents=True, exist_ok=True)
    for trial in range(args.trials):
        a, b = where / f"t{trial:02d}-A.json", where / f"t{trial:02d}-B.json"
        for out, turns in ((a, 0), (b, args.handicap)):
            if not out.exists():
                took = bench(*INSTRUCTION_RUN, "--handicap", f"{SCHEDULER}:{turns}", "-o", str(out))
                print(f"trial {trial} {out.name} ({turns} turns): {took:.0f} s", flush=True)
        record(where, trial, [a], [b], args.handicap)


def record(where: Path, trial: int, base: list[Path], new: list[Path], handicap: int) -> None:
    """The comparison of one trial: every figure's change and, per threshold, the exit code."""
    b = pool([load(p) for p in base], [str(p) for p in base])
    n = pool([load(p) for p in new], [str(p) for p in new])
    exits = {f"{t:g}": compare_documents(b, n, threshold=t, instr_threshold=t).exit_code for t in THRESHOLDS}
    result = compare_documents(b, n)
    rows: list[dict[str, Any]] = [
        {"scheduler": r.scheduler, "figure": r.figure, "change": r.change, "verdict": r.verdict,
         "p": None if r.test is None else r.test.p_value} for r in result.figures]
    summary = {"trial": trial, "handicap": handicap, "exit_default": result.exit_code, "exit_at": exits,
               "figures": rows}
    (where / f"t{trial:02d}-compare.json").write_text(json.dumps(summary, indent=1))
    target = next((r for r in rows if r["scheduler"] == SCHEDULER), None)
    change = "?" if target is None else f"{target['change'] * 100:+.2f}%"
    print(f"trial {trial}: {SCHEDULER} {change}, exit {result.exit_code} at the default threshold; "
          f"by threshold {exits}", flush=True)


def calibrate(args: argparse.Namespace) -> None:
    """The planted slowdown's real wall-time effect: plain and handicapped heapq runs
    interleaved in one process (the gate's trials cannot show it through their noise)."""
    import statistics

    from bench.measure.execute import execute_once
    from bench.measure.registry import load_named
    from bench.measure.worker import handicapped
    from bench.workload.rockets import Workload

    workload = Workload.generate(args.rockets, 1969, "switch")
    base = load_named(SCHEDULER)
    entries = {turns: handicapped(base, turns) for turns in (0, *args.turns)}
    times: dict[int, list[float]] = {turns: [] for turns in entries}
    for _ in range(args.runs):
        for turns, entry in entries.items():
            times[turns].append(execute_once(entry, workload).wall_s / workload.expected_resumes * 1e9)
    reference = statistics.median(times[0])
    for turns, values in times.items():
        low, _, high = statistics.quantiles(values, n=4)
        middle = statistics.median(values)
        print(f"{turns:3d} turns: median {middle:7.1f} ns/switch ({middle / reference - 1:+.1%}), "
              f"interquartile {low:.0f}–{high:.0f}")


def analyse(args: argparse.Namespace) -> None:
    for directory in args.dirs:
        trials = [json.loads(p.read_text()) for p in sorted(Path(directory).glob("t*-compare.json"))]
        if not trials:
            continue
        changes = [next((r["change"] for r in t["figures"] if r["scheduler"] == SCHEDULER), float("nan"))
                   for t in trials]
        others = [r["change"] for t in trials for r in t["figures"] if r["scheduler"] != SCHEDULER]
        print(f"{directory}: {len(trials)} trials, handicap {trials[0]['handicap']} turns")
        print(f"  {SCHEDULER} change: median {sorted(changes)[len(changes) // 2] * 100:+.2f}%, "
              f"range {min(changes) * 100:+.2f}% … {max(changes) * 100:+.2f}%")
        if others:
            print(f"  other schedulers (same code both sides): largest |change| "
                  f"{max(abs(c) for c in others) * 100:.3f}%")
        print(f"  exit 1 at the default threshold: {sum(t['exit_default'] for t in trials)}/{len(trials)}")
        for threshold in trials[0]["exit_at"]:
            fails = sum(t["exit_at"][threshold] for t in trials)
            print(f"  threshold {float(threshold) * 100:>4g}%: exit 1 in {fails}/{len(trials)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("time", "instructions"):
        p = sub.add_parser(name)
        p.add_argument("--trials", type=int, default=10)
        p.add_argument("--handicap", type=int, default=0, help="loop turns per sleep on the B side (0: A/A)")
        p.add_argument("--dir", required=True)
    a = sub.add_parser("analyse")
    a.add_argument("dirs", nargs="+")
    c = sub.add_parser("calibrate")
    c.add_argument("--turns", type=int, nargs="+", default=[8, 24, 48])
    c.add_argument("--runs", type=int, default=40)
    c.add_argument("--rockets", type=int, default=3000)
    args = parser.parse_args(argv)
    commands = {"time": run_time, "instructions": run_instructions, "analyse": analyse, "calibrate": calibrate}
    commands[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
