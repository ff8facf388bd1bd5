"""The unmeasured checking run: does every ``sleep(0)`` really suspend the rocket?

Switch mode measures the cost of a context switch, so it counts on every ``sleep(0)``
suspending the rocket once (the protocol requires it). A scheduler whose ``sleep(0)``
returns at once and which reports the expected resume count would finish every rocket
in one go, produce a perfect trace and rank first. The trace cannot tell; only watching
the sleeps can.

So before the measured runs (in each pyperf worker process, and in the one-shot child),
the harness runs the measured switch workload, at its full size, with every
sleep wrapped by ``counting_sleep``: the wrapper stands between the body and the
scheduler's sleep, forwards ``next``/``send``/``throw``/``close`` faithfully (trio's
traps receive their values through ``send``; asyncio cancels through ``throw``) and
counts the values that pass up to the scheduler, i.e. the suspensions. A sleep that
returned without one, or a sleep that was never reached (a scheduler that wrote the
trace itself), makes the run INVALID: "sleep(0) did not suspend (N of M sleeps)".

Dialects: ``generator`` (``yield from sleep(0)``: the wrapper is an iterator),
``async`` (``await sleep(0)``: an awaitable whose ``__await__`` is the counting
iterator) and ``greenlet`` (``sleep(0)`` is a blocking call that switches stacks:
counted with ``greenlet.settrace``, a suspension being a switch away from the rocket's
greenlet while it is inside ``sleep``). Any other dialect is skipped with a note.

The run is not measured: the wrapper costs a Python call per step, which would distort
the switch cost, and no figure of it is kept. A malicious scheduler can still tell the
checking run apart only with effort (it has the measured size; what differs is the
wrapper around ``sleep``); this check stops the cheap cheat, not malice.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Final

from bench.measure.clocks import ClockKind
from bench.measure.execute import RunOutcome, execute_once
from bench.measure.registry import SchedulerEntry
from bench.workload.checks import Verdict
from bench.workload.rockets import Workload
from bench.workload.status import Status

COUNTED_DIALECTS: Final = ("generator", "async", "greenlet")


@dataclass
class Tally:
    """What the counting sleeps saw during one checking run."""

    completed: int = 0  # sleeps that returned to their rocket
    suspended: int = 0  # ... of which suspended the rocket at least once
    suspensions: int = 0  # values passed up to the scheduler (or greenlet switches away)
    #: greenlet dialect: switches away counted per greenlet currently inside ``sleep``.
    inside: dict[Any, int] = field(default_factory=dict)

    def done(self, suspensions: int) -> None:
        self.completed += 1
        if suspensions > 0:
            self.suspended += 1


class _CountingIterator:
    """Delegates to one sleep's iterator exactly as ``yield from`` would, counting yields."""

    __slots__ = ("_it", "_tally", "_yields")

    def __init__(self, it: Any, tally: Tally) -> None:
        self._it = it
        self._tally = tally
        self._yields = 0

    def __iter__(self) -> _CountingIterator:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def send(self, value: Any) -> Any:
        try:
            result = next(self._it) if value is None else self._it.send(value)
        except StopIteration:
            self._finish()
            raise
        return self._passed(result)

    def throw(self, *args: Any) -> Any:
        throw = getattr(self._it, "throw", None)
        if throw is None:  # ``yield from`` raises it in the delegating frame
            raise _exception(args)
        try:
            result = throw(*args)
        except StopIteration:
            self._finish()
            raise
        return self._passed(result)

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if close is not None:
            close()

    def _passed(self, value: Any) -> Any:
        self._yields += 1
        self._tally.suspensions += 1
        return value

    def _finish(self) -> None:
        self._tally.done(self._yields)


class _CountingAwaitable:
    """``await``-able: its ``__await__`` is the counting iterator over the sleep's own."""

    __slots__ = ("_it", "_tally")

    def __init__(self, it: Any, tally: Tally) -> None:
        self._it = it
        self._tally = tally

    def __await__(self) -> Iterator[Any]:
        return _CountingIterator(self._it, self._tally)


def _exception(args: tuple[Any, ...]) -> BaseException:
    """The exception ``throw(*args)`` means (``throw(exc)`` or ``throw(type, value, tb)``)."""
    first = args[0]
    if isinstance(first, BaseException):
        return first
    value = args[1] if len(args) > 1 else None
    if isinstance(value, BaseException):
        return value
    exc: BaseException = first() if value is None else first(value)
    return exc


def _await_iterator(awaitable: Any) -> Any | None:
    """The iterator ``await awaitable`` would drive, or None when it is not awaitable."""
    if isinstance(awaitable, types.GeneratorType) and (
        awaitable.gi_code.co_flags & inspect.CO_ITERABLE_COROUTINE
    ):
        return awaitable  # a @types.coroutine generator: awaited directly
    if getattr(type(awaitable), "__await__", None) is None:
        return None
    # Through the instance, so a ``staticmethod`` ``__await__`` works as ``await`` calls it.
    return awaitable.__await__()


def counting_sleep(sleep: Callable[[float], Any], dialect: str, tally: Tally) -> Callable[[float], Any]:
    """``sleep`` with every suspension counted into ``tally`` (see the module docstring)."""
    if dialect == "generator":
        def counted_gen(seconds: float) -> Any:
            inner = sleep(seconds)
            try:
                it = iter(inner)
            except TypeError:
                return inner  # not iterable: let ``yield from`` fail as it would have
            return _CountingIterator(it, tally)
        return counted_gen
    if dialect == "async":
        def counted_async(seconds: float) -> Any:
            inner = sleep(seconds)
            it = _await_iterator(inner)
            return inner if it is None else _CountingAwaitable(it, tally)
        return counted_async
    if dialect == "greenlet":
        from greenlet import getcurrent

        def counted_greenlet(seconds: float) -> Any:
            me = getcurrent()
            tally.inside[me] = 0
            try:
                return sleep(seconds)
            finally:
                switches = tally.inside.pop(me, 0)
                tally.done(switches)
        return counted_greenlet
    raise ValueError(f"no counting sleep for dialect {dialect!r}")


class _GreenletTrace:
    """Counts switches away from greenlets that are inside a counting sleep."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.previous: Any = None

    def __enter__(self) -> _GreenletTrace:
        import greenlet

        self.previous = greenlet.settrace(self)
        return self

    def __exit__(self, *exc: object) -> None:
        import greenlet

        greenlet.settrace(self.previous)

    def __call__(self, event: str, args: Any) -> None:
        if event in ("switch", "throw"):
            origin = args[0]
            inside = self.tally.inside
            if origin in inside:
                inside[origin] += 1
                self.tally.suspensions += 1
        if self.previous is not None:
            self.previous(event, args)


@dataclass(frozen=True)
class CheckResult:
    """The checking run's outcome. ``verdict`` is None when the check was skipped."""

    verdict: Verdict | None
    note: str  # why it failed, or why it was skipped; "" when it passed
    tally: Tally | None = None

    @property
    def failed(self) -> bool:
        return self.verdict is not None and self.verdict.status is Status.INVALID


#: Rockets in a timed job's checking run. Its measured runs are switch-free, so the check
#: there only asks whether the plugin's ``sleep(0)`` is honest at all: a small run suffices.
TIMED_JOB_CHECK_ROCKETS: Final = 300


def checking_workload(workload: Workload) -> Workload:
    """The checking run's workload: switch mode, the same rockets as the measured runs.

    For a switch job, the same size on purpose: a plugin that runs honestly only when
    handed a checking run's few rockets would otherwise pass it. The price is one more
    unmeasured run per worker process (docs/design.md §7.5 has its cost). A timed job's
    runs have no ``sleep(0)`` to check, and a sleep that does not suspend wakes early there,
    which every timed run measures; its check stays small.
    """
    if workload.mode == "switch":
        return Workload.generate(workload.count, workload.seed, "switch")
    return Workload.generate(min(workload.count, TIMED_JOB_CHECK_ROCKETS), workload.seed, "switch")


def check_suspensions(entry: SchedulerEntry, workload: Workload, clock: ClockKind = "real") -> CheckResult:
    """Run ``entry`` once, unmeasured, on ``checking_workload(workload)`` with counting sleeps.

    Returns a ``CheckResult`` whose verdict is INVALID (reasons prefixed "checking run")
    when a sleep did not suspend or the checking run itself was invalid or suspect.
    Raises ``SchedulerCrashed`` (and lets ``MemoryError`` through) like ``execute_once``.
    """
    dialect = entry.dialect
    if dialect not in COUNTED_DIALECTS:
        return CheckResult(None, f"suspension check skipped: dialect {dialect!r} has no counting sleep")
    small = checking_workload(workload)
    tally = Tally()

    def wrap(sleep: Callable[[float], Any], run_dialect: str) -> Callable[[float], Any]:
        return counting_sleep(sleep, run_dialect, tally)

    if dialect == "greenlet":
        with _GreenletTrace(tally):
            outcome = execute_once(entry, small, clock, wrap_sleep=wrap)
    else:
        outcome = execute_once(entry, small, clock, wrap_sleep=wrap)
    return judge(outcome, tally)


def judge(outcome: RunOutcome, tally: Tally) -> CheckResult:
    """The checking run's result from its outcome and what the counting sleeps saw."""
    workload = outcome.workload
    expected = workload.total_sleeps
    head = f"checking run ({workload.count} rockets, unmeasured)"
    verdict = outcome.verdict
    problems = list(verdict.reasons) if verdict.broken else []
    returned_at_once = tally.completed - tally.suspended
    if verdict.broken:
        # A lost rocket's sleeps were never reached: the trace's reasons say why; only
        # sleeps that returned without suspending are this check's own finding.
        if returned_at_once > 0:
            problems.insert(0, f"sleep(0) did not suspend ({returned_at_once} of {expected} sleeps)")
    elif tally.suspended < expected:
        # The trace is right but sleeps returned at once, or never ran at all (a trace
        # written by the scheduler instead of by running the rockets).
        problems.insert(0, f"sleep(0) did not suspend ({expected - tally.suspended} of {expected} sleeps)")
    elif tally.completed > expected:
        problems.insert(0, f"the rockets' sleeps returned {tally.completed} times, expected {expected}")
    if not problems:
        return CheckResult(verdict, "", tally)
    reasons = tuple(f"{head}: {p}" for p in problems[:5])
    return CheckResult(replace(verdict, status=Status.INVALID, reasons=reasons), reasons[0], tally)
