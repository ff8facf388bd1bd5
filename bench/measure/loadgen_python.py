"""The load generator in Python: the fallback when ``_loadgen.c`` cannot be built, and the
reference for the contract both clients share.

Same command line, wire format, schedule and JSON object as the C client (its header
comment has the design), with ``"client": "python"``. What both share (buckets, schedule,
message bytes) is ``bench.measure.loadgen_contract``, mirrored in C.

Trade-offs: plain ``selectors`` (epoll), no asyncio, so the client measures the server and
not a second event loop; but it is Python: ~90k echoes/s in closed loop at 98 % of a core
of the development VM (4 connections, asyncio server), several times the C client's CPU
per message. ``selectors`` sleeps in whole milliseconds, so it sleeps to the last whole
ms before a send and polls the rest (as idle time): punctual sends, for up to 1 ms of
polling per send at low rates. Use it for correctness and light loads.

Run: ``python -m bench.measure.loadgen_python --port P [options]`` (``--help``).
"""

from __future__ import annotations

import argparse
import collections
import heapq
import json
import math
import os
import resource
import selectors
import socket
import sys
import time
from typing import Any, Final

from bench.measure.loadgen_contract import (
    FNV_OFFSET,
    NBUCKETS,
    bucket_bounds,
    bucket_of,
    fnv,
    message,
    pattern,
    schedule_offsets,
    window_ns,
)
from bench.measure.process_tree import die_with_parent

_WBUF: Final = 256 * 1024
_RBUF: Final = 64 * 1024


# ---- the client ------------------------------------------------------------------------------

class _Conn:
    __slots__ = ("dead", "idx", "out", "queued", "rbad", "rexp", "roff", "rseq", "sock", "times", "wexp",
                 "woff", "wseq")

    def __init__(self, idx: int, sock: socket.socket) -> None:
        self.idx, self.sock, self.dead, self.out = idx, sock, False, False
        self.queued = self.wseq = self.woff = self.rseq = self.roff = 0
        self.rbad = False
        self.times: collections.deque[int] = collections.deque()  # intended times of rseq .. queued-1
        self.wexp: tuple[int, bytes] = (-1, b"")  # the message being written, and being read back
        self.rexp: tuple[int, bytes] = (-1, b"")


def _snapshot() -> tuple[int, int, int | None, int]:
    """(wall ns, CPU ns, run-queue wait ns or None, involuntary switches)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    runq = None
    try:
        with open("/proc/self/schedstat") as fp:
            runq = int(fp.read().split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return time.monotonic_ns(), int((ru.ru_utime + ru.ru_stime) * 1e9), runq, ru.ru_nivcsw


class _Client:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a, self.size, self.closed = a, a.size, a.mode == "closed"
        self.base = pattern(a.size)
        self.sel = selectors.DefaultSelector()
        self.conns: list[_Conn] = []
        self.e = dict.fromkeys(("connect", "reset", "corrupt", "extra_bytes", "short", "unanswered", "unsent"), 0)
        self.lat = [0] * NBUCKETS
        self.lat_min = self.lat_max = 0
        self.lags: list[int] = []
        self.n = dict.fromkeys(("scheduled", "sent", "received", "verified", "bytes_verified", "writes"), 0)
        self.outstanding = 0
        self.recorded = 0  # values in the latency histogram (echoes, then any backlog)
        self.stop_writes = False  # the drain ended with a backlog: finish what is in flight, send nothing new
        self.backlog = 0  # measured messages still waiting in the client when the drain ended
        # --timeline: echoes completed in each ms since t0 (C: timeline)
        self.timeline = [0] * (int((a.warmup + a.duration + a.drain) * 1000) + 1000) if a.timeline else None
        self.idle_ns = 0  # time of polls that found nothing to do, in the window (C: idle_ns)
        self.t0 = self.warm_end = self.end = self.now = 0
        self.digests = [FNV_OFFSET] * a.connections  # per connection, over its fired offsets
        self.s_start: tuple[int, int, int | None, int] | None = None  # snapshots at the window's edges
        self.s_end: tuple[int, int, int | None, int] | None = None

    def in_window(self, t: int) -> bool:
        return self.warm_end <= t < self.end

    def connect(self) -> None:
        deadline = time.monotonic() + self.a.connect_timeout
        for i in range(self.a.connections):
            try:
                sock = socket.create_connection((self.a.host, self.a.port),
                                                timeout=max(0.001, deadline - time.monotonic()))
            except OSError:
                self.e["connect"] += 1
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            conn = _Conn(i, sock)
            self.conns.append(conn)
            self.sel.register(sock, selectors.EVENT_READ, conn)

    def fail(self, c: _Conn) -> None:
        if c.dead:
            return
        self.e["reset"] += 1
        self.e["short"] += c.roff > 0
        if not self.closed:
            lost = sum(self.in_window(t) for t in c.times)
            self.e["unanswered"] += lost
            self.outstanding -= lost
        self.sel.unregister(c.sock)
        c.sock.close()
        c.dead = True

    def msg(self, c: _Conn, seq: int, which: str) -> bytes:
        cached = c.wexp if which == "w" else c.rexp
        if cached[0] != seq:
            cached = (seq, message(c.idx, seq, self.size, self.base))
            if which == "w":
                c.wexp = cached
            else:
                c.rexp = cached
        return cached[1]

    def write_limit(self, c: _Conn) -> int:
        """The messages ``c`` may have written by now (C: ``write_limit``): all it was handed,
        or, in a capped open loop, no more than ``--pipeline`` beyond the last echo read;
        none new once the drain has stopped writes."""
        if self.stop_writes:
            return c.wseq + (c.woff > 0)
        if self.closed or self.a.pipeline == 0:
            return c.queued
        return min(c.queued, c.rseq + int(self.a.pipeline))

    def in_flight_written(self) -> bool:
        """Messages written (or begun) and not yet answered, on any open connection."""
        return any(c.wseq > c.rseq or c.woff > 0 for c in self.conns if not c.dead)

    def flush(self, c: _Conn) -> None:
        limit = self.write_limit(c)
        while not c.dead and c.wseq < limit:
            chunks, length, seq, off = [], 0, c.wseq, c.woff
            while length < _WBUF and seq < limit:
                part = self.msg(c, seq, "w")[off:] if seq == c.wseq else message(c.idx, seq, self.size, self.base)
                chunks.append(part)
                length += len(part)
                seq, off = seq + 1, 0
            try:
                sent = c.sock.send(b"".join(chunks))
            except BlockingIOError:
                sent = 0
            except OSError:
                self.fail(c)
                return
            self.wrote(c, sent)
            if sent < length:
                self.want_out(c, True)
                return
        self.want_out(c, False)

    def want_out(self, c: _Conn, out: bool) -> None:
        if not c.dead and c.out != out:
            self.sel.modify(c.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if out else 0), c)
            c.out = out

    def wrote(self, c: _Conn, n: int) -> None:
        while n > 0:
            take = min(n, self.size - c.woff)
            c.woff += take
            n -= take
            if c.woff == self.size:
                intended = c.times[c.wseq - c.rseq]
                self.n["sent"] += self.in_window(self.now if self.closed else intended)
                self.n["writes"] += self.in_window(self.now)
                c.wseq, c.woff = c.wseq + 1, 0

    def readable(self, c: _Conn) -> None:
        try:
            data = c.sock.recv(_RBUF)
        except BlockingIOError:
            return
        except OSError:
            self.fail(c)
            return
        if not data:
            self.fail(c)
            return
        now = self.now = time.monotonic_ns()
        view, size = memoryview(data), self.size
        while view:
            echoable = size - c.roff if c.rseq < c.wseq else max(0, c.woff - c.roff)
            if not echoable:
                self.e["extra_bytes"] += len(view)
                break
            take = min(len(view), echoable)
            want = self.msg(c, c.rseq, "r")[c.roff:c.roff + take]
            got = view[:take]
            bad = 0 if got == want else sum(x != y for x, y in zip(got, want, strict=True))
            c.rbad = c.rbad or bad > 0
            self.n["bytes_verified"] += take - bad
            c.roff += take
            view = view[take:]
            if c.roff == size:
                self.completed(c, now)
        if c.wseq < c.queued:  # closed: the next request; capped open loop: a message waited
            self.flush(c)

    def completed(self, c: _Conn, now: int) -> None:
        t = c.times.popleft()
        ms = (now - self.t0) // 1_000_000
        if self.timeline is not None and 0 <= ms < len(self.timeline):
            self.timeline[ms] += 1
        self.e["corrupt"] += c.rbad
        if self.in_window(now if self.closed else t):
            self.n["received"] += 1
            self.n["verified"] += not c.rbad
            self.record(now - t)
            self.outstanding -= not self.closed
        c.rseq, c.roff, c.rbad = c.rseq + 1, 0, False
        if self.closed and now < self.end:
            c.times.append(now)
            c.queued += 1

    def record(self, v: int) -> None:
        self.lat[bucket_of(v)] += 1
        self.lat_min = v if self.recorded == 0 else min(self.lat_min, v)
        self.lat_max = max(self.lat_max, v)
        self.recorded += 1

    def run(self) -> None:
        a = self.a
        self.t0 = self.now = time.monotonic_ns()
        warm, total = window_ns(a.warmup, a.duration)
        self.warm_end, self.end = self.t0 + warm, self.t0 + total
        live = {c.idx: c for c in self.conns}
        schedules = [schedule_offsets(i, a.connections, a.rate, a.arrival, a.seed) for i in range(a.connections)]
        heap: list[tuple[int, int, int]] = []  # (intended time, connection, offset)
        for i, sched in enumerate(schedules):
            if self.closed:
                if i in live:
                    live[i].times.extend([self.t0] * a.pipeline)
                    live[i].queued = a.pipeline
                    self.flush(live[i])
            elif (off := next(sched)) < total:
                heap.append((self.t0 + off, i, off))
        heapq.heapify(heap)
        drain_end: int | None = None
        while True:
            now = self.now = time.monotonic_ns()
            if self.s_start is None and now >= self.warm_end:
                self.s_start = _snapshot()
            dirty: set[int] = set()
            fired = bool(heap) and heap[0][0] <= now
            while heap and heap[0][0] <= now:
                t, i, off = heap[0]
                measured = self.in_window(t)
                self.n["scheduled"] += measured
                self.digests[i] = fnv(self.digests[i], off)
                c = live.get(i)
                if c is not None and not c.dead:
                    c.times.append(t)
                    c.queued += 1
                    self.outstanding += measured
                    if measured:
                        self.lags.append(now - t)
                    dirty.add(i)
                else:
                    self.e["unsent"] += measured
                if (off := next(schedules[i])) < total:
                    heapq.heapreplace(heap, (self.t0 + off, i, off))
                else:
                    heapq.heappop(heap)
            for i in dirty:
                self.flush(live[i])
            # Only now: every send due before the end has been made, however late the wake.
            if self.s_end is None and now >= self.end:
                self.s_end = _snapshot()
                drain_end = now + int(a.drain * 1e9)
            if drain_end is not None and (self.closed or self.outstanding == 0
                                          or (self.stop_writes and not self.in_flight_written())):
                break
            if drain_end is not None and now >= drain_end:
                if self.stop_writes or a.pipeline == 0:
                    break
                # Backlog left (C: the same): send no more, give the messages in flight their own drain.
                self.stop_writes, drain_end = True, now + int(a.drain * 1e9)
                if not self.in_flight_written():
                    break
            deadline = drain_end if drain_end is not None else (self.end if self.s_start else self.warm_end)
            if heap:
                deadline = min(deadline, heap[0][0])
            # Poll, not sleep, when the next send is under --spin-us away (closed loop: always),
            # as the C client does; idle polls are capped like its (a longer one was preempted).
            # selectors sleeps in whole ms rounded up: sleep whole ms rounded down, poll the rest.
            gap = deadline - time.monotonic_ns()
            spin = (a.spin_us > 0 and self.closed) or gap <= max(a.spin_us * 1e3, 1e6)
            ready = self.sel.select(0 if spin else gap // 1_000_000 / 1e3)
            if spin and not ready and not fired and self.s_start is not None and self.s_end is None:
                self.idle_ns += min(time.monotonic_ns() - now, 20_000)
            for key, events in ready:
                c = key.data
                if events & selectors.EVENT_READ:
                    self.readable(c)
                if events & selectors.EVENT_WRITE and not c.dead:
                    self.now = time.monotonic_ns()
                    self.flush(c)
        if not self.closed:
            # Written and never answered: the server's fault. Never written (waiting behind an
            # unanswered one): backlog, recorded at the latency it had reached.
            last = time.monotonic_ns()
            for c in self.conns:
                for k, t in enumerate(c.times if not c.dead else ()):
                    if not self.in_window(t):
                        continue
                    seq = c.rseq + k
                    if seq < c.wseq or (seq == c.wseq and c.woff > 0):
                        self.e["unanswered"] += 1
                    else:
                        self.backlog += 1
                        self.record(last - t)

    def report(self, run0: tuple[int, int, int | None, int]) -> dict[str, Any]:
        a = self.a
        start = self.s_start or run0
        end = self.s_end or _snapshot()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        lags = sorted(self.lags)
        digest = FNV_OFFSET
        for h in self.digests:
            digest = fnv(digest, h)
        histogram = [[*bucket_bounds(i), n] for i, n in enumerate(self.lat) if n]
        return {
            "client": "python", "mode": a.mode, "arrival": a.arrival, "connections": a.connections,
            "size": a.size, "rate": a.rate, "warmup_s": a.warmup, "duration_s": a.duration,
            "pipeline": a.pipeline, "backlog": self.backlog, "seed": a.seed, "connected": len(self.conns),
            "scheduled": self.n["scheduled"], "sent": self.n["sent"], "received": self.n["received"],
            "verified": self.n["verified"], "bytes_verified": self.n["bytes_verified"],
            "achieved_rate": (self.n["received"] if self.closed else self.n["writes"]) / a.duration,
            "errors": self.e, "min_ns": self.lat_min, "max_ns": self.lat_max, "histogram": histogram,
            # Exact order statistics here; C reports its p99 from buckets (<= 0.8 % higher).
            "lag_p99_ns": lags[max(0, math.ceil(0.99 * len(lags)) - 1)] if lags else 0,
            "lag_max_ns": lags[-1] if lags else 0,
            "cpu_user_s": ru.ru_utime, "cpu_sys_s": ru.ru_stime, "wall_s": (time.monotonic_ns() - run0[0]) / 1e9,
            "window_wall_s": (end[0] - start[0]) / 1e9, "window_cpu_s": (end[1] - start[1]) / 1e9,
            "window_runqueue_s": (end[2] - start[2]) / 1e9 if end[2] is not None and start[2] is not None
            else None,
            "window_idle_s": self.idle_ns / 1e9, "window_involuntary_switches": end[3] - start[3],
            "schedule_digest": f"{digest:016x}",
            **self.timeline_json(),
        }

    def timeline_json(self) -> dict[str, Any]:
        if self.timeline is None:
            return {}
        last = len(self.timeline)
        while last > 0 and self.timeline[last - 1] == 0:
            last -= 1
        return {"t0_ns": self.t0, "completions_per_ms": self.timeline[:last]}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.measure.loadgen_python",
                                description="Open- or closed-loop TCP echo load generator (the Python fallback).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--connections", type=int, default=1)
    p.add_argument("--size", type=int, default=64, help="bytes per message, 1..1048576")
    p.add_argument("--rate", type=float, default=0.0, help="messages per second, all connections (open loop)")
    p.add_argument("--duration", type=float, default=1.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=0.0, help="unrecorded seconds before")
    p.add_argument("--arrival", choices=("constant", "poisson"), default="constant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cpu", type=int, default=-1, help="pin to this CPU (-1: do not)")
    p.add_argument("--mode", choices=("open", "closed"), default="open")
    p.add_argument("--pipeline", type=int, default=1,
                   help="messages outstanding per connection (closed loop); open loop: at most (0 = no cap)")
    p.add_argument("--timeline", type=int, choices=(0, 1), default=0,
                   help="1: report echoes completed per millisecond since t0 (CLOCK_MONOTONIC)")
    p.add_argument("--drain", type=float, default=2.0, help="seconds to wait for the last echoes (open loop)")
    p.add_argument("--connect-timeout", type=float, default=5.0)
    p.add_argument("--spin-us", type=float, default=0.0,
                   help="poll instead of sleeping when the next send is closer than this (0: always sleep)")
    return p


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    if (not 1 <= a.size <= 1 << 20 or a.connections < 1 or a.pipeline < (1 if a.mode == "closed" else 0)
            or a.duration <= 0 or a.warmup < 0):
        print("loadgen_python: --size 1..1048576, --connections >= 1, --pipeline >= 1 (closed) or >= 0 (open), "
              "--duration > 0, --warmup >= 0",
              file=sys.stderr)
        return 2
    if a.mode == "open" and not a.rate > 0:
        print("loadgen_python: --rate must be positive in open loop", file=sys.stderr)
        return 2
    die_with_parent()  # never outlive the harness
    if a.cpu >= 0:
        os.sched_setaffinity(0, {a.cpu})
    run0 = _snapshot()
    client = _Client(a)
    client.connect()
    if client.conns:
        client.run()
    print(json.dumps(client.report(run0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
