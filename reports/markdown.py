"""``summary.md``: the report in a form a CI job summary or a PR comment can show.

GitHub-flavoured Markdown, one table row per scheduler with its key figures (switch cost,
× floor, and p99 lateness and CPU per wake at each time scale), the best VALID value of
each column in bold, and each non-VALID scheduler's status and reason in its row. No
images: a job summary cannot reach files beside it, and a comment should not depend on
an artifact that expires — the full report has the charts.

Text from the results file is escaped: a ``|`` in a reason would split a table cell,
``*``/``_``/backticks would restyle it, and raw ``<``/``>`` would be read as HTML by
GitHub's renderer.
"""

from __future__ import annotations

import re

from bench.present import noise, tables, units
from bench.present.echo_table import echo_tables
from bench.present.io_table import io_table
from bench.present.verdict import verdicts
from bench.results.echo_file import EchoDocument
from bench.results.model import Document
from reports.echo_data import echo_answer

#: Characters that change meaning inside a GFM table cell: emphasis, code, links, the
#: cell separator, strikethrough, and the escape character itself. ``(``, ``#``, ``+``
#: only matter after ``]`` or at the start of a line, neither of which can happen here.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape(text: str) -> str:
    """Make ``text`` literal inside a Markdown table cell (one line)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return " ".join(text.split())


def cell(c: tables.Cell) -> str:
    return f"**{escape(c.text)}**" if c.best else escape(c.text)


def table_lines(table: tables.Table) -> list[str]:
    """A GFM table; a family's heading is a row of its own (GFM has no row groups)."""
    lead = [table.lead, *(["status"] if table.statuses else [])]
    headers = [*lead, *table.headers, "note"]
    lines = [f"**{escape(table.title)}**", "",
             "| " + " | ".join(escape(h) for h in headers) + " |",
             "|" + "|".join([*["---"] * len(lead), *["--:"] * len(table.headers), "---"]) + "|"]
    for i, row in enumerate(table.rows):
        if row.group and (i == 0 or row.group != table.rows[i - 1].group):
            lines.append("| " + " | ".join([f"_{escape(row.group)}_", *[""] * (len(headers) - 1)]) + " |")
        status = row.status_label if row.status.ranked else f"**{row.status_label}**"
        lines.append("| " + " | ".join([escape(row.scheduler), *([status] if table.statuses else []),
                                        *(cell(c) for c in row.cells), escape(row.note)]) + " |")
    if table.footnote:
        lines += ["", escape(table.footnote)]
    return [*lines, ""]


def verdict_lines(doc: Document, echo: EchoDocument | None) -> list[str]:
    """The spread warning, one bullet per question, and what did not run (once)."""
    out = []
    if (warning := noise.warning_text(doc)) is not None:
        out += ["> [!WARNING]", f"> {escape(warning)}", ""]
    sentences = [v.text for v in verdicts(doc)]
    if echo is not None and (line := echo_answer(echo, {r.scheduler: r.family for r in doc.runs})) is not None:
        sentences.append(line)
    if sentences:
        out += ["**Verdict**", "", *(f"- {escape(s)}" for s in sentences), ""]
    if (skipped := tables.skipped_line(doc.runs)) is not None:
        out += [escape(skipped[0].upper() + skipped[1:]), ""]
    return out


def render(doc: Document, charts: list[str] | None = None, instructions: Document | None = None,
           echo: EchoDocument | None = None) -> str:
    """The answer first (ranking, lateness and CPU per time scale, sockets, latency under
    load from ``echo``), then key figures per scheduler."""
    env, w = doc.environment, doc.workload
    summary = tables.scheduler_table(doc)
    lines = [f"## schedbench: {len(summary.rows)} scheduler(s), {escape(doc.created_utc)}", ""]
    if not doc.complete:
        lines += ["> [!WARNING]",
                  "> **INCOMPLETE (interrupted)**: the run was stopped before every job finished; "
                  "only finished jobs are shown.", ""]
    slack = env.timer_slack_ns
    facts = [
        f"{w.rockets:,} rockets", f"seed {w.seed}", f"{w.clock} clock", f"measure {w.measure}",
        f"Python {env.python} on {env.cpu_model} ({env.cpu_count or '?'} CPUs)",
        f"workers: {' '.join(env.python_flags) or 'no interpreter flags'}",
        f"timer slack {'?' if slack is None else f'{slack / 1000:g} µs'}",
        f"GC {'on' if env.gc_enabled else 'off'}",
        f"commit {', '.join(doc.commit_labels)}", f"preset {doc.preset}",
    ]
    if doc.floor is not None:
        facts.append(f"bare send {units.ns(doc.floor.mean_ns)} ns")
    lines += [" · ".join(escape(f) for f in facts), ""]
    if not summary.rows:
        lines += ["_No runs in this results file._", ""]
        return "\n".join(lines)
    lines += verdict_lines(doc, echo)
    exact = tables.ranking_table(instructions) if instructions is not None else None
    for table in (tables.ranking_table(doc), exact, *tables.timer_answer_tables(doc)):
        if table is not None and table.rows:
            lines += table_lines(table)
    sockets = io_table(doc)
    if sockets is not None and sockets.rows:
        lines += table_lines(sockets)
    if echo is not None:
        lines += [line for table in echo_tables(echo)[:1] for line in table_lines(table)]
    lines += table_lines(summary)
    lines += ["**Bold** figure: best VALID value of the column among the production loops. Overhead is switch "
              "cost minus the body floor of the scheduler's dialect (≈ 0 when within the noise); p99 is timer "
              "lateness after the deadline; CPU/wake is process CPU per useful wake. INVALID, SUSPECT and FAILED "
              "runs are never ranked; EARLY runs (valid trace, some wakes before their deadline) are not ranked "
              "for lateness and are ranked for CPU."]
    if charts:
        lines += ["", "Charts in the full report: " + ", ".join(f"`{c}`" for c in charts) + "."]
    return "\n".join(lines) + "\n"
