"""Child processes of the harness: killing a process group, explaining how one ended.

A worker runs plugin code in a session of its own; these are the two things every parent
(the suite, the one-shot runner) does with it afterwards, written once.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from pathlib import Path

#: How much of a child's stderr is read to explain its exit: its tail, never all of it (a
#: plugin may print gigabytes).
STDERR_TAIL_BYTES = 64 * 1024


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc``'s whole process group (it was started with ``start_new_session``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def tail(path: Path) -> str:
    with path.open("rb") as fp:
        fp.seek(0, os.SEEK_END)
        size = fp.tell()
        fp.seek(max(0, size - STDERR_TAIL_BYTES))
        return fp.read().decode(errors="replace")


def describe_exit(returncode: int, stderr_path: Path, ended: str = "worker exited with status {code}") -> str:
    """Why a child ended: the signal that killed it, or its exit status and its last line of
    stderr. ``ended`` words a plain exit (``{code}`` is the status)."""
    if returncode < 0:
        name = signal.Signals(-returncode).name
        if name == "SIGKILL":
            return "killed (SIGKILL): out of memory or killed from outside"
        return f"killed by {name}"
    lines = [line for line in tail(stderr_path).splitlines() if line.strip()]
    detail = lines[-1].strip()[:200] if lines else "no error output"
    # pyperf's manager reports a worker's death as "... failed with exit code -9".
    match = re.search(r"failed with exit code (-\d+)", detail)
    if match:
        return describe_exit(int(match.group(1)), stderr_path, ended)
    return f"{ended.format(code=returncode)}: {detail}"
