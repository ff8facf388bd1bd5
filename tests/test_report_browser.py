"""The report page in a real headless browser, opened straight from disk.

Optional: skipped when no Chromium is installed (``.ci/run`` installs Debian's
``chromium`` when it runs as root; elsewhere it is up to the machine). It catches what
string checks cannot: a chart a browser will not load from ``file://``, and a page wider
than the window (horizontal scrolling) at 1,400 px. That nothing is fetched from the
network is checked without a browser in ``test_reports.py`` (no scripts, no stylesheets,
no http URLs).

The page has no scripts, so the checks run in a copy of it (beside the original, so the
charts resolve the same way) with one inline script added: on ``load`` it measures the
page and writes the result as JSON into ``document.title``, which ``--dump-dom`` prints.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

WIDTH, HEIGHT = 1400, 900

#: Runs on load: every image (did it load, its natural and shown size) and the page width.
PROBE = """<script>
window.addEventListener("load", () => {
  const root = document.documentElement;
  const images = Array.from(document.images).map(img => ({
    src: img.getAttribute("src"), complete: img.complete, naturalWidth: img.naturalWidth,
    right: Math.ceil(img.getBoundingClientRect().right)}));
  const scroller = document.scrollingElement;
  const wide = Array.from(document.querySelectorAll("body *"))
    .filter(el => Math.ceil(el.getBoundingClientRect().right) > window.innerWidth)
    .slice(0, 5).map(el => el.tagName + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : ""));
  // A table wider than its box scrolls inside it: the page does not scroll, the reader still does.
  const boxes = Array.from(document.querySelectorAll(".scroll")).filter(b => b.scrollWidth > b.clientWidth + 1)
    .map(b => ((b.querySelector("table") || {}).id || "?") + ": " + b.scrollWidth + " > " + b.clientWidth);
  document.title = JSON.stringify({scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, images,
                                   scrollingWidth: scroller.scrollWidth, innerWidth: window.innerWidth, wide, boxes});
});
</script>"""


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


def measure(page: Path, profile: Path, width: int = WIDTH) -> dict[str, Any]:
    """Open a probing copy of ``page`` at ``width`` × HEIGHT and return what the probe saw."""
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    try:
        # The virtual time budget lets the page (and its images) finish loading before the dump.
        dom = chromium(profile, f"--window-size={width},{HEIGHT}", "--virtual-time-budget=10000", "--dump-dom",
                       probe.as_uri())
    finally:
        probe.unlink()
    assert dom.returncode == 0, dom.stderr[-2000:]
    title = re.search(r"<title>(.*?)</title>", dom.stdout, re.S)
    assert title is not None, dom.stdout[:2000]
    try:
        result: dict[str, Any] = json.loads(html.unescape(title.group(1)))
    except json.JSONDecodeError:
        pytest.fail(f"the probe did not run (title {title.group(1)[:200]!r})")
    return result


def test_page_renders_from_disk(pipeline_results: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "reports", str(pipeline_results), "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    page = out / "index.html"
    charts = sorted(p.name for p in out.glob("*.png"))
    assert charts  # the pipeline file has switch and timed runs

    seen = measure(page, tmp_path / "profile")
    images = seen["images"]
    assert sorted(img["src"] for img in images) == charts
    for img in images:
        assert img["complete"] and img["naturalWidth"] > 0, f"{img['src']} did not load"
        assert img["right"] <= WIDTH, f"{img['src']} runs past the window"
    assert seen["scrollWidth"] <= WIDTH, f"the page scrolls sideways: {seen['scrollWidth']} px wide"

    dom = chromium(tmp_path / "profile", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "schedbench report" in dom.stdout and "loses-rocket" in dom.stdout
    shot = tmp_path / "page.png"
    taken = chromium(tmp_path / "profile", f"--window-size={WIDTH},3000", f"--screenshot={shot}", page.as_uri())
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


#: The built-in families, for the reference file (written before runs recorded theirs).
REFERENCE = ROOT / "results" / "reference" / "2026-12-03T1212-default.json"
FAMILIES = {**dict.fromkeys(("asyncio", "uvloop", "trio", "anyio", "anyio-trio", "gevent", "twisted", "rloop"),
                            "production"),
            "hybrid": "this-project", **dict.fromkeys(("listscan", "busywait", "heapq", "deque"), "teaching")}


@pytest.mark.skipif(not REFERENCE.is_file(), reason="the reference results file is not in this checkout")
def test_full_report_has_no_horizontal_scroll_at_800_1280_and_1920(tmp_path: Path) -> None:
    """The full report (every mode: switch, timed at three scales, io; 13 loops in four
    families) at a narrow laptop, a common desktop and a wide screen: the page never
    scrolls sideways, and no table scrolls sideways inside its own box either (the old
    page passed the first check and failed the second: its timed tables were 1,550 px)."""
    raw = json.loads(REFERENCE.read_text(encoding="utf-8"))
    for run in raw["schedbench"]["runs"]:
        run["family"] = FAMILIES.get(run["scheduler"], "third-party")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(raw), encoding="utf-8")
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "reports", str(results), "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert proc.returncode == 0, proc.stderr
    page = out / "index.html"
    assert 'id="verdict-switch"' in page.read_text(encoding="utf-8")
    for width in (800, 1280, 1920):
        seen = measure(page, tmp_path / "profile", width)
        assert seen["scrollingWidth"] <= seen["innerWidth"], (
            f"at {width} px the page scrolls sideways: {seen['scrollingWidth']} px wide; past the edge: "
            f"{seen['wide']}")
        assert seen["boxes"] == [], f"at {width} px these tables scroll sideways inside their box: {seen['boxes']}"
