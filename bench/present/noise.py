"""Noise, said as noise: when a difference is within the spread of what it was computed
from, and when a whole file is too noisy to read closely.

One rule for every "is this a real difference?" in the outputs (the ≈ 0 overhead, the
ranking's ``≈`` places, the verdict's "beyond the noise"), so a table and a sentence
cannot disagree. The spread of a wall-time sample is pyperf's standard deviation over all
its values (it holds the between-process part: the values come from 2–4 processes); when
that is 0 with several per-process means, their standard deviation instead.

Trade-off: a difference is *within the noise* when its magnitude is at most twice the
combined standard deviation, ``2·√(σa² + σb²)`` (the standard deviation of a difference of
two independent measurements, doubled for a ~95 % band). With 2–4 processes a t-quantile
would be wider still (4.3 for 2 values) and would call nearly everything noise on a 2-core
VM; one standard deviation (the old ``mean ± std overlap``) called a −275 ns overhead a win
when the floor itself spread ±48 ns and the run ±148 ns. Two is the usual reading of "beyond
the noise" and is what the unit tests pin.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.present import units
from bench.results.model import Document, RunRecord, Sample

#: How many combined standard deviations a difference must exceed to be beyond the noise.
NOISE_K = 2.0

# The between-process warning. Measured on results/reference (per-process means, their
# standard deviation over their mean, "CV"), on the 2-vCPU EPYC development VM:
#   2026-11-21-default-v1   switch runs: median CV 12.2 %, max 16.7 %; bare send 13.9 %
#   2026-11-22-default      switch runs: median  6.7 %, max 29.3 %; floors: async 41.9 %, generator 20.4 %
#   2026-11-22T0320-default switch runs: median  8.7 %, max 33.8 %; floors: async 20.6 %, bare send 20.4 %
#   2026-11-22T0458-default switch runs: median  3.1 %, max 17.5 %; floors ≤ 8.9 %   (quiet)
#   2026-12-02T1733-default switch runs: median  4.8 %, max 11.9 %; io runs median 2.3 %; floors ≤ 8.6 % (quiet)
#   2026-12-03T1212-default switch runs: median  5.5 %, max 13.1 %; io runs median 2.7 %; floors ≤ 11.2 %
#                           (quiet, no warning: README's run)
# A single run's CV reaches 17 % even on the quiet files, so "any run above X" would fire on
# every run of this VM; the median over the runs and the floors (which every overhead is read
# against) separate the quiet files from the loaded ones with room on both sides.
#: Median per-process CV over a file's switch (or io) runs above which the page warns.
RUNS_CV_WARN = 0.10
#: Per-process CV of any floor (bare send, body floor, I/O floor) above which the page warns.
FLOOR_CV_WARN = 0.15


def spread_ns(sample: Sample | None) -> float:
    """One standard deviation of a wall-time sample, in ns (0 when there is nothing to go on)."""
    if sample is None:
        return 0.0
    if sample.std_s > 0 or len(sample.values_s) < 2:
        return sample.std_s * 1e9
    return statistics.stdev(sample.values_s) * 1e9


def combined(*spreads: float) -> float:
    """The noise band of a difference: ``NOISE_K · √(Σ σ²)``."""
    return NOISE_K * math.sqrt(sum(s * s for s in spreads))


def within(difference: float, *spreads: float) -> bool:
    """The difference is within the noise of the measurements it was computed from."""
    return abs(difference) <= combined(*spreads)


@dataclass(frozen=True)
class Overhead:
    """What a run adds over its floor, with the band it must leave to mean anything."""

    value_ns: float
    band_ns: float

    @property
    def noise(self) -> bool:
        return abs(self.value_ns) <= self.band_ns

    @property
    def text(self) -> str:
        """``1,078``, or ``≈ 0 (± 37)`` when the figure is within the noise: never a win."""
        return f"≈ 0 (± {units.ns(self.band_ns)})" if self.noise else units.ns(self.value_ns)


def overhead(doc: Document, run: RunRecord) -> Overhead | None:
    """A switch run's overhead over its dialect's body floor, an io run's over the I/O
    floor; None without a figure or a floor."""
    floor = doc.io_floor if run.mode == "io" else doc.body_floors.get(run.dialect or "")
    if run.switch is None or floor is None:
        return None
    return Overhead(run.switch.mean_ns - floor.mean_ns, combined(spread_ns(run.switch), spread_ns(floor)))


# ---- the page-level warning -----------------------------------------------------------

def process_cv(sample: Sample | None) -> float | None:
    """Standard deviation of the per-process values over their mean (None below 2 values)."""
    if sample is None or len(sample.values_s) < 2:
        return None
    mean = statistics.fmean(sample.values_s)
    return statistics.stdev(sample.values_s) / mean if mean > 0 else None


def _floors(doc: Document) -> list[tuple[str, Sample]]:
    named = [("bare send", doc.floor), *((f"body floor ({k})", v) for k, v in sorted(doc.body_floors.items())),
             ("I/O floor", doc.io_floor)]
    return [(name, sample) for name, sample in named if sample is not None]


def _median_cv(runs: Sequence[RunRecord]) -> float | None:
    values = [cv for run in runs if run.status.charted and (cv := process_cv(run.switch)) is not None]
    return statistics.median(values) if len(values) >= 3 else None


def spread_warnings(doc: Document) -> list[str]:
    """One line per trigger that fired, with its figure; empty on a quiet file."""
    if doc.workload.measure != "time":
        return []  # counted figures repeat exactly
    out = []
    for name, sample in _floors(doc):
        cv = process_cv(sample)
        if cv is not None and cv > FLOOR_CV_WARN:
            out.append(f"the {name}'s processes spread {units.percent(cv)} (std/mean of {len(sample.values_s)} "
                       f"per-process means; warning above {units.percent(FLOOR_CV_WARN)}): every overhead read "
                       "against it carries that noise")
    for mode in ("switch", "io"):
        median = _median_cv(doc.runs_in(mode))
        if median is not None and median > RUNS_CV_WARN:
            out.append(f"the {mode} runs' processes spread {units.percent(median)} (median std/mean of per-process "
                       f"means; warning above {units.percent(RUNS_CV_WARN)})")
    return out


def warning_text(doc: Document) -> str | None:
    """The banner: what fired, and what to do about it."""
    lines = spread_warnings(doc)
    if not lines:
        return None
    return ("High spread between processes: " + "; ".join(lines) + ". The machine was busy or its clock "
            "unsteady: read close places as ties, and re-run on a quiet machine before deciding between them.")
