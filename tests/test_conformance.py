"""Every registered scheduler (built-ins and any installed plugin) on the same small workloads.

A scheduler that is registered but unavailable (its optional dependency missing) is
skipped with the reason; one that is available must produce a valid trace in every mode
it supports, with counters consistent with its strategy.
"""

from __future__ import annotations

import pytest

from bench.measure.execute import execute_once
from bench.measure.registry import SchedulerEntry, discover
from bench.workload.rockets import Workload

ENTRIES = list(discover().values())
SMALL = 200
#: Loops whose timers are kept at millisecond granularity and so may fire before the
#: exact deadline; their early wakes are reported as figures, not conformance failures.
MAY_WAKE_EARLY = {"uvloop"}


def _require(entry: SchedulerEntry) -> None:
    if not entry.available:
        pytest.skip(f"{entry.name} unavailable: {entry.error}")


def _check(entry: SchedulerEntry, workload: Workload, clock: str = "real") -> None:
    outcome = execute_once(entry, workload, clock)  # type: ignore[arg-type]
    verdict = outcome.verdict
    assert verdict.valid, verdict.explain()
    if entry.name not in MAY_WAKE_EARLY:
        assert verdict.status == "valid", verdict.explain()
    if verdict.resumes is not None:
        if entry.polling:
            assert verdict.resumes >= workload.expected_resumes
            assert verdict.wasted is not None and verdict.wasted >= 0
        else:
            assert verdict.resumes == workload.expected_resumes
            assert verdict.wasted == 0
    assert outcome.wall_s > 0 and outcome.cpu_s >= 0


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_switch_mode(entry: SchedulerEntry) -> None:
    _require(entry)
    workload = Workload.generate(SMALL, 11, "switch")
    _check(entry, workload)
    # In switch mode every sleep suspends exactly once, so even polling designs resume
    # exactly once per sleep plus once per start.
    outcome = execute_once(entry, workload)
    if outcome.verdict.resumes is not None:
        assert outcome.verdict.resumes == workload.expected_resumes


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_timed_mode(entry: SchedulerEntry) -> None:
    _require(entry)
    workload = Workload.generate(SMALL, 12, "timed", 0.002)
    outcome = execute_once(entry, workload)
    assert len(outcome.lateness_s) == workload.total_sleeps
    _check(entry, workload)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_virtual_clock(entry: SchedulerEntry) -> None:
    _require(entry)
    if not entry.supports_virtual_clock:
        pytest.skip(f"{entry.name} declares it cannot run on a virtual clock")
    # A time scale of a full second would take ~9 s on a real clock; virtually it is instant.
    workload = Workload.generate(SMALL, 13, "timed", 1.0)
    outcome = execute_once(entry, workload, "virtual")
    assert outcome.verdict.status == "valid", outcome.verdict.explain()
    assert outcome.wall_s < workload.ideal_makespan_s  # it did not actually wait
    assert min(outcome.lateness_s) >= 0


def test_seed_schedulers_are_registered_as_builtins() -> None:
    entries = discover()
    for name in ("listscan", "busywait", "heapq", "deque", "asyncio"):
        assert entries[name].builtin and entries[name].available, name
