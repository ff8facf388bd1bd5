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

The exported value of each figure is the one ``python -m bench show`` prints: switch cost
is the mean over all pyperf values, CPU per wake the mean over processes, lateness
percentiles are over all wakes pooled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.results.store import RANKED_STATUSES, section

FORMATS = ("github-action-benchmark", "bencher")


@dataclass(frozen=True)
class ExportFigure:
    benchmark: str  # pyperf-style: "switch/heapq", "timed/0.01/heapq"
    figure: str  # "switch cost", "CPU per wake", "lateness p50", "lateness p99"
    measure: str  # Bencher measure slug
    unit: str
    value: float
    spread: float | None  # one standard deviation, for "range"
    lowest: float | None  # over processes
    highest: float | None
    processes: int


def _spread(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if arr.size > 1 else None
    return std, float(arr.min()), float(arr.max())


def figures(document: dict[str, Any]) -> list[ExportFigure]:
    """Every exportable figure of the valid runs, in results-file order."""
    out: list[ExportFigure] = []
    for run in section(document)["runs"]:
        if run["status"] not in RANKED_STATUSES:
            continue
        scheduler = run["scheduler"]
        sw, timed = run.get("switch"), run.get("timed")
        if run["mode"] == "switch" and sw:
            per_process = [v * 1e9 for v in sw.get("values_s") or []]
            _, low, high = _spread(per_process)
            std = sw.get("std_s")
            out.append(ExportFigure(f"switch/{scheduler}", "switch cost", "latency", "ns/switch", sw["mean_s"] * 1e9,
                                    None if std is None else std * 1e9, low, high, len(per_process)))
        elif run["mode"] == "timed" and timed:
            name = f"timed/{float(run['time_scale']):g}/{scheduler}"
            cpu = [float(v) for v in timed.get("cpu_per_wake_us_values") or []]
            std, low, high = _spread(cpu)
            out.append(ExportFigure(name, "CPU per wake", "cpu-per-wake-us", "µs/wake", float(timed["cpu_per_wake_us"]),
                                    std, low, high, len(cpu)))
            late = timed.get("lateness_us") or {}
            for key in ("p50", "p99"):
                if late.get(key) is None:
                    continue
                per_process = [float(p["lateness_us"][key]) for p in run.get("processes") or []
                               if (p.get("lateness_us") or {}).get(key) is not None]
                std, low, high = _spread(per_process)
                value = float(late[key])
                # The pooled percentile can fall outside the per-process ones; widen to hold it.
                low = None if low is None else min(low, value)
                high = None if high is None else max(high, value)
                out.append(ExportFigure(name, f"lateness {key}", f"lateness-{key}-us", "µs", value, std, low, high,
                                        len(per_process)))
    return out


def github_action_benchmark(document: dict[str, Any]) -> list[dict[str, Any]]:
    """customSmallerIsBetter entries: ``[{"name", "unit", "value", "range"?, "extra"?}]``."""
    env = section(document)["environment"]
    commit = (env.get("commit") or "unknown")[:12]
    out = []
    for f in figures(document):
        entry: dict[str, Any] = {"name": f"{f.benchmark} {f.figure}", "unit": f.unit, "value": f.value}
        if f.spread is not None:
            entry["range"] = f"± {f.spread:.4g}"
        extra = f"{f.processes} processes"
        if f.lowest is not None and f.highest is not None:
            extra += f"; per process {f.lowest:.4g} … {f.highest:.4g}"
        entry["extra"] = f"{extra}; preset {section(document).get('preset', '?')}; commit {commit}"
        out.append(entry)
    return out


def bencher(document: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Bencher Metric Format: ``{benchmark: {measure: {"value", "lower_value"?, "upper_value"?}}}``."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for f in figures(document):
        metric = {"value": f.value}
        if f.lowest is not None and f.highest is not None:
            metric["lower_value"] = f.lowest
            metric["upper_value"] = f.highest
        out.setdefault(f.benchmark, {})[f.measure] = metric
    return out


def export(document: dict[str, Any], fmt: str) -> Any:
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
