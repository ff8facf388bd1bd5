"""The io mode: rockets in pairs over sockets, validated before any figure, and its floor.

Every built-in with readiness primitives runs the io workload correctly with no spurious
wake; the validation refuses lost, duplicated, reordered and corrupted messages; a
``readable`` that returns before the socket is readable shows up as spurious wakes; the
I/O floor runs the same workload; bad input is refused in one line before anything runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import ROOT, run_pipeline

from bench.measure.alarm import Alarm, RunTimeout
from bench.measure.executors import run_once
from bench.measure.io_floor import io_floor_entry
from bench.measure.registry import SchedulerEntry, discover, load_named
from bench.workload.io_checks import check_io_trace
from bench.workload.io_rockets import descriptor_room, payload
from bench.workload.rockets import Workload, io_waits
from bench.workload.status import Status
from schedulers.heapq_timers import HeapqScheduler

REAL_LOOPS = ("asyncio", "uvloop", "trio", "anyio", "anyio-trio", "gevent", "rloop")


def _io(rockets: int = 400, size: int = 1) -> Workload:
    return Workload.generate(rockets, 1969, "io", message_size=size)


def test_the_workload_pairs_rockets_and_counts_waits_exactly() -> None:
    w = _io(10)
    assert w.messages_per_pair() == [w.rockets[i].countdown + 1 for i in (0, 2, 4, 6, 8)]
    assert w.total_sleeps == sum(io_waits(m) for m in w.messages_per_pair())
    assert w.expected_resumes == 10 + w.total_sleeps
    with pytest.raises(ValueError, match="odd"):
        Workload.generate(11, 1, "io")
    with pytest.raises(ValueError, match="message size"):
        Workload.generate(10, 1, "io", message_size=0)
    assert payload(1, 300) != payload(2, 300) and len(payload(3, 300)) == 300


def _built_ins() -> list[SchedulerEntry]:
    return [e for e in discover().values() if e.builtin and e.available and e.readiness
            and not e.one_run_per_process]


@pytest.mark.parametrize("name", [e.name for e in _built_ins()])
def test_every_built_in_runs_the_io_workload(name: str) -> None:
    entry = load_named(name)
    workload = _io()
    with Alarm(60):
        outcome = run_once(entry, workload)
    v = outcome.verdict
    assert v.status is Status.VALID, v.explain()
    if name in REAL_LOOPS:
        assert v.spurious_wakes == 0
    if v.resumes is not None and not entry.polling:
        assert v.resumes == workload.expected_resumes


def test_large_messages_need_writable_and_still_arrive_intact() -> None:
    workload = _io(40, size=300_000)  # larger than a socket's buffer: sends wait for room
    for name in ("hybrid", "asyncio", "heapq"):
        with Alarm(60):
            outcome = run_once(load_named(name), workload)
        assert outcome.verdict.status is Status.VALID, (name, outcome.verdict.explain())


def test_the_io_floor_runs_the_same_workload() -> None:
    workload = _io()
    outcome = run_once(io_floor_entry(), workload)
    assert outcome.verdict.status is Status.VALID, outcome.verdict.explain()
    assert outcome.verdict.resumes == workload.expected_resumes and outcome.verdict.spurious_wakes == 0


# ---- validation of the trace ------------------------------------------------------------

def _events(workload: Workload) -> list[tuple[int, int]]:
    events = []
    for pair, messages in enumerate(workload.messages_per_pair()):
        for index in (2 * pair, 2 * pair + 1):
            events += [(index, k) for k in range(1, messages + 1)] + [(index, 0)]
    return events


def test_a_complete_trace_passes() -> None:
    workload = _io(20)
    assert check_io_trace(workload, _events(workload)) == []


def _pair_with(workload: Workload, messages: int) -> int:
    return next(p for p, m in enumerate(workload.messages_per_pair()) if m >= messages)


@pytest.mark.parametrize(("change", "needle"), [
    ("lose", "(lost or duplicated)"),
    ("duplicate", "(lost or duplicated)"),
    ("reorder", "saw messages out of order: [2, 1]"),
    ("corrupt", "echo of message 2 came back corrupted"),
    ("unfinished", "the client never finished"),
])
def test_lost_duplicated_reordered_or_corrupted_messages_are_invalid(change: str, needle: str) -> None:
    workload = _io(40)
    pair = _pair_with(workload, 2)
    client = 2 * pair
    events = [e for e in _events(workload) if e[0] != client]
    messages = workload.messages_per_pair()[pair]
    mine = [(client, k) for k in range(1, messages + 1)]
    if change == "lose":
        mine = mine[:1] + mine[2:]
    elif change == "duplicate":
        mine = [mine[0], *mine]
    elif change == "reorder":
        mine = [mine[1], mine[0], *mine[2:]]
    elif change == "corrupt":
        mine = [mine[0], (client, -2), *mine[2:]]
    events += mine + ([] if change == "unfinished" else [(client, 0)])
    problems = check_io_trace(workload, events)
    assert any(needle in p for p in problems), problems


# ---- plugins whose readiness lies ---------------------------------------------------------

class WakesBeforeReadable(HeapqScheduler):
    """``readable`` that does not wait for readiness: it only yields the turn, like sleep(0)."""

    name: ClassVar[str] = "wakes-before-readable"

    def readable(self, sock: Any) -> Any:  # type: ignore[override]
        return HeapqScheduler.sleep(0.0)


class NeverReadable(HeapqScheduler):
    """``readable`` that never returns: the rocket waits for ever."""

    name: ClassVar[str] = "never-readable"

    def readable(self, sock: Any) -> Any:  # type: ignore[override]
        return HeapqScheduler.sleep(3600.0)

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        return super().run(coroutines)


def _entry(cls: type) -> SchedulerEntry:
    return SchedulerEntry(cls.name, "plugin test", f"{__name__}:{cls.__name__}", cls=cls)  # type: ignore[attr-defined]


def test_a_readable_that_returns_too_early_shows_as_spurious_wakes() -> None:
    outcome = run_once(_entry(WakesBeforeReadable), _io(100))
    v = outcome.verdict
    assert v.status is Status.VALID, v.explain()  # every message still arrived
    assert v.spurious_wakes > 0
    assert v.resumes == outcome.workload.expected_resumes + v.spurious_wakes


def test_a_readable_that_never_returns_is_ended_by_the_limit() -> None:
    with pytest.raises(RunTimeout), Alarm(1.0):
        run_once(_entry(NeverReadable), _io(20))


# ---- the command line -------------------------------------------------------------------

def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


@pytest.mark.parametrize(("args", "needle"), [
    (["--mode", "io", "--message-size", "0"], "message size 0 is not allowed; use 1 … 1,048,576 bytes"),
    (["--mode", "io", "--message-size", "2000000"], "message size 2,000,000 is not allowed"),
    (["--mode", "io", "--rockets", "101"], "--rockets 101 is odd; the io mode pairs the rockets"),
    (["--mode", "io", "--rockets", str(descriptor_room() + 2), "--memory-limit", "90000"],
     "descriptors in io mode; this machine's hard limit leaves room for"),
    (["--mode", "io", "--clock", "virtual"], "--mode io runs on the real clock only"),
])
def test_bad_io_input_is_one_line_before_anything_runs(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "r.json"
    proc = bench("run", *args, "-o", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert not out.exists()


@pytest.mark.slow
def test_the_pipeline_measures_io_with_its_floor(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = run_pipeline(out, tmp_path / "site", "--fast", "--mode", "io", "--rockets", "600", "-p", "1",
                        "-s", "hybrid,asyncio,twisted,no-readiness", plugins={
                            "no-readiness": "cheat_schedulers:SkipsSleepAsync"})
    doc = json.loads(out.read_text())["schedbench"]
    runs = {r["scheduler"]: r for r in doc["runs"]}
    assert doc["io_floor"]["mean_s"] > 0
    for name in ("hybrid", "asyncio", "twisted"):
        assert runs[name]["mode"] == "io" and runs[name]["status"] == "valid", (runs[name]["reasons"], proc.stderr)
        assert runs[name]["spurious_wakes"] == 0 and runs[name]["switch"]["mean_s"] > 0
    # A plugin without readable/writable is skipped for io, with the reason.
    assert runs["no-readiness"]["status"] == "skipped"
    assert "readiness primitives" in runs["no-readiness"]["reasons"][0]
    assert "Waiting on sockets" in proc.stdout


def test_a_results_file_from_before_io_is_archived_before_io_merges_into_it(
        pipeline_results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`make bench` on a results/latest.json measured before the io mode existed: the old
    file is copied into the history folder whole, with one line saying so, and nothing else
    happens to it (the run then merges into it, keeping every run it held)."""
    from bench.cli.commands import archive_before_new_modes
    from bench.results import store

    output = tmp_path / "latest.json"
    output.write_bytes(pipeline_results.read_bytes())
    previous = store.load(output)
    assert "io" not in previous.workload.modes
    history = tmp_path / "history"
    archive_before_new_modes(output, previous, ["switch", "timed", "io"], history)
    (kept,) = history.iterdir()
    assert kept.read_bytes() == pipeline_results.read_bytes() == output.read_bytes()
    line = capsys.readouterr().err.strip()
    assert line.count("\n") == 0 and "holds no io runs" in line and str(kept) in line
    archive_before_new_modes(output, previous, ["switch", "timed"], history)  # nothing new: nothing archived
    assert len(list(history.iterdir())) == 1
