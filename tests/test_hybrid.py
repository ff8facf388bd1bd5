"""Behaviour of the ``hybrid`` scheduler, and of trio's adapter to the harness clock.

No timing assertions: these tests check order, correctness and that nothing waits for
real when the clock is virtual. How fast or precise the loop is, is the benchmark's job.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Generator
from typing import Any

import pytest

from bench.measure.clocks import RealClock, VirtualClock
from bench.measure.execute import execute_once
from bench.measure.registry import SchedulerEntry, discover
from bench.workload.rockets import Workload, build_coroutines
from schedulers.hybrid import (
    DEFAULT_SPIN_BUDGET,
    DEFAULT_SPIN_MARGIN_S,
    DEFAULT_TIMER_SLACK_NS,
    HybridScheduler,
    current_timer_slack,
)

ENTRIES = discover()


def _entry(name: str) -> SchedulerEntry:
    entry = ENTRIES.get(name)
    if entry is None:
        pytest.skip(f"{name} is not registered (pip install -e . to register the entry points)")
    if not entry.available:
        pytest.skip(f"{name} unavailable: {entry.error}")
    return entry


class ManualClock:
    """A clock only the test moves (``advance``); ``wait`` jumps like the virtual clock."""

    def __init__(self) -> None:
        self.t = 0.0
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.t += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        self.t += seconds


class CountingVirtualClock(VirtualClock):
    """A virtual clock that gives up (raises) instead of letting a loop spin on it forever."""

    __slots__ = ("reads",)
    MAX_READS = 1_000_000

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def now(self) -> float:
        self.reads += 1
        if self.reads > self.MAX_READS:
            raise RuntimeError("the scheduler is spinning on a virtual clock")
        return super().now()


# ---- ordering ----


def test_zero_sleeps_round_robin_in_fifo_order() -> None:
    scheduler = HybridScheduler(ManualClock())
    log: list[str] = []

    def task(name: str, rounds: int) -> Generator[Any, None, None]:
        for i in range(rounds):
            log.append(f"{name}{i}")
            yield from scheduler.sleep(0.0)

    counters = scheduler.run([task("a", 3), task("b", 3), task("c", 2)])
    assert log == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2"]
    assert counters == {"resumes": 3 + 3 + 2 + 3}  # one start plus one resume per sleep


def test_due_timers_run_after_the_tasks_already_ready() -> None:
    clock = ManualClock()
    scheduler = HybridScheduler(clock)
    log: list[str] = []

    def sleeper() -> Generator[Any, None, None]:
        yield from scheduler.sleep(0.5)  # due at 0.5
        log.append("timer")

    def ticker(name: str, moves_clock: bool) -> Generator[Any, None, None]:
        log.append(f"{name}0")
        if moves_clock:
            clock.advance(1.0)  # the timer is due from now on
        yield from scheduler.sleep(0.0)
        log.append(f"{name}1")
        yield from scheduler.sleep(0.0)
        log.append(f"{name}2")

    scheduler.run([sleeper(), ticker("x", True), ticker("y", False)])
    # Pass 1 runs sleeper, x, y. Pass 2 starts with x and y ready and then finds the
    # timer due: it joins the back of the deque and runs after them, in the same pass.
    # x and y's second zero sleeps land behind the timer.
    assert log == ["x0", "y0", "x1", "y1", "timer", "x2", "y2"]
    assert clock.waits == []  # something was always ready: the loop never blocked


def test_timers_fire_in_deadline_order_and_fifo_on_ties() -> None:
    clock = ManualClock()
    scheduler = HybridScheduler(clock)
    log: list[str] = []

    def task(name: str, seconds: float) -> Generator[Any, None, None]:
        yield from scheduler.sleep(seconds)
        log.append(name)

    scheduler.run([
        task("late", 3.0), task("tie-1", 1.0), task("early", 0.5), task("tie-2", 1.0), task("tie-3", 1.0)
    ])
    assert log == ["early", "tie-1", "tie-2", "tie-3", "late"]
    assert clock.t == 3.0  # each deadline exactly: ties are not nudged apart


def test_negative_sleep_is_a_zero_sleep() -> None:
    clock = ManualClock()
    scheduler = HybridScheduler(clock)
    log: list[str] = []

    def task(name: str, seconds: float) -> Generator[Any, None, None]:
        log.append(f"{name} start")
        yield from scheduler.sleep(seconds)
        log.append(f"{name} end")

    scheduler.run([task("a", -1.0), task("b", 0.0)])
    assert log == ["a start", "b start", "a end", "b end"]
    assert clock.waits == [] and clock.t == 0.0


def test_a_task_suspending_otherwise_is_told_what_went_wrong() -> None:
    def bare_yield() -> Generator[Any, None, None]:
        yield "soon"

    with pytest.raises(TypeError, match="yield from sleep"):
        HybridScheduler(ManualClock()).run([bare_yield()])

    other = HybridScheduler(ManualClock())

    def someone_elses_sleep() -> Generator[Any, None, None]:
        yield from other.sleep(1.0)  # the request lands on the other scheduler

    with pytest.raises(TypeError, match="yield from sleep"):
        HybridScheduler(ManualClock()).run([someone_elses_sleep()])

    def bad_duration(scheduler: HybridScheduler) -> Generator[Any, None, None]:
        yield from scheduler.sleep("1s")  # type: ignore[arg-type]

    scheduler = HybridScheduler(ManualClock())
    with pytest.raises(TypeError, match="'1s'"):
        scheduler.run([bad_duration(scheduler)])


def test_sleep_allocates_nothing_the_cyclic_gc_tracks() -> None:
    scheduler = HybridScheduler(ManualClock())
    request = scheduler.sleep(0.5)
    assert list(request) == [0]  # one suspension
    assert not gc.is_tracked(iter(request))


# ---- the harness's clocks ----


def test_never_wakes_early_on_a_real_clock() -> None:
    workload = Workload.generate(300, 5, "timed", 0.002)
    outcome = execute_once(_entry("hybrid"), workload, "real")
    assert outcome.verdict.status == "valid", outcome.verdict.explain()
    assert outcome.verdict.early_wakes == 0
    assert len(outcome.lateness_s) == workload.total_sleeps
    assert min(outcome.lateness_s) >= 0
    assert outcome.counters == {"resumes": workload.expected_resumes}


@pytest.mark.parametrize(
    ("spin_margin", "spin_budget", "timer_slack_ns"),
    [(0.0, 0.1, 1), (1e-3, 1.0, None), (1e-3, 0.0, 1)],
    ids=["no-margin", "wide-margin-default-slack", "no-budget"],
)
def test_never_wakes_early_whatever_the_knobs(
    spin_margin: float, spin_budget: float, timer_slack_ns: int | None
) -> None:
    workload = Workload.generate(100, 6, "timed", 0.002)
    clock = RealClock()
    scheduler = HybridScheduler(
        clock, spin_margin=spin_margin, spin_budget=spin_budget, timer_slack_ns=timer_slack_ns
    )
    coros, trace = build_coroutines(workload, "generator", scheduler.sleep, clock.now)
    assert scheduler.run(coros) == {"resumes": workload.expected_resumes}
    assert len(trace.lateness) == workload.total_sleeps
    assert min(trace.lateness) >= 0


def test_runs_on_the_virtual_clock_without_waiting_and_on_time() -> None:
    workload = Workload.generate(500, 7, "timed", 1.0)
    outcome = execute_once(_entry("hybrid"), workload, "virtual")
    assert outcome.verdict.status == "valid", outcome.verdict.explain()
    assert outcome.wall_s < workload.ideal_makespan_s  # it never really waited
    assert min(outcome.lateness_s) >= 0
    assert max(outcome.lateness_s) == 0.0  # it jumps exactly to each deadline
    assert outcome.counters == {"resumes": workload.expected_resumes}


def test_never_spins_on_a_virtual_clock() -> None:
    # A whole day per tick: any spin on a clock that does not move would never end;
    # the counting clock turns that into an error instead of a hung test.
    workload = Workload.generate(200, 8, "timed", 86_400.0)
    clock = CountingVirtualClock()
    scheduler = HybridScheduler(clock)
    coros, trace = build_coroutines(workload, "generator", scheduler.sleep, clock.now)
    assert scheduler.run(coros) == {"resumes": workload.expected_resumes}
    assert min(trace.lateness) >= 0 and max(trace.lateness) == 0.0
    # The rockets read the clock twice per sleep, the loop a few times per wake.
    assert clock.reads < 10 * workload.expected_resumes


# ---- the precision knobs ----


def test_knobs_default_and_accept_their_limits() -> None:
    scheduler = HybridScheduler(RealClock())
    assert scheduler.spin_margin == DEFAULT_SPIN_MARGIN_S
    assert scheduler.spin_budget == DEFAULT_SPIN_BUDGET
    assert scheduler.timer_slack_ns == DEFAULT_TIMER_SLACK_NS
    scheduler = HybridScheduler(RealClock(), spin_margin=0, spin_budget=1, timer_slack_ns=None)
    assert (scheduler.spin_margin, scheduler.spin_budget, scheduler.timer_slack_ns) == (0.0, 1.0, None)
    assert HybridScheduler(RealClock(), spin_margin=5e-5).spin_margin == 5e-5


@pytest.mark.parametrize("bad", [-1e-6, -1.0, math.nan, math.inf, "200us", None, True])
def test_spin_margin_rejects_bad_values(bad: Any) -> None:
    with pytest.raises(ValueError, match="spin_margin"):
        HybridScheduler(RealClock(), spin_margin=bad)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, "10%"])
def test_spin_budget_rejects_bad_values(bad: Any) -> None:
    with pytest.raises(ValueError, match="spin_budget"):
        HybridScheduler(RealClock(), spin_budget=bad)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "1ns", True])
def test_timer_slack_rejects_bad_values(bad: Any) -> None:
    with pytest.raises(ValueError, match="timer_slack_ns"):
        HybridScheduler(RealClock(), timer_slack_ns=bad)


def test_timer_slack_is_lowered_while_running_and_restored() -> None:
    before = current_timer_slack()
    if before is None:
        pytest.skip("no prctl timer slack on this platform")
    seen: list[int | None] = []

    def task(scheduler: HybridScheduler) -> Generator[Any, None, None]:
        seen.append(current_timer_slack())
        yield from scheduler.sleep(0.0)

    lowered = HybridScheduler(RealClock(), timer_slack_ns=1000)
    lowered.run([task(lowered)])
    assert seen == [1000]
    assert current_timer_slack() == before
    untouched = HybridScheduler(RealClock(), timer_slack_ns=None)
    untouched.run([task(untouched)])
    assert seen == [1000, before]


def test_timer_slack_is_restored_when_a_task_raises() -> None:
    before = current_timer_slack()
    if before is None:
        pytest.skip("no prctl timer slack on this platform")

    def boom() -> Generator[Any, None, None]:
        yield from ()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        HybridScheduler(RealClock(), timer_slack_ns=1).run([boom()])
    assert current_timer_slack() == before


# ---- trio on the harness clock ----


def test_trio_runs_on_the_virtual_clock_without_waiting_and_on_time() -> None:
    workload = Workload.generate(300, 9, "timed", 1.0)
    outcome = execute_once(_entry("trio"), workload, "virtual")
    assert outcome.verdict.status == "valid", outcome.verdict.explain()
    assert outcome.wall_s < workload.ideal_makespan_s
    assert min(outcome.lateness_s) >= 0
    assert max(outcome.lateness_s) == 0.0  # trio's deadlines and the bodies share one clock


def test_trio_clock_adapter_jumps_only_a_virtual_clock() -> None:
    trio_loop = pytest.importorskip("schedulers.trio_loop")

    virtual = VirtualClock()
    assert not trio_loop.moves_by_itself(virtual)
    adapter = trio_loop.HarnessClock(virtual)
    assert adapter.current_time() == 0.0
    assert adapter.deadline_to_sleep_time(2.5) == 0.0  # nothing left to sleep...
    assert virtual.now() == 2.5  # ...because the clock jumped to the deadline
    assert adapter.deadline_to_sleep_time(1.0) <= 0  # a past deadline: no jump back
    assert virtual.now() == 2.5
    assert adapter.deadline_to_sleep_time(math.inf) == math.inf  # no deadline: no jump
    assert virtual.now() == 2.5

    real = RealClock()
    assert trio_loop.moves_by_itself(real)
    adapter = trio_loop.HarnessClock(real)
    before = real.now()
    remaining = adapter.deadline_to_sleep_time(before + 60.0)
    assert 0 < remaining <= 60.0  # just reported: trio itself blocks for it
    assert real.now() - before < 60.0


def test_trio_reports_a_failing_rockets_own_exception() -> None:
    trio_loop = pytest.importorskip("schedulers.trio_loop")
    scheduler = trio_loop.TrioScheduler(RealClock())

    async def fine() -> None:
        await scheduler.sleep(0.001)

    async def failing() -> None:
        await scheduler.sleep(0)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        scheduler.run([fine(), failing(), fine()])
