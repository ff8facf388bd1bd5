"""Cheats against the harness itself: its names, its checks and its process.

The plugins in ``cheat_schedulers`` attack the names the harness really uses when the
test runs (they discover every module-level name bound to the clocks or the validator),
so a rename in the harness cannot make these tests pass without a defence. Each defence is
tested where it lives: the witness outside the worker (``bench.measure.witness``), the
integrity snapshot (``bench.measure.integrity``), the proof of work in
``bench.measure.execute`` and the checking run at the measured size; and once end to end,
every cheat beside two honest schedulers on the real and the virtual clock.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cheat_schedulers import harness_bindings
from conftest import InstallPlugins, run_pipeline

from bench.measure import clocks, witness
from bench.measure.execute import SchedulerCrashed, execute_once
from bench.measure.integrity import Snapshot
from bench.measure.registry import SchedulerEntry, discover, load_named
from bench.measure.suspension_check import check_suspensions
from bench.workload import checks
from bench.workload.rockets import Workload
from bench.workload.status import Status

CHEATS = {
    "rebinds-clock-once": "cheat_schedulers:RebindsClockOnce",
    "leaves-clock-rebound": "cheat_schedulers:LeavesClockRebound",
    "rebinds-validator": "cheat_schedulers:RebindsValidator",
    "leaves-validator-rebound": "cheat_schedulers:LeavesValidatorRebound",
    "honest-when-checked": "cheat_schedulers:HonestWhenChecked",
    "swaps-clock-class": "cheat_schedulers:SwapsClockClassDuringRun",
}
RAISERS = {
    "raises-keyboard-interrupt": ("cheat_schedulers:RaisesKeyboardInterrupt",
                                  "run() raised KeyboardInterrupt: from the plugin (not a Ctrl-C of the harness)"),
    "raises-base-exception": ("cheat_schedulers:RaisesBaseException",
                              "run() raised cheat_schedulers.PluginStop (a BaseException, not an Exception): "
                              "the plugin's own BaseException"),
    "sys-exit-mid-run": ("cheat_schedulers:SysExitMidRun", "run() called sys.exit(4)"),
}


@pytest.fixture
def harness_restored() -> Iterator[None]:
    """Put back every name of the harness's modules a cheat rebinds in this process."""
    saved = {name: dict(vars(module)) for name, module in list(sys.modules.items())
             if module is not None and name.startswith("bench.")}
    yield
    for name, namespace in saved.items():
        module = sys.modules.get(name)
        if module is not None:
            vars(module).update(namespace)


@pytest.fixture
def cheats(install_plugins: InstallPlugins, harness_restored: None) -> dict[str, SchedulerEntry]:
    install_plugins({**CHEATS, **{name: target for name, (target, _) in RAISERS.items()}})
    return discover()


def _switch(rockets: int = 2000) -> Workload:
    return Workload.generate(rockets, 3, "switch")


# ---- finding 1: rebinding the harness's names -------------------------------------------

def test_the_cheats_find_the_names_the_harness_reads() -> None:
    execute = sys.modules["bench.measure.execute"]
    clock_names = {key for namespace, key in harness_bindings(clocks.HARNESS_NOW) if namespace is vars(execute)}
    assert clock_names, "execute reads no captured clock: the cheat would attack nothing"
    assert any(namespace is vars(execute) for namespace, _ in harness_bindings(checks.validate))


def test_a_clock_rebound_for_one_call_is_caught_by_the_witness(cheats: dict[str, SchedulerEntry]) -> None:
    listener = witness.Listener()
    try:
        probe = witness.Probe(listener.address)
        cheat = execute_once(cheats["rebinds-clock-once"], _switch(), probe=probe)
        honest = execute_once(load_named("heapq"), _switch(), probe=probe)
        listener.drain()
        marks = list(listener.marks)
    finally:
        listener.close()
    # In its own process the cheat wins: a VALID run at a third of its time...
    assert cheat.verdict.status is Status.VALID
    pid = os.getpid()
    problems = witness.check([{"pid": pid, "seq": 0, "wall_s": cheat.wall_s}], marks)
    # ...which the kernel's stamps, outside its reach, refuse.
    assert len(problems) == 1 and "the kernel saw it take" in problems[0]
    assert witness.check([{"pid": pid, "seq": 1, "wall_s": honest.wall_s}], marks) == []
    assert "has no marks" in witness.check([{"pid": pid, "seq": 7, "wall_s": honest.wall_s}], marks)[0]


def test_the_witness_refuses_repeated_marks() -> None:
    marks = [witness.Mark(1, 0, False, 10.0), witness.Mark(1, 0, True, 10.5), witness.Mark(1, 0, True, 10.6)]
    assert "received run 0 of process 1 twice" in witness.check([{"pid": 1, "seq": 0, "wall_s": 0.6}], marks)[0]


def test_a_validator_rebound_for_one_call_is_caught_by_the_proof_of_work(cheats: dict[str, SchedulerEntry]) -> None:
    snapshot = Snapshot()
    verdict = execute_once(cheats["rebinds-validator"], _switch()).verdict
    assert snapshot.changed() == []  # the fake put everything back: nothing for the snapshot to see
    assert verdict.status is Status.INVALID
    assert "proof of work failed: 2000 rockets did not run to their end (2000 left suspended" in verdict.explain()


def test_a_validator_left_rebound_is_caught_by_the_integrity_check(cheats: dict[str, SchedulerEntry]) -> None:
    snapshot = Snapshot()
    execute_once(cheats["leaves-validator-rebound"], _switch(200))
    assert "bench.measure.execute._validate" in snapshot.changed()


def test_the_snapshot_covers_every_name_the_timing_code_uses(harness_restored: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The defence asserted generally: rebinding any callable of the execution module or
    the worker, or any method of their classes, is seen."""
    modules = ("bench.measure.execute", "bench.measure.worker", "bench.measure.witness", "bench.workload.checks",
               "bench.measure.clocks")
    for module_name in modules:
        __import__(module_name)
    snapshot = Snapshot()
    for module_name in modules:
        namespace = vars(sys.modules[module_name])
        for key, value in list(namespace.items()):
            if key.startswith("__") or not callable(value):
                continue
            namespace[key] = lambda *a, **k: None
            assert snapshot.changed() == [f"{module_name}.{key}"], key
            namespace[key] = value
    monkeypatch.setattr(clocks.RealClock, "now", staticmethod(lambda: 0.0))
    assert "bench.measure.clocks.RealClock.now" in snapshot.changed()


# ---- finding 2: honest only when checked ------------------------------------------------

def test_honest_only_when_checked_is_caught(cheats: dict[str, SchedulerEntry]) -> None:
    entry = cheats["honest-when-checked"]
    measured = _switch(1000)
    verdict = execute_once(entry, measured).verdict
    assert verdict.status is Status.INVALID
    assert "(0 left suspended, 1000 closed or thrown into)" in verdict.explain()
    # The checking run has the measured size, so it is not told apart by its size either.
    result = check_suspensions(entry, measured)
    assert result.failed and "checking run (1000 rockets, unmeasured)" in result.note


# ---- clock classes replaced and restored around the measured region ---------------------

@pytest.mark.parametrize("clock", ["real", "virtual"])
def test_a_clock_class_swapped_only_during_run_is_not_valid(cheats: dict[str, SchedulerEntry], clock: str) -> None:
    workload = Workload.generate(150, 3, "timed", 0.002)
    outcome = execute_once(cheats["swaps-clock-class"], workload, clock)  # type: ignore[arg-type]
    assert clocks.tampering() == []  # put back in ``finally``: nothing to see afterwards
    assert outcome.verdict.status in (Status.INVALID, Status.EARLY), outcome.verdict.explain()
    assert outcome.verdict.early_wakes > 0


# ---- finding 10: reasons that name the cause ---------------------------------------------

@pytest.mark.parametrize("name", sorted(RAISERS))
def test_the_reason_names_what_run_raised(cheats: dict[str, SchedulerEntry], name: str) -> None:
    with pytest.raises(SchedulerCrashed) as caught:
        execute_once(cheats[name], _switch(50))
    assert str(caught.value) == RAISERS[name][1]


# ---- end to end ------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("clock", ["real", "virtual"])
def test_no_cheat_is_valid_beside_honest_schedulers(tmp_path: Path, clock: str) -> None:
    out = tmp_path / "results.json"
    schedulers = ["heapq", "hybrid", *CHEATS, *RAISERS, "exits-mid-run"]
    proc = run_pipeline(out, tmp_path / "site", "--fast", "--mode", "switch,timed", "--rockets", "1000",
                        "--processes", "2", "--time-scale", "0.01", "--clock", clock, "-s", ",".join(schedulers),
                        plugins={**CHEATS, **{name: target for name, (target, _) in RAISERS.items()},
                                 "exits-mid-run": "cheat_schedulers:ExitsMidRun"})
    assert proc.returncode == 1, proc.stderr
    runs: list[dict[str, Any]] = json.loads(out.read_text())["schedbench"]["runs"]
    by_scheduler: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_scheduler.setdefault(run["scheduler"], []).append(run)
    for honest in ("heapq", "hybrid"):
        assert {r["mode"] for r in by_scheduler[honest]} == {"switch", "timed"}
        for run in by_scheduler[honest]:
            # An honest run is VALID, or SUSPECT only by the floor comparison: on a loaded
            # 2-core machine both floor processes can catch a burst that the run escapes
            # (seen once in CI for the hybrid). Any other reason would be a false accusation.
            reasons = run["reasons"]
            assert run["status"] == "valid" or (
                run["status"] == "suspect" and reasons and all(_floor_comparison(r) for r in reasons)
            ), (honest, run["mode"], run["status"], reasons)
    for name in [*CHEATS, *RAISERS, "exits-mid-run"]:
        assert len(by_scheduler[name]) == 2, by_scheduler.get(name)
        for run in by_scheduler[name]:
            if name == "swaps-clock-class" and run["mode"] == "switch":
                continue  # no clock in switch mode: it runs the rockets honestly there
            assert run["status"] != "valid", (name, run["mode"], run["status"], run["reasons"])
    reasons = {name: " ".join(r for run in by_scheduler[name] for r in run["reasons"]) for name in by_scheduler}
    assert "the kernel saw it take" in reasons["rebinds-clock-once"]
    # Caught by whichever check runs first: the clock comparison after the checking run, or
    # the integrity snapshot before a measured run.
    assert ("harness names rebound" in reasons["leaves-clock-rebound"]
            or "the scheduler replaced the harness's time.perf_counter" in reasons["leaves-clock-rebound"])
    assert "proof of work failed" in reasons["rebinds-validator"]
    for name, (_, why) in RAISERS.items():
        assert why in reasons[name], reasons[name]
    assert "a worker process exited with status 0 without reporting a result" in reasons["exits-mid-run"]


def _floor_comparison(reason: str) -> bool:
    """Whether ``reason`` is the plausibility check's comparison with a floor measured in the same run."""
    return "below half the body floor" in reason or "below half the spinning timer floor" in reason
