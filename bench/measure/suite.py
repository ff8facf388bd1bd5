"""The measurement suite: every (scheduler × mode × scale) job in its own process tree.

Isolation is the point of the design. Each job (``bench.measure.jobs``) is a request to
``bench.measure.isolate``: a child in a new session, under a deadline the parent keeps, whose
every descendant is ended before the next job starts. A scheduler that raises, hangs,
recurses without end, forks or exhausts memory takes down its own job and nothing else; the
failure is recorded with its reason.

The results file is not touched before the first job finishes; after every job it is
rewritten atomically (``bench.results.store``), merged into what the file held when the
run began, so a crash, Ctrl-C or SIGTERM at any point leaves a loadable file that holds
everything it held before plus every job that finished. Ctrl-C and SIGTERM end the
running job's processes at once and mark the file ``complete: false``.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from bench.measure import environment, isolate
from bench.measure.clocks import ClockKind
from bench.measure.jobs import Job, Outcome
from bench.measure.plan import Progress, SuiteSpec
from bench.measure.plausibility import plausible
from bench.measure.registry import SchedulerEntry
from bench.measure.writer import ResultsWriter, pyperf_suite_json
from bench.results.fields import Fields
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
        self.io_floor: Sample | None = None
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
        with isolate.scratch() as scratch, sigterm_as_interrupt():
            for index, job in enumerate(jobs, 1):
                started = time.monotonic()
                try:
                    outcome = self.run_job(job, scratch / f"job{index}", index, progress)
                except (KeyboardInterrupt, Interrupted) as exc:
                    self.interrupted = str(exc) or "interrupted by Ctrl-C"
                    progress.done(index, job, started, "stopped", self.interrupted)
                    break
                progress.done(index, job, started, outcome.status.value, outcome.note, outcome.measured_s)
                self.save(complete=False)
        if self.saved or self.runs or self.floor or self.body_floors or self.timer_floors or self.io_floor:
            self.save(complete=self.interrupted is None)

    def run_job(self, job: Job, workdir: Path, index: int, progress: Progress) -> Outcome:
        if job.entry is not None:
            skip = skip_reason(job.entry, self.spec.clock, job.mode)
            if skip is not None:
                self.record(RunRecord.from_json(Fields(self.base_entry(job, Status.SKIPPED, [skip], 0.0), "run")))
                return Outcome(Status.SKIPPED, skip)
        started = time.monotonic()

        def tick(report: isolate.Report) -> None:
            progress.update(index, job, started, job.runs_done(workdir))

        report = isolate.run(job.request(self.spec, workdir), workdir, on_tick=tick)
        return job.collect(self, report)

    def base_entry(self, job: Job, status: Status, reasons: list[str], elapsed: float) -> dict[str, Any]:
        """The fields every run record of ``job`` has, whatever became of it."""
        entry = job.entry
        assert entry is not None
        return {
            **entry.record_fields(),
            "mode": job.mode if job.mode == "io" else "timed" if job.time_scale is not None else "switch",
            "time_scale": job.time_scale,
            "clock": self.spec.clock,
            "status": status.value, "reasons": reasons, "elapsed_s": elapsed,
            "measured_utc": _utc_now(), "commit": self.commit,
        }

    def record(self, run: RunRecord) -> None:
        floor = next((t for t in self.timer_floors if t.time_scale == run.time_scale), None)
        # An io run's cost per resume is read against the I/O floor, everything else against
        # its dialect's body floor.
        reference = self.io_floor if run.mode == "io" else self.body_floors.get(run.dialect or "")
        self.runs.append(plausible(run, reference, self.spec.clock, floor))

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
            io_floor=self.io_floor,
            timer_floors=tuple(self.timer_floors),
            pyperf=pyperf_part,
        )



def skip_reason(entry: SchedulerEntry, clock: ClockKind, mode: str | None = None) -> str | None:
    """Why a scheduler cannot run here at all (the one place these rules live), or None."""
    if not entry.available:
        return f"unavailable: {entry.error}"
    if clock == "virtual" and not entry.supports_virtual_clock:
        return "does not support the virtual clock"
    if mode == "io" and not entry.readiness:
        return "offers no readable/writable (the readiness primitives the io mode waits with)"
    return None


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def command_line(argv: Sequence[str]) -> str:
    return "python -m bench " + " ".join(shlex.quote(a) for a in argv)
