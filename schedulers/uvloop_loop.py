"""``uvloop``: the asyncio API on uvloop, libuv's event loop written in Cython.

The workload is written exactly as for ``asyncio`` (tasks, ``gather``, ``asyncio.sleep``);
only the loop underneath changes, so the difference between the two rows is the loop.

How it sleeps: ``asyncio.sleep`` schedules a ``call_later`` that uvloop turns into a libuv
timer; libuv blocks in epoll until the next one. ``sleep(0)`` is asyncio's bare yield.

Cost model: the Task and Future machinery is asyncio's own (C-accelerated), but the loop's
ready queue, timers and callbacks are C code, so a switch costs about half of asyncio's.

Where it breaks down: timers have millisecond granularity. ``call_later`` rounds the
delay to the nearest millisecond (a sleep under 0.5 ms becomes ``call_soon``), and libuv
counts it from its cached loop time (``uv_now``: whole milliseconds, refreshed once per
loop iteration). A timer can therefore fire *before* its deadline as measured by
``time.perf_counter``, by up to about a millisecond, or more when the iteration that
refreshed ``uv_now`` ran long. Those early wakes are shown as figures, not hidden.

uvloop is imported at module level on purpose: where it is not installed the entry point
fails to import and the registry lists ``uvloop`` as unavailable with the reason.

Counters: like asyncio, uvloop does not count resumes, so ``run`` returns ``None``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any, ClassVar, Literal

import uvloop

from schedulers.protocol import Clock


class UvloopScheduler:
    name: ClassVar[str] = "uvloop"
    dialect: ClassVar[Literal["async"]] = "async"
    supports_virtual_clock: ClassVar[bool] = False  # libuv reads its own clock

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    # The library's own coroutine function, not a wrapper: no extra frame per sleep.
    sleep = staticmethod(asyncio.sleep)

    def run(self, coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
        async def main() -> None:
            await asyncio.gather(*coroutines)

        # An explicit loop factory rather than a globally installed policy.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
        return None
