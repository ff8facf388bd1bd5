"""The echo file's tables: each server's knees and ceiling, then its load points.

Ranked by the 1 ms knee (the highest offered load with p99 under 1 ms), then the 10 ms one;
servers that are not VALID come last and are never ranked. A client-limited point is shown
marked and never read as the server's figure.
"""

from __future__ import annotations

from bench.present import units
from bench.present.table_parts import Cell, Row, Table, num
from bench.results.echo_file import EchoDocument, EchoServer
from bench.results.model import Status

_STATUS = {"valid": Status.VALID, "invalid": Status.INVALID, "failed": Status.FAILED, "skipped": Status.SKIPPED}


def _rate(value: float | None) -> str:
    return units.DASH if value is None else f"{value:,.0f}"


def _knee(server: EchoServer, key: str) -> float:
    value = server.knees.get(key)
    return value if value is not None and server.status == "valid" else -1.0


def echo_tables(doc: EchoDocument) -> list[Table]:
    tables = []
    cells = sorted({(s.size, s.connections) for s in doc.servers})
    for size, connections in cells:
        servers = [s for s in doc.servers if (s.size, s.connections) == (size, connections)]
        servers.sort(key=lambda s: (s.status != "valid", -_knee(s, "p99<1ms"), -_knee(s, "p99<10ms"), s.name))
        rows = []
        for place, server in enumerate(servers, 1):
            light = min(server.drawn, key=lambda p: p.offered_rate or 0.0, default=None)
            rows.append(Row(server.name, _STATUS[server.status], [
                num(str(place) if server.status == "valid" else units.DASH),
                num(_rate(server.knees.get("p99<1ms"))),
                num(_rate(server.knees.get("p99<10ms"))),
                num(_rate(server.probe.achieved_rate if server.probe else None)),
                num(units.us(light.p99_us if light else None)),
                num(units.us(light.server_cpu_per_request_us if light else None)),
                num(str(sum(p.client_limited for p in server.points))),
            ], "; ".join(server.reasons)))
        tables.append(Table(
            f"Echo servers: {size:,}-byte messages, {connections} connection(s), open-loop load",
            ["rank", "knee p99<1ms /s", "knee p99<10ms /s", "closed-loop /s", "light p99 µs", "CPU/req µs",
             "client-limited"],
            rows,
            "knee: the highest offered rate (messages per second) whose p99 latency, counted from the intended "
            "send time, stayed under the bound (refined to 5 %); closed-loop: the throughput with one request "
            "outstanding per connection; light: the lightest load point; CPU/req: the server's CPU per echo "
            "there; client-limited: points where the load generator ran out of CPU (not the server's figure)."))
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
