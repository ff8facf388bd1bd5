"""Can a file be written there, and what becomes of the data when it cannot.

Up front: every command that writes (``run`` in both measures, ``scale``, ``gate``,
``export``, ``python -m reports``) calls ``check_file`` or ``check_directory`` on each of
its targets while it is still checking its arguments, before anything is measured or
drawn. The check *does* what the write will do: it creates the directory, the lock file
when the command takes one, and a temporary file beside the target, writes and fsyncs a
block into it and removes it. Permission bits (or ``os.access``) cannot answer the
question: they say nothing about a read-only mount, ``/proc`` or ``/sys``, a full disk,
or root, who passes every permission check and still cannot create ``/proc/x``.

Later: a save can still fail (the disk fills during a run, the directory goes read-only).
``keep_unsaved`` then puts the data beside the target under a new name, or in the system
temporary directory when that fails too, so that minutes of measurement are not lost with
the write; the caller says what was kept and where in one line.

Every refusal is a ``ResultsError`` whose message is one line naming the path and the
reason; the command-line boundaries print it and exit 2.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from bench.results.fields import ResultsError

__all__ = ["check_directory", "check_file", "describe", "keep_unsaved", "lock_path", "refused", "write_target"]

#: What the probe writes and fsyncs: one file-system block, so a disk with no room left
#: fails here rather than after the first job.
PROBE_BYTES = 4096


def write_target(path: Path) -> Path:
    """The file a write to ``path`` replaces: a symlink is written through, to its target."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def lock_path(path: Path) -> Path:
    """``.<name>.lock`` beside the file's real path (two spellings of one file share it)."""
    real = Path(os.path.realpath(path))
    return real.parent / f".{real.name}.lock"


def reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def describe(exc: OSError) -> str:
    """An ``OSError`` as "<path>: <reason>", without the ``[Errno N]`` noise."""
    return f"{exc.filename}: {reason(exc)}" if exc.filename is not None else reason(exc)


def refused(path: Path, role: str, doing: str, exc: OSError) -> ResultsError:
    """``cannot write <role> <path>: <doing> (<reason>)`` as one line."""
    return ResultsError(f"cannot write {role} {path}: {doing} ({reason(exc)})")


# ---- up front -----------------------------------------------------------------------------

def check_file(path: Path, role: str, *, lock: bool = False) -> None:
    """Refuse (``ResultsError``) unless a file can be written at ``path`` the way ``atomic_write`` will.

    ``role`` names the file in the message ("the results file"). ``lock``: also create the
    lock file ``ResultsLock`` will take (it is left in place, as the lock leaves it).
    """
    target = write_target(path)
    make_directory(target.parent, path, role)
    probe(target.parent, f".{target.name}.", path, role)
    if lock:
        where = lock_path(path)
        try:
            os.close(os.open(where, os.O_RDWR | os.O_CREAT, 0o666))
        except OSError as exc:
            raise refused(path, role, f"cannot create its lock file {where}", exc) from None


def check_directory(directory: Path, role: str) -> None:
    """Refuse (``ResultsError``) unless files can be written into ``directory`` (created if missing)."""
    make_directory(directory, directory, role)
    probe(directory, ".schedbench-probe.", directory, role)


def make_directory(directory: Path, path: Path, role: str) -> None:
    """Create ``directory`` and its parents; a file where a directory belongs is named as such."""
    blocker = file_in_the_way(directory)
    if blocker is not None:
        raise ResultsError(f"cannot write {role} {path}: {blocker} is a file, not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise refused(path, role, f"cannot create the directory {directory}", exc) from None


def file_in_the_way(directory: Path) -> Path | None:
    """The nearest existing one of ``directory`` and its parents, if that is not a directory."""
    try:
        for candidate in (directory, *directory.parents):
            if candidate.exists():
                return None if candidate.is_dir() else candidate
    except OSError:
        return None  # cannot even look: mkdir will fail and say why
    return None


def probe(directory: Path, prefix: str, path: Path, role: str) -> None:
    """Create, fill, fsync and remove a temporary file in ``directory``, as ``atomic_write`` does."""
    try:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    except OSError as exc:
        raise refused(path, role, f"cannot create a file in {directory}", exc) from None
    try:
        os.write(fd, b"\0" * PROBE_BYTES)
        os.fsync(fd)
    except OSError as exc:
        raise refused(path, role, f"cannot write a file in {directory}", exc) from None
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)


# ---- when a save fails anyway ---------------------------------------------------------------

def unsaved_name(path: Path, stamp: str) -> str:
    """``latest.json`` → ``latest.unsaved-20261122T045800Z.json``."""
    if path.suffix == ".json":
        return f"{path.stem}.unsaved-{stamp}.json"
    return f"{path.name}.unsaved-{stamp}"


def keep_unsaved(path: Path, data: str) -> tuple[Path | None, list[str]]:
    """Write ``data`` that could not be saved at ``path`` somewhere else; (where, why not elsewhere).

    Beside the target first (where its owner will look), then the system temporary
    directory (another file system, often). Each copy is a new file, never one replaced:
    a kept copy must not overwrite an earlier one.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    failures: list[str] = []
    for directory in (path.parent, Path(tempfile.gettempdir())):
        try:
            return write_new(directory, unsaved_name(path, stamp), data), failures
        except OSError as exc:
            failures.append(f"{directory}: {reason(exc)}")
    return None, failures


def write_new(directory: Path, name: str, data: str) -> Path:
    """Write ``data`` to a file in ``directory`` that did not exist (``-2``, ``-3``… if taken)."""
    base = Path(name)
    for n in range(1, 100):
        candidate = directory / (name if n == 1 else f"{base.stem}-{n}{base.suffix}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as fp:
                fp.write(data.encode())
                fp.flush()
                os.fsync(fp.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(candidate)  # half a copy is no copy
            raise
        return candidate
    raise FileExistsError(f"{directory}: 99 unsaved copies of {name} already")
