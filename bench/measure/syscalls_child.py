"""One target, one counted run under strace: the ``count-syscalls`` handler of ``bench.measure.isolate``.

``bench.measure.syscalls`` starts it through ``isolate.run`` with strace as the request's
``prefix`` (``bench.measure.strace``), so every call this process and its threads and
children make is in the trace. Parameters: ``target``, ``mode``, ``rockets``, ``seed``,
``time_scale`` and ``trace`` (the file strace writes; absent when not traced).

Like the instruction counter's child (``bench.measure.instructions_child``, whose loading
and seeding it shares), it loads the target here and only here, after the harness, runs
the workload once unmeasured (imports done, caches, free lists and the loop's own lazily
made objects in place: an epoll instance, a self-pipe) and then once more through
``bench.measure.executors.run_once`` with ``MarkerProbe`` around ``scheduler.run``. The
probe's two calls mark the region in the trace (``bench.measure.strace_trace``); the
parent counts what lies between them, once strace has finished writing. Every mode runs
on the real clock: switch mode's sleeps are 0 s (nothing waits), timed mode waits the
workload's ticks, which is where a loop's blocking calls are.

strace writes its file through a block buffer (only a pipe gets line buffering), and
``isolate`` ends strace with the child's tree as soon as the child has ended: lines still
in the buffer would be lost. So before reporting, the child makes harmless calls
(``PAD`` markers, after the region) until it sees its stop marker in the file
(``flush_trace``): once the child reports, the region is on disk.

Returns ``status``, ``reasons``, ``counters``, ``resumes``, ``wasted``, ``warmed``,
``scheduler`` and ``pinned_random``. Nothing here is timed: the traced run is many times slower than
an untraced one.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from typing import Any, Final

from bench.measure.execute import SchedulerCrashed
from bench.measure.executors import run_once
from bench.measure.instructions_child import load_target, pin_randomness, report
from bench.measure.strace_trace import PAD, START, STOP, marker_text
from bench.workload.rockets import Workload

_lseek: Final = os.lseek
_SEEK_SET: Final = os.SEEK_SET


class MarkerProbe:
    """``start``/``stop`` each make one marker call: ``lseek(-1, START|STOP, SEEK_SET)``.

    fd -1 is never open, so the kernel answers ``EBADF`` at once and nothing is moved.
    """

    __slots__ = ()

    def start(self) -> None:
        _mark(START)

    def stop(self) -> None:
        _mark(STOP)


def _mark(offset: int) -> None:
    with contextlib.suppress(OSError):  # EBADF: the call was made, and that is all the trace needs
        _lseek(-1, offset, _SEEK_SET)


#: How long the child pads the trace waiting for its stop marker to reach the file, and
#: how many pad calls it makes between two looks at the file (about 4 KiB of lines).
FLUSH_LIMIT_S: Final = 20.0
PADS_PER_LOOK: Final = 64


def flush_trace(path: str, limit_s: float = FLUSH_LIMIT_S) -> bool:
    """Make pad calls until strace's file holds the stop marker; False at ``limit_s``."""
    wanted = marker_text(STOP)
    deadline = time.monotonic() + limit_s
    seen, tail = 0, b""
    while True:
        # Read up to the size seen first, never "to the end": each read is itself a call
        # strace appends to this very file, so the end would keep moving away.
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                size = os.fstat(fd).st_size
                new = os.pread(fd, max(0, size - seen), seen)
            finally:
                os.close(fd)
        except OSError:
            return False
        seen += len(new)
        if wanted in tail + new:
            return True
        tail = (tail + new)[-len(wanted):]
        if time.monotonic() > deadline:
            return False
        for _ in range(PADS_PER_LOOK):
            _mark(PAD)


def handle(params: Mapping[str, Any], channel: object) -> dict[str, Any]:
    """One counted run of ``params["target"]``; each early return says why."""
    target, mode = str(params["target"]), str(params["mode"])
    rockets, seed = int(params["rockets"]), int(params["seed"])
    time_scale = float(params.get("time_scale", 1.0))
    entry, load_status = load_target(target)
    if load_status is not None:
        reason = f"unavailable: {entry.error}" if load_status == "skipped" else str(entry.error)
        return report("skipped" if load_status == "skipped" else "failed", [reason], scheduler=entry.name)
    workload = Workload.generate(rockets, seed, mode, time_scale)  # type: ignore[arg-type]
    warmed = not bool(getattr(entry.cls, "one_run_per_process", False))
    common: dict[str, Any] = {"scheduler": entry.name, "warmed": warmed}
    stage = "warm-up run: "
    try:
        if warmed:
            pin_randomness(seed)
            warm = run_once(entry, workload, "real")
            if not warm.verdict.valid:
                return report("invalid", [stage + r for r in warm.verdict.reasons], **common)
            del warm
        stage = ""
        pinned = pin_randomness(seed)
        outcome = run_once(entry, workload, "real", probe=MarkerProbe())
    except SchedulerCrashed as exc:
        return report("failed", [stage + str(exc)], **common)
    except MemoryError:
        return report("failed", [stage + "out of memory (MemoryError)"], **common)
    trace = params.get("trace")
    if trace is not None and not flush_trace(str(trace)):
        return report("failed", [f"the stop marker did not reach strace's file within {FLUSH_LIMIT_S:g} s"],
                      **common)
    verdict = outcome.verdict
    counters = dict(outcome.counters) if outcome.counters is not None else None
    return report(verdict.status.value, verdict.reasons, counters=counters, resumes=verdict.resumes,
                  wasted=verdict.wasted, pinned_random=pinned, **common)
