"""Plain-text rendering for the terminal: ``show``, the end-of-run summary, ``list``, ``compare``.

Tables fit ``WIDTH`` columns: when a table's cells do not, its columns are split into
several blocks that each repeat the scheduler and status columns; notes go under the
table, one line per row that has one, so a long reason never widens every row.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

from bench.present import noise
from bench.present import tables as T
from bench.present.verdict import verdicts
from bench.results.model import Document

WIDTH = 120
BEST = "*"
SEP = "  "


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None,
           headings: Mapping[int, str] | None = None) -> str:
    """A column-aligned table with a rule under the header; ``right`` aligns numbers;
    ``headings`` puts a line (a family's name) before the row of that index, not in a
    column, so a long heading never widens the table."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    align = right or [False] * len(headers)

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, align, strict=True)]
        return SEP.join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    for i, row in enumerate(rows):
        if headings and i in headings:
            out.append(f"[{headings[i]}]")
        out.append(line(row))
    return "\n".join(out)


def group_headings(table: T.Table) -> dict[int, str]:
    """Row index → the family heading to print before it (where the group changes)."""
    out: dict[int, str] = {}
    for i, row in enumerate(table.rows):
        if row.group and (i == 0 or row.group != table.rows[i - 1].group):
            out[i] = row.group
    return out


def _cell(cell: T.Cell) -> str:
    return f"{cell.text}{BEST}" if cell.best else (f"{cell.text} " if cell.number else cell.text)


def render_table(table: T.Table, width: int = WIDTH) -> str:
    """One ``Table`` as text no wider than ``width`` (columns split into blocks if needed)."""
    lead_headers = [table.lead, "status"] if table.statuses else [table.lead]
    lead = [[row.scheduler, row.status_label][:len(lead_headers)] for row in table.rows]
    cells = [[_cell(c) for c in row.cells] for row in table.rows]
    numeric = [any(row.cells[i].number for row in table.rows) for i in range(len(table.headers))]
    lead_width = sum(max([len(h), *(len(r[i]) for r in lead)]) for i, h in enumerate(lead_headers)) + 2 * len(SEP)
    col_widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(table.headers)]
    blocks: list[list[int]] = [[]]
    used = lead_width
    for i, w in enumerate(col_widths):
        if blocks[-1] and used + w + len(SEP) > width:
            blocks.append([])
            used = lead_width
        blocks[-1].append(i)
        used += w + len(SEP)
    parts = [table.title]
    for block in blocks:
        headers = lead_headers + [table.headers[i] for i in block]
        rows = [lead[r] + [cells[r][i] for i in block] for r in range(len(table.rows))]
        parts.append(render(headers, rows, [*(False for _ in lead_headers), *(numeric[i] for i in block)],
                            group_headings(table)))
    notes = [textwrap.fill(f"{row.scheduler}: {row.note}", width, initial_indent="  ", subsequent_indent="    ",
                           break_long_words=False) for row in table.rows if row.note]
    if notes:
        parts.append("notes:\n" + "\n".join(notes))
    if table.footnote:
        parts.append(textwrap.fill(table.footnote, width, break_long_words=False, break_on_hyphens=False))
    return "\n".join(parts)


def header(doc: Document) -> str:
    fields = dict(T.header_fields(doc))
    lines = [f"schedbench results — {doc.created_utc}, preset {doc.preset}, commit {fields['commit']}"]
    for key in ("workload", "machine", "Python", "workers ran", "timer slack", "GC", "clock", "loop versions",
                "plugins"):
        lines.append(f"  {key}: {fields[key]}")
    if not doc.complete:
        lines.append("  INCOMPLETE: the run was interrupted; only finished jobs are shown")
    return "\n".join(lines)


def verdict_block(doc: Document, extra: Sequence[str] = ()) -> str:
    """The top of ``show``: the spread warning when it fired, the verdict (one sentence per
    question, then ``extra``: a gate's), and the runs that did not run, once."""
    lines = []
    if (warning := noise.warning_text(doc)) is not None:
        lines.append(textwrap.fill("WARNING: " + warning, WIDTH, break_long_words=False, break_on_hyphens=False))
    sentences = [v.text for v in verdicts(doc)] + list(extra)
    if sentences:
        lines.append("Verdict:")
        lines += [textwrap.fill(s, WIDTH, initial_indent="  - ", subsequent_indent="    ", break_long_words=False,
                                break_on_hyphens=False) for s in sentences]
    if (skipped := T.skipped_line(doc.runs)) is not None:
        lines.append(textwrap.fill(skipped[0].upper() + skipped[1:], WIDTH, break_long_words=False))
    return "\n".join(lines)


def render_document(doc: Document, extra: Sequence[str] = ()) -> str:
    """What ``show`` and the end of ``run`` print: context, the verdict, the answer, then the
    details. ``extra``: more verdict sentences (the last gate's, when ``show`` found one)."""
    parts = [header(doc)]
    if block := verdict_block(doc, extra):
        parts.append(block)
    parts += [render_table(t) for t in T.all_tables(doc)]
    prose = [f"{BEST} best VALID value of the column. EARLY = valid trace but wakes before their deadline; "
             "SUSPECT = implausible figures; neither is ranked."]
    broken = doc.broken_runs
    if broken:
        prose.append(f"{len(broken)} run(s) failed or were INVALID/SUSPECT: " + ", ".join(r.label for r in broken))
    kept = doc.kept_runs
    if kept:
        # The newest attempt is the state (compare gates on it); the kept figures are evidence only.
        prose.append(f"{len(kept)} run(s) keep their last VALID measurement beside the newer attempt: "
                     + "; ".join(f"{r.label} ({r.last_valid.measured_label})" for r in kept if r.last_valid))
    parts += [textwrap.fill(line, WIDTH, break_long_words=False, break_on_hyphens=False) for line in prose]
    return "\n\n".join(parts)


def render_profiles(doc: Document, limit: int = 15) -> str:
    """Where each counted run's instructions go: its top functions (exclusive counts)."""
    parts = []
    for run in doc.runs:
        figures = run.instructions
        if figures is None or not figures.top_functions:
            continue
        total = figures.total
        rows = [[f"{count:,}", f"{count / total * 100:.1f}%" if total else "–", name]
                for name, count in figures.top_functions[:limit]]
        where = f" (profile: {figures.profile})" if figures.profile else ""
        parts.append(f"{run.label}: {total:,} instructions in run(){where}\n"
                     + render(("instructions", "share", "function"), rows, [True, True, False]))
    return "\n\n".join(parts) or "no instruction profiles in this file (measure with --measure instructions)"
