"""``--measure syscalls``: the region read from a trace, the counting run under strace, the
SKIPPED path without strace, the results file, and ``compare`` gating exactly where counts
are exact (a planted call per sleep is caught) and reporting the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, TESTS_DIR, write_plugin_distribution

from bench.gate import compare
from bench.measure import strace, syscalls_child
from bench.measure.strace_trace import PAD, START, STOP, TraceError, count_region
from bench.measure.syscalls import SyscallJob, run_syscall_jobs, strace_problem
from bench.results import store
from bench.results.fields import Fields, ResultsError
from bench.results.model import Document, RunRecord, SyscallFigures
from bench.results.syscall_kinds import gated
from bench.workload.rockets import Workload

needs_strace = pytest.mark.skipif(strace_problem() is not None, reason=f"{strace_problem()}")


# ---- the region in a trace ------------------------------------------------------------------

def trace(*lines: str) -> list[str]:
    return [line + "\n" for line in lines]


CANNED = trace(
    "100 execve(\"/usr/bin/python3\", [...], 0x7ff /* 5 vars */) = 0",
    "100 futex(0x7f00, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>",  # entered before: not counted
    "101 read(3, \"\"..., 4096) = 10",
    f"100 lseek(-1, {START}, SEEK_SET) = -1 EBADF (Bad file descriptor)",
    "101 <... futex resumed>) = 0",  # resumed inside, entered before: not counted
    "100 epoll_wait(3, [], 1024, 0) = 0",
    "101 write(4, \"\"..., 1 <unfinished ...>",  # another thread, entered inside: counted once
    "100 epoll_wait(3,  <unfinished ...>",
    "101 <... write resumed>) = 1",
    "100 <... epoll_wait resumed>[], 1024, 0) = 0",
    "100 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=102} ---",
    "102 +++ exited with 0 +++",
    "102 exit_group(0) = ?",
    "100 restart_syscall(<... resuming interrupted clock_nanosleep ...>) = 0",
    f"100 lseek(-1, {STOP}, SEEK_SET <unfinished ...>",  # a marker split by another thread's line
    "101 close(5) = 0",  # after the stop marker's entry: not counted
    "100 <... lseek resumed>) = -1 EBADF (Bad file descriptor)",
    f"100 lseek(-1, {PAD}, SEEK_SET) = -1 EBADF (Bad file descriptor)",
)


def test_the_region_counts_calls_entered_between_the_markers_in_every_thread() -> None:
    region = count_region(CANNED)
    assert region.counts == {"epoll_wait": 2, "exit_group": 1, "restart_syscall": 1, "write": 1}
    assert region.total == 5
    assert region.pids == {100, 101, 102}
    assert region.marker_pid == 100


def test_a_trace_without_pid_prefixes_is_read_too() -> None:
    region = count_region(trace(f"lseek(-1, {START}, SEEK_SET) = -1 EBADF", "getpid() = 7", "getpid() = 7",
                                f"lseek(-1, {STOP}, SEEK_SET) = -1 EBADF"))
    assert region.counts == {"getpid": 2} and region.pids == frozenset()


def test_other_seeks_are_calls_not_markers() -> None:
    region = count_region(trace(f"1 lseek(-1, {START}, SEEK_SET) = -1 EBADF", "1 lseek(3, 0, SEEK_CUR) = 0",
                                f"1 lseek(-1, {START + 7}, SEEK_SET) = -1 EBADF",
                                f"1 lseek(-1, {STOP}, SEEK_SET) = -1"))
    assert region.counts == {"lseek": 2}


@pytest.mark.parametrize(("lines", "why"), [
    ([], "no start marker"),
    ([f"1 lseek(-1, {START}, SEEK_SET) = -1", "1 getpid() = 1"], "no stop marker"),
    ([f"1 lseek(-1, {STOP}, SEEK_SET) = -1"], "before any start marker"),
    ([f"1 lseek(-1, {START}, SEEK_SET) = -1", f"1 lseek(-1, {START}, SEEK_SET) = -1"], "a second start marker"),
    ([f"1 lseek(-1, {START}, SEEK_SET) = -1", f"1 lseek(-1, {STOP}, SEEK_SET) = -1",
      f"1 lseek(-1, {STOP}, SEEK_SET) = -1"], "a second stop marker"),
])
def test_a_region_that_cannot_be_found_is_refused(lines: list[str], why: str) -> None:
    with pytest.raises(TraceError, match=why):
        count_region(trace(*lines))


def test_the_child_pads_the_trace_until_its_stop_marker_is_in_the_file(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """strace buffers its file: the child makes pad calls until the marker shows."""
    path = tmp_path / "strace.txt"
    path.write_text(f"1 lseek(-1, {START}, SEEK_SET) = -1\n")
    pads = []

    def fake_mark(offset: int) -> None:  # strace flushing after 100 pad calls
        pads.append(offset)
        if len(pads) == 100:
            with path.open("a") as fp:
                fp.write(f"1 lseek(-1, {STOP}, SEEK_SET) = -1\n")

    monkeypatch.setattr(syscalls_child, "_mark", fake_mark)
    assert syscalls_child.flush_trace(str(path))
    assert set(pads) == {PAD} and len(pads) == 2 * syscalls_child.PADS_PER_LOOK  # two looks
    assert not syscalls_child.flush_trace(str(tmp_path / "other.txt"), limit_s=0.0)


# ---- where strace is missing or cannot trace -------------------------------------------------

@pytest.fixture
def no_strace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """PATH without strace (and the probe's cached answer forgotten, now and after)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    strace._strace.cache_clear()
    yield empty
    strace._strace.cache_clear()


def test_without_strace_every_job_is_skipped_with_the_reason(no_strace: Path, tmp_path: Path) -> None:
    problem = strace_problem()
    assert problem is not None and problem.startswith("strace is not installed") and "\n" not in problem
    results = run_syscall_jobs([SyscallJob("heapq", "switch", 10, 1), SyscallJob("asyncio", "timed", 10, 1, 0.1)],
                               workdir=tmp_path / "work")
    assert [(r.status, r.reasons) for r in results] == [("skipped", (problem,))] * 2
    assert [r.time_scale for r in results] == [None, 0.1] and not any(r.counted for r in results)


def test_a_strace_that_may_not_trace_says_ptrace_is_restricted(no_strace: Path) -> None:
    fake = no_strace / "strace"
    fake.write_text("#!/bin/sh\n[ \"$1\" = -V ] && { echo 'strace -- version 6.1'; exit 0; }\n"
                    "echo 'strace: test_ptrace_get_syscall_info: PTRACE_TRACEME: Operation not permitted' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    problem = strace_problem()
    assert problem is not None and "ptrace is restricted" in problem and "Operation not permitted" in problem


def run_bench(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


def test_the_command_says_skipped_in_one_line_and_leaves_the_file_alone(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / "syscalls.json"
    proc = run_bench("run", "--measure", "syscalls", "-s", "heapq", "-o", str(out),
                     env={**os.environ, "PATH": str(empty)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "SKIPPED: strace is not installed" in lines[0], proc.stderr
    assert not out.exists()


def test_options_a_syscall_count_has_not_are_refused(tmp_path: Path) -> None:
    for extra, said in ((["--processes", "2"], "--processes is not for --measure syscalls"),
                        (["--clock", "virtual"], "real clock only"),
                        (["--mode", "io", "-n", "201"], "is odd")):
        proc = run_bench("run", "--measure", "syscalls", "-o", str(tmp_path / "x.json"), *extra)
        assert proc.returncode == 2 and said in proc.stderr, proc.stderr


# ---- counting for real -----------------------------------------------------------------------

@needs_strace
def test_heapq_makes_no_call_per_switch_and_asyncio_polls_epoll(tmp_path: Path) -> None:
    jobs = [SyscallJob("heapq", "switch", 200, 1969), SyscallJob("asyncio", "switch", 200, 1969)]
    heapq, asyncio = run_syscall_jobs(jobs, workdir=tmp_path / "work")
    for result in (heapq, asyncio):
        assert result.status == "valid" and result.counted, result.reasons
        assert result.denominator == jobs[0].workload.expected_resumes and result.warmed
    assert heapq.counts == ({},)  # the heap and the clock: no kernel at all in switch mode
    calls = asyncio.counts[0]
    assert calls["epoll_wait"] >= 2 and "lseek" not in calls  # a turn per batch; the markers are not counted
    assert asyncio.threads == 1


# ---- the results file, show and compare ------------------------------------------------------

def _site(where: Path, target: str) -> dict[str, str]:
    write_plugin_distribution(where, {"planted": target})
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(where), str(TESTS_DIR), str(ROOT)])}


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two syscall files of the same workload: BASE has heapq, asyncio and ``planted`` (heapq
    under another name); NEW has ``planted`` with one ``os.stat`` per sleep."""
    if strace_problem() is not None:
        pytest.skip(str(strace_problem()))
    where = tmp_path_factory.mktemp("syscalls")
    base, new = where / "base.json", where / "new.json"
    common = ("run", "--measure", "syscalls", "--mode", "switch", "-n", "200")
    proc = run_bench(*common, "-s", "heapq,asyncio,planted", "-o", str(base),
                     env=_site(where / "base-site", "schedulers.heapq_timers:HeapqScheduler"))
    assert proc.returncode == 0, proc.stderr
    proc = run_bench(*common, "-s", "planted", "-o", str(new),
                     env=_site(where / "new-site", "broken_schedulers:StatsPerSleep"))
    assert proc.returncode == 0, proc.stderr
    return base, new


@needs_strace
def test_the_file_round_trips_and_show_prints_calls_per_resume(counted: tuple[Path, Path]) -> None:
    base, _ = counted
    doc = store.load(base)
    assert doc.workload.measure == "syscalls" and doc.measurement["tool"] == "strace"
    runs = {r.scheduler: r for r in doc.runs}
    assert {n: r.family for n, r in runs.items()} == {"heapq": "teaching", "asyncio": "production",
                                                      "planted": "third-party"}
    asyncio = runs["asyncio"].syscalls
    assert asyncio is not None and asyncio.denominator == doc.runs[0].syscalls.denominator  # type: ignore[union-attr]
    assert asyncio.per_unit("epoll_wait") == asyncio.calls("epoll_wait")[0] / asyncio.denominator
    assert Document.from_json(doc.to_json(), "again") == doc
    shown = run_bench("show", str(base))
    assert shown.returncode == 0, shown.stderr
    assert "System calls per resume, switch" in shown.stdout and "epoll_wait" in shown.stdout
    assert "expected resumes" in shown.stdout


def _mutated(path: Path, change: Any) -> dict[str, Any]:
    data = json.loads(path.read_text())
    change(next(r for r in data["schedbench"]["runs"] if r["scheduler"] == "asyncio")["syscalls"])
    return data  # type: ignore[no-any-return]


@needs_strace
@pytest.mark.parametrize(("change", "field"), [
    (lambda s: s["counts"][0].update(epoll_wait=-1), "counts[0].epoll_wait: must not be negative"),
    (lambda s: s["counts"][0].update({"epoll wait!": 1}), "is not a system call's name"),
    (lambda s: s.update(denominator=0), "denominator: must be positive"),
    (lambda s: s.update(counts=[]), "counts: no counted run"),
    (lambda s: s.update(unit="second"), "unit: 'second' is not one of resume"),
    (lambda s: s["counts"][0].update(epoll_wait=1.5), "expected a whole number"),
])
def test_an_implausible_count_is_refused_on_load(counted: tuple[Path, Path], change: Any, field: str) -> None:
    with pytest.raises(ResultsError, match="syscalls") as caught:
        Document.from_json(_mutated(counted[0], change), "file")
    assert field in str(caught.value)


@needs_strace
def test_compare_catches_the_planted_call_per_sleep(counted: tuple[Path, Path]) -> None:
    base, new = counted
    proc = run_bench("compare", str(base), str(new))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = compare.compare_documents(store.load(base), store.load(new))
    slower = {r.label for r in result.slower}
    assert any(label.startswith(("newfstatat", "stat", "statx", "fstatat")) for label in slower), slower
    planted = next(r for r in result.slower if r.label != "syscalls in total")
    assert planted.base == 0 and planted.new >= 100 and planted.gated  # one per sleep of 200 rockets
    assert "REGRESSION" in proc.stdout and "planted" in proc.stdout
    same = run_bench("compare", str(base), str(base))
    assert same.returncode == 0 and "no change" in same.stdout, same.stdout


def _with_calls(doc: Document, scheduler: str, **calls: int) -> Document:
    """``doc`` with ``scheduler``'s counts changed by ``calls`` (each repeat alike)."""
    runs = []
    for run in doc.runs:
        if run.scheduler == scheduler and run.syscalls is not None:
            counts = tuple({**c, **calls} for c in run.syscalls.counts)
            run = replace(run, syscalls=replace(run.syscalls, counts=counts))
        runs.append(run)
    return replace(doc, runs=tuple(runs))


def _rows(result: compare.Comparison, scheduler: str) -> dict[str, compare.FigureRow]:
    return {r.label: r for r in result.figures if r.scheduler == scheduler}


@needs_strace
def test_compare_is_exact_for_gated_names_and_reports_the_rest(counted: tuple[Path, Path]) -> None:
    doc = store.load(counted[0])
    asyncio = next(r for r in doc.runs if r.scheduler == "asyncio").syscalls
    assert asyncio is not None
    getpid = asyncio.calls("getpid")[0]
    one_more = compare.compare_documents(doc, _with_calls(doc, "asyncio", getpid=getpid + 1))
    row = _rows(one_more, "asyncio")["getpid calls"]
    assert (row.verdict, row.gated, one_more.exit_code) == ("slower", True, 1)  # one call more per run
    assert _rows(one_more, "asyncio")["syscalls in total"].gated  # asyncio makes no allocator call here
    fewer = compare.compare_documents(doc, _with_calls(doc, "asyncio", getpid=0))
    assert _rows(fewer, "asyncio")["getpid calls"].verdict == "faster" and fewer.exit_code == 0
    allocator = compare.compare_documents(doc, _with_calls(doc, "asyncio", mmap=40))
    rows = _rows(allocator, "asyncio")
    assert (rows["mmap calls"].verdict, rows["mmap calls"].gated) == ("slower", False)
    assert not rows["syscalls in total"].gated and allocator.exit_code == 0  # reported, never gating
    out = run_bench_compare(doc, _with_calls(doc, "asyncio", mmap=40), counted[0].parent)
    assert "reported" in out and "report-only syscall count(s) slower, not gated" in out


def run_bench_compare(base: Document, new: Document, where: Path) -> str:
    store.dump(where / "b.json", base)
    store.dump(where / "n.json", new)
    proc = run_bench("compare", str(where / "b.json"), str(where / "n.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@needs_strace
def test_pooled_repeats_that_disagree_are_inconclusive(counted: tuple[Path, Path]) -> None:
    doc = store.load(counted[0])
    getpid = next(r for r in doc.runs if r.scheduler == "asyncio").syscalls.calls("getpid")[0]  # type: ignore[union-attr]
    pooled = compare.pool([doc, _with_calls(doc, "asyncio", getpid=getpid + 3)], ["a", "b"])
    result = compare.compare_documents(doc, pooled)
    row = _rows(result, "asyncio")["getpid calls"]
    assert row.verdict == "inconclusive" and len(row.new_values) == 2 and result.exit_code == 0


def test_the_classification_gates_what_the_a_a_found_exact() -> None:
    assert gated("asyncio", "switch", "epoll_wait") and gated("asyncio", "switch", "getpid")
    assert gated("heapq", "switch", "newfstatat")  # a name never seen is gated: a planted call is caught
    assert not gated("heapq", "timed", "clock_nanosleep") and not gated("asyncio", "timed", "epoll_wait")
    assert not any(gated("trio", mode, "mmap") for mode in ("switch", "timed", "io"))
    assert not gated("gevent", "switch", "getpid") and gated("asyncio", "timed", "getpid")
    assert not gated("anyio", "switch", "futex")


def test_syscall_figures_by_name() -> None:
    figures = SyscallFigures(counts=({"epoll_wait": 4, "mmap": 1}, {"epoll_wait": 6}), denominator=10, warmed=True)
    assert figures.names == ("epoll_wait", "mmap") and figures.calls("mmap") == (1, 0)
    assert figures.per_unit("epoll_wait") == 0.5 and figures.totals == (5, 6)
    assert figures.total_per_unit == 0.55 and figures.varies("epoll_wait")
    syscalls = {"counts": [{"getpid": 3}], "denominator": 3, "warmed": False, "unit": "resume"}
    run = RunRecord.from_json(Fields({"scheduler": "x", "mode": "switch", "status": "valid", "reasons": [],
                                      "elapsed_s": 1.0, "syscalls": syscalls}, "run"))
    assert run.syscalls is not None and run.syscalls.per_unit("getpid") == 1.0 and run.syscalls.unit == "resume"


@needs_strace
def test_compare_catches_a_planted_call_per_readiness_wait(tmp_path: Path) -> None:
    """The io mode's syscalls: one extra call per wait in a copy of heapq is a regression."""
    base, new = tmp_path / "base.json", tmp_path / "new.json"
    common = ("run", "--measure", "syscalls", "--mode", "io", "-n", "200", "-s", "planted")
    proc = run_bench(*common, "-o", str(base), env=_site(tmp_path / "a", "schedulers.heapq_timers:HeapqScheduler"))
    assert proc.returncode == 0, proc.stderr
    proc = run_bench(*common, "-o", str(new), env=_site(tmp_path / "b", "broken_schedulers:StatsPerWake"))
    assert proc.returncode == 0, proc.stderr
    result = compare.compare_documents(store.load(base), store.load(new))
    planted = next(r for r in result.slower if r.label != "syscalls in total")
    assert planted.label.startswith(("newfstatat", "stat", "statx", "fstatat")) and planted.gated
    assert planted.base == 0 and planted.new >= Workload.generate(200, 1969, "io").total_sleeps // 2
    assert run_bench("compare", str(base), str(new)).returncode == 1
