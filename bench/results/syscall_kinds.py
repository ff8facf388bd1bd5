"""Which system call counts are exact for the same code, and which are only reported.

A syscall count of the same code on the same input repeats exactly for most call names,
but not for all: measured in A/A runs (``--repeats 10`` of every built-in scheduler in
every mode, docs/design.md §6.12, raw output in ``results/reference/syscalls-aa/``), some
names moved between runs of the same code. ``compare`` gates exactly on every name not
listed here (any change is a regression or an improvement) and reports the others with
their change, never failing the gate on them; ``show`` marks them.

The table is data on purpose: a new measurement that finds another varying name adds a
line here, with the A/A that showed it. A name never seen before (a new call a change
introduced) is gated: a planted call must be caught.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

#: The allocator's calls, in every mode: when the heap asks the kernel for memory follows
#: the heap's state (what earlier runs and the warm-up left), not the scheduler's work.
#: A/A: ``mmap`` 3..4 (anyio-trio, switch), ``brk`` 0..4 (trio, timed), and busywait's io
#: ``brk``, 2 in all ten repeats, was 0 in the next run.
ALLOCATOR: Final = frozenset({"brk", "mmap", "munmap", "mremap", "madvise", "mprotect"})

#: Calls whose count follows timing, by mode ("*": every mode). A thread handoff calls
#: ``futex`` only when the lock is contended (no built-in made one in the A/A); in timed
#: mode a loop blocks once per turn that found nothing due, and how many turns find nothing
#: depends on how late each wake was (under strace, very). A/A, timed mode: ``epoll_wait``
#: 1,161..2,098 (asyncio), ``clock_nanosleep`` 2,436..3,175 (heapq). In switch and io mode
#: the same loops' ``epoll_wait`` counts repeated exactly.
TIMING: Final[Mapping[str, frozenset[str]]] = {
    "*": frozenset({"futex", "sched_yield", "restart_syscall"}),
    "timed": frozenset({"epoll_wait", "epoll_pwait", "epoll_pwait2", "clock_nanosleep", "nanosleep", "select",
                        "pselect6", "poll", "ppoll", "io_uring_enter"}),
}

#: Per scheduler, in every mode: calls that moved between A/A runs of that scheduler alone.
SCHEDULER_TIMING: Final[Mapping[str, frozenset[str]]] = {
    # One ``epoll_wait`` and one ``getpid`` per turn of libev's loop, always equal in number;
    # how many turns the hub makes follows libev's clock even when every sleep is 0 s. A/A:
    # 25..40 in switch mode, 541..909 timed, 50..51 io.
    "gevent": frozenset({"epoll_wait", "getpid"}),
}


def gated(scheduler: str, mode: str, name: str) -> bool:
    """Whether a change in ``name``'s count is a regression (or improvement) of ``scheduler``
    in ``mode``, rather than something only to report."""
    return not (name in ALLOCATOR or name in TIMING["*"] or name in TIMING.get(mode, frozenset())
                or name in SCHEDULER_TIMING.get(scheduler, frozenset()))


def why_not_gated(scheduler: str, mode: str, name: str) -> str:
    """One phrase: why ``name`` is only reported ("" when it is gated)."""
    if name in ALLOCATOR:
        return "allocator"
    if name in TIMING["*"] or name in TIMING.get(mode, frozenset()):
        return "timing-dependent"
    if name in SCHEDULER_TIMING.get(scheduler, frozenset()):
        return f"varies in {scheduler}'s A/A"
    return ""
