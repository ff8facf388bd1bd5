"""Every figure of a results file as text cells: the tables the HTML page and Markdown share.

Formatting only, and format-neutral: a ``Cell`` is plain text plus flags (number, best),
and each renderer escapes and marks it its own way. Keeping the numbers' formatting in one
place means the page and the summary can never disagree about a value.

Rows keep the order of the results file. The best *valid* value of a figure is flagged
(``best``), as ``bench show`` marks it with ``*``; EARLY, INVALID, FAILED and SKIPPED
rows are shown with their status and reason but never flagged best — a fast wrong
scheduler must never win (DESIGN §3).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.results.store import RANKED_STATUSES, section

DASH = "–"


@dataclass(frozen=True)
class Cell:
    text: str
    number: bool = False
    best: bool = False


@dataclass(frozen=True)
class Row:
    scheduler: str
    status: str  # as in the file: valid, early, invalid, failed, skipped
    cells: list[Cell]
    note: str


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]  # for the cells only; scheduler, status and note columns are implied
    rows: list[Row]


# ---- number formatting -----------------------------------------------------------------

def fmt_ns(ns: float | None) -> str:
    if ns is None or not math.isfinite(ns):
        return DASH
    return f"{ns:,.0f}" if abs(ns) >= 10 else f"{ns:.1f}"


def fmt_us(us: float | None) -> str:
    if us is None or not math.isfinite(us):
        return DASH
    if abs(us) >= 1000:
        return f"{us:,.0f}"
    return f"{us:.1f}" if abs(us) >= 1 else f"{us:.2f}"


def fmt_x(x: float | None) -> str:
    return DASH if x is None or not math.isfinite(x) else f"{x:,.1f}×"


def fmt_pct(fraction: float | None) -> str:
    return DASH if fraction is None or not math.isfinite(fraction) else f"{fraction * 100:.0f}%"


def num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def reasons(run: dict[str, Any]) -> str:
    return "; ".join(str(r) for r in run.get("reasons") or ())


def _best(runs: Sequence[dict[str, Any]], key: Callable[[dict[str, Any]], float | None]) -> int | None:
    """Index of the ranked (valid) run with the smallest finite ``key``."""
    best, best_value = None, math.inf
    for i, run in enumerate(runs):
        value = key(run) if run["status"] in RANKED_STATUSES else None
        if value is not None and value < best_value:
            best, best_value = i, value
    return best


# ---- switch mode -----------------------------------------------------------------------

def _switch_mean(run: dict[str, Any]) -> float | None:
    return num((run.get("switch") or {}).get("mean_s"))


def switch_table(doc: dict[str, Any]) -> Table | None:
    sb = section(doc)
    runs = [r for r in sb["runs"] if r["mode"] == "switch"]
    if not runs:
        return None
    best = _best(runs, _switch_mean)
    rows = []
    for i, run in enumerate(runs):
        sw = run.get("switch") or {}
        mean, std = num(sw.get("mean_s")), num(sw.get("std_s"))
        cells = [
            Cell(DASH if mean is None else f"{fmt_ns(mean * 1e9)} ± {fmt_ns((std or 0) * 1e9)}", True, i == best),
            Cell(fmt_x(num(sw.get("x_floor"))), True),
            Cell(fmt_ns(num(sw.get("overhead_ns"))), True),
            Cell(DASH if run.get("resumes") is None else f"{run['resumes']:,}", True),
        ]
        rows.append(Row(str(run["scheduler"]), str(run["status"]), cells, reasons(run)))
    floor = sb.get("floor") or {}
    title = "Switch cost (switch mode): wall time per rocket resume"
    if num(floor.get("mean_s")):
        title += f" — floor {fmt_ns(floor['mean_s'] * 1e9)} ± {fmt_ns((num(floor.get('std_s')) or 0) * 1e9)} ns"
    return Table(title, ["ns per switch (± std)", "× floor", "overhead ns", "resumes"], rows)


# ---- timed mode ------------------------------------------------------------------------

TIMED_HEADERS = ["p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "CPU/wake µs", "CPU/wall",
                 "wasted/wake", "makespan s (× ideal)", "early wakes"]
#: Lateness keys in the file, in column order.
LATENESS_KEYS = ("p50", "p90", "p99", "p99_9", "max")


def _timed(key: str) -> Callable[[dict[str, Any]], float | None]:
    def get(run: dict[str, Any]) -> float | None:
        t = run.get("timed") or {}
        if key in LATENESS_KEYS:
            return num((t.get("lateness_us") or {}).get(key))
        return num(t.get(key))

    return get


def timed_scales(doc: dict[str, Any]) -> list[float]:
    """Time scales present among the timed runs, largest (lightest load) first."""
    return sorted({float(r["time_scale"]) for r in section(doc)["runs"]
                   if r["mode"] == "timed" and num(r.get("time_scale")) is not None}, reverse=True)


def timed_tables(doc: dict[str, Any]) -> list[Table]:
    tables = []
    runs = [r for r in section(doc)["runs"] if r["mode"] == "timed"]
    for scale in timed_scales(doc):
        group = [r for r in runs if num(r.get("time_scale")) == scale]
        best = {k: _best(group, _timed(k)) for k in (*LATENESS_KEYS, "cpu_per_wake_us", "makespan_s")}
        rows = []
        ideal = None
        for i, run in enumerate(group):
            t = run.get("timed") or {}
            ideal = ideal or num(t.get("ideal_makespan_s"))
            if not t:
                rows.append(Row(str(run["scheduler"]), str(run["status"]),
                                [Cell(DASH, True) for _ in TIMED_HEADERS], reasons(run)))
                continue
            late = t.get("lateness_us") or {}
            makespan, x_ideal = num(t.get("makespan_s")), num(t.get("makespan_x_ideal"))
            span = DASH if makespan is None else f"{makespan:.3f}" + ("" if x_ideal is None else f" ({x_ideal:.2f}×)")
            early = int(t.get("early_wakes") or 0)
            cells = [Cell(fmt_us(num(late.get(k))), True, best[k] == i) for k in LATENESS_KEYS]
            cells += [
                Cell(fmt_us(num(t.get("cpu_per_wake_us"))), True, best["cpu_per_wake_us"] == i),
                Cell(fmt_pct(num(t.get("utilisation"))), True),
                Cell(DASH if num(t.get("wasted_per_wake")) is None else f"{t['wasted_per_wake']:,.1f}", True),
                Cell(span, True, best["makespan_s"] == i),
                Cell(f"{early:,} (worst {fmt_us(num(t.get('worst_early_us')))} µs)" if early else "0", True),
            ]
            rows.append(Row(str(run["scheduler"]), str(run["status"]), cells, reasons(run)))
        title = f"Timed mode, time scale {scale:g} s per tick"
        if ideal:
            title += f" (ideal makespan {ideal:.3f} s)"
        tables.append(Table(title, list(TIMED_HEADERS), rows))
    return tables


# ---- scaling ---------------------------------------------------------------------------

SCALING_HEADERS = ["mode", "N", "ns/resume", "wall s", "bytes/rocket", "peak RSS MB"]


def scaling_table(doc: dict[str, Any]) -> Table | None:
    scaling = section(doc).get("scaling")
    if not isinstance(scaling, dict):
        return None
    rows = []
    for p in scaling.get("points") or ():
        if not isinstance(p, dict):
            continue
        rss = num(p.get("peak_rss_bytes"))
        status = str(p.get("status") or "?")
        cells = [
            Cell(str(p.get("mode") or DASH)),
            Cell(DASH if num(p.get("rockets")) is None else f"{p['rockets']:,}", True),
            Cell(fmt_ns(num(p.get("ns_per_resume"))), True),
            Cell(DASH if num(p.get("wall_s")) is None else f"{p['wall_s']:.3f}", True),
            Cell(fmt_ns(num(p.get("tracemalloc_bytes_per_rocket"))), True),
            Cell(DASH if rss is None else f"{rss / 2**20:,.1f}", True),
        ]
        rows.append(Row(str(p.get("scheduler")), status, cells, str(p.get("reason") or "")))
    budget = num(scaling.get("budget_s"))
    title = "Scaling with the number of rockets" + (f" (time budget {budget:g} s per point)" if budget else "")
    return Table(title, list(SCALING_HEADERS), rows)


# ---- one row per scheduler (the Markdown summary) ------------------------------------------

STATUS_ORDER = {"valid": 0, "early": 1, "invalid": 3, "failed": 4}


def worst_status(runs: Sequence[dict[str, Any]]) -> str:
    """The scheduler's overall status: its worst run's (unknown statuses rank as skipped)."""
    return max((str(r["status"]) for r in runs), key=lambda s: STATUS_ORDER.get(s, 2), default="valid")


def scheduler_table(doc: dict[str, Any]) -> Table:
    """Key figures, one row per scheduler: switch cost, × floor, and per scale p99 and CPU/wake."""
    sb = section(doc)
    runs = sb["runs"]
    names = list(dict.fromkeys(str(r["scheduler"]) for r in runs))
    scales = timed_scales(doc)
    switch = {str(r["scheduler"]): r for r in runs if r["mode"] == "switch"}
    timed = {(str(r["scheduler"]), num(r.get("time_scale"))): r for r in runs if r["mode"] == "timed"}
    best_switch = _best(list(switch.values()), _switch_mean)
    best_switch_name = None if best_switch is None else list(switch)[best_switch]
    best_timed: dict[tuple[float, str], str | None] = {}
    for scale in scales:
        group = [(name, r) for (name, s), r in timed.items() if s == scale]
        for key in ("p99", "cpu_per_wake_us"):
            i = _best([r for _, r in group], _timed(key))
            best_timed[(scale, key)] = None if i is None else group[i][0]
    headers = ["switch ns", "× floor"]
    for scale in scales:
        headers += [f"p99 µs @ {scale:g}", f"CPU/wake µs @ {scale:g}"]
    rows = []
    for name in names:
        mine = [r for r in runs if str(r["scheduler"]) == name]
        sw_run = switch.get(name)
        sw = (sw_run or {}).get("switch") or {}
        mean = num(sw.get("mean_s"))
        cells = [Cell(fmt_ns(None if mean is None else mean * 1e9), True, name == best_switch_name),
                 Cell(fmt_x(num(sw.get("x_floor"))), True)]
        for scale in scales:
            run = timed.get((name, scale))
            cells += [Cell(fmt_us(_timed("p99")(run) if run else None), True, best_timed[(scale, "p99")] == name),
                      Cell(fmt_us(_timed("cpu_per_wake_us")(run) if run else None), True,
                           best_timed[(scale, "cpu_per_wake_us")] == name)]
        rows.append(Row(name, worst_status(mine), cells, problem_note(mine)))
    return Table("Key figures per scheduler", headers, rows)


def problem_note(runs: Sequence[dict[str, Any]]) -> str:
    """Non-valid runs of one scheduler, runs sharing a status and reason grouped:
    ``INVALID (switch, timed @ 0.01): rocket lost …``."""
    groups: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        if run["status"] == "valid":
            continue
        scale = num(run.get("time_scale"))
        where = str(run["mode"]) + ("" if scale is None else f" @ {scale:g}")
        groups.setdefault((str(run["status"]).upper(), reasons(run)), []).append(where)
    return "; ".join(f"{status} ({', '.join(where)})" + (f": {why}" if why else "")
                     for (status, why), where in groups.items())


def problem_runs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs that are not valid, in file order: what a reader must not miss."""
    return [r for r in section(doc)["runs"] if r["status"] != "valid"]


def run_label(run: dict[str, Any]) -> str:
    scale = num(run.get("time_scale"))
    return f"{run['scheduler']} ({run['mode']}{'' if scale is None else f' @ {scale:g}'})"


# ---- context ---------------------------------------------------------------------------

def header_fields(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs describing where and how the results were measured."""
    sb = section(doc)
    env, w = sb["environment"], sb["workload"]
    commit = str(env.get("commit") or "unknown")[:12] + (" (dirty: uncommitted changes)" if env.get("dirty") else "")
    slack = num(env.get("timer_slack_ns"))
    clock = env.get("clock")
    clock_text = str(w.get("clock") or "real")
    if isinstance(clock, dict) and clock.get("implementation"):
        clock_text += f" — {clock['implementation']}"
        if num(clock.get("resolution_s")):
            clock_text += f", resolution {clock['resolution_s'] * 1e9:g} ns"
    scales = w.get("time_scales") or []
    thresholds = env.get("gc_thresholds")
    gc = ("on" if env.get("gc_enabled") else "off") + (f" (thresholds {thresholds})" if thresholds else "")
    rockets = w.get("rockets")
    return [
        ("machine", f"{env.get('cpu_model') or '?'}, {env.get('cpu_count') or '?'} CPUs"
                    + (f", governor {env['cpu_governor']}" if env.get("cpu_governor") else "")
                    + (f", host {env['hostname']}" if env.get("hostname") else "")),
        ("platform", str(env.get("platform") or "?")),
        ("Python", f"{env.get('implementation') or ''} {env.get('python') or '?'}".strip()
                   + (f", pyperf {env['pyperf']}" if env.get("pyperf") else "")),
        ("commit", commit),
        ("timer slack", "unknown" if slack is None else f"{slack / 1000:g} µs"),
        ("GC", gc),
        ("workload", f"{rockets:,} rockets" if isinstance(rockets, int) else f"{rockets} rockets"),
        ("seed", str(w.get("seed"))),
        ("modes", ", ".join(str(m) for m in w.get("modes") or ()) or "?"),
        ("time scales", ", ".join(f"{s:g} s/tick" for s in scales if num(s) is not None) or DASH),
        ("clock", clock_text),
        ("preset", str(sb.get("preset") or "?")),
        ("date", str(sb.get("created_utc") or "?")),
        ("command", str(sb.get("command") or "?")),
    ]
