"""The echo benchmark's results file: latency against offered load, per server.

Its own kind of file (``"format": "schedbench-echo"``, one measure per file, like the gate's):
its unit is a load *point* of one server at one (message size, connections), and a knee is
only meaningful beside the points it was bisected from. Validated field by field on load
(one line naming the wrong field), written atomically; a later sweep of the same servers
and sizes replaces their entries, others are kept (nothing measured is dropped silently).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Final

from bench.results.context import opt_family
from bench.results.fields import Fields, ResultsError
from bench.results.store import atomic_write, read_json

FORMAT_NAME: Final = "schedbench-echo"
FORMAT_VERSION: Final = 1
STATUSES: Final = {"valid": "valid", "invalid": "invalid", "failed": "failed", "skipped": "skipped"}
POINT_MODES: Final = {"open": "open", "closed": "closed"}


@dataclass(frozen=True, kw_only=True)
class EchoPoint:
    """One client run: rates in messages per second, latencies in µs from the intended send."""

    mode: str
    offered_rate: float | None
    achieved_rate: float
    p50_us: float | None
    p99_us: float | None
    p999_us: float | None
    max_us: float | None
    sent: int
    received: int
    errors: Mapping[str, int]
    client_busy_share: float
    lag_p99_us: float
    client_limited: bool
    limited_reason: str
    server_cpu_per_request_us: float | None
    client: str
    #: measured messages still waiting in the client when the drain ended (one in flight per
    #: connection): in the percentiles at the latency they had reached, a lower bound.
    backlog: int = 0

    @classmethod
    def from_json(cls, f: Fields) -> EchoPoint:
        errors = f.obj("errors")
        point = cls(mode=f.choice("mode", POINT_MODES), offered_rate=f.opt_amount("offered_rate"),
                    achieved_rate=f.amount("achieved_rate"), p50_us=f.opt_amount("p50_us"),
                    p99_us=f.opt_amount("p99_us"), p999_us=f.opt_amount("p999_us"), max_us=f.opt_amount("max_us"),
                    sent=f.count("sent"), received=f.count("received"),
                    errors={k: errors.count(k) for k in errors.data},
                    client_busy_share=f.amount("client_busy_share"), lag_p99_us=f.amount("lag_p99_us"),
                    client_limited=f.flag("client_limited"), limited_reason=f.opt_text("limited_reason") or "",
                    server_cpu_per_request_us=f.opt_amount("server_cpu_per_request_us"), client=f.text("client"),
                    backlog=f.opt_count("backlog") or 0)
        if point.mode == "open" and point.offered_rate is None:
            raise ResultsError(f"{f.at('offered_rate')}: an open-loop point needs its offered rate")
        ordered = [v for v in (point.p50_us, point.p99_us, point.p999_us, point.max_us) if v is not None]
        if ordered != sorted(ordered):
            raise ResultsError(f"{f.at('p50_us')}: percentiles out of order ({ordered})")
        return point


@dataclass(frozen=True, kw_only=True)
class EchoSyscalls:
    """The server's syscalls per request at a light load (strace attached), or why not."""

    offered_rate: float | None = None
    seconds: float | None = None
    per_request: Mapping[str, float] = field(default_factory=dict)  # by name, and "total"
    reason: str | None = None

    @classmethod
    def from_json(cls, f: Fields) -> EchoSyscalls:
        if f.opt_text("reason") is not None:
            return cls(reason=f.opt_text("reason"))
        per = f.obj("per_request")
        counted = cls(offered_rate=f.amount("offered_rate"), seconds=f.amount("seconds"),
                      per_request={k: per.amount(k) for k in per.data})
        if "total" not in counted.per_request:
            raise ResultsError(f"{f.at('per_request')}: no 'total'")
        return counted


@dataclass(frozen=True, kw_only=True)
class EchoServer:
    """One server's sweep at one (message size, connections)."""

    name: str
    scheduler: str
    variant: str
    size: int
    connections: int
    #: messages outstanding per connection at most: 1 (wrk2's discipline) or 0 (pipelined;
    #: what files written before the field existed measured)
    in_flight: int
    #: the scheduler's family (``bench.results.model.FAMILY_NAMES``); None when not recorded
    family: str | None
    status: str
    reasons: tuple[str, ...]
    probe: EchoPoint | None
    points: tuple[EchoPoint, ...]
    knees: Mapping[str, float | None]
    measured_utc: str | None = None
    syscalls: EchoSyscalls | None = None

    @classmethod
    def from_json(cls, f: Fields) -> EchoServer:
        knees = f.obj("knees")
        return cls(name=f.text("name"), scheduler=f.text("scheduler"), variant=f.text("variant"),
                   size=f.count("size"), connections=f.count("connections"),
                   in_flight=f.opt_count("in_flight") or 0,
                   family=opt_family(f),
                   status=f.choice("status", STATUSES),
                   reasons=f.texts("reasons"), probe=f.opt("probe", EchoPoint.from_json),
                   points=tuple(EchoPoint.from_json(p) for p in f.objs("points")),
                   knees={k: knees.opt_amount(k) for k in knees.data}, measured_utc=f.opt_text("measured_utc"),
                   syscalls=f.opt("syscalls", EchoSyscalls.from_json))

    @property
    def key(self) -> tuple[str, int, int, int]:
        """A pipelined sweep and a one-in-flight one are different measurements: both kept."""
        return self.name, self.size, self.connections, self.in_flight

    @property
    def cell(self) -> tuple[int, int, int]:
        """(size, connections, in flight): the servers one table, panel or sentence compares."""
        return self.size, self.connections, self.in_flight

    @property
    def drawn(self) -> list[EchoPoint]:
        """The open-loop points that are the server's figures: not client-limited."""
        return [p for p in self.points if p.mode == "open" and not p.client_limited]


def cell_order(cell: tuple[int, int, int]) -> tuple[int, int, bool, int]:
    """Cells smallest first; at one size and connection count, one in flight before the rest."""
    size, connections, in_flight = cell
    return size, connections, in_flight != 1, in_flight


@dataclass(frozen=True, kw_only=True)
class EchoDocument:
    created_utc: str
    command: str
    complete: bool
    environment: Mapping[str, Any]
    settings: Mapping[str, Any]
    servers: tuple[EchoServer, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"schedbench_echo": {"format": FORMAT_NAME, "version": FORMAT_VERSION, **_plain(self)}}

    @classmethod
    def from_json(cls, document: object, where: str) -> EchoDocument:
        try:
            if not is_echo_file(document):
                raise ResultsError("not a schedbench echo file (no 'schedbench_echo' section)")
            f = Fields(document["schedbench_echo"], "")  # type: ignore[index]
            if f.data.get("format") != FORMAT_NAME or f.data.get("version") != FORMAT_VERSION:
                raise ResultsError(f"echo file format {f.data.get('format')!r} version {f.data.get('version')!r} is "
                                   f"not supported; this schedbench reads {FORMAT_NAME} {FORMAT_VERSION}")
            servers = tuple(EchoServer.from_json(s) for s in f.objs("servers"))
            seen: set[tuple[str, int, int, int]] = set()
            for i, server in enumerate(servers):
                if server.key in seen:
                    raise ResultsError(f"servers[{i}]: a second sweep of {server.name} at {server.size} B × "
                                       f"{server.connections} connections, {server.in_flight} in flight")
                seen.add(server.key)
            return cls(created_utc=f.text("created_utc"), command=f.text("command"), complete=f.flag("complete"),
                       environment=dict(f.obj("environment").data), settings=dict(f.obj("settings").data),
                       servers=servers)
        except ResultsError as exc:
            raise ResultsError(f"{where}: {exc}") from None

    def merged_into(self, old: EchoDocument | None) -> EchoDocument:
        """This sweep's servers over ``old``'s, by (server, size, connections); the rest kept."""
        if old is None:
            return self
        mine = {s.key for s in self.servers}
        kept = tuple(s for s in old.servers if s.key not in mine)
        return EchoDocument(created_utc=self.created_utc, command=self.command, complete=self.complete,
                            environment=self.environment, settings=self.settings, servers=kept + self.servers)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def is_echo_file(document: object) -> bool:
    return isinstance(document, dict) and isinstance(document.get("schedbench_echo"), dict)


def load_echo(path: str | Path) -> EchoDocument:
    p = Path(path)
    return EchoDocument.from_json(read_json(p), str(p))


def dump_echo(path: Path, document: EchoDocument) -> None:
    atomic_write(path, json.dumps(document.to_json(), sort_keys=True, allow_nan=False) + "\n")
