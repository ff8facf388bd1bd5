"""Argument parsers for the CLI boundary: each names the bad value and what is allowed.

Every input is bounded: a value the harness cannot honour (more rockets than fit the
memory limit, a run limit too short to mean anything, more processes than a machine
runs sensibly, a time scale whose runs would last days, the same list item twice) is
refused here, before anything runs, with one line naming the value and what is allowed.
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Final

from bench.cli.errors import CLIError
from bench.measure.clocks import CLOCK_KINDS
from bench.present.arguments import OneLineParser as OneLineParser
from bench.workload.rockets import (
    DEFAULT_ROCKETS,
    MAX_COUNTDOWN,
    MAX_DELAY_TICKS,
    MAX_MESSAGE_SIZE,
    MODES,
    Workload,
)

#: Worker processes per job: a sane maximum (each is a full interpreter with the workload).
MAX_PROCESSES: Final = 64
#: A run limit below this cannot even start a run; ``--run-limit 1e-9`` used to mean none.
MIN_RUN_LIMIT_S: Final = 1e-3
#: Neither one run nor one timed job (its processes' runs one after another) may be
#: planned to last longer than a day.
MAX_RUN_LIMIT_S: Final = 86_400.0
#: ``--memory-limit`` above this (1 TiB) is not a limit.
MAX_MEMORY_LIMIT_MB: Final = 1 << 20
#: Conservative memory per rocket under the address-space limit: 2 × the largest figure
#: measured here (gevent: 4.3 KB traced by tracemalloc, ~11 KB of RSS per rocket with its
#: greenlet stack slices; trio and anyio 2.5–4.5 KB traced; heapq 0.8 KB), N = 20,000.
BYTES_PER_ROCKET: Final = 16 * 1024
#: Address space a worker holds before its first rocket (interpreter, pyperf, numpy and
#: the event-loop libraries: VmPeak measured at ~170 MB), rounded up.
WORKER_BASELINE_MB: Final = 256
#: The longest any rocket can take, in ticks: its delay (< MAX_DELAY_TICKS) + countdown.
MAX_IDEAL_TICKS: Final = MAX_DELAY_TICKS + MAX_COUNTDOWN
#: ``--time-scale`` bounds, seconds per tick. At 1e-4 a tick (100 µs) is already about
#: one blocking wake's lateness under the kernel's default timer slack (p50 ≈ 75 µs,
#: docs/design.md §12.3); below it lateness measures the timer, not the schedule. Above
#: 100 one run lasts up to ``MAX_IDEAL_TICKS`` × 100 s = 15 min, a suite hours.
MIN_TIME_SCALE: Final = 1e-4
MAX_TIME_SCALE: Final = 100.0
#: How long ``interpreter`` waits for the candidate to answer its probe: generous for a
#: cold start importing pyperf on a loaded machine, short enough to fail before a suite.
INTERPRETER_PROBE_TIMEOUT_S: Final = 30.0
#: The probe: the worker needs Python ≥ 3.11 and pyperf. It prints one line only on success.
INTERPRETER_PROBE: Final = (
    "import sys\n"
    "if sys.version_info[:2] < (3, 11):\n"
    "    sys.exit(f'Python {sys.version_info[0]}.{sys.version_info[1]} is too old; the workers need 3.11 or newer')\n"
    "import pyperf\n"
    "print('schedbench-probe-ok')\n"
)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer; use a whole number ≥ 1"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small; use a whole number ≥ 1")
    return value


def message_size(text: str) -> int:
    """io mode's bytes per message: 1 … 1 MiB."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"message size {text!r} is not a whole number of bytes; use 1 … "
                                         f"{MAX_MESSAGE_SIZE:,}") from None
    if not 1 <= value <= MAX_MESSAGE_SIZE:
        raise argparse.ArgumentTypeError(f"message size {value:,} is not allowed; use 1 … {MAX_MESSAGE_SIZE:,} bytes "
                                         "(1 MiB)")
    return value


def seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer seed; use a whole number such as 1969"
        ) from None


def positive_number(text: str) -> float:
    """A finite number > 0 with no other bound: budgets, relative effects.

    Kept apart from ``time_scale`` so that bounding time scales does not bound the
    options that only shared its parser (``--budget``, the gate's ``--min-effect*``).
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; use a finite number > 0"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; use a finite number > 0")
    return value


def time_scale(text: str) -> float:
    """Seconds per tick, in [``MIN_TIME_SCALE``, ``MAX_TIME_SCALE``].

    The bounds are about meaning, not arithmetic: below the floor a tick is shorter than
    a blocking wake's own lateness (every figure would measure the timer, not the
    schedule); above the ceiling one run (up to ``MAX_IDEAL_TICKS`` ticks) takes up to a
    quarter of an hour and a suite hours. ``check_run`` keeps its per-job bound (a day)
    for callers that build the namespace themselves; through this parser it cannot be
    reached (100 s × 9 ticks × 64 processes is 16 h).
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; use a time scale {MIN_TIME_SCALE:g} … {MAX_TIME_SCALE:g} such as 0.01"
        ) from None
    if not MIN_TIME_SCALE <= value <= MAX_TIME_SCALE:  # NaN fails too; ±inf are out of range
        raise argparse.ArgumentTypeError(f"time scale {text!r} is not allowed; use {MIN_TIME_SCALE:g} … "
                                         f"{MAX_TIME_SCALE:g} seconds per tick, such as 0.01")
    return value


def time_scales(text: str) -> list[float]:
    values = [time_scale(part) for part in _split(text, "time scale")]
    _no_duplicates(text, [f"{v:g}" for v in values], "time scale")
    return values


def sizes(text: str) -> list[int]:
    values = [positive_int(part) for part in _split(text, "size")]
    _no_duplicates(text, [f"{v}" for v in values], "size")
    return sorted(values)


def processes(text: str) -> int:
    value = positive_int(text)
    if value > MAX_PROCESSES:
        raise argparse.ArgumentTypeError(f"{value} processes is too many; use 1 … {MAX_PROCESSES}")
    return value


def run_limit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; use {MIN_RUN_LIMIT_S:g} … "
                                         f"{MAX_RUN_LIMIT_S:g}") from None
    if not (MIN_RUN_LIMIT_S <= value <= MAX_RUN_LIMIT_S):  # NaN fails too
        raise argparse.ArgumentTypeError(f"run limit {text!r} s is not allowed; use {MIN_RUN_LIMIT_S:g} … "
                                         f"{MAX_RUN_LIMIT_S:g} seconds")
    return value


def modes(text: str) -> list[str]:
    chosen = _split(text, "mode")
    for mode in chosen:
        if mode not in MODES:
            raise argparse.ArgumentTypeError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
    return chosen


def clock_kind(text: str) -> str:
    if text not in CLOCK_KINDS:
        raise argparse.ArgumentTypeError(f"unknown clock {text!r}; allowed: {', '.join(CLOCK_KINDS)}")
    return text


def names(text: str) -> list[str]:
    return _split(text, "scheduler")


def _split(text: str, what: str) -> list[str]:
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of {what}s")
    _no_duplicates(text, parts, what)
    return parts


def _no_duplicates(text: str, keys: list[str], what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise argparse.ArgumentTypeError(f"{text!r} names {what} {key} twice; list each {what} once")
        seen.add(key)


def max_rockets(memory_limit_mb: int) -> int:
    """The most rockets a worker can hold under ``memory_limit_mb`` (conservatively)."""
    return max(0, (memory_limit_mb - WORKER_BASELINE_MB) * 2**20 // BYTES_PER_ROCKET)


#: What ``run`` measures when no ``--mode`` is given.
DEFAULT_MODES = ["switch", "timed", "io"]


def check_io(ns: Any, rockets: int) -> None:
    """The io mode's own bounds: the real clock, pairs of rockets, one descriptor each."""
    from bench.workload.io_rockets import descriptor_room

    if ns.clock == "virtual":
        raise CLIError("--mode io runs on the real clock only (sockets do not wait on a virtual clock); drop "
                       "--clock virtual or the io mode")
    if rockets % 2:
        raise CLIError(f"--rockets {rockets:,} is odd; the io mode pairs the rockets: use an even number")
    room = descriptor_room()
    if ns.rockets and rockets > room:
        raise CLIError(f"--rockets {rockets:,} needs {rockets:,} descriptors in io mode; this machine's hard limit "
                       f"leaves room for {room:,}: use at most {room:,} rockets")


def scale_modes(text: str) -> list[str]:
    """``bench scale --mode``: switch, virtual (the timed workload on the virtual clock), io."""
    chosen = _split(text, "mode")
    for mode in chosen:
        if mode not in ("switch", "virtual", "io"):
            raise argparse.ArgumentTypeError(f"unknown mode {mode!r}; allowed: switch, virtual, io")
    _no_duplicates(text, chosen, "mode")
    return chosen


def check_scale_io(sizes: list[int]) -> None:
    """An io sweep's sizes: even, and within the descriptor limit (one descriptor a rocket)."""
    from bench.workload.io_rockets import descriptor_room

    room = descriptor_room()
    for n in sizes:
        if n % 2:
            raise CLIError(f"--sizes: {n:,} is odd; the io mode pairs the rockets: use even sizes")
        if n > room:
            raise CLIError(f"--sizes: {n:,} rockets need {n:,} descriptors in io mode; this machine's hard limit "
                           f"leaves room for {room:,}")


def run_modes(ns: Any) -> list[str]:
    """The modes a ``run`` measures: ``--mode``, else the default (switch for ``--once``; no
    io on the virtual clock, where sockets cannot wait)."""
    if ns.mode:
        return list(ns.mode)
    if ns.once:
        return ["switch"]
    return [m for m in DEFAULT_MODES if not (m == "io" and ns.clock == "virtual")]


def io_rockets(rockets: int) -> int | None:
    """The io runs' rocket count when ``rockets`` does not suit them (None: it does): odd
    (the io mode pairs rockets) or beyond the descriptor limit. Only when io was not asked
    for by name; ``check_io`` refuses both when it was."""
    from bench.workload.io_rockets import descriptor_room

    fitting = min(rockets - rockets % 2, descriptor_room())
    return fitting if fitting != rockets else None


def check_run(ns: Any, default_memory_limit_mb: int) -> None:
    """Refuse, before anything runs, a ``run`` whose options cannot work together.

    Reads ``rockets``, ``memory_limit``, ``processes``, ``run_limit``, ``time_scale``,
    ``mode``, ``preset`` and ``once`` from the parsed arguments; raises ``CLIError``
    (one line, exit 2) naming the value and what is allowed.
    """
    from bench.measure.presets import PRESETS

    preset = PRESETS[ns.preset or "default"]
    if ns.processes is not None and not 1 <= ns.processes <= MAX_PROCESSES:
        raise CLIError(f"--processes {ns.processes} is not allowed; use 1 … {MAX_PROCESSES}")
    if ns.run_limit is not None and not MIN_RUN_LIMIT_S <= ns.run_limit <= MAX_RUN_LIMIT_S:
        raise CLIError(f"--run-limit {ns.run_limit:g} is not allowed; use {MIN_RUN_LIMIT_S:g} … "
                       f"{MAX_RUN_LIMIT_S:g} seconds")
    memory = ns.memory_limit or default_memory_limit_mb
    if memory > MAX_MEMORY_LIMIT_MB:
        raise CLIError(f"--memory-limit {memory:,} MB is not a limit; use at most {MAX_MEMORY_LIMIT_MB:,} MB")
    rockets = ns.rockets or (DEFAULT_ROCKETS if ns.once else preset.rockets)
    fit = max_rockets(memory)
    if rockets > fit:
        allowed = (f"use at most {fit:,} rockets or raise --memory-limit (≈ {BYTES_PER_ROCKET // 1024} KiB per "
                   f"rocket + {WORKER_BASELINE_MB} MB per worker)")
        raise CLIError(f"--rockets {rockets:,} does not fit the {memory:,} MB memory limit; {allowed}")
    modes = run_modes(ns)
    if ns.mode and "io" in ns.mode:  # asked for by name: its bounds hold exactly
        check_io(ns, rockets)
    if "timed" not in modes:
        return
    scales = ns.time_scale or ([1.0] if ns.once else preset.time_scales)
    for scale in scales:
        count = 1 if ns.once else ns.processes or preset.processes_for(scale)
        longest = MAX_IDEAL_TICKS * scale * count
        if longest > MAX_RUN_LIMIT_S:
            most = MAX_RUN_LIMIT_S / (MAX_IDEAL_TICKS * count)
            raise CLIError(f"--time-scale {scale:g}: {count} process(es) × an ideal makespan of up to "
                           f"{MAX_IDEAL_TICKS * scale:,.0f} s exceeds the {MAX_RUN_LIMIT_S:,.0f} s a timed job may "
                           f"take; use a time scale ≤ {most:.4g}")
    if ns.run_limit is not None:
        for scale in scales:
            ideal = Workload.generate(rockets, ns.seed, "timed", scale).ideal_makespan_s
            if ideal > ns.run_limit:
                raise CLIError(f"--run-limit {ns.run_limit:g} s is shorter than the ideal makespan {ideal:.3f} s "
                               f"at time scale {scale:g} (every run would be stopped); use a run limit > "
                               f"{ideal:.3f} s or a smaller time scale")


#: Interpreter flags a worker may run with: they change what the interpreter executes
#: (asserts, docstrings, hash randomisation) but not where it reads its input.
ALLOWED_PYTHON_FLAGS = ("-O", "-OO", "-B", "-E", "-s", "-S", "-I", "-u", "-X")


def python_flags(text: str) -> tuple[str, ...]:
    """``"-O"`` or ``"-O -X dev"`` → ("-O",) / ("-O", "-X", "dev")."""
    parts = text.split()
    out: list[str] = []
    expect_value = False
    for part in parts:
        if expect_value:
            out.append(part)
            expect_value = False
            continue
        if part not in ALLOWED_PYTHON_FLAGS:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not an allowed interpreter flag; allowed: {', '.join(ALLOWED_PYTHON_FLAGS)}")
        out.append(part)
        expect_value = part == "-X"
    if expect_value or not out:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of interpreter flags such as -O")
    return tuple(out)


def interpreter(text: str) -> str:
    """An executable Python ≥ 3.11 that can import pyperf (another Python for the workers).

    Being executable is not enough: ``/bin/false`` is, and a suite on it would fail every
    job with a worker error after the start-up work. So the candidate is run once with
    ``INTERPRETER_PROBE`` (version check, ``import pyperf``), bounded by
    ``INTERPRETER_PROBE_TIMEOUT_S``; anything but its one success line refuses it, with
    the last line it wrote to stderr as the reason. Cost: one interpreter start (~50 ms,
    more with pyperf's imports) at argument parsing, paid only when ``--python`` is given.
    The probe does not import the schedulers' loops: which ones a side lacks is reported
    per scheduler when it runs, as for the default interpreter.
    """
    import os
    import shutil
    import subprocess

    found = shutil.which(text)
    if found is None or not os.access(found, os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not an executable interpreter; give a path such as "
                                         "/usr/bin/python3.12")
    command = [found, "-c", INTERPRETER_PROBE]
    try:
        # stdin closed: a program that reads it (a shell, a REPL) must not wait on the terminal.
        proc = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=INTERPRETER_PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise argparse.ArgumentTypeError(f"{text!r} did not answer a version check within "
                                         f"{INTERPRETER_PROBE_TIMEOUT_S:g} s; give a Python 3.11+ with pyperf "
                                         "installed") from None
    except OSError as exc:  # not a loadable program (wrong format, a directory, …)
        raise argparse.ArgumentTypeError(f"{text!r} could not be started ({exc.strerror or exc}); give a Python "
                                         "3.11+ with pyperf installed") from None
    if proc.returncode != 0 or proc.stdout.strip() != "schedbench-probe-ok":
        said = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        why = said[-1] if said else f"exit status {proc.returncode}, no message"
        raise argparse.ArgumentTypeError(f"{text!r} failed the interpreter check ({why[:200]}); give a Python "
                                         "3.11+ with pyperf installed")
    return found
