"""``listscan``: every pass resumes every live task in a plain list.

How it sleeps: a sleeping task is resumed on every pass and answers with how many
seconds it still has ("not ready, N seconds left"). After a pass the loop blocks for the
smallest answer, then passes over everyone again.

Cost model: a pass costs one resume per *live* task, sleeping or not, so the cost of one
useful wake grows linearly with the number of tasks alive. The blocking time is computed
from answers given during the pass, so every wake is late by up to one pass's duration.

Where it breaks down: with 10,000 rockets a pass resumes thousands of sleepers to find
the few that are due. Under heavy load (small time scale) the passes themselves take
longer than the gaps between deadlines and the loop becomes CPU-bound, never blocking.

Readiness (``readable``/``writable``), in the same spirit: a waiting task is resumed on
every pass and answers "not ready" (no deadline: ``inf`` seconds left) until the last
poll saw its socket ready. The loop polls its epoll selector (``schedulers._readiness``)
once after every pass that had waits in progress: with a zero timeout when some sleeper
is due, otherwise blocking for the smallest time left *or* a readiness, so the selector
replaces ``clock.wait`` then (epoll's timeout is whole milliseconds rounded up: such a
wake is up to ~1 ms late, never early; and it waits real time, so I/O assumes the real
clock). Every waiting task costs a resume per pass, as every sleeper does; two tasks
waiting for the same socket and direction both see it ready, and one of them wakes
spuriously.

Echo server (``echo_servers``, one variant, ``"default"``): the pool of handler tasks of
``schedulers._echo`` on this class's own ``readable``/``writable`` and ``run``.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Generator, Iterable, Mapping
from typing import Any, ClassVar, Literal

from schedulers._echo import pool_echo_servers
from schedulers._readiness import READ, WRITE, Interest
from schedulers.protocol import Clock, EchoServer


class ListScanScheduler:
    name: ClassVar[str] = "listscan"
    family: ClassVar[str] = "teaching"
    dialect: ClassVar[Literal["generator"]] = "generator"
    #: The TCP echo server (``schedulers._echo``), set below the class: it needs the class.
    echo_servers: ClassVar[Mapping[str, EchoServer]]
    supports_virtual_clock: ClassVar[bool] = True
    polling: ClassVar[bool] = True  # sleepers are resumed to ask whether they are due

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._io: Interest[object] = Interest()

    def sleep(self, seconds: float) -> Generator[float, None, None]:
        now = self.clock.now
        deadline = now() + seconds
        left = seconds
        # Suspend at least once, even for 0 seconds: switch mode counts on it.
        while True:
            yield left
            left = deadline - now()
            if left <= 0:
                return

    def readable(self, sock: socket.socket) -> Generator[float, None, None]:
        return self._wait_io(sock.fileno(), READ)

    def writable(self, sock: socket.socket) -> Generator[float, None, None]:
        return self._wait_io(sock.fileno(), WRITE)

    def _wait_io(self, fd: int, event: int) -> Generator[float, None, None]:
        io = self._io
        token = object()  # this wait, in the selector's list of waiters
        io.add(fd, event, token)
        try:
            # Suspend at least once; "inf seconds left" leaves the loop's smallest alone.
            yield math.inf
            while not io.masks.get(fd, 0) & event:
                yield math.inf
        finally:  # woken, or closed unfinished: either way no longer waiting
            io.discard(fd, event, token)

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        try:
            return self._run(coroutines)
        finally:
            self._io.close()

    def _run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        wait = self.clock.wait
        io = self._io
        tasks = list(coroutines)
        resumes = 0
        while tasks:
            # ---- one pass: resume every live task, collect how long each still has ----
            smallest = math.inf
            alive: list[Generator[Any, None, None]] = []
            keep = alive.append
            for task in tasks:
                resumes += 1
                try:
                    left = task.send(None)
                except StopIteration:
                    continue
                keep(task)
                if left < smallest:
                    smallest = left
            tasks = alive
            # ---- with waits in progress, poll the sockets: block only if nothing is due ----
            if io.busy and tasks:
                io.poll(0.0 if smallest <= 0 else None if smallest == math.inf else smallest)
            # ---- block until the soonest reported deadline ----
            elif tasks and smallest > 0:
                wait(smallest)
        return {"resumes": resumes}


ListScanScheduler.echo_servers = pool_echo_servers(ListScanScheduler)
