"""``python -m bench compare`` and ``python -m bench export``: parsers, commands, formatting.

``bench.cli.commands`` adds the two sub-commands with ``add_compare_parser`` / ``add_export_parser``
and dispatches to ``cmd_compare`` / ``cmd_export``. Bad input raises ``CLIError``; an
unreadable results file raises ``ResultsError``; the CLI turns both into one line on
stderr and exit 2. ``cmd_compare`` returns the gate's code: 0 (no figure significantly
slower beyond the threshold, no run broken) or 1.

The analysis is ``bench.gate.compare`` and ``bench.gate.export``; this module only formats.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from bench.cli.errors import EXIT_OK, CLIError
from bench.gate import compare, export
from bench.gate.stats import MannWhitney
from bench.present import text as table
from bench.present import units
from bench.results import store, writable
from bench.results.model import Document

#: Largest threshold accepted: beyond 10× a "regression" gate gates nothing.
MAX_THRESHOLD_PERCENT = 1000.0


# ---- parsers ----------------------------------------------------------------------
def add_compare_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "compare", help="compare two results files; exit 1 on a significant regression (the CI gate)",
        description="Compare every figure present in both files. Wall-time figures: a Mann–Whitney U test on the "
                    "per-process values against --threshold. Instruction counts (--measure instructions) are exact: "
                    "no test, a change beyond --instr-threshold plus the drift measured for that scheduler counts. "
                    "Syscall counts: exact per name. Exit 0: nothing slower beyond its threshold; 1: something is, "
                    "or a run valid in BASE is not valid in NEW; 2: bad input.")
    p.add_argument("base", metavar="BASE", help="results file to compare against; a comma-separated list "
                   "of files pools repeated runs (best interleaved with NEW's: BASE, NEW, BASE, NEW)")
    p.add_argument("new", metavar="NEW", help="results file under test (or a comma-separated list)")
    p.add_argument("--threshold", default=f"{compare.DEFAULT_THRESHOLD * 100:g}%", metavar="PERCENT",
                   help="smallest change that counts as slower/faster, e.g. 5%% "
                        f"(default {compare.DEFAULT_THRESHOLD * 100:g}%%, tuned on A/A runs)")
    p.add_argument("--lateness-threshold", default=None, metavar="PERCENT",
                   help="also gate on lateness p50/p99 beyond this change (default: lateness is shown, not "
                        "gated; it moves by hundreds of per cent between runs on a busy machine)")
    p.add_argument("--instr-threshold", default=f"{compare.DEFAULT_INSTR_THRESHOLD * 100:g}%", metavar="PERCENT",
                   help="instruction counts: smallest change that counts, on top of each scheduler's measured "
                        f"drift (default {compare.DEFAULT_INSTR_THRESHOLD * 100:g}%%)")
    p.add_argument("--normalize", choices=compare.NORMALIZATIONS, default=None,
                   help="floor: compare switch cost and CPU per wake as multiples of each file's floor, "
                        "for results from different machines")
    p.add_argument("--markdown", action="store_true", help="print a Markdown report (for $GITHUB_STEP_SUMMARY)")
    return p


def add_export_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "export", help="write a results file's valid figures for github-action-benchmark or Bencher")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--format", required=True, choices=export.FORMATS, dest="format",
                   help="github-action-benchmark: customSmallerIsBetter JSON; bencher: Bencher Metric Format")
    p.add_argument("--output", "-o", type=Path, default=None, metavar="OUT", help="file to write (default: stdout)")
    return p


def parse_threshold(text: str, option: str = "--threshold") -> float:
    """``"5%"`` or ``"5"`` → 0.05. Raises ``CLIError`` naming the bad value."""
    raw = str(text).strip()
    number = raw.removesuffix("%").strip()
    try:
        value = float(number)
    except ValueError:
        raise CLIError(f"{option} {text!r} is not a percentage; use a number ≥ 0 such as 5%") from None
    if not math.isfinite(value) or value < 0 or value > MAX_THRESHOLD_PERCENT:
        raise CLIError(f"{option} {text!r} is out of range; use a percentage from 0% to "
                       f"{MAX_THRESHOLD_PERCENT:g}% such as 5%")
    return value / 100.0


# ---- commands ---------------------------------------------------------------------
def cmd_compare(ns: argparse.Namespace) -> int:
    threshold = parse_threshold(ns.threshold)
    lateness_threshold = (None if ns.lateness_threshold is None
                          else parse_threshold(ns.lateness_threshold, "--lateness-threshold"))
    base_paths, new_paths = side_paths(ns.base), side_paths(ns.new)
    instr_threshold = parse_threshold(ns.instr_threshold, "--instr-threshold")
    for path in base_paths:
        if not path.exists():
            # The usual first compare: no baseline yet. Say how one is made.
            raise CLIError(f"{path}: no such file; a baseline is any results file of the same workload: `make "
                           "baseline` writes results/baseline-instructions.json (instruction counts), `python -m "
                           "bench run -o FILE` a wall-time one")
    base_docs = [store.load(p) for p in base_paths]
    new_docs = [store.load(p) for p in new_paths]
    try:
        base = compare.pool(base_docs, [str(p) for p in base_paths])
        new = compare.pool(new_docs, [str(p) for p in new_paths])
        result = compare.compare_documents(base, new, threshold=threshold, lateness_threshold=lateness_threshold,
                                           normalize=ns.normalize, instr_threshold=instr_threshold,
                                           base_name=str(ns.base), new_name=str(ns.new))
    except compare.IncomparableResults as exc:
        raise CLIError(str(exc)) from None
    print(render_markdown(result, base, new) if getattr(ns, "markdown", False) else render(result, base, new))
    return result.exit_code


def side_paths(text: str | Path) -> list[Path]:
    """One side of a comparison: a results file, or a comma-separated list to pool."""
    path = Path(text)
    if path.exists() or "," not in str(text):
        return [path]
    parts = [p.strip() for p in str(text).split(",")]
    if any(not p for p in parts):
        raise CLIError(f"{str(text)!r} is not a comma-separated list of results files")
    return [Path(p) for p in parts]


def cmd_export(ns: argparse.Namespace) -> int:
    if ns.output is not None:
        store.refuse_unsafe_output(ns.output, (ns.file,))
    document = store.load(ns.file)
    if ns.output is not None:  # after the input is known good: a refused FILE creates no directory
        writable.check_file(ns.output, "the export to")
    payload = export.export(document, ns.format)
    if not payload:
        raise CLIError(f"{ns.file}: nothing to export: it holds no valid run")
    text = json.dumps(payload, indent=2, sort_keys=ns.format == "bencher", allow_nan=False) + "\n"
    if ns.output is None:
        print(text, end="")
    else:
        try:
            store.atomic_write(ns.output, text)
        except OSError as exc:  # checked above; this is the disk filling in between
            raise writable.refused(ns.output, "the export to", "the write failed", exc) from None
        print(f"{ns.format}: {export.count(payload)} figures from {ns.file} → {ns.output}")
    return EXIT_OK


# ---- formatting -------------------------------------------------------------------
def fmt_p(test: MannWhitney | None) -> str:
    if test is None:
        return "exact"
    return "<0.001" if test.p_value < 0.001 else f"{test.p_value:.3f}"


def run_name(mode: str, scheduler: str, time_scale: float | None) -> str:
    return f"{scheduler} {mode}" if time_scale is None or mode == "switch" else f"{scheduler} {mode} @ {time_scale:g}"


def figure_name(row: compare.FigureRow) -> str:
    """"heapq switch cost", "heapq timed @ 0.01 lateness p99": one figure, named once."""
    if row.mode == "switch" and row.figure == "switch":
        return f"{row.scheduler} switch cost"
    return f"{run_name(row.mode, row.scheduler, row.time_scale)} {row.label}"


def _describe(document: Document) -> str:
    state = "" if document.complete else ", INCOMPLETE (interrupted)"
    return (f"{document.created_utc}, commit {', '.join(document.commit_labels)}, preset {document.preset}"
            f"{state}")


def _workload(document: Document) -> str:
    w = document.workload
    text = f"{w.rockets:,} rockets, seed {w.seed}, measure {w.measure}, {w.clock} clock, modes {','.join(w.modes)}"
    if w.time_scales:
        text += f", time scales {','.join(f'{s:g}' for s in w.time_scales)}"
    return text


def _method(result: compare.Comparison) -> str:
    if result.measure == "syscalls":
        return ("syscall counts (strace): exact for every gated name, any change counts; allocator and "
                "timing-dependent names (bench/results/syscall_kinds.py) reported, never gated; base/new = calls in "
                "run(), median over counted processes")
    instructions = f"instruction counts: exact, ±{result.instr_threshold * 100:g}% plus measured drift"
    timed = [row for row in result.figures if row.test is not None]
    if result.measure == "instructions" or not timed:  # no wall-time notion belongs in this header
        return instruction_method(result.instr_threshold)
    methods = sorted({row.test.method for row in timed if row.test is not None})
    lateness = ("not gated" if result.lateness_threshold is None
                else f"±{result.lateness_threshold * 100:g}%")
    return (f"test: {result.test_name} ({', '.join(methods)}); significant at p < {result.alpha:g}; threshold "
            f"±{result.threshold * 100:g}% (lateness: {lateness}; {instructions}); base/new = median over "
            f"processes\n{WALL_TIME_WARNING}")


def instruction_method(instr_threshold: float) -> str:
    """The header of a comparison of instruction counts alone: what that gate does.

    Counts repeat exactly for the same code, so there is no test, no p-value and no wall-time
    threshold to state; the header names the one rule that decides instead (the count's
    change against ``--instr-threshold`` widened by the drift measured across repeats), so a
    reader is not left wondering what a Mann–Whitney test or ±50 % would mean here.
    """
    return (f"instruction counts (Valgrind) are exact: no statistical test; a count that changed by more than "
            f"±{instr_threshold * 100:g}% (--instr-threshold) plus the drift measured for that scheduler across "
            "its repeats is slower/faster, anything less is no change; base/new = the counted value")


#: Said wherever two finished files are compared by wall time.
WALL_TIME_WARNING = ("note: two separate runs on a shared machine cannot gate small wall-time changes (its speed "
                     "drifts between runs by more than the changes worth catching); `python -m bench gate BASE HEAD` "
                     "measures base and head in interleaved pairs and can (docs/regressions.md)")


def _figure_cells(row: compare.FigureRow) -> list[str]:
    return [run_name(row.mode, row.scheduler, row.time_scale), row.label, units.with_unit(row.base, row.unit),
            units.with_unit(row.new, row.unit), units.change(row.change),
            fmt_p(row.test) if row.gated or row.test is not None else "reported",
            f"{len(row.base_values)}/{len(row.new_values)}", verdict_text(row)]


def verdict_text(row: compare.FigureRow) -> str:
    if row.verdict != "slower":
        return row.verdict
    return "SLOWER" if row.gated else "slower (not gated)"


def _status_text(row: compare.StatusRow) -> str:
    name = run_name(row.mode, row.scheduler, row.time_scale)
    reasons = f" ({row.reasons})" if row.reasons else ""
    if row.verdict == "broken":
        return (f"{name}: valid in BASE, {str(row.new_status).upper()} in NEW{reasons}: BROKEN — fails the gate "
                f"(a broken scheduler is worse than a slow one)")
    if row.verdict == "valid only in NEW":
        return f"{name}: {str(row.base_status).upper()} in BASE{reasons}, valid in NEW: nothing to compare against"
    if row.verdict == "missing in NEW":
        return f"{name}: {str(row.base_status).upper()} in BASE, missing in NEW: not compared"
    if row.verdict == "only in NEW":
        return f"{name}: only in NEW ({str(row.new_status).upper()}{', ' + row.reasons if row.reasons else ''})"
    return (f"{name}: {str(row.base_status).upper()} in BASE, {str(row.new_status).upper()} in NEW{reasons}: "
            f"not compared")


def outcome(result: compare.Comparison) -> str:
    """The one-line conclusion, ending with the exit code."""
    exact = [r for r in result.figures if r.test is None]
    if result.measure == "syscalls":
        threshold = "the base count (gated syscall names are exact)"
    elif exact and len(exact) == len(result.figures):
        threshold = f"{result.instr_threshold * 100:g}% plus drift (exact counts)"
    else:
        threshold = f"{result.threshold * 100:g}%"
        if result.lateness_threshold is not None and any(r.threshold != result.threshold for r in result.figures):
            threshold += f" (lateness {result.lateness_threshold * 100:g}%)"
        if exact:
            threshold += f" (instruction counts {result.instr_threshold * 100:g}% plus drift)"
    counts = {v: len(result.with_verdict(v)) for v in compare.VERDICTS}
    tally = ", ".join(f"{counts[v]} {v}" for v in ("faster", "no change", "inconclusive") if counts[v])
    ungated = sum(1 for r in result.figures if r.verdict == "slower" and not r.gated)
    if ungated:
        what = "report-only syscall count(s)" if result.measure == "syscalls" else "lateness figure(s)"
        tally += f"{', ' if tally else ''}{ungated} {what} slower, not gated"
    if result.exit_code == 0:
        if exact and len(exact) == len(result.figures) and result.measure != "syscalls":
            # Counts are not tested for significance: say what was checked.
            return (f"result: no instruction count grew beyond {threshold}"
                    f"{' (' + tally + ')' if tally else ''}; no run broken → exit 0")
        return (f"result: no figure significantly slower beyond {threshold}"
                f"{' (' + tally + ')' if tally else ''}; no run broken → exit 0")
    parts = []
    if result.slower:
        listed = ", ".join(f"{figure_name(r)} {units.change(r.change)} "
                           f"({'exact count' if r.test is None else f'p={fmt_p(r.test)}'}, limit "
                           f"{r.threshold * 100:.3g}%)" for r in result.slower)
        parts.append(f"{len(result.slower)} figure(s) slower beyond their threshold: {listed}")
    if result.broken:
        listed = ", ".join(run_name(r.mode, r.scheduler, r.time_scale) for r in result.broken)
        parts.append(f"{len(result.broken)} run(s) valid in BASE but not in NEW: {listed}")
    return "result: REGRESSION: " + "; ".join(parts) + " → exit 1"


HEADERS = ("run", "figure", "base", "new", "change", "p", "n base/new", "verdict")


def render(result: compare.Comparison, base: Document, new: Document) -> str:
    lines = [f"BASE {result.base_name}: {_describe(base)}", f"NEW  {result.new_name}: {_describe(new)}",
             f"workload: {_workload(base)}", _method(result), ""]
    if result.figures:
        rows = [_figure_cells(r) for r in result.figures]
        lines.append(table.render(HEADERS, rows, [False, False, True, True, True, True, True, False]))
    else:
        lines.append("no figure present in both files")
    if result.statuses:
        lines += ["", "Not compared:"] + [f"  {_status_text(r)}" for r in result.statuses]
    if result.notes:
        lines += [""] + [f"note: {n}" for n in result.notes]
    lines += ["", outcome(result)]
    return "\n".join(lines)


def render_markdown(result: compare.Comparison, base: Document, new: Document) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["### schedbench compare", "",
             f"- **BASE** `{result.base_name}`: {_describe(base)}", f"- **NEW** `{result.new_name}`: {_describe(new)}",
             f"- workload: {_workload(base)}", f"- {_method(result)}", ""]
    if result.figures:
        lines.append("| " + " | ".join(HEADERS) + " |")
        lines.append("|" + "|".join(["---", "---", "---:", "---:", "---:", "---:", "---:", "---"]) + "|")
        for row in result.figures:
            cells = _figure_cells(row)
            if row.verdict == "slower" and row.gated:
                cells[-1] = f"**{cells[-1]}**"
            lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    else:
        lines.append("No figure present in both files.")
    if result.statuses:
        lines += ["", "**Not compared:**", ""] + [f"- {cell(_status_text(r))}" for r in result.statuses]
    if result.notes:
        lines += [""] + [f"- note: {cell(n)}" for n in result.notes]
    lines += ["", f"**{outcome(result)}**"]
    return "\n".join(lines)
