"""One scheduler primitive per benchmark; ``microbench/conftest.py`` says how to run them.

Sizes mirror the default workload (10,000 rockets): a heap or queue of 10,000 tasks.
Each benchmark keeps its data structure in a steady state (a popped entry is pushed back
with a later deadline), so every call measures the same operation.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from heapq import heappop, heappush
from typing import Any

import pytest

from bench.measure.clocks import make_clock
from bench.measure.registry import discover
from bench.workload.rockets import Workload, build_coroutines

TASKS = 10_000
#: Switches per call where one switch is too short to time alone or cannot be isolated.
ROUND_TRIPS = 100

Benchmark = Any  # pytest-benchmark's fixture has no public type


def noop() -> None:
    pass


def forever() -> Generator[float, None, None]:
    while True:
        yield 0.0


def test_floor_generator_send(benchmark: Benchmark) -> None:
    """The floor: one bare ``send`` into a suspended generator."""
    send = forever().send
    send(None)
    benchmark(send, None)


def test_heapq_timer_push_pop(benchmark: Benchmark) -> None:
    """heapq's switch bookkeeping: pop the earliest ``(due, seq, task)``, push it back later."""
    heap = [(float(i), i, forever()) for i in range(TASKS)]  # sorted, so already a heap
    seq = iter(range(TASKS, 10**12)).__next__

    def step() -> None:
        due, _, task = heappop(heap)
        heappush(heap, (due + TASKS, seq(), task))

    benchmark(step)


def test_heapq_step_with_send(benchmark: Benchmark) -> None:
    """A whole heapq switch minus the clock: pop, resume, push."""
    heap = [(float(i), i, forever()) for i in range(TASKS)]
    for _, _, task in heap:
        task.send(None)
    seq = iter(range(TASKS, 10**12)).__next__

    def step() -> None:
        due, _, task = heappop(heap)
        task.send(None)
        heappush(heap, (due + TASKS, seq(), task))

    benchmark(step)


def test_deque_rotation_with_send(benchmark: Benchmark) -> None:
    """deque's switch: ``popleft``, ``send``, ``append``."""
    ready: deque[Generator[float, None, None]] = deque(forever() for _ in range(TASKS))
    for task in ready:
        task.send(None)
    popleft, append = ready.popleft, ready.append

    def step() -> None:
        task = popleft()
        task.send(None)
        append(task)

    benchmark(step)


def test_busywait_poll(benchmark: Benchmark) -> None:
    """busywait's switch: resume a sleeper that reads the clock and is not yet due."""

    def sleeper(deadline: float, now: Callable[[], float] = time.perf_counter) -> Generator[None, None, None]:
        while True:
            while now() < deadline:
                yield
            deadline += 1e9

    task = sleeper(time.perf_counter() + 1e9)
    task.send(None)
    benchmark(task.send, None)


def test_listscan_pass(benchmark: Benchmark) -> None:
    """listscan's pass over 1,000 sleepers: resume each, keep it, track the soonest."""
    tasks = [forever() for _ in range(1_000)]
    for task in tasks:
        task.send(None)

    def one_pass() -> list[Generator[float, None, None]]:
        smallest = float("inf")
        alive: list[Generator[float, None, None]] = []
        keep = alive.append
        for task in tasks:
            left = task.send(None)
            keep(task)
            if left < smallest:
                smallest = left
        return alive

    benchmark(one_pass)
    benchmark.extra_info["ns_per_switch"] = benchmark.stats.stats.median / 1_000 * 1e9


@pytest.fixture
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.SelectorEventLoop()
    yield loop
    loop.close()


def test_asyncio_sleep0_round_trips(benchmark: Benchmark, event_loop: asyncio.AbstractEventLoop) -> None:
    """asyncio's switch: ``await asyncio.sleep(0)``, one trip through the ready queue.

    One call is ``ROUND_TRIPS`` trips inside one ``run_until_complete`` (entering the
    loop costs more than a trip); ``extra_info`` has the cost per trip.
    """

    async def trips() -> None:
        sleep = asyncio.sleep
        for _ in range(ROUND_TRIPS):
            await sleep(0)

    benchmark(lambda: event_loop.run_until_complete(trips()))
    benchmark.extra_info["ns_per_switch"] = benchmark.stats.stats.median / ROUND_TRIPS * 1e9


def test_asyncio_timer_push_pop(benchmark: Benchmark, event_loop: asyncio.AbstractEventLoop) -> None:
    """asyncio's timer heap: pop the earliest ``TimerHandle`` of 10,000, push one back later.

    ``call_at`` pushes a ``TimerHandle`` onto a ``heapq`` list ordered by the handles'
    Python ``__lt__``, and ``_run_once`` pops the due ones: this is that pair.
    """
    now = event_loop.time()
    heap = [asyncio.TimerHandle(now + i, noop, (), event_loop) for i in range(TASKS)]  # sorted: a heap
    shift = float(TASKS)
    timer = asyncio.TimerHandle

    def step() -> None:
        handle = heappop(heap)
        heappush(heap, timer(handle.when() + shift, noop, (), event_loop))

    benchmark(step)


SWITCH_ROCKETS = 200
# A loop that runs once per process (Twisted's reactor) cannot be run 30 times here: the
# suite measures it one run per worker process instead.
BUILTINS = [name for name, entry in discover().items()
            if entry.builtin and entry.available and not entry.one_run_per_process]


@pytest.mark.parametrize("name", BUILTINS)
def test_scheduler_tiny_switch_run(benchmark: Benchmark, name: str) -> None:
    """Each built-in scheduler's whole loop on a 200-rocket switch workload.

    Only ``scheduler.run`` is timed (coroutines are built in ``setup``); ``extra_info``
    has the cost per rocket resume, the suite's switch-cost figure at a tiny N.
    """
    cls = discover()[name].cls
    assert cls is not None
    workload = Workload.generate(SWITCH_ROCKETS, 1969, "switch", 1.0)
    clock = make_clock("real")

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        scheduler = cls(clock)
        coros, _ = build_coroutines(workload, cls.dialect, scheduler.sleep, clock.now)
        return (scheduler, coros), {}

    def run(scheduler: Any, coros: list[Any]) -> None:
        scheduler.run(coros)

    benchmark.pedantic(run, setup=setup, rounds=30, iterations=1, warmup_rounds=2)
    benchmark.extra_info["ns_per_switch"] = benchmark.stats.stats.median / workload.expected_resumes * 1e9
