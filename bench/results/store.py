"""The results file: a pyperf benchmark suite with schedbench's figures inside it.

One JSON file does both jobs. Its ``version``/``benchmarks``/``metadata`` keys are a
standard pyperf suite (``python -m pyperf stats|hist|compare_to FILE`` read it; pyperf
ignores other top-level keys), and the top-level ``schedbench`` key holds what pyperf
cannot: validation status, per-process CPU and lateness figures, lateness histograms for
CDFs, failures with reasons, the environment and the workload. Keeping both in one file
means one atomic write and no sidecar that can go missing or out of step.

``schedbench`` layout (format version 1)::

    format: "schedbench-results"     version: 1
    created_utc, command, preset, complete (false when interrupted), interrupted
    environment: {python, cpu_model, timer_slack_ns, gc_enabled, commit, clock, …}
    workload: {rockets, seed, modes, time_scales, clock, total_sleeps, expected_resumes}
    settings: {switch: {processes, values, warmups}, timed: {scale: processes}, run_limit_s}
    floor: {benchmark, mean_s, std_s, values_s} | null
    runs: [ {scheduler, origin, dialect, mode, time_scale, clock, status, reasons,
             benchmark, elapsed_s, processes: [...], switch: {...} | null,
             timed: {...} | null} ]
    scaling: {...} | null

Status is ``valid``, ``early`` (valid trace, some wakes before their deadline),
``invalid`` (wrong trace or resume count), ``failed`` (crashed, timed out, killed) or
``skipped`` (the scheduler could not be loaded, or cannot run on the chosen clock; the
reason says which). Only ``valid`` runs are ranked.

Readers go through ``load_results``, which validates once at the boundary and raises
``ResultsError`` with a one-line message; past it, code trusts the data.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

FORMAT_NAME = "schedbench-results"
FORMAT_VERSION = 1
# History: 1 — first version (2026-11).

STATUSES = ("valid", "early", "invalid", "failed", "skipped")
RANKED_STATUSES = ("valid",)


class ResultsError(Exception):
    """A results file that cannot be read; the message is one line naming the file."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` holds either its old content or all of the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file 0600; a results file is meant to be shared and uploaded.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w") as fp:
            fp.write(text)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def dump_results(path: Path, pyperf_part: dict[str, Any], schedbench: dict[str, Any]) -> None:
    """Write one results file atomically; ``pyperf_part`` is a pyperf suite's JSON dict."""
    document = dict(pyperf_part)
    document.setdefault("version", "1.0")
    document.setdefault("benchmarks", [])
    document["schedbench"] = schedbench
    atomic_write_text(path, json.dumps(document, sort_keys=True, allow_nan=False, default=_json_default) + "\n")


def _json_default(value: object) -> object:
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def load_results(path: str | Path) -> dict[str, Any]:
    """Read and validate a results file. Returns the whole document."""
    p = Path(path)
    if not p.exists():
        raise ResultsError(f"{p}: no such file")
    if p.is_dir():
        raise ResultsError(f"{p}: is a directory, not a results file")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{p}: cannot read: {exc}") from None
    if not text.strip():
        raise ResultsError(f"{p}: empty file, not a schedbench results file")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"{p}: not valid JSON (truncated or corrupted?): {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    return check_document(document, str(p))


def check_document(document: Any, where: str) -> dict[str, Any]:
    if not isinstance(document, dict) or not isinstance(document.get("schedbench"), dict):
        raise ResultsError(f"{where}: not a schedbench results file (no 'schedbench' section)")
    sb = document["schedbench"]
    if sb.get("format") != FORMAT_NAME:
        raise ResultsError(f"{where}: not a schedbench results file (format {sb.get('format')!r})")
    version = sb.get("version")
    if version != FORMAT_VERSION:
        raise ResultsError(
            f"{where}: results format version {version!r} is not supported; this schedbench reads version "
            f"{FORMAT_VERSION}"
        )
    for key, kind in (("runs", list), ("workload", dict), ("environment", dict)):
        if not isinstance(sb.get(key), kind):
            raise ResultsError(f"{where}: malformed results: '{key}' missing or not a {kind.__name__}")
    for i, run in enumerate(sb["runs"]):
        if not isinstance(run, dict):
            raise ResultsError(f"{where}: malformed results: run #{i} is not an object")
        for key in ("scheduler", "mode", "status"):
            if key not in run:
                raise ResultsError(f"{where}: malformed results: run #{i} has no '{key}'")
        if run["status"] not in STATUSES:
            raise ResultsError(f"{where}: malformed results: run #{i} has unknown status {run['status']!r}")
    if not isinstance(document.get("benchmarks", []), list):
        raise ResultsError(f"{where}: malformed results: pyperf 'benchmarks' is not a list")
    return document


def section(document: dict[str, Any]) -> dict[str, Any]:
    """The schedbench part of a loaded results document."""
    return document["schedbench"]  # type: ignore[no-any-return]


def run_key(run: dict[str, Any]) -> tuple[str, str, float | None]:
    """(mode, scheduler, time_scale): identifies one run across results files."""
    scale = run.get("time_scale")
    return run["mode"], run["scheduler"], None if scale is None else float(scale)
