"""``compare``: the statistics, the verdicts and the CI gate's exit codes, on synthetic files.

Every results file here is written by the test with known per-process values, so the
outcomes are deterministic: nothing is timed. ``make_document`` builds the smallest
document ``load_results`` accepts, with runs carrying exactly the fields compare reads.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT

from bench.cli import compare_cmd as compare_cli
from bench.cli.args import OneLineParser
from bench.cli.errors import EXIT_USAGE, CLIError
from bench.gate import compare, stats
from bench.results.model import Document, Status
from bench.results.store import ResultsError

# ---- synthetic results ------------------------------------------------------------

FLOOR_S = 50e-9


def switch_run(scheduler: str, values_ns: Sequence[float], status: str = "valid",
               reasons: Sequence[str] = ()) -> dict[str, Any]:
    values_s = [v * 1e-9 for v in values_ns]
    mean = float(np.mean(values_s)) if values_s else math.nan
    return {
        "scheduler": scheduler, "origin": "built-in", "dialect": "generator", "mode": "switch",
        "time_scale": None, "clock": "real", "status": status, "reasons": list(reasons), "elapsed_s": 1.0,
        "benchmark": f"switch/{scheduler}" if status == "valid" else None,
        "processes": [{"runs": 3, "wall_s": 0.01, "cpu_s": 0.01} for _ in values_ns],
        "switch": None if status != "valid" else {
            "mean_s": mean, "std_s": float(np.std(values_s, ddof=1)) if len(values_s) > 1 else 0.0,
            "median_s": float(np.median(values_s)), "values_s": values_s,
            "x_floor": mean / FLOOR_S, "overhead_ns": (mean - FLOOR_S) * 1e9,
        },
        "timed": None,
    }


def timed_run(scheduler: str, cpu_us: Sequence[float], p50_us: Sequence[float], p99_us: Sequence[float],
              scale: float = 0.01, status: str = "valid", reasons: Sequence[str] = ()) -> dict[str, Any]:
    processes = [{"runs": 1, "wall_s": 0.1, "cpu_s": 0.05, "cpu_per_wake_us": c,
                  "lateness_us": {"p50": a, "p90": b * 0.5, "p99": b, "p99_9": b * 2, "max": b * 3, "mean": a}}
                 for c, a, b in zip(cpu_us, p50_us, p99_us, strict=True)]
    return {
        "scheduler": scheduler, "origin": "built-in", "dialect": "generator", "mode": "timed",
        "time_scale": scale, "clock": "real", "status": status, "reasons": list(reasons), "elapsed_s": 1.0,
        "benchmark": f"timed/{scale:g}/{scheduler}", "processes": processes, "switch": None,
        "timed": None if status != "valid" else {
            "runs": len(cpu_us), "cpu_per_wake_us": float(np.mean(cpu_us)), "cpu_per_wake_us_values": list(cpu_us),
            "lateness_us": {"p50": float(np.median(p50_us)), "p90": float(np.median(p99_us)) * 0.5,
                            "p99": float(np.max(p99_us)), "p99_9": float(np.max(p99_us)) * 2,
                            "max": float(np.max(p99_us)) * 3, "mean": float(np.mean(p50_us))},
            "wakes": 100, "lateness_hist": {"edges_s": [1e-6, 1e-5], "counts": [100], "zero": 0, "early": 0},
            "makespan_std_s": 0.0, "makespan_values_s": [0.1], "wasted_resumes": 0.0,
            "early_wakes": 0, "worst_early_us": 0.0, "utilisation": 0.5, "wasted_per_wake": 0.0,
            "makespan_s": 0.1, "makespan_x_ideal": 1.05, "ideal_makespan_s": 0.095,
        },
    }


def make_document(runs: Sequence[dict[str, Any]], *, rockets: int = 2_000, seed: int = 1969,
                  modes: Sequence[str] = ("switch", "timed"), time_scales: Sequence[float] = (0.01,),
                  clock: str = "real", floor_s: float | None = FLOOR_S, cpu_model: str = "Test CPU",
                  complete: bool = True) -> dict[str, Any]:
    return {
        "version": "1.0", "benchmarks": [], "metadata": {},
        "schedbench": {
            "format": "schedbench-results", "version": 1, "created_utc": "2026-11-21T12:00:00Z",
            "command": "python -m bench run --fast", "preset": "quick", "complete": complete, "interrupted": False,
            "environment": {"python": "3.11.7", "cpu_model": cpu_model, "cpu_count": 2, "hostname": "test",
                            "commit": "0123456789abcdef", "dirty": False, "clock": {"kind": clock}},
            "workload": {"rockets": rockets, "seed": seed, "modes": list(modes),
                         "time_scales": list(time_scales) if "timed" in modes else [], "clock": clock,
                         "total_sleeps": 6036, "expected_resumes": 8036},
            "settings": {"switch": {"processes": 4, "values": 3, "warmups": 1}, "timed": {"0.01": 4},
                         "run_limit_s": None},
            "floor": None if floor_s is None else {"benchmark": "floor", "mean_s": floor_s, "std_s": floor_s / 20,
                                                   "values_s": [floor_s] * 4},
            "runs": list(runs), "scaling": None,
        },
    }


def doc(raw: dict[str, Any]) -> Document:
    """A synthetic results dict through the results model, as ``load`` would give it."""
    return Document.from_json(raw, "test")


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document))
    return path


#: A low-noise sample (±1 %) and the same shape for timed figures.
LOW_NOISE = (0.99, 1.0, 1.005, 1.01)
HUGE_NOISE = (0.5, 0.8, 1.3, 1.9)


def scaled(center: float, shape: Sequence[float], factor: float = 1.0) -> list[float]:
    return [center * s * factor for s in shape]


def standard_runs(factor: float = 1.0, noise: Sequence[float] = LOW_NOISE, *,
                  slow: str = "heapq") -> list[dict[str, Any]]:
    """heapq and listscan in both modes; ``slow``'s figures multiplied by ``factor``."""
    runs = []
    for name, cost in (("heapq", 1100.0), ("listscan", 650.0)):
        f = factor if name == slow else 1.0
        runs.append(switch_run(name, scaled(cost, noise, f)))
    for name, cpu, p50, p99 in (("heapq", 6.0, 80.0, 200.0), ("listscan", 9.5, 230.0, 700.0)):
        f = factor if name == slow else 1.0
        runs.append(timed_run(name, scaled(cpu, noise, f), scaled(p50, noise, f), scaled(p99, noise, f)))
    return runs


# ---- driving the CLI as bench.cli.main does ---------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    compare_cli.add_compare_parser(sub)
    compare_cli.add_export_parser(sub)
    return parser


def run_cli(argv: Sequence[str]) -> int:
    """``bench.cli.main`` for the two commands: CLIError/ResultsError → one line, exit 2."""
    ns = build_parser().parse_args(list(argv))
    command = {"compare": compare_cli.cmd_compare, "export": compare_cli.cmd_export}[ns.command]
    try:
        return command(ns)
    except (CLIError, ResultsError) as exc:
        print(f"python -m bench: error: {exc}", file=__import__("sys").stderr)
        return EXIT_USAGE


def compare_files(tmp_path: Path, base: dict[str, Any], new: dict[str, Any], *extra: str) -> int:
    b = write(tmp_path / "base.json", base)
    n = write(tmp_path / "new.json", new)
    return run_cli(["compare", str(b), str(n), *extra])


def rows(base: dict[str, Any], new: dict[str, Any], **kwargs: Any) -> dict[tuple[str, str], str]:
    result = compare.compare_documents(doc(base), doc(new), **kwargs)
    return {(r.scheduler, f"{r.mode}:{r.figure}"): r.verdict for r in result.figures}


# ---- statistics -------------------------------------------------------------------

class TestMannWhitney:
    def test_u_statistic_counts_pairs_and_half_ties(self) -> None:
        assert stats.u_statistic([1, 2, 3, 4], [5, 6, 7, 8]) == 0
        assert stats.u_statistic([5, 6, 7, 8], [1, 2, 3, 4]) == 16
        # 3>2, 5>2, 5>4
        assert stats.u_statistic([1, 3, 5], [2, 4, 6]) == 3
        # one tie (2 = 2) counts a half; 3 > 2 counts one
        assert stats.u_statistic([2, 3], [2, 4]) == 1.5

    def test_null_distribution_small_cases(self) -> None:
        assert stats.u_distribution(1, 1) == (1.0, 1.0)
        assert stats.u_distribution(2, 2) == (1.0, 1.0, 2.0, 1.0, 1.0)
        assert stats.u_distribution(3, 3) == (1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 2.0, 1.0, 1.0)
        four = stats.u_distribution(4, 4)
        assert sum(four) == math.comb(8, 4) == 70
        assert four == tuple(reversed(four))

    def test_exact_p_values_by_hand(self) -> None:
        # complete separation, 4 vs 4: two of the 70 orderings are this extreme
        assert stats.mann_whitney_u([5, 6, 7, 8], [1, 2, 3, 4]).p_value == pytest.approx(2 / 70)
        assert stats.mann_whitney_u([1, 2, 3, 4], [5, 6, 7, 8]).p_value == pytest.approx(2 / 70)
        # one inversion: U = 1, P(U <= 1) = 2/70, two-sided 4/70
        assert stats.mann_whitney_u([1, 2, 3, 5], [4, 6, 7, 8]).p_value == pytest.approx(4 / 70)
        # 3 vs 3 complete separation: 2/20
        assert stats.mann_whitney_u([4, 5, 6], [1, 2, 3]).p_value == pytest.approx(0.1)
        # x = [1, 3, 5], y = [2, 4, 6]: U = 3, P(U <= 3) = (1+1+2+3)/20, two-sided 14/20
        result = stats.mann_whitney_u([1, 3, 5], [2, 4, 6])
        assert result.u == 3
        assert result.p_value == pytest.approx(0.7)
        assert result.method == "exact"

    def test_identical_samples_are_not_different(self) -> None:
        result = stats.mann_whitney_u([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])
        assert result.u == 8
        assert result.p_value == 1.0
        assert result.method == "exact with ties"

    def test_tied_exact_enumeration_by_hand(self) -> None:
        # all values equal: every split gives U = 2, p = 1
        assert stats.mann_whitney_u([1.0, 1.0], [1.0, 1.0]).p_value == 1.0
        # x = [1, 2], y = [2, 3]: midranks 1, 2.5, 2.5, 4 → U_x = 0.5. The six splits give
        # U = 0.5, 0.5, 2, 2, 3.5, 3.5; four are as far from the centre (2) as 0.5.
        result = stats.mann_whitney_u([1.0, 2.0], [2.0, 3.0])
        assert result.u == 0.5
        assert result.p_value == pytest.approx(4 / 6)

    def test_tie_enumeration_agrees_with_exact_distribution_without_ties(self) -> None:
        rng = np.random.default_rng(7)
        for n, m in itertools.product((2, 3, 4, 5), (2, 4, 6)):
            x, y = rng.normal(size=n), rng.normal(size=m) + 0.7
            exact = stats.mann_whitney_u(x, y).p_value
            enumerated = stats._exact_tied(np.asarray(x), np.asarray(y))
            assert exact == pytest.approx(enumerated), (n, m)

    def test_normal_approximation_is_close_to_exact_at_moderate_size(self) -> None:
        rng = np.random.default_rng(11)
        x, y = rng.normal(size=12), rng.normal(size=12) + 0.8
        a, b = np.asarray(x), np.asarray(y)
        exact = stats.mann_whitney_u(x, y).p_value
        approx = stats._normal(stats.u_statistic(a, b), a, b)
        assert abs(exact - approx) < 0.01

    def test_minimum_reachable_p_value(self) -> None:
        assert stats.min_p_value(4, 4) == pytest.approx(2 / 70)
        assert stats.min_p_value(3, 3) == pytest.approx(0.1)
        assert stats.min_p_value(0, 4) == 1.0

    def test_rejects_non_finite_values(self) -> None:
        with pytest.raises(ValueError, match="non-finite"):
            stats.mann_whitney_u([1.0, math.nan], [1.0, 2.0])

    def test_relative_change(self) -> None:
        assert stats.relative_change(100.0, 120.0) == pytest.approx(0.2)
        assert stats.relative_change(0.0, 0.0) == 0.0
        assert stats.relative_change(0.0, 1.0) == math.inf


class TestVerdicts:
    def test_decide_table(self) -> None:
        separated_up = stats.mann_whitney_u([5, 6, 7, 8], [1, 2, 3, 4])
        separated_down = stats.mann_whitney_u([1, 2, 3, 4], [5, 6, 7, 8])
        overlapping = stats.mann_whitney_u([1, 3, 5, 7], [2, 4, 6, 8])
        assert compare.decide(0.20, separated_up, 0.10) == "slower"
        assert compare.decide(-0.20, separated_down, 0.10) == "faster"
        assert compare.decide(0.05, separated_up, 0.10) == "no change"  # real, but within threshold
        assert compare.decide(0.20, overlapping, 0.10) == "inconclusive"
        assert compare.decide(0.20, separated_down, 0.10) == "inconclusive"  # medians and ranks disagree
        assert compare.decide(0.0, overlapping, 0.0) == "no change"
        # symmetric in ratio: +100 % slower mirrors -50 % faster
        assert compare.decide(-0.45, separated_down, 1.0) == "no change"
        assert compare.decide(-0.50, separated_down, 1.0) == "faster"
        assert compare.decide(0.99, separated_up, 1.0) == "no change"


# ---- the gate ---------------------------------------------------------------------

class TestGate:
    def test_identical_files_pass(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        doc = make_document(standard_runs())
        assert compare_files(tmp_path, doc, copy.deepcopy(doc)) == 0
        out = capsys.readouterr().out
        assert "Mann–Whitney U" in out
        assert "→ exit 0" in out
        assert set(rows(doc, doc).values()) == {"no change"}

    def test_twenty_percent_slower_with_low_noise_fails(self, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
        base = make_document(standard_runs())
        new = make_document(standard_runs(1.2))
        assert compare_files(tmp_path, base, new, "--threshold", "5%") == 1
        out = capsys.readouterr().out
        assert "SLOWER" in out and "+20.0%" in out and "0.029" in out
        verdicts = rows(base, new, threshold=0.05)
        assert verdicts[("heapq", "switch:switch")] == "slower"
        assert verdicts[("heapq", "timed:cpu_per_wake")] == "slower"
        assert verdicts[("listscan", "switch:switch")] == "no change"
        # lateness gets a verdict but does not gate unless asked to
        assert verdicts[("heapq", "timed:lateness_p99")] == "slower"
        result = compare.compare_documents(doc(base), doc(new), threshold=0.05)
        assert {(r.scheduler, r.figure) for r in result.slower} == {("heapq", "switch"), ("heapq", "cpu_per_wake")}

    def test_lateness_gates_only_when_asked(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        base = make_document(standard_runs())
        runs = standard_runs()
        runs[2]["processes"] = timed_run("heapq", [6.0] * 4, [80.0] * 4, scaled(200.0 * 2.5, LOW_NOISE))["processes"]
        new = make_document(runs)  # heapq's lateness p99 +150 %, nothing else changed
        assert compare_files(tmp_path, base, new) == 0
        out = capsys.readouterr().out
        assert "slower (not gated)" in out and "1 lateness figure(s) slower, not gated" in out
        assert compare_files(tmp_path, base, new, "--lateness-threshold", "50%") == 1
        assert compare_files(tmp_path, base, new, "--lateness-threshold", "200%") == 0

    def test_default_thresholds_are_stated(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        doc = make_document(standard_runs())
        assert compare_files(tmp_path, doc, doc) == 0
        assert f"threshold ±{compare.DEFAULT_THRESHOLD * 100:g}% (lateness: not gated;" in capsys.readouterr().out

    def test_twenty_percent_slower_under_huge_noise_is_inconclusive(self, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
        base = make_document(standard_runs(noise=HUGE_NOISE))
        new = make_document(standard_runs(1.2, noise=tuple(reversed(HUGE_NOISE))))
        assert compare_files(tmp_path, base, new, "--threshold", "5%") == 0
        assert "inconclusive" in capsys.readouterr().out
        assert rows(base, new, threshold=0.05)[("heapq", "switch:switch")] == "inconclusive"

    def test_faster_passes(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        base = make_document(standard_runs())
        new = make_document(standard_runs(0.7))
        assert compare_files(tmp_path, base, new, "--threshold", "10%") == 0
        assert rows(base, new, threshold=0.1)[("heapq", "switch:switch")] == "faster"
        assert "faster" in capsys.readouterr().out

    def test_slower_within_threshold_passes(self, tmp_path: Path) -> None:
        base = make_document(standard_runs())
        new = make_document(standard_runs(1.2))
        assert compare_files(tmp_path, base, new, "--threshold", "25%") == 0
        assert rows(base, new, threshold=0.25)[("heapq", "switch:switch")] == "no change"

    def test_three_processes_cannot_be_significant_and_say_so(self, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
        base = make_document([switch_run("heapq", [1000, 1001, 1002])], modes=("switch",))
        new = make_document([switch_run("heapq", [2000, 2001, 2002])], modes=("switch",))
        assert compare_files(tmp_path, base, new) == 0
        out = capsys.readouterr().out
        assert "inconclusive" in out
        assert "too few processes (3 vs 3)" in out

    def test_markdown_report(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        base = make_document(standard_runs())
        new = make_document(standard_runs(1.2))
        assert compare_files(tmp_path, base, new, "--markdown", "--threshold", "10%") == 1
        out = capsys.readouterr().out
        assert out.startswith("### schedbench compare")
        assert "| run | figure | base | new | change | p | n base/new | verdict |" in out
        assert "**SLOWER**" in out


class TestBrokenRuns:
    def test_valid_to_invalid_fails_the_gate(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        base = make_document(standard_runs())
        runs = standard_runs()
        runs[0] = switch_run("heapq", [], status="invalid", reasons=["lost rocket 12"])
        new = make_document(runs)
        assert compare_files(tmp_path, base, new) == 1
        out = capsys.readouterr().out
        assert "heapq switch: valid in BASE, INVALID in NEW (lost rocket 12): BROKEN" in out
        assert "valid in BASE but not in NEW: heapq switch" in out

    def test_valid_to_failed_fails_even_when_the_rest_is_faster(self, tmp_path: Path) -> None:
        base = make_document(standard_runs())
        runs = standard_runs(0.5, slow="listscan")
        runs[2] = timed_run("heapq", [], [], [], status="failed", reasons=["timed out after 30 s"])
        assert compare_files(tmp_path, base, make_document(runs)) == 1

    def test_invalid_to_valid_is_fixed_not_a_regression(self, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
        runs = standard_runs()
        runs[0] = switch_run("heapq", [], status="invalid", reasons=["lost rocket 12"])
        assert compare_files(tmp_path, make_document(runs), make_document(standard_runs())) == 0
        assert "INVALID in BASE (lost rocket 12), valid in NEW: nothing to compare against" in capsys.readouterr().out

    def test_runs_in_one_file_only_are_listed_not_gated(self, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
        base = make_document(standard_runs())
        new = make_document([*standard_runs()[1:], switch_run("deque", [1700, 1710, 1720, 1730])])
        assert compare_files(tmp_path, base, new) == 0
        out = capsys.readouterr().out
        assert "heapq switch: VALID in BASE, missing in NEW" in out
        assert "deque switch: only in NEW" in out


class TestRefusals:
    @pytest.mark.parametrize(("change", "expected"), [
        ({"rockets": 10_000}, "rockets 2,000 vs 10,000"),
        ({"seed": 7}, "seed 1969 vs 7"),
        ({"clock": "virtual"}, "clock real vs virtual"),
        ({"time_scales": (0.1, 0.01)}, "time scales 0.01 vs 0.01,0.1"),
        ({"modes": ("switch",)}, "modes switch,timed vs switch"),
    ])
    def test_different_workloads_exit_2_naming_the_difference(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], expected: str
    ) -> None:
        base = make_document(standard_runs())
        new = make_document(standard_runs(), **change)
        assert compare_files(tmp_path, base, new) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith("python -m bench: error: cannot compare")
        assert expected in err

    @pytest.mark.parametrize(("content", "expected"), [
        ("", "empty file"),
        ('{"schedbench": {"format": "schedbench-res', "not valid JSON"),
        ("not json at all", "not valid JSON"),
        ('{"schedbench": {"format": "schedbench-results", "version": 99}}', "version 99 is not supported"),
        ('{"benchmarks": []}', "not a schedbench results file"),
    ])
    def test_unreadable_file_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     content: str, expected: str) -> None:
        good = write(tmp_path / "good.json", make_document(standard_runs()))
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        assert run_cli(["compare", str(good), str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert expected in err

    def test_missing_file_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        good = write(tmp_path / "good.json", make_document(standard_runs()))
        assert run_cli(["compare", str(tmp_path / "nope.json"), str(good)]) == 2
        assert "no such file" in capsys.readouterr().err

    @pytest.mark.parametrize("threshold", ["abc", "-5%", "nan", "5000%", ""])
    def test_bad_threshold_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   threshold: str) -> None:
        doc = make_document(standard_runs())
        assert compare_files(tmp_path, doc, doc, f"--threshold={threshold}") == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--threshold" in err

    def test_bad_lateness_threshold_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        doc = make_document(standard_runs())
        assert compare_files(tmp_path, doc, doc, "--lateness-threshold", "lots") == 2
        assert "--lateness-threshold 'lots' is not a percentage" in capsys.readouterr().err

    def test_threshold_forms(self) -> None:
        assert compare_cli.parse_threshold("5%") == pytest.approx(0.05)
        assert compare_cli.parse_threshold("5") == pytest.approx(0.05)
        assert compare_cli.parse_threshold(" 12.5 % ") == pytest.approx(0.125)
        assert compare_cli.parse_threshold("0%") == 0.0
        with pytest.raises(CLIError, match="'-5%' is out of range"):
            compare_cli.parse_threshold("-5%")

    def test_bad_normalize_value_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        doc = make_document(standard_runs())
        with pytest.raises(SystemExit) as exc:
            compare_files(tmp_path, doc, doc, "--normalize", "ceiling")
        assert exc.value.code == 2
        assert "invalid choice: 'ceiling'" in capsys.readouterr().err


class TestNormalizeFloor:
    def test_slower_machine_is_no_change_as_multiples_of_floor(self, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
        base = make_document(standard_runs(), floor_s=50e-9, cpu_model="Fast CPU")
        # Everything CPU-bound twice as slow on a machine whose floor is twice as slow.
        new_runs = standard_runs()
        for run in new_runs:
            if run["switch"]:
                run["switch"]["values_s"] = [v * 2 for v in run["switch"]["values_s"]]
            if run["timed"]:
                run["timed"]["cpu_per_wake_us_values"] = [v * 2 for v in run["timed"]["cpu_per_wake_us_values"]]
        new = make_document(new_runs, floor_s=100e-9, cpu_model="Slow CPU")
        assert compare_files(tmp_path, base, new) == 1
        assert "different machines" in capsys.readouterr().out
        assert compare_files(tmp_path, base, new, "--normalize", "floor") == 0
        out = capsys.readouterr().out
        assert "multiples of each file's floor (BASE 50.0 ns, NEW 100.0 ns per send)" in out
        assert "22.1×" in out  # heapq: median 1,100 × 1.0025 ns / 50 ns
        verdicts = rows(base, new, normalize="floor")
        assert verdicts[("heapq", "switch:switch")] == "no change"
        assert verdicts[("heapq", "timed:cpu_per_wake")] == "no change"

    def test_regression_is_caught_across_floors(self, tmp_path: Path) -> None:
        base = make_document(standard_runs(), floor_s=50e-9)
        new_runs = standard_runs(1.25)  # heapq 25 % slower in floor units …
        for run in new_runs:  # … measured on a machine twice as fast
            if run["switch"]:
                run["switch"]["values_s"] = [v * 0.5 for v in run["switch"]["values_s"]]
            if run["timed"]:
                run["timed"]["cpu_per_wake_us_values"] = [v * 0.5 for v in run["timed"]["cpu_per_wake_us_values"]]
        new = make_document(new_runs, floor_s=25e-9)
        assert compare_files(tmp_path, base, new, "--normalize", "floor", "--threshold", "10%") == 1
        verdicts = rows(base, new, normalize="floor", threshold=0.1)
        assert verdicts[("heapq", "switch:switch")] == "slower"
        assert verdicts[("heapq", "timed:cpu_per_wake")] == "slower"
        assert verdicts[("listscan", "switch:switch")] == "no change"
        assert verdicts[("listscan", "timed:cpu_per_wake")] == "no change"
        assert rows(base, new, threshold=0.1)[("listscan", "switch:switch")] == "faster"  # raw: the fast machine

    def test_missing_floor_is_refused(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        base = make_document(standard_runs())
        new = make_document(standard_runs(), floor_s=None)
        assert compare_files(tmp_path, base, new, "--normalize", "floor") == 2
        err = capsys.readouterr().err
        assert "new.json has no floor measurement" in err and err.count("\n") == 1
        assert compare_files(tmp_path, base, new) == 0  # without --normalize the floor is not needed


def test_real_results_file_compared_with_itself(pipeline_results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real pipeline's file (with INVALID runs from a broken plugin) against itself."""
    assert run_cli(["compare", str(pipeline_results), str(pipeline_results)]) == 0
    out = capsys.readouterr().out
    assert "loses-rocket switch: INVALID in BASE, INVALID in NEW" in out
    assert "slower" not in out.lower().replace("no figure significantly slower", "")


class TestPooling:
    def test_comma_separated_files_pool_their_processes(self, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
        a1 = write(tmp_path / "a1.json", make_document(standard_runs()))
        a2 = write(tmp_path / "a2.json", make_document(standard_runs(1.02)))
        b1 = write(tmp_path / "b1.json", make_document(standard_runs(1.5)))
        b2 = write(tmp_path / "b2.json", make_document(standard_runs(1.52)))
        assert run_cli(["compare", f"{a1},{a2}", f"{b1},{b2}", "--threshold", "10%"]) == 1
        out = capsys.readouterr().out
        assert "BASE pools 2 results files" in out and "NEW pools 2 results files" in out
        assert "8/8" in out  # four processes from each file
        assert "<0.001" in out  # 8 against 8, completely separated: p = 2/12870

    def test_pooled_status_is_the_worst(self) -> None:
        runs = standard_runs()
        runs[0] = switch_run("heapq", [], status="failed", reasons=["timed out"])
        pooled = compare.pool([doc(make_document(standard_runs())), doc(make_document(runs))], ["n1", "n2"])
        heapq = next(r for r in pooled.runs if r.scheduler == "heapq" and r.mode == "switch")
        assert heapq.status is Status.FAILED and heapq.reasons == ("timed out",)
        result = compare.compare_documents(doc(make_document(standard_runs())), pooled)
        assert [r.scheduler for r in result.broken] == ["heapq"]

    def test_pooling_different_workloads_is_refused(self, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
        a1 = write(tmp_path / "a1.json", make_document(standard_runs()))
        a2 = write(tmp_path / "a2.json", make_document(standard_runs(), seed=5))
        b = write(tmp_path / "b.json", make_document(standard_runs()))
        assert run_cli(["compare", f"{a1},{a2}", str(b)]) == 2
        err = capsys.readouterr().err
        assert "cannot pool" in err and "seed 1969 vs 5" in err and err.count("\n") == 1


def test_a_missing_baseline_says_how_one_is_made(tmp_path: Path) -> None:
    """The first compare a newcomer runs has no baseline yet: one line naming the file and
    `make baseline`, exit 2."""
    proc = subprocess.run([sys.executable, "-m", "bench", "compare", str(tmp_path / "baseline.json"),
                           str(tmp_path / "new.json")], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "baseline.json: no such file" in lines[0] and "make baseline" in lines[0]


# ---- instruction counts: the header says what that gate does -------------------------

INSTRUCTIONS_REFERENCE = ROOT / "results" / "reference" / "2026-11-22T0458-instructions.json"


def bumped_instructions(raw: dict[str, Any], scheduler: str, factor: float) -> dict[str, Any]:
    """``raw`` with every instruction count of ``scheduler`` multiplied by ``factor``."""
    out = copy.deepcopy(raw)
    for run in out["schedbench"]["runs"]:
        if run["scheduler"] == scheduler and run.get("instructions"):
            run["instructions"]["values"] = [v * factor for v in run["instructions"]["values"]]
    return out


class TestInstructionHeader:
    """Counts are exact: no test, no wall-time threshold; the header and verdict say so."""

    def test_header_names_the_exact_rule_and_its_threshold(self, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
        raw = json.loads(INSTRUCTIONS_REFERENCE.read_text())
        assert compare_files(tmp_path, raw, raw) == 0
        out = capsys.readouterr().out
        method = out.splitlines()[3]  # BASE, NEW, workload, then the method
        assert "exact" in method and "no statistical test" in method
        assert f"±{compare.DEFAULT_INSTR_THRESHOLD * 100:g}% (--instr-threshold)" in method
        for wall_time_notion in ("Mann–Whitney", f"±{compare.DEFAULT_THRESHOLD * 100:g}%", "p <"):
            assert wall_time_notion not in out
        assert out.splitlines()[-1].startswith("result: no instruction count grew beyond 1% plus drift")

    def test_a_count_beyond_the_threshold_fails_as_an_exact_count(self, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
        raw = json.loads(INSTRUCTIONS_REFERENCE.read_text())
        assert compare_files(tmp_path, raw, bumped_instructions(raw, "heapq", 1.05)) == 1
        out = capsys.readouterr().out
        assert "Mann–Whitney" not in out
        assert "heapq switch instructions per switch +5.0% (exact count" in out.splitlines()[-1]

    def test_help_tells_the_two_gates_apart(self) -> None:
        description = compare_cli.add_compare_parser(OneLineParser().add_subparsers()).description or ""
        assert "Instruction counts" in description and "exact" in description and "--instr-threshold" in description
