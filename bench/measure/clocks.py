"""Clocks handed to schedulers: the real monotonic clock and a virtual one.

``RealClock`` reads ``time.perf_counter`` (CLOCK_MONOTONIC on Linux, the same clock
asyncio's ``loop.time`` reads through ``time.monotonic``) and waits with ``time.sleep``,
whose precision is bounded by the kernel's timer slack (recorded in every results file).

``VirtualClock`` starts at 0 and jumps to the deadline on ``wait``: the timed workload's
timer management is then measured at any size without waiting, and lateness is exactly
what the scheduler's bookkeeping adds. Busy-wait designs never call ``wait`` and so cannot
use it; they declare ``supports_virtual_clock = False``.

Schedulers are untrusted code running in the harness's process, so what the harness and
the rocket bodies read is captured here when this module is imported, which every
harness process does *before* it imports any scheduler: ``HARNESS_NOW``
(``time.perf_counter``), ``HARNESS_CPU`` (``time.process_time``), the real clock's wait,
and the virtual clock's ``now`` as a function object. A plugin that later replaces
``time.perf_counter`` or ``RealClock.now`` changes what it reads itself, never what the
harness measures or the bodies record; ``tampering`` names such replacements so the run
can be refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from types import MethodType
from typing import Final, Literal

ClockKind = Literal["real", "virtual"]
CLOCK_KINDS: tuple[ClockKind, ...] = ("real", "virtual")

#: Captured at import, before any scheduler is imported (see the module docstring).
HARNESS_NOW: Final[Callable[[], float]] = time.perf_counter
HARNESS_CPU: Final[Callable[[], float]] = time.process_time
_SLEEP: Final[Callable[[float], None]] = time.sleep


def _real_wait(seconds: float) -> None:
    if seconds > 0:
        _SLEEP(seconds)


class RealClock:
    __slots__ = ()

    now = staticmethod(HARNESS_NOW)
    wait = staticmethod(_real_wait)


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


#: The function objects behind the clocks' methods, and the class attributes themselves,
#: captured at import.
_VIRTUAL_NOW: Final = VirtualClock.now
_CLASS_ATTRIBUTES: Final = {
    (cls, attr): cls.__dict__[attr] for cls in (RealClock, VirtualClock) for attr in ("now", "wait")
}


def make_clock(kind: ClockKind) -> RealClock | VirtualClock:
    return RealClock() if kind == "real" else VirtualClock()


def bodies_now(clock: RealClock | VirtualClock) -> Callable[[], float]:
    """The ``now`` handed to the rocket bodies: a captured function, never looked up
    through the clock's class at run time (a scheduler may have replaced that)."""
    if type(clock) is VirtualClock:
        return MethodType(_VIRTUAL_NOW, clock)
    return HARNESS_NOW


def tampering() -> list[str]:
    """What a scheduler replaced among the clocks the harness captured at import (empty: nothing).

    The captured functions keep working whatever a plugin does; a replacement is still
    refused, because a scheduler that patches the harness's clocks is trying to fake its
    figures.
    """
    replaced = [f"time.{name}" for name, original in (("perf_counter", HARNESS_NOW), ("process_time", HARNESS_CPU))
                if getattr(time, name, None) is not original]
    replaced += [f"{cls.__name__}.{attr}" for (cls, attr), original in _CLASS_ATTRIBUTES.items()
                 if cls.__dict__.get(attr) is not original]
    return replaced


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
