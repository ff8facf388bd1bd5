"""Compile a small C file once, on demand, into a per-user cache keyed by its source.

schedbench ships C sources, never binaries (installing it needs no compiler): the
Callgrind stub (``_callgrind.c``, an extension module) and the load generator
(``_loadgen.c``, an executable). Each is built the first time it is needed with the
system compiler and kept in ``~/.cache/schedbench/<kind>`` (``$XDG_CACHE_HOME`` when set),
else ``<tmp>/schedbench-<uid>/<kind>``, under a folder named after a hash of the source
bytes and of whatever else the build depends on (``key_extra``: the flags, the Python
version for an extension). A changed source or flag set builds anew; an unchanged one is
found again, compiler or not.

Safe under concurrency: the compiler reads the very bytes that were hashed (from stdin,
so an edit between hashing and compiling cannot slip in), writes under a temporary name
in the target folder, and the result is renamed into place (atomic on one file system),
so a concurrent builder or user never sees a half-written or mismatched file; two
builders racing both compile and the last rename wins, with identical bytes.

Trade-off: a compiler on the machine is assumed at first use (the callers fall back to
something slower when there is none, and say so); the cache is never cleaned (each entry
is tens of kilobytes).

``bench.measure.valgrind.build_stub`` builds the Callgrind stub through this function with
``key_flags=False``, so the stub's cache key (source, Python version, headers, suffix) is
the one it had before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

#: Compilers tried in order when the caller names none: ``$CC`` first, then the usual names.
DEFAULT_COMPILERS: Final = ("cc", "gcc", "clang")
COMPILE_TIMEOUT_S: Final = 120.0


@dataclass(frozen=True)
class Build:
    """What ``compile_once`` made of a source: ``path`` when there is a binary to use,
    else ``problem`` (one line) and the compiler's ``stderr`` when it ran and failed."""

    path: Path | None
    problem: str | None = None
    stderr: str = ""
    cached: bool = False  # found in the cache, not compiled by this call


def cache_roots(kind: str) -> list[Path]:
    """Where built files of ``kind`` are kept, in order of preference."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    home_cache = Path(xdg) if xdg else Path.home() / ".cache"
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return [home_cache / "schedbench" / kind, Path(tempfile.gettempdir()) / f"schedbench-{uid}" / kind]


def source_key(source: bytes, key_extra: bytes = b"") -> str:
    """16 hex digits of sha256(source + key_extra): what names a build's cache folder."""
    return hashlib.sha256(source + key_extra).hexdigest()[:16]


def find_compiler(compilers: Sequence[str] | None = None) -> str | None:
    """The first compiler found on ``PATH`` (``$CC`` first when ``compilers`` is None)."""
    names = list(compilers) if compilers is not None else [os.environ.get("CC", ""), *DEFAULT_COMPILERS]
    for name in names:
        if name and (found := shutil.which(name)):
            return found
    return None


def compile_once(source_path: Path, *, kind: str, output: str, args: Sequence[str] = (),
                 link_args: Sequence[str] = (), key_extra: bytes = b"", tag: str = "",
                 key_flags: bool = True, compilers: Sequence[str] | None = None,
                 roots: Sequence[Path] | None = None) -> Build:
    """Build ``source_path`` with ``compiler *args -x c - -o <out> *link_args`` into
    ``<root>/<tag>-<key>/<output>`` (``<key>`` alone without a tag), or find it there.

    ``args`` and ``link_args`` are part of the key (a flag changes the binary) unless
    ``key_flags`` is False (a caller whose ``key_extra`` already covers them, and whose
    existing cache must keep its names); ``key_extra`` adds what else the binary depends
    on. The first writable root is used.
    """
    try:
        source = source_path.read_bytes()
    except OSError:
        return Build(None, f"the source {source_path.name} is not installed with schedbench")
    flags = "\0".join([*args, "--", *link_args]).encode()
    key = source_key(source, key_extra + (b"\0" + flags if key_flags else b""))
    folder = f"{tag}-{key}" if tag else key
    candidates = list(roots) if roots is not None else cache_roots(kind)
    for root in candidates:
        if (root / folder / output).exists():
            return Build(root / folder / output, cached=True)
    compiler = find_compiler(compilers)
    if compiler is None:
        wanted = ", ".join(compilers) if compilers is not None else "cc, gcc or clang"
        return Build(None, f"no C compiler found ({wanted}; apt-get install gcc)")
    problems: list[str] = []
    for root in candidates:
        target = root / folder / output
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".build-", dir=target.parent)
            os.close(fd)
        except OSError as exc:
            problems.append(f"{root}: {exc.strerror or exc}")
            continue
        tmp = Path(tmp_name)
        try:
            proc = subprocess.run([compiler, *args, "-x", "c", "-", "-o", str(tmp), *link_args],
                                  input=source, capture_output=True, timeout=COMPILE_TIMEOUT_S)
            stderr = proc.stderr.decode(errors="replace")
            if proc.returncode != 0:
                errors = [line for line in stderr.splitlines() if "error" in line]
                first = (errors or stderr.splitlines() or ["no output"])[0].strip()
                return Build(None, f"{Path(compiler).name} failed: {first}", stderr)
            os.chmod(tmp, 0o755)  # mkstemp made it 0600; an executable must be runnable
            os.replace(tmp, target)
            return Build(target, stderr=stderr)
        except (OSError, subprocess.SubprocessError) as exc:
            problems.append(f"{root}: {exc}")
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return Build(None, f"no writable cache directory for {source_path.name}: " + "; ".join(problems))
