"""The report of a paired gate file: ``index.html``, the forest plot and ``summary.md``.

The page reads top-down as a reviewer asks: did it pass (one sentence, first), where did
it move (the forest plot), by how much exactly (the table), what was compared (each
side's identity, then the settings and workload), and how to read it. It is written like
the suite report (``reports.build``): the chart first, then the Markdown summary, the page
last, each replaced atomically, so a page that exists never points at a chart from an
older build.

Trade-offs:

* The table's cells come from ``bench.present.gate_table`` — the very strings the
  terminal and the CI summary print — rather than being formatted again here; the page
  only adds a coloured verdict badge. One formatter, so the three cannot disagree.
* The settings, workload and environment are shown as the file holds them (key → value,
  nested values as compact JSON), not interpreted: the gate owns their meaning, and a
  new setting then appears on the page without a change here.
* Everything from the file (specs, paths, scheduler names, reasons, settings) is escaped;
  colours and class names come from this module only.
* A suite report's charts left in the same directory are removed, so the directory always
  matches its page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from bench.present import gate_table as G
from bench.present import units
from bench.results.gate_file import GateDocument, Side
from bench.results.store import atomic_write
from reports import build, html_page
from reports.charts import forest
from reports.charts.style import ChartFile

EXTRA_STYLE = """
.verdict { font-size: 1.15em; font-weight: 600; padding: 0.7em 1em; margin: 1em 0; border: 2px solid; }
.verdict-pass { background: #e8f5e9; border-color: #2e7d32; color: #1b5e20; }
.verdict-fail { background: #fdecea; border-color: #c62828; color: #8e0000; }
.aa { background: #e3f2fd; border: 2px solid #1565c0; padding: 0.6em 1em; margin: 1em 0; }
.badge { font-weight: 600; font-size: 0.85em; padding: 0.05em 0.4em; border-radius: 3px; border: 1px solid;
         white-space: nowrap; }
.sides { display: grid; grid-template-columns: repeat(auto-fit, minmax(28em, 1fr)); gap: 0 2em; }
.read p { max-width: 60em; }
"""


@dataclass(frozen=True)
class GateReport:
    directory: Path
    index: Path
    summary: Path
    chart: ChartFile | None


def _badge(figure_verdict: str, gated: bool) -> str:
    colour = forest.VERDICT_COLOURS[figure_verdict]
    if not gated:
        return (f'<span class="badge" style="color:{colour};border-style:dashed" title="reported only, not gated">'
                f"reported ({escape(figure_verdict)})</span>")
    fill = "#ffffff" if figure_verdict in ("no change", "inconclusive") else colour
    text = colour if fill == "#ffffff" else "#ffffff"
    return (f'<span class="badge" style="color:{text};background:{fill};border-color:{colour}">'
            f"{escape(figure_verdict)}</span>")


def _table(doc: GateDocument) -> str:
    rows = G.table_rows(doc)
    if not rows:
        return "<p>No figure was measured.</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in G.HEADERS)
    body = []
    for fig, cells in rows:
        tds = [f'<td class="num">{escape(c)}</td>' if num else f"<td>{escape(c)}</td>"
               for c, num in zip(cells[:-1], G.NUMERIC[:-1], strict=True)]
        body.append(f"<tr>{''.join(tds)}<td>{_badge(fig.verdict, fig.gated)}</td></tr>")
    return (f'<div class="scroll"><table id="gate-table"><caption>B against A, one row per scheduler × figure'
            f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _list(title: str, items: Iterable[str], ident: str) -> str:
    lis = "".join(f"<li>{escape(item)}</li>" for item in items)
    return f'<h3 id="{ident}">{escape(title)}</h3><ul>{lis}</ul>' if lis else ""


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return units.scale(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _dl(items: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<dt>{escape(str(k))}</dt><dd>{escape(_value(v))}</dd>" for k, v in items)
    return f'<dl class="meta">{rows}</dl>' if rows else "<p>None recorded.</p>"


def _side(side: Side) -> str:
    items: list[tuple[str, Any]] = [("asked for", side.spec), ("tree measured", side.root),
                                    ("commit", side.commit or units.DASH),
                                    ("working tree", units.DASH if side.dirty is None
                                     else "dirty (uncommitted changes)" if side.dirty else "clean"),
                                    ("interpreter", side.python),
                                    ("Python", side.python_version or units.DASH)]
    items += [(f"loop {name}", version) for name, version in sorted(side.loops.items())]
    role = "base" if side.label == "A" else "head"
    return f"<div><h3>{escape(side.label)} ({role})</h3>{_dl(items)}</div>"


def _mapping(title: str, ident: str, data: Mapping[str, Any]) -> str:
    return f'<h3 id="{ident}">{escape(title)}</h3>{_dl(sorted(data.items()))}'


HOW_TO_READ = (
    "<p>A <strong>pair</strong> is one measurement of A and one of B taken side by side, close in time, so that "
    "what disturbs the machine at that moment disturbs both; each figure is compared pair by pair, never as two "
    "separate averages. The <strong>level</strong> says how a pair was taken: in separate processes "
    "(<em>process</em>) or within one process (<em>in-process</em>), for the reason listed per scheduler.</p>"
    "<p>The <strong>estimate</strong> is B's relative change over A (+5% means B's figure is 5% higher, i.e. slower "
    "or costlier); the <strong>95% interval</strong> is the range of changes the pairs are compatible with. "
    "<strong>m</strong> is the smallest change the gate acts on (the grey band around 0 in the plot): an interval "
    "wholly above +m is a <em>regression</em>, wholly below −m an <em>improvement</em>, wholly inside ±m "
    "<em>no change</em>; an interval that crosses ±m is <em>inconclusive</em> and does not fail the gate. "
    "Figures marked <em>reported</em> (lateness p99) are shown but never gated. In an A/A run both sides are the "
    "same, so any regression it shows is a false alarm.</p>")


def render(doc: GateDocument, source: Path, chart: ChartFile | None) -> str:
    a, b = doc.sides
    title = f"schedbench gate — {G.side_text(a)} vs {G.side_text(b)}"
    parts = [f"<h1>schedbench gate: {escape(a.spec)} vs {escape(b.spec)}</h1>",
             f'<p class="sub">gate file <code>{escape(str(source))}</code> · {escape(doc.created_utc)} · '
             f"took {escape(units.figure(doc.elapsed_s))} s</p>"]
    if (incomplete := G.incomplete_line(doc)) is not None:
        parts.append(f'<div class="banner" role="alert">{escape(incomplete)}</div>')
    if (aa := G.aa_line(doc)) is not None:
        parts.append(f'<div class="aa">{escape(aa)}</div>')
    kind = "pass" if doc.passed else "fail"
    parts.append(f'<p class="verdict verdict-{kind}" id="verdict">{escape(G.verdict_sentence(doc))}</p>')
    parts.append('<nav><a href="#plot">plot</a><a href="#table">table</a><a href="#sides">sides</a>'
                 '<a href="#settings">settings</a><a href="#read">how to read this</a></nav>')
    parts.append('<h2 id="plot">Where B moved</h2>')
    if chart is not None:
        svg = Path(chart.name).with_suffix(".svg").name
        parts.append(f'<figure><img src="{escape(chart.name)}" alt="{escape(chart.alt)}" width="{chart.width_px}" '
                     f'height="{chart.height_px}"><figcaption>{escape(chart.title)} (<a href="{escape(chart.name)}">'
                     f'PNG</a>, <a href="{escape(svg)}">SVG</a>)</figcaption></figure>')
    else:
        parts.append("<p>No figure was measured: nothing to plot.</p>")
    parts.append('<h2 id="table">The figures</h2>')
    parts.append(_table(doc))
    parts.append(_list("Failures", G.failure_lines(doc), "failures"))
    parts.append(_list("Level per scheduler", G.level_reasons(doc), "levels"))
    parts.append(_list("Notes", G.notes(doc), "notes"))
    parts.append('<h2 id="sides">What was compared</h2>')
    parts.append(f'<div class="sides">{_side(a)}{_side(b)}</div>')
    parts.append('<h2 id="settings">Settings and workload</h2>')
    parts.append(_dl([("command", doc.command), ("created", doc.created_utc),
                      ("complete", "yes" if doc.complete else "no (interrupted)" if doc.interrupted else "no"),
                      ("A/A run", "yes" if doc.same_sides else "no")]))
    parts.append(_mapping("Gate settings", "gate-settings", doc.settings))
    parts.append(_mapping("Workload", "workload", doc.workload))
    parts.append(_mapping("Machine", "environment", doc.environment))
    parts.append(f'<h2 id="read">How to read this</h2><div class="read">{HOW_TO_READ}</div>')
    parts.append("<footer>Built by <code>python -m reports</code> from the gate file alone.</footer>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{html_page.STYLE}{EXTRA_STYLE}</style></head>\n<body>\n" + "\n".join(p for p in parts if p)
            + "\n</body></html>\n")


def build_gate(doc: GateDocument, source: Path, out: Path) -> GateReport:
    """Write the gate report into ``out`` (created if needed). OSError propagates."""
    out.mkdir(parents=True, exist_ok=True)
    chart = forest.forest(doc, out / forest.FOREST)
    if chart is None:
        for name in (forest.FOREST, forest.FOREST_SVG):
            (out / name).unlink(missing_ok=True)
    for stale in (*build.CHART_NAMES, *build.RETIRED_CHART_NAMES):
        (out / stale).unlink(missing_ok=True)
    summary = out / build.SUMMARY
    atomic_write(summary, G.gate_table(doc, markdown=True))
    index = out / build.INDEX
    atomic_write(index, render(doc, source, chart))
    return GateReport(out, index, summary, chart)
