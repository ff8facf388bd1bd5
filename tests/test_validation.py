"""The validator catches each kind of wrong run, through the real plugin path and directly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, InstallPlugins

from bench.measure.execute import SchedulerCrashed, execute_once
from bench.measure.registry import discover
from bench.workload.checks import check_trace, validate
from bench.workload.rockets import Workload
from bench.workload.status import Status

BROKEN = {
    "loses-rocket": "broken_schedulers:LosesRocket",
    "wakes-early": "broken_schedulers:WakesEarly",
    "reorders-countdown": "broken_schedulers:ReordersCountdown",
    "launches-twice": "broken_schedulers:LaunchesTwice",
    "miscounts": "broken_schedulers:MiscountsResumes",
    "raises": "broken_schedulers:Raises",
    "no-run": "broken_schedulers:NoRun",
    "bad-dialect": "broken_schedulers:BadDialect",
    "missing-module": "no_such_module_anywhere:Scheduler",
}


@pytest.fixture
def broken(install_plugins: InstallPlugins) -> dict[str, object]:
    install_plugins(BROKEN)
    return discover()  # type: ignore[return-value]


def _run(entries: dict, name: str, mode: str = "timed") -> object:
    workload = Workload.generate(150, 3, mode, 0.002)  # type: ignore[arg-type]
    return execute_once(entries[name], workload)


def test_lost_rocket_is_invalid(broken: dict) -> None:
    verdict = _run(broken, "loses-rocket").verdict  # type: ignore[attr-defined]
    assert verdict.status is Status.INVALID
    assert "rocket lost: Artemis-149 never launched" in verdict.explain()


def test_early_wake_is_caught_with_worst(broken: dict) -> None:
    verdict = _run(broken, "wakes-early").verdict  # type: ignore[attr-defined]
    assert verdict.status is Status.EARLY
    assert verdict.early_wakes > 0 and verdict.worst_early_s > 0
    assert "early wakes" in verdict.explain()


def test_reordered_countdown_is_invalid(broken: dict) -> None:
    verdict = _run(broken, "reorders-countdown", "switch").verdict  # type: ignore[attr-defined]
    assert verdict.status is Status.INVALID
    assert "countdown out of order" in verdict.explain()


def test_double_launch_is_invalid(broken: dict) -> None:
    verdict = _run(broken, "launches-twice", "switch").verdict  # type: ignore[attr-defined]
    assert verdict.status is Status.INVALID
    assert "launched 2 times" in verdict.explain()


def test_resume_count_is_checked(broken: dict) -> None:
    verdict = _run(broken, "miscounts", "switch").verdict  # type: ignore[attr-defined]
    assert verdict.status is Status.INVALID
    assert "resumed rockets" in verdict.explain() and "expected" in verdict.explain()


def test_raising_scheduler_is_reported(broken: dict) -> None:
    with pytest.raises(SchedulerCrashed, match="RuntimeError: scheduler exploded on purpose"):
        _run(broken, "raises")


def test_unloadable_plugins_are_listed_with_reason(broken: dict) -> None:
    assert broken["no-run"].error == "missing method 'run'"  # type: ignore[attr-defined]
    assert "dialect" in broken["bad-dialect"].error  # type: ignore[attr-defined]
    assert broken["missing-module"].error.startswith("import failed: ModuleNotFoundError")  # type: ignore[attr-defined]
    assert broken["loses-rocket"].origin == "plugin schedbench-test-plugins 0.1"  # type: ignore[attr-defined]
    assert broken["loses-rocket"].family == "third-party"  # type: ignore[attr-defined]
    # The built-ins are unaffected by broken neighbours.
    assert broken["heapq"].available  # type: ignore[attr-defined]


def test_check_trace_directly() -> None:
    w = Workload.generate(3, 1, "switch")
    good = [(i, s) for i, r in enumerate(w.rockets) for s in [*range(r.countdown, 0, -1), 0]]
    assert check_trace(w, good) == []
    assert "unknown rocket index 99" in check_trace(w, [*good, (99, 0)])[0]
    missing = [e for e in good if e[0] != 1]
    assert check_trace(w, missing) == ["rocket lost: Artemis-1 never launched"]


def test_validate_counts_wasted_polls_for_polling_designs() -> None:
    w = Workload.generate(5, 2, "switch")
    events = [(i, s) for i, r in enumerate(w.rockets) for s in [*range(r.countdown, 0, -1), 0]]
    v = validate(w, events, [], {"resumes": w.expected_resumes + 10}, polling=True)
    assert v.status is Status.VALID and v.wasted == 10
    v = validate(w, events, [], {"resumes": w.expected_resumes + 10}, polling=False)
    assert v.status is Status.INVALID
    v = validate(w, events, [], None, polling=False)
    assert v.status is Status.VALID and v.resumes is None


# ---- the counters contract: None, or resumes (+ wasted) and nothing else ----------------


def _switch_events(w: Workload) -> list[tuple[int, int]]:
    return [(i, s) for i, r in enumerate(w.rockets) for s in [*range(r.countdown, 0, -1), 0]]


def test_misspelt_counter_is_invalid_and_named() -> None:
    """``{"resume": n}`` used to be VALID with resumes "n/a": the counters were ignored."""
    w = Workload.generate(5, 2, "switch")
    v = validate(w, _switch_events(w), [], {"resume": w.expected_resumes}, polling=False)
    assert v.status is Status.INVALID
    assert v.explain() == ("counters: unknown key 'resume' (allowed: resumes, wasted); "
                           "counters: 'resumes' is required when counters are returned")


def test_empty_counters_are_invalid() -> None:
    w = Workload.generate(5, 2, "switch")
    v = validate(w, _switch_events(w), [], {}, polling=False)
    assert v.status is Status.INVALID
    assert v.reasons == ("counters: 'resumes' is required when counters are returned",)


def test_extra_counter_beside_resumes_is_invalid() -> None:
    w = Workload.generate(5, 2, "switch")
    v = validate(w, _switch_events(w), [], {"resumes": w.expected_resumes, "polls": 3}, polling=False)
    assert v.status is Status.INVALID
    assert v.reasons == ("counters: unknown key 'polls' (allowed: resumes, wasted)",)
    assert v.resumes == w.expected_resumes  # the known counter is still read and checked


def test_known_counters_and_none_stay_valid() -> None:
    w = Workload.generate(5, 2, "switch")
    events = _switch_events(w)
    assert validate(w, events, [], None, polling=False).status is Status.VALID
    assert validate(w, events, [], {"resumes": w.expected_resumes}, polling=False).status is Status.VALID
    v = validate(w, events, [], {"resumes": w.expected_resumes, "wasted": 4}, polling=True)
    assert v.status is Status.VALID and v.wasted == 4


def test_malformed_resumes_is_not_also_reported_missing() -> None:
    w = Workload.generate(5, 2, "switch")
    v = validate(w, _switch_events(w), [], {"resumes": float("nan")}, polling=False)
    assert v.status is Status.INVALID
    assert "counter 'resumes' is nan" in v.explain() and "required" not in v.explain()


@pytest.mark.parametrize("name", ["heapq", "listscan", "busywait", "deque", "hybrid"])
def test_counting_builtins_keep_to_the_contract(name: str) -> None:
    """The built-ins that return counters (resumes, and deque's wasted) still pass."""
    entry = discover()[name]
    outcome = execute_once(entry, Workload.generate(60, 4, "switch"))
    assert outcome.verdict.status is Status.VALID, outcome.verdict.explain()
    assert outcome.verdict.resumes is not None


# ---- makespan against the ideal, on the real clock ---------------------------------------

#: How late the wakes of the hand-made timed traces below are: small and positive.
_LATE_S = 50e-6


def _timed(count: int = 20, seed: int = 1, scale: float = 1.0) -> tuple[Workload, list[tuple[int, int]]]:
    w = Workload.generate(count, seed, "timed", scale)
    return w, _switch_events(w)


def _longest_sleep_s(w: Workload) -> float:
    return max(max(r.delay for r in w.rockets) * w.time_scale, w.time_scale)


def test_one_very_early_wake_does_not_excuse_a_makespan_at_3_percent_of_the_ideal() -> None:
    """One wake early by a whole long sleep used to widen the allowance to 5 × that wake
    for every rocket (below zero here): 0.03 × the ideal came out EARLY."""
    w, events = _timed()
    lateness = [_LATE_S] * w.total_sleeps
    lateness[0] = -_longest_sleep_s(w)  # as early as any wake can be: the longest sleep
    v = validate(w, events, lateness, None, polling=False, wall_s=0.03 * w.ideal_makespan_s, real_clock=True)
    assert v.status is Status.INVALID, v.explain()
    assert f"is below the ideal {w.ideal_makespan_s:.6f} s (0.03× ideal)" in v.explain()
    assert f"makespan {0.03 * w.ideal_makespan_s:.6f} s" in v.explain()


def test_the_allowance_is_one_early_wake_per_sleep_of_each_rocket() -> None:
    """Per sleep of the rocket that bounds, not per sleep of the longest possible countdown.

    Every wake 1 ms early: the longest rocket here has fewer than 5 sleeps, so a makespan
    short by 4.5 ms is impossible, though 5 × 1 ms used to allow it.
    """
    w, events = _timed(count=1, seed=5)
    (rocket,) = w.rockets
    assert rocket.countdown + 1 < 5, rocket  # the case this test is about
    early = 1e-3
    lateness = [-early] * w.total_sleeps
    allowed = (rocket.countdown + 1) * early
    short = validate(w, events, lateness, None, polling=False, wall_s=w.ideal_makespan_s - 4.5e-3, real_clock=True)
    assert short.status is Status.INVALID, short.explain()
    assert f"excuse at most {allowed:.6f} s" in short.explain()
    ok = validate(w, events, lateness, None, polling=False, wall_s=w.ideal_makespan_s - allowed * 0.99,
                  real_clock=True)
    assert ok.status is Status.EARLY, ok.explain()


def test_a_wake_earlier_than_any_sleep_is_invalid() -> None:
    """A wake cannot come before its own sleep began; such a value was written, not measured."""
    w, events = _timed()
    lateness = [_LATE_S] * w.total_sleeps
    lateness[3] = -2 * _longest_sleep_s(w)
    v = validate(w, events, lateness, None, polling=False, wall_s=w.ideal_makespan_s * 1.01, real_clock=True)
    assert v.status is Status.INVALID
    assert "earlier than the longest sleep" in v.explain()
    # On the virtual clock the makespan and the earliness bounds are not checked.
    assert validate(w, events, lateness, None, polling=False, wall_s=0.0, real_clock=False).status is Status.EARLY


def test_a_loop_that_never_waits_is_early_not_invalid() -> None:
    """The trade-off: every wake early by its whole sleep (honestly measured) excuses the
    whole ideal; the lateness list is not attributed to rockets, so it cannot be told apart."""
    w, events = _timed()
    lateness = [-(r.delay * w.time_scale) if k == 0 else -w.time_scale
                for r in w.rockets for k in range(r.countdown + 1)]
    v = validate(w, events, lateness, None, polling=False, wall_s=1e-3, real_clock=True)
    assert v.status is Status.EARLY, v.explain()


def test_virtual_clock_timer_tables_rank_by_cpu_per_wake(tmp_path: Path) -> None:
    """On the virtual clock every correct loop is exactly on time, so the table ranks by CPU
    per wake (and says why) instead of by a p99 of 0.00 for everyone."""
    from bench.present.tables import timer_answer_tables
    from bench.results import store

    out = tmp_path / "virtual.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "--fast", "--clock", "virtual", "--mode", "timed",
                           "-s", "anyio-trio,trio", "--rockets", "300", "-o", str(out)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (table,) = timer_answer_tables(store.load(out))
    # Both production loops (rows are grouped by family first); anyio adds CPU to every wake of trio.
    assert [row.scheduler for row in table.rows] == ["trio", "anyio-trio"]
    assert "ranked by CPU per wake" in table.footnote
    assert not any(cell.best for row in table.rows for cell in row.cells[:2])  # no "best" p99 of 0.00
