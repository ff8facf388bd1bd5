"""What may be charted: pure selection from a loaded results document, no drawing.

The rule of DESIGN §3 is applied here and nowhere else in the report: only runs whose
status is charted (``Status.charted``) become chart data. ``valid`` runs are charted
plainly; ``early`` runs (a valid trace, but some wakes before their deadline) are charted
with ``early=True`` so every chart can flag them. Runs of any other status never become
values; each selection returns them as ``Excluded`` entries so charts can say what is
missing and why, instead of leaving a silent gap.

Keeping the selection separate from matplotlib makes the rule testable without looking
at pixels, and lets the HTML page and the Markdown summary share it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.present import noise
from bench.results.model import Document, Histogram, RunRecord, Status


@dataclass(frozen=True)
class Excluded:
    """A run that is not charted, with the reason a reader needs."""

    scheduler: str
    mode: str
    time_scale: float | None
    status: str
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        scale = "" if self.time_scale is None else f" @ {self.time_scale:g}"
        why = "; ".join(self.reasons) or "no reason recorded"
        return f"{self.scheduler} ({self.mode}{scale}): {self.status.upper()} — {why}"


@dataclass(frozen=True)
class SwitchBar:
    scheduler: str
    mean_ns: float
    std_ns: float
    x_floor: float | None
    early: bool
    body_floor_ns: float | None = None  # the body floor of its dialect, same file
    dialect: str | None = None
    band_ns: float | None = None  # the overhead's noise band (bench.present.noise), as in the tables

    @property
    def overhead_ns(self) -> float | None:
        """What the scheduler adds on top of its dialect's body floor (≤ 0 is possible)."""
        return None if self.body_floor_ns is None else self.mean_ns - self.body_floor_ns

    @property
    def key_ns(self) -> float:
        """What the ranking compares: overhead when there is a body floor, else cost."""
        overhead = self.overhead_ns
        return self.mean_ns if overhead is None else overhead


@dataclass(frozen=True)
class SwitchData:
    bars: list[SwitchBar]  # least overhead first (cheapest first without a body floor)
    floor_ns: float | None
    floor_std_ns: float | None
    excluded: list[Excluded]


@dataclass(frozen=True)
class TimedPoint:
    scheduler: str
    time_scale: float
    early: bool
    early_wakes: int
    worst_early_us: float
    lateness_us: dict[str, float]
    hist: Histogram | None
    cpu_per_wake_us: float | None
    cpu_per_wake_std_us: float | None
    wasted_per_wake: float | None  # None: the scheduler does not count its polls
    makespan_x_ideal: float | None


@dataclass(frozen=True)
class TimerFloorLine:
    """How late this machine wakes a plain thread at one time scale: the reference a
    scheduler's lateness is read against (lowered timer slack where Linux allowed it)."""

    time_scale: float
    wakes: int
    lateness_us: dict[str, float]  # p50, p90, p99, p99_9, max
    kind: str  # "blocking, lowered slack" or "blocking, default slack"


@dataclass(frozen=True)
class TimedData:
    scales: list[float]  # largest (lightest load) first
    points: list[TimedPoint]
    excluded: list[Excluded]
    timer_floors: dict[float, TimerFloorLine] = field(default_factory=dict)

    def at(self, scale: float) -> list[TimedPoint]:
        return [p for p in self.points if p.time_scale == scale]

    def of(self, scheduler: str) -> list[TimedPoint]:
        """One scheduler's points, largest time scale first."""
        return sorted((p for p in self.points if p.scheduler == scheduler), key=lambda p: -p.time_scale)


def excluded(run: RunRecord) -> Excluded:
    return Excluded(run.scheduler, run.mode, run.time_scale, run.status.value, run.reasons)


def scheduler_names(doc: Document) -> list[str]:
    """Every scheduler named in the document (runs and scaling points), in first-seen order."""
    names = [r.scheduler for r in doc.runs]
    names += [p.scheduler for p in (doc.scaling.points if doc.scaling else ())]
    return list(dict.fromkeys(names))


def switch_data(doc: Document) -> SwitchData:
    bars, out = [], []
    for run in doc.runs_in("switch"):
        sw = run.switch
        if not run.status.charted or sw is None or sw.mean_s <= 0:
            out.append(excluded(run))
            continue
        over = noise.overhead(doc, run)
        bars.append(SwitchBar(run.scheduler, sw.mean_ns, sw.std_s * 1e9, doc.x_floor(run),
                              run.status is Status.EARLY, doc.body_floor_ns(run.dialect), run.dialect,
                              None if over is None else over.band_ns))
    floor = doc.floor
    return SwitchData(sorted(bars, key=lambda b: b.key_ns),
                      None if floor is None else floor.mean_ns,
                      None if floor is None else floor.std_s * 1e9, out)


def timed_data(doc: Document) -> TimedData:
    points, out = [], []
    for run in doc.runs_in("timed"):
        t = run.timed
        if not run.status.charted or t is None or run.time_scale is None:
            out.append(excluded(run))
            continue
        cpu_values = t.cpu_per_wake_us_values
        std = None
        if len(cpu_values) > 1:
            mean = sum(cpu_values) / len(cpu_values)
            std = math.sqrt(sum((v - mean) ** 2 for v in cpu_values) / (len(cpu_values) - 1))
        points.append(TimedPoint(
            scheduler=run.scheduler, time_scale=run.time_scale, early=run.status is Status.EARLY,
            early_wakes=t.early_wakes, worst_early_us=t.worst_early_us,
            lateness_us={k: t.lateness_us.get(k) for k in (*t.lateness_us.KEYS, "mean")},
            hist=t.lateness_hist, cpu_per_wake_us=t.cpu_per_wake_us, cpu_per_wake_std_us=std,
            wasted_per_wake=t.wasted_per_wake, makespan_x_ideal=t.makespan_x_ideal,
        ))
    scales = sorted({p.time_scale for p in points} | {e.time_scale for e in out if e.time_scale is not None},
                    reverse=True)
    floors = {}
    for floor in doc.timer_floors:
        ref = floor.reference
        floors[floor.time_scale] = TimerFloorLine(
            floor.time_scale, floor.wakes, {k: ref.get(k) for k in ref.KEYS},
            "blocking, lowered slack" if floor.blocking_lowered is not None else "blocking, default slack")
    return TimedData(scales, points, out, floors)


@dataclass(frozen=True)
class Cdf:
    """A lateness CDF ready for a log x-axis.

    ``x_us``/``y`` are the upper bin edges (µs) and the fraction of wakes at or below
    each. ``at_or_below_zero`` is the fraction a log axis cannot show (exactly on time,
    possible with the virtual clock, plus early wakes); the curve starts there.
    """

    x_us: list[float]
    y: list[float]
    at_or_below_zero: float
    early: int
    total: int


def cdf(hist: Histogram | None) -> Cdf | None:
    """The CDF of a lateness histogram, trimmed to the bins that hold wakes."""
    if hist is None:
        return None
    counts = list(hist.counts)
    edges = list(hist.edges_s)
    early, zero = hist.early, hist.zero
    total = sum(counts) + early + zero
    if total == 0 or len(edges) != len(counts) + 1:
        return None
    nonzero = [i for i, c in enumerate(counts) if c]
    below = (early + zero) / total
    if not nonzero:
        return Cdf([], [], below, early, total)
    first, last = nonzero[0], nonzero[-1]
    xs, ys, running = [edges[first] * 1e6], [below], early + zero
    for i in range(first, last + 1):
        running += counts[i]
        xs.append(edges[i + 1] * 1e6)
        ys.append(running / total)
    return Cdf(xs, ys, below, early, total)


def nines(fraction: float) -> float:
    """The percentile axis transform: ``-log10(1 - p)``. 50 % → 0.30, 90 % → 1, 99 % → 2,
    99.9 % → 3: each further nine gets the same width, so the tail is as wide as the body."""
    if not 0 <= fraction < 1:
        raise ValueError(f"a percentile axis shows fractions in [0, 1), not {fraction!r}")
    return -math.log10(1 - fraction)


def fraction_of_nines(x: float) -> float:
    """The inverse of ``nines``."""
    return 1 - 10 ** -x


#: Percentiles with a tick on the nines axis, as (fraction, label in %).
NINES_TICKS: tuple[tuple[float, str], ...] = (
    (0.5, "50"), (0.9, "90"), (0.99, "99"), (0.999, "99.9"), (0.9999, "99.99"), (0.99999, "99.999"),
    (0.999999, "99.9999"),
)


@dataclass(frozen=True)
class PercentileCurve:
    """Lateness against percentile, ready for a nines x-axis and a log y-axis.

    Point ``i`` says: a share ``fraction[i]`` of all wakes were at most ``lateness_us[i]``
    late (the upper edge of the histogram bin, HdrHistogram's "highest equivalent value").
    The first point is where the curve leaves the wakes a log axis cannot show (on time or
    early: ``at_or_below_zero``). The last fraction, 1, is drawn at ``1 - 1/total``: the
    percentile of the slowest single wake, as far as ``total`` wakes can resolve.
    """

    fraction: list[float]
    lateness_us: list[float]
    at_or_below_zero: float
    early: int
    total: int

    @property
    def max_nines(self) -> float:
        """The x of the slowest wake: ``nines(1 - 1/total)``."""
        return math.log10(self.total) if self.total > 1 else 0.0

    @property
    def x(self) -> list[float]:
        """``fraction`` on the nines axis, capped at ``max_nines``."""
        return [self.max_nines if f >= 1 else min(nines(f), self.max_nines) for f in self.fraction]


def percentile_curve(hist: Histogram | None) -> PercentileCurve | None:
    """The percentile curve of a lateness histogram (None when there is no histogram or no wake)."""
    curve = cdf(hist)
    if curve is None:
        return None
    if not curve.x_us:
        return PercentileCurve([], [], curve.at_or_below_zero, curve.early, curve.total)
    # cdf() starts at the lower edge of the first occupied bin with the on-time share; on a
    # percentile curve that point is (on-time share, upper edge of that bin).
    fractions = curve.y  # starts with the on-time share
    values = [curve.x_us[1], *curve.x_us[1:]]
    keep = [i for i in range(len(fractions)) if i == 0 or fractions[i] > fractions[i - 1]]
    return PercentileCurve([fractions[i] for i in keep], [values[i] for i in keep],
                           curve.at_or_below_zero, curve.early, curve.total)


# ---- scaling -----------------------------------------------------------------------

@dataclass(frozen=True)
class ScalingSeries:
    """One (scheduler, mode) curve: the ``ok`` points, and where and why it stopped."""

    scheduler: str
    mode: str
    rockets: list[int]
    ns_per_resume: list[float | None]
    bytes_per_rocket: list[float | None]
    stopped_at: int | None = None  # N of the first "stopped" point
    stopped_reason: str | None = None

    @property
    def reference(self) -> bool:
        """A body floor driver (``body-floor/<dialect>``): a reference line, not a scheduler."""
        return is_body_floor(self.scheduler)


#: Scaling sweeps name body floor drivers like schedulers, with this prefix.
BODY_FLOOR_PREFIX = "body-floor/"


def is_body_floor(name: str) -> bool:
    return name.startswith(BODY_FLOOR_PREFIX)


@dataclass(frozen=True)
class ScalingNote:
    """A scaling point that is not plotted (failed, skipped, or stopped with nothing to mark)."""

    scheduler: str
    mode: str
    rockets: int | None
    status: str
    reason: str | None


@dataclass(frozen=True)
class ScalingData:
    sizes: list[int]
    budget_s: float | None
    series: list[ScalingSeries]
    notes: list[ScalingNote] = field(default_factory=list)


def scaling_data(doc: Document) -> ScalingData | None:
    """The scaling section as curves, or None when the file has none (it is optional).

    Points with status ``ok`` are values. A ``stopped`` point (time budget exceeded)
    ends its curve: the chart marks the size that stopped. ``failed``/``skipped`` points
    and anything else become notes.
    """
    scaling = doc.scaling
    if scaling is None:
        return None
    groups: dict[tuple[str, str], list[Any]] = {}
    for p in scaling.points:
        groups.setdefault((p.scheduler, p.mode), []).append(p)
    series, notes = [], []
    for (name, mode), group in groups.items():
        group.sort(key=lambda p: p.rockets)
        ok = [p for p in group if p.status == "ok"]
        stopped = next((p for p in group if p.status == "stopped"), None)
        for p in group:
            if p.status not in ("ok", "stopped") or (p is stopped and not ok):
                notes.append(ScalingNote(name, mode, p.rockets, p.status, p.reason))
        if not ok:
            continue
        series.append(ScalingSeries(
            name, mode, [p.rockets for p in ok], [_positive(p.ns_per_resume) for p in ok],
            [_positive(p.tracemalloc_bytes_per_rocket) for p in ok],
            None if stopped is None else stopped.rockets, None if stopped is None else stopped.reason,
        ))
    return ScalingData(sorted(scaling.sizes), scaling.budget_s, series, notes)


def _positive(value: float | None) -> float | None:
    """A value a log axis can show; anything else is left out of the curve."""
    return value if value is not None and math.isfinite(value) and value > 0 else None


# ---- history -----------------------------------------------------------------------

@dataclass(frozen=True)
class TrendData:
    """Per results file (oldest first), one value per series; None where the file has no
    charted value. The ``*_early`` lists flag values from EARLY runs (drawn as such)."""

    labels: list[str]  # one per results file, oldest first: "date\ncommit"
    #: scheduler → switch cost as a multiple of the bare send measured in the same file.
    switch_x_floor: dict[str, list[float | None]]
    p99_us: dict[tuple[str, float], list[float | None]]  # (scheduler, scale) → value per file
    switch_early: dict[str, list[bool]] = field(default_factory=dict)
    p99_early: dict[tuple[str, float], list[bool]] = field(default_factory=dict)

    @property
    def schedulers(self) -> list[str]:
        return list(dict.fromkeys([*self.switch_x_floor, *(name for name, _ in self.p99_us)]))

    @property
    def scales(self) -> list[float]:
        """Time scales with a p99 series, largest first."""
        return sorted({scale for _, scale in self.p99_us}, reverse=True)


def trend_label(doc: Document) -> str:
    return f"{doc.created_utc[:10]}\n{doc.environment.commit_label[:7]}{'+' if doc.environment.dirty else ''}"


def trend_data(docs: Sequence[Document]) -> TrendData:
    """Switch cost (× the bare send of the same file: machine-independent) and timed p99 per
    scheduler across files (give them oldest first)."""
    n = len(docs)
    switch: dict[str, list[float | None]] = {}
    switch_early: dict[str, list[bool]] = {}
    p99: dict[tuple[str, float], list[float | None]] = {}
    p99_early: dict[tuple[str, float], list[bool]] = {}
    for i, doc in enumerate(docs):
        for bar in switch_data(doc).bars:
            if bar.x_floor is None:  # no bare send in that file: nothing machine-independent to show
                continue
            switch.setdefault(bar.scheduler, [None] * n)[i] = bar.x_floor
            switch_early.setdefault(bar.scheduler, [False] * n)[i] = bar.early
        for point in timed_data(doc).points:
            value = point.lateness_us.get("p99")
            if value is not None:
                key = (point.scheduler, point.time_scale)
                p99.setdefault(key, [None] * n)[i] = value
                p99_early.setdefault(key, [False] * n)[i] = point.early
    order = sorted(p99, key=lambda k: -k[1])
    return TrendData([trend_label(d) for d in docs], switch, {k: p99[k] for k in order}, switch_early,
                     {k: p99_early[k] for k in order})


# ---- instructions --------------------------------------------------------------------

@dataclass(frozen=True)
class InstructionBar:
    scheduler: str
    per_switch: float  # instructions per resume, switch mode
    body_floor: float | None  # the body floor of its dialect, same file
    drift: float
    dialect: str | None

    @property
    def overhead(self) -> float | None:
        return None if self.body_floor is None else self.per_switch - self.body_floor


@dataclass(frozen=True)
class InstructionData:
    bars: list[InstructionBar]  # fewest instructions first
    excluded: list[Excluded]


def instruction_data(doc: Document) -> InstructionData:
    """Instructions per switch of the VALID switch-mode runs of an instruction file."""
    bars, out = [], []
    for run in doc.runs_in("switch"):
        figures = run.instructions
        if not run.status.charted or figures is None:
            out.append(excluded(run))
            continue
        floor = doc.body_floor_instructions.get(run.dialect or "")
        bars.append(InstructionBar(run.scheduler, figures.per_unit, None if floor is None else floor.per_unit,
                                   figures.drift, run.dialect))
    return InstructionData(sorted(bars, key=lambda b: b.per_switch), out)
