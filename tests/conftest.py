"""Shared fixtures: small workloads and a way to install test plugins for real.

``install_plugins`` writes a throw-away distribution (a ``*.dist-info`` folder with an
``entry_points.txt``) and puts it on ``sys.path``, so test schedulers load through the
same ``importlib.metadata`` path a pip-installed plugin takes.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
sys.path.insert(0, str(TESTS_DIR))

from bench.measure.registry import ENTRY_POINT_GROUP  # noqa: E402


def load_results(path: str | Path) -> dict[str, Any]:
    """A results file as raw JSON, after checking it loads through the results model."""
    from bench.results.store import load

    load(path)
    return json.loads(Path(path).read_text())  # type: ignore[no-any-return]


def section(document: dict[str, Any]) -> dict[str, Any]:
    return document["schedbench"]  # type: ignore[no-any-return]


InstallPlugins = Callable[[Mapping[str, str]], dict[str, str]]


def write_plugin_distribution(
    where: Path, entries: Mapping[str, str], name: str = "schedbench-test-plugins"
) -> Path:
    dist = where / f"{name.replace('-', '_')}-0.1.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = [f"[{ENTRY_POINT_GROUP}]"] + [f"{k} = {v}" for k, v in entries.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return dist


@pytest.fixture
def install_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallPlugins]:
    """Install test plugins for this process and for subprocesses it starts.

    Returns the environment a subprocess needs to see the same plugins.
    """

    def install(entries: Mapping[str, str]) -> dict[str, str]:
        write_plugin_distribution(tmp_path / "site", entries)
        monkeypatch.syspath_prepend(str(tmp_path / "site"))
        importlib.invalidate_caches()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), str(TESTS_DIR), str(ROOT)])
        return env

    yield install


def run_pipeline(out: Path, site: Path, *extra: str, plugins: Mapping[str, str] | None = None,
                 timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``python -m bench run`` pipeline, optionally with test plugins installed."""
    env = dict(os.environ)
    paths = [str(TESTS_DIR), str(ROOT)]
    if plugins:
        write_plugin_distribution(site, plugins)
        paths.insert(0, str(site))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run([sys.executable, "-m", "bench", "run", "-o", str(out), *extra],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


#: The small real results file many tests read: two timed scales, a polling and a
#: non-polling design, the stdlib loop, and one broken plugin so INVALID rows exist.
PIPELINE_ARGS = ("--fast", "--mode", "switch,timed", "--rockets", "200", "--processes", "2",
                 "--time-scale", "0.01,0.002",
                 "-s", "heapq,listscan,asyncio,loses-rocket")


@pytest.fixture(scope="session")
def pipeline_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to a results file produced by the real pipeline at a tiny size (session-wide)."""
    where = tmp_path_factory.mktemp("pipeline")
    out = where / "results.json"
    proc = run_pipeline(out, where / "site", *PIPELINE_ARGS,
                        plugins={"loses-rocket": "broken_schedulers:LosesRocket"})
    # Exit 1: the broken plugin's runs are INVALID, which is the point.
    assert proc.returncode == 1, proc.stderr
    assert out.exists()
    return out


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs the real pipeline's results file is slow (it spawns pyperf
    workers); ``make test-fast`` leaves them out for the quick loop."""
    slow_fixtures = {"pipeline_results", "faulty_run", "cli_report", "scaling_report"}
    for item in items:
        if slow_fixtures & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
