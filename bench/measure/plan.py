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
from bench.measure.presets import Preset
from bench.measure.registry import SchedulerEntry
from bench.measure.targets import body_floor_name
from bench.workload.rockets import Workload

#: Per-run time allowance: 10 × the ideal makespan, plus 20 µs per resume (≈ 10× the
#: slowest seed scheduler's switch cost), plus a fixed margin for start-up and GC.
LIMIT_MAKESPAN_FACTOR = 10.0
LIMIT_PER_RESUME_S = 20e-6
LIMIT_MARGIN_S = 5.0
#: Job allowance on top of its runs: process start-up and pyperf's own bookkeeping.
JOB_STARTUP_S = 15.0
#: Address-space limit per worker: a scheduler that leaks fails with MemoryError long
#: before the machine (24 GiB here) starts swapping or the OOM killer picks a victim.
DEFAULT_MEMORY_LIMIT_MB = 8 * 1024


#: Sends per floor value: ~95 ms at the ~45 ns a send costs on the development VM, about
#: pyperf's default minimum time per value (0.1 s); a faster machine gets shorter values,
#: still thousands of times the clock's resolution.
FLOOR_LOOPS = 2**21
#: Wall time the timer floor may spend per time scale, all its variants together.
TIMER_FLOOR_BUDGET_S = 4.0


#: On the virtual clock waiting costs nothing, so the allowance comes from the work alone:
#: per resume, generous enough for a design that polls every live task on every pass.
LIMIT_VIRTUAL_PER_RESUME_S = 2e-3


#: A design that polls every live task on every pass does rockets × wakes polls at worst
#: on the virtual clock: allow each of them a microsecond (~5× what listscan's take).
LIMIT_VIRTUAL_PER_POLL_S = 1e-6


def run_limit(workload: Workload, clock: ClockKind = "real", polling: bool = False) -> float:
    """Seconds one run may take before it is stopped and recorded as timed out.

    On the virtual clock waiting costs nothing, so the limit comes from the work: resumes,
    and for a polling design the polls its strategy implies.
    """
    if clock == "virtual":
        polls = workload.count * workload.total_sleeps if polling else 0
        return (LIMIT_VIRTUAL_PER_RESUME_S * workload.expected_resumes + LIMIT_VIRTUAL_PER_POLL_S * polls
                + LIMIT_MARGIN_S)
    return (LIMIT_MAKESPAN_FACTOR * workload.ideal_makespan_s
            + LIMIT_PER_RESUME_S * workload.expected_resumes + LIMIT_MARGIN_S)


@dataclass(frozen=True)
class Job:
    kind: str  # "floor", "body-floor", "timer-floor", "switch" or "timed"
    entry: SchedulerEntry | None = None
    time_scale: float | None = None
    dialect: str | None = None  # body-floor jobs

    @property
    def label(self) -> str:
        if self.kind == "floor":
            return "floor (bare send)"
        if self.kind == "body-floor":
            return f"body floor {self.dialect}"
        if self.kind == "timer-floor":
            return f"timer floor @ {self.time_scale:g}"
        scale = f" @ {self.time_scale:g}" if self.kind == "timed" else ""
        assert self.entry is not None
        return f"{self.kind}{scale} {self.entry.name}"

    @property
    def target(self) -> str | None:
        """What the worker loads: a scheduler's name or a body floor driver's."""
        if self.kind == "body-floor":
            assert self.dialect is not None
            return body_floor_name(self.dialect)
        return None if self.entry is None else self.entry.name


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

    def plan(self) -> list[Job]:
        """Floors first (what every figure is read against), then the schedulers."""
        jobs: list[Job] = []
        if "switch" in self.modes:
            jobs.append(Job("floor"))
            dialects = dict.fromkeys(e.dialect for e in self.entries if e.available)
            jobs += [Job("body-floor", dialect=d) for d in dialects]
            jobs += [Job("switch", e) for e in self.entries]
        if "timed" in self.modes:
            for scale in self.time_scales:
                if self.clock == "real":
                    jobs.append(Job("timer-floor", time_scale=scale))
                jobs += [Job("timed", e, scale) for e in self.entries]
        return jobs

    def workload(self, job: Job) -> Workload:
        mode = "timed" if job.kind in ("timed", "timer-floor") else "switch"
        return Workload.generate(self.rockets, self.seed, mode, job.time_scale or 1.0)  # type: ignore[arg-type]

    def processes(self, job: Job) -> int:
        if job.kind == "timed":
            assert job.time_scale is not None
            return self.timed_processes or self.preset.processes_for(job.time_scale)
        return self.switch_processes or self.preset.switch_processes

    def values_and_warmups(self, job: Job) -> tuple[int, int]:
        """pyperf values and warm-ups per worker process. A scheduler that can run only
        once per process (a reactor that cannot restart) gets one value and no warm-up."""
        if job.kind == "timed" or (job.entry is not None and job.entry.one_run_per_process):
            return 1, 0
        return self.preset.switch_values, self.preset.switch_warmups

    def runs_per_process(self, job: Job) -> int:
        return sum(self.values_and_warmups(job))

    def settings(self) -> dict[str, Any]:
        return {
            "switch": {"processes": self.switch_processes or self.preset.switch_processes,
                       "values": self.preset.switch_values, "warmups": self.preset.switch_warmups},
            "timed": {f"{s:g}": self.timed_processes or self.preset.processes_for(s) for s in self.time_scales},
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

    def update(self, index: int, job: Job, job_started: float, runs_done: int, processes: int) -> None:
        if not self.live:
            return
        now = time.monotonic()
        self.stream.write(
            f"\r[{index:>2}/{self.total}] {job.label:<28} {runs_done} runs, {processes} processes · "
            f"{now - job_started:5.1f} s (total {now - self.started:5.0f} s)\x1b[K"
        )
        self.stream.flush()

    def done(self, index: int, job: Job, job_started: float, status: str, note: str = "") -> None:
        now = time.monotonic()
        prefix, clear = ("\r", "\x1b[K") if self.live else ("", "")
        self.stream.write(
            f"{prefix}[{index:>2}/{self.total}] {job.label:<28} {status.upper():<8} {now - job_started:6.1f} s"
            f"  (total {now - self.started:4.0f} s){'  ' + note if note else ''}{clear}\n"
        )
        self.stream.flush()


