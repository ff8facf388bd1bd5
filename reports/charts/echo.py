"""Echo servers (``python -m bench echo``): latency against offered load.

One panel per (message size, connections) cell of the echo file (small multiples when
there are several; a cell with more than ``MAX_LINES_PER_PANEL`` servers is split). In a
panel, x is the offered rate (messages per second, linear: the load the clients asked
for, not what came back) and y the latency in µs on a log axis (it spans decades between
an idle server and a saturated one), counted from each message's *intended* send time.

Each VALID server has its p99 as a solid line and its p50 as a thin dotted one, in the
scheduler's colour, with a marker at each measured point; variants of one scheduler share
its colour and differ by marker (``reports.echo_data``). The 1 ms knee is ringed on the
p99 line. Client-limited points (the load generator ran out of CPU) are drawn hollow and
grey, never joined to the server's line: they measured the client. Servers that are not
VALID are not drawn and are named, with their status, in the footnote. The 1 ms and 10 ms
bounds of the knees are dashed grey lines.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from bench.present import units
from bench.present.echo_table import BOUNDS_US, lower_bound
from reports.charts.style import (
    CONTEXT_COLOUR,
    MAX_LINES_PER_PANEL,
    NOTE_CHARS,
    ChartFile,
    Drawn,
    chunks,
    figure,
    footnote,
    grid,
    grid_shape,
    outline,
    panels,
    safe,
    suptitle,
    write,
)
from reports.charts.ticks import log_axis, log_limits
from reports.echo_data import EchoCell, EchoLine, rate
from reports.palette import GROUP_ORDER, GROUP_TITLES, NEUTRAL, OUTLINE, Palette, Style

ECHO_LATENCY = "echo_latency.png"

FOOTNOTE = ("latency counted from the intended send time (open loop, coordinated-omission free); "
            "knees refined to 5 %")
#: Client-limited points: hollow, in this grey, whoever the server.
LIMITED_EDGE = "#8a8a8a"
KNEE_RING_PX = 15
#: Most servers named one by one in the "not drawn" note.
NOT_DRAWN_NAMED = 3


def _panels_of(cell: EchoCell, palette: Palette) -> list[tuple[list[EchoLine], str]]:
    """The cell's servers in the one chart order — family of the server's scheduler, then
    the echo table's order (best 1 ms knee first) — one panel per family and at most
    ``MAX_LINES_PER_PANEL`` servers per panel, with their titles."""
    rank = {line.name: i for i, line in enumerate(cell.lines)}
    by_family: dict[str, list[EchoLine]] = {}
    for line in sorted(cell.lines, key=lambda ln: (GROUP_ORDER.index(palette.family(ln.server.scheduler)),
                                                      rank[ln.name])):
        by_family.setdefault(palette.family(line.server.scheduler), []).append(line)
    out = []
    for family, lines in by_family.items():
        groups = chunks(lines, MAX_LINES_PER_PANEL)
        out += [(group, f"{cell.title}\n{GROUP_TITLES[family]}" + (f" ({i}/{len(groups)})" if len(groups) > 1 else ""))
                for i, group in enumerate(groups, 1)]
    return out


def _context(ax: Axes, lines: list[EchoLine]) -> None:
    """The p99 of the cell's servers drawn in other panels, thin and light grey, so a
    family's panel still shows where the others stand."""
    for line in lines:
        drawn = line.drawn
        ax.plot([p.offered_rate or 0.0 for p in drawn],
                [p.p99_us if p.p99_us and p.p99_us > 0 else math.nan for p in drawn],
                color=CONTEXT_COLOUR, linewidth=1, zorder=1)


def _line_style(style: Style, marker: str, width: float, size: float) -> dict[str, Any]:
    return {"color": style.colour, "linewidth": width, "marker": marker, "markersize": size,
            "markeredgecolor": OUTLINE if style.light else style.colour, **outline(style, width)}


def _draw_line(ax: Axes, line: EchoLine, style: Style) -> list[float]:
    """One server's p99 (solid), p50 (dotted), knee ring and client-limited points; returns
    the latencies drawn (for the axis limits)."""
    drawn = line.drawn
    xs = [p.offered_rate or 0.0 for p in drawn]
    p99 = [p.p99_us if p.p99_us and p.p99_us > 0 else math.nan for p in drawn]
    p50 = [p.p50_us if p.p50_us and p.p50_us > 0 else math.nan for p in drawn]
    ax.plot(xs, p99, linestyle="-", zorder=4, **_line_style(style, line.marker, 1.9, 6.5))
    ax.plot(xs, p50, linestyle=":", zorder=3, **_line_style(style, line.marker, 1.1, 4))
    point = line.knee_point()
    if point is not None and point.p99_us:
        ax.plot([point.offered_rate or 0.0], [point.p99_us], linestyle="none", marker="o", markersize=KNEE_RING_PX,
                color=style.colour, markerfacecolor="none", markeredgecolor=OUTLINE if style.light else style.colour,
                markeredgewidth=2.0, zorder=5)
    limited = line.limited
    for attr, size, width in (("p99_us", 6.5, 1.3), ("p50_us", 4.0, 1.0)):
        shown = [(p.offered_rate or 0.0, v) for p in limited if (v := getattr(p, attr)) is not None and v > 0]
        if shown:
            ax.plot([x for x, _ in shown], [y for _, y in shown], linestyle="none", color=LIMITED_EDGE,
                    marker=line.marker, markersize=size, markerfacecolor="white", markeredgecolor=LIMITED_EDGE,
                    markeredgewidth=width, zorder=4 if attr == "p99_us" else 3)
    return [v for v in (*p99, *p50, *(p.p99_us for p in limited), *(p.p50_us for p in limited))
            if v is not None and v > 0 and not math.isnan(v)]


def _server_label(line: EchoLine, with_knee: bool) -> str:
    if not with_knee:
        return safe(line.name)
    value = line.knee_1ms
    if value is None:
        return safe(f"{line.name}: no 1 ms knee")
    return safe(f"{line.name}: 1 ms knee {'≥ ' if lower_bound(line.server) else ''}{rate(value)}/s")


def _handles(shown: list[tuple[list[EchoLine], str]], cells: list[EchoCell], palette: Palette) -> list[Any]:
    lines = list({line.name: line for group, _ in shown for line in group}.values())
    single = len(cells) == 1
    handles: list[Any] = [Line2D([], [], linestyle="-", label=_server_label(line, single),
                                 **_line_style(palette[line.server.scheduler], line.marker, 1.9, 6.5))
                          for line in lines]
    handles.append(Line2D([], [], color="#444444", linewidth=1.9, label="solid: p99"))
    handles.append(Line2D([], [], color="#444444", linewidth=1.1, linestyle=":", label="dotted: p50 (median)"))
    handles.append(Line2D([], [], linestyle="none", marker="o", markersize=KNEE_RING_PX * 0.8,
                          markerfacecolor="none", markeredgecolor="#444444", markeredgewidth=2.0,
                          label="ringed: 1 ms knee, the highest\noffered rate with p99 < 1 ms"))
    if any(line.limited for cell in cells for line in cell.lines):
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=6.5, markerfacecolor="white",
                              markeredgecolor=LIMITED_EDGE, markeredgewidth=1.3,
                              label="client-limited: not the\nserver's figure"))
    handles.append(Line2D([], [], color=NEUTRAL, linestyle="--", linewidth=1.0,
                          label="p99 bounds of the knees:\n1 ms and 10 ms"))
    handles.append(Line2D([], [], color=CONTEXT_COLOUR, linewidth=2,
                          label="light grey: p99 of the\nother panels' servers"))
    return handles


def _notes(cells: list[EchoCell]) -> list[str]:
    lines = [FOOTNOTE]
    bounded = sorted({line.name for cell in cells for line in cell.lines if lower_bound(line.server)})
    if bounded:
        lines.append(f"Knee ≥: a lower bound for {', '.join(bounded)} — no load above it broke 1 ms before the "
                     "client ran out of CPU or the sweep ended.")
    missing = [(cell, s) for cell in cells for s in cell.not_drawn]
    several = len(cells) > 1
    if len(missing) <= NOT_DRAWN_NAMED:
        for cell, s in missing:
            why = "; ".join(s.reasons) or ("no load point that is the server's figure" if s.status == "valid"
                                           else "no reason recorded")
            where = f" at {cell.size:,} B × {cell.connections}" if several else ""
            line = f"Not drawn: {s.name}{where} ({s.status.upper()}) — {why}"
            lines.append(line if len(line) <= NOTE_CHARS else line[:NOTE_CHARS - 1] + "…")
    else:
        names = dict.fromkeys(f"{s.name} ({s.status.upper()})" for _, s in missing)
        lines.append(f"Not drawn: {', '.join(names)} — see the report for reasons.")
    return lines


def _alt(cells: list[EchoCell]) -> str:
    parts = []
    for cell in cells:
        servers = []
        for line in cell.lines:
            value = line.knee_1ms
            knee_text = "no 1 ms knee" if value is None else \
                f"1 ms knee {'at least ' if lower_bound(line.server) else ''}{rate(value)}/s"
            light = line.drawn[0]
            servers.append(f"{line.name} {knee_text}, p99 {units.with_unit(light.p99_us, 'µs')} at "
                           f"{rate(light.offered_rate)}/s, {len(line.drawn)} point(s)"
                           + (f", {len(line.limited)} client-limited" if line.limited else ""))
        not_drawn = "; not drawn: " + ", ".join(f"{s.name} {s.status.upper()}" for s in cell.not_drawn) \
            if cell.not_drawn else ""
        parts.append(f"{cell.title}: " + "; ".join(servers) + not_drawn)
    return ("Line charts of echo latency in µs (log y) against offered load in messages per second (linear x), "
            "p99 solid and p50 dotted per server: " + " | ".join(parts) + ".")


def draw_echo_latency(cells: list[EchoCell], palette: Palette) -> Drawn | None:
    """Latency (log µs) against offered load (linear messages/s), one panel per cell."""
    shown = [p for cell in cells for p in _panels_of(cell, palette)]
    if not shown:
        return None
    notes = _notes(cells)
    rows, columns = grid_shape(len(shown), max_columns=2)
    fig = figure(1200, 130 + (470 if columns == 1 else 400) * rows + 16 * len(notes))
    axes = panels(fig, len(shown), max_columns=2)
    for ax, (group, title) in zip(axes, shown, strict=True):
        values: list[float] = list(BOUNDS_US.values())
        top = 0.0
        cell = next(c for c in cells if group[0] in c.lines)
        _context(ax, [line for line in cell.lines if line not in group])
        for line in group:
            values += _draw_line(ax, line, palette[line.server.scheduler])
            top = max([top, *(p.offered_rate or 0.0 for p in line.server.points if p.mode == "open")])
        for bound in BOUNDS_US.values():
            ax.axhline(bound, color=NEUTRAL, linestyle="--", linewidth=1.0, zorder=2)
        ax.set_xlim(0, top * 1.05 if top > 0 else 1)
        ax.xaxis.set_major_formatter(FuncFormatter(units.compact))
        ax.set_yscale("log")
        low, high = log_limits(values)
        ax.set_ylim(low, high)
        log_axis(ax.yaxis, low, high)
        ax.set_title(safe(title), fontsize=10.5)
        ax.set_xlabel("offered load (messages/s, linear)")
        grid(ax)
    for i, ax in enumerate(axes):
        if i % columns == 0:
            ax.set_ylabel("latency from intended send (µs, log)")
    # Right of the top-right panel: the layout keeps an axes legend clear of the title.
    axes[min(columns, len(axes)) - 1].legend(handles=_handles(shown, cells, palette), loc="upper left",
                                             bbox_to_anchor=(1.02, 1), fontsize=8.5, borderaxespad=0)
    suptitle(fig, "Echo servers: latency against offered load (open loop), p99 solid and p50 dotted")
    footnote(fig, notes)
    return Drawn(fig, "Echo servers: latency against offered load", _alt(cells))


def echo_latency(cells: list[EchoCell], palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_echo_latency(cells, palette), path)
