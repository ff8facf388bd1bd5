"""The verdict's sentences, the ≈ 0 rule, the spread warning and the family grouping.

Synthetic documents with chosen means and spreads, so each rule is tested on both sides of
its threshold: a case that reads as a win when the rule is wrong, and one that must stay a
figure when the rule is right.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.present import noise, tables, text, verdict
from bench.present.table_parts import skipped_line
from bench.results.model import Document

GENERATOR_FLOOR = 145.0


def sample(mean_ns: float, std_ns: float, values_ns: list[float] | None = None) -> dict[str, Any]:
    values = values_ns or [mean_ns - std_ns, mean_ns + std_ns]
    return {"mean_s": mean_ns * 1e-9, "std_s": std_ns * 1e-9, "median_s": mean_ns * 1e-9,
            "values_s": [v * 1e-9 for v in values]}


def switch(name: str, family: str | None, mean_ns: float, std_ns: float = 5.0, status: str = "valid",
           values_ns: list[float] | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {"scheduler": name, "mode": "switch", "dialect": "generator", "status": status,
                           "reasons": [] if status == "valid" else [f"{status}: not installed"],
                           "switch": None if status == "skipped" else sample(mean_ns, std_ns, values_ns)}
    if family is not None:
        run["family"] = family
    return run


def percentiles(p99: float) -> dict[str, float]:
    return {"p50": p99 / 2, "p90": p99 * 0.8, "p99": p99, "p99_9": p99 * 1.5, "max": p99 * 2, "mean": p99 / 2}


def timed(name: str, family: str | None, p99: float, cpu: float, status: str = "valid",
          note: str | None = None, p99s: tuple[float, ...] = ()) -> dict[str, Any]:
    hist = {"edges_s": [1e-6, 1e-3], "counts": [10], "zero": 0, "early": 5 if status == "early" else 0}
    run: dict[str, Any] = {
        "scheduler": name, "mode": "timed", "time_scale": 1.0, "status": status,
        "reasons": ["5 early wakes, worst 900.0 µs before its deadline"] if status == "early" else [],
        "timer_note": note,
        "processes": [{"lateness_us": percentiles(v)} for v in p99s],
        "timed": {"runs": 1, "wakes": 10, "lateness_us": percentiles(p99), "lateness_hist": hist,
                  "early_wakes": hist["early"], "worst_early_us": 900.0 if status == "early" else 0.0,
                  "cpu_per_wake_us": cpu, "cpu_per_wake_us_values": [cpu], "utilisation": 0.1,
                  "wasted_resumes": None, "wasted_per_wake": None, "makespan_s": 9.0, "makespan_std_s": 0.0,
                  "makespan_values_s": [9.0], "ideal_makespan_s": 9.0, "makespan_x_ideal": 1.0}}
    if family is not None:
        run["family"] = family
    return run


def document(runs: list[dict[str, Any]], floor_std: float = 18.0, floor_values: list[float] | None = None,
             measure: str = "time") -> Document:
    sb: dict[str, Any] = {
        "format": "schedbench-results", "version": 2, "created_utc": "2026-12-02T17:33:34Z", "command": "test",
        "preset": "test", "complete": True, "interrupted": False,
        "environment": {"python": "3.11", "commit": "a" * 40, "dirty": False},
        "workload": {"rockets": 400, "seed": 1, "measure": measure, "modes": ["switch", "timed"],
                     "time_scales": [1.0], "clock": "real"},
        "floor": sample(17, 0.5), "body_floors": {"generator": sample(GENERATOR_FLOOR, floor_std, floor_values)},
        "timer_floors": [], "runs": runs, "scaling": None,
    }
    return Document.from_json({"version": "1.0", "benchmarks": [], "schedbench": sb}, "test")


# ---- the ≈ 0 rule ---------------------------------------------------------------------------

def test_an_overhead_within_the_combined_spread_reads_as_zero_never_bold() -> None:
    # Today's hybrid: 136 ± 5 ns over a floor of 145 ± 18 ns: −9 ns, inside 2·√(5² + 18²) = 37 ns.
    doc = document([switch("hybrid", None, 136, 5)])
    over = noise.overhead(doc, doc.runs[0])
    assert over is not None and over.noise
    assert over.text == "≈ 0 (± 37)"
    ranking = tables.ranking_table(doc)
    assert ranking is not None
    cell = ranking.rows[0].cells[1]
    assert cell.text == "≈ 0 (± 37)" and not cell.best  # alone and cheapest, still not a win


def test_an_overhead_beyond_the_spread_stays_a_figure() -> None:
    # 227 ns over the floor with σ 76 and 18: the band is 156 ns, so 227 is a real overhead.
    doc = document([switch("busywait", None, 372, 76)])
    over = noise.overhead(doc, doc.runs[0])
    assert over is not None and not over.noise and over.text == "227"


def test_the_band_is_two_combined_standard_deviations_not_one() -> None:
    # −275 ns with σ 148 (run) and 48 (floor): one σ each (the old overlap rule) calls it a
    # win; the combined two-σ band (311 ns) calls it noise.
    assert not abs(-275) <= max(148, 48)
    assert noise.within(-275, 148, 48) and noise.combined(148, 48) == pytest.approx(311, abs=1)
    assert not noise.within(-320, 148, 48)


def test_spread_falls_back_to_the_per_process_values() -> None:
    doc = document([switch("hybrid", None, 136, 0.0, values_ns=[130, 142])])
    assert noise.spread_ns(doc.runs[0].switch) == pytest.approx(8.49, abs=0.01)


# ---- the spread warning -----------------------------------------------------------------------

def test_a_quiet_file_has_no_warning_and_a_loud_floor_raises_one() -> None:
    quiet = document([switch("a", None, 1000, 20, values_ns=[980, 1000, 1010, 1010]),
                      switch("b", None, 2000, 40, values_ns=[1960, 2000, 2020, 2020]),
                      switch("c", None, 3000, 60, values_ns=[2940, 3000, 3030, 3030])],
                     floor_values=[140, 145, 150, 145])
    assert noise.spread_warnings(quiet) == []
    loud = document(quiet.to_json()["schedbench"]["runs"], floor_std=290.0, floor_values=[400, 626, 900, 578])
    warning = noise.warning_text(loud)
    assert warning is not None and "body floor (generator)" in warning and "33%" in warning
    assert "WARNING: High spread between processes" in text.render_document(loud)


def test_the_runs_median_spread_triggers_above_ten_per_cent_only() -> None:
    def runs(cv_values: list[float]) -> list[dict[str, Any]]:
        return [switch(f"s{i}", None, 1000, 1000 * cv, values_ns=[1000 * (1 - cv), 1000 * (1 + cv)])
                for i, cv in enumerate(cv_values)]

    # Per-process CV of [m(1−c), m(1+c)] is c·√2.
    below = document(runs([0.06, 0.06, 0.3]), floor_values=[145, 145])  # median 8.5 %: one loud run is no alarm
    above = document(runs([0.08, 0.08, 0.08]), floor_values=[145, 145])  # median 11.3 %
    assert noise.spread_warnings(below) == []
    assert any("switch runs" in line for line in noise.spread_warnings(above))


# ---- families ---------------------------------------------------------------------------------

def family_doc() -> Document:
    return document([
        switch("asyncio", "production", 1894, 209), switch("rloop", "production", 1258, 117),
        switch("uvloop", "production", 1557, 84), switch("hybrid", "this-project", 136, 5),
        switch("heapq", "teaching", 791, 70), switch("listscan", "teaching", 401, 45),
        switch("trio", "production", 0, status="skipped"),
    ])


def test_the_ranking_lists_families_in_order_and_ranks_each_apart() -> None:
    ranking = tables.ranking_table(family_doc())
    assert ranking is not None
    assert [(r.group, r.scheduler, r.cells[0].text) for r in ranking.rows] == [
        ("production loops", "rloop", "1"), ("production loops", "uvloop", "2"),
        ("production loops", "asyncio", "≈2"),  # 337 ns apart, inside 2·√(84² + 209²) = 450 ns
        ("this project's loop", "hybrid", "(1)"),  # the place it would take among production loops
        ("teaching designs", "listscan", "1"), ("teaching designs", "heapq", "2"),
    ]
    best = [r.scheduler for r in ranking.rows if any(c.best for c in r.cells)]
    assert best == ["rloop"]  # the winner among real loops, not the teaching design or the hybrid


def test_skipped_runs_have_no_row_and_are_listed_once() -> None:
    doc = family_doc()
    assert all(r.scheduler != "trio" for t in tables.all_tables(doc) for r in t.rows)
    assert skipped_line(doc.runs) == "not run: trio (switch): skipped: not installed"
    assert text.render_document(doc).count("trio") == 1


def test_a_file_without_families_is_one_group_never_guessed() -> None:
    doc = document([switch("asyncio", None, 1894, 209), switch("hybrid", None, 136, 5)])
    ranking = tables.ranking_table(doc)
    assert ranking is not None
    assert {r.group for r in ranking.rows} == {"family not recorded"}
    assert [r.cells[0].text for r in ranking.rows] == ["1", "2"]


# ---- the sentences ----------------------------------------------------------------------------

def test_switch_sentence_names_the_production_winner_its_margin_and_the_hybrid() -> None:
    sentence = verdict.switch_verdict(family_doc())
    assert sentence is not None
    assert sentence.text == (
        "Cheapest switch among the production loops: rloop, 1,113 ns over its body floor, 299 ns ahead of uvloop "
        "(1,412 ns): beyond the noise (± 288 ns). This project's hybrid: ≈ 0 (± 37) ns over its body floor; it "
        "would place 1st among the 3 production loops and 1st among the 2 teaching designs.")


def test_a_margin_within_the_noise_is_called_a_tie() -> None:
    doc = document([switch("asyncio", "production", 1000, 100), switch("rloop", "production", 1100, 100)])
    sentence = verdict.switch_verdict(doc)
    assert sentence is not None and "within the noise (± 283 ns), a tie" in sentence.text
    assert "beyond" not in sentence.text


def test_timer_sentence_leaves_out_early_loops_and_says_why() -> None:
    note = "libuv keeps loop time in whole milliseconds, truncated"
    doc = document([timed("asyncio", "production", 1153, 18.7, p99s=(1150, 1156)),
                    timed("gevent", "production", 1077, 18.8, p99s=(1070, 1084)),
                    timed("uvloop", "production", 500, 14.3, "early", note),
                    timed("hybrid", "this-project", 75.5, 21.6, p99s=(75, 76))])
    timers = verdict.timers_verdict(doc)
    assert timers is not None
    assert timers.text.startswith("Most accurate timers at time scale 1 (p99 lateness) among the production loops: "
                                  "gevent, 1,077 µs, 76.0 µs ahead of asyncio (1,153 µs): beyond the noise")
    assert f"uvloop is not ranked here: its wakes are EARLY ({note}; 5 early wakes" in timers.text
    assert "hybrid: p99 75.5 µs; it would place 1st among the 2 production loops" in timers.text
    cpu = verdict.cpu_verdict(doc)
    assert cpu is not None and "among the production loops: uvloop, 14.3 µs" in cpu.text  # ranked for CPU
    assert "one process per run, so no spread to test the margin against" in cpu.text


def test_a_file_of_counts_has_no_verdict() -> None:
    """Timed runs counted under strace or Valgrind carry no meaningful lateness: a syscalls
    file once opened with 'no timed run is VALID, so none is ranked'."""
    runs = [timed("asyncio", "production", 1153, 18.7), switch("hybrid", "this-project", 300)]
    assert [v.question for v in verdict.verdicts(document(runs))] == ["switch", "timers", "cpu"]
    for measure in ("syscalls", "instructions"):
        counted = document(runs, measure=measure)
        assert verdict.verdicts(counted) == []
        assert "Verdict:" not in text.render_document(counted)


def test_the_early_loop_is_explained_in_place_not_greyed() -> None:
    doc = document([timed("uvloop", "production", 500, 14.3, "early", "libuv keeps millisecond timers")])
    table = tables.timer_answer_tables(doc)[0]
    row = table.rows[0]
    assert row.note.startswith("lateness not ranked: libuv keeps millisecond timers")
    assert row.cells[4].best  # its CPU per wake is ranked
