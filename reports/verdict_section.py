"""The page's first section: the spread warning, one sentence per question, what did not run.

The sentences are ``bench.present.verdict``'s (the same ``show`` prints), plus the two the
suite file alone cannot give: latency under load from the echo file beside it, and the last
gate's result when ``make bench-gate`` left one beside the results file. Kept apart from
``html_page`` so the page module stays a layout and this one the reading of the results.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from bench.present import noise
from bench.present.gate_table import last_gate_sentence
from bench.present.table_parts import skipped_line
from bench.present.verdict import Verdict, verdicts
from reports.echo_data import echo_answer

if TYPE_CHECKING:
    from reports.html_page import PageInput


def page_verdicts(page: PageInput) -> list[Verdict]:
    """Every sentence of the page's verdict, in order."""
    doc = page.document
    out = verdicts(doc)
    if page.echo is not None:
        family_of = {r.scheduler: r.family for r in doc.runs}
        sentence = echo_answer(page.echo, family_of)
        if sentence is not None:
            out.append(Verdict("echo", sentence))
    gate = last_gate_sentence(page.source)
    if gate is not None:
        out.append(Verdict("gate", gate))
    return out


def verdict_section(page: PageInput) -> str:
    parts = ['<h2 id="verdict">Verdict</h2>']
    warning = noise.warning_text(page.document)
    if warning is not None:
        parts.append(f'<div class="banner noise" role="alert" id="noise-warning">{escape(warning)}</div>')
    sentences = page_verdicts(page)
    if sentences:
        items = "".join(f'<li id="verdict-{v.question}">{escape(v.text)}</li>' for v in sentences)
        parts.append(f'<ul class="verdict">{items}</ul>')
    else:
        parts.append("<p>No runs in this results file.</p>")
    skipped = skipped_line(page.document.runs)
    if skipped is not None:
        parts.append(f'<p class="skipped" id="not-run">{escape(skipped[0].upper() + skipped[1:])}</p>')
    return "\n".join(parts)
