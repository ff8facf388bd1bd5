"""``busywait``: round-robin over a list; the thread never blocks.

How it sleeps: ``sleep`` is a loop that reads the clock and yields until its deadline has
passed, so a sleeping task costs one resume per pass for as long as it sleeps.

Cost model: wakes are as punctual as one pass over the live tasks allows (no kernel
timer in the way), paid for with 100 % of a core for the whole run, whatever the load.
Wasted resumes grow with (sleep time × passes per second × sleeping tasks).

Where it breaks down: everywhere CPU matters: on a shared or battery-powered machine,
and under a virtual clock, which only moves when someone waits on it (this design never
does, so ``supports_virtual_clock`` is False).

Readiness (``readable``/``writable``), in the same spirit: a waiting task yields on every
resume until the last poll saw its socket ready, as a sleeper yields until the clock says
so. At the start of every pass over the list, when waits are in progress, the loop polls
its epoll selector (``schedulers._readiness``) with a zero timeout: it never blocks, even
when every task waits for a socket. Two tasks waiting for the same socket and direction
both see it ready, and one of them wakes spuriously.

Echo server (``echo_servers``, one variant, ``"default"``): the pool of handler tasks of
``schedulers._echo`` on this class's own ``readable``/``writable`` and ``run``.
"""

from __future__ import annotations

import socket
from collections.abc import Generator, Iterable, Mapping
from typing import Any, ClassVar, Literal

from schedulers._echo import pool_echo_servers
from schedulers._readiness import READ, WRITE, Interest
from schedulers.protocol import Clock, EchoServer


class BusyWaitScheduler:
    name: ClassVar[str] = "busywait"
    family: ClassVar[str] = "teaching"
    dialect: ClassVar[Literal["generator"]] = "generator"
    #: The TCP echo server (``schedulers._echo``), set below the class: it needs the class.
    echo_servers: ClassVar[Mapping[str, EchoServer]]
    supports_virtual_clock: ClassVar[bool] = False
    polling: ClassVar[bool] = True

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._io: Interest[object] = Interest()

    def sleep(self, seconds: float) -> Generator[None, None, None]:
        now = self.clock.now
        deadline = now() + seconds
        yield  # always suspend once, even for 0 seconds
        while now() < deadline:
            yield

    def readable(self, sock: socket.socket) -> Generator[None, None, None]:
        return self._wait_io(sock.fileno(), READ)

    def writable(self, sock: socket.socket) -> Generator[None, None, None]:
        return self._wait_io(sock.fileno(), WRITE)

    def _wait_io(self, fd: int, event: int) -> Generator[None, None, None]:
        io = self._io
        token = object()  # this wait, in the selector's list of waiters
        io.add(fd, event, token)
        try:
            yield  # always suspend once, even when the socket is ready already
            while not io.masks.get(fd, 0) & event:
                yield
        finally:  # woken, or closed unfinished: either way no longer waiting
            io.discard(fd, event, token)

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        try:
            return self._run(coroutines)
        finally:
            self._io.close()

    def _run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        io = self._io
        tasks = list(coroutines)
        resumes = 0
        index = 0
        # Round-robin with in-place removal: finished tasks are swapped with the last one,
        # so the list never needs rebuilding and a pass visits each live task once.
        while tasks:
            if index >= len(tasks):
                index = 0
                if io.busy:  # a new pass: poll the sockets, never blocking
                    io.poll(0.0)
            task = tasks[index]
            resumes += 1
            try:
                task.send(None)
            except StopIteration:
                tasks[index] = tasks[-1]
                tasks.pop()
                continue
            index += 1
        return {"resumes": resumes}


BusyWaitScheduler.echo_servers = pool_echo_servers(BusyWaitScheduler)
