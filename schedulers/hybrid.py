"""``hybrid``: a ready deque for runnable tasks plus a timer heap, blocking precisely.

The two structures asyncio keeps, without the Task, Future and Handle objects it adds on
top. The loop is modelled on asyncio's ``_run_once``: each pass moves the due timers to
the ready deque (one clock reading), then runs exactly the tasks that were ready when the
pass began, so a task that sleeps 0 runs again in the next pass, behind the timers that
fell due in between; only when nothing is ready does it block.

How it sleeps: ``sleep(seconds)`` leaves the request on the scheduler (only the running
task can write it) and returns ``range(1)``, which the rocket runs with ``yield from``:
exactly one suspension. A sleep of 0 (or less) goes straight to the back of the ready
deque: no heap, no clock reading. A positive sleep files the task under
``due = clock.now() + seconds``, read *after* the rocket's own reading, so no task ever
wakes early. The heap holds the distinct deadlines as plain floats and a dict maps each to
its task (or to a list of tasks, in arrival order, when several share it): equal
deadlines stay FIFO and exact, with no ``seq`` counter.

Nothing the cyclic GC tracks is allocated per switch: ``range(1)``'s iterator holds no
references, floats are untracked, the deque and the dict are single objects. Yielding
``(seconds,)`` instead (a tuple and its iterator, both tracked and alive while the task
sleeps) and keeping ``(due, seq, task)`` tuples in the heap made a run of 10,000 timed
rockets trigger ~45 young collections, each a pause of 15 µs to 1 ms; now there are ~5,
caused by the rocket bodies' own ``for`` loops. Floats also compare in C without the tuple
machinery: ~10% less CPU per timed wake than the tuple heap.

Cost per switch: ``popleft``, ``next``, one comparison and ``append`` in the loop; a
method call and a ``range`` iterator in the body. A finished task is seen through
``next(task, _DONE)``, which returns the sentinel instead of raising ``StopIteration``.
That is within noise of a bare ``popleft``/``next``/``append`` round robin over the same
bodies: in switch mode the cost per switch is the rocket body's (~5 floors cache-warm,
8-12 at 10,000 rockets on a 2-vCPU VM), not the loop's. A generator per sleep costs more,
and ``functools.partial(itertools.repeat, times=1)`` takes the slow call path (a partial
with keywords copies its kwargs dict and ``repeat`` parses them): 2-3x a plain call. A
timed sleep adds a clock reading, a dict entry and two O(log N) heap operations, which
dominate the loop's own cost when most sleeps are timed.

Blocking, and precision against CPU. ``clock.wait`` (``time.sleep``) returns late by the
thread's timer slack (50 µs by default, ``/proc/self/timerslack_ns``) plus the wake-up
latency: ~100 µs at the median on that VM, with a long tail. Three knobs:

* ``spin_margin``: block until that long before the deadline, then spin on ``clock.now``.
  A margin that covers the usual overshoot makes wakes precise; every block then burns up
  to the margin in CPU, and gaps shorter than the margin are spun whole.
* ``timer_slack_ns``: while ``run`` runs, the thread's timer slack is lowered with
  ``prctl(PR_SET_TIMERSLACK)`` (Linux, restored afterwards; a no-op elsewhere). The
  median overshoot drops from ~100 to ~25-50 µs, so a 50 µs margin is about as precise
  as a 100 µs one with the default slack, for less CPU. ``None`` leaves it alone.
* ``spin_budget``: spinning may use at most this share of the run's wall time. When
  deadlines are so dense that the loop would spin through every idle microsecond (time
  scale 0.01), it blocks instead: the late wake then serves many due timers at once, for
  much less CPU than spinning. At time scale 1.0 the budget is never reached.

Alternatives at the ``os`` level, and why not: ``select``/``poll`` timeouts carry the same
slack and ``epoll`` rounds up to whole milliseconds; ``os.sched_yield`` in the spin still
burns the CPU when nothing else is runnable; a real-time policy (``SCHED_FIFO``, no slack)
needs privileges; ``timerfd`` is not in the standard library before Python 3.13; and
anything that waits outside ``clock.wait`` would break the virtual clock. Lowering the
slack is the one change that helps, costs two syscalls per run and needs no privilege.

The virtual clock: it only moves when someone waits, so spinning on it would never end.
As soon as two readings of the clock are equal (nothing moved it by itself), the loop
waits out the remainder and from then on blocks for the full amount every time. A real
clock too coarse to spin on is treated the same way: correct, just not as precise.

Where it breaks down: a timer costs O(log N) where the deque costs O(1), so when most
sleeps are timed the heap dominates; precision is bought with CPU, and on a virtual
machine each block itself costs tens of µs of CPU; a thread that is descheduled (another
process, the hypervisor) is late however it waits, so the lateness tail is the machine's;
and, being cooperative, a task that runs long between sleeps delays every timer due
meanwhile.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import sys
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Mapping
from heapq import heappop, heappush
from itertools import repeat
from typing import Any, ClassVar, Final, Literal

from schedulers.protocol import Clock

Task = Generator[Any, None, None]

#: How long before a deadline the loop stops blocking in ``clock.wait`` and spins on
#: ``clock.now``. It should cover how late ``clock.wait`` returns: with the timer slack
#: lowered (below) that is the wake-up latency, 35-55 µs at the median on a 2-vCPU VM.
#: A block also costs 25-50 µs of CPU there (syscall, context switch, timer interrupt,
#: cold caches after), so spinning through a gap shorter than the margin costs no more
#: than blocking for it. A judgement, not a law: 200 µs (with the default slack) buys a
#: few µs of median lateness for ~2.5x the CPU at time scale 1.0; 0 never spins and is
#: as late as ``time.sleep``.
DEFAULT_SPIN_MARGIN_S: Final = 0.0

#: When the loop must block, it blocks until the *latest* deadline within this window of
#: the earliest one and serves them all with one wake-up, instead of waking for each:
#: fewer wake-ups (each costs ~20 µs of CPU on a VM) for at most this much extra
#: lateness on the earliest. 0 wakes for every distinct deadline.
DEFAULT_COALESCE_S: Final = 50e-6

#: The largest share of the run's wall time that spinning may use. At time scale 1.0 the
#: default margin spins ~4% of the time; when deadlines are microseconds apart (time
#: scale 0.01) spinning would fill every idle gap, and blocking, which then wakes a little
#: late with many timers due at once, serves them for much less CPU.
DEFAULT_SPIN_BUDGET: Final = 0.1

#: The thread's timer slack while ``run`` runs, in ns (Linux; restored afterwards). The
#: kernel's default, 50 µs, lets it delay a wake-up to batch it with others; 1 ns is the
#: smallest value it accepts (0 means "reset to the default").
DEFAULT_TIMER_SLACK_NS: Final = 1

#: The longest single ``clock.wait``: a day. Arbitrary, but ``time.sleep`` refuses
#: infinity (``sleep(math.inf)``); after a day the loop simply blocks again.
MAX_WAIT_S: Final = 86_400.0

#: What a zero sleep yields from: one suspension, yielding 0. Its iterator holds no object
#: reference, so CPython does not track it for the cyclic GC (a tuple would be tracked).
_ONCE: Final = range(1)

#: What a timed sleep yields from: one suspension, yielding 1 ("read the request").
_TIMED: Final = range(1, 2)

#: What ``_ONCE`` yields. CPython's small ints are singletons, so the loop tells a zero
#: sleep with one identity test (a bare ``yield 0`` would pass for one: harmless).
_ZERO: Final = 0

#: What ``_TIMED`` yields.
_ONE: Final = 1

#: Returned by ``next(task, _DONE)`` when the task has finished.
_DONE: Final = object()

_PR_SET_TIMERSLACK: Final = 29  # from <linux/prctl.h>
_PR_GET_TIMERSLACK: Final = 30


def _load_prctl() -> Any:
    """libc's ``prctl`` on Linux, None elsewhere (looked up once, at import)."""
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
    slack = int(_PRCTL(_PR_GET_TIMERSLACK, 0, 0, 0, 0))
    return slack if slack > 0 else None


@contextlib.contextmanager
def timer_slack(nanoseconds: int | None) -> Iterator[bool]:
    """Set the calling thread's timer slack for the duration of the block, then restore it.

    Linux only (``prctl``); elsewhere, with ``None``, or if the kernel refuses, the slack
    is left alone. Yields whether it was changed.
    """
    previous = current_timer_slack() if nanoseconds is not None else None
    if previous is None or _PRCTL(_PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0) != 0:
        yield False
        return
    try:
        yield True
    finally:
        _PRCTL(_PR_SET_TIMERSLACK, previous, 0, 0, 0)


def _check_number(name: str, value: object, upper: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not 0 <= value <= upper:
        raise ValueError(f"{name} must be between 0 and {upper}, got {value!r}")
    return float(value)


def _latest_within(timers: list[float], bound: float) -> float:
    """The latest deadline in the heap ``timers`` that is <= ``bound`` (``timers[0]`` is).

    A depth-first walk from the root that stops at every node > ``bound`` (its whole
    subtree is larger): O(k) for the k deadlines inside the bound, not O(N).
    """
    latest = timers[0]
    size = len(timers)
    todo = [0]
    pop, push = todo.pop, todo.append
    while todo:
        child = 2 * pop() + 1
        for node in (child, child + 1):
            if node < size:
                value = timers[node]
                if value <= bound:
                    if value > latest:
                        latest = value
                    push(node)
    return latest


class HybridScheduler:
    """Ready deque + timer heap. Knobs (see the module docstring): ``coalesce`` and
    ``spin_margin`` in seconds, ``spin_budget`` as a share of wall time,
    ``timer_slack_ns`` (None: untouched).
    """

    name: ClassVar[str] = "hybrid"
    dialect: ClassVar[Literal["generator"]] = "generator"
    supports_virtual_clock: ClassVar[bool] = True  # it blocks through clock.wait, see above

    coalesce: float
    spin_margin: float
    spin_budget: float
    timer_slack_ns: int | None

    def __init__(
        self,
        clock: Clock,
        coalesce: float = DEFAULT_COALESCE_S,
        spin_margin: float = DEFAULT_SPIN_MARGIN_S,
        spin_budget: float = DEFAULT_SPIN_BUDGET,
        timer_slack_ns: int | None = DEFAULT_TIMER_SLACK_NS,
    ) -> None:
        self.clock = clock
        self._request: Any = None  # the running task's timed sleep, in seconds, until read
        self.coalesce = _check_number("coalesce (seconds)", coalesce)
        self.spin_margin = _check_number("spin_margin (seconds)", spin_margin)
        self.spin_budget = _check_number("spin_budget (a share of wall time)", spin_budget, 1.0)
        if timer_slack_ns is not None and (
            isinstance(timer_slack_ns, bool) or not isinstance(timer_slack_ns, int) or timer_slack_ns < 1
        ):
            raise ValueError(
                f"timer_slack_ns must be None (leave it alone) or an int >= 1, got {timer_slack_ns!r}"
            )
        self.timer_slack_ns = timer_slack_ns

    def sleep(self, seconds: float) -> range:
        """Suspend the calling task once, for ``seconds``: ``yield from sleep(seconds)``.

        A zero (or negative, or NaN) sleep returns ``range(1)``: the task yields 0 and
        goes to the back of the ready deque. A timed sleep leaves ``seconds`` on the
        scheduler (only the running task can write it) and returns ``range(1, 2)``: the
        task yields 1, which tells the loop to read the request. Either way one
        suspension, and nothing allocated that the cyclic GC tracks. Call it where you
        yield from it, as the rocket bodies do.
        """
        if seconds > 0.0:  # a float compare-and-jump; negative and NaN sleeps are zero ones
            self._request = seconds
            return _TIMED
        return _ONCE

    def run(self, coroutines: Iterable[Task]) -> Mapping[str, int]:
        with timer_slack(self.timer_slack_ns):
            return self._run(coroutines)

    def _run(self, coroutines: Iterable[Task]) -> Mapping[str, int]:
        clock = self.clock
        ready: deque[Task] = deque(coroutines)  # runnable now, FIFO
        timers: list[float] = []                # heap of distinct deadlines
        owner: dict[float, Any] = {}            # deadline -> its task, or a list of tasks
        resumes = 0                             # rocket resumes, starts included
        zero, one, done = _ZERO, _ONE, _DONE    # what resume() returns: zero sleep, timed, end

        # The loop below runs once per switch. Every method it calls is looked up once,
        # here, and kept in a local: a LOAD_FAST instead of an attribute or global lookup
        # on every use. Rebinding them is the whole point, not a style accident.
        now, wait = clock.now, clock.wait
        popleft, append, extend = ready.popleft, ready.append, ready.extend
        push, pop = heappush, heappop
        claim, release = owner.setdefault, owner.pop
        resume = next
        started = now()
        # A clock that gives the same reading twice running is not moved by time passing
        # (the virtual clock, or one too coarse to spin on): no coalescing and no spinning
        # on it, they would only make wakes late. Spinning re-checks this as it goes.
        moves = now() != started
        window = self.coalesce if moves else 0.0  # wake for the last deadline this close
        margin = self.spin_margin if moves else 0.0  # stop blocking this long before it
        budget = self.spin_budget               # seconds of spinning allowed per second
        spun = 0.0                              # seconds spent spinning so far

        # This while loop is the event loop.
        while True:
            # ---- Time handling: move every due timer to the back of the ready deque ----
            if timers:
                t = now()
                while timers and timers[0] <= t:
                    item = release(pop(timers))
                    if item.__class__ is list:  # several tasks share this deadline
                        extend(item)
                    else:
                        append(item)

            # ---- Run ready tasks: exactly those ready when the pass began ----
            # Tasks appended during the pass (zero sleeps) wait for the next pass, behind
            # the timers that fall due meanwhile.
            count = len(ready)
            if count:
                resumes += count
                for _ in repeat(None, count):
                    task = popleft()
                    if (value := resume(task, done)) is zero:  # sleep(0): the switch path
                        append(task)
                        continue
                    if value is done:  # the sentinel, not StopIteration, at the end
                        continue
                    seconds = self._request  # a timed sleep left it, and yielded 1
                    self._request = None
                    if value is not one or seconds is None:
                        raise TypeError(
                            f"a hybrid task suspended yielding {value!r} (request {seconds!r}); it "
                            "must only suspend through `yield from sleep(seconds)` of this scheduler"
                        )
                    due = now() + seconds
                    first = claim(due, task)
                    if first is task:  # a new deadline
                        push(timers, due)
                    elif first.__class__ is list:
                        first.append(task)
                    else:
                        owner[due] = [first, task]
                continue

            # ---- Block until the earliest deadline, or the last one within the window ----
            if not timers:
                return {"resumes": resumes}
            due = timers[0]
            if window:
                # Usually no other deadline is that close: the root's children say so.
                bound = due + window
                size = len(timers)
                if (size > 1 and timers[1] <= bound) or (size > 2 and timers[2] <= bound):
                    due = _latest_within(timers, bound)
            t = now()
            lead = margin if margin and spun <= budget * (t - started) else 0.0
            gap = due - t - lead
            if gap > 0:
                if gap > MAX_WAIT_S:
                    wait(MAX_WAIT_S)
                    continue
                wait(gap)
                t = now()
            if t < due:
                # Spin the rest, reading the clock until the deadline. A clock that gives
                # the same reading twice is not moved by time passing (virtual, or too
                # coarse to spin on): wait out the remainder, and drop the margin for good.
                spin_from = t
                while t < due:
                    t2 = now()
                    if t2 == t:
                        margin = 0.0
                        wait(due - t2)
                        t2 = now()
                    t = t2
                spun += t - spin_from
