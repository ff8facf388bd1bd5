"""Latency against offered load for an echo server: probe, steps, knees refined by bisection.

For each server (a scheduler's echo variant, ``bench.measure.echo_children.serve``, in its own
process tree on its own CPU) and each (message size, connections):

1. **Probe**: a closed-loop run (each connection keeps one request outstanding) gives the
   server's throughput ceiling, ``probe.achieved_rate``; open-loop rates are fractions of it.
2. **Steps**: open-loop points at ``STEPS`` × the ceiling, light to past saturation. Each
   point's latency counts from the *intended* send time (``bench.measure.loadgen``), so a
   server that stalls is charged for the queue it causes.
3. **Knees**: the highest offered rate whose p99 stays under 1 ms, and under 10 ms. Between
   the highest rate that met a bound and the lowest that did not, points are added by
   bisection until the two are at most ``KNEE_RESOLUTION`` (5 %) apart.

**One message in flight per connection** (``in_flight=1``, the default; wrk2's discipline):
a message that falls due while its connection's previous echo is out waits in the client,
its latency still counted from its intended time. Pipelined load (``in_flight=0``, every
message sent on schedule) lets a server that falls behind read many messages per call: it
batches, its CPU per request falls as load grows, and its p99 passes 1 ms only when the
client is nearly out of CPU itself, so the knees measure the client and the batching, not
the loop (docs/design.md has the pipelined sweep that showed it). One in flight charges
each loop its own cost per request, as request-response protocols do.

**A failure must repeat**: on a shared machine one stall of the VM holds every request due
during it, more than 1 % of a 2-second point's requests when it lasts over 20 ms, so it
can push that point's p99 over either bound at any load. The rate that decides a knee — the
lowest rate that broke the bound — is therefore measured once more whenever it broke it in
a single measurement, and counts as breaking the bound only if every measurement of it did.
Both measurements are kept. A load that truly breaks the bound breaks it again; a knee
moves only when the server met the bound at a load the first measurement refused.

A point where the client ran out of CPU is ``client_limited``: recorded and marked, never a
knee and never drawn as the server's figure. A point whose echoes were wrong (corrupted,
reordered, short) makes the server INVALID; a server that does not start, or dies, FAILED
with its stderr's last line. Every child is ended after its cell's sweep
(``isolate.run``'s process tree), so nothing outlives a server. The servers of a cell are
swept interleaved (``bench.measure.echo_rounds``).

Server CPU per request: the server process's CPU time (``/proc/PID/stat``) over each point's
whole run (warm-up included) divided by the echoes it sent back.

Syscalls per request (``count_syscalls``): one more point at ``SYSCALL_LOAD`` (10 %) of the
1 ms knee (of the ceiling when there is none), with strace attached to the server for part
of it (``bench.measure.echo_syscalls``). That point's latencies are not kept: strace slows
every call.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.measure import echo_syscalls, isolate, loadgen
from bench.results.echo_file import EchoPoint

#: Offered load as fractions of the closed-loop ceiling.
STEPS: Final = (0.1, 0.4, 0.7, 1.0, 1.3)
QUICK_STEPS: Final = (0.1, 0.5, 0.9, 1.2)
#: Knee bisection stops when the bracket is this narrow (relative to its upper end).
KNEE_RESOLUTION: Final = 0.05
KNEE_BOUNDS_US: Final = (1_000.0, 10_000.0)
MAX_BISECTIONS: Final = 4
#: Re-measurements of the rate that decides a knee, per bound (``_suspect``).
MAX_REPEATS: Final = 2
#: Past the last step, while the server still meets 10 ms: up to this many points, each this
#: much heavier than the one before.
MAX_BEYOND: Final = 3
BEYOND_FACTOR: Final = 1.4
SERVER_START_S: Final = 30.0
#: Open-loop points per server in a default sweep, on average (``elapsed_estimate``).
POINTS_PER_SWEEP: Final = 15
POINT_OVERHEAD_S: Final = 0.25
#: The light load syscalls are counted at, as a fraction of the 1 ms knee.
SYSCALL_LOAD: Final = 0.1


@dataclass
class ServerSweep:
    name: str
    scheduler: str
    variant: str
    size: int
    connections: int
    in_flight: int = 1
    family: str | None = None
    status: str = "valid"
    reasons: list[str] = field(default_factory=list)
    probe: EchoPoint | None = None
    points: list[EchoPoint] = field(default_factory=list)
    knees: dict[str, float | None] = field(default_factory=dict)
    #: {"offered_rate", "seconds", "per_request": {name: calls per request, "total": …}}, or
    #: {"reason": why not} when counting was asked for and could not be done; None: not asked.
    syscalls: dict[str, Any] | None = None


@dataclass(frozen=True)
class SweepSettings:
    point_s: float
    warmup_s: float
    steps: Sequence[float]
    probe_s: float
    server_cpu: int | None
    client_cpu: int | None
    arrival: str = "constant"
    #: Messages outstanding per connection at most (1: wrk2's discipline; 0: pipelined).
    in_flight: int = 1
    count_syscalls: bool = False


def placement() -> tuple[int | None, int | None]:
    """(server CPU, client CPU): two different CPUs when this process may use two."""
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[-1], cpus[0]) if len(cpus) >= 2 else (None, None)


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class RunningServer:
    """An echo server in its own isolated process tree, until ``stop``."""

    def __init__(self, scheduler: str, variant: str, cpu: int | None, workdir: Path) -> None:
        self._stop = threading.Event()
        self.port: int | None = None
        self.pid: int | None = None
        self.report: isolate.Report | None = None
        self._started = threading.Event()
        request = isolate.Request(handler="echo-server", limit_s=24 * 3600.0,
                                  params={"scheduler": scheduler, "variant": variant, "cpu": cpu})

        def tick(report: isolate.Report) -> None:
            for message in report.messages:
                if isinstance(message, dict) and isinstance(message.get("port"), int):
                    self.port, self.pid = message["port"], message.get("pid")
                    self._started.set()

        def watch() -> None:
            self.report = isolate.run(request, workdir, on_tick=tick, stop=self._stop)
            self._started.set()

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()

    def wait_started(self) -> str | None:
        """None when serving; else why it did not start."""
        self._started.wait(SERVER_START_S)
        if self.port is not None and self.report is None:
            return None
        if self.report is not None:
            return self.report.reason or "ended before it listened"
        return f"did not report a port within {SERVER_START_S:.0f} s"

    def failure(self) -> str | None:
        """Why the server ended on its own (None: still serving)."""
        report = self.report
        if report is None:
            return None
        tail = isolate.last_line(report.stderr_tail)
        return f"{report.reason}; stderr: {tail}"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_client(params: dict[str, Any], workdir: Path, timeout_s: float) -> loadgen.LoadResult:
    request = isolate.Request(handler="load-client", params=params, limit_s=timeout_s)
    report = isolate.run(request, workdir)
    if not report.reported or not isinstance(report.result, dict):
        raise RuntimeError(report.reason or "the load generator sent no result")
    raw = report.result
    return loadgen.result_from_json(raw["raw"], top_percentile=float(raw["top_percentile"]),
                                    notes=raw.get("notes", ()))


def _point(result: loadgen.LoadResult, cpu_s: float | None) -> EchoPoint:
    """The results model's point (rates per second, µs) from one client run."""
    def us(ns: int | None) -> float | None:
        return None if ns is None else ns / 1e3

    per_request = (cpu_s / result.received * 1e6) if cpu_s is not None and result.received else None
    return EchoPoint(mode=result.mode, offered_rate=result.rate, achieved_rate=result.achieved_rate,
                     p50_us=us(result.p50_ns), p99_us=us(result.p99_ns), p999_us=us(result.p999_ns),
                     max_us=us(result.max_ns), sent=result.sent, received=result.received, errors=dict(result.errors),
                     client_busy_share=result.busy_share, lag_p99_us=result.lag_p99_ns / 1e3,
                     client_limited=result.client_limited, limited_reason=result.limited_reason,
                     server_cpu_per_request_us=per_request, client=result.client, backlog=result.backlog)


def _meets(point: EchoPoint, bound_us: float) -> bool:
    return not point.client_limited and point.p99_us is not None and point.p99_us < bound_us


#: A server's sweep as a plan: it yields the next point's client parameters and is sent the
#: point measured; it returns when the knees are found (``ServerSweep`` holds the outcome).
Plan = Generator[dict[str, Any], EchoPoint, None]


def sweep_plan(out: ServerSweep, settings: SweepSettings) -> Plan:
    """Probe, steps, beyond, then each knee's repeats and bisection, for one server.

    A plan rather than a loop that measures: ``bench.measure.echo_rounds`` interleaves the
    plans of every server of a cell, one point each in turn, so the machine's slow minutes
    fall on every server alike instead of on whichever was being swept then."""
    out.probe = yield {"mode": "closed", "duration": settings.probe_s, "warmup": settings.warmup_s}
    ceiling = out.probe.achieved_rate
    if ceiling <= 0:
        out.status, out.reasons = "failed", ["the closed-loop probe got no echo back"]
        return
    for step in settings.steps:
        out.points.append((yield _open(ceiling * step, settings)))
    # Open loop can go past the closed-loop ceiling (the probe waits on wake-ups an open load
    # does not): keep raising the load until the 10 ms bound breaks or the client runs out.
    rate = ceiling * settings.steps[-1]
    for _ in range(MAX_BEYOND):
        last = out.points[-1]
        if last.client_limited or not _meets(last, KNEE_BOUNDS_US[-1]):
            break
        rate *= BEYOND_FACTOR
        out.points.append((yield _open(rate, settings)))
    for bound in KNEE_BOUNDS_US:
        repeats = MAX_REPEATS
        for _ in range(MAX_BISECTIONS + MAX_REPEATS):
            suspect = _suspect(out.points, bound)
            if suspect is not None and repeats > 0:
                repeats -= 1
                out.points.append((yield _open(suspect, settings)))
                continue
            low, high = _bracket(out.points, bound)
            if low is not None and high is None:
                # Nothing above broke the bound but a load above was client-limited: bisect
                # up to the client's limit, so the knee is the server's to within 5 % or a
                # lower bound no more than 5 % under the load the client could offer.
                high = _client_limit_above(out.points, low)
            if low is None or high is None or (high - low) / high <= KNEE_RESOLUTION:
                break
            out.points.append((yield _open((low + high) / 2, settings)))
    out.points.sort(key=lambda p: p.offered_rate or 0.0)
    for bound in KNEE_BOUNDS_US:
        key = f"p99<{bound / 1000:g}ms"
        knee, broken = _bracket(out.points, bound)
        out.knees[key] = knee
        if knee is not None and broken is None and _client_limit_above(out.points, knee) is not None:
            out.reasons.append(f"knee {key} is a lower bound: the loads above it were client-limited")


def syscall_rate(out: ServerSweep) -> float:
    """The light load syscalls are counted at: ``SYSCALL_LOAD`` of the 1 ms knee (of the probe's
    ceiling when there is none)."""
    ceiling = out.probe.achieved_rate if out.probe else 0.0
    return SYSCALL_LOAD * (out.knees.get("p99<1ms") or ceiling)


class ServerUnderTest:
    """One server of a sweep: its process, its outcome so far, and how a point is measured."""

    def __init__(self, out: ServerSweep, settings: SweepSettings, workdir: Path) -> None:
        self.out, self.settings, self.workdir = out, settings, workdir
        self.server = RunningServer(out.scheduler, out.variant, settings.server_cpu, workdir / "server")
        self.points = 0

    def measured(self, params: dict[str, Any]) -> tuple[loadgen.LoadResult, EchoPoint]:
        """One client run against this server; a wrong echo makes it INVALID; a server that
        died raises RuntimeError."""
        server, out = self.server, self.out
        self.points += 1
        before = _cpu_seconds(server.pid) if server.pid else None
        base = {"host": "127.0.0.1", "port": server.port, "connections": out.connections, "size": out.size,
                "cpu": self.settings.client_cpu, "arrival": self.settings.arrival, "in_flight": out.in_flight}
        run = {**base, **params}
        length = float(run["duration"]) + float(run["warmup"])
        result = run_client(run, self.workdir / f"client-{self.points}", timeout_s=length + 60.0)
        after = _cpu_seconds(server.pid) if server.pid else None
        point = _point(result, after - before if before is not None and after is not None else None)
        if result.error_count:
            out.status = "invalid"
            out.reasons.append(f"at {point.offered_rate or 0:,.0f}/s the echoes were wrong: {dict(result.errors)}")
        gone = server.failure()
        if gone is not None:
            raise RuntimeError(f"the server died: {gone}")
        return result, point

    def count_syscalls(self) -> None:
        if self.settings.count_syscalls and self.server.pid is not None and self.out.status != "failed":
            self.out.syscalls = _count_syscalls(self.server.pid, syscall_rate(self.out), self.settings,
                                                self.measured, self.workdir / "syscalls")


def _count_syscalls(pid: int, rate: float, settings: SweepSettings,
                    measured: Callable[[dict[str, Any]], tuple[loadgen.LoadResult, EchoPoint]],
                    workdir: Path) -> dict[str, Any]:
    """Syscalls per request of the server at ``rate``: strace attached while the client sends."""
    why = echo_syscalls.unavailable()
    if why is not None:
        return {"reason": why}
    seconds = max(1.0, settings.point_s - 1.0)
    load = {**_open(rate, settings), "top_percentile": 99.0, "duration": settings.point_s + 1.0, "warmup": 0.5,
            "timeline": True}
    counts: list[echo_syscalls.ServerCount] = []

    def attach_soon() -> None:  # once the client is sending: the counted seconds are all under load
        time.sleep(0.3)
        counts.append(echo_syscalls.ServerCount(pid, seconds, workdir))

    starter = threading.Thread(target=attach_soon, daemon=True)
    starter.start()
    result, _ = measured(load)
    starter.join()
    got = counts[0].result()
    if isinstance(got, str):
        return {"reason": got}
    calls, (attached_ns, detached_ns) = got
    # The echoes the client completed while strace was attached (both read CLOCK_MONOTONIC).
    requests = result.completions_between(attached_ns, detached_ns)
    if not requests:
        return {"reason": "no echo completed while strace was attached"}
    per_request = {name: n / requests for name, n in sorted(calls.items())}
    return {"offered_rate": rate, "seconds": (detached_ns - attached_ns) / 1e9,
            "per_request": {**per_request, "total": sum(calls.values()) / requests}}


def _open(rate: float, settings: SweepSettings) -> dict[str, Any]:
    # Enough samples for p99.9 where the rate allows; p99 (1,000 samples) below that.
    top = 99.9 if rate * settings.point_s >= 10_000 else 99.0
    duration = max(settings.point_s, 1_100 / rate) if top == 99.0 else settings.point_s
    return {"mode": "open", "rate": rate, "duration": duration, "warmup": settings.warmup_s, "top_percentile": top}


def _verdicts(points: Sequence[EchoPoint], bound_us: float) -> list[tuple[float, bool, int]]:
    """(offered rate, met the bound in any measurement, measurements) per rate, ascending;
    client-limited points are no verdict on the server."""
    by_rate: dict[float, list[EchoPoint]] = {}
    for p in points:
        if p.mode == "open" and not p.client_limited and p.offered_rate is not None:
            by_rate.setdefault(p.offered_rate, []).append(p)
    return [(rate, any(_meets(p, bound_us) for p in group), len(group)) for rate, group in sorted(by_rate.items())]


def _bracket(points: Sequence[EchoPoint], bound_us: float) -> tuple[float | None, float | None]:
    """(highest offered rate meeting the bound below every failing one, lowest failing rate)."""
    low = high = None
    for rate, met, _ in _verdicts(points, bound_us):
        if met:
            if high is None:
                low = rate
        elif high is None:
            high = rate
    return low, high


def _client_limit_above(points: Sequence[EchoPoint], rate: float) -> float | None:
    """The lowest open-loop rate above ``rate`` at which the client ran out of CPU."""
    limited = [p.offered_rate for p in points
               if p.mode == "open" and p.client_limited and p.offered_rate is not None and p.offered_rate > rate]
    return min(limited, default=None)


def _suspect(points: Sequence[EchoPoint], bound_us: float) -> float | None:
    """The rate that decides the knee (the lowest that broke the bound) when it broke it in its
    only measurement: one stall of the machine, or the server's limit? Measured again to tell."""
    for rate, met, count in _verdicts(points, bound_us):
        if not met:
            return rate if count == 1 else None
    return None


def elapsed_estimate(servers: int, settings: SweepSettings) -> float:
    """Seconds a sweep is expected to take: probe, steps, beyond, repeats and bisections.

    ``POINTS_PER_SWEEP`` is what the default sweeps took on average (they stop early or late
    with the server), and ``POINT_OVERHEAD_S`` a client's start and end."""
    per_point = settings.point_s + settings.warmup_s + POINT_OVERHEAD_S
    syscalls = settings.point_s + 1.5 + POINT_OVERHEAD_S if settings.count_syscalls else 0.0
    points = POINTS_PER_SWEEP - (len(STEPS) - len(settings.steps))
    return servers * (settings.probe_s + settings.warmup_s + points * per_point + syscalls)

