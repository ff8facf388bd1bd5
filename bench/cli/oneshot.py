"""One-shot runs: each chosen scheduler once, each in a child process, printed as a table.

The quick way to try a scheduler or a workload. It is not a measurement: there is one
run, no warm-up and no statistics; the pyperf suite (``bench run``) is the measurement.
It has the suite's protections, though: every scheduler runs in a process of its own
(``bench.measure.oneshot``) under the run and memory limits, after the same unmeasured
checking run, so a scheduler that crashes, hangs, exhausts memory, calls ``os._exit`` or
returns nonsense is that row's FAILED or INVALID reason and the rows before it stand.
Each row is the same typed ``RunRecord`` the suite writes; rows are printed as each
scheduler finishes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from bench.measure.clocks import ClockKind
from bench.measure.limits import DEFAULT_MEMORY_LIMIT_MB, run_limit
from bench.measure.oneshot import run_once
from bench.measure.registry import SchedulerEntry
from bench.measure.suite import skip_reason
from bench.present import units
from bench.results.model import ProcessFigures, RunRecord
from bench.workload.rockets import Workload

#: The columns of each kind of run: only what means something there. A switch run has no
#: lateness; a virtual-clock run has no real makespan to hold against the ideal.
Column = tuple[str, Callable[[ProcessFigures, Workload], str]]


def _useful_resumes(p: ProcessFigures, workload: Workload) -> str:
    """Rocket resumes that did work, the same quantity for every scheduler: a polling
    design that counts its polls inside ``resumes`` has them taken out (they are the next
    column), one that counts them apart already reports only useful resumes."""
    resumes, wasted = p.resumes, p.wasted
    if resumes is None:
        return "n/a"
    if wasted and resumes - wasted == workload.expected_resumes:
        resumes -= int(wasted)
    return f"{resumes:,}"


def _wasted(p: ProcessFigures, workload: Workload) -> str:
    return units.DASH if p.wasted is None else f"{p.wasted:,.0f}"


def _late(key: str) -> Callable[[ProcessFigures, Workload], str]:
    def cell(p: ProcessFigures, workload: Workload) -> str:
        return units.us(None if p.lateness_us is None else p.lateness_us.get(key))

    return cell


def _wall(p: ProcessFigures, workload: Workload) -> str:
    return units.seconds(p.wall_s)


def _cpu(p: ProcessFigures, workload: Workload) -> str:
    return units.seconds(p.cpu_s)


def _per_switch(p: ProcessFigures, workload: Workload) -> str:
    return units.ns(p.wall_s / workload.expected_resumes * 1e9)


def _x_ideal(p: ProcessFigures, workload: Workload) -> str:
    ideal = workload.ideal_makespan_s
    return units.DASH if not ideal else f"{p.wall_s / ideal:.2f}×"


def _cpu_per_wake(p: ProcessFigures, workload: Workload) -> str:
    return units.us(p.cpu_s / workload.total_sleeps * 1e6 if workload.total_sleeps else None)


def _early(p: ProcessFigures, workload: Workload) -> str:
    return f"{p.early:,} (worst {units.us(p.worst_early_s * 1e6)} µs)" if p.early else "0"


COMMON: list[Column] = [("resumes", _useful_resumes), ("wasted polls", _wasted)]
LATENESS: list[Column] = [("late p50 µs", _late("p50")), ("late p99 µs", _late("p99")),
                          ("late max µs", _late("max")), ("early wakes", _early)]
COLUMNS: dict[str, list[Column]] = {
    "switch": [*COMMON, ("wall s", _wall), ("ns/switch", _per_switch)],
    "timed": [*COMMON, ("makespan s", _wall), ("× ideal", _x_ideal), ("CPU s", _cpu),
              ("CPU/wake µs", _cpu_per_wake), *LATENESS],
    "virtual": [*COMMON, ("CPU s", _cpu), ("CPU/wake µs", _cpu_per_wake), *LATENESS],
    "io": [*COMMON, ("wall s", _wall), ("ns/resume", _per_switch), ("CPU/wake µs", _cpu_per_wake),
           ("spurious", lambda p, w: f"{p.spurious:,}" if p.spurious is not None else units.DASH)],
}


def columns(workload: Workload, clock: ClockKind) -> list[Column]:
    if workload.mode in ("switch", "io"):
        return COLUMNS[workload.mode]
    return COLUMNS["virtual" if clock == "virtual" else "timed"]


def run_all(entries: Sequence[SchedulerEntry], workload: Workload, clock: ClockKind,
            run_limit_s: float | None = None, memory_limit_mb: int | None = None,
            out: TextIO | None = None) -> list[RunRecord]:
    """Run each entry in its own child process, printing the header and then each row to
    ``out`` (stdout) as soon as it finishes."""
    stream = out if out is not None else sys.stdout
    memory = memory_limit_mb if memory_limit_mb is not None else DEFAULT_MEMORY_LIMIT_MB
    cols = columns(workload, clock)
    headers = ["scheduler", "status", *(name for name, _ in cols), "reason"]
    widths = [max([len(headers[0]), *(len(e.name) for e in entries)]), 8, *(max(len(n), 9) for n, _ in cols), 0]
    print(_line(headers, widths), file=stream)
    print(_line(["-" * w for w in widths[:-1]] + ["-" * len(headers[-1])], widths), file=stream, flush=True)
    rows = []
    for entry in entries:
        if entry.available:
            print(f"running {entry.name} ({workload.mode}, {workload.count} rockets)…",
                  file=sys.stderr, flush=True)
        limit = run_limit_s if run_limit_s is not None else run_limit(workload, clock, entry.polling)
        row = run_once(entry, workload, clock, limit, memory, skip=skip_reason(entry, clock, workload.mode))
        rows.append(row)
        print(_line(format_row(row, workload, clock), widths), file=stream, flush=True)
    return rows


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    right = [False, False, *([True] * (len(cells) - 3)), False]
    parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
    return "  ".join(parts).rstrip()


def format_row(row: RunRecord, workload: Workload, clock: ClockKind) -> list[str]:
    cols = columns(workload, clock)
    if not row.processes:
        return [row.scheduler, row.status.label, *[units.DASH] * len(cols), row.note]
    process = row.processes[0]
    return [row.scheduler, row.status.label, *(cell(process, workload) for _, cell in cols), row.note]
