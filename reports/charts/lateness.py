"""Timer lateness of timed mode: by percentile at each time scale, and against load.

Two charts from the same points, kept in one module because they share the lateness
rules: µs on a log axis (lateness spans decades between a tight loop and a sleeping
one), exact-on-time wakes named in a note because a log axis cannot show 0, and EARLY
runs drawn hollow or ringed. The percentile chart puts percentiles on a "nines" axis so
the tail is as wide as the median; the load chart joins each scheduler's points across
time scales, so it needs two scales at least.

Thirteen schedulers in one panel cannot be told apart, whatever the palette, so both charts
are small multiples: one row of panels per family (production loops, this project,
third-party, teaching; a family of more than ``MAX_LINES_PER_PANEL`` is split), each row
drawing its own schedulers in colour over every other scheduler's line in light grey. The
grey context keeps the comparison across families (is the hybrid near the real loops?) at
the price of taller charts and a legend per row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from bench.present import units
from reports.charts.style import (
    CONTEXT_COLOUR,
    EARLY_LINESTYLE,
    MAX_LINES_PER_PANEL,
    ChartFile,
    Drawn,
    chunks,
    figure,
    footnote,
    geomean,
    grid,
    line_kwargs,
    not_charted,
    scale_label,
    scheduler_handles,
    suptitle,
    write,
)
from reports.charts.ticks import log_axis, log_limits
from reports.data import (
    NINES_TICKS,
    PercentileCurve,
    TimedData,
    TimedPoint,
    TimerFloorLine,
    nines,
    percentile_curve,
)
from reports.palette import GROUP_TITLES, NEUTRAL, Palette

LATENESS_PERCENTILES = "lateness_percentiles.png"
LATENESS_VS_LOAD = "lateness_vs_load.png"


# ---- by percentile --------------------------------------------------------------------

#: Exact percentiles of the results file, drawn as markers on the histogram curve.
MARKED_PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99_9", 0.999))


def _nines_axis(ax: Axes, high: float) -> None:
    ticks = [(nines(f), label) for f, label in NINES_TICKS if nines(f) <= high + 1e-9]
    ax.set_xlim(0, high)
    ax.xaxis.set_major_locator(FixedLocator([x for x, _ in ticks]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, pos: next((lbl for x, lbl in ticks if math.isclose(x, v)),
                                                                   "")))
    ax.xaxis.set_minor_locator(NullLocator())


@dataclass(frozen=True)
class Row:
    """One row of small multiples: a family (or a part of one) drawn in colour."""

    title: str
    names: list[str]


def family_rows(palette: Palette, names: list[str], figure: Callable[[str], float | None]) -> list[Row]:
    """Rows in the one chart order, at most ``MAX_LINES_PER_PANEL`` names per row."""
    rows = []
    for group, members in palette.groups(names, figure):
        parts = chunks(members, MAX_LINES_PER_PANEL)
        for i, part in enumerate(parts):
            rows.append(Row(GROUP_TITLES[group] + (f" ({i + 1}/{len(parts)})" if len(parts) > 1 else ""), part))
    return rows


def typical_p99(data: TimedData, name: str) -> float | None:
    """The figure lateness charts order by: the geometric mean of a scheduler's p99 over the
    time scales (each scale weighs the same, whatever its magnitude)."""
    return geomean([p.lateness_us["p99"] for p in data.of(name)])


def row_legend(ax: Axes, handles: list[Any], title: str) -> None:
    """A row's legend right of its last panel: the constrained layout keeps axes legends
    clear of titles and neighbours (a figure legend in the top corner ran under the title)."""
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8, borderaxespad=0,
              title=title, title_fontproperties={"weight": "bold", "size": 8.5}, alignment="left")


def _floor_line(ax: Axes, floor: TimerFloorLine | None) -> None:
    if floor is not None and floor.wakes > 1:
        xs = [nines(f) for _, f in MARKED_PERCENTILES] + [math.log10(floor.wakes)]
        ys = [floor.lateness_us[k] for k, _ in MARKED_PERCENTILES] + [floor.lateness_us["max"]]
        shown = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
        ax.plot([x for x, _ in shown], [y for _, y in shown], color=NEUTRAL, linewidth=1.2, linestyle=":",
                marker=".", markersize=6, zorder=2)


def _curve(ax: Axes, point: TimedPoint, curve: PercentileCurve, palette: Palette, highlighted: bool) -> None:
    """A scheduler's percentile curve: in colour with its exact percentiles when its row is
    the one highlighted, else a thin light-grey line under the others (context)."""
    if not highlighted:
        ax.plot(curve.x, curve.lateness_us, drawstyle="steps-pre", color=CONTEXT_COLOUR, linewidth=1, zorder=1)
        return
    style = palette[point.scheduler]
    ax.plot(curve.x, curve.lateness_us, drawstyle="steps-pre", linestyle=EARLY_LINESTYLE if point.early else "-",
            zorder=3, **line_kwargs(style, 1.8, marker=False))
    marks = [(nines(f), v) for k, f in MARKED_PERCENTILES if (v := point.lateness_us.get(k)) is not None and v > 0]
    ax.plot([x for x, _ in marks], [v for _, v in marks], linestyle="none", zorder=4,
            markerfacecolor="white" if point.early else style.colour, **line_kwargs(style, 1.5))


def _percentile_notes(data: TimedData, curves: dict[tuple[str, float], PercentileCurve]) -> list[str]:
    """Per scheduler: the share of wakes a log axis cannot show, and early wakes."""
    below: dict[str, list[str]] = {}  # scheduler → "share @ scale" of wakes a log axis cannot show
    for (name, scale), known in curves.items():
        if known.at_or_below_zero > 0:
            below.setdefault(name, []).append(f"{units.percent(known.at_or_below_zero, 1)} @ {units.scale(scale)}")
    notes = []
    for name in dict.fromkeys(name for name, _ in curves):
        early = [p for p in data.of(name) if p.early_wakes]
        parts = []
        if name in below:
            parts.append(f"on time or early (under the log axis): {', '.join(below[name])}")
        if early:
            parts.append("early wakes " + ", ".join(
                f"{units.count(p.early_wakes)} @ {units.scale(p.time_scale)} "
                f"(worst {units.with_unit(p.worst_early_us, 'µs')})" for p in early))
        if parts:
            notes.append(f"{name}: " + "; ".join(parts) + ".")
    no_hist = [f"{p.scheduler} @ {units.scale(p.time_scale)}" for p in data.points
               if (p.scheduler, p.time_scale) not in curves]
    if no_hist:
        notes.insert(0, f"No lateness histogram (or no late wake) in the file: {', '.join(no_hist)}.")
    return notes


def _percentile_key(data: TimedData) -> list[Any]:
    """What lines, markers and greys mean: the legend of the row with fewest schedulers."""
    handles: list[Any] = [
        Line2D([], [], color="#444444", linewidth=1.5, label="line: from the histogram\n(upper bin edges)"),
        Line2D([], [], color="#444444", marker="o", linestyle="none", label="markers: exact p50,\np90, p99, p99.9"),
        Line2D([], [], color=CONTEXT_COLOUR, linewidth=2, label="light grey: the other\nrows' schedulers"),
    ]
    if data.timer_floors:
        handles.append(Line2D([], [], color=NEUTRAL, linestyle=":", marker=".",
                              label="timer floor: a plain thread\nsleeping the same gaps"))
    if any(p.early for p in data.points):
        handles.append(Line2D([], [], color="#444444", linestyle=EARLY_LINESTYLE, marker="o",
                              markerfacecolor="white", label="dashed, hollow: EARLY run"))
    return handles


def _scheduler_entries(data: TimedData, names: list[str], palette: Palette) -> list[Any]:
    handles = scheduler_handles(names, palette, bars=False)
    for handle, name in zip(handles, names, strict=True):
        early = [units.scale(p.time_scale) for p in data.of(name) if p.early_wakes]
        if early:
            handle.set_label(f"{handle.get_label()}: early wakes\nat {', '.join(early)}")
    return handles


def _percentile_alt(data: TimedData, rows: list[Row], curves: dict[tuple[str, float], PercentileCurve]) -> str:
    def late(point: TimedPoint, key: str) -> str:
        return units.with_unit(point.lateness_us[key], "µs")

    return ("Percentile plots of timer lateness in µs (log y) against percentile on a nines axis (50 %, 90 %, 99 %, "
            "99.9 %), one panel per time scale and family: " + "; ".join(
                f"{p.scheduler} at {units.scale(p.time_scale)}: p50 {late(p, 'p50')}, p99 {late(p, 'p99')}, "
                f"p99.9 {late(p, 'p99_9')}, max {late(p, 'max')}" + (" (EARLY)" if p.early else "")
                for row in rows for n in row.names for p in data.of(n) if (n, p.time_scale) in curves) + ".")


def draw_lateness_percentiles(data: TimedData, palette: Palette) -> Drawn | None:
    """Per time scale (columns) and family (rows), lateness (log µs) against percentile on a
    "nines" axis, in the style of HdrHistogram's percentile plots: 50 %, 90 %, 99 %, 99.9 % …
    get equal widths, so the tail is as visible as the median. Curves come from each run's
    lateness histogram; markers are the file's exact p50/p90/p99/p99.9."""
    curves = {(p.scheduler, p.time_scale): c for p in data.points
              if (c := percentile_curve(p.hist)) is not None and c.fraction}
    scales = [s for s in data.scales if any((p.scheduler, s) in curves for p in data.at(s))]
    if not scales:
        return None
    rows = family_rows(palette, list(dict.fromkeys(name for name, _ in curves)), lambda n: typical_p99(data, n))
    fig = figure(320 + 400 * len(scales), 150 + 300 * len(rows))
    axes_grid = fig.subplots(len(rows), len(scales), squeeze=False, sharex=True, sharey=True)
    values = [v for c in curves.values() for v in c.lateness_us]
    values += [v for p in data.points for k, _ in MARKED_PERCENTILES if (v := p.lateness_us.get(k)) is not None]
    floors = {s: f for s, f in data.timer_floors.items() if s in scales}
    values += [v for f in floors.values() for v in f.lateness_us.values()]
    low, high = log_limits(values)
    right = max([c.max_nines for c in curves.values()] + [math.log10(f.wakes) for f in floors.values() if f.wakes > 1])
    for row, axes in zip(rows, axes_grid, strict=True):
        for ax, scale in zip(axes, scales, strict=True):
            _floor_line(ax, floors.get(scale))
            for point in data.at(scale):
                if (curve := curves.get((point.scheduler, scale))) is not None:
                    _curve(ax, point, curve, palette, point.scheduler in row.names)
            grid(ax)
        axes[0].set_ylabel(f"{row.title}\nlateness (µs, log)")
        row_legend(axes[-1], _scheduler_entries(data, row.names, palette)
                   + (_percentile_key(data) if row is min(rows, key=lambda r: len(r.names)) else []), row.title)
    for ax, scale in zip(axes_grid[0], scales, strict=True):
        wakes = max(curves[(p.scheduler, scale)].total for p in data.at(scale) if (p.scheduler, scale) in curves)
        ax.set_title(f"time scale {scale_label(scale)} · {units.count(wakes)} wakes", fontsize=10.5)
    for ax in axes_grid[-1]:
        ax.set_xlabel("percentile of wakes (%)")
    first = axes_grid[0][0]
    _nines_axis(first, right * 1.02)
    first.set_yscale("log")
    first.set_ylim(low, high)
    log_axis(first.yaxis, low, high)
    suptitle(fig, "Timer lateness by percentile (timed mode), one row per family; one more nine per tick, "
                  "so the tail is as wide as the median")
    footnote(fig, [*not_charted(data.excluded), *_percentile_notes(data, curves)])
    return Drawn(fig, "Timer lateness by percentile", _percentile_alt(data, rows, curves))


def lateness_percentiles(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_lateness_percentiles(data, palette), path)


# ---- against load ---------------------------------------------------------------------

def _load_line(ax: Axes, data: TimedData, name: str, key: str, palette: Palette, highlighted: bool) -> list[float]:
    """One scheduler's ``key`` lateness across time scales (grey context when not
    highlighted); returns the values drawn. A log axis cannot show 0 µs (the virtual
    clock's exact wakes): those points are left out, and the footnote says so."""
    points = data.of(name)
    ys = [v if (v := p.lateness_us[key]) > 0 else math.nan for p in points]
    xs = [p.time_scale for p in points]
    if not highlighted:
        ax.plot(xs, ys, color=CONTEXT_COLOUR, linewidth=1, zorder=1)
        return [v for v in ys if not math.isnan(v)]
    ax.plot(xs, ys, zorder=3, **line_kwargs(palette[name]))
    early = [p for p in points if p.early and p.lateness_us[key] > 0]
    if early:
        ax.plot([p.time_scale for p in early], [p.lateness_us[key] for p in early], linestyle="none",
                marker="o", markersize=16, markerfacecolor="none", markeredgecolor="#000000",
                markeredgewidth=1.4, zorder=4)
    return [v for v in ys if not math.isnan(v)]


def _load_axes(first: Axes, scales: list[float], values: list[float]) -> None:
    """Shared axes: time scales on a log x-axis, heavier load (shorter ticks) to the right."""
    first.set_xscale("log")
    first.set_yscale("log")
    first.xaxis.set_major_locator(FixedLocator(scales))
    first.xaxis.set_major_formatter(FuncFormatter(lambda v, _: units.scale(v)))
    first.xaxis.set_minor_locator(NullLocator())
    first.set_xlim(scales[-1] * 1.25, scales[0] / 1.25)
    low, high = log_limits(values)
    first.set_ylim(low, high)
    log_axis(first.yaxis, low, high)


def draw_lateness_vs_load(data: TimedData, palette: Palette) -> Drawn | None:
    """p50 and p99 lateness against time scale: one column per percentile, one row per
    family (see the module docstring), on one shared log y-axis. Needs two time scales at
    least: with one, every line would be a dot."""
    names = [n for n in dict.fromkeys(p.scheduler for p in data.points)
             if len([p for p in data.of(n) if p.lateness_us["p50"] > 0 or p.lateness_us["p99"] > 0]) > 1]
    if not names:
        return None
    rows = family_rows(palette, names, lambda n: typical_p99(data, n))
    percentiles = (("p50", "p50 (median)"), ("p99", "p99"))
    fig = figure(1200, 150 + 300 * len(rows))
    axes_grid = fig.subplots(len(rows), len(percentiles), squeeze=False, sharex=True, sharey=True)
    values: list[float] = []
    for row, axes in zip(rows, axes_grid, strict=True):
        for ax, (key, _title) in zip(axes, percentiles, strict=True):
            for name in names:
                values += _load_line(ax, data, name, key, palette, name in row.names)
            grid(ax)
        axes[0].set_ylabel(f"{row.title}\nlateness (µs, log)")
        key_handles: list[Any] = [Line2D([], [], color=CONTEXT_COLOUR, linewidth=2,
                                         label="light grey: the other\nrows' schedulers")]
        if any(p.early for p in data.points if p.scheduler in names):
            key_handles.append(Line2D([], [], marker="o", markersize=14, markerfacecolor="none",
                                      markeredgecolor="#000000", linestyle="none", label="ringed: EARLY run"))
        row_legend(axes[-1], scheduler_handles(row.names, palette, bars=False)
                   + (key_handles if row is min(rows, key=lambda r: len(r.names)) else []), row.title)
    for ax, (_key, title) in zip(axes_grid[0], percentiles, strict=True):
        ax.set_title(title, fontsize=10.5)
    for ax in axes_grid[-1]:
        ax.set_xlabel("time scale (s per tick; heavier load →)")
    _load_axes(axes_grid[0][0], sorted({p.time_scale for p in data.points if p.scheduler in names}), values)
    suptitle(fig, "Timer lateness against load: p50 and p99 per time scale (log–log), one row per family")
    hidden = sum(1 for n in names for p in data.of(n) for k, _ in percentiles if p.lateness_us[k] <= 0)
    zero_note = f"{hidden} value(s) of 0 µs (exactly on time) cannot be shown on a log axis."
    footnote(fig, [*not_charted(data.excluded), *([zero_note] if hidden else [])])
    alt = "Log–log line charts of p50 and p99 timer lateness in µs against time scale, by family: " + "; ".join(
        f"{name}: " + ", ".join(f"{units.scale(p.time_scale)} → p50 {units.with_unit(p.lateness_us['p50'], 'µs')}, "
                                f"p99 {units.with_unit(p.lateness_us['p99'], 'µs')}" for p in data.of(name))
        for row in rows for name in row.names) + "."
    return Drawn(fig, "Lateness against load", alt)


def lateness_vs_load(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_lateness_vs_load(data, palette), path)


