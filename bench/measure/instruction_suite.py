"""The instruction suite: every scheduler's ``run`` counted under Valgrind, into one results file.

``python -m bench run --measure instructions`` lands here. Switch mode counts every
scheduler; the timed workload runs on the virtual clock (waiting is not instructions), and
a scheduler that cannot use it is SKIPPED for that mode only. The body floor of every
dialect in the suite is counted beside them, so "overhead" exists in instructions too.

Each job is a Valgrind process (``bench.measure.instructions``), two at a time: Valgrind is
single-threaded and a count does not care what else the machine does. Switch jobs run
``SWITCH_REPEATS`` times so each scheduler's drift (what its loop itself randomises) is
measured and stored beside its figure; virtual-clock jobs, which cost minutes for a design
that polls every task on every wake, run once unless ``--repeats`` says otherwise.

The file holds one measure: its workload says ``measure: instructions``, and it never
merges with a wall-time file. Figures are pyperf benchmarks too
(``instructions/switch/<name>``, ``instructions/virtual/<name>``,
``instructions/body-floor/<dialect>``: instructions per resume or per useful wake), so
``python -m pyperf stats`` and ``compare_to`` read them. Each counted job's Callgrind
profile is kept beside the file (``<file>.profiles/``) and its top functions are stored in
the run record for ``show --profile``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyperf

from bench.measure import environment
from bench.measure.instructions import (
    InstructionJob,
    InstructionResult,
    run_instruction_jobs,
    top_functions,
    valgrind_version,
)
from bench.measure.io_floor import IO_FLOOR_NAME
from bench.measure.registry import SchedulerEntry
from bench.measure.writer import ResultsWriter, pyperf_suite_json
from bench.results.fields import Fields
from bench.results.model import Document, Environment, InstructionFigures, RunRecord, Status, WorkloadInfo

#: Valgrind processes per switch job: two are enough to see a loop that randomises itself.
SWITCH_REPEATS = 2
VIRTUAL_REPEATS = 1
TOP_FUNCTIONS = 15
#: A body floor's label in the job list (its counts go into ``body_floor_instructions``).
BODY_FLOOR = "body-floor/"
#: The I/O floor's label in the job list (its counts go into ``body_floor_instructions``
#: under ``IO_FLOOR_NAME``).
IO_FLOOR_LABEL = "I/O floor"


@dataclass
class InstructionSpec:
    entries: Sequence[SchedulerEntry]
    modes: Sequence[str]  # "switch", "virtual" and/or "io"
    rockets: int
    seed: int
    output: Path
    command: str = ""
    repeats: int | None = None  # None: SWITCH_REPEATS / VIRTUAL_REPEATS
    parallel: int = 2
    time_limit_s: float = 600.0
    cache_sim: bool = False
    handicap: tuple[str, int] | None = None

    def jobs(self) -> list[tuple[str, SchedulerEntry | None, InstructionJob]]:
        """(label, entry or None for a body floor, job), the slowest kind first so two
        workers stay busy to the end."""
        from bench.measure.body_floor import BODY_FLOORS
        from bench.measure.io_floor import IoFloor

        out: list[tuple[str, SchedulerEntry | None, InstructionJob]] = []
        if "switch" in self.modes:
            dialects = dict.fromkeys(e.dialect for e in self.entries if e.available)
            for dialect in dialects:
                cls = BODY_FLOORS.get(dialect)
                if cls is not None:
                    target = f"{cls.__module__}:{cls.__name__}"
                    out.append((f"{BODY_FLOOR}{dialect}", None, self.job(target, "switch")))
        if "io" in self.modes:
            out.append((IO_FLOOR_LABEL, None, self.job(f"{IoFloor.__module__}:{IoFloor.__name__}", "io")))
        for mode in ("virtual", "io", "switch"):
            if mode in self.modes:
                out += [(e.name, e, self.job(e.name, mode)) for e in self.entries]
        return out

    def job(self, target: str, mode: str) -> InstructionJob:
        repeats = self.repeats or (SWITCH_REPEATS if mode == "switch" else VIRTUAL_REPEATS)
        handicap = self.handicap[1] if self.handicap and self.handicap[0] == target else -1
        return InstructionJob(target, mode, self.rockets, self.seed, repeats, self.cache_sim,  # type: ignore[arg-type]
                              handicap)


class InstructionSuite(ResultsWriter):
    def __init__(self, spec: InstructionSpec, previous: Document | None = None) -> None:
        super().__init__(spec.output, previous)
        self.spec = spec
        self.body_floors: dict[str, InstructionFigures] = {}
        self.environment = environment.capture("virtual")
        self.environment["valgrind"] = valgrind_version()
        self.profiles = spec.output.with_name(spec.output.name + ".profiles")

    def run(self) -> None:
        jobs = self.spec.jobs()
        labels = {(job.target, job.mode): (label, entry) for label, entry, job in jobs}
        started = time.monotonic()
        done = 0

        def on_done(result: InstructionResult) -> None:
            nonlocal done
            done += 1
            label, entry = labels[(result.target, result.mode)]
            self.collect(label, entry, result)
            per = f"{result.per_unit:,.0f} per {'wake' if result.mode == 'virtual' else 'resume'}" \
                if result.per_unit is not None else "; ".join(result.reasons)
            print(f"[{done:>2}/{len(jobs)}] {result.mode:<7} {label:<22} {result.status.upper():<8} "
                  f"{result.elapsed_s:6.1f} s  (total {time.monotonic() - started:4.0f} s)  {per}",
                  file=sys.stderr, flush=True)
            self.save(complete=False)

        with tempfile.TemporaryDirectory(prefix="schedbench-instr-") as scratch:
            try:
                run_instruction_jobs([j for _, _, j in jobs], workdir=Path(scratch), parallel=self.spec.parallel,
                                     time_limit_s=self.spec.time_limit_s, on_done=on_done)
            except KeyboardInterrupt:
                self.interrupted = "interrupted by Ctrl-C"
        if self.saved or self.runs or self.body_floors:
            self.save(complete=self.interrupted is None)

    def collect(self, label: str, entry: SchedulerEntry | None, result: InstructionResult) -> None:
        figures = self.figures(label, result)
        if entry is None:
            if figures is not None and result.status == "valid":
                # The I/O floor is kept among the body floors under its own name ("io-floor").
                key = IO_FLOOR_NAME if label == IO_FLOOR_LABEL else label.removeprefix(BODY_FLOOR)
                self.body_floors[key] = figures
                self.benchmarks.append(self.benchmark(f"instructions/{'' if key == IO_FLOOR_NAME else 'body-floor/'}"
                                                      f"{key}", figures))
            return
        status = result.status
        run = {
            **entry.record_fields(), "mode": result.mode, "time_scale": None,
            "clock": "virtual" if result.mode == "virtual" else "real", "status": status,
            "reasons": list(result.reasons), "elapsed_s": result.elapsed_s, "resumes": result.resumes,
            "wasted": result.wasted, "measured_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "commit": None,
        }
        record = RunRecord.from_json(Fields(run, "run"))
        if figures is not None and record.status.charted:
            name = f"instructions/{result.mode}/{entry.name}"
            record = replace(record, instructions=figures, benchmark=name)
            self.benchmarks.append(self.benchmark(name, figures))
        self.runs.append(record)

    def figures(self, label: str, result: InstructionResult) -> InstructionFigures | None:
        if result.per_unit is None or not result.instructions:
            return None
        unit = "wake" if result.mode == "virtual" else "resume"
        profile = None
        top: tuple[tuple[str, int], ...] = ()
        if result.profile_path is not None and result.profile_path.exists():
            self.profiles.mkdir(parents=True, exist_ok=True)
            kept = self.profiles / f"{label.replace('/', '-')}-{result.mode}.callgrind"
            shutil.copyfile(result.profile_path, kept)
            profile = str(kept)
            top = tuple(top_functions(kept, TOP_FUNCTIONS))
        cycles = None
        if result.estimated_cycles:
            cycles = sum(result.estimated_cycles) / len(result.estimated_cycles) / result.denominator
        return InstructionFigures(
            per_unit=result.per_unit, unit=unit,
            values=tuple(i / result.denominator for i in result.instructions), total=result.instructions[0],
            drift=result.drift, method=result.method, warmed=result.warmed, profile=profile, top_functions=top,
            estimated_cycles_per_unit=cycles,
        )

    @staticmethod
    def benchmark(name: str, figures: InstructionFigures) -> Any:
        run = pyperf.Run(list(figures.values), metadata={"name": name, "unit": "integer"}, collect_metadata=False)
        return pyperf.Benchmark([run])

    def document(self, complete: bool) -> Document:
        spec = self.spec
        pyperf_part = pyperf_suite_json(self.benchmarks)
        commit = environment.git_commit()
        label = (commit.get("commit") or "unknown")[:12] + ("+dirty" if commit.get("dirty") else "")
        runs = tuple(replace(r, commit=label) for r in self.runs)
        return Document(
            created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), command=spec.command,
            preset="instructions", complete=complete, interrupted=self.interrupted is not None,
            environment=Environment.from_json(Fields(self.environment, "environment")),
            environment_raw=self.environment,
            workload=WorkloadInfo(spec.rockets, spec.seed, "instructions", tuple(spec.modes), (), "virtual"),
            runs=runs, body_floor_instructions=dict(self.body_floors),
            measurement={"tool": "valgrind", "valgrind": self.environment["valgrind"],
                         "methods": sorted({r.instructions.method for r in runs if r.instructions}),
                         "repeats": {"switch": spec.repeats or SWITCH_REPEATS,
                                     "virtual": spec.repeats or VIRTUAL_REPEATS},
                         "cache_sim": spec.cache_sim},
            pyperf=pyperf_part,
        )

    @property
    def skipped(self) -> list[RunRecord]:
        return [r for r in self.runs if r.status is Status.SKIPPED]
