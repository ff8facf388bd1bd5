"""Nothing measured is lost or silently replaced: merging, identity, locks, unsafe paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT
from test_compare import doc, make_document, standard_runs, switch_run, write

from bench.results import store
from bench.results.model import Status


def bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def test_merge_keeps_what_it_did_not_remeasure() -> None:
    old = doc(make_document(standard_runs()))
    remeasured = switch_run("heapq", [2000.0, 2010.0, 1990.0, 2005.0])
    new = doc(make_document([remeasured]))
    new = replace(new, runs=tuple(replace(r, commit="feedface0000") for r in new.runs))
    merged = store.merge(old, new)
    keys = [r.key for r in merged.runs]
    assert sorted(keys, key=str) == sorted([r.key for r in old.runs], key=str)  # nothing dropped
    heapq = next(r for r in merged.runs if r.key == ("switch", "heapq", None))
    assert heapq.switch is not None and heapq.switch.mean_ns == pytest.approx(2001.25)
    assert heapq.commit == "feedface0000"  # each run keeps where it was measured
    assert sorted(merged.commit_labels) == sorted({"feedface0000", "0123456789ab"})


def test_identity_mismatch_names_the_difference() -> None:
    a = doc(make_document(standard_runs(), rockets=2000))
    b = doc(make_document(standard_runs(), rockets=3000))
    assert store.identity_mismatch(a, a) is None
    assert store.identity_mismatch(a, b) == "rockets 2000 in the file, 3000 in this run"


@pytest.mark.slow
def test_a_subset_run_merges_and_a_different_workload_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    small = ("run", "--fast", "--rockets", "100", "-p", "2", "--mode", "switch", "-o", str(out))
    assert bench(*small, "-s", "heapq,listscan").returncode == 0
    assert bench(*small, "-s", "heapq").returncode == 0
    runs = json.loads(out.read_text())["schedbench"]["runs"]
    assert sorted(r["scheduler"] for r in runs) == ["heapq", "listscan"]  # listscan kept
    before = out.read_bytes()
    other = bench("run", "--fast", "--rockets", "200", "-p", "2", "--mode", "switch", "-s", "heapq", "-o", str(out))
    assert other.returncode == 2
    assert other.stderr.count("\n") == 1 and "--replace" in other.stderr and "rockets 100" in other.stderr
    assert out.read_bytes() == before  # untouched
    replaced = bench("run", "--fast", "--rockets", "200", "-p", "2", "--mode", "switch", "-s", "heapq",
                     "-o", str(out), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert [r["scheduler"] for r in json.loads(out.read_text())["schedbench"]["runs"]] == ["heapq"]


def test_a_second_writer_is_refused_while_the_file_is_locked(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    with store.ResultsLock(out):
        proc = bench("run", "--fast", "--rockets", "100", "-p", "2", "--mode", "switch", "-s", "heapq",
                     "-o", str(out))
    assert proc.returncode == 2 and "another schedbench run is writing" in proc.stderr
    assert not out.exists()


def test_atomic_write_goes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    store.atomic_write(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_export_refuses_its_input_as_output(tmp_path: Path) -> None:
    source = write(tmp_path / "r.json", make_document(standard_runs()))
    before = source.read_bytes()
    proc = bench("export", str(source), "--format", "bencher", "-o", str(source))
    assert proc.returncode == 2 and "is also an input" in proc.stderr
    assert source.read_bytes() == before


def test_a_fifo_is_refused_not_hung_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    proc = bench("show", str(fifo), timeout=30)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr


def test_compare_with_nothing_in_common_exits_2(tmp_path: Path) -> None:
    a = write(tmp_path / "a.json", make_document([switch_run("heapq", [1000.0] * 4)]))
    b = write(tmp_path / "b.json", make_document([switch_run("listscan", [1000.0] * 4)]))
    empty = write(tmp_path / "e.json", make_document([]))
    disjoint = bench("compare", str(a), str(b))
    assert disjoint.returncode == 2 and "share no run" in disjoint.stderr
    nothing = bench("compare", str(a), str(empty))
    assert nothing.returncode == 2 and "holds no runs" in nothing.stderr


def test_an_interrupted_new_side_cannot_disarm_the_gate(tmp_path: Path) -> None:
    base = write(tmp_path / "base.json", make_document(standard_runs()))
    partial = [r for r in standard_runs() if r["scheduler"] != "listscan"]
    new = write(tmp_path / "new.json", make_document(partial, complete=False))
    proc = bench("compare", str(base), str(new))
    assert proc.returncode == 1, proc.stdout
    assert "INCOMPLETE" in proc.stdout and "interrupted before this run" in proc.stdout
    # The same missing runs in a complete NEW are listed, not failed.
    whole = write(tmp_path / "whole.json", make_document(partial))
    assert bench("compare", str(base), str(whole)).returncode == 0


def test_status_order_is_one_ranking() -> None:
    assert [s.value for s in sorted(Status, key=lambda s: s.severity)] == [
        "valid", "early", "suspect", "invalid", "failed", "skipped"]
    assert Status.worst([Status.VALID, Status.SUSPECT, Status.EARLY]) is Status.SUSPECT
    assert [s for s in Status if s.ranked] == [Status.VALID]
