"""The echo file in the report (``python -m reports RESULTS --echo FILE``): the chart of
latency against offered load, the answer's "latency under load" sentence, the echo table
on the page and in the summary, and the one-line errors of the option.

Echo documents are built in memory through ``EchoDocument.from_json`` (the file format), so
each case — two VALID servers, a FAILED one, a client-limited point — is exactly the one
under test. The chart is inspected through matplotlib's own objects: which lines carry
which points, and that no text overlaps another or the canvas edge.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bench.results.echo_file import EchoDocument
from bench.results.model import Document
from reports import build, echo_data, markdown
from reports.charts.echo import ECHO_LATENCY, FOOTNOTE, LIMITED_EDGE, draw_echo_latency, echo_latency
from reports.charts.ticks import text_collisions
from reports.cli import main
from reports.palette import Palette

LIMITED_RATE = 120_000.0


def point(rate: float, p99: float, limited: bool = False, p50: float | None = None) -> dict[str, Any]:
    return {"mode": "open", "offered_rate": rate, "achieved_rate": rate, "p50_us": p50 or min(p99, 40.0),
            "p99_us": p99, "p999_us": p99 * 1.5, "max_us": p99 * 2, "sent": 1000, "received": 1000,
            "errors": {"corrupt": 0}, "client_busy_share": 0.99 if limited else 0.4, "lag_p99_us": 5.0,
            "client_limited": limited, "limited_reason": "the client was busy 99% of the time" if limited else "",
            "server_cpu_per_request_us": 12.0, "client": "c"}


def probe(rate: float) -> dict[str, Any]:
    return {**point(rate, 150.0), "mode": "closed", "offered_rate": None}


def server(name: str, points: list[dict[str, Any]], knees: tuple[float | None, float | None], status: str = "valid",
           size: int = 1024, connections: int = 10, reasons: tuple[str, ...] = ()) -> dict[str, Any]:
    scheduler, _, variant = name.partition("/")
    return {"name": name, "scheduler": scheduler, "variant": variant or "default", "size": size,
            "connections": connections, "in_flight": 1, "status": status, "reasons": list(reasons),
            "probe": probe(max((p["offered_rate"] for p in points), default=1000.0)) if points else None,
            "points": points, "knees": {"p99<1ms": knees[0], "p99<10ms": knees[1]}}


def echo_json(servers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schedbench_echo": {"format": "schedbench-echo", "version": 1, "created_utc": "2026-12-02T16:49:09Z",
                                "command": "python -m bench echo", "complete": True,
                                "environment": {"cpu_count": 2}, "settings": {"point_s": 2.0}, "servers": servers}}


def two_valid_one_failed() -> list[dict[str, Any]]:
    """uvloop/protocol wins (1 ms knee 70,000/s, a client-limited point above), hybrid is
    runner-up (40,000/s), trio FAILED."""
    return [
        server("hybrid", [point(10_000, 80), point(40_000, 500), point(60_000, 1_500)], (40_000.0, 60_000.0)),
        server("trio", [], (None, None), "failed", reasons=("the server did not start: boom",)),
        server("uvloop/protocol", [point(10_000, 100), point(50_000, 300), point(70_000, 700), point(90_000, 2_000),
                                   point(LIMITED_RATE, 400, limited=True)], (70_000.0, 90_000.0)),
    ]


def echo_doc(servers: list[dict[str, Any]] | None = None) -> EchoDocument:
    return EchoDocument.from_json(echo_json(two_valid_one_failed() if servers is None else servers), "test")


def suite_json() -> dict[str, Any]:
    """A minimal wall-time results file: the report's RESULTS."""
    sample = {"mean_s": 330e-9, "std_s": 5e-9, "median_s": 330e-9, "values_s": [325e-9, 335e-9]}
    sb: dict[str, Any] = {
        "format": "schedbench-results", "version": 2, "created_utc": "2026-11-01T10:00:00Z", "command": "test",
        "preset": "test", "complete": True, "interrupted": False,
        "environment": {"python": "3.11", "commit": "a" * 40, "dirty": False},
        "workload": {"rockets": 400, "seed": 1, "measure": "time", "modes": ["switch"], "time_scales": [],
                     "clock": "real"},
        "floor": None, "body_floors": {}, "io_floor": None, "timer_floors": [], "scaling": None,
        "runs": [{"scheduler": "hybrid", "mode": "switch", "dialect": "generator", "status": "valid", "reasons": [],
                  "switch": sample}],
    }
    return {"version": "1.0", "benchmarks": [], "schedbench": sb}


def suite_document() -> Document:
    return Document.from_json(suite_json(), "test")


def palette_for(doc: EchoDocument) -> Palette:
    return Palette(echo_data.scheduler_names(doc))


def drawn(doc: EchoDocument) -> tuple[Figure, Palette]:
    palette = palette_for(doc)
    chart = draw_echo_latency(echo_data.cells(doc, palette), palette)
    assert chart is not None
    return chart.figure, palette


def plotted(fig: Figure) -> list[Line2D]:
    return [line for ax in fig.axes for line in ax.get_lines()]


def colour(line: Line2D) -> str:
    return to_hex(line.get_color()).lower()


# ---- selection and sentence ------------------------------------------------------------------

def test_cells_follow_the_table_order_and_leave_failed_servers_and_client_limited_points_out() -> None:
    doc = echo_doc()
    [cell] = echo_data.cells(doc, palette_for(doc))
    assert [line.name for line in cell.lines] == ["uvloop/protocol", "hybrid"]
    assert [s.name for s in cell.not_drawn] == ["trio"]
    uvloop = cell.lines[0]
    assert [p.offered_rate for p in uvloop.drawn] == [10_000, 50_000, 70_000, 90_000]
    assert [p.offered_rate for p in uvloop.limited] == [LIMITED_RATE]
    assert uvloop.knee_point() is not None and uvloop.knee_point().offered_rate == 70_000  # type: ignore[union-attr]


def test_sentence_names_the_winner_its_knee_the_runner_up_and_the_cell() -> None:
    sentence = echo_data.echo_answer(echo_doc())
    assert sentence == ("Latency under load (1,024-byte messages, 10 connections, open loop, one message in flight "
                        "per connection): uvloop/protocol keeps "
                        "p99 under 1 ms up to 70,000 messages/s; runner-up hybrid, 40,000 messages/s, beyond the 5 % "
                        "knee resolution; one sweep, so no spread between sweeps to test the margin against.")


def test_sentence_says_lower_bound_close_knees_and_no_knee() -> None:
    bounded = two_valid_one_failed()
    bounded[2]["points"] = bounded[2]["points"][:3] + bounded[2]["points"][4:]  # nothing above 70,000/s broke 1 ms
    bounded[0]["knees"]["p99<1ms"] = 68_000.0
    sentence = echo_data.echo_answer(echo_doc(bounded))
    assert sentence is not None
    assert "up to at least 70,000 messages/s" in sentence and "within the 5 % knee resolution" in sentence
    never = [server("asyncio/streams", [point(3_000, 4_000)], (None, 3_000.0)),
             server("uvloop/streams", [point(5_000, 300), point(9_000, 2_000)], (5_000.0, 9_000.0))]
    sentence = echo_data.echo_answer(echo_doc(never))
    assert sentence is not None and "uvloop/streams keeps p99 under 1 ms up to 5,000 messages/s" in sentence
    assert ("runner-up asyncio/streams has no 1 ms knee (p99 4,000 µs already at its lightest load, 3,000 "
            "messages/s; 10 ms knee 3,000 messages/s)") in sentence
    none_valid = echo_data.echo_answer(echo_doc([server("trio", [], (None, None), "failed")]))
    assert none_valid is not None and "no echo server is VALID" in none_valid


def test_the_table_marks_a_knee_that_is_only_a_lower_bound() -> None:
    from bench.present.echo_table import echo_tables

    bounded = two_valid_one_failed()
    bounded[2]["points"] = bounded[2]["points"][:3] + bounded[2]["points"][4:]  # nothing above 70,000/s broke 1 ms
    knees = {row.scheduler: row.cells[2].text for row in echo_tables(echo_doc(bounded))[0].rows}
    assert knees["uvloop/protocol"] == "≥ 70,000"
    assert not any(text.startswith("≥") for name, text in knees.items() if name != "uvloop/protocol"), knees
    exact = {row.scheduler: row.cells[2].text for row in echo_tables(echo_doc())[0].rows}
    assert exact["uvloop/protocol"] == "70,000"


# ---- the chart ---------------------------------------------------------------------------------

def test_the_chart_file_is_written(tmp_path: Path) -> None:
    doc = echo_doc()
    palette = palette_for(doc)
    chart = echo_latency(echo_data.cells(doc, palette), palette, tmp_path / ECHO_LATENCY)
    assert chart is not None and chart.name == ECHO_LATENCY
    assert (tmp_path / ECHO_LATENCY).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "uvloop/protocol 1 ms knee 70,000/s" in chart.alt and "trio FAILED" in chart.alt


def test_the_failed_server_is_not_drawn_and_named_in_the_footnote() -> None:
    fig, palette = drawn(echo_doc())
    trio = palette.colour("trio").lower()
    assert not [line for line in plotted(fig) if colour(line) == trio]
    assert all("trio" not in text.get_text() for legend in fig.legends for text in legend.get_texts())
    note = fig.get_supxlabel()
    assert FOOTNOTE in note and "Not drawn: trio (FAILED) — the server did not start: boom" in note


def test_the_client_limited_point_is_hollow_grey_never_on_the_server_line() -> None:
    fig, palette = drawn(echo_doc())
    uvloop = palette.colour("uvloop").lower()
    solid = [line for line in plotted(fig) if colour(line) == uvloop and line.get_linestyle() == "-"]
    assert len(solid) == 1  # the p99 line
    assert list(solid[0].get_xdata()) == [10_000, 50_000, 70_000, 90_000]
    for line in plotted(fig):
        if LIMITED_RATE in list(line.get_xdata()):
            assert line.get_linestyle() == "None" and line.get_markerfacecolor() == "white"
            assert to_hex(line.get_markeredgecolor()) == LIMITED_EDGE
    assert any(LIMITED_RATE in list(line.get_xdata()) for line in plotted(fig))
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    labels = [text.get_text() for legend in legends for text in legend.get_texts()]
    assert "client-limited: not the\nserver's figure" in labels


def test_lines_keep_the_scheduler_colour_p99_solid_p50_dotted_and_the_knee_ringed() -> None:
    fig, palette = drawn(echo_doc())
    hybrid = palette.colour("hybrid").lower()
    mine = [line for line in plotted(fig) if colour(line) == hybrid]
    assert {line.get_linestyle() for line in mine} >= {"-", ":"}
    rings = [line for line in mine if line.get_markerfacecolor() == "none"]
    assert [(list(r.get_xdata()), list(r.get_ydata())) for r in rings] == [([40_000], [500])]
    bounds = sorted(line.get_ydata()[0] for line in plotted(fig) if line.get_linestyle() == "--")
    assert bounds == [1_000, 10_000]


def test_variants_share_their_scheduler_colour_and_differ_by_marker() -> None:
    doc = echo_doc([server("asyncio/protocol", [point(5_000, 300), point(9_000, 900)], (9_000.0, 9_000.0)),
                    server("asyncio/streams", [point(4_000, 700), point(8_000, 3_000)], (4_000.0, 8_000.0))])
    fig, palette = drawn(doc)
    p99 = [line for line in plotted(fig) if line.get_linestyle() == "-"]
    assert {colour(line) for line in p99} == {palette.colour("asyncio").lower()}
    assert len({line.get_marker() for line in p99}) == 2


def test_no_text_overlaps_or_leaves_the_canvas() -> None:
    fig, _ = drawn(echo_doc())
    assert text_collisions(fig) == []


def test_several_cells_are_small_multiples_and_do_not_collide() -> None:
    servers = [
        *two_valid_one_failed(),
        *(server(name, [point(r / 10 * k, 60 * k * k) for k in range(1, 6)], (r / 10 * 3, r / 10 * 5),
                 size=size, connections=connections)
          for size, connections, r in ((10_240, 10, 40_000), (1024, 100, 120_000), (102_400, 1, 4_000))
          for name in ("hybrid", "uvloop/protocol", "uvloop/streams", "asyncio/protocol", "trio", "gevent")),
    ]
    fig, _ = drawn(echo_doc(servers))
    assert len(fig.axes) == 4
    # The test's servers record no family: each cell is one panel of the unrecorded group.
    assert sorted(ax.get_title() for ax in fig.axes) == [
        f"{cell}\nfamily not recorded" for cell in ("1,024-byte messages, 10 connections",
                                                     "1,024-byte messages, 100 connections",
                                                     "10,240-byte messages, 10 connections",
                                                     "102,400-byte messages, 1 connection")]
    assert text_collisions(fig) == []


def test_nothing_is_drawn_without_a_valid_server() -> None:
    doc = echo_doc([server("trio", [], (None, None), "failed")])
    palette = palette_for(doc)
    assert draw_echo_latency(echo_data.cells(doc, palette), palette) is None


# ---- the report and the command line -----------------------------------------------------------

def test_the_report_with_an_echo_file_has_the_sentence_the_table_and_the_chart(tmp_path: Path) -> None:
    echo = echo_doc()
    report = build.build(suite_document(), tmp_path / "results.json", tmp_path / "report", echo_file=echo,
                         echo_source=tmp_path / "echo.json")
    assert ECHO_LATENCY in {c.name for c in report.charts} and (report.directory / ECHO_LATENCY).is_file()
    html = report.index.read_text(encoding="utf-8")
    assert f'src="{ECHO_LATENCY}"' in html
    assert 'id="verdict-echo"' in html and "uvloop/protocol keeps p99 under 1 ms up to 70,000 messages/s" in html
    assert 'id="answer-echo-table"' in html and "Echo servers: 1,024-byte messages, 10 connection(s)" in html
    assert "uvloop/protocol: 1,024 B × 10 connection(s), load points" in html  # details
    summary = report.summary.read_text(encoding="utf-8")
    assert "uvloop/protocol keeps p99 under 1 ms up to 70,000 messages/s" in summary
    assert "Echo servers: 1,024-byte messages, 10 connection(s)" in summary and f"`{ECHO_LATENCY}`" in summary
    assert "Latency under load" not in markdown.render(suite_document())


def test_a_report_without_echo_removes_a_stale_echo_chart(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / ECHO_LATENCY).write_bytes(b"stale")
    report = build.build(suite_document(), tmp_path / "results.json", out)
    assert not (out / ECHO_LATENCY).exists()
    assert "Latency under load" not in report.index.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", ["suite file", "not json", "echo as RESULTS"])
def test_echo_option_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    case: str) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(suite_json()))
    echo = tmp_path / "echo.json"
    echo.write_text(json.dumps(echo_json(two_valid_one_failed())))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    argv = {"suite file": [str(results), "--echo", str(results)],
            "not json": [str(results), "--echo", str(broken)],
            "echo as RESULTS": [str(echo)]}[case]
    assert main([*argv, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m reports: error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()
    if case == "suite file":
        assert "not an echo file; --echo takes a file written by `python -m bench echo`" in err


def test_the_command_line_takes_echo_beside_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results, echo = tmp_path / "results.json", tmp_path / "echo.json"
    results.write_text(json.dumps(suite_json()))
    echo.write_text(json.dumps(echo_json(two_valid_one_failed())))
    assert main([str(results), "--echo", str(echo), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / ECHO_LATENCY).is_file()
    assert str(echo) in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert capsys.readouterr().out.startswith("report: ")
