"""One-shot runs: each chosen scheduler once, in this process, printed as a table.

The quick way to try a scheduler or a workload. It is not a measurement: there is one
run, no warm-up and no statistics; the pyperf suite (``bench run``) is the measurement.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bench.measure.clocks import ClockKind
from bench.measure.execute import RunOutcome, SchedulerCrashed, execute_once
from bench.measure.registry import SchedulerEntry
from bench.present import text as table
from bench.results.distributions import lateness_summary
from bench.workload.rockets import Workload


@dataclass
class OneShotRow:
    entry: SchedulerEntry
    outcome: RunOutcome | None
    failure: str | None


def run_all(
    entries: Sequence[SchedulerEntry], workload: Workload, clock: ClockKind
) -> list[OneShotRow]:
    rows = []
    for entry in entries:
        if not entry.available:
            rows.append(OneShotRow(entry, None, f"unavailable: {entry.error}"))
            continue
        if clock == "virtual" and not entry.supports_virtual_clock:
            rows.append(OneShotRow(entry, None, "skipped: does not support the virtual clock"))
            continue
        print(f"running {entry.name} ({workload.mode}, {workload.count} rockets)…",
              file=sys.stderr, flush=True)
        try:
            rows.append(OneShotRow(entry, execute_once(entry, workload, clock), None))
        except SchedulerCrashed as exc:
            rows.append(OneShotRow(entry, None, f"crashed: {exc}"))
    return rows


HEADERS = ("scheduler", "status", "resumes", "wasted", "wall s", "cpu s", "ns/switch",
           "late p50 µs", "late p99 µs", "late max µs", "early", "worst early µs", "reason")


def format_rows(rows: Sequence[OneShotRow]) -> str:
    body = []
    for row in rows:
        out = row.outcome
        if out is None:
            body.append([row.entry.name, "FAILED", *["-"] * 10, row.failure or ""])
            continue
        v = out.verdict
        late = lateness_summary(out.lateness_s)
        per_switch = out.wall_s / out.resumes_for_cost if out.workload.mode == "switch" else None
        body.append([
            out.scheduler, v.label,
            "n/a" if v.resumes is None else f"{v.resumes:,}",
            "-" if v.wasted is None else f"{v.wasted:,}",
            table.fmt_s(out.wall_s), table.fmt_s(out.cpu_s), table.fmt_ns(per_switch),
            table.fmt_us(late.get("p50")), table.fmt_us(late.get("p99")), table.fmt_us(late.get("max")),
            str(v.early_wakes), table.fmt_us(v.worst_early_s * 1e6) if v.early_wakes else "-",
            v.explain(),
        ])
    right = [False, False, *[True] * 10, False]
    return table.render(HEADERS, body, right)
