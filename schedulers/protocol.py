"""The two small contracts between the harness and a scheduler: a clock and a scheduler.

The harness builds a scheduler as ``cls(clock)``, asks it for ``sleep`` to hand to the
rocket bodies, then calls ``run(coroutines)`` once. That is the whole contract; anything
else a scheduler offers is optional and the harness copes without it.

Trade-off: a protocol this narrow cannot express priorities or cancellation, but it is
exactly what the rocket workload needs, and a plugin author can read it in a minute. I/O
enters it through two *optional* readiness primitives, ``readable(sock)`` and
``writable(sock)`` (``READINESS_MEMBERS``): a scheduler without them still runs every
timer workload, and the harness skips it for the I/O workload instead of failing it.

A third optional member, ``echo_servers`` (``ECHO_MEMBER``, read through
``echo_variants``), offers TCP echo servers written in the loop's own API for the echo
benchmark; a scheduler without it simply has no echo server.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final, Literal, Protocol, runtime_checkable

#: How a rocket body is written, and so what ``run`` receives and what ``sleep`` returns:
#:
#: * ``"generator"``: ``run`` gets unstarted generators; ``sleep(s)`` returns an iterable
#:   the body drives with ``yield from``.
#: * ``"async"``: ``run`` gets unstarted coroutine objects; ``sleep(s)`` returns an
#:   awaitable.
#: * ``"greenlet"`` (stackful: gevent, plain greenlets): ``run`` gets unstarted
#:   *zero-argument callables*, one per rocket, each a plain function that returns when
#:   the rocket has launched; ``sleep(s)`` is a plain blocking function that suspends the
#:   calling stack (a greenlet switch) and returns when the sleep is over. ``run`` starts
#:   each callable on a stack of its own. The callables have no ``close``: whatever a
#:   scheduler leaves unfinished is its own to clean up.
Dialect = Literal["generator", "async", "greenlet"]
DIALECTS: tuple[Dialect, ...] = ("generator", "async", "greenlet")
#: Who a scheduler is compared with. "teaching": the designs people write to learn how a loop
#: works (they show a lesson, nobody deploys them); "production": the ecosystem's real loops;
#: "this-project": the designs this project offers as its own answer. A scheduler that
#: declares none is "third-party": a reader choosing a loop sees it apart from all three.
FAMILIES: tuple[str, ...] = ("teaching", "production", "this-project")
THIRD_PARTY: Final = "third-party"

#: Counter names the harness understands in the mapping ``run`` returns.
#: ``resumes``: how many times a rocket was resumed (required when counters are returned).
#: ``wasted``: resumes spent on polls that found a task not yet due, when the scheduler
#: counts them apart from ``resumes`` (for example sleeps implemented as child tasks).
COUNTER_RESUMES = "resumes"
COUNTER_WASTED = "wasted"


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock in seconds that can also make the caller wait.

    The real clock blocks the thread in ``wait``; the virtual clock jumps instead, so a
    scheduler that only ever learns the time through its clock runs the timed workload
    without waiting.
    """

    def now(self) -> float: ...

    def wait(self, seconds: float) -> None: ...


class Scheduler(Protocol):
    """What an entry point in ``schedbench.schedulers`` must load.

    ``sleep(seconds)`` returns, for the generator dialect, an iterable the rocket body
    runs with ``yield from``; for the async dialect, an awaitable; for the greenlet
    dialect it *is* the sleep: a blocking call that switches stacks and returns when the
    time is up. It must suspend the caller exactly once even for 0 seconds (switch mode
    relies on that).

    ``run(coroutines)`` drives every rocket to completion and returns counters (see
    ``COUNTER_*``) or ``None`` when the loop cannot count without instrumenting the
    resume path (asyncio, uvloop, trio). What it receives depends on the dialect (see
    ``Dialect``): generators, coroutine objects, or, for ``"greenlet"``, unstarted
    zero-argument callables.

    Optional: ``readable(sock)`` and ``writable(sock)``, the readiness primitives
    (``ReadinessScheduler``; ``has_readiness`` tells whether a class offers both). They
    are instance methods called exactly like ``sleep``, per dialect: for the generator
    dialect each returns an iterable the body drives with ``yield from``; for the async
    dialect, an awaitable; for the greenlet dialect it is a blocking call that switches
    stacks. Each suspends the caller at least once, even when the socket is ready
    already, and until the loop has seen the socket readable (data, end of file, an
    error, or, on a listening socket, a connection to accept) or writable (room in the
    send buffer, or an error). ``sock`` is a non-blocking ``socket.socket``; only its
    readiness is awaited, nothing is read or written. A resume before the socket is ready
    (the next non-blocking call raises ``BlockingIOError``) is a *spurious wake*: allowed,
    but counted by the harness, and a real loop should have none. One task at a time may
    wait for each direction of a socket. While any task waits, ``run`` must keep going
    (blocking in the kernel rather than spinning, where the design blocks at all) until
    every task has finished. A scheduler without both members runs every other workload
    as before and is SKIPPED (never failed) by the I/O workload.

    Optional: ``echo_servers``, TCP echo servers in the loop's own API (``EchoScheduler``,
    ``echo_variants``).
    """

    name: ClassVar[str]
    dialect: ClassVar[Dialect]

    def __init__(self, clock: Clock) -> None: ...

    def sleep(self, seconds: float) -> Any: ...

    def run(self, coroutines: Iterable[Any]) -> Mapping[str, int] | None: ...


class ReadinessScheduler(Scheduler, Protocol):
    """A ``Scheduler`` that also offers the optional readiness primitives (see there)."""

    def readable(self, sock: socket.socket) -> Any: ...

    def writable(self, sock: socket.socket) -> Any: ...


#: The optional readiness primitives; a scheduler offers I/O when its class has both.
READINESS_MEMBERS: Final[tuple[str, str]] = ("readable", "writable")


def has_readiness(cls: object) -> bool:
    """True when ``cls`` offers both readiness primitives (``READINESS_MEMBERS``).

    Checked on the class, as the contract check does for ``sleep``: a scheduler that
    returns False is skipped by the I/O workload, never failed. An attribute that raises
    on access counts as absent (a plugin's class may do anything).
    """
    try:
        return all(callable(getattr(cls, member, None)) for member in READINESS_MEMBERS)
    except Exception:
        return False


#: A TCP echo server: takes the listening socket, serves until the process is killed.
EchoServer = Callable[[socket.socket], None]

#: The optional class attribute holding a scheduler's echo servers (``EchoScheduler``).
ECHO_MEMBER: Final = "echo_servers"

#: The backlog the harness passes to ``listen``, and a server that re-listens must keep.
ECHO_BACKLOG: Final = 1024

#: What a variant name looks like: letters, digits, ``.``, ``_`` and ``-``, no ``/``.
ECHO_VARIANT_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class EchoScheduler(Scheduler, Protocol):
    """A ``Scheduler`` that also offers TCP echo servers: ``echo_servers`` (optional).

    ``echo_servers`` is a class attribute mapping a *variant* name to an ``EchoServer``:
    a function that takes the listening socket and serves echo on it forever. A loop with
    several natural server APIs offers one variant each (asyncio: ``"streams"`` and
    ``"protocol"``); a loop with one names it ``"default"``. Variant names match
    ``ECHO_VARIANT_NAME`` (no ``/``: the harness names a server ``"<scheduler>"`` when the
    scheduler has one variant and ``"<scheduler>/<variant>"`` otherwise, ``echo_server_name``).

    What the harness does, and so what a server may assume: in a child process dedicated
    to one server, it makes the listener (TCP, bound to 127.0.0.1 port 0,
    ``listen(ECHO_BACKLOG)``, non-blocking), pins the process to a CPU, then calls
    ``server(listener)`` in the main thread, with no loop running and no clock. The
    server owns the listener and the process from then on; it builds its loop itself.

    What a server must do: accept every connection, any number of them at once, and on
    each send back every byte it receives, in order, until the peer closes its side; then
    close the connection. A peer that resets its connection ends that connection only.
    Keep reading while echoes wait for room: the peer reads its echoes while it sends, so
    waiting for one write to drain before the next read is fine, but it must never need
    the peer to stop sending. Set ``TCP_NODELAY`` on every connection (uvloop, rloop, trio
    and anyio do it themselves; asyncio's selector loop only for ``proto == IPPROTO_TCP``,
    and the listener's ``proto`` is 0): without it the second part of an echo written in
    two pieces waits for the peer's delayed ACK, up to 40 ms on Linux. A server that
    listens again (asyncio's ``create_server`` does) passes ``backlog=ECHO_BACKLOG``.

    How it ends: never by itself. The function does not return; the harness ends the
    process from outside, SIGTERM and then SIGKILL, so install no SIGTERM handler (Twisted:
    ``reactor.run(installSignalHandlers=False)``). A server that returns or raises has
    failed; if its loop stops for an unexpected reason, raise, rather than return.
    """

    echo_servers: ClassVar[Mapping[str, EchoServer]]


def echo_variants(cls: object) -> dict[str, EchoServer]:
    """``cls``'s echo servers by variant name, in declaration order; ``{}`` without any.

    Read from the class, as ``has_readiness`` does. A plugin's attribute may be anything,
    so this never raises: an attribute that is absent, raises on access or on iteration,
    or is not a mapping gives ``{}``; an entry whose name does not match
    ``ECHO_VARIANT_NAME`` or whose server is not callable is left out.
    """
    try:
        servers = getattr(cls, ECHO_MEMBER, None)
        if not isinstance(servers, Mapping):
            return {}
        items = list(servers.items())
    except Exception:
        return {}
    found: dict[str, EchoServer] = {}
    for name, server in items:
        if type(name) is str and ECHO_VARIANT_NAME.fullmatch(name) and callable(server):
            found[name] = server
    return found


def echo_server_name(scheduler: str, variant: str, variants: int) -> str:
    """What the harness calls a server: ``scheduler`` when the scheduler offers one
    variant (``variants == 1``), ``scheduler/variant`` when it offers several."""
    return scheduler if variants == 1 else f"{scheduler}/{variant}"


#: Optional class attributes and their defaults when a scheduler does not declare them.
OPTIONAL_DEFAULTS: Mapping[str, object] = {
    # False for designs that never call ``clock.wait`` (busy-waiting, spinning on
    # ``clock.now``): under a virtual clock they would spin forever.
    "supports_virtual_clock": True,
    # True for designs that resume a task to ask whether it is due; their ``resumes`` may
    # exceed one per sleep plus one per start, the excess being wasted polls.
    "polling": False,
    # True when ``run`` can be called only once per process (Twisted's reactor cannot be
    # restarted). The harness must then give every run a fresh process: one value per
    # worker process, no warm-up run, and in-process loops (one-shot runs, tests) must
    # start a child process for each run.
    "one_run_per_process": False,
    # True when the loop keeps process-global state (a hub, an installed reactor, signal
    # handlers): the paired gate then never loads two versions of it into one process.
    "shares_process_state": False,
    # The version of the library the scheduler wraps (``importlib.metadata.version`` of
    # its distribution), recorded with the results so a change of library version is
    # visible next to a change of figures; None for schedulers that wrap no library.
    "version": None,
    # One line on how the loop's timers read and round time (milliseconds, the wall clock),
    # from its source: shown beside its lateness and early-wake figures, so a reader can
    # tell the loop's documented behaviour from a defect. None: nothing to add.
    "timer_note": None,
    # One of FAMILIES: which list the reports rank the scheduler in. None: "third-party".
    "family": None,
}
