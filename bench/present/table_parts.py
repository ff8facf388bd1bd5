"""The parts every table is built from: cells, rows, tables, and the ordering and tie rules.

``bench.present.tables`` and the per-mode table modules (``bench.present.io_table``) build
on these, so a rule (family first, then ranked runs, only VALID values flagged best, ``≈``
within the noise) is written once.

Families (``bench.present.families``): rows are listed by family (production, this
project's, third-party, teaching; unrecorded last), each with its own places; this
project's loop states the place it would take among the production loops instead. The
best value of a column is the best production loop's (everyone's in a file that records no
production loop): bold marks the winner a reader choosing a loop would pick.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.present import families, noise, units
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
    #: The heading of the family group the row is listed under ("" in tables without groups).
    group: str = ""

    @property
    def status_label(self) -> str:
        return self.status_text or self.status.label


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]  # for the cells only; scheduler, status and note columns are implied
    rows: list[Row]
    footnote: str = ""
    #: What the first column names ("scheduler"); floors tables name a floor there.
    lead: str = "scheduler"
    #: Whether the table has a status column (a floor is a measurement, not a run).
    statuses: bool = True


def row(run: RunRecord, cells: list[Cell], note: str | None = None) -> Row:
    """A run's row, in its family's group."""
    return Row(run.scheduler, run.status, cells, run.note if note is None else note,
               group=families.label(run.family))


def num(text: str, best: bool = False) -> Cell:
    return Cell(text, True, best)


def sorted_runs(runs: Sequence[RunRecord], key: Callable[[RunRecord], float | None]) -> list[RunRecord]:
    """Family first (``FAMILY_NAMES``' order), then, within it, ranked runs by ``key``, then
    unranked ones with a value, then those without. SKIPPED runs are left out: they are
    listed once, not in every table (``skipped_line``)."""
    def order(run: RunRecord) -> tuple[int, int, int, float, str]:
        value = key(run)
        has = value is not None and math.isfinite(value)
        group = 0 if has and run.status.ranked else 1 if has else 2
        return (families.family_index(run.family), group, run.status.severity,
                value if has else math.inf, run.scheduler)  # type: ignore[return-value]

    return sorted((r for r in runs if r.status is not Status.SKIPPED), key=order)


def best_run(runs: Sequence[RunRecord], key: Callable[[RunRecord], float | None],
             eligible: Callable[[RunRecord], bool] | None = None) -> RunRecord | None:
    """The winner of a column among the runs compared (``families.compared_with``): VALID
    ones by default, or those ``eligible`` says (an EARLY loop is ranked for CPU)."""
    allowed = eligible or (lambda r: r.status.ranked)
    pool = families.compared_with([r for r in runs if allowed(r)])
    ranked = [(v, r) for r in pool if (v := key(r)) is not None and math.isfinite(v)]
    return min(ranked, key=lambda vr: vr[0])[1] if ranked else None


def skipped_line(runs: Sequence[RunRecord]) -> str | None:
    """``not run: trio (switch, timed @ 1): not installed; …``, runs sharing a reason grouped."""
    groups: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        if run.status is Status.SKIPPED:
            groups.setdefault((run.scheduler, run.note or "no reason recorded"), []).append(run.where)
    if not groups:
        return None
    return "not run: " + "; ".join(f"{name} ({', '.join(where)}): {why}" for (name, why), where in groups.items())


def _spread(run: RunRecord) -> tuple[float, float] | None:
    """(value, noise) of a run's headline figure, for tie marking."""
    if run.instructions is not None:
        value = run.instructions.per_unit
        return value, value * (run.instructions.drift + INSTRUCTION_TIE)
    if run.switch is not None:
        return run.switch.mean_ns, noise.spread_ns(run.switch)
    return None


def tied(upper: RunRecord, lower: RunRecord) -> bool:
    """Within the noise: the drift rule for counts, ``noise.within`` for wall time."""
    a, b = _spread(upper), _spread(lower)
    if a is None or b is None:
        return False
    if upper.instructions is not None:
        return abs(b[0] - a[0]) <= max(a[1], b[1])
    return noise.within(b[0] - a[0], a[1], b[1])


def ranks(runs: Sequence[RunRecord], key: Callable[[RunRecord], float | None] | None = None) -> list[str]:
    """Place labels for runs already in order (``sorted_runs``): ``1``, ``≈1`` (within the
    noise of the one above), ``3``, counted afresh in each family. With ``key``, this
    project's loop is labelled ``(2)``: the place it would take among the production loops."""
    out: list[str] = []
    place, start = 0, 0
    production = [r for r in runs if r.family == families.PRODUCTION]
    for i, run in enumerate(runs):
        if i == 0 or run.family != runs[i - 1].family:
            start = i
        if not run.status.ranked:
            out.append(DASH)
            continue
        if key is not None and run.family == families.THIS_PROJECT and production:
            among = families.place_among(run, production, key, tied)
            out.append(DASH if among is None else f"({among})")
            continue
        if i > start and runs[i - 1].status.ranked and tied(runs[i - 1], run):
            out.append(f"≈{place}")
        else:
            place = i - start + 1
            out.append(str(place))
    return out
