"""The paired gate's error rates, measured: many gate runs per case beside the noisy neighbour.

Each *case* is a pair of trees and the gate flags to compare them with:

* ``aa-in-process`` / ``aa-process``: both sides the same code (copies of this checkout);
  every verdict other than "no change" or "inconclusive" on a gated figure is a false alarm.
* ``plus5-process``: side B's heapq does extra work in its loop, about +5 % per switch
  (a planted change in B's tree, the way a real change arises); a run that does not say
  "regression" missed it.
* ``plus2-in-process``: the same with about +2 %.
* ``slack`` / ``aa-slack``: the hybrid with its lowered timer slack removed in B (timed
  mode), and its A/A; the gated figure is lateness p50.

Resumable: each run's gate file and outcome line are kept under ``--dir``; a run whose
file exists is not repeated, so the campaign can be stopped (Ctrl-C) and started again.
The noisy neighbour (``scripts/noisy_neighbour.py``) runs for the length of each gate run
with that run's seed, so the noise is recorded and repeatable.

    .venv/bin/python scripts/gate_campaign.py run aa-in-process --runs 20
    .venv/bin/python scripts/gate_campaign.py summary
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DIR = ROOT / "results" / "gate-campaign"

#: Extra work per resume planted in B's heapq loop: a statement or two of arithmetic, the
#: size of a real small change. Calibrated with the in-process gate on a quiet machine (three
#: runs each, docs/regressions.md): "plus5" measured +3.9 to +4.8 %, "plus2" +1.8 to +2.0 %;
#: erring below the nominal change makes the detection rates conservative. The summary
#: prints what each campaign's gates estimated.
PLANTS = {
    "plus5": "                _planted = resumes * 3 + seq  # planted by gate_campaign.py\n"
             "                _planted = seq  # planted by gate_campaign.py\n",
    "plus2": "                _planted = resumes + seq  # planted by gate_campaign.py\n",
}
HEAPQ_ANCHOR = "                resumes += 1\n"
SLACK_ANCHOR = "with timer_slack(self.timer_slack_ns):"

CASES: dict[str, dict[str, Any]] = {
    "aa-in-process": {"plant": None, "flags": ["-s", "heapq", "--mode", "switch", "--level", "in-process"],
                      "expect": "no alarm", "figure": "switch_ns"},
    "aa-process": {"plant": None, "flags": ["-s", "heapq", "--mode", "switch", "--level", "process"],
                   "expect": "no alarm", "figure": "switch_ns"},
    "plus5-process": {"plant": "plus5", "flags": ["-s", "heapq", "--mode", "switch", "--level", "process"],
                      "expect": "regression", "figure": "switch_ns"},
    "plus2-in-process": {"plant": "plus2", "flags": ["-s", "heapq", "--mode", "switch", "--level", "in-process"],
                         "expect": "regression", "figure": "switch_ns"},
    "slack": {"plant": "slack", "flags": ["-s", "hybrid", "--mode", "timed", "--level", "in-process"],
              "expect": "regression", "figure": "lateness_p50_us"},
    "aa-slack": {"plant": None, "flags": ["-s", "hybrid", "--mode", "timed", "--level", "in-process"],
                 "expect": "no alarm", "figure": "lateness_p50_us"},
}


def copy_tree(dest: Path) -> None:
    """This checkout's files as they are now (tracked and new, not ignored) into ``dest``."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard"],
                            capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not name.startswith(("results/", ".gate/")):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def plant(tree: Path, kind: str) -> None:
    if kind in PLANTS:
        path = tree / "schedulers" / "heapq_timers.py"
        text = path.read_text()
        assert HEAPQ_ANCHOR in text, "heapq's loop changed: update HEAPQ_ANCHOR"
        path.write_text(text.replace(HEAPQ_ANCHOR, HEAPQ_ANCHOR + PLANTS[kind], 1))
    elif kind == "slack":
        path = tree / "schedulers" / "hybrid.py"
        text = path.read_text()
        assert SLACK_ANCHOR in text, "the hybrid's slack call changed: update SLACK_ANCHOR"
        path.write_text(text.replace(SLACK_ANCHOR, "with timer_slack(None):  # planted: slack left alone", 1))


def trees(folder: Path, case: str) -> tuple[Path, Path]:
    a, b = folder / "trees" / case / "a", folder / "trees" / case / "b"
    if not (b / "pyproject.toml").exists():
        for tree in (a, b):
            shutil.rmtree(tree, ignore_errors=True)
            copy_tree(tree)
        if CASES[case]["plant"]:
            plant(b, CASES[case]["plant"])
    return a, b


def outcome(gate_file: Path, figure: str) -> dict[str, Any]:
    data = json.loads(gate_file.read_text())["schedbench_gate"]
    rows = [f for f in data["figures"] if f["figure"] == figure]
    row = rows[0] if rows else {}
    return {"verdict": row.get("verdict", "missing"), "estimate": row.get("estimate"), "low": row.get("low"),
            "high": row.get("high"), "pairs": len(row.get("pairs", [])), "level": row.get("level"),
            "failures": [f["reason"] for f in data["failures"]], "complete": data["complete"],
            "elapsed_s": data["elapsed_s"]}


def run_case(case: str, runs: int, folder: Path, neighbour: bool) -> None:
    a, b = trees(folder, case)
    out = folder / case
    out.mkdir(parents=True, exist_ok=True)
    for i in range(1, runs + 1):
        gate_file = out / f"run-{i:02d}.json"
        if gate_file.exists():
            continue
        noise = None
        if neighbour:
            noise = subprocess.Popen([PYTHON, str(ROOT / "scripts" / "noisy_neighbour.py"), "--duration", "0",
                                      "--seed", str(i), "--log", str(out / f"neighbour-{i:02d}.jsonl")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        try:
            proc = subprocess.run([PYTHON, "-m", "bench", "gate", str(a), str(b), *CASES[case]["flags"],
                                   "--order-seed", str(i), "-o", str(out / f".run-{i:02d}.json")],
                                  cwd=ROOT, capture_output=True, text=True)
        finally:
            if noise is not None:
                noise.send_signal(signal.SIGTERM)
                noise.wait()
        if proc.returncode not in (0, 1):
            print(f"{case} run {i}: gate exited {proc.returncode}: {proc.stderr.strip()[-300:]}", file=sys.stderr)
            sys.exit(1)
        (out / f".run-{i:02d}.json").rename(gate_file)
        line = {"case": case, "run": i, "exit": proc.returncode, "wall_s": round(time.monotonic() - started, 1),
                "neighbour": neighbour, **outcome(gate_file, CASES[case]["figure"])}
        with (out / "outcomes.jsonl").open("a") as fp:
            fp.write(json.dumps(line) + "\n")
        print(json.dumps(line), flush=True)


def summary(folder: Path) -> None:
    print(f"{'case':<18} {'runs':>4} {'expect':<10} {'hits':>5} {'alarms':>6} {'incon.':>6} "
          f"{'median est.':>11} {'p95 half-width':>14} {'median wall s':>13}")
    for case, spec in CASES.items():
        path = folder / case / "outcomes.jsonl"
        if not path.exists():
            continue
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        verdicts = [r["verdict"] for r in rows]
        alarms = sum(v in ("regression", "improvement") for v in verdicts)
        hits = sum(v == "regression" for v in verdicts)
        halves = sorted((r["high"] - r["low"]) / 2 for r in rows if r["low"] is not None)
        p95 = halves[min(len(halves) - 1, int(0.95 * len(halves)))] if halves else float("nan")
        ests = sorted(r["estimate"] for r in rows if r["estimate"] is not None)
        walls = sorted(r["wall_s"] for r in rows)
        print(f"{case:<18} {len(rows):>4} {spec['expect']:<10} {hits:>5} {alarms:>6} "
              f"{verdicts.count('inconclusive'):>6} {ests[len(ests) // 2] if ests else float('nan'):>+11.2%} "
              f"{p95:>14.2%} {walls[len(walls) // 2] if walls else float('nan'):>13.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or resume) one case")
    run.add_argument("case", choices=sorted(CASES))
    run.add_argument("--runs", type=int, default=20)
    run.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    run.add_argument("--no-neighbour", action="store_true", help="without the noisy neighbour (a quiet baseline)")
    show = sub.add_parser("summary", help="rates per case from the outcomes so far")
    show.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ns = parser.parse_args()
    if ns.command == "run":
        run_case(ns.case, ns.runs, ns.dir, not ns.no_neighbour)
    else:
        summary(ns.dir)


if __name__ == "__main__":
    main()
