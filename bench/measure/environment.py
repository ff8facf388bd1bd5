"""Record the machine and interpreter state that can move a measurement.

Timer slack bounds how precisely ``time.sleep`` wakes; GC state changes allocation-heavy
loops; CPU model, governor and load explain cross-machine differences; the git commit
ties a figure to the code that produced it. All of it goes into every results file.
"""

from __future__ import annotations

import gc
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyperf

from bench.measure.clocks import ClockKind, describe_clock


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def timer_slack_ns() -> int | None:
    value = _read("/proc/self/timerslack_ns")
    return int(value) if value and value.isdigit() else None


def git_commit(root: Path | None = None) -> dict[str, Any]:
    cwd = root or Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(dirty) if commit else None}


def capture(clock: ClockKind, python_flags: tuple[str, ...] = (), worker_python: str | None = None) -> dict[str, Any]:
    """Everything that can move a figure. ``python_flags`` and ``worker_python`` are what the
    workers run with (``-O``, another interpreter); the rest describes this process's machine."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "python_flags": list(python_flags),
        "worker_python": worker_python,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "load_avg_1m": load[0] if load else None,
        "timer_slack_ns": timer_slack_ns(),
        "gc_enabled": gc.isenabled(),
        "gc_thresholds": list(gc.get_threshold()),
        "clock": describe_clock(clock),
        "pyperf": pyperf.__version__,
        **git_commit(),
        "captured_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
