"""The PNG charts. Each chart has a ``draw_*`` function that takes selected data
(``reports.data``) and a palette and returns a ``Drawn`` figure, or None when there is
nothing worth drawing; the function of the chart's plain name writes it to a path and
returns a ``ChartFile`` describing it.

Drawing goes through ``matplotlib.figure.Figure`` objects, never pyplot's global figure
registry: a report builds a handful of figures in a row, and explicit figures cannot leak
or draw into each other. The Agg backend is selected before anything could import pyplot,
so building a report never needs a display.

Every chart is drawn at a fixed pixel size (``width_px`` × ``height_px`` at ``DPI``) and
saved without ``bbox_inches="tight"``, which would crop to a size nobody asked for; the
layout engine ("constrained") fits labels inside the requested canvas instead. Widths stay
at or under ``MAX_WIDTH_PX`` so the page shows charts at their own size on a 1,400 px
screen; heights grow with the number of bars or panels so labels stay legible.

Rules every chart follows, so none can mislead:

- one colour and one marker per scheduler (``reports.palette``), light colours outlined;
  floors and other references are grey;
- EARLY runs (valid trace, some early wakes) are hatched, dashed or hollow and say so in
  the legend; runs that are not charted are named in a note on the chart, with status;
- bars start at zero on a linear axis (a bar's length is its value); log axes only for
  lines and points whose values span decades, with plain tick labels;
- axes limits hug the data, so no panel is mostly empty, and a panel per time scale or
  mode has its own axis when their values differ by decades;
- tick labels never collide: after layout, a label that would overlap a neighbour is
  dropped (``prune_tick_labels``); ``text_collisions`` checks a finished figure;
- a chart where every series has a single point is not drawn (a line chart of dots says
  nothing a table does not), and legends sit outside the plotting area, never on data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")

from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, Formatter, FuncFormatter, MaxNLocator, NullLocator
from matplotlib.transforms import Bbox

from reports.data import (
    NINES_TICKS,
    Excluded,
    InstructionData,
    ScalingData,
    ScalingSeries,
    SwitchData,
    TimedData,
    TrendData,
    nines,
    percentile_curve,
)
from reports.palette import NEUTRAL, OUTLINE, Palette, Style

DPI = 100
#: No chart is wider: the page shows it at its own size on a 1,400 px wide window.
MAX_WIDTH_PX = 1300
#: Hatch for EARLY bars; dashed lines and hollow markers play that role for curves.
EARLY_HATCH = "///"
EARLY_LINESTYLE = (0, (5, 2))
#: Longest note line drawn on a chart; the HTML page has the full reasons.
NOTE_CHARS = 130
#: Most lines in one panel: past about eight, colours and markers stop telling lines apart.
MAX_LINES_PER_PANEL = 8
#: The body floor part of a switch bar: the same light grey for every dialect.
BODY_FLOOR_COLOUR = "#c8c8c8"
#: Pixels kept free between two tick labels.
TICK_GAP_PX = 4

SWITCH_COST = "switch_cost.png"
LATENESS_PERCENTILES = "lateness_percentiles.png"
CPU_COST = "cpu_cost.png"
LATENESS_VS_LOAD = "lateness_vs_load.png"
SCALING = "scaling.png"
TRENDS = "trends.png"
INSTRUCTIONS = "instructions.png"


@dataclass(frozen=True)
class ChartFile:
    name: str  # file name inside the report directory
    title: str
    alt: str  # text alternative: what the chart shows, with its key numbers
    width_px: int
    height_px: int


@dataclass(frozen=True)
class Drawn:
    """A finished figure, before it is written."""

    figure: Figure
    title: str
    alt: str


# ---- shared helpers ------------------------------------------------------------------

def _figure(width_px: int, height_px: int) -> Figure:
    fig = Figure(figsize=(min(width_px, MAX_WIDTH_PX) / DPI, height_px / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # a canvas that can measure text before saving
    fig.set_facecolor("white")
    return fig


def _renderer(fig: Figure) -> RendererAgg:
    fig.canvas.draw()  # runs the layout engine too
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    renderer: RendererAgg = canvas.get_renderer()  # type: ignore[no-untyped-call]
    return renderer


def _write(drawn: Drawn | None, path: Path) -> ChartFile | None:
    """Write the PNG atomically (a reader never sees half a file) and describe it."""
    if drawn is None:
        return None
    fig = drawn.figure
    prune_tick_labels(fig)
    width, height = (round(v * DPI) for v in fig.get_size_inches())
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=DPI, format="png", facecolor="white")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return ChartFile(path.name, drawn.title, drawn.alt, width, height)


def _drawn_ticks(axis: Axis, minor: bool) -> list[Any]:
    """The ticks an axis draws: one per location of its locator, inside the view. (Tick
    objects past that are kept by matplotlib for reuse, with stale labels, but not drawn.)"""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(low), abs(high), 1e-300)
    locs = axis.get_minorticklocs() if minor else axis.get_majorticklocs()
    ticks = axis.get_minor_ticks(len(locs)) if minor else axis.get_major_ticks(len(locs))
    return [tick for tick, loc in zip(ticks, locs, strict=False) if low - slack <= loc <= high + slack]


def _tick_labels(axis: Axis, renderer: RendererAgg, minor: bool) -> list[tuple[float, Text, Bbox]]:
    out = []
    for tick in _drawn_ticks(axis, minor):
        for label in (tick.label1, tick.label2):
            if label.get_visible() and label.get_text():
                out.append((float(tick.get_loc()), label, label.get_window_extent(renderer)))
    return out


def _keep_only(formatter: Formatter, keep: set[float]) -> FuncFormatter:
    def fmt(value: float, pos: int | None = None) -> str:
        return formatter(value, pos) if any(math.isclose(value, k, rel_tol=1e-9, abs_tol=1e-12) for k in keep) \
            else ""

    wrapped = FuncFormatter(fmt)
    wrapped.pruned = True  # type: ignore[attr-defined]
    return wrapped


def prune_tick_labels(fig: Figure) -> None:
    """Drop tick labels that would overlap a neighbour: major labels win over minor ones,
    and within a kind the first (lowest) one wins. Shared axes are pruned once."""
    renderer = _renderer(fig)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            if getattr(axis.get_major_formatter(), "pruned", False):
                continue
            kept: list[Bbox] = []
            keep: dict[bool, set[float]] = {False: set(), True: set()}
            labels = {minor: _tick_labels(axis, renderer, minor) for minor in (False, True)}
            for minor in (False, True):
                for loc, _label, box in sorted(labels[minor], key=lambda item: item[0]):
                    padded = box.padded(TICK_GAP_PX / 2)
                    if not any(padded.overlaps(other) for other in kept):
                        kept.append(padded)
                        keep[minor].add(loc)
            if len(keep[False]) < len({loc for loc, _, _ in labels[False]}):
                axis.set_major_formatter(_keep_only(axis.get_major_formatter(), keep[False]))
            if len(keep[True]) < len({loc for loc, _, _ in labels[True]}):
                axis.set_minor_formatter(_keep_only(axis.get_minor_formatter(), keep[True]))
            axis.get_major_formatter().pruned = True  # type: ignore[attr-defined]


def text_collisions(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of visible texts of a drawn figure that overlap, and texts cut by the canvas
    edge (paired with "<edge>"). Legend contents are laid out by the legend itself and are
    only checked against the rest as one box."""
    renderer = _renderer(fig)
    canvas = fig.bbox
    legends = [a for a in fig.findobj(Legend) if a.get_visible()]
    inside_legend = {id(t) for legend in legends for t in legend.findobj(Text)}
    tick_labels: set[int] = set()
    drawn: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for ticks in (axis.majorTicks, axis.minorTicks):
                tick_labels.update(id(label) for tick in ticks for label in (tick.label1, tick.label2))
            if ax.get_visible():
                drawn.update(id(label) for minor in (False, True) for tick in _drawn_ticks(axis, minor)
                             for label in (tick.label1, tick.label2))
    boxes: list[tuple[str, Bbox]] = []
    for text in fig.findobj(Text):
        if id(text) in inside_legend or not text.get_visible() or not text.get_text().strip():
            continue
        if id(text) in tick_labels and id(text) not in drawn:
            continue
        boxes.append((text.get_text(), text.get_window_extent(renderer)))
    boxes += [(f"<legend {i}>", legend.get_window_extent(renderer)) for i, legend in enumerate(legends)]
    out = []
    for i, (name, box) in enumerate(boxes):
        if box.x0 < canvas.x0 - 1 or box.y0 < canvas.y0 - 1 or box.x1 > canvas.x1 + 1 or box.y1 > canvas.y1 + 1:
            out.append((name, "<edge>"))
        for other, obox in boxes[i + 1:]:
            if box.width and obox.width and box.shrunk(0.98, 0.9).overlaps(obox.shrunk(0.98, 0.9)):
                out.append((name, other))
    return out


def _outline(style: Style, linewidth: float) -> dict[str, Any]:
    """Line keywords that keep light colours (Okabe–Ito yellow) visible on white."""
    if not style.light:
        return {}
    return {"path_effects": [patheffects.Stroke(linewidth=linewidth + 1.6, foreground=OUTLINE), patheffects.Normal()]}


def _line_kwargs(style: Style, linewidth: float = 1.8, marker: bool = True, markersize: float = 7) -> dict[str, Any]:
    kw: dict[str, Any] = {"color": style.colour, "linewidth": linewidth, **_outline(style, linewidth)}
    if marker:
        kw.update(marker=style.marker, markersize=markersize, markeredgecolor=OUTLINE if style.light else style.colour)
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


def _log_limits(values: Sequence[float], pad: float = 0.06) -> tuple[float, float]:
    """Limits of a log axis that hug the data: ``pad`` of the span (in decades) on each side,
    at least a fifth of a decade (×1.6) in all so a flat line is not drawn on a magnified axis."""
    logs = [math.log10(v) for v in values if v > 0 and math.isfinite(v)]
    if not logs:
        return 0.1, 10.0
    low, high = min(logs), max(logs)
    span = max(high - low, 0.2)
    middle = (low + high) / 2
    low, high = min(low, middle - span / 2), max(high, middle + span / 2)
    return 10 ** (low - pad * span), 10 ** (high + pad * span)


def _scale_label(scale: float) -> str:
    return f"{scale:g} s/tick"


def _fmt_ns(ns: float) -> str:
    return f"{ns:,.0f} ns" if abs(ns) >= 10 else f"{ns:.1f} ns"


def _fmt_us(us: float) -> str:
    return f"{us:,.0f} µs" if us >= 10 else f"{us:.1f} µs"


def _fmt_value(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}" if abs(v) >= 1 else f"{v:.2g}"


def _plain(value: float, _pos: int | None = None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _plain_minor(value: float, _pos: int | None = None) -> str:
    mantissa = round(value / 10 ** math.floor(math.log10(value))) if value > 0 else 0
    return _plain(value) if mantissa in (2, 3, 5) else ""


def _compact(value: float, _pos: int | None = None) -> str:
    """100, 1k, 10k, 1M: short labels for rocket counts."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"


def _log_axis(axis: Axis, low: float | None = None, high: float | None = None) -> None:
    """Plain tick labels (100, 1,000) instead of powers of ten. When fewer than two powers
    of ten fall inside [low, high], the 2×, 3× and 5× minor ticks are labelled too; under
    about two thirds of a decade, round linear steps (400, 600, 800 …) replace the decade
    ticks, which would leave most of such an axis without a label. ``prune_tick_labels``
    drops any label that would collide."""
    axis.set_major_formatter(FuncFormatter(_plain))
    if low is not None and high is not None and math.log10(high / low) < 0.7:
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        axis.set_minor_locator(NullLocator())
    elif low is not None and high is not None and math.floor(math.log10(high)) - math.ceil(math.log10(low)) < 2:
        axis.set_minor_formatter(FuncFormatter(_plain_minor))
    else:
        axis.set_minor_formatter(FuncFormatter(lambda _v, _p: ""))


def _suptitle(fig: Figure, text: str) -> None:
    """Left-aligned, so it never runs under a legend placed outside on the right."""
    fig.suptitle(text, x=0.01, ha="left", fontsize=12)


def _grid(ax: Axes, axis: Literal["both", "x", "y"] = "both") -> None:
    ax.grid(True, which="major", axis=axis, color="#dddddd", linewidth=0.8)
    ax.grid(True, which="minor", axis=axis, color="#f0f0f0", linewidth=0.5)
    ax.set_axisbelow(True)


def _grid_shape(n: int, max_columns: int = 3) -> tuple[int, int]:
    """Rows and columns for ``n`` panels, leaving as few empty slots as possible (4 → 2×2)."""
    if n <= max_columns:
        return 1, n
    rows = math.ceil(n / max_columns)
    return rows, math.ceil(n / rows)


def _panels(fig: Figure | SubFigure, n: int, max_columns: int = 3, **kw: Any) -> list[Axes]:
    rows, columns = _grid_shape(n, max_columns)
    grid = fig.subplots(rows, columns, squeeze=False, **kw)
    axes = [ax for row in grid for ax in row]
    for ax in axes[n:]:
        ax.remove()
    return axes[:n]


def _fit_texts_right(fig: Figure, texts_by_ax: dict[Axes, list[Text]], margin_px: float = 6) -> None:
    """Widen each x-axis to the right until its texts (labels at bar ends) are inside it.
    All axes are adjusted per drawing of the figure; a few rounds settle the layout."""
    for _ in range(3):
        renderer = _renderer(fig)
        done = True
        for ax, texts in texts_by_ax.items():
            if not texts:
                continue
            box = ax.get_window_extent(renderer)
            over = max(t.get_window_extent(renderer).x1 for t in texts) - (box.x1 - margin_px)
            if over > 0:
                done = False
                low, high = ax.get_xlim()
                ax.set_xlim(low, high + over * (high - low) / max(box.width - over, box.width / 4) * 1.1)
        if done:
            return


def _legend_below(ax: Axes, handles: Sequence[Any], columns: int) -> None:
    """A legend in its own empty axes under the plot: the layout engine keeps it clear of
    the plot above and of the footnote below (a figure legend "outside lower" is not)."""
    ax.axis("off")
    ax.legend(handles=handles, loc="center", ncols=max(columns, 1), fontsize=8.5, borderaxespad=0)


def _scheduler_handles(names: Sequence[str], palette: Palette, bars: bool, marker: bool = True) -> list[Any]:
    handles: list[Any] = []
    for name in names:
        style = palette[name]
        if bars:
            handles.append(Patch(facecolor=style.colour, edgecolor=OUTLINE, label=_safe(name)))
        else:
            handles.append(Line2D([], [], label=_safe(name), **_line_kwargs(style, marker=marker)))
    return handles


def _early_patch() -> Patch:
    return Patch(facecolor="white", edgecolor=OUTLINE, hatch=EARLY_HATCH,
                 label="EARLY: valid trace, but some\nwakes before their deadline")


def _chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    """Split into the fewest chunks of at most ``size``, as even as possible."""
    if not items:
        return []
    count = math.ceil(len(items) / size)
    per = math.ceil(len(items) / count)
    return [list(items[i:i + per]) for i in range(0, len(items), per)]


# ---- 1. switch cost ------------------------------------------------------------------

def draw_switch_cost(data: SwitchData, palette: Palette) -> Drawn | None:
    """Stacked horizontal bars, cheapest on top, linear ns: the body floor of the scheduler's
    dialect (grey) and what the scheduler adds on top (its colour); the bare send as a
    vertical line. Without a body floor (older files) the whole bar is the scheduler's colour."""
    bars = data.bars
    if not bars:
        return None
    legend_rows = 3 if any(b.body_floor_ns is not None for b in bars) else 1
    legend_px = 16 + 34 * legend_rows
    fig = _figure(1200, 150 + 52 * len(bars) + legend_px)
    ax, legend_ax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [52 * len(bars) + 40, legend_px]})
    has_floor = any(b.body_floor_ns is not None for b in bars)
    below_floor = False
    texts = []
    for y, bar in enumerate(bars):
        style = palette[bar.scheduler]
        hatch = EARLY_HATCH if bar.early else None
        overhead = bar.overhead_ns
        if bar.body_floor_ns is None or overhead is None:
            ax.barh(y, bar.mean_ns, height=0.62, color=style.colour, edgecolor=OUTLINE, linewidth=0.8, hatch=hatch,
                    zorder=2)
            text = _fmt_ns(bar.mean_ns)
        elif overhead > 0:
            ax.barh(y, bar.body_floor_ns, height=0.62, color=BODY_FLOOR_COLOUR, edgecolor=OUTLINE, linewidth=0.8,
                    zorder=2)
            ax.barh(y, overhead, left=bar.body_floor_ns, height=0.62, color=style.colour, edgecolor=OUTLINE,
                    linewidth=0.8, hatch=hatch, zorder=2)
            text = f"{_fmt_ns(bar.mean_ns)} = {bar.body_floor_ns:,.0f} floor + {overhead:,.0f} overhead"
        else:
            below_floor = True
            ax.barh(y, bar.body_floor_ns, height=0.62, color=BODY_FLOOR_COLOUR, edgecolor=OUTLINE, linewidth=0.8,
                    hatch=hatch, zorder=2)
            ax.plot([bar.mean_ns], [y], marker="D", markersize=9, color=style.colour, markeredgecolor=OUTLINE,
                    linestyle="none", zorder=4)
            text = f"{_fmt_ns(bar.mean_ns)}: ≤ floor ({bar.body_floor_ns:,.0f} ns)"
        if bar.x_floor is not None:
            text += f" · {bar.x_floor:,.1f}× bare send"
        if bar.early:
            text += " · EARLY"
        ax.errorbar([bar.mean_ns], [y], xerr=[[min(bar.std_ns, bar.mean_ns)], [bar.std_ns]], fmt="none",
                    ecolor="#222222", elinewidth=1.2, capsize=4, zorder=3)
        # A column of labels right of the plot: they never cover a bar, and the x-axis is
        # spent on the bars alone.
        texts.append(ax.annotate(_safe(text), (1, y), xycoords=ax.get_yaxis_transform(), xytext=(8, 0),
                                 textcoords="offset points", va="center", ha="left", fontsize=9,
                                 annotation_clip=False))
    handles: list[Any] = []
    if has_floor:
        handles.append(Patch(facecolor=BODY_FLOOR_COLOUR, edgecolor=OUTLINE,
                             label="body floor of its dialect: the rocket bodies\non the cheapest correct loop"))
        handles.append(Patch(facecolor="#777777", edgecolor=OUTLINE,
                             label="scheduler overhead = switch − body floor\n(in the scheduler's colour)"))
    if below_floor:
        handles.append(Line2D([], [], marker="D", markersize=8, color="#777777", markeredgecolor=OUTLINE,
                              linestyle="none", label="switch cost ≤ body floor: no\nmeasurable overhead"))
    if data.floor_ns:
        floor_text = f"bare send: one gen.send(None)\n= {data.floor_ns:.1f}"
        if data.floor_std_ns is not None:
            floor_text += f" ± {data.floor_std_ns:.1f}"
        handles.append(ax.axvline(data.floor_ns, color="#000000", linestyle="--", linewidth=1.4,
                                  label=floor_text + " ns", zorder=5))
    handles.append(Line2D([], [], color="#222222", marker="|", markersize=10, linestyle="none",
                          label="error bar: ± std of pyperf values"))
    if any(b.early for b in bars):
        handles.append(_early_patch())
    ax.set_yticks(range(len(bars)), labels=[_safe(b.scheduler) + (f"\n({b.dialect})" if b.dialect else "")
                                            for b in bars])
    ax.set_ylim(len(bars) - 0.5, -0.5)  # cheapest on top
    ax.set_xlim(0, max(max(b.mean_ns + b.std_ns, b.body_floor_ns or 0) for b in bars) * 1.02)
    ax.xaxis.set_major_formatter(FuncFormatter(_plain))
    ax.set_xlabel("wall time per resume (ns, linear: bar length is the cost)")
    _grid(ax, "x")
    ax.grid(False, which="minor")
    _legend_below(legend_ax, handles, columns=math.ceil(len(handles) / legend_rows))
    _suptitle(fig, "Switch cost per resume (switch mode), cheapest first: mean ± std")
    _footnote(fig, _not_charted(data.excluded))
    alt = "Horizontal bar chart of switch cost per resume in ns, cheapest first: " + "; ".join(
        f"{b.scheduler} {_fmt_ns(b.mean_ns)} ± {b.std_ns:,.0f}"
        + (f" (body floor {b.body_floor_ns:,.0f} ns, overhead {b.overhead_ns:,.0f} ns)"
           if b.body_floor_ns is not None and b.overhead_ns is not None else "")
        + (f", {b.x_floor:.1f}× bare send" if b.x_floor is not None else "") + (" EARLY" if b.early else "")
        for b in bars) + "."
    if data.floor_ns:
        alt += f" Bare send {data.floor_ns:.1f} ns."
    return Drawn(fig, "Switch cost per resume", alt)


def switch_cost(data: SwitchData, palette: Palette, path: Path) -> ChartFile | None:
    return _write(draw_switch_cost(data, palette), path)


# ---- 1b. instructions per switch, next to wall time ----------------------------------------

def draw_instructions(instr: InstructionData, switch: SwitchData | None, palette: Palette) -> Drawn | None:
    """Two panels, one scheduler per row in the same order (fewest instructions first):
    instructions per resume under Valgrind (exact) and wall time per resume (noisy), each
    stacked as the body floor of its dialect plus the scheduler's overhead. Where the two
    rankings disagree, cache misses and system calls (which an instruction count cannot
    see) are the difference."""
    bars = instr.bars
    if not bars:
        return None
    wall = {b.scheduler: b for b in switch.bars} if switch is not None else {}
    fig = _figure(1250, 190 + 46 * len(bars))
    left, right = fig.subplots(1, 2, sharey=True)
    for y, bar in enumerate(bars):
        style = palette[bar.scheduler]
        panels: list[tuple[Axes, float, float | None]] = [(left, bar.per_switch, bar.body_floor)]
        timed = wall.get(bar.scheduler)
        if timed is not None:
            panels.append((right, timed.mean_ns, timed.body_floor_ns))
        for ax, value, floor in panels:
            if floor is not None and value > floor:
                ax.barh(y, floor, height=0.62, color=BODY_FLOOR_COLOUR, edgecolor=OUTLINE, linewidth=0.8, zorder=2)
                ax.barh(y, value - floor, left=floor, height=0.62, color=style.colour, edgecolor=OUTLINE,
                        linewidth=0.8, zorder=2)
            else:
                ax.barh(y, value, height=0.62, color=style.colour, edgecolor=OUTLINE, linewidth=0.8, zorder=2)
    left.set_yticks(range(len(bars)), labels=[_safe(b.scheduler) for b in bars])
    left.set_ylim(len(bars) - 0.5, -0.5)
    left.set_xlim(0, max(b.per_switch for b in bars) * 1.05)
    left.set_xlabel("instructions per resume (Valgrind, run() alone: exact)")
    right.set_xlabel("wall time per resume (ns, pyperf: noisy; see docs/regressions.md)")
    if wall:
        right.set_xlim(0, max(b.mean_ns for b in wall.values() if b.scheduler in {x.scheduler for x in bars}) * 1.05)
    else:
        right.text(0.5, 0.5, "no wall-time file given", ha="center", va="center", transform=right.transAxes)
    for ax in (left, right):
        ax.xaxis.set_major_formatter(FuncFormatter(_plain))
        _grid(ax, "x")
        ax.grid(False, which="minor")
    _suptitle(fig, "Instructions per switch next to wall time per switch (grey: the dialect's body floor)")
    _footnote(fig, _not_charted(instr.excluded))
    alt = "Two bar charts, one row per scheduler: " + "; ".join(
        f"{b.scheduler} {b.per_switch:,.0f} instructions per resume"
        + (f" (body floor {b.body_floor:,.0f})" if b.body_floor is not None else "")
        + (f", {wall[b.scheduler].mean_ns:,.0f} ns" if b.scheduler in wall else "") for b in bars) + "."
    return Drawn(fig, "Instructions and wall time per switch", alt)


def instructions(instr: InstructionData, switch: SwitchData | None, palette: Palette, path: Path) -> ChartFile | None:
    return _write(draw_instructions(instr, switch, palette), path)


# ---- 2. lateness percentiles -------------------------------------------------------------

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
    rows, columns = _grid_shape(len(scales))
    names = list(dict.fromkeys(name for name, _ in curves))
    fig = _figure(320 + 430 * columns, 150 + 390 * rows)
    axes = _panels(fig, len(scales), sharex=True, sharey=True)
    values = [v for c in curves.values() for v in c.lateness_us]
    values += [v for p in data.points for k, _ in MARKED_PERCENTILES if (v := p.lateness_us.get(k)) is not None]
    floors = {s: f for s, f in data.timer_floors.items() if s in scales}
    values += [v for f in floors.values() for v in f.lateness_us.values()]
    low, high = _log_limits(values)
    alt_parts, notes = [], []
    below: dict[str, list[str]] = {}  # scheduler → "share @ scale" of wakes a log axis cannot show
    for (name, scale), known in curves.items():
        if known.at_or_below_zero > 0:
            below.setdefault(name, []).append(f"{known.at_or_below_zero:.1%} @ {scale:g}")
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
                    **_line_kwargs(style, 1.8, marker=False))
            marks = [(nines(f), v) for k, f in MARKED_PERCENTILES
                     if (v := point.lateness_us.get(k)) is not None and v > 0]
            ax.plot([x for x, _ in marks], [v for _, v in marks], linestyle="none", zorder=4,
                    markerfacecolor="white" if point.early else style.colour, **_line_kwargs(style, 1.5))
            late = point.lateness_us
            alt_parts.append(f"{point.scheduler} at {scale:g}: p50 {_fmt_us(late['p50'])}, p99 {_fmt_us(late['p99'])}, "
                             f"p99.9 {_fmt_us(late['p99_9'])}, max {_fmt_us(late['max'])}"
                             + (" (EARLY)" if point.early else ""))
        _nines_axis(ax, right * 1.02)
        ax.set_yscale("log")
        ax.set_ylim(low, high)
        _log_axis(ax.yaxis, low, high)
        wakes = max(curves[(p.scheduler, scale)].total for p in data.at(scale) if (p.scheduler, scale) in curves)
        ax.set_title(f"time scale {_scale_label(scale)} · {wakes:,} wakes", fontsize=10.5)
        ax.set_xlabel("percentile of wakes (%; one more nine per tick)")
        ax.tick_params(labelbottom=True)
        ax.tick_params(labelleft=True)
        _grid(ax)
    axes[0].set_ylabel("lateness = wake − deadline (µs, log scale)")
    handles = _scheduler_handles(names, palette, bars=False)
    for handle, name in zip(handles, names, strict=True):
        early = [p for p in data.of(name) if p.early_wakes]
        if early:
            handle.set_label(f"{handle.get_label()}: early wakes\nat {', '.join(f'{p.time_scale:g}' for p in early)}")
        if name in below or early:
            note = f"{name}: "
            if name in below:
                note += f"on time or early (under the log axis): {', '.join(below[name])}"
            if early:
                note += ("; " if name in below else "") + "early wakes " + ", ".join(
                    f"{p.early_wakes:,} @ {p.time_scale:g} (worst {p.worst_early_us:,.0f} µs)" for p in early)
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
    _suptitle(fig, "Timer lateness by percentile (timed mode): the tail on the right, as wide as the median")
    no_hist = [f"{p.scheduler} @ {p.time_scale:g}" for p in data.points if (p.scheduler, p.time_scale) not in curves]
    no_hist_note = f"No lateness histogram (or no late wake) in the file: {', '.join(no_hist)}."
    _footnote(fig, [*_not_charted(data.excluded), *([no_hist_note] if no_hist else []),
                    *notes[:6], *([f"… and {len(notes) - 6} more notes in the report"] if len(notes) > 6 else [])])
    alt = ("Percentile plots of timer lateness in µs (log y) against percentile on a nines axis (50 %, 90 %, 99 %, "
           "99.9 %), one panel per time scale: " + "; ".join(alt_parts) + ".")
    return Drawn(fig, "Timer lateness by percentile", alt)


def lateness_percentiles(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    return _write(draw_lateness_percentiles(data, palette), path)


# ---- 3. CPU cost ----------------------------------------------------------------------

CPU_METRICS: tuple[tuple[str, str | None, str], ...] = (
    ("cpu_per_wake_us", "cpu_per_wake_std_us", "CPU per useful wake (µs, ± std across processes)"),
    ("wasted_per_wake", None, "wasted resumes per wake (polls of a task not yet due)"),
)


def draw_cpu_cost(data: TimedData, palette: Palette) -> Drawn | None:
    """Per time scale, one panel per metric with its own linear axis (bars start at zero):
    process CPU per useful wake, and wasted resumes per wake when any scheduler counts them.
    Own axes per scale keep the light-load bars readable next to busy-waiting ones."""
    if not data.points:
        return None
    names = list(dict.fromkeys(p.scheduler for p in data.points))
    scales = [s for s in data.scales if data.at(s)]
    metrics = [m for m in CPU_METRICS if any(getattr(p, m[0]) is not None for p in data.points)]
    if not metrics:
        return None
    scale_rows, columns = _grid_shape(len(scales), 4)
    panel_height = 60 + 30 * len(names)
    fig = _figure(200 + 300 * columns, 110 + len(metrics) * (40 + scale_rows * panel_height))
    subfigs = fig.subfigures(len(metrics), 1, squeeze=False)[:, 0] if len(metrics) > 1 else [fig]
    texts_by_ax: dict[Axes, list[Text]] = {}
    for sub, (attr, error, label) in zip(subfigs, metrics, strict=True):
        axes = _panels(sub, len(scales), 4, sharey=True)
        if sub is not fig:
            sub.suptitle(label, x=0.01, ha="left", fontsize=10.5, fontweight="bold")
        for ax, scale in zip(axes, scales, strict=True):
            by_name = {p.scheduler: p for p in data.at(scale)}
            top = 0.0
            texts: list[Text] = []
            for y, name in enumerate(names):
                point = by_name.get(name)
                value = None if point is None else getattr(point, attr)
                if point is None or value is None:
                    why = "not charted" if point is None else "n/a: not counted"
                    texts.append(ax.text(0, y, f" {why}", va="center", ha="left", fontsize=8, color="#555555"))
                    continue
                err = getattr(point, error) if error else None
                ax.barh(y, value, height=0.66, color=palette.colour(name), edgecolor=OUTLINE, linewidth=0.6,
                        hatch=EARLY_HATCH if point.early else None, zorder=2,
                        xerr=None if err is None else [[min(err, value)], [err]], capsize=3,
                        error_kw={"ecolor": "#222222", "elinewidth": 1})
                end = value + (err or 0)
                top = max(top, end)
                texts.append(ax.annotate(_fmt_value(value), (end, y), xytext=(4, 0), textcoords="offset points",
                                         va="center", ha="left", fontsize=8.5))
            ax.set_xlim(0, top * 1.02 if top > 0 else 1)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,g}"))
            ax.set_title(f"time scale {_scale_label(scale)}", fontsize=9.5)
            _grid(ax, "x")
            ax.grid(False, which="minor")
            texts_by_ax[ax] = texts
        axes[0].set_yticks(range(len(names)), labels=[_safe(n) for n in names])
        axes[0].set_ylim(len(names) - 0.5, -0.5)
        for i, ax in enumerate(axes):
            ax.tick_params(labelleft=i % columns == 0)
        if sub is fig:
            axes[0].set_xlabel(label)
    _fit_texts_right(fig, texts_by_ax)
    handles: list[Any] = []
    if any(p.early for p in data.points):
        handles.append(_early_patch())
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize=8.5)
    _footnote(fig, [*_not_charted(data.excluded),
                    "Each panel has its own axis: compare schedulers within a panel, not bar lengths across panels."])
    _suptitle(fig, "CPU cost of timed mode, per time scale (larger scale = lighter load)")
    alt = "Horizontal bar charts, one panel per time scale and metric, of CPU µs per useful wake and wasted " \
          "resumes per wake: " + "; ".join(
              f"{p.scheduler} at {p.time_scale:g}: "
              + ("n/a" if p.cpu_per_wake_us is None else f"{p.cpu_per_wake_us:.1f} µs CPU/wake")
              + ", " + ("wasted n/a" if p.wasted_per_wake is None else f"{p.wasted_per_wake:.1f} wasted/wake")
              for p in data.points) + "."
    return Drawn(fig, "CPU cost per wake", alt)


def cpu_cost(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    return _write(draw_cpu_cost(data, palette), path)


# ---- 4. lateness against load ------------------------------------------------------------

def draw_lateness_vs_load(data: TimedData, palette: Palette) -> Drawn | None:
    """p50 and p99 lateness against time scale: one panel per percentile (and per group of
    at most ``MAX_LINES_PER_PANEL`` schedulers), on one shared log y-axis. Needs two time
    scales at least: with one, every line would be a dot."""
    names = [n for n in dict.fromkeys(p.scheduler for p in data.points)
             if len([p for p in data.of(n) if p.lateness_us["p50"] > 0 or p.lateness_us["p99"] > 0]) > 1]
    if not names:
        return None
    groups = _chunks(names, MAX_LINES_PER_PANEL)
    percentiles = (("p50", "p50 (median)"), ("p99", "p99"))
    fig = _figure(1200, 140 + 420 * len(groups))
    grid = fig.subplots(len(groups), len(percentiles), squeeze=False, sharex=True, sharey=True)
    scales = sorted({p.time_scale for p in data.points if p.scheduler in names})
    values: list[float] = []
    alt_parts = []
    hidden = 0
    for row, group in zip(grid, groups, strict=True):
        for ax, (key, title) in zip(row, percentiles, strict=True):
            for name in group:
                style = palette[name]
                points = data.of(name)
                # A log axis cannot show 0 µs (the virtual clock's exact wakes): left out, and said so.
                ys = [v if (v := p.lateness_us[key]) > 0 else math.nan for p in points]
                hidden += sum(math.isnan(v) for v in ys)
                ax.plot([p.time_scale for p in points], ys, **_line_kwargs(style))
                early = [p for p in points if p.early and p.lateness_us[key] > 0]
                if early:
                    ax.plot([p.time_scale for p in early], [p.lateness_us[key] for p in early], linestyle="none",
                            marker="o", markersize=16, markerfacecolor="none", markeredgecolor="#000000",
                            markeredgewidth=1.4, zorder=4)
                values += [v for v in ys if not math.isnan(v)]
            ax.set_title(f"{title}{f' ({groups.index(group) + 1}/{len(groups)})' if len(groups) > 1 else ''}",
                         fontsize=10.5)
            if ax is row[-1]:
                ax.legend(handles=_scheduler_handles(group, palette, bars=False), fontsize=8, loc="upper left",
                          bbox_to_anchor=(1.01, 1), borderaxespad=0)
            _grid(ax)
    for name in names:
        alt_parts.append(f"{name}: " + ", ".join(
            f"{p.time_scale:g} → p50 {_fmt_us(p.lateness_us['p50'])}, p99 {_fmt_us(p.lateness_us['p99'])}"
            for p in data.of(name)))
    first = grid[0][0]
    first.set_xscale("log")
    first.set_yscale("log")
    first.xaxis.set_major_locator(FixedLocator(scales))
    first.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    first.xaxis.set_minor_locator(NullLocator())
    first.set_xlim(scales[-1] * 1.25, scales[0] / 1.25)  # shorter ticks = heavier load, to the right
    low, high = _log_limits(values)
    first.set_ylim(low, high)
    _log_axis(first.yaxis, low, high)
    for ax in grid[-1]:
        ax.set_xlabel("time scale (s per tick; heavier load →)")
    for row in grid:
        row[0].set_ylabel("lateness after deadline (µs, log)")
        for ax in row:
            ax.tick_params(labelleft=True)
    handles: list[Any] = []
    if any(p.early for p in data.points if p.scheduler in names):
        handles.append(Line2D([], [], marker="o", markersize=14, markerfacecolor="none", markeredgecolor="#000000",
                              linestyle="none", label="ringed: EARLY run (some wakes before their deadline)"))
        fig.legend(handles=handles, loc="outside lower right", fontsize=8.5)
    _suptitle(fig, "Timer lateness against load: p50 and p99 per time scale (log–log)")
    zero_note = f"{hidden} value(s) of 0 µs (exactly on time) cannot be shown on a log axis."
    _footnote(fig, [*_not_charted(data.excluded), *([zero_note] if hidden else [])])
    alt = "Log–log line charts of p50 and p99 timer lateness in µs against time scale: " + "; ".join(alt_parts) + "."
    return Drawn(fig, "Lateness against load", alt)


def lateness_vs_load(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    return _write(draw_lateness_vs_load(data, palette), path)


# ---- 5. scaling ------------------------------------------------------------------------

#: Line styles of body floor reference lines, by order of dialect.
REFERENCE_LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", ":")
SCALING_METRICS: tuple[tuple[str, str], ...] = (
    ("ns_per_resume", "time per resume (ns, log)"),
    ("bytes_per_rocket", "memory per rocket\n(bytes, tracemalloc, log)"),
)


def _points(series: ScalingSeries, attr: str) -> list[tuple[int, float]]:
    return [(n, v) for n, v in zip(series.rockets, getattr(series, attr), strict=True) if v is not None]


def _size_axis(ax: Axes, sizes: Sequence[int]) -> None:
    ax.set_xscale("log")
    ax.set_xlim(sizes[0] / 1.4, sizes[-1] * 1.4)
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_major_formatter(FuncFormatter(_compact))
    ax.xaxis.set_minor_locator(NullLocator())


def draw_scaling(data: ScalingData | None, palette: Palette) -> Drawn | None:
    """ns per resume and memory per rocket against N (log–log): one column per mode
    (switch, virtual clock), one row per metric, each panel with its own y-axis (the modes
    are different workloads). Body floor drivers are thin grey reference lines. Series
    stopped by the time budget are marked in a strip under their column, one row per
    series, at the size that stopped: there is no value to plot at that size."""
    if data is None:
        return None
    series = [s for s in data.series if any(len(_points(s, attr)) > 1 for attr, _ in SCALING_METRICS)]
    if not series:
        return None
    modes = [m for m in ("switch", "virtual") if any(s.mode == m for s in series)]
    modes += sorted({s.mode for s in series} - set(modes))
    metrics = [(attr, label) for attr, label in SCALING_METRICS if any(_points(s, attr) for s in series)]
    stopped = {m: [s for s in series if s.mode == m and s.stopped_at is not None and not s.reference] for m in modes}
    strip_rows = max(len(v) for v in stopped.values())
    strip_px = 50 + 17 * strip_rows if strip_rows else 0
    fig = _figure(300 + 470 * len(modes), 150 + 330 * len(metrics) + strip_px)
    ratios = [330] * len(metrics) + ([strip_px - 30] if strip_rows else [])
    grid = fig.subplots(len(ratios), len(modes), squeeze=False, sharex="col",
                        gridspec_kw={"height_ratios": ratios})
    dialects = list(dict.fromkeys(s.scheduler for s in series if s.reference))
    ref_style = {name: REFERENCE_LINESTYLES[i % len(REFERENCE_LINESTYLES)] for i, name in enumerate(dialects)}
    sizes = sorted({n for s in series for n in s.rockets} | {s.stopped_at for s in series if s.stopped_at})
    alt_parts = []
    for r, (attr, ylabel) in enumerate(metrics):
        for c, mode in enumerate(modes):
            ax = grid[r][c]
            for s in (s for s in series if s.mode == mode):
                pts = _points(s, attr)
                if not pts:
                    continue
                xs, ys = [n for n, _ in pts], [v for _, v in pts]
                if s.reference:
                    ax.plot(xs, ys, color=NEUTRAL, linewidth=1.1, linestyle=ref_style[s.scheduler], zorder=2)
                else:
                    ax.plot(xs, ys, zorder=3, **_line_kwargs(palette[s.scheduler], markersize=6))
                if attr == "ns_per_resume":
                    alt_parts.append(f"{s.scheduler} ({s.mode}): " + ", ".join(f"N={n:,} {v:,.0f} ns" for n, v in pts)
                                     + (f", stopped at N={s.stopped_at:,}" if s.stopped_at else ""))
            _size_axis(ax, sizes)
            ax.set_yscale("log")
            # Own limits per panel: the two modes are different workloads, not to be compared.
            values = [v for s in series if s.mode == mode for _, v in _points(s, attr)]
            if values:
                low, high = _log_limits(values)
                ax.set_ylim(low, high)
                _log_axis(ax.yaxis, low, high)
            else:
                ax.text(0.5, 0.5, "no value", transform=ax.transAxes, ha="center", va="center", color="#777777")
            if r == 0:
                ax.set_title("switch mode (real clock)" if mode == "switch" else
                             "virtual clock (timed workload, no sleeping)" if mode == "virtual" else mode,
                             fontsize=10.5)
            if c == 0:
                ax.set_ylabel(ylabel)
            _grid(ax)
    reasons = sorted({s.stopped_reason or "no reason" for v in stopped.values() for s in v})
    if strip_rows:
        for c, mode in enumerate(modes):
            ax = grid[-1][c]
            rows = stopped[mode]
            for y, s in enumerate(rows):
                ax.plot([s.stopped_at], [y], marker="X", markersize=10, color=palette.colour(s.scheduler),
                        markeredgecolor="#000000", linestyle="none", zorder=3, clip_on=False)
            ax.set_yticks(range(len(rows)), labels=[_safe(s.scheduler) for s in rows], fontsize=8)
            ax.set_ylim(strip_rows - 0.5, -0.5)
            ax.tick_params(axis="y", length=0)
            _size_axis(ax, sizes)
            ax.grid(True, axis="x", color="#dddddd", linewidth=0.8)
            ax.set_axisbelow(True)
            ax.set_title("stopped at this N (over the time budget): no value", fontsize=9, loc="left")
    for c, mode in enumerate(modes):
        bottom = len(ratios) - 1
        if strip_rows and not stopped[mode]:  # no strip under a column where nothing stopped
            grid[-1][c].remove()
            bottom -= 1
        for r in range(bottom):
            grid[r][c].tick_params(labelbottom=False)
        grid[bottom][c].tick_params(labelbottom=True)
        grid[bottom][c].set_xlabel("rockets N (log scale)")
    names = list(dict.fromkeys(s.scheduler for s in series if not s.reference))
    handles: list[Any] = _scheduler_handles(names, palette, bars=False)
    for name in dialects:
        handles.append(Line2D([], [], color=NEUTRAL, linewidth=1.1, linestyle=ref_style[name],
                              label=_safe(f"body floor ({name.split('/', 1)[1]})")))
    fig.legend(handles=handles, loc="outside right upper", fontsize=8.5, title="scheduler")
    notes = [f"{n.scheduler} ({n.mode}) N={'?' if n.rockets is None else f'{n.rockets:,}'}: {n.status.upper()} — "
             f"{n.reason or 'no reason'}" for n in data.notes]
    if reasons:
        notes.insert(0, "Stopped: " + "; ".join(reasons) + ".")
    single = [f"{s.scheduler} ({s.mode})" for s in data.series if s not in series]
    if single:
        notes.append(f"One size only, not drawn: {', '.join(single)}.")
    _footnote(fig, notes[:5] + ([f"… and {len(notes) - 5} more in the report's scaling table"]
                                if len(notes) > 5 else []))
    budget = f" (time budget {data.budget_s:g} s per point)" if data.budget_s else ""
    _suptitle(fig, f"Scaling with the number of rockets N{budget}")
    alt = "Log–log curves of ns per resume and memory per rocket against N, switch mode and virtual clock in " \
          "separate panels: " + "; ".join(alt_parts) + "."
    return Drawn(fig, "Scaling with N", alt)


def scaling(data: ScalingData | None, palette: Palette, path: Path) -> ChartFile | None:
    return _write(draw_scaling(data, palette), path)


# ---- 6. trends -----------------------------------------------------------------------

def _trend_panels(data: TrendData) -> list[tuple[str, str, list[tuple[str, list[float | None], list[bool]]]]]:
    """(title, y label, [(scheduler, values, early flags)]) per panel, at most
    ``MAX_LINES_PER_PANEL`` lines each; series with no value at all are left out."""
    panels = []

    def useful(values: Sequence[float | None]) -> bool:
        return any(v is not None for v in values)

    def by_level(series: list[tuple[str, list[float | None], list[bool]]]) -> list[Any]:
        """Cheapest first, so each panel of a split covers a narrower range of values."""
        def level(item: tuple[str, list[float | None], list[bool]]) -> float:
            known = sorted(v for v in item[1] if v is not None)
            return known[len(known) // 2]
        return sorted(series, key=level)

    switch = [(name, v, data.switch_early.get(name, [False] * len(v)))
              for name, v in data.switch_x_floor.items() if useful(v)]
    chunks = _chunks(by_level(switch), MAX_LINES_PER_PANEL)
    for i, chunk in enumerate(chunks):
        part = f" ({i + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        panels.append((f"Switch cost ÷ bare send of the same file{part}", "× bare send (log)", chunk))
    for scale in data.scales:
        p99 = [(name, v, data.p99_early.get((name, s), [False] * len(v)))
               for (name, s), v in data.p99_us.items() if s == scale and useful(v)]
        chunks = _chunks(by_level(p99), MAX_LINES_PER_PANEL)
        for i, chunk in enumerate(chunks):
            part = f" ({i + 1}/{len(chunks)})" if len(chunks) > 1 else ""
            panels.append((f"Timer p99 lateness at {_scale_label(scale)}{part}", "p99 lateness (µs, log)", chunk))
    return panels


def draw_trends(data: TrendData, palette: Palette) -> Drawn | None:
    """Switch cost as a multiple of the same file's bare send (so a faster machine does not
    look like a faster scheduler) and timed p99 per time scale, over the history, oldest
    left; at most eight lines per panel. EARLY values are hollow markers."""
    n = len(data.labels)
    panels = _trend_panels(data)
    lines = [values for _, _, chunk in panels for _, values, _ in chunk]
    if n < 2 or not lines or all(sum(v is not None for v in values) < 2 for values in lines):
        return None
    width = max(1000, 60 * n + 420)
    fig = _figure(width, 110 + 300 * len(panels))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    xs = list(range(n))
    for ax, (title, ylabel, chunk) in zip(axes, panels, strict=True):
        for name, series, early in chunk:
            style = palette[name]
            ys = [math.nan if v is None else v for v in series]
            ax.plot(xs, ys, label=_safe(name), **_line_kwargs(style, markersize=6))
            hollow = [(x, v) for x, v, e in zip(xs, series, early, strict=True) if e and v is not None]
            if hollow:
                ax.plot([x for x, _ in hollow], [v for _, v in hollow], linestyle="none", marker=style.marker,
                        markersize=11, markerfacecolor="white", markeredgecolor="#000000", zorder=5)
        values = [v for _, vs, _ in chunk for v in vs if v is not None]
        ax.set_yscale("log")
        low, high = _log_limits(values)
        ax.set_ylim(low, high)
        _log_axis(ax.yaxis, low, high)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10.5, loc="left")
        # Legend top-down like the lines (most expensive on top).
        handles = _scheduler_handles([name for name, _, _ in reversed(chunk)], palette, bars=False)
        if any(any(e) for _, _, e in chunk):
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=10, markerfacecolor="white",
                                  markeredgecolor="#000000", label="EARLY run"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8.5, borderaxespad=0)
        _grid(ax)
    bottom = axes[-1]
    bottom.set_xticks(xs, labels=[_safe(label) for label in data.labels], fontsize=8)
    bottom.set_xlim(-0.4, n - 0.6)
    bottom.set_xlabel("results file (date, commit; + = uncommitted changes), oldest first")
    _suptitle(fig, f"Trends across {n} results files of the same workload")
    alt = f"Line charts over {n} results files (oldest first) of switch cost per scheduler as a multiple of the " \
          f"bare send of the same file, and timed p99 lateness in µs per time scale; " \
          f"schedulers: {', '.join(data.schedulers)}."
    return Drawn(fig, "Trends over history", alt)


def trends(data: TrendData, palette: Palette, path: Path) -> ChartFile | None:
    return _write(draw_trends(data, palette), path)
