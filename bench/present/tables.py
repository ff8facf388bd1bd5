"""Every table a results file is shown as, built once and rendered three ways.

A ``Table`` is format-neutral: text cells plus flags (a number, the best of its column).
The terminal (``bench.present.text``), the Markdown summary and the HTML page
(``reports``) render the same tables, so they cannot disagree about a value.

Size: every table of the report in one module, so their ordering, ranking and best-value
rules are written once.

Ordering: rows are listed by family (``bench.present.families``), then sorted by their
table's figure, ranked (VALID) runs first, then the runs that are shown but not ranked
(EARLY, SUSPECT), then the ones with no figure. SKIPPED runs have no row: they are listed
once (``skipped_line``). Only VALID values are flagged best, and only the production
loops' best: a fast wrong scheduler must never win. A ranking marks a place as tied
(``≈``) when the difference to the place above is within the noise (``bench.present.noise``
for wall time; the measured drift plus 0.1 % for instruction counts). An overhead within
the combined spread of the run and its floor reads ``≈ 0 (± spread)``, never bold.

The timed tables are in ``bench.present.timed_table``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.present import families, noise, units
from bench.present.io_table import io_table
from bench.present.syscall_table import syscall_tables
from bench.present.table_parts import (
    INSTRUCTION_TIE,
    Cell,
    Row,
    Table,
    best_run,
    num,
    ranks,
    row,
    skipped_line,
    sorted_runs,
    tied,
)
from bench.present.timed_table import TIMED_HEADERS, timed_tables, timer_answer_tables
from bench.results.context import ScalingPoint
from bench.results.model import Document, RunRecord, Status

__all__ = ["INSTRUCTION_TIE", "TIMED_HEADERS", "Cell", "Row", "Table", "all_tables", "ranks", "skipped_line", "tied",
           "timed_tables", "timer_answer_tables"]

DASH = units.DASH
_num, _sorted, _best = num, sorted_runs, best_run
# ---- the answer ------------------------------------------------------------------------

def ranking_table(doc: Document) -> Table | None:
    """Schedulers ranked by what they add per switch over their dialect's body floor."""
    runs = doc.runs_in("switch")
    if not runs:
        return None
    if doc.workload.measure == "instructions":
        return _instruction_ranking(doc, runs)
    has_body = bool(doc.body_floors)
    key = doc.overhead_ns if has_body else doc.switch_ns
    ordered = _sorted(runs, key)
    best = _best(ordered, key)
    rows = []
    for run, place in zip(ordered, ranks(ordered, key), strict=True):
        over = noise.overhead(doc, run)
        rows.append(row(run, [
            _num(place),
            _num(units.ns(None) if over is None else over.text, run is best and has_body and not _noise(over)),
            _num(units.ns(doc.switch_ns(run)), run is best and not has_body),
            _num(units.ns(doc.body_floor_ns(run.dialect))),
            _num(units.times(doc.x_floor(run))),
        ]))
    title = "Ranking: what each scheduler adds per switch (switch mode, wall time per resume)"
    foot = ("overhead = switch cost − the body floor of the scheduler's dialect (the same rocket bodies on the "
            f"cheapest correct loop); ≈ 0 (± b): within b = {noise.NOISE_K:g}·√(σ run² + σ floor²) of zero, "
            "no measurable overhead. " + RANK_FOOT)
    if not has_body:
        foot = "No body floor in this file: ranked by switch cost. " + RANK_FOOT
    return Table(title, ["rank", "overhead ns", "switch ns", "body floor ns", "× bare send"], rows, foot)


#: How every ranking's places read (families and ties).
RANK_FOOT = ("Places count within each family; this project's loop shows in brackets the place it would take among "
             "the production loops; ≈ marks a place within the noise of the one above.")


def _noise(over: noise.Overhead | None) -> bool:
    return over is not None and over.noise


def _instruction_ranking(doc: Document, runs: Sequence[RunRecord]) -> Table:
    def per_switch(run: RunRecord) -> float | None:
        return None if run.instructions is None else run.instructions.per_unit

    has_body = bool(doc.body_floor_instructions)
    key = doc.overhead_instructions if has_body else per_switch
    ordered = _sorted(runs, key)
    best = _best(ordered, key)
    rows = [row(run, [
        _num(place),
        _num(units.instructions(doc.overhead_instructions(run)), run is best and has_body),
        _num(units.instructions(per_switch(run)), run is best and not has_body),
        _num(units.instructions(_body_instr(doc, run))),
    ]) for run, place in zip(ordered, ranks(ordered, key), strict=True)]
    return Table("Ranking: instructions each scheduler adds per switch (Valgrind, run() alone)",
                 ["rank", "overhead instr", "instr/switch", "body floor instr"], rows,
                 RANK_FOOT.replace("the noise", "the measured drift (+0.1 %)"))


def _body_instr(doc: Document, run: RunRecord) -> float | None:
    floor = doc.body_floor_instructions.get(run.dialect or "")
    return None if floor is None else floor.per_unit


# ---- details ---------------------------------------------------------------------------

def switch_table(doc: Document) -> Table | None:
    runs = doc.runs_in("switch")
    if not runs or doc.workload.measure != "time":
        return None
    ordered = _sorted(runs, doc.switch_ns)
    best = _best(runs, doc.switch_ns)
    rows = []
    for run in ordered:
        sw = run.switch
        over = noise.overhead(doc, run)
        rows.append(row(run, [
            _num(DASH if sw is None else f"{units.ns(sw.mean_ns)} ± {units.ns(noise.spread_ns(sw))}", run is best),
            _num(units.ns(doc.body_floor_ns(run.dialect))),
            _num(units.ns(None) if over is None else over.text),
            _num(units.times(doc.x_floor(run))),
            _num(units.count(run.resumes)),
            Cell(run.origin_label),
        ]))
    title = "Switch cost (switch mode): wall time per rocket resume"
    if doc.floor is not None:
        title += f"; bare send {units.ns(doc.floor.mean_ns)} ± {units.ns(doc.floor.std_s * 1e9)} ns"
    return Table(title, ["ns per switch (± std)", "body floor ns", "overhead ns", "× bare send", "resumes",
                         "origin"], rows)


def floors_table(doc: Document) -> Table | None:
    """The per-switch floors measured in the same run: what no scheduler can beat here.

    Apart from the timer floors (``timer_floors_table``): one table of both had a column of
    dashes for every row, and wrapped into one on a narrow page.
    """
    rows: list[Row] = []
    if doc.floor is not None:
        rows.append(Row("bare send", Status.VALID, [Cell("one gen.send(None)"), _num(units.ns(doc.floor.mean_ns)),
                                                     _num(units.ns(noise.spread_ns(doc.floor)))], ""))
    named = [(f"body floor ({d})", "rocket bodies, cheapest loop", s) for d, s in sorted(doc.body_floors.items())]
    if doc.io_floor is not None:
        named.append(("I/O floor", "raw epoll, same sockets", doc.io_floor))
    for name, what, sample in named:
        rows.append(Row(name, Status.VALID, [Cell(what), _num(units.ns(sample.mean_ns)),
                                             _num(units.ns(noise.spread_ns(sample)))], ""))
    for dialect, instr in sorted(doc.body_floor_instructions.items()):
        rows.append(Row(f"body floor ({dialect})", Status.VALID,
                        [Cell(f"instructions per {instr.unit} (Valgrind)"), _num(units.instructions(instr.per_unit)),
                         _num(DASH)], ""))
    if not rows:
        return None
    return Table("Floors measured in the same run: per switch", ["what", "ns (or instructions)", "± std"], rows,
                 lead="floor", statuses=False)


def timer_floors_table(doc: Document) -> Table | None:
    """How late this machine wakes a plain thread at each time scale, three ways."""
    rows: list[Row] = []
    for floor in doc.timer_floors:
        variants = [("blocking, default slack", floor.blocking_default),
                    ("blocking, lowered slack", floor.blocking_lowered), ("spinning", floor.spin)]
        for name, pct in variants:
            if pct is not None:
                rows.append(Row(f"{floor.time_scale:g} s/tick", Status.VALID, [
                    Cell(name), _num(units.count(floor.wakes)), _num(units.us(pct.p50)), _num(units.us(pct.p99)),
                    _num(units.us(pct.p99_9))], ""))
    if not rows:
        return None
    return Table("Timer floors: one thread waiting the workload's gaps", ["how", "wakes", "late p50 µs",
                                                                          "late p99 µs", "late p99.9 µs"], rows,
                 lead="time scale", statuses=False)


def instruction_table(doc: Document) -> Table | None:
    runs = [r for r in doc.runs if r.instructions is not None or doc.workload.measure == "instructions"]
    if not runs or doc.workload.measure != "instructions":
        return None

    def value(run: RunRecord) -> float | None:
        return None if run.instructions is None else run.instructions.per_unit

    rows = []
    for mode in ("switch", "virtual"):
        group = [r for r in runs if r.mode == mode]
        best = _best(group, value)
        for run in _sorted(group, value):
            i = run.instructions
            rows.append(row(run, [
                Cell(mode),
                _num(units.instructions(value(run)), run is best),
                _num(units.instructions(doc.overhead_instructions(run))),
                _num(DASH if i is None else f"{i.drift * 100:.3f}%"),
                _num(DASH if i is None or i.estimated_cycles_per_unit is None
                     else units.count(i.estimated_cycles_per_unit)),
                Cell(DASH if i is None else ("warmed" if i.warmed else "first run")),
            ]))
    return Table("Instructions (Valgrind): per resume in switch mode, per useful wake on the virtual clock",
                 ["mode", "instructions", "overhead", "drift", "est. cycles", "counted"], rows,
                 "overhead = instructions − the body floor of the dialect; drift = largest spread over repeats.")


SCALING_HEADERS = ["mode", "N", "ns/resume", "floor ns", "run s", "bytes/rocket", "peak RSS MB"]


def _scaling_note(point: ScalingPoint) -> str:
    if point.status != "ok":
        return f"{point.status.upper()}: {point.reason or 'no reason recorded'}"
    if point.tracemalloc_bytes_per_rocket is None and point.mode == "io":
        return "no memory pass in io mode (socket buffers are kernel memory, which tracemalloc cannot see)"
    if point.tracemalloc_bytes_per_rocket is None:
        return "no memory pass: the loop runs once per process (the timed run is the only one)"
    return ""


def scaling_table(doc: Document) -> Table | None:
    scaling = doc.scaling
    if scaling is None:
        return None
    rows = []
    for p in scaling.points:
        status = (Status.VALID if p.status == "ok" else Status.FAILED if p.status == "failed" else Status.SKIPPED)
        rows.append(Row(p.scheduler, status, [
            Cell(p.mode), _num(f"{p.rockets:,}"), _num(units.ns(p.ns_per_resume)), _num(units.ns(p.body_floor_ns)),
            _num(units.seconds(p.run_s if p.run_s is not None else p.wall_s)),
            _num(units.ns(p.tracemalloc_bytes_per_rocket)),
            _num(DASH if p.peak_rss_bytes is None else f"{p.peak_rss_bytes / 2**20:,.1f}"),
        ], _scaling_note(p), "STOPPED" if p.status == "stopped" else ""))
    return Table(f"Scaling with the number of rockets (time budget {scaling.budget_s:g} s per point)",
                 list(SCALING_HEADERS), rows, "floor ns: the body floor of the scheduler's dialect at the same N "
                 "(switch mode), the I/O floor on raw epoll (io mode).")


def kept_table(doc: Document) -> Table | None:
    """The VALID figures a newer, broken attempt did not erase: shown with their commit and
    date, never ranked (the row's status is the newest attempt's, which is the state)."""
    rows = []
    for run in doc.kept_runs:
        kept = run.last_valid
        assert kept is not None  # kept_runs holds only runs with one
        rows.append(Row(run.scheduler, run.status, [Cell(run.where), Cell(_kept_figure(kept)),
                                                    Cell(kept.commit or "unknown"), Cell(kept.measured_utc or DASH)],
                        run.note))
    return Table("Last VALID measurement kept beside a newer attempt that is not VALID (not ranked)",
                 ["run", "kept VALID figure", "measured at commit", "measured (UTC)"], rows) if rows else None


def _kept_figure(run: RunRecord) -> str:
    if run.instructions is not None:
        return f"{units.instructions(run.instructions.per_unit)} instructions/{run.instructions.unit}"
    if run.switch is not None:
        return f"switch {units.ns(run.switch.mean_ns)} ns"
    if run.timed is not None:
        return f"p99 {units.us(run.timed.lateness_us.p99)} µs, CPU/wake {units.us(run.timed.cpu_per_wake_us)} µs"
    return DASH


# ---- one row per scheduler (the Markdown summary) ------------------------------------------

def scheduler_table(doc: Document) -> Table:
    """Key figures, one row per scheduler, sorted by overhead (or switch cost)."""
    switch = {r.scheduler: r for r in doc.runs_in("switch")}
    scales = doc.time_scales
    timed = {(r.scheduler, r.time_scale): r for r in doc.runs_in("timed")}
    key = doc.overhead_ns if doc.body_floors else doc.switch_ns
    best_switch = _best(list(switch.values()), key)
    best_timed: dict[tuple[float, str], RunRecord | None] = {}
    for scale in scales:
        group = [r for (_, s), r in timed.items() if s == scale]
        best_timed[(scale, "p99")] = _best(group, lambda r: None if r.timed is None else r.timed.lateness_us.p99)
        best_timed[(scale, "cpu")] = _best(group, lambda r: None if r.timed is None else r.timed.cpu_per_wake_us,
                                           lambda r: r.status.charted)
    headers = ["overhead ns", "switch ns"]
    for scale in scales:
        headers += [f"p99 µs @ {scale:g}", f"CPU/wake µs @ {scale:g}"]

    family = {r.scheduler: r.family for r in doc.runs}

    def order(name: str) -> tuple[int, int, float]:
        run = switch.get(name)
        value = key(run) if run else None
        return (families.family_index(family[name]), 0 if run and run.status.ranked and value is not None else 1,
                value if value is not None else math.inf)

    rows = []
    # A scheduler whose every run was SKIPPED has no row: it is in the "not run" line.
    ran = [n for n in doc.schedulers if any(r.status is not Status.SKIPPED for r in doc.runs if r.scheduler == n)]
    for name in sorted(ran, key=order):
        mine = [r for r in doc.runs if r.scheduler == name]
        sw = switch.get(name)
        over = noise.overhead(doc, sw) if sw else None
        cells = [_num(units.ns(None) if over is None else over.text,
                      sw is not None and sw is best_switch and not _noise(over)),
                 _num(units.ns(doc.switch_ns(sw) if sw else None))]
        for scale in scales:
            run = timed.get((name, scale))
            t = run.timed if run else None
            cells += [_num(units.us(t.lateness_us.p99 if t else None),
                           run is not None and run is best_timed[(scale, "p99")]),
                      _num(units.us(t.cpu_per_wake_us if t else None),
                           run is not None and run is best_timed[(scale, "cpu")])]
        ran_runs = [r for r in mine if r.status is not Status.SKIPPED]
        rows.append(Row(name, Status.worst(r.status for r in ran_runs), cells, problem_note(ran_runs),
                        group=families.label(family[name])))
    return Table("Key figures per scheduler", headers, rows)


def problem_note(runs: Sequence[RunRecord]) -> str:
    """Non-valid runs of one scheduler, runs sharing a status and reason grouped:
    ``INVALID (switch, timed @ 0.01): rocket lost …``."""
    groups: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        if run.status in (Status.VALID, Status.SKIPPED):
            continue
        groups.setdefault((run.status.label, run.note), []).append(run.where)
    return "; ".join(f"{status} ({', '.join(where)})" + (f": {why}" if why else "")
                     for (status, why), where in groups.items())


# ---- context ---------------------------------------------------------------------------

def header_fields(doc: Document) -> list[tuple[str, str]]:
    """(label, value) pairs describing where and how the results were measured."""
    env, w = doc.environment, doc.workload
    clock_text = w.clock
    if env.clock_implementation and w.clock == "real":
        clock_text += f" — {env.clock_implementation}"
        if env.clock_resolution_s:
            clock_text += f", resolution {env.clock_resolution_s * 1e9:g} ns"
    gc = ("on" if env.gc_enabled else "off") + (f" (thresholds {list(env.gc_thresholds)})" if env.gc_thresholds
                                                else "")
    plugins = sorted({r.origin_label for r in doc.runs if r.origin != "built-in"})
    versions = sorted({f"{r.scheduler} {r.version}" for r in doc.runs if r.version})
    fields = [
        ("machine", f"{env.cpu_model}, {env.cpu_count or '?'} CPUs"
                    + (f", governor {env.cpu_governor}" if env.cpu_governor else "")),
        ("platform", env.platform),
        ("Python", f"{env.implementation} {env.python}" + (f", pyperf {env.pyperf}" if env.pyperf else "")),
        ("workers ran", f"{env.worker_python or env.executable} {' '.join(env.python_flags)}".strip()
                        + ("" if env.python_flags else " (no interpreter flags)")),
        ("commit", ", ".join(doc.commit_labels)),
        ("timer slack", "unknown" if env.timer_slack_ns is None else f"{env.timer_slack_ns / 1000:g} µs"),
        ("GC", gc),
        ("workload", f"{w.rockets:,} rockets, seed {w.seed}, measure {w.measure}"),
        ("modes", ", ".join(w.modes) or DASH),
        ("time scales", ", ".join(f"{s:g} s/tick" for s in w.time_scales) or DASH),
        ("clock", clock_text),
        ("loop versions", ", ".join(versions) or DASH),
        ("plugins", ", ".join(plugins) or "none (built-ins only)"),
        ("preset", doc.preset),
        ("date", doc.created_utc),
        ("command", doc.command),
    ]
    if env.valgrind:
        fields.insert(8, ("Valgrind", env.valgrind))
    return fields


def all_tables(doc: Document) -> list[Table]:
    """Every table of a document in reading order: the answer, then the details."""
    if doc.workload.measure == "syscalls":
        return [t for t in syscall_tables(doc) if t.rows]
    out: list[Table] = []
    for table in (ranking_table(doc), *timer_answer_tables(doc), io_table(doc), floors_table(doc),
                  timer_floors_table(doc), switch_table(doc), *timed_tables(doc), instruction_table(doc),
                  scaling_table(doc), kept_table(doc)):
        if table is not None and table.rows:
            out.append(table)
    return out
