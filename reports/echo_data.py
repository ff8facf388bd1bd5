"""What the echo chart and the answer's "latency under load" sentence show: pure selection.

An echo file (``python -m bench echo``, given to the report as ``--echo``) holds, per
(message size, connections) *cell*, each server's open-loop load points and its knees: the
highest offered rate whose p99 latency, counted from the intended send time, stayed under
1 ms (and 10 ms). The order is the echo table's (``bench.present.echo_table``): VALID
servers by their 1 ms knee, then their 10 ms knee, then the rest, never ranked; so the
chart, the table and the sentence never disagree about who is first.

The charting rule: only VALID servers become lines, and only over their ``drawn`` points
(open loop, not client-limited). A client-limited point measured the load generator, not
the server: it is kept (the chart shows it hollow and grey), never read as the server's
figure. A knee is a *lower bound* when no drawn point above it broke the bound: the sweep
ended, or the client ran out of CPU, before the server did.

Servers of one scheduler (asyncio's ``streams`` and ``protocol`` variants) share the
scheduler's colour; the variants are told apart by their marker (``EchoLine.marker``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bench.present import units
from bench.present.echo_table import KNEE_1MS, KNEE_10MS, knee, knee_order, load_discipline, lower_bound
from bench.present.verdict import ordinal
from bench.results.echo_file import EchoDocument, EchoPoint, EchoServer, cell_order
from reports.palette import Palette

#: The sweep refines each knee until its bracket is this narrow: closer knees are a tie.
KNEE_RESOLUTION: Final = 0.05
#: Markers for a scheduler's second, third … variant (the first takes the palette's).
VARIANT_MARKERS: Final = ("o", "s", "^", "D", "h", "v")


@dataclass(frozen=True)
class EchoLine:
    """One VALID server as the chart draws it."""

    server: EchoServer
    marker: str

    @property
    def name(self) -> str:
        return self.server.name

    @property
    def drawn(self) -> list[EchoPoint]:
        return sorted(self.server.drawn, key=lambda p: p.offered_rate or 0.0)

    @property
    def limited(self) -> list[EchoPoint]:
        """Open-loop points where the client ran out of CPU: not the server's figure."""
        return [p for p in self.server.points if p.mode == "open" and p.client_limited]

    @property
    def knee_1ms(self) -> float | None:
        return knee(self.server, KNEE_1MS)

    def knee_point(self) -> EchoPoint | None:
        """The drawn point the 1 ms knee was read from (the knee is one of the offered rates)."""
        value = self.knee_1ms
        if value is None:
            return None
        near = min(self.drawn, key=lambda p: abs((p.offered_rate or 0.0) - value), default=None)
        return near if near is not None and abs((near.offered_rate or 0.0) - value) <= 0.01 * value else None


@dataclass(frozen=True)
class EchoCell:
    size: int
    connections: int
    lines: list[EchoLine]  # VALID servers with a drawn point, in the echo table's order
    not_drawn: list[EchoServer]  # the others: not VALID, or no drawn point
    in_flight: int = 1  # messages outstanding per connection at most (0: pipelined)

    @property
    def title(self) -> str:
        return (f"{self.size:,}-byte messages, {self.connections} connection{'s' if self.connections != 1 else ''}"
                f"{discipline_suffix(self.in_flight)}")


def discipline_suffix(in_flight: int) -> str:
    """How the load was offered, when it is not the default (one message in flight)."""
    return "" if in_flight == 1 else ", pipelined" if in_flight == 0 else f", {in_flight} in flight"


def scheduler_names(doc: EchoDocument) -> list[str]:
    return list(dict.fromkeys(s.scheduler for s in doc.servers))


def _markers(doc: EchoDocument, palette: Palette) -> dict[str, str]:
    """server name → marker: a scheduler's first variant (by name) keeps the palette's
    marker, the next ones take the first of ``VARIANT_MARKERS`` not yet used by it."""
    out: dict[str, str] = {}
    for scheduler in scheduler_names(doc):
        used = [palette[scheduler].marker]
        for i, name in enumerate(sorted({s.name for s in doc.servers if s.scheduler == scheduler})):
            if i:
                used.append(next(m for m in VARIANT_MARKERS if m not in used))
            out[name] = used[-1]
    return out


def cells(doc: EchoDocument, palette: Palette) -> list[EchoCell]:
    """One cell per (size, connections, discipline) in the file, smallest first (the echo
    table's order); one in flight per connection before pipelined."""
    markers = _markers(doc, palette)
    out = []
    for size, connections, in_flight in sorted({s.cell for s in doc.servers}, key=cell_order):
        servers = sorted((s for s in doc.servers if s.cell == (size, connections, in_flight)), key=knee_order)
        lines = [EchoLine(s, markers[s.name]) for s in servers if s.status == "valid" and s.drawn]
        drawn = {line.name for line in lines}
        out.append(EchoCell(size, connections, lines, [s for s in servers if s.name not in drawn], in_flight))
    return out


def rate(value: float | None) -> str:
    """Messages per second, as the echo table writes them."""
    return units.count(value)


def _knee_text(server: EchoServer) -> str:
    value = knee(server)
    assert value is not None
    return f"{'at least ' if lower_bound(server) else ''}{rate(value)} messages/s"


def _no_knee(server: EchoServer) -> str:
    """Why a VALID server has no 1 ms knee: its lightest load already broke 1 ms (a knee is
    only read below the first load that breaks the bound), and its 10 ms knee if any."""
    light = min(server.drawn, key=lambda p: p.offered_rate or 0.0, default=None)
    if light is None:
        return f"{server.name} has no 1 ms knee (every load point was client-limited)"
    ten = knee(server, KNEE_10MS)
    ten_text = "" if ten is None else f"; 10 ms knee {rate(ten)} messages/s"
    return (f"{server.name} has no 1 ms knee (p99 {units.with_unit(light.p99_us, 'µs')} already at its lightest "
            f"load, {rate(light.offered_rate)} messages/s{ten_text})")


def _hybrid_knee(servers: list[EchoServer], ranked: list[EchoServer], family_of: Mapping[str, str | None]) -> str:
    """Where this project's servers stand among the production ones, by 1 ms knee."""
    out = []
    for server in servers:
        if family_of.get(server.scheduler) != "this-project" or server.status != "valid":
            continue
        mine = knee(server)
        if mine is None:
            out.append(f" This project's {server.name}: no 1 ms knee.")
            continue
        ahead = sum(1 for s in ranked if (knee(s) or -1.0) > mine)
        place = ordinal(str(ahead + 1))
        out.append(f" This project's {server.name}: {_knee_text(server)}; it would place {place} among the "
                   f"{len(ranked)} production servers.")
    return "".join(out)


def echo_answer(doc: EchoDocument, family_of: Mapping[str, str | None] | None = None) -> str | None:
    """One sentence for the answer section, or None when the file has no server.

    The cell of the echo table shown first (smallest size, fewest connections): the VALID
    server with the highest 1 ms knee, its knee, the runner-up's, and the cell; "within the
    knee resolution" when the two knees are within 5 % of each other, and otherwise that one
    sweep has no spread to test the margin against (as the timer sentence says of one process).

    Families limit the winner to production loops' servers and say where this project's
    servers stand: each server's own (recorded with it), else ``family_of`` (scheduler →
    family, from the suite file the echo file is shown beside: older echo files record
    none); never guessed from a server's name.
    """
    if not doc.servers:
        return None
    recorded = {s.scheduler: s.family for s in doc.servers if s.family is not None}
    family_of = {**(family_of or {}), **recorded} if family_of is not None or recorded else None
    size, connections, in_flight = min((s.cell for s in doc.servers), key=cell_order)
    servers = sorted((s for s in doc.servers if s.cell == (size, connections, in_flight)), key=knee_order)
    where = (f"Latency under load ({size:,}-byte messages, {connections} connection{'s' if connections != 1 else ''}, "
             f"{load_discipline(in_flight)})")
    others = len({s.cell for s in doc.servers}) - 1
    tail = f" The other {others} size/connection cell(s) are in the details." if others else ""
    ranked = [s for s in servers if s.status == "valid"]
    production = [s for s in ranked if (family_of or {}).get(s.scheduler) == "production"]
    hybrid = "" if not production or family_of is None else _hybrid_knee(servers, production, family_of)
    if production:
        where += " among the production loops' servers"
        ranked = production
    if not ranked:
        return f"{where}: no echo server is VALID, so none is ranked (see the echo table).{tail}"
    best = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    best_knee = knee(best)
    if best_knee is None:
        text = f"{where}: no VALID echo server kept p99 under 1 ms at any load measured"
        ten = [s for s in ranked if knee(s, KNEE_10MS) is not None]
        if ten:
            text += (f"; the highest 10 ms knee is {ten[0].name}'s, "
                     f"{rate(knee(ten[0], KNEE_10MS))} messages/s")
        return text + "." + tail
    text = f"{where}: {best.name} keeps p99 under 1 ms up to {_knee_text(best)}"
    if runner is None:
        text += "; no other echo server is VALID"
    elif (runner_knee := knee(runner)) is None:
        text += f"; runner-up {_no_knee(runner)}"
    else:
        close = (best_knee - runner_knee) / best_knee <= KNEE_RESOLUTION
        # The file holds one sweep per server: beyond the bisection's resolution is all a
        # single file can say; how far knees move between sweeps is measured elsewhere.
        text += (f"; runner-up {runner.name}, {_knee_text(runner)}"
                 + (", within the 5 % knee resolution: a tie" if close else
                    ", beyond the 5 % knee resolution; one sweep, so no spread between sweeps to test the margin "
                    "against"))
    return text + "." + hybrid + tail
