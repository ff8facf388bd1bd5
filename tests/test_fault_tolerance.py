"""One bad scheduler never costs the rest of a run (issue 7).

Each misbehaving plugin is installed for real (an entry-point distribution on
PYTHONPATH) and run by the real pipeline alongside heapq, whose figures must survive.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, TESTS_DIR, run_pipeline, write_plugin_distribution

from bench.results.store import load_results, section

MISBEHAVING = {
    "raises-mid-run": "broken_schedulers:RaisesMidRun",
    "hangs": "broken_schedulers:Hangs",
    "recurses": "broken_schedulers:Recurses",
    "eats-memory": "broken_schedulers:EatsMemory",
    "loses-rocket": "broken_schedulers:LosesRocket",
    "ghost": "no_such_module_anywhere:Scheduler",
}


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    where = tmp_path_factory.mktemp("faulty")
    out = where / "results.json"
    proc = run_pipeline(
        out, where / "site", "--mode", "switch", "--rockets", "100", "--processes", "1",
        "--run-limit", "2", "--memory-limit", "400",
        "-s", "raises-mid-run,heapq,hangs,recurses,eats-memory,loses-rocket,ghost",
        plugins=MISBEHAVING,
    )
    return proc, out


def _runs(out: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["scheduler"]: r for r in section(load_results(out))["runs"]}


def test_real_scheduler_keeps_its_figures(faulty_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = faulty_run
    heapq = _runs(out)["heapq"]
    assert heapq["status"] == "valid"
    assert heapq["switch"]["mean_s"] > 0


@pytest.mark.parametrize(
    ("name", "status", "reason"),
    [
        ("raises-mid-run", "failed", "ValueError: lost track of the heap halfway through"),
        ("hangs", "failed", "timed out after 2 s"),
        ("recurses", "failed", "RecursionError"),
        ("eats-memory", "failed", "out of memory"),
        ("loses-rocket", "invalid", "rocket lost"),
        ("ghost", "skipped", "unavailable: import failed: ModuleNotFoundError"),
    ],
)
def test_each_failure_is_recorded_with_its_reason(
    faulty_run: tuple[subprocess.CompletedProcess[str], Path], name: str, status: str, reason: str
) -> None:
    _, out = faulty_run
    run = _runs(out)[name]
    assert run["status"] == status
    assert any(reason in r for r in run["reasons"]), run["reasons"]


def test_exit_code_and_message_count_failures(faulty_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, _ = faulty_run
    assert proc.returncode == 1
    assert "5 run(s) failed or were INVALID" in proc.stderr
    # The summary shows each failure with its reason.
    for needle in ("timed out after 2 s", "RecursionError", "rocket lost", "unavailable"):
        assert needle in proc.stdout


def test_ctrl_c_keeps_finished_runs(tmp_path: Path) -> None:
    """SIGINT while a hanging scheduler runs: prompt stop, a valid file with heapq's run."""
    write_plugin_distribution(tmp_path / "site", {"hangs": "broken_schedulers:Hangs"})
    out = tmp_path / "results.json"
    env = {"PYTHONPATH": f"{tmp_path / 'site'}:{TESTS_DIR}:{ROOT}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--mode", "switch", "--rockets", "100", "-p", "1",
         "--run-limit", "600", "-s", "heapq,hangs", "-o", str(out)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until heapq's run is in the file
        if out.exists():
            runs = json.loads(out.read_text())["schedbench"]["runs"]
            if any(r["scheduler"] == "heapq" for r in runs):
                break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("heapq never finished")
    time.sleep(1.0)  # let the hanging job start
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    stopped_after = time.monotonic() - sent
    assert proc.returncode == 130, stderr
    assert stopped_after < 5, f"took {stopped_after:.1f} s to stop"
    assert "interrupted: kept" in stderr
    sb = section(load_results(out))
    assert sb["complete"] is False and sb["interrupted"] is True
    heapq = next(r for r in sb["runs"] if r["scheduler"] == "heapq")
    assert heapq["status"] == "valid" and heapq["switch"]["mean_s"] > 0
    assert "Traceback" not in stderr
