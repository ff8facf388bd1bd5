"""Clocks handed to schedulers: the real monotonic clock and a virtual one.

``RealClock`` reads ``time.perf_counter`` (CLOCK_MONOTONIC on Linux, the same clock
asyncio's ``loop.time`` reads through ``time.monotonic``) and waits with ``time.sleep``,
whose precision is bounded by the kernel's timer slack (recorded in every results file).

``VirtualClock`` starts at 0 and jumps to the deadline on ``wait``: the timed workload's
timer management is then measured at any size without waiting, and lateness is exactly
what the scheduler's bookkeeping adds. Busy-wait designs never call ``wait`` and so cannot
use it; they declare ``supports_virtual_clock = False``.
"""

from __future__ import annotations

import math
import time
from typing import Literal

ClockKind = Literal["real", "virtual"]
CLOCK_KINDS: tuple[ClockKind, ...] = ("real", "virtual")


class RealClock:
    __slots__ = ()

    now = staticmethod(time.perf_counter)

    @staticmethod
    def wait(seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """A clock that only moves when someone waits on it."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def wait(self, seconds: float) -> None:
        if seconds > 0 and math.isfinite(seconds):
            self._now += seconds


def make_clock(kind: ClockKind) -> RealClock | VirtualClock:
    return RealClock() if kind == "real" else VirtualClock()


def describe_clock(kind: ClockKind) -> dict[str, object]:
    """What the results file records about the clock behind ``now`` and ``wait``."""
    if kind == "virtual":
        return {"kind": "virtual", "implementation": "VirtualClock (jumps on wait)"}
    info = time.get_clock_info("perf_counter")
    return {
        "kind": "real",
        "implementation": info.implementation,
        "resolution_s": info.resolution,
        "wait": "time.sleep",
    }
