"""Behaviour of the ``hybrid`` scheduler, and of trio's adapter to the harness clock.

No timing assertions: these tests check order, correctness and that nothing waits for
real when the clock is virtual. How fast or precise the loop is, is the benchmark's job.
"""

from __future__ import annotations

import gc
import heapq
import math
import random
import time
from collections.abc import Generator
from typing import Any

import pytest

from bench.measure.clocks import RealClock, VirtualClock
from bench.measure.execute import execute_once
from bench.measure.registry import SchedulerEntry, discover
from bench.workload.rockets import Workload, build_coroutines
from schedulers.hybrid import (
    DEFAULT_COALESCE_S,
    DEFAULT_SPIN_BELOW_S,
    DEFAULT_SPIN_BUDGET,
    DEFAULT_SPIN_MARGIN_S,
    DEFAULT_TIMER_SLACK_NS,
    HybridScheduler,
    _latest_within,
)
from schedulers.timer_slack import current_timer_slack, timer_slack

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


class TickingClock:
    """A clock that moves by itself: every reading advances it by ``tick`` seconds (so the
    loop treats it as real: it coalesces and may spin); ``wait`` jumps exactly."""

    def __init__(self, tick: float = 1e-7) -> None:
        self.t = 0.0
        self.tick = tick
        self.waits: list[float] = []

    def now(self) -> float:
        self.t += self.tick
        return self.t

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.t += max(seconds, 0.0)


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


def test_negative_and_nan_sleeps_are_zero_sleeps() -> None:
    clock = ManualClock()
    scheduler = HybridScheduler(clock)
    log: list[str] = []

    def task(name: str, seconds: float) -> Generator[Any, None, None]:
        log.append(f"{name} start")
        yield from scheduler.sleep(seconds)
        log.append(f"{name} end")

    scheduler.run([task("a", -1.0), task("b", 0.0), task("c", math.nan)])
    assert log == ["a start", "b start", "c start", "a end", "b end", "c end"]
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
    with pytest.raises(TypeError, match="not supported between instances of 'str' and 'float'"):
        scheduler.run([bad_duration(scheduler)])


def test_sleep_suspends_once_and_allocates_nothing_the_cyclic_gc_tracks() -> None:
    scheduler = HybridScheduler(ManualClock())
    timed = scheduler.sleep(0.5)
    assert list(timed) == [1]  # one suspension, yielding 1: "read my request"
    assert scheduler._request == 0.5
    for zero in (0.0, 0, -0.0, -1.0, math.nan):
        scheduler._request = None
        request = scheduler.sleep(zero)
        assert list(request) == [0]  # one suspension, yielding 0: a zero sleep, nothing left
        assert scheduler._request is None
    for request in (timed, scheduler.sleep(0.0)):
        assert not gc.is_tracked(iter(request))


# ---- the harness's clocks ----


def test_never_wakes_early_on_a_real_clock() -> None:
    workload = Workload.generate(300, 5, "timed", 0.002)
    outcome = execute_once(_entry("hybrid"), workload, "real")
    assert outcome.verdict.ranked, f"{outcome.verdict.label}: {outcome.verdict.explain()}"
    assert outcome.verdict.early_wakes == 0
    assert len(outcome.lateness_s) == workload.total_sleeps
    assert min(outcome.lateness_s) >= 0
    assert outcome.counters == {"resumes": workload.expected_resumes}


@pytest.mark.parametrize(
    ("coalesce", "spin_margin", "spin_budget", "timer_slack_ns"),
    [(0.0, 0.0, 0.1, 1), (0.0, 1e-3, 1.0, None), (0.0, 1e-3, 0.0, 1), (1e-3, 0.0, 0.1, 1),
     (2e-4, 5e-5, 1.0, 1)],
    ids=["no-coalescing-no-margin", "wide-margin-default-slack", "no-budget", "wide-window",
         "window-and-margin"],
)
def test_never_wakes_early_whatever_the_knobs(
    coalesce: float, spin_margin: float, spin_budget: float, timer_slack_ns: int | None
) -> None:
    workload = Workload.generate(100, 6, "timed", 0.002)
    clock = RealClock()
    scheduler = HybridScheduler(
        clock, coalesce=coalesce, spin_margin=spin_margin, spin_budget=spin_budget,
        timer_slack_ns=timer_slack_ns,
    )
    coros, trace = build_coroutines(workload, "generator", scheduler.sleep, clock.now)
    assert scheduler.run(coros) == {"resumes": workload.expected_resumes}
    assert len(trace.lateness) == workload.total_sleeps
    assert min(trace.lateness) >= 0


def test_runs_on_the_virtual_clock_without_waiting_and_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_real_sleep(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) on a virtual clock")

    monkeypatch.setattr(time, "sleep", no_real_sleep)  # any real wait fails the run
    workload = Workload.generate(500, 7, "timed", 1.0)
    outcome = execute_once(_entry("hybrid"), workload, "virtual")
    assert outcome.verdict.ranked, f"{outcome.verdict.label}: {outcome.verdict.explain()}"
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


# ---- coalescing: one wake for the deadlines within the window ----


def _wake_log(clock: TickingClock, scheduler: HybridScheduler, delays: list[float]) -> list[tuple[str, float, float]]:
    """Run one task per delay; return (name, due, woke) in wake order."""
    log: list[tuple[str, float, float]] = []

    def task(name: str, delay: float) -> Generator[Any, None, None]:
        due = clock.now() + delay
        yield from scheduler.sleep(delay)
        log.append((name, due, clock.now()))

    scheduler.run([task(f"t{i}", delay) for i, delay in enumerate(delays)])
    return log


def test_coalescing_serves_the_deadlines_within_the_window_with_one_wait() -> None:
    delays = [1.0, 1.000005, 1.00001, 2.0, 2.0001]  # a group within 20 µs, then two apart
    clock = TickingClock()
    log = _wake_log(clock, HybridScheduler(clock, coalesce=20e-6, spin_margin=0.0, spin_below=0.0), delays)
    assert [name for name, _, _ in log] == ["t0", "t1", "t2", "t3", "t4"]  # deadline order
    assert all(woke >= due for _, due, woke in log)  # never early
    assert len(clock.waits) == 3  # {t0, t1, t2}, {t3}, {t4}: 100 µs apart is beyond the window
    # The group woke once, for its last deadline: t0 is late by about the window, t2 is not.
    (_, due0, woke0), _, (_, due2, woke2) = log[:3]
    assert 9e-6 < woke0 - due0 < 11e-6 + 1e-5
    assert woke2 - due2 < 1e-5

    clock = TickingClock()
    log = _wake_log(clock, HybridScheduler(clock, coalesce=0.0, spin_margin=0.0, spin_below=0.0), delays)
    assert [name for name, _, _ in log] == ["t0", "t1", "t2", "t3", "t4"]
    assert all(woke >= due for _, due, woke in log)
    assert len(clock.waits) == 5  # no window: one wait per deadline


def test_no_coalescing_or_spinning_on_a_clock_that_does_not_move_by_itself() -> None:
    clock = ManualClock()
    scheduler = HybridScheduler(clock, coalesce=1.0, spin_margin=1.0, spin_budget=1.0, spin_below=1.0)
    log: list[tuple[float, float]] = []

    def task(delay: float) -> Generator[Any, None, None]:
        due = clock.now() + delay
        yield from scheduler.sleep(delay)
        log.append((due, clock.now()))

    scheduler.run([task(0.5), task(0.75), task(1.0)])
    assert log == [(0.5, 0.5), (0.75, 0.75), (1.0, 1.0)]  # each exactly on time: no window
    assert clock.waits == [0.5, 0.25, 0.25]


def test_a_gap_shorter_than_spin_below_is_spun_not_blocked() -> None:
    delays = [1.0, 1.00001, 1.0001]  # 10 µs after the first, then 90 µs after that
    clock = TickingClock()
    log = _wake_log(clock, HybridScheduler(clock, spin_below=25e-6, spin_budget=1.0), delays)
    assert [name for name, _, _ in log] == ["t0", "t1", "t2"]
    assert all(woke >= due for _, due, woke in log)  # never early
    assert len(clock.waits) == 2  # t0 and t2 blocked; the 10 µs gap to t1 was spun
    assert log[1][2] - log[1][1] < 1e-6  # and t1 woke within a few clock readings

    for knobs in ({"spin_below": 0.0}, {"spin_below": 25e-6, "spin_budget": 0.0}):
        clock = TickingClock()
        log = _wake_log(clock, HybridScheduler(clock, **knobs), delays)
        assert all(woke >= due for _, due, woke in log)
        assert len(clock.waits) == 3, knobs  # no spinning allowed: every deadline blocks


def test_latest_within_finds_the_last_deadline_under_the_bound() -> None:
    rng = random.Random(11)
    for size in (1, 2, 3, 7, 50, 400):
        for _ in range(20):
            timers = [rng.random() for _ in range(size)]
            heapq.heapify(timers)
            bound = timers[0] + rng.choice([0.0, 0.001, 0.05, 0.3, 2.0])
            assert _latest_within(timers, bound) == max(t for t in timers if t <= bound)


# ---- the precision knobs ----


def test_knobs_default_and_accept_their_limits() -> None:
    scheduler = HybridScheduler(RealClock())
    knobs = (scheduler.coalesce, scheduler.spin_margin, scheduler.spin_budget, scheduler.spin_below,
             scheduler.timer_slack_ns)
    assert knobs == (DEFAULT_COALESCE_S, DEFAULT_SPIN_MARGIN_S, DEFAULT_SPIN_BUDGET, DEFAULT_SPIN_BELOW_S,
                     DEFAULT_TIMER_SLACK_NS)
    scheduler = HybridScheduler(RealClock(), coalesce=0, spin_margin=0, spin_budget=1, spin_below=0,
                                timer_slack_ns=None)
    knobs = (scheduler.coalesce, scheduler.spin_margin, scheduler.spin_budget, scheduler.spin_below,
             scheduler.timer_slack_ns)
    assert knobs == (0.0, 0.0, 1.0, 0.0, None)
    assert HybridScheduler(RealClock(), spin_margin=5e-5, coalesce=3e-5).spin_margin == 5e-5
    assert HybridScheduler(RealClock(), spin_margin=5e-5, coalesce=3e-5).coalesce == 3e-5


@pytest.mark.parametrize("bad", [-1e-6, math.nan, math.inf, "20us", None, False])
def test_coalesce_rejects_bad_values(bad: Any) -> None:
    with pytest.raises(ValueError, match="coalesce"):
        HybridScheduler(RealClock(), coalesce=bad)


@pytest.mark.parametrize("bad", [-1e-6, -1.0, math.nan, math.inf, "200us", None, True])
def test_spin_margin_rejects_bad_values(bad: Any) -> None:
    with pytest.raises(ValueError, match="spin_margin"):
        HybridScheduler(RealClock(), spin_margin=bad)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, "10%"])
def test_spin_budget_rejects_bad_values(bad: Any) -> None:
    with pytest.raises(ValueError, match="spin_budget"):
        HybridScheduler(RealClock(), spin_budget=bad)


@pytest.mark.parametrize("bad", [-1e-6, math.nan, math.inf, "25us", None, True])
def test_spin_below_rejects_bad_values(bad: Any) -> None:
    with pytest.raises(ValueError, match="spin_below"):
        HybridScheduler(RealClock(), spin_below=bad)


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


def test_timer_slack_helper_sets_and_restores() -> None:
    before = current_timer_slack()
    with timer_slack(None) as changed:
        assert changed is False
        assert current_timer_slack() == before
    if before is None:
        pytest.skip("no prctl timer slack on this platform")
    with timer_slack(2000) as changed:
        assert changed is True
        assert current_timer_slack() == 2000
    assert current_timer_slack() == before


def test_hybrid_and_timer_floor_share_the_timer_slack_helper() -> None:
    import bench.measure.timer_floor as timer_floor_module
    import schedulers.hybrid as hybrid_module

    assert hybrid_module.timer_slack is timer_slack
    assert timer_floor_module.timer_slack is timer_slack


# ---- trio on the harness clock ----


def test_trio_runs_on_the_virtual_clock_without_waiting_and_on_time() -> None:
    workload = Workload.generate(300, 9, "timed", 1.0)
    outcome = execute_once(_entry("trio"), workload, "virtual")
    assert outcome.verdict.ranked, f"{outcome.verdict.label}: {outcome.verdict.explain()}"
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

    class RecordingRealClock(RealClock):
        __slots__ = ("waits",)

        def __init__(self) -> None:
            self.waits: list[float] = []

        def wait(self, seconds: float) -> None:  # type: ignore[override]
            self.waits.append(seconds)
            RealClock.wait(seconds)

    real = RecordingRealClock()
    assert trio_loop.moves_by_itself(real)
    adapter = trio_loop.HarnessClock(real)
    before = real.now()
    remaining = adapter.deadline_to_sleep_time(before + 60.0)
    after = real.now()
    # Just reported, computed from one reading between ours: trio itself blocks for it.
    assert before + 60.0 - after <= remaining <= 60.0
    assert real.waits == []  # the adapter never waits on a real clock


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
