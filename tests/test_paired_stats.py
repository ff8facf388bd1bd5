"""The paired gate's statistics: critical values, coverage by simulation, verdicts, sequential looks.

Every simulation is seeded, so the figures asserted are fixed numbers, not luck."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.gate.paired_stats import (
    Interval,
    SequentialPlan,
    Verdict,
    _signed_rank_cumulative_counts,
    paired_interval,
    signed_rank_bound,
    verdict,
)

# Lower critical values T of the two-sided Wilcoxon signed-rank test (largest T with P(T⁺ ≤ T) ≤ α/2),
# as printed in the standard tables.
TABLE_05 = {6: 0, 7: 2, 8: 3, 9: 5, 10: 8, 11: 10, 12: 13, 13: 17, 14: 21, 15: 25, 20: 52, 25: 89, 30: 137,
            40: 264, 50: 434}
TABLE_01 = {9: 1, 10: 3, 12: 7, 15: 15, 20: 37, 25: 68, 30: 109}


def _interval(low: float, high: float) -> Interval:
    return Interval(n=30, estimate=(low + high) / 2, low=low, high=high, confidence=0.95)


class TestCriticalValues:
    @pytest.mark.parametrize(("n", "t"), sorted(TABLE_05.items()))
    def test_exact_95(self, n: int, t: int) -> None:
        k, achieved = signed_rank_bound(n, 0.95)
        assert k == t + 1  # the bounds are the (T+1)-th smallest and largest Walsh averages
        assert achieved >= 0.95

    @pytest.mark.parametrize(("n", "t"), sorted(TABLE_01.items()))
    def test_exact_99(self, n: int, t: int) -> None:
        assert signed_rank_bound(n, 0.99)[0] == t + 1

    def test_n10_by_hand(self) -> None:
        # P(T⁺ ≤ 8) = 25/1024 ≤ 0.025 < P(T⁺ ≤ 9) = 33/1024.
        assert signed_rank_bound(10, 0.95) == (9, 1 - 2 * 25 / 1024)

    @pytest.mark.parametrize("n", [30, 40, 45, 50])
    @pytest.mark.parametrize("confidence", [0.95, 1 - 0.05 / 3, 0.99])
    def test_normal_approximation_agrees_near_50(self, n: int, confidence: float) -> None:
        k_exact, c_exact = signed_rank_bound(n, confidence, exact=True)
        k_normal, c_normal = signed_rank_bound(n, confidence, exact=False)
        # The signed-rank tails are lighter than the normal's: the approximation errs wide, by a rank at 95 %
        # and a few ranks (of ~n²/2) further out. What it claims and what it truly covers stay close.
        assert k_exact - (1 if confidence == 0.95 else 3) <= k_normal <= k_exact
        true_coverage = 1 - 2 * _signed_rank_cumulative_counts(n)[k_normal - 1] / 2**n
        assert confidence <= true_coverage <= confidence + 0.003
        assert c_normal == pytest.approx(c_exact, abs=0.002)

    def test_normal_above_50(self) -> None:
        assert signed_rank_bound(51, 0.95) == signed_rank_bound(51, 0.95, exact=False)
        k, achieved = signed_rank_bound(500, 0.95)
        assert achieved == pytest.approx(0.95, abs=1e-4)
        assert 0 < k < 500 * 501 // 4


class TestInterval:
    def test_hodges_lehmann_by_hand(self) -> None:
        # Log ratios 0, ln 2, ln 4: Walsh averages 0, ½ln2, ln2, ln2, 1½ln2, ln4; the median is ln 2.
        iv = paired_interval([1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 4.0, 1.0, 2.0, 4.0])
        assert iv.estimate == pytest.approx(1.0)
        assert (iv.low, iv.high) == (pytest.approx(0.0), pytest.approx(3.0))  # n = 6: the full range
        assert iv.n == 6

    def test_small_n_reports_what_it_reaches(self) -> None:
        rng = np.random.default_rng(1)
        a = rng.lognormal(0, 0.1, 6)
        iv = paired_interval(a, a * 1.1, confidence=0.99)
        assert iv.confidence == pytest.approx(1 - 2 / 2**6)  # 0.96875: full range, no claim of 99 %
        assert paired_interval(a, a * 1.1).confidence == 0.95
        assert iv.half_width == pytest.approx((iv.high - iv.low) / 2)

    def test_swapping_sides_mirrors(self) -> None:
        rng = np.random.default_rng(2)
        a = rng.lognormal(5, 0.2, 40)
        b = a * 1.08 * rng.lognormal(0, 0.05, 40)
        ab, ba = paired_interval(a, b), paired_interval(b, a)
        assert ba.estimate == pytest.approx(1 / (1 + ab.estimate) - 1)
        assert ba.low == pytest.approx(1 / (1 + ab.high) - 1)
        assert ba.high == pytest.approx(1 / (1 + ab.low) - 1)

    def test_scale_free(self) -> None:
        rng = np.random.default_rng(3)
        a = rng.lognormal(5, 0.2, 25)
        b = a * rng.lognormal(0.03, 0.05, 25)
        one, scaled = paired_interval(a, b), paired_interval(a * 1000, b * 1000)
        assert (one.low, one.estimate, one.high) == pytest.approx((scaled.low, scaled.estimate, scaled.high))

    def test_one_wild_pair_moves_little(self) -> None:
        rng = np.random.default_rng(4)
        a = rng.lognormal(5, 0.1, 30)
        b = a * rng.lognormal(0, 0.03, 30)
        calm = paired_interval(a, b)
        b_wild = b.copy()
        b_wild[0] *= 50  # one B run while the machine was busy
        wild = paired_interval(a, b_wild)
        assert abs(wild.estimate - calm.estimate) < 0.01
        assert wild.high - calm.high < 0.02


def _coverage(rng: np.random.Generator, noise: str, sims: int = 2000, n: int = 30, effect: float = 0.05) -> float:
    covered = 0
    for _ in range(sims):
        base = rng.lognormal(6, 0.3, n)  # pairs at different moments of the machine
        if noise == "lognormal":  # right-skewed measurement noise, independent per run
            a = base * rng.lognormal(0, 0.15, n)
            b = base * (1 + effect) * rng.lognormal(0, 0.15, n)
        elif noise == "gamma":  # additive, strongly skewed: a run only ever gets slower
            a = base * (1 + rng.gamma(0.5, 0.2, n))
            b = base * (1 + effect) * (1 + rng.gamma(0.5, 0.2, n))
        else:  # bimodal: a neighbour on for a random half of the pairs, slowing both runs of the pair
            on = rng.random(n) < 0.5
            factor = np.where(on, rng.uniform(1.5, 2.5, n), 1.0)
            # ... and, independently, each single run may be hit by a short burst (a third mode per run)
            burst_a = np.where(rng.random(n) < 0.2, 1.4, 1.0)
            burst_b = np.where(rng.random(n) < 0.2, 1.4, 1.0)
            a = base * factor * burst_a * rng.lognormal(0, 0.05, n)
            b = base * factor * burst_b * (1 + effect) * rng.lognormal(0, 0.05, n)
        iv = paired_interval(a, b)
        covered += iv.low <= effect <= iv.high
    return covered / sims


class TestCoverage:
    @pytest.mark.parametrize(("noise", "seed"), [("lognormal", 10), ("gamma", 11), ("bimodal", 12)])
    def test_95_interval_covers_a_5_percent_effect(self, noise: str, seed: int) -> None:
        coverage = _coverage(np.random.default_rng(seed), noise)
        print(f"coverage under {noise} noise: {coverage:.3f}")
        assert 0.93 <= coverage <= 0.97


class TestVerdicts:
    def test_clear_regression(self) -> None:
        rng = np.random.default_rng(20)
        a = rng.lognormal(6, 0.2, 30)
        b = a * 1.2 * rng.lognormal(0, 0.02, 30)
        iv = paired_interval(a, b)
        assert verdict(iv, 0.02) is Verdict.REGRESSION
        assert iv.estimate == pytest.approx(0.2, abs=0.02)
        assert verdict(paired_interval(b, a), 0.02) is Verdict.IMPROVEMENT  # the same data, sides swapped

    def test_a_a_no_change_at_large_n(self) -> None:
        rng = np.random.default_rng(21)
        base = rng.lognormal(6, 0.3, 400)
        a, b = base * rng.lognormal(0, 0.05, 400), base * rng.lognormal(0, 0.05, 400)
        iv = paired_interval(a, b)
        assert verdict(iv, 0.02) is Verdict.NO_CHANGE
        assert iv.half_width < 0.01

    def test_borderline_is_inconclusive(self) -> None:
        rng = np.random.default_rng(22)
        a = rng.lognormal(6, 0.2, 100)
        b = a * 1.02 * rng.lognormal(0, 0.03, 100)  # a change the size of the threshold
        iv = paired_interval(a, b)
        assert iv.low < 0.02 < iv.high
        assert verdict(iv, 0.02) is Verdict.INCONCLUSIVE

    def test_rules_and_log_symmetric_band(self) -> None:
        m = 0.02
        assert verdict(_interval(0.021, 0.05), m) is Verdict.REGRESSION
        assert verdict(_interval(0.02, 0.05), m) is Verdict.INCONCLUSIVE  # low must be strictly above m
        assert verdict(_interval(-0.01, 0.02), m) is Verdict.NO_CHANGE
        assert verdict(_interval(-0.03, 0.01), m) is Verdict.INCONCLUSIVE
        # The low edge is 1/1.02 − 1 = −1.96 %, the mirror of +2 % in log space, not −2 %.
        assert verdict(_interval(-0.05, -0.0197), m) is Verdict.IMPROVEMENT
        assert verdict(_interval(-0.0196, 0.0), m) is Verdict.NO_CHANGE
        assert verdict(_interval(0.0, 0.0), 0.0) is Verdict.NO_CHANGE

    def test_mirrored_intervals_get_mirrored_verdicts(self) -> None:
        for low, high in [(0.021, 0.05), (0.01, 0.03), (-0.015, 0.019), (0.025, 0.2)]:
            up = verdict(_interval(low, high), 0.02)
            down = verdict(_interval(1 / (1 + high) - 1, 1 / (1 + low) - 1), 0.02)
            mirror = {Verdict.REGRESSION: Verdict.IMPROVEMENT}.get(up, up)
            assert down is mirror


def _run_plan(plan: SequentialPlan, a: np.ndarray, b: np.ndarray, m: float) -> tuple[Verdict, int]:
    for size in plan.look_sizes():
        _, decided, stop = plan.decide(a[:size], b[:size], m)
        if stop:
            return decided, size
    raise AssertionError("the last look must stop")


class TestSequentialPlan:
    def test_levels_and_looks(self) -> None:
        plan = SequentialPlan(first_look=20, step=10, max_looks=4)
        assert plan.per_look_confidence == pytest.approx(1 - 0.05 / 4)
        assert plan.look_sizes() == [20, 30, 40, 50]
        iv, _, _ = plan.decide([1.0] * 20, [1.0] * 20, 0.02)
        assert iv.confidence == pytest.approx(0.9875)

    def test_a_a_false_regressions(self) -> None:
        rng = np.random.default_rng(30)
        plan = SequentialPlan(first_look=10, step=10, max_looks=4)
        runs = 1000
        at_2_percent = anything_at_0 = 0
        for _ in range(runs):
            base = rng.lognormal(6, 0.3, 40)
            a, b = base * rng.lognormal(0, 0.05, 40), base * rng.lognormal(0, 0.05, 40)
            at_2_percent += _run_plan(plan, a, b, 0.02)[0] is Verdict.REGRESSION
            # At m = 0 any interval missing 0 is an error: the union bound caps that at 5 % over all looks.
            anything_at_0 += _run_plan(plan, a, b, 0.0)[0] in (Verdict.REGRESSION, Verdict.IMPROVEMENT)
        print(f"A/A: false regressions at m=2 %: {at_2_percent / runs:.3f}, "
              f"any change at m=0: {anything_at_0 / runs:.3f}")
        assert at_2_percent / runs < 0.01
        assert anything_at_0 / runs <= 0.05

    def test_stops_early_on_a_large_effect(self) -> None:
        rng = np.random.default_rng(31)
        plan = SequentialPlan(first_look=10, step=10, max_looks=4)
        a = rng.lognormal(6, 0.2, 40)
        b = a * 1.3 * rng.lognormal(0, 0.05, 40)
        assert _run_plan(plan, a, b, 0.02) == (Verdict.REGRESSION, 10)

    def test_stops_at_the_last_look_undecided(self) -> None:
        rng = np.random.default_rng(32)
        plan = SequentialPlan(first_look=6, step=6, max_looks=3)
        a = rng.lognormal(6, 0.2, 18)
        b = a * rng.lognormal(0, 0.3, 18)  # far too noisy to decide 2 % in 18 pairs
        _, decided, stop = plan.decide(a[:12], b[:12], 0.02)
        assert (decided, stop) == (Verdict.INCONCLUSIVE, False)
        _, decided, stop = plan.decide(a, b, 0.02)
        assert (decided, stop) == (Verdict.INCONCLUSIVE, True)


class TestBadInput:
    @pytest.mark.parametrize(
        ("a", "b", "message"),
        [
            ([1.0] * 5, [1.0] * 5, "too few pairs: 5"),
            ([1.0] * 6, [1.0] * 7, "6 values in a, 7 in b"),
            ([1.0] * 6, [1.0, 2.0, 0.0, 1.0, 1.0, 1.0], r"b\[2\] = 0.0"),
            ([1.0, -3.0, 1.0, 1.0, 1.0, 1.0], [1.0] * 6, r"a\[1\] = -3.0: measurements must be positive"),
            ([1.0] * 6, [1.0, 1.0, 1.0, 1.0, 1.0, math.nan], r"b\[5\] = nan"),
            ([1.0] * 6, [1.0, math.inf, 1.0, 1.0, 1.0, 1.0], r"b\[1\] = inf"),
            ([[1.0] * 6], [[1.0] * 6], "one-dimensional"),
        ],
    )
    def test_interval_inputs(self, a: list[float], b: list[float], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            paired_interval(a, b)

    @pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
    def test_confidence(self, confidence: float) -> None:
        with pytest.raises(ValueError, match="confidence must lie strictly between 0 and 1"):
            paired_interval([1.0] * 6, [1.0] * 6, confidence)

    @pytest.mark.parametrize("m", [-0.01, math.nan, math.inf])
    def test_min_effect(self, m: float) -> None:
        with pytest.raises(ValueError, match="min_effect must be a finite relative change"):
            verdict(_interval(0.0, 0.0), m)

    def test_plan(self) -> None:
        with pytest.raises(ValueError, match="first_look must be at least 6"):
            SequentialPlan(first_look=5, step=5, max_looks=3)
        with pytest.raises(ValueError, match="step and max_looks must be at least 1"):
            SequentialPlan(first_look=10, step=0, max_looks=3)
        with pytest.raises(ValueError, match="confidence must lie strictly"):
            SequentialPlan(first_look=10, step=5, max_looks=3, confidence=1.0)
