"""CPU cost of timed mode: CPU per useful wake and wasted resumes per wake, as bars.

Bars, not lines, because a bar's length is its value; so every panel starts at zero on a
linear axis. That is affordable only with one panel per time scale and metric, each with
its own axis: a busy-waiting scheduler at light load costs hundreds of times what the
others do and would flatten them on a shared axis. The price is that lengths compare
within a panel only, which a note on the chart says.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

from bench.present import units
from reports.charts.style import (
    EARLY_HATCH,
    BarRows,
    ChartFile,
    Drawn,
    early_patch,
    family_rows,
    family_rules,
    figure,
    footnote,
    geomean,
    grid,
    grid_shape,
    label_rows,
    not_charted,
    panels,
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


def _typical(data: TimedData, name: str) -> float | None:
    """One figure per scheduler for the chart order: the geometric mean of its CPU per wake
    over the time scales (each scale weighs the same, whatever its magnitude)."""
    return geomean([p.cpu_per_wake_us for p in data.of(name)])


def _panels(data: TimedData, attr: str) -> list[float]:
    """Time scales where some scheduler has a figure above zero: a panel of zero-length
    bars and "n/a" labels would be drawn empty."""
    return [s for s in data.scales if any((v := getattr(p, attr)) is not None and v > 0 for p in data.at(s))]


def _metric_note(data: TimedData, attr: str, label: str, scales: list[float]) -> str | None:
    """Why a metric (or some of its time scales) has no panel; None when every scale has one."""
    counted = [p for p in data.points if getattr(p, attr) is not None]
    what = label.split(" (")[0]
    if not counted:
        return f"No panel of {what}: no scheduler counts it."
    missing = [units.scale(s) for s in data.scales if s not in scales and data.at(s)]
    if not missing:
        return None
    return f"No panel of {what} at {', '.join(missing)} s/tick: every counted value is 0."


def _bars(ax: Axes, data: TimedData, scale: float, attr: str, error: str | None, rows: BarRows,
          palette: Palette) -> list[Text]:
    """One panel's bars (and labels at their ends), each on its scheduler's row."""
    by_name = {p.scheduler: p for p in data.at(scale)}
    top = 0.0
    texts: list[Text] = []
    for name, y in rows.y.items():
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
    family_rules(ax, rows)
    return texts


def draw_cpu_cost(data: TimedData, palette: Palette) -> Drawn | None:
    """Per time scale, one panel per metric with its own linear axis (bars start at zero):
    process CPU per useful wake, and wasted resumes per wake for the schedulers that count
    them. Own axes per scale keep the light-load bars readable next to busy-waiting ones.
    Rows follow the one chart order (family, then CPU per wake); a metric or time scale
    without a value above zero gets no panel, only a note — an empty panel says nothing."""
    if not data.points:
        return None
    names = list(dict.fromkeys(p.scheduler for p in data.points))
    metrics = [(m, scales) for m in CPU_METRICS if (scales := _panels(data, m[0]))]
    notes = [n for m in CPU_METRICS if (n := _metric_note(data, m[0], m[2], _panels(data, m[0])))]
    if not metrics:
        return None
    rows_of = {m[0]: family_rows(palette, [n for n in names if any(getattr(p, m[0]) is not None for p in data.of(n))],
                                 lambda n: _typical(data, n)) for m, _ in metrics}
    columns = max(grid_shape(len(scales), 4)[1] for _, scales in metrics)
    heights = [40 + grid_shape(len(scales), 4)[0] * (60 + 28 * rows_of[m[0]].count) for m, scales in metrics]
    fig = figure(max(760, 200 + 300 * columns), 130 + 18 * len(notes) + sum(heights))
    subfigs = fig.subfigures(len(metrics), 1, squeeze=False, height_ratios=heights)[:, 0] if len(metrics) > 1 \
        else [fig]
    texts_by_ax: dict[Axes, list[Text]] = {}
    for sub, ((attr, error, label), scales) in zip(subfigs, metrics, strict=True):
        axes = panels(sub, len(scales), 4, sharey=True)
        rows = rows_of[attr]
        if sub is not fig:
            sub.suptitle(label, x=0.01, ha="left", fontsize=10.5, fontweight="bold")
        for ax, scale in zip(axes, scales, strict=True):
            texts_by_ax[ax] = _bars(ax, data, scale, attr, error, rows, palette)
        label_rows(axes[0], rows)
        for i, ax in enumerate(axes):
            ax.tick_params(labelleft=i % grid_shape(len(scales), 4)[1] == 0)
        if sub is fig:
            axes[0].set_xlabel(label)
        if attr == metrics[0][0][0] and any(p.early for p in data.points):
            # On the top right panel, outside it: the layout keeps it clear of titles.
            axes[-1].legend(handles=[early_patch()], loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8.5,
                            borderaxespad=0)
    _fit_texts_right(fig, texts_by_ax)
    footnote(fig, [*not_charted(data.excluded), *notes,
                   "Each panel has its own axis: compare schedulers within a panel, not bar lengths across panels."])
    suptitle(fig, "CPU cost of timed mode per time scale (larger scale = lighter load), by family")
    return Drawn(fig, "CPU cost per wake", _alt(data))


def _alt(data: TimedData) -> str:
    return "Horizontal bar charts, one panel per time scale and metric, of CPU µs per useful wake and wasted " \
           "resumes per wake: " + "; ".join(
               f"{p.scheduler} at {units.scale(p.time_scale)}: "
               + ("n/a" if p.cpu_per_wake_us is None else f"{units.with_unit(p.cpu_per_wake_us, 'µs')} CPU/wake")
               + ", " + ("wasted n/a" if p.wasted_per_wake is None
                         else f"{units.figure(p.wasted_per_wake)} wasted/wake")
               for p in data.points) + "."


def cpu_cost(data: TimedData, palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_cpu_cost(data, palette), path)
