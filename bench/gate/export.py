"""Export a results file's figures for continuous-benchmarking services. Pure functions.

Two formats, both "smaller is better", both carrying only ``valid`` runs (an INVALID or
failed run has no figure worth tracking; its absence is the signal):

* ``github-action-benchmark``: the action's ``customSmallerIsBetter`` tool reads a JSON
  list of ``{"name", "unit", "value", "range"?, "extra"?}``; ``value`` is a number,
  ``range`` and ``extra`` are free text shown in the chart's tooltip.
* ``bencher``: Bencher Metric Format (BMF), ``{benchmark: {measure: {"value",
  "lower_value"?, "upper_value"?}}}``. Switch cost uses Bencher's built-in ``latency``
  measure (nanoseconds); the timed figures use measures named with their unit
  (``cpu-per-wake-us``, ``lateness-p50-us``, ``lateness-p99-us``), which Bencher creates
  on first upload. ``lower_value``/``upper_value`` are the lowest and highest value over
  the worker processes.

Which figures exist, their units and values come from the figure registry
(``bench.results.figures``), the same one ``show`` and ``compare`` use: switch cost is the
mean over all pyperf values, CPU per wake the mean over processes, lateness percentiles are
over all wakes pooled, instruction counts the mean over Valgrind repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.results.figures import FIGURES, benchmark_name
from bench.results.model import Document

FORMATS = ("github-action-benchmark", "bencher")
UNITS = {"ns": "ns/switch", "µs": "µs", "instructions": "instructions"}


@dataclass(frozen=True)
class ExportFigure:
    benchmark: str  # pyperf-style: "switch/heapq", "timed/0.01/heapq", "instructions/switch/heapq"
    figure: str  # the registry's label: "switch cost", "CPU per wake", …
    measure: str  # Bencher measure slug
    unit: str
    value: float
    spread: float | None  # one standard deviation, for "range"
    lowest: float | None  # over processes (or Valgrind repeats)
    highest: float | None
    processes: int


def _spread(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if arr.size > 1 else None
    return std, float(arr.min()), float(arr.max())


def figures(document: Document) -> list[ExportFigure]:
    """Every exportable figure of the valid runs, in results-file order."""
    out: list[ExportFigure] = []
    for run in document.runs:
        if not run.status.ranked:
            continue
        for figure in FIGURES:
            value = figure.value(run) if figure.applies(run) else None
            if value is None:
                continue
            samples = figure.samples(run)
            std, low, high = _spread(samples)
            if run.switch is not None and figure.key == "switch":
                std = run.switch.std_s * 1e9
            # A pooled percentile can fall outside the per-process ones; widen to hold it.
            low = None if low is None else min(low, value)
            high = None if high is None else max(high, value)
            unit = "µs/wake" if figure.key == "cpu_per_wake" else UNITS.get(figure.unit, figure.unit)
            out.append(ExportFigure(benchmark_name(run), figure.label, figure.bencher_measure, unit, value, std,
                                    low, high, len(samples)))
    return out


def github_action_benchmark(document: Document) -> list[dict[str, Any]]:
    """customSmallerIsBetter entries: ``[{"name", "unit", "value", "range"?, "extra"?}]``."""
    commit = ", ".join(document.commit_labels)
    out = []
    for f in figures(document):
        entry: dict[str, Any] = {"name": f"{f.benchmark} {f.figure}", "unit": f.unit, "value": f.value}
        if f.spread is not None:
            entry["range"] = f"± {f.spread:.4g}"
        extra = f"{f.processes} processes"
        if f.lowest is not None and f.highest is not None:
            extra += f"; per process {f.lowest:.4g} … {f.highest:.4g}"
        entry["extra"] = f"{extra}; preset {document.preset}; commit {commit}"
        out.append(entry)
    return out


def bencher(document: Document) -> dict[str, dict[str, dict[str, float]]]:
    """Bencher Metric Format: ``{benchmark: {measure: {"value", "lower_value"?, "upper_value"?}}}``."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for f in figures(document):
        metric = {"value": f.value}
        if f.lowest is not None and f.highest is not None:
            metric["lower_value"] = f.lowest
            metric["upper_value"] = f.highest
        out.setdefault(f.benchmark, {})[f.measure] = metric
    return out


def export(document: Document, fmt: str) -> Any:
    if fmt == "github-action-benchmark":
        return github_action_benchmark(document)
    if fmt == "bencher":
        return bencher(document)
    raise ValueError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")


def count(payload: Any) -> int:
    """How many figures an ``export`` payload holds."""
    if isinstance(payload, list):
        return len(payload)
    return sum(len(measures) for measures in payload.values())
