"""The knee rule of the echo sweep: the load that decides a knee (the lightest that broke the
bound) is measured again when it broke it once, and a rate breaks the bound only if every
measurement of it did."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.measure.echo_sweep import _bracket, _suspect
from bench.results.echo_file import EchoPoint


def pt(rate: float, p99_us: float, limited: bool = False) -> EchoPoint:
    return EchoPoint(mode="open", offered_rate=rate, achieved_rate=rate, p50_us=p99_us / 2, p99_us=p99_us,
                     p999_us=None, max_us=p99_us, sent=1, received=1, errors={}, client_busy_share=0.5,
                     lag_p99_us=1.0, client_limited=limited, limited_reason="", server_cpu_per_request_us=None,
                     client="c")


def test_the_failure_that_decides_the_knee_is_measured_again() -> None:
    points = [pt(10, 100), pt(20, 200), pt(30, 1500), pt(40, 9000)]
    assert _suspect(points, 1000) == 30  # one stall could have done it
    assert _bracket(points, 1000) == (20, 30)
    confirmed = [*points, pt(30, 1700)]
    assert _suspect(confirmed, 1000) is None  # twice is the server's doing; 40 decides nothing
    assert _bracket(confirmed, 1000) == (20, 30)
    refuted = [*points, pt(30, 600)]
    assert _suspect(refuted, 1000) == 40  # now 40 decides the knee: measured again in turn
    assert _bracket(refuted, 1000) == (30, 40)


def test_a_lone_failure_below_a_pass_is_suspect_until_measured_again() -> None:
    points = [pt(10, 100), pt(20, 1600), pt(30, 300), pt(40, 9000)]
    assert _suspect(points, 1000) == 20
    assert _bracket(points, 1000) == (10, 20)
    passed_again = [*points, pt(20, 150)]
    assert _suspect(passed_again, 1000) == 40  # the next deciding failure, measured once
    assert _bracket(passed_again, 1000) == (30, 40)  # the stall is not the server's knee
    failed_again = [*points, pt(20, 1800)]
    assert _suspect(failed_again, 1000) is None  # twice is the server's doing
    assert _bracket(failed_again, 1000) == (10, 20)


def test_client_limited_points_are_no_verdict() -> None:
    points = [pt(10, 100), pt(20, 5000, limited=True), pt(30, 400)]
    assert _suspect(points, 1000) is None
    assert _bracket(points, 1000) == (30, None)


def test_the_strace_summary_is_read_by_name() -> None:
    from bench.measure.echo_syscalls import parse_summary

    table = """% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 80.20    0.614609          15     40699           sendto
 16.38    0.125557           3     40698        12 recvfrom
  3.40    0.026061           3      7890           epoll_wait
------ ----------- ----------- --------- --------- ------------------
100.00    0.766227                 89287        12 total
"""
    assert parse_summary(table) == {"sendto": 40699, "recvfrom": 40698, "epoll_wait": 7890}


def test_the_servers_of_a_cell_are_swept_in_rounds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each server's plan advances one point per round (order rotating), so no server's
    points bunch in one stretch of the sweep; a server that dies is dropped, the rest go on."""

    from bench.measure import echo_rounds
    from bench.measure.echo_sweep import ServerSweep, SweepSettings

    calls: list[str] = []

    class FakeServer:
        def __init__(self, name: str) -> None:
            self.name, self.pid = name, None

        def wait_started(self) -> None:
            return None

        def stop(self) -> None:
            calls.append(f"stop {self.name}")

    class FakeTest:
        def __init__(self, out: ServerSweep, settings: SweepSettings, workdir: object) -> None:
            self.out, self.server, self.n = out, FakeServer(out.name), 0

        def measured(self, params: dict[str, object]) -> tuple[None, EchoPoint]:
            self.n += 1
            calls.append(self.out.name)
            if self.out.name == "dies" and self.n == 3:
                raise RuntimeError("the server died: on purpose")
            rate = float(params.get("rate", 0.0))  # type: ignore[arg-type]
            return None, pt(rate, 100 if rate < 5000 else 20_000) if params["mode"] == "open" else \
                EchoPoint(**{**pt(0, 50).__dict__, "mode": "closed", "offered_rate": None, "achieved_rate": 10_000})

        def count_syscalls(self) -> None:
            calls.append(f"syscalls {self.out.name}")

    monkeypatch.setattr(echo_rounds, "ServerUnderTest", FakeTest)
    settings = SweepSettings(point_s=1, warmup_s=0.1, steps=(0.1, 0.4, 0.7, 1.0), probe_s=1, server_cpu=None,
                             client_cpu=None)
    cell = [ServerSweep(n, n, "default", 1024, 10) for n in ("a", "b", "dies")]
    finished: list[str] = []
    echo_rounds.sweep_cell(cell, settings, tmp_path, lambda s: finished.append(s.name))
    measured = [c for c in calls if " " not in c]
    assert measured[:6] == ["a", "b", "dies", "b", "dies", "a"]  # round 1, then round 2 rotated
    assert measured.count("dies") == 3 and cell[2].status == "failed" and "on purpose" in cell[2].reasons[-1]
    assert cell[0].status == cell[1].status == "valid" and cell[0].knees["p99<1ms"] is not None
    assert set(finished) == {"a", "b", "dies"} and finished[0] == "dies"
    assert {"syscalls a", "syscalls b", "stop a", "stop b", "stop dies"} <= set(calls)


def test_a_knee_below_a_client_limited_load_is_bisected_up_to_the_clients_limit() -> None:
    """The server met 10 ms at 100/s; 140/s was client-limited (no verdict on the server): the
    plan measures between the two until they are 5 % apart instead of stopping at 100/s."""
    from bench.measure.echo_sweep import ServerSweep, SweepSettings, sweep_plan

    settings = SweepSettings(point_s=1, warmup_s=0.1, steps=(0.1, 0.5, 1.0, 1.4), probe_s=1, server_cpu=None,
                             client_cpu=None)
    out = ServerSweep("s", "s", "default", 1024, 10)
    plan = sweep_plan(out, settings)
    params = next(plan)
    asked: list[float] = []
    try:
        while True:
            if params["mode"] == "closed":
                point = EchoPoint(**{**pt(0, 50).__dict__, "mode": "closed", "offered_rate": None,
                                     "achieved_rate": 100.0})
            else:
                rate = float(params["rate"])
                asked.append(rate)
                # p99 grows with load, never to 10 ms; the client runs out above 120/s.
                point = pt(rate, 2000.0 * rate / 100, limited=rate > 120)
            params = plan.send(point)
    except StopIteration:
        pass
    knee = out.knees["p99<10ms"]
    assert knee is not None and 114 <= knee <= 120, asked  # within 5 % of the client's limit
    assert out.knees["p99<1ms"] is None or out.knees["p99<1ms"] < 50
    assert any("lower bound" in r for r in out.reasons)
