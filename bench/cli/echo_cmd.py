"""``python -m bench echo``: each loop's TCP echo server, latency against offered load.

Every input is checked before any server starts (one line, exit 2). The servers are the
schedulers' ``echo_servers`` (the plugin contract): by default every real loop and the
hybrid, each variant (asyncio's streams and protocol servers are two); ``--teaching`` adds
the teaching designs, ``-s`` names schedulers. The sweep (``bench.measure.echo_sweep``) and
what it measures are described there; the file is ``bench.results.echo_file``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from bench.cli import args as A
from bench.cli.errors import EXIT_FAILURES, EXIT_OK, CLIError
from bench.measure import environment, isolate
from bench.measure.echo_rounds import sweep_cell
from bench.measure.echo_sweep import (
    QUICK_STEPS,
    STEPS,
    ServerSweep,
    SweepSettings,
    elapsed_estimate,
    placement,
)
from bench.measure.registry import SchedulerEntry
from bench.measure.registry_child import discover_isolated
from bench.measure.suite import command_line
from bench.present.echo_table import echo_tables
from bench.present.text import render_table
from bench.results import writable
from bench.results.echo_file import EchoDocument, EchoServer, dump_echo, load_echo
from bench.results.fields import Fields, ResultsError

DEFAULT_OUTPUT: Final = Path("results/echo.json")
#: Message sizes and connection counts of the full grid (the default is their first cell).
SIZES: Final = (1024, 10 * 1024, 100 * 1024)
CONNECTIONS: Final = (10, 1, 100)
#: The teaching designs: in the sweep only with ``--teaching`` (they are lessons, not
#: servers anyone deploys, and their polling costs minutes at high load).
TEACHING: Final = ("listscan", "busywait", "heapq", "deque")


def add_echo_parser(sub: Any) -> None:
    echo = sub.add_parser("echo", help="echo servers under open-loop load: latency against offered load, knees")
    echo.add_argument("--scheduler", "-s", type=A.names, default=None,
                      help="comma-separated scheduler names (default: every real loop and the hybrid)")
    echo.add_argument("--output", "-o", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}")
    echo.add_argument("--sizes", type=_sizes, default=None, metavar="BYTES",
                      help="message sizes, from 1024,10240,102400 (default: 1024; --full: all three)")
    echo.add_argument("--connections", type=_connections, default=None, metavar="N",
                      help="concurrent connections, comma-separated (default: 10; --full: 1,10,100)")
    echo.add_argument("--full", action="store_true", help="the full grid: every size × 1, 10 and 100 connections")
    echo.add_argument("--teaching", action="store_true", help="the teaching designs too")
    echo.add_argument("--quick", action="store_true", help="three servers, four load points each (≈ 2 min)")
    echo.add_argument("--point-seconds", type=_point_seconds, default=None, metavar="S",
                      help="measured seconds per load point, 1 … 5 (default 2)")
    echo.add_argument("--arrival", choices=("constant", "poisson"), default="constant",
                      help="send schedule of each connection (default: constant rate)")
    echo.add_argument("--syscalls", action=argparse.BooleanOptionalAction, default=True,
                      help="count each server's syscalls per request at 10 %% of its knee, strace attached "
                           "(default: on; skipped with the reason where strace cannot attach)")
    echo.add_argument("--pipelined", action="store_true",
                      help="send every message on schedule, echoed or not (default: one in flight per "
                           "connection, a due message waits for the previous echo, as wrk2 does)")


def _sizes(text: str) -> list[int]:
    values = A.sizes(text)
    for value in values:
        if value not in SIZES:
            raise argparse.ArgumentTypeError(f"message size {value:,} is not one of {', '.join(map(str, SIZES))} bytes")
    return values


def _connections(text: str) -> list[int]:
    values = A.sizes(text)
    for value in values:
        if not 1 <= value <= 1000:
            raise argparse.ArgumentTypeError(f"{value:,} connections is not allowed; use 1 … 1,000")
    return values


def _point_seconds(text: str) -> float:
    value = A.positive_number(text)
    if not 1.0 <= value <= 5.0:
        raise argparse.ArgumentTypeError(f"{value:g} s per point is not allowed; use 1 … 5 (p99 needs ≥ 1 s of load)")
    return value


def servers_of(entries: Sequence[SchedulerEntry]) -> list[tuple[str, str, str]]:
    """(name, scheduler, variant) for every echo server the entries offer."""
    out = []
    for entry in entries:
        variants = [v for v in entry.echo_variants.split(",") if v] if entry.available else []
        for variant in variants:
            out.append((entry.name if len(variants) == 1 else f"{entry.name}/{variant}", entry.name, variant))
    return out


def cmd_echo(ns: argparse.Namespace) -> int:
    sizes = ns.sizes or (list(SIZES) if ns.full else [SIZES[0]])
    connections = ns.connections or (list(CONNECTIONS) if ns.full else [CONNECTIONS[0]])
    writable.check_file(ns.output, "the echo results file", lock=False)
    previous = _previous(ns.output)
    entries = discover_isolated()
    if ns.scheduler is not None:
        unknown = [name for name in ns.scheduler if name not in entries]
        if unknown:
            raise CLIError(f"unknown scheduler {unknown[0]!r}; available: {', '.join(entries)}")
        chosen = [entries[name] for name in ns.scheduler]
    else:
        quick = ("asyncio", "uvloop", "hybrid")
        chosen = [e for name, e in entries.items() if e.builtin and (name not in TEACHING or ns.teaching)
                  and (not ns.quick or name in quick)]
    servers = servers_of(chosen)
    missing = [e.name for e in chosen if not e.echo_variants]
    if not servers:
        raise CLIError(f"no echo server among {', '.join(e.name for e in chosen) or 'the schedulers chosen'}")
    if ns.quick and ns.scheduler is None:
        servers = [s for s in servers if s[0] in ("asyncio/protocol", "uvloop/protocol", "uvloop", "hybrid")]
    families = {e.name: e.family for e in chosen}
    server_cpu, client_cpu = placement()
    settings = SweepSettings(point_s=ns.point_seconds or 2.0,
                             warmup_s=0.3, steps=QUICK_STEPS if ns.quick else STEPS, probe_s=1.5 if ns.quick else 2.0,
                             server_cpu=server_cpu, client_cpu=client_cpu, arrival=ns.arrival,
                             in_flight=0 if ns.pipelined else 1, count_syscalls=ns.syscalls)
    cells = len(sizes) * len(connections)
    estimate = elapsed_estimate(len(servers) * cells, settings)
    print(f"schedbench echo: {len(servers)} servers × {cells} (size, connections) cell(s): "
          f"{', '.join(s[0] for s in servers)}; expected ≈ {estimate / 60:.0f} min; server on CPU {server_cpu}, "
          f"client on CPU {client_cpu} → {ns.output}", file=sys.stderr)
    for name in missing:
        print(f"  {name}: SKIPPED (offers no echo server)", file=sys.stderr)
    environment_info = environment.capture("real")
    environment_info["placement"] = {"server_cpu": server_cpu, "client_cpu": client_cpu}
    done: list[EchoServer] = []
    started = time.monotonic()
    total = len(servers) * cells
    finished_count = [0]

    def finished(sweep: ServerSweep) -> None:
        finished_count[0] += 1
        knees = ", ".join(f"{k} {'–' if v is None else f'{v:,.0f}/s'}" for k, v in sweep.knees.items())
        print(f"[{finished_count[0]:>2}/{total}] {sweep.name:<18} {sweep.size:>6} B × {sweep.connections:<3} "
              f"{sweep.status.upper():<8} {time.monotonic() - started:5.0f} s  "
              f"{knees or '; '.join(sweep.reasons)}", file=sys.stderr, flush=True)

    cell: list[ServerSweep] = []
    with isolate.scratch() as scratch:
        try:
            for size in sizes:
                for conns in connections:
                    cell = [ServerSweep(name, scheduler, variant, size, conns, settings.in_flight,
                                        families.get(scheduler)) for name, scheduler, variant in servers]
                    sweep_cell(cell, settings, scratch / f"{size}-{conns}", finished)
                    done.extend(_result(sweep) for sweep in cell)
                    cell = []
                    _save(ns, previous, done, settings, environment_info, complete=False)
        except KeyboardInterrupt:
            # The cell under way keeps every point it measured; its knees are not read.
            partial = [sweep for sweep in cell if sweep.probe is not None]
            for sweep in partial:
                sweep.knees = {}
                sweep.reasons.append("interrupted before its knees were found: the points are what was measured")
            done.extend(_result(sweep) for sweep in partial)
            print(f"interrupted: kept {len(done)} server sweep(s), {len(partial)} of them unfinished",
                  file=sys.stderr)
            _save(ns, previous, done, settings, environment_info, complete=False)
            return 130
    document = _save(ns, previous, done, settings, environment_info, complete=True)
    for table in echo_tables(document):
        print(render_table(table))
        print()
    print(f"echo results: {ns.output}")
    return EXIT_FAILURES if any(s.status in ("failed", "invalid") for s in done) else EXIT_OK


def _previous(path: Path) -> EchoDocument | None:
    if not path.exists():
        return None
    try:
        return load_echo(path)
    except ResultsError as exc:
        raise CLIError(f"{exc}; give another --output (nothing measured is ever replaced silently)") from None


def _result(sweep: ServerSweep) -> EchoServer:
    from dataclasses import asdict

    raw = asdict(sweep)
    raw["measured_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return EchoServer.from_json(Fields(raw, "server"))


def _save(ns: argparse.Namespace, previous: EchoDocument | None, done: list[EchoServer], settings: SweepSettings,
          environment_info: dict[str, object], complete: bool) -> EchoDocument:
    from dataclasses import asdict

    document = EchoDocument(created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            command=command_line(sys.argv[1:]), complete=complete, environment=environment_info,
                            settings={**asdict(settings), "steps": list(settings.steps)},
                            servers=tuple(done)).merged_into(previous)
    dump_echo(ns.output, document)
    return document
