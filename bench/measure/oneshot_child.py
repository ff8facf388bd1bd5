"""One scheduler, one run, no pyperf: the isolation handler behind ``bench run --once``.

In the child (``bench.measure.isolate``) it imports the scheduler after the harness, makes
the unmeasured checking run (``bench.measure.suspension_check``), then one measured run
(``execute_once``), each under the in-process alarm, and returns status, reasons and one
process's figures in the results model's JSON shape. ``check`` is "both", "only" (the
checking run alone: the pyperf worker uses it for a loop that runs once per process) or
"skip". The parent side is ``bench.measure.oneshot``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The harness first (clocks, execute_once, the validator, the alarm), the scheduler later.
from bench.measure.alarm import Alarm, RunTimeout
from bench.measure.execute import SchedulerCrashed
from bench.measure.executors import run_once
from bench.measure.registry import load_named
from bench.measure.suspension_check import check_suspensions
from bench.results.distributions import lateness_summary
from bench.workload.rockets import Workload
from bench.workload.status import Status


def _failure(reason: str) -> dict[str, Any]:
    return {"status": Status.FAILED.value, "reasons": [reason]}


def _describe_crash(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "killed: out of memory (MemoryError)"
    if isinstance(exc, SystemExit):
        return f"the scheduler called sys.exit({exc.code!r})"
    return str(exc)


def handle(params: Mapping[str, Any], channel: object) -> dict[str, Any]:
    workload = Workload.generate(int(params["rockets"]), int(params["seed"]), params["mode"],
                                 float(params["time_scale"]), int(params.get("message_size", 1)))
    clock, limit, check = params["clock"], float(params["run_limit_s"]), params["check"]
    try:
        entry = load_named(params["scheduler"])  # the plugin is imported here, after the harness
    except SystemExit as exc:
        return _failure(f"import failed: the plugin called sys.exit({exc.code!r})")
    if not entry.available:
        return _failure(f"unavailable: {entry.error}")
    if check != "skip" and workload.mode != "io":  # io has no sleep to check
        try:
            with Alarm(limit):
                checked = check_suspensions(entry, workload, clock)
        except (SchedulerCrashed, RunTimeout, MemoryError, SystemExit) as exc:
            return _failure(f"checking run (unmeasured): {_describe_crash(exc)}")
        if checked.failed and checked.verdict is not None:
            return {"status": Status.INVALID.value, "reasons": list(checked.verdict.reasons)}
        if check == "only":
            return {"status": Status.VALID.value, "reasons": [checked.note] if checked.note else []}
    try:
        with Alarm(limit):
            outcome = run_once(entry, workload, clock)
    except (SchedulerCrashed, RunTimeout, MemoryError, SystemExit) as exc:
        return _failure(_describe_crash(exc) if not isinstance(exc, SchedulerCrashed) else f"crashed: {exc}")
    v = outcome.verdict
    late = lateness_summary(outcome.lateness_s)
    process: dict[str, Any] = {
        "runs": 1, "wall_s": outcome.wall_s, "cpu_s": outcome.cpu_s, "resumes": v.resumes, "wasted": v.wasted,
        "early": v.early_wakes, "worst_early_s": v.worst_early_s, "lateness_us": late or None,
        "cpu_per_wake_us": outcome.cpu_s / workload.total_sleeps * 1e6 if workload.total_sleeps else None,
    }
    if workload.mode == "io":
        process["spurious"] = v.spurious_wakes
    return {"status": v.status.value, "reasons": list(v.reasons), "process": process,
            "dialect": entry.dialect, "origin": entry.origin, "version": entry.version,
            "timer_note": entry.timer_note}
