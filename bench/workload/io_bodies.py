"""The io mode's rocket bodies: a client and a server per dialect, talking over one socket.

A pair of rockets shares a ``socket.socketpair()`` (non-blocking): the even rocket is the
*client*, which sends each message, waits until its socket is readable and reads the whole
echo, then closes; the odd rocket is the *server*, which waits until readable, reads a whole
message, sends it back, and ends when it reads the end of the stream. Every suspension is a
readiness wait through the scheduler's ``readable``/``writable``; there are no timers.

What the bodies record, as in the timer workload, is the minimum the validation needs,
built ahead of time: the client records its event ``(index, k + 1)`` when echo ``k`` came back
intact (``(index, -(k + 1))`` when it did not), the server records ``(index, k + 1)`` for each
message it echoed, and both record ``(index, 0)`` when done. A resume through ``readable`` or
``writable`` after which the socket still has nothing to read (or no room to write) is a
*spurious wake*: recorded in ``spurious`` and waited again, never an error.

``writable`` is needed only when a message does not fit the socket's buffer; with the
default one-byte messages every ``send`` completes at once. Spurious wakes are counted on
the reading side only: a ``send`` that finds the buffer full is not told apart from one
that was never woken. Keep the six functions in
lockstep: they are the workload. Each runs inside ``try``/``except BaseException`` that
records its rocket in ``abort`` (the proof of work, as in ``bench.workload.bodies``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Coroutine, Generator
from typing import Any

Record = Callable[[tuple[int, int]], None]
Wait = Callable[[socket.socket], Any]
Event = tuple[int, int]


# ---- generator dialect --------------------------------------------------------------------

def io_client_gen(sock: socket.socket, payloads: tuple[bytes, ...], events: tuple[Event, ...], launch: Event,
                  readable: Wait, writable: Wait, record: Record, spurious: Record,
                  abort: Record) -> Generator[Any, Any, None]:
    try:
        send, recv = sock.send, sock.recv
        for payload, event in zip(payloads, events, strict=True):
            view = memoryview(payload)
            while True:
                try:  # noqa: SIM105 - a try costs nothing here; contextlib.suppress costs a call per send
                    view = view[send(view):]
                except BlockingIOError:
                    pass  # the buffer is full: wait until there is room
                if not view:
                    break
                yield from writable(sock)
            size, echo = len(payload), b""
            while len(echo) < size:
                yield from readable(sock)
                try:
                    chunk = recv(size - len(echo))
                except BlockingIOError:
                    spurious(launch)
                    continue
                if not chunk:
                    break
                echo += chunk
            record(event if echo == payload else (event[0], -event[1]))
        sock.close()
        record(launch)
    except BaseException:  # closed, thrown into or failed before it launched: not run to its end
        abort(launch)
        raise


def io_server_gen(sock: socket.socket, size: int, events: tuple[Event, ...], launch: Event,
                  readable: Wait, writable: Wait, record: Record, spurious: Record,
                  abort: Record) -> Generator[Any, Any, None]:
    try:
        send, recv = sock.send, sock.recv
        k = 0
        while True:
            message = b""
            while len(message) < size:
                yield from readable(sock)
                try:
                    chunk = recv(size - len(message))
                except BlockingIOError:
                    spurious(launch)
                    continue
                if not chunk:
                    break
                message += chunk
            if not message:
                break
            view = memoryview(message)
            while True:
                try:  # noqa: SIM105 - a try costs nothing here; contextlib.suppress costs a call per send
                    view = view[send(view):]
                except BlockingIOError:
                    pass  # the buffer is full: wait until there is room
                if not view:
                    break
                yield from writable(sock)
            record(events[k] if k < len(events) else (launch[0], k + 1))
            k += 1
        sock.close()
        record(launch)
    except BaseException:
        abort(launch)
        raise


# ---- async dialect --------------------------------------------------------------------------

async def io_client_async(sock: socket.socket, payloads: tuple[bytes, ...], events: tuple[Event, ...],
                          launch: Event, readable: Wait, writable: Wait, record: Record, spurious: Record,
                          abort: Record) -> None:
    try:
        send, recv = sock.send, sock.recv
        for payload, event in zip(payloads, events, strict=True):
            view = memoryview(payload)
            while True:
                try:  # noqa: SIM105 - a try costs nothing here; contextlib.suppress costs a call per send
                    view = view[send(view):]
                except BlockingIOError:
                    pass  # the buffer is full: wait until there is room
                if not view:
                    break
                await writable(sock)
            size, echo = len(payload), b""
            while len(echo) < size:
                await readable(sock)
                try:
                    chunk = recv(size - len(echo))
                except BlockingIOError:
                    spurious(launch)
                    continue
                if not chunk:
                    break
                echo += chunk
            record(event if echo == payload else (event[0], -event[1]))
        sock.close()
        record(launch)
    except BaseException:
        abort(launch)
        raise


async def io_server_async(sock: socket.socket, size: int, events: tuple[Event, ...], launch: Event,
                          readable: Wait, writable: Wait, record: Record, spurious: Record,
                          abort: Record) -> None:
    try:
        send, recv = sock.send, sock.recv
        k = 0
        while True:
            message = b""
            while len(message) < size:
                await readable(sock)
                try:
                    chunk = recv(size - len(message))
                except BlockingIOError:
                    spurious(launch)
                    continue
                if not chunk:
                    break
                message += chunk
            if not message:
                break
            view = memoryview(message)
            while True:
                try:  # noqa: SIM105 - a try costs nothing here; contextlib.suppress costs a call per send
                    view = view[send(view):]
                except BlockingIOError:
                    pass  # the buffer is full: wait until there is room
                if not view:
                    break
                await writable(sock)
            record(events[k] if k < len(events) else (launch[0], k + 1))
            k += 1
        sock.close()
        record(launch)
    except BaseException:
        abort(launch)
        raise


# ---- greenlet dialect -----------------------------------------------------------------------

def io_client_greenlet(sock: socket.socket, payloads: tuple[bytes, ...], events: tuple[Event, ...],
                       launch: Event, readable: Wait, writable: Wait, record: Record, spurious: Record,
                       abort: Record) -> None:
    try:
        send, recv = sock.send, sock.recv
        for payload, event in zip(payloads, events, strict=True):
            view = memoryview(payload)
            while True:
                try:  # noqa: SIM105 - a try costs nothing here; contextlib.suppress costs a call per send
                    view = view[send(view):]
                except BlockingIOError:
                    pass  # the buffer is full: wait until there is room
                if not view:
                    break
                writable(sock)
            size, echo = len(payload), b""
            while len(echo) < size:
                readable(sock)
                try:
                    chunk = recv(size - len(echo))
                except BlockingIOError:
                    spurious(launch)
                    continue
                if not chunk:
                    break
                echo += chunk
            record(event if echo == payload else (event[0], -event[1]))
        sock.close()
        record(launch)
    except BaseException:
        abort(launch)
        raise


def io_server_greenlet(sock: socket.socket, size: int, events: tuple[Event, ...], launch: Event,
                       readable: Wait, writable: Wait, record: Record, spurious: Record, abort: Record) -> None:
    try:
        send, recv = sock.send, sock.recv
        k = 0
        while True:
            message = b""
            while len(message) < size:
                readable(sock)
                try:
                    chunk = recv(size - len(message))
                except BlockingIOError:
                    spurious(launch)
                    continue
                if not chunk:
                    break
                message += chunk
            if not message:
                break
            view = memoryview(message)
            while True:
                try:  # noqa: SIM105 - a try costs nothing here; contextlib.suppress costs a call per send
                    view = view[send(view):]
                except BlockingIOError:
                    pass  # the buffer is full: wait until there is room
                if not view:
                    break
                writable(sock)
            record(events[k] if k < len(events) else (launch[0], k + 1))
            k += 1
        sock.close()
        record(launch)
    except BaseException:
        abort(launch)
        raise


Body = Callable[..., Generator[Any, Any, None] | Coroutine[Any, Any, None] | None]
#: dialect → (client body, server body)
IO_BODIES: dict[str, tuple[Body, Body]] = {
    "generator": (io_client_gen, io_server_gen),
    "async": (io_client_async, io_server_async),
    "greenlet": (io_client_greenlet, io_server_greenlet),
}
