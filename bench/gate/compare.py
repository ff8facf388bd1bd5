"""Compare two results files figure by figure: the analysis behind ``python -m bench compare``.

Pure functions over loaded documents; formatting lives in ``bench.cli.compare_cmd``.

What is compared. Runs are paired by (mode, scheduler, time scale). For each pair whose
runs are both ``valid``, every figure that has one value per worker process on both
sides:

* switch mode: **switch cost**, the per-process means of seconds per resume
  (``switch.values_s``), shown in ns;
* timed mode: **CPU per wake** (``timed.cpu_per_wake_us_values``) and the lateness
  **p50** and **p99** of each process (``processes[i].lateness_us``), in µs.

The samples are the per-process values, not the individual pyperf values: values inside
one process share its memory layout, hash seed and neighbours, so they are not
independent; processes are. That makes samples small (8 against 8 switch processes, 4 against 4 timed ones, with
``--fast``).

Test. A two-sided Mann–Whitney U test on those samples (``bench.gate.stats``): rank-based,
so one process that ran while the machine was busy cannot swing it, and exact at small
n, so its p-values mean what they say. With 4 against 4 the smallest p is 2/70 ≈ 0.029:
a figure is significant at ``ALPHA`` = 0.05 only when every new value lies beyond every
base value. With 3 against 3 (min p = 0.1) nothing can be significant, and the output
says so. Welch's t-test was rejected because one outlying process out of four decides
it; a bootstrap was rejected because with four values it can only resample those four,
and its intervals are far too narrow.

Change. ``median(new) / median(base) - 1`` of the per-process values: a robust centre to
go with a rank test. (The summary tables show means; with well-behaved processes the two
agree closely.)

Verdicts, with threshold t (``--threshold``, default ``DEFAULT_THRESHOLD`` for switch cost
and CPU per wake; ``--lateness-threshold`` for lateness, see below):

* ``slower``: change ≥ +t and significant (p < ``ALPHA``) with new values ranking higher;
* ``faster``: change ≤ 1/(1+t) - 1 (the mirror ratio: -9.1 % for t = 10 %) and
  significant with new values ranking lower;
* ``no change``: a change inside those limits, significant or not: a difference smaller
  than the threshold is not worth a verdict, even when real;
* ``inconclusive``: a change beyond them but not significant (or the ranks disagree with the
  medians): the noise is as large as the change, so this comparison cannot tell. More
  processes (a bigger preset, ``--processes``) or a quieter machine would.

Why the threshold is large. The per-process values of one run are not independent of
the moment the run happened: a burst of load from other work on the machine moves all
four processes of a job together, and then the rank test sees a "complete separation"
that is not the code's doing. The test guards against noise *within* a run; only the
threshold guards against noise *between* runs, so it must be as large as the run-to-run
swings that A/A runs show (scripts/aa_check.py, docs/regressions.md). Pooling repeated
runs per side, interleaved (``compare A1,A2 B1,B2`` after running A, B, A, B), puts two
moments into each sample; more processes narrow the within-run spread.

Lateness is reported with a verdict but not gated by default: on a busy machine it moves
by several hundred per cent between A/A runs. ``--lateness-threshold`` turns gating on.

Gate (``Comparison.exit_code``): 1 when any gated figure is ``slower``, or when a run that is
valid in BASE is not valid in NEW (invalid, early, failed or skipped): a broken scheduler
is worse than a slow one. Otherwise 0: ``faster``, ``no change`` and ``inconclusive`` pass.
Runs that are not valid in BASE are never compared (their rows say why); a run present
in only one file is listed, not gated.

Refusals (``IncomparableResults``, exit 2 at the CLI): different workloads (rockets,
seed, modes, time scales, clock), since their figures measure different things; and
``--normalize floor`` when a file has no floor measurement.

``--normalize floor`` divides each file's switch cost and CPU per wake by that file's
floor (the cost of one bare generator ``send``, measured in the same run), so results
from machines of different speed compare as "× floor". Lateness is left in µs: it is set
by the kernel's timer slack and the clock, not by CPU speed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.gate import stats
from bench.results.store import run_key, section

#: Tuned with scripts/aa_check.py (docs/regressions.md): the smallest threshold at which
#: back-to-back A/A pairs of the quick suite, on a shared 2-core machine, failed the gate
#: in at most 1 of 10. A pessimistic figure: re-measure on the CI runner and lower it there.
DEFAULT_THRESHOLD = 0.75
#: Lateness is not gated unless asked for (``--lateness-threshold``): between back-to-back
#: A/A runs on the same busy machine it moved by up to +6,000 %, and even a +800 % threshold
#: failed a third of the A/A pairs. It measures when the kernel wakes the process, which
#: other load decides more than the scheduler does. Lateness rows still get a verdict.
DEFAULT_LATENESS_THRESHOLD: float | None = None
ALPHA = 0.05
NORMALIZATIONS = ("floor",)
VERDICTS = ("faster", "slower", "no change", "inconclusive")
TEST_NAME = "Mann–Whitney U, two-sided, on per-process values"

RunKey = tuple[str, str, float | None]


class IncomparableResults(Exception):
    """The two files cannot be compared; the message is one line saying why."""


@dataclass(frozen=True)
class FigureKind:
    key: str
    label: str
    unit: str
    normalizable: bool
    lateness: bool  # judged against the lateness threshold
    values: Callable[[dict[str, Any]], list[float]]  # from a run, in ``unit``


def _switch_values(run: dict[str, Any]) -> list[float]:
    sw = run.get("switch") or {}
    return [float(v) * 1e9 for v in sw.get("values_s") or []]


def _cpu_values(run: dict[str, Any]) -> list[float]:
    timed = run.get("timed") or {}
    return [float(v) for v in timed.get("cpu_per_wake_us_values") or []]


def _lateness(key: str) -> Callable[[dict[str, Any]], list[float]]:
    def values(run: dict[str, Any]) -> list[float]:
        out = []
        for process in run.get("processes") or []:
            late = process.get("lateness_us") or {}
            if late.get(key) is not None:
                out.append(float(late[key]))
        return out

    return values


FIGURES: dict[str, tuple[FigureKind, ...]] = {
    "switch": (FigureKind("switch", "switch cost", "ns", True, False, _switch_values),),
    "timed": (
        FigureKind("cpu_per_wake", "CPU per wake", "µs", True, False, _cpu_values),
        FigureKind("lateness_p50", "lateness p50", "µs", False, True, _lateness("p50")),
        FigureKind("lateness_p99", "lateness p99", "µs", False, True, _lateness("p99")),
    ),
}


@dataclass(frozen=True)
class FigureRow:
    """One figure of one run, compared."""

    mode: str
    scheduler: str
    time_scale: float | None
    figure: str  # FigureKind.key
    label: str
    unit: str  # "ns", "µs" or "× floor"
    base_values: tuple[float, ...]
    new_values: tuple[float, ...]
    base: float  # median of base_values
    new: float
    change: float  # new / base - 1
    test: stats.MannWhitney  # x = new, y = base
    threshold: float  # the one this figure was judged against
    verdict: str
    gated: bool = True  # False: shown, but a "slower" verdict does not fail the gate

    @property
    def significant(self) -> bool:
        return self.test.p_value < ALPHA


@dataclass(frozen=True)
class StatusRow:
    """A run that could not be compared figure by figure, and what that means."""

    mode: str
    scheduler: str
    time_scale: float | None
    base_status: str | None  # None: not in that file
    new_status: str | None
    reasons: str
    verdict: str  # "broken", "valid only in NEW", "not valid in either", "missing in NEW", "only in NEW"

    @property
    def fails_gate(self) -> bool:
        return self.verdict == "broken"


@dataclass(frozen=True)
class Comparison:
    base_name: str
    new_name: str
    threshold: float
    lateness_threshold: float | None  # None: lateness is not gated
    normalize: str | None
    figures: tuple[FigureRow, ...]
    statuses: tuple[StatusRow, ...]
    notes: tuple[str, ...]
    alpha: float = ALPHA
    test_name: str = TEST_NAME

    def with_verdict(self, verdict: str) -> list[FigureRow]:
        return [row for row in self.figures if row.verdict == verdict]

    @property
    def slower(self) -> list[FigureRow]:
        """The figures that fail the gate: significantly slower beyond their threshold, gated."""
        return [row for row in self.figures if row.verdict == "slower" and row.gated]

    @property
    def broken(self) -> list[StatusRow]:
        return [row for row in self.statuses if row.fails_gate]

    @property
    def exit_code(self) -> int:
        return 1 if self.slower or self.broken else 0


# ---- checks -----------------------------------------------------------------------
def workload_differences(base: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two files' workloads, as "name base vs new" phrases."""
    wb, wn = section(base)["workload"], section(new)["workload"]
    out = []
    if wb.get("rockets") != wn.get("rockets"):
        out.append(f"rockets {_fmt_int(wb.get('rockets'))} vs {_fmt_int(wn.get('rockets'))}")
    if wb.get("seed") != wn.get("seed"):
        out.append(f"seed {wb.get('seed')} vs {wn.get('seed')}")
    modes_b, modes_n = sorted(wb.get("modes") or []), sorted(wn.get("modes") or [])
    if modes_b != modes_n:
        out.append(f"modes {','.join(modes_b) or 'none'} vs {','.join(modes_n) or 'none'}")
    scales_b = sorted(float(s) for s in wb.get("time_scales") or [])
    scales_n = sorted(float(s) for s in wn.get("time_scales") or [])
    if scales_b != scales_n:
        out.append(f"time scales {_fmt_scales(scales_b)} vs {_fmt_scales(scales_n)}")
    if wb.get("clock", "real") != wn.get("clock", "real"):
        out.append(f"clock {wb.get('clock', 'real')} vs {wn.get('clock', 'real')}")
    return out


def check_comparable(base: dict[str, Any], new: dict[str, Any], base_name: str = "BASE",
                     new_name: str = "NEW") -> None:
    differences = workload_differences(base, new)
    if differences:
        raise IncomparableResults(
            f"cannot compare {base_name} with {new_name}: different workloads ({'; '.join(differences)}); "
            f"measure both with the same --rockets, --seed, --mode, --time-scale and --clock"
        )


def floor_seconds(document: dict[str, Any], name: str) -> float:
    floor = section(document).get("floor") or {}
    mean = floor.get("mean_s")
    if not isinstance(mean, int | float) or not math.isfinite(mean) or mean <= 0:
        raise IncomparableResults(
            f"{name} has no floor measurement (switch mode not run, or its floor job failed); "
            f"--normalize floor needs one in both files"
        )
    return float(mean)


# ---- pooling repeated runs ----------------------------------------------------------
#: Worst first wins when pooling: a run that failed in any file of a side failed.
_STATUS_RANK = {"valid": 0, "early": 1, "skipped": 2, "invalid": 3, "failed": 4}


def pool(documents: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """Several results files of one side (repeated runs of the same code) as one document.

    Each run's per-process values are concatenated across the files, so a side measured
    twice, interleaved with the other side (BASE, NEW, BASE, NEW), carries the noise of
    two separate moments in its sample instead of one: a burst of load on the machine
    during one run can no longer masquerade as a difference between the sides. A run's
    status is its worst across the files. Raises ``IncomparableResults`` when the files'
    workloads differ.
    """
    if len(documents) == 1:
        return documents[0]
    first = documents[0]
    for doc, name in zip(documents[1:], names[1:], strict=True):
        differences = workload_differences(first, doc)
        if differences:
            raise IncomparableResults(f"cannot pool {names[0]} with {name}: different workloads "
                                      f"({'; '.join(differences)})")
    groups: dict[RunKey, list[dict[str, Any]]] = {}
    for doc in documents:
        for run in section(doc)["runs"]:
            groups.setdefault(run_key(run), []).append(run)
    runs = [_pool_runs(group, len(documents)) for group in groups.values()]
    floors = [(section(d).get("floor") or {}).get("mean_s") for d in documents]
    merged = dict(section(first))
    merged["runs"] = runs
    merged["complete"] = all(section(d).get("complete", True) for d in documents)
    merged["pooled_files"] = len(documents)
    if all(isinstance(f, int | float) and f > 0 for f in floors):
        merged["floor"] = {**(section(first).get("floor") or {}),
                           "mean_s": sum(float(f) for f in floors if f is not None) / len(floors)}
    else:
        merged["floor"] = None
    return {**first, "schedbench": merged}


def _pool_runs(runs: Sequence[dict[str, Any]], files: int) -> dict[str, Any]:
    worst = max(runs, key=lambda r: _STATUS_RANK.get(r["status"], len(_STATUS_RANK)))
    out = dict(runs[0])
    out["status"] = worst["status"]
    out["reasons"] = list(worst.get("reasons") or [])
    if len(runs) < files:
        out["reasons"].append(f"present in {len(runs)} of {files} pooled files")
    out["processes"] = [p for r in runs for p in r.get("processes") or []]
    if all(r.get("switch") for r in runs):
        values = [float(v) for r in runs for v in r["switch"].get("values_s") or []]
        out["switch"] = {**runs[0]["switch"], "values_s": values,
                         "mean_s": sum(values) / len(values) if values else None}
    if all(r.get("timed") for r in runs):
        cpu = [float(v) for r in runs for v in r["timed"].get("cpu_per_wake_us_values") or []]
        out["timed"] = {**runs[0]["timed"], "cpu_per_wake_us_values": cpu}
    return out


# ---- comparing --------------------------------------------------------------------
def decide(change: float, test: stats.MannWhitney, threshold: float, alpha: float = ALPHA) -> str:
    """The verdict for one figure (see the module docstring); ``test`` has x = new.

    The threshold is symmetric in ratio: +t slower mirrors 1/(1+t) - 1 faster (+100 %
    slower mirrors -50 % faster), so swapping BASE and NEW swaps the verdicts.
    """
    faster_limit = 1.0 / (1.0 + threshold) - 1.0
    if math.isnan(change) or change == 0 or faster_limit < change < threshold:
        return "no change"
    if test.p_value >= alpha:
        return "inconclusive"
    center = test.n_x * test.n_y / 2
    if change > 0 and test.u > center:
        return "slower"
    if change < 0 and test.u < center:
        return "faster"
    return "inconclusive"  # significant, but ranks and medians point different ways


def compare_figure(mode: str, scheduler: str, time_scale: float | None, kind: FigureKind,
                   base_values: Sequence[float], new_values: Sequence[float], unit: str,
                   threshold: float, alpha: float = ALPHA, gated: bool = True) -> FigureRow:
    base_c, new_c = stats.median(base_values), stats.median(new_values)
    change = stats.relative_change(base_c, new_c)
    test = stats.mann_whitney_u(new_values, base_values)
    return FigureRow(mode, scheduler, time_scale, kind.key, kind.label, unit, tuple(base_values),
                     tuple(new_values), base_c, new_c, change, test, threshold,
                     decide(change, test, threshold, alpha), gated)


def compare_documents(base: dict[str, Any], new: dict[str, Any], *, threshold: float = DEFAULT_THRESHOLD,
                      lateness_threshold: float | None = DEFAULT_LATENESS_THRESHOLD, normalize: str | None = None,
                      base_name: str = "BASE", new_name: str = "NEW", alpha: float = ALPHA) -> Comparison:
    """Pair the runs of two loaded results documents and judge every shared figure.

    ``threshold`` applies to the cost figures (switch cost, CPU per wake),
    ``lateness_threshold`` to lateness p50/p99; when it is None, lateness rows are judged
    against ``threshold`` for display but never fail the gate.

    Raises ``IncomparableResults`` for different workloads or a missing floor.
    """
    if normalize is not None and normalize not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {normalize!r}")
    check_comparable(base, new, base_name, new_name)
    floors = (floor_seconds(base, base_name), floor_seconds(new, new_name)) if normalize == "floor" else None
    base_runs = {run_key(r): r for r in section(base)["runs"]}
    new_runs = {run_key(r): r for r in section(new)["runs"]}
    figures: list[FigureRow] = []
    statuses: list[StatusRow] = []
    keys = list(base_runs) + [k for k in new_runs if k not in base_runs]
    for key in sorted(keys, key=_order):
        mode, scheduler, scale = key
        b, n = base_runs.get(key), new_runs.get(key)
        status = _status_row(key, b, n)
        if status is not None:
            statuses.append(status)
            continue
        assert b is not None and n is not None
        for kind in FIGURES.get(mode, ()):
            bv, nv = kind.values(b), kind.values(n)
            if not bv or not nv:
                continue
            unit = kind.unit
            if floors is not None and kind.normalizable:
                scale_to_s = 1e-9 if kind.unit == "ns" else 1e-6
                bv = [v * scale_to_s / floors[0] for v in bv]
                nv = [v * scale_to_s / floors[1] for v in nv]
                unit = "× floor"
            gated = not kind.lateness or lateness_threshold is not None
            limit = lateness_threshold if kind.lateness and lateness_threshold is not None else threshold
            figures.append(compare_figure(mode, scheduler, scale, kind, bv, nv, unit, limit, alpha, gated))
    notes = _notes(base, new, "BASE", "NEW", figures, floors, alpha)
    return Comparison(base_name, new_name, threshold, lateness_threshold, normalize, tuple(figures),
                      tuple(statuses), tuple(notes), alpha)


def _status_row(key: RunKey, base: dict[str, Any] | None, new: dict[str, Any] | None) -> StatusRow | None:
    """None when both runs are valid (compare their figures); else the row saying why not."""
    mode, scheduler, scale = key
    bs = base["status"] if base is not None else None
    ns = new["status"] if new is not None else None
    if bs == "valid" and ns == "valid":
        return None
    if base is None:
        return StatusRow(mode, scheduler, scale, None, ns, _reasons(new), "only in NEW")
    if new is None:
        return StatusRow(mode, scheduler, scale, bs, None, "", "missing in NEW")
    if bs == "valid":
        return StatusRow(mode, scheduler, scale, bs, ns, _reasons(new), "broken")
    if ns == "valid":
        return StatusRow(mode, scheduler, scale, bs, ns, _reasons(base), "valid only in NEW")
    return StatusRow(mode, scheduler, scale, bs, ns, _reasons(new) or _reasons(base), "not valid in either")


def _reasons(run: dict[str, Any] | None) -> str:
    if run is None:
        return ""
    return "; ".join(str(r) for r in run.get("reasons") or [])


def _order(key: RunKey) -> tuple[int, float, str]:
    mode, scheduler, scale = key
    return (0 if mode == "switch" else 1, -(scale or 0.0), scheduler)


def _notes(base: dict[str, Any], new: dict[str, Any], base_name: str, new_name: str,
           figures: Sequence[FigureRow], floors: tuple[float, float] | None, alpha: float) -> list[str]:
    notes = []
    for doc, name in ((base, base_name), (new, new_name)):
        pooled = section(doc).get("pooled_files")
        if pooled:
            notes.append(f"{name} pools {pooled} results files: each run's per-process values are taken together")
        if not section(doc).get("complete", True):
            notes.append(f"{name} is incomplete (the run was interrupted): runs it lacks are listed, not compared")
    eb, en = section(base)["environment"], section(new)["environment"]
    machine_b = (eb.get("cpu_model"), eb.get("cpu_count"), eb.get("hostname"))
    machine_n = (en.get("cpu_model"), en.get("cpu_count"), en.get("hostname"))
    if machine_b != machine_n and floors is None:
        notes.append(f"{base_name} and {new_name} ran on different machines ({_machine(eb)} vs {_machine(en)}): "
                     f"absolute figures differ for that alone; --normalize floor compares them as × floor")
    if eb.get("python") != en.get("python"):
        notes.append(f"different Python versions: {eb.get('python')} vs {en.get('python')}")
    if floors is not None:
        notes.append(f"switch cost and CPU per wake in multiples of each file's floor ({base_name} "
                     f"{floors[0] * 1e9:.1f} ns, {new_name} {floors[1] * 1e9:.1f} ns per send); lateness in µs")
    weak = sorted({(r.test.n_y, r.test.n_x) for r in figures if stats.min_p_value(r.test.n_y, r.test.n_x) >= alpha})
    if weak:
        sizes = ", ".join(f"{b} vs {n}" for b, n in weak)
        notes.append(f"some figures have too few processes ({sizes}) to ever reach p < {alpha:g}: they can only be "
                     f"'no change' or 'inconclusive'; use more processes (--processes, a bigger preset)")
    return notes


def _machine(env: dict[str, Any]) -> str:
    return f"{env.get('cpu_model') or '?'}, {env.get('cpu_count') or '?'} CPUs, host {env.get('hostname') or '?'}"


def _fmt_int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _fmt_scales(scales: Sequence[float]) -> str:
    return ",".join(f"{s:g}" for s in scales) or "none"
