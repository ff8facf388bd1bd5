"""Build the io mode's coroutines: one socket pair per two rockets, outside the timed region.

Everything a body needs is made here, before ``scheduler.run``: the connected non-blocking
``socketpair()`` of each pair, the payloads (one per message number, shared by every pair:
message ``k`` is a pattern that differs with ``k``, so a reordered echo is a wrong echo),
and the event tuples. ``IoTrace`` holds what the bodies record; ``close_all`` releases the
sockets whatever became of the run.

Descriptors: a run needs one per rocket. ``raise_descriptor_limit`` lifts this process's
soft ``RLIMIT_NOFILE`` to its hard limit; ``descriptor_room`` says how many rockets fit.
"""

from __future__ import annotations

import resource
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

from bench.workload.io_bodies import IO_BODIES
from bench.workload.rockets import Event, Workload

#: Descriptors a process keeps for itself beside the rockets' (interpreter, pipes, the
#: loop's own epoll and wake-up descriptors).
DESCRIPTOR_RESERVE: Final = 256
#: Messages up to this size arrive in one piece on a Unix stream socket, so each costs
#: exactly one readable wake on each side; larger ones may take several.
ATOMIC_MESSAGE_BYTES: Final = 4096


@dataclass
class IoTrace:
    """What the io bodies record while a scheduler runs them."""

    events: list[Event] = field(default_factory=list)
    spurious: list[Event] = field(default_factory=list)
    aborted: list[Event] = field(default_factory=list)


def payload(k: int, size: int) -> bytes:
    """Message ``k``: ``size`` bytes of a pattern that depends on ``k``."""
    block = bytes((k * 37 + j) % 251 for j in range(min(size, 251)))
    return (block * (size // len(block) + 1))[:size]


def raise_descriptor_limit() -> int:
    """Lift the soft limit on open descriptors to the hard one; the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def descriptor_room() -> int:
    """How many rockets (one descriptor each) an io run can have in this process: the hard
    limit less the reserve, rounded down to an even number."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = (1 << 20) if hard == resource.RLIM_INFINITY else hard - DESCRIPTOR_RESERVE
    return max(0, room - room % 2)


def build_io_coroutines(workload: Workload, dialect: str, readable: Callable[[socket.socket], Any],
                        writable: Callable[[socket.socket], Any]) -> tuple[list[Any], IoTrace, list[socket.socket]]:
    """One coroutine per rocket (client, server, client, server, …), its trace and sockets.

    For the greenlet dialect the list holds unstarted zero-argument callables, as in
    ``bench.workload.rockets.build_coroutines``.
    """
    trace = IoTrace()
    record, spurious, abort = trace.events.append, trace.spurious.append, trace.aborted.append
    client: Callable[..., Any]
    server: Callable[..., Any]
    client, server = IO_BODIES[dialect]
    if dialect == "greenlet":
        client, server = partial(partial, client), partial(partial, server)
    size = workload.message_size
    counts = workload.messages_per_pair()
    payloads = tuple(payload(k, size) for k in range(max(counts, default=0)))
    coros: list[Any] = []
    sockets: list[socket.socket] = []
    try:
        for pair, messages in enumerate(counts):
            a, b = socket.socketpair()
            sockets += (a, b)
            a.setblocking(False)
            b.setblocking(False)
            c, s = 2 * pair, 2 * pair + 1
            coros.append(client(a, payloads[:messages], tuple((c, k + 1) for k in range(messages)), (c, 0),
                                readable, writable, record, spurious, abort))
            coros.append(server(b, size, tuple((s, k + 1) for k in range(messages)), (s, 0),
                                readable, writable, record, spurious, abort))
    except BaseException:
        close_all(sockets)
        raise
    return coros, trace, sockets


def close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()  # closing twice is harmless: the bodies close their own when done
