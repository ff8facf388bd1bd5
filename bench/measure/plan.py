"""What a suite will run: its jobs, how many processes and values each gets, its time limits.

Pure data and arithmetic, no processes: the suite (``bench.measure.suite``) executes a
plan, the CLI prints and checks it before anything runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bench.measure.clocks import ClockKind
from bench.measure.jobs import BodyFloorJob, FloorJob, IoFloorJob, Job, SchedulerJob, TimerFloorJob
from bench.measure.limits import DEFAULT_MEMORY_LIMIT_MB
from bench.measure.presets import Preset
from bench.measure.registry import SchedulerEntry


@dataclass
class SuiteSpec:
    entries: Sequence[SchedulerEntry]
    modes: Sequence[str]
    time_scales: Sequence[float]
    rockets: int
    seed: int
    clock: ClockKind
    preset: Preset
    output: Path
    run_limit_s: float | None = None  # None: derived from each workload
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB
    switch_processes: int | None = None
    timed_processes: int | None = None
    command: str = ""
    #: Test-only: (scheduler, ns) of extra work per sleep, to check the gate catches it.
    handicap: tuple[str, int] | None = None
    #: Interpreter flags for the workers (e.g. ("-O",)) and another interpreter, if any.
    python_flags: tuple[str, ...] = ()
    python: str | None = None
    #: io mode: bytes per message, and the rockets an io run has (None: ``rockets``; fewer
    #: when this machine's descriptor limit does not fit them).
    message_size: int = 1
    io_rockets: int | None = None

    def plan(self) -> list[Job]:
        """Floors first (what every figure is read against), then the schedulers."""
        jobs: list[Job] = []
        if "switch" in self.modes:
            jobs.append(FloorJob())
            dialects = dict.fromkeys(e.dialect for e in self.entries if e.available)
            jobs += [BodyFloorJob(d) for d in dialects if d is not None]
            jobs += [SchedulerJob(e, "switch") for e in self.entries]
        if "timed" in self.modes:
            for scale in self.time_scales:
                if self.clock == "real":
                    jobs.append(TimerFloorJob(scale))
                jobs += [SchedulerJob(e, "timed", scale) for e in self.entries]
        if "io" in self.modes:
            jobs.append(IoFloorJob())
            jobs += [SchedulerJob(e, "io") for e in self.entries]
        return jobs

    def settings(self) -> dict[str, Any]:
        return {
            "switch": {"processes": self.switch_processes or self.preset.switch_processes,
                       "values": self.preset.switch_values, "warmups": self.preset.switch_warmups},
            "timed": {f"{s:g}": self.timed_processes or self.preset.processes_for(s) for s in self.time_scales},
            **({"io": {"processes": self.switch_processes or self.preset.io_processes, "values": self.preset.io_values,
                       "warmups": self.preset.switch_warmups, "rockets": self.io_rockets or self.rockets,
                       "message_size": self.message_size}} if "io" in self.modes else {}),
            "run_limit_s": self.run_limit_s,
            "memory_limit_mb": self.memory_limit_mb,
        }


class Progress:
    """One line per job on stderr; on a terminal, a live line while the job runs."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.stream = stream
        self.live = stream.isatty()
        self.started = time.monotonic()

    def update(self, index: int, job: Job, job_started: float, runs_done: int) -> None:
        if not self.live:
            return
        now = time.monotonic()
        self.stream.write(
            f"\r[{index:>2}/{self.total}] {job.label:<28} {runs_done} runs · "
            f"{now - job_started:5.1f} s (total {now - self.started:5.0f} s)\x1b[K"
        )
        self.stream.flush()

    def done(self, index: int, job: Job, job_started: float, status: str, note: str = "",
             measured_s: float | None = None) -> None:
        """The job's line: its time, and of it the fixed cost (processes, imports, checking
        runs, pyperf's bookkeeping) when the time inside measured runs is known."""
        now = time.monotonic()
        prefix, clear = ("\r", "\x1b[K") if self.live else ("", "")
        elapsed = now - job_started
        fixed = f" (fixed {max(elapsed - measured_s, 0.0):4.1f} s)" if measured_s is not None else ""
        self.stream.write(
            f"{prefix}[{index:>2}/{self.total}] {job.label:<28} {status.upper():<8} {elapsed:6.1f} s{fixed}"
            f"  (total {now - self.started:4.0f} s){'  ' + note if note else ''}{clear}\n"
        )
        self.stream.flush()


