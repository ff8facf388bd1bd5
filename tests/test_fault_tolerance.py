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
from conftest import ROOT, TESTS_DIR, load_results, run_pipeline, section, write_plugin_distribution

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
    assert "5 run(s) failed or were INVALID/SUSPECT" in proc.stdout  # said once, in the summary
    assert proc.stderr.count("run(s) failed") == 0
    # The summary shows each failure with its reason.
    for needle in ("timed out after 2 s", "RecursionError", "rocket lost", "unavailable"):
        assert needle in proc.stdout


def _interruptible_run(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    """A suite of heapq then a scheduler that hangs once it has said so (``hang-started``)."""
    write_plugin_distribution(tmp_path / "site", {"says-it-hangs": "broken_schedulers:SaysItHangs"})
    out = tmp_path / "results.json"
    env = {"PYTHONPATH": f"{tmp_path / 'site'}:{TESTS_DIR}:{ROOT}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--mode", "switch", "--rockets", "100", "-p", "1",
         "--run-limit", "600", "-s", "heapq,says-it-hangs", "-o", str(out), *extra],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return proc, out


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    """Until ``path`` exists: an event, not a guess; fails if the suite ended first."""
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"the suite ended (exit {proc.returncode}) before {path.name} appeared: {proc.stderr}")
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_keeps_finished_runs(tmp_path: Path, sig: signal.Signals) -> None:
    """Ctrl-C or SIGTERM while a scheduler hangs: a loadable file with heapq's run, marked incomplete."""
    proc, out = _interruptible_run(tmp_path)
    _wait_for(tmp_path / "hang-started", proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)  # a bound against hanging, not a speed goal
    assert proc.returncode == 130, stderr
    assert "interrupted: kept" in stderr
    sb = section(load_results(out))
    assert sb["complete"] is False and sb["interrupted"] is True
    heapq = next(r for r in sb["runs"] if r["scheduler"] == "heapq")
    # Kept with its figures: VALID, or SUSPECT when a burst of load on the machine made the
    # plausibility check doubt a figure (a verdict on the machine, not on the interrupt path).
    assert heapq["status"] in ("valid", "suspect") and heapq["switch"]["mean_s"] > 0
    assert "Traceback" not in stderr
    # The hanging worker's process group is gone with it.
    assert not list(tmp_path.glob("schedbench-*"))


@pytest.mark.slow
def test_an_interrupted_subset_run_keeps_what_the_file_held(tmp_path: Path) -> None:
    """A second run into the same file, interrupted: never a file worse than before."""
    proc, out = _interruptible_run(tmp_path)
    _wait_for(tmp_path / "hang-started", proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    before = out.read_bytes()
    (tmp_path / "hang-started").unlink()
    # A second run of only the hanging scheduler into the same file, stopped in its hang:
    # the floors it finished merge in, heapq's run from the first run stays exactly as it was.
    write_plugin_distribution(tmp_path / "site", {"says-it-hangs": "broken_schedulers:SaysItHangs"})
    env = {"PYTHONPATH": f"{tmp_path / 'site'}:{TESTS_DIR}:{ROOT}", "PATH": "/usr/bin:/bin"}
    again = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--mode", "switch", "--rockets", "100", "-p", "1",
         "--run-limit", "600", "-s", "says-it-hangs", "-o", str(out)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Its floors run first and would be saved; the hang comes last, so wait for it.
    _wait_for(tmp_path / "hang-started", again)
    again.send_signal(signal.SIGINT)
    _, stderr = again.communicate(timeout=60)
    assert again.returncode == 130, stderr
    after = json.loads(out.read_text())["schedbench"]
    assert [r["scheduler"] for r in after["runs"]] == ["heapq"]
    assert after["runs"] == json.loads(before)["schedbench"]["runs"]
