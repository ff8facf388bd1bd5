"""The HTML page: one self-contained file that works opened straight from disk.

No scripts, no web fonts, no external CSS: the style sheet is inline and the charts are
referenced by relative path (they sit next to ``index.html``), so the report directory
can be opened with ``file://``, zipped, or uploaded as a CI artifact with nothing
fetched from the network. Embedding the PNGs as data URIs would make one file instead of
a directory but triple its size and make the charts impossible to reuse on their own.

Everything taken from the results file — scheduler names, reasons, commands, paths,
machine descriptions — is passed through ``html.escape``; a plugin's name or error
message is third-party text and must not be able to inject markup. Colours in ``style``
attributes come from the palette, never from the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from bench.present import tables
from bench.present.echo_table import echo_tables
from bench.present.io_table import io_table
from bench.results.echo_file import EchoDocument
from bench.results.model import Document, Status
from reports.charts.style import ChartFile
from reports.charts.trends import TRENDS
from reports.history import History
from reports.palette import Palette
from reports.verdict_section import verdict_section

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
       margin: 0 auto; padding: 1em 2em 3em; max-width: 1400px; }
h1 { margin-bottom: 0.1em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.sub { color: #555; margin-top: 0; overflow-wrap: anywhere; }
.banner { background: #fff3cd; border: 2px solid #b58900; padding: 0.7em 1em; font-weight: bold; margin: 1em 0; }
.banner.noise { font-weight: normal; }
ul.verdict { padding-left: 1.2em; max-width: 62em; } ul.verdict li { margin: 0.45em 0; }
p.skipped { color: #444; max-width: 62em; }
dl.meta { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.15em 1.2em; margin: 1em 0; }
dl.meta dt { font-weight: 600; color: #444; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
nav a { margin-right: 1em; display: inline-block; }
.scroll { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.8em 0 0.4em; font-variant-numeric: tabular-nums; font-size: 0.93em; }
p.foot { color: #555; font-size: 0.85em; margin: 0 0 1.6em; max-width: 62em; }
p.answer { margin: 1.2em 0 0.2em; max-width: 60em; }
caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.55em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; font-weight: 600; }
thead th { vertical-align: bottom; }
td.num, td.name { white-space: nowrap; } td.num { text-align: right; }
td.note { min-width: 12em; max-width: 26em; color: #333; font-size: 0.9em; }
tr.group th { background: #e6edf5; color: #1d3557; font-size: 0.9em; border-top: 2px solid #9fb3c8; }
tr.not-ranked td.num { color: #888; }
strong.best { color: #000; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border: 1px solid #333; margin-right: 0.4em;
          vertical-align: -0.1em; }
.status { font-weight: 600; font-size: 0.85em; padding: 0.05em 0.4em; border-radius: 3px; border: 1px solid;
          white-space: nowrap; }
.status-valid { color: #1b5e20; border-color: #1b5e20; }
.status-early { color: #7a5a00; border-color: #b58900; background: #fff8e1; }
.status-invalid, .status-failed, .status-suspect { color: #fff; background: #b00020; border-color: #b00020; }
.status-other { color: #333; background: #eee; border-color: #999; }
ul.problems li { margin: 0.3em 0; }
figure { margin: 1.5em 0; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; box-sizing: border-box; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9em; overflow-wrap: anywhere; }
code { background: #f5f5f5; padding: 0 0.2em; overflow-wrap: anywhere; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
@media (max-width: 900px) {
  body { padding: 0.8em 0.9em 2em; }
  table { font-size: 0.84em; } th, td { padding: 0.25em 0.35em; }
  td.note { min-width: 9em; }
  .swatch { margin-right: 0.25em; }
}
"""


@dataclass(frozen=True)
class PageInput:
    document: Document
    source: Path
    charts: Sequence[ChartFile]
    missing_charts: Sequence[tuple[str, str]]  # (chart title, why it is not there)
    palette: Palette
    history: History | None = None
    instructions: Document | None = None  # an instruction-count file shown beside ``document``
    echo: EchoDocument | None = None  # an echo file (``--echo``): latency under load
    echo_source: Path | None = None

    @property
    def echo_colours(self) -> dict[str, str]:
        """Echo server name → its scheduler's name in the palette (variants share a colour)."""
        return {} if self.echo is None else {s.name: s.scheduler for s in self.echo.servers}


#: Statuses shown as good: a valid run, an ``ok`` scaling point.
GOOD_STATUSES = ("valid", "ok")


def status_badge(status: str, text: str = "") -> str:
    """A status as a coloured badge; ``text`` replaces the status's name (same colour)."""
    kind = "valid" if status in GOOD_STATUSES else status if status in ("early", "invalid", "failed", "suspect") \
        else "other"
    return f'<span class="status status-{kind}">{escape(text or status.upper())}</span>'


def scheduler_cell(name: str, palette: Palette, colour_of: str | None = None) -> str:
    """The name with its scheduler's swatch (``colour_of``: the palette name, when the row
    is a server of that scheduler rather than the scheduler itself)."""
    try:
        colour = palette.colour(colour_of or name)
    except KeyError:  # a floor's row, not a scheduler: no colour of its own
        return escape(name)
    return f'<span class="swatch" style="background:{colour}"></span>{escape(name)}'


def _row_class(status: Status) -> str:
    """Greyed only when the figures are not to be read (a broken run); an EARLY loop's
    figures are real and are explained in its note, not greyed."""
    return "" if status.charted else ' class="not-ranked"'


def _cells(row: tables.Row) -> str:
    out = []
    for cell in row.cells:
        text = escape(cell.text)
        if cell.best:
            text = f'<strong class="best" title="best VALID production loop">{text}</strong>'
        out.append(f'<td class="num">{text}</td>' if cell.number else f"<td>{text}</td>")
    return "".join(out)


def render_table(table: tables.Table, palette: Palette, table_id: str = "",
                 colour_names: Mapping[str, str] | None = None) -> str:
    """A table with its family groups as heading rows; the note column only when a row has
    a note, the status column only for runs (a floor has none): every column that carries
    nothing is width taken from the ones that do."""
    notes = any(row.note for row in table.rows)
    lead = [table.lead, *(["status"] if table.statuses else [])]
    columns = [*lead, *table.headers, *(["note"] if notes else [])]
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in columns)
    body = []
    for i, row in enumerate(table.rows):
        if row.group and (i == 0 or row.group != table.rows[i - 1].group):
            body.append(f'<tr class="group"><th colspan="{len(columns)}" scope="rowgroup">{escape(row.group)}</th>'
                        "</tr>")
        colour_of = (colour_names or {}).get(row.scheduler)
        status = f"<td>{status_badge(row.status.value, row.status_label)}</td>" if table.statuses else ""
        note = f'<td class="note">{escape(row.note)}</td>' if notes else ""
        body.append(f'<tr{_row_class(row.status)}><td class="name">{scheduler_cell(row.scheduler, palette, colour_of)}'
                    f"</td>{status}{_cells(row)}{note}</tr>")
    ident = f' id="{escape(table_id)}"' if table_id else ""
    foot = f'<p class="foot">{escape(table.footnote)}</p>' if table.footnote else ""
    return (f'<div class="scroll"><table{ident}><caption>{escape(table.title)}</caption><thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table></div>{foot}")


def with_code(text: str) -> str:
    """Escape ``text`` and show its `backticked` spans as code (a command in a reason)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _header(page: PageInput) -> str:
    """Title, source and one line of context: the answer comes right after it."""
    doc = page.document
    w, env = doc.workload, doc.environment
    context = (f"{w.rockets:,} rockets, seed {w.seed} · {env.cpu_model}, {env.cpu_count or '?'} CPUs · "
               f"Python {env.python} · commit {', '.join(doc.commit_labels)} · {doc.created_utc}")
    parts = ["<h1>schedbench report</h1>",
             f'<p class="sub">results file <code>{escape(str(page.source))}</code> · {escape(context)}</p>']
    if page.echo is not None:
        where = f"<code>{escape(str(page.echo_source))}</code> · " if page.echo_source is not None else ""
        parts.append(f'<p class="sub">echo file {where}{escape(page.echo.created_utc)}</p>')
        if not page.echo.complete:
            parts.append('<div class="banner" role="alert">Echo file INCOMPLETE (interrupted): only the servers '
                         "swept before it stopped are shown.</div>")
    if not doc.complete:
        parts.append('<div class="banner" role="alert">INCOMPLETE (interrupted): the run was stopped before every '
                     "job finished; only the finished jobs are shown.</div>")
    return "\n".join(parts)


def _context(page: PageInput) -> str:
    """Where and how the results were measured, in full."""
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in tables.header_fields(page.document))
    out = f'<h2 id="context">How it was measured</h2>\n<dl class="meta">{rows}</dl>'
    if page.echo is not None:
        echo = page.echo
        fields = [("echo file", str(page.echo_source or "")), ("command", echo.command),
                  ("created", echo.created_utc), ("complete", "yes" if echo.complete else "no (interrupted)"),
                  *((f"setting {k}", str(v)) for k, v in sorted(echo.settings.items()))]
        rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in fields if v)
        out += f'\n<h3 id="context-echo">Echo servers</h3>\n<dl class="meta">{rows}</dl>'
    return out



def _problems(page: PageInput) -> str:
    # SKIPPED runs are listed once, in the verdict's "not run" line.
    runs = [r for r in page.document.problem_runs if r.status is not Status.SKIPPED]
    if not runs:
        return '<h2 id="problems">Failures and INVALID runs</h2><p>None: every run is VALID.</p>'
    items = []
    for run in runs:
        why = run.note or "no reason recorded"
        items.append(f"<li>{status_badge(run.status.value)} <strong>{escape(run.label)}</strong>: "
                     f"{escape(why)}</li>")
    return ('<h2 id="problems">Failures, INVALID and EARLY runs</h2>'
            "<p>INVALID, SUSPECT and FAILED runs are never charted or ranked; EARLY runs (valid trace, some wakes "
            "before their deadline) are charted hatched or dashed, not ranked for lateness, ranked for CPU.</p>"
            f'<ul class="problems">{"".join(items)}</ul>')


def _answer(page: PageInput) -> str:
    """The page opens with the answer: the ranking, then lateness and CPU per time scale."""
    doc = page.document
    parts = ['<h2 id="answer">The answer in figures</h2>']
    ranking = tables.ranking_table(doc)
    if ranking is not None:
        parts.append(render_table(ranking, page.palette, "ranking"))
    if page.instructions is not None:
        exact = tables.ranking_table(page.instructions)
        if exact is not None:
            parts.append(render_table(exact, page.palette, "ranking-instructions"))
    for i, table in enumerate(tables.timer_answer_tables(doc)):
        parts.append(render_table(table, page.palette, f"answer-timed-{i}"))
    sockets = io_table(doc)
    if sockets is not None and sockets.rows:
        parts.append(render_table(sockets, page.palette, "answer-io-table"))
    if page.echo is not None:
        for table in echo_tables(page.echo)[:1]:
            parts.append(render_table(table, page.palette, "answer-echo-table", page.echo_colours))
    if len(parts) == 1:
        parts.append("<p>No runs in this results file.</p>")
    return "\n".join(parts)


def _figures(page: PageInput) -> str:
    doc = page.document
    parts = ['<h2 id="figures">Details</h2>',
             "<p><strong>Bold</strong>: best VALID value of the column among the production loops. Greyed figures: "
             "a broken run's, never ranked. EARLY: a valid trace with wakes before their deadline, its reason in "
             "its note.</p>"]
    counted = page.instructions
    extra = [tables.instruction_table(counted), tables.floors_table(counted)] if counted is not None else []
    for i, table in enumerate(t for t in (tables.floors_table(doc), tables.timer_floors_table(doc),
                                          tables.switch_table(doc),
                                          *tables.timed_tables(doc), tables.instruction_table(doc), *extra) if t):
        parts.append(render_table(table, page.palette, f"details-{i}"))
    if page.echo is not None:
        # The first is the answer's; the other cells' summaries, then every server's load points.
        for i, table in enumerate(echo_tables(page.echo)[1:]):
            parts.append(render_table(table, page.palette, f"details-echo-{i}", page.echo_colours))
    return "\n".join(parts)


def _charts(page: PageInput) -> str:
    parts = ['<h2 id="charts">Charts</h2>']
    for chart in page.charts:
        parts.append(f'<figure><img src="{escape(chart.name)}" alt="{escape(chart.alt)}" width="{chart.width_px}" '
                     f'height="{chart.height_px}"><figcaption>{escape(chart.title)} '
                     f'(<a href="{escape(chart.name)}">{escape(chart.name)}</a>)</figcaption></figure>')
    if page.missing_charts:
        items = "".join(f"<li>{escape(title)}: {with_code(why)}</li>" for title, why in page.missing_charts)
        parts.append(f"<p>Not drawn:</p><ul>{items}</ul>")
    return "\n".join(parts)


def _scaling(page: PageInput) -> str:
    table = tables.scaling_table(page.document)
    if table is None:
        return ""
    return '<h2 id="scaling">Scaling</h2>\n' + render_table(table, page.palette, "scaling-table")


def _history(page: PageInput) -> str:
    if page.history is None:
        return ""
    used = "".join(f"<li><code>{escape(str(path))}</code> — {escape(doc.created_utc)}"
                   f"{' (this report’s results file)' if doc is page.document else ''}</li>"
                   for path, doc in page.history.files)
    skipped = "".join(f"<li>{escape(why)}</li>" for _, why in page.history.skipped)
    drawn = any(c.name == TRENDS for c in page.charts)
    count = len(page.history.files)
    files = f"{count} results file{'' if count == 1 else 's'}"
    # Without a drawn chart, "in the trend chart" would point at nothing: say what a trend needs.
    lead = f"{files} in the trend chart:" if drawn else \
        f"{files} in the history, no trend drawn: a trend needs two with a common series (each make bench adds one):"
    out = f'<h2 id="history">History</h2><p>{escape(lead)}</p><ul>{used}</ul>'
    if skipped:
        out += f"<p>Skipped:</p><ul>{skipped}</ul>"
    return out


def render(page: PageInput) -> str:
    title = f"schedbench report — {page.document.created_utc}"
    nav = ['<a href="#verdict">verdict</a>', '<a href="#answer">answer</a>', '<a href="#problems">failures</a>',
           '<a href="#charts">charts</a>',
           '<a href="#figures">details</a>', '<a href="#context">how it was measured</a>']
    if tables.scaling_table(page.document) is not None:
        nav.append('<a href="#scaling">scaling</a>')
    if page.history is not None:
        nav.append('<a href="#history">history</a>')
    body = [
        _header(page), f"<nav>{''.join(nav)}</nav>", verdict_section(page), _answer(page), _problems(page),
        _charts(page), _figures(page), _scaling(page), _history(page), _context(page),
        f"<footer>Built by <code>python -m reports</code> from the results file"
        f"{' and the echo file' if page.echo is not None else ''} alone. "
        "Charts: one colour per scheduler (Okabe–Ito), the same in every chart.</footer>",
    ]
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{escape(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(p for p in body if p) + "\n</body>\n</html>\n")
