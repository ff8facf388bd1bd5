"""A witness outside the worker's process for every measured run's wall time.

A plugin runs in the worker's process, so it can reach every clock and name the worker
reads; rebinding them for one call is enough to report a third of the real time. The
witness is a clock the plugin cannot reach: the kernel's. Right after the worker reads its
start time and right before it reads its end time, it sends a datagram (pid, run number,
start or end) to a socket the isolating parent owns, and the kernel stamps each datagram
when it is *sent* (``SO_TIMESTAMPNS`` on a Unix datagram socket). The parent reads the
stamps whenever it gets to it, so its own scheduling delays do not matter.

Because both marks lie inside the worker's clock readings, an honest run's reported wall
time is never shorter than the kernel's bracket; a report shorter than the bracket by more
than the slack (the two clocks are CLOCK_REALTIME and CLOCK_MONOTONIC, which advance
together except when the system time is stepped) cannot be true and makes the run
INVALID. This is the lower bound the kernel's rusage, an upper bound only, cannot give.

Cost: two ``send`` calls per run (a few microseconds), inside the measured interval but
outside ``scheduler.run`` itself; nothing per resume. What the witness cannot see: CPU
time (the rusage bound covers it from above only) and lateness, which is measured by the
rocket bodies with clocks captured before any plugin was imported.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

#: Linux's value; Python's ``socket`` module does not export the name.
SO_TIMESTAMPNS: Final = getattr(socket, "SO_TIMESTAMPNS", 35)
#: The environment variable through which a child learns the parent's socket address.
ADDRESS_VARIABLE: Final = "SCHEDBENCH_WITNESS"
#: pid, run number, 0 for start / 1 for end.
_MARK: Final = struct.Struct("<qqB")
_TIMESPEC: Final = struct.Struct("@qq")
#: How far a reported wall time may fall short of the kernel's bracket: the clocks' step
#: and rounding, never the run's own length.
SLACK_S: Final = 20e-6
SLACK_SHARE: Final = 1e-3


@dataclass(frozen=True)
class Mark:
    pid: int
    seq: int
    end: bool
    at_s: float  # the kernel's send time, CLOCK_REALTIME seconds


class Listener:
    """The parent's end: an abstract-namespace datagram socket, stamped by the kernel."""

    def __init__(self) -> None:
        self.name = f"schedbench-witness-{os.getpid()}-{secrets.token_hex(6)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setblocking(False)
        self.marks: list[Mark] = []
        self.malformed = 0

    @property
    def address(self) -> str:
        return self.name

    def fileno(self) -> int:
        return self.sock.fileno()

    def drain(self) -> None:
        """Read every datagram waiting (never blocks)."""
        while True:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(64, socket.CMSG_SPACE(_TIMESPEC.size))
            except (BlockingIOError, InterruptedError):
                return
            stamp = next((d for level, kind, d in ancillary
                          if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS), None)
            if stamp is None or len(data) != _MARK.size or len(stamp) < _TIMESPEC.size:
                self.malformed += 1
                continue
            pid, seq, end = _MARK.unpack(data)
            seconds, nanoseconds = _TIMESPEC.unpack(stamp[:_TIMESPEC.size])
            self.marks.append(Mark(pid, seq, bool(end), seconds + nanoseconds * 1e-9))

    def close(self) -> None:
        self.drain()
        self.sock.close()


class Probe:
    """The worker's end, handed to ``execute_once`` as its probe: one mark as the measured
    interval starts, one as it ends. Created before any plugin is imported."""

    def __init__(self, address: str) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.connect("\0" + address)
        self._send = self._sock.send
        self._pack = _MARK.pack
        self._pid = os.getpid()
        self.seq = 0
        self.lost = 0

    def start(self) -> None:
        self._mark(0)

    def stop(self) -> None:
        self._mark(1)
        self.seq += 1

    def _mark(self, end: int) -> None:
        try:
            self._send(self._pack(self._pid, self.seq, end), socket.MSG_DONTWAIT)
        except OSError:
            self.lost += 1  # the run then has no bracket, which the parent refuses


def connect(address: str | None) -> Probe | None:
    """The probe for this process, when the parent set up a witness at ``address``.

    None when there is none or it cannot be reached; the parent then finds the runs
    without marks and refuses them, so a failure here cannot pass unnoticed.
    """
    if not address:
        return None
    with contextlib.suppress(OSError):
        return Probe(address)
    return None


def brackets(marks: Iterable[Mark]) -> tuple[dict[tuple[int, int], float], list[str]]:
    """Kernel-measured seconds per (pid, run number), and what was wrong with the marks."""
    starts: dict[tuple[int, int], float] = {}
    ends: dict[tuple[int, int], float] = {}
    problems: list[str] = []
    for mark in marks:
        side = ends if mark.end else starts
        key = (mark.pid, mark.seq)
        if key in side:
            problems.append(f"the witness received run {mark.seq} of process {mark.pid} twice")
        side[key] = mark.at_s
    return {key: ends[key] - start for key, start in starts.items() if key in ends}, problems


def check(records: Sequence[Mapping[str, Any]], marks: Iterable[Mark]) -> list[str]:
    """Why the runs' reported wall times cannot be true (empty: they can).

    Every record that claims a measured run (it has ``wall_s``) must carry the ``pid`` and
    ``seq`` its marks were sent with, both marks must have arrived, and the wall time must
    cover the kernel's bracket.
    """
    seen, problems = brackets(marks)
    for record in records:
        wall = record.get("wall_s")
        if not isinstance(wall, float):
            continue
        key = (record.get("pid"), record.get("seq"))
        measured = seen.get(key)  # type: ignore[arg-type]
        if measured is None:
            problems.append(f"run {key[1]} of process {key[0]} has no marks from the witness outside the worker")
        elif wall < measured * (1 - SLACK_SHARE) - SLACK_S:
            problems.append(f"run {key[1]} of process {key[0]} reported {wall * 1e3:.3f} ms of wall time; the "
                            f"kernel saw it take {measured * 1e3:.3f} ms")
        if len(problems) >= 3:
            break
    return problems
