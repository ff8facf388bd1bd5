"""Syscalls per request of a running echo server, counted by attaching strace to it.

The suite's counter (``bench.measure.syscalls``) starts the process it counts under strace
and marks the region to count from inside it. An echo server is already serving in its own
process tree when a point is measured, and its region is "while this load runs", so here
strace *attaches* (``strace -c -f -p PID``) for a fixed time while the client is sending
at a light, constant rate, and is then interrupted (SIGINT makes it detach and write its
summary table). Requests in that time: the echoes the client completed between the moments
strace had attached and was told to stop (both processes read ``CLOCK_MONOTONIC``; the
client keeps a count per millisecond), so a server that falls behind under strace is
divided by what it really served.

The count includes whatever the loop does while idle between requests (timer wake-ups, a
self-pipe), which is part of what a loop costs at light load; strace slows every call, so
a loop's batching (events per ``epoll_wait``) can differ from an untraced run's, as the
suite's counter says of its own counts. Nothing timed is taken from the traced point.

The attaching strace is a child of an isolation request (``count-server-syscalls``), so it
ends with it; ptrace may be forbidden here (``kernel.yama.ptrace_scope``, containers): the
reason is then recorded instead of a count.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from bench.measure import isolate
from bench.measure.strace import strace_problem

#: Seconds strace may take to attach to every thread of the server before giving up.
ATTACH_TIMEOUT_S: Final = 10.0
SUMMARY_FILE: Final = "strace-summary.txt"


def parse_summary(text: str) -> dict[str, int]:
    """Calls per syscall name from ``strace -c``'s table (% time, seconds, usecs/call,
    calls, [errors], syscall); the total row is left out."""
    calls: dict[str, int] = {}
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) < 5 or not tokens[-1].isidentifier() or tokens[-1] == "total":
            continue
        try:
            float(tokens[0])
            calls[tokens[-1]] = calls.get(tokens[-1], 0) + int(tokens[3])
        except ValueError:
            continue  # the header or a separator
    return calls


def handle(params: Mapping[str, Any], channel: Any) -> dict[str, Any]:
    """Child side: attach to ``pid``, say so, count for ``seconds``, detach; the counts."""
    exe = shutil.which("strace")
    if exe is None:
        raise RuntimeError("strace is not installed")
    summary = Path(str(params["summary"]))  # in the request's own folder
    proc = subprocess.Popen([exe, "-c", "-f", "-o", str(summary), "-p", str(int(params["pid"]))],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    attached = threading.Event()
    said: list[str] = []

    def watch() -> None:  # strace says "Process N attached" once it holds the main thread
        assert proc.stderr is not None
        for line in proc.stderr:
            said.append(line.strip())
            if "attached" in line:
                attached.set()

    threading.Thread(target=watch, daemon=True).start()
    if not attached.wait(ATTACH_TIMEOUT_S):
        proc.kill()
        raise RuntimeError(f"strace did not attach: {said[-1] if said else 'no word from it'}")
    attached_ns = time.monotonic_ns()
    channel.send({"attached": True})
    time.sleep(float(params["seconds"]))
    detached_ns = time.monotonic_ns()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    return {"calls": parse_summary(summary.read_text(errors="replace")), "attached_ns": attached_ns,
            "detached_ns": detached_ns}


class ServerCount:
    """A count of one server's syscalls, running in the background until ``result``."""

    def __init__(self, pid: int, seconds: float, workdir: Path) -> None:
        self.attached = threading.Event()
        self.report: isolate.Report | None = None
        request = isolate.Request(handler="count-server-syscalls",
                                  params={"pid": pid, "seconds": seconds, "summary": str(workdir / SUMMARY_FILE)},
                                  limit_s=seconds + ATTACH_TIMEOUT_S + 60.0)

        def tick(report: isolate.Report) -> None:
            if any(isinstance(m, dict) and m.get("attached") for m in report.messages):
                self.attached.set()

        def count() -> None:
            self.report = isolate.run(request, workdir, on_tick=tick)
            self.attached.set()

        self._thread = threading.Thread(target=count, daemon=True)
        self._thread.start()

    def wait_attached(self) -> str | None:
        """None once strace holds the server; else why it never will."""
        self.attached.wait(ATTACH_TIMEOUT_S + 5.0)
        if self.report is None and self.attached.is_set():
            return None
        return self._why() or "strace did not attach in time"

    def result(self) -> tuple[dict[str, int], tuple[int, int]] | str:
        """(calls by name, (attached, detached) in CLOCK_MONOTONIC ns), or why there is no count."""
        self._thread.join()
        report = self.report
        if report is None or not report.reported or not isinstance(report.result, dict):
            return self._why() or "strace reported nothing"
        calls, start, end = (report.result.get(k) for k in ("calls", "attached_ns", "detached_ns"))
        if not isinstance(calls, dict) or not calls or not isinstance(start, int) or not isinstance(end, int):
            return "strace counted no call (was it allowed to attach?)"
        return {str(k): int(v) for k, v in calls.items()}, (start, end)

    def _why(self) -> str | None:
        report = self.report
        if report is None:
            return None
        return report.reason or isolate.last_line(report.stderr_tail) or None


def unavailable() -> str | None:
    """Why no server's syscalls can be counted here (None: strace can trace)."""
    return strace_problem()
