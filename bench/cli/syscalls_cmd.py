"""``python -m bench run --measure syscalls``: its options, checked, and the spec they make.

``bench.cli.commands.cmd_run_syscalls`` runs the suite (lock, merge, summary) the way it
runs the instruction suite; this module holds what is the syscall count's own: which
``run`` options it refuses, its defaults, and the SKIPPED line where strace cannot trace
(not installed, ``ptrace`` forbidden): one line on stderr, exit 0, the output untouched.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.cli.errors import CLIError
from bench.measure.registry import SchedulerEntry
from bench.measure.syscall_suite import SYSCALL_MODES, SyscallSpec

DEFAULT_SYSCALLS_OUTPUT = Path("results/syscalls.json")
#: Counts are exact at any size; 2,000 rockets (even, for the io mode's pairs) keep a
#: traced run to seconds, as for instruction counts.
DEFAULT_SYSCALL_ROCKETS = 2_000
#: Timed mode's seconds per tick under strace: short enough for seconds per job, long
#: enough that loops block between deadlines (every call already costs tens of µs traced).
DEFAULT_SYSCALL_TIME_SCALE = 0.1
#: ``run`` options that mean nothing for a syscall count.
REFUSED = ("once", "processes", "preset", "python", "python_flags", "run_limit", "history", "cache_sim", "handicap")


def checked_output(ns: argparse.Namespace) -> Path:
    """The output file, once every option has been checked (``CLIError`` names a bad one)."""
    for option in REFUSED:
        if getattr(ns, option, None):
            flag = "--" + option.replace("_", "-")
            raise CLIError(f"{flag} is not for --measure syscalls; a syscall count has no {flag}")
    if getattr(ns, "message_size", 1) != 1:
        raise CLIError("--measure syscalls counts the io mode with 1-byte messages only; drop --message-size")
    if ns.clock == "virtual":
        raise CLIError("--measure syscalls runs on the real clock only (a loop's waiting calls are what it counts); "
                       "drop --clock virtual")
    unrecorded = [m for m in ns.mode or () if m not in SYSCALL_MODES]
    if unrecorded:
        raise CLIError(f"--mode {unrecorded[0]} cannot be recorded in a results file; use {', '.join(SYSCALL_MODES)}")
    rockets = ns.rockets or DEFAULT_SYSCALL_ROCKETS
    if "io" in (ns.mode or SYSCALL_MODES) and rockets % 2:
        raise CLIError(f"--rockets {rockets:,} is odd; the io mode pairs the rockets: use an even number")
    return Path(ns.output or DEFAULT_SYSCALLS_OUTPUT)


def skipped(problem: str | None, output: Path) -> bool:
    """Say in one line that the measure is SKIPPED, and why, when strace cannot trace here."""
    if problem is None:
        return False
    print(f"schedbench: --measure syscalls SKIPPED: {problem}; {output} untouched", file=sys.stderr)
    return True


def spec(ns: argparse.Namespace, entries: Sequence[SchedulerEntry], output: Path, command: str) -> SyscallSpec:
    return SyscallSpec(entries=entries, modes=list(ns.mode or SYSCALL_MODES),
                       time_scales=ns.time_scale or [DEFAULT_SYSCALL_TIME_SCALE],
                       rockets=ns.rockets or DEFAULT_SYSCALL_ROCKETS, seed=ns.seed, output=output, command=command,
                       repeats=ns.repeats or 1)


def announce(suite_spec: SyscallSpec, merging: bool) -> None:
    s = suite_spec
    print(f"schedbench: syscalls under strace, {len(s.jobs())} jobs ({', '.join(e.name for e in s.entries)}; "
          f"{', '.join(s.modes)}), {s.rockets:,} rockets, seed {s.seed}, {s.repeats} process(es) per job "
          f"→ {s.output}{' (merging)' if merging else ''}", file=sys.stderr)
