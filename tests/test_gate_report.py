"""The gate file's table (``bench.present.gate_table``), forest plot and HTML page.

Fast: a synthetic ``GateDocument`` with one row of each kind — a gated regression, no
change, inconclusive (too few pairs), an improvement, a reported-only p99 — at both
levels, plus a failed side; nothing is measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench.present.gate_table import gate_table, verdict_sentence
from bench.results.gate_file import Failure, GateDocument, PairedFigure, Side, dump_gate, load_gate

ROOT = Path(__file__).resolve().parents[1]


def _pairs(a: float, ratio: float, n: int = 12) -> tuple[tuple[float, float], ...]:
    return tuple((a * (1 + 0.01 * (i % 3)), a * ratio * (1 + 0.01 * (i % 3))) for i in range(n))


def make_doc(*, same_sides: bool = False, failures: bool = True, complete: bool = True) -> GateDocument:
    process = "its loop holds global state (a second instance in one process would share it)"
    inproc = "pure Python and stateless: pairs interleaved in one process cost less noise"
    figures = (
        PairedFigure(scheduler="asyncio", figure="switch_ns", level="process", level_reason=process, gated=True,
                     pairs=_pairs(1500, 1.051), min_effect=0.02, estimate=0.051, low=0.039, high=0.064,
                     confidence=0.95, verdict="regression"),
        PairedFigure(scheduler="asyncio", figure="cpu_per_wake_us", level="process", level_reason=process,
                     gated=True, pairs=_pairs(12.5, 1.004), min_effect=0.03, estimate=0.004, low=-0.011,
                     high=0.018, confidence=0.95, verdict="no change"),
        PairedFigure(scheduler="asyncio", figure="lateness_p99_us", level="process", level_reason=process,
                     gated=False, pairs=_pairs(900, 1.4), min_effect=0.1, estimate=0.4, low=0.12, high=0.71,
                     confidence=0.95, verdict="regression"),
        PairedFigure(scheduler="heapq", figure="switch_ns", level="in-process", level_reason=inproc, gated=True,
                     pairs=_pairs(640, 0.97), min_effect=0.01, estimate=-0.031, low=-0.042, high=-0.02,
                     confidence=0.95, verdict="improvement"),
        PairedFigure(scheduler="heapq", figure="lateness_p50_us", level="in-process", level_reason=inproc,
                     gated=True, pairs=_pairs(80, 1.0, n=2), min_effect=0.05, verdict="inconclusive",
                     note="only 2 pairs: an interval needs 5"),
    )
    sides = (Side(label="A", spec="main", root="/tmp/a", python="/usr/bin/python3", commit="3f2a9c1d0e4b" * 3,
                  dirty=False, python_version="3.12.1", loops={"uvloop": "0.19.0"}),
             Side(label="B", spec="<feature|x>", root="/tmp/b", python="/usr/bin/python3", commit="9e8d7c6b5a" * 4,
                  dirty=True, python_version="3.12.1"))
    return GateDocument(created_utc="2025-01-02T03:04:05Z", command="python -m bench gate main HEAD",
                        complete=complete, interrupted=not complete, same_sides=same_sides, sides=sides,
                        workload={"rockets": 2000, "seed": 7}, settings={"pairs": 12, "confidence": 0.95},
                        environment={"cpu_model": "Test CPU <b>", "cpu_count": 8}, figures=figures,
                        failures=(Failure(side="B", scheduler="trio", reason="ImportError: no module trio"),)
                        if failures else (), elapsed_s=42.0)


@pytest.fixture
def gate_file(tmp_path: Path) -> Path:
    path = tmp_path / "gate.json"
    dump_gate(path, make_doc())
    return path


def test_round_trip() -> None:
    doc = make_doc()
    again = GateDocument.from_json(json.loads(json.dumps(doc.to_json())), "x")
    assert again == doc
    assert not again.passed


def test_text_table_verdicts_and_estimates() -> None:
    text = gate_table(make_doc())
    assert "FAILED: 1 of the 4 gated scheduler × figure comparisons regressed (asyncio switch +5.1% [+3.9, +6.4])" \
        in text
    assert "1 side could not be measured (B trio)" in text
    assert "B trio: ImportError: no module trio" in text
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("asyncio") and "switch (ns)" in line)
    assert "regression" in row and "±2.0%" in row and "process" in row and "1,5" in row
    p99 = next(line for line in lines if "lateness p99" in line)
    assert p99.rstrip().endswith("reported") and "+40.0% [+12.0, +71.0]" in p99
    assert "– (too few pairs)" in next(line for line in lines if "lateness p50" in line)
    assert "-3.1% [-4.2, -2.0]" in text and "improvement" in text
    assert "heapq: in-process — pure Python" in text
    assert "A = main (3f2a9c1d, clean, Python 3.12.1)" in text and "dirty" in text
    assert "A/A" not in text and "INCOMPLETE" not in text


def test_aa_and_incomplete_are_said_first() -> None:
    doc = make_doc(same_sides=True, failures=False, complete=False)
    doc = replace(doc, figures=tuple(f for f in doc.figures if f.verdict != "regression" or not f.gated))
    text = gate_table(doc)
    assert text.startswith("INCOMPLETE (interrupted)")
    assert "A/A run: both sides resolved to the same tree" in text
    assert verdict_sentence(doc).startswith("A/A run") and "PASSED: none of the 3 gated" in verdict_sentence(doc)


def test_markdown_table() -> None:
    md = gate_table(make_doc(same_sides=True), markdown=True)
    assert md.startswith("**A/A run")
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 5
    assert all(row.count(" | ") == 8 for row in rows[2:])
    assert "\\<feature\\|x&gt;" not in md and "&lt;feature\\|x&gt;" in md  # a spec cannot break the table
    assert "| reported |" in md and "| regression |" in md and "+5.1% \\[+3.9, +6.4\\]" in md


def test_page_through_the_cli(gate_file: Path, tmp_path: Path) -> None:
    from reports.cli import main

    out = tmp_path / "report"
    assert main([str(gate_file), "-o", str(out)]) == 0
    page = (out / "index.html").read_text()
    assert (out / "forest.png").stat().st_size > 0 and (out / "forest.svg").stat().st_size > 0
    doc = load_gate(gate_file)
    from html import escape

    assert escape(verdict_sentence(doc)) in page
    assert page.index("FAILED") < page.index("forest.png") < page.index("<table")
    assert "&lt;feature|x&gt;" in page and "<feature|x>" not in page
    assert "Test CPU &lt;b&gt;" in page
    assert "How to read this" in page


def test_forest_plot_labels_do_not_collide() -> None:
    from reports.charts.forest import draw_forest
    from reports.charts.ticks import text_collisions

    doc = make_doc()
    many = tuple(replace(f, scheduler=f"plugin-{i:02d}") for i in range(10) for f in doc.figures)
    for figures in (doc.figures[:1], doc.figures, many):
        drawn = draw_forest(replace(doc, figures=figures))
        assert drawn is not None
        assert text_collisions(drawn.figure) == []
    assert draw_forest(replace(doc, figures=())) is None


@pytest.mark.parametrize("change", [
    lambda g: g.update(figures=[{"scheduler": "x"}]),
    lambda g: g.update(version=99),
    lambda g: g["sides"].pop(),
])
def test_a_malformed_gate_file_is_one_line_and_exit_2(gate_file: Path, change: Any) -> None:
    raw = json.loads(gate_file.read_text())
    change(raw["schedbench_gate"])
    gate_file.write_text(json.dumps(raw))
    proc = subprocess.run([sys.executable, "-m", "reports", str(gate_file), "-o", str(gate_file.parent / "out")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("python -m reports: error: ") and str(gate_file) in proc.stderr
    assert not (gate_file.parent / "out").exists()


def test_a_gate_file_with_no_figure_still_builds(tmp_path: Path) -> None:
    from reports.gate_page import build_gate

    (tmp_path / "switch_cost.png").write_bytes(b"stale")  # a suite report's chart from an earlier build
    report = build_gate(replace(make_doc(), figures=()), tmp_path / "gate.json", tmp_path)
    assert report.chart is None and not (tmp_path / "forest.png").exists()
    assert not (tmp_path / "switch_cost.png").exists()
    assert "No figure was measured" in report.index.read_text()
    assert "No figure was measured." in gate_table(replace(make_doc(), figures=()))


def test_the_last_gate_beside_a_results_file_closes_the_verdict_in_show_and_on_the_page(
        pipeline_results: Path, tmp_path: Path) -> None:
    """``make bench-gate`` leaves results/gate.json beside results/latest.json: ``show`` and
    the page end their verdict with its result; an unreadable one costs that sentence only."""
    import shutil

    results = tmp_path / "latest.json"
    shutil.copyfile(pipeline_results, results)
    dump_gate(tmp_path / "gate.json", make_doc())
    expected = f"Last gate (gate.json, 2025-01-02T03:04:05Z): {verdict_sentence(make_doc())}"
    assert expected.startswith("Last gate (gate.json, 2025-01-02T03:04:05Z): FAILED: 1 of the 4 gated")

    def show() -> str:
        proc = subprocess.run([sys.executable, "-m", "bench", "show", str(results)], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return " ".join(proc.stdout.split())  # the text table wraps long sentences

    def page() -> str:
        out = tmp_path / f"report-{len(list(tmp_path.iterdir()))}"
        proc = subprocess.run([sys.executable, "-m", "reports", str(results), "-o", str(out)], capture_output=True,
                              text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return (out / "index.html").read_text(encoding="utf-8")

    verdict, _, answer = show().partition("Ranking:")
    assert "Verdict:" in verdict and f"- {expected}" in verdict and expected not in answer
    assert '<li id="verdict-gate">Last gate (gate.json, 2025-01-02T03:04:05Z): FAILED' in page()
    (tmp_path / "gate.json").write_text('{"schedbench_gate": {"format"')  # truncated by a full disk
    assert "Last gate" not in show() and "Verdict:" in show()
    assert 'id="verdict-gate"' not in page()
