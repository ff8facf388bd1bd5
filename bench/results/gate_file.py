"""The paired gate's results file: every pair measured, both sides' identities, the verdicts.

A gate file is its own kind of results file (``"format": "schedbench-gate"``), not a suite
file with extra runs: its unit is a *pair* (one value of A and one of B measured side by
side), and a pair means nothing apart from its partner. Keeping every pair — not only the
interval — lets anyone recompute the statistics, pool several gate runs, or look at how
the noise moved during one.

Read and written like the suite's files: validated field by field at load (one line naming
the wrong field), written atomically, never merged (each gate run is a file of its own).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.results.fields import Fields, ResultsError
from bench.results.store import atomic_write, read_json

FORMAT_NAME: Final = "schedbench-gate"
FORMAT_VERSION: Final = 1

#: The figures a gate measures: name → (unit, what it is). The gated ones are set per run.
FIGURES: Final[Mapping[str, tuple[str, str]]] = {
    "switch_ns": ("ns", "switch time per resume"),
    "cpu_per_wake_us": ("µs", "CPU per wake (timed)"),
    "lateness_p50_us": ("µs", "lateness p50 (timed)"),
    "lateness_p99_us": ("µs", "lateness p99 (timed)"),
}
LEVELS: Final = ("process", "in-process")
VERDICTS: Final = ("regression", "improvement", "no change", "inconclusive")


@dataclass(frozen=True, kw_only=True)
class Side:
    """One side of the comparison, as the gate resolved it."""

    label: str  # "A" (base) or "B" (head)
    spec: str  # what was asked for: a ref, a directory, an interpreter
    root: str  # the tree whose files were measured
    python: str
    commit: str | None = None
    dirty: bool | None = None
    python_version: str | None = None
    loops: Mapping[str, str] = field(default_factory=dict)  # distribution → version

    @classmethod
    def from_json(cls, f: Fields) -> Side:
        loops = f.opt_obj("loops")
        return cls(label=f.text("label"), spec=f.text("spec"), root=f.text("root"), python=f.text("python"),
                   commit=f.opt_text("commit"), dirty=f.flag("dirty") if f.has("dirty") else None,
                   python_version=f.opt_text("python_version"),
                   loops={k: loops.text(k) for k in loops.data} if loops else {})


@dataclass(frozen=True, kw_only=True)
class PairedFigure:
    """One scheduler × figure: its pairs, the interval on their ratios and the verdict."""

    scheduler: str
    figure: str
    level: str
    level_reason: str
    gated: bool
    pairs: tuple[tuple[float, float], ...]
    min_effect: float
    estimate: float | None = None  # relative change of B over A (0.05: B is 5 % higher)
    low: float | None = None
    high: float | None = None
    confidence: float | None = None
    verdict: str = "inconclusive"
    note: str = ""

    @property
    def unit(self) -> str:
        return FIGURES[self.figure][0]

    @property
    def title(self) -> str:
        return FIGURES[self.figure][1]

    @property
    def regressed(self) -> bool:
        return self.gated and self.verdict == "regression"

    @classmethod
    def from_json(cls, f: Fields) -> PairedFigure:
        pairs = []
        for i, item in enumerate(f.items("pairs")):
            where = f"{f.at('pairs')}[{i}]"
            if not (isinstance(item, list) and len(item) == 2):
                raise ResultsError(f"{where}: expected [a, b]")
            pair = Fields({"a": item[0], "b": item[1]}, where)
            pairs.append((pair.num("a"), pair.num("b")))
        return cls(scheduler=f.text("scheduler"), figure=f.choice("figure", {k: k for k in FIGURES}),
                   level=f.choice("level", {k: k for k in LEVELS}), level_reason=f.opt_text("level_reason") or "",
                   gated=f.flag("gated"), pairs=tuple(pairs), min_effect=f.num("min_effect"),
                   estimate=f.opt_num("estimate"), low=f.opt_num("low"), high=f.opt_num("high"),
                   confidence=f.opt_num("confidence"), verdict=f.choice("verdict", {k: k for k in VERDICTS}),
                   note=f.opt_text("note") or "")


@dataclass(frozen=True, kw_only=True)
class Failure:
    """A side that could not be measured: the gate fails and names it."""

    side: str
    scheduler: str
    reason: str

    @classmethod
    def from_json(cls, f: Fields) -> Failure:
        return cls(side=f.text("side"), scheduler=f.text("scheduler"), reason=f.text("reason"))


@dataclass(frozen=True, kw_only=True)
class GateDocument:
    created_utc: str
    command: str
    complete: bool
    interrupted: bool
    same_sides: bool  # an A/A run: both sides resolved to the same tree and interpreter
    sides: tuple[Side, Side]
    workload: Mapping[str, Any]
    settings: Mapping[str, Any]
    environment: Mapping[str, Any]
    figures: tuple[PairedFigure, ...] = ()
    failures: tuple[Failure, ...] = ()
    elapsed_s: float = 0.0

    @property
    def passed(self) -> bool:
        """No failed side and no gated regression (inconclusive does not fail the gate)."""
        return not self.failures and not any(f.regressed for f in self.figures)

    @property
    def schedulers(self) -> list[str]:
        return list(dict.fromkeys(f.scheduler for f in self.figures))

    def to_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if hasattr(value, "__dataclass_fields__"):
                return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
            if isinstance(value, Mapping):
                return {str(k): plain(v) for k, v in value.items()}
            if isinstance(value, tuple | list):
                return [plain(v) for v in value]
            return value

        body = plain(self)
        return {"schedbench_gate": {"format": FORMAT_NAME, "version": FORMAT_VERSION, **body}}

    @classmethod
    def from_json(cls, document: object, where: str) -> GateDocument:
        try:
            if not isinstance(document, dict) or not isinstance(document.get("schedbench_gate"), dict):
                raise ResultsError("not a schedbench gate file (no 'schedbench_gate' section)")
            f = Fields(document["schedbench_gate"], "")
            if f.data.get("format") != FORMAT_NAME or f.data.get("version") != FORMAT_VERSION:
                raise ResultsError(f"gate file format {f.data.get('format')!r} version {f.data.get('version')!r} "
                                   f"is not supported; this schedbench reads {FORMAT_NAME} {FORMAT_VERSION}")
            sides = tuple(Side.from_json(s) for s in f.objs("sides"))
            if len(sides) != 2:
                raise ResultsError(f"sides: expected two, got {len(sides)}")
            return cls(created_utc=f.text("created_utc"), command=f.text("command"), complete=f.flag("complete"),
                       interrupted=f.flag("interrupted"), same_sides=f.flag("same_sides"),
                       sides=(sides[0], sides[1]), workload=dict(f.obj("workload").data),
                       settings=dict(f.obj("settings").data), environment=dict(f.obj("environment").data),
                       figures=tuple(PairedFigure.from_json(p) for p in f.objs("figures")),
                       failures=tuple(Failure.from_json(p) for p in f.objs("failures")),
                       elapsed_s=f.opt_num("elapsed_s") or 0.0)
        except ResultsError as exc:
            raise ResultsError(f"{where}: {exc}") from None


#: Where ``make bench-gate`` writes the last gate, beside the suite's results file.
GATE_FILE: Final = "gate.json"


def gate_beside(results: Path) -> tuple[Path, GateDocument] | None:
    """The gate file beside ``results`` (``make bench-gate`` writes ``results/gate.json``),
    or None: absent or unreadable. It gives the verdict's last sentence in ``show`` and on
    the page; a bad gate file costs that sentence, never the rest."""
    path = results.parent / GATE_FILE
    try:
        raw = read_json(path)
        return (path, GateDocument.from_json(raw, str(path))) if is_gate_file(raw) else None
    except (ResultsError, OSError):
        return None


def is_gate_file(document: object) -> bool:
    return isinstance(document, dict) and "schedbench_gate" in document


def load_gate(path: str | Path) -> GateDocument:
    p = Path(path)
    return GateDocument.from_json(read_json(p), str(p))


def dump_gate(path: Path, document: GateDocument) -> None:
    atomic_write(path, json.dumps(document.to_json(), sort_keys=True, allow_nan=False) + "\n")
