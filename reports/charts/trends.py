"""Trends over a history of results files: switch cost and timed p99, oldest first.

Switch cost is drawn as a multiple of the same file's bare send rather than in ns, so a
run on a faster machine does not look like a faster scheduler; lateness stays in µs
(there is no per-file reference it would be fair to divide by). Each panel holds at most
``MAX_LINES_PER_PANEL`` lines, split by cost level so a panel covers a narrower range;
more panels are the price of lines that can still be told apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.lines import Line2D

from reports.charts.style import (
    MAX_LINES_PER_PANEL,
    ChartFile,
    Drawn,
    chunks,
    figure,
    grid,
    line_kwargs,
    safe,
    scale_label,
    scheduler_handles,
    suptitle,
    write,
)
from reports.charts.ticks import log_axis, log_limits
from reports.data import TrendData
from reports.palette import GROUP_TITLES, Palette

TRENDS = "trends.png"


Series = tuple[str, list[float | None], list[bool]]  # (scheduler, values, early flags)


def _by_family(series: list[Series], palette: Palette) -> list[tuple[str, list[Series]]]:
    """The one chart order — family, then the series' median, cheapest first — in panels of
    at most ``MAX_LINES_PER_PANEL`` lines: a family never shares a panel with part of
    another, but whole small families share one (the hybrid alone in a panel would be
    one line on a magnified axis, and a history chart is already one panel per metric tall)."""
    by_name = {item[0]: item for item in series}

    def level(name: str) -> float:
        known = sorted(v for v in by_name[name][1] if v is not None)
        return known[len(known) // 2]

    groups = palette.groups(list(by_name), level)
    packed: list[tuple[list[str], list[str]]] = []  # (family titles, names) per panel
    for group, names in groups:
        if packed and len(packed[-1][1]) + len(names) <= MAX_LINES_PER_PANEL:
            packed[-1][0].append(GROUP_TITLES[group])
            packed[-1][1].extend(names)
            continue
        split = chunks(names, MAX_LINES_PER_PANEL)
        packed += [([GROUP_TITLES[group] + (f" ({i + 1}/{len(split)})" if len(split) > 1 else "")], part)
                   for i, part in enumerate(split)]
    if len(packed) == 1:
        return [("", [by_name[n] for n in packed[0][1]])]
    return [(" — " + ", ".join(titles), [by_name[n] for n in names]) for titles, names in packed]


def _trend_panels(data: TrendData, palette: Palette) -> list[tuple[str, str, list[Series]]]:
    """(title, y label, [(scheduler, values, early flags)]) per panel, one family per panel
    and at most ``MAX_LINES_PER_PANEL`` lines each; series with no value at all are left out."""
    panels = []

    def useful(values: Sequence[float | None]) -> bool:
        return any(v is not None for v in values)

    switch = [(name, v, data.switch_early.get(name, [False] * len(v)))
              for name, v in data.switch_x_floor.items() if useful(v)]
    for part, chunk in _by_family(switch, palette):
        panels.append((f"Switch cost ÷ bare send of the same file{part}", "× bare send (log)", chunk))
    for scale in data.scales:
        p99 = [(name, v, data.p99_early.get((name, s), [False] * len(v)))
               for (name, s), v in data.p99_us.items() if s == scale and useful(v)]
        for part, chunk in _by_family(p99, palette):
            panels.append((f"Timer p99 lateness at {scale_label(scale)}{part}", "p99 lateness (µs, log)", chunk))
    return panels


def draw_trends(data: TrendData, palette: Palette) -> Drawn | None:
    """Switch cost as a multiple of the same file's bare send (so a faster machine does not
    look like a faster scheduler) and timed p99 per time scale, over the history, oldest
    left; at most eight lines per panel. EARLY values are hollow markers."""
    n = len(data.labels)
    panels = _trend_panels(data, palette)
    lines = [values for _, _, chunk in panels for _, values, _ in chunk]
    if n < 2 or not lines or all(sum(v is not None for v in values) < 2 for values in lines):
        return None
    width = max(1000, 60 * n + 420)
    fig = figure(width, 110 + 300 * len(panels))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    xs = list(range(n))
    for ax, (title, ylabel, chunk) in zip(axes, panels, strict=True):
        for name, series, early in chunk:
            style = palette[name]
            ys = [math.nan if v is None else v for v in series]
            ax.plot(xs, ys, label=safe(name), **line_kwargs(style, markersize=6))
            hollow = [(x, v) for x, v, e in zip(xs, series, early, strict=True) if e and v is not None]
            if hollow:
                ax.plot([x for x, _ in hollow], [v for _, v in hollow], linestyle="none", marker=style.marker,
                        markersize=11, markerfacecolor="white", markeredgecolor="#000000", zorder=5)
        values = [v for _, vs, _ in chunk for v in vs if v is not None]
        ax.set_yscale("log")
        low, high = log_limits(values)
        ax.set_ylim(low, high)
        log_axis(ax.yaxis, low, high)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10.5, loc="left")
        # Legend top-down like the lines (most expensive on top).
        handles = scheduler_handles([name for name, _, _ in reversed(chunk)], palette, bars=False)
        if any(any(e) for _, _, e in chunk):
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=10, markerfacecolor="white",
                                  markeredgecolor="#000000", label="EARLY run"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8.5, borderaxespad=0)
        grid(ax)
    bottom = axes[-1]
    bottom.set_xticks(xs, labels=[safe(label) for label in data.labels], fontsize=8)
    bottom.set_xlim(-0.4, n - 0.6)
    bottom.set_xlabel("results file (date, commit; + = uncommitted changes), oldest first")
    suptitle(fig, f"Trends across {n} results files of the same workload")
    alt = f"Line charts over {n} results files (oldest first) of switch cost per scheduler as a multiple of the " \
          f"bare send of the same file, and timed p99 lateness in µs per time scale; " \
          f"schedulers: {', '.join(data.schedulers)}."
    return Drawn(fig, "Trends over history", alt)


def trends(data: TrendData, palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_trends(data, palette), path)
