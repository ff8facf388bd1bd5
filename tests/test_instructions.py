"""The instruction counter (``bench.measure.instructions``): repeatable, proportional to the
work done, strict about validity, and honest when Valgrind or a compiler is missing.

Every Valgrind process costs ~2 s at 300 rockets, so the counts the tests read come from
one batch (``counted``), run two at a time; the Valgrind tests are skipped with the
reason when Valgrind cannot run here. The parsers and the no-Valgrind paths are tested
on their own, without Valgrind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TESTS_DIR

from bench.measure import valgrind as valgrind_setup
from bench.measure.instructions import (
    InstructionJob,
    InstructionResult,
    choose_method,
    estimated_cycles,
    read_counts,
    run_instruction_jobs,
    top_functions,
    valgrind_problem,
)

ROCKETS = 300
SEED = 1969
COSTLY = {k: f"instruction_schedulers:Costly{k}" for k in (0, 100, 200)}

BATCH = (
    InstructionJob("heapq", "switch", ROCKETS, SEED, repeats=2),
    *(InstructionJob(target, "switch", ROCKETS, SEED) for target in COSTLY.values()),
    InstructionJob("broken_schedulers:LosesRocket", "switch", ROCKETS, SEED),
    InstructionJob("asyncio", "virtual", ROCKETS, SEED),
    InstructionJob("instruction_schedulers:OneRunOnly", "switch", ROCKETS, SEED),
    InstructionJob("heapq", "virtual", ROCKETS, SEED, cache_sim=True),
)


@pytest.fixture(scope="module")
def valgrind() -> None:
    problem = valgrind_problem()
    if problem is not None:
        pytest.skip(problem)


@pytest.fixture(scope="module")
def tests_importable() -> Iterator[None]:
    """The children import ``module:Class`` targets from tests/ (children see PYTHONPATH)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(TESTS_DIR), os.environ.get("PYTHONPATH")) if p))
        yield


@pytest.fixture(scope="module")
def counted(valgrind: None, tests_importable: None,
            tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], InstructionResult]:
    done: list[InstructionResult] = []
    results = run_instruction_jobs(BATCH, workdir=tmp_path_factory.mktemp("instructions"), parallel=2,
                                   time_limit_s=120, on_done=done.append)
    assert sorted(map(id, done)) == sorted(map(id, results)), "on_done sees every result once"
    return {(r.target, r.mode): r for r in results}


# ---- with Valgrind ----------------------------------------------------------------------

@pytest.mark.slow
def test_two_counts_of_one_job_agree(counted: dict[tuple[str, str], InstructionResult]) -> None:
    result = counted["heapq", "switch"]
    assert result.status == "valid", result.reasons
    assert len(result.instructions) == 2
    first, second = result.instructions
    assert abs(first - second) / first < 0.001
    assert result.drift < 0.001
    assert result.method == "callgrind-client-requests" or result.notes, "a fallback says why"
    assert result.warmed is True
    assert result.denominator == InstructionJob("heapq", "switch", ROCKETS, SEED).workload.expected_resumes
    assert result.per_unit == pytest.approx(sum(result.instructions) / 2 / result.denominator)
    assert result.pinned["PYTHONHASHSEED"] == "0"
    assert "aslr" in result.pinned


@pytest.mark.slow
def test_count_grows_linearly_with_extra_work_per_switch(counted: dict[tuple[str, str], InstructionResult]) -> None:
    counts = {}
    for k, target in COSTLY.items():
        result = counted[target, "switch"]
        assert result.status == "valid", result.reasons
        counts[k] = result.instructions[0]
    first, second = counts[100] - counts[0], counts[200] - counts[100]
    # Each sleep call (one per sleep, inside run) does k iterations that allocate nothing.
    sleeps = InstructionJob(COSTLY[0], "switch", ROCKETS, SEED).workload.total_sleeps
    per_iteration = first / (100 * sleeps)
    assert per_iteration > 10, f"100 extra iterations per sleep added only {first:,} instructions"
    assert second == pytest.approx(first, rel=0.01), f"not linear in k: +{first:,} then +{second:,}"
    assert counts[0] < counts[100] < counts[200]


@pytest.mark.slow
def test_invalid_scheduler_is_reported_invalid(counted: dict[tuple[str, str], InstructionResult]) -> None:
    result = counted["broken_schedulers:LosesRocket", "switch"]
    assert result.status == "invalid"
    assert any("never launched" in reason for reason in result.reasons), result.reasons
    assert result.per_unit is None
    assert not result.counted


@pytest.mark.slow
def test_virtual_mode_needs_virtual_clock_support(counted: dict[tuple[str, str], InstructionResult]) -> None:
    result = counted["asyncio", "virtual"]
    assert result.status == "skipped"
    assert result.reasons == ("does not support the virtual clock",)


@pytest.mark.slow
def test_one_run_per_process_counts_the_first_run(counted: dict[tuple[str, str], InstructionResult]) -> None:
    result = counted["instruction_schedulers:OneRunOnly", "switch"]
    assert result.status == "valid", result.reasons
    assert result.warmed is False


@pytest.mark.slow
def test_virtual_clock_with_cache_simulation(counted: dict[tuple[str, str], InstructionResult]) -> None:
    result = counted["heapq", "virtual"]
    assert result.status == "valid", result.reasons
    assert result.denominator == InstructionJob("heapq", "virtual", ROCKETS, SEED).workload.total_sleeps
    (ir,), (cycles,) = result.instructions, result.estimated_cycles
    assert cycles > ir  # misses add to the one cycle per instruction
    assert "I1=32768,8,64" in result.pinned["cache_geometry"]


@pytest.mark.slow
def test_profile_shows_where_instructions_go(counted: dict[tuple[str, str], InstructionResult]) -> None:
    result = counted["heapq", "switch"]
    if result.profile_path is None:
        pytest.skip(f"no Callgrind profile with method {result.method}")
    top = top_functions(result.profile_path, limit=5)
    assert len(top) == 5
    assert top == sorted(top, key=lambda kv: -kv[1])
    assert any("EvalFrame" in name for name, _ in top), top  # the interpreter loop dominates
    assert sum(c for _, c in top_functions(result.profile_path, limit=100_000)) == result.instructions[0]


@pytest.mark.slow
def test_difference_method_agrees_with_client_requests(valgrind: None, tmp_path: Path) -> None:
    job = InstructionJob("heapq", "switch", ROCKETS, SEED)
    [by_stub] = run_instruction_jobs([job], workdir=tmp_path / "stub", method="callgrind-client-requests")
    [by_difference] = run_instruction_jobs([job], workdir=tmp_path / "difference", method="difference")
    if by_stub.status == "failed":
        pytest.skip(f"stub unavailable: {by_stub.reasons}")
    assert by_difference.method == "difference"
    assert by_difference.status == "valid", by_difference.reasons
    assert by_difference.profile_path is None
    ratio = by_difference.instructions[0] / by_stub.instructions[0]
    assert ratio == pytest.approx(1.0, abs=0.02)


@pytest.mark.slow
def test_hanging_scheduler_is_killed_at_the_limit(valgrind: None, tests_importable: None, tmp_path: Path) -> None:
    job = InstructionJob("broken_schedulers:Hangs", "switch", ROCKETS, SEED, repeats=3)
    [result] = run_instruction_jobs([job], workdir=tmp_path, parallel=1, time_limit_s=4)
    assert result.status == "failed"
    assert result.reasons == ("timed out after 4 s",)
    assert result.elapsed_s < 8, "the other repeats are dropped once one has failed"


# ---- without Valgrind -------------------------------------------------------------------

@pytest.fixture
def fresh_probe() -> Iterator[None]:
    valgrind_setup._valgrind.cache_clear()
    yield
    valgrind_setup._valgrind.cache_clear()


def test_missing_valgrind_is_one_line_with_the_fix(monkeypatch: pytest.MonkeyPatch, fresh_probe: None,
                                                   tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    problem = valgrind_problem()
    assert problem is not None and problem.startswith("valgrind is not installed: apt-get install valgrind")
    assert "\n" not in problem
    seen: list[InstructionResult] = []
    results = run_instruction_jobs([InstructionJob("heapq", "switch", 10, 1)], workdir=tmp_path, on_done=seen.append)
    assert [r.status for r in results] == ["failed"]
    assert results[0].reasons == (problem,)
    assert seen == results


def test_no_compiler_falls_back_to_the_difference_method(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "gcc" else real_which(name))
    monkeypatch.setattr(valgrind_setup, "stub_cache_roots", lambda: [tmp_path])
    method, stub, notes = choose_method("auto")
    assert (method, stub) == ("difference", None)
    assert "gcc not found" in notes[0]
    method, stub, notes = choose_method("callgrind-client-requests")
    assert stub is None and "gcc not found" in notes[0]


def test_job_rejects_nonsense() -> None:
    for bad in ({"mode": "timed"}, {"rockets": 0}, {"repeats": 0}, {"target": ""}):
        fields = {"target": "heapq", "mode": "switch", "rockets": 10, "seed": 1, **bad}
        with pytest.raises(ValueError):
            InstructionJob(**fields)  # type: ignore[arg-type]


CALLGRIND_FILE = """\
# callgrind format
version: 1
creator: callgrind-3.19.0
positions: line
events: Ir Dr
summary: 0
totals: 1000 400

ob=(1) /lib/libpython.so
fl=(1) ceval.c
fn=(1) _PyEval_EvalFrameDefault
10 300 100
+2 100
cfl=(2) obmalloc.c
cfn=(2) _PyObject_Free
calls=5 20
12 250 90
fi=(3) object.h
14 50
fe=(1)
fn=(3) _PyEval_EvalFrameDefault'2
3 200
fl=(2)
fn=(2)
20 250 10
fn=(4) helper
jump=2 30
31 7
"""


def test_top_functions_counts_exclusive_cost_per_function(tmp_path: Path) -> None:
    profile = tmp_path / "callgrind.out.test"
    profile.write_text(CALLGRIND_FILE)
    # The call's inclusive cost (250 after calls=) is the callee's, already in its own
    # lines; inlined (fi=) and recursive ('2) costs stay with the function; after jump=
    # comes a jump target, not a cost.
    assert top_functions(profile) == [("_PyEval_EvalFrameDefault", 650), ("_PyObject_Free", 250)]
    assert top_functions(profile, limit=1) == [("_PyEval_EvalFrameDefault", 650)]


def test_counts_prefer_totals_and_cycles_follow_the_formula(tmp_path: Path) -> None:
    profile = tmp_path / "callgrind.out.test"
    profile.write_text(CALLGRIND_FILE)
    assert read_counts(profile) == {"Ir": 1000, "Dr": 400}  # summary says 0: stopped before dump
    counts = {"Ir": 1000, "I1mr": 1, "D1mr": 2, "D1mw": 3, "ILmr": 1, "DLmr": 1, "DLmw": 0}
    assert estimated_cycles(counts) == 1000 + 10 * 6 + 100 * 2
