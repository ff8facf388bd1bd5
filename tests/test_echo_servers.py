"""The optional echo servers (``echo_servers``, ``schedulers.protocol.echo_variants``) of
every registered scheduler that offers them, built-ins and installed plugins.

Each server runs as the harness runs it: in a process of its own, on a listener made
before it starts (TCP, 127.0.0.1 port 0, ``listen(ECHO_BACKLOG)``, non-blocking, handed
over as an inherited descriptor), and it never returns. First one client resets its
connection in the middle of an echo, which must end that connection only. Then ten
clients, driven by one selectors loop here, connect at once; each sends 200 messages of
1 KiB of random bytes, one at a time, and checks that every echo comes back byte for byte
and in order, then one 300 KiB message (more than the socket buffers take at once: partial
writes on both sides, read while it is sent), then closes its side and expects the server
to close too. Then the server gets SIGTERM, as from the harness, and must be gone, its
port refusing connections.

The teaching designs' shared server (``schedulers._echo``) is also run with a pool of 3
handlers for 10 clients, so handlers are recycled and the acceptor handed over under
load, on one scheduler per dialect (gevent's class for the greenlet dialect, which no
built-in uses for its own echo server) and on trio, which refuses a second waiter on a
socket. The whole file takes ~8 s.
"""

from __future__ import annotations

import contextlib
import os
import random
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import ROOT

from bench.measure.registry import discover
from schedulers.protocol import ECHO_BACKLOG, echo_server_name, echo_variants

ENTRIES = [entry for entry in discover().values() if entry.available]
SERVERS = [(entry.name, variant) for entry in ENTRIES for variant in echo_variants(entry.cls)]

CLIENTS = 10
MESSAGES = 200
SIZE = 1024
LARGE = 300 * 1024
#: Wall-clock guard for one server's clients (Twisted takes ~1 s just to import).
DEADLINE_S = 60.0
#: How long a server may take to go once it got SIGTERM.
TERM_S = 10.0

#: The child: wrap the inherited listener, find the server, serve. Never returns.
SERVE = """\
import socket, sys
from schedulers.protocol import echo_variants
listener = socket.socket(fileno=int(sys.argv[1]))
listener.setblocking(False)
kind, target = sys.argv[2], sys.argv[3]
if kind == "entry":  # a registered scheduler's variant: "name/variant"
    from bench.measure.registry import load_named
    name, variant = target.split("/")
    entry = load_named(name)
    if entry.cls is None:
        raise SystemExit(entry.error)
    server = echo_variants(entry.cls)[variant]
    server(listener)
else:  # the shared pool server on a class: "module:Class:handlers"
    import importlib
    from schedulers._echo import serve_pool
    module, cls, handlers = target.split(":")
    serve_pool(getattr(importlib.import_module(module), cls), listener, handlers=int(handlers))
raise SystemExit("the echo server returned")
"""


# ---- the server process -------------------------------------------------------------------

def _listener() -> socket.socket:
    """The listener as the harness makes it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(ECHO_BACKLOG)
    listener.setblocking(False)
    return listener


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    stderr: Path

    def why(self) -> str:
        status = self.proc.poll()
        state = "running" if status is None else f"exited with {status}"
        return f"server {state}; its stderr:\n{self.stderr.read_text()[-3000:]}"


@contextlib.contextmanager
def serving(kind: str, target: str, tmp_path: Path) -> Iterator[Server]:
    listener = _listener()
    port = listener.getsockname()[1]
    stderr = tmp_path / "server.stderr"
    with listener, stderr.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(listener.fileno()), kind, target],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=err, stderr=err, pass_fds=(listener.fileno(),),
        )
    # The child holds the only listener now: once it is gone, the port refuses connections.
    server = Server(proc, port, stderr)
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def terminate(server: Server) -> None:
    """End the server as the harness does (SIGTERM) and check it is gone."""
    assert server.proc.poll() is None, f"the server stopped by itself: {server.why()}"
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(TERM_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server outlived SIGTERM by {TERM_S} s: {server.why()}")
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass


# ---- the clients ------------------------------------------------------------------------

@dataclass
class Client:
    """One connection: its messages, sent one at a time, each echo checked as it arrives."""

    sock: socket.socket
    messages: list[bytes]
    index: int = 0  # the message being echoed
    sent: int = 0  # of it, sent
    echoed: int = 0  # of it, back and checked
    closed: bool = False  # our side shut down, waiting for the server's end of file
    done: bool = False
    events: int = 0  # what the selector watches for

    SLICE: ClassVar[int] = 65536

    def wanted(self) -> int:
        if self.done:
            return 0
        writing = not self.closed and self.sent < len(self.messages[self.index])
        return selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)

    def on_writable(self) -> None:
        message = self.messages[self.index]
        with contextlib.suppress(BlockingIOError):
            self.sent += self.sock.send(memoryview(message)[self.sent:self.sent + self.SLICE])

    def on_readable(self, who: str) -> None:
        try:
            data = self.sock.recv(self.SLICE)
        except BlockingIOError:
            return
        if not data:
            assert self.closed, f"{who}: the server closed the connection at message {self.index}"
            self.done = True
            return
        assert not self.closed, f"{who}: {len(data)} bytes after the last echo"
        message = self.messages[self.index]
        expected = message[self.echoed:self.echoed + len(data)]
        assert data == expected, (
            f"{who}: message {self.index} ({len(message)} bytes) differs from byte {self.echoed} on"
            f" (got {len(data)} bytes, {data[:16]!r}..., expected {expected[:16]!r}...)"
        )
        self.echoed += len(data)
        if self.echoed == len(message):
            self.index += 1
            self.sent = self.echoed = 0
            if self.index == len(self.messages):
                self.sock.shutdown(socket.SHUT_WR)
                self.closed = True


def reset_one(server: Server) -> None:
    """A client that sends 256 KiB without reading and resets the connection: that
    connection ends, the server goes on (``exchange`` follows)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE_S) as sock:
        sock.sendall(b"x" * 1024)
        assert sock.recv(1024), f"no echo before the reset; {server.why()}"
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.send(b"y" * 256 * 1024)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


def exchange(server: Server, clients: int = CLIENTS, messages: int = MESSAGES, seed: int = 1969) -> None:
    """``clients`` connections at once, each ``messages`` × 1 KiB then one 300 KiB message,
    all echoes checked; then each closes its side and waits for the server's end of file."""
    rng = random.Random(seed)
    deadline = time.monotonic() + DEADLINE_S
    with selectors.DefaultSelector() as selector, contextlib.ExitStack() as stack:
        active: list[Client] = []
        for _ in range(clients):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE_S))
            sock.setblocking(False)
            client = Client(sock, [rng.randbytes(SIZE) for _ in range(messages)] + [rng.randbytes(LARGE)])
            client.events = client.wanted()
            selector.register(sock, client.events, client)
            active.append(client)
        while any(not client.done for client in active):
            timeout = deadline - time.monotonic()
            if timeout <= 0 or server.proc.poll() is not None:
                stuck = [(c.index, c.sent, c.echoed) for c in active if not c.done]
                pytest.fail(f"clients unfinished (message, sent, echoed): {stuck}; {server.why()}")
            for key, events in selector.select(min(timeout, 1.0)):
                client = key.data
                who = f"client {active.index(client)}"
                try:
                    if events & selectors.EVENT_WRITE:
                        client.on_writable()
                    if events & selectors.EVENT_READ:
                        client.on_readable(who)
                except (AssertionError, OSError) as exc:
                    pytest.fail(f"{who}: {exc!r}; {server.why()}")
                wanted = client.wanted()
                if wanted != client.events:
                    client.events = wanted
                    if wanted:
                        selector.modify(client.sock, wanted, client)
                    else:
                        selector.unregister(client.sock)


# ---- tests ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "variant"), SERVERS, ids=[f"{n}/{v}" for n, v in SERVERS])
def test_echo_server(name: str, variant: str, tmp_path: Path) -> None:
    with serving("entry", f"{name}/{variant}", tmp_path) as server:
        reset_one(server)
        exchange(server)
        terminate(server)


#: The shared pool server on too few handlers: (scheduler module:class, why it is here).
POOLS = {
    "hybrid": "schedulers.hybrid:HybridScheduler",  # generator dialect, one waiter per socket
    "listscan": "schedulers.list_scan:ListScanScheduler",  # generator, polling
    "deque": "schedulers.deque_tasks:DequeScheduler",  # async dialect
    "gevent": "schedulers.gevent_hub:GeventScheduler",  # greenlet dialect
    "trio": "schedulers.trio_loop:TrioScheduler",  # async, refuses a second waiter on a socket
}


@pytest.mark.parametrize("name", list(POOLS))
def test_pool_recycles_handlers(name: str, tmp_path: Path) -> None:
    """3 handlers, 10 clients at once: seven wait in the backlog, and every handler serves
    several connections in turn, handing the listener over each time."""
    if name not in {entry.name for entry in ENTRIES}:
        pytest.skip(f"{name} is not available here")
    with serving("pool", f"{POOLS[name]}:3", tmp_path) as server:
        exchange(server, messages=20)
        terminate(server)


def test_every_builtin_offers_an_echo_server() -> None:
    builtins = [entry for entry in ENTRIES if entry.builtin]
    assert builtins
    missing = [entry.name for entry in builtins if not echo_variants(entry.cls)]
    assert not missing, f"built-ins without an echo server: {missing}"
    by_name = {entry.name: set(echo_variants(entry.cls)) for entry in builtins}
    assert by_name.get("asyncio", {"streams", "protocol"}) == {"streams", "protocol"}


# ---- echo_variants: robust to whatever a plugin declares ---------------------------------

def _serve(listener: socket.socket) -> None:
    raise AssertionError("never called here")


class _Raises:
    def __get__(self, obj: object, owner: type | None = None) -> Any:
        raise RuntimeError("a plugin's attribute that raises")


class _BadMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("iteration fails")

    def __len__(self) -> int:
        return 1


def test_echo_variants_absent_or_raising_is_empty() -> None:
    class Absent:
        pass

    class Raising:
        echo_servers = _Raises()

    class Broken:
        echo_servers = _BadMapping()

    class NotAMapping:
        echo_servers: ClassVar[object] = [("default", _serve)]

    class NoneAtAll:
        echo_servers = None

    for cls in (Absent, Raising, Broken, NotAMapping, NoneAtAll):
        assert echo_variants(cls) == {}, cls.__name__
    assert echo_variants(object()) == {}


def test_echo_variants_keeps_only_well_formed_entries() -> None:
    class Mixed:
        echo_servers: ClassVar[dict[object, object]] = {"default": _serve, "a/b": _serve, "": _serve, 3: _serve,
                                                         "not-callable": "x", "ok.2_x-y": _serve, "-dash": _serve}

    assert list(echo_variants(Mixed)) == ["default", "ok.2_x-y"]
    assert echo_variants(Mixed)["default"] is _serve


def test_echo_server_name() -> None:
    assert echo_server_name("trio", "default", 1) == "trio"
    assert echo_server_name("asyncio", "streams", 2) == "asyncio/streams"


def test_no_server_process_left(tmp_path: Path) -> None:
    """The fixture ends a server even when a test fails before terminate()."""
    with serving("entry", "hybrid/default", tmp_path) as server:
        pid = server.proc.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
