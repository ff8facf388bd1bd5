"""scripts/noisy_neighbour.py: runs on time, alternates phases, works while on, stops cleanly, rejects bad input."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "noisy_neighbour.py"
SHORT = ["--on", "0.2-0.4", "--off", "0.2-0.4", "--size-mb", "8"]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_short_run_exits_on_time_alternates_and_works(tmp_path: Path) -> None:
    log = tmp_path / "noise.jsonl"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    began = time.monotonic()
    proc = _start("--duration", "2", "--seed", "7", "--log", str(log), *SHORT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - began < 20
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "seed 7" in out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    phases = [r["phase"] for r in records]
    assert phases[-1] == "stop"
    assert len(phases) >= 3  # at least on, off, stop in 2 s of 0.2-0.4 s phases
    assert phases[:-1] == ["on" if i % 2 == 0 else "off" for i in range(len(phases) - 1)]
    assert all(r["seed"] == 7 for r in records)
    times = [r["t"] for r in records]
    assert times == sorted(times)
    # the workers were waited for, so their CPU time is counted among this process's children
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before > 0.1


def _children(pid: int) -> set[int]:
    """Linux: the processes whose parent is ``pid`` (empty where there is no /proc)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_stops_promptly_without_traceback(tmp_path: Path) -> None:
    log = tmp_path / "noise.jsonl"
    proc = _start("--workers", "2", "--log", str(log), *SHORT)  # no duration: runs until stopped
    deadline = time.monotonic() + 15
    while not log.exists() or not log.read_text():  # the phases have begun: the workers are up
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1]
        time.sleep(0.05)
    time.sleep(0.5)
    children = _children(proc.pid)
    assert len(children) >= 2 or not Path("/proc").is_dir()  # two workers
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    assert time.monotonic() - stopped < 10
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err
    assert proc.returncode != 0 or "stopped (SIGTERM)" in out
    deadline = time.monotonic() + 5  # its children (workers, multiprocessing's helper) end with it
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children)
    assert json.loads(log.read_text().splitlines()[-1])["phase"] == "stop"


@pytest.mark.parametrize(("args", "value"), [
    (["--duration", "-1"], "-1"),
    (["--duration", "x"], "x"),
    (["--on", "6-1"], "6-1"),
    (["--off", "x"], "x"),
    (["--on", "1-"], "1-"),
    (["--workers", "0"], "0"),
    (["--workers", "1.5"], "1.5"),
    (["--size-mb", "0"], "0"),
    (["--size-mb", "-3"], "-3"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], value: str) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert repr(value) in lines[0] and args[0] in lines[0]
    assert proc.stdout == ""  # rejected before anything ran
