"""A cheating or broken plugin never ranks; bad input is refused before anything runs.

Every cheat in ``cheat_schedulers`` is installed for real (an entry-point distribution)
and caught in-process through ``execute_once`` and the checking run where it can be, and
once end to end through the real pipeline. Plugins are only imported where they run:
``list`` and the one-shot runs survive a plugin that ends its process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, InstallPlugins, run_pipeline

from bench.measure import clocks
from bench.measure.clocks import RealClock, VirtualClock
from bench.measure.execute import RunOutcome, execute_once
from bench.measure.registry import SchedulerEntry, discover, load_named, registrations
from bench.measure.suspension_check import check_suspensions
from bench.workload.checks import validate
from bench.workload.rockets import Workload
from bench.workload.status import Status

CHEATS = {
    "patches-clock": "cheat_schedulers:PatchesClock",
    "feeds-deadlines": "cheat_schedulers:FeedsDeadlines",
    "writes-trace": "cheat_schedulers:WritesTrace",
    "skips-sleep": "cheat_schedulers:SkipsSleep",
}
OTHERS = {
    "writes-nan-trace": "cheat_schedulers:WritesNanTrace",
    "skips-sleep-async": "cheat_schedulers:SkipsSleepAsync",
    "zeroes-lateness": "cheat_schedulers:ZeroesLateness",
}
BAD_COUNTERS = {
    "bad-counter-nan": ("cheat_schedulers:NanCounter", "counter 'resumes' is nan"),
    "bad-counter-huge": ("cheat_schedulers:HugeCounter", "counter 'resumes' is an integer of 1329 bits"),
    "bad-counter-str": ("cheat_schedulers:StrCounter", "counter 'resumes' is '12'"),
    "bad-counter-negative": ("cheat_schedulers:NegativeCounter", "counter 'resumes' is -5"),
}


@pytest.fixture
def restore_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put back whatever a cheat replaces in this (the test) process."""
    monkeypatch.setattr(time, "perf_counter", time.perf_counter)
    monkeypatch.setattr(time, "process_time", time.process_time)
    for cls in (RealClock, VirtualClock):
        for attr in ("now", "wait"):
            monkeypatch.setattr(cls, attr, cls.__dict__[attr])
    yield


@pytest.fixture
def cheats(install_plugins: InstallPlugins, restore_harness: None) -> dict[str, SchedulerEntry]:
    install_plugins({**CHEATS, **OTHERS, **{k: v for k, (v, _) in BAD_COUNTERS.items()}})
    return discover()


def _run(entries: dict[str, SchedulerEntry], name: str, mode: str = "timed", scale: float = 0.002,
         clock: str = "real") -> RunOutcome:
    workload = Workload.generate(150, 3, mode, scale)  # type: ignore[arg-type]
    return execute_once(entries[name], workload, clock)  # type: ignore[arg-type]


# ---- 1. patching time.perf_counter / time.process_time --------------------------------

def test_patched_perf_counter_changes_nothing_the_harness_reads(cheats: dict[str, SchedulerEntry]) -> None:
    from cheat_schedulers import PatchesClock

    outcome = _run(cheats, "patches-clock", "switch")
    # The harness's wall time encloses the run the plugin timed with the real clock: the
    # fake clock (which would make it a microsecond) was not read.
    assert PatchesClock.last_real_elapsed is not None
    assert outcome.wall_s >= PatchesClock.last_real_elapsed
    assert outcome.verdict.status is Status.INVALID and not outcome.verdict.ranked
    assert "replaced the harness's time.perf_counter" in outcome.verdict.explain()
    assert "time.process_time" in outcome.verdict.explain()


def test_harness_clocks_were_captured_before_any_plugin(cheats: dict[str, SchedulerEntry]) -> None:
    _run(cheats, "patches-clock", "switch")
    assert time.perf_counter is not clocks.HARNESS_NOW  # the cheat did replace it here...
    assert clocks.bodies_now(RealClock()) is clocks.HARNESS_NOW  # ...not what the bodies get
    assert set(clocks.tampering()) == {"time.perf_counter", "time.process_time"}


# ---- 2. replacing the clock class's now -------------------------------------------------

def test_bodies_read_the_virtual_clock_through_the_captured_function(restore_harness: None) -> None:
    clock = VirtualClock()
    now = clocks.bodies_now(clock)
    VirtualClock.now = lambda self: 123.0  # type: ignore[method-assign]
    clock.wait(2.5)
    assert now() == 2.5 and clock.now() == 123.0
    assert clocks.tampering() == ["VirtualClock.now"]


def test_replaced_clock_now_does_not_reach_the_rockets(cheats: dict[str, SchedulerEntry]) -> None:
    outcome = _run(cheats, "feeds-deadlines", scale=1.0)  # it never waits: seconds early
    v = outcome.verdict
    assert v.status is Status.INVALID
    assert "replaced the harness's RealClock.now" in v.explain()
    # The bodies read the real clock, so the wakes the cheat never waited for are early,
    # not "exactly on time".
    assert v.early_wakes > 0
    assert any(x != 0.0 for x in outcome.lateness_s)


def test_all_zero_lateness_on_the_real_clock_is_suspect(cheats: dict[str, SchedulerEntry]) -> None:
    v = _run(cheats, "zeroes-lateness").verdict
    assert v.status is Status.SUSPECT and v.valid and not v.ranked and v.broken
    assert v.label == "SUSPECT"
    assert "lateness exactly 0 on the real clock" in v.explain()


def test_zero_lateness_is_fine_on_the_virtual_clock() -> None:
    w = Workload.generate(20, 1, "timed", 1.0)
    events = [e for i, r in enumerate(w.rockets) for e in [*((i, s) for s in range(r.countdown, 0, -1)), (i, 0)]]
    v = validate(w, events, [0.0] * w.total_sleeps, None, polling=False, wall_s=0.0, real_clock=False)
    assert v.status is Status.VALID


# ---- 3. a trace written through the frames ------------------------------------------

def test_makespan_below_the_ideal_is_invalid(cheats: dict[str, SchedulerEntry]) -> None:
    v = _run(cheats, "writes-trace", scale=1.0).verdict  # it never waits: the ideal is ~9 s
    assert v.status is Status.INVALID
    assert "is below the ideal" in v.explain() and "impossible on the real clock" in v.explain()


def test_nan_lateness_is_invalid(cheats: dict[str, SchedulerEntry]) -> None:
    v = _run(cheats, "writes-nan-trace", scale=1.0).verdict
    assert v.status is Status.INVALID
    assert "not finite numbers (first: nan)" in v.explain()


@pytest.mark.parametrize("name", sorted(BAD_COUNTERS))
def test_bad_counters_are_invalid(cheats: dict[str, SchedulerEntry], name: str) -> None:
    v = _run(cheats, name, "switch").verdict
    assert v.status is Status.INVALID
    assert BAD_COUNTERS[name][1] in v.explain()


def test_written_trace_is_caught_by_the_checking_run_in_switch_mode(cheats: dict[str, SchedulerEntry]) -> None:
    workload = Workload.generate(150, 3, "switch")
    result = check_suspensions(cheats["writes-trace"], workload)
    assert result.failed
    assert "proof of work failed: 150 rockets did not run to their end (150 left suspended" in result.note


# ---- 4. sleep(0) that does not suspend ------------------------------------------------

@pytest.mark.parametrize("name", ["skips-sleep", "skips-sleep-async"])
def test_sleep_that_does_not_suspend_is_invalid(cheats: dict[str, SchedulerEntry], name: str) -> None:
    workload = Workload.generate(1000, 3, "switch")
    # The trace and the counters alone cannot tell...
    assert _run(cheats, name, "switch").verdict.status is Status.VALID
    # ...the unmeasured checking run can (the measured size, switch mode).
    result = check_suspensions(cheats[name], workload)
    assert result.failed and result.verdict is not None and result.verdict.status is Status.INVALID
    sleeps = Workload.generate(1000, 3, "switch").total_sleeps
    assert result.note == ("checking run (1000 rockets, unmeasured): "
                           f"sleep(0) did not suspend ({sleeps} of {sleeps} sleeps)")


@pytest.mark.parametrize("name", ["heapq", "listscan", "busywait", "hybrid", "deque", "asyncio", "uvloop", "trio",
                                  "anyio", "gevent"])
def test_real_schedulers_pass_the_checking_run(name: str) -> None:
    entry = load_named(name)
    if not entry.available:
        pytest.skip(f"{name}: {entry.error}")
    result = check_suspensions(entry, Workload.generate(100, 5, "switch"))
    assert not result.failed, result.note
    assert result.tally is not None and result.tally.suspended == result.tally.completed > 0


# ---- name collisions -------------------------------------------------------------------

def test_a_plugin_cannot_take_a_builtins_name(install_plugins: InstallPlugins) -> None:
    # The plugin's distribution is first on sys.path, so it is found before the built-in.
    install_plugins({"heapq": "broken_schedulers:LosesRocket"})
    entries = discover()
    assert entries["heapq"].builtin and entries["heapq"].available
    assert entries["heapq"].cls.__name__ == "HeapqScheduler"
    refused = entries["heapq (plugin schedbench-test-plugins 0.1)"]
    assert not refused.available
    assert refused.error == "name 'heapq' is taken by the built-in; plugin schedbench-test-plugins 0.1 refused"
    assert load_named("heapq").cls.__name__ == "HeapqScheduler"


def test_list_shows_the_refused_plugin(install_plugins: InstallPlugins) -> None:
    env = install_plugins({"heapq": "broken_schedulers:LosesRocket"})
    proc = bench("list", env=env)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("heapq (plugin"))
    assert "unavailable: name 'heapq' is taken by the built-in; plugin schedbench-test-plugins 0.1 refused" in line


# ---- plugins are imported only where they run ---------------------------------------------

def bench(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


def test_list_survives_plugins_that_end_the_process(install_plugins: InstallPlugins) -> None:
    env = install_plugins({
        "exits-at-load": "cheat_schedulers:ExitsAtLoad",
        "sys-exit-at-load": "cheat_schedulers:SysExitAtLoad",
        "patches-at-load": "cheat_schedulers:PatchesAtLoad",
        "zz-after-them": "broken_schedulers:LosesRocket",
    })
    proc = bench("list", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[2:] if line.strip()}
    for name in ("heapq", "listscan", "busywait", "asyncio", "hybrid"):
        assert "available" in rows[name] and "unavailable" not in rows[name]
    assert "unavailable: import ended the discovery process: it exited with status 0" in rows["exits-at-load"]
    assert "unavailable: import failed: the plugin called sys.exit(3)" in rows["sys-exit-at-load"]
    assert " available" in rows["patches-at-load"]
    assert " available" in rows["zz-after-them"]


def test_isolated_discovery_imports_no_plugin(install_plugins: InstallPlugins,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.measure.registry_child import discover_isolated

    env = install_plugins({"exits-at-load": "cheat_schedulers:ExitsAtLoad", **CHEATS})
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])  # what the child processes see
    before = set(sys.modules)
    entries = discover_isolated()
    assert not {m for m in set(sys.modules) - before if m.startswith(("schedulers.", "cheat_schedulers"))}
    assert entries["skips-sleep"].available and entries["skips-sleep"].cls is None
    assert entries["skips-sleep"].dialect == "generator" and entries["skips-sleep"].supports_virtual_clock
    assert entries["busywait"].available and not entries["busywait"].supports_virtual_clock
    assert entries["busywait"].polling
    assert not entries["exits-at-load"].available and "exit" in (entries["exits-at-load"].error or "")
    assert list(entries) == [reg.key for reg in registrations()]
    assert len(set(entries.values())) == len(entries)  # hashable, like the loaded entries


def test_one_shot_runs_each_scheduler_in_its_own_process(install_plugins: InstallPlugins) -> None:
    env = install_plugins({"exits-mid-run": "cheat_schedulers:ExitsMidRun",
                           **{k: v for k, (v, _) in BAD_COUNTERS.items()}})
    names = ["heapq", "exits-mid-run", *BAD_COUNTERS]
    proc = bench("run", "--once", "-s", ",".join(names), "--rockets", "50", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line.split() and line.split()[0] in names}
    assert set(rows) == set(names)
    assert " VALID " in rows["heapq"]
    assert " FAILED " in rows["exits-mid-run"]
    assert "the process ended (exit status 0) before reporting a result" in rows["exits-mid-run"]
    for name, (_, reason) in BAD_COUNTERS.items():
        assert " INVALID " in rows[name] and reason in rows[name]
    # Rows come in the order asked, each printed when its scheduler finished.
    order = [line.split()[0] for line in proc.stdout.splitlines() if line.split() and line.split()[0] in names]
    assert order == names


def test_one_shot_catches_the_sleep_cheat(install_plugins: InstallPlugins) -> None:
    env = install_plugins(CHEATS)
    proc = bench("run", "--once", "-s", "skips-sleep,heapq", "--rockets", "50", env=env)
    assert proc.returncode == 1
    row = next(line for line in proc.stdout.splitlines() if line.startswith("skips-sleep"))
    assert " INVALID " in row and "sleep(0) did not suspend" in row


# ---- bounded inputs ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--rockets", "10000000"], "--rockets 10,000,000 does not fit the 8,192 MB memory limit"),
        (["--rockets", "100000", "--memory-limit", "300"], "does not fit the 300 MB memory limit"),
        (["--once", "--rockets", "10000000"], "does not fit"),
        (["--memory-limit", "99999999"], "--memory-limit 99,999,999 MB is not a limit"),
        (["--processes", "65"], "argument --processes/-p: 65 processes is too many; use 1 … 64"),
        (["--run-limit", "1e-9"], "argument --run-limit: run limit '1e-9' s is not allowed; use 0.001 … 86400 "
                                  "seconds"),
        (["--run-limit", "1e9"], "run limit '1e9' s is not allowed"),
        (["--run-limit", "nan"], "run limit 'nan' s is not allowed"),
        (["--time-scale", "1e6"], "time scale '1e6' is not allowed; use 0.0001 … 100"),
        (["--time-scale", "200", "--processes", "64"], "time scale '200' is not allowed; use 0.0001 … 100"),
        (["--once", "--mode", "timed", "--time-scale", "1e300"], "time scale '1e300' is not allowed"),
        (["--time-scale", "1e-300"], "time scale '1e-300' is not allowed"),
        (["--mode", "timed", "--time-scale", "1", "--run-limit", "2"],
         "--run-limit 2 s is shorter than the ideal makespan"),
        (["-s", "heapq,heapq"], "'heapq,heapq' names scheduler heapq twice; list each scheduler once"),
        (["--time-scale", "0.1,0.1"], "names time scale 0.1 twice"),
        (["--time-scale", "0.1,0.10"], "names time scale 0.1 twice"),
        (["--mode", "switch,switch"], "names mode switch twice"),
    ],
)
def test_bounded_inputs_are_refused_before_anything_runs(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "results.json"
    proc = bench("run", *args, "-o", str(out))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]
    assert proc.stdout == ""
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_sizes_may_not_repeat() -> None:
    proc = bench("scale", "--sizes", "100,100")
    assert proc.returncode == 2
    assert "names size 100 twice" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# ---- end to end ------------------------------------------------------------------------

@pytest.mark.slow
def test_no_cheat_is_valid_in_the_real_pipeline(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = run_pipeline(out, tmp_path / "site", "--fast", "--mode", "switch,timed", "--rockets", "200",
                        "--processes", "2", "--time-scale", "0.01", "-s", ",".join(["heapq", *CHEATS]), plugins=CHEATS)
    assert proc.returncode == 1, proc.stderr
    runs: list[dict[str, Any]] = json.loads(out.read_text())["schedbench"]["runs"]
    by_scheduler: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_scheduler.setdefault(run["scheduler"], []).append(run)
    assert {r["mode"] for r in by_scheduler["heapq"]} == {"switch", "timed"}
    assert all(r["status"] == "valid" for r in by_scheduler["heapq"]), by_scheduler["heapq"]
    for name in CHEATS:
        assert len(by_scheduler[name]) == 2, by_scheduler.get(name)
        for run in by_scheduler[name]:
            assert run["status"] != "valid", (name, run["mode"], run["status"], run["reasons"])


def test_os_accounting_refuses_impossible_reports() -> None:
    """What the parent's clock and the kernel saw bounds what the runs may report."""
    from bench.measure.plausibility import os_accounting
    from bench.workload.rockets import Workload

    timed = Workload.generate(100, 1, "timed", 0.01)
    honest = [[{"wall_s": timed.ideal_makespan_s * 1.1, "cpu_s": 0.01}]]
    assert os_accounting(honest, elapsed=2.0, os_cpu=0.5, workload=timed, clock="real") == []
    too_long = [[{"wall_s": 9.0, "cpu_s": 0.01}]]
    assert "runs report 9.00 s of wall time" in os_accounting(too_long, 2.0, 0.5, timed, "real")[0]
    too_busy = [[{"wall_s": 0.1, "cpu_s": 3.0}]]
    assert "the kernel charged" in os_accounting(too_busy, 2.0, 0.5, timed, "real")[0]
    # Three timed runs cannot finish before their deadlines could pass; on the virtual
    # clock nobody waits, so the same elapsed time is fine.
    three = [[{"wall_s": 0.0, "cpu_s": 0.0}] for _ in range(3)]
    short = timed.ideal_makespan_s
    assert "need at least" in os_accounting(three, short, 0.5, timed, "real")[0]
    assert os_accounting(three, short, 0.5, timed, "virtual") == []
