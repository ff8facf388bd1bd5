"""Schedulers for tests/test_instructions.py, loaded by the instruction counter as ``module:Class``.

``Costly*`` are heapq with a fixed amount of extra *work* in every ``sleep`` (called once
per sleep, inside ``run``): ``WORK`` iterations of pure-Python arithmetic. The loop keeps
every integer, intermediate results included, in CPython's small-int cache (-5..256) and
iterates over ``itertools.repeat``, so no iteration allocates and every one costs the
same instructions: the count must grow linearly in ``WORK``, which the test checks. ``Costly0`` has the same call and
loop set-up with no iteration, so differences isolate the iterations.
"""

from __future__ import annotations

from collections.abc import Generator
from itertools import repeat
from typing import ClassVar

from schedulers.heapq_timers import HeapqScheduler


class Costly0(HeapqScheduler):
    name: ClassVar[str] = "costly-0"
    WORK: ClassVar[int] = 0

    def sleep(self, seconds: float) -> Generator[float, None, None]:  # type: ignore[override]
        x = 1
        for _ in repeat(None, self.WORK):
            x = (x * 3 + 1) & 63  # every value, intermediates included, stays below 257
        return HeapqScheduler.sleep(seconds)


class Costly100(Costly0):
    name: ClassVar[str] = "costly-100"
    WORK: ClassVar[int] = 100


class Costly200(Costly0):
    name: ClassVar[str] = "costly-200"
    WORK: ClassVar[int] = 200


class OneRunOnly(HeapqScheduler):
    """Declares that it cannot run twice in one process: its first run is counted."""

    name: ClassVar[str] = "one-run-only"
    one_run_per_process: ClassVar[bool] = True
