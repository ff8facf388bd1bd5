"""``gevent``: one greenlet per rocket on gevent's hub, ``gevent.sleep`` as the sleep.

The workload is written as a gevent user would write it: ``gevent.spawn`` each rocket,
``gevent.joinall`` them. gevent is *stackful*: the rocket is the greenlet dialect's plain
function (see ``bench.workload.bodies``), and ``gevent.sleep`` is an ordinary blocking
call that switches from the rocket's stack to the hub's and back. No coroutine objects,
no ``await``.

How it sleeps: ``gevent.sleep(0)`` queues the sleeper's ``switch`` with
``loop.run_callback`` and switches to the hub, which runs its callback queue (FIFO) and
switches back: exactly one suspension per zero sleep, the same trip ``gevent.spawn``'s
start takes. ``gevent.sleep(s)`` for ``s > 0`` refreshes the loop's cached time
(``loop.update_now()``), starts a loop timer and switches to the hub until it fires.

The loop under the hub is libev on Linux and macOS (gevent's default, the Cython
``libev-cext`` build) and libuv on Windows:

* libev keeps timer deadlines as doubles on CLOCK_MONOTONIC (the clock
  ``time.perf_counter`` reads) and fires a timer only once the refreshed loop time has
  passed it, so wakes are never early; it hands epoll a timeout in milliseconds rounded
  up, and never less than 1 ms (``backend_mintime``), so sub-millisecond sleeps wake up
  to ~1 ms late. ``loop.now()`` itself reports wall time (``ev_now``), not the clock the
  timers run on.
* libuv (``GEVENT_LOOP=libuv``, the Windows default) keeps loop time in whole
  milliseconds and gevent passes it ``int(seconds * 1000)``: truncated, and sub-ms sleeps
  raised to 1 ms, so there wakes *can* come up to ~1 ms early (reported as EARLY).

Cost model: a switch is a greenlet stack switch into the hub, a callback-queue pop and
a switch back; a timed sleep adds a libev timer watcher object and a heap insert in C.
No Task or Future objects, but greenlets share the C stack by copying slices of it to
the heap and back on every switch, so the cost grows with the number of live greenlets:
measured on the development VM, ``gevent.sleep(0)`` costs ~1.8 µs with one greenlet and
~5.8 µs each with 10,000; the rocket workload at 10,000 comes to ~8 µs CPU per resume
(asyncio: ~2.8 µs).

Where it breaks down: the hub's time is its own (libev reads CLOCK_MONOTONIC itself),
so gevent cannot run on the harness's virtual clock (``supports_virtual_clock`` is
False). Greenlets each hold a slice of C stack, so memory per rocket is higher than a
generator frame's. gevent must not be monkey-patched here: the harness's own
``time.sleep`` and signals must stay the standard library's.

Readiness: ``gevent.socket.wait_read``/``wait_write`` on the socket's file descriptor: a
libev io watcher started for the wait, and a switch to the hub until it fires (libev
leaves a descriptor in its epoll set when its watcher stops and disarms it lazily, so a
socket waited on again soon often costs no ``epoll_ctl``). Plain blocking calls, like
``gevent.sleep``: the greenlet dialect.

Counters: gevent does not count switches, so ``run`` returns ``None``.

Echo server (``echo_servers``, one variant): ``gevent.server.StreamServer(listener,
handle)`` and ``serve_forever()``: a greenlet per connection, a plain blocking
``recv``/``sendall`` loop on gevent's cooperative socket. StreamServer leaves
``TCP_NODELAY`` off, so the handler sets it.
"""

from __future__ import annotations

import importlib.metadata
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Literal, NoReturn

import gevent
from gevent.server import StreamServer
from gevent.socket import wait_read, wait_write

from schedulers.protocol import Clock, EchoServer


def _echo_connection(sock: Any, address: object) -> None:
    """One connection, on its own greenlet: blocking calls that switch to the hub."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while data := sock.recv(65536):
            sock.sendall(data)
    except (ConnectionError, TimeoutError):  # reset by the peer: this connection ends
        pass
    finally:
        sock.close()


def serve_echo(listener: socket.socket) -> NoReturn:
    """Echo on ``listener`` until the process is ended: ``StreamServer.serve_forever``."""
    StreamServer(listener, _echo_connection).serve_forever()
    raise RuntimeError("gevent's StreamServer.serve_forever returned")


class GeventScheduler:
    name: ClassVar[str] = "gevent"
    family: ClassVar[str] = "production"
    timer_note: ClassVar[str] = (
        "libev waits at least 1 ms, rounded up to milliseconds: never early on Linux; its libuv backend "
        "(Windows) truncates to ms and wakes early"
    )
    dialect: ClassVar[Literal["greenlet"]] = "greenlet"
    supports_virtual_clock: ClassVar[bool] = False  # the hub reads its own clock
    # One hub per thread, shared by every greenlet: the gate never loads two versions into
    # one process (it measures them in separate processes).
    shares_process_state: ClassVar[bool] = True
    version: ClassVar[str] = importlib.metadata.version("gevent")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    # The library's own blocking sleep, not a wrapper: no extra frame per sleep.
    sleep = staticmethod(gevent.sleep)

    @staticmethod
    def readable(sock: socket.socket) -> None:
        """Block this greenlet (switching to the hub) until ``sock`` is readable."""
        wait_read(sock.fileno())  # gevent's primitive takes the descriptor, not the socket

    @staticmethod
    def writable(sock: socket.socket) -> None:
        """Block this greenlet (switching to the hub) until ``sock`` is writable."""
        wait_write(sock.fileno())

    echo_servers: ClassVar[Mapping[str, EchoServer]] = {"default": serve_echo}

    def run(self, coroutines: Iterable[Callable[[], None]]) -> None:
        greenlets = [gevent.spawn(rocket) for rocket in coroutines]
        try:
            # raise_error: the first rocket that raised makes joinall raise it here.
            gevent.joinall(greenlets, raise_error=True)
        finally:
            # After a failure the others are still scheduled on the hub, which outlives
            # this run: kill them so they cannot run during a later one.
            gevent.killall(greenlets)
        return None
