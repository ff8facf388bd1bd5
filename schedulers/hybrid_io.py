"""The ``hybrid``'s sockets: epoll registrations kept per socket, readiness turned directly
into resumes, and nothing on the switch or timed paths.

The loop in ``schedulers.hybrid`` knows about I/O in two places only, both off its hot
paths: the branch a resume takes when the task yielded neither a zero nor a timed sleep
(a socket wait, or this module's poller going idle), and the point where the ready deque
is drained and the loop would block or end. Everything else is here.

Registrations: a socket is registered with ``epoll_ctl(ADD)`` the first time a task waits
on it and then kept, with its mask, across waits: a task that reads, answers and waits to
read again (an echo server, a client awaiting its reply) costs no ``epoll_ctl`` at all
after the first wait, where asyncio's ``add_reader``/``remove_reader`` costs two per wait.
Kept interest has a price under level-triggered epoll: a direction nobody waits for would
be reported on every poll (a socket is almost always writable). So it is disarmed lazily:
when a poll reports a direction whose waiter is gone, that direction leaves the mask
(``MOD``), and a descriptor left with none is unregistered (``DEL``) and forgotten, which
also covers hang-ups and errors, which epoll reports whatever the mask. Edge-triggered
epoll would need no disarming, but it reports a change, not a state: a task that starts
waiting when data has already arrived would never be woken, or the loop would have to
guess readiness and wake tasks spuriously. One-shot mode would re-arm with a ``MOD`` per
wait, the cost this design avoids.

Descriptor reuse: the table maps a descriptor number to the socket *object* registered
under it. Closing a socket removes it from epoll (unless a duplicate of the descriptor
keeps the file open, the usual epoll caveat), and the number may come back for a new
socket; a wait on a socket that is not the one on record registers it afresh instead of
trusting the old mask. Tasks still waiting on the old socket (it was closed under them)
are resumed, so their next call fails loudly instead of the run hanging. The table
holds a reference to each socket until the run ends or the socket is disarmed: a socket
dropped without ``close`` stays open until then.

Polling: one ``epoll.poll`` per batch. When the deque is drained, the loop blocks in
epoll until the earliest timer or a readiness, in whole milliseconds rounded *down*, then
hands the last sub-millisecond of a timer to its precise wait (timer slack lowered, spin
under 25 µs): timers keep their precision while sockets are waited on, at the cost of up
to ~1 ms of I/O latency inside that last millisecond. While tasks keep the deque busy, a
poller task (a generator in the deque like any task, created at the first wait and gone
when none is left) polls with a zero timeout once per pass, so readiness is never
starved by tasks that only switch; a pass runs every task that was ready when it began,
so that is one system call per pass, however many tasks it runs. When the poller finds
nothing else runnable it does not poll (the loop is about to block in epoll anyway): it
files itself under the earliest deadline, so it comes back with the next timer, or, with
no timer, waits for the loop's next blocking poll to put it back. Its resumes are
subtracted from the ``resumes`` counter.

Linux only (``select.epoll``, ``HAS_EPOLL``): elsewhere the hybrid does not offer the
readiness primitives, and the I/O workload skips it. I/O waits block real time: the I/O
workload refuses the virtual clock, and with no waits in progress timers run on the
given clock exactly as before.
"""

from __future__ import annotations

import contextlib
import select
import socket
from collections import deque
from collections.abc import Callable, Generator
from heapq import heapify, heappop
from typing import Any, Final

Task = Generator[Any, None, None]

#: Whether this platform has epoll; without it the hybrid has no readiness primitives.
HAS_EPOLL: Final = hasattr(select, "epoll")

# Linux's values, spelled out where ``select`` lacks them so the module imports anywhere.
_IN: Final[int] = getattr(select, "EPOLLIN", 0x001)
_OUT: Final[int] = getattr(select, "EPOLLOUT", 0x004)
_ERR_HUP: Final[int] = getattr(select, "EPOLLERR", 0x008) | getattr(select, "EPOLLHUP", 0x010)
#: Events that make a waiting reader (writer) ready: an error or hang-up makes the next
#: call return at once (end of file, or the error), so it wakes both directions.
_READ_READY: Final = _IN | _ERR_HUP
_WRITE_READY: Final = _OUT | _ERR_HUP

#: The longest single epoll wait, as the loop's own ``MAX_WAIT_S``.
_MAX_WAIT_S: Final = 86_400.0

#: epoll counts whole milliseconds: a timer closer than this is left to the loop's
#: precise wait after a zero-timeout poll.
_EPOLL_TICK_S: Final = 1e-3


#: What ``readable``/``writable`` yield (``range(2, 3)``, ``range(3, 4)``): the loop then reads
#: the socket left as its request. Small ints are singletons, so ``is`` tells them apart.
READ_VALUE: Final = 2
WRITE_VALUE: Final = 3


class Idle:
    """What the poller yields when it finds nothing else runnable (a unique marker)."""

    __slots__ = ()


IDLE: Final = Idle()


class _Fd:
    """One registered descriptor: the socket on record, its epoll mask, its two waiters."""

    __slots__ = ("mask", "reader", "sock", "writer")

    def __init__(self, sock: socket.socket, mask: int) -> None:
        self.sock = sock
        self.mask = mask
        self.reader: Task | None = None
        self.writer: Task | None = None


class HybridIO:
    """The hybrid's readiness state for one run: ``begin`` binds the loop's structures."""

    __slots__ = ("_append", "_epoll", "_fds", "_filed_at", "_now", "_owner", "_ready",
                 "_timers", "poller", "turns", "waiting")

    def __init__(self) -> None:
        self._epoll: select.epoll | None = None
        self._fds: dict[int, _Fd] = {}
        self.waiting = 0  # tasks parked on a socket
        self.turns = 0  # poller resumes, counted by the loop and subtracted from its resumes
        # The poller task exists whenever tasks wait on sockets (made by the first wait,
        # ended by its first turn that finds none left), so the loop's drained path tests
        # ``poller is not None``: a jump on None with no call, cheaper than a count's truth.
        self.poller: Task | None = None
        self._filed_at: float | None = None  # the deadline the idle poller is filed under
        self._ready: deque[Task] = deque()
        self._append: Callable[[Task], None] = self._ready.append
        self._timers: list[float] = []
        self._owner: dict[float, Any] = {}
        self._now: Callable[[], float] = float  # replaced by the clock's now in begin

    def begin(self, ready: deque[Task], timers: list[float], owner: dict[float, Any],
              now: Callable[[], float]) -> None:
        """Bind the loop's ready deque, timer heap, deadline owners and clock."""
        self._ready, self._append = ready, ready.append
        self._timers, self._owner, self._now = timers, owner, now
        self.waiting = self.turns = 0
        self.poller = self._filed_at = None

    def close(self) -> None:
        """End of run: drop every registration, and every reference to tasks and sockets."""
        if self._epoll is not None:
            self._epoll.close()
        self._epoll = None
        self._fds.clear()
        self.begin(deque(), [], {}, float)

    # ---- called from the loop's branch for yields that are neither sleep ----

    def request(self, task: Task, value: object, sock: Any, _read: int = READ_VALUE, _write: int = WRITE_VALUE,
                _in: int = _IN, _out: int = _OUT) -> bool:
        """Handle what ``task`` yielded: 2 (``readable``), 3 (``writable``) or the poller's
        ``IDLE``. False: none of these, and the loop reports the yield as a misuse.

        The wait itself is filed here rather than in a helper: this runs once per readiness
        wait, and a second Python call per wait was the largest part of what the hybrid
        added over the raw-epoll I/O floor. The constants are default arguments for the
        same reason: a local read instead of a global one, several times per wait.
        """
        if value is _read:
            event = _in
        elif value is _write:
            event = _out
        else:
            if value is IDLE and task is self.poller:
                self._idle(task)
                return True
            return False
        if sock is None:
            return False
        fd = sock.fileno()
        if fd < 0:
            raise ValueError(f"a hybrid task waited for a closed socket ({sock!r})")
        entry = self._fds.get(fd)
        if entry is None or entry.sock is not sock:
            entry = self._register(fd, sock, event)
        elif not entry.mask & event:
            entry.mask |= event
            self._epoll.modify(fd, entry.mask)  # type: ignore[union-attr]  # registered, so open
        if event is _in:
            if entry.reader is not None:
                raise RuntimeError(f"two hybrid tasks wait for fd {fd} to be readable; one at a time may")
            entry.reader = task
        else:
            if entry.writer is not None:
                raise RuntimeError(f"two hybrid tasks wait for fd {fd} to be writable; one at a time may")
            entry.writer = task
        self.waiting += 1
        if self.poller is None:
            self.poller = self._poll_turns()
            self._append(self.poller)  # it runs in the next pass
        return True

    def _register(self, fd: int, sock: socket.socket, event: int) -> _Fd:
        epoll = self._epoll
        if epoll is None:
            epoll = self._epoll = select.epoll()
        stale = self._fds.pop(fd, None)
        if stale is not None:
            # This number belonged to another socket, closed since (and so gone from epoll).
            # Anyone still waiting on it would wait forever: resume them to find out.
            for waiter in (stale.reader, stale.writer):
                if waiter is not None:
                    self._append(waiter)
                    self.waiting -= 1
        try:
            epoll.register(fd, event)
        except FileExistsError:  # the same open file under this number, dropped from the table
            epoll.modify(fd, event)
        entry = self._fds[fd] = _Fd(sock, event)
        return entry

    def _idle(self, poller: Task) -> None:
        # Nothing else is runnable. File the poller under the earliest deadline so it comes
        # back with that timer, whichever way the loop reaches it; with no timer it stays
        # out until the loop's blocking poll puts it back.
        timers = self._timers
        if timers:
            due = timers[0]
            owner = self._owner
            first = owner[due]
            if first.__class__ is list:
                first.append(poller)
            else:
                owner[due] = [first, poller]
            self._filed_at = due

    # ---- the poller: a task in the deque, once per pass while others are runnable ----

    def _poll_turns(self) -> Generator[object, None, None]:
        ready = self._ready
        while True:
            self.turns += 1
            self._filed_at = None
            if not self.waiting:
                self.poller = None
                return
            if ready:  # others are runnable: look without blocking, and go round
                self._poll(0.0)
                yield 0  # the zero sleep: to the back of the deque, next pass
            else:  # the loop is about to block: it will poll then
                yield IDLE

    # ---- called where the loop would block or end ----

    def block(self, moves: bool) -> bool:
        """The deque is drained and tasks wait on sockets: block in epoll until a readiness
        or (nearly) the earliest timer. True: go round; False: the earliest timer is less
        than a millisecond away (or the clock is virtual), left to the loop's precise wait."""
        if not self.waiting:  # the last waiter was woken: the poller's next turn ends it
            self._requeue_poller()
            return True
        timers = self._timers
        if not timers:
            timeout = -1.0
        elif moves:
            gap = timers[0] - self._now()
            timeout = min(int(gap * 1000) / 1000, _MAX_WAIT_S) if gap >= _EPOLL_TICK_S else 0.0
        else:
            timeout = 0.0  # virtual time: epoll must not wait it out for real
        if self._poll(timeout):
            self._requeue_poller()
            return True
        return not timers or (moves and timers[0] - self._now() >= _EPOLL_TICK_S)

    def _requeue_poller(self) -> None:
        poller = self.poller
        if poller is None:
            return
        due = self._filed_at
        if due is not None:  # take it back from under its deadline
            self._filed_at = None
            owner, timers = self._owner, self._timers
            entry = owner[due]
            if entry is poller:
                del owner[due]
                if timers[0] == due:  # always, as nothing was filed since; but be safe
                    heappop(timers)
                else:
                    timers.remove(due)
                    heapify(timers)
            else:
                entry.remove(poller)
        self._append(poller)

    def _poll(self, timeout: float) -> int:
        """One ``epoll.poll``: resume the waiters of ready sockets (in the ready deque) and
        disarm directions nobody waits for. Returns how many tasks it resumed."""
        fds = self._fds
        events = self._epoll.poll(timeout, len(fds) or 1)  # type: ignore[union-attr]
        append, get = self._append, fds.get
        read_ready, write_ready, read, write = _READ_READY, _WRITE_READY, _IN, _OUT  # locals: once per event
        woke = 0
        for fd, flags in events:
            entry = get(fd)
            if entry is None:
                continue
            unwanted = 0
            if flags & read_ready and entry.mask & read:
                reader = entry.reader
                if reader is None:
                    unwanted = read
                else:
                    entry.reader = None
                    append(reader)
                    woke += 1
            if flags & write_ready and entry.mask & write:
                writer = entry.writer
                if writer is None:
                    unwanted |= write
                else:
                    entry.writer = None
                    append(writer)
                    woke += 1
            if unwanted:
                self._disarm(fd, entry, unwanted)
        self.waiting -= woke
        return woke

    def _disarm(self, fd: int, entry: _Fd, unwanted: int) -> None:
        mask = entry.mask & ~unwanted
        epoll = self._epoll
        assert epoll is not None
        if mask & (_IN | _OUT):
            entry.mask = mask
            epoll.modify(fd, mask)
        else:
            del self._fds[fd]
            with contextlib.suppress(OSError):  # already closed: nothing left to remove
                epoll.unregister(fd)
