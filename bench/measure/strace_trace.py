"""Reading an strace trace back: the calls made between the two region markers, by name.

The counting child (``bench.measure.syscalls_child``) marks the region with a call that no
scheduler makes and that costs nothing: ``lseek`` on file descriptor -1, with an offset
that is the marker itself (``START`` before ``run``, ``STOP`` after). The kernel refuses it
at once (``EBADF``) and strace writes it as::

    4242  lseek(-1, 5369061969000000001, SEEK_SET) = -1 EBADF (Bad file descriptor)

Every call *entered* after the start marker and before the stop marker is counted, in
any thread or process of the child (``strace -f`` prefixes each line with its pid). A
call that another thread's line interrupts is written in two pieces, ``name(args
<unfinished ...>`` then ``<... name resumed>rest``: it is counted once, where it was
entered, so a call that began before the region and ended inside it (a helper thread's
``futex`` wait) is not counted, and one that began inside and ended after is. Signal
lines (``--- SIGCHLD ... ---``) and exit notices (``+++ exited with 0 +++``) are not calls.

The markers are the probe's own calls and are not counted. A trace with no start
marker, no stop marker after it, or more than one of either, is refused
(``TraceError``): the region is not known, so neither is the count.

Plain functions over text, so the parsing is tested on canned traces without strace.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

#: The two markers: ``lseek(-1, MARK, SEEK_SET)``. Offsets no program seeks to (and fd -1
#: cannot be seeked at all), below 2**63 so they pass as an ``off_t``.
START: Final = 5_369_061_969_000_000_001
STOP: Final = 5_369_061_969_000_000_002
#: Calls the child makes after the region, only to push strace's buffered lines to disk
#: (``bench.measure.syscalls_child.flush_trace``): never counted, never a marker.
PAD: Final = 5_369_061_969_000_000_003

#: ``[pid] name(`` at the start of a line; the pid is there with ``-f``.
_CALL: Final = re.compile(r"^(?:(?P<pid>\d+)\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*|\?+)\((?P<args>.*)$")
_MARK: Final = re.compile(r"^-1,\s*(?P<offset>\d+),\s*SEEK_SET")


class TraceError(Exception):
    """The region cannot be found in a trace; the message is one line saying why."""


@dataclass(frozen=True)
class Region:
    """What was called between the markers: calls by name, and which pids made them."""

    counts: dict[str, int]
    pids: frozenset[int]
    #: The pid that wrote the markers (the one that ran ``run``).
    marker_pid: int | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def marker_text(offset: int) -> bytes:
    """How strace writes a marker's call (what the child looks for in the file)."""
    return f"lseek(-1, {offset}, SEEK_SET)".encode()


def marker(offset: int) -> str | None:
    """"start"/"stop" for a marker's offset, None for any other."""
    return {START: "start", STOP: "stop"}.get(offset)


def _entry(line: str) -> tuple[int | None, str, str] | None:
    """(pid, name, args) of a line that enters a call; None for anything else (a resumed
    call, a signal, an exit notice, a blank line)."""
    match = _CALL.match(line.strip())
    if match is None:
        return None
    pid = match.group("pid")
    return (int(pid) if pid is not None else None), match.group("name"), match.group("args")


def _mark_of(name: str, args: str) -> str | None:
    if name not in ("lseek", "_llseek"):
        return None
    found = _MARK.match(args)
    return None if found is None else marker(int(found.group("offset")))


def count_region(lines: Iterable[str]) -> Region:
    """The calls entered between the start and the stop marker; ``TraceError`` when the
    markers are missing, repeated or out of order."""
    counts: Counter[str] = Counter()
    pids: set[int] = set()
    state = "before"
    marker_pid: int | None = None
    for number, line in enumerate(lines, 1):
        entry = _entry(line)
        if entry is None:
            continue
        pid, name, args = entry
        mark = _mark_of(name, args)
        if mark == "start":
            if state != "before":
                raise TraceError(f"a second start marker (trace line {number})")
            state, marker_pid = "inside", pid
        elif mark == "stop":
            if state == "before":
                raise TraceError(f"the stop marker comes before any start marker (trace line {number})")
            if state == "after":
                raise TraceError(f"a second stop marker (trace line {number})")
            state = "after"
        elif state == "inside":
            counts[name] += 1
            if pid is not None:
                pids.add(pid)
    if state == "before":
        raise TraceError("no start marker in the trace (the counted run never began)")
    if state == "inside":
        raise TraceError("no stop marker in the trace (the counted run never ended)")
    return Region(dict(sorted(counts.items())), frozenset(pids), marker_pid)
