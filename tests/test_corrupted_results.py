"""Every command that reads results files rejects a bad one with one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT


def _truncated(good: str) -> str:
    return good[: len(good) // 2]


def _unknown_version(good: str) -> str:
    doc = json.loads(good)
    doc["schedbench"]["version"] = 99
    return json.dumps(doc)


def _plain_pyperf(good: str) -> str:
    doc = json.loads(good)
    del doc["schedbench"]
    return json.dumps(doc)


def _bad_status(good: str) -> str:
    doc = json.loads(good)
    doc["schedbench"]["runs"][0]["status"] = "great"
    return json.dumps(doc)


def _set_switch(good: str, key: str, value: object) -> str:
    """A wrong inner field of the first switch run: the file's top level stays right."""
    doc = json.loads(good)
    run = next(r for r in doc["schedbench"]["runs"] if r.get("switch"))
    run["switch"][key] = value
    return json.dumps(doc)


def _set_floor(good: str, key: str, value: object) -> str:
    doc = json.loads(good)
    doc["schedbench"]["floor"][key] = value
    return json.dumps(doc)


CASES: dict[str, tuple[Callable[[str], str] | None, str]] = {
    "empty": (lambda good: "", "empty file"),
    "truncated": (_truncated, "not valid JSON (truncated or corrupted?)"),
    "not-json": (lambda good: "hello\n", "not valid JSON"),
    "unknown-version": (_unknown_version, "results format version 99 is not supported"),
    "pyperf-only": (_plain_pyperf, "not a schedbench results file"),
    "bad-status": (_bad_status, "runs[0].status: 'great' is not one of valid, early"),
    "string-number": (lambda good: _set_switch(good, "mean_s", "fast"), "switch.mean_s: expected a finite number"),
    "missing-mean": (lambda good: _set_switch(good, "mean_s", None), "switch.mean_s: missing"),
    "nan": (lambda good: _set_switch(good, "std_s", float("nan")), "switch.std_s: expected a finite number"),
    "bool-count": (lambda good: _set_floor(good, "std_s", True), "floor.std_s: expected a finite number"),
    "negative-mean": (lambda good: _set_switch(good, "mean_s", -1e-6), "switch.mean_s: must not be negative"),
    "overflowing-mean": (lambda good: _set_switch(good, "mean_s", 1e308), "switch.mean_s: 1e+308 is implausibly"),
    "missing": (None, "no such file"),
}

COMMANDS: dict[str, Callable[[Path, Path, Path], list[str]]] = {
    "show": lambda bad, good, tmp: ["-m", "bench", "show", str(bad)],
    "compare-base": lambda bad, good, tmp: ["-m", "bench", "compare", str(bad), str(good)],
    "compare-new": lambda bad, good, tmp: ["-m", "bench", "compare", str(good), str(bad)],
    "export": lambda bad, good, tmp: ["-m", "bench", "export", str(bad), "--format", "bencher",
                                      "-o", str(tmp / "out.json")],
    "report": lambda bad, good, tmp: ["-m", "reports", str(bad), "-o", str(tmp / "report")],
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_results_file(pipeline_results: Path, tmp_path: Path, case: str, command: str) -> None:
    make, needle = CASES[case]
    bad = tmp_path / f"{case}.json"
    if make is not None:
        bad.write_text(make(pipeline_results.read_text()))
    proc = subprocess.run([sys.executable, *COMMANDS[command](bad, pipeline_results, tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert needle in lines[0] and str(bad.name) in lines[0]
    assert not (tmp_path / "out.json").exists()
