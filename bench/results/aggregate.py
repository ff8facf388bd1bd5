"""Turn one job's worker records and pyperf benchmark into a results-file run entry.

Pure data in, data out: no I/O beyond reading the record files, so the figures can be
tested on synthetic records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.results import distributions as figures
from bench.workload.rockets import Workload


def read_records(directory: Path) -> list[list[dict[str, Any]]]:
    """Records grouped by worker process (one file per pid), in file-name order.

    A truncated last line (a worker killed mid-write) is ignored rather than fatal.
    """
    groups = []
    for path in sorted(directory.glob("*.jsonl")):
        records = []
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        if records:
            groups.append(records)
    return groups


def worst_status(groups: Sequence[Sequence[dict[str, Any]]]) -> tuple[str, list[str]]:
    """The run's status: the worst of its records' (failed > invalid > early > valid)."""
    order = {"valid": 0, "early": 1, "invalid": 2, "failed": 3}
    status, reasons = "valid", []
    for records in groups:
        for record in records:
            if order[record["status"]] > order[status]:
                status, reasons = record["status"], list(record.get("reasons", []))
    return status, reasons


def process_summary(records: Sequence[dict[str, Any]], workload: Workload) -> dict[str, Any]:
    """One worker process's figures, averaged over its runs (timed mode has one)."""
    n = len(records)
    wall = sum(r["wall_s"] for r in records) / n
    cpu = sum(r["cpu_s"] for r in records) / n
    wasted = [r["wasted"] for r in records if r.get("wasted") is not None]
    out: dict[str, Any] = {
        "runs": n,
        "wall_s": wall,
        "cpu_s": cpu,
        "resumes": records[-1].get("resumes"),
        "wasted": sum(wasted) / len(wasted) if wasted else None,
        "early": sum(r.get("early", 0) for r in records),
        "worst_early_s": max((r.get("worst_early_s", 0.0) for r in records), default=0.0),
    }
    if workload.mode == "timed":
        lateness = [x for r in records for x in r.get("lateness_s", [])]
        out["lateness_us"] = figures.lateness_summary(lateness)
        out["cpu_per_wake_us"] = cpu / workload.total_sleeps * 1e6
    return out


def pyperf_summary(benchmark: Any) -> dict[str, Any]:
    """Mean ± std and median over all of a pyperf benchmark's values, and the mean of each
    worker process (the independent samples ``compare`` tests)."""
    values = [float(v) for v in benchmark.get_values()]
    per_process = [sum(run.values) / len(run.values) for run in benchmark.get_runs() if run.values]
    mean, std = figures.mean_std(values)
    return {"mean_s": mean, "std_s": std, "median_s": float(benchmark.median()), "values_s": per_process}


def switch_figures(benchmark: Any, floor_s: float | None) -> dict[str, Any]:
    """Seconds per resume from pyperf, and the same as a multiple of the floor."""
    out: dict[str, Any] = {**pyperf_summary(benchmark), "x_floor": None, "overhead_ns": None}
    mean = out["mean_s"]
    if floor_s:
        out["x_floor"] = mean / floor_s
        out["overhead_ns"] = (mean - floor_s) * 1e9
    return out


def timed_figures(groups: Sequence[Sequence[dict[str, Any]]], workload: Workload) -> dict[str, Any]:
    records = [r for group in groups for r in group]
    lateness = [x for r in records for x in r.get("lateness_s", [])]
    runs = len(records)
    wall = [r["wall_s"] for r in records]
    cpu = [r["cpu_s"] for r in records]
    wasted = [r["wasted"] for r in records if r.get("wasted") is not None]
    wakes = workload.total_sleeps
    makespan, makespan_std = figures.mean_std(wall)
    early = sum(r.get("early", 0) for r in records)
    return {
        "runs": runs,
        "wakes": len(lateness),
        "lateness_us": figures.lateness_summary(lateness),
        "lateness_hist": figures.lateness_histogram(lateness),
        "early_wakes": early,
        "worst_early_us": max((r.get("worst_early_s", 0.0) for r in records), default=0.0) * 1e6,
        "cpu_per_wake_us": sum(cpu) / runs / wakes * 1e6,
        "cpu_per_wake_us_values": [c / wakes * 1e6 for c in cpu],
        "utilisation": sum(cpu) / sum(wall) if sum(wall) > 0 else None,
        "wasted_resumes": sum(wasted) / len(wasted) if wasted else None,
        "wasted_per_wake": sum(wasted) / len(wasted) / wakes if wasted else None,
        "makespan_s": makespan,
        "makespan_std_s": makespan_std,
        "makespan_values_s": wall,
        "ideal_makespan_s": workload.ideal_makespan_s,
        "makespan_x_ideal": makespan / workload.ideal_makespan_s if workload.ideal_makespan_s else None,
    }
