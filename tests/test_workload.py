from __future__ import annotations

import pytest

from bench.workload.rockets import MAX_COUNTDOWN, MAX_DELAY_TICKS, Workload, build_coroutines, make_rockets


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


def test_burst_flags_mark_wakes_due_before_the_last_start() -> None:
    from bench.workload.rockets import Trace

    trace = Trace(lateness=[0.1, 0.2, 0.3], deadlines=[1.0, 6.0, 4.0], starts=[0.0, 5.0])
    assert trace.burst_flags() == [True, False, True]
    assert Trace(lateness=[0.1], deadlines=[], starts=[0.0]).burst_flags() == []  # not recorded: no split


def test_timed_bodies_record_a_deadline_per_wake_and_a_start_per_rocket() -> None:
    from bench.measure.clocks import VirtualClock
    from bench.measure.registry import discover

    entry = discover()["heapq"]
    workload = Workload.generate(50, 3, "timed", 0.01)
    clock = VirtualClock()
    scheduler = entry.cls(clock)
    coros, trace = build_coroutines(workload, "generator", scheduler.sleep, clock.now)
    scheduler.run(coros)
    assert len(trace.starts) == workload.count
    assert len(trace.deadlines) == len(trace.lateness) == workload.total_sleeps
    # The virtual clock does not move while rockets start: every start is 0, so no wake was
    # due before the last start and nothing counts as the start-up burst.
    assert set(trace.starts) == {0.0} and not any(trace.burst_flags())
