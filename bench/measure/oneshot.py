"""``bench run --once``, parent side: one scheduler, one run, one child process, one record.

The child is the ``one-shot`` handler (``bench.measure.oneshot_child``) started through
``bench.measure.isolate``; whatever becomes of it — a result, a crash, ``os._exit`` in the
middle of a run, a hang, a memory kill — comes back as a ``RunRecord``, the same typed record
the suite writes, checked field by field by the results model (the child ran plugin code).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Final

from bench.measure import isolate
from bench.measure.clocks import ClockKind
from bench.measure.execute import SchedulerCrashed
from bench.measure.registry import SchedulerEntry
from bench.results.fields import Fields, ResultsError
from bench.results.model import RunRecord
from bench.workload.rockets import Workload
from bench.workload.status import Status

#: Allowance for the child's start-up (interpreter, harness and scheduler imports) on top
#: of its runs' limits, before the parent ends it.
STARTUP_ALLOWANCE_S: Final = 30.0


def run_in_child(scheduler: str, workload: Workload, clock: ClockKind, run_limit_s: float,
                 memory_limit_mb: int, check: str = "both", workdir: Path | None = None) -> dict[str, Any]:
    """The child's raw result: ``status``, ``reasons`` and, when it ran, ``process`` figures."""
    runs = 1 if check in ("only", "skip") else 2
    request = isolate.Request(
        handler="one-shot", limit_s=STARTUP_ALLOWANCE_S + runs * (run_limit_s + 1.0), memory_limit_mb=memory_limit_mb,
        params={"scheduler": scheduler, "mode": workload.mode, "rockets": workload.count, "seed": workload.seed,
                "time_scale": workload.time_scale, "message_size": workload.message_size, "clock": clock,
                "run_limit_s": run_limit_s, "check": check})
    with isolate.scratch() as scratch:
        report = isolate.run(request, (workdir or scratch) / f"once-{time.monotonic_ns()}")
    if report.reported and isinstance(report.result, dict):
        return report.result
    return {"status": Status.FAILED.value, "reasons": [report.reason or "the child sent a malformed result"]}


def check_in_child(scheduler: str, workload: Workload, clock: ClockKind, run_limit_s: float,
                   memory_limit_mb: int) -> list[str]:
    """The suspension check in a child process: its reasons when it failed, else [].

    Raises ``SchedulerCrashed`` when the child crashed, timed out or died.
    """
    result = run_in_child(scheduler, workload, clock, run_limit_s, memory_limit_mb, check="only")
    reasons = [str(r) for r in result.get("reasons") or []]
    if result.get("status") == Status.INVALID.value:
        return reasons
    if result.get("status") != Status.VALID.value:
        raise SchedulerCrashed("; ".join(reasons) or "checking run failed")
    return []


def run_once(entry: SchedulerEntry, workload: Workload, clock: ClockKind, run_limit_s: float,
             memory_limit_mb: int, skip: str | None = None) -> RunRecord:
    """One scheduler's record: from its child process(es), or why it did not run (``skip``)."""
    started = time.monotonic()
    if skip is not None:
        result: dict[str, Any] = {"status": Status.SKIPPED.value, "reasons": [skip]}
    elif entry.one_run_per_process:
        # Its loop runs once per process: the checking run gets a process of its own.
        result = run_in_child(entry.name, workload, clock, run_limit_s, memory_limit_mb, check="only")
        if result.get("status") == Status.VALID.value:
            result = run_in_child(entry.name, workload, clock, run_limit_s, memory_limit_mb, check="skip")
    else:
        result = run_in_child(entry.name, workload, clock, run_limit_s, memory_limit_mb)
    return to_record(entry, workload, clock, result, time.monotonic() - started)


def to_record(entry: SchedulerEntry, workload: Workload, clock: ClockKind, result: dict[str, Any],
              elapsed_s: float) -> RunRecord:
    process = result.get("process")
    raw: dict[str, Any] = {
        # The child loaded the class itself: its dialect and timer note are what ran.
        **entry.record_fields(),
        "dialect": result.get("dialect") if isinstance(result.get("dialect"), str) else None,
        "timer_note": result.get("timer_note") if isinstance(result.get("timer_note"), str) else None,
        "mode": workload.mode, "time_scale": workload.time_scale if workload.mode == "timed" else None,
        "clock": clock, "status": result.get("status"), "reasons": result.get("reasons") or [],
        "elapsed_s": elapsed_s, "processes": [process] if isinstance(process, dict) else [],
        "resumes": process.get("resumes") if isinstance(process, dict) else None,
        "wasted": process.get("wasted") if isinstance(process, dict) else None,
    }
    try:
        return RunRecord.from_json(Fields(raw, "one-shot result"))
    except ResultsError as exc:
        raw.update(status=Status.FAILED.value, reasons=[f"the child's result is malformed: {exc}"], processes=[],
                   resumes=None, wasted=None, dialect=None, timer_note=None, family=None)
        return RunRecord.from_json(Fields(raw, "one-shot result"))
