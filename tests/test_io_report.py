"""The io mode in the report: the chart of cost per resume over the I/O floor, the answer's
sentence, and the io table on the page and in the summary.

Documents are built in memory from the file format, so each case (a run under the floor,
an INVALID run with a figure, a FAILED one without, a SKIPPED one, two runs within the
noise) is exactly the one under test. The chart's texts are checked in matplotlib's own
renderer: nothing overlaps, nothing is cut by the canvas edge.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from bench.present.io_table import io_table
from bench.results.model import Document
from reports import build, io_data, markdown
from reports.charts.io import GREYED_FACE, IO_COST, draw_io_cost, io_cost
from reports.charts.style import BODY_FLOOR_COLOUR, DPI, EARLY_HATCH, MAX_WIDTH_PX, Drawn
from reports.charts.ticks import prune_tick_labels, renderer, text_collisions
from reports.palette import GROUP_TITLES

FLOOR_NS = 5000.0


def sample(mean_ns: float, std_ns: float = 50.0) -> dict[str, Any]:
    return {"mean_s": mean_ns * 1e-9, "std_s": std_ns * 1e-9, "median_s": mean_ns * 1e-9,
            "values_s": [(mean_ns - std_ns) * 1e-9, (mean_ns + std_ns) * 1e-9]}


def io_run(name: str, mean_ns: float | None, status: str = "valid", std_ns: float = 50.0,
           spurious: int = 0) -> dict[str, Any]:
    return {"scheduler": name, "mode": "io", "status": status,
            "reasons": [] if status == "valid" else [f"{status} for the test"],
            "switch": None if mean_ns is None else sample(mean_ns, std_ns),
            "spurious_wakes": spurious, "message_size": 64, "rockets": 200,
            "processes": [{"runs": 1, "wall_s": 0.1, "cpu_s": 0.1, "resumes": 1000, "cpu_per_wake_us": 6.0,
                           "spurious": spurious}]}


def switch_run(name: str, mean_ns: float) -> dict[str, Any]:
    return {"scheduler": name, "mode": "switch", "dialect": "generator", "status": "valid", "reasons": [],
            "switch": sample(mean_ns, 5)}


def document(runs: Iterable[dict[str, Any]], io_floor_ns: float | None = FLOOR_NS) -> Document:
    sb: dict[str, Any] = {
        "format": "schedbench-results", "version": 2, "created_utc": "2026-11-01T10:00:00Z", "command": "test",
        "preset": "test", "complete": True, "interrupted": False,
        "environment": {"python": "3.11", "commit": "a" * 40, "dirty": False},
        "workload": {"rockets": 400, "seed": 1, "measure": "time", "modes": ["switch", "io"], "time_scales": [],
                     "clock": "real"},
        "floor": sample(40, 1), "body_floors": {"generator": sample(380, 5)},
        "io_floor": None if io_floor_ns is None else sample(io_floor_ns, 40), "timer_floors": [],
        "runs": list(runs), "scaling": None,
    }
    return Document.from_json({"version": "1.0", "benchmarks": [], "schedbench": sb}, "test")


def io_document(**kw: Any) -> Document:
    """Every case at once: ranked runs (one under the floor, two within the noise), an EARLY
    run, an INVALID run with a figure (never charted), a FAILED one without, a SKIPPED one,
    plus switch runs."""
    return document([
        switch_run("hybrid", 330), switch_run("heapq", 800),
        io_run("asyncio", 9000, spurious=12), io_run("hybrid", 6000, std_ns=300), io_run("heapq", 6200, std_ns=300),
        io_run("listscan", 4900), io_run("deque", 7000, "early"), io_run("gevent", 3000, "invalid"),
        io_run("trio", None, "failed"),
        io_run("uvloop", None, "skipped"),
    ], **kw)


def palette_for(doc: Document) -> Any:
    return build.palette_for(doc, None)


def finished(drawn: Drawn | None) -> Figure:
    assert drawn is not None
    prune_tick_labels(drawn.figure)
    return drawn.figure


def texts_of(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


# ---- selection and the sentence -----------------------------------------------------------

def test_io_data_follows_the_io_table_order_and_sets_skipped_aside() -> None:
    doc = io_document()
    sockets = io_data.io_data(doc)
    table = io_table(doc)
    assert table is not None
    assert [b.scheduler for b in sockets.bars] == [r.scheduler for r in table.rows if r.status.value != "skipped"]
    assert [b.scheduler for b in sockets.ranked] == ["listscan", "hybrid", "heapq", "asyncio"]
    bars = {b.scheduler: b for b in sockets.bars}
    assert bars["listscan"].overhead_ns == pytest.approx(-100)
    assert bars["heapq"].place == "≈2"  # within the noise of hybrid, as the table says
    assert bars["gevent"].place == "–" and not bars["gevent"].ranked
    assert bars["gevent"].mean_ns is None  # INVALID: in the table, never a chart value
    assert bars["deque"].mean_ns == pytest.approx(7000) and not bars["deque"].ranked  # EARLY: charted, flagged
    assert bars["trio"].mean_ns is None
    assert [s.scheduler for s in sockets.skipped] == ["uvloop"]
    assert sockets.pairs == 100 and sockets.message_size == 64


# ---- the chart ------------------------------------------------------------------------

def test_io_chart_stacks_the_floor_and_the_overhead_in_table_order() -> None:
    doc = io_document()
    sockets = io_data.io_data(doc)
    fig = finished(draw_io_cost(sockets, palette_for(doc)))
    ax = fig.axes[0]
    labels = [t.get_text().split("\n")[0] for t in ax.get_yticklabels()]
    labels = [label for label in labels if label not in GROUP_TITLES.values()]  # family headings
    assert labels == [b.scheduler for b in sockets.bars]
    assert "uvloop" not in labels  # SKIPPED: not drawn...
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() > 0.5]
    floors = [p for p in bars if p.get_facecolor()[:3] == pytest.approx(to_rgb(BODY_FLOOR_COLOUR))]
    # listscan: under the floor, so its grey bar is its cost, short of the floor line: no negative bar.
    assert all(p.get_width() > 0 for p in bars)
    assert sorted(round(p.get_width()) for p in floors) == [4900, 5000, 5000, 5000, 5000]
    overhead = sorted((round(p.get_x()), round(p.get_width())) for p in bars if p not in floors)
    assert overhead == [(5000, 1000), (5000, 1200), (5000, 2000), (5000, 4000)]  # all on top of the floor
    assert [np.asarray(line.get_xdata())[0] for line in ax.lines if line.get_linestyle() == "--"] == \
        pytest.approx([FLOOR_NS])
    diamonds = [np.asarray(line.get_xdata()).tolist() for line in ax.lines if line.get_marker() == "D"]
    assert diamonds == [[pytest.approx(4900)]]
    greyed = [p for p in bars if p.get_facecolor()[:3] == pytest.approx(to_rgb(GREYED_FACE))]
    assert len(greyed) == 1 and greyed[0].get_hatch() == EARLY_HATCH  # deque: EARLY, greyed and hatched
    texts = " ".join(t.get_text() for t in texts_of(fig))
    assert "EARLY, not ranked: 7,000 ns" in texts and "rank ≈2" in texts
    assert "INVALID: not charted — invalid for the test" in texts  # a row, no bar
    assert "FAILED: not charted — failed for the test" in texts
    assert "Not drawn (SKIPPED): uvloop" in texts  # ... but listed in the footnote
    assert "12 spurious" in texts
    assert len(ax.collections) >= 5  # an error bar per drawn run


def test_io_chart_texts_do_not_overlap_and_stay_inside_the_figure() -> None:
    doc = io_document()
    fig = finished(draw_io_cost(io_data.io_data(doc), palette_for(doc)))
    assert fig.get_size_inches()[0] * DPI <= MAX_WIDTH_PX
    measure = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    renderer(fig)  # drawn once more: the layout engine has placed every text
    canvas = fig.bbox
    texts = texts_of(fig)
    joined = "\n".join(t.get_text() for t in texts)
    # Every kind of text is among those checked: title, axis label, row labels, figures, footnote.
    for needle in ("Waiting on sockets (io mode)", "wall time per resume", "rank 1", "EARLY, not ranked",
                   "floor + 1,000 overhead", "Not drawn (SKIPPED)", "I/O floor = 5,000 ± 40 ns"):
        assert needle in joined, needle
    boxes = []
    for text in texts:
        box = text.get_window_extent(measure)
        assert canvas.x0 - 1 <= box.x0 and box.x1 <= canvas.x1 + 1, f"{text.get_text()!r} cut at the side"
        assert canvas.y0 - 1 <= box.y0 and box.y1 <= canvas.y1 + 1, f"{text.get_text()!r} cut at the top/bottom"
        boxes.append((text, box))
    legend = fig.axes[1].get_legend()
    assert legend is not None
    legend_box = legend.get_window_extent(measure)
    inside = {id(t) for t in legend.findobj(Text)}
    for i, (text, box) in enumerate(boxes):
        if id(text) not in inside:
            assert not box.overlaps(legend_box), f"{text.get_text()!r} runs into the legend"
        for other, obox in boxes[i + 1:]:
            if id(text) in inside and id(other) in inside:
                continue  # the legend lays out its own entries
            assert not box.shrunk(0.98, 0.9).overlaps(obox.shrunk(0.98, 0.9)), \
                f"{text.get_text()!r} overlaps {other.get_text()!r}"
    assert text_collisions(fig) == []


def test_io_chart_draws_a_syscalls_panel_only_when_given_counts() -> None:
    doc = io_document()
    sockets, palette = io_data.io_data(doc), palette_for(doc)
    plain = finished(draw_io_cost(sockets, palette))
    assert len([ax for ax in plain.axes if ax.axison]) == 1
    assert len([ax for ax in finished(draw_io_cost(sockets, palette, {})).axes if ax.axison]) == 1
    counts = {"hybrid": {"epoll_wait": 1.0, "recvfrom": 1.0, "sendto": 1.0},
              "asyncio": {"epoll_wait": 1.0, "recvfrom": 1.0, "sendto": 1.0, "getpid": 0.5}}
    fig = finished(draw_io_cost(sockets, palette, counts))
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == 2 and "system calls per resume" in panels[1].get_title(loc="left")
    widths = sorted(p.get_width() for p in panels[1].patches if isinstance(p, Rectangle) and p.get_height() > 0.5)
    assert widths == pytest.approx([3.0, 3.5])
    assert text_collisions(fig) == []


def test_io_chart_without_a_floor_draws_whole_bars() -> None:
    doc = document([io_run("hybrid", 6000), io_run("heapq", 7000)], io_floor_ns=None)
    fig = finished(draw_io_cost(io_data.io_data(doc), palette_for(doc)))
    ax = fig.axes[0]
    widths = [p.get_width() for p in ax.patches if isinstance(p, Rectangle) and p.get_height() > 0.5]
    assert widths == pytest.approx([6000, 7000])
    texts = " ".join(t.get_text() for t in texts_of(fig))
    assert "No I/O floor in this file" in texts and "each bar is the whole cost per resume" in texts
    assert "overhead" not in texts  # nothing to subtract: no overhead is claimed
    assert text_collisions(fig) == []


def test_io_chart_is_not_drawn_without_a_figure(tmp_path: Path) -> None:
    doc = document([io_run("trio", None, "failed"), io_run("uvloop", None, "skipped")])
    assert draw_io_cost(io_data.io_data(doc), palette_for(doc)) is None
    assert io_cost(io_data.io_data(doc), palette_for(doc), tmp_path / IO_COST) is None
    assert not (tmp_path / IO_COST).exists()


# ---- the report -------------------------------------------------------------------------

def test_a_file_with_io_runs_gets_the_chart_the_sentence_and_the_table(tmp_path: Path) -> None:
    doc = io_document()
    report = build.build(doc, tmp_path / "results.json", tmp_path / "report")
    assert IO_COST in {c.name for c in report.charts}
    assert (report.directory / IO_COST).is_file()
    html = report.index.read_text(encoding="utf-8")
    assert f'src="{IO_COST}"' in html
    # The sockets sentence is the verdict's (one sentence per question, first on the page).
    assert 'id="verdict-sockets"' in html and "Waiting on sockets (this file records no families" in html
    assert "every loop compared): listscan" in html
    assert 'id="answer-io-table"' in html and "what each scheduler adds per readiness wake" in html
    summary = report.summary.read_text(encoding="utf-8")
    assert "Waiting on sockets (this file records no families: every loop compared): listscan" in summary
    assert "what each scheduler adds per readiness wake" in summary and f"`{IO_COST}`" in summary
    assert markdown.render(doc).count("Waiting on sockets") == 2  # the sentence and the table's title


def test_a_file_without_io_runs_has_neither_chart_nor_sentence(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / IO_COST).write_bytes(b"stale")  # from an earlier build of a file with io runs
    doc = document([switch_run("hybrid", 330), switch_run("heapq", 800)])
    report = build.build(doc, tmp_path / "results.json", out)
    assert IO_COST not in {c.name for c in report.charts} and not (out / IO_COST).exists()
    assert all("sockets" not in title for title, _ in report.missing)  # not even "not drawn"
    html = report.index.read_text(encoding="utf-8")
    summary = report.summary.read_text(encoding="utf-8")
    for text in (html, summary):
        assert "Waiting on sockets" not in text and IO_COST not in text


def test_io_runs_without_a_figure_say_why_the_chart_is_missing(tmp_path: Path) -> None:
    doc = document([switch_run("hybrid", 330), io_run("trio", None, "failed")])
    report = build.build(doc, tmp_path / "results.json", tmp_path / "report")
    assert dict(report.missing)["Waiting on sockets: cost per resume"] == "no io-mode run with a figure"
    assert "no io run is VALID" in report.index.read_text(encoding="utf-8")


def test_the_report_takes_a_syscall_file_for_the_second_panel(tmp_path: Path) -> None:
    """``--syscalls FILE``: the io runs' calls per resume by name feed the second panel; a
    syscall file given as RESULTS, or a wall-time file as --syscalls, is refused."""
    from conftest import ROOT

    from bench.results import store
    from reports.cli import main
    from reports.io_data import syscalls_per_wake

    counted = ROOT / "results" / "reference" / "syscalls-aa" / "second-run.json"
    calls = syscalls_per_wake(store.load(counted))
    assert {"hybrid", "asyncio", "uvloop"} <= set(calls)
    assert calls["hybrid"]["recvfrom"] == calls["asyncio"]["recvfrom"] > 0  # the bodies' own, the same for all
    assert calls["uvloop"]["epoll_ctl"] > calls["hybrid"]["epoll_ctl"]
    assert main([str(counted), "-o", str(tmp_path / "x")]) == 2
