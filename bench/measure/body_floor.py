"""Body floors: the real rocket bodies driven by the cheapest correct loop of their dialect.

The floor of ``bench.measure.floor`` is one ``send(None)`` to a bare generator. A switch
in the workload also runs the rocket body: its ``for`` loop, the event append and the
call to ``sleep``, which at 10,000 rockets costs several bare sends, most of it cache
misses over 10,000 frames. Subtracting only the bare ``send`` leaves that in every
scheduler's "overhead". These drivers measure what the body alone costs: a scheduler's
own cost per switch is its switch cost minus the body floor of its dialect.

Each driver follows the scheduler protocol (``name``, ``dialect``, ``cls(clock)``,
``sleep``, ``run`` returning ``{"resumes": n}``) so it runs through
``bench.measure.execute.execute_once`` and is validated like any scheduler, but it is not
registered as an entry point: ``body_floor_entry(dialect)`` wraps it in a
``SchedulerEntry``. ``BODY_FLOORS`` maps each dialect to its driver.

What they do, per dialect:

* ``GeneratorBodyFloor``: a ``collections.deque`` of generators, run in passes
  (``for _ in repeat(None, len(ready))``: ``popleft``, ``next(task, sentinel)``,
  ``append`` unless the sentinel came back); ``sleep`` is a plain function returning one
  shared ``range(1)`` (the body's ``yield from`` makes its iterator: one suspension).
* ``AsyncBodyFloor``: the same deque of coroutines, each resumed by ``coro.send(None)``
  inside ``try``/``except StopIteration``; ``sleep`` is a plain function returning one
  shared awaitable whose class's ``__await__`` is ``range(1).__iter__`` (a C call, no
  Python frame): ``await`` gets a ``range`` iterator and suspends exactly once.
* ``GreenletBodyFloor`` (present when ``bench.workload.bodies`` has greenlet bodies and
  ``greenlet`` imports): one greenlet per rocket on a deque; ``sleep`` is the running
  loop greenlet's bound ``switch``, so a zero sleep is one stack switch to the loop and
  one back.

Switch mode only. ``sleep`` ignores its argument (the cheapest thing that suspends once
cannot also keep time), so a timed run wakes rockets before their deadlines and the
harness marks it EARLY: there is no timed body floor. Checking the argument and waiting
on the clock when it is positive would support the timed workload on the virtual clock,
but would cost every switch a test, which a floor must not carry. The floor for timed
runs is the machine's, ``bench.measure.timer_floor``.

Why these and not others. Each alternative that suspends once was timed against them:
passes over the deque against a ``while ready:`` loop, a tuple or a generator per sleep
against the shared ``range``, Python-level ``__await__`` methods and
``@types.coroutine`` generators against the C iterator, other ways to resume a
coroutine. The kept drivers are the cheapest or tied for it within the machine's noise,
and the simplest of those. The greenlet floor keeps a loop greenlet (two stack switches
per resume) rather than switching rockets straight to one another: no faster within
noise, and its ``sleep`` would need a Python frame. Its cost is greenlet's: each switch
copies the outgoing rocket's slice of C stack out and the incoming one's in, and at
10,000 greenlets little of that stays in cache.

The measurements behind these choices, the floors against schedulers and their
instruction counts, each with its date and command: docs/design.md, sections 12.1 and
12.2.

``python -m bench.measure.body_floor`` measures the drivers against registered
schedulers, interleaved, in one process; every run must be VALID.
"""

from __future__ import annotations

import argparse
import importlib
import random
import statistics
import sys
from collections import deque
from collections.abc import Coroutine, Generator, Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from typing import Any, ClassVar, Final, Literal

from bench.measure.registry import SchedulerEntry
from bench.workload import bodies
from bench.workload.rockets import DEFAULT_ROCKETS, DEFAULT_SEED
from schedulers.protocol import Clock

#: What every generator-dialect sleep returns: ``yield from`` makes its iterator, which
#: yields once (0). The iterator holds no object reference: untracked by the cyclic GC.
_ONCE: Final = range(1)

#: Returned by ``next(task, _DONE)`` when the generator has finished.
_DONE: Final = object()

def _suspend_once(seconds: float) -> range:
    """The generator dialect's sleep: one suspension, whatever ``seconds`` says."""
    return _ONCE


class GeneratorBodyFloor:
    """Generator rocket bodies on a round-robin deque: the cheapest correct generator loop."""

    name: ClassVar[str] = "body-floor-generator"
    dialect: ClassVar[Literal["generator"]] = "generator"
    supports_virtual_clock: ClassVar[bool] = True  # it never reads or waits on the clock

    #: A plain function, not a method: ``scheduler.sleep`` is the function itself.
    sleep = staticmethod(_suspend_once)

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        ready = deque(coroutines)
        popleft, append = ready.popleft, ready.append
        resume, done = next, _DONE
        resumes = 0
        while count := len(ready):
            resumes += count  # every task ready at the start of a pass runs once in it
            for _ in repeat(None, count):
                task = popleft()
                if resume(task, done) is not done:
                    append(task)
        return {"resumes": resumes}


class _SuspendOnce:
    """An awaitable that suspends its awaiter exactly once (yielding 0).

    ``__await__`` is the C method ``range(1).__iter__`` (a ``staticmethod``, so ``await``
    calls it with no argument): no Python frame, and its iterator is untracked by the GC.
    """

    __slots__ = ()
    __await__ = staticmethod(_ONCE.__iter__)


_SUSPEND_ONCE: Final = _SuspendOnce()


def _suspend_once_async(seconds: float) -> _SuspendOnce:
    """The async dialect's sleep: one suspension, whatever ``seconds`` says."""
    return _SUSPEND_ONCE


class AsyncBodyFloor:
    """Async rocket bodies on a round-robin deque, resumed with ``send(None)``."""

    name: ClassVar[str] = "body-floor-async"
    dialect: ClassVar[Literal["async"]] = "async"
    supports_virtual_clock: ClassVar[bool] = True

    sleep = staticmethod(_suspend_once_async)

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def run(self, coroutines: Iterable[Coroutine[Any, Any, None]]) -> Mapping[str, int]:
        ready = deque(coroutines)
        popleft, append = ready.popleft, ready.append
        resumes = 0
        while count := len(ready):
            resumes += count
            for _ in repeat(None, count):
                coro = popleft()
                try:
                    coro.send(None)
                except StopIteration:
                    continue
                append(coro)
        return {"resumes": resumes}


#: Dialect -> body floor driver. The greenlet floor joins below when it can exist.
BODY_FLOORS: dict[str, type] = {"generator": GeneratorBodyFloor, "async": AsyncBodyFloor}


# ---- greenlet dialect (stackful): only with greenlet bodies and the greenlet package ----

def _import_greenlet() -> Any:
    """The ``greenlet`` package, or None (imported by name: it ships no type stubs)."""
    try:
        return importlib.import_module("greenlet")
    except ImportError:  # pragma: no cover - the loops extra installs it (through gevent)
        return None


_greenlet_module = _import_greenlet()


if _greenlet_module is not None and "greenlet" in bodies.SWITCH_BODIES:
    _Greenlet: Any = _greenlet_module.greenlet
    _getcurrent: Any = _greenlet_module.getcurrent

    class GreenletBodyFloor:
        """Greenlet rocket bodies (plain functions) on a round-robin deque of greenlets.

        ``sleep`` is the bound ``switch`` of the greenlet that built the driver (the one
        that then calls ``run``, as ``execute_once`` does): a rocket's zero sleep switches
        to the loop, passing its argument, and the loop switches back to it on its next
        turn. A rocket that returns switches to its parent, the loop, with ``None``: that
        is how the loop tells a finished rocket from a sleeping one.
        """

        name: ClassVar[str] = "body-floor-greenlet"
        dialect: ClassVar[Literal["greenlet"]] = "greenlet"
        supports_virtual_clock: ClassVar[bool] = True

        def __init__(self, clock: Clock) -> None:
            self.clock = clock
            self._loop = _getcurrent()
            # The bound C method itself, shadowing the method below: no Python frame.
            self.sleep = self._loop.switch  # type: ignore[method-assign]

        def sleep(self, seconds: float) -> Any:
            """Switch to the loop greenlet; return when it switches back (one suspension)."""
            return self._loop.switch(seconds)

        def run(self, coroutines: Iterable[Any]) -> Mapping[str, int]:
            if _getcurrent() is not self._loop:
                raise RuntimeError("run() must be called from the greenlet that built the driver")
            loop = self._loop
            ready = deque(_Greenlet(rocket, loop) for rocket in coroutines)
            popleft, append = ready.popleft, ready.append
            switch = _Greenlet.switch
            resumes = 0
            while count := len(ready):
                resumes += count
                for _ in repeat(None, count):
                    rocket = popleft()
                    if switch(rocket) is not None:  # a sleep passed its seconds: not finished
                        append(rocket)
            return {"resumes": resumes}

    BODY_FLOORS["greenlet"] = GreenletBodyFloor


def body_floor_entry(dialect: str) -> SchedulerEntry:
    """The body floor driver of ``dialect`` as a ``SchedulerEntry`` for ``execute_once``."""
    try:
        cls: Any = BODY_FLOORS[dialect]
    except KeyError:
        known = ", ".join(BODY_FLOORS)
        raise ValueError(f"no body floor for dialect {dialect!r}; available: {known}") from None
    return SchedulerEntry(cls.name, "built-in", f"{__name__}:{cls.__name__}", cls=cls)


# ---- python -m bench.measure.body_floor: the floors against schedulers, interleaved ----


def compare(
    against: Sequence[str], rockets: int, seed: int, rounds: int, order_seed: int = 0
) -> dict[str, list[float]]:
    """ns per resume of every body floor and every named scheduler, switch mode.

    One ``execute_once`` of each per round, in a fresh random order each round (so drift
    and the previous run's cache state spread evenly), all in this process. Every run must
    be VALID. Returns name -> one value per round.
    """
    from bench.measure.execute import execute_once
    from bench.measure.registry import load_named
    from bench.workload.rockets import Workload

    entries = [body_floor_entry(dialect) for dialect in BODY_FLOORS]
    for name in against:
        entry = load_named(name)
        if not entry.available:
            raise SystemExit(f"{name}: {entry.error}")
        entries.append(entry)
    workload = Workload.generate(rockets, seed, "switch")
    shuffle = random.Random(order_seed).shuffle
    values: dict[str, list[float]] = {entry.name: [] for entry in entries}
    for _ in range(rounds):
        order = list(entries)
        shuffle(order)
        for entry in order:
            outcome = execute_once(entry, workload)
            if not outcome.verdict.ranked:
                raise SystemExit(f"{entry.name}: {outcome.verdict.label}: {outcome.verdict.explain()}")
            values[entry.name].append(outcome.wall_s / outcome.resumes_for_cost * 1e9)
    return values


def _ratios(values: Mapping[str, list[float]], base: str) -> Iterator[tuple[str, float]]:
    """Median over rounds of (name's ns / base's ns in the same round)."""
    for name, series in values.items():
        yield name, statistics.median(v / b for v, b in zip(series, values[base], strict=True))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.measure.body_floor",
        description="ns per resume of the body floors and of schedulers, switch mode, interleaved.",
    )
    parser.add_argument("--rockets", type=int, default=DEFAULT_ROCKETS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--against", default="hybrid,heapq",
                        help="comma-separated registered schedulers (default: hybrid,heapq)")
    args = parser.parse_args(argv)
    against = [name for name in args.against.split(",") if name]
    values = compare(against, args.rockets, args.seed, args.rounds)
    base = GeneratorBodyFloor.name
    ratios = dict(_ratios(values, base))
    print(f"{args.rockets} rockets, seed {args.seed}, {args.rounds} interleaved rounds, switch mode")
    print(f"{'':24} {'median ns':>10} {'min ns':>8} {'x generator floor':>18}")
    for name, series in values.items():
        print(f"{name:24} {statistics.median(series):10.1f} {min(series):8.1f} {ratios[name]:18.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
