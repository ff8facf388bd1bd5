"""The measurement suite: every (scheduler × mode × scale) job in its own pyperf process tree.

Isolation is the point of the design. Each job is ``python -m bench.measure.worker …`` in a new
process session: a scheduler that raises, hangs, recurses without end or exhausts memory
takes down its own job and nothing else. The worker stops a run that exceeds its time
limit (SIGALRM); this process kills a job that exceeds the job limit (a hang in C code,
a worker that ignores signals). Either way the failure is recorded with its reason.

After every job the results file is rewritten atomically (temporary file + rename), so
a crash or Ctrl-C at any point leaves a complete, loadable file holding every job that
finished. Ctrl-C kills the running job's process group at once and marks the file
``complete: false``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pyperf

from bench.measure import environment
from bench.measure.clocks import ClockKind
from bench.measure.presets import Preset
from bench.measure.registry import SchedulerEntry
from bench.results import aggregate
from bench.results.store import dump_results
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


def run_limit(workload: Workload) -> float:
    return (LIMIT_MAKESPAN_FACTOR * workload.ideal_makespan_s
            + LIMIT_PER_RESUME_S * workload.expected_resumes + LIMIT_MARGIN_S)


@dataclass(frozen=True)
class Job:
    kind: str  # "floor", "switch" or "timed"
    entry: SchedulerEntry | None = None
    time_scale: float | None = None

    @property
    def label(self) -> str:
        if self.kind == "floor":
            return "floor"
        scale = f" @ {self.time_scale:g}" if self.kind == "timed" else ""
        assert self.entry is not None
        return f"{self.kind}{scale} {self.entry.name}"


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
    extra_env: dict[str, str] = field(default_factory=dict)

    def plan(self) -> list[Job]:
        jobs: list[Job] = []
        if "switch" in self.modes:
            jobs.append(Job("floor"))
            jobs += [Job("switch", e) for e in self.entries]
        if "timed" in self.modes:
            for scale in self.time_scales:
                jobs += [Job("timed", e, scale) for e in self.entries]
        return jobs

    def workload(self, job: Job) -> Workload:
        mode = "timed" if job.kind == "timed" else "switch"
        return Workload.generate(self.rockets, self.seed, mode, job.time_scale or 1.0)  # type: ignore[arg-type]

    def processes(self, job: Job) -> int:
        if job.kind == "timed":
            assert job.time_scale is not None
            return self.timed_processes or self.preset.processes_for(job.time_scale)
        return self.switch_processes or self.preset.switch_processes


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


class Suite:
    def __init__(self, spec: SuiteSpec) -> None:
        self.spec = spec
        self.benchmarks: list[Any] = []  # pyperf.Benchmark objects, in job order
        self.runs: list[dict[str, Any]] = []
        self.floor: dict[str, Any] | None = None
        self.interrupted = False
        self.environment = environment.capture(spec.clock)
        # The rocket list's totals, for the file's workload section: computed once, not
        # on every save.
        reference = Workload.generate(spec.rockets, spec.seed, "timed", 1.0)
        self.workload_totals = {
            "total_sleeps": reference.total_sleeps,
            "expected_resumes": reference.expected_resumes,
            "ideal_makespan_ticks": reference.ideal_makespan_s,  # at 1 s per tick
        }

    # ---- running ------------------------------------------------------------------
    def run(self) -> None:
        jobs = self.spec.plan()
        progress = Progress(len(jobs))
        self.save(complete=False)
        with tempfile.TemporaryDirectory(prefix="schedbench-") as scratch:
            for index, job in enumerate(jobs, 1):
                started = time.monotonic()
                try:
                    status, note = self.run_job(job, Path(scratch) / f"job{index}", index, progress)
                except KeyboardInterrupt:
                    self.interrupted = True
                    progress.done(index, job, started, "stopped", "interrupted by Ctrl-C")
                    break
                progress.done(index, job, started, status, note)
                self.save(complete=False)
        self.save(complete=not self.interrupted)

    def run_job(self, job: Job, workdir: Path, index: int, progress: Progress) -> tuple[str, str]:
        spec = self.spec
        workdir.mkdir(parents=True)
        records = workdir / "records"
        records.mkdir()
        output = workdir / "pyperf.json"
        if job.entry is not None and not job.entry.available:
            self.record_failure(job, "skipped", [f"unavailable: {job.entry.error}"], 0.0)
            return "skipped", f"unavailable: {job.entry.error}"
        if job.entry is not None and spec.clock == "virtual" and not job.entry.supports_virtual_clock:
            self.record_failure(job, "skipped", ["does not support the virtual clock"], 0.0)
            return "skipped", "does not support the virtual clock"
        workload = spec.workload(job)
        limit = spec.run_limit_s or run_limit(workload)
        processes = spec.processes(job)
        cmd = self.worker_command(job, workload, processes, limit, records, output)
        runs_per_process = 1 if job.kind == "timed" else spec.preset.switch_values + spec.preset.switch_warmups
        job_limit = (processes + 1) * (JOB_STARTUP_S + (runs_per_process + 1) * max(limit, 1.0))
        started = time.monotonic()
        with (workdir / "stdout.txt").open("w") as out, (workdir / "stderr.txt").open("w") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env={**os.environ, **spec.extra_env})
            try:
                timed_out = self.wait(proc, job, started, job_limit, records, processes, index, progress)
            except BaseException:
                _kill_group(proc)
                raise
        elapsed = time.monotonic() - started
        groups = aggregate.read_records(records)
        status, reasons = aggregate.worst_status(groups)
        if timed_out:
            status, reasons = "failed", [f"timed out after {job_limit:.0f} s (job limit; killed)"]
        elif proc.returncode != 0 and status in ("valid", "early"):
            status, reasons = "failed", [_describe_exit(proc.returncode, workdir / "stderr.txt")]
        if job.kind == "floor":
            return self.collect_floor(output, status, reasons)
        if status not in ("valid", "early") or not output.exists():
            self.record_failure(job, status, reasons, elapsed, groups, workload)
            return status, "; ".join(reasons)
        benchmark = pyperf.Benchmark.load(str(output))
        self.benchmarks.append(benchmark)
        self.runs.append(self.run_entry(job, workload, status, reasons, elapsed, groups, benchmark))
        return status, "; ".join(reasons)

    def wait(self, proc: subprocess.Popen[bytes], job: Job, started: float, job_limit: float,
             records: Path, processes: int, index: int, progress: Progress) -> bool:
        """Wait for the job, updating progress; True when it had to be killed."""
        while True:
            try:
                proc.wait(timeout=0.5)
                return False
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() - started > job_limit:
                _kill_group(proc)
                return True
            runs = sum(len(p.read_text().splitlines()) for p in records.glob("*.jsonl"))
            progress.update(index, job, started, runs, processes)

    def worker_command(self, job: Job, workload: Workload, processes: int, limit: float,
                       records: Path, output: Path) -> list[str]:
        spec = self.spec
        cmd = [sys.executable, "-m", "bench.measure.worker", "--job", job.kind, "--record-dir", str(records),
               "--rockets", str(spec.rockets), "--seed", str(spec.seed), "--clock", spec.clock,
               "--run-limit", f"{limit:.3f}", "--memory-limit-mb", str(spec.memory_limit_mb),
               "-o", str(output), "-p", str(processes)]
        if job.entry is not None:
            cmd += ["--scheduler", job.entry.name]
        if job.kind == "timed":
            cmd += ["--time-scale", repr(job.time_scale), "-n", "1", "-w", "0", "-l", "1"]
        elif job.kind == "floor":
            # A single send is nanoseconds, so one value is many sends. A fixed count
            # instead of pyperf's calibration saves the calibration process.
            cmd += ["-n", str(spec.preset.switch_values), "-w", str(spec.preset.switch_warmups),
                    "-l", str(FLOOR_LOOPS)]
        else:
            # One run per value: a run of the workload lasts milliseconds, far above the
            # clock's resolution, so pyperf's loop calibration (and its extra process)
            # would only multiply the set-up and validation around each run.
            cmd += ["-n", str(spec.preset.switch_values), "-w", str(spec.preset.switch_warmups), "-l", "1"]
        return cmd

    # ---- collecting ---------------------------------------------------------------
    def collect_floor(self, output: Path, status: str, reasons: list[str]) -> tuple[str, str]:
        if status != "valid" or not output.exists():
            return "failed", "; ".join(reasons) or "floor benchmark failed"
        benchmark = pyperf.Benchmark.load(str(output))
        self.benchmarks.append(benchmark)
        self.floor = {"benchmark": "floor", **aggregate.pyperf_summary(benchmark)}
        return "valid", f"{self.floor['mean_s'] * 1e9:.1f} ns per send"

    def base_entry(self, job: Job, status: str, reasons: list[str], elapsed: float) -> dict[str, Any]:
        entry = job.entry
        assert entry is not None
        return {
            "scheduler": entry.name, "origin": entry.origin,
            "dialect": entry.dialect if entry.available else None,
            "mode": job.kind, "time_scale": job.time_scale, "clock": self.spec.clock,
            "status": status, "reasons": reasons, "elapsed_s": elapsed,
            "benchmark": None, "processes": [], "switch": None, "timed": None,
        }

    def record_failure(self, job: Job, status: str, reasons: list[str], elapsed: float,
                       groups: Sequence[Sequence[dict[str, Any]]] = (),
                       workload: Workload | None = None) -> None:
        run = self.base_entry(job, status, reasons, elapsed)
        if workload is not None:
            ok_groups = [g for g in groups if all(r["status"] in ("valid", "early", "invalid") for r in g)]
            run["processes"] = [aggregate.process_summary(g, workload) for g in ok_groups if g]
        self.runs.append(run)

    def run_entry(self, job: Job, workload: Workload, status: str, reasons: list[str], elapsed: float,
                  groups: Sequence[Sequence[dict[str, Any]]], benchmark: Any) -> dict[str, Any]:
        run = self.base_entry(job, status, reasons, elapsed)
        run["benchmark"] = benchmark.get_name()
        run["processes"] = [aggregate.process_summary(g, workload) for g in groups]
        if job.kind == "switch":
            run["switch"] = aggregate.switch_figures(benchmark, self.floor["mean_s"] if self.floor else None)
            run["resumes"] = groups[-1][-1].get("resumes") if groups else None
            run["wasted"] = groups[-1][-1].get("wasted") if groups else None
        else:
            run["timed"] = aggregate.timed_figures(groups, workload)
        return run

    # ---- writing ------------------------------------------------------------------
    def document(self, complete: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        spec = self.spec
        pyperf_part: dict[str, Any] = {"version": "1.0", "benchmarks": []}
        if self.benchmarks:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "suite.json"
                pyperf.BenchmarkSuite(list(self.benchmarks)).dump(str(path))
                pyperf_part = json.loads(path.read_text())
        schedbench = {
            "format": "schedbench-results", "version": 1,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": spec.command, "preset": spec.preset.name,
            "complete": complete, "interrupted": self.interrupted,
            "environment": self.environment,
            "workload": {
                "rockets": spec.rockets, "seed": spec.seed, "modes": list(spec.modes),
                "time_scales": list(spec.time_scales) if "timed" in spec.modes else [],
                "clock": spec.clock, **self.workload_totals,
            },
            "settings": {
                "switch": {"processes": spec.switch_processes or spec.preset.switch_processes,
                           "values": spec.preset.switch_values, "warmups": spec.preset.switch_warmups},
                "timed": {f"{s:g}": spec.timed_processes or spec.preset.processes_for(s) for s in spec.time_scales},
                "run_limit_s": spec.run_limit_s,
            },
            "floor": self.floor,
            "runs": self.runs,
            "scaling": None,
        }
        return pyperf_part, schedbench

    def save(self, complete: bool) -> None:
        pyperf_part, schedbench = self.document(complete)
        dump_results(self.spec.output, pyperf_part, schedbench)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.runs if r["status"] in ("failed", "invalid")]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _describe_exit(returncode: int, stderr_path: Path) -> str:
    if returncode < 0:
        sig = signal.Signals(-returncode).name
        if sig == "SIGKILL":
            return "killed (SIGKILL): out of memory or killed from outside"
        return f"killed by {sig}"
    lines = [line for line in stderr_path.read_text(errors="replace").splitlines() if line.strip()]
    detail = lines[-1].strip() if lines else "no error output"
    # pyperf's manager reports a worker's death as "... failed with exit code -9".
    match = re.search(r"failed with exit code (-\d+)", detail)
    if match:
        return _describe_exit(int(match.group(1)), stderr_path)
    return f"worker exited with status {returncode}: {detail}"


def command_line(argv: Sequence[str]) -> str:
    return "python -m bench " + " ".join(shlex.quote(a) for a in argv)
