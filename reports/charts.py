"""The PNG charts. Each function takes selected data (``reports.data``), a palette and a path,
writes one PNG, and returns a ``ChartFile`` describing it, or None when there is nothing
to chart.

Drawing goes through ``matplotlib.figure.Figure`` objects, never pyplot's global figure
registry: a report builds a handful of figures in a row, and explicit figures cannot leak
or draw into each other. The Agg backend is selected before anything could import pyplot,
so building a report never needs a display.

Every chart is drawn at a fixed pixel size (``width_px`` × ``height_px`` at ``DPI``) and
saved without ``bbox_inches="tight"``, which would crop to a size nobody asked for; the
layout engine ("constrained") fits labels inside the requested canvas instead. Sizes grow
with the number of bars or panels so labels stay legible.

Design choices shared by all charts:

- one colour and one marker per scheduler (``reports.palette``), light colours outlined;
- EARLY runs (valid trace, some early wakes) are drawn hatched or dashed and say so in
  their label; runs that are not charted are named in a note on the chart, with status;
- log scales where values span decades (switch cost, lateness, scaling), linear where a
  difference matters more than a ratio (CPU per wake, wasted resumes).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from reports.data import (
    Excluded,
    ScalingData,
    SwitchData,
    TimedData,
    TimedPoint,
    TrendData,
    cdf,
)
from reports.palette import NEUTRAL, OUTLINE, Palette, Style

DPI = 100
#: Height of one row of panels; widths are set per chart.
PANEL_HEIGHT_PX = 480
#: Hatch for EARLY bars; dashed lines play that role for curves.
EARLY_HATCH = "///"
EARLY_LINESTYLE = (0, (5, 2))
#: Longest note line drawn on a chart; the HTML page has the full reasons.
NOTE_CHARS = 110

SWITCH_COST = "switch_cost.png"
LATENESS_CDF = "lateness_cdf.png"
CPU_COST = "cpu_cost.png"
LATENESS_VS_LOAD = "lateness_vs_load.png"
SCALING = "scaling.png"
TRENDS = "trends.png"


@dataclass(frozen=True)
class ChartFile:
    name: str  # file name inside the report directory
    title: str
    alt: str  # text alternative: what the chart shows, with its key numbers
    width_px: int
    height_px: int


# ---- shared helpers ------------------------------------------------------------------

def _figure(width_px: int, height_px: int) -> Figure:
    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, layout="constrained")
    fig.set_facecolor("white")
    return fig


def _save(fig: Figure, path: Path, title: str, alt: str) -> ChartFile:
    """Write the PNG atomically (a reader never sees half a file) and describe it."""
    width, height = (round(v * DPI) for v in fig.get_size_inches())
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=DPI, format="png", facecolor="white")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return ChartFile(path.name, title, alt, width, height)


def _outline(style: Style, linewidth: float) -> dict[str, Any]:
    """Line keywords that keep light colours (Okabe–Ito yellow) visible on white."""
    if not style.light:
        return {}
    return {"path_effects": [patheffects.Stroke(linewidth=linewidth + 1.6, foreground=OUTLINE), patheffects.Normal()]}


def _line_kwargs(style: Style, linewidth: float = 1.8, marker: bool = True) -> dict[str, Any]:
    kw: dict[str, Any] = {"color": style.colour, "linewidth": linewidth, **_outline(style, linewidth)}
    if marker:
        kw.update(marker=style.marker, markersize=7, markeredgecolor=OUTLINE if style.light else style.colour)
    return kw


def _safe(text: str) -> str:
    """Text from the results file, made literal for matplotlib: ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def _footnote(fig: Figure, lines: Sequence[str]) -> None:
    """Notes under the whole figure (what is not charted and why).

    Drawn as the figure's ``supxlabel`` because the constrained layout makes room for it,
    unlike free ``fig.text``; no chart here uses a figure-level x label otherwise.
    """
    if lines:
        text = "\n".join(line if len(line) <= NOTE_CHARS else line[:NOTE_CHARS - 1] + "…" for line in lines)
        fig.supxlabel(_safe(text), x=0.01, ha="left", fontsize=8.5, color="#333333", linespacing=1.3)


def _not_charted(excluded: Sequence[Excluded]) -> list[str]:
    if not excluded:
        return []
    seen = dict.fromkeys(f"{e.scheduler} ({e.status.upper()})" for e in excluded)
    return [f"Not charted: {', '.join(seen)} — see the report for reasons."]


def _log_limits(values: Sequence[float], pad_low: float = 2.0, pad_high: float = 2.0) -> tuple[float, float]:
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if not positive:
        return 0.1, 10.0
    return min(positive) / pad_low, max(positive) * pad_high


def _scale_label(scale: float) -> str:
    return f"{scale:g} s/tick"


def _early_note(point: TimedPoint) -> str:
    return (f"EARLY @ {_scale_label(point.time_scale)}: {point.early_wakes:,} early wake(s), "
            f"worst {point.worst_early_us:,.0f} µs")


def _fmt_ns(ns: float) -> str:
    return f"{ns:,.0f} ns" if ns >= 10 else f"{ns:.1f} ns"


def _fmt_us(us: float) -> str:
    return f"{us:,.0f} µs" if us >= 10 else f"{us:.1f} µs"


def _plain(value: float, _pos: int | None = None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _plain_minor(value: float, _pos: int | None = None) -> str:
    mantissa = round(value / 10 ** math.floor(math.log10(value))) if value > 0 else 0
    return _plain(value) if mantissa in (2, 3, 5) else ""


def _log_axis(axis: Any, low: float | None = None, high: float | None = None) -> None:
    """Plain tick labels (100, 1,000) instead of powers of ten; when fewer than three
    powers of ten fall inside [low, high], label the 2×, 3× and 5× minor ticks too so the
    axis has enough labels to read a value from."""
    axis.set_major_formatter(FuncFormatter(_plain))
    if low is not None and high is not None and math.floor(math.log10(high)) - math.ceil(math.log10(low)) < 2:
        axis.set_minor_formatter(FuncFormatter(_plain_minor))
    else:
        axis.set_minor_formatter(FuncFormatter(lambda _v, _p: ""))


def _suptitle(fig: Figure, text: str) -> None:
    """Left-aligned, so it never runs under a legend placed outside on the right."""
    fig.suptitle(text, x=0.01, ha="left", fontsize=12)


def _grid(ax: Axes) -> None:
    ax.grid(True, which="major", color="#dddddd", linewidth=0.8)
    ax.grid(True, which="minor", color="#f0f0f0", linewidth=0.5)
    ax.set_axisbelow(True)


# ---- 1. switch cost ------------------------------------------------------------------

def switch_cost(data: SwitchData, palette: Palette, path: Path) -> ChartFile | None:
    """Bars of ns per resume (log y) with pyperf's std as error bars and the floor as a line."""
    bars = data.bars
    if not bars:
        return None
    fig = _figure(max(800, 130 * len(bars) + 260), 560)
    ax = fig.add_subplot()
    xs = list(range(len(bars)))
    means = [b.mean_ns for b in bars]
    # A log axis cannot show a bar reaching 0: the lower error bar stops at 5 % of the mean.
    lower = [min(b.std_ns, 0.95 * b.mean_ns) for b in bars]
    upper = [b.std_ns for b in bars]
    rects = ax.bar(xs, means, width=0.6, color=[palette.colour(b.scheduler) for b in bars],
                   edgecolor=OUTLINE, linewidth=0.8, yerr=[lower, upper], capsize=5,
                   error_kw={"ecolor": "#222222", "elinewidth": 1.2}, zorder=2)
    for rect, bar in zip(rects, bars, strict=True):
        if bar.early:
            rect.set_hatch(EARLY_HATCH)
    for x, bar, up in zip(xs, bars, upper, strict=True):
        text = _fmt_ns(bar.mean_ns)
        if bar.x_floor is not None:
            text += f"\n{bar.x_floor:,.1f}× floor"
        ax.annotate(text, (x, bar.mean_ns + up), xytext=(0, 4), textcoords="offset points",
                    ha="center", va="bottom", fontsize=9)
    handles: list[Any] = []
    if data.floor_ns:
        floor_text = f"floor: one gen.send(None) = {data.floor_ns:.1f}"
        if data.floor_std_ns is not None:
            floor_text += f" ± {data.floor_std_ns:.1f}"
        floor_text += " ns"
        handles.append(ax.axhline(data.floor_ns, color=NEUTRAL, linestyle="--", linewidth=1.5, label=floor_text,
                                  zorder=3))
    handles.append(Line2D([], [], color="#222222", marker="|", markersize=10, linestyle="none",
                          label="error bar: ± std of pyperf values"))
    if any(b.early for b in bars):
        handles.append(Patch(facecolor="white", edgecolor=OUTLINE, hatch=EARLY_HATCH,
                             label="EARLY: valid trace but some wakes before their deadline"))
    low, high = _log_limits([*[m - lo for m, lo in zip(means, lower, strict=True)],
                             *([data.floor_ns] if data.floor_ns else [])], 1.6, 1)
    high = max(m + u for m, u in zip(means, upper, strict=True)) * 6  # room for the labels
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    _log_axis(ax.yaxis, low, high)
    ax.set_xticks(xs, labels=[_safe(b.scheduler) + ("\n(EARLY)" if b.early else "") for b in bars])
    ax.set_xlim(-0.6, len(bars) - 0.4)
    ax.set_xlabel("scheduler (switch mode, cheapest first)")
    ax.set_ylabel("wall time per resume (ns, log scale)")
    ax.set_title("Switch cost: time per rocket resume, mean ± std")
    ax.legend(handles=handles, loc="upper left", fontsize=9, framealpha=0.95)
    _grid(ax)
    ax.grid(False, axis="x", which="both")
    _footnote(fig, _not_charted(data.excluded))
    alt = "Bar chart, log scale, of switch cost per resume in ns: " + "; ".join(
        f"{b.scheduler} {_fmt_ns(b.mean_ns)} ± {b.std_ns:,.0f}"
        + (f" ({b.x_floor:.1f}× floor)" if b.x_floor is not None else "") + (" EARLY" if b.early else "")
        for b in bars)
    if data.floor_ns:
        alt += f". Floor {data.floor_ns:.1f} ns."
    return _save(fig, path, "Switch cost per resume", alt)


# ---- 2. lateness CDF -------------------------------------------------------------------

def _panels(fig: Figure, n: int, max_columns: int = 3, **kw: Any) -> list[Axes]:
    columns = min(n, max_columns)
    rows = math.ceil(n / columns)
    grid = fig.subplots(rows, columns, squeeze=False, **kw)
    axes = [ax for row in grid for ax in row]
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def lateness_cdf(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    """Per time scale, the CDF of lateness (log x, µs) of every charted run.

    A log axis has no place for wakes at or before their deadline (exact with the virtual
    clock, or early). A CDF is flat between 0 and its first positive value, so each curve
    is drawn from the panel's left edge at that share, and a run with no late wake at all
    is a flat line at its share (normally 1).
    """
    curves = {(p.scheduler, p.time_scale): c for p in data.points if (c := cdf(p.hist)) is not None}
    scales = [s for s in data.scales if any((p.scheduler, s) in curves for p in data.at(s))]
    if not scales:
        return None
    columns = min(len(scales), 3)
    rows = math.ceil(len(scales) / columns)
    fig = _figure(520 * columns + 300, PANEL_HEIGHT_PX * rows + 80)
    axes = _panels(fig, len(scales), sharex=True, sharey=True)
    low, high = _log_limits([x for c in curves.values() for x in c.x_us], 1.5, 1.5)
    alt_parts = []
    for ax, scale in zip(axes, scales, strict=True):
        for point in data.at(scale):
            curve = curves.get((point.scheduler, scale))
            if curve is None:
                continue
            xs, ys = [low, *curve.x_us, *([] if curve.x_us else [high])], [curve.at_or_below_zero, *curve.y]
            if not curve.x_us:
                ys.append(curve.at_or_below_zero)
            ax.plot(xs, ys, linestyle=EARLY_LINESTYLE if point.early else "-",
                    **_line_kwargs(palette[point.scheduler], 2.0, marker=False))
            late = point.lateness_us
            if "p50" in late and "p99" in late:
                alt_parts.append(f"{point.scheduler} at {scale:g}: p50 {_fmt_us(late['p50'])}, "
                                 f"p99 {_fmt_us(late['p99'])}" + (" (EARLY)" if point.early else ""))
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            ax.axhline(q, color=NEUTRAL, linestyle=":", linewidth=1)
            ax.text(1.0, q, f" {label}", transform=ax.get_yaxis_transform(), va="center", fontsize=8,
                    color=NEUTRAL)
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        _log_axis(ax.xaxis, low, high)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"time scale {_scale_label(scale)}")
        ax.set_xlabel("lateness = wake − deadline (µs, log scale)")
        ax.set_ylabel("fraction of wakes ≤ lateness")
        ax.tick_params(labelleft=True, labelbottom=True)
        _grid(ax)
    names = list(dict.fromkeys(name for name, _ in curves))
    handles = _scheduler_handles(names, palette, False, bars=False, marker=False)
    for handle, name in zip(handles, names, strict=True):
        notes = [_early_note(p) for p in data.of(name) if p.early_wakes]
        if notes:
            handle.set_label("\n".join([handle.get_label(), *notes]))
    if any(p.early for p in data.points):
        handles.append(Line2D([], [], color="#444444", linestyle=EARLY_LINESTYLE,
                              label="dashed: EARLY run (valid trace,\nsome wakes before deadline)"))
    fig.legend(handles=handles, loc="outside right upper", fontsize=9, title="scheduler")
    _suptitle(fig, "Timer lateness CDF (timed mode): how late each wake was after its deadline")
    no_hist = [f"{p.scheduler} @ {p.time_scale:g}" for p in data.points if (p.scheduler, p.time_scale) not in curves]
    _footnote(fig, [*_not_charted(data.excluded),
                    *([f"No lateness histogram in the file: {', '.join(no_hist)}."] if no_hist else []),
                    "Wakes at or before their deadline (no place on a log axis) are the share each curve starts at."])
    alt = "Cumulative distribution of timer lateness in µs, log x-axis, one panel per time scale: " \
          + "; ".join(alt_parts) + "."
    return _save(fig, path, "Timer lateness CDF", alt)


# ---- 3. CPU cost ----------------------------------------------------------------------

def _grouped_bars(ax: Axes, data: TimedData, palette: Palette, value: str, error: str | None) -> None:
    """Bars grouped by time scale (x), one bar per scheduler (colour) inside each group."""
    names = list(dict.fromkeys(p.scheduler for p in data.points))
    width = 0.8 / max(len(names), 1)
    top = 0.0
    for g, scale in enumerate(data.scales):
        by_name = {p.scheduler: p for p in data.at(scale)}
        for i, name in enumerate(names):
            point = by_name.get(name)
            if point is None:
                continue
            x = g - 0.4 + width * (i + 0.5)
            v = getattr(point, value)
            if v is None:
                ax.text(x, 0, " n/a", ha="center", va="bottom", fontsize=8, rotation=90, color="#333333")
                continue
            err = getattr(point, error) if error else None
            ax.bar(x, v, width=width * 0.92, color=palette.colour(name), edgecolor=OUTLINE, linewidth=0.6,
                   hatch=EARLY_HATCH if point.early else None, zorder=2,
                   yerr=None if err is None else [[min(err, v)], [err]], capsize=3,
                   error_kw={"ecolor": "#222222", "elinewidth": 1})
            top = max(top, v + (err or 0))
            ax.annotate(f"{v:,.1f}" if v < 100 else f"{v:,.0f}", (x, v + (err or 0)), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_xticks(range(len(data.scales)), labels=[_scale_label(s) for s in data.scales])
    ax.set_xlim(-0.5, len(data.scales) - 0.5)
    ax.set_ylim(0, top * 1.25 if top > 0 else 1)
    ax.set_xlabel("time scale (larger = lighter load)")
    ax.grid(True, axis="y", color="#dddddd")
    ax.set_axisbelow(True)


def _scheduler_handles(names: Sequence[str], palette: Palette, early: bool, bars: bool,
                       marker: bool = True) -> list[Any]:
    handles: list[Any] = []
    for name in names:
        style = palette[name]
        if bars:
            handles.append(Patch(facecolor=style.colour, edgecolor=OUTLINE, label=_safe(name)))
        else:
            handles.append(Line2D([], [], label=_safe(name), **_line_kwargs(style, marker=marker)))
    if early:
        handles.append(Patch(facecolor="white", edgecolor=OUTLINE, hatch=EARLY_HATCH,
                             label="EARLY (some wakes before deadline)"))
    return handles


def cpu_cost(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    """CPU per useful wake and wasted resumes per wake, per scheduler, per time scale."""
    if not data.points:
        return None
    names = list(dict.fromkeys(p.scheduler for p in data.points))
    fig = _figure(max(1000, 2 * (90 + 34 * len(names) * len(data.scales)) + 200), 560)
    left, right = fig.subplots(1, 2)
    _grouped_bars(left, data, palette, "cpu_per_wake_us", "cpu_per_wake_std_us")
    left.set_ylabel("process CPU time per useful wake (µs)")
    left.set_title("CPU per useful wake (± std across processes)")
    _grouped_bars(right, data, palette, "wasted_per_wake", None)
    right.set_ylabel("wasted resumes per wake (polls that found the task not yet due)")
    right.set_title("Wasted resumes per wake")
    _footnote(fig, [*_not_charted(data.excluded),
                    *(["n/a: the scheduler does not count its wasted resumes."]
                      if any(p.wasted_per_wake is None for p in data.points) else [])])
    fig.legend(handles=_scheduler_handles(names, palette, any(p.early for p in data.points), bars=True),
               loc="outside right upper", fontsize=9, title="scheduler")
    _suptitle(fig, "CPU cost of timed mode, per time scale")
    alt = "Grouped bar charts per time scale of CPU µs per useful wake and wasted resumes per wake: " + "; ".join(
        f"{p.scheduler} at {p.time_scale:g}: "
        + ("n/a" if p.cpu_per_wake_us is None else f"{p.cpu_per_wake_us:.1f} µs CPU/wake")
        + ", " + ("wasted n/a" if p.wasted_per_wake is None else f"{p.wasted_per_wake:.1f} wasted/wake")
        for p in data.points) + "."
    return _save(fig, path, "CPU cost per wake", alt)


# ---- 4. lateness against load ------------------------------------------------------------

def lateness_vs_load(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    """p50 (solid) and p99 (dashed) lateness against time scale, one colour per scheduler."""
    names = list(dict.fromkeys(p.scheduler for p in data.points))
    if not names:
        return None
    fig = _figure(900, 600)
    ax = fig.add_subplot()
    values: list[float] = []
    alt_parts = []
    hidden = 0
    for name in names:
        style = palette[name]
        points = [p for p in data.of(name) if "p50" in p.lateness_us and "p99" in p.lateness_us]
        if not points:
            continue
        xs = [p.time_scale for p in points]
        # A log axis cannot show 0 µs (the virtual clock's exact wakes): such points are left out, and said so.
        p50 = [v if (v := p.lateness_us["p50"]) > 0 else math.nan for p in points]
        p99 = [v if (v := p.lateness_us["p99"]) > 0 else math.nan for p in points]
        hidden += sum(math.isnan(v) for v in p50 + p99)
        ax.plot(xs, p50, linestyle="-", **_line_kwargs(style))
        ax.plot(xs, p99, linestyle="--", markerfacecolor="white", **_line_kwargs(style))
        early = [p for p in points if p.early]
        if early:
            ax.scatter([p.time_scale for p in early], [p.lateness_us["p99"] for p in early], s=260,
                       facecolors="none", edgecolors="#000000", linewidths=1.5, zorder=4)
        values += [v for v in p50 + p99 if not math.isnan(v)]
        alt_parts.append(f"{name}: " + ", ".join(
            f"{p.time_scale:g} → p50 {_fmt_us(p.lateness_us['p50'])}, p99 {_fmt_us(p.lateness_us['p99'])}"
            for p in points))
    ax.set_xscale("log")
    ax.set_yscale("log")
    scales = sorted({p.time_scale for p in data.points})
    ax.xaxis.set_major_locator(FixedLocator(scales))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    if len(scales) == 1:
        ax.set_xlim(scales[0] / 2, scales[0] * 2)
    else:
        ax.set_xlim(scales[0] / 1.5, scales[-1] * 1.5)
    ax.invert_xaxis()  # shorter ticks = heavier load, to the right
    low, high = _log_limits(values, 2, 3)
    ax.set_ylim(low, high)
    _log_axis(ax.yaxis, low, high)
    ax.set_xlabel("time scale (s per tick, log scale; shorter ticks = heavier load →)")
    ax.set_ylabel("lateness after deadline (µs, log scale)")
    ax.set_title("Timer lateness against load: p50 (solid, filled) and p99 (dashed, hollow)")
    _grid(ax)
    first = ax.legend(handles=_scheduler_handles(names, palette, False, bars=False), loc="upper left",
                      fontsize=9, title="scheduler")
    ax.add_artist(first)
    kinds = [Line2D([], [], color="#444444", marker="o", linestyle="-", label="p50"),
             Line2D([], [], color="#444444", marker="o", markerfacecolor="white", linestyle="--", label="p99")]
    if any(p.early for p in data.points):
        kinds.append(Line2D([], [], marker="o", markersize=14, markerfacecolor="none", markeredgecolor="#000000",
                            linestyle="none", label="EARLY: some wakes before deadline"))
    ax.legend(handles=kinds, loc="upper right", fontsize=9, title="percentile")
    zero_note = f"{hidden} value(s) of 0 µs (exactly on time) cannot be shown on a log axis."
    _footnote(fig, [*_not_charted(data.excluded), *([zero_note] if hidden else [])])
    alt = "Log–log line chart of p50 and p99 timer lateness in µs against time scale: " + "; ".join(alt_parts) + "."
    return _save(fig, path, "Lateness against load", alt)


# ---- 5. scaling ------------------------------------------------------------------------

MODE_LINESTYLES = {"switch": "-", "virtual": "--"}


def scaling(data: ScalingData | None, palette: Palette, path: Path) -> ChartFile | None:
    """ns per resume and memory per rocket against N (log–log), one curve per (scheduler, mode)."""
    if data is None or not data.series:
        return None
    fig = _figure(1200, 600)
    left, right = fig.subplots(1, 2)
    panels = ((left, "ns_per_resume", "time per resume (ns, log scale)", "Switch cost as N grows"),
              (right, "bytes_per_rocket", "memory per rocket (bytes, tracemalloc, log scale)",
               "Memory per rocket as N grows"))
    stops: list[str] = []
    alt_parts = []
    for ax, attr, ylabel, title in panels:
        values: list[float] = []
        for s in data.series:
            style = palette[s.scheduler]
            pts = [(n, v) for n, v in zip(s.rockets, getattr(s, attr), strict=True) if v is not None]
            if not pts:
                continue
            xs, ys = [n for n, _ in pts], [v for _, v in pts]
            values += ys
            ax.plot(xs, ys, linestyle=MODE_LINESTYLES.get(s.mode, ":"), label=_safe(f"{s.scheduler} ({s.mode})"),
                    **_line_kwargs(style))
            if s.stopped_at is not None:
                ax.scatter([xs[-1]], [ys[-1]], marker="X", s=180, color="#000000", zorder=5)
                ax.annotate(f"stopped at N={s.stopped_at:,}", (xs[-1], ys[-1]), xytext=(6, -12),
                            textcoords="offset points", fontsize=8)
            if attr == "ns_per_resume":
                alt_parts.append(f"{s.scheduler} ({s.mode}): " + ", ".join(f"N={n:,} {v:,.0f} ns" for n, v in pts))
        ax.set_xscale("log")
        ax.set_yscale("log")
        _log_axis(ax.xaxis)
        if values:
            low, high = _log_limits(values, 2, 2)
            ax.set_ylim(low, high)
            _log_axis(ax.yaxis, low, high)
        ax.set_xlabel("rockets N (log scale)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        _grid(ax)
    for s in data.series:
        if s.stopped_at is not None:
            stops.append(f"× {s.scheduler} ({s.mode}) stopped at N={s.stopped_at:,}: {s.stopped_reason or 'no reason'}")
    notes = stops + [f"{n.scheduler} ({n.mode}) N={n.rockets if n.rockets is None else f'{n.rockets:,}'}: "
                     f"{n.status.upper()} — {n.reason or 'no reason'}" for n in data.notes]
    legend: dict[str, Any] = {}  # label → handle; a curve may be in one panel only
    for ax in (left, right):
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    labels, handles = list(legend), list(legend.values())
    if stops:
        handles.append(Line2D([], [], marker="X", markersize=10, color="#000000", linestyle="none"))
        labels.append("stopped (time budget exceeded)")
    fig.legend(handles, labels, loc="outside right upper", fontsize=9,
               title="scheduler (mode)\nsolid: switch, dashed: virtual")
    _footnote(fig, notes[:6] + ([f"… and {len(notes) - 6} more in the report's scaling table"]
                                if len(notes) > 6 else []))
    budget = f" (time budget {data.budget_s:g} s per point)" if data.budget_s else ""
    _suptitle(fig, f"Scaling with the number of rockets{budget}")
    alt = "Log–log curves of ns per resume and memory per rocket against N: " + "; ".join(alt_parts) + "."
    if stops:
        alt += " " + " ".join(stops)
    return _save(fig, path, "Scaling with N", alt)


# ---- 6. trends -----------------------------------------------------------------------

SCALE_LINESTYLES: tuple[Any, ...] = ("-", "--", ":", "-.", (0, (3, 1, 1, 1, 1, 1)))


def trends(data: TrendData, palette: Palette, path: Path) -> ChartFile | None:
    """Switch cost and timed p99 per scheduler over the history, oldest left."""
    n = len(data.labels)
    if n == 0 or (not data.switch_ns and not data.p99_us):
        return None
    fig = _figure(max(1000, 70 * n + 400), 2 * PANEL_HEIGHT_PX + 40)
    top, bottom = fig.subplots(2, 1, sharex=True)
    xs = list(range(n))

    def series(ax: Axes, values: Sequence[float | None], style: Style, linestyle: Any, label: str) -> None:
        ys = [math.nan if v is None else v for v in values]
        ax.plot(xs, ys, linestyle=linestyle, label=label, **_line_kwargs(style))

    for name, values in data.switch_ns.items():
        series(top, values, palette[name], "-", _safe(name))
    scales = sorted({scale for _, scale in data.p99_us}, reverse=True)
    dash = {scale: SCALE_LINESTYLES[i % len(SCALE_LINESTYLES)] for i, scale in enumerate(scales)}
    for (name, scale), values in data.p99_us.items():
        series(bottom, values, palette[name], dash[scale], _safe(f"{name} @ {scale:g}"))
    for ax, ylabel, title, all_values in (
        (top, "switch cost (ns per resume, log)", "Switch cost over time",
         [v for vs in data.switch_ns.values() for v in vs if v]),
        (bottom, "timed p99 lateness (µs, log)", "Timer p99 lateness over time, per time scale",
         [v for vs in data.p99_us.values() for v in vs if v]),
    ):
        ax.set_yscale("log")
        if all_values:
            low, high = _log_limits(all_values, 1.5, 1.5)
            ax.set_ylim(low, high)
            _log_axis(ax.yaxis, low, high)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        _grid(ax)
    bottom.set_xticks(xs, labels=[_safe(label) for label in data.labels], fontsize=8)
    bottom.set_xlim(-0.5, n - 0.5)
    bottom.set_xlabel("results file (date, commit; + = uncommitted changes), oldest first")
    top.legend(handles=_scheduler_handles(data.schedulers, palette, False, bars=False), loc="upper left",
               bbox_to_anchor=(1.01, 1), fontsize=9, title="scheduler")
    bottom.legend(handles=[Line2D([], [], color="#444444", linestyle=dash[s], label=f"{s:g} s/tick") for s in scales],
                  loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, title="time scale")
    _suptitle(fig, f"Trends across {n} results file(s) of the same workload")
    alt = f"Line charts over {n} results files (oldest first) of switch cost per scheduler in ns and timed p99 " \
          f"lateness per scheduler and time scale in µs; schedulers: {', '.join(data.schedulers)}."
    return _save(fig, path, "Trends over history", alt)
