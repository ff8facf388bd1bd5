"""The part of every suite that owns its results file, written once for the time and
instruction suites: merge into what the file held when the run began, write atomically
after every finished job, never before the first.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyperf

from bench.results.model import Document, RunRecord
from bench.results.store import dump, merge


def pyperf_suite_json(benchmarks: Sequence[Any]) -> dict[str, Any]:
    """pyperf benchmarks as the JSON of a pyperf suite, through pyperf's own writer."""
    if not benchmarks:
        return {"version": "1.0", "benchmarks": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "suite.json"
        pyperf.BenchmarkSuite(list(benchmarks)).dump(str(path))
        return json.loads(path.read_text())  # type: ignore[no-any-return]


class ResultsWriter:
    """Holds what a suite measured so far and writes it; subclasses build the document."""

    def __init__(self, output: Path, previous: Document | None) -> None:
        self.output = output
        self.previous = previous  # the file when the run began, same identity (checked)
        self.runs: list[RunRecord] = []
        self.benchmarks: list[Any] = []  # pyperf.Benchmark objects, in job order
        self.interrupted: str | None = None
        self.saved = False

    def document(self, complete: bool) -> Document:
        raise NotImplementedError

    def save(self, complete: bool) -> None:
        """Merge and write. A write that fails raises ``ResultsError`` and ends the run, but only
        after ``dump`` has kept the merged document elsewhere and named it: a full disk must
        not cost the jobs already measured."""
        document = self.document(complete)
        if self.previous is not None:
            document = merge(self.previous, document)
        dump(self.output, document)
        self.saved = True

    @property
    def failures(self) -> list[RunRecord]:
        return [r for r in self.runs if r.status.broken]
