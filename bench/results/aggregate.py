"""Turn one job's worker records and pyperf benchmark into the JSON of a run record.

Pure data in, data out: no I/O beyond reading the record files, so the figures can be
tested on synthetic records. A worker runs plugin code, so its records are untrusted:
anything that is not a finite number of the right type raises ``BadRecord``, which the
suite turns into that run's FAILED reason. The suite then parses the result through the
results model (``RunRecord.from_json``), the same check a file gets when it is loaded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.results import distributions
from bench.results.fields import ResultsError, number
from bench.results.model import STATUS_BY_NAME, Sample, Status, plain
from bench.workload.rockets import Workload

#: A record line longer than this is not a record (a worker's line is ~1 MB at most: the
#: lateness of 50,000 wakes); reading it whole could exhaust memory.
MAX_RECORD_BYTES = 64 * 2**20


class BadRecord(Exception):
    """A worker record that is not what the worker protocol says; the message names the field."""


def read_records(directory: Path) -> list[list[dict[str, Any]]]:
    """Records grouped by worker process (one file per pid), in file-name order.

    A truncated last line (a worker killed mid-write) is ignored rather than fatal.
    """
    groups = []
    for path in sorted(directory.glob("*.jsonl")):
        if path.stat().st_size > MAX_RECORD_BYTES * 4:
            raise BadRecord(f"{path.name}: {path.stat().st_size:,} bytes of records")
        records = []
        for line in path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                continue
            if isinstance(record, dict):
                records.append(record)
        if records:
            groups.append(records)
    return groups


def _number(record: dict[str, Any], key: str, default: float | None = None) -> float:
    """A finite number from a record, checked the way a results file is (``fields.number``)."""
    try:
        return number(record.get(key, default), key)
    except ResultsError as exc:
        raise BadRecord(str(exc)) from None


def _count(record: dict[str, Any], key: str) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**62:
        raise BadRecord(f"{key} is {value!r}, not a count ≥ 0")
    return value


def _lateness(record: dict[str, Any]) -> list[float]:
    values = record.get("lateness_s", [])
    if not isinstance(values, list):
        raise BadRecord("lateness_s is not a list")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise BadRecord(f"lateness value {value!r} is not a finite number")
    return values


def worst_status(groups: Sequence[Sequence[dict[str, Any]]]) -> tuple[Status, list[str]]:
    """The run's status: the worst of its records' (``Status`` order), with that record's reasons."""
    status, reasons = Status.VALID, []
    for records in groups:
        for record in records:
            found = STATUS_BY_NAME.get(record.get("status"))  # type: ignore[arg-type]
            if found is None:
                raise BadRecord(f"status {record.get('status')!r} is not one of {', '.join(STATUS_BY_NAME)}")
            if found.severity > status.severity:
                raw = record.get("reasons", [])
                status, reasons = found, [str(r) for r in raw] if isinstance(raw, list) else [str(raw)]
    return status, reasons


def process_summary(records: Sequence[dict[str, Any]], workload: Workload) -> dict[str, Any]:
    """One worker process's figures, averaged over its runs (timed mode has one)."""
    n = len(records)
    wall = sum(_number(r, "wall_s") for r in records) / n
    cpu = sum(_number(r, "cpu_s") for r in records) / n
    wasted = [w for r in records if (w := _count(r, "wasted")) is not None]
    out: dict[str, Any] = {
        "runs": n,
        "wall_s": wall,
        "cpu_s": cpu,
        "resumes": _count(records[-1], "resumes"),
        "wasted": sum(wasted) / len(wasted) if wasted else None,
        "early": sum(_count(r, "early") or 0 for r in records),
        "worst_early_s": max((_number(r, "worst_early_s", 0.0) for r in records), default=0.0),
    }
    if workload.mode == "timed":
        lateness = [x for r in records for x in _lateness(r)]
        out["lateness_us"] = distributions.lateness_summary(lateness) or None
        out["cpu_per_wake_us"] = cpu / workload.total_sleeps * 1e6
    elif workload.mode == "io" and workload.total_sleeps:
        out["cpu_per_wake_us"] = cpu / workload.total_sleeps * 1e6  # per readiness wait
        out["spurious"] = sum(_count(r, "spurious") or 0 for r in records)
    return out


def pyperf_sample(benchmark: Any) -> Sample:
    """Mean ± std and median over all of a pyperf benchmark's values, and the mean of each
    worker process (the independent samples ``compare`` tests)."""
    values = [float(v) for v in benchmark.get_values()]
    per_process = tuple(sum(run.values) / len(run.values) for run in benchmark.get_runs() if run.values)
    mean, std = distributions.mean_std(values)
    return Sample(benchmark.get_name(), mean, std, float(benchmark.median()), per_process)


def plain_sample(benchmark: Any) -> dict[str, Any]:
    return plain(pyperf_sample(benchmark))  # type: ignore[no-any-return]


def timed_figures(groups: Sequence[Sequence[dict[str, Any]]], workload: Workload) -> dict[str, Any]:
    records = [r for group in groups for r in group]
    lateness = [x for r in records for x in _lateness(r)]
    runs = len(records)
    wall = [_number(r, "wall_s") for r in records]
    cpu = [_number(r, "cpu_s") for r in records]
    wasted = [w for r in records if (w := _count(r, "wasted")) is not None]
    wakes = workload.total_sleeps
    makespan, makespan_std = distributions.mean_std(wall)
    out = {
        "runs": runs,
        "wakes": len(lateness),
        "lateness_us": distributions.lateness_summary(lateness),
        "lateness_hist": distributions.lateness_histogram(lateness),
        "early_wakes": sum(_count(r, "early") or 0 for r in records),
        "worst_early_us": max((_number(r, "worst_early_s", 0.0) for r in records), default=0.0) * 1e6,
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
    out.update(burst_and_steady(records))
    return out


def early_reason(early_wakes: int, worst_early_us: float, processes: int) -> str:
    """The EARLY reason of a whole run: totals over every process, worded in one place."""
    where = f" over {processes} processes" if processes > 1 else ""
    return f"{early_wakes:,} early wakes{where}, worst {worst_early_us:.1f} µs before its deadline"


def burst_and_steady(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Lateness of the start-up burst apart from the steady state, when the worker recorded
    which wakes were due before the last rocket had started (``burst_flags``)."""
    burst: list[float] = []
    steady: list[float] = []
    for record in records:
        flags = record.get("burst_flags")
        if not isinstance(flags, list):
            return {}
        lateness = _lateness(record)
        if len(flags) != len(lateness):
            raise BadRecord(f"{len(flags)} burst flags for {len(lateness)} wakes")
        for late, in_burst in zip(lateness, flags, strict=True):
            (burst if in_burst else steady).append(late)
    return {
        "burst_wakes": len(burst),
        "burst_lateness_us": distributions.lateness_summary(burst) or None,
        "steady_lateness_us": distributions.lateness_summary(steady) or None,
    }
