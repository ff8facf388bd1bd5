"""The calling thread's timer slack: read it, and lower it for the length of a block.

Timer slack is how far Linux may postpone a thread's timed wake-up beyond the time it asked
for. The kernel uses that freedom to fire several nearby timers with one interrupt, which
saves power and wake-ups at the price of precision. Every timed wait a thread makes
(``time.sleep``, the timeouts of ``select``, ``poll`` and ``epoll``) can return that much
late before any scheduling delay is added. The default for an ordinary thread is 50 µs
(``/proc/self/timerslack_ns``), which is more than a lean event loop adds per wake, so a
loop that wants to be punctual lowers it while it runs.

``prctl(PR_SET_TIMERSLACK, ns)`` sets it for the calling thread only, needs no privilege
and costs one system call. 1 ns is the smallest value it accepts: 0 does not mean "no
slack" but "back to the default". ``prctl(PR_GET_TIMERSLACK)`` reads it back. Both are
reached through ``ctypes`` on the C library, looked up once at import.

Elsewhere (not Linux, no usable ``prctl``) there is no such knob: ``current_timer_slack``
returns None and ``timer_slack`` leaves everything alone.

This module is shared by schedulers and by the harness's timer floor; like every module in
``schedulers``, it imports nothing from ``bench``.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
from collections.abc import Callable, Iterator
from typing import Final

__all__ = ["PR_GET_TIMERSLACK", "PR_SET_TIMERSLACK", "current_timer_slack", "timer_slack"]

#: The ``prctl`` options, from ``<linux/prctl.h>``.
PR_SET_TIMERSLACK: Final = 29
PR_GET_TIMERSLACK: Final = 30

_Prctl = Callable[[int, int, int, int, int], int]


def _load_prctl() -> _Prctl | None:
    """libc's ``prctl`` on Linux, None elsewhere or when it cannot be found."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return prctl


_PRCTL: Final = _load_prctl()


def current_timer_slack() -> int | None:
    """The calling thread's timer slack in ns, or None where it cannot be read."""
    if _PRCTL is None:
        return None
    slack = int(_PRCTL(PR_GET_TIMERSLACK, 0, 0, 0, 0))
    return slack if slack > 0 else None


@contextlib.contextmanager
def timer_slack(nanoseconds: int | None) -> Iterator[bool]:
    """Set the calling thread's timer slack for the duration of the block, then restore it.

    Yields whether the slack was changed: False with ``None`` (leave it alone), where the
    slack cannot be read, or when the kernel refuses the value. The previous value is put
    back however the block ends, exceptions included.
    """
    previous = current_timer_slack() if nanoseconds is not None else None
    if nanoseconds is None or previous is None or _PRCTL is None:
        yield False
        return
    if _PRCTL(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0) != 0:  # the kernel refused the value
        yield False
        return
    try:
        yield True
    finally:
        _PRCTL(PR_SET_TIMERSLACK, previous, 0, 0, 0)
