"""``python -m bench echo``: bad input refused before any server starts, a real sweep of one
server end to end, a corrupting server INVALID, a server that cannot start FAILED with its
reason, no process left behind, and the results file validated on load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, TESTS_DIR, write_plugin_distribution

from bench.measure import isolate, loadgen
from bench.measure.strace import strace_problem
from bench.results.echo_file import EchoDocument, load_echo
from bench.results.fields import ResultsError

BROKEN = {"corrupts-echo": "broken_schedulers:CorruptsEcho", "crashing-echo": "broken_schedulers:CrashingEcho"}


def bench(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bench``; the orchestrator's pid is kept in ``LAST_PID`` for ``_left_behind``."""
    with subprocess.Popen([sys.executable, "-m", "bench", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, cwd=ROOT, env=env) as proc:
        LAST_PID[0] = proc.pid
        out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


LAST_PID = [0]


@pytest.mark.parametrize(("args", "needle"), [
    (["--sizes", "999"], "message size 999 is not one of 1024, 10240, 102400 bytes"),
    (["--connections", "0"], "0 is too small"),
    (["--connections", "5000"], "5,000 connections is not allowed; use 1 … 1,000"),
    (["--point-seconds", "0.2"], "0.2 s per point is not allowed; use 1 … 5"),
    (["-s", "no-such-loop"], "unknown scheduler 'no-such-loop'"),
    (["-o", "/proc/echo.json"], "cannot write the echo results file /proc/echo.json"),
])
def test_bad_input_is_one_line_before_any_server_starts(tmp_path: Path, args: list[str], needle: str) -> None:
    proc = bench("echo", *args, *([] if "-o" in args else ["-o", str(tmp_path / "e.json")]))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert not (tmp_path / "e.json").exists()


def _left_behind() -> list[int]:
    """Processes of the last ``bench`` run still alive: every child carries the orchestrator's
    scratch folder, named after its pid, in its environment."""
    marker = f"{isolate.OWNER_VARIABLE}={tempfile.gettempdir()}/{isolate.SCRATCH_PREFIX}{LAST_PID[0]}-".encode()
    left = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes():
                    left.append(int(entry.name))
            except OSError:
                continue
    return left


needs_c = pytest.mark.skipif(loadgen.c_client().path is None, reason="no C compiler for the load generator")


@needs_c
@pytest.mark.slow
def test_a_sweep_of_one_server_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "echo.json"
    proc = bench("echo", "--quick", "-s", "hybrid", "--point-seconds", "1", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = load_echo(out)
    (server,) = doc.servers
    assert server.name == "hybrid" and server.status == "valid" and server.size == 1024 and server.connections == 10
    assert server.probe is not None and server.probe.achieved_rate > 0
    rates = [p.offered_rate for p in server.points]
    assert rates == sorted(rates) and len(rates) >= 4  # light to past the closed-loop ceiling
    assert set(server.knees) == {"p99<1ms", "p99<10ms"}
    assert all(p.received > 0 and not any(p.errors.values()) for p in server.points)
    assert server.in_flight == 1 and server.family == "this-project"
    calls = server.syscalls
    assert calls is not None
    if strace_problem() is None:  # at a light load every request is one read and one write
        assert calls.reason is None, calls.reason
        assert calls.per_request["recvfrom"] == pytest.approx(1.0, abs=0.05), calls.per_request
        assert calls.per_request["sendto"] == pytest.approx(1.0, abs=0.05), calls.per_request
        assert calls.per_request["total"] >= 2.0
    else:
        assert calls.reason == strace_problem()
    assert doc.environment["placement"]["server_cpu"] != doc.environment["placement"]["client_cpu"] or \
        os.cpu_count() == 1
    shown = bench("show", str(out))
    assert shown.returncode == 0 and "Echo servers: 1,024-byte messages, 10 connection(s)" in shown.stdout
    assert _left_behind() == []  # nothing outlives its sweep


@needs_c
@pytest.mark.slow
def test_a_corrupting_server_is_invalid_and_a_crashing_one_failed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_plugin_distribution(site, BROKEN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(TESTS_DIR), str(ROOT)])}
    out = tmp_path / "echo.json"
    proc = bench("echo", "--quick", "-s", "corrupts-echo,crashing-echo", "--point-seconds", "1", "-o", str(out),
                 env=env)
    assert proc.returncode == 1, proc.stderr
    servers = {s.name: s for s in load_echo(out).servers}
    assert servers["corrupts-echo"].status == "invalid"
    assert "the echoes were wrong" in " ".join(servers["corrupts-echo"].reasons)
    assert servers["crashing-echo"].status == "failed"
    assert "this echo server cannot start" in " ".join(servers["crashing-echo"].reasons)
    assert _left_behind() == []


def _point(**change: Any) -> dict[str, Any]:
    point = {"mode": "open", "offered_rate": 1000.0, "achieved_rate": 1000.0, "p50_us": 50.0, "p99_us": 90.0,
             "p999_us": 200.0, "max_us": 300.0, "sent": 3000, "received": 3000, "errors": {},
             "client_busy_share": 0.2, "lag_p99_us": 10.0, "client_limited": False, "limited_reason": "",
             "server_cpu_per_request_us": 20.0, "client": "c"}
    return {**point, **change}


def _file(points: list[dict[str, Any]], twice: bool = False) -> dict[str, Any]:
    server = {"name": "hybrid", "scheduler": "hybrid", "variant": "default", "size": 1024, "connections": 10,
              "status": "valid", "reasons": [], "probe": None, "points": points,
              "knees": {"p99<1ms": 1000.0, "p99<10ms": None}}
    return {"schedbench_echo": {"format": "schedbench-echo", "version": 1, "created_utc": "2026-12-02T00:00:00Z",
                                "command": "x", "complete": True, "environment": {}, "settings": {},
                                "servers": [server, server] if twice else [server]}}


def test_the_file_round_trips() -> None:
    doc = EchoDocument.from_json(_file([_point()]), "f")
    assert EchoDocument.from_json(json.loads(json.dumps(doc.to_json())), "g") == doc


@pytest.mark.parametrize(("raw", "needle"), [
    (_file([_point(p99_us=10.0)]), "percentiles out of order"),
    (_file([_point(sent=-1)]), "sent"),
    (_file([_point(offered_rate=None)]), "an open-loop point needs its offered rate"),
    (_file([_point()], twice=True), "a second sweep of hybrid"),
])
def test_implausible_files_are_refused_naming_the_field(raw: dict[str, Any], needle: str) -> None:
    with pytest.raises(ResultsError, match="f:") as caught:
        EchoDocument.from_json(raw, "f")
    assert needle in str(caught.value)
