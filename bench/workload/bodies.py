"""The rocket body, written once per dialect (generator, async/await and greenlet).

Each dialect has the body in two variants that differ only in measurement:

* the *switch* body sleeps 0 seconds and reads no clock, so switch mode measures the
  scheduler's bookkeeping plus one resume with no instrumentation in the resume path;
* the *timed* body reads the clock before each sleep to know its deadline and after it to
  record the lateness of the wake, and the deadline beside it; it records when it started,
  once. The scheduler computes its own deadline from a clock reading taken *after* ours,
  so a correct scheduler can never appear early. Deadlines and start times let the
  lateness of the start-up burst (wakes due before the last rocket had even started) be
  told apart from the steady state; recording them costs two ``list.append`` calls of
  untracked floats per wake, the same for every scheduler.

``steps`` holds the pre-built "T-minus" event tuples, ``launch`` the "launched" one.
Keep the six functions in lockstep: they are the workload.

Each body runs inside ``try``/``except BaseException`` that records its rocket in
``abort`` and re-raises: a rocket closed or thrown into before it launched (a scheduler
that wrote the trace itself and then closed the coroutines) leaves that mark, which the
harness's proof of work refuses. Since Python 3.11 a ``try`` costs one ``NOP`` on entry and
nothing per resume; the handler runs only when the body does not return.

The greenlet dialect (stackful schedulers such as gevent) is the same body as a plain
function: ``sleep`` is a blocking call that switches stacks and returns when the sleep is
over, so there is no ``yield from`` or ``await`` and the body returns ``None`` when the
rocket has launched. ``build_coroutines`` hands such schedulers the bodies as unstarted
zero-argument callables.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from typing import Any

Record = Callable[[tuple[int, int]], None]
Sleep = Callable[[float], Any]


def switch_rocket_gen(
    steps: tuple[tuple[int, int], ...], launch: tuple[int, int], sleep: Sleep, record: Record, abort: Record
) -> Generator[Any, Any, None]:
    try:
        yield from sleep(0.0)
        for step in steps:
            record(step)
            yield from sleep(0.0)
        record(launch)
    except BaseException:  # closed, thrown into or failed before it launched: not run to its end
        abort(launch)
        raise


async def switch_rocket_async(
    steps: tuple[tuple[int, int], ...], launch: tuple[int, int], sleep: Sleep, record: Record, abort: Record
) -> None:
    try:
        await sleep(0.0)
        for step in steps:
            record(step)
            await sleep(0.0)
        record(launch)
    except BaseException:  # closed, thrown into or failed before it launched: not run to its end
        abort(launch)
        raise


def timed_rocket_gen(
    steps: tuple[tuple[int, int], ...],
    launch: tuple[int, int],
    delay: float,
    tick: float,
    sleep: Sleep,
    now: Callable[[], float],
    record: Record,
    late: Callable[[float], None],
    dues: Callable[[float], None],
    begun: Callable[[float], None],
    abort: Record,
) -> Generator[Any, Any, None]:
    try:
        start = now()
        begun(start)
        due = start + delay
        yield from sleep(delay)
        late(now() - due)
        dues(due)
        for step in steps:
            record(step)
            due = now() + tick
            yield from sleep(tick)
            late(now() - due)
            dues(due)
        record(launch)
    except BaseException:  # closed, thrown into or failed before it launched: not run to its end
        abort(launch)
        raise


async def timed_rocket_async(
    steps: tuple[tuple[int, int], ...],
    launch: tuple[int, int],
    delay: float,
    tick: float,
    sleep: Sleep,
    now: Callable[[], float],
    record: Record,
    late: Callable[[float], None],
    dues: Callable[[float], None],
    begun: Callable[[float], None],
    abort: Record,
) -> None:
    try:
        start = now()
        begun(start)
        due = start + delay
        await sleep(delay)
        late(now() - due)
        dues(due)
        for step in steps:
            record(step)
            due = now() + tick
            await sleep(tick)
            late(now() - due)
            dues(due)
        record(launch)
    except BaseException:  # closed, thrown into or failed before it launched: not run to its end
        abort(launch)
        raise


def switch_rocket_greenlet(
    steps: tuple[tuple[int, int], ...], launch: tuple[int, int], sleep: Sleep, record: Record, abort: Record
) -> None:
    try:
        sleep(0.0)
        for step in steps:
            record(step)
            sleep(0.0)
        record(launch)
    except BaseException:  # closed, thrown into or failed before it launched: not run to its end
        abort(launch)
        raise


def timed_rocket_greenlet(
    steps: tuple[tuple[int, int], ...],
    launch: tuple[int, int],
    delay: float,
    tick: float,
    sleep: Sleep,
    now: Callable[[], float],
    record: Record,
    late: Callable[[float], None],
    dues: Callable[[float], None],
    begun: Callable[[float], None],
    abort: Record,
) -> None:
    try:
        start = now()
        begun(start)
        due = start + delay
        sleep(delay)
        late(now() - due)
        dues(due)
        for step in steps:
            record(step)
            due = now() + tick
            sleep(tick)
            late(now() - due)
            dues(due)
        record(launch)
    except BaseException:  # closed, thrown into or failed before it launched: not run to its end
        abort(launch)
        raise


Body = Callable[..., Generator[Any, Any, None] | Coroutine[Any, Any, None] | None]
SWITCH_BODIES: dict[str, Body] = {
    "generator": switch_rocket_gen, "async": switch_rocket_async, "greenlet": switch_rocket_greenlet,
}
TIMED_BODIES: dict[str, Body] = {
    "generator": timed_rocket_gen, "async": timed_rocket_async, "greenlet": timed_rocket_greenlet,
}
#: Dialects whose bodies are handed to ``run`` unstarted, as zero-argument callables.
CALLABLE_DIALECTS = frozenset({"greenlet"})
