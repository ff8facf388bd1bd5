"""The rocket workload (DESIGN §1): a seeded list of rockets and the coroutines built from it.

A rocket is ``(name, delay, countdown)``: it sleeps ``delay`` ticks, then for each step
``countdown .. 1`` records "T-minus step" and sleeps one tick, then records "launched".

The rocket list is generated once from ``random.Random(seed)`` and handed unchanged to
every scheduler. Coroutines are built by ``build_coroutines`` *before* the timed region
starts, so a scheduler's figures never include the cost of creating its input.

Events are tuples ``(index, step)`` with ``step`` 0 meaning "launched". The tuples are
built once per rocket ahead of time, so recording one in the hot path is a single
``list.append`` and costs every scheduler the same.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, NamedTuple

from bench.workload import bodies

Mode = Literal["switch", "timed", "io"]
MODES: tuple[Mode, ...] = ("switch", "timed", "io")
#: io mode: bytes per message by default, and the largest message allowed.
DEFAULT_MESSAGE_SIZE = 1
MAX_MESSAGE_SIZE = 1 << 20

DEFAULT_ROCKETS = 10_000
DEFAULT_SEED = 1969  # arbitrary but fixed: the year of Apollo 11; printed and stored.
DEFAULT_TIME_SCALE = 1.0
MAX_DELAY_TICKS = 5.0
MAX_COUNTDOWN = 4  # countdown = randrange(MAX_COUNTDOWN + 1)

Event = tuple[int, int]


class Rocket(NamedTuple):
    name: str
    delay: float  # ticks
    countdown: int


def make_rockets(count: int, seed: int) -> tuple[Rocket, ...]:
    """The deterministic rocket list: same (count, seed) → same rockets, on any machine."""
    rng = random.Random(seed)
    rockets = []
    for i in range(count):
        delay = rng.random() * MAX_DELAY_TICKS
        countdown = rng.randrange(MAX_COUNTDOWN + 1)
        rockets.append(Rocket(f"Artemis-{i}", delay, countdown))
    return tuple(rockets)


@dataclass(frozen=True)
class Workload:
    """One workload instance: the rockets plus how they are run.

    In switch mode every sleep lasts 0 seconds but still suspends once; ``time_scale``
    then only labels the workload. In timed mode a tick lasts ``time_scale`` seconds. In
    io mode the rockets talk in pairs over sockets (``bench.workload.io_rockets``): the
    delays are not used, each pair exchanges ``countdown + 1`` (of its even rocket)
    messages of ``message_size`` bytes, and ``total_sleeps`` counts readiness waits.
    """

    rockets: tuple[Rocket, ...]
    seed: int
    mode: Mode
    time_scale: float = DEFAULT_TIME_SCALE
    message_size: int = DEFAULT_MESSAGE_SIZE
    # Derived once; validation and every figure's denominator use them.
    total_sleeps: int = field(init=False)
    ideal_makespan_s: float = field(init=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not (math.isfinite(self.time_scale) and self.time_scale > 0):
            raise ValueError(f"time_scale must be finite and > 0, got {self.time_scale!r}")
        if self.mode == "io":
            if len(self.rockets) % 2:
                raise ValueError(f"io mode pairs the rockets: {len(self.rockets)} is odd")
            if not 1 <= self.message_size <= MAX_MESSAGE_SIZE:
                raise ValueError(f"message size must be 1 .. {MAX_MESSAGE_SIZE} bytes, got {self.message_size!r}")
            sleeps = sum(io_waits(m) for m in self.messages_per_pair())
        else:
            sleeps = sum(r.countdown + 1 for r in self.rockets)
        ideal = max((r.delay + r.countdown for r in self.rockets), default=0.0)
        object.__setattr__(self, "total_sleeps", sleeps)
        scale = self.time_scale if self.mode == "timed" else 0.0
        object.__setattr__(self, "ideal_makespan_s", ideal * scale)

    @classmethod
    def generate(
        cls, count: int, seed: int, mode: Mode, time_scale: float = DEFAULT_TIME_SCALE,
        message_size: int = DEFAULT_MESSAGE_SIZE,
    ) -> Workload:
        return cls(make_rockets(count, seed), seed, mode, time_scale, message_size)

    def messages_per_pair(self) -> list[int]:
        """io mode: how many messages each pair exchanges (its client's countdown + 1)."""
        return [self.rockets[i].countdown + 1 for i in range(0, len(self.rockets) - 1, 2)]

    @property
    def count(self) -> int:
        return len(self.rockets)

    @property
    def expected_resumes(self) -> int:
        """One start per rocket plus one resume per sleep: what a non-polling loop does."""
        return self.count + self.total_sleeps

    def describe(self) -> dict[str, object]:
        return {
            "rockets": self.count,
            "seed": self.seed,
            "mode": self.mode,
            "time_scale": self.time_scale,
            "total_sleeps": self.total_sleeps,
            "expected_resumes": self.expected_resumes,
            "ideal_makespan_s": self.ideal_makespan_s,
            **({"message_size": self.message_size} if self.mode == "io" else {}),
        }


def io_waits(messages: int) -> int:
    """Readiness waits of one pair: the client waits once per echo, the server once per
    message and once more for the end of the stream."""
    return 2 * messages + 1


@dataclass
class Trace:
    """What the rocket bodies record while a scheduler runs them."""

    events: list[Event] = field(default_factory=list)
    #: Timed mode only: actual wake time minus deadline, seconds, one per sleep, in wake order.
    lateness: list[float] = field(default_factory=list)
    #: Timed mode only: the deadline of each of those wakes, in the same order.
    deadlines: list[float] = field(default_factory=list)
    #: Timed mode only: when each rocket started (its first clock reading).
    starts: list[float] = field(default_factory=list)
    #: The "launched" events of rockets that ended without returning (closed, thrown into).
    aborted: list[Event] = field(default_factory=list)

    def burst_flags(self) -> list[bool]:
        """For each wake, whether it was due before the last rocket had started: the
        start-up burst, whose lateness is the workload's shape as much as the timer's."""
        if not self.starts or len(self.deadlines) != len(self.lateness):
            return []
        end = max(self.starts)
        return [due < end for due in self.deadlines]


def build_coroutines(
    workload: Workload, dialect: str, sleep: Callable[[float], Any], now: Callable[[], float]
) -> tuple[list[Any], Trace]:
    """Create one coroutine per rocket, ready to hand to ``scheduler.run``.

    Everything a body needs (its event tuples, its sleep durations) is computed here so
    the timed region holds only the scheduler's work and the body's minimal bookkeeping.

    For the generator and async dialects the list holds unstarted generators / coroutine
    objects. For the greenlet dialect it holds unstarted zero-argument callables (a
    ``functools.partial`` of the body): a stackful scheduler starts each on a stack of its
    own, and calling one runs the whole rocket.
    """
    trace = Trace()
    record, abort = trace.events.append, trace.aborted.append
    mode_bodies = bodies.SWITCH_BODIES if workload.mode == "switch" else bodies.TIMED_BODIES
    body: Callable[..., Any] = mode_bodies[dialect]
    if dialect in bodies.CALLABLE_DIALECTS:
        body = partial(partial, body)  # body(*args) now binds the arguments, runs nothing
    if workload.mode == "switch":
        coros = [
            body(_steps(i, r.countdown), (i, 0), sleep, record, abort)
            for i, r in enumerate(workload.rockets)
        ]
    else:
        tick = workload.time_scale
        late, dues, begun = trace.lateness.append, trace.deadlines.append, trace.starts.append
        coros = [
            body(_steps(i, r.countdown), (i, 0), r.delay * tick, tick, sleep, now, record, late, dues, begun, abort)
            for i, r in enumerate(workload.rockets)
        ]
    return coros, trace


def _steps(index: int, countdown: int) -> tuple[Event, ...]:
    return tuple((index, step) for step in range(countdown, 0, -1))
