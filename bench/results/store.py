"""Results files on disk: load, write atomically, merge run by run, lock.

One JSON file does two jobs: its ``version``/``benchmarks``/``metadata`` keys are a standard
pyperf suite (``python -m pyperf stats|hist|compare_to FILE`` read it; pyperf ignores other
top-level keys), and its ``schedbench`` key holds what pyperf cannot (``bench.results.model``).
One file means one atomic write and no sidecar that can go missing or out of step.

Nothing already measured is lost or silently replaced:

* ``atomic_write`` is the only way a file is written (results, history, report files):
  a temporary file in the same directory, fsynced, then renamed over the target. A crash,
  Ctrl-C or full disk leaves the old file whole. A symlinked target is written *through*
  (the link stays a link).
* ``dump`` (a results document) never loses what it was given: when the write fails (the
  disk filled, the directory went read-only) the document is kept beside the target as
  ``<name>.unsaved-<time>.json``, or in the temporary directory, and the ``ResultsError``
  says where (``bench.results.writable``, which also checks targets before a run).
* ``merge`` puts a run into an existing file of the same identity (rockets, seed, measure,
  interpreter flags, clock): runs it re-measured replace theirs, every other run is kept,
  and each run keeps when and at which commit it was measured. A re-run that is not VALID
  (failed, INVALID, a plugin that now breaks) is the run's new state but never erases
  the VALID measurement it replaces: that one is kept inside it as ``last_valid``
  (``bench.results.model``). A different identity is refused with one line naming
  ``--replace``, which starts the file afresh and so keeps nothing.
* ``ResultsLock`` makes a second writer of the same file wait a little, then refuse; the
  file is named by its real path, so two spellings of one file (a symlink, ``..``) share
  one lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.results.fields import ResultsError
from bench.results.model import Document, RunRecord
from bench.results.writable import keep_unsaved, lock_path, reason, refused, write_target

__all__ = ["ResultsError", "atomic_write", "dump", "load", "merge", "refuse_unsafe_output", "save_or_keep"]

#: Larger than any results file we write (a default suite is ~1 MB); a bigger "results file"
#: is something else, and reading it whole could exhaust memory.
MAX_RESULTS_BYTES = 256 * 2**20


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` so that ``path`` holds either its old content or all of the new."""
    target = write_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp creates the file 0600; a results file is meant to be shared and uploaded.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fp:
            fp.write(data.encode() if isinstance(data, str) else data)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def dump(path: Path, document: Document) -> None:
    text = json.dumps(document.to_json(), sort_keys=True, allow_nan=False) + "\n"
    save_or_keep(path, text, "the results file", contents(document))


def save_or_keep(path: Path, text: str, role: str, what: str) -> None:
    """``atomic_write``; if that fails, keep ``text`` elsewhere and raise one line saying where.

    ``what`` says what the text holds ("3 runs"). The old file at ``path`` is whole either
    way; the kept copy is the new content, ready to be moved over it.
    """
    try:
        atomic_write(path, text)
    except OSError as exc:
        kept, failures = keep_unsaved(path, text)
        head = f"cannot save {role} {path}: {reason(exc)}"
        if kept is None:
            raise ResultsError(f"{head}; keeping its {what} elsewhere failed too ({'; '.join(failures)}): "
                               "they are lost") from None
        raise ResultsError(f"{head}; kept its {what} in {kept}") from None


def contents(document: Document) -> str:
    """What a results document holds, for a message: "3 runs and 2 floors", "0 runs and 12 scaling points"."""
    def counted(n: int, noun: str) -> str:
        return f"{n} {noun}{'' if n == 1 else 's'}"

    floors = (document.floor is not None) + len(document.body_floors) + len(document.timer_floors) \
        + (document.io_floor is not None) \
        + len(document.body_floor_instructions)
    parts = [counted(len(document.runs), "run")]
    if floors:
        parts.append(counted(floors, "floor"))
    if document.scaling is not None:
        parts.append(counted(len(document.scaling.points), "scaling point"))
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def read_json(path: Path) -> Any:
    """A file's JSON, refusing what is not a regular file (a FIFO would hang a reader)."""
    if not path.exists() and not path.is_symlink():
        raise ResultsError(f"{path}: no such file")
    try:
        info = path.stat()
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ResultsError(f"{path}: is a directory, not a results file")
    if not stat.S_ISREG(info.st_mode):
        raise ResultsError(f"{path}: not a regular file (a FIFO, socket or device); give a results file")
    if info.st_size > MAX_RESULTS_BYTES:
        raise ResultsError(f"{path}: {info.st_size:,} bytes is too large for a results file")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read: {exc}") from None
    if not text.strip():
        raise ResultsError(f"{path}: empty file, not a schedbench results file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON (truncated or corrupted?): {exc.msg} "
                           f"(line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ResultsError(f"{path}: JSON nested too deeply") from None


def load(path: str | Path) -> Document:
    """Read and validate a results file into the model; ``ResultsError`` names what is wrong."""
    p = Path(path)
    return Document.from_json(read_json(p), str(p))


def refuse_unsafe_output(output: Path, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse an output that is one of the inputs, a directory, or not a regular file."""
    if output.exists():
        info = output.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ResultsError(f"{output}: is a directory; give a file to write")
        if not stat.S_ISREG(info.st_mode):
            raise ResultsError(f"{output}: not a regular file; give a file to write")
        for source in inputs:
            if source.exists() and os.path.samefile(source, output):
                raise ResultsError(f"{output}: is also an input; write to another file")


# ---- merging ------------------------------------------------------------------------------

def identity_mismatch(old: Document, new: Document) -> str | None:
    """Why ``new`` cannot be merged into ``old`` (one phrase), or None."""
    a, b = old.workload.identity(old.environment), new.workload.identity(new.environment)
    for key in a:
        if a[key] != b[key]:
            return f"{key} {a[key]} in the file, {b[key]} in this run"
    return None


def merge(old: Document, new: Document) -> Document:
    """``new``'s runs and floors over ``old``'s, run by run; everything else ``new``'s.

    The caller has checked ``identity_mismatch``. A new run that is not VALID carries the
    VALID run it replaces (or the one that run was already keeping) as ``last_valid``.
    pyperf benchmarks are merged by name the same way; a failed attempt usually has no
    benchmark, so the pyperf part then keeps the VALID one's, matching ``last_valid``.
    """
    # Every old run remembers where and when it was measured (a version 1 file said so only
    # once, for the whole file).
    previous = {r.key: _with_provenance(r, old) for r in old.runs}
    attempts = [keep_last_valid(previous.get(r.key), r) for r in new.runs]
    replaced = {r.key for r in attempts}
    runs: list[RunRecord] = [r for key, r in previous.items() if key not in replaced] + attempts
    timer = {t.time_scale: t for t in old.timer_floors} | {t.time_scale: t for t in new.timer_floors}
    scales = sorted({*old.workload.time_scales, *new.workload.time_scales}, reverse=True)
    modes = tuple(dict.fromkeys([*old.workload.modes, *new.workload.modes]))
    return replace(
        new,
        runs=tuple(runs),
        floor=new.floor or old.floor,
        body_floors={**old.body_floors, **new.body_floors},
        io_floor=new.io_floor or old.io_floor,
        body_floor_instructions={**old.body_floor_instructions, **new.body_floor_instructions},
        timer_floors=tuple(timer[s] for s in sorted(timer, reverse=True)),
        scaling=new.scaling or old.scaling,
        workload=replace(new.workload, time_scales=tuple(scales), modes=modes),
        pyperf=merge_pyperf(old.pyperf, new.pyperf),
        complete=new.complete and old.complete,
    )


def keep_last_valid(previous: RunRecord | None, attempt: RunRecord) -> RunRecord:
    """``attempt`` as the key's state, holding the last VALID measurement it would erase.

    A VALID attempt simply replaces (fresh evidence beats old); an attempt that is not
    VALID keeps ``previous`` if that was VALID, else whatever ``previous`` was keeping.
    """
    if attempt.status.ranked or attempt.last_valid is not None or previous is None:
        return attempt
    kept = previous if previous.status.ranked else previous.last_valid
    return attempt if kept is None else replace(attempt, last_valid=kept)


def _with_provenance(run: RunRecord, document: Document) -> RunRecord:
    """``run`` with its commit and date filled from its file where the run itself lacks them."""
    if run.commit and run.measured_utc:
        return run
    return replace(run, commit=run.commit or document.environment.commit_label,
                   measured_utc=run.measured_utc or document.created_utc)


def merge_pyperf(old: Any, new: Any) -> dict[str, Any]:
    """Two pyperf suite dicts merged by benchmark name, ``new`` winning."""
    def name(bench: Any) -> str | None:
        meta = bench.get("metadata", {}) if isinstance(bench, dict) else {}
        return meta.get("name") if isinstance(meta, dict) else None

    old_benches = old.get("benchmarks", []) if isinstance(old, dict) else []
    new_benches = new.get("benchmarks", []) if isinstance(new, dict) else []
    taken = {name(b) for b in new_benches}
    merged = dict(old) if isinstance(old, dict) else {}
    merged.update(new if isinstance(new, dict) else {})
    merged["benchmarks"] = [b for b in old_benches if name(b) not in taken] + list(new_benches)
    return merged


# ---- locking ------------------------------------------------------------------------------

class ResultsLock:
    """An exclusive ``flock`` on ``.<name>.lock`` beside a results file, for the whole run.

    Two runs writing the same file would each merge into what they read at the start and
    the last rename would win, dropping the other's runs. The second run waits up to
    ``wait_s`` for the first, then refuses with one line.

    The lock is named after the file's real path (symlinks and ``..`` resolved), not the
    spelling given: ``-o real.json`` and ``-o link.json`` are one file, and ``atomic_write``
    writes through the link, so they must exclude each other. A link made or re-pointed
    after the lock is taken is not followed; the writers we guard against are ours.
    """

    def __init__(self, path: Path, wait_s: float = 2.0) -> None:
        self.output = path
        self.path = lock_path(path)
        self.wait_s = wait_s
        self.fd: int | None = None

    def __enter__(self) -> ResultsLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            # Commands check this up front (``writable.check_file``); this is the race
            # where the directory changed in between.
            raise refused(self.output, "the results file", f"cannot create its lock file {self.path}",
                          exc) from None
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    os.close(fd)
                    raise ResultsError(f"{self.output}: another schedbench run is "
                                       "writing this file; wait for it or choose another --output") from None
                time.sleep(0.05)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
