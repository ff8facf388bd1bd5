"""Timer lateness of timed mode: by percentile at each time scale, and against load.

Two charts from the same points, kept in one module because they share the lateness
rules: µs on a log axis (lateness spans decades between a tight loop and a sleeping
one), exact-on-time wakes named in a note because a log axis cannot show 0, and EARLY
runs drawn hollow or ringed. The percentile chart puts percentiles on a "nines" axis so
the tail is as wide as the median; the load chart joins each scheduler's points across
time scales, so it needs two scales at least.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from bench.present import units
from reports.charts.style import (
    EARLY_LINESTYLE,
    MAX_LINES_PER_PANEL,
    ChartFile,
    Drawn,
    chunks,
    figure,
    footnote,
    grid,
    grid_shape,
    line_kwargs,
    not_charted,
    panels,
    scale_label,
    scheduler_handles,
    suptitle,
    write,
)
from reports.charts.ticks import log_axis, log_limits
from reports.data import NINES_TICKS, TimedData, nines, percentile_curve
from reports.palette import NEUTRAL, Palette

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


def draw_lateness_percentiles(data: TimedData, palette: Palette) -> Drawn | None:
    """Per time scale, lateness (log µs) against percentile on a "nines" axis, in the style
    of HdrHistogram's percentile plots: 50 %, 90 %, 99 %, 99.9 % … get equal widths, so the
    tail is as visible as the median. Curves come from each run's lateness histogram;
    markers are the file's exact p50/p90/p99/p99.9."""
    curves = {(p.scheduler, p.time_scale): c for p in data.points
              if (c := percentile_curve(p.hist)) is not None and c.fraction}
    scales = [s for s in data.scales if any((p.scheduler, s) in curves for p in data.at(s))]
    if not scales:
        return None
    rows, columns = grid_shape(len(scales))
    names = list(dict.fromkeys(name for name, _ in curves))
    fig = figure(320 + 430 * columns, 150 + 390 * rows)
    axes = panels(fig, len(scales), sharex=True, sharey=True)
    values = [v for c in curves.values() for v in c.lateness_us]
    values += [v for p in data.points for k, _ in MARKED_PERCENTILES if (v := p.lateness_us.get(k)) is not None]
    floors = {s: f for s, f in data.timer_floors.items() if s in scales}
    values += [v for f in floors.values() for v in f.lateness_us.values()]
    low, high = log_limits(values)
    alt_parts, notes = [], []
    below: dict[str, list[str]] = {}  # scheduler → "share @ scale" of wakes a log axis cannot show
    for (name, scale), known in curves.items():
        if known.at_or_below_zero > 0:
            below.setdefault(name, []).append(f"{units.percent(known.at_or_below_zero, 1)} @ {units.scale(scale)}")
    right = max([c.max_nines for c in curves.values()]
                + [math.log10(f.wakes) for f in floors.values() if f.wakes > 1])
    for ax, scale in zip(axes, scales, strict=True):
        floor = floors.get(scale)
        if floor is not None and floor.wakes > 1:
            xs = [nines(f) for _, f in MARKED_PERCENTILES] + [math.log10(floor.wakes)]
            ys = [floor.lateness_us[k] for k, _ in MARKED_PERCENTILES] + [floor.lateness_us["max"]]
            shown = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
            ax.plot([x for x, _ in shown], [y for _, y in shown], color=NEUTRAL, linewidth=1.2, linestyle=":",
                    marker=".", markersize=6, zorder=2)
        for point in data.at(scale):
            curve = curves.get((point.scheduler, scale))
            if curve is None:
                continue
            style = palette[point.scheduler]
            ax.plot(curve.x, curve.lateness_us, drawstyle="steps-pre",
                    linestyle=EARLY_LINESTYLE if point.early else "-", zorder=3,
                    **line_kwargs(style, 1.8, marker=False))
            marks = [(nines(f), v) for k, f in MARKED_PERCENTILES
                     if (v := point.lateness_us.get(k)) is not None and v > 0]
            ax.plot([x for x, _ in marks], [v for _, v in marks], linestyle="none", zorder=4,
                    markerfacecolor="white" if point.early else style.colour, **line_kwargs(style, 1.5))
            late = {k: units.with_unit(v, "µs") for k, v in point.lateness_us.items()}
            alt_parts.append(f"{point.scheduler} at {units.scale(scale)}: p50 {late['p50']}, p99 {late['p99']}, "
                             f"p99.9 {late['p99_9']}, max {late['max']}" + (" (EARLY)" if point.early else ""))
        _nines_axis(ax, right * 1.02)
        ax.set_yscale("log")
        ax.set_ylim(low, high)
        log_axis(ax.yaxis, low, high)
        wakes = max(curves[(p.scheduler, scale)].total for p in data.at(scale) if (p.scheduler, scale) in curves)
        ax.set_title(f"time scale {scale_label(scale)} · {units.count(wakes)} wakes", fontsize=10.5)
        ax.set_xlabel("percentile of wakes (%; one more nine per tick)")
        ax.tick_params(labelbottom=True)
        ax.tick_params(labelleft=True)
        grid(ax)
    axes[0].set_ylabel("lateness = wake − deadline (µs, log scale)")
    handles = scheduler_handles(names, palette, bars=False)
    for handle, name in zip(handles, names, strict=True):
        early = [p for p in data.of(name) if p.early_wakes]
        if early:
            at = ", ".join(units.scale(p.time_scale) for p in early)
            handle.set_label(f"{handle.get_label()}: early wakes\nat {at}")
        if name in below or early:
            note = f"{name}: "
            if name in below:
                note += f"on time or early (under the log axis): {', '.join(below[name])}"
            if early:
                note += ("; " if name in below else "") + "early wakes " + ", ".join(
                    f"{units.count(p.early_wakes)} @ {units.scale(p.time_scale)} "
                    f"(worst {units.with_unit(p.worst_early_us, 'µs')})" for p in early)
            notes.append(note + ".")
    handles.append(Line2D([], [], color="#444444", linewidth=1.5,
                          label="line: from the histogram\n(upper bin edges)"))
    handles.append(Line2D([], [], color="#444444", marker="o", linestyle="none",
                          label="markers: exact p50,\np90, p99, p99.9"))
    if floors:
        handles.append(Line2D([], [], color=NEUTRAL, linestyle=":", marker=".",
                              label="timer floor: a plain thread\nsleeping the same gaps"))
    if any(p.early for p in data.points):
        handles.append(Line2D([], [], color="#444444", linestyle=EARLY_LINESTYLE, marker="o",
                              markerfacecolor="white", label="dashed, hollow: EARLY run"))
    fig.legend(handles=handles, loc="outside right upper", fontsize=8.5)
    suptitle(fig, "Timer lateness by percentile (timed mode): the tail on the right, as wide as the median")
    no_hist = [f"{p.scheduler} @ {units.scale(p.time_scale)}" for p in data.points
               if (p.scheduler, p.time_scale) not in curves]
    no_hist_note = f"No lateness histogram (or no late wake) in the file: {', '.join(no_hist)}."
    footnote(fig, [*not_charted(data.excluded), *([no_hist_note] if no_hist else []),
                   *notes[:6], *([f"… and {len(notes) - 6} more notes in the report"] if len(notes) > 6 else [])])
    alt = ("Percentile plots of timer lateness in µs (log y) against percentile on a nines axis (50 %, 90 %, 99 %, "
           "99.9 %), one panel per time scale: " + "; ".join(alt_parts) + ".")
    return Drawn(fig, "Timer lateness by percentile", alt)


def lateness_percentiles(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_lateness_percentiles(data, palette), path)


# ---- against load ---------------------------------------------------------------------

def draw_lateness_vs_load(data: TimedData, palette: Palette) -> Drawn | None:
    """p50 and p99 lateness against time scale: one panel per percentile (and per group of
    at most ``MAX_LINES_PER_PANEL`` schedulers), on one shared log y-axis. Needs two time
    scales at least: with one, every line would be a dot."""
    names = [n for n in dict.fromkeys(p.scheduler for p in data.points)
             if len([p for p in data.of(n) if p.lateness_us["p50"] > 0 or p.lateness_us["p99"] > 0]) > 1]
    if not names:
        return None
    groups = chunks(names, MAX_LINES_PER_PANEL)
    percentiles = (("p50", "p50 (median)"), ("p99", "p99"))
    fig = figure(1200, 140 + 420 * len(groups))
    axes_grid = fig.subplots(len(groups), len(percentiles), squeeze=False, sharex=True, sharey=True)
    scales = sorted({p.time_scale for p in data.points if p.scheduler in names})
    values: list[float] = []
    alt_parts = []
    hidden = 0
    for row, group in zip(axes_grid, groups, strict=True):
        for ax, (key, title) in zip(row, percentiles, strict=True):
            for name in group:
                style = palette[name]
                points = data.of(name)
                # A log axis cannot show 0 µs (the virtual clock's exact wakes): left out, and said so.
                ys = [v if (v := p.lateness_us[key]) > 0 else math.nan for p in points]
                hidden += sum(math.isnan(v) for v in ys)
                ax.plot([p.time_scale for p in points], ys, **line_kwargs(style))
                early = [p for p in points if p.early and p.lateness_us[key] > 0]
                if early:
                    ax.plot([p.time_scale for p in early], [p.lateness_us[key] for p in early], linestyle="none",
                            marker="o", markersize=16, markerfacecolor="none", markeredgecolor="#000000",
                            markeredgewidth=1.4, zorder=4)
                values += [v for v in ys if not math.isnan(v)]
            ax.set_title(f"{title}{f' ({groups.index(group) + 1}/{len(groups)})' if len(groups) > 1 else ''}",
                         fontsize=10.5)
            if ax is row[-1]:
                ax.legend(handles=scheduler_handles(group, palette, bars=False), fontsize=8, loc="upper left",
                          bbox_to_anchor=(1.01, 1), borderaxespad=0)
            grid(ax)
    for name in names:
        alt_parts.append(f"{name}: " + ", ".join(
            f"{units.scale(p.time_scale)} → p50 {units.with_unit(p.lateness_us['p50'], 'µs')}, "
            f"p99 {units.with_unit(p.lateness_us['p99'], 'µs')}"
            for p in data.of(name)))
    first = axes_grid[0][0]
    first.set_xscale("log")
    first.set_yscale("log")
    first.xaxis.set_major_locator(FixedLocator(scales))
    first.xaxis.set_major_formatter(FuncFormatter(lambda v, _: units.scale(v)))
    first.xaxis.set_minor_locator(NullLocator())
    first.set_xlim(scales[-1] * 1.25, scales[0] / 1.25)  # shorter ticks = heavier load, to the right
    low, high = log_limits(values)
    first.set_ylim(low, high)
    log_axis(first.yaxis, low, high)
    for ax in axes_grid[-1]:
        ax.set_xlabel("time scale (s per tick; heavier load →)")
    for row in axes_grid:
        row[0].set_ylabel("lateness after deadline (µs, log)")
        for ax in row:
            ax.tick_params(labelleft=True)
    handles: list[Any] = []
    if any(p.early for p in data.points if p.scheduler in names):
        handles.append(Line2D([], [], marker="o", markersize=14, markerfacecolor="none", markeredgecolor="#000000",
                              linestyle="none", label="ringed: EARLY run (some wakes before their deadline)"))
        fig.legend(handles=handles, loc="outside lower right", fontsize=8.5)
    suptitle(fig, "Timer lateness against load: p50 and p99 per time scale (log–log)")
    zero_note = f"{hidden} value(s) of 0 µs (exactly on time) cannot be shown on a log axis."
    footnote(fig, [*not_charted(data.excluded), *([zero_note] if hidden else [])])
    alt = "Log–log line charts of p50 and p99 timer lateness in µs against time scale: " + "; ".join(alt_parts) + "."
    return Drawn(fig, "Lateness against load", alt)


def lateness_vs_load(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_lateness_vs_load(data, palette), path)


