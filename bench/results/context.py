"""Where and what was measured: the environment, the workload's identity, the scaling sweep.

Part of the results model (``bench.results.model``); each class validates its own JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bench.results.fields import Fields

Measure = Literal["time", "instructions", "syscalls"]
MEASURES: tuple[Measure, ...] = ("time", "instructions", "syscalls")


@dataclass(frozen=True)
class Environment:
    """The machine and interpreter state that can move a measurement."""

    python: str
    implementation: str
    executable: str
    platform: str
    cpu_model: str
    cpu_count: int | None
    timer_slack_ns: int | None
    gc_enabled: bool
    commit: str | None
    dirty: bool | None
    hostname: str | None = None
    cpu_governor: str | None = None
    load_avg_1m: float | None = None
    gc_thresholds: tuple[int, ...] = ()
    pyperf: str | None = None
    clock_implementation: str | None = None
    clock_resolution_s: float | None = None
    captured_utc: str | None = None
    python_flags: tuple[str, ...] = ()
    worker_python: str | None = None  # another interpreter for the workers, when asked for
    valgrind: str | None = None

    @classmethod
    def from_json(cls, f: Fields) -> Environment:
        clock = f.opt_obj("clock")
        return cls(
            f.opt_text("python") or "?", f.opt_text("implementation") or "?", f.opt_text("executable") or "?",
            f.opt_text("platform") or "?", f.opt_text("cpu_model") or "?", f.opt_whole("cpu_count"),
            f.opt_whole("timer_slack_ns"), f.flag("gc_enabled", True), f.opt_text("commit"),
            f.flag("dirty") if f.has("dirty") else None, f.opt_text("hostname"), f.opt_text("cpu_governor"),
            f.opt_num("load_avg_1m"), f.wholes("gc_thresholds"), f.opt_text("pyperf"),
            clock.opt_text("implementation") if clock else None, clock.opt_num("resolution_s") if clock else None,
            f.opt_text("captured_utc"), f.texts("python_flags"), f.opt_text("worker_python"), f.opt_text("valgrind"),
        )

    @property
    def commit_label(self) -> str:
        """The one way a commit is written everywhere: 12 hex digits, ``+dirty`` when uncommitted."""
        return short_commit(self.commit, self.dirty)


def short_commit(commit: str | None, dirty: bool | None = False) -> str:
    return (commit or "unknown")[:12] + ("+dirty" if dirty else "")


@dataclass(frozen=True)
class WorkloadInfo:
    """What was measured: a file's identity. Two files with different identities never merge
    and never compare."""

    rockets: int
    seed: int
    measure: Measure
    modes: tuple[str, ...]
    time_scales: tuple[float, ...]
    clock: str
    total_sleeps: int | None = None
    expected_resumes: int | None = None
    ideal_makespan_ticks: float | None = None

    @classmethod
    def from_json(cls, f: Fields) -> WorkloadInfo:
        return cls(f.whole("rockets"), f.whole("seed"),
                   f.choice("measure", {m: m for m in MEASURES}) if f.has("measure") else "time",
                   f.texts("modes"), f.nums("time_scales"), f.opt_text("clock") or "real",
                   f.opt_whole("total_sleeps"), f.opt_whole("expected_resumes"), f.opt_num("ideal_makespan_ticks"))

    def identity(self, env: Environment) -> dict[str, object]:
        """Rockets, seed, measure, interpreter flags and clock: what must match to merge."""
        return {"rockets": self.rockets, "seed": self.seed, "measure": self.measure, "clock": self.clock,
                "python flags": " ".join(env.python_flags) or "none"}


#: The families a run may record, in the order reports list them (the plugin contract's
#: FAMILIES and its default, "third-party"; a test keeps the two in step: the results model
#: does not import the schedulers' package).
FAMILY_NAMES: tuple[str, ...] = ("production", "this-project", "third-party", "teaching")


def opt_family(f: Fields) -> str | None:
    """A record's ``family``: one of ``FAMILY_NAMES``, or None in files written before it
    was recorded (an unknown name is refused, naming the allowed ones)."""
    return f.choice("family", {k: k for k in FAMILY_NAMES}) if f.opt_text("family") is not None else None


@dataclass(frozen=True)
class ScalingPoint:
    scheduler: str
    mode: str
    rockets: int
    status: str  # ok, stopped, failed, skipped
    reason: str | None = None
    ns_per_resume: float | None = None
    wall_s: float | None = None
    run_s: float | None = None
    tracemalloc_bytes_per_rocket: float | None = None
    peak_rss_bytes: float | None = None
    elapsed_s: float | None = None
    body_floor_ns: float | None = None
    family: str | None = None  # None: a floor, or a file written before the family was recorded

    @classmethod
    def from_json(cls, f: Fields) -> ScalingPoint:
        return cls(f.text("scheduler"), f.text("mode"), f.whole("rockets"), f.text("status"), f.opt_text("reason"),
                   f.opt_num("ns_per_resume"), f.opt_num("wall_s"), f.opt_num("run_s"),
                   f.opt_num("tracemalloc_bytes_per_rocket"), f.opt_num("peak_rss_bytes"), f.opt_num("elapsed_s"),
                   f.opt_num("body_floor_ns"), opt_family(f))


@dataclass(frozen=True)
class Scaling:
    sizes: tuple[int, ...]
    budget_s: float
    seed: int
    points: tuple[ScalingPoint, ...]

    @classmethod
    def from_json(cls, f: Fields) -> Scaling:
        return cls(f.wholes("sizes"), f.num("budget_s"), f.whole("seed"),
                   tuple(ScalingPoint.from_json(p) for p in f.objs("points")))


