"""Statistics of the paired gate: a Hodges–Lehmann interval on log ratios, looked at sequentially.

Input: pairs (a_i, b_i) of positive measurements, A the base and B the head, measured side by
side. The method works on the log ratios r_i = ln(b_i / a_i):

* **log ratios**, because a change in speed is multiplicative (a 5 % slower switch is ×1.05
  whatever the machine's speed at that moment), and the log makes A and B symmetric:
  swapping the sides negates every r_i, so the interval is the mirror image, and "+25 %"
  and "−20 %" are the same size of change.
* **Hodges–Lehmann estimate** (the median of the Walsh averages (r_i + r_j)/2, i ≤ j) with
  the **distribution-free interval from the Wilcoxon signed-rank statistic**: the k-th
  smallest and k-th largest Walsh averages, k from the signed-rank null distribution,
  counted exactly by dynamic programming up to ``EXACT_MAX_N`` pairs and from the normal
  approximation (with continuity correction) above. It assumes only that the pairs are
  independent and that the r_i are symmetric around the shift. Pairing helps here: with
  the same noise on each side of a pair, the difference of the logs is symmetric however
  skewed the measurements are, and a noisy neighbour switching on and off, which makes the
  measurements bimodal, largely cancels within a pair.
* Against a **t-interval**: one pair taken while the machine was busy moves a mean and
  inflates a variance; it moves one rank. Against a **bootstrap**: the signed-rank interval
  costs one sort, and its coverage is exact at small n, where a bootstrap's is not.
  The price is a little width when the r_i really are normal (about 2 %: the
  asymptotic efficiency against the mean is 3/π).

Ties among the r_i (a coarse clock) make the coverage approximate, not wrong. At small n the
interval is honest about what it can reach: when even the full range of the Walsh averages
does not reach the requested confidence, that range is returned with the confidence it has.

**Sequential looks**: the gate looks at the pairs as they accumulate and stops as soon as an
interval decides. Each look is another chance of a wrong decision, so each look's interval is
made at level 1 − (1 − confidence)/looks (Bonferroni): by the union bound the chance that
any of the planned looks misses the true change is at most 1 − confidence, whatever the
dependence between looks, at the price of somewhat wider intervals than a single look needs.
"""

from __future__ import annotations

import bisect
import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

#: Fewest pairs accepted: with 5, even the full range covers only 1 − 2/2⁵ = 93.75 %.
MIN_PAIRS = 6
#: Up to this many pairs the signed-rank distribution is counted exactly (``exact=True`` goes to 62: int64).
EXACT_MAX_N = 50

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class Interval:
    """The change of B over A, as relative change: 0.05 means B is 5 % higher (slower)."""

    n: int  # pairs used
    estimate: float  # exp(HL) - 1
    low: float  # exp(lower bound) - 1
    high: float  # exp(upper bound) - 1
    confidence: float  # the level the interval guarantees: requested, or less when n cannot reach it

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


class Verdict(enum.Enum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    NO_CHANGE = "no change"
    INCONCLUSIVE = "inconclusive"


@lru_cache(maxsize=64)
def _signed_rank_cumulative_counts(n: int) -> tuple[int, ...]:
    """Ways, out of 2ⁿ sign patterns, to get a positive-rank sum T⁺ ≤ t, for t = 0 … n(n+1)/2.

    Recurrence on the largest rank k: it is positive (T⁺ grows by k) or not."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1, dtype=np.int64)
    counts[0] = 1
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k]  # the right side is built whole from the previous row
    return tuple(int(c) for c in np.cumsum(counts))


def signed_rank_bound(n: int, confidence: float, *, exact: bool | None = None) -> tuple[int, float]:
    """(k, achieved confidence) for the interval [k-th smallest, k-th largest Walsh average].

    k - 1 is the largest lower critical value c of T⁺ with P(T⁺ ≤ c) ≤ (1 − confidence)/2; the
    interval then covers with probability 1 − 2·P(T⁺ ≤ k − 1). ``exact`` None: exact up to
    ``EXACT_MAX_N`` pairs. When no c qualifies, k is 1 (the full range) with its lower level."""
    if n < 1:
        raise ValueError(f"need at least one pair, got {n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    tail = (1.0 - confidence) / 2
    if exact if exact is not None else n <= EXACT_MAX_N:
        if n > 62:
            raise ValueError(f"the exact distribution is counted up to 62 pairs, got {n}")
        cumulative = _signed_rank_cumulative_counts(n)
        total = 2**n
        # Python compares int with float exactly: no rounding at a boundary such as tail·2ⁿ = 25.
        c = bisect.bisect_right(cumulative, tail * total) - 1
        k = max(c, 0) + 1
        return k, 1.0 - 2.0 * cumulative[k - 1] / total
    mean = n * (n + 1) / 4
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    normal = NormalDist()
    c = math.floor(mean - 0.5 + normal.inv_cdf(tail) * sd)  # P(T⁺ ≤ c) ≈ Φ((c + ½ − mean)/sd) ≤ tail
    k = max(c, 0) + 1
    return k, 1.0 - 2.0 * normal.cdf((k - 1 + 0.5 - mean) / sd)


def _log_ratios(a: Sequence[float], b: Sequence[float]) -> FloatArray:
    xa = np.asarray(a, dtype=np.float64)
    xb = np.asarray(b, dtype=np.float64)
    if xa.ndim != 1 or xb.ndim != 1:
        raise ValueError("a and b must be one-dimensional sequences of measurements")
    if xa.size != xb.size:
        raise ValueError(f"a and b must pair up: {xa.size} values in a, {xb.size} in b")
    if xa.size < MIN_PAIRS:
        raise ValueError(f"too few pairs: {xa.size}; a 95 % interval needs at least {MIN_PAIRS} "
                         f"(with n pairs the widest interval covers 1 − 2/2ⁿ)")
    for name, x in (("a", xa), ("b", xb)):
        bad = np.flatnonzero(~np.isfinite(x) | (x <= 0))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] = {float(x[bad[0]])!r}: measurements must be positive and finite "
                             f"({bad.size} such value(s) in {name})")
    return np.asarray(np.log(xb) - np.log(xa), dtype=np.float64)


def paired_interval(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Interval:
    """Hodges–Lehmann estimate and signed-rank interval of the change of B over A."""
    r = _log_ratios(a, b)
    n = r.size
    k, achieved = signed_rank_bound(n, confidence)
    rows, cols = np.triu_indices(n)  # i ≤ j: every Walsh average once, the r_i themselves included
    walsh = np.sort((r[rows] + r[cols]) / 2)
    # Report the requested level when reached (the coverage is at least that); the achieved one when not.
    level = confidence if achieved >= confidence else achieved
    return Interval(n=n, estimate=float(np.expm1(np.median(walsh))), low=float(np.expm1(walsh[k - 1])),
                    high=float(np.expm1(walsh[walsh.size - k])), confidence=level)


def verdict(interval: Interval, min_effect: float) -> Verdict:
    """The interval against the smallest change worth reporting, m (relative, e.g. 0.02).

    Symmetric in log space: the band is [1/(1+m) − 1, m], so a change and its inverse (+2 %
    for B over A, −1.96 % for A over B) get mirrored verdicts. REGRESSION when the interval
    lies above m, IMPROVEMENT when below 1/(1+m) − 1, NO_CHANGE when inside the band, else
    INCONCLUSIVE (it straddles an edge of the band)."""
    if not (math.isfinite(min_effect) and min_effect >= 0):
        raise ValueError(f"min_effect must be a finite relative change ≥ 0, got {min_effect}")
    down = 1.0 / (1.0 + min_effect) - 1.0
    if interval.low > min_effect:
        return Verdict.REGRESSION
    if interval.high < down:
        return Verdict.IMPROVEMENT
    if down <= interval.low and interval.high <= min_effect:
        return Verdict.NO_CHANGE
    return Verdict.INCONCLUSIVE


@dataclass(frozen=True, kw_only=True)
class SequentialPlan:
    """Looks at the data as pairs accumulate; Bonferroni across the planned looks so the
    repeated looks do not inflate the error rate."""

    first_look: int  # pairs at the first look
    step: int  # pairs added between looks
    max_looks: int
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.first_look < MIN_PAIRS:
            raise ValueError(f"first_look must be at least {MIN_PAIRS} pairs, got {self.first_look}")
        if self.step < 1 or self.max_looks < 1:
            raise ValueError(f"step and max_looks must be at least 1, got {self.step} and {self.max_looks}")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence must lie strictly between 0 and 1, got {self.confidence}")

    @property
    def per_look_confidence(self) -> float:
        return 1.0 - (1.0 - self.confidence) / self.max_looks

    def look_sizes(self) -> list[int]:
        return [self.first_look + i * self.step for i in range(self.max_looks)]

    def decide(self, a: Sequence[float], b: Sequence[float], min_effect: float) -> tuple[Interval, Verdict, bool]:
        """The interval at the per-look level on all pairs so far, its verdict, and whether to stop:
        on a decided verdict, or once the last planned look's pairs are in."""
        interval = paired_interval(a, b, self.per_look_confidence)
        decided = verdict(interval, min_effect)
        stop = decided is not Verdict.INCONCLUSIVE or interval.n >= self.look_sizes()[-1]
        return interval, decided, stop
