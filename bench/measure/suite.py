"""The measurement suite: every (scheduler × mode × scale) job in its own pyperf process tree.

Isolation is the point of the design. Each job is ``python -m bench.measure.worker …`` in a new
process session: a scheduler that raises, hangs, recurses without end or exhausts memory
takes down its own job and nothing else. The worker stops a run that exceeds its time
limit (SIGALRM); this process kills a job that exceeds the job limit (a hang in C code,
a worker that ignores signals). Either way the failure is recorded with its reason.

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
import re
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import pyperf

from bench.measure import environment
from bench.measure.clocks import ClockKind
from bench.measure.presets import Preset
from bench.measure.registry import SchedulerEntry
from bench.measure.targets import body_floor_name
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
from bench.results.store import dump, merge
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
TIMER_FLOOR_BUDGET_S = 6.0


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


class Suite:
    """Runs the planned jobs one after another and keeps the results file up to date.

    ``previous`` is the file's content when the run began (already checked to have the
    same identity): every save merges into it, so a subset run never drops what it did not
    re-measure. The file is not touched before the first job finishes.
    """

    def __init__(self, spec: SuiteSpec, previous: Document | None = None) -> None:
        self.spec = spec
        self.previous = previous
        self.benchmarks: list[Any] = []  # pyperf.Benchmark objects, in job order
        self.runs: list[RunRecord] = []
        self.floor: Sample | None = None
        self.body_floors: dict[str, Sample] = {}
        self.timer_floors: list[TimerFloor] = []
        self.interrupted: str | None = None
        self.saved = False
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
                _kill_group(proc)
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
            status, reasons = Status.FAILED, [_describe_exit(proc.returncode, workdir / "stderr.txt")]
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
                _kill_group(proc)
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
        pyperf_part: dict[str, Any] = {"version": "1.0", "benchmarks": []}
        if self.benchmarks:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "suite.json"
                pyperf.BenchmarkSuite(list(self.benchmarks)).dump(str(path))
                pyperf_part = json.loads(path.read_text())
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

    def save(self, complete: bool) -> None:
        document = self.document(complete)
        if self.previous is not None:
            document = merge(self.previous, document)
        dump(self.spec.output, document)
        self.saved = True

    @property
    def failures(self) -> list[RunRecord]:
        return [r for r in self.runs if r.status.broken]


#: A switch cost below this share of its dialect's body floor is implausible: a loop
#: written in C may beat the Python floor driver, but not by half (the body itself runs).
SUSPECT_BELOW_BODY_FLOOR = 0.5


#: A lateness p50 on the real clock below this share of the spinning timer floor's p50 is
#: implausible: no loop wakes a thread more precisely than one that never sleeps.
SUSPECT_BELOW_SPIN_FLOOR = 0.5


def plausible(run: RunRecord, body_floor: Sample | None, clock: ClockKind,
              timer_floor: TimerFloor | None = None) -> RunRecord:
    """``run``, or ``run`` marked SUSPECT when its figures are implausible against the floors
    or for the real clock (exactly zero lateness)."""
    if run.status is not Status.VALID:
        return run
    why = []
    if (run.switch is not None and body_floor is not None
            and run.switch.mean_s < SUSPECT_BELOW_BODY_FLOOR * body_floor.mean_s):
        why.append(f"switch cost {run.switch.mean_ns:,.0f} ns is below half the body floor "
                   f"({body_floor.mean_ns:,.0f} ns): the rocket bodies cannot run that fast")
    spin = timer_floor.spin if timer_floor is not None else None
    if (run.timed is not None and clock == "real" and spin is not None and spin.p50 > 0
            and run.timed.lateness_us.p50 < SUSPECT_BELOW_SPIN_FLOOR * spin.p50):
        why.append(f"lateness p50 {run.timed.lateness_us.p50:.3f} µs is below half the spinning timer floor's "
                   f"({spin.p50:.3f} µs): no loop wakes more precisely than one that never sleeps")
    if run.timed is not None and clock == "real" and run.timed.lateness_us.max == 0:
        why.append("every wake exactly on time on the real clock: the lateness was not measured")
    if not why:
        return run
    return replace(run, status=Status.SUSPECT, reasons=(*run.reasons, *why))


#: Slack for the OS-side checks: clock granularity, rounding of rusage to ticks.
OS_SLACK_S = 0.5
#: A timed job on the real clock must last at least this share of its runs' ideal makespans.
OS_MIN_SHARE_OF_IDEAL = 0.9


def os_accounting(groups: Sequence[Sequence[dict[str, Any]]], elapsed: float, os_cpu: float,
                  workload: Workload, clock: ClockKind) -> list[str]:
    """What the operating system saw of a job, against what its runs reported (empty: agreed).

    A worker runs plugin code, so its figures could be faked from inside; the parent's own
    clock and the kernel's accounting of the whole process tree cannot be. This catches
    *impossible* reports: more time in runs than the job existed, more CPU than the kernel
    charged, or timed runs that finished before their deadlines could have passed. It cannot
    catch a plausible flattering lie; the checks inside the worker (clocks captured before
    the plugin loads, the suspension check, makespan and lateness plausibility) aim there.
    """
    records = [r for g in groups for r in g if isinstance(r.get("wall_s"), int | float)]
    reported_wall = sum(float(r["wall_s"]) for r in records)
    reported_cpu = sum(float(r.get("cpu_s") or 0.0) for r in records)
    problems = []
    if reported_wall > elapsed + OS_SLACK_S:
        problems.append(f"OS accounting disagrees: runs report {reported_wall:.2f} s of wall time in a job that "
                        f"lasted {elapsed:.2f} s")
    if reported_cpu > os_cpu + OS_SLACK_S:
        problems.append(f"OS accounting disagrees: runs report {reported_cpu:.2f} s of CPU, the kernel charged the "
                        f"job's processes {os_cpu:.2f} s")
    if workload.mode == "timed" and clock == "real":
        needed = len(records) * workload.ideal_makespan_s * OS_MIN_SHARE_OF_IDEAL
        if elapsed < needed:
            problems.append(f"OS accounting disagrees: {len(records)} timed run(s) need at least "
                            f"{needed:.2f} s of waiting, the job lasted {elapsed:.2f} s")
    return problems


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
    lines = [line for line in _tail(stderr_path).splitlines() if line.strip()]
    detail = lines[-1].strip() if lines else "no error output"
    # pyperf's manager reports a worker's death as "... failed with exit code -9".
    match = re.search(r"failed with exit code (-\d+)", detail)
    if match:
        return _describe_exit(int(match.group(1)), stderr_path)
    return f"worker exited with status {returncode}: {detail}"


def command_line(argv: Sequence[str]) -> str:
    return "python -m bench " + " ".join(shlex.quote(a) for a in argv)


#: How much of a worker's stderr is read to explain its exit: its tail, never all of it (a
#: plugin may print gigabytes).
STDERR_TAIL_BYTES = 64 * 1024


def _tail(path: Path) -> str:
    with path.open("rb") as fp:
        fp.seek(0, os.SEEK_END)
        size = fp.tell()
        fp.seek(max(0, size - STDERR_TAIL_BYTES))
        return fp.read().decode(errors="replace")
