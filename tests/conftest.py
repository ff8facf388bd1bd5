"""Shared fixtures: small workloads and a way to install test plugins for real.

``install_plugins`` writes a throw-away distribution (a ``*.dist-info`` folder with an
``entry_points.txt``) and puts it on ``sys.path``, so test schedulers load through the
same ``importlib.metadata`` path a pip-installed plugin takes.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
sys.path.insert(0, str(TESTS_DIR))

from bench.registry import ENTRY_POINT_GROUP  # noqa: E402

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
