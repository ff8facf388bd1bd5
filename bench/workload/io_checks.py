"""Validation of an io run: every message delivered once, intact and in order.

The bodies record ``(index, k + 1)`` per message (the client when the echo came back intact,
the server when it echoed it), ``(index, -(k + 1))`` for a corrupted echo, and
``(index, 0)`` when the rocket is done (``bench.workload.io_bodies``). A lost message never
completes its pair (the run is then ended by the limit, or ``run`` returns with the rocket
still suspended); a duplicated, reordered or corrupted one shows here and makes the run
INVALID. Spurious wakes are counted, never a status.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.workload.checks import Verdict, check_resumes, parse_counters, steps_by_rocket
from bench.workload.rockets import Event, Workload
from bench.workload.status import Status


def check_io_trace(workload: Workload, events: Sequence[Event]) -> list[str]:
    """Problems with the recorded io events, worst first; empty when every message arrived."""
    seen, problems = steps_by_rocket(workload.count, events)
    for pair, messages in enumerate(workload.messages_per_pair()):
        expected = [*range(1, messages + 1), 0]
        for role, index in (("client", 2 * pair), ("server", 2 * pair + 1)):
            steps = seen[index]
            if steps == expected:
                continue
            corrupt = [-s for s in steps if s < 0]
            if corrupt:
                problems.append(f"pair {pair}: echo of message {corrupt[0]} came back corrupted")
            elif 0 not in steps:
                problems.append(f"pair {pair}: the {role} never finished ({len(steps)} of {messages} messages)")
            elif sorted(steps) != sorted(expected):
                problems.append(f"pair {pair}: the {role} saw messages {steps[:-1]}, expected {expected[:-1]} "
                                "(lost or duplicated)")
            else:
                problems.append(f"pair {pair}: the {role} saw messages out of order: {steps[:-1]}")
            if len(problems) >= 5:
                return problems
    return problems


def validate_io(workload: Workload, events: Sequence[Event], spurious: int, counters: object, polling: bool,
                *, exact_wakes: bool, unstarted: int = 0) -> Verdict:
    """The io run's verdict: the trace, then the counters (spurious wakes are resumes too)."""
    problems = check_io_trace(workload, events)
    if unstarted and not problems:
        problems.append(f"{unstarted} rockets were never started, yet the trace holds all their events")
    parsed, problems_in_counters = parse_counters(counters)
    resumes, wasted, resume_problems = check_resumes(workload, parsed, polling, spurious, exact_wakes)
    problems += problems_in_counters + resume_problems
    status = Status.INVALID if problems else Status.VALID
    return Verdict(status, tuple(problems), resumes, workload.expected_resumes, wasted, 0, 0.0, spurious)
