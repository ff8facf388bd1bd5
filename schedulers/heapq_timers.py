"""``heapq``: one heap of ``(due, seq, task)``; pop the earliest, block until due, resume.

How it sleeps: the rocket yields a wait request (seconds); the loop turns it into an
absolute deadline with one clock reading and pushes the task back on the heap. ``seq``
breaks ties in FIFO order and keeps generators (which do not compare) out of the
comparison.

Cost model: every resume costs one ``heappop`` and one ``heappush``, O(log N) tuple
comparisons, plus a clock reading: cheap in absolute terms but ~10× a bare ``send``
at 10,000 tasks. No task is ever resumed before it is due, so there is no wasted work,
and the loop blocks exactly until the next deadline, so it sleeps the CPU when idle.

Where it breaks down: even a zero-second sleep goes through the heap (there is no ready
queue), so pure context switching pays the log N price; and lateness is bounded below by
``time.sleep``'s precision (the kernel's timer slack) since it blocks for every wait.

Readiness (``readable``/``writable``): the rocket yields a wait request instead of a
number. Adding it to the clock reading raises a private exception, so the loop files the
task in an epoll selector (``schedulers._readiness``) from an ``except`` clause of the
``try`` the resume already has: the switch and timed paths run the very same bytecode,
and each wait pays for one raised exception instead. When waits are in progress, the
selector's timeout replaces ``clock.wait``: the loop blocks until the next timer *or* a
readiness, whichever comes first, and ready sockets' tasks go on the heap as due now.
Only there: while timers are due it never polls, so a stream of due timers delays
readiness until it ends. epoll's timeout is whole milliseconds rounded up, so a timer
due while sockets are waited on wakes up to ~1 ms late (never early); with no waits in
progress timers are served exactly as before. A blocking select waits real time, so I/O
assumes the real clock (the I/O workload refuses the virtual one).

Echo server (``echo_servers``, one variant, ``"default"``): the pool of handler tasks of
``schedulers._echo`` on this class's own ``readable``/``writable`` and ``run``.
"""

from __future__ import annotations

import socket
from collections.abc import Generator, Iterable, Mapping
from heapq import heappop, heappush
from typing import Any, ClassVar, Literal

from schedulers._echo import pool_echo_servers
from schedulers._readiness import READ, WRITE, Interest
from schedulers.protocol import Clock, EchoServer

Task = Generator[Any, None, None]


class _Park(Exception):
    """Raised by ``clock reading + _Wait``: the resumed task asked to wait for a socket."""


class _Wait:
    """What ``readable``/``writable`` yield: park the task until ``fd`` is ready for ``event``."""

    __slots__ = ("event", "fd")

    def __init__(self, fd: int, event: int) -> None:
        self.fd = fd
        self.event = event

    def __radd__(self, other: object) -> float:
        # ``now() + request``, the deadline computation, ends up here: leave the push.
        raise _Park


class HeapqScheduler:
    name: ClassVar[str] = "heapq"
    family: ClassVar[str] = "teaching"
    dialect: ClassVar[Literal["generator"]] = "generator"
    #: The TCP echo server (``schedulers._echo``), set below the class: it needs the class.
    echo_servers: ClassVar[Mapping[str, EchoServer]]
    supports_virtual_clock: ClassVar[bool] = True

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._io: Interest[Task] = Interest()

    @staticmethod
    def sleep(seconds: float) -> Generator[float, None, None]:
        yield seconds  # a wait request; the loop computes the deadline

    @staticmethod
    def readable(sock: socket.socket) -> tuple[_Wait]:
        return (_Wait(sock.fileno(), READ),)  # ``yield from`` a 1-tuple: one suspension

    @staticmethod
    def writable(sock: socket.socket) -> tuple[_Wait]:
        return (_Wait(sock.fileno(), WRITE),)

    def run(self, coroutines: Iterable[Task]) -> Mapping[str, int]:
        try:
            return self._run(coroutines)
        finally:
            self._io.close()

    def _run(self, coroutines: Iterable[Task]) -> Mapping[str, int]:
        now = self.clock.now
        wait = self.clock.wait
        io = self._io
        start = now()
        heap: list[tuple[float, int, Task]] = [
            (start, seq, task) for seq, task in enumerate(coroutines)
        ]  # already a heap: equal due times, increasing seq
        seq = len(heap)
        resumes = 0
        while True:
            # The inner loop is the whole design without I/O; ``io`` is looked at only
            # where it would block, or once the heap is empty.
            while heap:
                due, order, task = heappop(heap)
                # ---- block until the earliest deadline (or, with waits, a readiness) ----
                delay = due - now()
                if delay > 0:
                    if io.busy:
                        heappush(heap, (due, order, task))  # back untouched: it is not due
                        seq = self._wake(heap, delay, seq)
                        continue
                    wait(delay)
                # ---- resume it and file its next wait request ----
                resumes += 1
                try:
                    seconds = task.send(None)
                    heappush(heap, (now() + seconds, seq, task))
                except StopIteration:
                    continue
                except _Park:  # it yielded a _Wait (readable/writable): file it by socket
                    io.add(seconds.fd, seconds.event, task)
                seq += 1
            if not io.busy:
                return {"resumes": resumes}
            seq = self._wake(heap, None, seq)  # only sockets are waited on: block for one

    def _wake(self, heap: list[tuple[float, int, Task]], timeout: float | None, seq: int) -> int:
        """Block in the selector up to ``timeout`` (None: until a readiness) and put the
        tasks of ready sockets on the heap, due now; returns the next ``seq``."""
        woken = self._io.wake(timeout)
        t = self.clock.now()
        for task in woken:
            heappush(heap, (t, seq, task))
            seq += 1
        return seq


HeapqScheduler.echo_servers = pool_echo_servers(HeapqScheduler)
