"""``asyncio``: the standard library event loop, as a user of it would write the workload.

How it sleeps: ``asyncio.sleep``; the loop keeps timers in a heap of ``TimerHandle`` and
its selector (epoll on Linux) blocks until the next one. ``sleep(0)`` is special-cased to
a bare yield, one trip through the ready queue.

Cost model: every resume goes through a ``Task.__step`` callback scheduled on the ready
deque (``call_soon``); a timed sleep adds a Future, a ``TimerHandle`` and a heap push.
Each step is C-accelerated but does several times the work of a minimal loop.

Where it breaks down: the epoll selector takes its timeout in whole milliseconds,
rounding up, so sub-millisecond timers are served late by up to ~1 ms; and with 10,000
timers due in a short window the per-wake CPU cost makes the loop CPU-bound.

Readiness (``readable``/``writable``): ``loop.add_reader``/``add_writer`` with a Future
that the callback resolves; the callback also removes the reader, so each wait costs one
registration and one removal in the loop's selector (two ``epoll_ctl`` calls on the
selector loop) and the socket is never reported again for nobody. Shared with ``uvloop``
and ``rloop``, whose loops implement the same two methods natively.

Counters: asyncio does not count resumes and counting them would need a wrapper on every
step, so ``run`` returns ``None`` and the harness validates the trace alone.

Echo servers (``echo_servers``, the optional member of ``schedulers.protocol``), two
variants because asyncio has two natural server APIs and they cost differently:
``"streams"``, ``asyncio.start_server`` with a ``StreamReader``/``StreamWriter`` per
connection (a Task each: ``read`` up to 64 KiB, ``write``, ``await drain()``), and
``"protocol"``, ``loop.create_server`` with a ``Protocol`` whose ``data_received`` calls
``transport.write`` (callbacks, no Task, no await). ``asyncio_echo_servers`` builds both
for any loop factory: ``uvloop`` and ``rloop`` use it with theirs. Both set ``TCP_NODELAY``
on every connection: the selector loop sets it only when the socket's ``proto`` is
``IPPROTO_TCP``, and a listener made with ``socket.socket(AF_INET, SOCK_STREAM)`` has
``proto`` 0, as do the connections it accepts (uvloop and rloop set it regardless).
"""

from __future__ import annotations

import asyncio
import platform
import socket
from collections.abc import Callable, Coroutine, Iterable, Mapping
from functools import partial
from typing import Any, ClassVar, Final, Literal, NoReturn

from schedulers.protocol import ECHO_BACKLOG, Clock, EchoServer

# Why add_reader and not the loop's socket methods: ``sock_recv``, ``sock_sendall`` and
# ``sock_accept`` *do* the I/O and hand back its result, while the contract awaits
# readiness alone and leaves the reading to the task; they would also consume the data
# the task is about to read. Internally they wait exactly this way (try the call, and on
# BlockingIOError ``add_reader`` with a Future), so this is the loop's own mechanism with
# nothing done for the task. ``add_reader`` is asyncio's public readiness API on every
# loop that implements it (the selector loop, uvloop, rloop; not the Windows proactor).


def _ready(remove: Callable[[int], bool], fd: int, future: asyncio.Future[None]) -> None:
    # Removed at once, not when the task resumes one loop iteration later: until then a
    # level-triggered selector would report the socket again on every poll, for nobody.
    remove(fd)
    if not future.done():  # the waiting task was cancelled meanwhile
        future.set_result(None)


async def wait_readable(sock: socket.socket) -> None:
    """Suspend the calling task until its loop's selector reports ``sock`` readable."""
    loop = asyncio.get_running_loop()
    fd = sock.fileno()
    future: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, _ready, loop.remove_reader, fd, future)
    try:
        await future
    finally:
        if future.cancelled():  # the callback never ran, so the reader is still there
            loop.remove_reader(fd)


async def wait_writable(sock: socket.socket) -> None:
    """Suspend the calling task until its loop's selector reports ``sock`` writable."""
    loop = asyncio.get_running_loop()
    fd = sock.fileno()
    future: asyncio.Future[None] = loop.create_future()
    loop.add_writer(fd, _ready, loop.remove_writer, fd, future)
    try:
        await future
    finally:
        if future.cancelled():
            loop.remove_writer(fd)


# ---- TCP echo servers (``echo_servers``) -----------------------------------------------

#: Bytes a stream handler reads at a time.
ECHO_CHUNK: Final = 65536

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


def _no_delay(transport: asyncio.BaseTransport) -> None:
    """``TCP_NODELAY`` on the connection (see the module docstring): once per connection."""
    transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def echo_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One connection, the streams way: read, write, wait until the buffer has drained."""
    _no_delay(writer.transport)
    try:
        while data := await reader.read(ECHO_CHUNK):
            writer.write(data)
            await writer.drain()
    except ConnectionError:  # reset by the peer: this connection ends
        pass
    finally:
        writer.close()


class EchoProtocol(asyncio.Protocol):
    """One connection, the protocol way: every chunk written back from ``data_received``.
    At end of file ``eof_received`` returns None and the transport closes itself."""

    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream server's: a Transport
        _no_delay(transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


def _serve_forever(loop_factory: LoopFactory, main: Coroutine[Any, Any, None]) -> NoReturn:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main)
    raise RuntimeError("the echo server's loop stopped serving")


def serve_streams(loop_factory: LoopFactory, listener: socket.socket,
                  handler: StreamHandler = echo_stream) -> NoReturn:
    """Echo on ``listener`` with ``asyncio.start_server`` on a loop from ``loop_factory``."""

    async def main() -> None:
        # backlog: the server calls listen() again; keep the harness's. start_serving=False:
        # serve_forever starts it (rloop 0.5 loses the listener when both do).
        server = await asyncio.start_server(handler, sock=listener, backlog=ECHO_BACKLOG, start_serving=False)
        await server.serve_forever()

    _serve_forever(loop_factory, main())


def serve_protocol(loop_factory: LoopFactory, listener: socket.socket,
                   protocol: type[EchoProtocol] = EchoProtocol) -> NoReturn:
    """Echo on ``listener`` with ``loop.create_server`` and ``protocol``."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol, sock=listener, backlog=ECHO_BACKLOG,
                                          start_serving=False)  # as in serve_streams
        await server.serve_forever()

    _serve_forever(loop_factory, main())


def asyncio_echo_servers(loop_factory: LoopFactory) -> dict[str, EchoServer]:
    """Both variants, ``"streams"`` and ``"protocol"``, on loops from ``loop_factory``."""
    return {"streams": partial(serve_streams, loop_factory), "protocol": partial(serve_protocol, loop_factory)}


class AsyncioScheduler:
    name: ClassVar[str] = "asyncio"
    family: ClassVar[str] = "production"
    timer_note: ClassVar[str] = (
        "the selector's timeout is rounded up to whole milliseconds: a sleep under 1 ms wakes about 1 ms "
        "late; never early"
    )
    version: ClassVar[str] = platform.python_version()
    dialect: ClassVar[Literal["async"]] = "async"
    supports_virtual_clock: ClassVar[bool] = False  # the loop reads its own clock

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    # The library's own coroutine function, not a wrapper: no extra frame per sleep.
    sleep = staticmethod(asyncio.sleep)
    # asyncio has no "wait until readable" coroutine of its own: the two above, one frame.
    readable = staticmethod(wait_readable)
    writable = staticmethod(wait_writable)

    # An explicit loop factory: the result must not depend on a globally installed
    # policy (uvloop's, for instance). Subclasses on the asyncio API swap only this.
    @staticmethod
    def new_event_loop() -> asyncio.AbstractEventLoop:
        return asyncio.SelectorEventLoop()

    # The TCP echo servers, on the same loop (the module docstring has the variants).
    echo_servers: ClassVar[Mapping[str, EchoServer]] = asyncio_echo_servers(asyncio.SelectorEventLoop)

    def run(self, coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
        async def main() -> None:
            await asyncio.gather(*coroutines)

        with asyncio.Runner(loop_factory=self.new_event_loop) as runner:
            runner.run(main())
        return None
