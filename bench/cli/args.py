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
from bench.workload.rockets import DEFAULT_ROCKETS, MAX_COUNTDOWN, MAX_DELAY_TICKS, MODES, Workload

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


def seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer seed; use a whole number such as 1969"
        ) from None


def time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; use a finite number > 0 such as 0.01"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; use a finite number > 0 such as 0.01")
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
    modes = ns.mode or (["switch"] if ns.once else ["switch", "timed"])
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
    """An existing executable file (another Python for the workers)."""
    import os
    import shutil

    found = shutil.which(text)
    if found is None or not os.access(found, os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not an executable interpreter; give a path such as "
                                         "/usr/bin/python3.12")
    return found
