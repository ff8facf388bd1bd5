"""Every registered scheduler (built-ins and any installed plugin) on the same small workloads.

A scheduler that is registered but unavailable (its optional dependency missing) is
skipped with the reason; one that is available must produce a valid trace in every mode
it supports, with counters consistent with its strategy.

A scheduler that declares ``one_run_per_process`` (Twisted: its reactor cannot be
restarted) runs each case in a child process of its own, so this test process never
starts its loop at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import ROOT, TESTS_DIR, InstallPlugins

from bench.measure.execute import SchedulerCrashed, execute_once
from bench.measure.registry import SchedulerEntry, discover
from bench.workload.rockets import Workload, build_coroutines
from bench.workload.status import Status
from schedulers.protocol import DIALECTS, OPTIONAL_DEFAULTS

ENTRIES = list(discover().values())
SMALL = 200
#: Loops whose timers are kept at millisecond granularity and so may fire before the
#: exact deadline; their early wakes are reported as figures, not conformance failures.
#: gevent is exact on libev (its default on Linux and macOS), not on libuv, which keeps
#: whole milliseconds and truncates the delay (the Windows default, or GEVENT_LOOP=libuv).
MAY_WAKE_EARLY = {"uvloop"} | (
    {"gevent"} if sys.platform == "win32" or "libuv" in os.environ.get("GEVENT_LOOP", "") else set()
)
#: The real loops that wrap a library and must say which version of it was measured.
VERSIONED = ("rloop", "gevent", "twisted", "anyio", "anyio-trio")
CHILD_TIMEOUT_S = 120


@dataclass(frozen=True)
class Result:
    """What the checks need from one run, whether it ran here or in a child process."""

    status: str
    valid: bool
    explain: str
    resumes: int | None
    wasted: int | None
    wall_s: float
    cpu_s: float
    lateness_s: list[float]


# Runs one case in a fresh interpreter and prints the Result fields as JSON.
_CHILD = """
import json, sys
from bench.measure.execute import execute_once
from bench.measure.registry import load_named
from bench.workload.rockets import Workload
name, count, seed, mode, scale, clock = json.loads(sys.argv[1])
entry = load_named(name)
assert entry.available, entry.error
out = execute_once(entry, Workload.generate(count, seed, mode, scale), clock)
v = out.verdict
print(json.dumps(dict(status=v.status.value, valid=v.valid, explain=v.explain(), resumes=v.resumes,
                      wasted=v.wasted, wall_s=out.wall_s, cpu_s=out.cpu_s, lateness_s=out.lateness_s)))
"""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, env=_child_env(), timeout=CHILD_TIMEOUT_S)


def _execute(entry: SchedulerEntry, workload: Workload, clock: str = "real") -> Result:
    """One run of ``entry``: here, or in a child process when it runs once per process."""
    if entry.one_run_per_process:
        case = [entry.name, workload.count, workload.seed, workload.mode, workload.time_scale, clock]
        proc = _run_child(_CHILD, json.dumps(case))
        assert proc.returncode == 0, f"child run of {entry.name} failed:\n{proc.stderr}"
        fields = json.loads(proc.stdout.strip().splitlines()[-1])
        return Result(**{**fields, "status": Status(fields["status"])})
    outcome = execute_once(entry, workload, clock)  # type: ignore[arg-type]
    v = outcome.verdict
    return Result(v.status, v.valid, v.explain(), v.resumes, v.wasted, outcome.wall_s, outcome.cpu_s,
                  outcome.lateness_s)


def _require(entry: SchedulerEntry) -> None:
    if not entry.available:
        pytest.skip(f"{entry.name} unavailable: {entry.error}")


def _check(entry: SchedulerEntry, workload: Workload, clock: str = "real") -> Result:
    result = _execute(entry, workload, clock)
    assert result.valid, result.explain
    if entry.name not in MAY_WAKE_EARLY:
        assert result.status.value == "valid", result.explain
    if result.resumes is not None:
        if entry.polling:
            # Validation already refuses fewer resumes than needed. A design that counts its
            # polls apart resumes rockets exactly as needed; one that does not must have every
            # extra resume accounted for as a wasted poll.
            if result.resumes != workload.expected_resumes:
                assert result.wasted == result.resumes - workload.expected_resumes
        else:
            assert result.resumes == workload.expected_resumes
            assert result.wasted == 0
    assert result.wall_s > 0
    return result


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_switch_mode(entry: SchedulerEntry) -> None:
    _require(entry)
    workload = Workload.generate(SMALL, 11, "switch")
    result = _check(entry, workload)
    # In switch mode every sleep suspends exactly once, so even polling designs resume
    # exactly once per sleep plus once per start.
    if result.resumes is not None:
        assert result.resumes == workload.expected_resumes


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_timed_mode(entry: SchedulerEntry) -> None:
    _require(entry)
    workload = Workload.generate(SMALL, 12, "timed", 0.002)
    result = _check(entry, workload)
    assert len(result.lateness_s) == workload.total_sleeps
    if entry.polling and result.resumes is not None:
        # A design that resumes tasks to ask whether they are due must find some not due
        # when sleeps last real time: zero wasted polls would mean it is not polling.
        assert result.wasted is not None and result.wasted > 0


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_virtual_clock(entry: SchedulerEntry) -> None:
    _require(entry)
    if not entry.supports_virtual_clock:
        pytest.skip(f"{entry.name} declares it cannot run on a virtual clock")
    # A time scale of a full second would take ~9 s on a real clock; virtually it is instant.
    workload = Workload.generate(SMALL, 13, "timed", 1.0)
    result = _execute(entry, workload, "virtual")
    assert result.status.value == "valid", result.explain
    assert result.wall_s < workload.ideal_makespan_s  # it did not actually wait
    assert min(result.lateness_s) >= 0


def test_seed_schedulers_are_registered_as_builtins() -> None:
    entries = discover()
    for name in ("listscan", "busywait", "heapq", "deque", "asyncio"):
        assert entries[name].builtin and entries[name].available, name


def test_real_loops_are_registered_with_their_versions() -> None:
    """Each is built in; where its library is installed it names the version measured."""
    entries = discover()
    for name in VERSIONED:
        entry = entries[name]
        assert entry.builtin, name
        if entry.available:
            assert isinstance(entry.version, str) and entry.version, name
        else:  # listed with the reason, e.g. no rloop wheel for this platform
            assert entry.error and entry.version is None, name
    assert entries["gevent"].dialect in ("greenlet", "?")
    assert entries["heapq"].version is OPTIONAL_DEFAULTS["version"] is None
    assert entries["heapq"].one_run_per_process is OPTIONAL_DEFAULTS["one_run_per_process"] is False


def test_twisted_declares_one_run_per_process_and_refuses_a_second_run() -> None:
    entry = discover()["twisted"]
    _require(entry)
    assert entry.one_run_per_process
    code = """
from bench.measure.execute import SchedulerCrashed, execute_once
from bench.measure.registry import load_named
from bench.workload.rockets import Workload
entry = load_named("twisted")
workload = Workload.generate(50, 1, "switch")
assert execute_once(entry, workload).verdict.status.value == "valid"
try:
    execute_once(entry, workload)
except SchedulerCrashed as exc:
    print("second run:", exc)
"""
    proc = _run_child(code)
    assert proc.returncode == 0, proc.stderr
    # A clear failure, not a hang or a silent no-op.
    assert "second run: ReactorAlreadyRan" in proc.stdout and "one_run_per_process" in proc.stdout


# ---- the dialects as the harness hands them to ``run`` ----

def _blocking_sleep(seconds: float) -> None:
    """A greenlet-dialect sleep that never suspends: enough to run one body by itself."""


@pytest.mark.parametrize("mode", ["switch", "timed"])
@pytest.mark.parametrize("dialect", DIALECTS)
def test_build_coroutines_hands_over_unstarted_rockets(dialect: str, mode: str) -> None:
    """Generators and coroutines come unstarted; the greenlet dialect gets unstarted
    zero-argument callables, each running its whole rocket when called."""
    workload = Workload.generate(20, 5, mode, 0.001)  # type: ignore[arg-type]
    sleep: Callable[[float], Any] = _blocking_sleep if dialect == "greenlet" else (lambda s: iter(()))
    coros, trace = build_coroutines(workload, dialect, sleep, lambda: 0.0)
    assert len(coros) == workload.count
    assert trace.events == [] and trace.lateness == []  # nothing ran while building
    if dialect == "greenlet":
        assert all(callable(c) and not hasattr(c, "send") and not hasattr(c, "close") for c in coros)
        for rocket in coros:
            assert rocket() is None  # a plain function: the rocket runs to its launch
        assert sorted(trace.events) == sorted(
            [(i, s) for i, r in enumerate(workload.rockets) for s in range(r.countdown, -1, -1)]
        )
        assert len(trace.lateness) == (workload.total_sleeps if mode == "timed" else 0)
    else:
        assert all(hasattr(c, "send") and hasattr(c, "close") for c in coros)
        for coro in coros:
            coro.close()


# ---- the greenlet dialect is part of the plugin contract ----

GREENLET_PLUGIN = {"greenlet-rr": "greenlet_schedulers:GreenletRoundRobin"}


def test_greenlet_dialect_plugin_loads_through_entry_points_and_is_valid(
    install_plugins: InstallPlugins,
) -> None:
    pytest.importorskip("greenlet")
    install_plugins(GREENLET_PLUGIN)
    entry = discover()["greenlet-rr"]
    assert entry.available, entry.error
    assert entry.origin == "plugin schedbench-test-plugins 0.1"
    assert entry.dialect == "greenlet" and entry.version
    for workload, clock in (
        (Workload.generate(SMALL, 21, "switch"), "real"),
        (Workload.generate(SMALL, 22, "timed", 0.002), "real"),
        (Workload.generate(SMALL, 23, "timed", 1.0), "virtual"),
    ):
        result = _check(entry, workload, clock)
        assert result.resumes == workload.expected_resumes  # it counts, and counts right
        if workload.mode == "timed":
            assert len(result.lateness_s) == workload.total_sleeps and min(result.lateness_s) >= 0


def test_greenlet_rocket_failure_is_reported(install_plugins: InstallPlugins) -> None:
    """A rocket raising inside a greenlet surfaces as a crash of the run, not a hang."""
    pytest.importorskip("greenlet")
    install_plugins(GREENLET_PLUGIN)
    entry = discover()["greenlet-rr"]
    cls = entry.cls
    assert cls is not None

    class Exploding(cls):  # type: ignore[misc, valid-type]
        def sleep(self, seconds: float) -> None:
            raise RuntimeError("rocket exploded on the pad")

    with pytest.raises(SchedulerCrashed, match="rocket exploded on the pad"):
        execute_once(SchedulerEntry("exploding", "test", "x", cls=Exploding), Workload.generate(5, 1, "switch"))
