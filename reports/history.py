"""Reading a history directory: every results file in it, oldest first, never a crash.

A history directory collects files from many runs over months (``bench run --history``).
Some will be from older format versions, truncated by a full disk, or not results at all;
one bad file must not cost the trend chart all the others. Each unreadable file is
skipped with one warning line on stderr naming it and why.

Files of a different workload (rocket count, seed or clock) than the report's results
file are skipped too, with a warning: per-resume costs and lateness depend on the
workload, so a trend line across workloads would show a change nobody made. The results
file itself joins the trend when the directory does not already hold a copy of it, so
the trend always ends at the run being reported.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.results.model import Document
from bench.results.store import ResultsError, load

#: What must match for two results files to be on one trend line.
WORKLOAD_KEYS = ("rockets", "seed", "clock", "measure")


@dataclass
class History:
    files: list[tuple[Path, Document]] = field(default_factory=list)  # oldest first
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def documents(self) -> list[Document]:
        return [doc for _, doc in self.files]


def identity(doc: Document) -> tuple[str, str, str]:
    """What makes two files copies of one run: when it was made, from which commit, how."""
    return doc.created_utc, str(doc.environment.commit), doc.command


def workload_of(doc: Document) -> tuple[Any, ...]:
    return tuple(getattr(doc.workload, k) for k in WORKLOAD_KEYS)


def load_history(directory: Path, current: Document, current_path: Path,
                 warn: Callable[[str], None] | None = None) -> History:
    """Every ``*.json`` in ``directory`` that loads and matches ``current``'s workload.

    The caller has checked that ``directory`` is a directory.
    """
    say = warn or (lambda line: print(f"warning: {line}", file=sys.stderr))
    history = History()
    wanted = workload_of(current)
    for path in sorted(directory.glob("*.json")):
        try:
            doc = load(path)
        except ResultsError as exc:
            say(f"skipped history file {exc}")
            history.skipped.append((path, str(exc)))
            continue
        if workload_of(doc) != wanted:
            got = ", ".join(f"{k} {v}" for k, v in zip(WORKLOAD_KEYS, workload_of(doc), strict=True))
            reason = f"{path}: different workload ({got}) from the results file"
            say(f"skipped history file {reason}")
            history.skipped.append((path, reason))
            continue
        history.files.append((path, doc))
    if identity(current) not in {identity(doc) for _, doc in history.files}:
        history.files.append((current_path, current))
    history.files.sort(key=lambda item: item[1].created_utc)
    return history
