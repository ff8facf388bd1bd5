"""The process tree of every job: who reaps orphans, who dies with whom, what a dead
orchestrator left behind.

``bench.measure.isolate`` starts each child in a session of its own; this module ends
those sessions and whatever escaped them. This process is a child subreaper
(``PR_SET_CHILD_SUBREAPER``), so a daemon that double-forked out of its session is
reparented here and still found; each child asks for SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``); and each orchestrator keeps a scratch folder named after its pid
that lists its sessions, so the next start can kill what a SIGKILLed orchestrator left
and remove its folder. Descendants carry ``OWNER_VARIABLE`` in their environment, which
finds even a process that left every session.

Trade-off: scanning ``/proc`` is Linux-only and costs a few milliseconds per job end; on
other systems only the session is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

SCRATCH_PREFIX: Final = "schedbench-"
#: Set in every child's environment to the orchestrator's scratch folder: descendants inherit
#: it, so the next start finds what a SIGKILLed orchestrator left, even outside its sessions.
OWNER_VARIABLE: Final = "SCHEDBENCH_SCRATCH"

_PR_SET_PDEATHSIG: Final = 1
_PR_SET_CHILD_SUBREAPER: Final = 36


def _libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC: Final = _libc() if sys.platform.startswith("linux") else None
_subreaper_set = False


def become_subreaper() -> None:
    """Make this process the reaper of its descendants' orphans (Linux; a no-op elsewhere)."""
    global _subreaper_set
    if not _subreaper_set and _LIBC is not None:
        _LIBC.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        _subreaper_set = True


def die_with_parent(parent: int | None = None) -> None:
    """Ask for SIGKILL when the parent dies; if it already died (``parent`` is gone), exit."""
    if _LIBC is None:
        return
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(70)


@dataclass(frozen=True)
class _Proc:
    pid: int
    ppid: int
    session: int
    zombie: bool


def _processes() -> Iterator[_Proc]:
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fp:
                stat = fp.read().decode(errors="replace")
        except OSError:
            continue
        # "pid (comm) state ppid pgrp session …": comm may hold spaces and parentheses.
        rest = stat[stat.rfind(")") + 2:].split()
        if len(rest) >= 4:
            yield _Proc(int(entry.name), int(rest[1]), int(rest[3]), rest[0] == "Z")


def kill(pid: int) -> None:
    """SIGKILL, quietly: the process may be gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def end_tree(session: int, keep: frozenset[int] = frozenset()) -> int:
    """Kill every process of ``session`` and every orphan reparented to this process (other
    than ``keep``: children of other running requests), and reap the orphans. Returns how
    many processes it killed besides the session's leader."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signal.SIGKILL)
    if not sys.platform.startswith("linux"):
        return 0
    me = os.getpid()
    killed: set[int] = set()
    quiet = 0
    # Killing a daemon's parent reparents the daemon here a moment later: look until two
    # passes in a row find nothing.
    for _ in range(200):
        found = False
        for proc in _processes():
            if proc.pid == me or proc.pid == session or proc.pid in keep:
                continue
            orphan = proc.ppid == me
            if proc.session == session or orphan:
                if not proc.zombie:
                    kill(proc.pid)
                    killed.add(proc.pid)
                    found = True
                if orphan:
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(proc.pid, 0)
                    found = True
        quiet = 0 if found else quiet + 1
        if quiet >= 2:
            break
        time.sleep(0.005)
    return len(killed)


# ---- scratch folders --------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(root: Path | None = None) -> list[Path]:
    """Remove the scratch folders of orchestrators that no longer exist, first killing what
    their listed sessions left running. Returns the folders removed."""
    base = Path(root or tempfile.gettempdir())
    removed = []
    for folder in base.glob(f"{SCRATCH_PREFIX}*-*"):
        owner = folder.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        if not owner.isdigit() or _alive(int(owner)) or not folder.is_dir():
            continue
        sessions = folder / "sessions"
        with contextlib.suppress(OSError):
            for line in sessions.read_text().split():
                if line.isdigit():
                    _kill_session(int(line))
        _kill_owned_by(folder)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _kill_session(session: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signal.SIGKILL)
    if sys.platform.startswith("linux"):
        for proc in _processes():
            if proc.session == session and not proc.zombie:
                kill(proc.pid)


def _kill_owned_by(folder: Path) -> None:
    """Kill every process whose environment names ``folder`` as its orchestrator's."""
    if not sys.platform.startswith("linux"):
        return
    marker = f"{OWNER_VARIABLE}={folder}".encode()
    for proc in _processes():
        try:
            with open(f"/proc/{proc.pid}/environ", "rb") as fp:
                environ = fp.read().split(b"\0")
        except OSError:
            continue
        if marker in environ and not proc.zombie:
            kill(proc.pid)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """This orchestrator's scratch folder (named after its pid, so a later start can tell
    it is stale); removed on the way out. Stale folders of dead orchestrators go first."""
    sweep_stale()
    become_subreaper()
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
