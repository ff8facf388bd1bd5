"""Results files keep their best evidence, lock per real file, and refuse implausible figures.

Issue #22: a failed re-run never erases a VALID one (it is kept beside the failure, and
``compare`` still sees the failure), two spellings of one file share one lock, and a file
with negative or absurd figures is refused at load with one line naming the field.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from test_compare import doc, make_document, standard_runs, switch_run, timed_run, write

from bench.gate import compare
from bench.present.text import render_document
from bench.results import store
from bench.results.model import Document, RunRecord, Status
from bench.results.store import ResultsError

HEAPQ = ("switch", "heapq", None)
VALID_NS = [1000.0, 1010.0, 990.0, 1005.0]


def _at(document: Document, key: tuple[str, str, float | None]) -> RunRecord:
    return next(r for r in document.runs if r.key == key)


def _stamped(raw: dict[str, Any], commit: str, when: str) -> Document:
    d = doc(raw)
    return replace(d, runs=tuple(replace(r, commit=commit, measured_utc=when) for r in d.runs))


def _valid_file() -> Document:
    return _stamped(make_document([switch_run("heapq", VALID_NS), switch_run("listscan", [2000.0] * 4)]),
                    "aaaaaaaaaaaa", "2026-11-20T10:00:00Z")


def _rerun(status: str, commit: str = "bbbbbbbbbbbb", when: str = "2026-11-22T09:00:00Z") -> Document:
    return _stamped(make_document([switch_run("heapq", [], status=status, reasons=[f"heapq {status} (limit)"])]),
                    commit, when)


# ---- merging keeps the best evidence -------------------------------------------------------

@pytest.mark.parametrize("status", ["failed", "invalid", "suspect", "early", "skipped"])
def test_a_broken_rerun_keeps_the_valid_run_beside_it(tmp_path: Path, status: str) -> None:
    merged = store.merge(_valid_file(), _rerun(status))
    path = tmp_path / "r.json"
    store.dump(path, merged)
    reread = store.load(path)  # the representation survives the file
    heapq = _at(reread, HEAPQ)
    assert heapq.status is Status(status)  # the newest attempt is the state
    assert heapq.commit == "bbbbbbbbbbbb"
    kept = heapq.last_valid
    assert kept is not None and kept.status is Status.VALID
    assert kept.switch is not None and kept.switch.mean_ns == pytest.approx(1001.25)
    assert (kept.commit, kept.measured_utc) == ("aaaaaaaaaaaa", "2026-11-20T10:00:00Z")
    assert len(reread.runs) == 2 and _at(reread, ("switch", "listscan", None)).last_valid is None
    assert "aaaaaaaaaaaa" in reread.commit_labels and "bbbbbbbbbbbb" in reread.commit_labels


def test_show_displays_the_kept_figures_with_commit_and_date() -> None:
    text = render_document(store.merge(_valid_file(), _rerun("failed")))
    section = text[text.index("Last VALID measurement kept"):]
    row = next(line for line in section.splitlines() if line.startswith("heapq"))
    assert "FAILED" in row and "switch 1,001 ns" in row
    assert "aaaaaaaaaaaa" in row and "2026-11-20T10:00:00Z" in row
    assert "heapq failed (limit)" in section  # the failure's reason beside it
    # Never ranked: the ranking does not give heapq a place from the kept figure.
    ranking = text[text.index("Ranking"):text.index("Last VALID")]
    heapq_rank = next(line for line in ranking.splitlines() if line.startswith("heapq"))
    assert "1,001" not in heapq_rank


def test_compare_sees_the_newest_attempt_so_a_broken_head_fails() -> None:
    merged = store.merge(_valid_file(), _rerun("failed"))
    result = compare.compare_documents(_valid_file(), merged)
    row = next(r for r in result.statuses if r.scheduler == "heapq")
    assert row.new_status == "failed" and row.verdict == "broken"
    assert result.exit_code == 1


def test_the_last_valid_survives_repeated_failures_and_a_valid_rerun_replaces_it() -> None:
    twice = store.merge(store.merge(_valid_file(), _rerun("failed")), _rerun("invalid", "cccccccccccc"))
    heapq = _at(twice, HEAPQ)
    assert heapq.status is Status.INVALID and heapq.commit == "cccccccccccc"
    assert heapq.last_valid is not None and heapq.last_valid.commit == "aaaaaaaaaaaa"
    fresh = _stamped(make_document([switch_run("heapq", [900.0] * 4)]), "dddddddddddd", "2026-11-23T00:00:00Z")
    healed = _at(store.merge(twice, fresh), HEAPQ)
    assert healed.status is Status.VALID and healed.last_valid is None and healed.commit == "dddddddddddd"


def test_a_failure_over_a_failure_keeps_nothing_it_never_had() -> None:
    first = store.merge(_stamped(make_document([switch_run("heapq", [], status="failed")]), "a" * 12, "t"),
                        _rerun("failed"))
    assert _at(first, HEAPQ).last_valid is None and first.kept_runs == []


def test_timed_runs_are_kept_per_time_scale() -> None:
    old = doc(make_document([timed_run("heapq", [5.0] * 4, [10.0] * 4, [40.0] * 4)]))
    new = doc(make_document([timed_run("heapq", [5.0] * 4, [10.0] * 4, [40.0] * 4, status="failed")]))
    merged = store.merge(old, new)
    run = _at(merged, ("timed", "heapq", 0.01))
    assert run.status is Status.FAILED and run.last_valid is not None and run.last_valid.timed is not None
    # A version 1 run had no commit or date of its own: it takes its file's.
    assert run.last_valid.commit == "0123456789ab" and run.last_valid.measured_utc == "2026-11-21T12:00:00Z"
    assert "p99 40.0 µs" in render_document(merged)


# ---- one lock per file -------------------------------------------------------------------

def test_two_spellings_of_one_file_share_one_lock(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    link = tmp_path / "link-to-real.json"
    link.symlink_to(real)  # dangling until the first write: still the same file
    (tmp_path / "sub").mkdir()
    dotted = tmp_path / "sub" / ".." / "real.json"
    with store.ResultsLock(real):
        for other in (link, dotted):
            with pytest.raises(ResultsError, match="another schedbench run is writing"), \
                    store.ResultsLock(other, wait_s=0.1):
                pass
    with store.ResultsLock(link):  # released: free again, under either name
        pass


# ---- plausibility at load ------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _first_switch(sb: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in sb["runs"] if r["mode"] == "switch" and r.get("switch"))


def _first_timed(sb: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in sb["runs"] if r["mode"] == "timed" and r.get("timed"))


def _set(getter: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: object) -> Edit:
    def edit(sb: dict[str, Any]) -> None:
        getter(sb)[key] = value
    return edit


def _duplicate(sb: dict[str, Any]) -> None:
    sb["runs"].append(copy.deepcopy(_first_switch(sb)))


def _bad_kept(sb: dict[str, Any]) -> None:
    failed = switch_run("heapq", [], status="failed")
    failed["last_valid"] = switch_run("listscan", [1000.0] * 4)  # another key's figures
    sb["runs"] = [r for r in sb["runs"] if not (r["scheduler"] == "heapq" and r["mode"] == "switch")] + [failed]


BAD: dict[str, tuple[Edit, str]] = {
    "negative-mean": (_set(lambda sb: _first_switch(sb)["switch"], "mean_s", -1e-6), "switch.mean_s: must not be"),
    "overflowing-mean": (_set(lambda sb: _first_switch(sb)["switch"], "mean_s", 1e308),
                         "switch.mean_s: 1e+308 is implausibly large"),
    "negative-value": (_set(lambda sb: _first_switch(sb)["switch"], "values_s", [1e-6, -1e-6]),
                       "switch.values_s[1]: must not be negative"),
    "negative-resumes": (_set(_first_switch, "resumes", -5), "].resumes: must not be negative"),
    "negative-elapsed": (_set(_first_switch, "elapsed_s", -1.0), "].elapsed_s: must not be negative"),
    "negative-wall": (_set(lambda sb: _first_switch(sb)["processes"][0], "wall_s", -0.5),
                      "processes[0].wall_s: must not be negative"),
    "negative-cpu-per-wake": (_set(lambda sb: _first_timed(sb)["timed"], "cpu_per_wake_us", -3.0),
                              "timed.cpu_per_wake_us: must not be negative"),
    "negative-hist-count": (_set(lambda sb: _first_timed(sb)["timed"]["lateness_hist"], "counts", [-1]),
                            "lateness_hist.counts[0]: must not be negative"),
    "zero-time-scale": (_set(_first_timed, "time_scale", 0.0), "].time_scale: must be positive"),
    "negative-rockets": (_set(lambda sb: sb["workload"], "rockets", -2000), "workload.rockets: must be positive"),
    "zero-rockets": (_set(lambda sb: sb["workload"], "rockets", 0), "workload.rockets: must be positive"),
    "negative-floor": (_set(lambda sb: sb["floor"], "std_s", -1e-9), "floor.std_s: must not be negative"),
    "duplicate-run": (_duplicate, "a second run of heapq (switch)"),
    "kept-other-key": (_bad_kept, ".last_valid: kept run listscan (switch) is not heapq (switch)"),
}


def _bad_document(case: str) -> dict[str, Any]:
    raw = make_document(standard_runs())
    edit, _ = BAD[case]
    edit(raw["schedbench"])
    return raw


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_implausible_file_is_refused_naming_the_field(case: str) -> None:
    with pytest.raises(ResultsError) as caught:
        doc(_bad_document(case))
    message = str(caught.value)
    assert BAD[case][1] in message and "\n" not in message


def test_lateness_may_be_negative_an_early_wake_is_not_corruption() -> None:
    raw = make_document(standard_runs())
    _first_timed(raw["schedbench"])["timed"]["lateness_us"]["p50"] = -2.5
    assert doc(raw).runs  # loads


@pytest.mark.parametrize("case", ["negative-mean", "overflowing-mean", "duplicate-run", "zero-rockets"])
def test_show_refuses_an_implausible_file_in_one_line(tmp_path: Path, case: str) -> None:
    bad = write(tmp_path / f"{case}.json", _bad_document(case))
    proc = subprocess.run([sys.executable, "-m", "bench", "show", str(bad)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert bad.name in lines[0] and BAD[case][1] in lines[0]


def test_the_written_file_is_plain_json_with_last_valid_nested(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    store.dump(path, store.merge(_valid_file(), _rerun("failed")))
    runs = json.loads(path.read_text())["schedbench"]["runs"]
    heapq = next(r for r in runs if r["scheduler"] == "heapq")
    assert heapq["status"] == "failed" and heapq["last_valid"]["status"] == "valid"
    assert len(runs) == 2  # one entry per key: readers of runs need no filtering
