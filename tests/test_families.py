"""The family of each scheduler: declared in the plugin contract, recorded in every run.

Reports rank real loops among themselves and show the teaching designs as their own lesson;
they read the family from the results file, never from the schedulers' package.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.measure.registry import SchedulerEntry, check_contract, discover
from bench.results.model import FAMILY_NAMES
from schedulers.heapq_timers import HeapqScheduler
from schedulers.protocol import FAMILIES, THIRD_PARTY


def test_the_results_model_knows_every_family_of_the_contract() -> None:
    assert sorted(FAMILY_NAMES) == sorted((*FAMILIES, THIRD_PARTY))


def test_every_built_in_declares_its_family() -> None:
    families = {name: entry.family for name, entry in discover().items() if entry.origin == "built-in"}
    assert families["hybrid"] == "this-project"
    assert {families[n] for n in ("listscan", "busywait", "heapq", "deque")} == {"teaching"}
    real = ("asyncio", "uvloop", "trio", "anyio", "anyio-trio", "gevent", "twisted", "rloop")
    assert {families[n] for n in real if n in families} == {"production"}
    assert THIRD_PARTY not in families.values()


def test_a_plugin_without_a_family_is_third_party() -> None:
    class Plain(HeapqScheduler):
        name = "plain"

    del_family = {k: v for k, v in vars(HeapqScheduler).items() if k != "family"}
    bare = type("Bare", HeapqScheduler.__bases__, del_family)
    assert check_contract(bare) is None
    assert SchedulerEntry("bare", "plugin x 1", "x:Bare", cls=bare).family == THIRD_PARTY
    # A plugin subclassing a built-in is someone else's design: it does not inherit the family.
    assert SchedulerEntry("plain", "plugin x 1", "x:Plain", cls=Plain).family == THIRD_PARTY
    assert SchedulerEntry("heapq", "built-in", "x:Plain", cls=Plain).family == "teaching"


def test_an_unknown_family_is_refused_naming_the_allowed_ones() -> None:
    class Odd(HeapqScheduler):
        family = "experimental"

    why = check_contract(Odd)
    assert why is not None and "'experimental'" in why and "production" in why


def test_a_results_file_keeps_the_family_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    from bench.results.fields import Fields, ResultsError
    from bench.results.model import RunRecord

    raw = {"scheduler": "heapq", "mode": "switch", "status": "valid", "reasons": [], "family": "teaching"}
    assert RunRecord.from_json(Fields(raw, "run")).family == "teaching"
    assert RunRecord.from_json(Fields({**raw, "family": None}, "run")).family is None
    with pytest.raises(ResultsError, match="family"):
        RunRecord.from_json(Fields({**raw, "family": "experimental"}, "run"))


def test_the_suite_records_the_family_of_each_run(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    out = tmp_path / "r.json"
    subprocess.run([sys.executable, "-m", "bench", "run", "--fast", "-s", "heapq,hybrid", "--mode", "switch",
                    "-o", str(out)], check=True, capture_output=True)
    runs = json.loads(out.read_text())["schedbench"]["runs"]
    assert {r["scheduler"]: r["family"] for r in runs} == {"heapq": "teaching", "hybrid": "this-project"}
