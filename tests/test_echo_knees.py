"""The knee rule of the echo sweep: a bound broken once below a load that met it is measured
again, and a rate breaks the bound only if every measurement of it did."""

from __future__ import annotations

from bench.measure.echo_sweep import _bracket, _suspect
from bench.results.echo_file import EchoPoint


def pt(rate: float, p99_us: float, limited: bool = False) -> EchoPoint:
    return EchoPoint(mode="open", offered_rate=rate, achieved_rate=rate, p50_us=p99_us / 2, p99_us=p99_us,
                     p999_us=None, max_us=p99_us, sent=1, received=1, errors={}, client_busy_share=0.5,
                     lag_p99_us=1.0, client_limited=limited, limited_reason="", server_cpu_per_request_us=None,
                     client="c")


def test_a_monotone_sweep_has_no_suspect_and_brackets_its_first_failure() -> None:
    points = [pt(10, 100), pt(20, 200), pt(30, 1500), pt(40, 9000)]
    assert _suspect(points, 1000) is None
    assert _bracket(points, 1000) == (20, 30)


def test_a_lone_failure_below_a_pass_is_suspect_until_measured_again() -> None:
    points = [pt(10, 100), pt(20, 1600), pt(30, 300), pt(40, 9000)]
    assert _suspect(points, 1000) == 20
    assert _bracket(points, 1000) == (10, 20)
    passed_again = [*points, pt(20, 150)]
    assert _suspect(passed_again, 1000) is None
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
