"""Who waits for which socket: the readiness bookkeeping of the teaching designs.

``listscan``, ``busywait``, ``heapq`` and ``deque`` share this, each using it in the spirit
of its own strategy (their module docstrings say how). One ``selectors.DefaultSelector``
per scheduler, epoll on Linux (``select.select`` would fail above descriptor 1024), made
at the first wait so a run without I/O never creates it.

Trade-off: a descriptor is registered while some task waits on it and unregistered as
soon as none does, as asyncio's selector loop does with ``add_reader``/``remove_reader``.
That costs two ``epoll_ctl`` calls per wait, but the kernel's interest list is exactly the
waits in progress, so a poll never reports a socket nobody waits for and a closed socket
is never left registered. The ``hybrid`` keeps registrations instead (``hybrid_io``).
Several tasks may wait for the same socket and direction; a readiness wakes all of them.
"""

from __future__ import annotations

import selectors
from typing import Final, Generic, TypeVar

T = TypeVar("T")

READ: Final = selectors.EVENT_READ
WRITE: Final = selectors.EVENT_WRITE


class Interest(Generic[T]):
    """Waiters per descriptor and direction, mirrored into one epoll selector.

    A waiter is any object the design wants back: a task to resume (``heapq``), an
    awaitable its tasks are parked on (``deque``), or a plain token for designs whose
    waiters poll (``listscan``, ``busywait``), which read ``masks`` instead.
    """

    __slots__ = ("_selector", "busy", "masks", "waiting")

    def __init__(self) -> None:
        self._selector: selectors.BaseSelector | None = None
        self.waiting = 0  # waits in progress
        # ``waiting > 0``, kept as a bool: the loops test it where they would block or end,
        # and a bool's truth is a jump with no call, where an int's costs a call.
        self.busy = False
        self.masks: dict[int, int] = {}  # fd -> events, from the last ``poll``

    def add(self, fd: int, event: int, waiter: T) -> None:
        """Register ``waiter`` for ``event`` (``READ`` or ``WRITE``) on descriptor ``fd``."""
        if fd < 0:
            raise ValueError("cannot wait for a closed socket (fileno() is -1)")
        selector = self._selector
        if selector is None:
            selector = self._selector = selectors.DefaultSelector()
        try:
            key = selector.get_key(fd)
        except KeyError:
            waiters: tuple[list[T], list[T]] = ([], [])
            selector.register(fd, event, waiters)
        else:
            waiters = key.data
            if not key.events & event:
                selector.modify(fd, key.events | event, waiters)
        waiters[1 if event == WRITE else 0].append(waiter)
        self.waiting += 1
        self.busy = True

    def discard(self, fd: int, event: int, waiter: T) -> None:
        """Forget ``waiter`` (no longer waiting, woken or not); unregister what nobody waits for."""
        selector = self._selector
        if selector is None:
            return
        try:
            key = selector.get_key(fd)
        except KeyError:
            return
        waiters = key.data
        side = waiters[1 if event == WRITE else 0]
        if waiter in side:
            side.remove(waiter)
            self.waiting -= 1
            self.busy = self.waiting > 0
            self._update(selector, fd, key.events, waiters)

    def wake(self, timeout: float | None) -> list[T]:
        """Wait up to ``timeout`` seconds (None: until a readiness), then take every waiter
        whose socket is ready off the interest list and return them, in readiness order."""
        selector = self._selector
        if selector is None:
            return []
        woken: list[T] = []
        for key, events in selector.select(timeout):
            waiters = key.data
            readers, writers = waiters
            if events & READ and readers:
                woken += readers
                readers.clear()
            if events & WRITE and writers:
                woken += writers
                writers.clear()
            self._update(selector, key.fd, key.events, waiters)
        self.waiting -= len(woken)
        self.busy = self.waiting > 0
        return woken

    def poll(self, timeout: float | None) -> None:
        """Refresh ``masks`` (fd -> ready events) without waking anyone: for designs whose
        waiters check for themselves. 0 polls; None blocks until a readiness."""
        selector = self._selector
        self.masks = {} if selector is None else {key.fd: events for key, events in selector.select(timeout)}

    def close(self) -> None:
        if self._selector is not None:
            self._selector.close()
        self._selector = None
        self.waiting = 0
        self.busy = False
        self.masks = {}

    @staticmethod
    def _update(selector: selectors.BaseSelector, fd: int, events: int,
                waiters: tuple[list[T], list[T]]) -> None:
        wanted = (READ if waiters[0] else 0) | (WRITE if waiters[1] else 0)
        if wanted == events:
            return
        if wanted:
            selector.modify(fd, wanted, waiters)
        else:
            selector.unregister(fd)
