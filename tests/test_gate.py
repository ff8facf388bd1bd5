"""The paired gate end to end: two versions side by side, a planted 2× change caught, bad
input refused before anything runs, an interrupted gate keeps its pairs.

Nothing here depends on the machine's speed: the planted change is about 2× (far beyond
any noise), and A/A runs are checked for what they write, not for their verdicts (those
are error rates, measured by scripts/gate_campaign.py, not tested)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from bench.measure.side_loader import load_side

sys.path.insert(0, str(ROOT / "scripts"))
from gate_campaign import HEAPQ_ANCHOR, copy_tree


def _package(root: Path, value: int) -> None:
    pkg = root / "schedulers"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sibling.py").write_text(f"VALUE = {value}\n")
    (pkg / "thing.py").write_text(
        "COUNTER = []\n"
        "class Thing:\n"
        "    def bump(self):\n"
        "        COUNTER.append(1)\n"
        "        return len(COUNTER)\n"
        "    def lazy(self):\n"
        "        from schedulers.sibling import VALUE  # looked up at call time\n"
        "        return VALUE\n")


def test_two_versions_of_one_module_share_no_state(tmp_path: Path) -> None:
    _package(tmp_path / "a", 1)
    _package(tmp_path / "b", 2)
    before = {n: m for n, m in sys.modules.items() if n == "schedulers" or n.startswith("schedulers.")}
    side_a, thing_a = load_side("A", tmp_path / "a", "schedulers.thing:Thing")
    side_b, thing_b = load_side("B", tmp_path / "b", "schedulers.thing:Thing")
    # Loading left the process's own modules as they were.
    assert {n: m for n, m in sys.modules.items() if n == "schedulers" or n.startswith("schedulers.")} == before
    assert thing_a is not thing_b
    assert thing_a().bump() == 1 and thing_a().bump() == 2
    assert thing_b().bump() == 1  # its own module globals
    try:
        side_a.activate()
        assert thing_a().lazy() == 1
        side_b.activate()
        assert thing_b().lazy() == 2  # a lazy import finds the active side's sibling
    finally:
        for name in [n for n in sys.modules if n == "schedulers" or n.startswith("schedulers.")]:
            del sys.modules[name]
        sys.modules.update(before)


def test_a_module_missing_from_a_side_tree_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a" / "schedulers").mkdir(parents=True)
    (tmp_path / "a" / "schedulers" / "__init__.py").write_text("")
    with pytest.raises(ImportError):
        load_side("A", tmp_path / "a", "schedulers.thing:Thing")


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two copies of this checkout; B's heapq does about 2× the work per resume."""
    base = tmp_path_factory.mktemp("gate")
    a, b = base / "a", base / "b"
    copy_tree(a)
    copy_tree(b)
    heapq = b / "schedulers" / "heapq_timers.py"
    extra = "                for _planted in range(60):  # about 2x the loop's own work\n                    pass\n"
    heapq.write_text(heapq.read_text().replace(HEAPQ_ANCHOR, HEAPQ_ANCHOR + extra, 1))
    return a, b


def _gate(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", "gate", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize("level", ["in-process", "process"])
def test_a_planted_2x_slowdown_fails_the_gate(trees: tuple[Path, Path], tmp_path: Path, level: str) -> None:
    a, b = trees
    out = tmp_path / "gate.json"
    proc = _gate(str(a), str(b), "-s", "heapq", "--mode", "switch", "--level", level, "--rockets", "500",
                 "--order-seed", "7", "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    data = json.loads(out.read_text())["schedbench_gate"]
    (row,) = [f for f in data["figures"] if f["figure"] == "switch_ns"]
    assert row["verdict"] == "regression" and row["level"] == level
    assert row["estimate"] > 0.3  # about 2x planted; far above any noise
    assert data["complete"] and not data["same_sides"]
    assert "regression" in proc.stdout


@pytest.mark.slow
def test_an_aa_run_says_so_and_writes_every_pair(trees: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = trees
    out = tmp_path / "aa.json"
    proc = _gate(str(a), str(a), "-s", "heapq", "--mode", "switch", "--rockets", "500", "-o", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    assert "A/A" in proc.stderr and "A/A" in proc.stdout
    data = json.loads(out.read_text())["schedbench_gate"]
    assert data["same_sides"] and data["complete"]
    (row,) = data["figures"]
    assert row["level"] == "in-process" and len(row["pairs"]) >= 70
    shown = subprocess.run([sys.executable, "-m", "bench", "show", str(out)], capture_output=True, text=True,
                           cwd=ROOT, timeout=60)
    assert shown.returncode == 0 and "heapq" in shown.stdout


@pytest.mark.parametrize("args, says", [
    (["no-such-ref-xyz", "."], "neither a directory nor a git ref"),
    (["/", "."], "not a schedbench tree"),
    ([".", ".", "-s", "no-such-loop"], "has no scheduler 'no-such-loop'"),
    ([".", ".", "--min-effect", "2"], "relative effect"),
    ([".", ".", "--mode", "virtual"], "unknown mode 'virtual'"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    proc = _gate(*args, "-o", str(tmp_path / "g.json"), timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "g.json").exists()


@pytest.mark.slow
def test_sigterm_keeps_the_pairs_measured_so_far(trees: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = trees
    out = tmp_path / "stopped.json"
    proc = subprocess.Popen([sys.executable, "-m", "bench", "gate", str(a), str(b), "-s", "heapq,asyncio",
                             "--mode", "switch", "--level", "in-process", "--rockets", "500", "-o", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not out.exists():  # written after the first scheduler
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    data = json.loads(out.read_text())["schedbench_gate"]
    assert not data["complete"]
    assert data["figures"] and data["figures"][0]["scheduler"] == "heapq" and data["figures"][0]["pairs"]
