"""The instruction counter's records: what to count (``InstructionJob``) and what came of it
(``InstructionResult``), with the statuses a count can end in.

Kept apart from the code that runs jobs (``bench.measure.instructions``), which the
process code (``bench.measure.instruction_repeats``) and the caller both need: a record is
plain data. A job is checked when it is built, so the caller's mistakes are raised before
any process starts; a scheduler's, later, become a result's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from bench.measure.valgrind import Method
from bench.workload.rockets import Mode, Workload

InstructionMode = Literal["switch", "virtual", "io"]
#: A run's verdict (``valid``, ``early``, ``suspect``, ``invalid``: see
#: ``bench.workload.checks``), or ``failed`` (crashed, timed out, not counted) or
#: ``skipped`` (unavailable, or no virtual clock support).
Status = Literal["valid", "early", "suspect", "invalid", "failed", "skipped"]
#: Worst first: the status of a job is the worst of its repeats'.
STATUS_ORDER: Final[tuple[Status, ...]] = ("failed", "invalid", "suspect", "skipped", "early", "valid")
#: Verdicts whose run was counted: the trace is right (an early wake or implausible
#: timing figures say nothing against the instructions executed).
COUNTED: Final[tuple[Status, ...]] = ("valid", "early", "suspect")


@dataclass(frozen=True)
class InstructionJob:
    """One thing to count.

    ``target``: a registered scheduler name, or ``"module:Class"`` naming an importable
    class that follows the scheduler protocol (loaded only in the child process).
    ``mode``: ``"switch"`` (zero-length sleeps) or ``"virtual"`` (the timed workload at
    time scale 1 on the virtual clock). ``repeats``: separate Valgrind processes; more
    than one measures the count's drift. ``cache_sim``: simulate the cache
    (``CACHE_GEOMETRY``) and report estimated cycles besides instructions.
    """

    target: str
    mode: InstructionMode
    rockets: int
    seed: int
    repeats: int = 1
    cache_sim: bool = False
    #: Test-only: iterations of extra work per sleep (``bench.measure.worker.handicapped``);
    #: -1: no hook at all, 0: the hook with no extra work (the control of a planted change).
    handicap: int = -1

    def __post_init__(self) -> None:
        # The caller's mistakes, unlike a scheduler's, are raised.
        if self.mode not in ("switch", "virtual", "io"):
            raise ValueError(f"mode must be 'switch', 'virtual' or 'io', got {self.mode!r}")
        if self.rockets < 1 or self.repeats < 1:
            raise ValueError(f"rockets and repeats must be >= 1, got {self.rockets} and {self.repeats}")
        if not self.target or self.target.strip() != self.target:
            raise ValueError(f"target must be a scheduler name or module:Class, got {self.target!r}")

    @property
    def workload(self) -> Workload:
        mode: Mode = "timed" if self.mode == "virtual" else self.mode
        return Workload.generate(self.rockets - self.rockets % 2 if mode == "io" else self.rockets, self.seed,
                                 mode, 1.0)

    @property
    def denominator(self) -> int:
        """Resumes (switch and io modes) or useful wakes, one per sleep (virtual mode)."""
        workload = self.workload
        return workload.total_sleeps if self.mode == "virtual" else workload.expected_resumes


@dataclass(frozen=True, kw_only=True)
class InstructionResult:
    """The count of one job.

    ``instructions``: Ir (instructions executed) of ``run`` in each repeat that produced
    a count. ``per_unit``: their mean divided by ``denominator`` (instructions per resume
    in switch mode, per useful wake in virtual mode); None unless the status is one of
    ``COUNTED`` (valid, early, suspect). ``drift``: (largest − smallest) / smallest over
    the repeats, 0.0 for one. ``estimated_cycles`` (only with ``cache_sim``), per repeat::

        cycles = Ir + 10 × (I1mr + D1mr + D1mw) + 100 × (ILmr + DLmr + DLmw)

    i.e. one cycle per instruction, 10 per first-level miss, 100 per last-level miss
    (KCachegrind's estimate): a rough model that ignores branch mispredicts, overlap of
    misses and the real latencies of the host. ``CALLGRIND_START_INSTRUMENTATION``
    flushes the simulated cache, so with method 1 a run starts cold: some of its first
    misses would not happen natively (with the difference method the cache is warm).
    ``elapsed_s``: the sum of the wall times of the job's Valgrind processes.
    ``profile_path``: the Callgrind dump of the first counted repeat (method 1 only).
    """

    target: str
    mode: InstructionMode
    status: Status
    reasons: tuple[str, ...]
    instructions: tuple[int, ...]
    denominator: int
    per_unit: float | None
    drift: float
    method: Method
    warmed: bool
    valgrind_version: str | None
    pinned: Mapping[str, str]
    profile_path: Path | None
    elapsed_s: float
    estimated_cycles: tuple[int, ...] = ()
    rockets: int = 0
    seed: int = 0
    resumes: int | None = None  # as counted by the scheduler in the counted run
    wasted: int | None = None   # polls that found a task not yet due (polling designs)
    notes: tuple[str, ...] = ()  # how it was measured, when that is not the default

    @property
    def counted(self) -> bool:
        return self.status in COUNTED and bool(self.instructions)

