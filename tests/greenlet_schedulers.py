"""A greenlet-dialect scheduler written against the ``greenlet`` package alone.

Loaded as a plugin by the conformance tests: it proves that the stackful dialect is part
of the plugin contract (a third party can write one without gevent), not something only
the built-in gevent scheduler gets.

The design is the smallest correct one: a ready deque for zero sleeps, a heap of
``(due, seq, greenlet)`` for timed ones, one loop greenlet that switches into each rocket
and is switched back to by ``sleep``. Time comes only from the harness clock, so it runs
on the virtual clock too. It counts every switch into a rocket as a resume.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from heapq import heappop, heappush
from itertools import count
from typing import ClassVar, Literal

import greenlet

from schedulers.protocol import Clock


class GreenletRoundRobin:
    name: ClassVar[str] = "greenlet-rr"
    dialect: ClassVar[Literal["greenlet"]] = "greenlet"
    supports_virtual_clock: ClassVar[bool] = True
    version: ClassVar[str] = greenlet.__version__

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._ready: deque[greenlet.greenlet] = deque()
        self._timers: list[tuple[float, int, greenlet.greenlet]] = []
        self._seq = count()
        self._loop: greenlet.greenlet | None = None

    def sleep(self, seconds: float) -> None:
        """Block the calling rocket: file it as ready or as a timer, switch to the loop."""
        current = greenlet.getcurrent()
        if seconds <= 0:
            self._ready.append(current)
        else:
            heappush(self._timers, (self.clock.now() + seconds, next(self._seq), current))
        assert self._loop is not None, "sleep called outside run"
        self._loop.switch()

    def run(self, coroutines: Iterable[Callable[[], None]]) -> Mapping[str, int]:
        self._loop = greenlet.getcurrent()  # every rocket's parent: it returns here
        ready, timers = self._ready, self._timers
        now, wait = self.clock.now, self.clock.wait
        ready.extend(greenlet.greenlet(rocket) for rocket in coroutines)
        resumes = 0
        while ready or timers:
            if timers and timers[0][0] <= now():
                while timers and timers[0][0] <= now():
                    ready.append(heappop(timers)[2])
            elif not ready:
                wait(timers[0][0] - now())
                continue
            resumes += 1
            ready.popleft().switch()  # returns when the rocket sleeps or finishes
        return {"resumes": resumes}
