"""Every chart the report draws, checked in matplotlib's renderer: no text overlaps another
text, no text is cut by the canvas edge, and no panel is drawn without data (issue #25).

The charts are drawn from the committed reference files (``results/reference``): a full
suite file (switch, timed and io runs), the instruction, syscall and echo files beside it,
a scaling sweep, a two-file history, a quick-like file (one time scale), and the suite file
as committed, whose runs record no family (the "unrecorded" group). Families are added in
memory with the built-in mapping, as a newer file records them.

The checker measures rendered boxes (``Text.get_window_extent`` after ``canvas.draw``), so
it sees what a reader sees at the chart's own pixel size, but not pixels: a line running
through a label is not caught. It is written here, apart from the charts' own pruning
(``reports.charts.ticks``), so the test does not trust the code it checks; the last tests
draw deliberately broken figures to show that it can fail.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from bench.results.echo_file import EchoDocument
from bench.results.model import Document
from bench.results.store import read_json
from reports import build
from reports.charts.style import Drawn, figure
from reports.charts.ticks import prune_tick_labels
from reports.history import History

REFERENCE = Path(__file__).resolve().parent.parent / "results" / "reference"
SUITE = REFERENCE / "2026-12-03T1212-default.json"
OLDER_SUITE = REFERENCE / "2026-11-22T0458-default.json"
INSTRUCTIONS = REFERENCE / "2026-12-03T1225-instructions.json"
SYSCALLS = REFERENCE / "syscalls-aa" / "aa-10-repeats.json"
ECHO = REFERENCE / "2026-12-02-echo-default.json"
SCALING = REFERENCE / "2026-11-22-scaling-all.json"

#: The built-in schedulers' families, as the plugin contract records them.
FAMILIES: dict[str, str] = {
    **dict.fromkeys(("asyncio", "uvloop", "trio", "anyio", "anyio-trio", "gevent", "twisted", "rloop"), "production"),
    "hybrid": "this-project",
    **dict.fromkeys(("listscan", "busywait", "heapq", "deque"), "teaching"),
}
#: Pixels two boxes may share before they count as overlapping (antialiased edges).
TOLERANCE_PX = 1.0


# ---- sample reports ------------------------------------------------------------------------

def with_families(raw: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(raw)
    for run in doc["schedbench"]["runs"]:
        run["family"] = FAMILIES.get(run["scheduler"], "third-party")
        if run.get("last_valid"):
            run["last_valid"]["family"] = run["family"]
    return doc


def quick_like(raw: dict[str, Any]) -> dict[str, Any]:
    """What ``make bench-quick`` writes: switch and timed runs at one time scale only."""
    doc = copy.deepcopy(raw)
    sb = doc["schedbench"]
    sb["runs"] = [r for r in sb["runs"] if r["mode"] == "switch" or (r["mode"] == "timed" and r["time_scale"] == 0.01)]
    sb["workload"]["modes"], sb["workload"]["time_scales"] = ["switch", "timed"], [0.01]
    sb["timer_floors"] = [f for f in sb.get("timer_floors") or [] if f["time_scale"] == 0.01]
    return doc


@cache
def raw(path: Path) -> dict[str, Any]:
    return json.loads(json.dumps(read_json(path)))  # a private copy: cases change it


def model(doc: dict[str, Any], name: str) -> Document:
    return Document.from_json(doc, name)


def reports() -> Iterator[tuple[str, build.ChartPlan, Any]]:
    """(report, plan, inputs) for every chart of every sample report."""
    suite = model(with_families(raw(SUITE)), "suite")
    older = model(with_families(raw(OLDER_SUITE)), "older")
    cases: dict[str, dict[str, Any]] = {
        "full": {"document": suite, "instructions": model(with_families(raw(INSTRUCTIONS)), "instructions"),
                 "syscalls": model(with_families(raw(SYSCALLS)), "syscalls"),
                 "echo_file": EchoDocument.from_json(raw(ECHO), "echo"),
                 "history": History([(OLDER_SUITE, older), (SUITE, suite)])},
        "quick": {"document": model(quick_like(with_families(raw(SUITE))), "quick")},
        "unrecorded": {"document": model(raw(SUITE), "as committed")},
        "scaling": {"document": model(raw(SCALING), "scaling")},
    }
    for report, inputs in cases.items():
        palette = build.palette_for(inputs["document"], inputs.get("history"), inputs.get("instructions"),
                                    inputs.get("echo_file"))
        for plan in build.chart_plans(palette=palette, **inputs):
            yield report, plan, inputs


PLANS = {f"{report}/{plan.name}": plan for report, plan, _ in reports()}


# ---- the checker ---------------------------------------------------------------------------

def _renderer(fig: Figure) -> RendererAgg:
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    drawn: RendererAgg = canvas.get_renderer()  # type: ignore[no-untyped-call]
    return drawn


def _shown_tick_labels(ax: Axes) -> tuple[set[int], set[int]]:
    """(all tick labels, those drawn): ticks past the locator's locations or outside the
    view are kept by matplotlib for reuse but not drawn."""
    every: set[int] = set()
    shown: set[int] = set()
    for axis in (ax.xaxis, ax.yaxis):
        low, high = sorted(axis.get_view_interval())
        slack = 1e-9 * max(abs(low), abs(high), 1e-300)
        for minor in (False, True):
            locs = axis.get_minorticklocs() if minor else axis.get_majorticklocs()
            ticks = axis.get_minor_ticks(len(locs)) if minor else axis.get_major_ticks(len(locs))
            every.update(id(label) for tick in (axis.minorTicks if minor else axis.majorTicks)
                         for label in (tick.label1, tick.label2))
            for tick, loc in zip(ticks, locs, strict=False):
                if ax.get_visible() and low - slack <= loc <= high + slack:
                    shown.update(id(label) for label in (tick.label1, tick.label2))
    return every, shown


def text_boxes(fig: Figure) -> list[tuple[str, Bbox]]:
    """Every visible text with its rendered box; a legend counts as one box (its entries
    are laid out by the legend itself)."""
    measure = _renderer(fig)
    legends = [leg for leg in fig.findobj(Legend) if leg.get_visible()]
    in_legend = {id(t) for leg in legends for t in leg.findobj(Text)}
    ticks: set[int] = set()
    shown: set[int] = set()
    for ax in fig.axes:
        every, drawn = _shown_tick_labels(ax)
        ticks |= every
        shown |= drawn
    boxes = []
    for text in fig.findobj(Text):
        if id(text) in in_legend or not text.get_visible() or not text.get_text().strip():
            continue
        if id(text) in ticks and id(text) not in shown:
            continue
        boxes.append((text.get_text(), text.get_window_extent(measure)))
    return boxes + [(f"<legend {i}>", leg.get_window_extent(measure)) for i, leg in enumerate(legends)]


def _overlap(a: Bbox, b: Bbox) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE_PX) and (min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE_PX)


def overlaps(fig: Figure) -> list[str]:
    boxes = text_boxes(fig)
    return [f"{a!r} overlaps {b!r}" for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:]
            if _overlap(box, other)]


def clipped(fig: Figure) -> list[str]:
    canvas = fig.bbox
    return [f"{name!r} is cut by the canvas edge" for name, box in text_boxes(fig)
            if box.x0 < canvas.x0 - TOLERANCE_PX or box.y0 < canvas.y0 - TOLERANCE_PX
            or box.x1 > canvas.x1 + TOLERANCE_PX or box.y1 > canvas.y1 + TOLERANCE_PX]


def _has_data(ax: Axes) -> bool:
    """A line with a finite point in data coordinates (not a rule across the axes), a bar
    of non-zero size, or a non-empty collection."""
    for line in ax.lines:
        if isinstance(line, Line2D) and line.get_transform() == ax.transData:
            xs, ys = (list(map(float, v)) for v in line.get_data())
            if any(math.isfinite(x) and math.isfinite(y) for x, y in zip(xs, ys, strict=False)):
                return True
    if any(isinstance(p, Rectangle) and p.get_width() and p.get_height() for p in ax.patches):
        return True
    return any(isinstance(c, Collection) and len(c.get_offsets()) for c in ax.collections)


def empty_panels(fig: Figure) -> list[str]:
    """Panels (visible axes with their frame on; not the empty axes that hold a legend)
    without data."""
    return [f"empty panel {ax.get_title() or ax.get_ylabel()!r}" for ax in fig.axes
            if ax.get_visible() and ax.axison and not _has_data(ax)]


def problems(fig: Figure) -> list[str]:
    return overlaps(fig) + clipped(fig) + empty_panels(fig)


def finished(drawn: Drawn | None) -> Figure:
    """The figure as it is written: tick labels that would collide are pruned first."""
    assert drawn is not None
    prune_tick_labels(drawn.figure)
    return drawn.figure


# ---- every chart of every sample report ------------------------------------------------------

@cache
def drawn(key: str) -> Drawn | None:
    return PLANS[key].draw()


def test_the_samples_draw_every_chart() -> None:
    names = {key for key in PLANS if drawn(key) is not None}
    for chart in ("switch_cost", "io_cost", "instructions", "echo_latency", "lateness_percentiles", "cpu_cost",
                  "lateness_vs_load", "trends"):
        assert f"full/{chart}.png" in names
    assert "scaling/scaling.png" in names and "quick/cpu_cost.png" in names
    assert "unrecorded/lateness_vs_load.png" in names


@pytest.mark.parametrize("key", list(PLANS))
def test_no_text_overlaps_or_is_cut_and_no_panel_is_empty(key: str) -> None:
    chart = drawn(key)
    if chart is None:
        pytest.skip(f"not drawn for this sample: {PLANS[key].why}")
    assert problems(finished(chart)) == []


# ---- the checker can fail --------------------------------------------------------------------

def broken(kind: str) -> Figure:
    fig = figure(400, 300)
    ax = fig.subplots()
    ax.plot([1, 2], [1, 2])
    if kind == "overlap":
        fig.suptitle("a title under a legend", x=0.99, ha="right")
        fig.legend(handles=[Line2D([], [], label="a legend on the title")], loc="upper right")
    elif kind == "clipped":
        fig.text(0.7, 0.02, "a footnote running past the right edge of the canvas")
    elif kind == "empty":
        fig.subplots(1, 2)[1].set_title("nothing here")
        ax.remove()
        fig.axes[0].bar([1], [0])  # a bar of zero length is no data
    return fig


def test_the_checker_finds_overlapping_texts() -> None:
    assert any("legend" in p for p in overlaps(broken("overlap")))


def test_the_checker_finds_clipped_text() -> None:
    assert clipped(broken("clipped")) == ["'a footnote running past the right edge of the canvas' is cut by the "
                                          "canvas edge"]


def test_the_checker_finds_empty_panels() -> None:
    assert len(empty_panels(broken("empty"))) == 2


def test_a_clean_figure_passes() -> None:
    assert problems(broken("none")) == []
