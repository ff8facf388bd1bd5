"""Turn raw measurements into the figures of DESIGN §4. Pure functions over numbers.

Lateness distributions are kept as a log-spaced histogram (fine enough for a CDF chart,
constant size whatever the number of wakes) built from every process's raw samples, plus
exact percentiles computed from those samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9)
PERCENTILE_KEYS: tuple[str, ...] = ("p50", "p90", "p99", "p99_9")

# Lateness histogram: positive lateness in log-spaced bins from 10 ns to 100 s, 20 per
# decade. Early wakes (negative) and exact zeros (virtual clock) get their own counters.
HIST_MIN_S = 1e-8
HIST_MAX_S = 1e2
HIST_BINS_PER_DECADE = 20
HIST_EDGES_S: np.ndarray = np.logspace(
    np.log10(HIST_MIN_S), np.log10(HIST_MAX_S),
    round(np.log10(HIST_MAX_S / HIST_MIN_S)) * HIST_BINS_PER_DECADE + 1,
)


def lateness_summary(lateness_s: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/p99.9/max/mean of lateness, in microseconds."""
    if not lateness_s:
        return {}
    values = np.asarray(lateness_s, dtype=float) * 1e6
    pct = np.percentile(values, PERCENTILES)
    out = {key: float(v) for key, v in zip(PERCENTILE_KEYS, pct, strict=True)}
    out["max"] = float(values.max())
    out["mean"] = float(values.mean())
    return out


def lateness_histogram(lateness_s: Sequence[float]) -> dict[str, Any]:
    """Counts per log-spaced bin, plus early/zero/underflow/overflow counters."""
    values = np.asarray(lateness_s, dtype=float)
    positive = values[values > 0]
    counts, _ = np.histogram(np.clip(positive, HIST_MIN_S, HIST_MAX_S), bins=HIST_EDGES_S)
    return {
        "edges_s": [float(e) for e in HIST_EDGES_S],
        "counts": [int(c) for c in counts],
        "zero": int(np.count_nonzero(values == 0)),
        "early": int(np.count_nonzero(values < 0)),
    }


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return float("nan"), float("nan")
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return float(arr.mean()), std
