from __future__ import annotations

import pytest

from bench.workload.rockets import MAX_COUNTDOWN, MAX_DELAY_TICKS, Workload, make_rockets


def test_same_seed_same_rockets() -> None:
    assert make_rockets(500, 7) == make_rockets(500, 7)


def test_different_seed_different_rockets() -> None:
    assert make_rockets(500, 7) != make_rockets(500, 8)


def test_rocket_fields_follow_the_design() -> None:
    rockets = make_rockets(2_000, 1969)
    assert [r.name for r in rockets[:3]] == ["Artemis-0", "Artemis-1", "Artemis-2"]
    assert all(0 <= r.delay < MAX_DELAY_TICKS for r in rockets)
    assert {r.countdown for r in rockets} == set(range(MAX_COUNTDOWN + 1))


def test_prefix_stability() -> None:
    # N rockets are the first N of a larger list: scaling sweeps compare like with like.
    assert make_rockets(100, 3) == make_rockets(1_000, 3)[:100]


def test_expected_resumes_and_ideal_makespan() -> None:
    w = Workload.generate(300, 5, "timed", 0.5)
    assert w.total_sleeps == sum(r.countdown + 1 for r in w.rockets)
    assert w.expected_resumes == 300 + w.total_sleeps
    assert w.ideal_makespan_s == pytest.approx(max(r.delay + r.countdown for r in w.rockets) * 0.5)
    assert Workload.generate(300, 5, "switch").ideal_makespan_s == 0.0


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_workload_rejects_bad_time_scale(scale: float) -> None:
    with pytest.raises(ValueError, match="time_scale"):
        Workload.generate(10, 1, "timed", scale)
