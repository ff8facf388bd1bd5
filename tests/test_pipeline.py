"""End to end at a tiny size: the real pyperf pipeline, read back through pyperf's own API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyperf
import pytest
from conftest import ROOT, load_results, run_pipeline, section

from bench.results import store


def test_pyperf_reads_the_results_file(pipeline_results: Path) -> None:
    suite = pyperf.BenchmarkSuite.load(str(pipeline_results))
    names = set(suite.get_benchmark_names())
    assert {"floor", "switch/heapq", "switch/listscan", "switch/asyncio"} <= names
    assert {"body-floor/generator", "body-floor/async"} <= names  # one body floor per dialect in the suite
    sb = section(load_results(pipeline_results))
    assert set(sb["body_floors"]) == {"generator", "async"}
    assert sorted(t["time_scale"] for t in sb["timer_floors"]) == [0.002, 0.01]  # a timer floor per scale
    assert {"timed/0.01/heapq", "timed/0.002/asyncio"} <= names
    # The INVALID scheduler's measurements are not in the pyperf suite.
    assert not any("loses-rocket" in n for n in names)
    for bench in suite.get_benchmarks():
        assert all(v > 0 for v in bench.get_values())
        assert len(bench.get_runs()) >= 2  # several worker processes
    for command in (["stats"], ["hist"], ["compare_to", str(pipeline_results)]):
        proc = subprocess.run([sys.executable, "-m", "pyperf", *command, str(pipeline_results)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr


def test_metadata_is_complete(pipeline_results: Path) -> None:
    sb = section(load_results(pipeline_results))
    env = sb["environment"]
    for key in ("python", "cpu_model", "cpu_count", "timer_slack_ns", "gc_enabled", "commit", "clock", "platform"):
        assert key in env, key
    assert env["timer_slack_ns"] is None or env["timer_slack_ns"] > 0
    assert env["clock"]["kind"] == "real"
    w = sb["workload"]
    assert (w["rockets"], w["seed"], w["time_scales"]) == (200, 1969, [0.01, 0.002])
    assert sb["complete"] is True and sb["interrupted"] is False
    assert sb["floor"]["mean_s"] > 0 and sb["floor"]["std_s"] >= 0


def test_switch_figures_are_sane(pipeline_results: Path) -> None:
    sb = section(load_results(pipeline_results))
    floor = sb["floor"]["mean_s"]
    for run in sb["runs"]:
        if run["mode"] != "switch" or run["status"] != "valid":
            continue
        sw = run["switch"]
        assert sw["mean_s"] > 0 and sw["std_s"] >= 0 and len(sw["values_s"]) >= 2
        doc = store.load(pipeline_results)
        run_model = next(r for r in doc.runs if r.key == ("switch", run["scheduler"], None))
        assert doc.x_floor(run_model) == pytest.approx(sw["mean_s"] / floor)
        body = sb["body_floors"][run["dialect"]]["mean_s"]
        assert doc.overhead_ns(run_model) == pytest.approx((sw["mean_s"] - body) * 1e9)


def test_timed_figures_are_sane(pipeline_results: Path) -> None:
    sb = section(load_results(pipeline_results))
    timed = [r for r in sb["runs"] if r["mode"] == "timed" and r["status"] == "valid"]
    assert {(r["scheduler"], r["time_scale"]) for r in timed} >= {("heapq", 0.01), ("asyncio", 0.002)}
    for run in timed:
        t = run["timed"]
        late = t["lateness_us"]
        assert late["p50"] <= late["p90"] <= late["p99"] <= late["p99_9"] <= late["max"]
        assert late["p50"] >= 0  # valid runs never wake early
        assert t["cpu_per_wake_us"] > 0 and len(t["cpu_per_wake_us_values"]) == t["runs"] >= 2
        assert 0 < t["utilisation"] <= 1.5  # CPU can slightly exceed wall on 2 cores (GC, threads)
        assert t["makespan_s"] >= t["ideal_makespan_s"] > 0
        assert t["early_wakes"] == 0
        hist = t["lateness_hist"]
        wakes = t["runs"] * sb["workload"]["total_sleeps"]
        assert sum(hist["counts"]) + hist["zero"] + hist["early"] == t["wakes"] == wakes
        for proc in run["processes"]:
            assert proc["lateness_us"]["p50"] <= proc["lateness_us"]["p99"]
    listscan = next(r for r in timed if r["scheduler"] == "listscan")
    assert listscan["timed"]["wasted_resumes"] > 0  # a polling design wastes resumes
    heapq = next(r for r in timed if r["scheduler"] == "heapq")
    assert heapq["timed"]["wasted_resumes"] == 0


def test_invalid_plugin_is_recorded_with_reason(pipeline_results: Path) -> None:
    sb = section(load_results(pipeline_results))
    broken = [r for r in sb["runs"] if r["scheduler"] == "loses-rocket"]
    assert len(broken) == 3  # switch + two timed scales
    for run in broken:
        assert run["status"] == "invalid"
        assert any("rocket lost" in reason for reason in run["reasons"])
        assert run["switch"] is None and run["timed"] is None


def test_show_prints_the_summary(pipeline_results: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bench", "show", str(pipeline_results)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Switch cost" in proc.stdout and "Timed mode, time scale 0.01" in proc.stdout
    assert "INVALID" in proc.stdout and "rocket lost" in proc.stdout
    assert proc.stdout.count("*") >= 2  # fastest valid per figure marked


def test_results_round_trip(pipeline_results: Path, tmp_path: Path) -> None:
    from bench.results.store import dump, load

    document = load(pipeline_results)
    copy = tmp_path / "copy.json"
    dump(copy, document)
    again = load(copy)
    assert again == document
    assert json.loads(copy.read_text())["benchmarks"] == load_results(pipeline_results)["benchmarks"]


@pytest.mark.slow
def test_every_output_prints_the_file_s_early_wake_total(tmp_path: Path) -> None:
    """An early-waking plugin in three processes: the progress line, ``show``, summary.md and
    the HTML page all print the total over every process, the number in the file."""
    out = tmp_path / "early.json"
    proc = run_pipeline(out, tmp_path / "site", "--mode", "timed", "--rockets", "300", "--processes", "3",
                        "--time-scale", "0.002", "-s", "wakes-early",
                        plugins={"wakes-early": "broken_schedulers:WakesEarly"})
    assert proc.returncode == 0, proc.stderr  # EARLY is not a failure, only never ranked
    run = next(r for r in section(load_results(out))["runs"] if r["scheduler"] == "wakes-early")
    per_process = [p["early"] for p in run["processes"]]
    total = run["timed"]["early_wakes"]
    assert run["status"] == "early" and len(per_process) == 3 and sum(per_process) == total > per_process[0]
    needle = f"{total:,} early wakes over 3 processes"
    progress = next(line for line in proc.stderr.splitlines() if "timed @ 0.002 wakes-early" in line)
    assert needle in progress
    shown = subprocess.run([sys.executable, "-m", "bench", "show", str(out)], capture_output=True, text=True,
                           cwd=ROOT, timeout=60)
    # The total in the note and in its own column, the worst early wake in the next one.
    early_rows = [line for line in shown.stdout.splitlines() if line.startswith("wakes-early")]
    assert needle in shown.stdout and any(f" {total:,} " in line for line in early_rows), shown.stdout
    assert "worst early µs" in shown.stdout
    report = subprocess.run([sys.executable, "-m", "reports", str(out), "-o", str(tmp_path / "report")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert report.returncode == 0, report.stderr
    for page in ("summary.md", "index.html"):
        text = (tmp_path / "report" / page).read_text(encoding="utf-8")
        assert needle in text, page
        for count in set(per_process):
            assert f"{count:,} early wakes," not in text, (page, count)  # no single process's count
