"""The figure registry: every figure a run can carry, declared once.

``compare`` (what to test and gate), ``export`` (what to publish), the tables and the
charts all iterate ``FIGURES``, so a new figure is one entry here. Each figure knows its
headline value (what tables print and exports publish) and its independent samples
(what the gate tests: one value per worker process, or per Valgrind repeat).

Derived figures that depend on another measurement (overhead against a body floor,
× floor, × timer floor) are not here: they are computed by ``Document`` and never gated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.results.model import Measure, RunRecord


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    mode: str  # the run mode that carries it: switch, timed or virtual
    measure: Measure
    value: Callable[[RunRecord], float | None]
    samples: Callable[[RunRecord], tuple[float, ...]]
    #: Gated by default in ``compare`` (lateness only with --lateness-threshold).
    gated: bool
    #: Counted, not timed: equal code gives equal numbers, so no significance test.
    deterministic: bool = False
    #: Can be divided by the file's floor to compare machines (``--normalize floor``).
    normalizable: bool = False
    lateness: bool = False
    bencher_measure: str = ""

    def applies(self, run: RunRecord) -> bool:
        return run.mode == self.mode and self.value(run) is not None


def _switch_value(run: RunRecord) -> float | None:
    return None if run.switch is None else run.switch.mean_s * 1e9


def _switch_samples(run: RunRecord) -> tuple[float, ...]:
    return () if run.switch is None else tuple(v * 1e9 for v in run.switch.values_s)


def _cpu_value(run: RunRecord) -> float | None:
    return None if run.timed is None else run.timed.cpu_per_wake_us


def _cpu_samples(run: RunRecord) -> tuple[float, ...]:
    return () if run.timed is None else run.timed.cpu_per_wake_us_values


def _lateness_value(key: str) -> Callable[[RunRecord], float | None]:
    def value(run: RunRecord) -> float | None:
        return None if run.timed is None else run.timed.lateness_us.get(key)

    return value


def _lateness_samples(key: str) -> Callable[[RunRecord], tuple[float, ...]]:
    def samples(run: RunRecord) -> tuple[float, ...]:
        return tuple(p.lateness_us.get(key) for p in run.processes if p.lateness_us is not None)

    return samples


def _instr_value(run: RunRecord) -> float | None:
    return None if run.instructions is None else run.instructions.per_unit


def _instr_samples(run: RunRecord) -> tuple[float, ...]:
    return () if run.instructions is None else run.instructions.values


FIGURES: tuple[Figure, ...] = (
    Figure("switch", "switch cost", "ns", "switch", "time", _switch_value, _switch_samples, gated=True,
           normalizable=True, bencher_measure="latency"),
    Figure("cpu_per_wake", "CPU per wake", "µs", "timed", "time", _cpu_value, _cpu_samples, gated=True,
           normalizable=True, bencher_measure="cpu-per-wake-us"),
    Figure("lateness_p50", "lateness p50", "µs", "timed", "time", _lateness_value("p50"), _lateness_samples("p50"),
           gated=False, lateness=True, bencher_measure="lateness-p50-us"),
    Figure("lateness_p99", "lateness p99", "µs", "timed", "time", _lateness_value("p99"), _lateness_samples("p99"),
           gated=False, lateness=True, bencher_measure="lateness-p99-us"),
    Figure("instructions_switch", "instructions per switch", "instructions", "switch", "instructions",
           _instr_value, _instr_samples, gated=True, deterministic=True, bencher_measure="instructions-per-switch"),
    Figure("instructions_wake", "instructions per wake", "instructions", "virtual", "instructions",
           _instr_value, _instr_samples, gated=True, deterministic=True, bencher_measure="instructions-per-wake"),
)


def benchmark_name(run: RunRecord) -> str:
    """The pyperf-style name of a run's benchmark: ``switch/heapq``, ``timed/0.01/heapq``,
    ``instructions/switch/heapq``."""
    prefix = "instructions/" if run.instructions is not None else ""
    scale = f"{run.time_scale:g}/" if run.time_scale is not None else ""
    return f"{prefix}{run.mode}/{scale}{run.scheduler}"
