"""One gate run: every scheduler and mode in turn, the file kept up to date, verdicts at the end.

The file is written after each scheduler and when the run is stopped (Ctrl-C, SIGTERM):
what was measured is kept, marked incomplete, the unfinished scheduler's pairs included
with no verdict. A side that fails or is not VALID fails the gate, named; the other
schedulers still run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.gate.paired import GateSettings, InProcessRefused, SideRunFailed, gate_mode, unfinished
from bench.gate.sides import ResolvedSide, level_blockers
from bench.measure import environment, isolate
from bench.results.gate_file import Failure, GateDocument, PairedFigure, Side, dump_gate


def _side(side: ResolvedSide) -> Side:
    return Side(label=side.label, spec=side.spec, root=str(side.root), python=side.python, commit=side.commit,
                dirty=side.dirty, python_version=side.python_version, loops=dict(side.loops))


def same_sides(a: ResolvedSide, b: ResolvedSide) -> bool:
    return a.root == b.root and a.python == b.python


def run_gate(settings: GateSettings, a: ResolvedSide, b: ResolvedSide, output: Path, command: str,
             log: Callable[[str], None], interrupt: type[BaseException] = KeyboardInterrupt) -> GateDocument:
    started = time.monotonic()
    blocker = level_blockers(a, b)
    if settings.level is not None:
        default_level, default_reason = settings.level, f"--level {settings.level}"
    elif blocker is None:
        default_level, default_reason = "in-process", "the sides differ only in schedulers/ and share the interpreter"
    else:
        default_level, default_reason = "process", blocker
    document = GateDocument(
        created_utc=datetime.now(UTC).isoformat(timespec="seconds"), command=command, complete=False,
        interrupted=False, same_sides=same_sides(a, b), sides=(_side(a), _side(b)),
        workload={"rockets": settings.rockets, "seed": settings.seed, "time_scale": settings.time_scale,
                  "modes": list(settings.modes)},
        settings={"min_effect": settings.min_effect, "budget_s": settings.budget_s, "level": settings.level,
                  "order_seed": settings.order_seed},
        environment=environment.capture("real"))
    figures: list[PairedFigure] = []
    failures: list[Failure] = []
    rng = random.Random(settings.order_seed)

    def save(**changes: Any) -> GateDocument:
        nonlocal document
        document = replace(document, figures=tuple(figures), failures=tuple(failures),
                           elapsed_s=time.monotonic() - started, **changes)
        dump_gate(output, document)
        return document

    with isolate.scratch() as workdir:
        for scheduler in settings.schedulers:
            level, reason = default_level, default_reason
            scheduler_deadline = time.monotonic() + settings.budget_s
            for index, mode in enumerate(settings.modes):
                # Each mode gets an equal share of what is left, so switch mode cannot use
                # up the budget that timed mode needs.
                left = scheduler_deadline - time.monotonic()
                deadline = time.monotonic() + left / (len(settings.modes) - index)
                raw: list[tuple[dict[str, float], dict[str, float]]] = []
                log(f"{scheduler} {mode}: {level} pairs ({reason})")
                try:
                    try:
                        figures += gate_mode(settings, a, b, scheduler, mode, level, reason, workdir, rng, deadline,
                                             lambda line: log(f"  {line}"), raw)
                    except InProcessRefused as exc:
                        level, reason = "process", str(exc)
                        log(f"  {reason}: alternating processes instead")
                        raw.clear()
                        figures += gate_mode(settings, a, b, scheduler, mode, level, reason, workdir, rng, deadline,
                                             lambda line: log(f"  {line}"), raw)
                except SideRunFailed as exc:
                    failures.append(Failure(side=exc.side, scheduler=scheduler, reason=str(exc)))
                    log(f"  FAILED: {exc}")
                    break
                except (KeyboardInterrupt, interrupt):
                    if raw:
                        figures += unfinished(settings, scheduler, mode, level, reason, raw)
                    save(interrupted=True)
                    raise
            save()
    return save(complete=True)
