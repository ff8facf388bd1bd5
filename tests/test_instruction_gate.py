"""``run --measure instructions`` end to end, and the instruction gate in ``compare``.

Skipped where Valgrind is missing (the install line is the reason). Small workloads:
instruction counts are exact at any size.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed: "
                                "apt-get install valgrind")


def bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, env=env)


def count(out: Path, *extra: str) -> dict[str, float]:
    proc = bench("run", "--measure", "instructions", "-s", "heapq", "--mode", "switch", "--rockets", "300",
                 "-o", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(out.read_text())["schedbench"]["runs"]
    # Counted runs are ranked by family like timed ones: the file must say which.
    assert {r["scheduler"]: r["family"] for r in runs} == {"heapq": "teaching"}
    return {r["scheduler"]: r["instructions"]["per_unit"] for r in runs}


@pytest.mark.slow
def test_same_code_counts_alike_and_a_planted_change_fails_the_gate(tmp_path: Path) -> None:
    # The control and the change run the same hook; only the planted work differs.
    a1 = count(tmp_path / "a1.json", "--handicap", "heapq:0")
    a2 = count(tmp_path / "a2.json", "--handicap", "heapq:0")
    assert abs(a2["heapq"] / a1["heapq"] - 1) < 0.001  # same code: < 0.1 %
    same = bench("compare", str(tmp_path / "a1.json"), str(tmp_path / "a2.json"))
    assert same.returncode == 0, same.stdout + same.stderr
    slower = count(tmp_path / "b.json", "--handicap", "heapq:2")  # two loop turns per sleep
    change = slower["heapq"] / a1["heapq"] - 1
    assert 0.01 < change < 0.05, change  # a change of a few per cent, beyond the 1 % gate
    gate = bench("compare", str(tmp_path / "a1.json"), str(tmp_path / "b.json"))
    assert gate.returncode == 1, gate.stdout
    assert "exact count" in gate.stdout.splitlines()[-1]


def test_the_real_clock_is_refused(tmp_path: Path) -> None:
    proc = bench("run", "--measure", "instructions", "--mode", "timed", "--clock", "real", "-o",
                 str(tmp_path / "x.json"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "virtual clock only" in proc.stderr
    assert not (tmp_path / "x.json").exists()


def test_missing_valgrind_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # python, but no valgrind
    proc = bench("run", "--measure", "instructions", "-s", "heapq", "-o", str(tmp_path / "x.json"), env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "apt-get install valgrind" in proc.stderr
