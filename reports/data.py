"""What may be charted: pure selection from a loaded results document, no drawing.

The rule of DESIGN §3 lives here and nowhere else: only runs whose status is in
``CHARTED_STATUSES`` become chart data. ``valid`` runs are charted plainly; ``early``
runs (a valid trace, but some wakes before their deadline) are charted with ``early=True``
so every chart can flag them. ``invalid``, ``failed`` and ``skipped`` runs — and any
status a later format adds — never become values; each selection returns them as
``Excluded`` entries so charts can say what is missing and why, instead of leaving a
silent gap.

Keeping the selection separate from matplotlib makes the rule testable without looking
at pixels, and lets the HTML page and the Markdown summary share it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.results.store import section

CHARTED_STATUSES = ("valid", "early")
FLAGGED_STATUSES = ("early",)


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


@dataclass(frozen=True)
class SwitchData:
    bars: list[SwitchBar]  # cheapest first
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
    hist: dict[str, Any] | None
    cpu_per_wake_us: float | None
    cpu_per_wake_std_us: float | None
    wasted_per_wake: float | None  # None: the scheduler does not count its polls
    makespan_x_ideal: float | None


@dataclass(frozen=True)
class TimedData:
    scales: list[float]  # largest (lightest load) first
    points: list[TimedPoint]
    excluded: list[Excluded]

    def at(self, scale: float) -> list[TimedPoint]:
        return [p for p in self.points if p.time_scale == scale]

    def of(self, scheduler: str) -> list[TimedPoint]:
        """One scheduler's points, largest time scale first."""
        return sorted((p for p in self.points if p.scheduler == scheduler), key=lambda p: -p.time_scale)


def chartable(run: dict[str, Any]) -> bool:
    return run.get("status") in CHARTED_STATUSES


def excluded(run: dict[str, Any]) -> Excluded:
    scale = run.get("time_scale")
    return Excluded(str(run["scheduler"]), str(run["mode"]), None if scale is None else float(scale),
                    str(run["status"]), tuple(str(r) for r in run.get("reasons") or ()))


def scheduler_names(doc: dict[str, Any]) -> list[str]:
    """Every scheduler named in the document (runs and scaling points), in first-seen order."""
    sb = section(doc)
    names = [str(r["scheduler"]) for r in sb["runs"]]
    names += [str(p.get("scheduler")) for p in (sb.get("scaling") or {}).get("points") or []]
    return list(dict.fromkeys(names))


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def switch_data(doc: dict[str, Any]) -> SwitchData:
    sb = section(doc)
    bars, out = [], []
    for run in sb["runs"]:
        if run["mode"] != "switch":
            continue
        sw = run.get("switch") or {}
        mean = _finite(sw.get("mean_s"))
        if not chartable(run) or mean is None or mean <= 0:
            out.append(excluded(run))
            continue
        bars.append(SwitchBar(str(run["scheduler"]), mean * 1e9, (_finite(sw.get("std_s")) or 0.0) * 1e9,
                              _finite(sw.get("x_floor")), run["status"] in FLAGGED_STATUSES))
    floor = sb.get("floor") or {}
    floor_s, floor_std = _finite(floor.get("mean_s")), _finite(floor.get("std_s"))
    return SwitchData(sorted(bars, key=lambda b: b.mean_ns),
                      None if floor_s is None else floor_s * 1e9,
                      None if floor_std is None else floor_std * 1e9, out)


def timed_data(doc: dict[str, Any]) -> TimedData:
    sb = section(doc)
    points, out = [], []
    for run in sb["runs"]:
        if run["mode"] != "timed":
            continue
        t = run.get("timed")
        scale = _finite(run.get("time_scale"))
        if not chartable(run) or not t or scale is None:
            out.append(excluded(run))
            continue
        cpu_values = [v for v in (_finite(x) for x in t.get("cpu_per_wake_us_values") or ()) if v is not None]
        std = None
        if len(cpu_values) > 1:
            mean = sum(cpu_values) / len(cpu_values)
            std = math.sqrt(sum((v - mean) ** 2 for v in cpu_values) / (len(cpu_values) - 1))
        lateness = {k: f for k, v in (t.get("lateness_us") or {}).items() if (f := _finite(v)) is not None}
        points.append(TimedPoint(
            scheduler=str(run["scheduler"]), time_scale=scale, early=run["status"] in FLAGGED_STATUSES,
            early_wakes=int(t.get("early_wakes") or 0), worst_early_us=_finite(t.get("worst_early_us")) or 0.0,
            lateness_us=lateness, hist=t.get("lateness_hist"),
            cpu_per_wake_us=_finite(t.get("cpu_per_wake_us")), cpu_per_wake_std_us=std,
            wasted_per_wake=_finite(t.get("wasted_per_wake")), makespan_x_ideal=_finite(t.get("makespan_x_ideal")),
        ))
    scales = sorted({p.time_scale for p in points} | {e.time_scale for e in out if e.time_scale is not None},
                    reverse=True)
    return TimedData(scales, points, out)


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


def cdf(hist: dict[str, Any] | None) -> Cdf | None:
    """The CDF of a lateness histogram, trimmed to the bins that hold wakes."""
    if not hist:
        return None
    counts = [int(c) for c in hist.get("counts") or ()]
    edges = [float(e) for e in hist.get("edges_s") or ()]
    early, zero = int(hist.get("early") or 0), int(hist.get("zero") or 0)
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


def scaling_data(doc: dict[str, Any]) -> ScalingData | None:
    """The scaling section as curves, or None when the file has none (it is optional).

    Points with status ``ok`` are values. A ``stopped`` point (time budget exceeded)
    ends its curve: the chart marks the last plotted point. ``failed``/``skipped``
    points and anything else become notes. Points of schedulers that are INVALID in this
    file's runs are still plotted: the scaling job validates its own runs and reports
    them through its own status.
    """
    scaling = section(doc).get("scaling")
    if not isinstance(scaling, dict):
        return None
    points = [p for p in scaling.get("points") or () if isinstance(p, dict) and p.get("scheduler") is not None]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in points:
        groups.setdefault((str(p["scheduler"]), str(p.get("mode") or "?")), []).append(p)
    series, notes = [], []
    for (name, mode), group in groups.items():
        group.sort(key=lambda p: p.get("rockets") or 0)
        ok = [p for p in group if p.get("status") == "ok" and isinstance(p.get("rockets"), int)]
        stopped = next((p for p in group if p.get("status") == "stopped"), None)
        for p in group:
            if p.get("status") not in ("ok", "stopped") or (p is stopped and not ok):
                notes.append(ScalingNote(name, mode, p.get("rockets"), str(p.get("status")), p.get("reason")))
        if not ok:
            continue
        series.append(ScalingSeries(
            name, mode, [int(p["rockets"]) for p in ok],
            [_positive(p.get("ns_per_resume")) for p in ok],
            [_positive(p.get("tracemalloc_bytes_per_rocket")) for p in ok],
            None if stopped is None else stopped.get("rockets"),
            None if stopped is None else stopped.get("reason"),
        ))
    sizes = sorted(int(s) for s in scaling.get("sizes") or () if isinstance(s, int))
    return ScalingData(sizes, _finite(scaling.get("budget_s")), series, notes)


def _positive(value: Any) -> float | None:
    """A value a log axis can show; anything else is left out of the curve."""
    f = _finite(value)
    return f if f is not None and f > 0 else None


# ---- history -----------------------------------------------------------------------

@dataclass(frozen=True)
class TrendData:
    labels: list[str]  # one per results file, oldest first: "date\ncommit"
    switch_ns: dict[str, list[float | None]]  # scheduler → value per file (None: not charted)
    p99_us: dict[tuple[str, float], list[float | None]]  # (scheduler, scale) → value per file

    @property
    def schedulers(self) -> list[str]:
        return list(dict.fromkeys([*self.switch_ns, *(name for name, _ in self.p99_us)]))


def order_by_date(docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(docs, key=lambda d: str(section(d).get("created_utc") or ""))


def trend_label(doc: dict[str, Any]) -> str:
    sb = section(doc)
    date = str(sb.get("created_utc") or "?")[:10]
    commit = str(sb["environment"].get("commit") or "?")[:7]
    return f"{date}\n{commit}{'+' if sb['environment'].get('dirty') else ''}"


def trend_data(docs: Sequence[dict[str, Any]]) -> TrendData:
    """Switch cost and timed p99 per scheduler across files (give them oldest first)."""
    switch: dict[str, list[float | None]] = {}
    p99: dict[tuple[str, float], list[float | None]] = {}
    for i, doc in enumerate(docs):
        for bar in switch_data(doc).bars:
            switch.setdefault(bar.scheduler, [None] * len(docs))[i] = bar.mean_ns
        for point in timed_data(doc).points:
            value = point.lateness_us.get("p99")
            if value is not None:
                p99.setdefault((point.scheduler, point.time_scale), [None] * len(docs))[i] = value
    return TrendData([trend_label(d) for d in docs], switch, dict(sorted(p99.items(), key=lambda kv: -kv[0][1])))
