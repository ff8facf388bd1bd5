"""What every chart shares: canvas size, saving, titles, grids, panel layout, legends,
footnotes, and how the palette's colours and markers are put on lines and bars.

One module so that a rule of the package (see ``reports.charts``) is written once: a
light colour is outlined wherever it is drawn, an EARLY run is hatched or dashed the same
way in every chart, a footnote is cut at the same width. Helpers that only one chart
needs stay in that chart's module; only what two families share, or what states a
rule, is here.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bench.present import noise, units
from reports.charts.ticks import prune_tick_labels
from reports.data import Excluded
from reports.palette import GROUP_TITLES, OUTLINE, Palette, Style

DPI = 100
#: No chart is wider: the page shows it at its own size on a 1,400 px wide window.
MAX_WIDTH_PX = 1300
#: Hatch for EARLY bars; dashed lines and hollow markers play that role for curves.
EARLY_HATCH = "///"
EARLY_LINESTYLE = (0, (5, 2))
#: Longest note line drawn on a chart; the HTML page has the full reasons.
NOTE_CHARS = 130
#: Most notes under a chart (each wrapped to the width); the HTML page has them all.
NOTE_LINES = 8
#: Most lines in one panel: past about eight, colours and markers stop telling lines apart.
MAX_LINES_PER_PANEL = 8
#: Schedulers of other panels drawn under a panel's own (small multiples): light enough to
#: read as background, and never a scheduler colour.
CONTEXT_COLOUR = "#d4d4d4"
#: The body floor part of a switch bar: the same light grey for every dialect.
BODY_FLOOR_COLOUR = "#c8c8c8"


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


# ---- canvas and file ----------------------------------------------------------------------

def figure(width_px: int, height_px: int) -> Figure:
    fig = Figure(figsize=(min(width_px, MAX_WIDTH_PX) / DPI, height_px / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # a canvas that can measure text before saving
    fig.set_facecolor("white")
    return fig


def write(drawn: Drawn | None, path: Path) -> ChartFile | None:
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


# ---- scheduler styles on lines and bars ------------------------------------------------------

def outline(style: Style, linewidth: float) -> dict[str, Any]:
    """Line keywords that keep light colours (Okabe–Ito yellow) visible on white."""
    if not style.light:
        return {}
    return {"path_effects": [patheffects.Stroke(linewidth=linewidth + 1.6, foreground=OUTLINE), patheffects.Normal()]}


def line_kwargs(style: Style, linewidth: float = 1.8, marker: bool = True, markersize: float = 7) -> dict[str, Any]:
    kw: dict[str, Any] = {"color": style.colour, "linewidth": linewidth, **outline(style, linewidth)}
    if marker:
        kw.update(marker=style.marker, markersize=markersize, markeredgecolor=OUTLINE if style.light else style.colour)
    return kw


def scheduler_handles(names: Sequence[str], palette: Palette, bars: bool, marker: bool = True) -> list[Any]:
    handles: list[Any] = []
    for name in names:
        style = palette[name]
        if bars:
            handles.append(Patch(facecolor=style.colour, edgecolor=OUTLINE, label=safe(name)))
        else:
            handles.append(Line2D([], [], label=safe(name), **line_kwargs(style, marker=marker)))
    return handles


def early_patch() -> Patch:
    return Patch(facecolor="white", edgecolor=OUTLINE, hatch=EARLY_HATCH,
                 label="EARLY: valid trace, but some\nwakes before their deadline")


# ---- texts ---------------------------------------------------------------------------------

def safe(text: str) -> str:
    """Text from the results file, made literal for matplotlib: ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def text_width_chars(fig: Figure | SubFigure, fontsize: float, share: float = 1.0) -> int:
    """How many characters of ``fontsize`` fit across ``share`` of the figure's width: an
    average glyph of DejaVu Sans is about 0.6 em. Measured text would be exact but needs a
    draw per try; the layout test (tests/test_chart_layout.py) catches a wrong guess."""
    width_px = fig.get_figure(root=True).get_size_inches()[0] * DPI * share
    return max(int((width_px - 24) / (fontsize * 0.6 * DPI / 72)), 20)


def wrapped(text: str, chars: int) -> str:
    """``text`` cut into lines of at most ``chars`` at spaces (existing line breaks kept)."""
    return "\n".join(textwrap.fill(part, chars, break_on_hyphens=False) or part for part in text.split("\n"))


def suptitle(fig: Figure, text: str, share: float = 1.0) -> None:
    """Left-aligned and wrapped to ``share`` of the width (pass less than 1 when a legend
    sits in the top right corner), so it is never cut by the canvas edge."""
    fig.suptitle(wrapped(text, text_width_chars(fig, 12, share)), x=0.01, ha="left", fontsize=12)


def footnote(fig: Figure, lines: Sequence[str]) -> None:
    """Notes under the whole figure (what is not charted and why), wrapped to the figure's
    width rather than cut: a note cut at the edge loses its point. At most ``NOTE_LINES``
    notes; the page has them all.

    Drawn as the figure's ``supxlabel`` because the constrained layout makes room for it,
    unlike free ``fig.text``; no chart here uses a figure-level x label otherwise.
    """
    if lines:
        kept = list(lines[:NOTE_LINES]) + ([f"… and {len(lines) - NOTE_LINES} more in the report"]
                                           if len(lines) > NOTE_LINES else [])
        chars = text_width_chars(fig, 8.5)
        text = "\n".join(wrapped(line, chars) for line in kept)
        fig.supxlabel(safe(text), x=0.01, ha="left", fontsize=8.5, color="#333333", linespacing=1.3)


def not_charted(excluded: Sequence[Excluded]) -> list[str]:
    if not excluded:
        return []
    seen = dict.fromkeys(f"{e.scheduler} ({e.status.upper()})" for e in excluded)
    return [f"Not charted: {', '.join(seen)} — see the report for reasons."]


def floor_and_overhead(cost_ns: float, floor_ns: float, band_ns: float | None, compact: bool = False) -> str:
    """The figure beside a bar stacked as floor + overhead: ``1,520 ns = 166 floor + 1,354
    overhead``. An overhead within its noise band reads ``≈ 0 (± 91)`` as the tables say it
    (``bench.present.noise``): a chart must not show a figure the table calls noise, nor a
    cost under the floor as a win."""
    over = noise.Overhead(cost_ns - floor_ns, band_ns or 0.0)
    cost = units.with_unit(cost_ns, "ns")
    if over.value_ns < 0 and not over.noise:
        return f"{cost}: {units.with_unit(-over.value_ns, 'ns')} under the floor"
    if compact:
        return f"{cost}: {'' if over.noise else '+'}{over.text} overhead"
    return f"{cost} = {units.ns(floor_ns)} floor + {over.text} overhead"


def scale_label(scale: float) -> str:
    return f"{units.scale(scale)} s/tick"


# ---- panels --------------------------------------------------------------------------------

def grid(ax: Axes, axis: Literal["both", "x", "y"] = "both") -> None:
    ax.grid(True, which="major", axis=axis, color="#dddddd", linewidth=0.8)
    ax.grid(True, which="minor", axis=axis, color="#f0f0f0", linewidth=0.5)
    ax.set_axisbelow(True)


def grid_shape(n: int, max_columns: int = 3) -> tuple[int, int]:
    """Rows and columns for ``n`` panels, leaving as few empty slots as possible (4 → 2×2)."""
    if n <= max_columns:
        return 1, n
    rows = math.ceil(n / max_columns)
    return rows, math.ceil(n / rows)


def panels(fig: Figure | SubFigure, n: int, max_columns: int = 3, **kw: Any) -> list[Axes]:
    rows, columns = grid_shape(n, max_columns)
    axes_grid = fig.subplots(rows, columns, squeeze=False, **kw)
    axes = [ax for row in axes_grid for ax in row]
    for ax in axes[n:]:
        ax.remove()
    return axes[:n]


def geomean(values: Sequence[float | None]) -> float | None:
    """The geometric mean of the positive values (None without one): the figure charts
    order schedulers by when a chart shows one figure per time scale — each scale weighs
    the same, whatever its magnitude."""
    logs = [math.log(v) for v in values if v is not None and v > 0 and math.isfinite(v)]
    return math.exp(sum(logs) / len(logs)) if logs else None


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    """Split into the fewest chunks of at most ``size``, as even as possible (lines per panel)."""
    if not items:
        return []
    count = math.ceil(len(items) / size)
    per = math.ceil(len(items) / count)
    return [list(items[i:i + per]) for i in range(0, len(items), per)]


# ---- rows of bar charts, grouped by family --------------------------------------------------

@dataclass(frozen=True)
class BarRows:
    """Rows of a horizontal bar chart in the one chart order: per family a heading row
    (a bold tick label, no bar), then its schedulers. A heading costs a row of height, the
    price of saying the family where the bars are rather than in a legend."""

    y: dict[str, int]  # scheduler → its row
    headings: dict[int, str]  # row → family heading
    count: int  # rows in all

    def labels(self, label: Callable[[str], str]) -> list[str]:
        names = {y: name for name, y in self.y.items()}
        return [self.headings[y] if y in self.headings else label(names[y]) for y in range(self.count)]


def family_rows(palette: Palette, names: Sequence[str], figure: Callable[[str], float | None] | None = None,
                ) -> BarRows:
    """Rows for ``names``: family first, then ``figure`` ascending (the chart's own figure)."""
    y: dict[str, int] = {}
    headings: dict[int, str] = {}
    row = 0
    for group, members in palette.groups(names, figure):
        headings[row] = GROUP_TITLES[group]
        row += 1
        for name in members:
            y[name] = row
            row += 1
    for name in names:  # references (no family) after every group
        if name not in y:
            y[name] = row
            row += 1
    return BarRows(y, headings, row)


def label_rows(ax: Axes, rows: BarRows, label: Callable[[str], str] = safe) -> None:
    """Tick labels of ``rows`` on ``ax``, top to bottom: headings bold, without a tick mark,
    and a thin rule above every heading but the first."""
    ax.set_yticks(range(rows.count), labels=rows.labels(label))
    ax.set_ylim(rows.count - 0.5, -0.5)
    for y, tick in enumerate(ax.yaxis.get_major_ticks()[:rows.count]):
        if y in rows.headings:
            tick.label1.set_fontweight("bold")
            tick.tick1line.set_visible(False)
    family_rules(ax, rows)


def family_rules(ax: Axes, rows: BarRows) -> None:
    """A thin rule above every family heading but the first (on each panel of the rows)."""
    for y in rows.headings:
        if y:
            ax.axhline(y - 0.5, color="#999999", linewidth=0.8, zorder=1)
