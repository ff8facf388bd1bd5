"""hybrid's precision/CPU knobs at time scale 1: p99 lateness against CPU, next to asyncio.

Every run is one ``bench.measure.execute.execute_once`` of the timed workload (10,000
rockets, seed 1969, time scale 1: ~9 s) in a fresh process, validated like any run. One
round runs every knob setting in ``GRID`` once, asyncio once and the timer floor
(``python -m bench.measure.timer_floor``, ``--floor-budget`` s) once, in a rotated order,
so load that drifts during the session falls on all of them; the figures are medians over
the rounds. It writes ``docs/hybrid-tradeoff.json`` (every run's figures, the medians, the
machine's state around each run; saved after every run) and draws
``docs/hybrid-tradeoff.png``: x = CPU seconds per run, y = p99 lateness (log), one point
per setting (bars: min-max over the rounds), asyncio, and the timer floor's p99 (blocking
with lowered slack) and twice it as horizontal lines; the setting equal to the
scheduler's *current* defaults is highlighted.

A quiet machine, or as near as it gets: before each run the script samples ``/proc/stat``
for 2 s and waits (up to ``--quiet-timeout``) until all CPUs are less than
``--quiet-below`` busy; after the run it subtracts the run's own CPU from the CPUs' busy
time and, when other processes still took more than ``--quiet-below``, runs it again (up
to ``--retries`` times). Every attempt is kept in the JSON (``discarded``, ``quiet``,
``others_busy_during``, ``steal_during``, ``load_before``); a disturbed run counts in the
medians only when its setting has no quiet one. On the shared 2-vCPU VM, lateness tails
are the machine's: with other users' test suites running every setting measured p99 of
3-6 ms, so without this the knobs cannot be told apart.

    .venv/bin/python scripts/hybrid_knobs.py --rounds 5 --quiet-below 0.15 --quiet-timeout 180 --retries 2
    .venv/bin/python scripts/hybrid_knobs.py --add --rounds 2      # two more rounds, same file
    .venv/bin/python scripts/hybrid_knobs.py --only default --only "coalesce 50 µs" --json /tmp/ab.json
    .venv/bin/python scripts/hybrid_knobs.py --plot-only           # redraw from the JSON

The first command produced the committed files (12 min on a quiet machine, 60 runs, none
repeated); ``schedulers/hybrid.py`` explains the default chosen from them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_JSON = ROOT / "docs" / "hybrid-tradeoff.json"
DEFAULT_PNG = ROOT / "docs" / "hybrid-tradeoff.png"

#: (label, HybridScheduler keyword arguments). "default" passes none: the scheduler's
#: own defaults, whatever they are when the script runs. Times in seconds.
GRID: tuple[tuple[str, dict[str, Any]], ...] = (
    ("default", {}),
    ("previous default: spin 50 µs", {"coalesce": 0.0, "spin_margin": 50e-6, "spin_budget": 0.1,
                                      "spin_below": 0.0, "timer_slack_ns": 1}),
    ("block, kernel slack", {"coalesce": 0.0, "spin_margin": 0.0, "spin_below": 0.0, "timer_slack_ns": None}),
    ("block, slack 1 ns", {"coalesce": 0.0, "spin_margin": 0.0, "spin_below": 0.0, "timer_slack_ns": 1}),
    ("spin below 25 µs", {"coalesce": 0.0, "spin_margin": 0.0, "spin_below": 25e-6, "timer_slack_ns": 1}),
    ("spin below 50 µs", {"coalesce": 0.0, "spin_margin": 0.0, "spin_below": 50e-6, "timer_slack_ns": 1}),
    ("coalesce 20 µs", {"coalesce": 20e-6, "spin_margin": 0.0, "spin_below": 0.0, "timer_slack_ns": 1}),
    ("coalesce 50 µs", {"coalesce": 50e-6, "spin_margin": 0.0, "spin_below": 0.0, "timer_slack_ns": 1}),
    ("coalesce 100 µs", {"coalesce": 100e-6, "spin_margin": 0.0, "spin_below": 0.0, "timer_slack_ns": 1}),
    ("coalesce 200 µs", {"coalesce": 200e-6, "spin_margin": 0.0, "spin_below": 0.0, "timer_slack_ns": 1}),
    ("coalesce 1 ms", {"coalesce": 1e-3, "spin_margin": 0.0, "spin_below": 0.0, "timer_slack_ns": 1}),
    ("coalesce 20 µs + spin 10 µs", {"coalesce": 20e-6, "spin_margin": 10e-6, "spin_below": 0.0,
                                     "timer_slack_ns": 1}),
    ("coalesce 50 µs, kernel slack", {"coalesce": 50e-6, "spin_margin": 0.0, "spin_below": 0.0,
                                      "timer_slack_ns": None}),
)
ASYNCIO = "asyncio"
FLOOR = "timer floor"
assert len({label for label, _ in GRID}) == len(GRID), "GRID labels must be unique"


# ---- one run, in a child process ----------------------------------------------------

def child(knobs: str, rockets: int, seed: int, scale: float) -> int:
    """Run hybrid with ``knobs`` (JSON) or asyncio (``"asyncio"``) once; print one JSON line."""
    from bench.measure.execute import execute_once
    from bench.measure.registry import SchedulerEntry, load_named
    from bench.results.distributions import lateness_summary
    from bench.workload.rockets import Workload
    from schedulers.hybrid import HybridScheduler

    if knobs == ASYNCIO:
        entry = load_named(ASYNCIO)
    else:
        kwargs = json.loads(knobs)

        class Tuned(HybridScheduler):
            def __init__(self, clock: Any) -> None:
                super().__init__(clock, **kwargs)

        entry = SchedulerEntry("hybrid", "built-in", "schedulers.hybrid:HybridScheduler", cls=Tuned)
    workload = Workload.generate(rockets, seed, "timed", scale)
    outcome = execute_once(entry, workload)
    summary = lateness_summary(outcome.lateness_s)
    print(json.dumps({
        "status": outcome.verdict.status.value, "reasons": list(outcome.verdict.reasons),
        "cpu_s": outcome.cpu_s, "wall_s": outcome.wall_s,
        "p50_us": summary.get("p50"), "p99_us": summary.get("p99"), "max_us": summary.get("max"),
        "early_wakes": outcome.verdict.early_wakes,
    }))
    return 0


def _run_child(knobs: str, ns: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "child", knobs, "--rockets", str(ns.rockets), "--seed", str(ns.seed),
           "--time-scale", str(ns.time_scale)]
    return _run_quietly(cmd, ns)


def _run_floor(ns: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.measure.timer_floor", "--rockets", str(ns.rockets), "--seed",
           str(ns.seed), "--time-scale", str(ns.time_scale), "--budget", str(ns.floor_budget)]
    return _run_quietly(cmd, ns)


def _cpu_ticks() -> tuple[int, int, int]:
    """(busy, total, steal) jiffies of all CPUs so far, from /proc/stat; zeros where
    unreadable. Steal is time the hypervisor gave this VM's CPUs to someone else."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    steal = fields[7] if len(fields) > 7 else 0
    return sum(fields) - idle, sum(fields), steal


def _busy_between(before: tuple[int, int, int], after: tuple[int, int, int]) -> float | None:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else None


def _steal_between(before: tuple[int, int, int], after: tuple[int, int, int]) -> float | None:
    total = after[1] - before[1]
    return (after[2] - before[2]) / total if total > 0 else None


def _wait_for_quiet(ns: argparse.Namespace) -> float | None:
    """Wait (up to ``--quiet-timeout``) until the machine is less busy than ``--quiet-below``
    over a 2 s sample; return the last sample's busy share of all CPUs."""
    deadline = time.monotonic() + ns.quiet_timeout
    while True:
        before = _cpu_ticks()
        time.sleep(2.0)
        busy = _busy_between(before, _cpu_ticks())
        if busy is None or busy < ns.quiet_below or time.monotonic() > deadline:
            return busy


def _run_quietly(cmd: Sequence[str], ns: argparse.Namespace) -> dict[str, Any]:
    """Run ``cmd`` when the machine is quiet; repeat it (up to ``--retries`` times) when
    others kept more than ``--quiet-below`` of the CPUs busy during the run. Every
    attempt is kept: the result carries the earlier ones under ``"discarded"``."""
    discarded: list[dict[str, Any]] = []
    while True:
        busy_before = _wait_for_quiet(ns)
        ticks = _cpu_ticks()
        load = os.getloadavg()[0]
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        ticks_after = _cpu_ticks()
        busy = _busy_between(ticks, ticks_after)
        steal = _steal_between(ticks, ticks_after)
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        # The child's own share of all CPUs (start-up included, like the window of ``busy``).
        child_cpu = (children1.ru_utime - children0.ru_utime) + (children1.ru_stime - children0.ru_stime)
        own = child_cpu / max(elapsed, 1e-9) / (os.cpu_count() or 1)
        others = None if busy is None else max(0.0, busy - own)
        result["load_before"] = round(load, 2)
        result["busy_before"] = None if busy_before is None else round(busy_before, 3)
        result["busy_during"] = None if busy is None else round(busy, 3)
        result["others_busy_during"] = None if others is None else round(others, 3)
        result["steal_during"] = None if steal is None else round(steal, 4)
        quiet = others is None or others < ns.quiet_below
        if quiet or len(discarded) >= ns.retries:
            result["quiet"] = quiet
            result["discarded"] = discarded
            return result
        discarded.append({k: v for k, v in result.items() if k != "discarded"})


# ---- the session: rounds of every setting, interleaved ----------------------------

def _grid(only: Sequence[str] = ()) -> list[tuple[str, dict[str, Any]]]:
    """``GRID`` without the settings that are the scheduler's defaults under another name
    (and, given ``only``, without those not named in it)."""
    defaults = _current_defaults()
    unknown = set(only) - {label for label, _ in GRID}
    if unknown:
        raise SystemExit(f"--only: no setting named {', '.join(sorted(unknown))}")
    return [(label, kwargs) for label, kwargs in GRID
            if (label == "default" or {**defaults, **kwargs} != defaults) and (not only or label in only)]


def measure(ns: argparse.Namespace, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run ``ns.rounds`` rounds (after ``previous``'s, when adding to a session), saving the
    JSON after every run so an interrupted session keeps what it measured."""
    grid = _grid(ns.only)
    defaults = _current_defaults()
    workload = {"rockets": ns.rockets, "seed": ns.seed, "mode": "timed", "time_scale": ns.time_scale}
    labels = [label for label, _ in grid] + [ASYNCIO, FLOOR]
    knobs = {label: json.dumps(kwargs) for label, kwargs in grid}
    if previous is not None:
        same = (previous["grid"] == {label: kwargs for label, kwargs in grid} and previous["defaults"] == defaults
                and previous["workload"] == workload)
        if not same:
            raise SystemExit("--add: the grid, the defaults or the workload differ from the file's; start afresh")
        data = dict(previous)
        data["commands"] = [*previous.get("commands", [previous.get("command")]), _command(ns)]
    else:
        data = {"commands": [_command(ns)], "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "workload": workload, "rounds": 0, "cpu_count": os.cpu_count(), "defaults": defaults,
                "quiet_below": ns.quiet_below,
                "grid": {label: kwargs for label, kwargs in grid}, "runs": {label: [] for label in labels}}
    runs: dict[str, list[dict[str, Any]]] = data["runs"]
    first = int(data["rounds"])
    total = first + ns.rounds
    for round_index in range(first, total):
        shift = round_index * len(labels) // max(total, 3)  # rotate: each round starts elsewhere
        for label in labels[shift:] + labels[:shift]:
            result = _run_floor(ns) if label == FLOOR else _run_child(knobs.get(label, ASYNCIO), ns)
            result["round"] = round_index + 1
            runs[label].append(result)
            print(f"round {round_index + 1}/{total} {label:32} {_one_line(label, result)}", flush=True)
            data["medians"] = summarise(runs)
            _save(ns.json, data)
        data["rounds"] = round_index + 1
        _save(ns.json, data)
    return data


def _command(ns: argparse.Namespace) -> str:
    return "python scripts/hybrid_knobs.py " + " ".join(ns.argv)


def _save(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=1) + "\n")
    partial.replace(path)


def _one_line(label: str, result: Mapping[str, Any]) -> str:
    load = (f"(others busy {result['others_busy_during']}, load {result['load_before']}"
            f"{', NOT QUIET' if not result['quiet'] else ''}, {len(result['discarded'])} discarded)")
    if label == FLOOR:
        low = result.get("blocking_low_slack") or {}
        return f"p99 {result['blocking']['p99']:.0f} µs, slack 1 ns {low.get('p99', float('nan')):.0f} µs {load}"
    return f"{result['status']}: p99 {result['p99_us']:,.0f} µs, CPU {result['cpu_s']:.2f} s {load}"


def summarise(runs: Mapping[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Median (and min, max) of p99 and CPU per setting; the floor's p99 per variant.

    Runs the machine disturbed (``quiet`` false: other processes kept more than
    ``--quiet-below`` of the CPUs busy even after the retries) count only when a setting
    has no quiet run; ``quiet_runs`` says how many counted.
    """
    out: dict[str, dict[str, Any]] = {}
    for label, results in runs.items():
        quiet = [r for r in results if r.get("quiet", True)]
        chosen = quiet or list(results)
        if label == FLOOR:
            row: dict[str, Any] = {"runs": len(results), "quiet_runs": len(quiet)}
            for variant in ("blocking", "blocking_low_slack", "spinning"):
                values = [r[variant]["p99"] for r in chosen if r.get(variant)]
                if values:
                    row[variant] = statistics.median(values)
                    row[variant + "_range"] = [min(values), max(values)]
            out[label] = row
            continue
        valid = [r for r in chosen if r["status"] == "valid"]
        row = {"valid_runs": len(valid), "runs": len(results), "quiet_runs": len(quiet)}
        for key in ("p99_us", "p50_us", "cpu_s", "wall_s", "max_us"):
            values = [r[key] for r in valid]
            if values:
                row[key] = statistics.median(values)
                row[key + "_range"] = [min(values), max(values)]
        out[label] = row
    return out


# ---- the chart ------------------------------------------------------------------------

def draw(data: Mapping[str, Any], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    medians = data["medians"]
    floor = medians.get(FLOOR, {}).get("blocking_low_slack")
    fig = Figure(figsize=(11, 7.5), dpi=110)
    fig.subplots_adjust(left=0.08, right=0.97, top=0.93, bottom=0.12)
    canvas: Any = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_yscale("log")
    points: list[tuple[str, float, float, bool]] = []
    current = _current_defaults()
    for label in [*data["grid"], ASYNCIO]:
        row = medians.get(label, {})
        if "p99_us" not in row:
            continue
        x, y = row["cpu_s"], row["p99_us"]
        (x0, x1), (y0, y1) = row["cpu_s_range"], row["p99_us_range"]
        knobs = None if label == ASYNCIO else {**data["defaults"], **data["grid"][label]}
        is_default = knobs == current
        is_asyncio = label == ASYNCIO
        color = "#d62728" if is_default else "#ff7f0e" if is_asyncio else "#1f77b4"
        ax.errorbar([x], [y], xerr=[[x - x0], [x1 - x]], yerr=[[y - y0], [y1 - y]], fmt="none",
                    ecolor=color, alpha=0.3, lw=0.8, zorder=1)
        ax.scatter([x], [y], s=170 if is_default else 60, marker="*" if is_default else "s" if is_asyncio else "o",
                   color=color, edgecolor="black" if is_default else "none", zorder=3)
        text = ASYNCIO if knobs is None else _describe(label, knobs, is_default)
        points.append((text, x, y, is_default or is_asyncio))
    if floor:
        ax.axhline(floor, color="#2ca02c", lw=1.2, ls="--", zorder=0)
        ax.axhline(2 * floor, color="#2ca02c", lw=1.2, ls=":", zorder=0)
    xs = [p[1] for p in points]
    ys = [p[2] for p in points] + ([floor, 2 * floor] if floor else [])
    span = max(xs) - min(xs) or max(xs) or 1.0
    ax.set_xlim(max(0.0, min(xs) - 0.35 * span), max(xs) + 0.35 * span)
    ax.set_ylim(min(ys) / 1.8, max(ys) * 2.2)
    taken: list[tuple[float, float, float, float]] = []
    if floor:
        renderer = canvas.get_renderer()
        lines = ((floor, f"timer floor p99 (blocking, slack 1 ns): {floor:.0f} µs", "top", 1 / 1.06),
                 (2 * floor, f"2 × timer floor: {2 * floor:.0f} µs (target)", "bottom", 1.06))
        for value, text, va, nudge in lines:
            line_label = ax.text(0.995, value * nudge, text, transform=ax.get_yaxis_transform(), ha="right", va=va,
                                 color="#2ca02c", fontsize=9)
            box = line_label.get_window_extent(renderer)
            taken.append((box.x0 - 3, box.y0 - 2, box.x1 + 3, box.y1 + 2))
    workload = data["workload"]
    ax.set_xlabel("CPU seconds per run (process time, median)")
    ax.set_ylabel("p99 lateness, µs (log scale, median)")
    ax.set_title(f"hybrid's knobs: p99 lateness against CPU — {workload['rockets']:,} rockets, time scale "
                 f"{workload['time_scale']:g}, median of {data['rounds']} interleaved rounds "
                 f"(bars: min–max)", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    quiet = data.get("quiet_below")
    note = (f"{data.get('cpu_count')} CPUs, shared with other users. Before each run the script waited for the other "
            f"processes to use < {quiet:.0%} of the CPUs; a run they disturbed more was repeated (up to twice)\n"
            "and counts only when no quiet run exists. " if quiet is not None else "")
    fig.text(0.01, 0.012, f"{note}Data: {path.with_suffix('.json').name}, started {data.get('started_utc', '?')}.",
             fontsize=7.5, color="0.35")
    _place_labels(fig, canvas, ax, points, taken)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def _current_defaults() -> dict[str, Any]:
    """The hybrid's knob defaults as the scheduler module has them now."""
    from schedulers.hybrid import (
        DEFAULT_COALESCE_S,
        DEFAULT_SPIN_BELOW_S,
        DEFAULT_SPIN_BUDGET,
        DEFAULT_SPIN_MARGIN_S,
        DEFAULT_TIMER_SLACK_NS,
    )

    return {"coalesce": DEFAULT_COALESCE_S, "spin_margin": DEFAULT_SPIN_MARGIN_S,
            "spin_budget": DEFAULT_SPIN_BUDGET, "spin_below": DEFAULT_SPIN_BELOW_S,
            "timer_slack_ns": DEFAULT_TIMER_SLACK_NS}


def _describe(label: str, knobs: Mapping[str, Any], is_default: bool) -> str:
    """The label of a point; the scheduler's current default is spelled out."""
    if not is_default and label != "default":
        return label
    slack = "kernel slack" if knobs["timer_slack_ns"] is None else f"slack {knobs['timer_slack_ns']} ns"
    spins = [f"spin {knobs['spin_margin'] * 1e6:g} µs before" if knobs["spin_margin"] else "",
             f"spin gaps below {knobs.get('spin_below', 0.0) * 1e6:g} µs" if knobs.get("spin_below") else ""]
    spin = ", ".join(filter(None, spins)) or "no spin"
    window = f"coalesce {knobs['coalesce'] * 1e6:g} µs" if knobs["coalesce"] else "no coalescing"
    what = f"{window}, {spin}, {slack}"
    if is_default:
        return f"DEFAULT: {what}" if label == "default" else f"DEFAULT: {label}"
    return f"{what} (the defaults when measured)"


def _place_labels(fig: Any, canvas: Any, ax: Any, points: Sequence[tuple[str, float, float, bool]],
                  taken: list[tuple[float, float, float, float]]) -> None:
    """Put each label next to its point where it overlaps nothing placed so far (``taken``:
    the floor lines' labels, the markers, the labels already placed); failing that, where it
    overlaps least. A thin leader line ties each label to its point."""
    renderer = canvas.get_renderer()
    for _, x, y, _ in points:  # the markers themselves
        px, py = ax.transData.transform((x, y))
        taken.append((px - 7, py - 7, px + 7, py + 7))
    offsets = [(14, -4), (-14, -4)]
    for d in (10, 20, 32, 48, 66, 86, 110):
        side = 8 + d // 3
        offsets += [(side, d), (side, -d - 8), (-side, d), (-side, -d - 8)]
    inside = ax.get_window_extent(renderer)
    for text, x, y, bold in sorted(points, key=lambda p: (not p[3], p[1])):
        choice: tuple[float, tuple[int, int]] | None = None
        for dx, dy in offsets:
            rect = _label_box(ax, renderer, text, x, y, dx, dy, bold, remove=True)
            fits = inside.x0 <= rect[0] and rect[2] <= inside.x1 and inside.y0 <= rect[1] and rect[3] <= inside.y1
            if not fits:
                continue
            clash = sum(_overlap_area(rect, other) for other in taken)
            if choice is None or clash < choice[0]:
                choice = (clash, (dx, dy))
            if clash == 0:
                break
        dx, dy = choice[1] if choice is not None else offsets[0]
        taken.append(_label_box(ax, renderer, text, x, y, dx, dy, bold, remove=False))


def _label_box(ax: Any, renderer: Any, text: str, x: float, y: float, dx: int, dy: int, bold: bool,
               remove: bool) -> tuple[float, float, float, float]:
    from matplotlib.text import Text

    label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=8.5,
                        ha="left" if dx > 0 else "right", va="bottom" if dy >= 0 else "top",
                        fontweight="bold" if bold else "normal",
                        arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.6, "shrinkA": 1, "shrinkB": 4})
    label.update_positions(renderer)
    box = Text.get_window_extent(label, renderer)  # the text alone, not its leader line
    if remove:
        label.remove()
    return (box.x0 - 3, box.y0 - 2, box.x1 + 3, box.y1 + 2)


def _overlap_area(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


# ---- report ------------------------------------------------------------------------

def report(data: Mapping[str, Any]) -> None:
    medians = data["medians"]
    floor = medians.get(FLOOR, {})
    low = floor.get("blocking_low_slack")
    floor = {k: v for k, v in floor.items() if k in ("blocking", "blocking_low_slack", "spinning")}
    aio = medians.get(ASYNCIO, {})
    print(f"timer floor p99: {floor}")
    print(f"{'setting':34} {'p99 µs':>8} {'p50 µs':>8} {'CPU s':>7}  p99<=2xfloor  CPU<=asyncio")
    for label in [*data["grid"], ASYNCIO]:
        row = medians.get(label, {})
        if "p99_us" not in row:
            print(f"{label:34} no valid run")
            continue
        ok_p99 = "yes" if low and row["p99_us"] <= 2 * low else "no"
        ok_cpu = "yes" if aio.get("cpu_s") and row["cpu_s"] <= aio["cpu_s"] else "no"
        print(f"{label:34} {row['p99_us']:8.0f} {row['p50_us']:8.1f} {row['cpu_s']:7.3f}  {ok_p99:>12}  {ok_cpu:>12}")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["child"]:
        parser = argparse.ArgumentParser(prog="hybrid_knobs.py child")
        parser.add_argument("knobs")
        parser.add_argument("--rockets", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--time-scale", type=float, required=True)
        c = parser.parse_args(args[1:])
        return child(c.knobs, c.rockets, c.seed, c.time_scale)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rockets", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1969)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--floor-budget", type=float, default=10.0, help="seconds per timer floor run")
    parser.add_argument("--quiet-below", type=float, default=0.15,
                        help="busy share of all CPUs (others') under which the machine counts as quiet")
    parser.add_argument("--quiet-timeout", type=float, default=300.0,
                        help="longest wait for a quiet machine before a run, seconds")
    parser.add_argument("--retries", type=int, default=3, help="repeats of a run the machine disturbed")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--png", type=Path, default=DEFAULT_PNG)
    parser.add_argument("--plot-only", action="store_true", help="redraw the chart from --json")
    parser.add_argument("--add", action="store_true", help="add --rounds rounds to the session in --json")
    parser.add_argument("--only", action="append", default=[],
                        help="a label of GRID to run; repeat for several (default: all of them)")
    ns = parser.parse_args(args)
    ns.argv = args
    if ns.plot_only:
        data = json.loads(ns.json.read_text())
    else:
        data = measure(ns, json.loads(ns.json.read_text()) if ns.add else None)
    draw(data, ns.png)
    report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
