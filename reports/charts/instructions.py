"""Instructions per switch next to wall time per switch, one scheduler per row.

Two panels share the rows (fewest instructions first) instead of one panel with two bars
per scheduler: instructions and nanoseconds have no common axis, and side by side a
reader sees at once where the two rankings disagree — the cache misses and system calls
an instruction count cannot see. Each bar is stacked like the switch cost chart: the body
floor of the dialect in grey, the scheduler's overhead in its colour.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from bench.present import units
from reports.charts.style import (
    BODY_FLOOR_COLOUR,
    ChartFile,
    Drawn,
    family_rows,
    family_rules,
    figure,
    footnote,
    grid,
    label_rows,
    not_charted,
    suptitle,
    write,
)
from reports.data import InstructionData, SwitchData
from reports.palette import OUTLINE, Palette

INSTRUCTIONS = "instructions.png"


def draw_instructions(instr: InstructionData, switch: SwitchData | None, palette: Palette) -> Drawn | None:
    """Two panels, one scheduler per row in the same order (by family, fewest instructions
    first within each):
    instructions per resume under Valgrind (exact) and wall time per resume (noisy), each
    stacked as the body floor of its dialect plus the scheduler's overhead. Where the two
    rankings disagree, cache misses and system calls (which an instruction count cannot
    see) are the difference."""
    if not instr.bars:
        return None
    by_name = {b.scheduler: b for b in instr.bars}
    rows = family_rows(palette, list(by_name), lambda n: by_name[n].per_switch)
    bars = sorted(instr.bars, key=lambda b: rows.y[b.scheduler])
    wall = {b.scheduler: b for b in switch.bars} if switch is not None else {}
    fig = figure(1250, 190 + 40 * rows.count)
    left, right = fig.subplots(1, 2, sharey=True)
    for bar in bars:
        y = rows.y[bar.scheduler]
        style = palette[bar.scheduler]
        panels: list[tuple[Axes, float, float | None]] = [(left, bar.per_switch, bar.body_floor)]
        timed = wall.get(bar.scheduler)
        if timed is not None:
            panels.append((right, timed.mean_ns, timed.body_floor_ns))
        for ax, value, floor in panels:
            if floor is not None and value > floor:
                ax.barh(y, floor, height=0.62, color=BODY_FLOOR_COLOUR, edgecolor=OUTLINE, linewidth=0.8, zorder=2)
                ax.barh(y, value - floor, left=floor, height=0.62, color=style.colour, edgecolor=OUTLINE,
                        linewidth=0.8, zorder=2)
            else:
                ax.barh(y, value, height=0.62, color=style.colour, edgecolor=OUTLINE, linewidth=0.8, zorder=2)
    label_rows(left, rows)
    family_rules(right, rows)
    left.set_xlim(0, max(b.per_switch for b in bars) * 1.05)
    left.set_xlabel("instructions per resume (Valgrind, run() alone: exact)")
    right.set_xlabel("wall time per resume (ns, pyperf: noisy; see docs/regressions.md)")
    if wall:
        right.set_xlim(0, max(b.mean_ns for b in wall.values() if b.scheduler in {x.scheduler for x in bars}) * 1.05)
    else:
        right.text(0.5, 0.5, "no wall-time file given", ha="center", va="center", transform=right.transAxes)
    for ax in (left, right):
        ax.xaxis.set_major_formatter(FuncFormatter(units.tick))
        grid(ax, "x")
        ax.grid(False, which="minor")
    suptitle(fig, "Instructions per switch next to wall time per switch (grey: the dialect's body floor)")
    footnote(fig, not_charted(instr.excluded))
    alt = "Two bar charts, one row per scheduler, by family: " + "; ".join(
        f"{b.scheduler} {units.instructions(b.per_switch)} instructions per resume"
        + (f" (body floor {units.instructions(b.body_floor)})" if b.body_floor is not None else "")
        + (f", {units.with_unit(wall[b.scheduler].mean_ns, 'ns')}" if b.scheduler in wall else "") for b in bars) + "."
    return Drawn(fig, "Instructions and wall time per switch", alt)


def instructions(instr: InstructionData, switch: SwitchData | None, palette: Palette, path: Path) -> ChartFile | None:
    return write(draw_instructions(instr, switch, palette), path)
