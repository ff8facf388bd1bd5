"""Keep every full run: a copy of the results file named by date and commit."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from bench.results.store import section


def history_name(document: dict[str, Any]) -> str:
    sb = section(document)
    commit = (sb["environment"].get("commit") or "nocommit")[:10]
    if sb["environment"].get("dirty"):
        commit += "-dirty"
    stamp = sb.get("created_utc") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    stamp = stamp.replace(":", "").replace("-", "")
    return f"{stamp}-{commit}.json"


def keep_history(results: Path, directory: Path, document: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / history_name(document)
    tmp = target.with_suffix(".json.tmp")
    shutil.copyfile(results, tmp)
    tmp.replace(target)
    return target
