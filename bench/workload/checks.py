"""Check a run's trace against its workload before any of its figures count (DESIGN §3).

A run is INVALID when a rocket is lost, launched twice, or its countdown is incomplete or
out of order, or when the scheduler's resume count contradicts its strategy. Early wakes
(a rocket resumed before its deadline) keep the trace valid but are counted, the worst
reported, and they bar the run from being ranked fastest: a fast wrong scheduler must
never win.

A scheduler is untrusted code that can reach the trace through the rockets' frames, so
the figures are checked for plausibility as well: on the real clock a makespan below the
ideal one by more than the recorded early wakes allow is impossible (INVALID), as is a
wake earlier than any sleep could make it, non-finite lateness values, or counters that
are not whole numbers or break the counters contract (``resumes`` required, only the
known names); a lateness distribution made of exact zeros is SUSPECT (a valid trace
whose figures cannot be real: never ranked, fails the gate like INVALID).
"""

from __future__ import annotations

import contextlib
import heapq
import math
import numbers
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.workload.rockets import Event, Workload
from bench.workload.status import Status
from schedulers.protocol import COUNTER_RESUMES, COUNTER_WASTED

MAX_REASONS = 5  # enough to diagnose, short enough for one table cell
#: The counter names ``run`` may return (docs/plugins.md, "Counters"). A closed list: a
#: misspelt ``resume`` would otherwise be ignored and the run validated on its trace alone,
#: as if the scheduler had returned no counters, while the author believes they are checked.
COUNTER_NAMES: tuple[str, ...] = (COUNTER_RESUMES, COUNTER_WASTED)
#: Counters are whole numbers in [0, MAX_COUNTER]: anything else is not a count.
MAX_COUNTER = 2**63 - 1
#: Share of exactly-zero lateness values above which a real-clock run is SUSPECT. On a
#: nanosecond clock an exact zero (the wake read the very float its deadline was) is a
#: coincidence; half of them is a scheduler that fed the rockets their own deadlines.
MAX_ZERO_LATENESS_SHARE = 0.5
#: Float slack in the makespan floor (relative, and absolute seconds).
MAKESPAN_RTOL = 1e-9
MAKESPAN_ATOL_S = 1e-9


@dataclass(frozen=True)
class Verdict:
    status: Status
    reasons: tuple[str, ...]
    resumes: int | None  # as counted by the scheduler; None when it cannot count
    expected_resumes: int
    wasted: int | None  # resumes spent on polls that found the task not due
    early_wakes: int
    worst_early_s: float  # ≥ 0: how far before its deadline the earliest wake came
    #: io mode: resumes through ``readable`` after which there was nothing to read.
    spurious_wakes: int = 0

    @property
    def valid(self) -> bool:
        """The trace is not invalid (EARLY and SUSPECT runs have a correct trace)."""
        return self.status is not Status.INVALID

    @property
    def ranked(self) -> bool:
        """Only a VALID run may be ranked: EARLY, SUSPECT and INVALID never are."""
        return self.status is Status.VALID

    @property
    def broken(self) -> bool:
        """Counts as a failure (exit 1, a broken row for the gate): SUSPECT or INVALID."""
        return self.status in (Status.SUSPECT, Status.INVALID)

    @property
    def label(self) -> str:
        return self.status.label

    def explain(self) -> str:
        return "; ".join(self.reasons)


def steps_by_rocket(count: int, events: Sequence[Event]) -> tuple[list[list[int]], list[str]]:
    """Each rocket's recorded steps in order, and the entries that are not events at all.

    The trace is reachable from the scheduler (through the rockets' frames): an entry may
    be anything, not only the (int, int) tuples the bodies record.
    """
    seen: list[list[int]] = [[] for _ in range(count)]
    problems: list[str] = []
    for event in events:
        if type(event) is not tuple or len(event) != 2 or any(type(x) is not int for x in event):
            problems.append(f"malformed event {_short_repr(event)} (not an (index, step) pair of ints)")
            continue
        index, step = event
        if not 0 <= index < count:
            problems.append(f"event for unknown rocket index {index}")
            continue
        seen[index].append(step)
    return seen, problems


def check_trace(workload: Workload, events: Sequence[Event]) -> list[str]:
    """Problems with the recorded events, worst first; empty when the trace is right."""
    seen, problems = steps_by_rocket(workload.count, events)
    for rocket, steps in zip(workload.rockets, seen, strict=True):
        expected = [*range(rocket.countdown, 0, -1), 0]
        if steps == expected:
            continue
        launches = steps.count(0)
        if launches == 0:
            problems.append(f"rocket lost: {rocket.name} never launched")
        elif launches > 1:
            problems.append(f"{rocket.name} launched {launches} times")
        elif sorted(steps, reverse=True) == sorted(expected, reverse=True):
            problems.append(f"countdown out of order for {rocket.name}: {_fmt(steps)}")
        else:
            problems.append(
                f"countdown wrong for {rocket.name}: {_fmt(steps)}, expected {_fmt(expected)}"
            )
    return problems


def _fmt(steps: Sequence[int]) -> str:
    return " ".join("launch" if s == 0 else f"T-{s}" for s in steps)


def _short_repr(value: object) -> str:
    if type(value) is int and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    try:
        text = repr(value)
    except Exception:  # a plugin's object may raise in __repr__, or be too big to print
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def parse_counters(raw: object) -> tuple[dict[str, int] | None, list[str]]:
    """(counters, problems) from what ``run`` returned: None, or a mapping of whole numbers.

    ``run`` is plugin code: its return value may be anything. The contract
    (docs/plugins.md, "Counters"): ``None``, or a mapping whose keys are among
    ``COUNTER_NAMES`` and which holds ``resumes``. Every counter must be a whole number in
    [0, ``MAX_COUNTER``] (an int, or a float with an integral value); a NaN, an infinity,
    a string, a negative or an absurdly large count is a problem.

    The names are a closed list, not "unknown keys ignored": ignoring them would leave a
    misspelt counter or an empty mapping validated on the trace alone, silently, the one
    outcome a scheduler author cannot notice. The cost is that a plugin cannot
    return extra counters of its own for its own use; none of the built-ins does, and
    the harness would not record them anyway. Unknown keys are dropped from the result
    (and reported), so nothing downstream sees a name it does not know.
    """
    if raw is None:
        return None, []
    if not isinstance(raw, Mapping):
        return None, [f"run() returned {_short_repr(raw)}, not a mapping of counters or None"]
    counters: dict[str, int] = {}
    problems: list[str] = []
    try:
        items = list(raw.items())
    except Exception as exc:  # a mapping that raises when read
        return None, [f"run()'s counters could not be read: {type(exc).__name__}"]
    allowed = ", ".join(COUNTER_NAMES)
    for key, value in items:
        if type(key) is not str:
            problems.append(f"counter name {_short_repr(key)} is not a str")
            continue
        if key not in COUNTER_NAMES:
            problems.append(f"counters: unknown key {_short_repr(key)} (allowed: {allowed})")
            continue
        count = _whole(value)
        if count is None:
            problems.append(f"counter {key!r} is {_short_repr(value)}; counters are whole numbers "
                            f"0 … {MAX_COUNTER}")
            continue
        counters[key] = count
    # Present but malformed already has its own problem above: "required" is for absent.
    if not any(type(key) is str and key == COUNTER_RESUMES for key, _ in items):
        problems.append(f"counters: {COUNTER_RESUMES!r} is required when counters are returned")
    return counters, problems


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    try:
        count = operator.index(value)  # type: ignore[arg-type]
    except Exception:
        return None
    return count if 0 <= count <= MAX_COUNTER else None


def check_lateness(lateness: Sequence[object]) -> list[float] | str:
    """The lateness values as floats, or why they cannot be: every one must be a finite number."""
    values: list[float] = []
    bad = 0
    first: object = None
    for x in lateness:
        value = math.nan
        if isinstance(x, bool):
            pass  # a truth value is not a duration
        elif isinstance(x, numbers.Real):
            with contextlib.suppress(Exception):  # OverflowError, or a hostile __float__
                value = float(x)
        if math.isfinite(value):
            values.append(value)
        else:
            bad += 1
            first = x if bad == 1 else first
    if bad:
        return f"lateness holds {bad} value(s) that are not finite numbers (first: {_short_repr(first)})"
    return values


def check_resumes(
    workload: Workload, counters: Mapping[str, int] | None, polling: bool, spurious: int = 0, exact: bool = True
) -> tuple[int | None, int | None, list[str]]:
    """(resumes, wasted, problems) from the scheduler's counters.

    io mode: ``spurious`` wakes are resumes too; with ``exact`` False (messages that may
    arrive in pieces) a count above the expected one is extra wakes, not polls.
    """
    expected = workload.expected_resumes + spurious
    if counters is None or COUNTER_RESUMES not in counters:
        return None, None, []
    resumes = counters[COUNTER_RESUMES]
    waits = "readiness waits" if workload.mode == "io" else "sleeps"
    formula = f"{workload.count} starts + {workload.total_sleeps} {waits}"
    formula += f" + {spurious} spurious" if spurious else ""
    if not exact and resumes >= expected:
        return resumes, 0, []
    if COUNTER_WASTED in counters:
        # The scheduler counts polls apart: rocket resumes must match exactly.
        wasted = counters[COUNTER_WASTED]
        if resumes != expected:
            return resumes, wasted, [f"resumed rockets {resumes} times, expected {expected} ({formula})"]
        return resumes, wasted, []
    if polling:
        if resumes < expected:
            short = f"resumed rockets {resumes} times, fewer than the {expected} needed ({formula})"
            return resumes, None, [short]
        return resumes, resumes - expected, []
    if resumes != expected:
        return resumes, 0, [f"resumed rockets {resumes} times, expected {expected} ({formula})"]
    return resumes, 0, []


def validate(
    workload: Workload,
    events: Sequence[Event],
    lateness: Sequence[float],
    counters: object,
    polling: bool,
    *,
    wall_s: float | None = None,
    real_clock: bool = False,
    tampered: Sequence[str] = (),
    unstarted: int = 0,
) -> Verdict:
    """The run's verdict.

    ``counters`` is what ``run`` returned (checked by ``parse_counters``). ``wall_s`` is
    the run's wall time and ``real_clock`` whether it ran on the real clock: only then is
    the makespan checked against the ideal and the lateness for exact zeros.
    ``tampered`` names harness clocks the scheduler replaced (``clocks.tampering``);
    ``unstarted`` counts rocket coroutines ``run`` never started.
    """
    problems = check_trace(workload, events)
    if unstarted and not problems:
        problems.append(f"{unstarted} rockets were never started, yet the trace holds all their events "
                        f"(written by the scheduler, not by running the rockets)")
    parsed, problems_in_counters = parse_counters(counters)
    resumes, wasted, resume_problems = check_resumes(workload, parsed, polling)
    problems += problems_in_counters + resume_problems
    if tampered:
        problems.append(f"the scheduler replaced the harness's {', '.join(tampered)} (figures would be faked)")
    checked = check_lateness(lateness)
    if isinstance(checked, str):
        problems.append(checked)
        checked = []
    if workload.mode == "timed" and not problems and len(checked) != workload.total_sleeps:
        problems.append(f"recorded {len(checked)} wakes, expected {workload.total_sleeps}")
    early = [x for x in checked if x < 0]
    worst_early = -min(early) if early else 0.0
    timed_real = workload.mode == "timed" and real_clock
    if timed_real:
        problems += _early_wake_problems(workload, worst_early)
    if timed_real and wall_s is not None:
        problems += _makespan_problems(workload, wall_s, [-x for x in early])
    if problems:
        shown = problems[:MAX_REASONS]
        if len(problems) > MAX_REASONS:
            shown.append(f"… and {len(problems) - MAX_REASONS} more")
        return Verdict(Status.INVALID, tuple(shown), resumes, workload.expected_resumes, wasted,
                       len(early), worst_early)
    reasons: list[str] = []
    zeros = sum(1 for x in checked if x == 0.0) if timed_real else 0
    suspect = bool(checked) and zeros > MAX_ZERO_LATENESS_SHARE * len(checked)
    if suspect:
        reasons.append(f"{zeros} of {len(checked)} wakes have lateness exactly 0 on the real clock "
                       f"(a real wake never reads its deadline to the nanosecond)")
    if early:
        reasons.append(f"{len(early)} early wakes, worst {worst_early * 1e6:.1f} µs before its deadline")
    status = Status.SUSPECT if suspect else Status.EARLY if early else Status.VALID
    return Verdict(status, tuple(reasons), resumes, workload.expected_resumes, wasted,
                   len(early), worst_early)


def _longest_sleep_s(workload: Workload) -> float:
    """The longest single sleep any rocket makes: its delay, or one tick."""
    tick = workload.time_scale
    longest = max((r.delay * tick for r in workload.rockets), default=0.0)
    if any(r.countdown > 0 for r in workload.rockets):
        longest = max(longest, tick)
    return longest


def _early_wake_problems(workload: Workload, worst_early_s: float) -> list[str]:
    """On the real clock no wake can come earlier than its own sleep's length.

    A body reads the clock, computes ``due = now + d`` and sleeps; its wake reads the
    clock again, which is monotonic, so lateness ≥ −d ≥ −(the longest sleep). A wake
    earlier than that was not measured but written (the lateness list is reachable
    through the rockets' frames). Without this bound one such value would widen the
    makespan allowance below to nothing and let a run that never waited pass as EARLY.
    """
    longest = _longest_sleep_s(workload)
    if worst_early_s <= longest * (1 + MAKESPAN_RTOL) + MAKESPAN_ATOL_S:
        return []
    return [f"a wake {worst_early_s * 1e6:.1f} µs before its deadline is earlier than the longest sleep "
            f"({longest * 1e6:.1f} µs) allows: impossible on the real clock (a wake cannot precede its sleep)"]


def _makespan_problems(workload: Workload, wall_s: float, earliness_s: Sequence[float]) -> list[str]:
    """On the real clock the run cannot end before its rockets' sleeps add up.

    A rocket with delay D and countdown c sleeps c + 1 times, (D + c) ticks in total,
    inside the timed region, each sleep measured from a clock reading taken inside it;
    a sleep can end early only by that wake's earliness. So ``wall_s`` ≥ (D + c) ticks
    minus the earliness of that rocket's own c + 1 wakes, for every rocket.

    The allowance is one early wake per sleep of that rocket, and no more than the run
    recorded: the lateness list is in wake order and not attributed to rockets, so the
    most a rocket's c + 1 wakes can have been early in total is the sum of the c + 1
    largest earliness values of the run (at most c + 1 times the worst). That is sound
    for an honest run, and a single very early wake (real, or written through a frame)
    cannot excuse a makespan at a few per cent of the ideal, as c + 1 worst early wakes
    for every rocket would. The trade-off: a run whose every wake is early by nearly its
    whole sleep (a loop that does not wait at all) has an allowance as large as the ideal
    and is only EARLY, which is true of it; telling it from a written trace would need
    each wake paired with its rocket (the trace's deadlines), which this check lacks.

    ``earliness_s`` holds how early each early wake came (positive seconds).
    """
    if not math.isfinite(wall_s):
        return [f"makespan {wall_s!r} s is not a finite number"]
    ideal = workload.ideal_makespan_s
    tick = workload.time_scale
    # Per countdown, the longest rocket with it: the only one of its sleep count that bounds.
    longest_by_countdown: dict[int, float] = {}
    for r in workload.rockets:
        longest_by_countdown[r.countdown] = max(longest_by_countdown.get(r.countdown, 0.0),
                                                (r.delay + r.countdown) * tick)
    worst = heapq.nlargest(max(longest_by_countdown, default=0) + 1, earliness_s)
    allowance = [0.0]  # allowance[k]: the k largest earliness values summed
    for x in worst:
        allowance.append(allowance[-1] + x)
    floor, bound_by, slack = 0.0, 0.0, 0.0
    for countdown, span in longest_by_countdown.items():
        allowed = allowance[min(countdown + 1, len(allowance) - 1)]
        if span - allowed > floor:
            floor, bound_by, slack = span - allowed, span, allowed
    if wall_s >= floor * (1 - MAKESPAN_RTOL) - MAKESPAN_ATOL_S:
        return []
    ratio = wall_s / ideal if ideal > 0 else float("nan")
    excuse = (f"; its early wakes excuse at most {slack:.6f} s of a {bound_by:.6f} s rocket" if slack
              else "; no early wake excuses any of it")
    return [f"makespan {wall_s:.6f} s is below the ideal {ideal:.6f} s ({ratio:.3g}× ideal){excuse}: "
            f"impossible on the real clock (the trace was not produced by running)"]
