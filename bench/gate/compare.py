"""Compare two results files figure by figure: the analysis behind ``python -m bench compare``.

Pure functions over loaded documents, with the reasoning for each choice beside it;
formatting lives in ``bench.cli.compare_cmd``.

What is compared. Runs are paired by (mode, scheduler, time scale). For each pair whose
runs are both ``valid``, every figure that has one value per worker process on both
sides:

* switch mode: **switch cost**, the per-process means of seconds per resume
  (``switch.values_s``), shown in ns;
* timed mode: **CPU per wake** (``timed.cpu_per_wake_us_values``) and the lateness
  **p50** and **p99** of each process (``processes[i].lateness_us``), in µs.

The samples are the per-process values, not the individual pyperf values: values inside
one process share its memory layout, hash seed and neighbours, so they are not
independent; processes are. That makes samples small: a side has one value per worker
process of the job, times the number of files pooled on that side, and the process
count is the preset's for that kind of job and time scale (``bench.measure.presets``),
or ``--processes``. Timed jobs get fewer processes than switch jobs, and the long ones
(time scale 1) the fewest.

Test. A two-sided Mann–Whitney U test on those samples (``bench.gate.stats``): rank-based,
so one process that ran while the machine was busy cannot swing it, and exact at small
n, so its p-values mean what they say. The sample sizes bound what it can see: with 4
against 4 the smallest p is 2/70 ≈ 0.029, so a figure is significant at ``ALPHA`` = 0.05
only when every new value lies beyond every base value; with 3 against 3 (smallest p =
0.1) nothing can be significant, and the output says so (``stats.min_p_value``).
Welch's t-test was rejected because one outlying process in a handful decides it; a
bootstrap was rejected because with a handful of values it can only resample those, and
its intervals are far too narrow.

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
the processes of a job together, and then the rank test sees a "complete separation"
that is not the code's doing. The test guards against noise *within* a run; only the
threshold guards against noise *between* runs, so it must be as large as the run-to-run
swings that A/A runs show (``scripts/gate_check.py``, docs/regressions.md). Pooling
repeated runs per side, interleaved (``compare A1,A2 B1,B2`` after running A, B, B, A),
puts two moments into each sample; more processes narrow the within-run spread.

Lateness is reported with a verdict but not gated by default: on a busy machine it moves
by several hundred per cent between A/A runs. ``--lateness-threshold`` turns gating on.

Gate (``Comparison.exit_code``): 1 when any gated figure is ``slower``, or when a run that is
valid in BASE is not valid in NEW (invalid, early, suspect, failed or skipped): a broken
scheduler is worse than a slow one. Otherwise 0: ``faster``, ``no change`` and ``inconclusive`` pass.
Runs that are not valid in BASE are never compared (their rows say why); a run present
in only one file is listed, not gated.

Instruction counts (``instructions/…`` figures, Valgrind) are deterministic: the same
code gives the same count, so they need no significance test. A change beyond
``--instr-threshold`` (default 1 %), widened by the larger drift either side measured for
that scheduler over its repeats, is ``slower``/``faster``; anything else is ``no change``.

Syscall counts (``run --measure syscalls``, strace) are compared name by name with no test
either: exactly for every name ``bench.results.syscall_kinds`` gates (any change in the
calls of one run is ``slower``/``faster``), report-only for the allocator's and the
timing-dependent ones (``bench.gate.syscall_compare``).

Refusals (``IncomparableResults``, exit 2 at the CLI): different workloads (rockets,
seed, measure, modes, time scales, clock, interpreter flags), on the two sides or among
the files pooled into one side, since their figures measure different things;
``--normalize floor`` when a file has no floor measurement; and nothing comparable (no
run in common: disjoint schedulers, or an empty side). A side that is incomplete (its
run was interrupted) is named in the verdict: runs it lacks are listed as missing, and a
run valid in BASE but missing in an incomplete NEW fails the gate, so an interrupted
``make baseline`` or ``make bench-check`` cannot silently disarm it.

``--normalize floor`` divides each file's switch cost and CPU per wake by that file's
floor (the cost of one bare generator ``send``, measured in the same run), so results
from machines of different speed compare as "× floor". Lateness is left in µs: it is set
by the kernel's timer slack and the clock, not by CPU speed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bench.gate import stats
from bench.gate.syscall_compare import UNIT as SYSCALL_UNIT
from bench.gate.syscall_compare import syscall_changes
from bench.results.figures import FIGURES, Figure
from bench.results.model import Document, RunRecord, Sample, Status, TimedFigures

#: Wall time: the smallest threshold at which interleaved, pooled A/A comparisons (A B B A,
#: ``compare A1,A2 B1,B2``) of the quick suite failed the gate in at most 1 trial in 10 on the
#: development VM: 2 of 20 at 50 %, 3 of 20 at 5–20 %, 0 of 20 at 75 % (scripts/gate_check.py,
#: docs/regressions.md). That machine's per-process values are bimodal (±40 % between pooled
#: A/A medians), so this gate only sees large slowdowns; the exact gate is instruction counts
#: (``DEFAULT_INSTR_THRESHOLD``). Re-measure on your CI runner and lower it there.
DEFAULT_THRESHOLD = 0.50
#: Instruction counts move only when the code does: 1 % is far above the drift of every
#: deterministic scheduler and below any change worth a review.
DEFAULT_INSTR_THRESHOLD = 0.01
#: Lateness is not gated unless asked for (``--lateness-threshold``): between back-to-back
#: A/A runs on the same busy machine it moved by up to +6,000 %. It measures when the kernel
#: wakes the process, which other load decides more than the scheduler does.
DEFAULT_LATENESS_THRESHOLD: float | None = None
ALPHA = 0.05
NORMALIZATIONS = ("floor",)
VERDICTS = ("faster", "slower", "no change", "inconclusive")
TEST_NAME = "Mann–Whitney U, two-sided, on per-process values"

RunKey = tuple[str, str, float | None]


class IncomparableResults(Exception):
    """The two files cannot be compared; the message is one line saying why."""


@dataclass(frozen=True)
class FigureRow:
    """One figure of one run, compared."""

    mode: str
    scheduler: str
    time_scale: float | None
    figure: str  # Figure.key
    label: str
    unit: str  # "ns", "µs", "instructions" or "× floor"
    base_values: tuple[float, ...]
    new_values: tuple[float, ...]
    base: float  # median of base_values
    new: float
    change: float  # new / base - 1
    test: stats.MannWhitney | None  # x = new, y = base; None for deterministic figures
    threshold: float  # the one this figure was judged against
    verdict: str
    gated: bool = True  # False: shown, but a "slower" verdict does not fail the gate

    @property
    def significant(self) -> bool:
        return self.test is None or self.test.p_value < ALPHA


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
    instr_threshold: float = DEFAULT_INSTR_THRESHOLD
    measure: str = "time"  # the files' measure: time, instructions or syscalls

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
def workload_differences(base: Document, new: Document) -> list[str]:
    """What differs between two files' workloads, as "name base vs new" phrases."""
    wb, wn = base.workload, new.workload
    out = []
    if wb.rockets != wn.rockets:
        out.append(f"rockets {wb.rockets:,} vs {wn.rockets:,}")
    if wb.seed != wn.seed:
        out.append(f"seed {wb.seed} vs {wn.seed}")
    if wb.measure != wn.measure:
        out.append(f"measure {wb.measure} vs {wn.measure}")
    if sorted(wb.modes) != sorted(wn.modes):
        out.append(f"modes {','.join(sorted(wb.modes)) or 'none'} vs {','.join(sorted(wn.modes)) or 'none'}")
    if sorted(wb.time_scales) != sorted(wn.time_scales):
        out.append(f"time scales {_fmt_scales(sorted(wb.time_scales))} vs {_fmt_scales(sorted(wn.time_scales))}")
    if wb.clock != wn.clock:
        out.append(f"clock {wb.clock} vs {wn.clock}")
    if base.environment.python_flags != new.environment.python_flags:
        out.append(f"interpreter flags {' '.join(base.environment.python_flags) or 'none'} vs "
                   f"{' '.join(new.environment.python_flags) or 'none'}")
    return out


def check_comparable(base: Document, new: Document, base_name: str = "BASE", new_name: str = "NEW") -> None:
    differences = workload_differences(base, new)
    if differences:
        raise IncomparableResults(
            f"cannot compare {base_name} with {new_name}: different workloads ({'; '.join(differences)}); "
            f"measure both with the same --rockets, --seed, --measure, --mode, --time-scale and --clock"
        )


def floor_seconds(document: Document, name: str) -> float:
    if document.floor is None or document.floor.mean_s <= 0:
        raise IncomparableResults(
            f"{name} has no floor measurement (switch mode not run, or its floor job failed); "
            f"--normalize floor needs one in both files"
        )
    return document.floor.mean_s


# ---- pooling repeated runs ----------------------------------------------------------
def pool(documents: Sequence[Document], names: Sequence[str]) -> Document:
    """Several results files of one side (repeated runs of the same code) as one document.

    Each run's per-process values are concatenated across the files, so a side measured
    twice, interleaved with the other side (A B B A), carries the noise of two separate
    moments in its sample instead of one: a burst of load during one run can no longer
    masquerade as a difference between the sides. A run's status is its worst across the
    files. Raises ``IncomparableResults`` when the files' workloads differ.
    """
    if len(documents) == 1:
        return documents[0]
    first = documents[0]
    for doc, name in zip(documents[1:], names[1:], strict=True):
        differences = workload_differences(first, doc)
        if differences:
            raise IncomparableResults(f"cannot pool {names[0]} with {name}: different workloads "
                                      f"({'; '.join(differences)})")
    groups: dict[RunKey, list[RunRecord]] = {}
    for doc in documents:
        for run in doc.runs:
            groups.setdefault(run.key, []).append(run)
    runs = tuple(_pool_runs(group, len(documents)) for group in groups.values())
    floors = [d.floor for d in documents]
    floor = None
    if all(f is not None for f in floors):
        means = [f.mean_s for f in floors if f is not None]
        floor = replace(floors[0], mean_s=sum(means) / len(means))  # type: ignore[type-var]
    return replace(first, runs=runs, complete=all(d.complete for d in documents), floor=floor,
                   command=f"{len(documents)} pooled files")


def _pool_runs(runs: Sequence[RunRecord], files: int) -> RunRecord:
    worst = max(runs, key=lambda r: r.status.severity)
    reasons = list(worst.reasons)
    if len(runs) < files:
        reasons.append(f"present in {len(runs)} of {files} pooled files")
    pooled = replace(runs[0], status=worst.status, reasons=tuple(reasons),
                     processes=tuple(p for r in runs for p in r.processes))
    switches = [r.switch for r in runs]
    if all(isinstance(s, Sample) for s in switches):
        values = tuple(v for s in switches if s is not None for v in s.values_s)
        pooled = replace(pooled, switch=replace(switches[0], values_s=values,  # type: ignore[type-var]
                                                mean_s=sum(values) / len(values)))
    timed = [r.timed for r in runs]
    if all(isinstance(t, TimedFigures) for t in timed):
        cpu = tuple(v for t in timed if t is not None for v in t.cpu_per_wake_us_values)
        pooled = replace(pooled, timed=replace(timed[0], cpu_per_wake_us_values=cpu))  # type: ignore[type-var]
    instr = [r.instructions for r in runs]
    if all(i is not None for i in instr):
        values = tuple(v for i in instr if i is not None for v in i.values)
        pooled = replace(pooled, instructions=replace(instr[0], values=values,  # type: ignore[type-var]
                                                      drift=max(i.drift for i in instr if i is not None)))
    calls = [r.syscalls for r in runs]
    if all(c is not None for c in calls):  # every counted process of every file: one sample each
        pooled = replace(pooled, syscalls=replace(calls[0], counts=tuple(  # type: ignore[type-var]
            repeat for c in calls if c is not None for repeat in c.counts)))
    return pooled


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


def decide_exact(change: float, threshold: float) -> str:
    """The verdict for a deterministic figure: the change itself decides, no test."""
    if math.isnan(change) or 1.0 / (1.0 + threshold) - 1.0 < change < threshold:
        return "no change"
    return "slower" if change > 0 else "faster"


def compare_figure(run: RunRecord, figure: Figure, base_values: Sequence[float], new_values: Sequence[float],
                   unit: str, threshold: float, alpha: float = ALPHA, gated: bool = True) -> FigureRow:
    base_c, new_c = stats.median(base_values), stats.median(new_values)
    change = stats.relative_change(base_c, new_c)
    if figure.deterministic:
        test, verdict = None, decide_exact(change, threshold)
    else:
        test = stats.mann_whitney_u(new_values, base_values)
        verdict = decide(change, test, threshold, alpha)
    return FigureRow(run.mode, run.scheduler, run.time_scale, figure.key, figure.label, unit, tuple(base_values),
                     tuple(new_values), base_c, new_c, change, test, threshold, verdict, gated)


def compare_documents(base: Document, new: Document, *, threshold: float = DEFAULT_THRESHOLD,
                      lateness_threshold: float | None = DEFAULT_LATENESS_THRESHOLD, normalize: str | None = None,
                      instr_threshold: float = DEFAULT_INSTR_THRESHOLD,
                      base_name: str = "BASE", new_name: str = "NEW", alpha: float = ALPHA) -> Comparison:
    """Pair the runs of two loaded results documents and judge every shared figure.

    ``threshold`` applies to wall-time cost figures (switch cost, CPU per wake),
    ``instr_threshold`` (plus measured drift) to instruction counts, ``lateness_threshold``
    to lateness p50/p99; when it is None, lateness rows are judged against ``threshold``
    for display but never fail the gate.

    Raises ``IncomparableResults`` for different workloads, a missing floor, or nothing
    in common to compare.
    """
    if normalize is not None and normalize not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {normalize!r}")
    check_comparable(base, new, base_name, new_name)
    floors = (floor_seconds(base, base_name), floor_seconds(new, new_name)) if normalize == "floor" else None
    base_runs = {r.key: r for r in base.runs}
    new_runs = {r.key: r for r in new.runs}
    if not base_runs or not new_runs:
        empty = base_name if not base_runs else new_name
        raise IncomparableResults(f"nothing to compare: {empty} holds no runs")
    if not set(base_runs) & set(new_runs):
        raise IncomparableResults(f"nothing to compare: {base_name} and {new_name} share no run (schedulers "
                                  f"{', '.join(base.schedulers)} vs {', '.join(new.schedulers)})")
    figures: list[FigureRow] = []
    statuses: list[StatusRow] = []
    keys = list(base_runs) + [k for k in new_runs if k not in base_runs]
    for key in sorted(keys, key=_order):
        b, n = base_runs.get(key), new_runs.get(key)
        status = _status_row(key, b, n, new.complete)
        if status is not None:
            statuses.append(status)
            continue
        assert b is not None and n is not None
        for figure in FIGURES:
            if not (figure.applies(b) and figure.applies(n)):
                continue
            bv, nv = figure.samples(b), figure.samples(n)
            if not bv or not nv:
                continue
            unit = figure.unit
            if floors is not None and figure.normalizable:
                scale_to_s = 1e-9 if figure.unit == "ns" else 1e-6
                bv = tuple(v * scale_to_s / floors[0] for v in bv)
                nv = tuple(v * scale_to_s / floors[1] for v in nv)
                unit = "× floor"
            gated = not figure.lateness or lateness_threshold is not None
            if figure.deterministic:
                drift = max(i.drift for i in (b.instructions, n.instructions) if i is not None)
                limit = instr_threshold + drift
            elif figure.lateness and lateness_threshold is not None:
                limit = lateness_threshold
            else:
                limit = threshold
            figures.append(compare_figure(n, figure, bv, nv, unit, limit, alpha, gated))
        if b.syscalls is not None and n.syscalls is not None:  # exact per name (bench.gate.syscall_compare)
            figures += [FigureRow(n.mode, n.scheduler, n.time_scale, c.key, c.label, SYSCALL_UNIT, c.base_values,
                                  c.new_values, c.base, c.new, c.change, None, 0.0, c.verdict, c.gated)
                        for c in syscall_changes(n.scheduler, n.mode, b.syscalls, n.syscalls)]
    notes = _notes(base, new, "BASE", "NEW", figures, floors, alpha)
    return Comparison(base_name, new_name, threshold, lateness_threshold, normalize, tuple(figures),
                      tuple(statuses), tuple(notes), alpha, TEST_NAME, instr_threshold, base.workload.measure)


def _status_row(key: RunKey, base: RunRecord | None, new: RunRecord | None, new_complete: bool) -> StatusRow | None:
    """None when both runs are valid (compare their figures); else the row saying why not."""
    mode, scheduler, scale = key
    bs = base.status.value if base is not None else None
    ns = new.status.value if new is not None else None
    if bs == Status.VALID.value and ns == Status.VALID.value:
        return None
    if base is None:
        return StatusRow(mode, scheduler, scale, None, ns, new.note if new else "", "only in NEW")
    if new is None:
        if bs == Status.VALID.value and not new_complete:
            # An interrupted NEW must not pass the gate by measuring less.
            return StatusRow(mode, scheduler, scale, bs, None, "NEW was interrupted before this run", "broken")
        return StatusRow(mode, scheduler, scale, bs, None, "", "missing in NEW")
    if bs == Status.VALID.value:
        return StatusRow(mode, scheduler, scale, bs, ns, new.note, "broken")
    if ns == Status.VALID.value:
        return StatusRow(mode, scheduler, scale, bs, ns, base.note, "valid only in NEW")
    return StatusRow(mode, scheduler, scale, bs, ns, new.note or base.note, "not valid in either")


def _order(key: RunKey) -> tuple[int, float, str]:
    mode, scheduler, scale = key
    return ({"switch": 0, "virtual": 1}.get(mode, 2), -(scale or 0.0), scheduler)


def _notes(base: Document, new: Document, base_name: str, new_name: str,
           figures: Sequence[FigureRow], floors: tuple[float, float] | None, alpha: float) -> list[str]:
    notes = []
    for doc, name in ((base, base_name), (new, new_name)):
        if doc.command.endswith("pooled files"):
            notes.append(f"{name} pools {doc.command.split()[0]} results files: each run's per-process values "
                         "are taken together")
        if not doc.complete:
            notes.append(f"{name} is INCOMPLETE (its run was interrupted): runs it lacks are listed"
                         + (", and a run valid in BASE but missing here fails the gate" if name == new_name else ""))
    eb, en = base.environment, new.environment
    if (eb.cpu_model, eb.cpu_count, eb.hostname) != (en.cpu_model, en.cpu_count, en.hostname) and floors is None \
            and base.workload.measure == "time":
        notes.append(f"{base_name} and {new_name} ran on different machines ({_machine(base)} vs {_machine(new)}): "
                     f"absolute figures differ for that alone; --normalize floor compares them as × floor")
    if eb.python != en.python:
        notes.append(f"different Python versions: {eb.python} vs {en.python}")
    if floors is not None:
        notes.append(f"switch cost and CPU per wake in multiples of each file's floor ({base_name} "
                     f"{floors[0] * 1e9:.1f} ns, {new_name} {floors[1] * 1e9:.1f} ns per send); lateness in µs")
    weak = sorted({(r.test.n_y, r.test.n_x) for r in figures
                   if r.test is not None and stats.min_p_value(r.test.n_y, r.test.n_x) >= alpha})
    if weak:
        sizes = ", ".join(f"{b} vs {n}" for b, n in weak)
        notes.append(f"some figures have too few processes ({sizes}) to ever reach p < {alpha:g}: they can only be "
                     f"'no change' or 'inconclusive'; use more processes (--processes, a bigger preset)")
    return notes


def _machine(doc: Document) -> str:
    env = doc.environment
    return f"{env.cpu_model}, {env.cpu_count or '?'} CPUs, host {env.hostname or '?'}"


def _fmt_scales(scales: Sequence[float]) -> str:
    return ",".join(f"{s:g}" for s in scales) or "none"
