"""The validator catches each kind of wrong run, through the real plugin path and directly."""

from __future__ import annotations

import pytest
from conftest import InstallPlugins

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
