"""The verdict: one sentence per question, first on the page and at the top of ``show``.

Each sentence names the winner among the production loops (every loop when the file
records no family), its margin over the runner-up and whether that margin is beyond the
noise, then where this project's loop stands. The rules are the tables' own
(``table_parts.tied``, ``noise.within``, ``families.place_among``), so a sentence and the
table under it cannot disagree.

Trade-off: a verdict per question rather than one overall winner. A loop that switches
cheaply can keep poor timers; folding the questions into one score would hide exactly the
trade-off a reader is choosing on. The timer questions are answered at the lightest load
measured (the largest time scale), the one closest to a service's normal day; the tables
give the other scales.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.present import families, noise, units
from bench.present.table_parts import tied
from bench.results.model import Document, RunRecord, Status

Key = Callable[[RunRecord], float | None]


@dataclass(frozen=True)
class Verdict:
    question: str  # a short id: switch, timers, cpu, sockets, echo, gate
    text: str


def ordinal(place: str) -> str:
    """``1`` → ``1st``, ``≈2`` → ``≈2nd`` (a place label from ``families.place_among``)."""
    tie, digits = ("≈", place[1:]) if place.startswith("≈") else ("", place)
    n = int(digits)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{tie}{n}{suffix}"


def _ranked(runs: Sequence[RunRecord], key: Key, eligible: Callable[[RunRecord], bool]) -> list[RunRecord]:
    return sorted((r for r in runs if eligible(r) and key(r) is not None), key=lambda r: key(r) or 0.0)


def _values_spread(values: Sequence[float]) -> float | None:
    return statistics.stdev(values) if len(values) >= 2 else None


def _scope(runs: Sequence[RunRecord]) -> str:
    if any(r.family == families.PRODUCTION for r in runs):
        return "among the production loops"
    if all(r.family is None for r in runs):
        return "(this file records no families: every loop compared)"
    return "(no production loop in this file: every loop compared)"


def _hybrid(runs: Sequence[RunRecord], key: Key, same: Callable[[RunRecord, RunRecord], bool],
            fmt: Callable[[RunRecord], str], eligible: Callable[[RunRecord], bool]) -> str:
    """`` This project's hybrid: 136 ns, it would place 1st among the production loops and
    1st among the teaching designs.`` (empty without a this-project run)."""
    out = []
    for run in runs:
        if run.family != families.THIS_PROJECT or not eligible(run) or key(run) is None:
            continue
        where = []
        for family in (families.PRODUCTION, "teaching"):
            group = [r for r in runs if r.family == family and eligible(r)]
            place = families.place_among(run, group, key, same) if group else None
            if place is not None:
                where.append(f"{ordinal(place)} among the {len(group)} {families.label(family)}")
        out.append(f" This project's {run.scheduler}: {fmt(run)}" + (f"; it would place {' and '.join(where)}"
                                                                      if where else "") + ".")
    return "".join(out)


def _winner(lead: str, pool: Sequence[RunRecord], fmt: Callable[[RunRecord], str], key: Key, unit: str,
            band: Callable[[RunRecord, RunRecord], float | None]) -> str:
    """``lead: winner, its figure, its margin over the runner-up.`` (``pool`` ranked, not empty)."""
    return (f"{lead}: {pool[0].scheduler}, {fmt(pool[0])}"
            + _margin(pool[0], pool[1] if len(pool) > 1 else None, key, unit, band) + ".")


def _margin(best: RunRecord, runner: RunRecord | None, key: Key, unit: str,
            band: Callable[[RunRecord, RunRecord], float | None]) -> str:
    """``, 299 ns ahead of uvloop (1,377 ns): beyond the noise (± 288 ns)``."""
    if runner is None:
        return "; no other loop is ranked"
    a, b = key(best), key(runner)
    assert a is not None and b is not None
    text = f", {units.with_unit(b - a, unit)} ahead of {runner.scheduler} ({units.with_unit(b, unit)})"
    width = band(best, runner)
    if width is None:
        return text + ": one process per run, so no spread to test the margin against"
    beyond = b - a > width
    return text + f": {'beyond' if beyond else 'within'} the noise (± {units.with_unit(width, unit)})" + \
        ("" if beyond else ", a tie")


# ---- the questions ----------------------------------------------------------------------

def _switch_band(a: RunRecord, b: RunRecord) -> float:
    return noise.combined(noise.spread_ns(a.switch), noise.spread_ns(b.switch))


def switch_verdict(doc: Document) -> Verdict | None:
    key: Key = doc.overhead_ns if doc.body_floors else doc.switch_ns
    return _overhead_verdict(doc, "switch", "Cheapest switch", key, "its body floor", "switch")


def _overhead_verdict(doc: Document, mode: str, title: str, key: Key, floor: str, per: str) -> Verdict | None:
    """The switch and sockets sentences: least added over the floor (or least cost per
    ``per`` when the file has no floor), among the production loops, with the hybrid placed."""
    runs = [r for r in doc.runs_in(mode) if r.status is not Status.SKIPPED]
    if not runs or doc.workload.measure != "time":
        return None
    ident = "switch" if mode == "switch" else "sockets"
    pool = _ranked(families.compared_with(runs), key, lambda r: r.status.ranked)
    if not pool:
        return Verdict(ident, f"{title}: no {mode} run is VALID, so none is ranked.")

    def fmt(run: RunRecord) -> str:
        over = noise.overhead(doc, run)
        return (f"{over.text} ns over {floor}" if over is not None
                else f"{units.ns(doc.switch_ns(run))} ns per {per}")

    text = _winner(f"{title} {_scope(runs)}", pool, fmt, key, "ns", _switch_band)
    return Verdict(ident, text + _hybrid(runs, key, tied, fmt, lambda r: r.status.ranked))


def _timed_band(figure: Callable[[RunRecord], Sequence[float]]) -> Callable[[RunRecord, RunRecord], float | None]:
    def band(a: RunRecord, b: RunRecord) -> float | None:
        sa, sb = _values_spread(figure(a)), _values_spread(figure(b))
        return None if sa is None or sb is None else noise.combined(sa, sb)

    return band


def _p99s(run: RunRecord) -> list[float]:
    return [p.lateness_us.p99 for p in run.processes if p.lateness_us is not None]


def _cpus(run: RunRecord) -> list[float]:
    return list(run.timed.cpu_per_wake_us_values) if run.timed else []


def _same(band: Callable[[RunRecord, RunRecord], float | None], key: Key) -> Callable[[RunRecord, RunRecord], bool]:
    def same(a: RunRecord, b: RunRecord) -> bool:
        width, va, vb = band(a, b), key(a), key(b)
        return width is not None and va is not None and vb is not None and abs(va - vb) <= width

    return same


def timers_verdict(doc: Document) -> Verdict | None:
    """Most accurate timers: least p99 lateness at the lightest load; EARLY loops left out, said why."""
    if not doc.time_scales or doc.workload.clock == "virtual":
        return None
    scale = doc.time_scales[0]
    runs = [r for r in doc.runs_in("timed", scale) if r.status is not Status.SKIPPED]

    def p99(run: RunRecord) -> float | None:
        return None if run.timed is None else run.timed.lateness_us.p99

    pool = _ranked(families.compared_with(runs), p99, lambda r: r.status.ranked)
    lead = f"Most accurate timers at time scale {scale:g} (p99 lateness) {_scope(runs)}"
    if not pool:
        return Verdict("timers", f"{lead}: no timed run is VALID, so none is ranked.")
    band = _timed_band(_p99s)
    text = _winner(lead, pool, lambda r: units.with_unit(p99(r), "µs"), p99, "µs", band)
    early = [r for r in runs if r.status is Status.EARLY]
    for run in early:
        why = run.timer_note or "its timers fire before their deadline"
        text += f" {run.scheduler} is not ranked here: its wakes are EARLY ({why}; {run.note or 'early wakes'})."
    fmt: Callable[[RunRecord], str] = lambda r: f"p99 {units.with_unit(p99(r), 'µs')}"  # noqa: E731
    return Verdict("timers", text + _hybrid(runs, p99, _same(band, p99), fmt, lambda r: r.status.ranked))


def cpu_verdict(doc: Document) -> Verdict | None:
    """Least CPU per useful wake at the lightest load; EARLY loops are ranked here."""
    if not doc.time_scales:
        return None
    scale = doc.time_scales[0]
    runs = [r for r in doc.runs_in("timed", scale) if r.status is not Status.SKIPPED]

    def cpu(run: RunRecord) -> float | None:
        return None if run.timed is None else run.timed.cpu_per_wake_us

    charted: Callable[[RunRecord], bool] = lambda r: r.status.charted  # noqa: E731
    pool = _ranked(families.compared_with(runs), cpu, charted)
    lead = f"Least CPU per wake at time scale {scale:g} {_scope(runs)}"
    if not pool:
        return Verdict("cpu", f"{lead}: no timed run is VALID, so none is ranked.")
    band = _timed_band(_cpus)
    fmt: Callable[[RunRecord], str] = lambda r: units.with_unit(cpu(r), "µs")  # noqa: E731
    text = _winner(lead, pool, fmt, cpu, "µs", band)
    return Verdict("cpu", text + _hybrid(runs, cpu, _same(band, cpu), fmt, charted))


def sockets_verdict(doc: Document) -> Verdict | None:
    """Waiting on sockets (io mode): least added per readiness wake over the I/O floor."""
    key: Key = doc.io_overhead_ns if doc.io_floor is not None else doc.switch_ns
    return _overhead_verdict(doc, "io", "Waiting on sockets", key, "the I/O floor", "resume")


def verdicts(doc: Document) -> list[Verdict]:
    """The suite file's sentences, in the page's order (echo and gate are added by the page).
    No sentence for a file of counts (instructions, system calls): its timed runs ran under
    Valgrind or strace, so their lateness and CPU answer no wall-time question."""
    if doc.workload.measure != "time":
        return []
    found = (switch_verdict(doc), timers_verdict(doc), cpu_verdict(doc), sockets_verdict(doc))
    return [v for v in found if v is not None]
