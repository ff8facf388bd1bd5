"""How honest is the regression gate? A/A false alarms and a planted slowdown.

``compare`` is only useful as a CI gate if comparing two runs of the *same* code on the
same machine almost never fails it, and if a real slowdown does fail it. This script
measures both with the settings CI uses (``make bench-quick`` = ``python -m bench run
--fast``):

* ``collect`` runs ``--pairs`` A/A pairs (two quick suites of the same code, back to
  back, like CI's base-then-head) and ``--slow-pairs`` pairs whose second suite makes
  one scheduler slower on purpose (``SCHEDBENCH_HANDICAP=heapq:200``, see
  ``bench/measure/worker.py``). Files go to ``--dir``; a manifest lists the pairs. Collecting is
  resumable: finished files are kept and skipped.
* ``calibrate`` measures, in one process with interleaved runs, how much slower the
  handicap really makes the scheduler (the wrapper costs a little on top of its ns).
* ``analyse`` replays ``compare`` on every pair at several thresholds and prints the
  false-alarm rate (share of A/A pairs that would fail the gate, and share of figures
  called "slower") and the detection rate of the planted slowdown.

Typical use (~15-20 min on 2 cores)::

    nohup .venv/bin/python scripts/aa_check.py collect --pairs 12 --slow-pairs 6 &
    .venv/bin/python scripts/aa_check.py calibrate
    .venv/bin/python scripts/aa_check.py analyse

The measurement is only as quiet as the machine: run it where CI runs, or accept that
a shared, busy machine gives a pessimistic (too high) false-alarm rate.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gate.compare import (  # noqa: E402
    DEFAULT_LATENESS_THRESHOLD,
    DEFAULT_THRESHOLD,
    Comparison,
    FigureRow,
    compare_documents,
    decide,
    pool,
)
from bench.results.store import load_results  # noqa: E402

DEFAULT_DIR = ROOT / "results" / "scratch" / "aa-check"
DEFAULT_HANDICAP = "heapq:200"
MANIFEST = "manifest.json"


# ---- collect ----------------------------------------------------------------------
def run_suite(out: Path, handicap: str | None, extra: Sequence[str]) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("SCHEDBENCH_HANDICAP", None)
    if handicap:
        env["SCHEDBENCH_HANDICAP"] = handicap
    cmd = [sys.executable, "-m", "bench", "run", "--fast", "-o", str(out), *extra]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}")
    return {"file": out.name, "exit": proc.returncode, "seconds": round(took, 1), "handicap": handicap}


def collect(ns: argparse.Namespace) -> int:
    where: Path = ns.dir
    where.mkdir(parents=True, exist_ok=True)
    manifest_path = where / MANIFEST
    manifest: dict[str, Any] = (json.loads(manifest_path.read_text()) if manifest_path.exists()
                                else {"command": "python -m bench run --fast", "extra": ns.extra, "pairs": []})
    done = {(p["kind"], p["index"]) for p in manifest["pairs"]}
    plan = [("aa", i) for i in range(ns.pairs)] + [("slow", i) for i in range(ns.slow_pairs)]
    for kind, index in plan:
        if (kind, index) in done:
            continue
        handicap = ns.handicap if kind == "slow" else None
        base = run_suite(where / f"{kind}{index:02d}-base.json", None, ns.extra)
        new = run_suite(where / f"{kind}{index:02d}-new.json", handicap, ns.extra)
        manifest["pairs"].append({"kind": kind, "index": index, "base": base, "new": new,
                                  "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"{kind} pair {index}: {base['seconds']:.0f} s + {new['seconds']:.0f} s", flush=True)
    return 0


# ---- calibrate --------------------------------------------------------------------
def calibrate(ns: argparse.Namespace) -> int:
    from bench.measure.execute import execute_once
    from bench.measure.registry import load_named
    from bench.measure.worker import handicapped, parse_handicap
    from bench.workload.rockets import Workload

    name, amount = parse_handicap(ns.handicap)
    workload = Workload.generate(2_000, 1969, "switch", 1.0)  # the quick preset's switch workload
    plain = load_named(name)
    slow = handicapped(plain, amount)
    ratios, plain_ns = [], []
    for _ in range(ns.rounds):  # interleaved, so drifting machine load hits both alike
        a = execute_once(plain, workload).wall_s
        b = execute_once(slow, workload).wall_s
        ratios.append(b / a)
        plain_ns.append(a / workload.expected_resumes * 1e9)
    q = statistics.quantiles(ratios, n=4)
    print(f"{name}: {statistics.median(plain_ns):,.0f} ns/switch plain (median of {ns.rounds}); "
          f"handicap {amount} ns makes it {(statistics.median(ratios) - 1) * 100:+.1f}% "
          f"(interquartile {(q[0] - 1) * 100:+.1f}% … {(q[2] - 1) * 100:+.1f}%)")
    return 0


# ---- analyse ----------------------------------------------------------------------
Pair = tuple[dict[str, Any], dict[str, Any]]
COST_THRESHOLDS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50, 0.75, 1.00)
LATENESS_THRESHOLDS = (0.25, 0.50, 1.00, 2.00, 4.00, 8.00)


def load_pairs(where: Path) -> tuple[list[Pair], list[Pair], str | None]:
    manifest = json.loads((where / MANIFEST).read_text())
    aa, slow = [], []
    handicap = None
    for pair in sorted(manifest["pairs"], key=lambda p: (p["kind"], p["index"])):
        docs = (load_results(where / pair["base"]["file"]), load_results(where / pair["new"]["file"]))
        if pair["kind"] == "aa":
            aa.append(docs)
        else:
            slow.append(docs)
            handicap = pair["new"]["handicap"]
    return aa, slow, handicap


def judged(pairs: Sequence[Pair], normalize: str | None) -> list[Comparison]:
    """Each pair compared once at threshold 0; verdicts at other thresholds are re-decided."""
    return [compare_documents(b, n, threshold=0.0, lateness_threshold=0.0, normalize=normalize) for b, n in pairs]


def slower(row: FigureRow, cost: float, lateness: float | None) -> bool:
    """Would this figure fail the gate at these thresholds (lateness None: not gated)?"""
    if row.figure.startswith("lateness"):
        return lateness is not None and decide(row.change, row.test, lateness) == "slower"
    return decide(row.change, row.test, cost) == "slower"


def gate_fails(result: Comparison, cost: float, lateness: float | None) -> bool:
    return bool(result.broken) or any(slower(r, cost, lateness) for r in result.figures)


def family_table(title: str, results: Sequence[Comparison], cross: Sequence[Comparison],
                 thresholds: Sequence[float], lateness_family: bool,
                 slow: Sequence[Comparison] = (), target: tuple[str, str] | None = None) -> None:
    print(title)
    print("threshold   A/A pairs with a false 'slower'   figures falsely 'slower'   cross pairs"
          + ("   planted slowdown caught" if slow else ""))
    for t in thresholds:
        def hit(row: FigureRow, t: float = t) -> bool:
            if row.figure.startswith("lateness") != lateness_family:
                return False
            return decide(row.change, row.test, t) == "slower"

        pairs_hit = sum(any(hit(r) for r in res.figures) for res in results)
        rows = [r for res in results for r in res.figures if r.figure.startswith("lateness") == lateness_family]
        rows_hit = sum(hit(r) for r in rows)
        cross_hit = sum(any(hit(r) for r in res.figures) for res in cross)
        line = (f"{t:>8.0%}   {pairs_hit:>3}/{len(results):<3} {_pct(pairs_hit, len(results)):>5}"
                f"                     {rows_hit:>3}/{len(rows):<4} {_pct(rows_hit, len(rows)):>5}"
                f"           {cross_hit:>4}/{len(cross):<4} {_pct(cross_hit, len(cross)):>5}")
        if slow and target:
            caught = sum(any(r.scheduler == target[0] and r.figure == target[1] and hit(r) for r in res.figures)
                         for res in slow)
            line += f"   {caught:>3}/{len(slow):<3} {_pct(caught, len(slow)):>5}"
        print(line)
    print()


def interleaved(pairs: Sequence[Pair], step: int) -> list[Pair]:
    """Pairs i and i+1 as one ABAB comparison: BASE pools both bases, NEW both news."""
    out = []
    for i in range(0, len(pairs) - 1, step):
        (b1, n1), (b2, n2) = pairs[i], pairs[i + 1]
        out.append((pool([b1, b2], ["b1", "b2"]), pool([n1, n2], ["n1", "n2"])))
    return out


def analyse(ns: argparse.Namespace) -> int:
    aa, slow, handicap = load_pairs(ns.dir)
    every_a = [doc for pair in aa for doc in pair] + [base for base, _ in slow]
    cross_pairs = list(itertools.combinations(every_a, 2))
    target = ((handicap or "").partition(":")[0], "switch")
    print(f"{len(aa)} A/A pairs (back to back), {len(cross_pairs)} cross pairs of all {len(every_a)} "
          f"unhandicapped runs, {len(slow)} planted-slowdown pairs ({handicap})\n")
    designs = [
        ("one run per side", aa, cross_pairs, slow),
        ("two runs per side, interleaved ABAB", interleaved(aa, 2), interleaved(aa, 1), interleaved(slow, 2)),
    ]
    for design, aa_pairs, cross_set, slow_pairs in designs:
        for normalize in (None, "floor"):
            label = f"{design}; {'--normalize floor' if normalize else 'raw figures'}"
            results, cross = judged(aa_pairs, normalize), judged(cross_set, normalize)
            slowed = judged(slow_pairs, normalize)
            what = "cross pairs" if design == "one run per side" else "overlapping ABAB"
            print(f"== {label} ({len(results)} A/A comparisons; '{what}' column: {len(cross)})")
            family_table("cost figures (switch cost, CPU per wake) by --threshold", results, cross,
                         COST_THRESHOLDS, False, slowed, target)
            family_table("lateness p50/p99 by --lateness-threshold", results, cross, LATENESS_THRESHOLDS, True)
            broken = sum(bool(r.broken) for r in results)
            fails = sum(gate_fails(r, DEFAULT_THRESHOLD, DEFAULT_LATENESS_THRESHOLD) for r in results)
            caught = sum(gate_fails(r, DEFAULT_THRESHOLD, DEFAULT_LATENESS_THRESHOLD) for r in slowed)
            print(f"A/A comparisons with a run valid in BASE but not in NEW: {broken}/{len(results)}")
            print(f"gate at the defaults ({DEFAULT_THRESHOLD:.0%}, lateness {_fmt(DEFAULT_LATENESS_THRESHOLD)}): "
                  f"A/A failing {fails}/{len(results)} ({_pct(fails, len(results))}); planted slowdown failing "
                  f"{caught}/{len(slowed)}\n")
        if slow_pairs:
            print(f"planted slowdown ({handicap}), {target[0]} switch cost, {design}, raw figures:")
            for result in judged(slow_pairs, None):
                for row in result.figures:
                    if (row.scheduler, row.figure) == target:
                        others = [f"{r.scheduler} {r.figure} {r.change * 100:+.0f}%" for r in result.figures
                                  if slower(r, DEFAULT_THRESHOLD, DEFAULT_LATENESS_THRESHOLD) and r is not row]
                        print(f"  {row.change * 100:+6.1f}%  p={row.test.p_value:.4f}  "
                              f"{decide(row.change, row.test, DEFAULT_THRESHOLD):<12}"
                              f"{'  other slower: ' + ', '.join(others) if others else ''}")
            print()
    return 0


def _fmt(threshold: float | None) -> str:
    return "not gated" if threshold is None else f"{threshold:.0%}"


def _pct(part: int, whole: int) -> str:
    return f"{part / whole * 100:.0f}%" if whole else "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    c = sub.add_parser("collect", help="run the A/A and planted-slowdown pairs")
    c.add_argument("--pairs", type=int, default=12, help="A/A pairs (default 12)")
    c.add_argument("--slow-pairs", type=int, default=6, help="planted-slowdown pairs (default 6)")
    c.add_argument("--handicap", default=DEFAULT_HANDICAP, help=f"SCHEDULER:NS (default {DEFAULT_HANDICAP})")
    c.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more `bench run` arguments")
    k = sub.add_parser("calibrate", help="measure the slowdown the handicap really causes")
    k.add_argument("--handicap", default=DEFAULT_HANDICAP)
    k.add_argument("--rounds", type=int, default=40)
    a = sub.add_parser("analyse", help="false-alarm and detection rates per threshold")
    for p in (c, a):
        p.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"where the files go (default {DEFAULT_DIR})")
    ns = parser.parse_args(argv)
    return {"collect": collect, "calibrate": calibrate, "analyse": analyse}[ns.step](ns)


if __name__ == "__main__":
    sys.exit(main())
