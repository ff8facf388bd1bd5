"""The timed mode's tables: the answer's lateness and CPU per wake per time scale, and the
details (every percentile; then the cost of keeping time).

Rows by family, then by p99 lateness (by CPU per wake on the virtual clock, where every
correct loop's lateness is 0). A loop whose wakes are EARLY (uvloop: libuv keeps its clock
in whole milliseconds) is shown in place with its figures, not greyed as if broken: its
note says why its lateness is not ranked, in the loop's own words (``timer_note``), and it
is ranked for CPU per wake like any other.

The details are two tables per scale rather than one of twelve columns: a page 800 px wide
shows six or seven numeric columns beside a name without scrolling, twelve it cannot.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.present import units
from bench.present.table_parts import Cell, Row, Table, best_run, num, row, sorted_runs
from bench.results.model import Document, Percentiles, RunRecord, Status

DASH = units.DASH
#: Time scales at or below this overload most loops on purpose (the answer says so).
OVERLOAD_SCALE = 0.01


def charted(run: RunRecord) -> bool:
    """Ranked for CPU per wake: VALID, and EARLY too (early wakes say nothing about its cost)."""
    return run.status.charted


def p99(run: RunRecord) -> float | None:
    return None if run.timed is None else run.timed.lateness_us.p99


def cpu(run: RunRecord) -> float | None:
    return None if run.timed is None else run.timed.cpu_per_wake_us


def early_note(run: RunRecord) -> str:
    """Why an EARLY loop's lateness is not ranked, said in place with its figure."""
    how = run.timer_note or "its timers fire before their deadline"
    return f"lateness not ranked: {how} ({run.note or f'{run.early_wakes:,} early wakes'}); ranked for CPU per wake"


def _note(run: RunRecord) -> str:
    return early_note(run) if run.status is Status.EARLY else run.note


def overload_note(doc: Document, scale: float) -> str:
    """What a time scale of 0.01 is for: an overload on purpose, with its arithmetic."""
    if scale > OVERLOAD_SCALE:
        return ""
    ideal = next((r.timed.ideal_makespan_s for r in doc.runs_in("timed", scale) if r.timed), None)
    sleeps = doc.workload.total_sleeps
    rate = f" ({sleeps:,} wakes due within {units.seconds(ideal)} s)" if sleeps and ideal else ""
    return (f"Scale {scale:g} overloads most loops on purpose{rate}: it shows how each degrades when wakes fall "
            "due faster than it can serve them, not how accurate its timers are. ")


def _floor_foot(doc: Document, scale: float) -> str:
    floor = doc.timer_floor(scale)
    if floor is None:
        return ""
    ref = floor.reference
    return (f"Timer floor (this machine, {'lowered' if floor.blocking_lowered else 'default'} timer slack): "
            f"p50 {units.us(ref.p50)} µs, p99 {units.us(ref.p99)} µs.")


def timer_answer_tables(doc: Document) -> list[Table]:
    """Per time scale: lateness p50/p99 (µs and × timer floor) and CPU per wake."""
    tables = []
    virtual = doc.workload.clock == "virtual"
    for scale in doc.time_scales:
        runs = doc.runs_in("timed", scale)
        best_p99 = None if virtual else best_run(runs, p99)
        best_cpu = best_run(runs, cpu, charted)
        rows = []
        for run in sorted_runs(runs, cpu if virtual else p99):
            t = run.timed
            rows.append(row(run, [
                num(units.us(t.lateness_us.p50 if t else None)),
                num(units.us(p99(run)), run is best_p99),
                num(units.times(doc.x_timer_floor(run, "p50"))),
                num(units.times(doc.x_timer_floor(run, "p99"))),
                num(units.us(cpu(run)), run is best_cpu),
            ], _note(run)))
        title = f"Time scale {scale:g} s per tick: timer lateness and CPU per useful wake"
        foot = ("Virtual clock: it jumps to each deadline, so lateness measures bookkeeping, not timers; "
                "ranked by CPU per wake. ") if virtual else ""
        foot += overload_note(doc, scale) + _floor_foot(doc, scale)
        tables.append(Table(title, ["p50 µs", "p99 µs", "p50 × floor", "p99 × floor", "CPU/wake µs"], rows,
                            foot.strip()))
    return tables


def _timed_figure(key: str) -> Callable[[RunRecord], float | None]:
    """A timed figure of a run: a lateness percentile or a ``TimedFigures`` field."""
    def get(run: RunRecord) -> float | None:
        if run.timed is None:
            return None
        if key in Percentiles.KEYS:
            return run.timed.lateness_us.get(key)
        return float(getattr(run.timed, key))

    return get


LATENESS_HEADERS = ["p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "burst p99 µs", "steady p99 µs"]
COST_HEADERS = ["CPU/wake µs", "CPU/wall", "wasted/wake", "makespan s", "× ideal", "early wakes",
                "worst early µs"]
#: Kept for callers that list every timed column.
TIMED_HEADERS = [*LATENESS_HEADERS, *COST_HEADERS]


def _lateness_row(run: RunRecord, best: dict[str, RunRecord | None]) -> Row:
    t = run.timed
    if t is None:
        return row(run, [num(DASH) for _ in LATENESS_HEADERS], "")
    cells = [num(units.us(t.lateness_us.get(k)), best[k] is run) for k in Percentiles.KEYS]
    cells += [num(units.us(t.burst_lateness_us.p99 if t.burst_lateness_us else None)),
              num(units.us(t.steady_lateness_us.p99 if t.steady_lateness_us else None))]
    return row(run, cells, "")  # the notes stand in the answer's table and the cost table


def _cost_row(run: RunRecord, best: dict[str, RunRecord | None], virtual: bool) -> Row:
    t = run.timed
    if t is None:
        return row(run, [num(DASH) for _ in COST_HEADERS], _note(run))
    # A makespan on the virtual clock is the clock's own arithmetic: not a figure.
    return row(run, [
        num(units.us(t.cpu_per_wake_us), best["cpu_per_wake_us"] is run),
        num(units.percent(t.utilisation)),
        num(DASH if t.wasted_per_wake is None else f"{t.wasted_per_wake:,.1f}"),
        num(DASH if virtual else f"{t.makespan_s:.3f}", best["makespan_s"] is run and not virtual),
        num(DASH if virtual or t.makespan_x_ideal is None else f"{t.makespan_x_ideal:.2f}×"),
        num(units.count(t.early_wakes) if t.early_wakes else "0"),
        num(units.us(t.worst_early_us) if t.early_wakes else DASH),
    ], _note(run))


def timed_tables(doc: Document) -> list[Table]:
    """Per time scale, two tables: lateness percentiles, then the cost of keeping time."""
    tables = []
    virtual = doc.workload.clock == "virtual"
    for scale in doc.time_scales:
        runs = doc.runs_in("timed", scale)
        best = {k: best_run(runs, _timed_figure(k)) for k in (*Percentiles.KEYS, "makespan_s")}
        best["cpu_per_wake_us"] = best_run(runs, _timed_figure("cpu_per_wake_us"), charted)
        ordered = sorted_runs(runs, _timed_figure("p99"))
        ideal = next((r.timed.ideal_makespan_s for r in ordered if r.timed), None)
        where = f"time scale {scale:g} s per tick" + (", virtual clock" if virtual else "")
        tables.append(Table(f"Timed mode, {where}: lateness after the deadline", list(LATENESS_HEADERS),
                            [_lateness_row(r, best) for r in ordered],
                            "burst: wakes due while rockets were still being started (all start at t = 0); "
                            "steady: the rest."))
        cost_title = f"Timed mode, {where}: the cost of keeping time"
        if ideal and not virtual:
            cost_title += f" (ideal makespan {ideal:.3f} s)"
        timers = [f"{r.scheduler}: {r.timer_note}" for r in ordered if r.timer_note and r.status is not Status.EARLY]
        foot = "Timers, from each loop's source: " + "; ".join(timers) + "." if timers else ""
        tables.append(Table(cost_title, list(COST_HEADERS), [_cost_row(r, best, virtual) for r in ordered],
                            (overload_note(doc, scale) + foot).strip()))
    return tables


__all__ = ["OVERLOAD_SCALE", "TIMED_HEADERS", "Cell", "early_note", "timed_tables", "timer_answer_tables"]
