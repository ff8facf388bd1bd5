"""The echo-benchmark load generator: both clients against a small threaded echo server
that can also corrupt a byte or stall once, the schedule's reproducibility, the request
checks and the histogram helpers. Light rates, about 1 s per run (~25 s in all)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from bench.measure import cstub, loadgen
from bench.measure.loadgen import Histogram, LoadPoint, closed_loop_probe, run_load
from bench.measure.loadgen_contract import bucket_bounds, bucket_of, schedule_digest

Behaviour = Literal["echo", "corrupt", "stall", "hang", "slow"]
STALL_S = 0.2
HANG_S = 3.0
SLOW_S = 0.001  # per read: a server that keeps up with under 1,000 messages/s
CORRUPT_AT = 100_000


class EchoServer:
    """Blocking sockets, a thread per connection. ``corrupt`` flips the 100,000th byte the
    server echoes (once in all; 0.5 s into the tests' runs); ``stall`` sleeps ``STALL_S`` once, 0.5 s after
    the first byte arrived (inside the measured window of the tests' runs); ``hang`` stops
    answering 0.9 s after the first byte (for ``HANG_S``). ``largest`` is the most bytes one
    read returned: more than one message means the client had several outstanding."""

    def __init__(self, behaviour: Behaviour = "echo") -> None:
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.echoed = 0
        self.first: float | None = None
        self.done = False  # the one corruption or stall happened
        self.largest = 0
        self.conns: list[socket.socket] = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        try:
            while data := conn.recv(65536):
                with self.lock:
                    self.first = self.first or time.monotonic()
                    self.largest = max(self.largest, len(data))
                    start, self.echoed = self.echoed, self.echoed + len(data)
                    act = not self.done and (
                        (self.behaviour == "corrupt" and start <= CORRUPT_AT < self.echoed)
                        or (self.behaviour == "stall" and time.monotonic() - self.first > 0.5)
                        or (self.behaviour == "hang" and time.monotonic() - self.first > 0.9))
                    self.done = self.done or act
                if act and self.behaviour == "corrupt":
                    i = CORRUPT_AT - start
                    data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
                elif act:
                    time.sleep(HANG_S if self.behaviour == "hang" else STALL_S)
                elif self.behaviour == "slow":
                    time.sleep(SLOW_S)
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.listener.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def server() -> Iterator[EchoServer]:
    srv = EchoServer()
    yield srv
    srv.close()


@pytest.fixture(params=["c", "python"])
def client(request: pytest.FixtureRequest) -> str:
    if request.param == "c" and loadgen.c_client().path is None:
        pytest.skip(f"no C client: {loadgen.c_client().problem}")
    return str(request.param)


def point(port: int = 9, **kw: object) -> LoadPoint:
    base: dict[str, object] = {"port": port, "connections": 2, "size": 100, "rate": 2000.0, "duration": 1.0,
                               "warmup": 0.2, "top_percentile": 99.0}
    return LoadPoint(**{**base, **kw})  # type: ignore[arg-type]


def test_open_loop_delivers_every_message_intact(server: EchoServer, client: str) -> None:
    r = run_load(point(server.port), client=client)  # type: ignore[arg-type]
    assert r.client == client and r.mode == "open"
    assert r.errors and r.error_count == 0, r.errors
    assert r.scheduled == r.sent == r.received == r.verified == 2000
    assert r.histogram.total == r.received
    assert r.bytes_verified >= r.received * 100
    assert r.p50_ns is not None and r.p99_ns is not None and r.max_ns is not None
    assert 0 < r.p50_ns <= r.p99_ns <= r.max_ns
    assert r.p999_ns is None  # not asked for: too few samples for p99.9
    assert r.achieved_rate == pytest.approx(2000, rel=0.05)
    assert 0 < r.cpu_share < 1 and r.window_wall_s == pytest.approx(1.0, abs=0.05)


def test_spinning_reports_its_idle_polls_as_spare(server: EchoServer, client: str) -> None:
    """2000/s leaves 500 us between sends on average, under spin_us: the client polls
    nearly throughout, its CPU share is high, and what it spent polling idly is not counted
    as busy. Poisson: its occasional long gaps make the C client sleep on its timer, whose
    expiry a later poll must not mistake for work."""
    r = run_load(point(server.port, spin_us=1000.0, arrival="poisson"), client=client)  # type: ignore[arg-type]
    assert r.error_count == 0 and r.received == r.verified == r.scheduled, r.errors
    assert r.raw["window_idle_s"] > 0.1 and r.busy_share < r.cpu_share - 0.1, (r.busy_share, r.cpu_share)
    assert r.busy_share < loadgen.CPU_LIMIT  # (client_limited may still say a neighbour delayed sends)


def test_a_flipped_byte_is_reported_as_corruption(client: str) -> None:
    srv = EchoServer("corrupt")
    try:
        r = run_load(point(srv.port), client=client)  # type: ignore[arg-type]
    finally:
        srv.close()
    assert srv.done
    assert r.errors["corrupt"] == 1, r.errors
    assert r.received == r.scheduled and r.verified == r.received - 1  # the byte lay in the window


def test_a_stall_counts_for_every_request_it_delayed(client: str) -> None:
    """Coordinated omission: latency runs from the intended send, so the 200 ms stall
    weighs on the ~200 requests scheduled during it, not on one: p99 is near the stall.
    A client timing from its actual sends (or waiting for each answer) would show one
    slow sample and a p99 of a millisecond."""
    srv = EchoServer("stall")
    try:
        r = run_load(point(srv.port, connections=1, rate=1000.0), client=client)  # type: ignore[arg-type]
    finally:
        srv.close()
    assert srv.done and r.error_count == 0, r.errors
    assert r.received == r.scheduled == 1000
    assert r.max_ns is not None and r.max_ns >= STALL_S * 1e9
    assert r.p99_ns is not None and r.p99_ns >= 0.75 * STALL_S * 1e9


@pytest.mark.parametrize("in_flight", [1, 0])
def test_a_capped_connection_waits_for_its_echo_and_the_wait_is_charged(client: str, in_flight: int) -> None:
    """wrk2's discipline (``in_flight=1``, the default): a message due while its connection's
    previous echo is out waits in the client, so the server never reads two at once and
    cannot batch them; the wait is still charged from the intended time, like the stall
    itself. Pipelined (``in_flight=0``) the messages queue in the socket: the server reads
    the stall's backlog in one call."""
    srv = EchoServer("stall")
    try:
        r = run_load(point(srv.port, connections=1, rate=1000.0, in_flight=in_flight),  # type: ignore[arg-type]
                     client=client)
    finally:
        srv.close()
    assert srv.done and r.error_count == 0 and r.backlog == 0, (r.errors, r.backlog)
    assert r.received == r.scheduled == 1000
    assert r.p99_ns is not None and r.p99_ns >= 0.75 * STALL_S * 1e9
    assert (srv.largest <= 100) if in_flight == 1 else (srv.largest >= 10 * 100), srv.largest


def test_messages_still_waiting_in_the_client_are_backlog_not_errors(client: str) -> None:
    """A server that stops answering for longer than the drain: the one message it was sent
    and never answered is its error; the ones queued behind it in the client were never
    sent, so they are backlog, recorded at the latency they had reached (a lower bound)."""
    srv = EchoServer("hang")
    try:
        r = run_load(point(srv.port, connections=1, rate=1000.0, drain=0.2), client=client)  # type: ignore[arg-type]
    finally:
        srv.close()
    assert srv.done
    assert r.errors["unanswered"] == 1, r.errors
    assert r.backlog > 100 and r.histogram.total == r.received + r.backlog
    assert r.max_ns is not None and r.max_ns >= 0.2e9


def test_a_server_slower_than_the_load_leaves_backlog_and_no_error(client: str) -> None:
    """Offered twice what the server can answer, one in flight: when the drain ends the
    client still holds a queue, and the message then in flight was sent a moment ago. It is
    given its own drain and answered, so the point has backlog and no error."""
    srv = EchoServer("slow")
    try:
        r = run_load(point(srv.port, connections=1, rate=2000.0, drain=0.2), client=client)  # type: ignore[arg-type]
    finally:
        srv.close()
    assert r.error_count == 0, r.errors
    assert r.backlog > 500 and r.histogram.total == r.received + r.backlog


def test_poisson_schedule_is_reproducible(server: EchoServer) -> None:
    runs = [run_load(point(server.port, arrival="poisson", seed=7, rate=1500.0)) for _ in range(2)]
    expected = schedule_digest(2, 1500.0, "poisson", 7, 0.2, 1.0)
    assert runs[0].schedule_digest == runs[1].schedule_digest == expected
    assert runs[0].scheduled == runs[1].scheduled != 1500  # Poisson: not exactly rate x duration
    fallback = run_load(point(server.port, arrival="poisson", seed=7, rate=1500.0), client="python")
    assert fallback.schedule_digest == expected and fallback.scheduled == runs[0].scheduled
    assert schedule_digest(2, 1500.0, "poisson", 8, 0.2, 1.0) != expected


def test_closed_loop_probe(server: EchoServer, client: str) -> None:
    r = closed_loop_probe("127.0.0.1", server.port, 2, 64, 0.5, pipeline=2, warmup=0.1,
                          client=client)  # type: ignore[arg-type]
    assert r.mode == "closed" and r.rate is None and r.error_count == 0, r.errors
    assert r.achieved_rate > 500 and r.received == r.histogram.total == r.verified
    assert r.p50_ns is not None and r.max_ns is not None and 0 < r.p50_ns <= r.max_ns


def test_the_fallback_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadgen, "c_client", lambda: cstub.Build(None, "no C compiler found"))
    command, notes = loadgen.client_command(["--port", "1"])
    assert "bench.measure.loadgen_python" in command and "no C compiler found" in notes[0]


@pytest.mark.parametrize(("change", "message"), [
    ({"rate": 0}, "rate 0 is not allowed: a positive finite number"),
    ({"rate": float("inf")}, "rate inf is not allowed"),
    ({"connections": 0}, "connections 0 is not allowed: an integer in 1..10,000"),
    ({"size": 0}, "size 0 is not allowed: an integer number of bytes in 1..1,048,576"),
    ({"size": (1 << 20) + 1}, "size 1048577 is not allowed"),
    ({"duration": 0.4}, "duration 0.4 is not allowed: at rate 2000/s it expects 800 samples; "
                        "p99 needs >= 1,000 (10 at or beyond it): duration >= 0.5 s"),
    ({"top_percentile": 99.9}, "p99.9 needs >= 10,000"),
    ({"arrival": "burst"}, "arrival 'burst' is not allowed: 'constant' or 'poisson'"),
    ({"port": 70000}, "port 70000 is not allowed: an integer in 1..65535"),
    ({"cpu": 4096}, "cpu 4096 is not allowed: None or a CPU this process may use"),
    ({"warmup": -1.0}, "warmup -1.0 is not allowed"),
    ({"spin_us": -1.0}, "spin_us -1.0 is not allowed: None or microseconds in 0..1e6"),
])
def test_bad_requests_are_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        point(**change)  # type: ignore[arg-type]
    text = str(info.value)
    assert "\n" not in text and message in text, text


def test_the_limits_themselves_are_allowed() -> None:
    assert point(duration=0.5).samples_needed == 1000  # 2000/s x 0.5 s: exactly enough for p99
    assert LoadPoint(port=9, connections=1, size=1, rate=10_000.0, duration=1.0).samples_needed == 10_000
    assert point(size=1 << 20, connections=10_000, rate=20_000.0).size == 1 << 20
    with pytest.raises(ValueError, match=r"^pipeline 0 is not allowed: an integer in 1\.\.1024"):
        closed_loop_probe("127.0.0.1", 9, 1, 64, 1.0, pipeline=0)
    with pytest.raises(ValueError, match=r"^size 0 is not allowed"):
        closed_loop_probe("127.0.0.1", 9, 1, 0, 1.0)


def test_the_client_limited_rule() -> None:
    rule = loadgen.client_limited
    assert rule("open", 0.92, 0.0, 0)[0] and rule("closed", 0.92, 0.0, 0)[0]  # (a) busy >= 90 %
    assert not rule("open", 0.30, 0.0, 999_999)[0]  # spinning idly, a little late: fine
    assert rule("open", 0.10, 0.44, 4_260_000) == (
        True, "schedule lag p99 4.26 ms (limit 1 ms): no CPU to spare (busy 10%, waited for a CPU 44% of the window)")
    assert rule("open", 0.10, None, 1_000_000)[0]  # (b) without schedstat too
    assert not rule("closed", 0.10, 0.5, 2_000_000)[0]  # no schedule in closed loop


def test_buckets_are_narrow_and_cover_the_range() -> None:
    values = [int(10 ** (e / 20)) for e in range(60, 221)]  # 1 us .. 100 s, log-spaced
    for v in values:
        lo, hi = bucket_bounds(bucket_of(v))
        assert lo <= v < hi and (hi - lo) / lo <= 0.01, (v, lo, hi)
    assert [bucket_of(v) for v in values] == sorted(bucket_of(v) for v in values)


def test_histogram_percentiles_and_merge() -> None:
    a = Histogram.from_rows([[bucket_bounds(bucket_of(v))[0], bucket_bounds(bucket_of(v))[1], 1]
                             for v in range(1000, 101_000, 1000)], max_ns=100_000)
    assert a.total == 100
    p50, p99, top = a.percentiles([50, 99, 100])
    assert p50 is not None and 50_000 <= p50 <= 50_000 * 1.008
    assert p99 is not None and 99_000 <= p99 <= 99_000 * 1.008 and top == 100_000
    b = Histogram.from_rows([[1000, 1008, 100]], max_ns=1007)
    merged = Histogram.merge([a, b])
    assert merged.total == 200 and merged.max_ns == 100_000 and merged.percentile(50) == 1007
    assert Histogram().percentile(99) is None
    with pytest.raises(ValueError, match="percentiles"):
        a.percentile(0)


def test_the_c_source_compiles_without_warnings(tmp_path: Path) -> None:
    compiler = cstub.find_compiler()
    if compiler is None:
        pytest.skip("no C compiler")
    proc = subprocess.run([compiler, *loadgen.CFLAGS, "-Werror", str(loadgen.SOURCE), "-o",
                           str(tmp_path / "loadgen"), "-lm"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    assert shutil.which(str(tmp_path / "loadgen"))


def test_the_timeline_counts_every_echo_by_the_millisecond(server: EchoServer, client: str) -> None:
    """What a measurement over part of a run (strace attached to the server) divides by:
    echoes per ms since the client's t0, on the clock every process shares."""
    before = time.monotonic_ns()
    r = run_load(point(server.port, timeline=True), client=client)  # type: ignore[arg-type]
    after = time.monotonic_ns()
    assert r.error_count == 0
    everything = r.completions_between(before, after)
    assert everything == 2400  # 0.2 s of warm-up and 1 s measured at 2,000/s: all echoed
    t0 = int(r.raw["t0_ns"])
    window = r.completions_between(t0 + 200_000_000, t0 + 1_200_000_000)
    assert window is not None and abs(window - r.received) <= 10  # edges: within a ms of sends
    assert run_load(point(server.port), client=client).completions_between(before, after) is None  # type: ignore[arg-type]
