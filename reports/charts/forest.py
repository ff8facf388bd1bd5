"""The paired gate as a forest plot: one row per scheduler × figure, B's change over A.

Each row draws the point estimate of B's relative change (in %) with its 95 % interval as
a horizontal bar, over a grey band of ±m (the smallest change the gate acts on) around a
vertical line at 0. Reading it is reading the verdict: an interval wholly right of the
band is a regression, wholly left an improvement, inside it no change, across an edge
inconclusive. Rows are coloured by verdict; reported-only figures (lateness p99) draw
hollow markers and dashed bars, since the gate never fails on them.

Trade-offs:

* The band is drawn per row, not once for the plot: m differs by figure and by level
  (in-process pairs are quieter than process pairs), and one band would misstate it.
* The x axis is symmetric around 0, so left and right read alike, and it is sized on the
  bulk of the rows, not on the widest one: a single wild interval (a p99 at +300 %) would
  otherwise squeeze every gated row into a few pixels around 0. Intervals past the edge
  are cut with an arrow; their true numbers are in the column on the right, which also
  states every row's figures so the chart can be read without the table.
* Height grows with the rows (a fixed pitch per row), so one row and fifty rows both read;
  past a dozen rows the x axis is repeated on top, so the far rows keep a scale in view.
* Colours are the gate's verdicts, not the schedulers' palette colours: here a colour must
  mean "regressed", whichever scheduler it is. Each verdict is also written in the column
  on the right, so the chart survives greyscale and colour-vision deficiency.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bench.present import units
from bench.present.gate_table import change_text, figure_label, min_effect_text, ordered, side_text, verdict_cell
from bench.results.gate_file import GateDocument, PairedFigure
from reports.charts.style import ChartFile, Drawn, figure, footnote, grid, safe, suptitle, write

FOREST = "forest.png"
FOREST_SVG = "forest.svg"
#: Verdict → colour (markers, bars, the right-hand text); the page's badges use the same.
VERDICT_COLOURS = {"regression": "#c62828", "improvement": "#2e7d32", "no change": "#6b6b6b",
                   "inconclusive": "#b77700"}
BAND_COLOUR = "#e4e4e4"
ROW_PX = 30
#: Rows past which the x axis is repeated on top.
TOP_AXIS_ROWS = 12


def _nice(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value * (1 - 1e-9))


def _extent(fig: PairedFigure) -> float:
    return max([abs(v) for v in (fig.estimate, fig.low, fig.high) if v is not None] + [fig.min_effect]) * 100


def x_limit(figures: list[PairedFigure]) -> float:
    """Half-width of the axis in %: every row, but at most three times the bulk (80th
    percentile) of the gated rows' extents or their widest band; at least 1 %."""
    gated = sorted(_extent(f) for f in figures if f.gated) or sorted(_extent(f) for f in figures)
    bulk = gated[math.floor(0.8 * (len(gated) - 1))]
    bands = max(f.min_effect for f in figures if f.gated) * 100 if any(f.gated for f in figures) else bulk
    widest = max(_extent(f) for f in figures)
    return _nice(max(1.0, min(widest, 3 * max(bulk, bands))) * 1.08)


def _row(ax: Any, y: int, fig: PairedFigure, lim: float) -> None:
    colour = VERDICT_COLOURS[fig.verdict]
    m = fig.min_effect * 100
    ax.barh(y, 2 * min(m, lim), left=-min(m, lim), height=0.8, color=BAND_COLOUR, linewidth=0, zorder=1)
    hollow = not fig.gated
    est = None if fig.estimate is None else fig.estimate * 100
    est_cut = est is not None and abs(est) > lim
    if fig.low is not None and fig.high is not None:
        low, high = fig.low * 100, fig.high * 100
        if min(high, lim) > max(low, -lim):
            ax.hlines(y, max(low, -lim), min(high, lim), color=colour, linewidth=2.6, zorder=3,
                      linestyles=(0, (3, 1.5)) if hollow else "solid")
        for end in (low, high):
            if abs(end) <= lim:
                ax.plot(end, y, marker="|", markersize=9, color=colour, markeredgewidth=1.8, zorder=3)
            elif not est_cut:  # cut: an arrow at the edge (the estimate's own arrow says it otherwise)
                ax.plot(math.copysign(lim, end), y, marker=">" if end > 0 else "<", markersize=8, color=colour,
                        linestyle="none", zorder=3, clip_on=False)
    if est is not None:
        marker = (">" if est > 0 else "<") if est_cut else "o"
        ax.plot(max(-lim, min(est, lim)), y, marker=marker, markersize=10 if est_cut else 8, linestyle="none",
                markerfacecolor="white" if hollow else colour, markeredgecolor=colour, markeredgewidth=1.8,
                zorder=4, clip_on=False)
    verdict = fig.verdict if fig.gated else f"reported only ({fig.verdict})"
    text = f"{change_text(fig)}   m {min_effect_text(fig)}   {verdict}"
    ax.annotate(safe(text), (1, y), xycoords=ax.get_yaxis_transform(), xytext=(14, 0), textcoords="offset points",
                va="center", ha="left", fontsize=9, color=colour, annotation_clip=False)


def _handles() -> list[Any]:
    handles: list[Any] = [Line2D([], [], color=c, marker="o", markersize=7, linewidth=2.4, label=v)
                          for v, c in VERDICT_COLOURS.items()]
    handles.append(Line2D([], [], color="#444444", marker="o", markerfacecolor="white", markersize=7,
                          linewidth=2.4, linestyle=(0, (3, 1.5)), label="reported only (not gated)"))
    handles.append(Patch(facecolor=BAND_COLOUR, label="±m: smallest change the gate acts on"))
    return handles


def draw_forest(doc: GateDocument) -> Drawn | None:
    """The forest plot of a gate file, or None when it holds no figure."""
    figures = ordered(doc)
    if not figures:
        return None
    n = len(figures)
    legend_px = 64
    fig = figure(1200, 170 + ROW_PX * n + legend_px + (30 if n > TOP_AXIS_ROWS else 0))
    legend_ax, ax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [legend_px, ROW_PX * n + 50]})
    legend_ax.axis("off")
    legend_ax.legend(handles=_handles(), loc="center", ncols=3, fontsize=8.5, borderaxespad=0, frameon=False)
    lim = x_limit(figures)
    for y, paired in enumerate(figures):
        _row(ax, y, paired, lim)
        if y and paired.scheduler != figures[y - 1].scheduler:
            ax.axhline(y - 0.5, color="#999999", linewidth=0.8, zorder=0)
    ax.axvline(0, color="#222222", linewidth=1.2, zorder=2)
    ax.annotate("B vs A [95% interval]   m   verdict", (1, 1), xycoords="axes fraction", xytext=(14, 4),
                textcoords="offset points", va="bottom", ha="left", fontsize=9, fontweight="bold",
                annotation_clip=False)
    ax.set_yticks(range(n), labels=[safe(f"{f.scheduler} · {figure_label(f)} · {f.level}") for f in figures],
                  fontsize=9)
    ax.set_ylim(n - 0.5, -0.5)  # the table's first row on top
    ax.set_xlim(-lim, lim)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, symmetric=True, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(units.tick))
    if n > TOP_AXIS_ROWS:
        ax.tick_params(axis="x", top=True, labeltop=True)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel("change of B over A, % (right of 0: B higher, i.e. slower or costlier)")
    grid(ax, "x")
    a, b = doc.sides
    title = "Paired gate: B's change over A per scheduler × figure, with 95% intervals"
    suptitle(fig, title + (" — A/A run (same tree and interpreter)" if doc.same_sides else ""))
    notes = [f"{side_text(a)}  vs  {side_text(b)}"]
    if not doc.complete or doc.interrupted:
        notes.append("INCOMPLETE: the gate was stopped before every pair was measured.")
    if any(f.estimate is None for f in figures):
        notes.append("Rows without a bar have too few pairs for an interval.")
    footnote(fig, notes)
    alt = "Forest plot of B's relative change over A with 95% intervals: " + "; ".join(
        f"{f.scheduler} {figure_label(f)} ({f.level}) {change_text(f)}, m {min_effect_text(f)}, {verdict_cell(f)}"
        for f in figures) + "."
    return Drawn(fig, "Paired gate: B's change over A", alt)


def forest(doc: GateDocument, path: Path) -> ChartFile | None:
    """Write the PNG at ``path`` and an SVG beside it (``.svg``), each atomically."""
    drawn = draw_forest(doc)
    chart = write(drawn, path)  # prunes colliding tick labels, so the SVG below gets the same
    if drawn is None or chart is None:
        return None
    svg = path.with_suffix(".svg")
    tmp = svg.with_name(f".{svg.name}.tmp")
    try:
        drawn.figure.savefig(tmp, format="svg", facecolor="white")
        os.replace(tmp, svg)
    finally:
        tmp.unlink(missing_ok=True)
    return chart
