"""Axes and their tick labels: log axes that read as plain numbers, limits that hug the
data, and labels that never collide.

Collisions are settled after layout, on the drawn figure, rather than predicted from font
metrics: only the renderer knows where a label lands once the constrained layout has
placed every panel. The price is one extra draw of each figure before it is saved
(``renderer``). Kept apart from ``style`` because the same measuring serves the tests
(``text_collisions``) as well as the charts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator, NullLocator
from matplotlib.transforms import Bbox

from bench.present import units

#: Pixels kept free between two tick labels.
TICK_GAP_PX = 4


def renderer(fig: Figure) -> RendererAgg:
    """Draw the figure (running the layout engine) and return the renderer that measured it."""
    fig.canvas.draw()
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    drawn: RendererAgg = canvas.get_renderer()  # type: ignore[no-untyped-call]
    return drawn


def _drawn_ticks(axis: Axis, minor: bool) -> list[Any]:
    """The ticks an axis draws: one per location of its locator, inside the view. (Tick
    objects past that are kept by matplotlib for reuse, with stale labels, but not drawn.)"""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(low), abs(high), 1e-300)
    locs = axis.get_minorticklocs() if minor else axis.get_majorticklocs()
    ticks = axis.get_minor_ticks(len(locs)) if minor else axis.get_major_ticks(len(locs))
    return [tick for tick, loc in zip(ticks, locs, strict=False) if low - slack <= loc <= high + slack]


def _tick_labels(axis: Axis, measure: RendererAgg, minor: bool) -> list[tuple[float, Text, Bbox]]:
    out = []
    for tick in _drawn_ticks(axis, minor):
        for label in (tick.label1, tick.label2):
            if label.get_visible() and label.get_text():
                out.append((float(tick.get_loc()), label, label.get_window_extent(measure)))
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
    measure = renderer(fig)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            if getattr(axis.get_major_formatter(), "pruned", False):
                continue
            kept: list[Bbox] = []
            keep: dict[bool, set[float]] = {False: set(), True: set()}
            labels = {minor: _tick_labels(axis, measure, minor) for minor in (False, True)}
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
    measure = renderer(fig)
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
        boxes.append((text.get_text(), text.get_window_extent(measure)))
    boxes += [(f"<legend {i}>", legend.get_window_extent(measure)) for i, legend in enumerate(legends)]
    out = []
    for i, (name, box) in enumerate(boxes):
        if box.x0 < canvas.x0 - 1 or box.y0 < canvas.y0 - 1 or box.x1 > canvas.x1 + 1 or box.y1 > canvas.y1 + 1:
            out.append((name, "<edge>"))
        for other, obox in boxes[i + 1:]:
            if box.width and obox.width and box.shrunk(0.98, 0.9).overlaps(obox.shrunk(0.98, 0.9)):
                out.append((name, other))
    return out


def log_limits(values: Sequence[float], pad: float = 0.06) -> tuple[float, float]:
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


def _minor_tick(value: float, _pos: int | None = None) -> str:
    """Labels for the 2×, 3× and 5× minor ticks of a log axis; none for the others."""
    mantissa = round(value / 10 ** math.floor(math.log10(value))) if value > 0 else 0
    return units.tick(value) if mantissa in (2, 3, 5) else ""


def log_axis(axis: Axis, low: float | None = None, high: float | None = None) -> None:
    """Plain tick labels (100, 1,000) instead of powers of ten. When fewer than two powers
    of ten fall inside [low, high], the 2×, 3× and 5× minor ticks are labelled too; under
    about two thirds of a decade, round linear steps (400, 600, 800 …) replace the decade
    ticks, which would leave most of such an axis without a label. ``prune_tick_labels``
    drops any label that would collide."""
    axis.set_major_formatter(FuncFormatter(units.tick))
    if low is not None and high is not None and math.log10(high / low) < 0.7:
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        axis.set_minor_locator(NullLocator())
    elif low is not None and high is not None and math.floor(math.log10(high)) - math.ceil(math.log10(low)) < 2:
        axis.set_minor_formatter(FuncFormatter(_minor_tick))
    else:
        axis.set_minor_formatter(FuncFormatter(lambda _v, _p: ""))
