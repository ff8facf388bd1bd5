"""The two small contracts between the harness and a scheduler: a clock and a scheduler.

The harness builds a scheduler as ``cls(clock)``, asks it for ``sleep`` to hand to the
rocket bodies, then calls ``run(coroutines)`` once. That is the whole contract; anything
else a scheduler offers is optional and the harness copes without it.

Trade-off: a protocol this narrow cannot express priorities or cancellation, but it is
exactly what the rocket workload needs, and a plugin author can read it in a minute. I/O
enters it through two *optional* readiness primitives, ``readable(sock)`` and
``writable(sock)`` (``READINESS_MEMBERS``): a scheduler without them still runs every
timer workload, and the harness skips it for the I/O workload instead of failing it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
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
}
