"""``python -m reports RESULTS [--history DIR] [--echo FILE] [-o DIR]``: the command-line boundary.

Bad input — a missing or unreadable results file, a file that is not a results file, an
unsupported format version, a history path that is not a directory, an output directory
that cannot be written — is one line ``python -m reports: error: …`` on stderr and exit
status 2, never a traceback: the message already says what is wrong and with which file.
The output directory is tried (created, a file written into it and removed) before
matplotlib is imported or a chart drawn.
Unreadable files *inside* a history directory are warnings, not errors (see
``reports.history``).

An echo file (``python -m bench echo``) is an option beside RESULTS, like an instruction
file: ``--echo FILE`` adds the "latency under load" answer, the echo table and the echo
chart; RESULTS stays the wall-time suite file. A file given as ``--echo`` that is not an
echo file (or an echo file given as RESULTS) is one line and exit status 2.

A paired gate file (``python -m bench gate``) is recognised by its top-level key and gets
its own page (``reports.gate_page``) instead of the suite report; ``--history`` and
``--instructions`` do not apply to it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.present.arguments import OneLineParser
from bench.results.echo_file import EchoDocument, is_echo_file
from bench.results.gate_file import GateDocument, is_gate_file
from bench.results.model import Document
from bench.results.store import ResultsError, load, read_json
from bench.results.writable import check_directory

PROG = "python -m reports"
DEFAULT_OUTPUT = Path("results/report")
EXIT_OK = 0
EXIT_USAGE = 2


def parser() -> OneLineParser:
    p = OneLineParser(prog=PROG, description="Build PNG charts, an HTML page and a Markdown summary from a "
                                             "schedbench results file.")
    p.add_argument("results", type=Path, metavar="RESULTS",
                   help="results file written by `python -m bench run` (or a gate file from `python -m bench gate`)")
    p.add_argument("--history", type=Path, default=None, metavar="DIR",
                   help="directory of earlier results files: adds trends.png")
    p.add_argument("--instructions", type=Path, default=None, metavar="FILE",
                   help="an instruction-count file (run --measure instructions): charted beside wall time")
    p.add_argument("--syscalls", type=Path, default=None, metavar="FILE",
                   help="a syscall-count file (run --measure syscalls): its io counts beside the io chart")
    p.add_argument("--echo", type=Path, default=None, metavar="FILE",
                   help="an echo file (python -m bench echo): latency under load beside the suite's figures")
    p.add_argument("--output", "-o", type=Path, default=DEFAULT_OUTPUT, metavar="DIR",
                   help=f"report directory to write (default: {DEFAULT_OUTPUT})")
    return p


def error(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USAGE


def _output(out: Path) -> str | None:
    """Why the report cannot go to ``out`` (one line), or None: found before anything is drawn."""
    if out.exists() and not out.is_dir():
        return f"{out}: output exists and is not a directory; choose a directory with -o"
    try:
        check_directory(out, "the report to")
    except ResultsError as exc:
        return str(exc)
    return None


def _write_failed(out: Path, exc: OSError) -> int:
    where = f" ({exc.filename})" if exc.filename and Path(exc.filename) != out else ""
    return error(f"cannot write the report to {out}: {exc.strerror or exc}{where}")


def gate_report(ns: argparse.Namespace, raw: object) -> int:
    """The page of a paired gate file (``reports.gate_page``)."""
    try:
        document = GateDocument.from_json(raw, str(ns.results))
    except ResultsError as exc:
        return error(str(exc))
    for option, given in (("--history", ns.history), ("--instructions", ns.instructions),
                          ("--syscalls", ns.syscalls), ("--echo", ns.echo)):
        if given is not None:
            return error(f"{ns.results}: is a gate file; {option} applies only to a suite results file")
    if (wrong := _output(ns.output)) is not None:
        return error(wrong)
    from reports.gate_page import build_gate

    try:
        report = build_gate(document, ns.results, ns.output)
    except OSError as exc:
        return _write_failed(ns.output, exc)
    print(f"gate report: {report.index} ({'PASSED' if document.passed else 'FAILED'}, summary {report.summary})")
    return EXIT_OK


def load_echo_option(path: Path) -> EchoDocument:
    """The ``--echo`` file, or ResultsError naming what it is instead."""
    raw = read_json(path)
    if not is_echo_file(raw):
        what = "a gate file" if is_gate_file(raw) else "not an echo file"
        raise ResultsError(f"{path}: {what}; --echo takes a file written by `python -m bench echo`")
    return EchoDocument.from_json(raw, str(path))


def main(argv: Sequence[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    try:
        raw = read_json(ns.results)
        if is_gate_file(raw):
            return gate_report(ns, raw)
        if is_echo_file(raw):
            return error(f"{ns.results}: is an echo file; give the wall-time results file as RESULTS and this one "
                         "as --echo")
        document = Document.from_json(raw, str(ns.results))
        instructions = None if ns.instructions is None else load(ns.instructions)
        syscalls = None if ns.syscalls is None else load(ns.syscalls)
        echo = None if ns.echo is None else load_echo_option(ns.echo)
    except ResultsError as exc:
        return error(str(exc))
    if syscalls is not None and syscalls.workload.measure != "syscalls":
        return error(f"{ns.syscalls}: holds {syscalls.workload.measure} figures; --syscalls takes a file written by "
                     "`python -m bench run --measure syscalls`")
    if instructions is not None and instructions.workload.measure != "instructions":
        return error(f"{ns.instructions}: holds {instructions.workload.measure} figures; --instructions takes a file "
                     "written by `python -m bench run --measure instructions`")
    if document.workload.measure != "time":
        option = "--syscalls" if document.workload.measure == "syscalls" else "--instructions"
        return error(f"{ns.results}: holds {document.workload.measure} counts; give the wall-time file as RESULTS and "
                     f"this one as {option}")
    if ns.history is not None and not ns.history.is_dir():
        return error(f"{ns.history}: history is not a directory (give the folder of earlier results files)")
    out: Path = ns.output
    if (wrong := _output(out)) is not None:
        return error(wrong)
    # Imported here, after the cheap checks: matplotlib takes most of a second to import,
    # and a typo in a path should not wait for it.
    from reports.build import build
    from reports.history import load_history

    history = None
    if ns.history is not None:
        history = load_history(ns.history, document, ns.results,
                               warn=lambda line: print(f"{PROG}: warning: {line}", file=sys.stderr))
    try:
        report = build(document, ns.results, out, history, instructions, syscalls, echo, ns.echo)
    except OSError as exc:
        return _write_failed(out, exc)
    print(f"report: {report.index} ({len(report.charts)} charts, summary {report.summary})")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
