"""The results model: one typed, frozen, validated picture of a results file.

Every reader (``show``, ``compare``, ``export``, ``reports``) and the writer (the suite)
go through these classes, the way pyperf's ``Run``/``Benchmark`` do: ``Document.from_json``
checks every field once, at the boundary, and anything wrong is a ``ResultsError`` naming
the field; past it, code trusts the objects. Values that are *derived* (totals over
processes, labels, keys, overhead against a floor) are properties here and nowhere else, so
two outputs cannot compute them two ways.

Size: the format's description, the run record and the document's derived figures stay in
one module on purpose (the figures and the context are in ``measures`` and ``context``):
every derived value is computed here, in one place.

On-disk format, version 2 (the ``schedbench`` key of a pyperf suite file)::

    format, version, created_utc, command, preset, complete, interrupted
    environment   machine, interpreter, interpreter flags, timer slack, commit, clock, …
    workload      rockets, seed, measure (time | instructions | syscalls), modes, time_scales, clock, …
    settings      processes and values per job kind (descriptive)
    floor         bare send: pyperf summary | null
    body_floors   {dialect: pyperf summary}          (time files)
    io_floor      pyperf summary per resume           (time files with io runs)
    timer_floors  [{time_scale, blocking_default, blocking_lowered, spin}]
    measurement   how instructions or syscalls were counted (instruction and syscall files)
    runs          [RunRecord]   one per (mode, scheduler, time scale); a run that is not VALID
                  may hold last_valid: the last VALID RunRecord of the same key
    scaling       {sizes, budget_s, seed, points} | null

Version 1 files (no body or timer floors, no measure) are still read. What changed in 2:
run records carry ``version``, ``measured_utc`` and ``commit`` (files merge run by run);
switch figures no longer store ``x_floor``/``overhead_ns`` (derived, see ``Document``).

Best evidence kept (``last_valid``, still version 2): a re-run that is not VALID never erases
a VALID run of the same key. ``runs`` holds the *newest attempt* (so ``compare``, ``export``
and ``reports``, which read ``runs``, see a broken HEAD as broken), and the VALID
measurement it would have erased rides inside it, with its own ``commit`` and
``measured_utc``. Trade-off against keeping both as sibling entries with a
``superseded_by`` marker: siblings would make every reader of ``runs`` filter, and one
forgetting to would rank a stale figure; nested, only ``show`` asks for it. The field is
optional and older version 2 readers ignore keys they do not know, so no version bump: such
a reader shows the failure and, if it merges, drops the kept run (the pre-existing
behaviour) rather than refusing the file.

Plausibility is checked at load too: times and counts are finite and non-negative, numbers
stay within ``fields.MAX_MAGNITUDE``, rockets ≥ 1, time scales > 0, no key twice in ``runs``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal

from bench.results.context import (
    FAMILY_NAMES,
    MEASURES,
    Environment,
    Measure,
    Scaling,
    ScalingPoint,
    WorkloadInfo,
    opt_family,
    short_commit,
)
from bench.results.fields import Fields, ResultsError, non_negative, positive
from bench.results.measures import (
    Histogram,
    InstructionFigures,
    Percentiles,
    ProcessFigures,
    Sample,
    SyscallFigures,
    TimedFigures,
    TimerFloor,
)
from bench.workload.status import STATUS_BY_NAME, Status

__all__ = [
    "FAMILY_NAMES",
    "MEASURES",
    "STATUS_BY_NAME",
    "Document",
    "Environment",
    "Histogram",
    "InstructionFigures",
    "Measure",
    "Percentiles",
    "ProcessFigures",
    "RunRecord",
    "Sample",
    "Scaling",
    "ScalingPoint",
    "Status",
    "SyscallFigures",
    "TimedFigures",
    "TimerFloor",
    "WorkloadInfo",
    "plain",
    "short_commit",
]

FORMAT_NAME = "schedbench-results"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
# History: 1 — first version (2026-11). 2 — floors, measure, per-run provenance (2026-11).

RunMode = Literal["switch", "timed", "virtual", "io"]
RUN_MODES: tuple[RunMode, ...] = ("switch", "timed", "virtual", "io")


# ---- runs -------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """One (scheduler × mode × time scale) job: its status and, when it ran, its figures.

    ``last_valid`` is only ever set on a run that is not VALID: the last VALID measurement
    of the same key, kept when this newer attempt was merged over it (``store.merge``).
    It is evidence, not state: the run's state is this record's own status.
    """

    scheduler: str
    origin: str
    dialect: str | None
    mode: RunMode
    time_scale: float | None
    clock: str
    status: Status
    reasons: tuple[str, ...]
    elapsed_s: float
    benchmark: str | None = None
    processes: tuple[ProcessFigures, ...] = ()
    switch: Sample | None = None
    timed: TimedFigures | None = None
    instructions: InstructionFigures | None = None
    syscalls: SyscallFigures | None = None
    resumes: int | None = None
    wasted: float | None = None
    version: str | None = None
    measured_utc: str | None = None
    commit: str | None = None
    timer_note: str | None = None  # how the loop's timers read and round time (its own word)
    #: which list a reader sees it ranked in: teaching, production, this-project, third-party
    #: (None in files written before the family was recorded).
    family: str | None = None
    #: io mode: wakes through ``readable`` with nothing to read (all processes), the message
    #: size, and the rocket count when it differs from the document's (descriptor limit).
    spurious_wakes: int | None = None
    message_size: int | None = None
    rockets: int | None = None
    last_valid: RunRecord | None = None

    @classmethod
    def from_json(cls, f: Fields) -> RunRecord:
        mode = f.choice("mode", {m: m for m in RUN_MODES})
        scale = f.opt_num("time_scale")
        if mode == "timed" and scale is None:
            raise ResultsError(f"{f.at('time_scale')}: missing (a timed run needs its time scale)")
        if mode == "timed" and scale is not None:
            positive(scale, f.at("time_scale"))
        bench = f.opt_text("benchmark")
        run = cls(
            scheduler=f.text("scheduler"), origin=f.opt_text("origin") or "?", dialect=f.opt_text("dialect"),
            mode=mode, time_scale=scale if mode == "timed" else None, clock=f.opt_text("clock") or "real",
            status=f.choice("status", STATUS_BY_NAME), reasons=f.texts("reasons"),
            elapsed_s=f.opt_amount("elapsed_s") or 0.0, benchmark=bench,
            processes=tuple(ProcessFigures.from_json(p) for p in f.objs("processes")),
            switch=f.opt("switch", lambda s: Sample.from_json(s, bench)),
            timed=f.opt("timed", TimedFigures.from_json),
            instructions=f.opt("instructions", InstructionFigures.from_json), resumes=f.opt_count("resumes"),
            syscalls=f.opt("syscalls", SyscallFigures.from_json),
            wasted=f.opt_amount("wasted"), version=f.opt_text("version"), measured_utc=f.opt_text("measured_utc"),
            commit=f.opt_text("commit"), timer_note=f.opt_text("timer_note"),
            family=opt_family(f),
            spurious_wakes=f.opt_count("spurious_wakes"), message_size=f.opt_count("message_size"),
            rockets=f.opt_count("rockets"), last_valid=f.opt("last_valid", RunRecord.from_json),
        )
        kept = run.last_valid
        if kept is not None:
            # Only the shape merge writes: a VALID run of this key, inside a newer one that is not.
            if run.status.ranked:
                raise ResultsError(f"{f.at('last_valid')}: a VALID run keeps no older measurement")
            if not kept.status.ranked or kept.last_valid is not None:
                raise ResultsError(f"{f.at('last_valid')}.status: the kept run must be VALID and keep nothing itself")
            if kept.key != run.key:
                raise ResultsError(f"{f.at('last_valid')}: kept run {kept.label} is not {run.label}")
        return run

    @property
    def key(self) -> tuple[str, str, float | None]:
        """(mode, scheduler, time scale): what identifies a run across results files."""
        return self.mode, self.scheduler, self.time_scale

    @property
    def where(self) -> str:
        return self.mode + (f" @ {self.time_scale:g}" if self.time_scale is not None else "")

    @property
    def label(self) -> str:
        return f"{self.scheduler} ({self.where})"

    @property
    def note(self) -> str:
        return "; ".join(self.reasons)

    @property
    def early_wakes(self) -> int:
        """Early wakes over every process of the run (not the first process's alone)."""
        if self.timed is not None:
            return self.timed.early_wakes
        return sum(p.early for p in self.processes)

    @property
    def measured_label(self) -> str:
        """Where and when this run was measured: ``commit 0123456789ab, 2026-11-21T12:00:00Z``."""
        return f"commit {self.commit or 'unknown'}, {self.measured_utc or 'date unknown'}"

    @property
    def origin_label(self) -> str:
        return self.origin + (f" ({self.version})" if self.version and self.origin == "built-in" else "")


# ---- the document -----------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Document:
    """A whole results file. ``pyperf`` is the pyperf suite part, kept as pyperf wrote it."""

    created_utc: str
    command: str
    preset: str
    complete: bool
    interrupted: bool
    environment: Environment
    workload: WorkloadInfo
    runs: tuple[RunRecord, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    floor: Sample | None = None
    body_floors: Mapping[str, Sample] = field(default_factory=dict)
    io_floor: Sample | None = None
    body_floor_instructions: Mapping[str, InstructionFigures] = field(default_factory=dict)
    timer_floors: tuple[TimerFloor, ...] = ()
    measurement: Mapping[str, Any] = field(default_factory=dict)
    scaling: Scaling | None = None
    pyperf: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    environment_raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    version: int = FORMAT_VERSION

    # ---- reading --------------------------------------------------------------------
    @classmethod
    def from_json(cls, document: object, where: str) -> Document:
        """Validate a whole file. Raises ``ResultsError`` with ``where`` and the bad field."""
        try:
            return cls._parse(document)
        except ResultsError as exc:
            raise ResultsError(f"{where}: {exc}") from None

    @classmethod
    def _parse(cls, document: object) -> Document:
        if not isinstance(document, dict) or not isinstance(document.get("schedbench"), dict):
            raise ResultsError("not a schedbench results file (no 'schedbench' section)")
        f = Fields(document["schedbench"], "")
        if f.data.get("format") != FORMAT_NAME:
            raise ResultsError(f"not a schedbench results file (format {f.data.get('format')!r})")
        version = f.data.get("version")
        if version not in READABLE_VERSIONS:
            raise ResultsError(f"results format version {version!r} is not supported; this schedbench reads "
                               f"versions {', '.join(map(str, READABLE_VERSIONS))}")
        if not isinstance(document.get("benchmarks", []), list):
            raise ResultsError("malformed results: pyperf 'benchmarks' is not a list")
        f.items("runs", required=True)
        env_fields = f.obj("environment")
        body = f.opt_obj("body_floors")
        body_instr = f.opt_obj("body_floor_instructions")
        scaling = f.opt("scaling", Scaling.from_json)
        workload = _plausible_workload(f.obj("workload"))
        runs = tuple(RunRecord.from_json(r) for r in f.objs("runs"))
        _refuse_duplicates(runs)
        return cls(
            created_utc=f.opt_text("created_utc") or "?", command=f.opt_text("command") or "?",
            preset=f.opt_text("preset") or "?", complete=f.flag("complete", True),
            interrupted=f.flag("interrupted", False), environment=Environment.from_json(env_fields),
            workload=workload, runs=runs,
            settings=dict(f.opt_obj("settings").data) if f.has("settings") else {},  # type: ignore[union-attr]
            floor=f.opt("floor", lambda s: Sample.from_json(s, "floor")),
            body_floors={k: Sample.from_json(body.obj(k), f"body-floor/{k}") for k in body.data} if body else {},
            io_floor=f.opt("io_floor", lambda s: Sample.from_json(s, "io-floor")),
            body_floor_instructions=(
                {k: InstructionFigures.from_json(body_instr.obj(k)) for k in body_instr.data} if body_instr else {}),
            timer_floors=tuple(TimerFloor.from_json(t) for t in f.objs("timer_floors")),
            measurement=(
                dict(f.opt_obj("measurement").data) if f.has("measurement") else {}),  # type: ignore[union-attr]
            scaling=scaling, pyperf={k: v for k, v in document.items() if k != "schedbench"},
            environment_raw=dict(env_fields.data), version=int(version),
        )

    # ---- writing --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The whole file as JSON data: the pyperf part plus the ``schedbench`` section."""
        sb: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
        for f in fields(self):
            if f.name in ("pyperf", "environment_raw", "version"):
                continue
            sb[f.name] = plain(getattr(self, f.name))
        # The captured environment as written (it may hold more than the typed fields), with
        # the typed fields for what it lacks.
        sb["environment"] = {**_environment_json(self.environment), **self.environment_raw}
        out: dict[str, Any] = {"version": "1.0", "benchmarks": [], **self.pyperf}
        out["schedbench"] = sb
        return out

    # ---- derived figures (the one place each is computed) ------------------------------
    def runs_in(self, mode: str, time_scale: float | None = None) -> list[RunRecord]:
        return [r for r in self.runs if r.mode == mode and (time_scale is None or r.time_scale == time_scale)]

    @property
    def time_scales(self) -> list[float]:
        """Time scales among the timed runs, largest (lightest load) first."""
        return sorted({r.time_scale for r in self.runs if r.time_scale is not None}, reverse=True)

    @property
    def schedulers(self) -> list[str]:
        return list(dict.fromkeys(r.scheduler for r in self.runs))

    @property
    def broken_runs(self) -> list[RunRecord]:
        return [r for r in self.runs if r.status.broken]

    @property
    def problem_runs(self) -> list[RunRecord]:
        return [r for r in self.runs if r.status is not Status.VALID]

    def switch_ns(self, run: RunRecord) -> float | None:
        return None if run.switch is None else run.switch.mean_ns

    def x_floor(self, run: RunRecord) -> float | None:
        """Switch cost as a multiple of one bare ``send``: comparable across machines."""
        if run.switch is None or self.floor is None or self.floor.mean_s <= 0:
            return None
        return run.switch.mean_s / self.floor.mean_s

    def body_floor_ns(self, dialect: str | None) -> float | None:
        sample = self.body_floors.get(dialect or "")
        return None if sample is None else sample.mean_ns

    def overhead_ns(self, run: RunRecord) -> float | None:
        """What the scheduler adds per switch: switch cost − the body floor of its dialect.

        Derived, so it can be zero or negative (a loop as cheap as the floor driver); it is
        never gated and never a pyperf benchmark.
        """
        floor = self.body_floor_ns(run.dialect)
        if run.switch is None or floor is None:
            return None
        return run.switch.mean_ns - floor

    def io_overhead_ns(self, run: RunRecord) -> float | None:
        """What an io run adds per resume over the I/O floor (raw epoll on the same sockets)."""
        if run.mode != "io" or run.switch is None or self.io_floor is None:
            return None
        return run.switch.mean_ns - self.io_floor.mean_ns

    def overhead_instructions(self, run: RunRecord) -> float | None:
        # An io run is read against the I/O floor, kept among the body floors as "io-floor".
        floor = self.body_floor_instructions.get("io-floor" if run.mode == "io" else run.dialect or "")
        if run.instructions is None or floor is None or run.instructions.unit != floor.unit:
            return None
        return run.instructions.per_unit - floor.per_unit

    def timer_floor(self, time_scale: float | None) -> TimerFloor | None:
        return next((t for t in self.timer_floors if t.time_scale == time_scale), None)

    def x_timer_floor(self, run: RunRecord, key: str) -> float | None:
        """A lateness percentile as a multiple of the same percentile of the timer floor."""
        floor = self.timer_floor(run.time_scale)
        if run.timed is None or floor is None:
            return None
        reference = floor.reference.get(key)
        return run.timed.lateness_us.get(key) / reference if reference > 0 else None

    @property
    def kept_runs(self) -> list[RunRecord]:
        """Runs whose newest attempt is not VALID but that keep their last VALID measurement."""
        return [r for r in self.runs if r.last_valid is not None]

    @property
    def commit_labels(self) -> list[str]:
        """Every commit the runs were measured at (a merged file can hold several), kept runs too."""
        attempts = [*self.runs, *(r.last_valid for r in self.runs if r.last_valid is not None)]
        labels = [r.commit for r in attempts if r.commit]
        return list(dict.fromkeys(labels)) or [self.environment.commit_label]


def _plausible_workload(f: Fields) -> WorkloadInfo:
    """The workload, refused when its counts could not describe a run (``context`` reads the types)."""
    workload = WorkloadInfo.from_json(f)
    positive(workload.rockets, f.at("rockets"))
    for i, scale in enumerate(workload.time_scales):
        positive(scale, f"{f.at('time_scales')}[{i}]")
    for key in ("total_sleeps", "expected_resumes"):
        value = getattr(workload, key)
        if value is not None:
            non_negative(value, f.at(key))
    return workload


def _refuse_duplicates(runs: tuple[RunRecord, ...]) -> None:
    """One run per key: two would make "the" heapq switch figure depend on which a reader took."""
    seen: dict[tuple[str, str, float | None], int] = {}
    for i, run in enumerate(runs):
        if run.key in seen:
            raise ResultsError(f"runs[{i}]: a second run of {run.label} (first at runs[{seen[run.key]}]); "
                               "a results file holds one run per mode, scheduler and time scale")
        seen[run.key] = i


def _environment_json(env: Environment) -> dict[str, Any]:
    out = plain(env)
    clock = {"implementation": out.pop("clock_implementation"), "resolution_s": out.pop("clock_resolution_s")}
    out["clock"] = {k: v for k, v in clock.items() if v is not None} or None
    return dict(out)


def plain(value: Any) -> Any:
    """Model objects as JSON data: dataclasses to objects, enums to their value, tuples to lists."""
    if isinstance(value, enum.Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
