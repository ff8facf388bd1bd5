"""Plausibility: figures that cannot be true are not ranked, whatever the trace says.

A trace can be right while its figures are not: a plugin may fake its clock or its
counters, or a loop may be measured wrongly. Two kinds of check, each with its margin:

* against the floors measured in the same run: a switch cost below half its dialect's body
  floor (its fastest process), or a real-clock lateness p50 below half the spinning timer floor's, marks the
  run SUSPECT (a C loop may beat the Python floor driver, but not by half; no loop wakes
  more precisely than a thread that never sleeps); every wake exactly on time on the real
  clock is SUSPECT too;
* from outside the worker (``os_accounting``): what the parent's clock and the kernel saw
  of the job bounds what its runs may report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bench.measure.clocks import ClockKind
from bench.results.model import RunRecord, Sample, Status, TimerFloor
from bench.workload.rockets import Workload

#: A switch cost below this share of its dialect's body floor is implausible: a loop
#: written in C may beat the Python floor driver, but not by half (the body itself runs).
SUSPECT_BELOW_BODY_FLOOR = 0.5


#: A lateness p50 on the real clock below this share of the spinning timer floor's p50 is
#: implausible: no loop wakes a thread more precisely than one that never sleeps.
SUSPECT_BELOW_SPIN_FLOOR = 0.5


def plausible(run: RunRecord, body_floor: Sample | None, clock: ClockKind,
              timer_floor: TimerFloor | None = None) -> RunRecord:
    """``run``, or ``run`` marked SUSPECT when its figures are implausible against the floors
    or for the real clock (exactly zero lateness)."""
    if run.status is not Status.VALID:
        return run
    why = []
    # Against the floor's fastest process, not its mean: the floor is measured minutes apart
    # from the run, and one of its processes caught in a burst of load would otherwise make
    # every honest run after it look impossibly fast (seen on the 2-core VM under load).
    fastest = min(body_floor.values_s, default=body_floor.mean_s) if body_floor is not None else None
    if run.switch is not None and fastest is not None and run.switch.mean_s < SUSPECT_BELOW_BODY_FLOOR * fastest:
        why.append(f"switch cost {run.switch.mean_ns:,.0f} ns is below half the body floor "
                   f"({fastest * 1e9:,.0f} ns in its fastest process): the rocket bodies cannot run that fast")
    spin = timer_floor.spin if timer_floor is not None else None
    if (run.timed is not None and clock == "real" and spin is not None and spin.p50 > 0
            and run.timed.lateness_us.p50 < SUSPECT_BELOW_SPIN_FLOOR * spin.p50):
        why.append(f"lateness p50 {run.timed.lateness_us.p50:.3f} µs is below half the spinning timer floor's "
                   f"({spin.p50:.3f} µs): no loop wakes more precisely than one that never sleeps")
    if run.timed is not None and clock == "real" and run.timed.lateness_us.max == 0:
        why.append("every wake exactly on time on the real clock: the lateness was not measured")
    if not why:
        return run
    return replace(run, status=Status.SUSPECT, reasons=(*run.reasons, *why))


#: Slack for the OS-side checks: clock granularity, rounding of rusage to ticks.
OS_SLACK_S = 0.5
#: A timed job on the real clock must last at least this share of its runs' ideal makespans.
OS_MIN_SHARE_OF_IDEAL = 0.9


def os_accounting(groups: Sequence[Sequence[dict[str, Any]]], elapsed: float, os_cpu: float,
                  workload: Workload, clock: ClockKind) -> list[str]:
    """What the operating system saw of a job, against what its runs reported (empty: agreed).

    A worker runs plugin code, so its figures could be faked from inside; the parent's own
    clock and the kernel's accounting of the whole process tree cannot be. This catches
    *impossible* reports: more time in runs than the job existed, more CPU than the kernel
    charged, or timed runs that finished before their deadlines could have passed. It cannot
    catch a plausible flattering lie; the checks inside the worker (clocks captured before
    the plugin loads, the suspension check, makespan and lateness plausibility) aim there.
    """
    records = [r for g in groups for r in g if isinstance(r.get("wall_s"), int | float)]
    reported_wall = sum(float(r["wall_s"]) for r in records)
    reported_cpu = sum(float(r.get("cpu_s") or 0.0) for r in records)
    problems = []
    if reported_wall > elapsed + OS_SLACK_S:
        problems.append(f"OS accounting disagrees: runs report {reported_wall:.2f} s of wall time in a job that "
                        f"lasted {elapsed:.2f} s")
    if reported_cpu > os_cpu + OS_SLACK_S:
        problems.append(f"OS accounting disagrees: runs report {reported_cpu:.2f} s of CPU, the kernel charged the "
                        f"job's processes {os_cpu:.2f} s")
    if workload.mode == "timed" and clock == "real":
        needed = len(records) * workload.ideal_makespan_s * OS_MIN_SHARE_OF_IDEAL
        if elapsed < needed:
            problems.append(f"OS accounting disagrees: {len(records)} timed run(s) need at least "
                            f"{needed:.2f} s of waiting, the job lasted {elapsed:.2f} s")
    return problems


