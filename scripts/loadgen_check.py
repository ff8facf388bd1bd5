"""Is the load generator ever the bottleneck? Its ceiling and CPU share against real servers.

For each echo server (asyncio and uvloop, ``asyncio.Protocol`` echoing in
``data_received``, the usual benchmark server), started in its own process pinned to
``--server-cpu``, with the client pinned to ``--client-cpu``:

1. the closed-loop maximum (``closed_loop_probe``) over ``--connections`` ×
   ``--pipeline``; the best is the server's throughput ceiling, printed with the client's
   CPU share (a share near 100 % would mean the client, not the server, set it);
2. open-loop runs at each ``--fraction`` (50 %) of that ceiling on the best probe's
   connection count: latency percentiles, schedule lag and the client's CPU share.
   ``--ceiling-pipeline 1`` takes the ceiling from the unpipelined probes only: open loop
   sends one message per write like them, where a pipelined probe batches several (a
   pipelined ceiling can be several times what one client core sends one by one).

Each line also says whether the run counts as client-limited (``bench.measure.loadgen``'s
rule), which client ran (C, or the Python fallback when no compiler exists), and how
much CPU *other* processes used meanwhile ("others": the machine's busy time from
``/proc/stat`` minus the client's and the server's, in CPUs; it includes the kernel's
softirq work for the traffic, so ~0.1 is normal): on a shared machine a run with busy
neighbours measures them too. ``--wait-quiet`` waits for a quiet machine first.

Typical use (about 1 minute on 2 cores)::

    .venv/bin/python scripts/loadgen_check.py
    .venv/bin/python scripts/loadgen_check.py --servers uvloop --connections 8 --pipeline 1 4 --json out.json
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure.loadgen import LoadPoint, LoadResult, closed_loop_probe, run_load  # noqa: E402


def serve(loop: str, port: int, cpu: int | None) -> None:
    """The echo server (runs in its own process): prints its port, serves until killed."""
    import asyncio

    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    if loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: Any = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", port)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


def start_server(loop: str, cpu: int | None) -> tuple[subprocess.Popen[str], int]:
    args = [sys.executable, str(Path(__file__).resolve()), "serve", "--loop", loop]
    if cpu is not None:
        args += ["--cpu", str(cpu)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        raise SystemExit(f"the {loop} server did not start (is {loop} installed?)")
    return proc, int(line)


def machine_busy_s() -> float:
    """Busy CPU-seconds of the whole machine since boot (``/proc/stat``)."""
    with open("/proc/stat") as fp:
        ticks = [int(v) for v in fp.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def process_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fp:
        fields = fp.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_quiet(limit_s: float) -> None:
    """Wait until the machine is < 10 % busy over a second (at most ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = machine_busy_s()
        time.sleep(1.0)
        if (machine_busy_s() - before) / (os.cpu_count() or 1) < 0.10:
            return
    print(f"the machine did not become quiet within {limit_s:.0f} s; measuring anyway", flush=True)


def measured(run: Callable[[], LoadResult], server: int) -> tuple[LoadResult, float]:
    """(result, CPUs used by other processes during the run)."""
    busy, server_cpu, start = machine_busy_s(), process_cpu_s(server), time.monotonic()
    r = run()
    wall = time.monotonic() - start
    others = machine_busy_s() - busy - (process_cpu_s(server) - server_cpu) - r.cpu_s
    return r, max(0.0, others / wall)


def describe(r: LoadResult, others: float) -> str:
    def ms(ns: int | None) -> str:
        return "-" if ns is None else f"{ns / 1e6:.3f}"

    limited = f"CLIENT-LIMITED ({r.limited_reason})" if r.client_limited else "not client-limited"
    errors = f"{r.error_count} errors {dict(r.errors)}" if r.error_count else "0 errors"
    return (f"{r.achieved_rate:>10,.0f}/s  client CPU {r.cpu_share:4.0%} busy {r.busy_share:4.0%} "
            f"run-queue {r.runqueue_share or 0.0:4.0%}"
            f"  p50/p99/p99.9/max {ms(r.p50_ns)}/{ms(r.p99_ns)}/{ms(r.p999_ns)}/{ms(r.max_ns)} ms"
            f"  lag p99/max {ms(r.lag_p99_ns)}/{ms(r.lag_max_ns)} ms  others {others:.2f} CPU  {errors}  {limited}"
            f"  [{r.client}]")


def check(loop: str, a: argparse.Namespace) -> dict[str, Any]:
    wait_quiet(a.wait_quiet)
    proc, port = start_server(loop, a.server_cpu)
    try:
        time.sleep(0.3)
        probes: list[LoadResult] = []
        for connections in a.connections:
            for pipeline in a.pipeline:
                probe = functools.partial(closed_loop_probe, "127.0.0.1", port, connections, a.size,
                                          a.probe_duration, pipeline=pipeline, warmup=a.warmup, cpu=a.client_cpu,
                                          spin_us=a.spin_us, client=a.client)
                r, others = measured(probe, proc.pid)
                probes.append(r)
                print(f"{loop:>7} closed  c={connections:<4} pipeline={pipeline:<3} {describe(r, others)}", flush=True)
        eligible = [r for r in probes if a.ceiling_pipeline is None or r.pipeline == a.ceiling_pipeline]
        best = max(eligible or probes, key=lambda r: r.achieved_rate)
        opened: list[LoadResult] = []
        for fraction in a.fraction:
            point = LoadPoint(port=port, connections=best.connections, size=a.size,
                              rate=fraction * best.achieved_rate, duration=a.duration, warmup=a.warmup,
                              arrival=a.arrival, seed=1, cpu=a.client_cpu, spin_us=a.spin_us)
            r, others = measured(functools.partial(run_load, point, client=a.client), proc.pid)
            opened.append(r)
            print(f"{loop:>7} open    c={best.connections:<4} at {fraction:.0%} of {best.achieved_rate:,.0f}/s "
                  f"(pipeline {best.pipeline}) {describe(r, others)}", flush=True)
    finally:
        proc.kill()
        proc.wait()

    def plain(r: LoadResult) -> dict[str, Any]:
        d = asdict(r)
        d.pop("raw")
        d["histogram"] = r.histogram.rows()
        return d

    return {"server": loop, "probes": [plain(r) for r in probes], "best": plain(best),
            "open": [plain(r) for r in opened]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = p.add_subparsers(dest="command")
    s = sub.add_parser("serve", help="run one echo server (used by the check itself)")
    s.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--cpu", type=int)
    p.add_argument("--servers", nargs="+", choices=("asyncio", "uvloop"), default=["asyncio", "uvloop"])
    p.add_argument("--server-cpu", type=int, default=1, help="CPU the server is pinned to (default 1)")
    p.add_argument("--client-cpu", type=int, default=0, help="CPU the client is pinned to (default 0)")
    p.add_argument("--connections", type=int, nargs="+", default=[1, 8, 32], help="closed-loop probe connections")
    p.add_argument("--pipeline", type=int, nargs="+", default=[1, 4], help="closed-loop requests per connection")
    p.add_argument("--size", type=int, default=64, help="bytes per message (default 64)")
    p.add_argument("--probe-duration", type=float, default=3.0, help="seconds per closed-loop probe")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of the open-loop run")
    p.add_argument("--warmup", type=float, default=1.0, help="unrecorded seconds before each run")
    p.add_argument("--fraction", type=float, nargs="+", default=[0.5],
                   help="open-loop rates as fractions of the ceiling (default 0.5)")
    p.add_argument("--ceiling-pipeline", type=int, default=None, metavar="N",
                   help="take the ceiling from the probes with this pipeline depth only (default: all)")
    p.add_argument("--arrival", choices=("constant", "poisson"), default="constant")
    p.add_argument("--client", choices=("auto", "c", "python"), default="auto")
    p.add_argument("--spin-us", type=float, default=None,
                   help="client polls when the next send is closer (default: the wrapper's, 100 when pinned)")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                   help="before each server, wait up to S seconds for the machine to be < 10%% busy")
    p.add_argument("--json", type=Path, help="write every result here")
    a = p.parse_args(argv)
    if a.command == "serve":
        serve(a.loop, a.port, a.cpu)
        return 0
    results = [check(loop, a) for loop in a.servers]
    if a.json:
        a.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
