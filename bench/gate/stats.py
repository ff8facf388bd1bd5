"""Statistics for comparing two small samples: the Mann–Whitney U test. Pure numpy.

``compare`` has, for each figure, one value per worker process on each side: 4 against
4 with the quick preset, up to 20 against 20 with the rigorous one. The test it needs
must be honest at that size, so:

* **rank-based**, because per-process values on a shared machine have outliers (one
  process that ran while something else was busy) and no reason to be normal. Welch's t
  on four values is at the mercy of one of them; ranks are not.
* **exact** when there are no ties: the null distribution of U is counted (the number of
  ways to interleave the two samples giving each U), so the p-value is what it says even
  for n = 2. With 4 against 4 the smallest two-sided p is 2/70 ≈ 0.029: only a complete
  separation (every new value above every base value) is significant at 0.05. (The
  p-value assumes independent values; processes of one run share the machine's load at
  that moment, which is why ``bench.gate.compare`` also needs a threshold.)
* with **ties**, exact by enumerating every split of the pooled values while that is
  cheap (≤ ``EXACT_TIES_LIMIT`` splits), else the normal approximation with the tie and
  continuity corrections.

Identical inputs give U = n·m/2 and p = 1. Fewer than 2 values a side can never be
significant; ``min_p_value`` tells callers what a sample size can reach at best.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

#: Above this many splits of the pooled sample, tied data use the normal approximation.
EXACT_TIES_LIMIT = 20_000
#: Above this n·m, untied data use the normal approximation too (the exact count is
#: O(n·m·min(n, m)) numbers; 2,500 = 50 × 50 is far beyond any preset).
EXACT_SIZE_LIMIT = 2_500

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MannWhitney:
    """The result of ``mann_whitney_u(x, y)``.

    ``u`` counts the pairs (x_i, y_j) with x_i > y_j, ties counting one half, so
    ``u > n·m/2`` means x tends to be larger. ``p_value`` is two-sided.
    """

    u: float
    p_value: float
    n_x: int
    n_y: int
    method: str  # "exact", "exact with ties" or "normal approximation"

    @property
    def x_larger(self) -> bool:
        return self.u > self.n_x * self.n_y / 2

    @property
    def common_language_effect(self) -> float:
        """P(x > y) + P(x = y)/2 for a random pair: 0.5 means no tendency."""
        pairs = self.n_x * self.n_y
        return self.u / pairs if pairs else 0.5


def _as_array(values: Sequence[float] | FloatArray) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError("expected a one-dimensional sample")
    if not np.all(np.isfinite(arr)):
        raise ValueError("sample holds a non-finite value")
    return arr


def u_statistic(x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray) -> float:
    """Pairs with x_i > y_j, plus half the pairs with x_i == y_j."""
    a, b = _as_array(x), _as_array(y)
    diff = a[:, None] - b[None, :]
    return float(np.count_nonzero(diff > 0) + 0.5 * np.count_nonzero(diff == 0))


@lru_cache(maxsize=256)
def u_distribution(n: int, m: int) -> tuple[float, ...]:
    """Counts of the n+m choose n interleavings of untied samples, by U = 0 … n·m.

    Recurrence on the largest pooled value: if it is an x it beats all m y's (U grows by
    m) and the rest is an (n-1, m) problem; if it is a y, an (n, m-1) problem.
    """
    # counts[j] holds the distribution for (i, j) while row i is being built.
    counts = [np.ones(1) for _ in range(m + 1)]  # i = 0: U is 0, one way
    for i in range(1, n + 1):
        row = [np.ones(1)]  # j = 0: U is 0, one way
        for j in range(1, m + 1):
            with_x = np.concatenate([np.zeros(j), counts[j]])  # (i-1, j) shifted by j
            with_y = row[j - 1]  # (i, j-1)
            size = i * j + 1
            dist = np.zeros(size)
            dist[: with_x.size] += with_x
            dist[: with_y.size] += with_y
            row.append(dist)
        counts = row
    return tuple(float(c) for c in counts[m])


def _exact_untied(u: float, n: int, m: int) -> float:
    dist = np.asarray(u_distribution(n, m))
    total = dist.sum()
    k = round(u)
    lower = dist[: k + 1].sum() / total
    upper = dist[k:].sum() / total
    return float(min(1.0, 2.0 * min(lower, upper)))


def _exact_tied(x: FloatArray, y: FloatArray) -> float:
    """Two-sided permutation p-value of U over every split of the pooled values."""
    pooled = np.concatenate([x, y])
    n, total = x.size, pooled.size
    # U from ranks: U_x = R_x - n(n+1)/2, with mid-ranks for ties.
    ranks = _midranks(pooled)
    center = n * y.size / 2
    observed = abs(float(ranks[:n].sum()) - n * (n + 1) / 2 - center)
    extreme = count = 0
    for chosen in itertools.combinations(range(total), n):
        u = float(ranks[list(chosen)].sum()) - n * (n + 1) / 2
        count += 1
        if abs(u - center) >= observed - 1e-9:
            extreme += 1
    return extreme / count


def _midranks(values: FloatArray) -> FloatArray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size)
    sorted_values = values[order]
    i = 0
    while i < values.size:
        j = i
        while j + 1 < values.size and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _normal(u: float, x: FloatArray, y: FloatArray) -> float:
    n, m = x.size, y.size
    pooled = np.concatenate([x, y])
    _, tie_counts = np.unique(pooled, return_counts=True)
    total = n + m
    tie_term = float(np.sum(tie_counts.astype(np.float64) ** 3 - tie_counts)) / (total * (total - 1))
    variance = n * m / 12 * ((total + 1) - tie_term)
    if variance <= 0:
        return 1.0
    z = max(0.0, abs(u - n * m / 2) - 0.5) / math.sqrt(variance)  # continuity-corrected
    return float(min(1.0, math.erfc(z / math.sqrt(2))))


def mann_whitney_u(x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray) -> MannWhitney:
    """Two-sided Mann–Whitney U test of "x and y come from the same distribution"."""
    a, b = _as_array(x), _as_array(y)
    n, m = a.size, b.size
    if n == 0 or m == 0:
        return MannWhitney(0.0, 1.0, n, m, "exact")
    u = u_statistic(a, b)
    tied = np.unique(np.concatenate([a, b])).size < n + m
    if not tied and n * m <= EXACT_SIZE_LIMIT:
        return MannWhitney(u, _exact_untied(u, n, m), n, m, "exact")
    if tied and math.comb(n + m, n) <= EXACT_TIES_LIMIT:
        return MannWhitney(u, _exact_tied(a, b), n, m, "exact with ties")
    return MannWhitney(u, _normal(u, a, b), n, m, "normal approximation")


def min_p_value(n: int, m: int) -> float:
    """The smallest two-sided exact p-value samples of n and m untied values can give."""
    if n == 0 or m == 0:
        return 1.0
    return min(1.0, 2.0 / math.comb(n + m, n))


def median(values: Sequence[float] | FloatArray) -> float:
    arr = _as_array(values)
    return float(np.median(arr)) if arr.size else math.nan


def relative_change(base: float, new: float) -> float:
    """new / base - 1; ±inf when base is 0 and new is not (0 when both are 0)."""
    if base > 0:
        return new / base - 1.0
    if new == base:
        return 0.0
    return math.inf if new > base else -math.inf

