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

from bench.results.echo_file import EchoDocument
from bench.results.model import Document
from bench.results.store import atomic_write
from reports import data, echo_data, html_page, io_data, markdown
from reports.charts import cpu, echo, io, lateness, scaling, switch, trends
from reports.charts import instructions as instruction_chart
from reports.charts.style import ChartFile, Drawn, write
from reports.history import History
from reports.palette import Palette, families_of

INDEX = "index.html"
SUMMARY = "summary.md"
CHART_NAMES = (switch.SWITCH_COST, instruction_chart.INSTRUCTIONS, lateness.LATENESS_PERCENTILES, cpu.CPU_COST,
               io.IO_COST, echo.ECHO_LATENCY, lateness.LATENESS_VS_LOAD, scaling.SCALING, trends.TRENDS)
#: Charts earlier versions wrote: removed from a report directory like any stale chart.
RETIRED_CHART_NAMES = ("lateness_cdf.png",)


@dataclass(frozen=True)
class Report:
    directory: Path
    index: Path
    summary: Path
    charts: list[ChartFile]
    missing: list[tuple[str, str]]  # (chart title, why it was not drawn)


def write_text(path: Path, text: str) -> None:
    """Every report file goes through the one atomic writer the results use."""
    atomic_write(path, text)


def palette_for(document: Document, history: History | None, instructions: Document | None = None,
                echo_file: EchoDocument | None = None) -> Palette:
    """One palette for every name in the report, history and echo servers included, so
    colours agree (an echo server takes its scheduler's colour). Families are read from
    the runs of every file (a recorded one wins over an older file's None), never guessed
    from a name: charts order and group schedulers by them."""
    docs = [document, *(history.documents if history else ()), *([instructions] if instructions else [])]
    names = [n for doc in docs for n in data.scheduler_names(doc)]
    if echo_file is not None:
        names += echo_data.scheduler_names(echo_file)
    recorded = [(run.scheduler, run.family) for doc in docs for run in doc.runs]
    recorded += [(p.scheduler, p.family) for doc in docs for p in (doc.scaling.points if doc.scaling else ())]
    if echo_file is not None:
        recorded += [(server.scheduler, server.family) for server in echo_file.servers]
    return Palette(names, families_of(recorded))


@dataclass(frozen=True)
class ChartPlan:
    """A chart the report may draw: ``draw`` returns the finished figure, or None with
    ``why`` saying what it needs. The seam between choosing charts and writing them: the
    layout test draws every plan without writing a file."""

    title: str
    name: str  # file name inside the report directory
    draw: Callable[[], Drawn | None]
    why: str


def chart_plans(document: Document, palette: Palette, history: History | None = None,
                instructions: Document | None = None, syscalls: Document | None = None,
                echo_file: EchoDocument | None = None) -> list[ChartPlan]:
    """Every chart the report may draw, in the page's order (see ``build`` for the inputs)."""
    switch_runs, timed_runs = data.switch_data(document), data.timed_data(document)
    sweep = data.scaling_data(document)
    plans = [
        ChartPlan("Switch cost per resume", switch.SWITCH_COST, lambda: switch.draw_switch_cost(switch_runs, palette),
                  "no charted switch-mode run"),
        ChartPlan("Timer lateness by percentile", lateness.LATENESS_PERCENTILES,
                  lambda: lateness.draw_lateness_percentiles(timed_runs, palette),
                  "no charted timed-mode run with a lateness histogram"),
        ChartPlan("CPU cost per wake", cpu.CPU_COST, lambda: cpu.draw_cpu_cost(timed_runs, palette),
                  "no charted timed-mode run"),
        ChartPlan("Lateness against load", lateness.LATENESS_VS_LOAD,
                  lambda: lateness.draw_lateness_vs_load(timed_runs, palette),
                  "needs charted timed-mode runs at two time scales at least" if timed_runs.points
                  else "no charted timed-mode run"),
        ChartPlan("Scaling with N", scaling.SCALING, lambda: scaling.draw_scaling(sweep, palette),
                  "the results file has no scaling section" if sweep is None
                  else "no scaling series has two successful sizes"),
    ]
    if echo_file is not None:
        echo_cells = echo_data.cells(echo_file, palette)
        plans.insert(1, ChartPlan("Echo servers: latency against offered load", echo.ECHO_LATENCY,
                                  lambda: echo.draw_echo_latency(echo_cells, palette),
                                  "no VALID echo server with a load point that is not client-limited"))
    if document.runs_in("io"):
        # Only a file with io runs mentions the io chart at all, drawn or not.
        sockets = io_data.io_data(document)
        calls = io_data.syscalls_per_wake(syscalls) if syscalls is not None else None
        plans.insert(1, ChartPlan("Waiting on sockets: cost per resume", io.IO_COST,
                                  lambda: io.draw_io_cost(sockets, palette, calls), "no io-mode run with a figure"))
    if instructions is not None:
        counted = data.instruction_data(instructions)
        plans.insert(1, ChartPlan("Instructions per switch", instruction_chart.INSTRUCTIONS,
                                  lambda: instruction_chart.draw_instructions(counted, switch_runs, palette),
                                  "no VALID switch-mode run in the instruction file"))
    if history is not None:
        trend = data.trend_data(history.documents)
        readable = len(history.documents)
        plans.append(ChartPlan(
            "Trends over history", trends.TRENDS, lambda: trends.draw_trends(trend, palette),
            f"a trend needs two results files with a common series; there {'is' if readable == 1 else 'are'} "
            f"{readable}, this one included" + (" (each `make bench` adds one to the history)" if readable < 2
                                                else "")))
    return plans


def build(document: Document, source: Path, out: Path, history: History | None = None,
          instructions: Document | None = None, syscalls: Document | None = None,
          echo_file: EchoDocument | None = None, echo_source: Path | None = None) -> Report:
    """Write the report into ``out`` (created if needed). OSError propagates to the caller.

    ``instructions``: an instruction-count file (``--measure instructions``) to chart and
    tabulate beside the wall-time figures of ``document``; ``syscalls``: a syscall-count
    file (``--measure syscalls``) whose io counts become the io chart's second panel;
    ``echo_file``: an echo file (``python -m bench echo``, read from ``echo_source``) for the
    "latency under load" answer, its table and chart.
    """
    out.mkdir(parents=True, exist_ok=True)
    palette = palette_for(document, history, instructions, echo_file)
    drawn, missing = [], []
    for plan in chart_plans(document, palette, history, instructions, syscalls, echo_file):
        chart = write(plan.draw(), out / plan.name)
        if chart is None:
            missing.append((plan.title, plan.why))
        else:
            drawn.append(chart)
    for stale in {*CHART_NAMES, *RETIRED_CHART_NAMES} - {c.name for c in drawn}:
        (out / stale).unlink(missing_ok=True)
    summary = out / SUMMARY
    write_text(summary, markdown.render(document, [c.name for c in drawn], instructions, echo_file))
    index = out / INDEX
    write_text(index, html_page.render(html_page.PageInput(document, source, drawn, missing, palette, history,
                                                           instructions, echo_file, echo_source)))
    return Report(out, index, summary, drawn, missing)
