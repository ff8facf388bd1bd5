"""Build a report directory from a loaded results document (and optional history).

Order of writing: charts first, then ``summary.md``, then ``index.html`` last, each file
replaced atomically. A page that is present therefore never points at a chart from an
older build that failed half-way; a failed build leaves the previous page intact.

Stale charts from an earlier build (say ``trends.png`` when ``--history`` is no longer
given) are removed, so the directory always matches its page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.results.model import Document
from bench.results.store import atomic_write
from reports import charts, data, html_page, markdown
from reports.history import History
from reports.palette import Palette

INDEX = "index.html"
SUMMARY = "summary.md"
CHART_NAMES = (charts.SWITCH_COST, charts.INSTRUCTIONS, charts.LATENESS_PERCENTILES, charts.CPU_COST,
               charts.LATENESS_VS_LOAD, charts.SCALING, charts.TRENDS)
#: Charts earlier versions wrote: removed from a report directory like any stale chart.
RETIRED_CHART_NAMES = ("lateness_cdf.png",)


@dataclass(frozen=True)
class Report:
    directory: Path
    index: Path
    summary: Path
    charts: list[charts.ChartFile]
    missing: list[tuple[str, str]]  # (chart title, why it was not drawn)


def write_text(path: Path, text: str) -> None:
    """Every report file goes through the one atomic writer the results use."""
    atomic_write(path, text)


def palette_for(document: Document, history: History | None, instructions: Document | None = None) -> Palette:
    """One palette for every name in the report, history included, so colours agree."""
    names = data.scheduler_names(document)
    for doc in [*(history.documents if history else ()), *([instructions] if instructions else [])]:
        names += data.scheduler_names(doc)
    return Palette(names)


def build(document: Document, source: Path, out: Path, history: History | None = None,
          instructions: Document | None = None) -> Report:
    """Write the report into ``out`` (created if needed). OSError propagates to the caller.

    ``instructions``: an instruction-count file (``--measure instructions``) to chart and
    tabulate beside the wall-time figures of ``document``.
    """
    out.mkdir(parents=True, exist_ok=True)
    palette = palette_for(document, history, instructions)
    switch, timed, scaling = data.switch_data(document), data.timed_data(document), data.scaling_data(document)
    plans: list[tuple[str, str, Callable[[Path], charts.ChartFile | None], str]] = [
        ("Switch cost per resume", charts.SWITCH_COST, lambda p: charts.switch_cost(switch, palette, p),
         "no charted switch-mode run"),
        ("Timer lateness by percentile", charts.LATENESS_PERCENTILES,
         lambda p: charts.lateness_percentiles(timed, palette, p),
         "no charted timed-mode run with a lateness histogram"),
        ("CPU cost per wake", charts.CPU_COST, lambda p: charts.cpu_cost(timed, palette, p),
         "no charted timed-mode run"),
        ("Lateness against load", charts.LATENESS_VS_LOAD, lambda p: charts.lateness_vs_load(timed, palette, p),
         "needs charted timed-mode runs at two time scales at least" if timed.points
         else "no charted timed-mode run"),
        ("Scaling with N", charts.SCALING, lambda p: charts.scaling(scaling, palette, p),
         "the results file has no scaling section" if scaling is None
         else "no scaling series has two successful sizes"),
    ]
    if instructions is not None:
        counted = data.instruction_data(instructions)
        plans.insert(1, ("Instructions per switch", charts.INSTRUCTIONS,
                         lambda p: charts.instructions(counted, switch, palette, p),
                         "no VALID switch-mode run in the instruction file"))
    if history is not None:
        trend = data.trend_data(history.documents)
        plans.append(("Trends over history", charts.TRENDS, lambda p: charts.trends(trend, palette, p),
                      "fewer than two readable results files with a common series in the history"))
    drawn, missing = [], []
    for title, name, draw, why in plans:
        chart = draw(out / name)
        if chart is None:
            missing.append((title, why))
        else:
            drawn.append(chart)
    for stale in {*CHART_NAMES, *RETIRED_CHART_NAMES} - {c.name for c in drawn}:
        (out / stale).unlink(missing_ok=True)
    summary = out / SUMMARY
    write_text(summary, markdown.render(document, [c.name for c in drawn], instructions))
    index = out / INDEX
    write_text(index, html_page.render(html_page.PageInput(document, source, drawn, missing, palette, history,
                                                           instructions)))
    return Report(out, index, summary, drawn, missing)
