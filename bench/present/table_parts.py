"""The parts every table is built from: cells, rows, tables, and the ordering and tie rules.

``bench.present.tables`` and the per-mode table modules (``bench.present.io_table``) build
on these, so a rule (ranked runs first, only VALID values flagged best, ``≈`` within the
noise) is written once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.present import units
from bench.results.model import RunRecord, Status

DASH = units.DASH
#: Relative difference below which two instruction counts are the same (on top of drift).
INSTRUCTION_TIE = 0.001


@dataclass(frozen=True)
class Cell:
    text: str
    number: bool = False
    best: bool = False


@dataclass(frozen=True)
class Row:
    scheduler: str
    status: Status
    cells: list[Cell]
    note: str
    #: What the status column says when it is not the status's own label (a scaling point
    #: stopped by the time budget: not ranked, but not a failure of the scheduler either).
    status_text: str = ""

    @property
    def status_label(self) -> str:
        return self.status_text or self.status.label


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]  # for the cells only; scheduler, status and note columns are implied
    rows: list[Row]
    footnote: str = ""


def num(text: str, best: bool = False) -> Cell:
    return Cell(text, True, best)


def sorted_runs(runs: Sequence[RunRecord], key: Callable[[RunRecord], float | None]) -> list[RunRecord]:
    """Ranked runs by ``key``, then unranked ones with a value, then those without."""
    def order(run: RunRecord) -> tuple[int, int, float, str]:
        value = key(run)
        has = value is not None and math.isfinite(value)
        group = 0 if has and run.status.ranked else 1 if has else 2
        return group, run.status.severity, value if has else math.inf, run.scheduler  # type: ignore[return-value]

    return sorted(runs, key=order)


def best_run(runs: Sequence[RunRecord], key: Callable[[RunRecord], float | None]) -> RunRecord | None:
    ranked = [(v, r) for r in runs if r.status.ranked and (v := key(r)) is not None and math.isfinite(v)]
    return min(ranked, key=lambda vr: vr[0])[1] if ranked else None


def _spread(run: RunRecord) -> tuple[float, float] | None:
    """(value, noise) of a run's headline figure, for tie marking."""
    if run.instructions is not None:
        value = run.instructions.per_unit
        return value, value * (run.instructions.drift + INSTRUCTION_TIE)
    if run.switch is not None:
        return run.switch.mean_ns, run.switch.std_s * 1e9
    return None


def tied(upper: RunRecord, lower: RunRecord) -> bool:
    a, b = _spread(upper), _spread(lower)
    if a is None or b is None:
        return False
    return abs(b[0] - a[0]) <= max(a[1], b[1])


def ranks(runs: Sequence[RunRecord]) -> list[str]:
    """Place labels for runs already in order: ``1``, ``≈1`` (within noise of the one above), ``3``."""
    out: list[str] = []
    place = 0
    for i, run in enumerate(runs):
        if not run.status.ranked:
            out.append(DASH)
            continue
        if i > 0 and runs[i - 1].status.ranked and tied(runs[i - 1], run):
            out.append(f"≈{place}")
        else:
            place = i + 1
            out.append(str(place))
    return out
