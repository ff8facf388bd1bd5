"""Keep every full run: a copy of the results file named by date and commit."""

from __future__ import annotations

from pathlib import Path

from bench.results.model import Document
from bench.results.store import atomic_write


def history_name(document: Document) -> str:
    commit = (document.environment.commit or "nocommit")[:10]
    if document.environment.dirty:
        commit += "-dirty"
    stamp = document.created_utc.replace(":", "").replace("-", "")
    return f"{stamp}-{commit}.json"


def keep_history(results: Path, directory: Path, document: Document) -> Path:
    """Copy ``results`` into ``directory``; a copy already there under that name is kept."""
    target = directory / history_name(document)
    n = 1
    while target.exists():
        n += 1
        target = directory / history_name(document).replace(".json", f"-{n}.json")
    atomic_write(target, results.read_bytes())
    return target
