"""CPU cost of timed mode: CPU per useful wake and wasted resumes per wake, as bars.

Bars, not lines, because a bar's length is its value; so every panel starts at zero on a
linear axis. That is affordable only with one panel per time scale and metric, each with
its own axis: a busy-waiting scheduler at light load costs hundreds of times what the
others do and would flatten them on a shared axis. The price is that lengths compare
within a panel only, which a note on the chart says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

from bench.present import units
from reports.charts.style import (
    EARLY_HATCH,
    ChartFile,
    Drawn,
    early_patch,
    figure,
    footnote,
    grid,
    grid_shape,
    not_charted,
    panels,
    safe,
    scale_label,
    suptitle,
    write,
)
from reports.charts.ticks import renderer
from reports.data import TimedData
from reports.palette import OUTLINE, Palette

CPU_COST = "cpu_cost.png"

CPU_METRICS: tuple[tuple[str, str | None, str], ...] = (
    ("cpu_per_wake_us", "cpu_per_wake_std_us", "CPU per useful wake (µs, ± std across processes)"),
    ("wasted_per_wake", None, "wasted resumes per wake (polls of a task not yet due)"),
)


def _fit_texts_right(fig: Figure, texts_by_ax: dict[Axes, list[Text]], margin_px: float = 6) -> None:
    """Widen each x-axis to the right until its texts (labels at bar ends) are inside it.
    All axes are adjusted per drawing of the figure; a few rounds settle the layout."""
    for _ in range(3):
        measure = renderer(fig)
        done = True
        for ax, texts in texts_by_ax.items():
            if not texts:
                continue
            box = ax.get_window_extent(measure)
            over = max(t.get_window_extent(measure).x1 for t in texts) - (box.x1 - margin_px)
            if over > 0:
                done = False
                low, high = ax.get_xlim()
                ax.set_xlim(low, high + over * (high - low) / max(box.width - over, box.width / 4) * 1.1)
        if done:
            return


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
    scale_rows, columns = grid_shape(len(scales), 4)
    panel_height = 60 + 30 * len(names)
    fig = figure(200 + 300 * columns, 110 + len(metrics) * (40 + scale_rows * panel_height))
    subfigs = fig.subfigures(len(metrics), 1, squeeze=False)[:, 0] if len(metrics) > 1 else [fig]
    texts_by_ax: dict[Axes, list[Text]] = {}
    for sub, (attr, error, label) in zip(subfigs, metrics, strict=True):
        axes = panels(sub, len(scales), 4, sharey=True)
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
                texts.append(ax.annotate(units.figure(value), (end, y), xytext=(4, 0), textcoords="offset points",
                                         va="center", ha="left", fontsize=8.5))
            ax.set_xlim(0, top * 1.02 if top > 0 else 1)
            ax.xaxis.set_major_formatter(FuncFormatter(units.tick))
            ax.set_title(f"time scale {scale_label(scale)}", fontsize=9.5)
            grid(ax, "x")
            ax.grid(False, which="minor")
            texts_by_ax[ax] = texts
        axes[0].set_yticks(range(len(names)), labels=[safe(n) for n in names])
        axes[0].set_ylim(len(names) - 0.5, -0.5)
        for i, ax in enumerate(axes):
            ax.tick_params(labelleft=i % columns == 0)
        if sub is fig:
            axes[0].set_xlabel(label)
    _fit_texts_right(fig, texts_by_ax)
    handles: list[Any] = []
    if any(p.early for p in data.points):
        handles.append(early_patch())
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize=8.5)
    footnote(fig, [*not_charted(data.excluded),
                   "Each panel has its own axis: compare schedulers within a panel, not bar lengths across panels."])
    suptitle(fig, "CPU cost of timed mode, per time scale (larger scale = lighter load)")
    alt = "Horizontal bar charts, one panel per time scale and metric, of CPU µs per useful wake and wasted " \
          "resumes per wake: " + "; ".join(
              f"{p.scheduler} at {units.scale(p.time_scale)}: "
              + ("n/a" if p.cpu_per_wake_us is None else f"{units.with_unit(p.cpu_per_wake_us, 'µs')} CPU/wake")
              + ", " + ("wasted n/a" if p.wasted_per_wake is None else f"{units.figure(p.wasted_per_wake)} wasted/wake")
              for p in data.points) + "."
    return Drawn(fig, "CPU cost per wake", alt)


def cpu_cost(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_cpu_cost(data, palette), path)
