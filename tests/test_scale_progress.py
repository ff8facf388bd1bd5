"""``bench scale`` says what it will do before its first point, then one line per point as
it finishes: a sweep that runs for minutes is never silent, and a sweep too short for a
growth slope says so up front instead of after the work.

Most tests drive ``scale.sweep`` with a stand-in for ``run_point`` (no child process, no
timing); one runs the real command at two tiny sizes (about a second).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from bench.cli.commands import Progress
from bench.measure import scale
from bench.measure.registry import SchedulerEntry
from bench.results.model import Scaling, ScalingPoint
from schedulers.heapq_timers import HeapqScheduler


def point(status: str = "ok", n: int = 100) -> ScalingPoint:
    if status != "ok":
        return ScalingPoint("heapq", "switch", n, status, reason="why")
    return ScalingPoint("heapq", "switch", n, "ok", ns_per_resume=500.0, tracemalloc_bytes_per_rocket=540.0,
                        run_s=0.01, elapsed_s=0.2)


def test_each_point_is_one_numbered_line_with_its_time_and_the_sweeps() -> None:
    ticks = iter([0.0, 1.5, 4.0])
    stream = io.StringIO()
    progress = Progress(2, stream, clock=lambda: next(ticks))
    progress(point())
    progress(point("stopped", 1000))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[1/2] heapq") and "N=      100" in lines[0]
    assert "point 0.200 s" in lines[0] and "(sweep 1.500 s)" in lines[0]
    assert lines[1].startswith("[2/2]") and "STOPPED: why" in lines[1] and "(sweep 4.000 s)" in lines[1]


def test_opening_line_says_how_many_sizes_a_slope_needs() -> None:
    enough = list(range(100, 100 + scale.MIN_GROWTH_POINTS))
    line = scale.opening_line(["heapq"], enough, 8, 150.0)
    assert f"a growth slope needs ≥ {scale.MIN_GROWTH_POINTS} sizes" in line and "no slopes" not in line
    short = scale.opening_line(["heapq", "asyncio"], [100, 1000, 10000], 9, 150.0)
    assert "N = 100, 1,000, 10,000: 9 points" in short
    assert "3 given, so this sweep reports no slopes" in short
    assert "\n" not in short


def test_too_few_sizes_is_one_line_not_one_per_series() -> None:
    points = tuple(ScalingPoint(name, "switch", n, "ok", ns_per_resume=100.0)
                   for name in ("heapq", "asyncio") for n in (100, 1000, 10000))
    summary = scale.growth_summary(scale.Sweep(Scaling((100, 1000, 10000), 150.0, 1969, points), False))
    assert summary == "growth of ns/resume: not computed, too few points (3 sizes measured; a slope needs ≥ 4)"


def test_every_point_is_reported_as_it_finishes_the_ones_not_run_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stopped series still counts its remaining sizes, so the count reaches its total."""
    stream = io.StringIO()
    lines_before_each_run: list[int] = []

    def fake_run_point(target: str, mode: str, rockets: int, *_: Any) -> dict[str, Any]:
        lines_before_each_run.append(len(stream.getvalue().splitlines()))
        if target == "heapq" and rockets >= 1000:  # heapq exceeds its budget at 1,000
            return {"status": "stopped", "reason": "exceeded the budget", "elapsed_s": 1.0}
        return {"status": "ok", "ns_per_resume": 300.0, "tracemalloc_bytes_per_rocket": 500.0, "run_s": 0.01,
                "elapsed_s": 0.1}

    monkeypatch.setattr(scale, "run_point", fake_run_point)
    entry = SchedulerEntry("heapq", "built-in", "schedulers.heapq_timers:HeapqScheduler", cls=HeapqScheduler)
    sizes = [100, 1000, 10000]
    total = len(scale.series([entry], ["switch"])) * len(sizes)
    result = scale.sweep([entry], sizes, 1969, 5.0, report=Progress(total, stream), modes=["switch"])
    lines = stream.getvalue().splitlines()
    # Each point's line was out before the next point started.
    assert lines_before_each_run == [0, 1, 3, 4, 5]  # heapq 10,000 was never run
    assert len(lines) == total == len(result.points) == 6
    assert lines[-1].startswith(f"[{total}/{total}]")
    assert "STOPPED: not run: stopped at N=1,000" in lines[2]


def test_the_command_opens_with_the_plan_then_a_line_per_point(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bench", "scale", "-s", "heapq", "--mode", "switch",
                           "--sizes", "100,200", "--budget", "10", "-o", str(tmp_path / "scale.json")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.splitlines()
    # heapq and the generator body floor, at two sizes each.
    assert err[0].startswith("scaling sweep: heapq over N = 100, 200: 4 points")
    assert "2 given, so this sweep reports no slopes" in err[0]
    assert [line.split("]")[0] for line in err[1:]] == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert "too few points (2 sizes measured" in proc.stdout  # stdout keeps the results only
    assert "[1/4]" not in proc.stdout
