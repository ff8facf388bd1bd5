"""The isolation module owns the process tree: nothing a job started outlives it, a limit
holds for forking and threaded plugins, and a SIGKILLed orchestrator leaves nothing behind
once the next one starts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, InstallPlugins, run_pipeline

from bench.measure import isolate

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the process tree is Linux's /proc")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fp:
            return fp.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_double_forked_daemon_ends_with_its_job(install_plugins: InstallPlugins, tmp_path: Path) -> None:
    env = install_plugins({"forks-daemon": "broken_schedulers:ForksDaemon"})
    pidfile = tmp_path / "daemons"
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "--once", "-s", "forks-daemon", "--rockets", "50"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**env, "SCHEDBENCH_TEST_PIDFILE": str(pidfile)})
    assert proc.returncode == 0, proc.stderr
    daemons = _pids(pidfile)
    assert daemons, "the plugin did not start its daemon"  # the checking run and the measured run each fork one
    assert not [pid for pid in daemons if _alive(pid)], "a plugin's daemon outlived its job"


def test_the_limit_holds_for_a_forked_child_and_a_non_daemon_thread(install_plugins: InstallPlugins,
                                                                      tmp_path: Path) -> None:
    env = install_plugins({"forks-worker": "broken_schedulers:ForksWorker"})
    pidfile = tmp_path / "spinners"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "--once", "-s", "forks-worker", "--mode", "switch",
                           "--rockets", "200", "--run-limit", "3"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**env, "SCHEDBENCH_TEST_PIDFILE": str(pidfile)})
    elapsed = time.monotonic() - started
    assert "Traceback" not in proc.stderr, proc.stderr
    # The child cannot exit (its thread sleeps 600 s) and leaves a spinning grandchild: the
    # job's limit (start-up allowance plus two runs' limits, 38 s here) ends the whole tree.
    assert elapsed < 120, proc.stderr
    spinners = _pids(pidfile)
    assert spinners, "the plugin did not fork"
    assert not [pid for pid in spinners if _alive(pid)], "a plugin's spinning child outlived its job"


def test_sigkill_of_the_orchestrator_leaves_nothing_after_the_next_start(install_plugins: InstallPlugins) -> None:
    env = install_plugins({"hangs": "broken_schedulers:Hangs"})
    before = set(Path("/tmp").glob(f"{isolate.SCRATCH_PREFIX}*-*"))
    orchestrator = subprocess.Popen([sys.executable, "-m", "bench", "run", "--once", "-s", "hangs",
                                     "--rockets", "50", "--run-limit", "300"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    mine = f"{isolate.SCRATCH_PREFIX}{orchestrator.pid}-"
    sessions: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not sessions:
        for folder in set(Path("/tmp").glob(f"{mine}*")) - before:
            sessions = _pids(folder / "sessions")
        time.sleep(0.1)
    assert sessions, "no job started"
    time.sleep(1.0)  # the child is now inside the plugin's endless run
    orchestrator.send_signal(signal.SIGKILL)
    orchestrator.wait()
    time.sleep(0.5)
    # The job's child asked to die with its parent.
    assert not [pid for pid in sessions if _alive(pid)], "a job's child outlived the orchestrator"
    isolate.sweep_stale()  # what the next start does first
    assert not list(Path("/tmp").glob(f"{mine}*")), "the dead orchestrator's scratch folder is still there"


@pytest.mark.slow
def test_a_plugin_cannot_spoil_the_jobs_after_it(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = run_pipeline(out, tmp_path / "site", "--fast", "--mode", "switch", "--rockets", "300", "--processes", "2",
                        "-s", "spoils-records,heapq,hybrid",
                        plugins={"spoils-records": "broken_schedulers:SpoilsRecords"})
    runs = {run["scheduler"]: run for run in json.loads(out.read_text())["schedbench"]["runs"]}
    # Its own job read the forged lines (its daemon wrote them while the job ran)...
    assert runs["spoils-records"]["status"] == "invalid", proc.stderr
    assert "forged" in " ".join(runs["spoils-records"]["reasons"])
    # ...but the daemon ended with that job: the jobs after it are untouched.
    assert runs["heapq"]["status"] == "valid", runs["heapq"]["reasons"]
    assert runs["hybrid"]["status"] == "valid", runs["hybrid"]["reasons"]
