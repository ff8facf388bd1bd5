"""``python -m bench``: list schedulers, run them, show, compare and export results.

The CLI is the boundary: every argument is validated here and bad input becomes one
line on stderr and exit code 2, before anything runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench import args as A
from bench import oneshot, table
from bench.errors import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, CLIError
from bench.registry import SchedulerEntry, discover
from bench.workload import DEFAULT_ROCKETS, DEFAULT_SEED, Workload


def build_parser() -> argparse.ArgumentParser:
    parser = A.OneLineParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="list registered schedulers and whether they can run")

    run = sub.add_parser("run", help="run schedulers on the rocket workload")
    run.add_argument("--scheduler", "-s", type=A.names, default=None,
                     help="comma-separated scheduler names (default: every available one)")
    run.add_argument("--mode", type=A.modes, default=None, help="switch, timed, or both: switch,timed")
    run.add_argument("--rockets", "-n", type=A.positive_int, default=DEFAULT_ROCKETS)
    run.add_argument("--seed", type=A.seed, default=DEFAULT_SEED)
    run.add_argument("--time-scale", type=A.time_scales, default=None,
                     help="seconds per tick, comma-separated for several (timed mode)")
    run.add_argument("--clock", type=A.clock_kind, default="real", help="real or virtual")
    run.add_argument("--once", action="store_true",
                     help="one in-process run per scheduler, no pyperf, no results file")
    return parser


def select(entries: dict[str, SchedulerEntry], wanted: Sequence[str] | None) -> list[SchedulerEntry]:
    """The entries named in ``wanted`` (all when None); unknown names are a usage error."""
    if wanted is None:
        return [e for e in entries.values() if e.available]
    unknown = [name for name in wanted if name not in entries]
    if unknown:
        raise CLIError(f"unknown scheduler {unknown[0]!r}; available: {', '.join(entries)}")
    return [entries[name] for name in dict.fromkeys(wanted)]


def cmd_list(_: argparse.Namespace) -> int:
    rows = []
    for entry in discover().values():
        rows.append([
            entry.name, entry.dialect, entry.origin,
            ("yes" if entry.supports_virtual_clock else "no") if entry.available else "-",
            "available" if entry.available else f"unavailable: {entry.error}",
        ])
    print(table.render(("scheduler", "dialect", "origin", "virtual clock", "status"), rows))
    return EXIT_OK


def cmd_run(ns: argparse.Namespace) -> int:
    entries = select(discover(), ns.scheduler)
    modes = ns.mode or ["switch"]
    scales = ns.time_scale or [1.0]
    status = EXIT_OK
    for mode in modes:
        for scale in scales if mode == "timed" else scales[:1]:
            workload = Workload.generate(ns.rockets, ns.seed, mode, scale)
            head = f"{mode} mode, {ns.rockets:,} rockets, seed {ns.seed}"
            if mode == "timed":
                ideal = workload.ideal_makespan_s
                head += f", time scale {scale:g} (ideal makespan {ideal:.3f} s), {ns.clock} clock"
            print(head)
            rows = oneshot.run_all(entries, workload, ns.clock)
            print(oneshot.format_rows(rows))
            print()
            if any(r.outcome is None or not r.outcome.verdict.valid for r in rows):
                status = EXIT_FAILURES
    return status


COMMANDS = {"list": cmd_list, "run": cmd_run}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        return COMMANDS[ns.command](ns)
    except CLIError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
