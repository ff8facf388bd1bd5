"""The summary tables of a results file: switch cost, timed-mode figures, failures.

Formatting only; every number is read from the results document. The fastest *valid*
scheduler for each figure is marked with ``*``; INVALID, EARLY, FAILED and SKIPPED rows
are shown with their status and reason but never marked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from bench.present import text as table
from bench.results.store import RANKED_STATUSES, section

BEST = "*"


def _best_index(rows: Sequence[dict[str, Any]], key: Callable[[dict[str, Any]], float | None]) -> int | None:
    """Index of the ranked row with the smallest finite ``key``."""
    best, best_value = None, math.inf
    for i, run in enumerate(rows):
        if run["status"] not in RANKED_STATUSES:
            continue
        value = key(run)
        if value is not None and math.isfinite(value) and value < best_value:
            best, best_value = i, value
    return best


def _mark(text: str, is_best: bool) -> str:
    return f"{text}{BEST}" if is_best else f"{text} "


def _status(run: dict[str, Any]) -> str:
    return str(run["status"]).upper()


def switch_table(doc: dict[str, Any]) -> str | None:
    sb = section(doc)
    runs = [r for r in sb["runs"] if r["mode"] == "switch"]
    if not runs:
        return None
    floor = sb.get("floor") or {}
    floor_s = floor.get("mean_s")

    def cost(r: dict[str, Any]) -> float | None:
        return r["switch"]["mean_s"] if r.get("switch") else None

    best = _best_index(runs, cost)
    rows = []
    for i, run in enumerate(runs):
        sw = run.get("switch")
        if sw is None:
            rows.append([run["scheduler"], _status(run), "-", "-", "-", "-", "; ".join(run.get("reasons", []))])
            continue
        rows.append([
            run["scheduler"], _status(run),
            _mark(f"{sw['mean_s'] * 1e9:,.0f} ± {sw['std_s'] * 1e9:,.0f}", i == best),
            "-" if sw.get("x_floor") is None else f"{sw['x_floor']:.1f}×",
            "-" if sw.get("overhead_ns") is None else f"{sw['overhead_ns']:,.0f}",
            f"{run['resumes']:,}" if run.get("resumes") is not None else "n/a",
            "; ".join(run.get("reasons", [])),
        ])
    head = "Switch cost (switch mode, time per rocket resume)"
    if floor_s:
        head += f" — floor {floor_s * 1e9:.1f} ± {floor.get('std_s', 0) * 1e9:.1f} ns per send"
    headers = ("scheduler", "status", "ns/switch", "× floor", "overhead ns", "resumes", "note")
    return head + "\n" + table.render(headers, rows, [False, False, True, True, True, True, False])


def timed_table(doc: dict[str, Any]) -> str | None:
    sb = section(doc)
    runs = [r for r in sb["runs"] if r["mode"] == "timed"]
    if not runs:
        return None
    out = []
    scales = sorted({r["time_scale"] for r in runs}, reverse=True)
    for scale in scales:
        group = [r for r in runs if r["time_scale"] == scale]

        best = {name: _best_index(group, _timed_figure(name)) for name in
                ("p50", "p99", "cpu_per_wake_us", "makespan_s")}
        rows = []
        for i, run in enumerate(group):
            t = run.get("timed")
            if t is None:
                rows.append([run["scheduler"], _status(run), *["-"] * 8, "; ".join(run.get("reasons", []))])
                continue
            late = t["lateness_us"]
            rows.append([
                run["scheduler"], _status(run),
                _mark(table.fmt_us(late.get("p50")), best["p50"] == i),
                _mark(table.fmt_us(late.get("p99")), best["p99"] == i),
                table.fmt_us(late.get("max")),
                _mark(f"{t['cpu_per_wake_us']:.2f}", best["cpu_per_wake_us"] == i),
                f"{t['utilisation'] * 100:.0f}%" if t.get("utilisation") is not None else "-",
                "-" if t.get("wasted_per_wake") is None else f"{t['wasted_per_wake']:.1f}",
                _mark(f"{t['makespan_s']:.3f} ({t['makespan_x_ideal']:.2f}×)"
                      if t.get("makespan_x_ideal") else f"{t['makespan_s']:.3f}", best["makespan_s"] == i),
                f"{t['early_wakes']} (≤{t['worst_early_us']:.0f} µs)" if t["early_wakes"] else "0",
                "; ".join(run.get("reasons", [])),
            ])
        ideal = group[0].get("timed", {}) or {}
        head = f"Timed mode, time scale {scale:g}"
        if ideal.get("ideal_makespan_s"):
            head += f" (ideal makespan {ideal['ideal_makespan_s']:.3f} s)"
        headers = ("scheduler", "status", "late p50 µs", "late p99 µs", "late max µs", "CPU/wake µs",
                   "CPU/wall", "wasted/wake", "makespan s (× ideal)", "early wakes", "note")
        out.append(head + "\n" + table.render(headers, rows, [False, False, *[True] * 8, False]))
    return "\n\n".join(out)


def _timed_figure(name: str) -> Callable[[dict[str, Any]], float | None]:
    """Reads one timed figure (lateness percentiles live one level down) from a run."""

    def get(run: dict[str, Any]) -> float | None:
        t = run.get("timed")
        if not t:
            return None
        if name in ("p50", "p99"):
            return t["lateness_us"].get(name)  # type: ignore[no-any-return]
        return t.get(name)  # type: ignore[no-any-return]

    return get


def header(doc: dict[str, Any]) -> str:
    sb = section(doc)
    env, w = sb["environment"], sb["workload"]
    commit = (env.get("commit") or "unknown")[:12] + (" (dirty)" if env.get("dirty") else "")
    slack = env.get("timer_slack_ns")
    lines = [
        f"schedbench results — {sb.get('created_utc', '?')}, preset {sb.get('preset', '?')}, commit {commit}",
        f"  {w['rockets']:,} rockets, seed {w['seed']}, {w.get('clock', 'real')} clock; "
        f"Python {env.get('python')} on {env.get('cpu_model')} ({env.get('cpu_count')} CPUs); "
        f"timer slack {'?' if slack is None else f'{slack / 1000:g} µs'}; "
        f"GC {'on' if env.get('gc_enabled') else 'off'}",
    ]
    if not sb.get("complete", True):
        lines.append("  INCOMPLETE: the run was interrupted; only finished jobs are shown")
    return "\n".join(lines)


def scaling_table(scaling: dict[str, Any]) -> str:
    """ns/resume and bytes/rocket per series and N, with the measured growth exponent."""
    from bench.measure.scale import growth

    points = scaling["points"]
    sizes = scaling["sizes"]
    slopes = growth(points)
    rows = []
    for (sched, mode), slope in slopes.items():
        cells = []
        for n in sizes:
            p = next((q for q in points if (q["scheduler"], q["mode"], q["rockets"]) == (sched, mode, n)), None)
            if p is None:
                cells.append("-")
            elif p["status"] != "ok":
                cells.append(p["status"].upper())
            else:
                cells.append(f"{p['ns_per_resume']:,.0f} ns / {p['tracemalloc_bytes_per_rocket']:,.0f} B")
        rows.append([sched, mode, *cells, "-" if slope is None else f"{slope:+.2f} ({growth_class(slope)})"])
    headers = ("scheduler", "mode", *[f"N={n:,}" for n in sizes], "growth of ns/resume")
    return ("Scaling (ns per resume / tracemalloc bytes per rocket)\n"
            + table.render(headers, rows, [False, False, *[True] * len(sizes), False]))


def growth_class(slope: float) -> str:
    """Name the growth of cost per resume from its log–log slope."""
    if slope < 0.05:
        return "constant"
    if slope < 0.35:
        return "≈ log N"
    return "linear in N per wake"


def run_label(run: dict[str, Any]) -> str:
    scale = run.get("time_scale")
    return f"{run['scheduler']} ({run['mode']}{'' if scale is None else f' @ {scale:g}'})"


def render(doc: dict[str, Any]) -> str:
    parts = [header(doc)]
    for part in (switch_table(doc), timed_table(doc)):
        if part:
            parts.append(part)
    failures = [r for r in section(doc)["runs"] if r["status"] in ("failed", "invalid")]
    legend = f"{BEST} fastest VALID scheduler for that figure; EARLY = valid trace but wakes before deadline"
    parts.append(legend)
    if failures:
        parts.append(f"{len(failures)} run(s) failed or were INVALID: " + ", ".join(map(run_label, failures)))
    return "\n\n".join(parts)
