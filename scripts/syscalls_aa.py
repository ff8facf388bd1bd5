"""Which syscall counts repeat exactly: read an A/A syscall file, check the gate's classification.

The A/A is one ``run --measure syscalls --repeats N``: N separate strace'd processes of
every scheduler × mode, the same code each time. For every call name this prints, per mode,
the schedulers whose N counts disagreed (with their range) and those where they all
agreed, and then checks ``bench/results/syscall_kinds.py`` against it:

* a name the table gates (exact) whose counts varied in some scheduler is a misclassification
  (exit 1): the gate would raise false alarms on it;
* a name the table reports only, though it never varied, is listed as "reported, but
  exact here": allowed (the table may know better, e.g. the allocator), shown for review.

Usage::

    python -m bench run --measure syscalls --repeats 10 -o results/reference/syscalls-aa/aa-10-repeats.json
    python scripts/syscalls_aa.py results/reference/syscalls-aa/aa-10-repeats.json
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import store  # noqa: E402
from bench.results.syscall_kinds import gated, why_not_gated  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a syscall results file measured with --repeats N (N >= 2)")
    args = parser.parse_args(argv)
    doc = store.load(args.file)
    if doc.workload.measure != "syscalls":
        parser.error(f"{args.file} is not a syscall file (measure {doc.workload.measure})")
    varied: dict[tuple[str, str], list[str]] = defaultdict(list)  # (where, name) -> "scheduler lo..hi"
    exact: dict[tuple[str, str], list[str]] = defaultdict(list)  # (where, name) -> schedulers
    table: dict[tuple[str, str], set[str]] = defaultdict(set)  # (where, name) -> how the table classes it
    misclassified: list[str] = []
    repeats: set[int] = set()
    print(f"A/A of {args.file}: {doc.workload.rockets:,} rockets, seed {doc.workload.seed}, "
          f"commit {', '.join(doc.commit_labels)}")
    for run in doc.runs:
        if run.syscalls is None:
            print(f"  not counted: {run.scheduler} {run.where}, {run.status.label} ({run.note})")
            continue
        figures = run.syscalls
        repeats.add(len(figures.counts))
        for name in figures.names:
            key, calls = (run.where, name), figures.calls(name)
            table[key].add(why_not_gated(run.scheduler, run.mode, name) or "gated")
            if not figures.varies(name):
                exact[key].append(run.scheduler)
                continue
            varied[key].append(f"{run.scheduler} {min(calls)}..{max(calls)}")
            if gated(run.scheduler, run.mode, name):
                misclassified.append(f"{run.scheduler} {run.where} {name} {min(calls)}..{max(calls)}")
    print(f"repeats per job: {', '.join(map(str, sorted(repeats)))} (separate processes)\n")
    print(f"{'mode':<11} {'call':<16} {'table':<28} varied in (min..max of the repeats) / exact in")
    for key in sorted({*varied, *exact}):
        where, name = key
        print(f"{where:<11} {name:<16} {', '.join(sorted(table[key])):<28} "
              f"varied: {', '.join(varied[key]) or '-'}; exact: {', '.join(exact[key]) or '-'}")
    if misclassified:
        print("\nMISCLASSIFIED (gated, yet varied in the A/A):\n  " + "\n  ".join(misclassified))
        return 1
    print("\nevery gated name repeated exactly in every scheduler and mode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
