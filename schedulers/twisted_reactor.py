"""``twisted``: Twisted's reactor running every rocket as a coroutine on Deferreds.

The workload is written as a Twisted user would write it with async/await: each rocket
coroutine awaits ``task.deferLater(reactor, seconds)`` and is wrapped with
``Deferred.fromCoroutine``; ``defer.gatherResults`` joins them and the reactor runs
until that Deferred fires, then stops. ``task.react`` is not used: it calls
``sys.exit``. ``run`` starts the rockets from ``reactor.callWhenRunning``, so they start
inside the running reactor as they would in an application.

How it sleeps: ``deferLater`` creates a Deferred and a ``DelayedCall`` at
``reactor.seconds() + delay`` (``callLater``). New delayed calls are pushed on the
reactor's heap at the start of its next iteration, and each iteration fires every call
whose time is ``<= reactor.seconds()``, so ``deferLater(0)`` suspends the rocket exactly
once: it resumes in the next iteration, never in the one that scheduled it. The reactor
(epoll on Linux) blocks for the time to the earliest call; ``select.epoll.poll`` rounds
that timeout up to whole milliseconds, so sub-millisecond sleeps wake up to ~1 ms late.

Time: the reactor's clock is ``reactor.seconds``, which is ``time.time``: the *wall*
clock, not the monotonic clock (``time.perf_counter``) the harness measures lateness
with. The two advance at the same rate (NTP slews both), so lateness is measured
correctly unless the wall clock is *stepped* during a run: a step forward fires timers
early on the monotonic clock (counted as early wakes, status EARLY), a step back makes
them late by the step. ``time.time`` is a double near 1.8·10⁹, so deadlines are
quantised to ~0.24 µs; the rocket's own deadline is read microseconds earlier, which
hides that. The reactor cannot be handed another clock, so no virtual clock.

Cost model: every resume goes through Twisted's Deferred callback chain and the
``inlineCallbacks`` driver behind ``fromCoroutine``, all pure Python, plus a
``DelayedCall`` object and a heap push per sleep, even a zero one. The highest switch
cost of the real loops here: ~16 µs CPU per resume at 10,000 rockets on the development
VM (asyncio: ~2.8 µs).

Where it breaks down: the global reactor can run only once per process
(``ReactorNotRestartable``), so this class declares ``one_run_per_process``: the harness
must give every run a fresh process and cannot warm up. A second ``run`` in one process
raises at once instead of hanging. Signal handlers are not installed
(``installSignalHandlers=False``): the harness owns the process's signals (its run time
limit uses SIGALRM and Ctrl-C must stop the suite).

Importing this module does not install a reactor; building the scheduler imports
``twisted.internet.reactor``, which installs the platform default unless the process
installed another one first.

Readiness: ``readable(sock)``/``writable(sock)`` return a Deferred the rocket awaits. The
socket is handed to the reactor with ``addReader``/``addWriter`` as an ``IReadDescriptor``/
``IWriteDescriptor`` whose ``doRead``/``doWrite`` removes itself and fires the Deferred, so
the rocket resumes inside the reactor's dispatch, as a Protocol's ``dataReceived`` would
run. The epoll reactor keeps *one* selectable per descriptor for both directions, so both
waits on a socket share one descriptor object (``_SocketWaits``); a hang-up or error
reaches it as ``connectionLost``, which fires both waits (the socket's next call returns
the end of file or the error). Each wait costs a registration and a removal
(``epoll_ctl``), as in asyncio.

Counters: the reactor does not count resumes, so ``run`` returns ``None``.

Echo server (``echo_servers``, one variant): an ``EchoProtocol`` whose ``dataReceived``
writes the data back (the transport buffers what the socket does not take), served with
``reactor.adoptStreamPort(listener.fileno(), AF_INET, factory)`` and ``reactor.run``
without signal handlers, so SIGTERM ends the process. Twisted leaves ``TCP_NODELAY`` off:
``connectionMade`` sets it.
"""

from __future__ import annotations

import importlib.metadata
import socket
from collections.abc import Coroutine, Iterable, Mapping
from functools import partial
from typing import Any, ClassVar, Literal, NoReturn

from twisted.internet import defer, task
from twisted.internet.defer import Deferred
from twisted.internet.error import ReactorNotRestartable
from twisted.internet.interfaces import IReadDescriptor, IWriteDescriptor
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from zope.interface import implementer  # type: ignore[import-untyped]  # no stubs or py.typed

from schedulers.protocol import Clock, EchoServer


@implementer(IReadDescriptor, IWriteDescriptor)
class _SocketWaits:
    """The reactor's view of one socket tasks wait on: at most one read and one write wait.

    One object for both directions because the epoll reactor files a single selectable
    per file descriptor: a separate reader and writer for one socket would replace each
    other there.
    """

    __slots__ = ("fd", "reactor", "reading", "sock", "table", "writing")

    def __init__(self, reactor: Any, sock: socket.socket, table: dict[int, _SocketWaits]) -> None:
        self.reactor = reactor
        self.sock = sock
        self.fd = sock.fileno()
        self.table = table  # the scheduler's fd -> _SocketWaits, left when no wait remains
        self.reading: Deferred[None] | None = None
        self.writing: Deferred[None] | None = None

    def fileno(self) -> int:
        return self.sock.fileno()  # -1 once closed: the reactor then drops this selectable

    def logPrefix(self) -> str:
        return "schedbench-readiness"

    def doRead(self) -> None:
        waiter, self.reading = self.reading, None
        # Removed before the rocket resumes: it runs inside this call and may wait again.
        self.reactor.removeReader(self)
        self._forget_if_idle()
        if waiter is not None:
            waiter.callback(None)

    def doWrite(self) -> None:
        waiter, self.writing = self.writing, None
        self.reactor.removeWriter(self)
        self._forget_if_idle()
        if waiter is not None:
            waiter.callback(None)

    def connectionLost(self, reason: Failure) -> None:
        # Hang-up or error, reported by the reactor after it removed this selectable: the
        # socket is "ready" both ways (its next call returns the end of file or the error).
        waiters = [w for w in (self.reading, self.writing) if w is not None]
        self.reading = self.writing = None
        self._forget_if_idle()
        for waiter in waiters:
            waiter.callback(None)

    def _forget_if_idle(self) -> None:
        if self.reading is None and self.writing is None and self.table.get(self.fd) is self:
            del self.table[self.fd]


class EchoProtocol(Protocol):
    """One connection: every chunk the reactor reads is written back."""

    transport: Any  # a TCP transport once connected (the stubs: Optional[ITransport])

    def connectionMade(self) -> None:
        self.transport.setTcpNoDelay(True)

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


def serve_echo(listener: socket.socket) -> NoReturn:
    """Echo on ``listener`` until the process is ended: the reactor adopts the socket."""
    from twisted.internet import reactor as installed  # installs the default reactor if none is

    reactor: Any = installed  # zope interfaces: what mypy sees of it is not what it is
    reactor.adoptStreamPort(listener.fileno(), socket.AF_INET, Factory.forProtocol(EchoProtocol))
    reactor.run(installSignalHandlers=False)
    raise RuntimeError("Twisted's reactor stopped serving echo")


class ReactorAlreadyRan(RuntimeError):
    """A second ``run`` in one process: Twisted's reactor cannot be restarted."""


class TwistedScheduler:
    name: ClassVar[str] = "twisted"
    family: ClassVar[str] = "production"
    timer_note: ClassVar[str] = (
        "deadlines on time.time (the wall clock): a step of the system clock makes wakes early or late; the "
        "epoll timeout is rounded up to ms"
    )
    dialect: ClassVar[Literal["async"]] = "async"
    supports_virtual_clock: ClassVar[bool] = False  # the reactor reads time.time itself
    one_run_per_process: ClassVar[bool] = True  # the reactor cannot be restarted
    version: ClassVar[str] = importlib.metadata.version("twisted")
    echo_servers: ClassVar[Mapping[str, EchoServer]] = {"default": serve_echo}

    def __init__(self, clock: Clock) -> None:
        from twisted.internet import reactor  # installs the default reactor if none is

        self.clock = clock
        self._reactor: Any = reactor
        self._waits: dict[int, _SocketWaits] = {}  # fd -> the sockets tasks wait on now
        # Twisted's own function with the reactor bound: no frame of ours per sleep.
        self.sleep = partial(task.deferLater, reactor)  # type: ignore[method-assign]

    def sleep(self, seconds: float) -> Deferred[None]:
        """``deferLater(reactor, seconds)``; each instance replaces it with a ``partial``."""
        return task.deferLater(self._reactor, seconds)

    def readable(self, sock: socket.socket) -> Deferred[None]:
        """A Deferred that fires when the reactor sees ``sock`` readable: ``await`` it."""
        waits = self._waits_for(sock)
        if waits.reading is not None:
            raise RuntimeError(f"another task already waits for fd {waits.fd} to be readable")
        waiter: Deferred[None] = Deferred()
        waits.reading = waiter
        self._reactor.addReader(waits)
        return waiter

    def writable(self, sock: socket.socket) -> Deferred[None]:
        """A Deferred that fires when the reactor sees ``sock`` writable: ``await`` it."""
        waits = self._waits_for(sock)
        if waits.writing is not None:
            raise RuntimeError(f"another task already waits for fd {waits.fd} to be writable")
        waiter: Deferred[None] = Deferred()
        waits.writing = waiter
        self._reactor.addWriter(waits)
        return waiter

    def _waits_for(self, sock: socket.socket) -> _SocketWaits:
        table = self._waits
        waits = table.get(sock.fileno())
        if waits is not None and waits.sock is sock:
            return waits
        if waits is not None:
            # The descriptor number was reused: the socket waited on before was closed while
            # a task still waited on it. Its selectable must go, or the reactor, which files
            # one per number, would keep dispatching this socket's events to it.
            self._reactor.removeReader(waits)
            self._reactor.removeWriter(waits)
        waits = table[sock.fileno()] = _SocketWaits(self._reactor, sock, table)
        return waits

    def run(self, coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
        reactor = self._reactor
        failures: list[BaseException] = []

        def stop(result: object) -> None:
            if isinstance(result, Failure):
                failures.append(_first_exception(result))
            reactor.stop()

        def start() -> None:
            try:
                rockets = [Deferred.fromCoroutine(coro) for coro in coroutines]
                defer.gatherResults(rockets, consumeErrors=True).addBoth(stop)
            except BaseException as exc:
                # Raised here, the reactor would only log it and the run would hang.
                failures.append(exc)
                reactor.stop()

        reactor.callWhenRunning(start)
        try:
            reactor.run(installSignalHandlers=False)
        except ReactorNotRestartable:
            raise ReactorAlreadyRan(
                "Twisted's reactor already ran in this process and cannot be restarted "
                "(one_run_per_process: give every run a fresh process)"
            ) from None
        if failures:
            raise failures[0]
        return None


def _first_exception(failure: Failure) -> BaseException:
    """The exception of the first rocket that failed, unwrapped from ``FirstError``."""
    value = failure.value
    if isinstance(value, defer.FirstError):
        value = value.subFailure.value
    assert value is not None
    return value
