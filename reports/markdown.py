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
from typing import Any

from bench.results.store import section
from reports import tables

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


def render(doc: dict[str, Any], charts: list[str] | None = None) -> str:
    sb = section(doc)
    env, w = sb["environment"], sb["workload"]
    table = tables.scheduler_table(doc)
    commit = str(env.get("commit") or "unknown")[:7] + ("+dirty" if env.get("dirty") else "")
    lines = [f"## schedbench: {len(table.rows)} scheduler(s), {escape(str(sb.get('created_utc') or '?'))}",
             ""]
    if not sb.get("complete", True):
        lines += ["> [!WARNING]",
                  "> **INCOMPLETE (interrupted)**: the run was stopped before every job finished; "
                  "only finished jobs are shown.", ""]
    floor = tables.num((sb.get("floor") or {}).get("mean_s"))
    slack = tables.num(env.get("timer_slack_ns"))
    rockets = w.get("rockets")
    facts = [
        f"{rockets:,} rockets" if isinstance(rockets, int) else f"{rockets} rockets",
        f"seed {w.get('seed')}", f"{w.get('clock') or 'real'} clock",
        f"Python {env.get('python') or '?'} on {env.get('cpu_model') or '?'} ({env.get('cpu_count') or '?'} CPUs)",
        f"timer slack {'?' if slack is None else f'{slack / 1000:g} µs'}",
        f"GC {'on' if env.get('gc_enabled') else 'off'}",
        f"commit {commit}", f"preset {sb.get('preset') or '?'}",
    ]
    if floor:
        facts.append(f"floor {floor * 1e9:.1f} ns per send")
    lines += [" · ".join(escape(f) for f in facts), ""]
    if not table.rows:
        lines += ["_No runs in this results file._", ""]
        return "\n".join(lines)
    headers = ["scheduler", "status", *table.headers, "note"]
    lines.append("| " + " | ".join(escape(h) for h in headers) + " |")
    lines.append("|" + "|".join(["---", "---", *["--:"] * len(table.headers), "---"]) + "|")
    for row in table.rows:
        status = row.status.upper()
        status = status if row.status == "valid" else f"**{status}**"
        lines.append("| " + " | ".join([escape(row.scheduler), status, *(cell(c) for c in row.cells),
                                        escape(row.note)]) + " |")
    lines += ["", "**Bold** figure: best VALID value of the column. Switch cost is wall time per resume (switch "
              "mode); p99 is timer lateness after the deadline; CPU/wake is process CPU per useful wake. "
              "INVALID, FAILED and SKIPPED runs are never ranked; EARLY runs (valid trace, some wakes before "
              "their deadline) are shown but not ranked."]
    if charts:
        lines += ["", "Charts in the full report: " + ", ".join(f"`{c}`" for c in charts) + "."]
    return "\n".join(lines) + "\n"
