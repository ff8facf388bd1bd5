"""The paired gate's table: what ``show`` prints for a gate file and what CI puts in its job summary.

One row per scheduler × figure, in the file's scheduler order and the registry's figure
order (``FIGURES``), so a scheduler's figures sit together and a reader can scan one
scheduler at a time. The change column is B's relative change over A with its 95 %
interval, written through ``bench.present.units`` like every other number; the interval's
bounds drop their ``%`` (``+5.1% [+3.9, +6.4]``) to keep the column narrow.

Trade-offs:

* The level's reason (why a scheduler was measured in-process rather than in its own
  process, or the reverse) is a sentence, not a cell: it is listed once per scheduler
  under the table instead of in a column that would repeat it on every figure row and
  push the table past a terminal's width.
* Reported-only figures (lateness p99) keep their estimate and interval but their verdict
  cell says ``reported``: the gate never fails on them, and a red-looking word there would
  say otherwise.
* The same cells feed the HTML page (``reports.gate_page``) through ``table_rows``: the
  page and the terminal cannot disagree about a value, at the price of the page showing
  plain text cells rather than richer markup.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from pathlib import Path

from bench.present import units
from bench.present.text import render
from bench.results.gate_file import FIGURES, GateDocument, PairedFigure, Side, gate_beside

HEADERS = ("scheduler", "figure", "level", "pairs", "A median", "B median", "B vs A [95% interval]", "±m", "verdict")
NUMERIC = (False, False, False, True, True, True, True, True, False)
#: Short names for the figures, for table cells and chart labels; the unit is added to them.
SHORT_NAMES = {"switch_ns": "switch", "cpu_per_wake_us": "CPU/wake", "lateness_p50_us": "lateness p50",
               "lateness_p99_us": "lateness p99"}
REPORTED = "reported"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def ordered(doc: GateDocument) -> list[PairedFigure]:
    """The rows' order: scheduler as first seen in the file, then the registry's figure order."""
    schedulers, figures = doc.schedulers, list(FIGURES)
    return sorted(doc.figures, key=lambda f: (schedulers.index(f.scheduler), figures.index(f.figure)))


def figure_label(fig: PairedFigure) -> str:
    """``switch (ns)``: the figure's short name and unit."""
    return f"{SHORT_NAMES.get(fig.figure, fig.figure)} ({fig.unit})"


def _bound(fraction: float | None) -> str:
    return units.change(fraction).removesuffix("%")


def change_text(fig: PairedFigure) -> str:
    """``+5.1% [+3.9, +6.4]``; a dash and the reason when there is no estimate."""
    if fig.estimate is None:
        return f"{units.DASH} (too few pairs)"
    if fig.low is None or fig.high is None:
        return units.change(fig.estimate)
    return f"{units.change(fig.estimate)} [{_bound(fig.low)}, {_bound(fig.high)}]"


def min_effect_text(fig: PairedFigure) -> str:
    return f"±{units.percent(fig.min_effect, 1)}"


def verdict_cell(fig: PairedFigure) -> str:
    return fig.verdict if fig.gated else REPORTED


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def table_rows(doc: GateDocument) -> list[tuple[PairedFigure, list[str]]]:
    """Each figure with its cells, in ``HEADERS`` order."""
    out = []
    for fig in ordered(doc):
        a = _median([p[0] for p in fig.pairs])
        b = _median([p[1] for p in fig.pairs])
        out.append((fig, [fig.scheduler, figure_label(fig), fig.level, units.count(len(fig.pairs)),
                          units.value_in(a, fig.unit), units.value_in(b, fig.unit), change_text(fig),
                          min_effect_text(fig), verdict_cell(fig)]))
    return out


def side_text(side: Side) -> str:
    """``A = main (3f2a9c1d, clean, Python 3.12.1)``."""
    parts = []
    if side.commit:
        parts.append(side.commit[:8])
    if side.dirty is not None:
        parts.append("dirty" if side.dirty else "clean")
    parts.append(f"Python {side.python_version}" if side.python_version else side.python)
    return f"{side.label} = {side.spec} ({', '.join(parts)})"


def regressed_text(fig: PairedFigure) -> str:
    return f"{fig.scheduler} {SHORT_NAMES.get(fig.figure, fig.figure)} {change_text(fig)}"


def verdict_sentence(doc: GateDocument) -> str:
    """One sentence: passed or failed, how many comparisons were gated, what regressed."""
    gated = [f for f in doc.figures if f.gated]
    regressed = [f for f in ordered(doc) if f.regressed]
    counted = f"{len(gated)} gated scheduler × figure comparison{'s' if len(gated) != 1 else ''}"
    lead = "A/A run (both sides the same tree and interpreter): " if doc.same_sides else ""
    if doc.passed:
        inconclusive = sum(1 for f in gated if f.verdict == "inconclusive")
        tail = f" ({inconclusive} inconclusive)" if inconclusive else ""
        return f"{lead}PASSED: none of the {counted} regressed{tail}."
    why = []
    if regressed:
        why.append(f"{len(regressed)} of the {counted} regressed ({'; '.join(map(regressed_text, regressed))})")
    if doc.failures:
        failed = ", ".join(f"{x.side} {x.scheduler}" for x in doc.failures)
        why.append(f"{len(doc.failures)} side{'s' if len(doc.failures) != 1 else ''} could not be measured "
                   f"({failed})")
    return f"{lead}FAILED: {' and '.join(why)}."


def last_gate_sentence(results: Path) -> str | None:
    """The verdict's gate sentence for a suite file at ``results``: the result of the gate
    file ``make bench-gate`` left beside it, or None when there is none (or it is unreadable)."""
    found = gate_beside(results)
    if found is None:
        return None
    path, doc = found
    return f"Last gate ({path.name}, {doc.created_utc}): {verdict_sentence(doc)}"


def incomplete_line(doc: GateDocument) -> str | None:
    if not (doc.interrupted or not doc.complete):
        return None
    what = "interrupted" if doc.interrupted else "incomplete"
    return (f"INCOMPLETE ({what}): the gate stopped before every pair was measured; "
            "only the figures measured so far are shown.")


def aa_line(doc: GateDocument) -> str | None:
    if not doc.same_sides:
        return None
    return ("A/A run: both sides resolved to the same tree and interpreter, so every difference is noise; "
            "a regression here is a false alarm of the gate.")


def status_lines(doc: GateDocument) -> list[str]:
    """Warnings that come before everything else: an incomplete file, an A/A run."""
    return [line for line in (incomplete_line(doc), aa_line(doc)) if line is not None]


def level_reasons(doc: GateDocument) -> list[str]:
    """``asyncio: process — <reason>``, once per scheduler and level."""
    seen: dict[tuple[str, str], str] = {}
    for fig in ordered(doc):
        seen.setdefault((fig.scheduler, fig.level), fig.level_reason)
    return [f"{name}: {level}" + (f" — {why}" if why else "") for (name, level), why in seen.items()]


def notes(doc: GateDocument) -> list[str]:
    return [f"{f.scheduler} {figure_label(f)}: {f.note}" for f in ordered(doc) if f.note]


def failure_lines(doc: GateDocument) -> list[str]:
    return [f"{x.side} {x.scheduler}: {x.reason}" for x in doc.failures]


def _md(text: str) -> str:
    """Literal inside Markdown (one line): the same escaping as ``reports.markdown``."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(_MARKDOWN_SPECIAL.sub(r"\\\1", text).split())


def _section(title: str, lines: list[str], markdown: bool) -> list[str]:
    if not lines:
        return []
    if markdown:
        return ["", f"**{title}**", "", *(f"- {_md(line)}" for line in lines)]
    return ["", f"{title}:", *(f"  {line}" for line in lines)]


def gate_table(doc: GateDocument, markdown: bool = False) -> str:
    """The whole paired table as plain text (aligned columns) or Markdown (a GitHub table)."""
    a, b = doc.sides
    rows = [cells for _, cells in table_rows(doc)]
    if markdown:
        out = [f"**{_md(line)}**\n" for line in status_lines(doc)]
        out += ["### schedbench gate: " + _md(f"{side_text(a)} vs {side_text(b)}"), "",
                f"**{_md(verdict_sentence(doc))}**", ""]
        if rows:
            out.append("| " + " | ".join(_md(h) for h in HEADERS) + " |")
            out.append("|" + "|".join("---:" if n else "---" for n in NUMERIC) + "|")
            out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
        else:
            out.append("No figure was measured.")
    else:
        out = [*status_lines(doc), f"schedbench gate: {side_text(a)} vs {side_text(b)}", verdict_sentence(doc), ""]
        out.append(render(HEADERS, rows, NUMERIC) if rows else "No figure was measured.")
    out += _section("Failures", failure_lines(doc), markdown)
    out += _section("Level per scheduler", level_reasons(doc), markdown)
    out += _section("Notes", notes(doc), markdown)
    legend = ("B vs A: B's relative change over A, estimated from the pairs (Hodges-Lehmann on log ratios), with "
              "its 95% interval (95% over all the gate's looks: each look's interval is at 1 - 0.05/looks, so it is "
              "wider than a single 95% interval); ±m: the smallest change the gate acts on; 'reported': shown, "
              "not gated.")
    out += ["", f"_{_md(legend)}_" if markdown else legend]
    return "\n".join(out) + "\n"
