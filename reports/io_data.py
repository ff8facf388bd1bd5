"""What the io chart and the answer's io sentence show: pure selection, no drawing.

io mode (``python -m bench run --mode io``) drives rockets in pairs over socket pairs; a
resume is a rocket's start or a readiness wake, and a run's cost per resume is its
``switch`` sample. The reference is the document's I/O floor (the same workload on raw
epoll, the cheapest correct loop): what a scheduler adds is its cost less the floor.

The order is the io table's (``bench.present.io_table``): ranked (VALID) runs by overhead,
then the others with a figure, then those without one, using the same sort and the same
``≈`` tie rule (``bench.present.table_parts``), so the chart, the table and the sentence
never disagree about who is first. The charting rule is ``reports.data``'s (DESIGN §7.1):
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

from bench.present import units
from bench.present.table_parts import ranks, sorted_runs
from bench.results.model import Document, RunRecord, Status
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


def _std_ns(run: RunRecord) -> float:
    """The sample's std; failing that, the spread of its per-process means."""
    sample = run.switch
    if sample is None:
        return 0.0
    if sample.std_s > 0 or len(sample.values_s) < 2:
        return sample.std_s * 1e9
    mean = sum(sample.values_s) / len(sample.values_s)
    var = sum((v - mean) ** 2 for v in sample.values_s) / (len(sample.values_s) - 1)
    return float(var ** 0.5 * 1e9)


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
        bars.append(IoBar(run.scheduler, run.status, place, mean, _std_ns(run) if mean is not None else 0.0,
                          None if floor is None else floor.mean_ns, run.reasons, run.spurious_wakes))
    rockets = next((r.rockets for r in runs if r.rockets), doc.workload.rockets)
    return IoData(bars, None if floor is None else floor.mean_ns, None if floor is None else floor.std_s * 1e9,
                  [excluded(r) for r in runs if r.status is Status.SKIPPED],
                  rockets // 2 if runs else None, next((r.message_size for r in runs if r.message_size), None))


def _within_noise(a: IoBar, b: IoBar) -> bool:
    """The two means ± std overlap."""
    if a.mean_ns is None or b.mean_ns is None:
        return False
    return abs(a.mean_ns - b.mean_ns) <= a.std_ns + b.std_ns


def _against_floor(bar: IoBar) -> str:
    """``6,915 ± 2,994 ns over the I/O floor`` (or under it: a cost within the floor's noise)."""
    overhead = bar.overhead_ns
    assert overhead is not None
    side = "under" if overhead < 0 else "over"
    return f"{units.ns(abs(overhead))} ± {units.ns(bar.std_ns)} ns {side} the I/O floor"


def io_answer(doc: Document) -> str | None:
    """One sentence for the answer section, or None when the file has no io run.

    Least overhead per readiness wake among VALID io runs, its figure, the runner-up's, and
    the I/O floor; "within the noise" when the two means ± std overlap.
    """
    if not doc.runs_in("io"):
        return None
    data = io_data(doc)
    ranked = data.ranked
    if not ranked:
        return "Waiting on sockets: no io run is VALID, so no scheduler is ranked (see the failures below)."
    best = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    noise = runner is not None and _within_noise(best, runner)
    if data.floor_ns is None:
        text = (f"Waiting on sockets: {best.scheduler} has the lowest cost per resume, "
                f"{units.ns(best.mean_ns)} ± {units.ns(best.std_ns)} ns")
        if runner is not None:
            text += (f"; runner-up {runner.scheduler}, {units.ns(runner.mean_ns)} ± {units.ns(runner.std_ns)} ns"
                     f"{', within the noise' if noise else ''}")
        return text + ". This file has no I/O floor, so overhead per wake is not known."
    text = f"Waiting on sockets: {best.scheduler} adds the least per readiness wake, {_against_floor(best)}"
    if runner is not None:
        text += f"; runner-up {runner.scheduler}, {_against_floor(runner)}{', within the noise' if noise else ''}"
    else:
        text += "; no other io run is VALID"
    floor_std = "" if data.floor_std_ns is None else f" ± {units.ns(data.floor_std_ns)}"
    return text + f". I/O floor (raw epoll): {units.ns(data.floor_ns)}{floor_std} ns per resume."
