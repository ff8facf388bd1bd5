"""One-shot runs: each chosen scheduler once, each in a child process, printed as a table.

The quick way to try a scheduler or a workload. It is not a measurement: there is one
run, no warm-up and no statistics; the pyperf suite (``bench run``) is the measurement.
It has the suite's protections, though: every scheduler runs in a process of its own
(``bench.measure.oneshot_child``) under the run and memory limits, after the same
unmeasured checking run, so a scheduler that crashes, hangs, exhausts memory, calls
``os._exit`` or returns nonsense is that row's FAILED or INVALID reason and the rows
before it stand. Rows are printed as each scheduler finishes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from bench.measure.clocks import ClockKind
from bench.measure.oneshot_child import run_in_child
from bench.measure.plan import DEFAULT_MEMORY_LIMIT_MB, run_limit
from bench.measure.registry import SchedulerEntry
from bench.measure.suite import skip_reason
from bench.present import units
from bench.workload.rockets import Workload

#: Statuses that make ``run --once`` exit 1.
BROKEN_STATUSES = ("failed", "invalid", "suspect")


@dataclass
class OneShotRow:
    name: str
    result: dict[str, Any]  # status, reasons and figures (see ``oneshot_child``)

    @property
    def status(self) -> str:
        return str(self.result.get("status", "failed"))

    @property
    def failed(self) -> bool:
        return self.status in BROKEN_STATUSES

    @property
    def reason(self) -> str:
        return "; ".join(self.result.get("reasons") or [])


#: The columns of each kind of run: only what means something there. A switch run has no
#: lateness; a virtual-clock run has no real makespan to hold against the ideal.
Column = tuple[str, Callable[[dict[str, Any], Workload], str]]


def _useful_resumes(r: dict[str, Any], workload: Workload) -> str:
    """Rocket resumes that did work, the same quantity for every scheduler: a polling
    design that counts its polls inside ``resumes`` has them taken out (they are the next
    column), one that counts them apart already reports only useful resumes."""
    resumes, wasted = r.get("resumes"), r.get("wasted")
    if resumes is None:
        return "n/a"
    if wasted and resumes - wasted == workload.expected_resumes:
        resumes -= wasted
    return f"{resumes:,}"


def _figure(key: str, fmt: Callable[[float | None], str], scale: float = 1.0) -> Callable[..., str]:
    def cell(r: dict[str, Any], workload: Workload) -> str:
        value = r.get(key)
        return fmt(None if value is None else float(value) * scale)

    return cell


def _count(key: str) -> Callable[..., str]:
    def cell(r: dict[str, Any], workload: Workload) -> str:
        value = r.get(key)
        return units.DASH if value is None else f"{value:,}"

    return cell


def _x_ideal(r: dict[str, Any], workload: Workload) -> str:
    wall = r.get("wall_s")
    ideal = workload.ideal_makespan_s
    return units.DASH if wall is None or not ideal else f"{wall / ideal:.2f}×"


def _cpu_per_wake(r: dict[str, Any], workload: Workload) -> str:
    cpu = r.get("cpu_s")
    return units.us(None if cpu is None else cpu / workload.total_sleeps * 1e6)


def _early(r: dict[str, Any], workload: Workload) -> str:
    early = int(r.get("early") or 0)
    return f"{early:,} (worst {units.us((r.get('worst_early_s') or 0.0) * 1e6)} µs)" if early else "0"


COMMON: list[Column] = [("resumes", _useful_resumes), ("wasted polls", _count("wasted"))]
LATENESS: list[Column] = [("late p50 µs", _figure("late_p50_us", units.us)),
                          ("late p99 µs", _figure("late_p99_us", units.us)),
                          ("late max µs", _figure("late_max_us", units.us)), ("early wakes", _early)]
COLUMNS: dict[str, list[Column]] = {
    "switch": [*COMMON, ("wall s", _figure("wall_s", units.seconds)),
               ("ns/switch", _figure("per_switch_s", units.ns, 1e9))],
    "timed": [*COMMON, ("makespan s", _figure("wall_s", units.seconds)), ("× ideal", _x_ideal),
              ("CPU s", _figure("cpu_s", units.seconds)), ("CPU/wake µs", _cpu_per_wake), *LATENESS],
    "virtual": [*COMMON, ("CPU s", _figure("cpu_s", units.seconds)), ("CPU/wake µs", _cpu_per_wake), *LATENESS],
}


def columns(workload: Workload, clock: ClockKind) -> list[Column]:
    if workload.mode == "switch":
        return COLUMNS["switch"]
    return COLUMNS["virtual" if clock == "virtual" else "timed"]


def run_one(entry: SchedulerEntry, workload: Workload, clock: ClockKind, run_limit_s: float,
            memory_limit_mb: int) -> dict[str, Any]:
    """One scheduler's result: from its child process(es), or why it did not run."""
    skip = skip_reason(entry, clock)
    if skip is not None:
        return {"status": "skipped", "reasons": [skip]}
    if getattr(entry, "one_run_per_process", False):
        # Its loop runs once per process: the checking run gets a process of its own.
        check = run_in_child(entry.name, workload, clock, run_limit_s, memory_limit_mb, check="only")
        if check.get("status") != "valid":
            return check
        return run_in_child(entry.name, workload, clock, run_limit_s, memory_limit_mb, check="skip")
    return run_in_child(entry.name, workload, clock, run_limit_s, memory_limit_mb)


def run_all(entries: Sequence[SchedulerEntry], workload: Workload, clock: ClockKind,
            run_limit_s: float | None = None, memory_limit_mb: int | None = None,
            out: TextIO | None = None) -> list[OneShotRow]:
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
        row = OneShotRow(entry.name, run_one(entry, workload, clock, limit, memory))
        rows.append(row)
        print(_line(format_row(row, workload, clock), widths), file=stream, flush=True)
    return rows


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    right = [False, False, *([True] * (len(cells) - 3)), False]
    parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
    return "  ".join(parts).rstrip()


def format_row(row: OneShotRow, workload: Workload, clock: ClockKind) -> list[str]:
    cols = columns(workload, clock)
    r = row.result
    if r.get("wall_s") is None:
        return [row.name, row.status.upper(), *[units.DASH] * len(cols), row.reason]
    return [row.name, row.status.upper(), *(cell(r, workload) for _, cell in cols), row.reason]


def format_rows(rows: Sequence[OneShotRow], workload: Workload, clock: ClockKind) -> str:
    """All rows as one aligned table (for callers that print at the end)."""
    cols = columns(workload, clock)
    headers = ["scheduler", "status", *(name for name, _ in cols), "reason"]
    body = [format_row(row, workload, clock) for row in rows]
    widths = [max([len(h), *(len(cells[i]) for cells in body)]) for i, h in enumerate(headers)]
    return "\n".join([_line(headers, widths), _line(["-" * w for w in widths], widths)]
                     + [_line(cells, widths) for cells in body])
