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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from bench.measure.clocks import ClockKind
from bench.measure.oneshot_child import run_in_child
from bench.measure.registry import SchedulerEntry
from bench.measure.suite import DEFAULT_MEMORY_LIMIT_MB, run_limit
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


HEADERS = ("scheduler", "status", "resumes", "wasted", "wall s", "cpu s", "ns/switch",
           "late p50 µs", "late p99 µs", "late max µs", "early", "worst early µs", "reason")
RIGHT = (False, False, *[True] * 10, False)
#: Column widths for rows printed one at a time (a wider cell pushes the rest along).
MIN_WIDTHS = (9, 7, 9, 6, 7, 7, 9, 11, 11, 11, 5, 14, 0)


def run_one(entry: SchedulerEntry, workload: Workload, clock: ClockKind, run_limit_s: float,
            memory_limit_mb: int) -> dict[str, Any]:
    """One scheduler's result: from its child process(es), or why it did not run."""
    if not entry.available:
        return {"status": "failed", "reasons": [f"unavailable: {entry.error}"]}
    if clock == "virtual" and not entry.supports_virtual_clock:
        return {"status": "failed", "reasons": ["skipped: does not support the virtual clock"]}
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
    limit = run_limit_s if run_limit_s is not None else run_limit(workload)
    memory = memory_limit_mb if memory_limit_mb is not None else DEFAULT_MEMORY_LIMIT_MB
    widths = [max(len(h), w) for h, w in zip(HEADERS, MIN_WIDTHS, strict=True)]
    widths[0] = max([widths[0], *(len(e.name) for e in entries)])
    print(_line(HEADERS, widths), file=stream)
    print(_line(["-" * w for w in widths[:-1]] + ["-" * len(HEADERS[-1])], widths), file=stream, flush=True)
    rows = []
    for entry in entries:
        if entry.available:
            print(f"running {entry.name} ({workload.mode}, {workload.count} rockets)…",
                  file=sys.stderr, flush=True)
        row = OneShotRow(entry.name, run_one(entry, workload, clock, limit, memory))
        rows.append(row)
        print(_line(format_row(row), widths), file=stream, flush=True)
    return rows


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, RIGHT, strict=True)]
    return "  ".join(parts).rstrip()


def format_row(row: OneShotRow) -> list[str]:
    r = row.result
    if row.status == "failed" or r.get("wall_s") is None:
        return [row.name, "FAILED" if row.status == "failed" else row.status.upper(), *["-"] * 10, row.reason]

    def count(key: str, fallback: str) -> str:
        value = r.get(key)
        return fallback if value is None else f"{value:,}"

    early = int(r.get("early") or 0)
    return [
        row.name, row.status.upper(), count("resumes", "n/a"), count("wasted", "-"),
        _s(r.get("wall_s")), _s(r.get("cpu_s")), _ns(r.get("per_switch_s")),
        _us(r.get("late_p50_us")), _us(r.get("late_p99_us")), _us(r.get("late_max_us")),
        str(early), _us((r.get("worst_early_s") or 0.0) * 1e6) if early else "-",
        row.reason,
    ]


def format_rows(rows: Sequence[OneShotRow]) -> str:
    """All rows as one aligned table (for callers that print at the end)."""
    body = [format_row(row) for row in rows]
    widths = [max([len(h), *(len(cells[i]) for cells in body)]) for i, h in enumerate(HEADERS)]
    return "\n".join([_line(HEADERS, widths), _line(["-" * w for w in widths], widths)]
                     + [_line(cells, widths) for cells in body])


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.3f}"


def _ns(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e9:,.0f}"


def _us(micro: float | None) -> str:
    if micro is None:
        return "-"
    return f"{micro:,.0f}" if abs(micro) >= 1000 else f"{micro:.1f}"
