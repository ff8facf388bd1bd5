"""Check a run's trace against its workload before any of its figures count (DESIGN §3).

A run is INVALID when a rocket is lost, launched twice, or its countdown is incomplete or
out of order, or when the scheduler's resume count contradicts its strategy. Early wakes
(a rocket resumed before its deadline) keep the trace valid but are counted, the worst
reported, and they bar the run from being ranked fastest: a fast wrong scheduler must
never win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bench.workload.rockets import Event, Workload
from schedulers.protocol import COUNTER_RESUMES, COUNTER_WASTED

Status = Literal["valid", "early", "invalid"]
MAX_REASONS = 5  # enough to diagnose, short enough for one table cell


@dataclass(frozen=True)
class Verdict:
    status: Status
    reasons: tuple[str, ...]
    resumes: int | None  # as counted by the scheduler; None when it cannot count
    expected_resumes: int
    wasted: int | None  # resumes spent on polls that found the task not due
    early_wakes: int
    worst_early_s: float  # ≥ 0: how far before its deadline the earliest wake came

    @property
    def valid(self) -> bool:
        return self.status != "invalid"

    @property
    def label(self) -> str:
        return {"valid": "VALID", "early": "EARLY", "invalid": "INVALID"}[self.status]

    def explain(self) -> str:
        return "; ".join(self.reasons)


def check_trace(workload: Workload, events: Sequence[Event]) -> list[str]:
    """Problems with the recorded events, worst first; empty when the trace is right."""
    count = workload.count
    seen: list[list[int]] = [[] for _ in range(count)]
    problems: list[str] = []
    for index, step in events:
        if not 0 <= index < count:
            problems.append(f"event for unknown rocket index {index}")
            continue
        seen[index].append(step)
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


def check_resumes(
    workload: Workload, counters: Mapping[str, int] | None, polling: bool
) -> tuple[int | None, int | None, list[str]]:
    """(resumes, wasted, problems) from the scheduler's counters."""
    expected = workload.expected_resumes
    if counters is None or COUNTER_RESUMES not in counters:
        return None, None, []
    resumes = int(counters[COUNTER_RESUMES])
    formula = f"{workload.count} starts + {workload.total_sleeps} sleeps"
    if COUNTER_WASTED in counters:
        # The scheduler counts polls apart: rocket resumes must match exactly.
        wasted = int(counters[COUNTER_WASTED])
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
    counters: Mapping[str, int] | None,
    polling: bool,
) -> Verdict:
    problems = check_trace(workload, events)
    resumes, wasted, resume_problems = check_resumes(workload, counters, polling)
    problems += resume_problems
    if workload.mode == "timed" and not problems and len(lateness) != workload.total_sleeps:
        problems.append(f"recorded {len(lateness)} wakes, expected {workload.total_sleeps}")
    early = [x for x in lateness if x < 0]
    worst_early = -min(early) if early else 0.0
    if problems:
        shown = problems[:MAX_REASONS]
        if len(problems) > MAX_REASONS:
            shown.append(f"… and {len(problems) - MAX_REASONS} more")
        return Verdict("invalid", tuple(shown), resumes, workload.expected_resumes, wasted,
                       len(early), worst_early)
    if early:
        reason = f"{len(early)} early wakes, worst {worst_early * 1e6:.1f} µs before its deadline"
        return Verdict("early", (reason,), resumes, workload.expected_resumes, wasted,
                       len(early), worst_early)
    return Verdict("valid", (), resumes, workload.expected_resumes, wasted, 0, 0.0)
