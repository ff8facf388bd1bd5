"""Switch cost per resume: one horizontal bar per scheduler, grouped by family (the one
chart order: production loops, this project, third-party, teaching; within each, least
overhead first, as in the ranking table), so a real loop is compared with real loops and
the teaching designs read as their own lesson; the hybrid has a group of its own between
them.

A bar is stacked as the body floor of the scheduler's dialect (grey: the rocket bodies on
the cheapest correct loop) plus what the scheduler adds (its colour), on a linear axis, so
the coloured length is the scheduler's own cost and bars of different dialects compare
fairly. The figures are written in a column right of the plot rather than on the bars:
they never cover a bar, at the price of a narrower plotting area.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from bench.present import units
from reports.charts.style import (
    BODY_FLOOR_COLOUR,
    EARLY_HATCH,
    ChartFile,
    Drawn,
    early_patch,
    family_rows,
    figure,
    floor_and_overhead,
    footnote,
    grid,
    label_rows,
    not_charted,
    safe,
    suptitle,
    write,
)
from reports.data import SwitchData
from reports.palette import OUTLINE, Palette

SWITCH_COST = "switch_cost.png"


def _legend_below(ax: Axes, handles: Sequence[Any], columns: int) -> None:
    """A legend in its own empty axes under the plot: the layout engine keeps it clear of
    the plot above and of the footnote below (a figure legend "outside lower" is not)."""
    ax.axis("off")
    ax.legend(handles=handles, loc="center", ncols=max(columns, 1), fontsize=8.5, borderaxespad=0)


def draw_switch_cost(data: SwitchData, palette: Palette) -> Drawn | None:
    """Stacked horizontal bars, cheapest on top, linear ns: the body floor of the scheduler's
    dialect (grey) and what the scheduler adds on top (its colour); the bare send as a
    vertical line. Without a body floor (older files) the whole bar is the scheduler's colour."""
    if not data.bars:
        return None
    by_name = {b.scheduler: b for b in data.bars}
    # The ranking's order: least overhead first within each family (the coloured length).
    rows = family_rows(palette, list(by_name), lambda n: by_name[n].key_ns)
    bars = sorted(data.bars, key=lambda b: rows.y[b.scheduler])
    legend_rows = 3 if any(b.body_floor_ns is not None for b in bars) else 1
    legend_px = 16 + 34 * legend_rows
    fig = figure(1200, 150 + 46 * rows.count + legend_px)
    ax, legend_ax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [46 * rows.count + 40, legend_px]})
    has_floor = any(b.body_floor_ns is not None for b in bars)
    below_floor = False
    for bar in bars:
        y = rows.y[bar.scheduler]
        style = palette[bar.scheduler]
        hatch = EARLY_HATCH if bar.early else None
        overhead = bar.overhead_ns
        cost = units.with_unit(bar.mean_ns, "ns")
        if bar.body_floor_ns is None or overhead is None:
            ax.barh(y, bar.mean_ns, height=0.62, color=style.colour, edgecolor=OUTLINE, linewidth=0.8, hatch=hatch,
                    zorder=2)
        elif overhead > 0:
            ax.barh(y, bar.body_floor_ns, height=0.62, color=BODY_FLOOR_COLOUR, edgecolor=OUTLINE, linewidth=0.8,
                    zorder=2)
            ax.barh(y, overhead, left=bar.body_floor_ns, height=0.62, color=style.colour, edgecolor=OUTLINE,
                    linewidth=0.8, hatch=hatch, zorder=2)
        else:
            below_floor = True
            ax.barh(y, bar.body_floor_ns, height=0.62, color=BODY_FLOOR_COLOUR, edgecolor=OUTLINE, linewidth=0.8,
                    hatch=hatch, zorder=2)
            ax.plot([bar.mean_ns], [y], marker="D", markersize=9, color=style.colour, markeredgecolor=OUTLINE,
                    linestyle="none", zorder=4)
        text = cost if bar.body_floor_ns is None else floor_and_overhead(bar.mean_ns, bar.body_floor_ns, bar.band_ns)
        if bar.x_floor is not None:
            text += f" · {units.times(bar.x_floor)} bare send"
        if bar.early:
            text += " · EARLY"
        ax.errorbar([bar.mean_ns], [y], xerr=[[min(bar.std_ns, bar.mean_ns)], [bar.std_ns]], fmt="none",
                    ecolor="#222222", elinewidth=1.2, capsize=4, zorder=3)
        # A column of labels right of the plot: they never cover a bar, and the x-axis is
        # spent on the bars alone.
        ax.annotate(safe(text), (1, y), xycoords=ax.get_yaxis_transform(), xytext=(8, 0),
                    textcoords="offset points", va="center", ha="left", fontsize=9, annotation_clip=False)
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
        floor_text = f"bare send: one gen.send(None)\n= {units.ns(data.floor_ns)}"
        if data.floor_std_ns is not None:
            floor_text += f" ± {units.ns(data.floor_std_ns)}"
        handles.append(ax.axvline(data.floor_ns, color="#000000", linestyle="--", linewidth=1.4,
                                  label=floor_text + " ns", zorder=5))
    handles.append(Line2D([], [], color="#222222", marker="|", markersize=10, linestyle="none",
                          label="error bar: ± std of pyperf values"))
    if any(b.early for b in bars):
        handles.append(early_patch())
    label_rows(ax, rows, lambda n: safe(n) + (f"\n({by_name[n].dialect})" if by_name[n].dialect else ""))
    ax.set_xlim(0, max(max(b.mean_ns + b.std_ns, b.body_floor_ns or 0) for b in bars) * 1.02)
    ax.xaxis.set_major_formatter(FuncFormatter(units.tick))
    ax.set_xlabel("wall time per resume (ns, linear: bar length is the cost)")
    grid(ax, "x")
    ax.grid(False, which="minor")
    _legend_below(legend_ax, handles, columns=math.ceil(len(handles) / legend_rows))
    order = "least overhead first" if has_floor else "cheapest first"
    suptitle(fig, f"Switch cost per resume (switch mode) by family, {order}: mean ± std")
    footnote(fig, not_charted(data.excluded))
    alt = f"Horizontal bar chart of switch cost per resume in ns, by family, {order}: " + "; ".join(
        f"{b.scheduler} {units.with_unit(b.mean_ns, 'ns')} ± {units.ns(b.std_ns)}"
        + (f" (body floor {units.with_unit(b.body_floor_ns, 'ns')}, overhead {units.with_unit(b.overhead_ns, 'ns')})"
           if b.body_floor_ns is not None and b.overhead_ns is not None else "")
        + (f", {units.times(b.x_floor)} bare send" if b.x_floor is not None else "") + (" EARLY" if b.early else "")
        for b in bars) + "."
    if data.floor_ns:
        alt += f" Bare send {units.with_unit(data.floor_ns, 'ns')}."
    return Drawn(fig, "Switch cost per resume", alt)


def switch_cost(data: SwitchData, palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_switch_cost(data, palette), path)
