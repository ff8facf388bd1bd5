"""The figures a run carries, as frozen records: percentiles, histograms, pyperf summaries,
per-process figures, timed-mode figures, instruction counts, timer floors, syscall counts.

Part of the results model (``bench.results.model`` holds the run, the context and the
document that tie them together); each class validates its own JSON in ``from_json``.
Times, counts and ratios are read non-negative (``Fields.amount``/``count``); lateness
percentiles stay signed, because an early wake is a negative lateness.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from bench.results.fields import Fields, ResultsError, non_negative, positive


@dataclass(frozen=True)
class Percentiles:
    """Lateness percentiles in µs, over every wake of a run (or of one process)."""

    p50: float
    p90: float
    p99: float
    p99_9: float
    max: float
    mean: float

    KEYS: ClassVar[tuple[str, ...]] = ("p50", "p90", "p99", "p99_9", "max")
    LABELS: ClassVar[dict[str, str]] = {"p50": "p50", "p90": "p90", "p99": "p99", "p99_9": "p99.9", "max": "max"}

    @classmethod
    def from_json(cls, f: Fields) -> Percentiles:
        # Signed on purpose: lateness below zero is an early wake, reported, not corrupt.
        return cls(f.num("p50"), f.num("p90"), f.num("p99"), f.num("p99_9"), f.num("max"), f.num("mean"))

    def get(self, key: str) -> float:
        return float(getattr(self, key))


@dataclass(frozen=True)
class Histogram:
    """Lateness counts in log-spaced bins (seconds), plus early and exact-zero counters."""

    edges_s: tuple[float, ...]
    counts: tuple[int, ...]
    zero: int
    early: int

    @classmethod
    def from_json(cls, f: Fields) -> Histogram:
        edges, counts = f.amounts("edges_s"), f.counts("counts")
        if len(edges) != len(counts) + 1:
            raise ResultsError(f"{f.at('counts')}: {len(counts)} counts for {len(edges)} edges")
        return cls(edges, counts, f.count("zero"), f.count("early"))


@dataclass(frozen=True)
class Sample:
    """A pyperf benchmark summarised: seconds per unit, and each worker process's mean
    (the independent samples the gate tests)."""

    benchmark: str
    mean_s: float
    std_s: float
    median_s: float
    values_s: tuple[float, ...]

    @classmethod
    def from_json(cls, f: Fields, benchmark: str | None = None) -> Sample:
        mean, median = f.amount("mean_s"), f.opt_amount("median_s")
        return cls(benchmark or f.opt_text("benchmark") or "?", mean, f.amount("std_s"),
                   mean if median is None else median, f.amounts("values_s"))

    @property
    def mean_ns(self) -> float:
        return self.mean_s * 1e9


@dataclass(frozen=True)
class ProcessFigures:
    """One worker process: its runs averaged (timed mode runs once per process)."""

    runs: int
    wall_s: float
    cpu_s: float
    resumes: int | None
    wasted: float | None
    early: int
    worst_early_s: float
    lateness_us: Percentiles | None = None
    cpu_per_wake_us: float | None = None
    spurious: int | None = None  # io mode: wakes with nothing to read

    @classmethod
    def from_json(cls, f: Fields) -> ProcessFigures:
        return cls(f.opt_count("runs") or 1, f.opt_amount("wall_s") or 0.0, f.opt_amount("cpu_s") or 0.0,
                   f.opt_count("resumes"), f.opt_amount("wasted"), f.opt_count("early") or 0,
                   f.opt_amount("worst_early_s") or 0.0, f.opt("lateness_us", Percentiles.from_json),
                   f.opt_amount("cpu_per_wake_us"), f.opt_count("spurious"))


@dataclass(frozen=True, kw_only=True)
class TimedFigures:
    """Timed mode on the real clock: lateness, CPU cost and makespan, pooled over processes."""

    runs: int
    wakes: int
    lateness_us: Percentiles
    lateness_hist: Histogram
    early_wakes: int
    worst_early_us: float
    cpu_per_wake_us: float
    cpu_per_wake_us_values: tuple[float, ...]
    utilisation: float | None
    wasted_resumes: float | None
    wasted_per_wake: float | None
    makespan_s: float
    makespan_std_s: float
    makespan_values_s: tuple[float, ...]
    ideal_makespan_s: float
    makespan_x_ideal: float | None
    #: Wakes due while rockets were still being started (all start at t = 0), and the rest.
    burst_lateness_us: Percentiles | None = None
    steady_lateness_us: Percentiles | None = None
    burst_wakes: int | None = None

    @classmethod
    def from_json(cls, f: Fields) -> TimedFigures:
        return cls(
            runs=f.count("runs"), wakes=f.count("wakes"), lateness_us=Percentiles.from_json(f.obj("lateness_us")),
            lateness_hist=Histogram.from_json(f.obj("lateness_hist")), early_wakes=f.count("early_wakes"),
            worst_early_us=f.amount("worst_early_us"), cpu_per_wake_us=f.amount("cpu_per_wake_us"),
            cpu_per_wake_us_values=f.amounts("cpu_per_wake_us_values"), utilisation=f.opt_amount("utilisation"),
            wasted_resumes=f.opt_amount("wasted_resumes"), wasted_per_wake=f.opt_amount("wasted_per_wake"),
            makespan_s=f.amount("makespan_s"), makespan_std_s=f.amount("makespan_std_s"),
            makespan_values_s=f.amounts("makespan_values_s"), ideal_makespan_s=f.amount("ideal_makespan_s"),
            makespan_x_ideal=f.opt_amount("makespan_x_ideal"),
            burst_lateness_us=f.opt("burst_lateness_us", Percentiles.from_json),
            steady_lateness_us=f.opt("steady_lateness_us", Percentiles.from_json),
            burst_wakes=f.opt_count("burst_wakes"),
        )


@dataclass(frozen=True)
class InstructionFigures:
    """Instructions counted under Valgrind for ``run`` alone, per resume or per useful wake.

    Deterministic: repeats of the same code differ only by what the loop itself randomises
    (``drift``, the largest relative spread over the repeats).
    """

    per_unit: float
    unit: str  # "resume" (switch mode) or "wake" (timed workload on the virtual clock)
    values: tuple[float, ...]  # per repeat, per unit
    total: int  # instructions of one run (the first repeat)
    drift: float
    method: str
    warmed: bool
    profile: str | None = None
    top_functions: tuple[tuple[str, int], ...] = ()
    estimated_cycles_per_unit: float | None = None

    @classmethod
    def from_json(cls, f: Fields) -> InstructionFigures:
        top = []
        for i, item in enumerate(f.items("top_functions")):
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                    and isinstance(item[1], int) and not isinstance(item[1], bool)):
                raise ResultsError(f"{f.at('top_functions')}[{i}]: expected [function, count]")
            top.append((item[0], non_negative(item[1], f"{f.at('top_functions')}[{i}][1]")))
        return cls(f.amount("per_unit"), f.choice("unit", {"resume": "resume", "wake": "wake"}), f.amounts("values"),
                   f.count("total"), f.amount("drift"), f.text("method"), f.flag("warmed"), f.opt_text("profile"),
                   tuple(top), f.opt_amount("estimated_cycles_per_unit"))


@dataclass(frozen=True)
class TimerFloor:
    """How late this machine wakes a thread that waits the workload's gaps at one time scale."""

    time_scale: float
    wakes: int
    blocking_default: Percentiles
    blocking_lowered: Percentiles | None  # timer slack lowered; None where Linux refused
    spin: Percentiles | None

    @classmethod
    def from_json(cls, f: Fields) -> TimerFloor:
        return cls(positive(f.num("time_scale"), f.at("time_scale")), f.count("wakes"),
                   Percentiles.from_json(f.obj("blocking_default")),
                   f.opt("blocking_lowered", Percentiles.from_json), f.opt("spin", Percentiles.from_json))

    @property
    def reference(self) -> Percentiles:
        """What "× timer floor" divides by: the careful (lowered-slack) blocking floor."""
        return self.blocking_lowered or self.blocking_default


@dataclass(frozen=True)
class SyscallFigures:
    """System calls ``run`` made, counted under strace between two markers, by name.

    ``counts``: one mapping (call name → calls) per counted process, in repeat order. Per
    resume = calls ÷ ``denominator``, the workload's expected resumes (one start per
    rocket plus one resume per sleep: the denominator of switch cost). Which names are
    gated exactly and which only reported is ``bench.results.syscall_kinds``.
    """

    counts: tuple[Mapping[str, int], ...]
    denominator: int
    warmed: bool
    threads: int = 0  # the most threads and processes seen making calls in one region
    unit: str = "resume"

    NAME: ClassVar[re.Pattern[str]] = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\?+")

    @classmethod
    def from_json(cls, f: Fields) -> SyscallFigures:
        repeats = []
        for sub in f.objs("counts"):
            for name in sub.data:
                if not cls.NAME.fullmatch(name):
                    raise ResultsError(f"{sub.at(name)}: {name!r} is not a system call's name")
            repeats.append({name: sub.count(name) for name in sorted(sub.data)})
        if not repeats:
            raise ResultsError(f"{f.at('counts')}: no counted run")
        return cls(tuple(repeats), positive(f.whole("denominator"), f.at("denominator")), f.flag("warmed"),
                   f.opt_count("threads") or 0, f.choice("unit", {"resume": "resume"}))

    @property
    def names(self) -> tuple[str, ...]:
        """Every call name seen in any repeat, most calls first."""
        totals: dict[str, int] = {}
        for repeat in self.counts:
            for name, calls in repeat.items():
                totals[name] = totals.get(name, 0) + calls
        return tuple(sorted(totals, key=lambda n: (-totals[n], n)))

    def calls(self, name: str) -> tuple[int, ...]:
        """Calls of ``name`` in each repeat (0 where a repeat made none)."""
        return tuple(repeat.get(name, 0) for repeat in self.counts)

    def per_unit(self, name: str) -> float:
        calls = self.calls(name)
        return sum(calls) / len(calls) / self.denominator

    @property
    def totals(self) -> tuple[int, ...]:
        return tuple(sum(repeat.values()) for repeat in self.counts)

    @property
    def total_per_unit(self) -> float:
        return sum(self.totals) / len(self.totals) / self.denominator

    def varies(self, name: str) -> bool:
        """Whether the repeats disagree on ``name`` (the same code, a different count)."""
        return len(set(self.calls(name))) > 1
