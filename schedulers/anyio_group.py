"""``anyio`` and ``anyio-trio``: one anyio task group running every rocket, ``anyio.sleep``.

The workload is written as an anyio user would write it, once, for both backends:
``anyio.run`` a main task that opens a task group and ``start_soon``s one task per rocket,
each sleeping with ``anyio.sleep``. As for ``trio``, the harness hands ``run`` coroutine
objects it already created while ``start_soon`` wants an async function, so each one is
started through ``_await`` (one extra frame per task, none per switch beyond the await
delegation).

``anyio`` runs on the asyncio backend, on the same loop as the ``asyncio`` row (the
selector loop, passed as anyio's ``loop_factory`` so no globally installed policy
changes it); ``anyio-trio`` runs on the trio backend. The difference to the ``asyncio``
and ``trio`` rows is anyio's layer.

How it sleeps: ``anyio.sleep(s)`` looks up the running backend and awaits its sleep:
``asyncio.sleep`` or ``trio.sleep``, so timers, rounding and ``sleep(0)`` are the
backend's own (asyncio: a bare yield for 0, the epoll selector's millisecond timeout
rounded up; trio: a checkpoint for 0, a deadline heap, epoll rounded up). Wakes are late
by up to ~1 ms for sub-millisecond sleeps, never early.

Cost model: the backend's cost plus anyio's: two extra coroutine frames per sleep
(``anyio.sleep`` and the backend class's ``sleep``, with a backend lookup), and a task
group whose tasks each carry anyio's cancel-scope bookkeeping. Each rocket resumes only
~4 times, so the per-task part weighs heavily: on the development VM at 10,000 rockets
``anyio`` cost ~10.6 µs CPU per resume against asyncio's ~2.8, ``anyio-trio`` ~12 µs
against trio's ~5.

Where it breaks down: on asyncio, the loop reads its own clock, so no virtual clock.
On trio the harness clock is handed to ``trio.run`` (anyio's ``backend_options``)
through ``schedulers.trio_loop.HarnessClock``, exactly as the ``trio`` row does, so
``anyio-trio`` runs on the virtual clock too.

``anyio-trio`` needs trio as well as anyio: where trio is missing, loading it raises
the ImportError and the registry lists it as unavailable, while ``anyio`` stays usable.

Readiness: ``anyio.wait_readable``/``wait_writable`` (anyio >= 4.7; the older names
``wait_socket_readable``/``wait_socket_writable`` are deprecated since and used only on an
older anyio). On asyncio they are ``add_reader`` with a Future, as in the ``asyncio`` row,
plus anyio's per-task bookkeeping; on trio, trio's ``wait_readable``/``wait_writable``.

Counters: neither backend counts resumes, so ``run`` returns ``None``.

Echo server (``echo_servers``, one variant per backend): the listener wrapped with
``anyio.abc.SocketListener.from_socket`` and ``listener.serve(handler)``, a task per
connection echoing with ``receive``/``send``; on the asyncio backend on the selector loop
(as ``run``), on trio with trio's own clock. anyio's socket streams set ``TCP_NODELAY``.
"""

from __future__ import annotations

import importlib.metadata
import socket
from collections.abc import Coroutine, Iterable, Mapping
from functools import partial
from typing import Any, ClassVar, Literal, NoReturn

import anyio
import anyio.abc

from schedulers._groups import sole_exception
from schedulers.asyncio_loop import AsyncioScheduler
from schedulers.protocol import Clock, EchoServer

try:  # anyio >= 4.7: any file descriptor or object with fileno()
    from anyio import wait_readable, wait_writable
except ImportError:  # an older anyio (the extra allows >= 4.1): the socket-only names
    from anyio import wait_socket_readable as wait_readable  # type: ignore[assignment]
    from anyio import wait_socket_writable as wait_writable  # type: ignore[assignment]


async def _await(coro: Coroutine[Any, Any, None]) -> None:
    await coro


async def _echo_stream(stream: anyio.abc.SocketStream) -> None:
    async with stream:
        try:
            async for data in stream:  # receive() up to 64 KiB until end of file
                await stream.send(data)
        except anyio.BrokenResourceError:  # reset by the peer: this connection ends
            pass


def serve_echo(backend: str, backend_options: dict[str, Any], listener: socket.socket) -> NoReturn:
    """Echo on ``listener`` until the process is ended: ``SocketListener.serve``."""

    async def main() -> None:
        server = await anyio.abc.SocketListener.from_socket(listener)
        await server.serve(_echo_stream)

    anyio.run(main, backend=backend, backend_options=backend_options)
    raise RuntimeError("anyio's SocketListener.serve returned")


class AnyioScheduler:
    name: ClassVar[str] = "anyio"
    family: ClassVar[str] = "production"
    timer_note: ClassVar[str] = (
        "anyio.sleep is the backend's sleep: asyncio's millisecond rounding (or trio's for anyio-trio)"
    )
    dialect: ClassVar[Literal["async"]] = "async"
    supports_virtual_clock: ClassVar[bool] = False  # the asyncio loop reads its own clock
    version: ClassVar[str] = importlib.metadata.version("anyio")
    backend: ClassVar[str] = "asyncio"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    # The library's own coroutine functions, not wrappers: no extra frame per sleep or wait.
    sleep = staticmethod(anyio.sleep)
    readable = staticmethod(wait_readable)
    writable = staticmethod(wait_writable)

    echo_servers: ClassVar[Mapping[str, EchoServer]] = {
        "default": partial(serve_echo, "asyncio", {"loop_factory": AsyncioScheduler.new_event_loop}),
    }

    def backend_options(self) -> dict[str, Any]:
        return {"loop_factory": AsyncioScheduler.new_event_loop}

    def run(self, coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
        async def main() -> None:
            async with anyio.create_task_group() as tg:
                for coro in coroutines:
                    tg.start_soon(_await, coro)

        try:
            anyio.run(main, backend=self.backend, backend_options=self.backend_options())
        except BaseExceptionGroup as group:
            # The task group wraps a failing rocket's exception in a group; report the
            # exception itself, as asyncio's gather does, when it is the only one.
            raise sole_exception(group) from None
        return None




try:
    from schedulers.trio_loop import HarnessClock
except ImportError as exc:  # trio is not installed: only anyio-trio is unavailable
    _TRIO_MISSING: ImportError | None = exc
else:
    _TRIO_MISSING = None

    class AnyioTrioScheduler(AnyioScheduler):
        """The same task group on anyio's trio backend, on the harness clock."""

        name: ClassVar[str] = "anyio-trio"
        supports_virtual_clock: ClassVar[bool] = True  # through trio_loop.HarnessClock
        backend: ClassVar[str] = "trio"
        version: ClassVar[str] = f"{AnyioScheduler.version} (trio {importlib.metadata.version('trio')})"
        echo_servers: ClassVar[Mapping[str, EchoServer]] = {"default": partial(serve_echo, "trio", {})}

        def backend_options(self) -> dict[str, Any]:
            return {"clock": HarnessClock(self.clock)}


def __getattr__(name: str) -> Any:
    # Reached only for names the module does not define: AnyioTrioScheduler without trio.
    if name == "AnyioTrioScheduler" and _TRIO_MISSING is not None:
        raise ImportError(f"anyio-trio needs trio: {_TRIO_MISSING}") from _TRIO_MISSING
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
