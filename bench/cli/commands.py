"""``python -m bench``: list schedulers, run them, show, compare and export results.

The CLI is the boundary: every argument is validated here and bad input becomes one
line on stderr and exit code 2, before anything runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.cli import args as A
from bench.cli import compare_cmd as compare_cli
from bench.cli import oneshot
from bench.cli.errors import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, CLIError
from bench.gate.history import keep_history
from bench.measure import scale
from bench.measure.presets import PRESETS
from bench.measure.registry import SchedulerEntry, discover
from bench.measure.scale import DEFAULT_BUDGET_S, DEFAULT_SIZES
from bench.measure.suite import DEFAULT_MEMORY_LIMIT_MB, Suite, SuiteSpec, command_line
from bench.measure.worker import parse_handicap
from bench.present import summary
from bench.present import text as table
from bench.results.store import ResultsError, load_results
from bench.workload.rockets import DEFAULT_ROCKETS, DEFAULT_SEED, Workload

DEFAULT_OUTPUT = Path("results/latest.json")


def build_parser() -> argparse.ArgumentParser:
    parser = A.OneLineParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="list registered schedulers and whether they can run")

    run = sub.add_parser("run", help="measure schedulers on the rocket workload under pyperf")
    run.add_argument("--scheduler", "-s", type=A.names, default=None,
                     help="comma-separated scheduler names (default: every available one)")
    run.add_argument("--mode", "--modes", dest="mode", type=A.modes, default=None,
                     help="switch, timed, or both: switch,timed (default: both; --once: switch)")
    run.add_argument("--rockets", "-n", type=A.positive_int, default=None,
                     help=f"rockets in the workload (default: the preset's; {DEFAULT_ROCKETS:,} for default)")
    run.add_argument("--seed", type=A.seed, default=DEFAULT_SEED)
    run.add_argument("--time-scale", "--time-scales", dest="time_scale", type=A.time_scales, default=None,
                     help="seconds per tick, comma-separated for several (timed mode; default: the preset's)")
    run.add_argument("--clock", type=A.clock_kind, default="real", help="real or virtual")
    preset = run.add_mutually_exclusive_group()
    preset.add_argument("--preset", choices=sorted(PRESETS), default=None, help="suite size (default: default)")
    preset.add_argument("--fast", dest="preset", action="store_const", const="quick", help="= --preset quick")
    preset.add_argument("--rigorous", dest="preset", action="store_const", const="rigorous",
                        help="= --preset rigorous")
    run.add_argument("--processes", "-p", type=A.positive_int, default=None,
                     help="worker processes per job (overrides the preset)")
    run.add_argument("--run-limit", type=A.time_scale, default=None, metavar="SECONDS",
                     help="stop any single run after this long (default: 10 × ideal makespan + margin)")
    run.add_argument("--memory-limit", type=A.positive_int, default=None, metavar="MB",
                     help="address-space limit per worker process (default: 8192)")
    run.add_argument("--output", "-o", type=Path, default=DEFAULT_OUTPUT, help="results file to write")
    run.add_argument("--history", type=Path, default=None, metavar="DIR",
                     help="also keep a copy in DIR named by date and commit")
    # Only for checking that the regression gate catches a real slowdown (docs/regressions.md).
    run.add_argument("--handicap", type=parse_handicap, default=None, help=argparse.SUPPRESS)
    run.add_argument("--once", action="store_true",
                     help="one in-process run per scheduler, no pyperf, no results file")

    scale_cmd = sub.add_parser("scale", help="scaling sweep: cost per resume and memory per rocket as N grows")
    scale_cmd.add_argument("--scheduler", "-s", type=A.names, default=None)
    scale_cmd.add_argument("--sizes", type=A.sizes, default=list(DEFAULT_SIZES),
                       help="comma-separated rocket counts (default: 100,1000,10000,100000,1000000)")
    scale_cmd.add_argument("--budget", type=A.time_scale, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                       help="time budget per point; a series that exceeds it is stopped and marked")
    scale_cmd.add_argument("--seed", type=A.seed, default=DEFAULT_SEED)
    scale_cmd.add_argument("--output", "-o", type=Path, default=DEFAULT_OUTPUT,
                       help="results file to put the sweep into (created if missing)")

    show = sub.add_parser("show", help="print the summary tables of a results file")
    show.add_argument("file", type=Path)

    compare_cli.add_compare_parser(sub)
    compare_cli.add_export_parser(sub)
    return parser


def select(
    entries: dict[str, SchedulerEntry], wanted: Sequence[str] | None, available_only: bool = False
) -> list[SchedulerEntry]:
    """The entries named in ``wanted`` (all when None); unknown names are a usage error.

    Unavailable entries are kept unless ``available_only``: the suite reports each one
    as skipped with its reason rather than leaving it out silently.
    """
    if wanted is None:
        return [e for e in entries.values() if e.available or not available_only]
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
    if ns.once:
        return cmd_run_once(ns)
    entries = select(discover(), ns.scheduler)
    preset = PRESETS[ns.preset or "default"]
    modes = ns.mode or ["switch", "timed"]
    spec = SuiteSpec(
        entries=entries, modes=modes, time_scales=ns.time_scale or preset.time_scales,
        rockets=ns.rockets or preset.rockets, seed=ns.seed, clock=ns.clock, preset=preset,
        output=ns.output, run_limit_s=ns.run_limit,
        memory_limit_mb=ns.memory_limit or DEFAULT_MEMORY_LIMIT_MB, switch_processes=ns.processes,
        timed_processes=ns.processes, command=command_line(sys.argv[1:]),
        extra_env={"SCHEDBENCH_HANDICAP": f"{ns.handicap[0]}:{ns.handicap[1]}"} if ns.handicap else {},
    )
    jobs = spec.plan()
    print(f"schedbench: {len(jobs)} jobs ({', '.join(e.name for e in entries)}; {', '.join(modes)}"
          f"{'; scales ' + ','.join(f'{s:g}' for s in spec.time_scales) if 'timed' in modes else ''}), "
          f"{spec.rockets:,} rockets, seed {spec.seed}, preset {preset.name} → {spec.output}", file=sys.stderr)
    suite = Suite(spec)
    suite.run()
    document = load_results(spec.output)
    print(summary.render(document))
    if ns.history is not None:
        kept = keep_history(spec.output, ns.history, document)
        print(f"\nhistory: {kept}")
    if suite.interrupted:
        print(f"\ninterrupted: kept {len(suite.runs)} finished run(s) in {spec.output}", file=sys.stderr)
        return 130
    print(f"\nresults: {spec.output}")
    if suite.failures:
        print(f"{len(suite.failures)} run(s) failed or were INVALID (see the note column)", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_OK


def cmd_scale(ns: argparse.Namespace) -> int:
    entries = select(discover(), ns.scheduler)
    if ns.output.exists():
        load_results(ns.output)  # refuse to merge into a corrupted file before spending minutes
    print(f"scaling sweep: {', '.join(e.name for e in entries)} over N = "
          f"{', '.join(f'{n:,}' for n in ns.sizes)}; budget {ns.budget:g} s per point", file=sys.stderr)
    sweep = scale.sweep(entries, ns.sizes, ns.seed, ns.budget, report=lambda line: print(line, flush=True))

    def empty_document() -> dict[str, object]:
        spec = SuiteSpec(entries=[], modes=[], time_scales=[], rockets=max(ns.sizes), seed=ns.seed,
                         clock="real", preset=PRESETS["default"], output=ns.output,
                         command=command_line(sys.argv[1:]))
        pyperf_part, schedbench = Suite(spec).document(complete=True)
        return {**pyperf_part, "schedbench": schedbench}

    scale.merge_into(ns.output, sweep, empty_document)
    print()
    print(summary.scaling_table(sweep))
    print(f"\nscaling results: {ns.output}")
    return EXIT_OK


def cmd_show(ns: argparse.Namespace) -> int:
    print(summary.render(load_results(ns.file)))
    return EXIT_OK


def cmd_run_once(ns: argparse.Namespace) -> int:
    entries = select(discover(), ns.scheduler, available_only=ns.scheduler is None)
    modes = ns.mode or ["switch"]
    scales = ns.time_scale or [1.0]
    ns.rockets = ns.rockets or DEFAULT_ROCKETS
    status = EXIT_OK
    for mode in modes:
        for time_scale in scales if mode == "timed" else scales[:1]:
            workload = Workload.generate(ns.rockets, ns.seed, mode, time_scale)
            head = f"{mode} mode, {ns.rockets:,} rockets, seed {ns.seed}"
            if mode == "timed":
                ideal = workload.ideal_makespan_s
                head += f", time scale {time_scale:g} (ideal makespan {ideal:.3f} s), {ns.clock} clock"
            print(head)
            rows = oneshot.run_all(entries, workload, ns.clock)
            print(oneshot.format_rows(rows))
            print()
            if any(r.outcome is None or not r.outcome.verdict.valid for r in rows):
                status = EXIT_FAILURES
    return status


COMMANDS = {
    "list": cmd_list, "run": cmd_run, "scale": cmd_scale, "show": cmd_show,
    "compare": compare_cli.cmd_compare, "export": compare_cli.cmd_export,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        return COMMANDS[ns.command](ns)
    except (CLIError, ResultsError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
