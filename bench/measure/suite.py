"""The measurement suite: every (scheduler × mode × scale) job in its own pyperf process tree.

Isolation is the point of the design. Each job is ``python -m bench.measure.worker …`` in a new
process session: a scheduler that raises, hangs, recurses without end or exhausts memory
takes down its own job and nothing else. The worker stops a run that exceeds its time
limit (SIGALRM); this process kills a job that exceeds the job limit (a hang in C code,
a worker that ignores signals). Either way the failure is recorded with its reason.

Size: one class that runs every kind of job and collects its output; the plan, the
plausibility checks, process handling and the file writing are modules of their own.

The results file is not touched before the first job finishes; after every job it is
rewritten atomically (``bench.results.store``), merged into what the file held when the
run began, so a crash, Ctrl-C or SIGTERM at any point leaves a loadable file that holds
everything it held before plus every job that finished. Ctrl-C and SIGTERM kill the
running job's process group at once and mark the file ``complete: false``.

What a worker reports is untrusted (a plugin runs in it): records are parsed through the
results model, and a record that is not a finite, well-typed figure fails that run with
the reason instead of crashing the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import pyperf

from bench.measure import environment
from bench.measure.clocks import ClockKind
from bench.measure.plan import (
    FLOOR_LOOPS,
    JOB_STARTUP_S,
    TIMER_FLOOR_BUDGET_S,
    Job,
    Progress,
    SuiteSpec,
    run_limit,
)
from bench.measure.plausibility import os_accounting, plausible
from bench.measure.processes import describe_exit, kill_group
from bench.measure.registry import SchedulerEntry
from bench.measure.writer import ResultsWriter, pyperf_suite_json
from bench.results import aggregate
from bench.results.fields import Fields, ResultsError
from bench.results.model import (
    Document,
    Environment,
    RunRecord,
    Sample,
    Status,
    TimerFloor,
    WorkloadInfo,
    short_commit,
)
from bench.workload.rockets import Workload


class Interrupted(BaseException):
    """SIGTERM, turned into the same path as Ctrl-C: kill the job, keep what finished."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    def on_term(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(f"stopped by {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Suite(ResultsWriter):
    """Runs the planned jobs one after another and keeps the results file up to date.

    ``previous`` is the file's content when the run began (already checked to have the
    same identity): every save merges into it, so a subset run never drops what it did not
    re-measure. The file is not touched before the first job finishes.
    """

    def __init__(self, spec: SuiteSpec, previous: Document | None = None) -> None:
        super().__init__(spec.output, previous)
        self.spec = spec
        self.floor: Sample | None = None
        self.body_floors: dict[str, Sample] = {}
        self.timer_floors: list[TimerFloor] = []
        self.environment = environment.capture(spec.clock, spec.python_flags, spec.python)
        self.commit = short_commit(self.environment.get("commit"), self.environment.get("dirty"))
        # The rocket list's totals, for the file's workload section: computed once.
        reference = Workload.generate(spec.rockets, spec.seed, "timed", 1.0)
        self.workload_totals = (reference.total_sleeps, reference.expected_resumes, reference.ideal_makespan_s)

    # ---- running ------------------------------------------------------------------
    def run(self) -> None:
        jobs = self.spec.plan()
        progress = Progress(len(jobs))
        with tempfile.TemporaryDirectory(prefix="schedbench-") as scratch, sigterm_as_interrupt():
            for index, job in enumerate(jobs, 1):
                started = time.monotonic()
                try:
                    status, note = self.run_job(job, Path(scratch) / f"job{index}", index, progress)
                except (KeyboardInterrupt, Interrupted) as exc:
                    self.interrupted = str(exc) or "interrupted by Ctrl-C"
                    progress.done(index, job, started, "stopped", self.interrupted)
                    break
                progress.done(index, job, started, status, note)
                self.save(complete=False)
        if self.saved or self.runs or self.floor or self.body_floors or self.timer_floors:
            self.save(complete=self.interrupted is None)

    def run_job(self, job: Job, workdir: Path, index: int, progress: Progress) -> tuple[str, str]:
        spec = self.spec
        workdir.mkdir(parents=True)
        records = workdir / "records"
        records.mkdir()
        output = workdir / "pyperf.json"
        if job.entry is not None:
            skip = skip_reason(job.entry, spec.clock)
            if skip is not None:
                self.record(self.failed_entry(job, Status.SKIPPED, [skip], 0.0))
                return "skipped", skip
        workload = spec.workload(job)
        if job.kind == "timer-floor":
            return self.run_timer_floor(job, workload, workdir)
        polling = job.entry.polling if job.entry is not None else False
        limit = spec.run_limit_s or run_limit(workload, spec.clock, polling)
        processes = spec.processes(job)
        cmd = self.worker_command(job, workload, processes, limit, records, output)
        job_limit = (processes + 1) * (JOB_STARTUP_S + (spec.runs_per_process(job) + 1) * max(limit, 1.0))
        started = time.monotonic()
        usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        with (workdir / "stdout.txt").open("w") as out, (workdir / "stderr.txt").open("w") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env={**os.environ, "PYTHONPATH": _pythonpath()})
            try:
                timed_out = self.wait(proc, job, started, job_limit, records, processes, index, progress)
            except BaseException:
                kill_group(proc)
                raise
        elapsed = time.monotonic() - started
        usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        os_cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
        try:
            groups = aggregate.read_records(records)
            status, reasons = aggregate.worst_status(groups)
            if status in (Status.VALID, Status.EARLY) and not timed_out:
                disagreement = os_accounting(groups, elapsed, os_cpu, workload, spec.clock)
                if disagreement:
                    status, reasons = Status.INVALID, disagreement
        except aggregate.BadRecord as exc:
            groups, status, reasons = [], Status.FAILED, [f"worker output malformed: {exc}"]
        if timed_out:
            status, reasons = Status.FAILED, [f"timed out after {job_limit:.0f} s (job limit; killed)"]
        elif proc.returncode != 0 and status in (Status.VALID, Status.EARLY):
            status, reasons = Status.FAILED, [describe_exit(proc.returncode, workdir / "stderr.txt")]
        if job.kind == "floor":
            return self.collect_floor(output, status, reasons)
        if job.kind == "body-floor":
            return self.collect_body_floor(job, output, status, reasons)
        if status not in (Status.VALID, Status.EARLY) or not output.exists():
            self.record(self.failed_entry(job, status, reasons, elapsed, groups, workload))
            return status.value, "; ".join(reasons)
        benchmark = pyperf.Benchmark.load(str(output))
        try:
            run = self.run_entry(job, workload, status, reasons, elapsed, groups, benchmark)
        except (aggregate.BadRecord, ResultsError) as exc:
            self.record(self.failed_entry(job, Status.FAILED, [f"worker output malformed: {exc}"], elapsed))
            return "failed", f"worker output malformed: {exc}"
        self.benchmarks.append(benchmark)
        self.record(run)
        return run.status.value, run.note

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
                kill_group(proc)
                return True
            runs = sum(_count_lines(p) for p in records.glob("*.jsonl"))
            progress.update(index, job, started, runs, processes)

    def worker_command(self, job: Job, workload: Workload, processes: int, limit: float,
                       records: Path, output: Path) -> list[str]:
        spec = self.spec
        cmd = [spec.python or sys.executable, *spec.python_flags, "-m", "bench.measure.worker",
               "--job", "switch" if job.kind == "body-floor" else job.kind, "--record-dir", str(records),
               "--rockets", str(spec.rockets), "--seed", str(spec.seed), "--clock", spec.clock,
               "--run-limit", f"{limit:.3f}", "--memory-limit-mb", str(spec.memory_limit_mb),
               "-o", str(output), "-p", str(processes)]
        if job.target is not None:
            cmd += ["--scheduler", job.target]
        if spec.handicap is not None and job.entry is not None and spec.handicap[0] == job.entry.name:
            cmd += ["--handicap", f"{spec.handicap[0]}:{spec.handicap[1]}"]
        values, warmups = spec.values_and_warmups(job)
        if job.kind == "timed":
            cmd += ["--time-scale", repr(job.time_scale), "-n", "1", "-w", "0", "-l", "1"]
        elif job.kind == "floor":
            # A single send is nanoseconds, so one value is many sends. A fixed count
            # instead of pyperf's calibration saves the calibration process.
            cmd += ["-n", str(values), "-w", str(warmups), "-l", str(FLOOR_LOOPS)]
        else:
            # One run per value: a run of the workload lasts milliseconds, far above the
            # clock's resolution, so pyperf's loop calibration (and its extra process)
            # would only multiply the set-up and validation around each run.
            cmd += ["-n", str(values), "-w", str(warmups), "-l", "1"]
        return cmd

    # ---- collecting ---------------------------------------------------------------
    def collect_floor(self, output: Path, status: Status, reasons: list[str]) -> tuple[str, str]:
        if status is not Status.VALID or not output.exists():
            return "failed", "; ".join(reasons) or "floor benchmark failed"
        benchmark = pyperf.Benchmark.load(str(output))
        self.benchmarks.append(benchmark)
        self.floor = aggregate.pyperf_sample(benchmark)
        return "valid", f"{self.floor.mean_ns:.1f} ns per send"

    def collect_body_floor(self, job: Job, output: Path, status: Status, reasons: list[str]) -> tuple[str, str]:
        assert job.dialect is not None
        if status is not Status.VALID or not output.exists():
            return "failed", "; ".join(reasons) or "body floor benchmark failed"
        benchmark = pyperf.Benchmark.load(str(output))
        self.benchmarks.append(benchmark)
        self.body_floors[job.dialect] = aggregate.pyperf_sample(benchmark)
        return "valid", f"{self.body_floors[job.dialect].mean_ns:.0f} ns per resume"

    def run_timer_floor(self, job: Job, workload: Workload, workdir: Path) -> tuple[str, str]:
        """The machine's own wake-up lateness for this scale's gaps, in a child process."""
        spec = self.spec
        cmd = [sys.executable, "-m", "bench.measure.timer_floor", "--rockets", str(spec.rockets),
               "--seed", str(spec.seed), "--time-scale", repr(job.time_scale), "--budget", repr(TIMER_FLOOR_BUDGET_S)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                  timeout=TIMER_FLOOR_BUDGET_S * 4 + 30,
                                  env={**os.environ, "PYTHONPATH": _pythonpath()})
        except subprocess.TimeoutExpired:
            return "failed", "timer floor timed out"
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            return "failed", (proc.stderr.strip().splitlines() or ["no output"])[-1]
        try:
            raw = json.loads(lines[-1])
            floor = TimerFloor.from_json(Fields({
                "time_scale": raw["time_scale"], "wakes": raw["wakes"], "blocking_default": raw["blocking"],
                "blocking_lowered": raw.get("blocking_low_slack"), "spin": raw.get("spinning")}, "timer floor"))
        except (json.JSONDecodeError, KeyError, TypeError, ResultsError) as exc:
            return "failed", f"timer floor output malformed: {exc}"
        self.timer_floors.append(floor)
        ref = floor.reference
        return "valid", f"p50 {ref.p50:,.0f} µs, p99 {ref.p99:,.0f} µs late ({floor.wakes:,} wakes)"

    def base_entry(self, job: Job, status: Status, reasons: list[str], elapsed: float) -> dict[str, Any]:
        entry = job.entry
        assert entry is not None
        return {
            "scheduler": entry.name, "origin": entry.origin, "version": entry.version,
            "timer_note": entry.timer_note if entry.available else None,
            "dialect": entry.dialect if entry.available else None,
            "mode": job.kind, "time_scale": job.time_scale, "clock": self.spec.clock,
            "status": status.value, "reasons": reasons, "elapsed_s": elapsed,
            "measured_utc": _utc_now(), "commit": self.commit,
        }

    def failed_entry(self, job: Job, status: Status, reasons: list[str], elapsed: float,
                     groups: Sequence[Sequence[dict[str, Any]]] = (),
                     workload: Workload | None = None) -> RunRecord:
        run = self.base_entry(job, status, reasons, elapsed)
        if workload is not None:
            ok = [g for g in groups if g and all(r.get("status") in ("valid", "early", "invalid") for r in g)]
            try:
                run["processes"] = [aggregate.process_summary(g, workload) for g in ok]
                return RunRecord.from_json(Fields(run, "run"))
            except (aggregate.BadRecord, ResultsError):
                run["processes"] = []  # the failure's reason matters more than figures we cannot read
        return RunRecord.from_json(Fields(run, "run"))

    def run_entry(self, job: Job, workload: Workload, status: Status, reasons: list[str], elapsed: float,
                  groups: Sequence[Sequence[dict[str, Any]]], benchmark: Any) -> RunRecord:
        run = self.base_entry(job, status, reasons, elapsed)
        run["benchmark"] = benchmark.get_name()
        run["processes"] = [aggregate.process_summary(g, workload) for g in groups]
        if job.kind == "switch":
            run["switch"] = aggregate.plain_sample(benchmark)
            last = groups[-1][-1] if groups else {}
            run["resumes"], run["wasted"] = last.get("resumes"), last.get("wasted")
        else:
            timed = aggregate.timed_figures(groups, workload)
            run["timed"] = timed
            if status is Status.EARLY:
                # Each record's reason counts its own process; the run's counts them all.
                run["reasons"] = [aggregate.early_reason(timed["early_wakes"], timed["worst_early_us"], len(groups))]
        return RunRecord.from_json(Fields(run, "run"))

    def record(self, run: RunRecord) -> None:
        floor = next((t for t in self.timer_floors if t.time_scale == run.time_scale), None)
        self.runs.append(plausible(run, self.body_floors.get(run.dialect or ""), self.spec.clock, floor))

    # ---- writing ------------------------------------------------------------------
    def document(self, complete: bool) -> Document:
        spec = self.spec
        pyperf_part = pyperf_suite_json(self.benchmarks)
        sleeps, resumes, ideal = self.workload_totals
        return Document(
            created_utc=_utc_now(), command=spec.command, preset=spec.preset.name, complete=complete,
            interrupted=self.interrupted is not None,
            environment=Environment.from_json(Fields(self.environment, "environment")),
            environment_raw=self.environment,
            workload=WorkloadInfo(spec.rockets, spec.seed, "time", tuple(spec.modes),
                                  tuple(spec.time_scales) if "timed" in spec.modes else (), spec.clock,
                                  sleeps, resumes, ideal),
            runs=tuple(self.runs),
            settings=spec.settings(),
            floor=self.floor,
            body_floors=dict(self.body_floors),
            timer_floors=tuple(self.timer_floors),
            pyperf=pyperf_part,
        )



def skip_reason(entry: SchedulerEntry, clock: ClockKind) -> str | None:
    """Why a scheduler cannot run here at all (the one place these rules live), or None."""
    if not entry.available:
        return f"unavailable: {entry.error}"
    if clock == "virtual" and not entry.supports_virtual_clock:
        return "does not support the virtual clock"
    return None


def _count_lines(path: Path) -> int:
    with path.open("rb") as fp:
        return sum(1 for _ in fp)


def _pythonpath() -> str:
    """The project root first, so workers (maybe another interpreter) import this harness."""
    root = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH")
    return root + (os.pathsep + rest if rest else "")


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def command_line(argv: Sequence[str]) -> str:
    return "python -m bench " + " ".join(shlex.quote(a) for a in argv)
