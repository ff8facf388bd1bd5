"""The tables of a syscall file: calls per resume, in total and by name, one table per mode.

A syscall file (``run --measure syscalls``) has none of the wall-time figures, so
``bench.present.tables.all_tables`` shows these tables alone for it. Rows are ordered by
calls per resume, fewest first; only VALID runs carry counts. A cell is the calls of one
name per resume (calls in ``run`` ÷ the workload's expected resumes, the denominator of
switch cost); ``~`` marks a count that is only reported (allocator or timing-dependent,
``bench.results.syscall_kinds``), ``!`` a gated count whose repeats disagreed, which the
A/A behind the classification did not see.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.present import units
from bench.present.table_parts import DASH, Cell, Table, best_run, num, row, sorted_runs
from bench.results.model import Document, RunRecord
from bench.results.syscall_kinds import gated

FOOTNOTE = ("calls per resume = calls in run() ÷ the workload's expected resumes ({denominators}), the denominator "
            "of switch cost; counted under strace between two markers, every thread and process. ~ only reported "
            "(allocator or timing-dependent: never gated); every other name is gated exactly by compare. ! the "
            "repeats disagreed on a gated name.")


def _total(run: RunRecord) -> float | None:
    return None if run.syscalls is None else run.syscalls.total_per_unit


def _names(runs: Sequence[RunRecord]) -> list[str]:
    """Every name any run made, most calls per resume (summed over the runs) first."""
    weight: dict[str, float] = {}
    for run in runs:
        if run.syscalls is not None:
            for name in run.syscalls.names:
                weight[name] = weight.get(name, 0.0) + run.syscalls.per_unit(name)
    return sorted(weight, key=lambda n: (-weight[n], n))


def _cell(run: RunRecord, name: str) -> Cell:
    figures = run.syscalls
    if figures is None or not any(figures.calls(name)):
        return num(DASH)
    mark = "~" if not gated(run.scheduler, run.mode, name) else "!" if figures.varies(name) else ""
    return num(units.figure(figures.per_unit(name)) + mark)


def syscall_table(doc: Document, mode: str, time_scale: float | None) -> Table | None:
    runs = [r for r in doc.runs if r.mode == mode and r.time_scale == time_scale]
    if not runs:
        return None
    names = _names(runs)
    ordered = sorted_runs(runs, _total)
    best = best_run(ordered, _total)
    rows = []
    for run in ordered:
        s = run.syscalls
        cells = [num(units.figure(_total(run)), run is best),
                 num(DASH if s is None else units.count(sum(s.totals) / len(s.totals))),
                 num(DASH if s is None else str(s.threads)), Cell(DASH if s is None else str(len(s.counts)))]
        rows.append(row(run, cells + [_cell(run, n) for n in names]))
    where = mode + (f" @ {time_scale:g} s per tick" if time_scale is not None else "")
    denominators = sorted({r.syscalls.denominator for r in runs if r.syscalls is not None})
    foot = FOOTNOTE.format(denominators=", ".join(f"{d:,}" for d in denominators) or DASH)
    return Table(f"System calls per resume, {where} (strace, run() alone, real clock)",
                 ["total", "calls in run", "threads", "repeats", *names], rows, foot)


def syscall_tables(doc: Document) -> list[Table]:
    """One table per mode (timed: per time scale), in the workload's order of modes."""
    modes = list(dict.fromkeys([*doc.workload.modes, *(r.mode for r in doc.runs)]))
    out = []
    for mode in modes:
        scales: list[float | None] = list(doc.time_scales) if mode == "timed" else [None]
        for scale in scales:
            table = syscall_table(doc, mode, scale)
            if table is not None:
                out.append(table)
    return out
