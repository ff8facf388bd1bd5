"""The scaling sweep: cost per resume and memory per rocket as N grows (DESIGN §4).

Every (scheduler, mode, N) point runs in its own process (``bench.measure.scale_point``) under a
time budget. A point that exceeds it is stopped and marked ``stopped`` with the reason,
and the larger sizes of that series are marked ``stopped`` too ("not run: stopped at a
smaller N"), so a quadratic design shows where it gave up instead of silently vanishing.

Every dialect's body floor is measured at the same sizes, so a scheduler whose cost per
resume grows only as fast as its floor's is paying for cache misses, not for its design.

Modes: ``switch`` (zero-length sleeps, every scheduler) and ``virtual`` (the timed
workload at time scale 1 on the virtual clock, for schedulers that support it), which
measures timer management at any N without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import environment, isolate
from bench.measure.io_floor import IO_FLOOR_NAME
from bench.measure.registry import SchedulerEntry
from bench.measure.targets import BODY_FLOOR_PREFIX, body_floor_name
from bench.results.fields import Fields, ResultsError
from bench.results.model import Document, Environment, Scaling, ScalingPoint, WorkloadInfo
from bench.results.store import dump

DEFAULT_SIZES = (100, 1_000, 10_000, 100_000, 1_000_000)
#: io sweeps: 50 to 5,000 socket pairs (a descriptor per rocket bounds them).
IO_SIZES = (100, 1_000, 10_000)
DEFAULT_MODES = ("switch", "virtual")
#: Seconds of the scheduler's ``run`` one point may take (building, validating and the
#: memory pass are not counted). It must let the slowest O(log N) loop reach a million
#: rockets on a noisy machine: twisted, the slowest, ran 89 s there (22.2 µs x 4 million
#: resumes, 2026-11-22, 2-vCPU VM), so 150 s leaves it ~1.7x headroom, while a quadratic
#: design (listscan on the virtual clock) still stops at 100k.
DEFAULT_BUDGET_S = 150.0
#: The child is killed after this many budgets (plus a minute): set-up and the traced
#: memory pass of a million rockets take several times the run itself.
HARD_LIMIT_FACTOR = 4
#: A growth exponent from two or three points is a guess; from four it has an error bar.
MIN_GROWTH_POINTS = 4


def series(entries: Sequence[SchedulerEntry],
           modes: Sequence[str] = DEFAULT_MODES) -> list[tuple[str, str, SchedulerEntry | None]]:
    """(target, mode, entry) for every series: each scheduler's, and the floor of each at the
    same sizes (entry None: a harness driver): the body floor of every dialect among them,
    the I/O floor for io."""
    out: list[tuple[str, str, SchedulerEntry | None]] = []
    dialects = []
    for entry in entries:
        if "switch" in modes:
            out.append((entry.name, "switch", entry))
        if "virtual" in modes and entry.available and entry.supports_virtual_clock:
            out.append((entry.name, "virtual", entry))
        if "io" in modes and (not entry.available or entry.readiness):
            out.append((entry.name, "io", entry))
        if entry.available and entry.dialect not in dialects:
            dialects.append(entry.dialect)
    if "switch" in modes:
        out += [(body_floor_name(d), "switch", None) for d in dialects]
    if "io" in modes:
        out.append((IO_FLOOR_NAME, "io", None))
    return out


def run_point(target: str, mode: str, rockets: int, seed: int, budget: float, workdir: Path) -> dict[str, Any]:
    """One point in a fresh child process (``scale-point`` handler), its raw figures."""
    limit = budget * HARD_LIMIT_FACTOR + 60
    request = isolate.Request(handler="scale-point", limit_s=limit,
                              params={"scheduler": target, "mode": mode, "rockets": rockets, "seed": seed,
                                      "budget_s": budget})
    # The budget is enforced on the run inside the child; the request's limit is the
    # backstop for a point whose building or memory pass never ends.
    report = isolate.run(request, workdir)
    if report.ending is isolate.Ending.TIMED_OUT:
        return {"status": "stopped", "reason": f"point killed after {limit:g} s (set-up or memory pass) "
                                               f"at N={rockets:,}", "elapsed_s": report.elapsed_s}
    if not report.reported or not isinstance(report.result, dict):
        return {"status": "failed", "reason": report.reason or "point sent no result", "elapsed_s": report.elapsed_s}
    return {**report.result, "elapsed_s": report.elapsed_s}


@dataclass
class Sweep:
    scaling: Scaling
    interrupted: bool

    @property
    def points(self) -> tuple[ScalingPoint, ...]:
        return self.scaling.points


def sweep(entries: Sequence[SchedulerEntry], sizes: Sequence[int], seed: int, budget: float,
          report: Callable[[ScalingPoint], None] | None = None, modes: Sequence[str] = DEFAULT_MODES) -> Sweep:
    """Every series at every size; ``report`` is called with each point as it is measured."""
    points: list[ScalingPoint] = []
    interrupted = False
    floor_at: dict[tuple[str, int], float] = {}
    with isolate.scratch() as scratch:
        try:
            _measure(series(entries, modes), sizes, seed, budget, report, points, floor_at, scratch)
        except KeyboardInterrupt:
            interrupted = True
    # Each scheduler point carries its floor at the same N: its dialect's body floor, or the
    # I/O floor for io points.
    dialect = {e.name: e.dialect for e in entries if e.available}
    points = [replace(p, body_floor_ns=floor_at.get((body_floor_name(dialect[p.scheduler]), p.rockets)))
              if p.mode == "switch" and p.scheduler in dialect
              else replace(p, body_floor_ns=floor_at.get((IO_FLOOR_NAME, p.rockets)))
              if p.mode == "io" and p.scheduler in dialect else p for p in points]
    return Sweep(Scaling(tuple(sizes), budget, seed, tuple(points)), interrupted)


def _measure(all_series: Sequence[tuple[str, str, SchedulerEntry | None]], sizes: Sequence[int], seed: int,
             budget: float, report: Callable[[ScalingPoint], None] | None, points: list[ScalingPoint],
             floor_at: dict[tuple[str, int], float], scratch: Path) -> None:
    """Appends each point to ``points`` as it is measured (so Ctrl-C keeps them)."""
    for target, mode, entry in all_series:
        stopped_at: int | None = None
        for n in sizes:
            base = {"scheduler": target, "mode": mode, "rockets": n,
                    "family": entry.family if entry is not None and entry.available else None}
            if entry is not None and not entry.available:
                point = _point({**base, "status": "skipped", "reason": f"unavailable: {entry.error}"})
            elif stopped_at is not None:
                point = _point({**base, "status": "stopped",
                                "reason": f"not run: stopped at N={stopped_at:,} (budget {budget:g} s)"})
            else:
                workdir = scratch / f"point-{len(points)}"
                point = _point({**base, **run_point(target, mode, n, seed, budget, workdir)})
            if point.ns_per_resume is not None and (target.startswith(BODY_FLOOR_PREFIX) or target == IO_FLOOR_NAME):
                floor_at[(target, n)] = point.ns_per_resume
            points.append(point)
            # Every point is reported, the ones not run too: a progress count then reaches its total.
            if report is not None:
                report(point)
            if point.status == "stopped" and stopped_at is None:
                stopped_at = n


def _point(raw: dict[str, Any]) -> ScalingPoint:
    """A point from the child's JSON; anything malformed becomes a failed point."""
    known = {k: raw.get(k) for k in ("scheduler", "mode", "rockets", "status", "reason", "ns_per_resume",
                                      "wall_s", "run_s", "tracemalloc_bytes_per_rocket", "peak_rss_bytes",
                                      "elapsed_s", "family")}
    try:
        return ScalingPoint.from_json(Fields(known, "point"))
    except ResultsError as exc:
        return ScalingPoint(str(raw["scheduler"]), str(raw["mode"]), int(raw["rockets"]), "failed",
                            f"malformed point: {exc}")


@dataclass(frozen=True)
class Growth:
    """The log–log slope of ns/resume against N, least squares, with its standard error."""

    slope: float
    stderr: float
    points: int

    @property
    def label(self) -> str:
        return f"{self.slope:+.2f} ± {self.stderr:.2f} ({growth_class(self.slope)}, {self.points} points)"


def growth(points: Sequence[ScalingPoint]) -> dict[tuple[str, str], Growth | None]:
    """Growth of cost per resume per series; None with fewer than ``MIN_GROWTH_POINTS``.

    ≈ 0: constant cost per resume; small positive (≈ 0.05–0.15 over 4 decades): log N
    (heap depth, cache misses); ≈ 1: linear in N per resume, i.e. quadratic overall.
    """
    out: dict[tuple[str, str], Growth | None] = {}
    for key in dict.fromkeys((p.scheduler, p.mode) for p in points):
        ok = sorted((p.rockets, p.ns_per_resume) for p in points
                    if (p.scheduler, p.mode) == key and p.status == "ok" and p.ns_per_resume)
        if len(ok) < MIN_GROWTH_POINTS:
            out[key] = None
            continue
        x = np.log([n for n, _ in ok])
        y = np.log([c for _, c in ok])
        (slope, _), cov = np.polyfit(x, y, 1, cov=True)
        out[key] = Growth(float(slope), float(np.sqrt(cov[0, 0])), len(ok))
    return out


def growth_class(slope: float) -> str:
    """Name the growth of cost per resume from its log–log slope."""
    if slope < 0.05:
        return "constant"
    if slope < 0.35:
        return "≈ log N"
    return "linear in N per wake"


def growth_summary(result: Sweep) -> str:
    """The slopes, or one line saying why there are none.

    A sweep of fewer sizes than a slope needs gets one line instead of "too few points"
    repeated for every series: the cause is the sweep, not any scheduler.
    """
    sizes = len(result.scaling.sizes)
    if sizes < MIN_GROWTH_POINTS:
        return (f"growth of ns/resume: not computed, too few points ({sizes} size{'s' if sizes != 1 else ''} "
                f"measured; a slope needs ≥ {MIN_GROWTH_POINTS})")
    lines = [f"growth of ns/resume (log–log slope ± standard error; needs ≥ {MIN_GROWTH_POINTS} points):"]
    for (target, mode), g in growth(result.points).items():
        lines.append(f"  {target:<22} {mode:<8} {'too few points' if g is None else g.label}")
    return "\n".join(lines)


def opening_line(names: Sequence[str], sizes: Sequence[int], points: int, budget: float) -> str:
    """What the sweep is about to do, said before its first point: how much, and whether
    it will give slopes.

    Fewer sizes than a slope needs is said here, not refused: the per-N figures (cost per
    resume, memory per rocket) are the sweep's main output, the io sweep's default has
    only ``len(IO_SIZES)`` sizes (the descriptor limit bounds N), and a sweep merges into
    its file by (series, N), so a short sweep can complete a series measured before.
    """
    line = (f"scaling sweep: {', '.join(names)} over N = {', '.join(f'{n:,}' for n in sizes)}: {points} points, "
            f"each in its own process, budget {budget:g} s per point; a growth slope needs ≥ {MIN_GROWTH_POINTS} "
            "sizes")
    if len(sizes) < MIN_GROWTH_POINTS:
        line += f" — {len(sizes)} given, so this sweep reports no slopes (its points are still measured and kept)"
    return line


def merge_into(path: Path, result: Sweep, previous: Document | None, command: str) -> Document:
    """Write the sweep to ``path``: into its scaling section, points merged by (series, N)."""
    scaling = result.scaling
    if previous is not None and previous.scaling is not None:
        mine = {(p.scheduler, p.mode, p.rockets) for p in scaling.points}
        kept = tuple(p for p in previous.scaling.points if (p.scheduler, p.mode, p.rockets) not in mine)
        sizes = tuple(sorted({*previous.scaling.sizes, *scaling.sizes}))
        scaling = replace(scaling, points=kept + scaling.points, sizes=sizes)
    if previous is None:
        env = environment.capture("real")
        previous = Document(
            created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), command=command, preset="scale",
            complete=True, interrupted=False, environment=Environment.from_json(Fields(env, "environment")),
            environment_raw=env, workload=WorkloadInfo(max(scaling.sizes), scaling.seed, "time", (), (), "real"),
            runs=(),
        )
    document = replace(previous, scaling=scaling, complete=previous.complete and not result.interrupted)
    dump(path, document)
    return document
