"""The syscall counter's records: what to count (``SyscallJob``) and what came of it
(``SyscallResult``).

Plain data, apart from the code that runs jobs (``bench.measure.syscalls``) and the
results file it feeds (``bench.measure.syscall_suite``). A job is checked when it is
built, so the caller's mistakes are raised before any process starts; a scheduler's,
later, become a result's status. The statuses are the instruction counter's
(``bench.measure.instruction_records``): a run's verdict, ``failed`` or ``skipped``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bench.measure.instruction_records import STATUS_ORDER, Status
from bench.workload.rockets import MODES, Workload

__all__ = ["KEPT", "STATUS_ORDER", "Status", "SyscallJob", "SyscallResult"]

#: The only verdict whose count is kept: an EARLY or SUSPECT run's calls are not the
#: design's (an early wake skipped a wait it should have made).
KEPT: Final[tuple[Status, ...]] = ("valid",)


@dataclass(frozen=True)
class SyscallJob:
    """One thing to count.

    ``target``: a registered scheduler name, or ``"module:Class"`` (loaded only in the
    child). ``mode``: any workload mode (``bench.workload.rockets.MODES``), always on the
    real clock: switch mode's sleeps are 0 s, timed mode waits ``time_scale`` seconds per
    tick. ``repeats``: separate counting processes; more than one shows which names vary
    from run to run of the same code.
    """

    target: str
    mode: str
    rockets: int
    seed: int
    time_scale: float = 1.0
    repeats: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.rockets < 1 or self.repeats < 1:
            raise ValueError(f"rockets and repeats must be >= 1, got {self.rockets} and {self.repeats}")
        if not self.target or self.target.strip() != self.target:
            raise ValueError(f"target must be a scheduler name or module:Class, got {self.target!r}")
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {self.time_scale!r}")

    @property
    def workload(self) -> Workload:
        return Workload.generate(self.rockets, self.seed, self.mode, self.time_scale)  # type: ignore[arg-type]

    @property
    def denominator(self) -> int:
        """The workload's ``expected_resumes``: one start per rocket plus one resume per
        sleep, the denominator of switch cost, so "per resume" means the same in both."""
        return self.workload.expected_resumes


@dataclass(frozen=True, kw_only=True)
class SyscallResult:
    """The count of one job.

    ``counts``: one mapping (call name → calls between the markers) per counted repeat;
    empty unless every repeat's run was VALID (``KEPT``). ``threads``: the most threads
    and processes seen making calls in one counted region. ``elapsed_s``: the sum of the
    wall times of the job's processes (traced, so slow: not a figure).
    """

    target: str
    mode: str
    time_scale: float | None  # timed mode only
    status: Status
    reasons: tuple[str, ...]
    counts: tuple[Mapping[str, int], ...]
    denominator: int
    warmed: bool
    threads: int
    elapsed_s: float
    resumes: int | None = None  # as counted by the scheduler in the counted run
    wasted: int | None = None

    @property
    def counted(self) -> bool:
        return self.status in KEPT and bool(self.counts)
