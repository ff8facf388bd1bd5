"""The floor: one ``send(None)`` to a bare generator, the cheapest switch CPython has.

Every switch figure is also reported as a multiple of this, which makes figures from
different machines comparable. The loop has the same shape as ``pyperf timeit``'s (a
``for`` over ``itertools.repeat`` with the bound method cached), so the two agree.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Generator


def _bare() -> Generator[None, None, None]:
    while True:
        yield


def floor_time_func(loops: int) -> float:
    """pyperf time function: seconds for ``loops`` sends to a suspended bare generator."""
    gen = _bare()
    send = gen.send
    send(None)
    it = itertools.repeat(None, loops)
    t0 = time.perf_counter()
    for _ in it:
        send(None)
    return time.perf_counter() - t0


#: The statement and setup that reproduce the floor with ``python -m pyperf timeit``.
TIMEIT_SETUP = "def g():\n    while True:\n        yield\nsend = g().send; send(None)"
TIMEIT_STMT = "send(None)"
