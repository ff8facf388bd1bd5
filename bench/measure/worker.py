"""A pyperf program measuring one job: the floor, or one scheduler in one mode and scale.

Run as ``python -m bench.measure.worker --job switch --scheduler heapq … -o out.json``. It is a
standard ``pyperf.Runner`` script: the first process is pyperf's manager, which spawns
worker processes (calibration, warm-ups, values) running this same module with
``--worker``. Our options reach them through ``add_cmdline_args``.

Benchmarks and their values:

* ``floor``: seconds per bare-generator ``send``;
* ``switch/<scheduler>``: seconds per rocket resume (``inner_loops`` = resumes per run);
* ``timed/<scale>/<scheduler>``: seconds of wall time per run (the makespan).

Besides its pyperf value, every run is validated and leaves one JSON line in
``--record-dir`` (status, counters, CPU time and, in timed mode, every wake's lateness):
the distributions pyperf cannot carry. A run that is invalid, crashes or exceeds
``--run-limit`` writes its record and ends the worker with a non-zero status, so pyperf's
manager stops and the orchestrator reads why from the record.

The scheduler is untrusted code, so this module imports everything the harness measures
and records with (the clocks, ``execute_once``, the validator, ``json.dumps``) before
any scheduler is imported, and only worker processes import it at all (pyperf's manager
process never runs it). Each worker process first makes an unmeasured checking run (at the
measured size in switch jobs; ``bench.measure.suspension_check``: does every ``sleep(0)``
suspend?) before pyperf's runs; a scheduler that fails it is recorded INVALID
and measured no further.

Around every measured run (``Guard``): the harness's names are checked against the
identities taken before the plugin was imported (``bench.measure.integrity``), and the
run is bracketed by kernel-stamped marks sent to the isolating parent
(``bench.measure.witness``), which refuses a reported wall time shorter than the bracket.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from json import dumps as _json_dumps
from pathlib import Path
from typing import Any

import pyperf

from bench.measure import witness

# Everything the harness measures, records and judges with is imported here, at the top,
# before ``main`` imports the scheduler (``load_named``): what a plugin patches later is
# not what these modules captured.
from bench.measure.alarm import Alarm, RunTimeout
from bench.measure.child import limit_memory
from bench.measure.clocks import CLOCK_KINDS, ClockKind
from bench.measure.execute import RunOutcome, SchedulerCrashed
from bench.measure.executors import run_once
from bench.measure.floor import floor_time_func
from bench.measure.integrity import Snapshot
from bench.measure.process_tree import die_with_parent
from bench.measure.registry import SchedulerEntry
from bench.measure.suspension_check import check_suspensions
from bench.measure.targets import BODY_FLOOR_PREFIX, load_target
from bench.workload.rockets import DEFAULT_MESSAGE_SIZE, DEFAULT_ROCKETS, DEFAULT_SEED, MODES, Workload

EXIT_RUN_FAILED = 3
#: Jobs whose pyperf value is seconds per resume (``inner_loops`` = resumes per run).
PER_RESUME_JOBS = ("switch", "io")

#: Hidden, for the regression gate's own checks (scripts/gate_check.py, the instruction
#: gate tests) only: ``--handicap heapq:40`` makes heapq's ``sleep`` run 40 iterations of an
#: empty Python loop first, every call (once per rocket resume, inside the timed run). A
#: fixed amount of *work*, not a wall-time busy-wait, so it costs the same instructions
#: under Valgrind as it costs time under pyperf. It travels one way: a worker argument.


def benchmark_name(mode: str, scheduler: str, time_scale: float | None = None) -> str:
    """``switch/heapq``, ``timed/0.01/heapq``; a body floor is its own benchmark, ``body-floor/generator``."""
    if scheduler.startswith(BODY_FLOOR_PREFIX):
        return scheduler
    if mode in PER_RESUME_JOBS:
        return f"{mode}/{scheduler}"
    return f"timed/{time_scale:g}/{scheduler}"


class Recorder:
    """Appends one JSON line per run to this process's file in the record directory."""

    def __init__(self, directory: str) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.path = Path(directory) / f"{os.getpid()}.jsonl"

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as fp:
            fp.write(_json_dumps(record) + "\n")

    def outcome(self, out: RunOutcome, seq: int | None) -> None:
        v = out.verdict
        record: dict[str, Any] = {
            "pid": os.getpid(), "seq": seq,
            "status": v.status.value, "reasons": list(v.reasons), "wall_s": out.wall_s, "cpu_s": out.cpu_s,
            "resumes": v.resumes, "wasted": v.wasted, "early": v.early_wakes,
            "worst_early_s": v.worst_early_s,
        }
        if out.workload.mode == "io":
            record["spurious"] = v.spurious_wakes
        if out.workload.mode == "timed":
            record["lateness_s"] = out.lateness_s
            if out.burst_flags:
                record["burst_flags"] = out.burst_flags
        self.write(record)

    def failure(self, reason: str) -> None:
        self.write({"status": "failed", "reasons": [reason]})


class Guard:
    """What stands around every measured run: the witness's probe and the integrity
    snapshot, both made before the plugin was imported."""

    def __init__(self, probe: witness.Probe | None, snapshot: Snapshot) -> None:
        self.probe = probe
        self.snapshot = snapshot

    def refuse_if_rebound(self, recorder: Recorder, when: str) -> None:
        changed = self.snapshot.changed()
        if changed:
            shown = ", ".join(changed[:4]) + (f" and {len(changed) - 4} more" if len(changed) > 4 else "")
            recorder.write({"status": "invalid", "reasons": [f"harness names rebound {when}: {shown}"]})
            sys.exit(EXIT_RUN_FAILED)


def measured_run(entry: SchedulerEntry, workload: Workload, clock: ClockKind,
                 recorder: Recorder, limit: float, guard: Guard) -> RunOutcome:
    guard.refuse_if_rebound(recorder, "before a measured run")
    seq = guard.probe.seq if guard.probe is not None else None
    try:
        with Alarm(limit):
            outcome = run_once(entry, workload, clock, probe=guard.probe)
    except (SchedulerCrashed, RunTimeout, MemoryError) as exc:
        # SchedulerCrashed already names the exception (RecursionError included);
        # execute_once lets MemoryError through unwrapped.
        recorder.failure("killed: out of memory (MemoryError)" if isinstance(exc, MemoryError) else str(exc))
        sys.exit(EXIT_RUN_FAILED)
    guard.refuse_if_rebound(recorder, "during a measured run")
    recorder.outcome(outcome, seq)
    if outcome.verdict.broken:  # INVALID or SUSPECT: measure no further
        sys.exit(EXIT_RUN_FAILED)
    return outcome


def checking_run(entry: SchedulerEntry, workload: Workload, clock: ClockKind, recorder: Recorder,
                 limit: float, memory_limit_mb: int) -> None:
    """The unmeasured suspension check before pyperf's runs; ends the worker when it fails.

    A scheduler whose loop runs only once per process gets the check in a child process
    of its own, so this process keeps its one run for the measurement.
    """
    reasons: list[str] = []
    try:
        if getattr(entry, "one_run_per_process", False):
            from bench.measure.oneshot import check_in_child

            reasons = check_in_child(entry.name, workload, clock, limit, memory_limit_mb)
        else:
            with Alarm(limit):
                result = check_suspensions(entry, workload, clock)
            if result.failed and result.verdict is not None:
                reasons = list(result.verdict.reasons)
    except (SchedulerCrashed, RunTimeout, MemoryError) as exc:
        why = "killed: out of memory (MemoryError)" if isinstance(exc, MemoryError) else str(exc)
        recorder.failure(f"checking run (unmeasured): {why}")
        sys.exit(EXIT_RUN_FAILED)
    if reasons:
        recorder.write({"status": "invalid", "reasons": reasons})
        sys.exit(EXIT_RUN_FAILED)


def repeated_runs(loops: int, entry: SchedulerEntry, workload: Workload, clock: ClockKind,
                  recorder: Recorder, limit: float, guard: Guard) -> float:
    """pyperf time function: total seconds inside ``scheduler.run`` over ``loops`` runs."""
    total = 0.0
    for _ in range(loops):
        total += measured_run(entry, workload, clock, recorder, limit, guard).wall_s
    return total


def interpreter_flags() -> list[str]:
    """The flags this interpreter was started with, as command-line arguments."""
    return list(subprocess._args_from_interpreter_flags())  # type: ignore[attr-defined]


def parse_handicap(text: str) -> tuple[str, int]:
    """``"heapq:40"`` → ("heapq", 40): 40 iterations of extra work per sleep."""
    name, sep, amount = text.replace("=", ":").partition(":")
    amount = amount.strip()
    if not sep or not name.strip() or not amount.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a handicap; use SCHEDULER:ITERATIONS such as heapq:40")
    return name.strip(), int(amount)


def handicapped(entry: SchedulerEntry, iterations: int) -> SchedulerEntry:
    """``entry`` with a scheduler class whose ``sleep`` first runs ``iterations`` turns of
    an empty loop, every call.

    A subclass, so ``name``, ``dialect`` and the loop are the original's; ``sleep`` is what
    every rocket calls once per resume, inside the timed ``scheduler.run``. The slowdown to
    quote is the one measured (time or instructions), not the iteration count.
    """
    base: type[Any] | None = entry.cls
    assert base is not None, "only an available scheduler can be handicapped"
    work = range(iterations)

    def __init__(self: Any, clock: Any) -> None:
        base.__init__(self, clock)
        original = super(cls, self).sleep  # bound or static, whichever the class has

        def sleep(seconds: float) -> Any:
            for _ in work:
                pass
            return original(seconds)

        self.sleep = sleep  # execute_once reads ``scheduler.sleep`` once, after __init__

    cls: type[Any] = type(base.__name__, (base,), {"__init__": __init__, "__module__": base.__module__})
    return replace(entry, cls=cls)


def add_job_arguments(parser: Any) -> None:
    parser.add_argument("--job", choices=("floor", *MODES), required=True)
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--rockets", type=int, default=DEFAULT_ROCKETS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--message-size", type=int, default=DEFAULT_MESSAGE_SIZE)
    parser.add_argument("--clock", choices=CLOCK_KINDS, default="real")
    parser.add_argument("--record-dir", default=None)
    parser.add_argument("--run-limit", type=float, default=600.0)
    parser.add_argument("--memory-limit-mb", type=int, default=0)
    parser.add_argument("--handicap", type=parse_handicap, default=None, help=argparse.SUPPRESS)
    # The witness's address (pyperf does not pass our environment on to its workers).
    parser.add_argument("--witness", default=None, help=argparse.SUPPRESS)


JOB_OPTIONS = ("job", "scheduler", "rockets", "seed", "time_scale", "message_size", "clock", "record_dir",
               "run_limit", "memory_limit_mb", "witness")


def forward_job_arguments(cmd: list[str], args: Any) -> None:
    for option in JOB_OPTIONS:
        value = getattr(args, option)
        if value is not None:
            cmd.extend([f"--{option.replace('_', '-')}", str(value)])
    if args.handicap is not None:
        name, ns = args.handicap
        cmd.extend(["--handicap", f"{name}:{ns}"])


def drive_pyperf(params: Mapping[str, Any], channel: object) -> dict[str, Any]:
    """Isolation handler (``bench.measure.isolate``): this process becomes pyperf's manager
    for one job, with ``params["argv"]`` as its command line; pyperf spawns the workers,
    which run ``main`` below. The manager never imports the scheduler."""
    argv = list(params["argv"])
    address = os.environ.get(witness.ADDRESS_VARIABLE)
    if address:
        argv += ["--witness", address]
    main(argv)
    return {}


def main(argv: list[str] | None = None) -> None:
    # pyperf starts its worker processes as ``python <program_args>``: the interpreter flags
    # this manager was started with (``-O``, …) must reach them, or they would measure
    # another program than the one asked for.
    program_args = (*interpreter_flags(), "-m", "bench.measure.worker")
    runner = pyperf.Runner(add_cmdline_args=forward_job_arguments, program_args=program_args)
    add_job_arguments(runner.argparser)
    args = runner.parse_args(argv)
    if args.worker:
        die_with_parent()  # a worker must not outlive pyperf's manager (the job's child)
    if args.job == "floor":
        runner.bench_time_func("floor", floor_time_func)
        return
    workload = Workload.generate(args.rockets, args.seed, args.job, args.time_scale, args.message_size)
    metadata = {f"schedbench_{k}": v for k, v in workload.describe().items()}
    metadata["schedbench_scheduler"] = args.scheduler
    metadata["schedbench_clock"] = args.clock
    if not args.worker:
        # pyperf's manager only spawns the workers and collects their values: it never
        # runs the scheduler, so it never imports it either (a plugin's import-time
        # patches stay in the worker processes).
        name = benchmark_name(args.job, args.scheduler, args.time_scale)
        if args.handicap is not None and args.handicap[0] == args.scheduler and args.handicap[1] >= 0:
            metadata["schedbench_handicap_iterations"] = args.handicap[1]
        inner = workload.expected_resumes if args.job in PER_RESUME_JOBS else None
        runner.bench_time_func(name, repeated_runs, None, workload, args.clock, None, args.run_limit, None,
                               inner_loops=inner, metadata=metadata)
        return
    limit_memory(args.memory_limit_mb)
    # Both made before the plugin is imported: the probe's socket and the harness's names.
    guard = Guard(witness.connect(args.witness), Snapshot())
    entry = load_target(args.scheduler)  # the plugin is imported here, after the harness
    if not entry.available:
        sys.exit(f"scheduler {args.scheduler!r} unavailable: {entry.error}")
    recorder = Recorder(args.record_dir or ".")
    if args.job != "io":  # io has no sleep to check: every wake is a readiness the trace proves
        checking_run(entry, workload, args.clock, recorder, args.run_limit, args.memory_limit_mb)
    if args.handicap is not None and args.handicap[0] == entry.name and args.handicap[1] >= 0:
        entry = handicapped(entry, args.handicap[1])
        metadata["schedbench_handicap_iterations"] = args.handicap[1]
    name = benchmark_name(args.job, entry.name, args.time_scale)
    inner = workload.expected_resumes if args.job in PER_RESUME_JOBS else None
    runner.bench_time_func(name, repeated_runs, entry, workload, args.clock, recorder, args.run_limit, guard,
                           inner_loops=inner, metadata=metadata)


if __name__ == "__main__":
    main()
