"""``deque``: an async/await loop of Task objects on a ``collections.deque`` ready queue.

This is the design people write after reading how asyncio works: ``Task`` objects with
``__await__``, ``create_task`` and ``run(main)``; a task that awaits another task parks
until it finishes; the loop pops the ready queue's head, steps it, and appends it back.

How it sleeps: ``sleep(s)`` creates a child task that reads the clock and re-enqueues
itself until its deadline has passed; the sleeping rocket awaits that child.

Cost model: a context switch is one ``popleft`` + one ``send`` + one ``append``, the
cheapest loop there is, but each sleep also creates a child Task and steps it at least
once, so a rocket resume costs about two task steps. While rockets sleep, their children
cycle through the queue polling the clock: the thread never blocks, and CPU per useful
wake grows with the number of sleepers and the length of the sleep.

Where it breaks down: idle time is spent spinning (no timer structure, no blocking), so
under a virtual clock it would never finish (``supports_virtual_clock`` is False).

Readiness (``readable``/``writable``), in the same spirit: everything is a task or
something a task awaits. ``readable(sock)`` files a ``_Readiness`` in an epoll selector
(``schedulers._readiness``) and returns it; awaiting it parks the rocket in its
``waiters`` exactly as awaiting an unfinished Task does, so the loop itself is unchanged.
While waits are in progress one poller task cycles through the ready queue: each turn it
polls the selector with a zero timeout and moves the waiters of ready sockets to the
queue; when it finds nothing else runnable it blocks in the selector until a readiness
(there is no timer structure to wait for: sleepers spin in the queue, and while any does
the poller only polls). It ends when no wait is left and is started again by the next
one. Its turns are counted like a sleeper's polls: in ``wasted``, never in ``resumes``.

Echo server (``echo_servers``, one variant, ``"default"``): the pool of handler tasks of
``schedulers._echo`` on this class's own ``readable``/``writable`` and ``run``.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Coroutine, Generator, Iterable, Mapping
from typing import Any, ClassVar, Literal

from schedulers._echo import pool_echo_servers
from schedulers._readiness import READ, WRITE, Interest
from schedulers.protocol import Clock, EchoServer


class Task:
    """A coroutine plus who waits for it. Awaiting an unfinished task parks the caller."""

    __slots__ = ("coro", "done", "is_sleeper", "waiters")

    def __init__(self, coro: Coroutine[Any, Any, Any], is_sleeper: bool = False) -> None:
        self.coro = coro
        self.done = False
        self.is_sleeper = is_sleeper
        self.waiters: list[Task] = []

    def __await__(self) -> Generator[Task, None, None]:
        if not self.done:
            yield self  # the loop reads "park me until this task is done"


class _Reschedule:
    """Awaiting this puts the current task at the back of the ready queue."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield None


_RESCHEDULE = _Reschedule()


class _Readiness:
    """A socket wait, awaited like an unfinished Task: the loop parks the awaiting task in
    ``waiters`` and the poller moves them to the ready queue once the socket is ready."""

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: list[Task] = []

    def __await__(self) -> Generator[_Readiness, None, None]:
        yield self  # the loop reads "park me until this is done", as for a Task


class DequeScheduler:
    name: ClassVar[str] = "deque"
    family: ClassVar[str] = "teaching"
    dialect: ClassVar[Literal["async"]] = "async"
    #: The TCP echo server (``schedulers._echo``), set below the class: it needs the class.
    echo_servers: ClassVar[Mapping[str, EchoServer]]
    supports_virtual_clock: ClassVar[bool] = False  # sleepers spin on clock.now
    polling: ClassVar[bool] = True

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.ready: deque[Task] = deque()
        self.sleepers_created = 0
        self._io: Interest[_Readiness] = Interest()
        self._poller: Task | None = None

    def create_task(self, coro: Coroutine[Any, Any, Any], is_sleeper: bool = False) -> Task:
        task = Task(coro, is_sleeper)
        self.ready.append(task)
        return task

    async def _sleeper(self, deadline: float) -> None:
        now = self.clock.now
        while now() < deadline:
            await _RESCHEDULE

    def sleep(self, seconds: float) -> Task:
        self.sleepers_created += 1
        return self.create_task(self._sleeper(self.clock.now() + seconds), is_sleeper=True)

    def readable(self, sock: socket.socket) -> _Readiness:
        return self._wait_io(sock.fileno(), READ)

    def writable(self, sock: socket.socket) -> _Readiness:
        return self._wait_io(sock.fileno(), WRITE)

    def _wait_io(self, fd: int, event: int) -> _Readiness:
        # Filed when called, like ``sleep`` creates its task: the caller awaits it at once.
        readiness = _Readiness()
        self._io.add(fd, event, readiness)
        if self._poller is None:
            self.sleepers_created += 1  # its last turn, when no wait is left, is not wasted
            self._poller = self.create_task(self._poll_io(), is_sleeper=True)
        return readiness

    async def _poll_io(self) -> None:
        io, ready = self._io, self.ready
        while io.busy:
            # Anything else runnable: poll and go round. Nothing: block until a readiness.
            for readiness in io.wake(0.0 if ready else None):
                ready.extend(readiness.waiters)
            await _RESCHEDULE
        self._poller = None

    def run_main(self, main: Coroutine[Any, Any, Any]) -> Mapping[str, int]:
        """Run ``main`` and every task it creates; the loop of this design."""
        root = self.create_task(main)
        ready = self.ready
        popleft, append = ready.popleft, ready.append  # bound once: this is the hot path
        resumes = polls = 0
        while ready:
            task = popleft()
            if task.is_sleeper:
                polls += 1
            elif task is not root:
                resumes += 1
            try:
                awaited = task.coro.send(None)
            except StopIteration:
                task.done = True
                ready.extend(task.waiters)
                continue
            if awaited is None:  # a bare yield: go to the back of the queue
                append(task)
            else:  # awaiting an unfinished task: park until it finishes
                awaited.waiters.append(task)
        # Every sleeper's last poll finds it due; all its earlier polls were wasted.
        return {"resumes": resumes, "wasted": polls - self.sleepers_created}

    def run(self, coroutines: Iterable[Coroutine[Any, Any, None]]) -> Mapping[str, int]:
        async def main() -> None:
            for task in [self.create_task(coro) for coro in coroutines]:
                await task

        try:
            return self.run_main(main())
        finally:
            self._io.close()


DequeScheduler.echo_servers = pool_echo_servers(DequeScheduler)
