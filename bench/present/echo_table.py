"""The echo file's tables: each server's knees and ceiling, then its load points.

One table per (message size, connections, load discipline). Rows by family (the order of
every table), then by the 1 ms knee (the highest offered load with p99 under 1 ms), then
the 10 ms one; places count within each family; servers that are not VALID come last in
their family and are never ranked. A client-limited point is shown marked and never read
as the server's figure; the client's CPU share at each knee says how far the load
generator was from being the limit there.
"""

from __future__ import annotations

from typing import Final

from bench.present import units
from bench.present.families import family_index
from bench.present.table_parts import Cell, Row, Table, num
from bench.results.echo_file import EchoDocument, EchoServer, cell_order
from bench.results.model import Status

KNEE_1MS: Final = "p99<1ms"
KNEE_10MS: Final = "p99<10ms"
BOUNDS_US: Final = {KNEE_1MS: 1_000.0, KNEE_10MS: 10_000.0}


def knee(server: EchoServer, key: str = KNEE_1MS) -> float | None:
    """The server's knee, or None: no knee, or a server that is not VALID (never ranked)."""
    return server.knees.get(key) if server.status == "valid" else None


def lower_bound(server: EchoServer, key: str = KNEE_1MS) -> bool:
    """The knee is only a lower bound: no drawn point above it broke the bound."""
    value = knee(server, key)
    if value is None:
        return False
    bound = BOUNDS_US[key]
    return not any((p.offered_rate or 0.0) > value and (p.p99_us is None or p.p99_us >= bound)
                   for p in server.drawn)


_STATUS = {"valid": Status.VALID, "invalid": Status.INVALID, "failed": Status.FAILED, "skipped": Status.SKIPPED}


def _rate(value: float | None) -> str:
    return units.DASH if value is None else f"{value:,.0f}"


def knee_order(server: EchoServer) -> tuple[bool, float, float, str]:
    """The one order of servers within a cell (the table's, within a family, and the chart's):
    VALID first, by 1 ms knee, then 10 ms knee (highest first), then name."""
    return (server.status != "valid", -(knee(server, KNEE_1MS) or -1.0), -(knee(server, KNEE_10MS) or -1.0),
            server.name)


def _knee_cell(server: EchoServer, key: str) -> Cell:
    """The knee as the table shows it: "≥ N" when it is only a lower bound."""
    return num(("≥ " if lower_bound(server, key) else "") + _rate(server.knees.get(key)))


def load_discipline(in_flight: int) -> str:
    """How a cell's load was offered, as tables and sentences say it."""
    if in_flight == 1:
        return "open loop, one message in flight per connection"
    return "open loop, pipelined" if in_flight == 0 else f"open loop, {in_flight} in flight per connection"


def _client_at_knee(server: EchoServer) -> str:
    """The load generator's busy share at the 1 ms knee's point: how far it was from the limit."""
    at_rate = server.knees.get(KNEE_1MS)
    at = [p for p in server.points if p.mode == "open" and p.offered_rate == at_rate and not p.client_limited]
    return f"{max(p.client_busy_share for p in at):.0%}" if at and server.status == "valid" else units.DASH


def _syscalls(server: EchoServer) -> str:
    counted = server.syscalls
    if counted is None or counted.reason is not None:
        return units.DASH
    return f"{counted.per_request['total']:.2f}"


def echo_tables(doc: EchoDocument) -> list[Table]:
    tables = []
    for size, connections, in_flight in sorted({s.cell for s in doc.servers}, key=cell_order):
        servers = [s for s in doc.servers if s.cell == (size, connections, in_flight)]
        servers.sort(key=lambda s: (family_index(s.family), *knee_order(s)))
        rows = []
        places: dict[str | None, int] = {}
        for server in servers:
            place = places[server.family] = places.get(server.family, 0) + (server.status == "valid")
            light = min(server.drawn, key=lambda p: p.offered_rate or 0.0, default=None)
            rows.append(Row(server.name, _STATUS[server.status], [
                Cell(server.family or "–"),
                num(str(place) if server.status == "valid" else units.DASH),
                _knee_cell(server, KNEE_1MS),
                num(_client_at_knee(server)),
                _knee_cell(server, KNEE_10MS),
                num(_rate(server.probe.achieved_rate if server.probe else None)),
                num(units.us(light.p99_us if light else None)),
                num(units.us(light.server_cpu_per_request_us if light else None)),
                num(_syscalls(server)),
                num(str(sum(p.client_limited for p in server.points))),
            ], "; ".join([*server.reasons, *([f"syscalls not counted: {server.syscalls.reason}"]
                                              if server.syscalls and server.syscalls.reason else [])])))
        tables.append(Table(
            f"Echo servers: {size:,}-byte messages, {connections} connection(s), {load_discipline(in_flight)}",
            ["family", "place", "knee p99<1ms /s", "client CPU at knee", "knee p99<10ms /s", "closed-loop /s",
             "light p99 µs", "CPU/req µs", "syscalls/req", "client-limited"],
            rows,
            "knee: the highest offered rate (messages per second) whose p99 latency, counted from the intended "
            "send time, stayed under the bound (refined to 5 %; ≥: a lower bound, no load above it broke the "
            "bound); places count within each family; client CPU at "
            "knee: the load generator's busy share there (90 % makes a point client-limited); closed-loop: the "
            "throughput with one request outstanding per connection; light: the lightest load point; CPU/req: "
            "the server's CPU per echo there; syscalls/req: the server's syscalls per echo at 10 % of its 1 ms "
            "knee (strace attached); client-limited: points where the load generator ran out of CPU (not the "
            "server's figure)."))
    for server in doc.servers:
        if not server.points:
            continue
        rows = [Row(server.name, Status.VALID if not p.client_limited else Status.SKIPPED, [
            num(_rate(p.offered_rate)), num(_rate(p.achieved_rate)), num(units.us(p.p50_us)),
            num(units.us(p.p99_us)), num(units.us(p.p999_us)), num(units.us(p.max_us)),
            num(f"{p.client_busy_share:.0%}"), Cell(p.client),
        ], p.limited_reason, "CLIENT" if p.client_limited else "OK") for p in server.points]
        tables.append(Table(f"{server.name}: {server.size:,} B × {server.connections} connection(s), load points",
                            ["offered /s", "achieved /s", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "client CPU",
                             "client"], rows))
    return tables
