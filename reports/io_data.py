"""What the io chart shows: pure selection, no drawing.

io mode (``python -m bench run --mode io``) drives rockets in pairs over socket pairs; a
resume is a rocket's start or a readiness wake, and a run's cost per resume is its
``switch`` sample. The reference is the document's I/O floor (the same workload on raw
epoll, the cheapest correct loop): what a scheduler adds is its cost less the floor.

The order is the io table's (``bench.present.io_table``): ranked (VALID) runs by overhead,
then the others with a figure, then those without one, using the same sort and the same
``≈`` tie rule (``bench.present.table_parts``) and the same noise band for an overhead
(``bench.present.noise``), so the chart, the table and the verdict never disagree about who
is first or what is within the noise. The charting rule is ``reports.data``'s (DESIGN §7.1):
only VALID and EARLY runs carry a figure here (EARLY flagged by its status); an INVALID,
SUSPECT or FAILED run keeps its row, greyed with its status and reason, but never a value;
SKIPPED runs have no row and are listed instead.

The syscalls panel's input (``SyscallsPerWake``) is built here too, from a syscall-count
document (``run --measure syscalls``, given to the report as ``--syscalls``): its io runs'
calls per resume by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bench.present import noise
from bench.present.table_parts import ranks, sorted_runs
from bench.results.model import Document, Status
from reports.data import Excluded, excluded

#: scheduler → system call name → calls per resume (io mode), from a syscall-count file.
SyscallsPerWake = Mapping[str, Mapping[str, float]]


def syscalls_per_wake(counted: Document) -> dict[str, dict[str, float]]:
    """scheduler → system call name → calls per resume, from the io runs of a syscall file
    (VALID ones only: a count of a wrong run is no figure)."""
    out: dict[str, dict[str, float]] = {}
    for run in counted.runs_in("io"):
        figures = run.syscalls
        if figures is None or not run.status.ranked:
            continue
        out[run.scheduler] = {name: figures.per_unit(name) for name in figures.names}
    return out


@dataclass(frozen=True)
class IoBar:
    """One io run as the chart draws it: cost per resume (None: the run has no figure)."""

    scheduler: str
    status: Status
    place: str  # the io table's rank label: "1", "≈1", or a dash when not ranked
    mean_ns: float | None  # None: no figure, or a status that is never charted
    std_ns: float
    floor_ns: float | None  # the document's I/O floor, the same for every bar
    reasons: tuple[str, ...] = ()
    spurious: int | None = None
    band_ns: float | None = None  # the overhead's noise band (bench.present.noise), as in the io table

    @property
    def ranked(self) -> bool:
        return self.status.ranked

    @property
    def overhead_ns(self) -> float | None:
        """Cost per resume less the I/O floor (≤ 0 is possible: within the floor's noise)."""
        if self.mean_ns is None or self.floor_ns is None:
            return None
        return self.mean_ns - self.floor_ns

    @property
    def key_ns(self) -> float | None:
        """What the ranking compares: overhead when there is a floor, else cost."""
        return self.mean_ns if self.floor_ns is None else self.overhead_ns


@dataclass(frozen=True)
class IoData:
    bars: list[IoBar]  # the io table's order; SKIPPED runs are not bars
    floor_ns: float | None
    floor_std_ns: float | None
    skipped: list[Excluded]
    pairs: int | None = None
    message_size: int | None = None

    @property
    def ranked(self) -> list[IoBar]:
        return [b for b in self.bars if b.ranked and b.key_ns is not None]

    @property
    def empty(self) -> bool:
        """Nothing to draw: no bar with a figure (a chart of status labels says nothing)."""
        return not any(b.mean_ns is not None for b in self.bars)


def io_data(doc: Document) -> IoData:
    """The io runs in the io table's order, with the I/O floor; SKIPPED runs set aside, and
    the figures of runs that are not charted (INVALID, SUSPECT, FAILED) left out."""
    runs = doc.runs_in("io")
    floor = doc.io_floor
    drawn = [r for r in runs if r.status is not Status.SKIPPED]
    key = doc.io_overhead_ns if floor is not None else doc.switch_ns
    ordered = sorted_runs(drawn, key)
    bars = []
    for run, place in zip(ordered, ranks(ordered, key), strict=True):
        sample = run.switch
        mean = sample.mean_ns if sample is not None and sample.mean_s > 0 and run.status.charted else None
        over = noise.overhead(doc, run)
        spread = noise.spread_ns(run.switch) if mean is not None else 0.0
        bars.append(IoBar(run.scheduler, run.status, place, mean, spread,
                          None if floor is None else floor.mean_ns, run.reasons, run.spurious_wakes,
                          None if over is None else over.band_ns))
    rockets = next((r.rockets for r in runs if r.rockets), doc.workload.rockets)
    return IoData(bars, None if floor is None else floor.mean_ns, None if floor is None else floor.std_s * 1e9,
                  [excluded(r) for r in runs if r.status is Status.SKIPPED],
                  rockets // 2 if runs else None, next((r.message_size for r in runs if r.message_size), None))
