"""Waiting on sockets (io mode): cost per resume as the I/O floor plus what the scheduler adds.

One horizontal bar per io run, in the one chart order: by family (production loops, this
project, third-party, teaching), least overhead first within each, runs that are not VALID
after the ranked ones of their family. The rank under a name is the io table's. A bar is
stacked like a switch bar: the I/O floor (the same grey for everyone: the same sockets on
raw epoll, the cheapest correct loop) and the overhead on top in the scheduler's colour, on
a linear axis, so the coloured length is what the scheduler adds per readiness wake. A cost
at or under the floor is not a negative bar: the grey bar stops at the cost, short of the
floor line, with a marker there.

Runs that are not VALID are greyed, with their status under the name, and never ranked.
Of those, only EARLY runs have a bar (greyed and hatched): INVALID, SUSPECT and FAILED runs
are never charted (DESIGN §7.1), so their row holds the status and the reason instead of a
value. SKIPPED runs have no row and are listed in the footnote. Figures sit in a column right of the
plot, as in the switch chart, so they never cover a bar.

Given system call counts (``reports.io_data.SyscallsPerWake``), a second panel on the same
rows shows system calls per resume; without them there is no panel at all.
"""

from __future__ import annotations

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
    NOTE_CHARS,
    BarRows,
    ChartFile,
    Drawn,
    family_rows,
    family_rules,
    figure,
    floor_and_overhead,
    footnote,
    grid,
    label_rows,
    safe,
    suptitle,
    write,
)
from reports.io_data import IoBar, IoData, SyscallsPerWake
from reports.palette import OUTLINE, Palette

IO_COST = "io_cost.png"

#: A run that is not VALID: pale fill, grey dashed outline (bars: EARLY only), grey text.
GREYED_FACE = "#eeeeee"
GREYED_EDGE = "#8a8a8a"
GREYED_TEXT = "#6e6e6e"
#: Most system call names written beside a syscalls bar.
SYSCALL_NAMES = 3
#: Longest reason written in the row of a run without a figure (the page has them all).
REASON_CHARS = 48
BAR_HEIGHT = 0.62


def _bar_kw(bar: IoBar, colour: str) -> dict[str, Any]:
    if bar.ranked:
        return {"color": colour, "edgecolor": OUTLINE, "linewidth": 0.8}
    # Not ranked, yet drawn: an EARLY run (no other status is charted).
    return {"color": GREYED_FACE, "edgecolor": GREYED_EDGE, "linewidth": 0.9, "linestyle": (0, (3, 2)),
            "hatch": EARLY_HATCH}


def _draw_bar(ax: Axes, y: int, bar: IoBar, colour: str, compact: bool) -> str:
    """Draw one run's row; return its figure text (``compact``: shorter, when a second panel
    shares the width)."""
    assert bar.mean_ns is not None
    cost = units.with_unit(bar.mean_ns, "ns")
    overhead, floor = bar.overhead_ns, bar.floor_ns
    floor_alpha = 1.0 if bar.ranked else 0.45
    if floor is None or overhead is None:
        ax.barh(y, bar.mean_ns, height=BAR_HEIGHT, zorder=2, **_bar_kw(bar, colour))
    elif overhead > 0:
        ax.barh(y, floor, height=BAR_HEIGHT, color=BODY_FLOOR_COLOUR, edgecolor=OUTLINE, linewidth=0.8,
                alpha=floor_alpha, zorder=2)
        ax.barh(y, overhead, left=floor, height=BAR_HEIGHT, zorder=2, **_bar_kw(bar, colour))
    else:
        ax.barh(y, bar.mean_ns, height=BAR_HEIGHT, color=BODY_FLOOR_COLOUR, edgecolor=OUTLINE, linewidth=0.8,
                alpha=floor_alpha, zorder=2)
        ax.plot([bar.mean_ns], [y], marker="D", markersize=8, linestyle="none", zorder=4,
                color=colour if bar.ranked else GREYED_FACE, markeredgecolor=OUTLINE if bar.ranked else GREYED_EDGE)
    text = cost if floor is None else floor_and_overhead(bar.mean_ns, floor, bar.band_ns, compact)
    ax.errorbar([bar.mean_ns], [y], xerr=[[min(bar.std_ns, bar.mean_ns)], [bar.std_ns]], fmt="none",
                ecolor="#222222" if bar.ranked else GREYED_EDGE, elinewidth=1.2, capsize=4, zorder=3)
    if bar.spurious:
        text += f" · {units.count(bar.spurious)} spurious"
    if not bar.ranked:
        text = f"{bar.status.label}{'' if compact else ', not ranked'}: {text}"
    return text


def _label(ax: Axes, y: int, text: str, ranked: bool) -> None:
    """A figure in the column right of the plot: it never covers a bar."""
    ax.annotate(safe(text), (1, y), xycoords=ax.get_yaxis_transform(), xytext=(8, 0), textcoords="offset points",
                va="center", ha="left", fontsize=9, annotation_clip=False, color="#000000" if ranked else GREYED_TEXT)


def _order(bars: Sequence[IoBar], palette: Palette) -> BarRows:
    """Family first, then least overhead (the whole cost without a floor); unranked runs last."""
    by_name = {b.scheduler: b for b in bars}

    def figure_of(name: str) -> float | None:
        bar = by_name[name]
        return (bar.overhead_ns if bar.overhead_ns is not None else bar.mean_ns) if bar.ranked else None

    return family_rows(palette, list(by_name), figure_of)


def _rows(ax: Axes, bars: Sequence[IoBar], rows: BarRows) -> None:
    """Scheduler names with their rank (or status, greyed), under their family's heading."""
    by_name = {b.scheduler: b for b in bars}
    label_rows(ax, rows, lambda n: safe(n) + (f"\nrank {by_name[n].place}" if by_name[n].ranked
                                               else f"\n{by_name[n].status.label}"))
    labels = ax.get_yticklabels()
    for name, y in rows.y.items():
        if not by_name[name].ranked:
            labels[y].set_color(GREYED_TEXT)


def _syscalls_panel(ax: Axes, bars: Sequence[IoBar], rows: BarRows, syscalls: SyscallsPerWake,
                    palette: Palette) -> None:
    top = 0.0
    for bar in bars:
        y = rows.y[bar.scheduler]
        calls = syscalls.get(bar.scheduler)
        if not calls:
            ax.text(0, y, " not counted", va="center", ha="left", fontsize=8.5, color=GREYED_TEXT)
            continue
        total = sum(calls.values())
        ax.barh(y, total, height=BAR_HEIGHT, zorder=2, **_bar_kw(bar, palette.colour(bar.scheduler)))
        top = max(top, total)
        names = sorted(calls.items(), key=lambda kv: (-kv[1], kv[0]))[:SYSCALL_NAMES]
        _label(ax, y, f"{units.figure(total)}: " + ", ".join(f"{n} {units.figure(v)}" for n, v in names),
               bar.ranked)
    ax.set_yticks(range(rows.count))
    ax.set_ylim(rows.count - 0.5, -0.5)
    family_rules(ax, rows)
    ax.set_xlim(0, top * 1.05 if top > 0 else 1)
    ax.xaxis.set_major_formatter(FuncFormatter(units.tick))
    ax.set_xlabel("system calls per resume (linear)")
    ax.tick_params(labelleft=False)
    grid(ax, "x")
    ax.grid(False, which="minor")


def _handles(data: IoData, below_floor: bool) -> list[Any]:
    bars = data.bars
    handles: list[Any] = []
    if data.floor_ns is not None:
        handles.append(Patch(facecolor=BODY_FLOOR_COLOUR, edgecolor=OUTLINE,
                             label="I/O floor: the same sockets on raw\nepoll, the same for every scheduler"))
        handles.append(Patch(facecolor="#777777", edgecolor=OUTLINE,
                             label="overhead = cost − I/O floor\n(in the scheduler's colour)"))
        floor_text = f"I/O floor = {units.ns(data.floor_ns)}"
        if data.floor_std_ns is not None:
            floor_text += f" ± {units.ns(data.floor_std_ns)}"
        handles.append(Line2D([], [], color="#000000", linestyle="--", linewidth=1.4,
                              label=floor_text + " ns\nper resume"))
    if below_floor:
        handles.append(Line2D([], [], marker="D", markersize=8, color="#777777", markeredgecolor=OUTLINE,
                              linestyle="none", label="cost ≤ I/O floor: no\nmeasurable overhead"))
    handles.append(Line2D([], [], color="#222222", marker="|", markersize=10, linestyle="none",
                          label="error bar: ± std of\npyperf values"))
    if any(not b.ranked and b.mean_ns is not None for b in bars):  # only EARLY runs have such a bar
        handles.append(Patch(facecolor=GREYED_FACE, edgecolor=GREYED_EDGE, linestyle=(0, (3, 2)), hatch=EARLY_HATCH,
                             label="EARLY: valid trace, some wakes\nbefore their deadline; not ranked"))
    return handles


def _notes(data: IoData) -> list[str]:
    lines = []
    if data.pairs is not None:
        size = f", {data.message_size:,}-byte messages" if data.message_size else ""
        lines.append(f"io mode: {data.pairs:,} socket pairs{size}; a resume is a rocket's start or a readiness wake.")
    if data.floor_ns is None:
        lines.append("No I/O floor in this file: each bar is the whole cost per resume, ranked by that cost.")
    skipped = data.skipped
    if skipped and len(skipped) <= 3:
        for s in skipped:
            line = f"Not drawn (SKIPPED): {s.scheduler} — {'; '.join(s.reasons) or 'no reason recorded'}"
            lines.append(line if len(line) <= NOTE_CHARS else line[:NOTE_CHARS - 1] + "…")
    elif skipped:
        lines.append(f"Not drawn (SKIPPED): {', '.join(s.scheduler for s in skipped)} — see the report for reasons.")
    return lines


def draw_io_cost(data: IoData, palette: Palette, syscalls: SyscallsPerWake | None = None) -> Drawn | None:
    """Stacked horizontal bars in the io table's order, linear ns: the I/O floor (grey) and the
    overhead on top (the scheduler's colour), the floor as a dashed line; a second panel of
    system calls per resume when ``syscalls`` holds any count."""
    if data.empty:
        return None
    rows = _order(data.bars, palette)
    bars = sorted(data.bars, key=lambda b: rows.y[b.scheduler])
    below_floor = any(b.overhead_ns is not None and b.overhead_ns <= 0 for b in bars)
    handles = _handles(data, below_floor)
    legend_rows = 2 if len(handles) > 3 else 1
    legend_px = 20 + 36 * legend_rows
    with_syscalls = syscalls is not None and any(syscalls.get(b.scheduler) for b in bars)
    notes = _notes(data)
    fig = figure(1200, 120 + 46 * rows.count + 40 + legend_px + 16 * len(notes))
    # One letter per panel: c(ost), s(yscalls), l(egend), in a row-major layout string.
    axes = fig.subplot_mosaic("cs;ll" if with_syscalls else "c;l", height_ratios=[46 * rows.count + 40, legend_px],
                              width_ratios=[2.2, 1] if with_syscalls else None,
                              gridspec_kw={"wspace": 0.05})
    ax = axes["c"]
    for bar in bars:
        y = rows.y[bar.scheduler]
        colour = palette.colour(bar.scheduler)
        if bar.mean_ns is None:
            why = bar.reasons[0] if bar.reasons else ""
            if len(why) > REASON_CHARS:
                why = why[:REASON_CHARS - 1] + "…"
            what = "no figure" if bar.status.charted else "not charted"
            _label(ax, y, f"{bar.status.label}: {what}" + (f" — {why}" if why else ""), False)
            continue
        _label(ax, y, _draw_bar(ax, y, bar, colour, with_syscalls), bar.ranked)
    if data.floor_ns is not None:
        ax.axvline(data.floor_ns, color="#000000", linestyle="--", linewidth=1.4, zorder=5)
    _rows(ax, bars, rows)
    top = max([b.mean_ns + b.std_ns for b in bars if b.mean_ns is not None] + [data.floor_ns or 0])
    ax.set_xlim(0, top * 1.02)
    ax.xaxis.set_major_formatter(FuncFormatter(units.tick))
    ax.set_xlabel("wall time per resume (ns, linear: bar length is the cost)")
    grid(ax, "x")
    ax.grid(False, which="minor")
    if with_syscalls:
        assert syscalls is not None
        _syscalls_panel(axes["s"], bars, rows, syscalls, palette)
        ax.set_title("cost per resume", fontsize=10, loc="left")
        axes["s"].set_title("system calls per resume", fontsize=10, loc="left")
    legend_ax = axes["l"]
    legend_ax.axis("off")
    legend_ax.legend(handles=handles, loc="center", ncols=max(-(-len(handles) // legend_rows), 1), fontsize=8.5,
                     borderaxespad=0)
    suptitle(fig, "Waiting on sockets (io mode): cost per resume = I/O floor + scheduler overhead, "
                  "by family, least overhead first: mean ± std" if data.floor_ns is not None
             else "Waiting on sockets (io mode): cost per resume by family, cheapest first: mean ± std")
    footnote(fig, notes)
    return Drawn(fig, "Waiting on sockets: cost per resume", _alt(data))


def _alt(data: IoData) -> str:
    parts = []
    for b in data.bars:
        if b.mean_ns is None:
            parts.append(f"{b.scheduler} {b.status.label}, {'no figure' if b.status.charted else 'not charted'}")
            continue
        text = f"{b.scheduler} {units.with_unit(b.mean_ns, 'ns')} ± {units.ns(b.std_ns)}"
        if b.overhead_ns is not None:
            text += f" (overhead {units.with_unit(b.overhead_ns, 'ns')})"
        parts.append(text + (f", rank {b.place}" if b.ranked else f", {b.status.label}, not ranked"))
    alt = "Horizontal bar chart of io-mode cost per resume in ns, least overhead first: " + "; ".join(parts) + "."
    if data.floor_ns is not None:
        alt += f" I/O floor (raw epoll) {units.with_unit(data.floor_ns, 'ns')}."
    if data.skipped:
        alt += " Not drawn (SKIPPED): " + ", ".join(s.scheduler for s in data.skipped) + "."
    return alt


def io_cost(data: IoData, palette: Palette, path: Path, syscalls: SyscallsPerWake | None = None) -> ChartFile | None:
    return write(draw_io_cost(data, palette, syscalls), path)
