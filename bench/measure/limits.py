"""How long one run may take and how much memory a worker may use, derived from the workload.

The allowances are generous on purpose: they end a run that is broken (a hang, a leak), never
one that is merely slow on a loaded machine.
"""

from __future__ import annotations

from bench.measure.clocks import ClockKind
from bench.workload.rockets import Workload

#: Per-run time allowance: 10 × the ideal makespan, plus 20 µs per resume (≈ 10× the
#: slowest seed scheduler's switch cost), plus a fixed margin for start-up and GC.
LIMIT_MAKESPAN_FACTOR = 10.0
LIMIT_PER_RESUME_S = 20e-6
#: io mode: a resume there is a readiness wake with a send and a receive around it, each a
#: syscall of microseconds on a loaded machine.
LIMIT_IO_PER_RESUME_S = 200e-6
LIMIT_MARGIN_S = 5.0
#: Address-space limit per worker: a scheduler that leaks fails with MemoryError long
#: before the machine (24 GiB here) starts swapping or the OOM killer picks a victim.
DEFAULT_MEMORY_LIMIT_MB = 8 * 1024


#: On the virtual clock waiting costs nothing, so the allowance comes from the work alone:
#: per resume, generous enough for a design that polls every live task on every pass.
LIMIT_VIRTUAL_PER_RESUME_S = 2e-3


#: A design that polls every live task on every pass does rockets × wakes polls at worst
#: on the virtual clock: allow each of them a microsecond (~5× what listscan's take).
LIMIT_VIRTUAL_PER_POLL_S = 1e-6


def run_limit(workload: Workload, clock: ClockKind = "real", polling: bool = False) -> float:
    """Seconds one run may take before it is stopped and recorded as timed out.

    On the virtual clock waiting costs nothing, so the limit comes from the work: resumes,
    and for a polling design the polls its strategy implies.
    """
    if clock == "virtual":
        polls = workload.count * workload.total_sleeps if polling else 0
        return (LIMIT_VIRTUAL_PER_RESUME_S * workload.expected_resumes + LIMIT_VIRTUAL_PER_POLL_S * polls
                + LIMIT_MARGIN_S)
    per_resume = LIMIT_IO_PER_RESUME_S if workload.mode == "io" else LIMIT_PER_RESUME_S
    return (LIMIT_MAKESPAN_FACTOR * workload.ideal_makespan_s
            + per_resume * workload.expected_resumes + LIMIT_MARGIN_S)
