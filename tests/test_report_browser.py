"""The report page in a real headless browser, opened straight from disk.

Optional: skipped when no Chromium is installed (Debian's ``chromium`` package is not part
of the test setup). It catches what string checks cannot: a page a browser will not
render from ``file://``. That nothing is fetched from the network is checked without a
browser in ``test_reports.py`` (no scripts, no stylesheets, no http URLs).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def test_page_renders_from_disk(pipeline_results: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "reports", str(pipeline_results), "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    flags = ["--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    url = (out / "index.html").as_uri()
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr
    assert "schedbench report" in dom.stdout and "loses-rocket" in dom.stdout
    assert dom.stdout.count("<img") == 4
    shot = tmp_path / "page.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1400,3000", f"--screenshot={shot}", url],
                   capture_output=True, text=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
