"""What a syscall count runs under: strace, whether it can trace here, and its command line.

``bench.measure.syscalls`` asks this module whether strace can run here and for the command
a counting process runs under; the process itself is started by ``bench.measure.isolate``
like every other child of the harness (the request's ``prefix``).

Why a full trace and not ``strace -c``: ``-c`` sums the whole process (interpreter start,
imports, the warm-up run) and cannot be restricted to a region. A full trace
(``-f -o FILE``: every thread and forked process, one line per call, each prefixed with
its pid) can: the counting child marks where ``run`` begins and ends with a call no
scheduler makes (``bench.measure.strace_trace``), and only the calls between the marks
are counted. ``-qq`` keeps attach/detach and exit notices out of the file, ``-s 0`` prints
no string contents (the trace is read for names only, and a scheduler's buffers need not
be copied into it).

strace stops the traced program at every call, so a call costs tens of microseconds
instead of a fraction of one: timing-dependent counts (how often a loop finds nothing due
and blocks again) differ from an untraced run's, which is why those are never gated
(``bench.results.syscall_kinds``). Nothing measured under strace is a time.

Where strace cannot trace: containers often forbid ``ptrace`` (seccomp, or
``kernel.yama.ptrace_scope``). The probe runs strace once on ``true`` and turns its
complaint into the one-line reason every count is SKIPPED with.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

INSTALL_HINT: Final = "apt-get install strace (Debian/Ubuntu) or dnf install strace (Fedora)"
#: The trace file a counting process writes, in its own folder.
TRACE_FILE: Final = "strace.txt"
_PROBE_TIMEOUT_S: Final = 60.0


@functools.cache
def _strace() -> tuple[str | None, str | None]:
    """(problem, version): probed once per process by tracing ``true``."""
    exe = shutil.which("strace")
    if exe is None:
        return f"strace is not installed: {INSTALL_HINT}", None
    target = shutil.which("true") or "/bin/true"
    try:
        version = subprocess.run([exe, "-V"], capture_output=True, text=True,
                                 timeout=_PROBE_TIMEOUT_S).stdout.strip().splitlines()
        with tempfile.TemporaryDirectory(prefix="schedbench-strace-") as tmp:
            proc = subprocess.run([exe, "-f", "-qq", "-o", str(Path(tmp) / TRACE_FILE), target],
                                  capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
            traced = (Path(tmp) / TRACE_FILE).read_text(errors="replace") if proc.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError) as exc:
        return f"strace cannot run here: {type(exc).__name__}: {exc}", None
    name = version[0] if version else None
    if proc.returncode != 0:
        said = _last_line(proc.stderr) or f"exit {proc.returncode}"
        if "not permitted" in said.lower() or "ptrace" in said.lower():
            return f"strace cannot trace here (ptrace is restricted in this container or by " \
                   f"kernel.yama.ptrace_scope): {said}", name
        return f"strace cannot run here: {said}", name
    if "execve(" not in traced:
        return "strace cannot trace here: it traced no call of a trivial program", name
    return None, name


def strace_problem() -> str | None:
    """None when strace can trace a program here; else one line saying why not."""
    return _strace()[0]


def strace_version() -> str | None:
    """The first line of ``strace -V`` (e.g. ``strace -- version 6.1``), None when absent."""
    return _strace()[1]


#: Run first, in the process ``isolate`` started: make it a child subreaper, then exec the
#: rest of the command line (strace). ``PR_SET_CHILD_SUBREAPER`` is 36; it survives exec.
SUBREAPER_EXEC: Final = ("import ctypes, os, sys; ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0); "
                         "os.execv(sys.argv[1], sys.argv[1:])")


def strace_prefix(trace: Path) -> tuple[str, ...]:
    """The command a counting child's interpreter runs under: every thread and process
    (``-f``), into ``trace``, names only, strace detached from the tree's top (``-D``).

    Why ``-D``: without it strace would be the interpreter's parent, and the isolation
    child refuses to run when its parent is not the orchestrator (it would not die with
    it). With ``-D`` the traced interpreter is exec'd in the process ``isolate`` started
    and strace attaches from a grandchild. That grandchild is orphaned at once, and an
    orphan is reparented to the nearest child subreaper: the orchestrator, which ends
    every orphan it finds whenever *any* request ends, so a second counting process
    finishing would kill the first one's strace mid-run. Hence ``SUBREAPER_EXEC`` first:
    the started process becomes a subreaper itself before it execs strace, so strace is
    reparented to the traced interpreter (inside the request's session, ended with its
    tree) and to no one else's.
    """
    strace = shutil.which("strace") or "strace"
    return (sys.executable, "-c", SUBREAPER_EXEC, strace, "-D", "-f", "-qq", "-s", "0", "-o", str(trace))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
