"""Load generation for the echo-service benchmark: latency against offered load, as wrk2.

``run_load(LoadPoint(...))`` drives a TCP echo server at a fixed offered rate and returns
a ``LoadResult``; ``closed_loop_probe`` finds the throughput ceiling (each connection
keeping ``pipeline`` requests outstanding), from which the open-loop rates are chosen.

The client, and why it is C: a Python client cannot keep up (a plain-epoll pipelined one
reached ~120-132k req/s at 93-97 % of a core on the 2-core development VM against a
uvloop server), and a client at its limit measures itself. ``_loadgen.c`` (its header
has the design: open-loop schedule, coordinated-omission-free latency from the intended
send time, every echoed byte verified, HDR-style histogram) is compiled on first use
with the system compiler into a per-user cache keyed by its source
(``bench.measure.cstub``), exactly as the Callgrind stub is, so installing schedbench
needs no compiler. Without one, ``bench.measure.loadgen_python`` (same command line,
wire format, schedule and JSON) runs instead and ``LoadResult.client`` says
``"python"``, with the reason in ``notes``. The client runs as a child process: its
CPU is its own (``cpu`` pins it), the harness's interpreter never competes with it, and
it asks for SIGKILL when its parent dies.

Rules, stated once:

* **Validation** (``LoadPoint``): ``connections`` 1..10,000, ``size`` 1 B..1 MiB,
  ``rate`` > 0, ``duration`` > 0, ``warmup`` >= 0, ``port`` 1..65535, ``cpu`` one this
  process may run on, and enough samples for the highest percentile reported: the
  expected count ``rate × duration`` must be at least ``TAIL_SAMPLES / (1 − q)``, so
  that ``TAIL_SAMPLES`` = 10 samples lie at or beyond the q-quantile (p99.9 needs
  10,000 samples, p99 1,000). With 10 tail samples the estimate is about the 10th
  largest, whose rank is uncertain by ±√10 ≈ 3 samples: it lands within p99.87..p99.93,
  close enough for a percentile, where fewer samples would make it the maximum of a
  handful. A point reports p99.9 only when ``top_percentile`` >= 99.9.
* **Percentiles** come from the histogram (``Histogram.percentile``): the highest value of
  the bucket holding the rank ``ceil(q × n)``, capped by the exact maximum, so never
  below the true order statistic and at most 0.8 % above (the bucket width).
* **Spinning** (``spin_us``): on the development VM every sleep and wake of the client
  costs ~20 µs of CPU and wakes ~40 µs late (timerfd or ``clock_nanosleep``, measured),
  and a client that sleeps between sends pays up to two per message (a send, an echo).
  With ``spin_us`` > 0 it polls instead when the next send is closer than that (always in
  closed loop): punctual sends, prompt reads, at the price of a busy core, so only where
  it has a core of its own. Measured against uvloop (8 connections, pinned, quiet VM),
  blocking against polling: busy 38 % / 27 % at 10k msg/s, 97 % (client-limited) / 51 % at
  46k, 100 % / 72 % at 92k; schedule lag p99 44-75 µs / 0.1-7 µs; and the blocking
  client's own wakes showed in every latency (p50 77 µs against 33 µs at 10k msg/s).
  Hence the default ``None`` = ``SPIN_US`` when ``cpu`` pins it, else 0 (never spin on a
  CPU the server may need). Polls that found nothing are reported as idle time.
* **busy_share** = (CPU time − idle polling) / wall time of the window: the part of a
  core the client needed (``cpu_share`` is the raw getrusage share, ~100 % when spinning).
* **client_limited**: True when, over the measured window, (a) ``busy_share`` was >=
  ``CPU_LIMIT`` (90 %): the client was busy nearly all the time, more load would have
  queued inside it; or (b) in open loop, its schedule lag grew: p99 >= ``LAG_LIMIT_NS``
  (1 ms). A client that runs sends within ~50 µs of the intended time (a timer wake on
  this VM; ~1 µs when polling), so a lag 20 × that says it had no CPU to spare when the
  sends fell due: its own work, or neighbours holding its CPU, and then its reads were
  late too and the latencies measure the machine, not the server. The reason given says
  which (busy share, and the share of the window it waited in the run queue, from
  ``/proc/self/schedstat``). A window-wide demand threshold was tried and missed such
  points: a neighbour's bursts delay 1 % of the sends while the window's average stays
  low. A limited point's latencies include the client's own queueing: discard it, lower
  the rate, or quiet the machine.

The histogram helpers (``Histogram``) need only numpy and ``[low, high, count]`` rows in
ns (any scheme whose buckets line up when merged: both clients share one), so the
results model can adopt them as they are.
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

from bench.measure import cstub

Arrival = Literal["constant", "poisson"]
ClientChoice = Literal["auto", "c", "python"]

SOURCE: Final = Path(__file__).with_name("_loadgen.c")
CFLAGS: Final = ("-std=c99", "-O2", "-Wall", "-Wextra")
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]
MAX_SIZE: Final = 1 << 20
MAX_CONNECTIONS: Final = 10_000
TAIL_SAMPLES: Final = 10
CPU_LIMIT: Final = 0.90
LAG_LIMIT_NS: Final = 1_000_000
#: Poll rather than sleep when the next send is closer than this (µs), when pinned.
SPIN_US: Final = 100.0
#: Allowance on top of a run's own length (connecting, start-up, the drain) before it is killed.
MARGIN_S: Final = 30.0


# ---- the histogram -------------------------------------------------------------------------

@dataclass(frozen=True)
class Histogram:
    """Non-empty buckets of a latency histogram: ``lows[i] <= value < highs[i]`` (ns) was
    seen ``counts[i]`` times; ``max_ns`` is the exact largest value (None when unknown)."""

    lows: tuple[int, ...] = ()
    highs: tuple[int, ...] = ()
    counts: tuple[int, ...] = ()
    max_ns: int | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[int]], max_ns: int | None = None) -> Histogram:
        """From ``[low, high, count]`` rows (the clients' ``histogram``), in any order."""
        merged: dict[tuple[int, int], int] = {}
        for low, high, count in rows:
            if not (0 <= low < high) or count < 0:
                raise _bad("histogram row", [low, high, count], "need 0 <= low < high and count >= 0")
            merged[(int(low), int(high))] = merged.get((int(low), int(high)), 0) + int(count)
        keys = sorted(k for k, n in merged.items() if n)
        return cls(tuple(k[0] for k in keys), tuple(k[1] for k in keys), tuple(merged[k] for k in keys), max_ns)

    def rows(self) -> list[list[int]]:
        return [[lo, hi, n] for lo, hi, n in zip(self.lows, self.highs, self.counts, strict=True)]

    @property
    def total(self) -> int:
        return sum(self.counts)

    def percentile(self, q: float) -> int | None:
        """The q-th percentile (0 < q <= 100) in ns, None when empty (see the module's rules)."""
        return self.percentiles([q])[0]

    def percentiles(self, qs: Sequence[float]) -> list[int | None]:
        if any(not 0 < q <= 100 for q in qs):
            raise ValueError(f"percentiles {list(qs)!r} are not allowed: each must be in (0, 100]")
        if not self.counts:
            return [None] * len(qs)
        cumulative = np.cumsum(np.asarray(self.counts, dtype=np.int64))
        ranks = np.maximum(1, np.ceil(np.asarray(qs, dtype=np.float64) / 100.0 * cumulative[-1]))
        index = np.searchsorted(cumulative, ranks, side="left")
        highest = np.asarray(self.highs, dtype=np.int64)[index] - 1
        if self.max_ns is not None:
            highest = np.minimum(highest, self.max_ns)
        return [int(v) for v in highest]

    @staticmethod
    def merge(histograms: Iterable[Histogram]) -> Histogram:
        """One histogram of all samples (the buckets of one scheme line up exactly)."""
        items = list(histograms)
        maxima = [h.max_ns for h in items if h.counts]
        return Histogram.from_rows((row for h in items for row in h.rows()),
                                   None if not maxima or None in maxima else max(m for m in maxima if m is not None))


# ---- the request ---------------------------------------------------------------------------

def _bad(name: str, value: object, allowed: str) -> ValueError:
    return ValueError(f"{name} {value!r} is not allowed: {allowed}")


def _check_common(host: str, port: int, connections: int, size: int, duration: float, warmup: float,
                  cpu: int | None) -> None:
    if not isinstance(host, str) or not host:
        raise _bad("host", host, "a non-empty host name or address")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise _bad("port", port, "an integer in 1..65535")
    if isinstance(connections, bool) or not isinstance(connections, int) or not 1 <= connections <= MAX_CONNECTIONS:
        raise _bad("connections", connections, f"an integer in 1..{MAX_CONNECTIONS:,}")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
        raise _bad("size", size, f"an integer number of bytes in 1..{MAX_SIZE:,} (1 MiB)")
    if not isinstance(duration, int | float) or not math.isfinite(duration) or duration <= 0:
        raise _bad("duration", duration, "a positive finite number of seconds")
    if not isinstance(warmup, int | float) or not math.isfinite(warmup) or warmup < 0:
        raise _bad("warmup", warmup, "a finite number of seconds >= 0")
    if cpu is not None:
        allowed = sorted(os.sched_getaffinity(0))
        if isinstance(cpu, bool) or not isinstance(cpu, int) or cpu not in allowed:
            raise _bad("cpu", cpu, f"None or a CPU this process may use: {', '.join(map(str, allowed))}")


@dataclass(frozen=True, kw_only=True)
class LoadPoint:
    """One open-loop load point: ``rate`` messages/s of ``size`` bytes spread over
    ``connections``, ``warmup`` s unrecorded then ``duration`` s measured. Validated here
    (the module's rules); a bad value raises ValueError naming it and what is allowed."""

    host: str = "127.0.0.1"
    port: int
    connections: int
    size: int
    rate: float
    duration: float
    warmup: float = 1.0
    arrival: Arrival = "constant"
    seed: int = 0
    cpu: int | None = None
    #: The highest percentile that must be trustworthy: sets the minimum expected samples.
    top_percentile: float = 99.9
    #: How long to wait after the window for the last measured echoes.
    drain: float = 2.0
    #: Poll when the next send is closer than this (µs); None: ``SPIN_US`` if pinned, else 0.
    spin_us: float | None = None
    #: Messages outstanding per connection at most (1: wrk2's discipline, a due message waits
    #: for the previous echo; 0: none, every message goes out on schedule: pipelining).
    in_flight: int = 1
    #: Report echoes completed per millisecond (``LoadResult.completions_between``).
    timeline: bool = False

    def __post_init__(self) -> None:
        _check_common(self.host, self.port, self.connections, self.size, self.duration, self.warmup, self.cpu)
        if not isinstance(self.rate, int | float) or not math.isfinite(self.rate) or self.rate <= 0:
            raise _bad("rate", self.rate, "a positive finite number of messages per second")
        if self.arrival not in ("constant", "poisson"):
            raise _bad("arrival", self.arrival, "'constant' or 'poisson'")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 1 << 64:
            raise _bad("seed", self.seed, "an integer in 0..2**64-1")
        if not isinstance(self.top_percentile, int | float) or not 50 <= self.top_percentile < 100:
            raise _bad("top_percentile", self.top_percentile, "a percentile in 50..<100 (99.9 for p99.9)")
        if not isinstance(self.drain, int | float) or not math.isfinite(self.drain) or self.drain < 0:
            raise _bad("drain", self.drain, "a finite number of seconds >= 0")
        if self.spin_us is not None and (not isinstance(self.spin_us, int | float) or not 0 <= self.spin_us <= 1e6):
            raise _bad("spin_us", self.spin_us, "None or microseconds in 0..1e6")
        if isinstance(self.in_flight, bool) or not isinstance(self.in_flight, int) or not 0 <= self.in_flight <= 1024:
            raise _bad("in_flight", self.in_flight, "an integer in 0..1024 (0: unbounded, pipelined)")
        needed = self.samples_needed
        if self.rate * self.duration < needed:
            raise _bad("duration", self.duration,
                       f"at rate {self.rate:g}/s it expects {self.rate * self.duration:,.0f} samples; "
                       f"p{self.top_percentile:g} needs >= {needed:,} ({TAIL_SAMPLES} at or beyond it): "
                       f"duration >= {needed / self.rate:g} s")

    @property
    def samples_needed(self) -> int:
        """``TAIL_SAMPLES / (1 - q)``, the fewest expected samples for ``top_percentile``."""
        # Rounded first: 10 / (1 - 0.999) is 10000.000000000009 in floating point.
        return math.ceil(round(TAIL_SAMPLES * 100 / (100 - self.top_percentile), 6))


# ---- the result ----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class LoadResult:
    """What one client run measured (ns for times). ``rate`` is the offered rate (None for
    a closed-loop probe); ``achieved_rate`` the sends (open) or echoes (closed) per second
    in the window. ``cpu_share`` is the client's CPU time over the window's wall time,
    ``busy_share`` the same without idle polling, ``runqueue_share`` the window's share spent
    waiting for a CPU (None when the kernel does not say), ``demand_share`` CPU plus that."""

    client: Literal["c", "python"]
    mode: Literal["open", "closed"]
    connections: int
    size: int
    pipeline: int  # closed: outstanding per connection; open: the cap (0 = none)
    rate: float | None
    achieved_rate: float
    scheduled: int
    sent: int
    received: int
    verified: int
    bytes_verified: int
    errors: Mapping[str, int]
    histogram: Histogram
    p50_ns: int | None
    p99_ns: int | None
    p999_ns: int | None
    max_ns: int | None
    lag_p99_ns: int
    lag_max_ns: int
    cpu_share: float
    busy_share: float
    runqueue_share: float | None
    demand_share: float
    client_limited: bool
    limited_reason: str
    window_wall_s: float
    window_cpu_s: float
    cpu_s: float
    wall_s: float
    schedule_digest: str
    #: open loop, capped: measured messages still waiting in the client when the drain ended
    #: (recorded in the histogram at the latency they had reached, a lower bound).
    backlog: int = 0
    notes: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def completions_between(self, start_ns: int, end_ns: int) -> int | None:
        """Echoes completed in [start, end) (CLOCK_MONOTONIC ns, whole milliseconds from the
        client's start); None unless the run kept a timeline (``LoadPoint.timeline``)."""
        t0, per_ms = self.raw.get("t0_ns"), self.raw.get("completions_per_ms")
        if not isinstance(t0, int) or not isinstance(per_ms, list):
            return None
        return int(sum(per_ms[max(0, (start_ns - t0) // 1_000_000):max(0, (end_ns - t0) // 1_000_000)]))


def client_limited(mode: str, busy_share: float, runqueue_share: float | None,
                   lag_p99_ns: int) -> tuple[bool, str]:
    """(limited, why) by the module's rule."""
    if busy_share >= CPU_LIMIT:
        return True, f"the client was busy {busy_share:.0%} of the time (limit {CPU_LIMIT:.0%})"
    if mode == "open" and lag_p99_ns >= LAG_LIMIT_NS:
        waited = "" if runqueue_share is None else f", waited for a CPU {runqueue_share:.0%}"
        return True, (f"schedule lag p99 {lag_p99_ns / 1e6:.2f} ms (limit {LAG_LIMIT_NS / 1e6:g} ms): no CPU to spare "
                      f"(busy {busy_share:.0%}{waited} of the window)")
    return False, ""


def result_from_json(raw: Mapping[str, Any], *, top_percentile: float = 99.9,
                     notes: Sequence[str] = ()) -> LoadResult:
    """A ``LoadResult`` from a client's JSON object."""
    hist = Histogram.from_rows(raw["histogram"], int(raw["max_ns"]) if raw["histogram"] else None)
    p50, p99, p999 = hist.percentiles([50.0, 99.0, 99.9])
    wall = float(raw["window_wall_s"])
    cpu = float(raw["window_cpu_s"])
    runq = raw.get("window_runqueue_s")
    cpu_share = cpu / wall if wall > 0 else 0.0
    busy = max(0.0, cpu - float(raw.get("window_idle_s", 0.0))) / wall if wall > 0 else 0.0
    runq_share = float(runq) / wall if wall > 0 and runq is not None else None
    limited, why = client_limited(raw["mode"], busy, runq_share, int(raw["lag_p99_ns"]))
    closed = raw["mode"] == "closed"
    return LoadResult(
        client=raw["client"], mode=raw["mode"], connections=int(raw["connections"]), size=int(raw["size"]),
        pipeline=int(raw["pipeline"]), rate=None if closed else float(raw["rate"]),
        achieved_rate=float(raw["achieved_rate"]), scheduled=int(raw["scheduled"]), sent=int(raw["sent"]),
        received=int(raw["received"]), verified=int(raw["verified"]), bytes_verified=int(raw["bytes_verified"]),
        errors={str(k): int(v) for k, v in raw["errors"].items()}, histogram=hist, p50_ns=p50, p99_ns=p99,
        p999_ns=p999 if top_percentile >= 99.9 or closed else None, max_ns=hist.max_ns,
        lag_p99_ns=int(raw["lag_p99_ns"]), lag_max_ns=int(raw["lag_max_ns"]), cpu_share=cpu_share,
        busy_share=busy, runqueue_share=runq_share, demand_share=cpu_share + (runq_share or 0.0),
        client_limited=limited, limited_reason=why, window_wall_s=wall,
        window_cpu_s=cpu,
        cpu_s=float(raw["cpu_user_s"]) + float(raw["cpu_sys_s"]), wall_s=float(raw["wall_s"]),
        schedule_digest=str(raw["schedule_digest"]), backlog=int(raw.get("backlog", 0)), notes=tuple(notes),
        raw=dict(raw))


# ---- running a client ------------------------------------------------------------------------

@functools.cache
def c_client() -> cstub.Build:
    """The compiled C client (built on first use, then found in the cache)."""
    return cstub.compile_once(SOURCE, kind="loadgen", output="loadgen", args=CFLAGS, link_args=("-lm",))


def client_command(args: Sequence[str], client: ClientChoice = "auto") -> tuple[list[str], list[str]]:
    """(command, notes): the C client's when it builds (``auto``/``c``), else the Python one.
    A forced ``c`` that cannot be built raises RuntimeError with the reason."""
    if client != "python":
        build = c_client()
        if build.path is not None:
            return [str(build.path), *args], []
        if client == "c":
            raise RuntimeError(f"the C load generator cannot be built: {build.problem}")
        return ([sys.executable, "-m", "bench.measure.loadgen_python", *args],
                [f"Python fallback client (no C client: {build.problem}); it cannot drive high rates"])
    return [sys.executable, "-m", "bench.measure.loadgen_python", *args], ["Python client requested"]


def run_client(args: Sequence[str], *, client: ClientChoice = "auto",
               timeout_s: float = 60.0) -> tuple[dict[str, Any], list[str]]:
    """Run a client with raw command-line ``args``; (its JSON object, notes). Raises
    RuntimeError when it fails or prints no JSON."""
    command, notes = client_command(args, client)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"the load generator did not finish within {timeout_s:.0f} s") from exc
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    if proc.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {proc.returncode}): {lines[-1] if lines else ''}")
    try:
        raw = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise RuntimeError(f"the load generator printed no JSON: {proc.stdout[-200:]!r}") from exc
    if not isinstance(raw, dict):
        raise RuntimeError("the load generator printed JSON that is not an object")
    return raw, notes


def _args(host: str, port: int, connections: int, size: int, duration: float, warmup: float,
          cpu: int | None, spin_us: float | None) -> list[str]:
    spin = (SPIN_US if cpu is not None else 0.0) if spin_us is None else spin_us
    args = ["--host", host, "--port", str(port), "--connections", str(connections), "--size", str(size),
            "--duration", repr(float(duration)), "--warmup", repr(float(warmup)), "--spin-us", repr(float(spin))]
    return [*args, "--cpu", str(cpu)] if cpu is not None else args


def run_load(point: LoadPoint, *, client: ClientChoice = "auto") -> LoadResult:
    """Offer ``point``'s load to the echo server at ``point.host:point.port`` (open loop)."""
    args = [*_args(point.host, point.port, point.connections, point.size, point.duration, point.warmup,
                   point.cpu, point.spin_us), "--rate", repr(float(point.rate)), "--arrival", point.arrival,
            "--seed", str(point.seed), "--drain", repr(float(point.drain)), "--mode", "open",
            "--pipeline", str(point.in_flight), "--timeline", str(int(point.timeline))]
    raw, notes = run_client(args, client=client, timeout_s=point.warmup + point.duration + point.drain + MARGIN_S)
    return result_from_json(raw, top_percentile=point.top_percentile, notes=notes)


def closed_loop_probe(host: str, port: int, connections: int, size: int, duration: float, *,
                      pipeline: int = 1, warmup: float = 0.5, cpu: int | None = None,
                      spin_us: float | None = None, client: ClientChoice = "auto") -> LoadResult:
    """The server's throughput with each connection keeping ``pipeline`` requests
    outstanding (a new one sent as each echo completes): ``achieved_rate`` is the echoes
    per second of the window. Check ``client_limited``: a busy client caps the figure.
    ``spin_us``: any value > 0 (or None when pinned) polls throughout, as every echo is due."""
    _check_common(host, port, connections, size, duration, warmup, cpu)
    if isinstance(pipeline, bool) or not isinstance(pipeline, int) or not 1 <= pipeline <= 1024:
        raise _bad("pipeline", pipeline, "an integer in 1..1024 (requests outstanding per connection)")
    if spin_us is not None and (not isinstance(spin_us, int | float) or not 0 <= spin_us <= 1e6):
        raise _bad("spin_us", spin_us, "None or microseconds in 0..1e6")
    args = [*_args(host, port, connections, size, duration, warmup, cpu, spin_us), "--mode", "closed",
            "--pipeline", str(pipeline)]
    raw, notes = run_client(args, client=client, timeout_s=warmup + duration + MARGIN_S)
    return result_from_json(raw, notes=notes)
