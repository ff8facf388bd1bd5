"""Run one scheduler on the io workload once, in this process, and validate it.

The io counterpart of ``bench.measure.execute.execute_once``, with the same contract and
the same ``RunOutcome``: only ``scheduler.run`` sits between the two clock readings. The
socket pairs, payloads and coroutines are made before them, and the sockets are closed and
the trace validated after. The descriptor limit is raised first (one descriptor a rocket).

Kept apart from ``execute_once`` rather than as a branch inside it, so the switch and timed
path stays the code the gate's error rates were measured on; what the two share (the
harness's captured clocks, the proof of work, the reasons) is imported from there.
"""

from __future__ import annotations

from typing import Any, Final

from bench.measure.alarm import RunTimeout
from bench.measure.clocks import make_clock
from bench.measure.execute import (
    Probe,
    RunOutcome,
    SchedulerCrashed,
    _close_all,
    _collect,
    _never_started,
    _perf_counter,
    _process_time,
    describe_raise,
)
from bench.measure.registry import SchedulerEntry
from bench.workload.checks import Verdict, parse_counters
from bench.workload.io_checks import validate_io
from bench.workload.io_rockets import ATOMIC_MESSAGE_BYTES, build_io_coroutines, close_all, raise_descriptor_limit
from bench.workload.rockets import Workload
from bench.workload.status import Status

#: Captured at import, like execute's validator (the integrity snapshot watches it).
_validate_io: Final = validate_io


def execute_io_once(entry: SchedulerEntry, workload: Workload, clock_kind: Any = "real",
                    probe: Probe | None = None) -> RunOutcome:
    """Build, run (timed) and validate one io run. Raises ``SchedulerCrashed`` on error."""
    cls = entry.cls
    assert cls is not None, "execute_io_once needs an available scheduler"
    if clock_kind != "real":
        raise SchedulerCrashed("the io mode runs on the real clock only (sockets do not wait on a virtual clock)")
    if workload.count > raise_descriptor_limit():
        raise SchedulerCrashed(f"{workload.count:,} rockets need as many descriptors; this process may open fewer")
    clock = make_clock("real")
    try:
        scheduler = cls(clock)
        readable, writable = scheduler.readable, scheduler.writable
    except AttributeError as exc:
        raise SchedulerCrashed(f"no readiness primitives: {exc}") from exc
    except Exception as exc:
        raise SchedulerCrashed(f"setup failed: {type(exc).__name__}: {exc}") from exc
    try:
        coros, trace, sockets = build_io_coroutines(workload, cls.dialect, readable, writable)
    except OSError as exc:
        raise SchedulerCrashed(f"setup failed: could not make the socket pairs: {exc}") from exc
    try:
        _collect()
        run = scheduler.run
        cpu0 = _process_time()
        t0 = _perf_counter()
        if probe is not None:
            probe.start()
        try:
            counters = run(coros)
        except MemoryError:
            _close_all(coros)
            coros.clear()
            raise
        except RunTimeout:
            raise
        except BaseException as exc:
            _close_all(coros)
            raise SchedulerCrashed(describe_raise(exc)) from exc
        finally:
            if probe is not None:
                probe.stop()
        wall = _perf_counter() - t0
        cpu = _process_time() - cpu0
        unstarted = sum(1 for coro in coros if _never_started(coro))
        unfinished = sum(1 for coro in coros if getattr(coro, "gi_frame", None) or getattr(coro, "cr_frame", None))
        aborted = len(trace.aborted)
        _close_all(coros)
    finally:
        close_all(sockets)
    verdict = _validate_io(workload, trace.events, len(trace.spurious), counters, entry.polling,
                           exact_wakes=workload.message_size <= ATOMIC_MESSAGE_BYTES, unstarted=unstarted)
    if (unfinished or aborted) and verdict.status is not Status.INVALID:
        why = (f"proof of work failed: {unfinished + aborted} rockets did not run to their end ({unfinished} left "
               f"suspended, {aborted} closed or thrown into), yet the run looked complete")
        verdict = Verdict(Status.INVALID, (*verdict.reasons, why), verdict.resumes, verdict.expected_resumes,
                          verdict.wasted, 0, 0.0, verdict.spurious_wakes)
    parsed, _ = parse_counters(counters)
    return RunOutcome(entry.name, workload, "real", wall, cpu, parsed, verdict)
