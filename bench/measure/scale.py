"""The scaling sweep: cost per resume and memory per rocket as N grows (DESIGN §4).

Every (scheduler, mode, N) point runs in its own process (``bench.measure.scale_point``) under a
time budget. A point that exceeds it is stopped and marked ``stopped`` with the reason,
and the larger sizes of that series are marked ``stopped`` too ("not run: stopped at a
smaller N"), so a quadratic design shows where it gave up instead of silently vanishing.

Modes: ``switch`` (zero-length sleeps, every scheduler) and ``virtual`` (the timed
workload at time scale 1 on the virtual clock, for schedulers that support it), which
measures timer management at any N without waiting.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure.registry import SchedulerEntry

DEFAULT_SIZES = (100, 1_000, 10_000, 100_000, 1_000_000)
#: Seconds one point may take, set-up and memory pass included. Generous for linear
#: designs at 1M (≈ 20 s for the slowest), fatal for a quadratic one at 100k.
DEFAULT_BUDGET_S = 90.0


def series(entries: Sequence[SchedulerEntry]) -> list[tuple[SchedulerEntry, str]]:
    out = []
    for entry in entries:
        out.append((entry, "switch"))
        if entry.available and entry.supports_virtual_clock:
            out.append((entry, "virtual"))
    return out


def run_point(entry: SchedulerEntry, mode: str, rockets: int, seed: int, budget: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.measure.scale_point", "--scheduler", entry.name, "--mode", mode,
           "--rockets", str(rockets), "--seed", str(seed)]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=budget, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"status": "stopped", "reason": f"exceeded the {budget:g} s budget at N={rockets:,}",
                "elapsed_s": time.monotonic() - started}
    elapsed = time.monotonic() - started
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": "failed", "reason": f"exit {proc.returncode}: {tail}", "elapsed_s": elapsed}
    point: dict[str, Any] = json.loads(lines[-1])
    point["elapsed_s"] = elapsed
    return point


def sweep(entries: Sequence[SchedulerEntry], sizes: Sequence[int], seed: int, budget: float,
          report: Any = print) -> dict[str, Any]:
    points: list[dict[str, Any]] = []
    for entry, mode in series(entries):
        stopped_at: int | None = None
        for n in sizes:
            base = {"scheduler": entry.name, "mode": mode, "rockets": n, "ns_per_resume": None,
                    "wall_s": None, "tracemalloc_bytes_per_rocket": None, "peak_rss_bytes": None}
            if not entry.available:
                points.append({**base, "status": "skipped", "reason": f"unavailable: {entry.error}"})
                continue
            if stopped_at is not None:
                points.append({**base, "status": "stopped",
                               "reason": f"not run: stopped at N={stopped_at:,} (budget {budget:g} s)"})
                continue
            result = run_point(entry, mode, n, seed, budget)
            point = {**base, **result}
            points.append(point)
            report(_progress_line(point))
            if point["status"] == "stopped":
                stopped_at = n
    return {"sizes": list(sizes), "budget_s": budget, "seed": seed, "points": points}


def _progress_line(p: dict[str, Any]) -> str:
    head = f"{p['scheduler']:<10} {p['mode']:<8} N={p['rockets']:>9,}"
    if p["status"] != "ok":
        return f"{head}  {p['status'].upper()}: {p['reason']}"
    return (f"{head}  {p['ns_per_resume']:8,.0f} ns/resume  {p['tracemalloc_bytes_per_rocket']:8,.0f} B/rocket"
            f"  peak RSS {p['peak_rss_bytes'] / 2**20:7,.0f} MiB  ({p['elapsed_s']:.1f} s)")


def growth(points: Sequence[dict[str, Any]]) -> dict[tuple[str, str], float | None]:
    """Log–log slope of ns/resume between the smallest and largest measured N per series.

    ≈ 0: constant cost per resume; small positive (≈ 0.05–0.15 over 4 decades): log N
    (heap depth, cache misses); ≈ 1: linear in N per resume, i.e. quadratic overall.
    """
    import math

    out: dict[tuple[str, str], float | None] = {}
    keys = {(p["scheduler"], p["mode"]) for p in points}
    for key in sorted(keys):
        ok = sorted((p["rockets"], p["ns_per_resume"]) for p in points
                    if (p["scheduler"], p["mode"]) == key and p["status"] == "ok" and p["ns_per_resume"])
        if len(ok) < 2 or ok[0][0] == ok[-1][0]:
            out[key] = None
            continue
        (n0, c0), (n1, c1) = ok[0], ok[-1]
        out[key] = math.log(c1 / c0) / math.log(n1 / n0)
    return out


def merge_into(path: Path, scaling: dict[str, Any], make_empty: Any) -> None:
    """Put ``scaling`` into the results file at ``path`` (created if missing), atomically."""
    from bench.results.store import ResultsError, dump_results, load_results

    try:
        document = load_results(path)
    except ResultsError:
        if path.exists():
            raise
        document = make_empty()
    schedbench = document.pop("schedbench")
    schedbench["scaling"] = scaling
    dump_results(path, document, schedbench)
