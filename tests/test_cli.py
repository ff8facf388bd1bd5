"""The CLI boundary: listing, one-shot runs, and one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, InstallPlugins


def bench(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--scheduler", "nope"], "unknown scheduler 'nope'; available: "),
        (["run", "--rockets", "0"], "0 is too small"),
        (["run", "--rockets", "ten"], "'ten' is not an integer"),
        (["run", "--time-scale", "0"], "'0' is not allowed"),
        (["run", "--time-scale", "-1"], "'-1' is not allowed"),
        (["run", "--time-scale", "nan"], "'nan' is not allowed"),
        (["run", "--time-scale", "inf"], "'inf' is not allowed"),
        (["run", "--time-scale", "5e-5"], "time scale '5e-5' is not allowed; use 0.0001 … 100 seconds per tick"),
        (["run", "--time-scale", "101"], "time scale '101' is not allowed; use 0.0001 … 100"),
        (["run", "--time-scales", "0.01,1000"], "time scale '1000' is not allowed; use 0.0001 … 100"),
        (["gate", "--time-scale", "1e-6"], "time scale '1e-6' is not allowed"),
        (["run", "--python", "/bin/false"], "'/bin/false' failed the interpreter check (exit status 1, no message)"),
        (["run", "--seed", "1.5"], "'1.5' is not an integer seed"),
        (["run", "--mode", "fast"], "unknown mode 'fast'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], needle: str) -> None:
    proc = bench(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]


def test_list_shows_builtins_and_broken_plugins(install_plugins: InstallPlugins) -> None:
    env = install_plugins({"no-run": "broken_schedulers:NoRun", "ghost": "ghost_module:X"})
    proc = bench("list", env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for name in ("listscan", "busywait", "heapq", "deque", "asyncio"):
        assert name in out
    assert "unavailable: missing method 'run'" in out
    assert "unavailable: import failed: ModuleNotFoundError" in out
    assert "plugin schedbench-test-plugins 0.1" in out


def test_one_shot_run_prints_a_valid_row_per_scheduler() -> None:
    proc = bench("run", "--once", "-s", "heapq,listscan", "--mode", "timed", "--rockets", "100",
                 "--time-scale", "0.002")
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("heapq", "listscan"))]
    assert len(rows) == 2 and all(" VALID " in row for row in rows)


def test_one_shot_run_reports_invalid_plugin_and_keeps_others(install_plugins: InstallPlugins) -> None:
    env = install_plugins({"loses-rocket": "broken_schedulers:LosesRocket"})
    proc = bench("run", "--once", "-s", "loses-rocket,heapq", "--rockets", "50", env=env)
    assert proc.returncode == 1
    assert "INVALID" in proc.stdout and "rocket lost" in proc.stdout
    heapq_row = next(line for line in proc.stdout.splitlines() if line.startswith("heapq"))
    assert " VALID " in heapq_row


def test_show_fits_120_columns_and_ends_quietly_in_a_pipe() -> None:
    """``show`` of the reference file (all tables, long reasons) wraps to 120 columns, and a
    reader that leaves early (``| head``) gets no BrokenPipeError traceback."""
    import subprocess
    import sys

    from conftest import ROOT

    reference = ROOT / "results" / "reference" / "2026-11-21-default-v1.json"
    shown = subprocess.run([sys.executable, "-m", "bench", "show", str(reference)], capture_output=True,
                           text=True, cwd=ROOT, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert max(len(line) for line in shown.stdout.splitlines()) <= 120
    head = subprocess.run(f"{sys.executable} -m bench show {reference} | head -2", shell=True,
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert len(head.stdout.splitlines()) == 2 and "Traceback" not in head.stderr and head.stderr == ""
