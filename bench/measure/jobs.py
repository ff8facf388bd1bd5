"""The suite's jobs as types: each builds its isolation request and reads its report.

A job is one child process tree (``bench.measure.isolate``): pyperf's manager and its
workers for the floors and the schedulers, one plain child for a timer floor. The suite
(``bench.measure.suite``) runs them in order and never asks what kind a job is: a new kind
of job is a class here with ``request`` and ``collect``.

Everything a pyperf job's workers report is untrusted (plugin code runs there): records
are parsed through ``bench.results.aggregate`` and the results model, and what the parent
saw from outside (elapsed time, the kernel's CPU accounting) bounds what they may claim.
"""

from __future__ import annotations

import bisect
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyperf

from bench.measure import isolate, witness
from bench.measure.io_floor import IO_FLOOR_NAME
from bench.measure.limits import run_limit
from bench.measure.plausibility import os_accounting
from bench.measure.registry import SchedulerEntry
from bench.measure.targets import body_floor_name
from bench.results import aggregate
from bench.results.fields import Fields, ResultsError
from bench.results.model import RunRecord, Sample, TimerFloor
from bench.workload.rockets import Workload
from bench.workload.status import Status

if TYPE_CHECKING:
    from bench.measure.plan import SuiteSpec
    from bench.measure.suite import Suite

#: Sends per floor value: ~95 ms at the ~45 ns a send costs on a slow VM, about pyperf's
#: default minimum time per value (0.1 s); still thousands of times the clock's resolution.
FLOOR_LOOPS = 2**21
#: Wall time the timer floor may spend per time scale, all its variants together.
TIMER_FLOOR_BUDGET_S = 4.0
#: Job allowance on top of its runs: process start-up and pyperf's own bookkeeping.
JOB_STARTUP_S = 15.0


@dataclass(frozen=True)
class Outcome:
    """What a job ended as: its status and a one-line note for the progress line."""

    status: Status
    note: str
    #: Seconds spent inside measured runs (the rest of the job's time is fixed cost).
    measured_s: float | None = None


class Job(ABC):
    entry: SchedulerEntry | None = None
    time_scale: float | None = None
    mode: str | None = None  # the scheduler jobs' mode ("switch", "timed", "io")

    @property
    @abstractmethod
    def label(self) -> str: ...

    @abstractmethod
    def request(self, spec: SuiteSpec, workdir: Path) -> isolate.Request:
        """The child's request; ``workdir`` is the job's fresh directory."""

    @abstractmethod
    def collect(self, suite: Suite, report: isolate.Report) -> Outcome: ...

    def runs_done(self, workdir: Path) -> int:
        """Runs finished so far (for the live progress line)."""
        return 0


# ---- pyperf jobs --------------------------------------------------------------------------

@dataclass(frozen=True)
class PyperfRead:
    status: Status
    reasons: list[str]
    groups: list[list[dict[str, Any]]]
    benchmark: Any  # pyperf.Benchmark | None
    measured_s: float


class PyperfJob(Job):
    """pyperf's manager in a child; its workers (``bench.measure.worker``) append one record
    per run to the job's record directory."""

    #: The worker's ``--job``: "floor", "switch" or "timed".
    worker_job: str = "switch"

    def target(self) -> str | None:
        return None

    def workload(self, spec: SuiteSpec) -> Workload:
        return Workload.generate(spec.rockets, spec.seed, "switch", 1.0)

    def processes(self, spec: SuiteSpec) -> int:
        return spec.switch_processes or spec.preset.switch_processes

    def values_and_warmups(self, spec: SuiteSpec) -> tuple[int, int]:
        return spec.preset.switch_values, spec.preset.switch_warmups

    def loops(self) -> int:
        # One run per value: a run of the workload lasts milliseconds, far above the clock's
        # resolution, so pyperf's loop calibration (and its extra process) would only
        # multiply the set-up and validation around each run.
        return 1

    def run_limit(self, spec: SuiteSpec) -> float:
        polling = self.entry.polling if self.entry is not None else False
        return spec.run_limit_s or run_limit(self.workload(spec), spec.clock, polling)

    def request(self, spec: SuiteSpec, workdir: Path) -> isolate.Request:
        limit = self.run_limit(spec)
        processes = self.processes(spec)
        values, warmups = self.values_and_warmups(spec)
        workload = self.workload(spec)
        argv = ["--job", self.worker_job, "--record-dir", str(workdir / "records"), "--rockets", str(workload.count),
                "--message-size", str(workload.message_size),
                "--seed", str(spec.seed), "--clock", spec.clock, "--run-limit", f"{limit:.3f}",
                "--memory-limit-mb", str(spec.memory_limit_mb), "-o", str(workdir / "pyperf.json"),
                "-p", str(processes), "-n", str(values), "-w", str(warmups), "-l", str(self.loops())]
        if self.time_scale is not None:
            argv += ["--time-scale", repr(self.time_scale)]
        target = self.target()
        if target is not None:
            argv += ["--scheduler", target]
        if spec.handicap is not None and self.entry is not None and spec.handicap[0] == self.entry.name:
            argv += ["--handicap", f"{spec.handicap[0]}:{spec.handicap[1]}"]
        job_limit = (processes + 1) * (JOB_STARTUP_S + (values + warmups + 1) * max(limit, 1.0))
        return isolate.Request(handler="pyperf-job", params={"argv": argv}, limit_s=job_limit,
                               python=spec.python, python_flags=spec.python_flags, witness=True)

    def runs_done(self, workdir: Path) -> int:
        total = 0
        for path in (workdir / "records").glob("*.jsonl"):
            with path.open("rb") as fp:
                total += sum(1 for _ in fp)
        return total

    def read(self, spec: SuiteSpec, report: isolate.Report) -> PyperfRead:
        """The job's status from its records, its ending and the parent's own accounting."""
        workload = self.workload(spec)
        try:
            groups = aggregate.read_records(report.workdir / "records")
            status, reasons = aggregate.worst_status(groups)
            timed_out = report.ending is isolate.Ending.TIMED_OUT
            if status in (Status.VALID, Status.EARLY) and not timed_out:
                records = [r for g in groups for r in g]
                disagreement = (os_accounting(groups, report.elapsed_s, report.cpu_s, workload, spec.clock)
                                or witness.check(records, report.marks))
                if disagreement:
                    status, reasons = Status.INVALID, disagreement
        except aggregate.BadRecord as exc:
            groups, status, reasons = [], Status.FAILED, [f"worker output malformed: {exc}"]
        if report.ending is isolate.Ending.TIMED_OUT:
            status, reasons = Status.FAILED, [report.reason]
        elif not report.reported and status in (Status.VALID, Status.EARLY):
            status, reasons = Status.FAILED, [_pyperf_reason(report)]
        output = report.workdir / "pyperf.json"
        benchmark = None
        if status in (Status.VALID, Status.EARLY) and output.exists():
            benchmark = pyperf.Benchmark.load(str(output))
            unmatched = values_without_records(benchmark, groups) if self.target() is not None else ""
            if unmatched:
                status, reasons, benchmark = Status.INVALID, [unmatched], None
        measured = sum(float(r.get("wall_s") or 0.0) for g in groups for r in g if isinstance(r.get("wall_s"), float))
        return PyperfRead(status, reasons, groups, benchmark, measured)


def values_without_records(benchmark: Any, groups: list[list[dict[str, Any]]]) -> str:
    """Why pyperf's values are not the runs the records (and the witness) vouch for ("" when
    they are): every value, warm-ups included, must be one recorded run's wall time.

    The ranking is computed from pyperf's values, the checks from the records; a plugin that
    changed what the time function returned would otherwise slip between the two.
    """
    recorded = sorted(float(r["wall_s"]) for g in groups for r in g if isinstance(r.get("wall_s"), float))
    values = []
    for run in benchmark.get_runs():
        inner = run.get_inner_loops()
        # One run per value (``loops`` is 1 for scheduler jobs): a raw value is one run.
        values += [loops * value * inner for loops, value in run.warmups]
        values += [run.get_total_loops() * value for value in run.values]
    values.sort()
    if len(values) > len(recorded):
        return f"pyperf holds {len(values)} values but the workers recorded {len(recorded)} runs"
    unmatched = [v for v in values if not _recorded(v, recorded)]
    if unmatched:
        return (f"{len(unmatched)} of pyperf's values match no recorded run (first: {unmatched[0] * 1e3:.3f} ms "
                "of wall time)")
    return ""


def _recorded(value: float, recorded: list[float]) -> bool:
    index = bisect.bisect_left(recorded, value * (1 - 1e-9))
    return index < len(recorded) and recorded[index] <= value * (1 + 1e-9)


def _pyperf_reason(report: isolate.Report) -> str:
    """pyperf's manager reports a worker's death as "... failed with exit code -9": name the
    signal; otherwise the child's own ending."""
    text = report.reason + "\n" + report.stderr_tail
    match = re.search(r"failed with exit code (-\d+)", text)
    if match:
        return isolate.describe_status(int(match.group(1)), "")
    if "didn't produce JSON result" in text:
        # pyperf says this when a worker exited with status 0 before its result: the plugin
        # ended its own process (os._exit); the witness tells whether a measured run was on.
        started, _ = witness.brackets(report.marks)
        begun = {(m.pid, m.seq) for m in report.marks if not m.end}
        cut = sorted(begun - set(started))
        during = f" during measured run {cut[0][1]} of process {cut[0][0]}" if cut else ""
        return (f"a worker process exited with status 0{during} without reporting a result (the plugin ended "
                "its own process, e.g. os._exit(0))")
    return report.reason


class FloorJob(PyperfJob):
    worker_job = "floor"
    label = "floor (bare send)"

    def loops(self) -> int:
        # A single send is nanoseconds, so one value is many sends. A fixed count instead
        # of pyperf's calibration saves the calibration process.
        return FLOOR_LOOPS

    def collect(self, suite: Suite, report: isolate.Report) -> Outcome:
        read = self.read(suite.spec, report)
        if read.status is not Status.VALID or read.benchmark is None:
            return Outcome(Status.FAILED, "; ".join(read.reasons) or "floor benchmark failed")
        suite.benchmarks.append(read.benchmark)
        suite.floor = aggregate.pyperf_sample(read.benchmark)
        return Outcome(Status.VALID, f"{suite.floor.mean_ns:.1f} ns per send", read.measured_s)


class BodyFloorJob(PyperfJob):
    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    @property
    def label(self) -> str:
        return f"body floor {self.dialect}"

    def target(self) -> str:
        return body_floor_name(self.dialect)

    def collect(self, suite: Suite, report: isolate.Report) -> Outcome:
        read = self.read(suite.spec, report)
        if read.status is not Status.VALID or read.benchmark is None:
            return Outcome(Status.FAILED, "; ".join(read.reasons) or "body floor benchmark failed")
        suite.benchmarks.append(read.benchmark)
        floor: Sample = aggregate.pyperf_sample(read.benchmark)
        suite.body_floors[self.dialect] = floor
        return Outcome(Status.VALID, f"{floor.mean_ns:.0f} ns per resume", read.measured_s)


class SchedulerJob(PyperfJob):
    """One scheduler in switch mode, or in timed mode at one time scale."""

    def __init__(self, entry: SchedulerEntry, mode: str, time_scale: float | None = None) -> None:
        self.entry = entry
        self.worker_job = mode
        self.mode = mode
        self.time_scale = time_scale

    @property
    def label(self) -> str:
        assert self.entry is not None
        scale = f" @ {self.time_scale:g}" if self.time_scale is not None else ""
        return f"{self.worker_job}{scale} {self.entry.name}"

    def target(self) -> str:
        assert self.entry is not None
        return self.entry.name

    def workload(self, spec: SuiteSpec) -> Workload:
        if self.worker_job == "timed":
            return Workload.generate(spec.rockets, spec.seed, "timed", self.time_scale or 1.0)
        if self.worker_job == "io":
            return io_workload(spec)
        return super().workload(spec)

    def processes(self, spec: SuiteSpec) -> int:
        if self.worker_job == "timed":
            assert self.time_scale is not None
            return spec.timed_processes or spec.preset.processes_for(self.time_scale)
        if self.worker_job == "io":
            return spec.switch_processes or spec.preset.io_processes
        return super().processes(spec)

    def values_and_warmups(self, spec: SuiteSpec) -> tuple[int, int]:
        """A timed run lasts up to seconds, and a loop that can run only once per process (a
        reactor that cannot restart) has one run to give: one value, no warm-up."""
        assert self.entry is not None
        if self.worker_job == "timed" or self.entry.one_run_per_process:
            return 1, 0
        if self.worker_job == "io":
            return spec.preset.io_values, spec.preset.switch_warmups
        return super().values_and_warmups(spec)

    def collect(self, suite: Suite, report: isolate.Report) -> Outcome:
        spec = suite.spec
        read = self.read(spec, report)
        workload = self.workload(spec)
        if read.benchmark is None:
            suite.record(self.failed_record(suite, read.status, read.reasons, report.elapsed_s, read.groups))
            return Outcome(read.status, "; ".join(read.reasons), read.measured_s)
        try:
            run = self.run_record(suite, read, report.elapsed_s, workload)
        except (aggregate.BadRecord, ResultsError) as exc:
            why = f"worker output malformed: {exc}"
            suite.record(self.failed_record(suite, Status.FAILED, [why], report.elapsed_s))
            return Outcome(Status.FAILED, why, read.measured_s)
        suite.benchmarks.append(read.benchmark)
        suite.record(run)
        return Outcome(run.status, run.note, read.measured_s)

    def failed_record(self, suite: Suite, status: Status, reasons: list[str], elapsed: float,
                      groups: list[list[dict[str, Any]]] | None = None) -> RunRecord:
        run = suite.base_entry(self, status, reasons, elapsed)
        if groups:
            ok = [g for g in groups if g and all(r.get("status") in ("valid", "early", "invalid") for r in g)]
            try:
                run["processes"] = [aggregate.process_summary(g, self.workload(suite.spec)) for g in ok]
                return RunRecord.from_json(Fields(run, "run"))
            except (aggregate.BadRecord, ResultsError):
                run["processes"] = []  # the failure's reason matters more than figures we cannot read
        return RunRecord.from_json(Fields(run, "run"))

    def run_record(self, suite: Suite, read: PyperfRead, elapsed: float, workload: Workload) -> RunRecord:
        run = suite.base_entry(self, read.status, read.reasons, elapsed)
        benchmark, groups = read.benchmark, read.groups
        run["benchmark"] = benchmark.get_name()
        run["processes"] = [aggregate.process_summary(g, workload) for g in groups]
        if self.worker_job in ("switch", "io"):
            run["switch"] = aggregate.plain_sample(benchmark)
            last = groups[-1][-1] if groups else {}
            run["resumes"], run["wasted"] = last.get("resumes"), last.get("wasted")
            if self.worker_job == "io":
                run["spurious_wakes"] = sum(int(r.get("spurious") or 0) for g in groups for r in g)
                run["message_size"] = workload.message_size
                if workload.count != suite.spec.rockets:
                    run["rockets"] = workload.count
        else:
            timed = aggregate.timed_figures(groups, workload)
            run["timed"] = timed
            if read.status is Status.EARLY:
                # Each record's reason counts its own process; the run's counts them all.
                run["reasons"] = [aggregate.early_reason(timed["early_wakes"], timed["worst_early_us"], len(groups))]
        return RunRecord.from_json(Fields(run, "run"))


class IoFloorJob(PyperfJob):
    """The I/O floor (``bench.measure.io_floor``): the io workload on raw epoll."""

    worker_job = "io"
    mode = "io"
    label = "I/O floor (raw epoll)"

    def target(self) -> str:
        return IO_FLOOR_NAME

    def workload(self, spec: SuiteSpec) -> Workload:
        return io_workload(spec)

    def processes(self, spec: SuiteSpec) -> int:
        return spec.switch_processes or spec.preset.io_processes

    def values_and_warmups(self, spec: SuiteSpec) -> tuple[int, int]:
        return spec.preset.io_values, spec.preset.switch_warmups

    def collect(self, suite: Suite, report: isolate.Report) -> Outcome:
        read = self.read(suite.spec, report)
        if read.status is not Status.VALID or read.benchmark is None:
            return Outcome(Status.FAILED, "; ".join(read.reasons) or "I/O floor benchmark failed")
        suite.benchmarks.append(read.benchmark)
        floor: Sample = aggregate.pyperf_sample(read.benchmark)
        suite.io_floor = floor
        return Outcome(Status.VALID, f"{floor.mean_ns:,.0f} ns per resume", read.measured_s)


def io_workload(spec: SuiteSpec) -> Workload:
    return Workload.generate(spec.io_rockets or spec.rockets, spec.seed, "io", 1.0, spec.message_size)


# ---- the timer floor ----------------------------------------------------------------------

class TimerFloorJob(Job):
    """The machine's own wake-up lateness for one time scale's gaps, in a plain child."""

    def __init__(self, time_scale: float) -> None:
        self.time_scale = time_scale

    @property
    def label(self) -> str:
        return f"timer floor @ {self.time_scale:g}"

    def request(self, spec: SuiteSpec, workdir: Path) -> isolate.Request:
        return isolate.Request(handler="timer-floor", limit_s=TIMER_FLOOR_BUDGET_S * 4 + 30,
                               params={"rockets": spec.rockets, "seed": spec.seed, "time_scale": self.time_scale,
                                       "budget_s": TIMER_FLOOR_BUDGET_S})

    def collect(self, suite: Suite, report: isolate.Report) -> Outcome:
        if not report.reported or not isinstance(report.result, dict):
            return Outcome(Status.FAILED, report.reason or "timer floor sent no result")
        raw = report.result
        try:
            floor = TimerFloor.from_json(Fields({
                "time_scale": raw["time_scale"], "wakes": raw["wakes"], "blocking_default": raw["blocking"],
                "blocking_lowered": raw.get("blocking_low_slack"), "spin": raw.get("spinning")}, "timer floor"))
        except (KeyError, TypeError, ResultsError) as exc:
            return Outcome(Status.FAILED, f"timer floor output malformed: {exc}")
        suite.timer_floors.append(floor)
        ref = floor.reference
        return Outcome(Status.VALID, f"p50 {ref.p50:,.0f} µs, p99 {ref.p99:,.0f} µs late ({floor.wakes:,} wakes)")
