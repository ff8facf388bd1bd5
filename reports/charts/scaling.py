"""Scaling with the number of rockets N: time per resume and memory per rocket (log–log).

One column per mode and one row per metric, each panel with its own y-axis: switch mode
and the virtual clock are different workloads, and a shared axis would invite comparing
them. Body floor drivers are references, not schedulers, so they are thin grey lines
told apart by dash pattern. A series stopped by the time budget has no value at the size
that stopped it, so it is marked in a strip under its column rather than on the curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from bench.present import units
from reports.charts.style import (
    ChartFile,
    Drawn,
    figure,
    footnote,
    geomean,
    grid,
    line_kwargs,
    safe,
    scheduler_handles,
    suptitle,
    write,
)
from reports.charts.ticks import log_axis, log_limits
from reports.data import ScalingData, ScalingSeries
from reports.palette import GROUP_TITLES, NEUTRAL, UNRECORDED, Palette

SCALING = "scaling.png"

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
    ax.xaxis.set_major_formatter(FuncFormatter(units.compact))
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
    fig = figure(300 + 470 * len(modes), 150 + 330 * len(metrics) + strip_px)
    ratios = [330] * len(metrics) + ([strip_px - 30] if strip_rows else [])
    axes_grid = fig.subplots(len(ratios), len(modes), squeeze=False, sharex="col",
                        gridspec_kw={"height_ratios": ratios})
    dialects = list(dict.fromkeys(s.scheduler for s in series if s.reference))
    ref_style = {name: REFERENCE_LINESTYLES[i % len(REFERENCE_LINESTYLES)] for i, name in enumerate(dialects)}
    sizes = sorted({n for s in series for n in s.rockets} | {s.stopped_at for s in series if s.stopped_at})
    alt_parts = []
    for r, (attr, ylabel) in enumerate(metrics):
        for c, mode in enumerate(modes):
            ax = axes_grid[r][c]
            for s in (s for s in series if s.mode == mode):
                pts = _points(s, attr)
                if not pts:
                    continue
                xs, ys = [n for n, _ in pts], [v for _, v in pts]
                if s.reference:
                    ax.plot(xs, ys, color=NEUTRAL, linewidth=1.1, linestyle=ref_style[s.scheduler], zorder=2)
                else:
                    ax.plot(xs, ys, zorder=3, **line_kwargs(palette[s.scheduler], markersize=6))
                if attr == "ns_per_resume":
                    sizes_text = ", ".join(f"N={units.count(n)} {units.with_unit(v, 'ns')}" for n, v in pts)
                    alt_parts.append(f"{s.scheduler} ({s.mode}): {sizes_text}"
                                     + (f", stopped at N={units.count(s.stopped_at)}" if s.stopped_at else ""))
            _size_axis(ax, sizes)
            ax.set_yscale("log")
            # Own limits per panel: the two modes are different workloads, not to be compared.
            values = [v for s in series if s.mode == mode for _, v in _points(s, attr)]
            if values:
                low, high = log_limits(values)
                ax.set_ylim(low, high)
                log_axis(ax.yaxis, low, high)
            else:
                ax.text(0.5, 0.5, "no value", transform=ax.transAxes, ha="center", va="center", color="#777777")
            if r == 0:
                ax.set_title("switch mode (real clock)" if mode == "switch" else
                             "virtual clock (timed workload, no sleeping)" if mode == "virtual" else mode,
                             fontsize=10.5)
            if c == 0:
                ax.set_ylabel(ylabel)
            grid(ax)
    reasons = sorted({s.stopped_reason or "no reason" for v in stopped.values() for s in v})
    if strip_rows:
        for c, mode in enumerate(modes):
            ax = axes_grid[-1][c]
            rows = stopped[mode]
            for y, s in enumerate(rows):
                ax.plot([s.stopped_at], [y], marker="X", markersize=10, color=palette.colour(s.scheduler),
                        markeredgecolor="#000000", linestyle="none", zorder=3, clip_on=False)
            ax.set_yticks(range(len(rows)), labels=[safe(s.scheduler) for s in rows], fontsize=8)
            ax.set_ylim(strip_rows - 0.5, -0.5)
            ax.tick_params(axis="y", length=0)
            _size_axis(ax, sizes)
            ax.grid(True, axis="x", color="#dddddd", linewidth=0.8)
            ax.set_axisbelow(True)
            ax.set_title("stopped at this N (over the time budget): no value", fontsize=9, loc="left")
    for c, mode in enumerate(modes):
        bottom = len(ratios) - 1
        if strip_rows and not stopped[mode]:  # no strip under a column where nothing stopped
            axes_grid[-1][c].remove()
            bottom -= 1
        for r in range(bottom):
            axes_grid[r][c].tick_params(labelbottom=False)
        axes_grid[bottom][c].tick_params(labelbottom=True)
        axes_grid[bottom][c].set_xlabel("rockets N (log scale)")
    # The one chart order: family, then the typical time per resume over every mode and size;
    # the legend names each family above its schedulers, so 13 lines are read by group.
    groups = palette.groups([s.scheduler for s in series if not s.reference], lambda n: geomean(
        [v for s in series if s.scheduler == n for v in s.ns_per_resume]))
    headed = len(groups) > 1 or any(group != UNRECORDED for group, _ in groups)
    handles: list[Any] = []
    headings: set[int] = set()  # positions of the family headings among the legend's entries
    for group, names in groups:
        if headed:
            headings.add(len(handles))
            handles.append(Line2D([], [], linestyle="none", label=GROUP_TITLES[group]))
        handles += scheduler_handles(names, palette, bars=False)
    if dialects and headed:
        headings.add(len(handles))
        handles.append(Line2D([], [], linestyle="none", label="references"))
    for name in dialects:
        handles.append(Line2D([], [], color=NEUTRAL, linewidth=1.1, linestyle=ref_style[name],
                              label=safe(f"body floor ({name.split('/', 1)[1]})")))
    legend = fig.legend(handles=handles, loc="outside right upper", fontsize=8.5)
    for i, text in enumerate(legend.get_texts()):
        if i in headings:
            text.set_fontweight("bold")
    notes = [f"{n.scheduler} ({n.mode}) N={'?' if n.rockets is None else units.count(n.rockets)}: {n.status.upper()} — "
             f"{n.reason or 'no reason'}" for n in data.notes]
    if reasons:
        notes.insert(0, "Stopped: " + "; ".join(reasons) + ".")
    single = [f"{s.scheduler} ({s.mode})" for s in data.series if s not in series]
    if single:
        notes.append(f"One size only, not drawn: {', '.join(single)}.")
    footnote(fig, notes[:5] + ([f"… and {len(notes) - 5} more in the report's scaling table"]
                               if len(notes) > 5 else []))
    budget = f" (time budget {units.scale(data.budget_s)} s per point)" if data.budget_s else ""
    suptitle(fig, f"Scaling with the number of rockets N{budget}")
    alt = "Log–log curves of ns per resume and memory per rocket against N, switch mode and virtual clock in " \
          "separate panels: " + "; ".join(alt_parts) + "."
    return Drawn(fig, "Scaling with N", alt)


def scaling(data: ScalingData | None, palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_scaling(data, palette), path)
