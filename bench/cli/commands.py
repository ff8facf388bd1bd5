"""``python -m bench``: list schedulers, run them, show, compare and export results.

The CLI is the boundary: every argument is validated here and bad input becomes one
line on stderr and exit code 2, before anything runs. Output paths are arguments too:
each command tries its targets (``check_outputs``) before it measures anything. One
function per command; the argument types are ``bench.cli.args``, compare and export
``bench.cli.compare_cmd``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from bench.cli import args as A
from bench.cli import compare_cmd as compare_cli
from bench.cli import echo_cmd, gate_cmd, oneshot
from bench.cli.errors import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, CLIError
from bench.gate.history import keep_history
from bench.measure import scale
from bench.measure.limits import DEFAULT_MEMORY_LIMIT_MB
from bench.measure.plan import SuiteSpec
from bench.measure.presets import PRESETS
from bench.measure.registry import SchedulerEntry
from bench.measure.registry_child import discover_isolated
from bench.measure.scale import DEFAULT_BUDGET_S, DEFAULT_SIZES
from bench.measure.suite import Suite, command_line
from bench.measure.worker import parse_handicap
from bench.measure.writer import ResultsWriter
from bench.present import tables, text, units
from bench.present.echo_table import echo_tables
from bench.present.gate_table import gate_table, last_gate_sentence
from bench.results import store, writable
from bench.results.echo_file import is_echo_file, load_echo
from bench.results.gate_file import is_gate_file, load_gate
from bench.results.model import Document, ScalingPoint
from bench.results.store import ResultsError
from bench.workload.rockets import DEFAULT_ROCKETS, DEFAULT_SEED, Workload

DEFAULT_OUTPUT = Path("results/latest.json")
DEFAULT_SCALING_OUTPUT = Path("results/scaling.json")
DEFAULT_INSTRUCTIONS_OUTPUT = Path("results/instructions.json")
#: Instruction counts are exact at any size; 2,000 rockets keep a Valgrind run to seconds.
DEFAULT_INSTRUCTION_ROCKETS = 2_000


def build_parser() -> argparse.ArgumentParser:
    parser = A.OneLineParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="list registered schedulers and whether they can run")

    run = sub.add_parser("run", help="measure schedulers on the rocket workload under pyperf")
    run.add_argument("--scheduler", "-s", type=A.names, default=None,
                     help="comma-separated scheduler names (default: every available one)")
    run.add_argument("--mode", "--modes", dest="mode", type=A.modes, default=None,
                     help="switch, timed, io, or several: switch,timed (default: switch,timed,io; --once: switch)")
    run.add_argument("--message-size", type=A.message_size, default=1, metavar="BYTES",
                     help="io mode: bytes per message, 1 … 1 MiB (default: 1)")
    run.add_argument("--rockets", "-n", type=A.positive_int, default=None,
                     help=f"rockets in the workload (default: the preset's; {DEFAULT_ROCKETS:,} for default)")
    run.add_argument("--seed", type=A.seed, default=DEFAULT_SEED)
    run.add_argument("--time-scale", "--time-scales", dest="time_scale", type=A.time_scales, default=None,
                     help="seconds per tick, comma-separated for several (timed mode; default: the preset's)")
    run.add_argument("--clock", type=A.clock_kind, default=None, help="real or virtual (default: real)")
    preset = run.add_mutually_exclusive_group()
    preset.add_argument("--preset", choices=sorted(PRESETS), default=None, help="suite size (default: default)")
    preset.add_argument("--fast", dest="preset", action="store_const", const="quick", help="= --preset quick")
    preset.add_argument("--rigorous", dest="preset", action="store_const", const="rigorous",
                        help="= --preset rigorous")
    run.add_argument("--processes", "-p", type=A.processes, default=None,
                     help="worker processes per job (overrides the preset)")
    run.add_argument("--run-limit", type=A.run_limit, default=None, metavar="SECONDS",
                     help="stop any single run after this long (default: 10 × ideal makespan + margin)")
    run.add_argument("--memory-limit", type=A.positive_int, default=None, metavar="MB",
                     help="address-space limit per worker process (default: 8192)")
    run.add_argument("--output", "-o", type=Path, default=None,
                     help=f"results file to write (default: {DEFAULT_OUTPUT}; {DEFAULT_INSTRUCTIONS_OUTPUT} for "
                          "--measure instructions; results/syscalls.json for --measure syscalls)")
    run.add_argument("--history", type=Path, default=None, metavar="DIR",
                     help="also keep a copy in DIR named by date and commit")
    # Only for checking that the regression gate catches a real slowdown (docs/regressions.md).
    run.add_argument("--handicap", type=parse_handicap, default=None, help=argparse.SUPPRESS)
    run.add_argument("--once", action="store_true",
                     help="one run per scheduler in a child process, no pyperf, no results file")
    run.add_argument("--measure", choices=("time", "instructions", "syscalls"), default="time",
                     help="time: wall time under pyperf (default); instructions: instruction counts of run() "
                          "under Valgrind (switch mode, and the timed workload on the virtual clock); syscalls: "
                          "system calls of run() under strace, by name, per resume (every mode, real clock)")
    run.add_argument("--repeats", type=A.positive_int, default=None,
                     help="--measure instructions: Valgrind processes per job (default: 2 in switch mode, "
                          "1 on the virtual clock); --measure syscalls: strace processes per job (default: 1)")
    run.add_argument("--cache-sim", action="store_true",
                     help="--measure instructions: also simulate caches and estimate cycles (slower)")
    run.add_argument("--replace", action="store_true",
                     help="replace an existing output file of a different workload (default: refuse; a run of "
                          "the same workload merges into it)")
    run.add_argument("--python-flags", type=A.python_flags, default=(), metavar="FLAGS",
                     help="interpreter flags for the worker processes, e.g. -O (recorded in the results)")
    run.add_argument("--python", type=A.interpreter, default=None, metavar="PYTHON",
                     help="run the workers under another interpreter (it needs pyperf and the loops installed)")

    scale_cmd = sub.add_parser("scale", help="scaling sweep: cost per resume and memory per rocket as N grows")
    scale_cmd.add_argument("--scheduler", "-s", type=A.names, default=None)
    scale_cmd.add_argument("--sizes", type=A.sizes, default=None,
                       help="comma-separated rocket counts (default: 100,1000,10000,100000,1000000; with --mode io "
                            "100,1000,10000)")
    scale_cmd.add_argument("--mode", "--modes", dest="mode", type=A.scale_modes, default=None,
                       help="switch, virtual, io, or several (default: switch,virtual)")
    scale_cmd.add_argument("--budget", type=A.positive_number, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                       help="time budget per point; a series that exceeds it is stopped and marked")
    scale_cmd.add_argument("--seed", type=A.seed, default=DEFAULT_SEED)
    scale_cmd.add_argument("--output", "-o", type=Path, default=DEFAULT_SCALING_OUTPUT,
                       help="results file for the sweep (default: results/scaling.json; a sweep of the same "
                            "seed merges into it)")

    show = sub.add_parser("show", help="print the summary tables of a results file")
    show.add_argument("file", type=Path)
    show.add_argument("--profile", action="store_true",
                      help="instruction files: print where each scheduler's instructions go (top functions)")

    compare_cli.add_compare_parser(sub)
    echo_cmd.add_echo_parser(sub)
    gate_cmd.add_gate_parser(sub)
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
    for entry in discover_isolated().values():
        rows.append([
            entry.name, entry.dialect, entry.origin, (entry.version or "-") if entry.available else "-",
            ("yes" if entry.supports_virtual_clock else "no") if entry.available else "-",
            "available" if entry.available else f"unavailable: {entry.error}",
        ])
    print(text.render(("scheduler", "dialect", "origin", "version", "virtual clock", "status"), rows))
    return EXIT_OK


def cmd_run(ns: argparse.Namespace) -> int:
    if ns.measure == "instructions":
        return cmd_run_instructions(ns)
    if ns.measure == "syscalls":
        return cmd_run_syscalls(ns)
    ns.clock = ns.clock or "real"
    ns.output = ns.output or DEFAULT_OUTPUT
    A.check_run(ns, DEFAULT_MEMORY_LIMIT_MB)  # bounded inputs: refused before anything runs
    if ns.once:
        return cmd_run_once(ns)
    check_outputs(ns.output, "the results file", history=ns.history)
    entries = select(discover_isolated(), ns.scheduler)
    preset = PRESETS[ns.preset or "default"]
    modes = A.run_modes(ns)
    io_rockets = A.io_rockets(ns.rockets or preset.rockets) if "io" in modes else None
    if io_rockets is not None:
        print(f"schedbench: io runs use {io_rockets:,} rockets (an even number, one descriptor each, within this "
              "machine's descriptor limit)", file=sys.stderr)
    spec = SuiteSpec(
        entries=entries, modes=modes, time_scales=ns.time_scale or preset.time_scales,
        rockets=ns.rockets or preset.rockets, seed=ns.seed, clock=ns.clock, preset=preset,
        output=ns.output, run_limit_s=ns.run_limit,
        memory_limit_mb=ns.memory_limit or DEFAULT_MEMORY_LIMIT_MB, switch_processes=ns.processes,
        timed_processes=ns.processes, command=command_line(sys.argv[1:]), handicap=ns.handicap,
        python_flags=tuple(ns.python_flags), python=ns.python, message_size=ns.message_size, io_rockets=io_rockets,
    )
    with store.ResultsLock(spec.output):
        suite = Suite(spec)
        previous = existing_results(spec.output, suite.document(complete=False), ns.replace)
        if previous is not None and ns.history is not None:
            archive_before_new_modes(spec.output, previous, modes, ns.history)
        suite.previous = previous
        jobs = spec.plan()
        print(f"schedbench: {len(jobs)} jobs ({', '.join(e.name for e in entries)}; {', '.join(modes)}"
              f"{'; scales ' + ','.join(f'{s:g}' for s in spec.time_scales) if 'timed' in modes else ''}), "
              f"{spec.rockets:,} rockets, seed {spec.seed}, preset {preset.name} → {spec.output}"
              f"{' (merging)' if previous else ''}", file=sys.stderr)
        suite.run()
    return finish(suite, ns.history)


def archive_before_new_modes(output: Path, previous: Document, modes: list[str], directory: Path) -> None:
    """A results file measured before a mode existed is copied into the history folder
    before this run merges into it, with one line saying so: the suite it came from is kept
    whole, as it was, beside the newer ones."""
    missing = [m for m in modes if m not in previous.workload.modes]
    if not missing:
        return
    kept = keep_history(output, directory, previous)
    print(f"schedbench: {output} holds no {', '.join(missing)} runs (measured before they were part of the suite): "
          f"archived as {kept}; this run merges into it", file=sys.stderr)


def check_outputs(output: Path, role: str, *, history: Path | None = None) -> None:
    """Refuse, before anything runs, an output (and ``--history`` directory) that cannot be written.

    The up-front check of the commands that lock and write a results file (``run``,
    ``scale``): it creates the lock file and a temporary file as the run will
    (``bench.results.writable``, which ``gate``, ``export`` and the reports call too), so
    a read-only, missing or virtual directory, a file in the way or a full disk costs
    nothing instead of a finished measurement.
    """
    store.refuse_unsafe_output(output)  # a directory or a FIFO as -o: say so, leave no lock beside it
    writable.check_file(output, role, lock=True)
    if history is not None:
        writable.check_directory(history, "history to")


def finish(suite: ResultsWriter, history: Path | None = None) -> int:
    """The end of every suite run: the file's tables, where it went, and the exit code."""
    if not suite.saved:
        print(f"\n{suite.interrupted or 'stopped'} before any job finished: {suite.output} untouched",
              file=sys.stderr)
        return 130
    document = store.load(suite.output)
    print(text.render_document(document))
    if history is not None and suite.interrupted is None:
        print(f"\nhistory: {keep_history(suite.output, history, document)}")
    if suite.interrupted:
        print(f"\ninterrupted: kept {len(suite.runs)} finished run(s) in {suite.output} ({suite.interrupted})",
              file=sys.stderr)
        return 130
    print(f"\nresults: {suite.output}")
    if suite.failures:
        print("exit 1: the runs above that failed or were INVALID/SUSPECT", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_OK


def existing_results(output: Path, planned: Document, replace: bool) -> Document | None:
    """What ``output`` holds now, to merge into; refuse a different workload before anything runs."""
    if not output.exists():
        return None
    store.refuse_unsafe_output(output)
    try:
        previous = store.load(output)
    except ResultsError as exc:
        if replace:
            return None
        raise CLIError(f"{exc}; use --replace to overwrite it") from None
    mismatch = store.identity_mismatch(previous, planned)
    if mismatch is None:
        return previous
    if replace:
        return None
    raise CLIError(different_workload(output, mismatch))


def different_workload(output: Path, mismatch: str) -> str:
    """The refusal of a run whose workload is not ``output``'s, saying how to go on.

    Refused rather than merged because a file's figures are only comparable under one
    workload, and one clock: a run is keyed by (mode, scheduler, time scale), so a
    ``--fast`` or ``--clock virtual`` run merged in would silently replace the measured
    runs it shares a key with. The way on that loses nothing comes first (a file of its
    own); ``--replace`` is named last because it discards what the file holds.
    """
    return (f"{output} holds another workload ({mismatch}), so this run cannot merge into it; write it to a "
            f"file of its own with -o FILE, or start {output} afresh with --replace (its runs are then lost)")


#: Options of the wall-time suite that mean nothing for an instruction count.
TIME_ONLY_OPTIONS = ("once", "time_scale", "processes", "preset", "python", "python_flags", "run_limit", "history")


def cmd_run_instructions(ns: argparse.Namespace) -> int:
    """``run --measure instructions``: every scheduler's ``run`` counted under Valgrind."""
    from bench.measure.instruction_suite import InstructionSpec, InstructionSuite
    from bench.measure.instructions import valgrind_problem

    for option in TIME_ONLY_OPTIONS:
        if getattr(ns, option, None):
            flag = "--" + option.replace("_", "-")
            raise CLIError(f"{flag} is for --measure time; an instruction count has no {flag}")
    modes = ns.mode or ["switch", "timed"]
    if "timed" in modes and ns.clock == "real":
        raise CLIError("--measure instructions runs the timed workload on the virtual clock only (waiting is not "
                       "instructions); drop --clock real, or use --mode switch")
    output = ns.output or DEFAULT_INSTRUCTIONS_OUTPUT
    check_outputs(output, "the results file")
    problem = valgrind_problem()
    if problem is not None:
        raise CLIError(problem)
    entries = select(discover_isolated(), ns.scheduler)
    spec = InstructionSpec(
        entries=entries, modes=["virtual" if m == "timed" else m for m in modes],
        rockets=ns.rockets or DEFAULT_INSTRUCTION_ROCKETS, seed=ns.seed,
        output=output, command=command_line(sys.argv[1:]),
        repeats=ns.repeats, cache_sim=ns.cache_sim, handicap=ns.handicap,
    )
    with store.ResultsLock(spec.output):
        suite = InstructionSuite(spec)
        previous = existing_results(spec.output, suite.document(complete=False), ns.replace)
        if previous is not None and ns.history is not None:
            archive_before_new_modes(spec.output, previous, modes, ns.history)
        suite.previous = previous
        print(f"schedbench: instructions under Valgrind, {len(spec.jobs())} jobs "
              f"({', '.join(e.name for e in entries)}; {', '.join(spec.modes)}), {spec.rockets:,} rockets, "
              f"seed {spec.seed} → {spec.output}{' (merging)' if previous else ''}", file=sys.stderr)
        suite.run()
    return finish(suite)


def cmd_run_syscalls(ns: argparse.Namespace) -> int:
    """``run --measure syscalls``: every scheduler's ``run`` traced under strace, calls by name."""
    from bench.cli import syscalls_cmd
    from bench.measure.syscall_suite import SyscallSuite
    from bench.measure.syscalls import strace_problem

    output = syscalls_cmd.checked_output(ns)
    check_outputs(output, "the results file")
    if syscalls_cmd.skipped(strace_problem(), output):
        return EXIT_OK
    spec = syscalls_cmd.spec(ns, select(discover_isolated(), ns.scheduler), output, command_line(sys.argv[1:]))
    with store.ResultsLock(spec.output):
        suite = SyscallSuite(spec)
        suite.previous = existing_results(spec.output, suite.document(complete=False), ns.replace)
        syscalls_cmd.announce(spec, suite.previous is not None)
        suite.run()
    return finish(suite)


def cmd_scale(ns: argparse.Namespace) -> int:
    modes = ns.mode or list(scale.DEFAULT_MODES)
    ns.sizes = ns.sizes or list(scale.IO_SIZES if modes == ["io"] else DEFAULT_SIZES)
    if "io" in modes:
        A.check_scale_io(ns.sizes)
    check_outputs(ns.output, "the scaling results file")
    entries = select(discover_isolated(), ns.scheduler)
    with store.ResultsLock(ns.output):
        previous = store.load(ns.output) if ns.output.exists() else None  # refuse a bad file before minutes of work
        if previous is not None and previous.scaling is not None and previous.scaling.seed != ns.seed:
            raise CLIError(f"{ns.output} holds a sweep of seed {previous.scaling.seed}, not {ns.seed}; "
                           "use another --output")
        total = len(scale.series(entries, modes)) * len(ns.sizes)
        print(scale.opening_line([e.name for e in entries], ns.sizes, total, ns.budget), file=sys.stderr, flush=True)
        sweep = scale.sweep(entries, ns.sizes, ns.seed, ns.budget, report=Progress(total, sys.stderr), modes=modes)
        document = scale.merge_into(ns.output, sweep, previous, command_line(sys.argv[1:]))
    table = tables.scaling_table(document)
    if table is not None:
        print()
        print(text.render_table(table))
    print(scale.growth_summary(sweep))
    print(f"\nscaling results: {ns.output}")
    failed = [p for p in sweep.points if p.status == "failed"]
    if sweep.interrupted:
        print(f"interrupted: kept {len(sweep.points)} finished point(s)", file=sys.stderr)
        return 130
    if failed:
        print(f"{len(failed)} point(s) failed", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_OK


def cmd_show(ns: argparse.Namespace) -> int:
    raw = store.read_json(ns.file)
    if is_gate_file(raw):
        print(gate_table(load_gate(ns.file)))
        return EXIT_OK
    if is_echo_file(raw):
        for table in echo_tables(load_echo(ns.file)):
            print(text.render_table(table))
            print()
        return EXIT_OK
    document = store.load(ns.file)
    if ns.profile:
        print(text.render_profiles(document))
        return EXIT_OK
    gate = last_gate_sentence(Path(ns.file))  # make bench-gate's file beside it, if any
    print(text.render_document(document, [] if gate is None else [gate]))
    return EXIT_OK


def cmd_run_once(ns: argparse.Namespace) -> int:
    entries = select(discover_isolated(), ns.scheduler, available_only=ns.scheduler is None)
    modes = ns.mode or ["switch"]
    scales = ns.time_scale or [1.0]
    ns.rockets = ns.rockets or DEFAULT_ROCKETS
    status = EXIT_OK
    for mode in modes:
        for time_scale in scales if mode == "timed" else scales[:1]:
            workload = Workload.generate(ns.rockets, ns.seed, mode, time_scale, ns.message_size)
            head = f"{mode} mode, {ns.rockets:,} rockets, seed {ns.seed}"
            if mode == "io":
                head += f", {ns.message_size:,}-byte messages"
            if mode == "timed":
                ideal = workload.ideal_makespan_s
                head += f", time scale {time_scale:g} (ideal makespan {ideal:.3f} s), {ns.clock} clock"
            print(head, flush=True)
            rows = oneshot.run_all(entries, workload, ns.clock, run_limit_s=ns.run_limit,
                                   memory_limit_mb=ns.memory_limit or DEFAULT_MEMORY_LIMIT_MB)
            print()
            if any(row.status.broken for row in rows):
                status = EXIT_FAILURES
    return status


class Progress:
    """The sweep's ``report``: one line per finished point, as it finishes, with a count.

    A sweep of every scheduler runs for minutes to an hour with nothing else to show, so
    each point is printed (and flushed) the moment it is done, numbered against the
    planned total, with its own time and the sweep's so far: silence never means "hung".
    Progress goes to ``stream`` (stderr at the CLI), so stdout holds only the results.
    """

    def __init__(self, total: int, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.done = 0

    def __call__(self, point: ScalingPoint) -> None:
        self.done += 1
        print(self.line(point), file=self.stream, flush=True)

    def line(self, p: ScalingPoint) -> str:
        width = len(str(self.total))
        head = (f"[{self.done:>{width}}/{self.total}] {p.scheduler:<22} {p.mode:<8} N={p.rockets:>9,}")
        took = f"sweep {units.seconds(self.clock() - self.started)} s"
        if p.status != "ok":
            return f"{head}  {p.status.upper()}: {p.reason}  ({took})"
        return (f"{head}  {units.ns(p.ns_per_resume):>8} ns/resume  {units.ns(p.tracemalloc_bytes_per_rocket):>8} "
                f"B/rocket  point {units.seconds(p.elapsed_s)} s  ({took})")

COMMANDS = {
    "list": cmd_list, "run": cmd_run, "scale": cmd_scale, "show": cmd_show, "echo": echo_cmd.cmd_echo,
    "compare": compare_cli.cmd_compare, "export": compare_cli.cmd_export, "gate": gate_cmd.cmd_gate,
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
    except BrokenPipeError:
        # ``show … | head``: the reader left; end quietly, as ``cat`` does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        # The commands check their targets up front and name each failure they expect;
        # this is the last line of defence, so a file-system surprise is still one line.
        print(f"{parser.prog}: error: {writable.describe(exc)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
