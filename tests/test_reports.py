"""The report (``python -m reports``): charts, page and summary built from a real results file.

Everything starts from the session's ``pipeline_results`` (a tiny real run with an INVALID
plugin, ``loses-rocket``); variants (a scaling section, a history, an interrupted run,
hostile names) are synthesised from copies of it. The tests check behaviour — files,
sizes, references, what is and is not charted — never timings.
"""

from __future__ import annotations

import ast
import copy
import json
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, load_results, section

from bench.results.fields import Fields
from bench.results.model import Document, Histogram
from bench.results.store import load
from reports import build, data, markdown
from reports.charts.cpu import CPU_COST
from reports.charts.instructions import INSTRUCTIONS
from reports.charts.lateness import LATENESS_PERCENTILES, LATENESS_VS_LOAD
from reports.charts.scaling import SCALING
from reports.charts.switch import SWITCH_COST, switch_cost
from reports.charts.trends import TRENDS
from reports.history import load_history
from reports.palette import BUILTIN_COLOURS, PLUGIN_COLOURS, Palette

BROKEN = "loses-rocket"
BASE_CHARTS = (SWITCH_COST, LATENESS_PERCENTILES, CPU_COST, LATENESS_VS_LOAD)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: What the report package must never import: it reads results files only.
FORBIDDEN_MODULES = ("schedulers", "bench.measure.registry", "bench.measure.suite", "bench.measure.worker")


def reports_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reports", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking this is a complete PNG."""
    raw = path.read_bytes()
    assert raw[:8] == PNG_SIGNATURE, f"{path.name}: not a PNG"
    assert raw[12:16] == b"IHDR", f"{path.name}: first chunk is not IHDR"
    assert raw.endswith(b"IEND\xaeB`\x82"), f"{path.name}: truncated (no IEND chunk)"
    assert len(raw) > 5000, f"{path.name}: suspiciously small for a chart"
    width, height = struct.unpack(">II", raw[16:24])
    return width, height


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_data(self, text: str) -> None:
        self.text.append(text)


def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def markdown_rows(text: str) -> list[list[str]]:
    """Body rows of the first Markdown table, as lists of raw cell texts."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]


def write_json(target: Path, document: dict[str, Any]) -> Path:
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


def write_variant(source: Path, target: Path, change: Any) -> Path:
    document = json.loads(source.read_text())
    change(document["schedbench"])
    target.write_text(json.dumps(document))
    return target


def add_scaling(sb: dict[str, Any]) -> None:
    """A scaling section in the documented format: ok curves, a stop, a failure, a skip."""

    def point(name: str, mode: str, n: int, status: str = "ok", reason: str | None = None) -> dict[str, Any]:
        ok = status == "ok"
        return {"scheduler": name, "mode": mode, "rockets": n, "status": status, "reason": reason,
                "ns_per_resume": 800.0 * (1 + n / 1e5) if ok else None, "wall_s": n * 1e-6 if ok else None,
                "tracemalloc_bytes_per_rocket": 1200.0 if ok else None, "peak_rss_bytes": 40_000_000 if ok else None}

    sizes = [100, 1000, 10_000]
    points = [point("heapq", mode, n) for mode in ("switch", "virtual") for n in sizes]
    points += [point("asyncio", "switch", 100), point("asyncio", "switch", 1000),
               point("asyncio", "switch", 10_000, "stopped", "time budget 5 s exceeded")]
    points += [point("listscan", "switch", 100), point("listscan", "switch", 1000, "failed", "MemoryError")]
    points += [point("busywait", "virtual", 100, "skipped", "does not support the virtual clock")]
    sb["scaling"] = {"seed": 1969, "sizes": sizes, "budget_s": 5.0, "points": points}


def model(raw: dict[str, Any]) -> Document:
    return Document.from_json(raw, "test")


@pytest.fixture(scope="module")
def document(pipeline_results: Path) -> dict[str, Any]:
    return load_results(pipeline_results)


@pytest.fixture(scope="module")
def cli_report(pipeline_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report built by the real command from the pipeline's results file."""
    out = tmp_path_factory.mktemp("report") / "report"
    proc = reports_cli(str(pipeline_results), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(out / "index.html") in proc.stdout  # says where the report is
    return out


@pytest.fixture(scope="module")
def scaling_report(pipeline_results: Path, tmp_path_factory: pytest.TempPathFactory) -> build.Report:
    where = tmp_path_factory.mktemp("scaling")
    results = write_variant(pipeline_results, where / "results.json", add_scaling)
    return build.build(load(results), results, where / "report")


# ---- the charts -------------------------------------------------------------------------

def test_every_chart_is_a_png_of_the_requested_size(scaling_report: build.Report) -> None:
    names = {chart.name for chart in scaling_report.charts}
    assert names == {*BASE_CHARTS, SCALING}
    for chart in scaling_report.charts:
        assert png_size(scaling_report.directory / chart.name) == (chart.width_px, chart.height_px)
        assert chart.title and chart.alt


def test_chart_size_is_what_was_asked_of_matplotlib(document: dict[str, Any], tmp_path: Path) -> None:
    palette = build.palette_for(model(document), None)
    chart = switch_cost(data.switch_data(model(document)), palette, tmp_path / "s.png")
    assert chart is not None
    # Whatever size the chart asked matplotlib for is the size of the file it wrote.
    assert png_size(tmp_path / "s.png") == (chart.width_px, chart.height_px)
    assert chart.width_px <= 1300  # the page is 1,400 px wide


def test_cli_report_files_and_image_sizes_match_the_page(cli_report: Path) -> None:
    for name in (*BASE_CHARTS, "index.html", "summary.md"):
        assert (cli_report / name).stat().st_size > 0, name
    assert not (cli_report / SCALING).exists()  # the pipeline file has no scaling section
    assert not (cli_report / TRENDS).exists()  # no --history
    page = parse_page(cli_report / "index.html")
    sizes = {img["src"]: (int(img["width"] or 0), int(img["height"] or 0)) for img in page.images}
    assert set(sizes) == set(BASE_CHARTS)
    for name, size in sizes.items():
        assert png_size(cli_report / name) == size


# ---- the page ---------------------------------------------------------------------------

def test_page_references_every_chart_by_relative_path_and_every_scheduler(cli_report: Path,
                                                                          document: dict[str, Any]) -> None:
    html = (cli_report / "index.html").read_text(encoding="utf-8")
    page = parse_page(cli_report / "index.html")
    for img in page.images:
        src = img["src"] or ""
        assert "/" not in src and ":" not in src, src  # relative, beside index.html
        assert (cli_report / src).is_file()
        assert img.get("alt"), f"{src} has no alt text"
    text = " ".join(page.text)
    for run in section(document)["runs"]:
        assert run["scheduler"] in text
    # Works from disk: nothing fetched, nothing run.
    assert not {"script", "link", "iframe"} & page.tags
    assert "http://" not in html and "https://" not in html and "@import" not in html
    # Header facts.
    env = section(document)["environment"]
    for fact in (env["cpu_model"], env["python"], env["commit"][:12], "timer slack", "1969", "0.002", "quick"):
        assert str(fact) in text, fact
    assert "INCOMPLETE" not in text


def test_page_lists_the_invalid_plugin_with_its_reason(cli_report: Path) -> None:
    text = " ".join(parse_page(cli_report / "index.html").text)
    assert "INVALID" in text and BROKEN in text and "rocket lost" in text
    for heading in ("p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "CPU/wake µs", "CPU/wall", "wasted/wake",
                    "makespan s", "× ideal", "early wakes", "× bare send", "overhead ns", "body floor ns"):
        assert heading in text, heading


def test_incomplete_run_gets_a_banner(pipeline_results: Path, tmp_path: Path) -> None:
    results = write_variant(pipeline_results, tmp_path / "r.json",
                            lambda sb: sb.update(complete=False, interrupted=True))
    report = build.build(load(results), results, tmp_path / "report")
    assert "INCOMPLETE (interrupted)" in report.index.read_text(encoding="utf-8")
    assert "INCOMPLETE (interrupted)" in report.summary.read_text(encoding="utf-8")


def test_text_from_the_file_is_escaped(pipeline_results: Path, tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)>|*$x$*"

    def rename(sb: dict[str, Any]) -> None:
        for run in sb["runs"]:
            if run["scheduler"] == BROKEN:
                run["scheduler"] = hostile
                run["reasons"] = ["<script>alert(2)</script> | `x`"]

    results = write_variant(pipeline_results, tmp_path / "r.json", rename)
    report = build.build(load(results), results, tmp_path / "report")
    html = report.index.read_text(encoding="utf-8")
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;" in html
    md = report.summary.read_text(encoding="utf-8")
    assert "<script>" not in md and "<img" not in md
    row = next(r for r in markdown_rows(md) if "onerror" in r[0])
    assert len(row) == len(markdown_rows(md)[0])  # the | inside the name did not split the row


# ---- the Markdown summary -----------------------------------------------------------------

def test_markdown_has_one_row_per_scheduler(cli_report: Path, document: dict[str, Any]) -> None:
    md = (cli_report / "summary.md").read_text(encoding="utf-8")
    rows = [r for r in markdown_rows(md) if not r[0].startswith("_")]  # not the family headings
    names = list(dict.fromkeys(r["scheduler"] for r in section(document)["runs"]))
    # The key-figures table is the last one: one row per scheduler.
    key_rows = rows[-len(names):]
    assert sorted(markdown.escape(n) for n in names) == sorted(r[0] for r in key_rows)
    header = [line for line in md.splitlines() if line.startswith("| scheduler")][-1]
    assert "switch ns" in header and "p99 µs @ 0.01" in header and "CPU/wake µs @ 0.002" in header
    broken = next(r for r in key_rows if r[0] == markdown.escape(BROKEN))
    assert "INVALID" in broken[1] and "rocket lost" in broken[-1]
    assert all(cell in ("–", "") for cell in broken[2:-1])  # no figures for an INVALID scheduler
    heapq = next(r for r in rows if r[0] == "heapq")
    assert heapq[1] == "VALID" and heapq[2] != "–"
    assert md.count("**") >= 2  # best VALID values are marked


def test_markdown_escape() -> None:
    assert markdown.escape("a|b*c_d`e") == r"a\|b\*c\_d\`e"
    assert markdown.escape("<b>") == "&lt;b&gt;"
    assert markdown.escape("two\nlines") == "two lines"


# ---- what is charted ----------------------------------------------------------------------

def test_invalid_runs_are_not_chart_data(document: dict[str, Any]) -> None:
    switch = data.switch_data(model(document))
    assert BROKEN not in {b.scheduler for b in switch.bars}
    assert {b.scheduler for b in switch.bars} == {"heapq", "listscan", "asyncio"}
    assert [(e.scheduler, e.status) for e in switch.excluded] == [(BROKEN, "invalid")]
    assert any("rocket lost" in r for r in switch.excluded[0].reasons)
    assert [b.mean_ns for b in switch.bars] == sorted(b.mean_ns for b in switch.bars)
    timed = data.timed_data(model(document))
    assert BROKEN not in {p.scheduler for p in timed.points}
    assert {(e.scheduler, e.time_scale) for e in timed.excluded} == {(BROKEN, 0.01), (BROKEN, 0.002)}
    assert timed.scales == [0.01, 0.002]
    assert all(not p.early and p.hist for p in timed.points)
    trend = data.trend_data([model(document)])
    assert BROKEN not in trend.switch_x_floor and BROKEN not in {name for name, _ in trend.p99_us}


@pytest.mark.parametrize(("status", "charted", "flagged"), [
    ("valid", True, False), ("early", True, True), ("invalid", False, False), ("failed", False, False),
    ("skipped", False, False),
])
def test_only_valid_and_early_runs_are_charted(document: dict[str, Any], status: str, charted: bool,
                                               flagged: bool) -> None:
    doc = copy.deepcopy(document)
    for run in section(doc)["runs"]:
        if run["scheduler"] == "heapq":
            run["status"] = status
    bars = {b.scheduler: b for b in data.switch_data(model(doc)).bars}
    points = [p for p in data.timed_data(model(doc)).points if p.scheduler == "heapq"]
    assert ("heapq" in bars) is charted
    assert bool(points) is charted
    if charted:
        assert bars["heapq"].early is flagged and all(p.early is flagged for p in points)


def test_cdf_of_a_histogram() -> None:
    hist = {"edges_s": [1e-6, 1e-5, 1e-4, 1e-3], "counts": [0, 3, 5], "zero": 1, "early": 1}
    curve = data.cdf(Histogram.from_json(Fields(hist, "hist")))
    assert curve is not None
    assert curve.total == 10 and curve.early == 1
    assert curve.x_us == pytest.approx([10, 100, 1000])
    assert curve.y == pytest.approx([0.2, 0.5, 1.0])  # starts at the early + on-time share
    assert data.cdf(Histogram((1.0, 2.0), (0,), 0, 0)) is None


def test_odd_but_legal_files_still_build(pipeline_results: Path, tmp_path: Path) -> None:
    """No floor, one scale, a run with every wake exactly on time."""

    def oddities(sb: dict[str, Any]) -> None:
        sb["floor"] = None
        sb["runs"] = [r for r in sb["runs"] if r["time_scale"] in (None, 0.01)]
        for run in sb["runs"]:
            t = run.get("timed")
            if t and run["scheduler"] == "heapq":
                t["lateness_us"] = {k: 0.0 for k in t["lateness_us"]}
                hist = t["lateness_hist"]
                hist["zero"], hist["counts"] = sum(hist["counts"]), [0] * len(hist["counts"])

    results = write_variant(pipeline_results, tmp_path / "odd.json", oddities)
    report = build.build(load(results), results, tmp_path / "report")
    # One time scale: lateness against load would be one point per line, so it is left out.
    assert {c.name for c in report.charts} == set(BASE_CHARTS) - {LATENESS_VS_LOAD}
    assert any("lateness" in title.lower() and "against load" in title.lower() for title, _ in report.missing)
    for chart in report.charts:
        assert png_size(report.directory / chart.name) == (chart.width_px, chart.height_px)


def test_a_file_without_runs_builds_a_page_without_charts(pipeline_results: Path, tmp_path: Path) -> None:
    results = write_variant(pipeline_results, tmp_path / "none.json",
                            lambda sb: sb.update(runs=[], floor=None, complete=False))
    report = build.build(load(results), results, tmp_path / "report")
    assert report.charts == [] and len(report.missing) == 5
    assert "No runs in this results file" in report.summary.read_text(encoding="utf-8")
    assert "INCOMPLETE (interrupted)" in report.index.read_text(encoding="utf-8")


# ---- scaling and history -------------------------------------------------------------------

def test_scaling_section_is_charted_with_stops_and_failures(scaling_report: build.Report) -> None:
    doc = load_results(scaling_report.directory.parent / "results.json")
    scaling = data.scaling_data(model(doc))
    assert scaling is not None and scaling.sizes == [100, 1000, 10_000] and scaling.budget_s == 5.0
    series = {(s.scheduler, s.mode): s for s in scaling.series}
    assert set(series) == {("heapq", "switch"), ("heapq", "virtual"), ("asyncio", "switch"), ("listscan", "switch")}
    assert series[("heapq", "switch")].rockets == [100, 1000, 10_000]
    stopped = series[("asyncio", "switch")]
    assert stopped.rockets == [100, 1000]  # the stopped point is not a value ...
    assert (stopped.stopped_at, stopped.stopped_reason) == (10_000, "time budget 5 s exceeded")  # ... but marked
    assert series[("listscan", "switch")].rockets == [100]
    assert {(n.scheduler, n.status) for n in scaling.notes} == {("listscan", "failed"), ("busywait", "skipped")}
    html = scaling_report.index.read_text(encoding="utf-8")
    assert 'src="scaling.png"' in html and "MemoryError" in html and "STOPPED" in html
    assert data.scaling_data(load(scaling_report.directory.parent / "results.json")) is not None


def test_no_scaling_section_means_no_scaling_chart(document: dict[str, Any]) -> None:
    assert section(document)["scaling"] is None
    assert data.scaling_data(model(document)) is None


def test_history_of_two_files_draws_trends(pipeline_results: Path, tmp_path: Path) -> None:
    history = tmp_path / "history"
    history.mkdir()
    for i, day in enumerate(("2026-01-02", "2026-01-01")):  # file order is not date order
        def stamp(sb: dict[str, Any], day: str = day, i: int = i) -> None:
            sb["created_utc"] = f"{day}T10:00:00Z"
            sb["environment"]["commit"] = f"{i}" * 40

        write_variant(pipeline_results, history / f"run{i}.json", stamp)
    (history / "truncated.json").write_text('{"schedbench": {"format"')
    (history / "other.json").write_text('{"version": "1.0", "benchmarks": []}')
    out = tmp_path / "report"
    proc = reports_cli(str(pipeline_results), "--history", str(history), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    warnings = proc.stderr.strip().splitlines()
    assert len(warnings) == 2 and all(w.startswith("python -m reports: warning: ") for w in warnings)
    assert any("truncated.json" in w for w in warnings) and any("other.json" in w for w in warnings)
    assert png_size(out / TRENDS)[0] > 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'src="trends.png"' in page and "3 results files in the trend chart:" in page
    # Oldest first, and the reported file joins the trend.
    loaded = load_history(history, load(pipeline_results), pipeline_results, warn=lambda _: None)
    dates = [doc.created_utc[:10] for doc in loaded.documents]
    assert dates[:2] == ["2026-01-01", "2026-01-02"] and len(dates) == 3
    assert len(loaded.skipped) == 2


def test_history_skips_other_workloads(pipeline_results: Path, tmp_path: Path) -> None:
    history = tmp_path / "history"
    history.mkdir()
    write_variant(pipeline_results, history / "big.json", lambda sb: sb["workload"].update(rockets=10_000))
    said: list[str] = []
    loaded = load_history(history, load(pipeline_results), pipeline_results, warn=said.append)
    assert len(loaded.files) == 1 and len(said) == 1 and "different workload" in said[0]


def test_stale_charts_are_removed(document: dict[str, Any], pipeline_results: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / TRENDS).write_bytes(b"old")
    report = build.build(model(document), pipeline_results, out)
    assert not (out / TRENDS).exists()
    assert ("Trends over history" not in {c.title for c in report.charts})


# ---- colours --------------------------------------------------------------------------------

def test_palette_is_fixed_for_builtins_and_deterministic_for_plugins() -> None:
    palette = Palette(["zeta", "heapq", "alpha"])
    for name, colour in BUILTIN_COLOURS.items():
        assert palette.colour(name) == colour
    assert palette.colour("alpha") == PLUGIN_COLOURS[0] and palette.colour("zeta") == PLUGIN_COLOURS[1]
    assert Palette(["alpha", "zeta"]).colour("zeta") == palette.colour("zeta")
    many = Palette([f"plugin-{i:02d}" for i in range(12)])
    styles = [(many[n].colour, many[n].marker) for n in many.names()]
    assert len(set(styles)) == len(styles)  # (colour, marker) stays unique past the colour list
    assert len(set(BUILTIN_COLOURS.values()) | set(PLUGIN_COLOURS)) == len(BUILTIN_COLOURS) + len(PLUGIN_COLOURS)


def test_one_colour_per_scheduler_across_the_page(cli_report: Path, document: dict[str, Any]) -> None:
    palette = build.palette_for(model(document), None)
    html = (cli_report / "index.html").read_text(encoding="utf-8")
    for name in data.scheduler_names(model(document)):
        assert f'background:{palette.colour(name)}"></span>{name}<' in html
    assert palette.colour(BROKEN) == PLUGIN_COLOURS[0]


# ---- the command line -------------------------------------------------------------------------

@pytest.mark.parametrize(("case", "needle"), [
    ("missing", "no such file"),
    ("empty", "empty file"),
    ("not-results", "not a schedbench results file"),
    ("future-version", "results format version 99 is not supported"),
    ("directory", "is a directory"),
    ("output-is-a-file", "output exists and is not a directory"),
    ("output-under-a-file", "cannot write the report"),
    ("history-missing", "history is not a directory"),
    ("no-arguments", "the following arguments are required: RESULTS"),
    ("unknown-option", "unrecognized arguments: --frobnicate"),
])
def test_bad_input_is_one_line_exit_2(case: str, needle: str, pipeline_results: Path, tmp_path: Path) -> None:
    good, out = str(pipeline_results), str(tmp_path / "out")
    plain = tmp_path / "plain.txt"
    plain.write_text("not a directory\n")
    future = write_variant(pipeline_results, tmp_path / "future.json", lambda sb: sb.update(version=99))
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "other.json").write_text('{"version": "1.0", "benchmarks": []}')
    args = {
        "missing": [str(tmp_path / "nope.json"), "-o", out],
        "empty": [str(tmp_path / "empty.json"), "-o", out],
        "not-results": [str(tmp_path / "other.json"), "-o", out],
        "future-version": [str(future), "-o", out],
        "directory": [str(tmp_path), "-o", out],
        "output-is-a-file": [good, "-o", str(plain)],
        "output-under-a-file": [good, "-o", str(plain / "report")],
        "history-missing": [good, "--history", str(tmp_path / "no-history"), "-o", out],
        "no-arguments": [],
        "unknown-option": [good, "--frobnicate"],
    }[case]
    proc = reports_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("python -m reports: error: ") and needle in lines[0]
    assert proc.stdout == ""
    assert not (tmp_path / "out").exists()


def test_reports_never_import_the_schedulers(pipeline_results: Path, tmp_path: Path) -> None:
    """Run the real command in a wrapper that lists the modules loaded by the end."""
    wrapper = (
        "import runpy, sys\n"
        f"sys.argv = ['reports', {str(pipeline_results)!r}, '-o', {str(tmp_path / 'report')!r}]\n"
        "try:\n"
        "    runpy.run_module('reports', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    status = exc.code\n"
        f"bad = sorted(m for m in sys.modules if m.startswith({FORBIDDEN_MODULES!r}))\n"
        "print('STATUS', status, 'FORBIDDEN', bad)\n"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "STATUS 0 FORBIDDEN []"
    assert (tmp_path / "report" / "index.html").exists()


def test_reports_source_has_no_forbidden_import() -> None:
    """Also the paths a single run may not take (lazy imports included)."""
    for path in sorted((ROOT / "reports").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                assert not any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES), \
                    f"{path.relative_to(ROOT)} imports {name}"


def instruction_document() -> dict[str, Any]:
    """A small instruction-count file in the documented format: two schedulers, a body floor."""
    def run(name: str, per: float, drift: float = 0.0) -> dict[str, Any]:
        return {"scheduler": name, "origin": "built-in", "dialect": "generator", "mode": "switch",
                "time_scale": None, "clock": "real", "status": "valid", "reasons": [], "elapsed_s": 3.0,
                "benchmark": f"instructions/switch/{name}",
                "instructions": {"per_unit": per, "unit": "resume", "values": [per, per * (1 + drift)],
                                 "total": int(per * 1000), "drift": drift, "method": "callgrind-client-requests",
                                 "warmed": True, "top_functions": [["_PyEval_EvalFrameDefault", 500]]}}

    floor = {"per_unit": 1800.0, "unit": "resume", "values": [1800.0], "total": 1_800_000, "drift": 0.0,
             "method": "callgrind-client-requests", "warmed": True}
    return {"version": "1.0", "benchmarks": [], "schedbench": {
        "format": "schedbench-results", "version": 2, "created_utc": "2026-11-22T01:00:00Z",
        "command": "python -m bench run --measure instructions", "preset": "instructions", "complete": True,
        "interrupted": False, "environment": {"python": "3.11.7", "cpu_model": "Test CPU", "cpu_count": 2,
                                              "commit": "0123456789abcdef", "dirty": False},
        "workload": {"rockets": 2000, "seed": 1969, "measure": "instructions", "modes": ["switch"],
                     "time_scales": [], "clock": "virtual"},
        "runs": [run("heapq", 8600.0), run("listscan", 3800.0, 0.0002)],
        "body_floor_instructions": {"generator": floor}}}


def test_the_instruction_file_is_charted_beside_wall_time(pipeline_results: Path, tmp_path: Path) -> None:
    counted = write_json(tmp_path / "instructions.json", instruction_document())
    proc = reports_cli(str(pipeline_results), "--instructions", str(counted), "-o", str(tmp_path / "report"))
    assert proc.returncode == 0, proc.stderr
    chart = tmp_path / "report" / INSTRUCTIONS
    assert png_size(chart)[0] <= 1300
    page = parse_page(tmp_path / "report" / "index.html")
    assert INSTRUCTIONS in {img.get("src") for img in page.images}
    text = " ".join(page.text)
    assert "instructions each scheduler adds per switch" in text and "6,800" in text  # heapq: 8,600 − 1,800
    md = (tmp_path / "report" / "summary.md").read_text(encoding="utf-8")
    assert "instructions each scheduler adds per switch" in md


def test_files_in_the_wrong_place_are_one_line(pipeline_results: Path, tmp_path: Path) -> None:
    counted = write_json(tmp_path / "instructions.json", instruction_document())
    swapped = reports_cli(str(counted), "--instructions", str(pipeline_results), "-o", str(tmp_path / "r"))
    assert swapped.returncode == 2 and swapped.stderr.count("\n") == 1 and "--measure instructions" in swapped.stderr


def test_a_history_of_one_file_says_trends_need_two(pipeline_results: Path, tmp_path: Path) -> None:
    history = tmp_path / "history"
    history.mkdir()
    out = tmp_path / "report"
    proc = reports_cli(str(pipeline_results), "--history", str(history), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "a trend needs two results files with a common series; there is 1, this one included" in page
    assert "each `make bench` adds one to the history" in page or "each <code>make bench</code>" in page
    # The history section does not point at a chart that is not there.
    assert "in the trend chart" not in page
    assert "1 results file in the history, no trend drawn: a trend needs two" in page
