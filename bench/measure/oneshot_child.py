"""One scheduler, one run, in a process of its own: the unit of ``bench run --once``.

``python -m bench.measure.oneshot_child --scheduler heapq --mode timed --rockets 1000
--time-scale 0.01 --run-limit 60 --memory-limit-mb 8192 --result out.json`` imports the
harness, then (under the memory limit) the scheduler, makes the unmeasured checking run
(``bench.workload.suspension_check``), then one measured run (``execute_once``), each
under the run limit (SIGALRM), and writes one JSON object to ``--result``: status,
reasons and figures. ``--check-only`` stops after the checking run (the pyperf worker
uses it for a scheduler whose loop runs once per process); ``--skip-check`` skips it.

The parent side, ``run_in_child``, starts the program in a new session, kills its whole
process group if it outlives its allowance, and turns every way it can end into a
result: a plugin that calls ``os._exit(0)`` mid-run, raises ``SystemExit``, is killed
for memory or hangs becomes a FAILED result with the reason, and what the child wrote
is parsed as untrusted (it ran plugin code).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
from json import dumps as _json_dumps
from json import loads as _json_loads
from pathlib import Path
from typing import Any, Final

# The harness first (clocks, execute_once, the validator, the limits), the scheduler later.
from bench.measure.clocks import CLOCK_KINDS, ClockKind
from bench.measure.execute import SchedulerCrashed, execute_once
from bench.measure.processes import describe_exit, kill_group
from bench.measure.registry import load_named
from bench.measure.worker import RunTimeout, limit_memory, time_limit
from bench.results.distributions import lateness_summary
from bench.workload.rockets import MODES, Workload
from bench.workload.suspension_check import check_suspensions

#: Allowance for the child's start-up (interpreter, harness and scheduler imports) on top
#: of its runs' limits, before the parent kills it.
STARTUP_ALLOWANCE_S: Final = 30.0
STATUSES: Final = ("valid", "early", "suspect", "invalid", "failed")
FIGURES: Final = ("wall_s", "cpu_s", "per_switch_s", "worst_early_s", "late_p50_us", "late_p99_us",
                  "late_max_us")
COUNTS: Final = ("resumes", "wasted", "early")


# ---- child ------------------------------------------------------------------------------

#: How a child that exited without a result is described.
ENDED_EARLY: Final = "the process ended (exit status {code}) before reporting a result"


def _failure(reason: str) -> dict[str, Any]:
    return {"status": "failed", "reasons": [reason]}


def _describe_crash(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "killed: out of memory (MemoryError)"
    if isinstance(exc, SystemExit):
        return f"the scheduler called sys.exit({exc.code!r})"
    return str(exc)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The child's work: load, check, run; the result as a JSON-ready dict."""
    workload = Workload.generate(args.rockets, args.seed, args.mode, args.time_scale)
    try:
        entry = load_named(args.scheduler)  # the plugin is imported here, after the harness
    except SystemExit as exc:
        return _failure(f"import failed: the plugin called sys.exit({exc.code!r})")
    if not entry.available:
        return _failure(f"unavailable: {entry.error}")
    if not args.skip_check:
        try:
            with time_limit(args.run_limit):
                check = check_suspensions(entry, workload, args.clock)
        except (SchedulerCrashed, RunTimeout, MemoryError, SystemExit) as exc:
            return _failure(f"checking run (unmeasured): {_describe_crash(exc)}")
        if check.failed and check.verdict is not None:
            return {"status": "invalid", "reasons": list(check.verdict.reasons)}
        if args.check_only:
            return {"status": "valid", "reasons": [check.note] if check.note else []}
    try:
        with time_limit(args.run_limit):
            outcome = execute_once(entry, workload, args.clock)
    except (SchedulerCrashed, RunTimeout, MemoryError, SystemExit) as exc:
        return _failure(_describe_crash(exc) if not isinstance(exc, SchedulerCrashed) else f"crashed: {exc}")
    v = outcome.verdict
    late = lateness_summary(outcome.lateness_s)
    return {
        "status": v.status, "reasons": list(v.reasons),
        "resumes": v.resumes, "wasted": v.wasted, "early": v.early_wakes, "worst_early_s": v.worst_early_s,
        "wall_s": outcome.wall_s, "cpu_s": outcome.cpu_s,
        "per_switch_s": outcome.wall_s / outcome.resumes_for_cost if workload.mode == "switch" else None,
        "late_p50_us": late.get("p50"), "late_p99_us": late.get("p99"), "late_max_us": late.get("max"),
    }


def child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.measure.oneshot_child")
    parser.add_argument("--scheduler", required=True)
    parser.add_argument("--mode", choices=MODES, default="switch")
    parser.add_argument("--rockets", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1969)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--clock", choices=CLOCK_KINDS, default="real")
    parser.add_argument("--run-limit", type=float, required=True)
    parser.add_argument("--memory-limit-mb", type=int, default=0)
    parser.add_argument("--result", type=Path, required=True)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--check-only", action="store_true")
    which.add_argument("--skip-check", action="store_true")
    args = parser.parse_args(argv)
    limit_memory(args.memory_limit_mb)
    try:
        result = measure(args)
    except MemoryError:
        result = _failure("killed: out of memory (MemoryError)")
    text = _json_dumps(result)
    partial = args.result.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(args.result)
    sys.stdout.flush()
    # Skip interpreter shutdown: a scheduler's atexit hook or leftover thread must not
    # hang or change the exit.
    os._exit(0)


# ---- parent -----------------------------------------------------------------------------

def run_in_child(scheduler: str, workload: Workload, clock: ClockKind, run_limit_s: float,
                 memory_limit_mb: int, check: str = "both") -> dict[str, Any]:
    """Run ``scheduler`` once in a child process; its result, whatever became of the child.

    ``check``: "both" (checking run, then the measured run), "only" or "skip". The result
    always has ``status`` (one of ``STATUSES``) and ``reasons``; figures when it ran.
    """
    runs = 1 if check in ("only", "skip") else 2
    allowance = STARTUP_ALLOWANCE_S + runs * (run_limit_s + 1.0)
    with tempfile.TemporaryDirectory(prefix="schedbench-once-") as scratch:
        result_path = Path(scratch) / "result.json"
        stderr_path = Path(scratch) / "stderr.txt"
        cmd = [sys.executable, "-m", "bench.measure.oneshot_child", "--scheduler", scheduler,
               "--mode", workload.mode, "--rockets", str(workload.count), "--seed", str(workload.seed),
               "--time-scale", repr(workload.time_scale), "--clock", clock,
               "--run-limit", repr(run_limit_s), "--memory-limit-mb", str(memory_limit_mb),
               "--result", str(result_path)]
        if check == "only":
            cmd.append("--check-only")
        elif check == "skip":
            cmd.append("--skip-check")
        with stderr_path.open("w") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
            try:
                proc.wait(timeout=allowance)
            except subprocess.TimeoutExpired:
                kill_group(proc)
                return _failure(f"timed out after {allowance:.0f} s (killed)")
            except BaseException:
                kill_group(proc)
                raise
            kill_group(proc)  # anything the scheduler left running in its process group
        if result_path.exists():
            return parse_result(result_path)
        return _failure(describe_exit(proc.returncode, stderr_path, ENDED_EARLY))


def check_in_child(scheduler: str, workload: Workload, clock: ClockKind, run_limit_s: float,
                   memory_limit_mb: int) -> list[str]:
    """The suspension check in a child process: its reasons when it failed, else [].

    Raises ``SchedulerCrashed`` when the child crashed, timed out or died.
    """
    result = run_in_child(scheduler, workload, clock, run_limit_s, memory_limit_mb, check="only")
    if result["status"] == "failed":
        raise SchedulerCrashed("; ".join(result["reasons"]) or "checking run failed")
    return list(result["reasons"]) if result["status"] == "invalid" else []


def parse_result(path: Path) -> dict[str, Any]:
    """The child's result, checked field by field (the child ran plugin code)."""
    try:
        raw = _json_loads(path.read_text(errors="replace")[: 1 << 20])
    except (ValueError, RecursionError):
        return _failure("the child's result is not JSON")
    if not isinstance(raw, dict) or raw.get("status") not in STATUSES:
        return _failure("the child's result is malformed (no known status)")
    reasons = raw.get("reasons")
    result: dict[str, Any] = {
        "status": raw["status"],
        "reasons": [str(r) for r in reasons][:10] if isinstance(reasons, list) else [],
    }
    for key in FIGURES:
        value = raw.get(key)
        if value is None:
            result[key] = None
        elif type(value) in (int, float) and math.isfinite(value):
            result[key] = float(value)
        else:
            return _failure(f"the child's result is malformed ({key} = {str(value)[:40]!r})")
    for key in COUNTS:
        value = raw.get(key)
        if value is None or (type(value) is int and 0 <= value < 2**63):
            result[key] = value
        else:
            return _failure(f"the child's result is malformed ({key} = {str(value)[:40]!r})")
    return result


if __name__ == "__main__":
    sys.exit(child_main())
