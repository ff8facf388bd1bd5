"""The charts and the selection behind them, without the pipeline: documents are built in
memory, so each case (a body floor, an EARLY run, a stopped scaling series, a history of
many schedulers) is exactly the one under test.

Figures are checked through the ``draw_*`` functions, which return the matplotlib figure
before it is written: what is drawn where, that panels hold data, and that no two texts
overlap once tick labels are pruned (``ticks.text_collisions``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from bench.present import units
from bench.results.model import Document, Histogram
from reports import build, data
from reports.charts.cpu import CPU_COST, cpu_cost, draw_cpu_cost
from reports.charts.lateness import (
    LATENESS_PERCENTILES,
    LATENESS_VS_LOAD,
    draw_lateness_percentiles,
    draw_lateness_vs_load,
    lateness_percentiles,
    lateness_vs_load,
)
from reports.charts.scaling import SCALING, draw_scaling, scaling
from reports.charts.style import DPI, EARLY_HATCH, MAX_LINES_PER_PANEL, MAX_WIDTH_PX, Drawn, figure
from reports.charts.switch import SWITCH_COST, draw_switch_cost, switch_cost
from reports.charts.ticks import log_axis, prune_tick_labels, text_collisions
from reports.charts.trends import TRENDS, draw_trends, trends
from reports.palette import NEUTRAL, PLUGIN_COLOURS, REFERENCE_STYLE, Palette

SCALES = (0.01, 0.002)


# ---- documents built in memory ---------------------------------------------------------

def sample(mean_ns: float, std_ns: float = 5.0) -> dict[str, Any]:
    return {"mean_s": mean_ns * 1e-9, "std_s": std_ns * 1e-9, "median_s": mean_ns * 1e-9,
            "values_s": [mean_ns * 1e-9, mean_ns * 1e-9]}


def percentiles(p50: float) -> dict[str, float]:
    return {"p50": p50, "p90": p50 * 2, "p99": p50 * 4, "p99_9": p50 * 6, "max": p50 * 8, "mean": p50 * 1.5}


def histogram(p50_us: float, wakes: int = 10_000, early: int = 0) -> dict[str, Any]:
    """Log-spaced bins (20 per decade, 10 ns … 100 s) filled around ``p50_us``."""
    edges = [10 ** (-8 + i / 20) for i in range(201)]
    counts = [0] * 200
    centre = next(i for i, e in enumerate(edges) if e * 1e6 >= p50_us)
    spread = [wakes // 2, wakes // 4, wakes // 8, wakes // 16]
    for k, n in enumerate(spread):
        counts[min(centre + 8 * k, 199)] += n
    counts[centre - 4] += wakes - sum(spread) - early
    return {"edges_s": edges, "counts": counts, "zero": 0, "early": early}


def switch_run(name: str, mean_ns: float, status: str = "valid", dialect: str = "generator") -> dict[str, Any]:
    return {"scheduler": name, "mode": "switch", "dialect": dialect, "status": status,
            "reasons": [] if status == "valid" else [f"{status} for the test"],
            "switch": sample(mean_ns) if status in ("valid", "early") else None}


def timed_run(name: str, scale: float, p50_us: float, cpu_us: float, status: str = "valid",
              wasted: float | None = 0.0, early: int = 0) -> dict[str, Any]:
    ok = status in ("valid", "early")
    timed = {
        "runs": 2, "wakes": 10_000, "lateness_us": percentiles(p50_us),
        "lateness_hist": histogram(p50_us, early=early), "early_wakes": early, "worst_early_us": 40.0 if early else 0,
        "cpu_per_wake_us": cpu_us, "cpu_per_wake_us_values": [cpu_us * 0.9, cpu_us * 1.1], "utilisation": 0.3,
        "wasted_resumes": None if wasted is None else wasted * 10_000, "wasted_per_wake": wasted,
        "makespan_s": 1.0, "makespan_std_s": 0.01, "makespan_values_s": [1.0, 1.0], "ideal_makespan_s": 0.9,
        "makespan_x_ideal": 1.1,
    }
    return {"scheduler": name, "mode": "timed", "time_scale": scale, "status": status,
            "reasons": [] if status == "valid" else [f"{status} for the test"], "timed": timed if ok else None}


def document(runs: Iterable[dict[str, Any]], floor_ns: float | None = 40.0,
             body_floors: dict[str, float] | None = None, scaling: dict[str, Any] | None = None,
             created: str = "2026-11-01T10:00:00Z", timer_floors: list[dict[str, Any]] | None = None) -> Document:
    sb: dict[str, Any] = {
        "format": "schedbench-results", "version": 2, "created_utc": created, "command": "test", "preset": "test",
        "complete": True, "interrupted": False,
        "environment": {"python": "3.11", "commit": "a" * 40, "dirty": False},
        "workload": {"rockets": 100, "seed": 1, "measure": "time", "modes": ["switch", "timed"],
                     "time_scales": list(SCALES), "clock": "real"},
        "floor": None if floor_ns is None else sample(floor_ns),
        "body_floors": {k: sample(v) for k, v in (body_floors or {}).items()},
        "timer_floors": timer_floors or [],
        "runs": list(runs), "scaling": scaling,
    }
    return Document.from_json({"version": "1.0", "benchmarks": [], "schedbench": sb}, "test")


def full_document(**kw: Any) -> Document:
    """Switch and timed runs for a handful of schedulers, one EARLY and one INVALID."""
    runs = [switch_run("hybrid", 330), switch_run("heapq", 800), switch_run("asyncio", 4400, dialect="async"),
            switch_run("busywait", 950, "early"), switch_run("broken", 10, "invalid")]
    for scale, load in zip(SCALES, (1, 3), strict=True):
        runs += [timed_run("heapq", scale, 70 * load, 3.0 / load), timed_run("hybrid", scale, 1400 * load, 3.3),
                 timed_run("asyncio", scale, 15_000 * load, 9.7, wasted=None),
                 timed_run("busywait", scale, 4000, 400.0 if scale == 0.01 else 1.9, wasted=20.0),
                 timed_run("broken", scale, 1, 1, "invalid")]
    runs.append(timed_run("listscan", 0.002, 1900, 0.9, "early", wasted=0.5, early=12))
    return document(runs, **kw)


def scaling_section(sizes: tuple[int, ...] = (100, 1000, 10_000)) -> dict[str, Any]:
    def point(name: str, mode: str, n: int, status: str = "ok", ns: float = 800.0) -> dict[str, Any]:
        ok = status == "ok"
        return {"scheduler": name, "mode": mode, "rockets": n, "status": status,
                "reason": None if ok else "exceeded the 3 s budget",
                "ns_per_resume": ns * (1 + n / 1e4) if ok else None,
                "tracemalloc_bytes_per_rocket": 600.0 + n / 100 if ok else None}

    points = [point("heapq", mode, n) for mode in ("switch", "virtual") for n in sizes]
    points += [point("body-floor/generator", "switch", n, ns=300) for n in sizes]
    points += [point("listscan", "virtual", n, ns=9000) for n in sizes[:2]]
    points += [point("listscan", "virtual", n, "stopped") for n in sizes[2:]]
    return {"sizes": list(sizes), "budget_s": 3.0, "seed": 1, "points": points}


def palette_for(doc: Document) -> Palette:
    return build.palette_for(doc, None)


def finished(drawn: Drawn | None) -> Figure:
    assert drawn is not None
    prune_tick_labels(drawn.figure)
    return drawn.figure


def data_axes(fig: Figure) -> list[Axes]:
    """Panels, not the empty axes that hold a legend."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison]


def assert_clean(fig: Figure) -> None:
    """No overlapping or cut texts, and no panel without data."""
    assert text_collisions(fig) == []
    for ax in data_axes(fig):
        assert ax.lines or ax.patches or ax.collections, f"empty panel {ax.get_title()!r}"


def png_size(path: Path) -> tuple[int, int]:
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", raw[16:24])
    return width, height


# ---- the percentile axis -----------------------------------------------------------------

def test_nines_transform() -> None:
    for fraction, x in ((0.0, 0.0), (0.5, math.log10(2)), (0.9, 1.0), (0.99, 2.0), (0.999, 3.0), (0.9999, 4.0)):
        assert data.nines(fraction) == pytest.approx(x)
        assert data.fraction_of_nines(x) == pytest.approx(fraction)
    with pytest.raises(ValueError):
        data.nines(1.0)
    assert [label for _, label in data.NINES_TICKS[:5]] == ["50", "90", "99", "99.9", "99.99"]


def test_percentile_curve_of_a_histogram() -> None:
    hist = Histogram((1e-6, 1e-5, 1e-4, 1e-3, 1e-2), (0, 3, 0, 5), zero=1, early=1)
    curve = data.percentile_curve(hist)
    assert curve is not None
    assert curve.total == 10 and curve.early == 1 and curve.at_or_below_zero == pytest.approx(0.2)
    # (on-time share, first occupied bin), then each occupied bin's cumulative share; empty bins add nothing.
    assert curve.fraction == pytest.approx([0.2, 0.5, 1.0])
    assert curve.lateness_us == pytest.approx([100, 100, 10_000])
    # The last wake sits at 1 - 1/total on the nines axis, not at infinity.
    assert curve.max_nines == pytest.approx(1.0)
    assert curve.x == pytest.approx([data.nines(0.2), data.nines(0.5), 1.0])
    assert data.percentile_curve(None) is None
    assert data.percentile_curve(Histogram((1e-6, 1e-5), (0,), 0, 0)) is None
    on_time = data.percentile_curve(Histogram((1e-6, 1e-5), (0,), 4, 0))
    assert on_time is not None and on_time.fraction == [] and on_time.at_or_below_zero == 1.0


# ---- selection -----------------------------------------------------------------------

def test_switch_bars_carry_body_floor_and_overhead() -> None:
    doc = full_document(body_floors={"generator": 380, "async": 900})
    bars = {b.scheduler: b for b in data.switch_data(doc).bars}
    assert bars["heapq"].body_floor_ns == pytest.approx(380) and bars["heapq"].overhead_ns == pytest.approx(420)
    assert bars["asyncio"].body_floor_ns == pytest.approx(900)
    assert bars["hybrid"].overhead_ns is not None and bars["hybrid"].overhead_ns < 0  # at or under the floor
    assert bars["busywait"].early and "broken" not in bars
    old = {b.scheduler: b for b in data.switch_data(full_document()).bars}
    assert old["heapq"].body_floor_ns is None and old["heapq"].overhead_ns is None


def test_trend_switch_cost_is_in_units_of_the_same_files_bare_send() -> None:
    slow = document([switch_run("heapq", 800), switch_run("hybrid", 400, "early")], floor_ns=40,
                    created="2026-11-01T00:00:00Z")
    fast = document([switch_run("heapq", 400), switch_run("hybrid", 200)], floor_ns=20,
                    created="2026-11-02T00:00:00Z")
    unknown = document([switch_run("heapq", 400)], floor_ns=None, created="2026-11-03T00:00:00Z")
    trend = data.trend_data([slow, fast, unknown])
    # A machine twice as fast halves every time, not the ratio: the line stays flat.
    assert trend.switch_x_floor["heapq"] == pytest.approx([20.0, 20.0, None])  # type: ignore[list-item]
    assert trend.switch_x_floor["hybrid"][:2] == pytest.approx([10.0, 10.0])
    assert trend.switch_early["hybrid"] == [True, False, False]


def test_timed_data_keeps_the_timer_floor_reference() -> None:
    floors = [{"time_scale": 0.01, "wakes": 500, "blocking_default": percentiles(60),
               "blocking_lowered": percentiles(55), "spin": None},
              {"time_scale": 0.002, "wakes": 500, "blocking_default": percentiles(70), "blocking_lowered": None,
               "spin": None}]
    timed = data.timed_data(full_document(timer_floors=floors))
    assert timed.timer_floors[0.01].lateness_us["p50"] == 55 and "lowered" in timed.timer_floors[0.01].kind
    assert timed.timer_floors[0.002].lateness_us["p50"] == 70 and "default" in timed.timer_floors[0.002].kind


def test_scaling_marks_body_floor_series_as_references() -> None:
    sweep = data.scaling_data(full_document(scaling=scaling_section()))
    assert sweep is not None
    series = {(s.scheduler, s.mode): s for s in sweep.series}
    assert series[("body-floor/generator", "switch")].reference
    assert not series[("heapq", "switch")].reference
    assert series[("listscan", "virtual")].stopped_at == 10_000


def test_reference_names_are_grey_and_take_no_plugin_colour() -> None:
    palette = Palette(["body-floor/generator", "zeta", "heapq"])
    assert palette["body-floor/generator"] == REFERENCE_STYLE and palette.colour("bare send") == NEUTRAL
    assert palette.colour("body floor (async)") == NEUTRAL
    assert palette.colour("zeta") == PLUGIN_COLOURS[0]
    with pytest.raises(KeyError):
        palette.colour("not-a-scheduler")


# ---- what each chart function returns ------------------------------------------------------

DRAWERS: dict[str, Callable[[Document, Palette], Drawn | None]] = {
    SWITCH_COST: lambda d, p: draw_switch_cost(data.switch_data(d), p),
    LATENESS_PERCENTILES: lambda d, p: draw_lateness_percentiles(data.timed_data(d), p),
    CPU_COST: lambda d, p: draw_cpu_cost(data.timed_data(d), p),
    LATENESS_VS_LOAD: lambda d, p: draw_lateness_vs_load(data.timed_data(d), p),
    SCALING: lambda d, p: draw_scaling(data.scaling_data(d), p),
}


@pytest.mark.parametrize("name", list(DRAWERS))
def test_each_chart_is_clean_on_a_full_document(name: str) -> None:
    doc = full_document(body_floors={"generator": 380, "async": 900}, scaling=scaling_section())
    fig = finished(DRAWERS[name](doc, palette_for(doc)))
    assert fig.get_size_inches()[0] * DPI <= MAX_WIDTH_PX
    assert_clean(fig)


@pytest.mark.parametrize("name", list(DRAWERS))
def test_each_chart_is_left_out_without_data(name: str) -> None:
    doc = document([switch_run("broken", 1, "invalid"), timed_run("broken", 0.01, 1, 1, "failed")])
    assert DRAWERS[name](doc, palette_for(doc)) is None


def test_writers_return_a_chart_file_of_the_drawn_size(tmp_path: Path) -> None:
    doc = full_document(scaling=scaling_section())
    palette = palette_for(doc)
    timed = data.timed_data(doc)
    written = [switch_cost(data.switch_data(doc), palette, tmp_path / SWITCH_COST),
               lateness_percentiles(timed, palette, tmp_path / LATENESS_PERCENTILES),
               cpu_cost(timed, palette, tmp_path / CPU_COST),
               lateness_vs_load(timed, palette, tmp_path / LATENESS_VS_LOAD),
               scaling(data.scaling_data(doc), palette, tmp_path / SCALING)]
    for chart in written:
        assert chart is not None and chart.alt and chart.title
        assert png_size(tmp_path / chart.name) == (chart.width_px, chart.height_px)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(c.name for c in written if c)  # no temp left
    empty = document([])
    assert switch_cost(data.switch_data(empty), palette, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


# ---- one point per series: no chart --------------------------------------------------------

def test_one_time_scale_means_no_lateness_against_load_chart() -> None:
    doc = document([timed_run("heapq", 0.01, 70, 3), timed_run("hybrid", 0.01, 1400, 3)])
    palette = palette_for(doc)
    assert draw_lateness_vs_load(data.timed_data(doc), palette) is None
    # ... while the charts that do not join points across scales are still drawn.
    assert draw_lateness_percentiles(data.timed_data(doc), palette) is not None
    assert draw_cpu_cost(data.timed_data(doc), palette) is not None


def test_one_size_means_no_scaling_chart() -> None:
    doc = full_document(scaling=scaling_section(sizes=(1000,)))
    assert draw_scaling(data.scaling_data(doc), palette_for(doc)) is None


def test_one_file_or_one_value_per_series_means_no_trend_chart() -> None:
    doc = full_document()
    palette = palette_for(doc)
    assert draw_trends(data.trend_data([doc]), palette) is None
    # Two files, but no scheduler has a value in both: every line would be a dot.
    first = document([switch_run("heapq", 800)], created="2026-11-01T00:00:00Z")
    second = document([switch_run("hybrid", 300)], created="2026-11-02T00:00:00Z")
    assert draw_trends(data.trend_data([first, second]), palette) is None
    assert draw_trends(data.trend_data([doc, doc]), palette) is not None


# ---- what is drawn ------------------------------------------------------------------------

def bar_widths(ax: Axes) -> list[float]:
    return [p.get_width() for p in ax.patches if isinstance(p, Rectangle) and p.get_height() > 0.5]


def test_switch_bars_stack_body_floor_and_overhead() -> None:
    doc = document([switch_run("heapq", 800), switch_run("hybrid", 330)], body_floors={"generator": 380})
    fig = finished(draw_switch_cost(data.switch_data(doc), palette_for(doc)))
    ax = fig.axes[0]
    # hybrid (cheapest, on top): at or under the floor, so the floor alone plus a marker at its cost.
    assert bar_widths(ax) == pytest.approx([380, 380, 420])
    markers = [line for line in ax.lines if line.get_marker() == "D"]
    assert len(markers) == 1 and list(markers[0].get_xdata()) == pytest.approx([330])
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "330 ns: 50 ns under the floor" in texts and "380 floor + 420 overhead" in texts
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"] == pytest.approx([40])
    assert_clean(fig)


def test_switch_chart_keeps_the_ranking_order_and_says_noise_as_the_table_does() -> None:
    """Within a family, least overhead first (the ranking's order), not cheapest first; an
    overhead within its noise band reads ≈ 0 (± band), as in the ranking table."""
    runs = [{**switch_run("heapq", 800), "family": "teaching"},
            {**switch_run("deque", 1000, dialect="async"), "family": "teaching"},
            {**switch_run("hybrid", 388), "family": "this-project"}]
    doc = document(runs, body_floors={"generator": 380, "async": 700})
    fig = finished(draw_switch_cost(data.switch_data(doc), palette_for(doc)))
    ax = fig.axes[0]
    labels = [t.get_text().split("\n")[0] for t in ax.get_yticklabels()]
    assert labels == ["this project", "hybrid", "teaching designs", "deque", "heapq"]  # deque adds 300, heapq 420
    texts = [t.get_text() for t in ax.texts]
    band = units.ns(2 * math.sqrt(5.0**2 + 5.0**2))  # 2·√(σ run² + σ floor²), both 5 ns here
    assert any(t.startswith(f"388 ns = 380 floor + ≈ 0 (± {band}) overhead") for t in texts), texts
    assert any(t.startswith("1,000 ns = 700 floor + 300 overhead") for t in texts), texts
    assert_clean(fig)


def test_switch_bars_without_body_floor_are_whole() -> None:
    doc = document([switch_run("heapq", 800), switch_run("busywait", 950, "early")])
    fig = finished(draw_switch_cost(data.switch_data(doc), palette_for(doc)))
    ax = fig.axes[0]
    assert bar_widths(ax) == pytest.approx([800, 950])
    assert [p.get_hatch() for p in ax.patches if isinstance(p, Rectangle) and p.get_height() > 0.5] == \
        [None, EARLY_HATCH]


def test_cpu_cost_has_its_own_axis_per_time_scale() -> None:
    doc = full_document()
    fig = finished(draw_cpu_cost(data.timed_data(doc), palette_for(doc)))
    cpu = [ax for ax in data_axes(fig) if "0.01" in ax.get_title() or "0.002" in ax.get_title()][:2]
    light, heavy = (ax.get_xlim()[1] for ax in cpu)
    assert light > 100 > heavy  # busy-waiting at 0.01 does not squash the bars at 0.002
    assert all(ax.get_xlim()[0] == 0 for ax in cpu)  # bars start at zero
    assert_clean(fig)


def test_lateness_percentiles_use_the_nines_axis() -> None:
    doc = full_document()
    fig = finished(draw_lateness_percentiles(data.timed_data(doc), palette_for(doc)))
    axes = data_axes(fig)
    assert len(axes) == len(SCALES)
    for ax in axes:
        assert ax.get_yscale() == "log"
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert labels[:4] == ["50", "90", "99", "99.9"]
        assert [round(v, 3) for v in ax.get_xticks()[:4]] == [round(data.nines(f), 3) for f in (0.5, 0.9, 0.99, 0.999)]
    # 10,000 wakes: the slowest sits at 99.99 %, the right end of the axis.
    assert axes[0].get_xlim()[1] == pytest.approx(4.0, rel=0.03)


def test_scaling_separates_virtual_clock_and_draws_body_floors_grey() -> None:
    doc = full_document(scaling=scaling_section())
    fig = finished(draw_scaling(data.scaling_data(doc), palette_for(doc)))
    titles = [ax.get_title() for ax in fig.axes]
    assert any("switch" in t for t in titles) and any("virtual" in t for t in titles)
    switch_panel = next(ax for ax in fig.axes if "switch" in ax.get_title())
    greys = [line for line in switch_panel.lines if line.get_color() == NEUTRAL]
    assert len(greys) == 1 and greys[0].get_linewidth() < 1.5
    strip = next(ax for ax in fig.axes if ax.get_title(loc="left").startswith("stopped"))
    crosses = [line for line in strip.lines if line.get_marker() == "X"]
    assert [c.get_xdata()[0] for c in crosses] == [10_000]  # at the size that stopped
    assert_clean(fig)


def test_scaling_legend_lists_series_under_their_family_when_recorded() -> None:
    section = scaling_section()
    families = {"heapq": "teaching", "listscan": "teaching"}
    untagged = full_document(scaling=section)
    for point in section["points"]:
        point["family"] = families.get(point["scheduler"])
    section["points"] += [{**p, "scheduler": "hybrid", "family": "this-project"}
                          for p in section["points"] if p["scheduler"] == "heapq"]
    doc = full_document(scaling=section)
    legend = finished(draw_scaling(data.scaling_data(doc), palette_for(doc))).legends[0]
    texts = [(t.get_text(), t.get_fontweight()) for t in legend.get_texts()]
    assert [t for t, weight in texts if weight == "bold"] == ["this project", "teaching designs", "references"]
    assert [t for t, _ in texts] == ["this project", "hybrid", "teaching designs", "heapq", "listscan",
                                     "references", "body floor (generator)"]
    # A file from before families were recorded: no headings, never a guessed family.
    legend = finished(draw_scaling(data.scaling_data(untagged), palette_for(untagged))).legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["heapq", "listscan", "body floor (generator)"]


def test_trends_split_into_panels_of_at_most_eight_lines(tmp_path: Path) -> None:
    names = [f"plugin-{i:02d}" for i in range(11)]
    docs = [document([switch_run(n, 500 + 10 * i) for i, n in enumerate(names)]
                     + [timed_run(n, 0.01, 100 + i, 1) for i, n in enumerate(names[:3])],
                     created=f"2026-11-0{day}T00:00:00Z") for day in (1, 2, 3)]
    trend = data.trend_data(docs)
    palette = Palette(names)
    fig = finished(draw_trends(trend, palette))
    counts = [len([line for line in ax.lines if line.get_linestyle() != "None"]) for ax in data_axes(fig)]
    assert counts == [6, 5, 3]  # 11 switch lines in two panels, then p99 at one time scale
    assert all(count <= MAX_LINES_PER_PANEL for count in counts)
    assert "bare send" in data_axes(fig)[0].get_title(loc="left")
    assert_clean(fig)
    chart = trends(trend, palette, tmp_path / TRENDS)
    assert chart is not None and png_size(tmp_path / TRENDS) == (chart.width_px, chart.height_px)


def test_tick_labels_that_would_collide_are_pruned() -> None:
    fig = figure(300, 200)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_xlim(100, 100_000)
    ax.plot([100, 100_000], [0, 1])
    log_axis(ax.xaxis)
    ax.xaxis.set_minor_formatter(FuncFormatter(units.tick))  # every minor tick: they must collide
    assert text_collisions(fig) != []
    prune_tick_labels(fig)
    assert text_collisions(fig) == []
    major = [t.get_text() for t, x in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True) if 100 <= x <= 100_000]
    assert major == ["100", "1,000", "10,000", "100,000"]  # majors win over minor labels


# ---- the build ------------------------------------------------------------------------------

def test_build_lists_every_chart_once_and_removes_the_retired_cdf(tmp_path: Path) -> None:
    assert LATENESS_PERCENTILES in build.CHART_NAMES and "lateness_cdf.png" not in build.CHART_NAMES
    assert len(set(build.CHART_NAMES)) == len(build.CHART_NAMES)
    doc = full_document(scaling=scaling_section())
    out = tmp_path / "report"
    out.mkdir()
    (out / "lateness_cdf.png").write_bytes(b"old")
    report = build.build(doc, tmp_path / "results.json", out)
    assert not (out / "lateness_cdf.png").exists()
    assert {c.name for c in report.charts} == {SWITCH_COST, LATENESS_PERCENTILES, CPU_COST,
                                               LATENESS_VS_LOAD, SCALING}
    html = report.index.read_text(encoding="utf-8")
    for chart in report.charts:
        assert f'src="{chart.name}"' in html


def test_build_says_why_a_chart_is_missing(tmp_path: Path) -> None:
    doc = document([timed_run("heapq", 0.01, 70, 3)])
    report = build.build(doc, tmp_path / "results.json", tmp_path / "report")
    missing = dict(report.missing)
    assert "two time scales" in missing["Lateness against load"]
    assert "no scaling section" in missing["Scaling with N"]


# ---- one order: family, then the chart's figure ------------------------------------------------

def test_palette_orders_by_family_then_figure_and_keeps_unrecorded_last() -> None:
    palette = Palette(["zeta", "heapq", "hybrid", "asyncio", "uvloop"],
                      {"heapq": "teaching", "hybrid": "this-project", "asyncio": "production", "uvloop": "production"})
    cost = {"zeta": 1.0, "heapq": 2.0, "hybrid": 3.0, "asyncio": 9.0, "uvloop": 5.0}
    assert palette.order(cost, cost.get) == ["uvloop", "asyncio", "hybrid", "heapq", "zeta"]
    assert palette.family("zeta") == "unrecorded"  # never guessed from a name
    assert [g for g, _ in palette.groups(cost, cost.get)] == ["production", "this-project", "teaching", "unrecorded"]


def test_cpu_chart_draws_no_wasted_panel_when_nothing_is_wasted() -> None:
    doc = document([timed_run("heapq", 0.01, 70, 3), timed_run("hybrid", 0.01, 1400, 3)])
    fig = finished(draw_cpu_cost(data.timed_data(doc), palette_for(doc)))
    assert len(data_axes(fig)) == 1
    assert "every counted value is 0" in fig.get_supxlabel() or "no scheduler counts it" in fig.get_supxlabel()
    assert_clean(fig)
