"""A TCP echo server on any scheduler's own ``readable``/``writable`` and ``run``.

For the designs with no server API of their own (``listscan``, ``busywait``, ``heapq``,
``deque``, ``hybrid``): ``run(coroutines)`` takes a fixed list and nothing can spawn, so
the server is a *pool* of ``handlers`` tasks (default 256: 100 connections and slack),
each an endless loop: take a connection, echo it until end of file, close it, take the
next. ``run(pool)`` therefore never returns. Written once per dialect, like the rocket
bodies (``yield from``, ``await``, a plain call); keep the three in lockstep.

Who accepts: leader and followers. The contract lets one task at a time wait for each
direction of a socket (the ``hybrid`` and trio refuse a second waiter), so exactly one
idle handler, the *acceptor*, waits for the listener to be readable. The other idle
handlers are *followers*, each waiting for its own *bell* to be readable. When the
acceptor has a connection it rings the most recent follower (one byte on the bell), which
becomes the acceptor, and serves the connection itself. A handler that finishes a
connection becomes the acceptor when there is none (every handler was busy), and a
follower otherwise. So an accepted connection costs one byte through a bell and one
wake, and no task is woken for a connection another one got: no thundering herd.

A bell is one end of a ``socket.socketpair()``; the handler that owns it waits on its
reading side, and ringing it sends a byte from the other end. Each end of a pair is a
bell for one handler (ringing a handler writes into its partner's bell, which only that
partner reads), so a pool of K handlers needs K descriptors for its bells, made the first
time a handler becomes a follower.

Each connection: non-blocking, ``TCP_NODELAY`` set (the echo contract); wait until
readable, ``recv`` up to 64 KiB, ``send`` it back, and when the send buffer is full, wait
until writable and send the rest; a spurious wake (``BlockingIOError``) just waits again.
End of file, or a reset by the peer, closes the connection; any other error ends the
server with it (``run`` raises), which the harness reports.

The scheduler is built with a real clock of this module (the harness's clocks live in
``bench``, which schedulers never import): ``time.perf_counter`` and ``time.sleep``.
"""

from __future__ import annotations

import errno
import functools
import socket
import time
from collections.abc import Callable, Generator
from typing import Any, Final, NoReturn

from schedulers.protocol import EchoServer

#: Handler tasks in a pool: connections served at once (more wait in the backlog).
DEFAULT_HANDLERS: Final = 256

#: Bytes read per ``recv``.
CHUNK: Final = 65536

#: How long an acceptor waits before accepting again when the process or the system is
#: out of descriptors or memory (accept fails, but the listener stays readable).
BACKOFF_S: Final = 0.05

#: ``accept`` errors that mean "try again later", not "this server is broken".
_EXHAUSTED: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

Wait = Callable[[socket.socket], Any]


class RealClock:
    """The real clock of the scheduler contract: ``time.perf_counter`` and ``time.sleep``."""

    __slots__ = ()

    now = staticmethod(time.perf_counter)

    @staticmethod
    def wait(seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class Pool:
    """What the handlers of one server share: the listener, whether it has its acceptor,
    the idle followers, and the bells."""

    __slots__ = ("accepting", "bells", "followers", "listener", "ringers")

    def __init__(self, listener: socket.socket, handlers: int) -> None:
        self.listener = listener
        self.accepting = False  # some handler waits on the listener, or has been rung to
        self.followers: list[int] = []  # idle handlers waiting on their bells, a stack
        self.bells: list[socket.socket | None] = [None] * handlers  # handler -> socket it waits on
        self.ringers: list[socket.socket | None] = [None] * handlers  # handler -> socket to ring it

    def bell(self, me: int) -> socket.socket:
        """Handler ``me``'s bell, and its partner's, made at the first call of either."""
        bell = self.bells[me]
        if bell is None:
            bell, ringer = socket.socketpair()
            bell.setblocking(False)
            ringer.setblocking(False)
            self.bells[me], self.ringers[me] = bell, ringer
            partner = me ^ 1  # 0 and 1 share a pair, 2 and 3, ...
            if partner < len(self.bells):  # the other end is the partner's bell, rung from this one
                self.bells[partner], self.ringers[partner] = ringer, bell
        return bell

    def follow(self, me: int) -> socket.socket:
        """Become a follower: the bell to wait on until rung."""
        self.followers.append(me)
        return self.bell(me)

    def hand_over(self) -> None:
        """The acceptor got a connection: ring the next acceptor, or leave the post open."""
        if self.followers:
            self.ringers[self.followers.pop()].send(b"\0")  # type: ignore[union-attr]  # made by follow
        else:
            self.accepting = False  # every handler is busy: the first one free takes it

    def close(self) -> None:
        for sock in self.bells + self.ringers:  # closing twice is harmless
            if sock is not None:
                sock.close()


def accept(listener: socket.socket) -> socket.socket | float | None:
    """One non-blocking ``accept``: the connection, ready to serve; None when there was
    none after all (another process took it, or the client gave up); ``BACKOFF_S`` when
    out of descriptors or memory."""
    try:
        conn, _ = listener.accept()
    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
        return None
    except OSError as exc:
        if exc.errno in _EXHAUSTED:
            return BACKOFF_S
        raise
    conn.setblocking(False)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _rung(bell: socket.socket) -> bool:
    try:
        return bool(bell.recv(16))
    except BlockingIOError:  # a spurious wake: not rung yet
        return False


# ---- generator dialect ------------------------------------------------------------------

def handler_gen(pool: Pool, me: int, readable: Wait, writable: Wait,
                sleep: Callable[[float], Any]) -> Generator[Any, Any, None]:
    listener = pool.listener
    while True:
        if pool.accepting:  # another handler accepts: wait to be handed the listener
            bell = pool.follow(me)
            yield from readable(bell)
            while not _rung(bell):
                yield from readable(bell)
        else:
            pool.accepting = True
        while True:
            yield from readable(listener)
            conn = accept(listener)
            if isinstance(conn, socket.socket):
                break
            if conn is not None:  # out of descriptors or memory: wait a little
                yield from sleep(conn)
        pool.hand_over()
        yield from echo_gen(conn, readable, writable)


def echo_gen(conn: socket.socket, readable: Wait, writable: Wait) -> Generator[Any, Any, None]:
    recv, send = conn.recv, conn.send
    try:
        while True:
            yield from readable(conn)
            try:
                data = recv(CHUNK)
            except BlockingIOError:
                continue
            if not data:
                return
            try:
                sent = send(data)
            except BlockingIOError:
                sent = 0
            if sent < len(data):  # the send buffer is full: the rest as room appears
                view = memoryview(data)[sent:]
                while view:
                    yield from writable(conn)
                    try:  # noqa: SIM105 - a try costs nothing here; contextlib.suppress costs a call
                        view = view[send(view):]
                    except BlockingIOError:
                        pass
    except (ConnectionError, TimeoutError):  # reset by the peer: this connection ends
        return
    finally:
        conn.close()


# ---- async dialect ----------------------------------------------------------------------

async def handler_async(pool: Pool, me: int, readable: Wait, writable: Wait,
                        sleep: Callable[[float], Any]) -> None:
    listener = pool.listener
    while True:
        if pool.accepting:
            bell = pool.follow(me)
            await readable(bell)
            while not _rung(bell):
                await readable(bell)
        else:
            pool.accepting = True
        while True:
            await readable(listener)
            conn = accept(listener)
            if isinstance(conn, socket.socket):
                break
            if conn is not None:  # out of descriptors or memory: wait a little
                await sleep(conn)
        pool.hand_over()
        await echo_async(conn, readable, writable)


async def echo_async(conn: socket.socket, readable: Wait, writable: Wait) -> None:
    recv, send = conn.recv, conn.send
    try:
        while True:
            await readable(conn)
            try:
                data = recv(CHUNK)
            except BlockingIOError:
                continue
            if not data:
                return
            try:
                sent = send(data)
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                view = memoryview(data)[sent:]
                while view:
                    await writable(conn)
                    try:  # noqa: SIM105 - as in echo_gen
                        view = view[send(view):]
                    except BlockingIOError:
                        pass
    except (ConnectionError, TimeoutError):
        return
    finally:
        conn.close()


# ---- greenlet dialect -------------------------------------------------------------------

def handler_greenlet(pool: Pool, me: int, readable: Wait, writable: Wait,
                     sleep: Callable[[float], Any]) -> None:
    listener = pool.listener
    while True:
        if pool.accepting:
            bell = pool.follow(me)
            readable(bell)
            while not _rung(bell):
                readable(bell)
        else:
            pool.accepting = True
        while True:
            readable(listener)
            conn = accept(listener)
            if isinstance(conn, socket.socket):
                break
            if conn is not None:  # out of descriptors or memory: wait a little
                sleep(conn)
        pool.hand_over()
        echo_greenlet(conn, readable, writable)


def echo_greenlet(conn: socket.socket, readable: Wait, writable: Wait) -> None:
    recv, send = conn.recv, conn.send
    try:
        while True:
            readable(conn)
            try:
                data = recv(CHUNK)
            except BlockingIOError:
                continue
            if not data:
                return
            try:
                sent = send(data)
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                view = memoryview(data)[sent:]
                while view:
                    writable(conn)
                    try:  # noqa: SIM105 - as in echo_gen
                        view = view[send(view):]
                    except BlockingIOError:
                        pass
    except (ConnectionError, TimeoutError):
        return
    finally:
        conn.close()


# ---- the server -------------------------------------------------------------------------

def serve_pool(cls: Any, listener: socket.socket, handlers: int = DEFAULT_HANDLERS) -> NoReturn:
    """Serve echo on ``listener`` with ``handlers`` tasks on a new ``cls(RealClock())``,
    until the process is ended; raises if ``run`` ever returns."""
    if handlers < 1:
        raise ValueError(f"an echo pool needs at least one handler, got {handlers}")
    listener.setblocking(False)
    scheduler = cls(RealClock())
    pool = Pool(listener, handlers)
    args = (scheduler.readable, scheduler.writable, scheduler.sleep)
    tasks: list[Any]
    if cls.dialect == "generator":
        tasks = [handler_gen(pool, me, *args) for me in range(handlers)]
    elif cls.dialect == "async":
        tasks = [handler_async(pool, me, *args) for me in range(handlers)]
    else:  # greenlet: unstarted zero-argument callables
        tasks = [functools.partial(handler_greenlet, pool, me, *args) for me in range(handlers)]
    try:
        scheduler.run(tasks)
    finally:
        pool.close()
    raise RuntimeError(f"{cls.__name__}.run returned while serving echo: its handlers never end")


def pool_echo_servers(cls: Any, handlers: int = DEFAULT_HANDLERS) -> dict[str, EchoServer]:
    """``echo_servers`` for a scheduler class with readiness primitives: one variant,
    ``"default"``, a pool of ``handlers`` tasks on ``cls``'s own ``run``."""
    return {"default": functools.partial(serve_pool, cls, handlers=handlers)}
