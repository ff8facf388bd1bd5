"""``hybrid``: a ready deque for runnable tasks plus a timer heap, blocking precisely.

The two structures asyncio keeps, without the Task, Future and Handle objects it adds on
top. The loop is modelled on asyncio's ``_run_once``: each pass moves the due timers to
the ready deque (one clock reading), then runs exactly the tasks that were ready when the
pass began, so a task that sleeps 0 runs again in the next pass, behind the timers that
fell due in between; only when nothing is ready does it block.

How it sleeps: ``sleep(seconds)`` compares ``seconds > 0.0`` itself. A zero (negative,
NaN) sleep returns ``range(1)``: the rocket's ``yield from`` suspends once, yielding 0,
and the loop, seeing 0 (one identity test: CPython's small ints are singletons), appends
the task to the ready deque and is done: no heap, no clock reading, no attribute access.
A positive sleep leaves ``seconds`` on the scheduler (only the running task can write it)
and returns ``range(1, 2)``, which yields 1: the loop reads the request and files the task
under ``due = clock.now() + seconds``, read *after* the rocket's own reading, so no task
ever wakes early. A task that suspends any other way (a bare ``yield``, another
scheduler's sleep) gets a ``TypeError`` saying so, and so does a ``sleep`` of something
that is not a number (Python's own, raised in the task); a bare ``yield 0`` passes for a
zero sleep, harmlessly.
The heap holds the distinct deadlines as plain floats and a dict maps each to its task (or
to a list of tasks, in arrival order, when several share it): equal deadlines stay FIFO
and exact, with no ``seq`` counter.

Nothing the cyclic GC tracks is allocated per switch: a ``range`` iterator holds no
references, floats are untracked, the deque and the dict are single objects. Yielding
``(seconds,)`` instead (a tuple and its iterator, both tracked and alive while the task
sleeps) and keeping ``(due, seq, task)`` tuples in the heap made a run of 10,000 timed
rockets trigger ~45 young collections, each a pause of 15 µs to 1 ms; now there are ~5,
caused by the rocket bodies' own ``for`` loops. Floats also compare in C without the tuple
machinery: ~10% less CPU per timed wake than the tuple heap.

Cost per switch, against the generator body floor (``bench.measure.body_floor``: the same
rocket bodies on a bare ``popleft``/``next``/``append`` deque whose ``sleep`` ignores its
argument). Instructions per resume in switch mode, 10,000 rockets, seed 1969, counted by
Callgrind around ``run`` alone (``bench.measure.instructions``, warmed up; exact to
< 0.1 % run to run)::

    generator body floor                                    1,871
    hybrid                                                  2,001   1.070 x floor
    hybrid as it was (request read and reset every switch)  2,219   1.186 x floor
    the floor with a sleep that tests its argument (a
    method, a float compare), the least a timed loop needs  1,955   (hybrid: 1.024 x it)

What is left above the floor is what any loop that also keeps time pays. Counted by
taking one piece away at a time (10,000 rockets): ``sleep`` must look at its argument
(the float compare: +60; being a method, to reach the scheduler's state: +18), and the
loop must tell a zero sleep from a finished task or a wrong suspension, so it keeps
``next``'s result in a local (+22; without it a bare ``yield`` would drop the task
silently instead of raising) and has a timed and an end branch (+30); the pass structure,
the timer check per pass and the two ``prctl`` calls cost < 1 per resume.
Tried and measured: detecting the end with ``task.gi_suspended`` instead of keeping the
result (+36: a generic attribute lookup per finished task), ``try``/``except`` around the
compare in ``sleep`` for a friendlier message (+17), a closure or a default-argument
function instead of a method (+30 / +6), ``if seconds:`` instead of the compare (-5, but
``sleep(None)`` would then pass for a zero sleep). Wall time, interleaved on a quiet
machine (``python -m bench.measure.body_floor --rockets 10000 --rounds 21 --against
hybrid,heapq,asyncio``, six sessions; per-round ratios, median): hybrid 1.01-1.13 x the
floor, heapq 4.3-4.8 x, asyncio 10.4-11.2 x; the old layout, interleaved with the new one
and the floor, 1.09-1.25 x (three sessions). Wall time on this VM moves more than that
between sessions (the floor itself read ~196 and ~300 ns an hour apart): the instruction
counts are the figures to trust, the wall times only show nothing contradicts them.
A timed sleep adds a clock reading, a dict entry and two O(log N) heap operations, which
dominate the loop's own cost when most sleeps are timed (on the virtual clock: ~15,300
instructions per wake, as in the old layout).

Blocking, and precision against CPU. ``clock.wait`` (``time.sleep``) returns late by the
thread's timer slack (50 µs by default, ``/proc/self/timerslack_ns``) plus the wake-up
latency; each block also costs ~24 µs of CPU on the development VM (syscall, context
switch, timer interrupt, cold caches after; ``python -m bench.measure.timer_floor``).
Five knobs:

* ``timer_slack_ns`` (default 1): while ``run`` runs, the thread's timer slack is lowered
  with ``prctl(PR_SET_TIMERSLACK)`` (Linux, restored afterwards; a no-op elsewhere). The
  machine's own lateness for the workload's gaps drops from p50/p99 75/130 µs to 25/74 µs
  (timer floor, time scale 1). ``None`` leaves it alone.
* ``coalesce`` (default 0): when it must block, the loop blocks until the *latest*
  deadline within this window of the earliest and serves them all with one wake-up. It
  adds up to its width to the earliest one's lateness.
* ``spin_margin`` (default 0): block until that long before the deadline, then spin on
  ``clock.now``. Precise, but every block burns up to the margin in CPU, and a thread
  that spins is the first the kernel preempts on a busy machine.
* ``spin_below`` (default 25 µs): when the earliest deadline is closer than this, spin
  to it instead of blocking at all: a block that short costs as much CPU as the spin and
  returns later. Unlike ``spin_margin`` it never spins the tail of a long gap.
* ``spin_budget`` (default 0.1): spinning may use at most this share of the run's wall
  time; beyond it the loop blocks (dense deadlines, time scale 0.01).

The defaults were chosen from ``python scripts/hybrid_knobs.py --rounds 5 --quiet-below
0.15 --quiet-timeout 180 --retries 2`` (``docs/hybrid-tradeoff.json`` and ``.png``): time
scale 1, 10,000 rockets, seed 1969, each run ``execute_once`` in a fresh process, five
interleaved rounds with asyncio and the timer floor in each, on the 2-vCPU VM, which is
shared: every counted run had the other processes below 15 % of the CPUs (2026-11-22,
04:29-04:43 UTC, none needed repeating; "block, slack 1 ns" was the default then).
Medians, min-max in brackets::

    setting                          p99 lateness µs        p50 µs   CPU s per run
    default: spin below 25 µs        93 (84-179)              30     0.79 (0.72-0.90)
    spin below 50 µs                 92 (82-126)              30     0.74 (0.70-0.83)
    block, slack 1 ns                114 (84-132)             33     0.86 (0.71-0.93)
    spin 50 µs before each deadline  56 (31-64)                5     1.38 (1.36-1.38)
    block, kernel slack              153 (141-156)            80     0.71 (0.63-0.84)
    coalesce 20 µs                   104 (83-234)             41     0.89 (0.69-0.99)
    coalesce 50 µs                   107 (99-109)             30     0.75 (0.66-0.79)
    coalesce 100 µs                  155 (140-235)            38     0.67 (0.65-0.89)
    coalesce 200 µs                  263 (240-267)            52     0.57 (0.51-0.65)
    coalesce 1 ms                    1,076 (1,051-1,095)     177     0.35 (0.33-0.47)
    coalesce 20 µs + spin 10 µs      97 (91-116)              22     0.82 (0.81-1.04)
    coalesce 50 µs, kernel slack     172 (154-177)            83     0.74 (0.67-0.90)
    asyncio                          1,216 (1,157-1,251)     633     0.91 (0.69-1.10)
    timer floor (block, slack 1 ns)  75 (62-85)

Against its targets the default has p99 93 µs <= 2 x the floor's 75 µs (150; in four of
the five rounds, 179 against 150 in the other) and CPU 0.79 s <= asyncio's 0.91 s (lower
in four rounds of five): it dominates asyncio on both axes. Spinning gaps shorter than a
block costs (``spin_below``) beat blocking for every deadline on both axes at scale 1
(p99 114 -> 93 µs, CPU 0.86 -> 0.79 s): a block that short costs about as much CPU as the
spin, returns late and comes back to cold caches. 50 µs did as well at scale 1 but at
time scale 0.1, where short gaps are common, it took 2-15 % more CPU than blocking in
each of five rounds (0.40 against 0.36 s, about asyncio's 0.39), while 25 µs took 0.35 s,
no more than asyncio in any round (same command with ``--time-scale 0.1 --only default
--only "block, slack 1 ns" --only "spin below 25 µs"``, 04:47 UTC). Spinning a fixed
margin before every deadline (the default before these two) buys median precision and
the best p99, for 1.38 s of CPU, half as much again as asyncio. Coalescing windows up to
50 µs were as good as the default (50 µs: p99 107 µs, CPU 0.75 s, within the rounds'
spread of it); from 100 µs they add their width to the lateness, and from 200 µs
the trade is a different one: ``coalesce=1e-3`` gives asyncio's lateness for ~40 % of
its CPU. The knobs stay for such trade-offs.

Where the lateness tail comes from: the machine. The timer floor re-bases every wait on
the previous actual wake, so a stall of the thread (the hypervisor, another process)
counts once there; in a scheduler it delays every timer due during the stall, ~3 per ms
at scale 1, so the same stalls weigh ~10-20 x more in its p99. In one quiet run 375 of
30,168 wakes were > 300 µs late, in 60 bursts of up to 27 consecutive wakes: stalls of
1-5 ms. A thread waiting the same absolute deadlines with no scheduler at all got p99
107-130 µs in the quiet minutes and 1,339 µs in a noisy one. On a busy machine (load 3-4
on the 2 vCPUs) every setting measured p99 3-6 ms. The first pass, which starts all 10,000
rockets (8 ms here), makes the dozen rockets with shorter delays late: 12 of 30,168 wakes.

Alternatives at the ``os`` level, and why not: ``select``/``poll`` timeouts carry the same
slack and ``epoll`` rounds up to whole milliseconds; ``os.sched_yield`` in the spin still
burns the CPU when nothing else is runnable; a real-time policy (``SCHED_FIFO``, no slack)
needs privileges; ``timerfd`` is not in the standard library before Python 3.13; and
anything that waits outside ``clock.wait`` would break the virtual clock. Lowering the
slack is the one change that helps, costs two syscalls per run and needs no privilege.

The virtual clock: it only moves when someone waits, so spinning on it would never end and
coalescing would only make wakes late. When two readings at the start of ``run`` are equal
(nothing moved the clock by itself), the loop neither coalesces nor spins; should a spin
see two equal readings later, it waits out the remainder and stops spinning for good. A
real clock too coarse to spin on is treated the same way: correct, just not as precise.

Where it breaks down: a timer costs O(log N) where the deque costs O(1), so when most
sleeps are timed the heap dominates; each block costs tens of µs of CPU on a virtual
machine, so a dense timer load (time scale 0.01) is CPU-bound whatever the knobs; a thread
that is descheduled is late however it waits, so the lateness tail is the machine's; and,
being cooperative, a task that runs long between sleeps delays every timer due meanwhile.
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
#: ``clock.now``; 0 never spins. 50 µs (the previous default) made the median wake precise
#: (7 µs against 41) but not the p99, for 0.45 s more CPU per 9 s run than blocking: 27 %
#: more than asyncio uses (measurements in the module docstring).
DEFAULT_SPIN_MARGIN_S: Final = 0.0

#: When the loop must block, it blocks until the *latest* deadline within this window of
#: the earliest one and serves them all with one wake-up instead of waking for each: fewer
#: wake-ups for at most this much extra lateness on the earliest. 0 wakes for every
#: distinct deadline: windows up to 100 µs saved no measurable CPU at time scale 1.
DEFAULT_COALESCE_S: Final = 0.0

#: When the earliest deadline is closer than this, the loop spins to it instead of
#: blocking. A block costs ~24 µs of CPU on the development VM and returns ~25-30 µs late
#: even with the slack lowered (``bench.measure.timer_floor``), and the thread comes back
#: to cold caches; spinning a gap shorter than that costs no more and is on time. 25 µs
#: is that break-even; 50 µs was as good at time scale 1 but cost ~10 % more CPU than
#: blocking at 0.1, where short gaps are common (figures in the module docstring). 0
#: always blocks.
DEFAULT_SPIN_BELOW_S: Final = 25e-6

#: The largest share of the run's wall time that spinning may use (with a margin set).
#: When deadlines are microseconds apart (time scale 0.01) spinning would fill every idle
#: gap, and blocking, which then wakes a little late with many timers due at once, serves
#: them for much less CPU.
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
        self._request: Any = None  # the running task's timed sleep, in seconds, until read
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
