"""Keep every full run: a copy of the results file named by date and commit."""

from __future__ import annotations

from pathlib import Path

from bench.results.fields import ResultsError
from bench.results.model import Document
from bench.results.store import atomic_write
from bench.results.writable import reason


def history_name(document: Document) -> str:
    commit = (document.environment.commit or "nocommit")[:10]
    if document.environment.dirty:
        commit += "-dirty"
    stamp = document.created_utc.replace(":", "").replace("-", "")
    return f"{stamp}-{commit}.json"


def keep_history(results: Path, directory: Path, document: Document) -> Path:
    """Copy ``results`` into ``directory``; a copy already there under that name is kept.

    ``run`` tried ``directory`` before it started; should the copy fail anyway, the results
    file itself is already saved, so the one-line ``ResultsError`` says where it is.
    """
    target = directory / history_name(document)
    n = 1
    try:
        while target.exists():
            n += 1
            target = directory / history_name(document).replace(".json", f"-{n}.json")
        atomic_write(target, results.read_bytes())
    except OSError as exc:
        raise ResultsError(f"cannot write history to {directory}: {reason(exc)}; the results are saved in "
                           f"{results}") from None
    return target
