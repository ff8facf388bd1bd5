"""The body floor drivers and the timer floor: correct and well-formed, never timed.

The body floors run through ``execute_once`` like any scheduler and must be VALID in
switch mode with exactly one resume per sleep plus one start per rocket. The timer floor
must return ordered, finite percentiles on a tiny workload; how late it measures the
machine to be is the machine's business, so nothing here asserts a duration.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from conftest import ROOT

from bench.measure.body_floor import (
    BODY_FLOORS,
    AsyncBodyFloor,
    GeneratorBodyFloor,
    body_floor_entry,
)
from bench.measure.clocks import VirtualClock
from bench.measure.execute import execute_once
from bench.measure.registry import check_contract
from bench.measure.timer_floor import (
    MIN_WAKES,
    VARIANTS,
    TimerFloor,
    measure_timer_floor,
    wake_deadlines,
    wake_gaps,
)
from bench.results.distributions import PERCENTILE_KEYS
from bench.workload import bodies
from bench.workload.rockets import Workload, build_coroutines
from bench.workload.status import Status

# ---- body floors ----


def test_body_floors_cover_the_dialects_with_bodies() -> None:
    assert {"generator", "async"} <= set(BODY_FLOORS)
    assert BODY_FLOORS["generator"] is GeneratorBodyFloor
    assert BODY_FLOORS["async"] is AsyncBodyFloor
    # The greenlet floor exists exactly when greenlet bodies do and greenlet imports.
    try:
        import greenlet  # noqa: F401
    except ImportError:
        has_greenlet = False
    else:
        has_greenlet = "greenlet" in bodies.SWITCH_BODIES
    assert ("greenlet" in BODY_FLOORS) == has_greenlet


@pytest.mark.parametrize("dialect", sorted(BODY_FLOORS))
def test_body_floor_follows_the_protocol_and_is_not_registered(dialect: str) -> None:
    cls = BODY_FLOORS[dialect]
    assert check_contract(cls) is None
    assert cls.dialect == dialect
    entry = body_floor_entry(dialect)
    assert entry.cls is cls and entry.available and entry.builtin
    assert entry.name == cls.name
    assert entry.target == f"bench.measure.body_floor:{cls.__name__}"
    assert entry.dialect == dialect
    assert not entry.polling
    from bench.measure.registry import discover

    assert cls.name not in discover()  # not an entry point: never in the suite by accident


def test_body_floor_entry_rejects_an_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="no body floor for dialect 'fortran'"):
        body_floor_entry("fortran")


@pytest.mark.parametrize("dialect", sorted(BODY_FLOORS))
@pytest.mark.parametrize(("rockets", "seed"), [(1, 1), (7, 2), (300, 1969)])
def test_body_floor_is_valid_in_switch_mode_with_one_resume_per_sleep_and_start(
    dialect: str, rockets: int, seed: int
) -> None:
    workload = Workload.generate(rockets, seed, "switch")
    outcome = execute_once(body_floor_entry(dialect), workload)
    assert outcome.verdict.status is Status.VALID, outcome.verdict.explain()
    assert outcome.counters == {"resumes": workload.count + workload.total_sleeps}
    assert outcome.verdict.wasted == 0


@pytest.mark.parametrize("dialect", sorted(BODY_FLOORS))
def test_body_floor_runs_twice_in_one_process(dialect: str) -> None:
    workload = Workload.generate(50, 3, "switch")
    entry = body_floor_entry(dialect)
    for _ in range(2):
        assert execute_once(entry, workload).verdict.status is Status.VALID


@pytest.mark.parametrize("dialect", sorted(BODY_FLOORS))
def test_body_floor_runs_in_fifo_rounds(dialect: str) -> None:
    """Round robin: every rocket's nth step comes before any rocket's (n+1)th."""
    workload = Workload.generate(40, 4, "switch")
    clock = VirtualClock()
    driver = BODY_FLOORS[dialect](clock)
    coros, trace = build_coroutines(workload, dialect, driver.sleep, clock.now)
    driver.run(coros)
    # Rocket i records its events at resumes 2 .. countdown+2 (step k at resume k+2 counting
    # the start as 1): in round-robin order events come sorted by (resume number, index).
    position: dict[tuple[int, int], int] = {}
    for index, rocket in enumerate(workload.rockets):
        steps = [*range(rocket.countdown, 0, -1), 0]
        for n, step in enumerate(steps):
            position[(index, step)] = n
    keys = [(position[event], event[0]) for event in trace.events]
    assert keys == sorted(keys)


def test_body_floor_sleep_suspends_exactly_once_whatever_it_is_asked() -> None:
    sleep = GeneratorBodyFloor(VirtualClock()).sleep
    for seconds in (0.0, 1.5, -1.0):
        assert list(sleep(seconds)) == [0]
    awaitable = AsyncBodyFloor(VirtualClock()).sleep(0.0)
    assert list(awaitable.__await__()) == [0]


def test_a_timed_run_of_a_body_floor_is_early_not_invalid() -> None:
    """Documented: the floors ignore the duration, so timed wakes come early (EARLY)."""
    workload = Workload.generate(20, 5, "timed", 1.0)
    outcome = execute_once(body_floor_entry("generator"), workload, "virtual")
    assert outcome.verdict.status is Status.EARLY
    assert outcome.verdict.early_wakes > 0


def test_body_floor_cli_reports_every_floor_and_the_schedulers() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.measure.body_floor", "--rockets", "50", "--rounds", "2",
         "--against", "heapq"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for dialect in BODY_FLOORS:
        assert BODY_FLOORS[dialect].name in proc.stdout
    assert "heapq" in proc.stdout


# ---- timer floor ----


def test_wake_deadlines_follow_the_workload() -> None:
    workload = Workload.generate(30, 9, "timed", 0.5)
    deadlines = wake_deadlines(workload)
    expected = {(r.delay + k) * 0.5 for r in workload.rockets for k in range(r.countdown + 1)}
    assert deadlines == sorted(expected)
    gaps = wake_gaps(workload)
    assert len(gaps) == len(deadlines) - 1
    assert all(gap > 0 for gap in gaps)
    assert math.isclose(sum(gaps), deadlines[-1] - deadlines[0])


def _check_summary(summary: dict[str, float]) -> None:
    assert set(summary) == {*PERCENTILE_KEYS, "max", "mean"}
    assert all(math.isfinite(v) for v in summary.values())
    ordered = [summary[key] for key in PERCENTILE_KEYS] + [summary["max"]]
    assert ordered == sorted(ordered)
    assert summary["p50"] >= 0  # waited from the previous wake: never before the deadline


def test_timer_floor_returns_ordered_percentiles_on_a_tiny_workload() -> None:
    workload = Workload.generate(20, 3, "timed", 1e-4)  # deadlines within ~1 ms
    floor = measure_timer_floor(workload, budget_s=0.05)
    assert isinstance(floor, TimerFloor)
    assert floor.time_scale == 1e-4 and floor.rockets == 20 and floor.seed == 3
    assert floor.gaps == len(wake_gaps(workload))
    # Fewer gaps than the minimum: every gap is waited, whatever the budget.
    assert floor.gaps < MIN_WAKES and floor.wakes == floor.gaps
    _check_summary(floor.blocking)
    _check_summary(floor.spinning)
    if floor.blocking_low_slack is not None:
        _check_summary(floor.blocking_low_slack)
    assert set(floor.cpu_us_per_wake) == set(VARIANTS)
    assert all(v is None or v >= 0 for v in floor.cpu_us_per_wake.values())
    assert floor.median_gap_us > 0


def test_timer_floor_stops_at_the_budget_but_not_below_the_minimum() -> None:
    workload = Workload.generate(2_000, 5, "timed", 1e-5)  # ~6,000 gaps of ~0.1 µs
    floor = measure_timer_floor(workload, budget_s=1e-6)  # spent after the first chunk
    assert floor.gaps > MIN_WAKES
    assert MIN_WAKES <= floor.wakes < floor.gaps
    _check_summary(floor.blocking)


def test_timer_floor_rejects_a_non_positive_budget() -> None:
    with pytest.raises(ValueError, match="budget_s"):
        measure_timer_floor(Workload.generate(5, 1, "timed", 1e-4), budget_s=0)


def test_timer_floor_cli_prints_one_json_object() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.measure.timer_floor", "--rockets", "10", "--seed", "2",
         "--time-scale", "0.0001", "--budget", "0.01"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["rockets"] == 10 and data["time_scale"] == 1e-4
    for variant in VARIANTS:
        assert variant in data
    _check_summary(data["blocking"])


def test_timer_floor_cli_rejects_bad_input() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.measure.timer_floor", "--time-scale", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "--time-scale" in proc.stderr


def test_a_body_floor_process_caught_in_a_burst_does_not_make_honest_runs_suspect() -> None:
    """Plausibility reads the floor's fastest process: one floor process slowed 13× by a
    burst of load (as measured on the 2-core VM) must not make a 425 ns run SUSPECT, while
    a run below half the fastest floor process still is."""
    from bench.measure.plausibility import plausible
    from bench.results.fields import Fields
    from bench.results.model import RunRecord, Sample

    floor = Sample.from_json(Fields({"mean_s": 1892e-9, "std_s": 1e-6, "values_s": [269e-9, 3515e-9]}, "f"), "b")
    def run(ns: float) -> RunRecord:
        return RunRecord.from_json(Fields({
            "scheduler": "listscan", "mode": "switch", "status": "valid", "reasons": [], "dialect": "generator",
            "switch": {"mean_s": ns * 1e-9, "std_s": 1e-9, "values_s": [ns * 1e-9]}}, "run"))
    assert plausible(run(425), floor, "real").status.value == "valid"
    slow = plausible(run(100), floor, "real")
    assert slow.status.value == "suspect" and "269 ns in its fastest process" in slow.note
