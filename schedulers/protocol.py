"""The two small contracts between the harness and a scheduler: a clock and a scheduler.

The harness builds a scheduler as ``cls(clock)``, asks it for ``sleep`` to hand to the
rocket bodies, then calls ``run(coroutines)`` once. That is the whole contract; anything
else a scheduler offers is optional and the harness copes without it.

Trade-off: a protocol this narrow cannot express priorities, cancellation or I/O, but it
is exactly what the rocket workload needs, and a plugin author can read it in a minute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

Dialect = Literal["generator", "async"]
DIALECTS: tuple[Dialect, ...] = ("generator", "async")

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
    runs with ``yield from``; for the async dialect, an awaitable. It must suspend the
    caller at least once even for 0 seconds (switch mode relies on that).

    ``run(coroutines)`` drives every rocket coroutine to completion and returns counters
    (see ``COUNTER_*``) or ``None`` when the loop cannot count without instrumenting the
    resume path (asyncio, uvloop, trio).
    """

    name: ClassVar[str]
    dialect: ClassVar[Dialect]

    def __init__(self, clock: Clock) -> None: ...

    def sleep(self, seconds: float) -> Any: ...

    def run(self, coroutines: Iterable[Any]) -> Mapping[str, int] | None: ...


#: Optional class attributes and their defaults when a scheduler does not declare them.
OPTIONAL_DEFAULTS: Mapping[str, object] = {
    # False for designs that never call ``clock.wait`` (busy-waiting, spinning on
    # ``clock.now``): under a virtual clock they would spin forever.
    "supports_virtual_clock": True,
    # True for designs that resume a task to ask whether it is due; their ``resumes`` may
    # exceed one per sleep plus one per start, the excess being wasted polls.
    "polling": False,
}
