"""``hybrid``: a ready deque for runnable tasks plus a heap of deadlines, blocking precisely.

The structures are the two asyncio keeps, without the Task, Future and Handle objects it
builds on them. Runnable tasks wait on a ``collections.deque``. Sleeping tasks are filed
under their deadline: the heap holds each distinct deadline once, as a plain float, and a
dict maps it to its task, or to a list of its tasks in arrival order when several share
it, so equal deadlines wake first in, first out, with no tie-breaking counter.

The loop follows asyncio's ``_run_once``. Each pass moves every due timer to the back of
the ready deque (one clock reading), then resumes exactly the tasks that were ready when
the pass began. A task that sleeps 0 therefore runs again in the next pass, behind the
timers that fell due meanwhile, so a stream of zero sleeps cannot starve the timers. Only
when nothing is ready does the loop block.

How a task sleeps. ``sleep(seconds)`` makes the one test a loop that keeps time cannot
avoid, ``seconds > 0.0``, and returns one of two shared ``range`` objects; the rocket's
``yield from`` suspends once on its iterator:

* zero, negative or NaN: ``range(1)``, which yields 0. The loop recognises the 0 by
  identity (CPython's small ints are singletons) and appends the task to the ready deque:
  no clock reading, no heap, no attribute access. This is the switch path.
* positive: the request is left on the scheduler (only the running task can write it) and
  ``range(1, 2)`` yields 1, telling the loop to read it. The loop files the task under
  ``now() + seconds``, a reading taken *after* the rocket's own, so no wake can come before
  the deadline the rocket computed.

Sockets: ``readable(sock)``/``writable(sock)`` leave the socket as the request and return
``range(2, 3)``/``range(3, 4)``; the loop meets the 2 or 3 in the branch a timed sleep's 1
never takes, and hands the task to ``schedulers.hybrid_io``: epoll registrations kept per
socket, one poll per batch when the deque drains, one zero-timeout poll per pass while it
does not, readiness appended straight to the ready deque (that module's docstring has the
trade-offs). The switch and timed paths run the same bytecode as without I/O; whether
tasks wait on sockets is looked at only where the loop would block or end.

A task that suspends any other way (a bare ``yield``, another scheduler's sleep) gets a
``TypeError`` naming what it yielded, and a ``sleep`` of something that does not compare
with a float raises Python's own ``TypeError`` in the task. A bare ``yield 0`` passes for a
zero sleep, which is harmless.

What a switch costs. The switch path is the generator body floor's loop
(``bench.measure.body_floor``: ``popleft``, ``next``, ``append``) plus what any loop that
keeps time must add, and nothing else:

* ``sleep`` is a method, to reach the scheduler's state, and compares its argument;
* the loop keeps ``next``'s result in a local and branches on it, to tell a zero sleep
  from a timed one, a finished task or a wrong suspension;
* the timer check runs once per pass, not once per task, and the two ``prctl`` calls once
  per run.

The cheaper variants drop a guarantee (``if seconds:`` instead of the compare would let
``sleep(None)`` pass for a zero sleep; not keeping the result would drop a task that
yields something unexpected without a word), and the dearer ones buy nothing the loop
needs (``task.gi_suspended`` to detect the end, ``try``/``except`` in ``sleep`` for a
friendlier message, a closure or a default-argument function instead of the method).

Nothing the cyclic GC tracks is allocated per switch or per sleep: a ``range`` iterator
holds no references, float deadlines are untracked, and the deque and the dict are single
long-lived objects. Yielding a tuple such as ``(seconds,)``, or keeping ``(due, seq,
task)`` entries in the heap, allocates tracked objects on every sleep; they trigger young
collections whose pauses land in the timers' lateness. Floats also compare in C without
the tuple machinery, which makes each heap operation cheaper. A timed sleep still costs a
clock reading, a dict entry and two O(log N) heap operations, which dominate the loop's own
work when most sleeps are timed.

Blocking, and precision against CPU. When nothing is ready the loop waits in
``clock.wait`` (``time.sleep``) for the earliest deadline. Such a wait returns late by the
thread's timer slack plus the kernel's wake-up latency, and every block costs CPU of its
own: the system call, the context switch, and caches gone cold on return. Spinning on
``clock.now`` is punctual but burns the CPU it waits through, and a spinning thread is the
first the kernel preempts on a busy machine. Five knobs choose where to stand between the
two; each is validated in ``__init__``:

* ``timer_slack_ns`` (default 1): while ``run`` runs, the thread's timer slack is set to
  this (``schedulers.timer_slack``; Linux only, restored afterwards, a no-op elsewhere).
  It costs two system calls per run and needs no privilege, and it takes the slack out of
  every blocking wake. 1 ns is the smallest value the kernel accepts; ``None`` leaves the
  slack as it is.
* ``spin_below`` (default 25 µs): when the earliest deadline is closer than this, spin to
  it instead of blocking. A block that short costs about as much CPU as the spin and still
  wakes late, to cold caches. The default sits where a block stops paying for itself on
  the development machine; a larger value buys nothing at time scale 1 and costs CPU where
  short gaps are common (small time scales). 0 always blocks. Unlike ``spin_margin`` it
  never spins the tail of a long gap.
* ``spin_margin`` (default 0): block until this long before the deadline, then spin the
  rest. It buys median precision and a tighter tail with up to the margin's worth of CPU
  on every block, which on this workload is more CPU than asyncio spends in all.
* ``coalesce`` (default 0): when it must block, block until the *latest* deadline within
  this window of the earliest and serve them all with one wake-up. Fewer wake-ups, so less
  CPU, for up to the window's width of extra lateness on the earliest deadline. Narrow
  windows change little either way; wide ones are a deliberate trade of punctuality for
  CPU.
* ``spin_budget`` (default 0.1): spinning, of either kind, may use at most this share of
  the wall time the run has taken so far; beyond it the loop blocks. When deadlines are
  microseconds apart (time scale 0.01) spinning would fill every idle gap, while blocking,
  which then wakes with many timers due at once, serves them for far less CPU.

The defaults aim at two targets at time scale 1: a p99 lateness within twice the timer
floor's (``bench.measure.timer_floor``, one thread waiting the same gaps with no
scheduler), and no more CPU than asyncio. ``scripts/hybrid_knobs.py`` measures every
setting against both; the figures, and the command that reproduces them, are in
``docs/design.md`` (the hybrid's design choices). The knobs stay for other trade-offs.

Where the lateness tail comes from: the machine. The timer floor re-bases every wait on the
previous actual wake, so a stall of the thread (the hypervisor, another process) counts
once there; in a scheduler it delays every timer that falls due during the stall, so the
same stalls weigh far more in the scheduler's p99 than in the floor's. The first pass,
which starts every rocket, also makes the few rockets with the shortest delays late.

Alternatives at the ``os`` level, and why not: ``select`` and ``poll`` timeouts carry the
same slack and ``epoll`` rounds up to whole milliseconds; ``os.sched_yield`` inside a spin
still burns the CPU when nothing else is runnable; a real-time policy (``SCHED_FIFO``, no
slack) needs privileges; ``timerfd`` is not in the standard library before Python 3.13; and
any wait outside ``clock.wait`` would break the virtual clock. Lowering the slack is the
one change that helps, costs almost nothing and needs no privilege.

The virtual clock only moves when someone waits, so spinning on it would never end and
coalescing would only make wakes late. When two readings at the start of ``run`` are equal
(nothing moved the clock by itself), the loop neither coalesces nor spins; should a spin
see two equal readings later, it waits out the remainder and stops spinning for good. A
real clock too coarse to spin on is treated the same way: correct, just less precise.

Where it breaks down: a timer costs O(log N) where the deque costs O(1), so when most
sleeps are timed the heap dominates; every block costs CPU of its own, so a dense timer
load (time scale 0.01) is CPU-bound whatever the knobs; a thread that is descheduled is
late however it waits, so the lateness tail belongs to the machine; and, being
cooperative, a task that runs long between sleeps delays every timer due meanwhile.

Echo server (``echo_servers``, ``"default"``): ``schedulers._echo``'s pool of handler
tasks on this class's ``readable``/``writable`` and ``run``, with the default knobs.
"""

from __future__ import annotations

import math
import socket
from collections import deque
from collections.abc import Generator, Iterable, Mapping
from heapq import heappop, heappush
from itertools import repeat
from typing import Any, ClassVar, Final, Literal

from schedulers._echo import pool_echo_servers
from schedulers.hybrid_io import HAS_EPOLL, READ_VALUE, WRITE_VALUE, HybridIO
from schedulers.protocol import Clock, EchoServer
from schedulers.timer_slack import timer_slack

Task = Generator[Any, None, None]

#: How long before a deadline the loop stops blocking in ``clock.wait`` and spins on
#: ``clock.now``; 0 never spins. Off by default: it makes wakes precise by spending CPU on
#: every block, more than the CPU target allows (see the module docstring).
DEFAULT_SPIN_MARGIN_S: Final = 0.0

#: When the loop must block, it blocks until the *latest* deadline within this window of
#: the earliest one and serves them all with one wake-up instead of waking for each: fewer
#: wake-ups for at most this much extra lateness on the earliest. 0 wakes for every
#: distinct deadline, which is what the lateness target wants.
DEFAULT_COALESCE_S: Final = 0.0

#: When the earliest deadline is closer than this, the loop spins to it instead of
#: blocking: a block that short costs about as much CPU as the spin, returns late even with
#: the slack lowered, and comes back to cold caches. 25 µs is about where a block starts to
#: pay for itself on the development machine (``bench.measure.timer_floor``); a larger
#: value costs CPU at small time scales, where short gaps are common. 0 always blocks.
DEFAULT_SPIN_BELOW_S: Final = 25e-6

#: The largest share of the run's wall time that spinning may use. When deadlines are
#: microseconds apart (time scale 0.01) spinning would fill every idle gap, and blocking,
#: which then wakes a little late with many timers due at once, serves them for much less
#: CPU.
DEFAULT_SPIN_BUDGET: Final = 0.1

#: The thread's timer slack while ``run`` runs, in ns (Linux; restored afterwards). The
#: kernel's default lets it delay a wake-up to batch it with others; 1 ns is the smallest
#: value it accepts (0 means "reset to the default").
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

#: What a socket wait yields from: one suspension, yielding 2 (readable) or 3 (writable),
#: "read the request: a socket". Untracked by the GC, like the two above.
_READABLE: Final = range(READ_VALUE, READ_VALUE + 1)
_WRITABLE: Final = range(WRITE_VALUE, WRITE_VALUE + 1)

#: Returned by ``next(task, _DONE)`` when the task has finished.
_DONE: Final = object()


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
    """Ready deque + timer heap. Knobs (what each trades: the module docstring):
    ``coalesce``, ``spin_margin`` and ``spin_below`` in seconds, ``spin_budget`` as a
    share of wall time, ``timer_slack_ns`` in ns (None: leave the slack alone).
    """

    name: ClassVar[str] = "hybrid"
    family: ClassVar[str] = "this-project"
    dialect: ClassVar[Literal["generator"]] = "generator"
    #: The TCP echo server (``schedulers._echo``), set below the class: it needs the class.
    echo_servers: ClassVar[Mapping[str, EchoServer]]
    supports_virtual_clock: ClassVar[bool] = True  # it blocks through clock.wait, see above

    coalesce: float
    spin_margin: float
    spin_budget: float
    spin_below: float
    timer_slack_ns: int | None

    def __init__(
        self,
        clock: Clock,
        coalesce: float = DEFAULT_COALESCE_S,
        spin_margin: float = DEFAULT_SPIN_MARGIN_S,
        spin_budget: float = DEFAULT_SPIN_BUDGET,
        spin_below: float = DEFAULT_SPIN_BELOW_S,
        timer_slack_ns: int | None = DEFAULT_TIMER_SLACK_NS,
    ) -> None:
        self.clock = clock
        self._request: Any = None  # the running task's timed sleep (seconds) or socket, until read
        self._io = HybridIO()  # sockets: nothing is allocated in the kernel until a first wait
        self.coalesce = _check_number("coalesce (seconds)", coalesce)
        self.spin_margin = _check_number("spin_margin (seconds)", spin_margin)
        self.spin_budget = _check_number("spin_budget (a share of wall time)", spin_budget, 1.0)
        self.spin_below = _check_number("spin_below (seconds)", spin_below)
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
        suspension, and nothing allocated that the cyclic GC tracks. ``seconds`` that
        does not compare with a float raises ``TypeError`` here, in the task. Call it
        where you yield from it, as the rocket bodies do.
        """
        if seconds > 0.0:  # a float compare-and-jump; raises TypeError for a non-number
            self._request = seconds
            return _TIMED
        return _ONCE

    if HAS_EPOLL:  # elsewhere no readiness primitives: the I/O workload skips the hybrid

        def readable(self, sock: socket.socket) -> range:
            """Suspend the calling task until ``sock`` is readable: ``yield from readable(sock)``.

            Like a timed sleep, it leaves its request (the socket) on the scheduler and
            returns a shared ``range`` whose one value, 2, tells the loop to read it.
            """
            self._request = sock
            return _READABLE

        def writable(self, sock: socket.socket) -> range:
            """Suspend the calling task until ``sock`` is writable: ``yield from writable(sock)``."""
            self._request = sock
            return _WRITABLE

    def run(self, coroutines: Iterable[Task]) -> Mapping[str, int]:
        with timer_slack(self.timer_slack_ns):
            try:
                return self._run(coroutines)
            finally:
                self._io.close()  # the epoll descriptor, if a task waited on a socket

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
        io = self._io
        io.begin(ready, timers, owner, now)
        request = io.request  # once per socket wait: a local, like the loop's other calls
        started = now()
        # A clock that gives the same reading twice running is not moved by time passing
        # (the virtual clock, or one too coarse to spin on): no coalescing and no spinning
        # on it, they would only make wakes late. Spinning re-checks this as it goes.
        moves = now() != started
        window = self.coalesce if moves else 0.0  # wake for the last deadline this close
        margin = self.spin_margin if moves else 0.0  # stop blocking this long before it
        short = self.spin_below if moves else 0.0  # spin, don't block, for a gap this short
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
                        if request(task, value, seconds):  # a socket wait, or the poller idle
                            continue
                        raise TypeError(
                            f"a hybrid task suspended yielding {value!r} (request {seconds!r}); it must "
                            "only suspend through `yield from sleep(seconds)` (or readable, writable) of this "
                            "scheduler"
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

            # ---- Nothing ready: tasks wait on sockets? Block in epoll (hybrid_io) ----
            if io.poller is not None and io.block(moves):
                continue
            # ---- Block until the earliest deadline, or the last one within the window ----
            if not timers:
                return {"resumes": resumes - io.turns}  # the poller's turns are no rocket's
            due = timers[0]
            if window:
                # Usually no other deadline is that close: the root's children say so.
                bound = due + window
                size = len(timers)
                if (size > 1 and timers[1] <= bound) or (size > 2 and timers[2] <= bound):
                    due = _latest_within(timers, bound)
            t = now()
            gap = due - t
            if (margin or gap < short) and spun < budget * (t - started):
                gap = 0.0 if gap < short else gap - margin  # spin all of it, or the margin
            if gap > 0:
                if gap > MAX_WAIT_S:
                    wait(MAX_WAIT_S)
                    continue
                wait(gap)
                t = now()
            if t < due:
                # Spin the rest, reading the clock until the deadline. A clock that gives
                # the same reading twice is not moved by time passing (virtual, or too
                # coarse to spin on): wait out the remainder, and stop spinning for good.
                spin_from = t
                while t < due:
                    t2 = now()
                    if t2 == t:
                        margin = short = 0.0
                        wait(due - t2)
                        t2 = now()
                    t = t2
                spun += t - spin_from


HybridScheduler.echo_servers = pool_echo_servers(HybridScheduler)
