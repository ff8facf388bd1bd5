"""What the two sides of a gate are: a git ref, a directory, or an interpreter.

* A **git ref** of this repository is checked out into a worktree under ``.gate/`` (kept and
  reused, keyed by commit) and set up with the project's own ``make setup``, so it is
  measured by its own code in its own environment, as CI measured the base commit.
* A **directory** is a checkout; its ``.venv`` is its interpreter when it has one.
* An **interpreter** (``--python-a``/``--python-b``) in which schedbench is installed: the
  tree is the one that interpreter imports ``bench`` from.

Every check that can fail happens here, before anything is measured: a missing ref or
directory, a tree without the project, a tree that predates the paired gate.

``level_blockers`` is the soundness test of the in-process level: both sides in one process
is right only when they differ in nothing but the schedulers' own files and run on the
same interpreter; anything else (the harness, rocket bodies, dependency pins, pyproject)
would be measured by one side's copy only.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Files whose difference between the sides rules out the in-process level.
COMPARED: tuple[str, ...] = ("bench/**/*.py", "bench/**/*.c", "pyproject.toml", "constraints/*.txt")
#: What marks a tree that can take part in a paired gate.
PAIRED_HANDLER = Path("bench/measure/paired_child.py")


class SideError(Exception):
    """A side that cannot be measured; the message is one line naming it and why."""


@dataclass(frozen=True, kw_only=True)
class ResolvedSide:
    label: str
    spec: str
    root: Path
    python: str
    commit: str | None = None
    dirty: bool | None = None
    python_version: str = "?"
    loops: dict[str, str] = field(default_factory=dict)


def _git(root: Path, *args: str) -> str | None:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def default_base(repo: Path) -> str:
    """The merge-base of HEAD with ``main`` (what a pull request is compared with)."""
    for branch in ("main", "origin/main"):
        base = _git(repo, "merge-base", "HEAD", branch)
        if base:
            return base
    raise SideError("no BASE given and no merge-base with main found: give BASE (a ref, a directory or --python-a)")


def _describe_python(python: str) -> tuple[str, dict[str, str], Path | None]:
    """An interpreter's version, its loops' versions and the tree its ``bench`` comes from."""
    script = ("import sys, json, importlib.metadata as md, pathlib\n"
              "names = ['uvloop', 'trio', 'rloop', 'gevent', 'greenlet', 'twisted', 'anyio', 'pyperf', 'numpy']\n"
              "loops = {}\n"
              "for n in names:\n"
              "    try: loops[n] = md.version(n)\n"
              "    except md.PackageNotFoundError: pass\n"
              "try:\n"
              "    import bench; root = str(pathlib.Path(bench.__file__).resolve().parents[1])\n"
              "except ImportError: root = None\n"
              "print(json.dumps([sys.version.split()[0], loops, root]))\n")
    try:
        proc = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=60,
                              cwd="/", env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SideError(f"interpreter {python!r} cannot be run: {exc}") from None
    if proc.returncode != 0:
        raise SideError(f"interpreter {python!r} cannot be run: {proc.stderr.strip().splitlines()[-1:]}")
    version, loops, root = json.loads(proc.stdout.strip().splitlines()[-1])
    return version, loops, Path(root) if root else None


def _check_tree(root: Path, label: str, spec: str) -> None:
    if not ((root / "bench").is_dir() and (root / "schedulers").is_dir() and (root / "pyproject.toml").is_file()):
        raise SideError(f"side {label} ({spec}): {root} is not a schedbench tree (no bench/, schedulers/ or "
                       f"pyproject.toml)")
    if not (root / PAIRED_HANDLER).is_file():
        raise SideError(f"side {label} ({spec}): its tree predates the paired gate ({PAIRED_HANDLER} is missing); "
                       f"gate against a later commit")


def _worktree(repo: Path, commit: str, log: Callable[[str], None]) -> Path:
    """A worktree of ``commit`` under ``.gate/``, set up with the project's own setup (kept)."""
    folder = repo / ".gate" / "worktrees" / commit[:12]
    if not (folder / ".git").exists():
        log(f"checking out {commit[:12]} into {folder}")
        folder.parent.mkdir(parents=True, exist_ok=True)
        if _git(repo, "worktree", "add", "--detach", str(folder), commit) is None:
            raise SideError(f"could not make a worktree of {commit[:12]} in {folder}")
    if not (folder / ".venv" / ".installed-stamp").exists():
        log(f"setting up {folder} (make setup; once per commit)")
        proc = subprocess.run(["make", "-C", str(folder), "setup"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SideError(f"make setup failed in {folder}: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return folder


def resolve(label: str, spec: str | None, python: str | None, repo: Path, log: Callable[[str], None]) -> ResolvedSide:
    """One side, checked; ``SideError`` (one line) for anything that cannot be a side."""
    if python is not None:
        version, loops, root = _describe_python(python)
        if root is None:
            raise SideError(f"side {label}: interpreter {python!r} has no schedbench installed (cannot import bench)")
        _check_tree(root, label, python)
        return ResolvedSide(label=label, spec=spec or python, root=root, python=python, commit=_git(root, "rev-parse",
                            "HEAD"), dirty=_dirty(root), python_version=version, loops=loops)
    assert spec is not None
    path = Path(spec)
    if path.is_dir():
        root = path.resolve()
        _check_tree(root, label, spec)
        venv = root / ".venv" / "bin" / "python"
        interpreter = str(venv) if venv.exists() else sys.executable
        commit = _git(root, "rev-parse", "HEAD") if (root / ".git").exists() else None
        dirty = _dirty(root) if commit else None
    else:
        commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
        if commit is None:
            raise SideError(f"side {label}: {spec!r} is neither a directory nor a git ref of {repo}")
        # The checkout itself when it is that commit, unmodified: no worktree needed.
        here = commit == _git(repo, "rev-parse", "HEAD") and not _dirty(repo)
        root = repo if here else _worktree(repo, commit, log)
        _check_tree(root, label, spec)
        venv = root / ".venv" / "bin" / "python"
        interpreter = str(venv) if venv.exists() else sys.executable
        dirty = _dirty(root)
    version, loops, _ = _describe_python(interpreter)
    return ResolvedSide(label=label, spec=spec, root=root, python=interpreter, commit=commit, dirty=dirty,
                        python_version=version, loops=loops)


def _dirty(root: Path) -> bool | None:
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return None if status is None else bool(status)


def _digests(root: Path) -> dict[str, str]:
    files = {p for pattern in COMPARED for p in root.glob(pattern) if "__pycache__" not in p.parts}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def level_blockers(a: ResolvedSide, b: ResolvedSide) -> str | None:
    """Why the sides cannot share one process, or None when they differ only in schedulers."""
    if os.path.realpath(a.python) != os.path.realpath(b.python) and (a.python_version, a.loops) != (
            b.python_version, b.loops):
        return f"the sides run different interpreters or loop versions ({a.python_version} vs {b.python_version})"
    da, db = _digests(a.root), _digests(b.root)
    differing = sorted(name for name in set(da) | set(db) if da.get(name) != db.get(name))
    if differing:
        shown = ", ".join(differing[:3]) + (f" and {len(differing) - 3} more" if len(differing) > 3 else "")
        return f"the sides differ outside schedulers/ ({shown})"
    return None
