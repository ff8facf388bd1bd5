"""``export``: github-action-benchmark and Bencher files, checked against their documented fields.

* github-action-benchmark, tool ``customSmallerIsBetter``: a JSON list whose entries have
  ``name`` (string), ``unit`` (string), ``value`` (number) and optionally ``range`` and
  ``extra`` (strings).
* Bencher Metric Format: ``{benchmark: {measure: {"value": number, "lower_value"?: number,
  "upper_value"?: number}}}`` (the BMF JSON schema requires ``value``; benchmark names up
  to 1024 characters, measure slugs up to 64).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from test_compare import doc as as_document
from test_compare import make_document, run_cli, standard_runs, switch_run, timed_run, write

from bench.gate import export

GAB_REQUIRED = {"name": str, "unit": str, "value": (int, float)}
GAB_OPTIONAL = {"range": str, "extra": str}
BMF_KEYS = {"value", "lower_value", "upper_value"}


def check_github_action_benchmark(payload: Any) -> None:
    assert isinstance(payload, list) and payload
    names = set()
    for entry in payload:
        assert isinstance(entry, dict)
        assert set(entry) <= set(GAB_REQUIRED) | set(GAB_OPTIONAL), entry
        for key, kind in GAB_REQUIRED.items():
            assert isinstance(entry[key], kind), (key, entry)
        for key, kind in GAB_OPTIONAL.items():
            if key in entry:
                assert isinstance(entry[key], kind), (key, entry)
        assert not isinstance(entry["value"], bool) and math.isfinite(entry["value"])
        names.add(entry["name"])
    assert len(names) == len(payload), "names must be unique: each is one chart series"


def check_bencher(payload: Any) -> None:
    assert isinstance(payload, dict) and payload
    for benchmark, measures in payload.items():
        assert isinstance(benchmark, str) and 0 < len(benchmark) <= 1024
        assert isinstance(measures, dict) and measures
        for slug, metric in measures.items():
            assert isinstance(slug, str) and 0 < len(slug) <= 64
            assert isinstance(metric, dict) and "value" in metric and set(metric) <= BMF_KEYS
            for value in metric.values():
                assert isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if "lower_value" in metric:
                assert metric["lower_value"] <= metric["value"] <= metric["upper_value"]


def document_with_broken_runs() -> dict[str, Any]:
    runs = standard_runs()
    runs.append(switch_run("loses-rocket", [], status="invalid", reasons=["lost rocket 3"]))
    runs.append(timed_run("crashes", [], [], [], status="failed", reasons=["RuntimeError: boom"]))
    runs.append(switch_run("early-bird", [900, 910, 920, 930], status="early"))
    return make_document(runs)


def test_github_action_benchmark_format() -> None:
    payload = export.github_action_benchmark(as_document(document_with_broken_runs()))
    check_github_action_benchmark(payload)
    by_name = {e["name"]: e for e in payload}
    assert set(by_name) == {
        "switch/heapq switch cost", "switch/listscan switch cost",
        "timed/0.01/heapq CPU per wake", "timed/0.01/heapq lateness p50", "timed/0.01/heapq lateness p99",
        "timed/0.01/listscan CPU per wake", "timed/0.01/listscan lateness p50", "timed/0.01/listscan lateness p99",
    }
    heapq = by_name["switch/heapq switch cost"]
    assert heapq["unit"] == "ns/switch"
    assert heapq["value"] == pytest.approx(1100 * sum((0.99, 1.0, 1.005, 1.01)) / 4)
    assert heapq["range"].startswith("± ")
    assert "4 processes" in heapq["extra"]


def test_bencher_format() -> None:
    payload = export.bencher(as_document(document_with_broken_runs()))
    check_bencher(payload)
    assert set(payload) == {"switch/heapq", "switch/listscan", "timed/0.01/heapq", "timed/0.01/listscan"}
    assert set(payload["switch/heapq"]) == {"latency"}
    assert set(payload["timed/0.01/heapq"]) == {"cpu-per-wake-us", "lateness-p50-us", "lateness-p99-us"}
    latency = payload["switch/heapq"]["latency"]
    assert latency["lower_value"] == pytest.approx(1100 * 0.99)
    assert latency["upper_value"] == pytest.approx(1100 * 1.01)


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_only_valid_runs_are_exported(fmt: str) -> None:
    text = json.dumps(export.export(as_document(document_with_broken_runs()), fmt))
    for name in ("loses-rocket", "crashes", "early-bird"):
        assert name not in text


@pytest.mark.parametrize(("fmt", "check"), [("github-action-benchmark", check_github_action_benchmark),
                                            ("bencher", check_bencher)])
def test_cli_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, check: Any) -> None:
    source = write(tmp_path / "results.json", document_with_broken_runs())
    out = tmp_path / "out" / f"{fmt}.json"
    assert run_cli(["export", str(source), "--format", fmt, "-o", str(out)]) == 0
    check(json.loads(out.read_text()))
    assert f"→ {out}" in capsys.readouterr().out
    assert run_cli(["export", str(source), "--format", fmt]) == 0  # stdout
    check(json.loads(capsys.readouterr().out))


def test_cli_refuses_a_file_without_valid_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = make_document([switch_run("heapq", [], status="invalid", reasons=["lost rocket 1"])])
    source = write(tmp_path / "results.json", doc)
    assert run_cli(["export", str(source), "--format", "bencher"]) == 2
    err = capsys.readouterr().err
    assert "nothing to export" in err and err.count("\n") == 1


def test_cli_refuses_a_corrupted_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "results.json"
    source.write_text(json.dumps(make_document(standard_runs()))[:200])
    out = tmp_path / "out.json"
    assert run_cli(["export", str(source), "--format", "bencher", "-o", str(out)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert not out.exists()


def test_cli_rejects_an_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "results.json", make_document(standard_runs()))
    with pytest.raises(SystemExit) as exc:
        run_cli(["export", str(source), "--format", "csv"])
    assert exc.value.code == 2
    assert "invalid choice: 'csv'" in capsys.readouterr().err


def test_export_does_not_modify_the_document() -> None:
    doc = as_document(document_with_broken_runs())
    before = copy.deepcopy(doc)
    for fmt in export.FORMATS:
        export.export(doc, fmt)
    assert doc == before


@pytest.mark.parametrize(("fmt", "check"), [("github-action-benchmark", check_github_action_benchmark),
                                            ("bencher", check_bencher)])
def test_real_results_file(pipeline_results: Path, fmt: str, check: Any) -> None:
    from bench.results.store import load

    payload = export.export(load(pipeline_results), fmt)
    check(payload)
    assert "loses-rocket" not in json.dumps(payload)  # the fixture's INVALID plugin
