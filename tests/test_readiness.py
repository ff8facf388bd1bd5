"""The optional readiness primitives ``readable(sock)``/``writable(sock)``, on every registered
scheduler that offers them (built-ins and any installed plugin).

Each case is written once as *scripts*: generators that do the socket calls themselves and
yield what they want to wait for, ``("readable", sock)``, ``("writable", sock)`` or
``("sleep", seconds)``. Three small bodies, one per dialect, drive a script with the
scheduler's own primitives (``yield from``, ``await``, a plain call), so what runs is a
rocket body of that dialect. A scheduler declaring ``one_run_per_process`` (Twisted) runs
each case in a child process of its own, as in ``test_conformance``.

Cases: ping-pong over 50 socket pairs; a message larger than the socket buffers (so
``writable`` is needed); a listening socket (readable: a connection to accept) and
non-blocking connects (writable: connected); both directions of one socket waited on at
once by two tasks; sleeps and socket waits in one run; a task spinning on ``sleep(0)``
while another waits for its socket; descriptor numbers reused within a run; 600 pairs
(1,200 descriptors, past ``select.select``'s 1024).

Checked: every message arrives intact and in order, every task finishes, resume counters
(when returned) match the strategy, and, for the real loops (every built-in but the
teaching designs), no spurious wake: a resume from ``readable``/``writable`` after which
the non-blocking call still raises ``BlockingIOError``. The whole file takes ~15 s.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest
from conftest import ROOT, TESTS_DIR

from bench.measure.clocks import RealClock
from bench.measure.registry import SchedulerEntry, discover, load_named
from schedulers.protocol import READINESS_MEMBERS, has_readiness

ENTRIES = list(discover().values())
#: The teaching designs may wake a task before its socket is ready (documented in their
#: modules); every other built-in is a loop people run and must not.
TEACHING = {"listscan", "busywait", "heapq", "deque"}
#: Loops whose timers may fire before the exact deadline (see test_conformance).
MAY_WAKE_EARLY = {"uvloop"} | (
    {"gevent"} if sys.platform == "win32" or "libuv" in os.environ.get("GEVENT_LOOP", "") else set()
)
#: heapq polls its sockets only where it would block: a task spinning on ``sleep(0)`` until
#: an I/O task acts keeps it from ever blocking (its module docstring says so).
STARVES_UNDER_SPIN = {"heapq"}
#: Wall-clock guard per run, so a missed wake fails the test instead of hanging the suite.
RUN_LIMIT_S = 30
CHILD_TIMEOUT_S = 120
BUF = 65536

Request = tuple[str, Any]
Script = Generator[Request, None, None]


@dataclass
class Stats:
    """What the scripts of one run record."""

    waits: int = 0  # suspensions asked for: readable, writable and sleep
    spurious: int = 0  # resumes from a socket wait whose next call still would block
    finished: int = 0  # scripts that ran to their end
    starved: int = 0  # spinners that gave up before an I/O task acted
    lateness: list[float] = field(default_factory=list)  # timed sleeps: woke - deadline


# ---- scripts: the socket calls, written once ----

def _send_all(sock: socket.socket, data: bytes, stats: Stats) -> Script:
    view, sent, woke = memoryview(data), 0, False
    while sent < len(data):
        try:
            sent += sock.send(view[sent:])
        except BlockingIOError:
            if woke:  # the loop said writable, yet the buffer is full
                stats.spurious += 1
            stats.waits += 1
            yield ("writable", sock)
            woke = True
        else:
            woke = False


def _recv_some(sock: socket.socket, stats: Stats) -> Generator[Request, None, bytes]:
    """Wait until readable, then read: the wait comes first, as in the I/O workload."""
    while True:
        stats.waits += 1
        yield ("readable", sock)
        try:
            return sock.recv(BUF)
        except BlockingIOError:
            stats.spurious += 1


def _sleep(seconds: float, stats: Stats) -> Script:
    due = time.perf_counter() + seconds
    stats.waits += 1
    yield ("sleep", seconds)
    stats.lateness.append(time.perf_counter() - due)


def client(sock: socket.socket, messages: list[bytes], received: list[bytes], stats: Stats,
           pauses: list[float] | None = None) -> Script:
    for i, message in enumerate(messages):
        if pauses:
            yield from _sleep(pauses[i], stats)
        yield from _send_all(sock, message, stats)
        echo = bytearray()
        while len(echo) < len(message):
            chunk = yield from _recv_some(sock, stats)
            assert chunk, "the server closed before echoing"
            echo += chunk
        received.append(bytes(echo))
    sock.close()
    stats.finished += 1


def serve(sock: socket.socket, size: int, stats: Stats) -> Script:
    """Echo every ``size``-byte message once it has all of it, until end of file; close."""
    while True:
        message = bytearray()
        while len(message) < size:
            chunk = yield from _recv_some(sock, stats)
            if not chunk:
                assert not message, "end of file inside a message"
                sock.close()
                return
            message += chunk
        yield from _send_all(sock, bytes(message), stats)


def server(sock: socket.socket, size: int, stats: Stats) -> Script:
    yield from serve(sock, size, stats)
    stats.finished += 1


def acceptor(listener: socket.socket, connections: int, size: int, stats: Stats) -> Script:
    """Wait for the listening socket to be readable (a connection to accept), accept, and
    serve each connection in turn."""
    for _ in range(connections):
        while True:
            stats.waits += 1
            yield ("readable", listener)
            try:
                conn, _ = listener.accept()
                break
            except BlockingIOError:
                stats.spurious += 1
        conn.setblocking(False)
        yield from serve(conn, size, stats)
    listener.close()
    stats.finished += 1


def connecting_client(address: tuple[str, int], messages: list[bytes], received: list[bytes],
                      stats: Stats) -> Script:
    """A non-blocking connect: writable once it is done (or failed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    assert sock.connect_ex(address) in (0, errno.EINPROGRESS)
    stats.waits += 1
    yield ("writable", sock)
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    yield from client(sock, messages, received, stats)


def _last_one_closes(sock: socket.socket, done: list[bool]) -> None:
    done.append(True)
    if len(done) == 2:  # both tasks on this socket are through with it
        sock.close()


def streamer(sock: socket.socket, data: bytes, done: list[bool], stats: Stats) -> Script:
    """Send ``data`` and half-close, while another task reads the same socket."""
    yield from _send_all(sock, data, stats)
    sock.shutdown(socket.SHUT_WR)
    _last_one_closes(sock, done)
    stats.finished += 1


def drainer(sock: socket.socket, received: list[bytes], done: list[bool], stats: Stats) -> Script:
    """Read until end of file, while another task writes to the same socket."""
    data = bytearray()
    while chunk := (yield from _recv_some(sock, stats)):
        data += chunk
    received.append(bytes(data))
    _last_one_closes(sock, done)
    stats.finished += 1


def sleeper(pauses: list[float], stats: Stats) -> Script:
    for pause in pauses:
        yield from _sleep(pause, stats)
    stats.finished += 1


def spinner(flag: list[bool], stats: Stats, limit: int = 200_000) -> Script:
    """Spin on ``sleep(0)`` until an I/O task sets the flag: readiness must not starve."""
    for _ in range(limit):
        if flag:
            break
        stats.waits += 1
        yield ("sleep", 0.0)
    else:
        stats.starved += 1
    stats.finished += 1


def flagging_server(sock: socket.socket, size: int, flag: list[bool], stats: Stats) -> Script:
    for request in server(sock, size, stats):
        yield request
        flag.append(True)  # it was resumed: the loop looked at its socket while the spinner spun


# ---- one body per dialect: the scheduler's primitives, called the dialect's way ----

def generator_body(scheduler: Any, script: Script) -> Generator[Any, Any, None]:
    for op, arg in script:
        yield from getattr(scheduler, op)(arg)


async def async_body(scheduler: Any, script: Script) -> None:
    for op, arg in script:
        await getattr(scheduler, op)(arg)


def greenlet_body(scheduler: Any, script: Script) -> None:
    for op, arg in script:
        getattr(scheduler, op)(arg)


def _bodies(scheduler: Any, scripts: list[Script]) -> list[Any]:
    if scheduler.dialect == "generator":
        return [generator_body(scheduler, s) for s in scripts]
    if scheduler.dialect == "async":
        return [async_body(scheduler, s) for s in scripts]
    return [functools.partial(greenlet_body, scheduler, s) for s in scripts]


# ---- cases ----

def _pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


@dataclass
class Case:
    scripts: list[Script]
    stats: Stats
    expected: list[tuple[list[bytes], list[bytes]]]  # (sent, received) per client


def ping_pong(pairs: int = 50, rounds: int = 20, size: int = 8, pause_s: float = 0.0,
              sleepers: int = 0) -> Case:
    """``pairs`` clients, each with its server, ``rounds`` messages of ``size`` bytes; with
    ``pause_s``, each client sleeps up to that long before each message, and ``sleepers``
    timer-only tasks run beside them."""
    rng = random.Random(1969)
    stats, scripts, expected = Stats(), [], []
    for p in range(pairs):
        a, b = _pair()
        messages = [f"{p:05d}-{r:02d}".encode().ljust(size, b".")[:size] for r in range(rounds)]
        pauses = [rng.uniform(0, pause_s) for _ in messages] if pause_s else None
        received: list[bytes] = []
        expected.append((messages, received))
        scripts += [client(a, messages, received, stats, pauses), server(b, size, stats)]
    for _ in range(sleepers):
        scripts.append(sleeper([rng.uniform(0, pause_s) for _ in range(5)], stats))
    return Case(scripts, stats, expected)


def large_message() -> Case:
    """Two pairs, one message each, larger than all the buffers between client and server:
    both sides must wait for ``writable`` to get it through."""
    a, b = _pair()
    buffers = sum(s.getsockopt(socket.SOL_SOCKET, o) for s in (a, b) for o in (socket.SO_SNDBUF, socket.SO_RCVBUF))
    a.close()
    b.close()
    size = 4 * buffers
    stats, scripts, expected = Stats(), [], []
    for p in range(2):
        a, b = _pair()
        message = bytes((p * 7 + i) % 251 for i in range(size))
        received: list[bytes] = []
        expected.append(([message], received))
        scripts += [client(a, [message], received, stats), server(b, size, stats)]
    return Case(scripts, stats, expected)


def accepting() -> Case:
    """A listening socket: readable means a connection to accept. Five clients connect
    (writable means connected) and the one server task accepts and serves each in turn."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    stats, expected = Stats(), []
    scripts = [acceptor(listener, 5, 8, stats)]
    for c in range(5):
        messages = [b"conn%d-m%d" % (c, m) for m in range(3)]
        received: list[bytes] = []
        expected.append((messages, received))
        scripts.append(connecting_client(listener.getsockname(), messages, received, stats))
    return Case(scripts, stats, expected)


def full_duplex() -> Case:
    """Two tasks per socket, one writing and one reading at the same time, streams several
    buffers long both ways: each socket is waited on for both directions at once."""
    stats, scripts, expected = Stats(), [], []
    for p in range(2):
        a, b = _pair()
        size = 4 * a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        ab, ba = bytes((p + i) % 253 for i in range(size)), bytes((p * 3 + i) % 241 for i in range(size))
        at_b: list[bytes] = []
        at_a: list[bytes] = []
        expected += [([ab], at_b), ([ba], at_a)]
        done_a: list[bool] = []
        done_b: list[bool] = []
        scripts += [streamer(a, ab, done_a, stats), drainer(a, at_a, done_a, stats),
                    streamer(b, ba, done_b, stats), drainer(b, at_b, done_b, stats)]
    return Case(scripts, stats, expected)


def spin_while_waiting() -> Case:
    """A task spins on ``sleep(0)`` until a server has been woken by its socket."""
    stats = Stats()
    flag: list[bool] = []
    a, b = _pair()
    received: list[bytes] = []
    scripts = [spinner(flag, stats), client(a, [b"ping"], received, stats), flagging_server(b, 4, flag, stats)]
    return Case(scripts, stats, [([b"ping"], received)])


def reused_descriptors(generations: int = 10) -> Case:
    """One task owns both ends of a socket pair: it waits for one end to be writable,
    sends, waits for the other to be readable, echoes, waits for the reply; then closes
    both and opens a new pair, on the same descriptor numbers. A loop that keeps
    registrations must not take the new sockets for the old ones. A normal pair runs
    beside it so the loop has other work."""
    stats, numbers = Stats(), []
    received: list[bytes] = []
    messages = [b"gen%03d" % g for g in range(generations)]

    def both_ends() -> Script:
        for message in messages:
            a, b = _pair()
            numbers.append(a.fileno())
            stats.waits += 1
            yield ("writable", a)  # a new socket on a number waited on before
            a.send(message)
            request = yield from _recv_some(b, stats)
            b.send(request)
            received.append((yield from _recv_some(a, stats)))
            a.close()
            b.close()
        assert len(set(numbers)) < len(numbers), f"no descriptor number was reused: {numbers}"
        stats.finished += 1

    a, b = _pair()
    beside: list[bytes] = []
    scripts = [both_ends(), client(a, messages, beside, stats), server(b, 6, stats)]
    return Case(scripts, stats, [(messages, received), (messages, beside)])


CASES: dict[str, Callable[[], Case]] = {
    "ping-pong": ping_pong,
    "large-message": large_message,
    "mixed-sleeps": lambda: ping_pong(pairs=20, rounds=10, pause_s=0.002, sleepers=20),
    "accept": accepting,
    "full-duplex": full_duplex,
    "spin-while-waiting": spin_while_waiting,
    "reused-descriptors": reused_descriptors,
    "many-descriptors": lambda: ping_pong(pairs=600, rounds=3),
}
#: Descriptors a case opens at once, beyond the process's usual few.
CASE_DESCRIPTORS = {"many-descriptors": 1200}


# ---- running a case, here or in a child process ----

@contextlib.contextmanager
def _limits(descriptors: int) -> Iterator[None]:
    """Enough open files for ``descriptors``, and an alarm so a lost wake cannot hang."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = descriptors + 256
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"needs {need} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"run did not finish within {RUN_LIMIT_S} s: a lost wake?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(RUN_LIMIT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def run_case(entry: SchedulerEntry, case_name: str) -> dict[str, Any]:
    """Run one case on ``entry`` in this process; the facts the checks need, as JSON data."""
    with _limits(CASE_DESCRIPTORS.get(case_name, 0)):
        case = CASES[case_name]()
        scheduler = entry.cls(RealClock())  # type: ignore[misc]
        counters = scheduler.run(_bodies(scheduler, case.scripts))
    return {"stats": asdict(case.stats), "tasks": len(case.scripts), "counters": dict(counters or {}),
            "intact": all(sent == got for sent, got in case.expected),
            "received": sum(len(got) for _, got in case.expected),
            "sent": sum(len(sent) for sent, _ in case.expected)}


_CHILD = """
import json, sys
from bench.measure.registry import load_named
from test_readiness import run_case
name, case = json.loads(sys.argv[1])
print(json.dumps(run_case(load_named(name), case)))
"""


def _run(entry: SchedulerEntry, case_name: str) -> dict[str, Any]:
    if not entry.one_run_per_process:
        return run_case(entry, case_name)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([entry.name, case_name])],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=CHILD_TIMEOUT_S)
    assert proc.returncode == 0, f"child run of {entry.name} failed:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _require(entry: SchedulerEntry) -> None:
    if not entry.available:
        pytest.skip(f"{entry.name} unavailable: {entry.error}")
    if not has_readiness(entry.cls):
        pytest.skip(f"{entry.name} offers no readiness primitives (SKIPPED by the I/O workload)")


def _check(entry: SchedulerEntry, result: dict[str, Any]) -> dict[str, Any]:
    stats = result["stats"]
    assert result["intact"], f"{entry.name}: a message was lost, cut or reordered"
    assert result["received"] == result["sent"]
    assert stats["finished"] == result["tasks"], f"{entry.name}: {stats['finished']} of {result['tasks']} finished"
    if entry.builtin and entry.name not in TEACHING:
        assert stats["spurious"] == 0, f"{entry.name}: {stats['spurious']} spurious wakes"
    counters = result["counters"]
    if counters:
        expected = result["tasks"] + stats["waits"]  # a start per task, a resume per wait
        if entry.polling and "wasted" not in counters:
            assert counters["resumes"] >= expected
        else:
            assert counters["resumes"] == expected, counters
    return result


def _entries(only: set[str] | None = None) -> list[Any]:
    return [pytest.param(e, id=e.name) for e in ENTRIES if only is None or e.name in only]


# ---- the tests ----

@pytest.mark.parametrize("entry", _entries())
def test_ping_pong(entry: SchedulerEntry) -> None:
    """50 socket pairs x 20 round trips of 8 bytes."""
    _require(entry)
    _check(entry, _run(entry, "ping-pong"))


@pytest.mark.parametrize("entry", _entries())
def test_message_larger_than_the_socket_buffers(entry: SchedulerEntry) -> None:
    _require(entry)
    result = _check(entry, _run(entry, "large-message"))
    assert result["sent"] == 2  # one message per pair, each several buffers long


@pytest.mark.parametrize("entry", _entries())
def test_listening_socket_and_connect(entry: SchedulerEntry) -> None:
    """``readable`` on a listening socket is a connection to accept; ``writable`` on a
    connecting one is the connect done."""
    _require(entry)
    _check(entry, _run(entry, "accept"))


@pytest.mark.parametrize("entry", _entries())
def test_one_socket_waited_on_both_ways_at_once(entry: SchedulerEntry) -> None:
    _require(entry)
    _check(entry, _run(entry, "full-duplex"))


@pytest.mark.parametrize("entry", _entries({"heapq", "hybrid", "listscan", "busywait", "deque"}))
def test_sleeps_and_readiness_in_one_run(entry: SchedulerEntry) -> None:
    """Clients sleep before each message and timer-only tasks run beside them: timers keep
    working (every sleep ends after its deadline) while sockets are waited on."""
    _require(entry)
    result = _check(entry, _run(entry, "mixed-sleeps"))
    lateness = result["stats"]["lateness"]
    assert len(lateness) == 20 * 10 + 20 * 5
    if entry.name not in MAY_WAKE_EARLY:
        assert min(lateness) >= 0, f"{entry.name} woke a sleeper {-min(lateness) * 1e6:.0f} µs early"


@pytest.mark.parametrize("entry", _entries())
def test_readiness_is_not_starved_by_a_spinning_task(entry: SchedulerEntry) -> None:
    _require(entry)
    if entry.name in STARVES_UNDER_SPIN:
        pytest.skip(f"{entry.name} polls sockets only where it would block (documented)")
    result = _check(entry, _run(entry, "spin-while-waiting"))
    assert result["stats"]["starved"] == 0


@pytest.mark.parametrize("entry", _entries())
def test_reused_descriptor_numbers(entry: SchedulerEntry) -> None:
    _require(entry)
    _check(entry, _run(entry, "reused-descriptors"))


@pytest.mark.parametrize("entry", _entries())
def test_more_than_1024_descriptors(entry: SchedulerEntry) -> None:
    """600 pairs: 1,200 descriptors, beyond what ``select.select`` can watch."""
    _require(entry)
    _check(entry, _run(entry, "many-descriptors"))


def test_has_readiness_names_the_two_members() -> None:
    assert READINESS_MEMBERS == ("readable", "writable")

    class NoIO:
        def sleep(self, seconds: float) -> None: ...

    class HalfIO(NoIO):
        def readable(self, sock: socket.socket) -> None: ...

    class Raising:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("a plugin class may do anything")

    assert not has_readiness(NoIO) and not has_readiness(HalfIO) and not has_readiness(Raising())
    for name in ("asyncio", "trio", "hybrid", "heapq", "listscan", "busywait", "deque", "twisted"):
        entry = load_named(name)
        if entry.available:
            assert has_readiness(entry.cls), name


def _guide_example() -> type:
    """The generator-dialect scheduler printed in docs/plugins.md, executed as written."""
    text = (ROOT / "docs" / "plugins.md").read_text()
    start = text.index("```python\n", text.index("A **generator-dialect** scheduler")) + len("```python\n")
    namespace: dict[str, Any] = {"__name__": "plugins_md_example"}
    exec(compile(text[start:text.index("```", start)], "docs/plugins.md", "exec"), namespace)
    return namespace["SelectLoop"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", ["ping-pong", "large-message", "accept", "full-duplex", "mixed-sleeps",
                                  "spin-while-waiting", "reused-descriptors"])
def test_the_plugin_guide_example_keeps_the_contract(case: str) -> None:
    entry = SchedulerEntry("guide-example", "plugin docs/plugins.md", "docs/plugins.md", cls=_guide_example())
    assert has_readiness(entry.cls)
    _check(entry, run_case(entry, case))


# ---- the hybrid's design: registrations kept, one poll per batch ----

def _hybrid() -> SchedulerEntry:
    entry = load_named("hybrid")
    if not entry.available:
        pytest.skip(f"hybrid unavailable: {entry.error}")
    return entry


def test_hybrid_registers_each_socket_once_and_polls_once_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    import select

    calls: Counter[str] = Counter()
    real = select.epoll

    class CountingEpoll:
        def __init__(self) -> None:
            self._epoll = real()

        def __getattr__(self, name: str) -> Any:
            calls[name] += 1
            return getattr(self._epoll, name)

    monkeypatch.setattr(select, "epoll", CountingEpoll)
    result = _check(_hybrid(), run_case(_hybrid(), "ping-pong"))
    waits = result["stats"]["waits"]
    assert calls["register"] == 100  # 50 pairs: each socket once, kept across its 20 waits
    assert calls["modify"] == calls["unregister"] == 0  # the mask never changed
    assert calls["poll"] <= waits // 20, f"{calls['poll']} polls for {waits} waits"
    assert calls["close"] == 1


def test_hybrid_refuses_two_readers_on_one_socket() -> None:
    entry = _hybrid()
    scheduler = entry.cls(RealClock())  # type: ignore[misc]
    a, b = _pair()
    try:
        def reader() -> Generator[Any, Any, None]:
            yield from scheduler.readable(b)

        with pytest.raises(RuntimeError, match="two hybrid tasks wait for fd"):
            scheduler.run([reader(), reader()])
    finally:
        a.close()
        b.close()
