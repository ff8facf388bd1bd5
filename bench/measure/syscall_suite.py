"""The syscall suite: every scheduler's ``run`` traced under strace, into one results file.

``python -m bench run --measure syscalls`` lands here. Every workload mode the results
model can record (``bench.workload.rockets.MODES``; switch, timed and, where it exists,
io) is counted on the real clock, timed mode at each ``--time-scale``. One counting
process per job by default; ``--repeats N`` runs N, which is how the A/A behind the
gate's classification was measured (docs/design.md §6.12).

Each job is an strace'd process (``bench.measure.syscalls``), two at a time. A job whose
run is not VALID keeps no count: its status and reasons are the record. The figures are
stored in the run record (``syscalls``: the calls by name of each counted process, and the
denominator); there are no pyperf benchmarks in this file, since a count can be zero
(``hybrid`` makes no call per switch) and pyperf refuses values that are not positive.

The file holds one measure: its workload says ``measure: syscalls``, and it never merges
with a wall-time or instruction file. Nothing measured under strace is a time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench.measure import environment
from bench.measure.registry import SchedulerEntry
from bench.measure.syscalls import SyscallJob, SyscallResult, run_syscall_jobs, strace_version
from bench.measure.writer import ResultsWriter, pyperf_suite_json
from bench.results.fields import Fields
from bench.results.model import RUN_MODES, Document, Environment, RunRecord, SyscallFigures, WorkloadInfo
from bench.workload.rockets import MODES

#: Every mode the workload has and a results file can record, in the workload's order.
SYSCALL_MODES: tuple[str, ...] = tuple(m for m in MODES if m in RUN_MODES)


@dataclass
class SyscallSpec:
    entries: Sequence[SchedulerEntry]
    modes: Sequence[str]
    time_scales: Sequence[float]  # timed mode only
    rockets: int
    seed: int
    output: Path
    command: str = ""
    repeats: int = 1
    parallel: int = 2
    time_limit_s: float = 300.0

    def jobs(self) -> list[tuple[SchedulerEntry, SyscallJob]]:
        """(entry, job) for every mode, time scale and scheduler, the slow io jobs first
        so two workers stay busy to the end."""
        out: list[tuple[SchedulerEntry, SyscallJob]] = []
        for mode in sorted(self.modes, key=lambda m: m != "io"):
            scales = list(self.time_scales) if mode == "timed" else [1.0]
            for scale in scales:
                out += [(e, SyscallJob(e.name, mode, self.rockets, self.seed, scale, self.repeats))
                        for e in self.entries]
        return out


class SyscallSuite(ResultsWriter):
    def __init__(self, spec: SyscallSpec, previous: Document | None = None) -> None:
        super().__init__(spec.output, previous)
        self.spec = spec
        self.environment = environment.capture("real")
        self.environment["strace"] = strace_version()

    def run(self) -> None:
        jobs = self.spec.jobs()
        entries = {(job.target, job.mode, job.time_scale): entry for entry, job in jobs}
        started = time.monotonic()
        done = 0

        def on_done(result: SyscallResult) -> None:
            nonlocal done
            done += 1
            self.collect(entries[(result.target, result.mode, result.time_scale or 1.0)], result)
            where = result.mode + (f" @ {result.time_scale:g}" if result.time_scale is not None else "")
            per = (f"{sum(sum(c.values()) for c in result.counts) / len(result.counts) / result.denominator:.4g} "
                   "calls per resume" if result.counted else "; ".join(result.reasons))
            print(f"[{done:>2}/{len(jobs)}] {where:<10} {result.target:<16} {result.status.upper():<8} "
                  f"{result.elapsed_s:6.1f} s  (total {time.monotonic() - started:4.0f} s)  {per}",
                  file=sys.stderr, flush=True)
            self.save(complete=False)

        with tempfile.TemporaryDirectory(prefix="schedbench-strace-") as scratch:
            try:
                run_syscall_jobs([j for _, j in jobs], workdir=Path(scratch), parallel=self.spec.parallel,
                                 time_limit_s=self.spec.time_limit_s, on_done=on_done)
            except KeyboardInterrupt:
                self.interrupted = "interrupted by Ctrl-C"
        if self.saved or self.runs:
            self.save(complete=self.interrupted is None)

    def collect(self, entry: SchedulerEntry, result: SyscallResult) -> None:
        run = {
            **entry.record_fields(), "mode": result.mode,
            "time_scale": result.time_scale, "clock": "real", "status": result.status,
            "reasons": list(result.reasons), "elapsed_s": result.elapsed_s, "resumes": result.resumes,
            "wasted": result.wasted, "measured_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "commit": None,
        }
        record = RunRecord.from_json(Fields(run, "run"))
        if result.counted:
            figures = SyscallFigures(counts=tuple(dict(c) for c in result.counts), denominator=result.denominator,
                                     warmed=result.warmed, threads=result.threads)
            record = replace(record, syscalls=figures)
        self.runs.append(record)

    def document(self, complete: bool) -> Document:
        spec = self.spec
        commit = environment.git_commit()
        label = (commit.get("commit") or "unknown")[:12] + ("+dirty" if commit.get("dirty") else "")
        runs = tuple(replace(r, commit=label) for r in self.runs)
        scales = tuple(spec.time_scales) if "timed" in spec.modes else ()
        return Document(
            created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), command=spec.command,
            preset="syscalls", complete=complete, interrupted=self.interrupted is not None,
            environment=Environment.from_json(Fields(self.environment, "environment")),
            environment_raw=self.environment,
            workload=WorkloadInfo(spec.rockets, spec.seed, "syscalls", tuple(spec.modes), scales, "real"),
            runs=runs,
            measurement={"tool": "strace", "strace": self.environment["strace"], "repeats": spec.repeats,
                         "region": "scheduler.run, between two lseek(-1, marker) calls, every thread and process",
                         "denominator": "the workload's expected resumes (as switch cost)"},
            pyperf=pyperf_suite_json([]),
        )
