"""A small scaling sweep (N up to 1,000) produces well-formed scaling results."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, TESTS_DIR, load_results, section, write_plugin_distribution

from bench.measure.scale import growth, growth_class, run_point
from bench.results.model import ScalingPoint


def run_scale(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "bench", "scale", *args, "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.slow
def test_small_sweep_is_well_formed(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    proc = run_scale(out, "-s", "heapq,busywait", "--sizes", "100,1000", "--budget", "60")
    scaling = section(load_results(out))["scaling"]
    assert scaling["sizes"] == [100, 1000]
    series = {(p["scheduler"], p["mode"]) for p in scaling["points"]}
    # busywait cannot run on the virtual clock, so it has no virtual series; both are
    # generator-dialect designs, so one body floor series is measured beside them.
    assert series == {("heapq", "switch"), ("heapq", "virtual"), ("busywait", "switch"),
                      ("body-floor/generator", "switch")}
    for p in scaling["points"]:
        assert p["status"] == "ok", p
        assert p["ns_per_resume"] > 0 and p["tracemalloc_bytes_per_rocket"] > 0
        assert p["peak_rss_bytes"] > 1_000_000
    heapq = [p for p in scaling["points"] if (p["scheduler"], p["mode"]) == ("heapq", "switch")]
    assert all(p["body_floor_ns"] > 0 for p in heapq)  # the floor at the same N rides along
    # The chart groups series by family, read from the file: a floor is a reference, no family.
    assert {(p["scheduler"], p["family"]) for p in scaling["points"]} == {
        ("heapq", "teaching"), ("busywait", "teaching"), ("body-floor/generator", None)}
    assert "growth of ns/resume" in proc.stdout
    assert "too few points" in proc.stdout  # two sizes are not enough for a growth exponent


@pytest.mark.slow
def test_sweep_merges_into_existing_results(pipeline_results: Path, tmp_path: Path) -> None:
    target = tmp_path / "merged.json"
    target.write_text(pipeline_results.read_text())
    run_scale(target, "-s", "heapq", "--sizes", "100")
    sb = section(load_results(target))
    assert sb["scaling"]["points"] and sb["runs"] == section(load_results(pipeline_results))["runs"]


@pytest.mark.slow
def test_budget_stops_a_series_and_marks_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    run_scale(out, "-s", "listscan", "--sizes", "100,20000,40000", "--budget", "3")
    points = [p for p in section(load_results(out))["scaling"]["points"] if p["mode"] == "virtual"]
    assert [p["status"] for p in points] == ["ok", "stopped", "stopped"]
    assert "exceeded the 3 s budget at N=20,000" in points[1]["reason"]  # counted on run() alone
    assert "not run: stopped at N=20,000" in points[2]["reason"]
    # Every reader says STOPPED (not ranked, but no failure of the scheduler), never FAILED.
    show = subprocess.run([sys.executable, "-m", "bench", "show", str(out)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    rows = [line.split() for line in show.stdout.splitlines() if line.startswith("listscan ") and "virtual" in line]
    assert [(row[1], row[3]) for row in rows] == [("VALID", "100"), ("STOPPED", "20,000"), ("STOPPED", "40,000")]


@pytest.mark.parametrize("target", ["hangs", "hangs-and-wraps"])
def test_a_point_over_budget_is_stopped_even_when_the_loop_wraps_the_interrupt(
        target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_plugin_distribution(tmp_path, {"hangs": "broken_schedulers:Hangs",
                                         "hangs-and-wraps": "broken_schedulers:HangsAndWrapsInterrupts"})
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(map(str, (tmp_path, TESTS_DIR, ROOT))))
    point = run_point(target, "switch", 50, 1969, 0.2, tmp_path / "point")
    assert point["status"] == "stopped", point
    assert point["reason"] == "exceeded the 0.2 s budget at N=50"


def test_growth_classification() -> None:
    def pts(costs: dict[int, float]) -> list[ScalingPoint]:
        return [ScalingPoint("s", "switch", n, "ok", ns_per_resume=c) for n, c in costs.items()]

    flat = growth(pts({100: 100.0, 1_000: 101.0, 10_000: 100.5, 1_000_000: 102.0}))[("s", "switch")]
    logn = growth(pts({100: 100.0, 1_000: 150.0, 100_000: 220.0, 1_000_000: 300.0}))[("s", "switch")]
    linear = growth(pts({100: 100.0, 1_000: 1_000.0, 3_000: 3_100.0, 10_000: 10_000.0}))[("s", "switch")]
    assert flat is not None and growth_class(flat.slope) == "constant"
    assert logn is not None and growth_class(logn.slope) == "≈ log N"
    assert linear is not None and growth_class(linear.slope) == "linear in N per wake"
    assert linear.stderr < 0.05 and linear.points == 4
    # Three points give no exponent at all: too few to tell a curve from noise.
    assert growth(pts({100: 100.0, 1_000: 150.0, 10_000: 300.0}))[("s", "switch")] is None
