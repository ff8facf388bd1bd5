"""The paired gate: A and B measured side by side, pair after pair, until the answer is clear.

Why pairs: on a shared machine the speed drifts by more than the changes worth catching,
on a timescale of seconds. Two separate runs (or blocks A B B A) compare two different
moments of the machine; a pair compares A and B within the same moment, so the drift
cancels in the ratio B/A and what is left is the change plus short-term noise.

Two levels, chosen per scheduler and said why:

* **in-process** (default where sound): one child process loads both sides' scheduler
  modules (``bench.measure.side_loader``) and runs A and B alternately on the same workload
  object, the order drawn afresh every round; a pair is one round. The tightest pairing
  there is: the two runs are tens of milliseconds apart and share the process's memory
  layout. Sound only when the sides differ in nothing but ``schedulers/`` and share the
  interpreter (``sides.level_blockers``), and for loops without process-global state.
* **process**: child processes alternate A, B (the order within each pair drawn at random),
  each process running its own side's harness on its own interpreter; a pair is the two
  processes' medians. Coarser (seconds apart, different layouts), but it measures whatever
  differs between the sides.

Each chunk of pairs is followed by a look (``bench.gate.paired_stats``): the gate stops a
scheduler's figure once the interval decides it, or when the planned looks or the time
budget run out (then *inconclusive*). The interval at each look is Bonferroni-adjusted for
the planned number of looks, so stopping early does not inflate the error rate.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench.gate.paired_stats import Interval, SequentialPlan, Verdict, paired_interval, verdict
from bench.gate.sides import ResolvedSide
from bench.measure import isolate
from bench.results.gate_file import PairedFigure

MODE_FIGURES: Final = {"switch": ("switch_ns",), "timed": ("cpu_per_wake_us", "lateness_p50_us", "lateness_p99_us")}
REPORTED_ONLY: Final = frozenset({"lateness_p99_us"})
LATENESS_FIGURES: Final = frozenset({"lateness_p50_us", "lateness_p99_us"})
#: A child's start (interpreter, harness and loop imports), generously: a slow CI machine.
STARTUP_ALLOWANCE_S: Final = 60.0


def min_effect(settings: GateSettings, figure: str, level: str) -> float:
    """The minimal effect that applies: lateness has its own, the rest the level's."""
    return settings.min_effect["lateness" if figure in LATENESS_FIGURES else level]


@dataclass(frozen=True, kw_only=True)
class Chunking:
    """How one level gathers pairs for one mode: runs per child, pairs per look, looks."""

    rounds: int  # in-process: rounds per child (= pairs); process: runs per child (median)
    warmup_rounds: int
    plan: SequentialPlan  # looks counted in pairs


#: The default chunking per (level, mode); see docs/regressions.md for how it was chosen.
CHUNKING: Final[dict[tuple[str, str], Chunking]] = {
    ("in-process", "switch"): Chunking(rounds=35, warmup_rounds=2, plan=SequentialPlan(first_look=70, step=210,
                                                                                        max_looks=4)),
    ("in-process", "timed"): Chunking(rounds=10, warmup_rounds=1, plan=SequentialPlan(first_look=20, step=20,
                                                                                       max_looks=3)),
    ("process", "switch"): Chunking(rounds=15, warmup_rounds=2, plan=SequentialPlan(first_look=20, step=20,
                                                                                     max_looks=3)),
    ("process", "timed"): Chunking(rounds=3, warmup_rounds=1, plan=SequentialPlan(first_look=6, step=6,
                                                                                   max_looks=3)),
}


@dataclass(frozen=True, kw_only=True)
class GateSettings:
    schedulers: Sequence[str]
    modes: Sequence[str]
    rockets: int
    seed: int
    time_scale: float
    level: str | None  # forced level, or None: in-process where sound
    min_effect: dict[str, float]  # "process", "in-process", "lateness"
    budget_s: float  # per scheduler
    run_limit_s: float
    memory_limit_mb: int
    order_seed: int


class SideRunFailed(Exception):
    def __init__(self, side: str, reason: str) -> None:
        super().__init__(reason)
        self.side = side


class InProcessRefused(Exception):
    """The scheduler cannot share a process with its other version (process-global state)."""


def _request(settings: GateSettings, side_params: list[dict[str, Any]], mode: str, chunk: Chunking,
             python: str, root: Path, order_seed: int) -> isolate.Request:
    run_s = settings.run_limit_s
    runs = (chunk.rounds + chunk.warmup_rounds) * len(side_params)
    return isolate.Request(
        handler="paired-rounds", python=python, root=root, memory_limit_mb=settings.memory_limit_mb,
        limit_s=STARTUP_ALLOWANCE_S + runs * run_s, idle_limit_s=STARTUP_ALLOWANCE_S + 2 * run_s,
        params={"sides": side_params, "mode": mode, "rockets": settings.rockets, "seed": settings.seed,
                "time_scale": settings.time_scale, "rounds": chunk.rounds, "warmup_rounds": chunk.warmup_rounds,
                "order_seed": order_seed})


def _child(request: isolate.Request, workdir: Path, side_label: str) -> list[dict[str, Any]]:
    report = isolate.run(request, workdir / f"{time.monotonic_ns()}")
    if not report.reported or not isinstance(report.result, dict):
        raise SideRunFailed(side_label, report.reason or "the child sent a malformed result")
    if "refused" in report.result:
        raise InProcessRefused(str(report.result["refused"]))
    if "failed" in report.result:
        message = str(report.result["failed"])
        side = message.split(":", 1)[0].removeprefix("side ").strip() if message.startswith("side ") else side_label
        raise SideRunFailed(side, message)
    rounds = report.result.get("rounds")
    if not isinstance(rounds, list):
        raise SideRunFailed(side_label, "the child sent no rounds")
    return rounds


class PairSource:
    """Where one scheduler's pairs for one mode come from, chunk by chunk."""

    def __init__(self, settings: GateSettings, a: ResolvedSide, b: ResolvedSide, scheduler: str, mode: str,
                 level: str, workdir: Path, rng: random.Random) -> None:
        self.settings, self.a, self.b, self.scheduler, self.mode = settings, a, b, scheduler, mode
        self.level, self.workdir, self.rng = level, workdir, rng
        self.chunk = CHUNKING[(level, mode)]

    def _side(self, side: ResolvedSide) -> dict[str, Any]:
        return {"label": side.label, "name": self.scheduler, "root": str(side.root)}

    def more(self, pairs_wanted: int) -> list[tuple[dict[str, float], dict[str, float]]]:
        """At least ``pairs_wanted`` more pairs of figure dictionaries (A's, B's)."""
        out: list[tuple[dict[str, float], dict[str, float]]] = []
        while len(out) < pairs_wanted:
            if self.level == "in-process":
                request = _request(self.settings, [self._side(self.a), self._side(self.b)], self.mode, self.chunk,
                                   self.b.python, self.b.root, self.rng.randrange(2**31))
                for r in _child(request, self.workdir, "A and B"):
                    out.append((r["values"]["A"], r["values"]["B"]))
            else:
                order = [self.a, self.b]
                self.rng.shuffle(order)
                medians: dict[str, dict[str, float]] = {}
                for side in order:
                    request = _request(self.settings, [self._side(side)], self.mode, self.chunk, side.python,
                                       side.root, self.rng.randrange(2**31))
                    rounds = _child(request, self.workdir, side.label)
                    names = rounds[0]["values"][side.label].keys()
                    medians[side.label] = {n: statistics.median(r["values"][side.label][n] for r in rounds)
                                           for n in names}
                out.append((medians["A"], medians["B"]))
        return out


def _figure(settings: GateSettings, scheduler: str, name: str, level: str, reason: str,
            pairs: list[tuple[float, float]], interval: Interval | None, decided: Verdict | None,
            note: str = "") -> PairedFigure:
    m = min_effect(settings, name, level)
    return PairedFigure(scheduler=scheduler, figure=name, level=level, level_reason=reason,
                        gated=name not in REPORTED_ONLY, pairs=tuple(pairs), min_effect=m,
                        estimate=interval.estimate if interval else None, low=interval.low if interval else None,
                        high=interval.high if interval else None, confidence=interval.confidence if interval else None,
                        verdict=(decided or Verdict.INCONCLUSIVE).value, note=note)


def gate_mode(settings: GateSettings, a: ResolvedSide, b: ResolvedSide, scheduler: str, mode: str,
              level: str, reason: str, workdir: Path, rng: random.Random, deadline: float,
              on_look: Callable[[str], None],
              raw: list[tuple[dict[str, float], dict[str, float]]] | None = None) -> list[PairedFigure]:
    """One scheduler in one mode: pairs until every gated figure is decided or time is up.

    ``raw`` receives the pairs as they arrive, so an interrupted gate can keep them."""
    source = PairSource(settings, a, b, scheduler, mode, level, workdir, rng)
    plan = source.chunk.plan
    names = MODE_FIGURES[mode]
    raw = [] if raw is None else raw
    results: dict[str, tuple[Interval | None, Verdict | None]] = {}
    for size in plan.look_sizes():
        raw.extend(source.more(size - len(raw)))
        done = True
        for name in names:
            pa = [p[0][name] for p in raw]
            pb = [p[1][name] for p in raw]
            m = min_effect(settings, name, level)
            if name in REPORTED_ONLY:
                results[name] = (paired_interval(pa, pb, plan.per_look_confidence), None)
                continue
            interval, decided, stop = plan.decide(pa, pb, m)
            results[name] = (interval, decided)
            done = done and stop
        on_look(", ".join(f"{n} {_short(results[n][0])} {(results[n][1] or Verdict.INCONCLUSIVE).value}"
                          for n in names if n not in REPORTED_ONLY) + f" ({len(raw)} pairs)")
        if done or time.monotonic() > deadline:
            break
    out = []
    for name in names:
        last, said = results[name]
        final: Verdict
        if name in REPORTED_ONLY:
            final = verdict(last, min_effect(settings, name, level)) if last else Verdict.INCONCLUSIVE
        else:
            final = said or Verdict.INCONCLUSIVE
        pairs = [(p[0][name], p[1][name]) for p in raw]
        out.append(_figure(settings, scheduler, name, level, reason, pairs, last, final))
    return out


def unfinished(settings: GateSettings, scheduler: str, mode: str, level: str, reason: str,
               raw: list[tuple[dict[str, float], dict[str, float]]]) -> list[PairedFigure]:
    """The pairs of an interrupted scheduler, kept with no verdict (inconclusive)."""
    return [_figure(settings, scheduler, name, level, reason, [(p[0][name], p[1][name]) for p in raw], None, None,
                    note="interrupted before a verdict") for name in MODE_FIGURES[mode]]


def _short(interval: Interval | None) -> str:
    if interval is None:
        return "?"
    return f"{interval.estimate:+.1%} [{interval.low:+.1%}, {interval.high:+.1%}]"
