"""Every child process of the harness: started, limited, read back and ended in one place.

A measurement that runs plugin code (or drives pyperf, which runs plugin code in its own
workers) is a ``Request``: which *handler* to call in the child, its JSON parameters and
the limits. ``run`` executes it and always returns a ``Report``, whatever became of the
child. The child is ``python -m bench.measure.child``: it imports the handler's module
(harness code only; a handler imports a plugin itself, after the harness), calls it with
a ``Channel`` to the parent, and sends back what it returns. A new kind of measurement is
one handler and one line in ``HANDLERS``.

What the parent owns, so that no handler has to get it right again:

* **The process tree.** Each child leads a new session (``setsid``); this process is a
  child subreaper (``PR_SET_CHILD_SUBREAPER``), so a double-forked daemon that left the
  session is reparented here and still found. When the child ends — or is ended — every
  process of its session and every orphan reparented here is killed and reaped before
  ``run`` returns: nothing a job started outlives it, so a later job's files cannot be
  written by an earlier job's leftovers.
* **The limit.** A wall-clock deadline kept by the parent ends the whole tree; unlike an
  alarm inside the child, it cannot be caught, blocked by a C call, or escaped by forking
  or by a non-daemon thread. ``idle_limit_s`` ends a child that stopped sending messages.
* **Death with the orchestrator.** Each child asks the kernel for SIGKILL when its parent
  dies (``PR_SET_PDEATHSIG``); the pyperf workers a child starts ask the same. Sessions are
  listed in the orchestrator's scratch folder; the next start kills what a SIGKILLed
  orchestrator left behind and removes its folder.
* **Results over a pipe the parent owns**, one JSON object per line: messages while the
  handler works (progress, "now importing X") and its return value last. Standard output
  and error go to files in the job's directory; only stderr's tail is ever read.
* **Accounting**: elapsed time, and the child's rusage (CPU, peak RSS) from ``wait4``,
  which includes every descendant it waited for (pyperf's workers).

Trade-off: a process per request costs an interpreter start and the harness's imports
(tens of milliseconds); that is what isolating untrusted code costs, and it buys a clean
process for every measurement.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.measure import witness
from bench.measure.process_tree import (
    OWNER_VARIABLE,
    SCRATCH_PREFIX,
    end_tree,
    kill,
    scratch,
    sweep_stale,
)

__all__ = ["HANDLERS", "OWNER_VARIABLE", "SCRATCH_PREFIX", "Ending", "Report", "Request", "run", "scratch",
           "sweep_stale"]

#: The one table of what a child can be asked to do: handler name → ``module:function``.
#: Each function takes ``(params, channel)`` and returns a JSON-ready value.
HANDLERS: Final[Mapping[str, str]] = {
    "pyperf-job": "bench.measure.worker:drive_pyperf",
    "one-shot": "bench.measure.oneshot_child:handle",
    "describe": "bench.measure.registry_child:handle",
    "timer-floor": "bench.measure.timer_floor:handle",
    "scale-point": "bench.measure.scale_point:handle",
    "count-instructions": "bench.measure.instructions_child:handle",
    "count-syscalls": "bench.measure.syscalls_child:handle",
    "echo-server": "bench.measure.echo_children:serve",
    "load-client": "bench.measure.echo_children:load",
    "count-server-syscalls": "bench.measure.echo_syscalls:handle",
    "paired-rounds": "bench.measure.paired_child:handle",
}

#: How much of a child's stderr is read to explain how it ended: its tail, never all of it
#: (a plugin may print gigabytes).
STDERR_TAIL_BYTES: Final = 64 * 1024
#: A child may send at most this much over its channel; past it, it is ended.
MAX_CHANNEL_BYTES: Final = 64 * 1024 * 1024
#: The reason of a child ended through ``run``'s ``stop``.
STOPPED_REASON: Final = "stopped by the caller (its processes were killed)"
#: How often the parent wakes while a child runs (progress callback, deadline check).
TICK_S: Final = 0.25
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]



class Ending(enum.Enum):
    """How a child ended, from the parent's point of view."""

    REPORTED = "reported"  # the handler returned and its value arrived
    RAISED = "raised"  # the handler raised; ``reason`` names the exception
    EXITED = "exited"  # ended without a result: an exit status or a signal
    TIMED_OUT = "timed-out"  # over its limit (or idle limit): the tree was killed
    STOPPED = "stopped"  # the caller's ``stop`` was set: the tree was killed on request


@dataclass(frozen=True, kw_only=True)
class Request:
    handler: str
    params: Mapping[str, Any] = field(default_factory=dict)
    limit_s: float
    #: End the child when it sent nothing for this long (None: no idle limit).
    idle_limit_s: float | None = None
    #: Address-space limit of the child and its descendants (0: none).
    memory_limit_mb: int = 0
    python: str | None = None
    python_flags: tuple[str, ...] = ()
    #: A command the interpreter runs under (Valgrind and its options).
    prefix: tuple[str, ...] = ()
    #: The child's environment (None: this process's); PYTHONPATH leads to this harness.
    env: Mapping[str, str] | None = None
    cwd: Path | None = None  # None: this process's working directory (a plugin's relative files land there)
    #: The tree whose harness the child runs (None: this one); a gate side runs its own.
    root: Path | None = None
    #: Give the child (and its descendants) a witness: kernel-stamped marks of its measured
    #: runs, returned in ``Report.marks`` (``bench.measure.witness``).
    witness: bool = False

    def __post_init__(self) -> None:
        if self.handler not in HANDLERS:
            raise ValueError(f"unknown handler {self.handler!r}; known: {', '.join(HANDLERS)}")


@dataclass(frozen=True, kw_only=True)
class Report:
    ending: Ending
    result: Any = None  # the handler's return value (REPORTED only)
    messages: tuple[Any, ...] = ()  # what the handler sent before returning
    returncode: int | None = None
    reason: str = ""  # how it ended, in words; "" when REPORTED
    stderr_tail: str = ""
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    max_rss_kb: int = 0
    workdir: Path = Path()
    marks: tuple[witness.Mark, ...] = ()

    @property
    def reported(self) -> bool:
        return self.ending is Ending.REPORTED


# ---- parent -----------------------------------------------------------------------------

_running: set[int] = set()  # pids of children of requests running now (parallel requests)
#: Held while a child is started and entered in ``_running``, and while a tree is ended:
#: ``end_tree`` takes any child of this process not in ``_running`` for an orphan, so one
#: thread's child, between its fork and its entry, must not be seen by another's.
_spawning = threading.Lock()


def _pythonpath(env: Mapping[str, str], root: Path) -> str:
    """The project root first, so a child (maybe another interpreter) imports that harness."""
    rest = env.get("PYTHONPATH")
    return str(root) + (os.pathsep + rest if rest else "")


def command(request: Request, fd: int) -> list[str]:
    python = request.python or sys.executable
    payload = json.dumps({"handler": request.handler, "params": dict(request.params),
                          "memory_limit_mb": request.memory_limit_mb})
    return [*request.prefix, python, *request.python_flags, "-m", "bench.measure.child",
            str(fd), str(os.getpid()), payload]


def tail(path: Path) -> str:
    try:
        with path.open("rb") as fp:
            fp.seek(0, os.SEEK_END)
            size = fp.tell()
            fp.seek(max(0, size - STDERR_TAIL_BYTES))
            return fp.read().decode(errors="replace")
    except OSError:
        return ""


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no error output"


def describe_status(returncode: int | None, stderr_tail: str) -> str:
    """Why a child ended without a result: the signal that killed it, or its exit status and
    its last line of stderr."""
    if returncode is None:
        return "did not finish"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        if name == "SIGKILL":
            return "killed (SIGKILL): out of memory or killed from outside"
        return f"killed by {name}"
    return f"the process ended (exit status {returncode}) before reporting a result: {last_line(stderr_tail)}"


def run(request: Request, workdir: Path, on_tick: Callable[[Report], None] | None = None,
        stop: threading.Event | None = None) -> Report:
    """Run ``request`` in a child process in ``workdir`` (created here, fresh; it must not
    exist); its report, whatever became of the child. Ctrl-C or SIGTERM in this process
    ends the child's tree, then propagates. ``stop``, when set (from another thread), ends
    the tree too: for a child that serves until told (an echo server), ending ``STOPPED``."""
    workdir.mkdir(parents=True)
    base_env = dict(os.environ if request.env is None else request.env)
    env = {**base_env, "PYTHONPATH": _pythonpath(base_env, request.root or PROJECT_ROOT)}
    owner = _owner_folder(workdir)
    if owner is not None:
        env[OWNER_VARIABLE] = str(owner)
    listener = witness.Listener() if request.witness else None
    if listener is not None:
        env[witness.ADDRESS_VARIABLE] = listener.address
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    try:
        with (workdir / "stdout.txt").open("wb") as out, (workdir / "stderr.txt").open("wb") as err, _spawning:
            proc = subprocess.Popen(command(request, write_fd), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    pass_fds=(write_fd,), start_new_session=True, env=env,
                                    cwd=request.cwd or request.root)
            _running.add(proc.pid)
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        if listener is not None:
            listener.close()
        return Report(ending=Ending.EXITED, reason=f"could not start: {exc}", workdir=workdir)
    os.close(write_fd)
    if owner is not None:
        with contextlib.suppress(OSError), (owner / "sessions").open("a") as fp:
            fp.write(f"{proc.pid}\n")
    try:
        return _watch(request, proc, read_fd, workdir, started, on_tick, listener, stop)
    finally:
        os.close(read_fd)
        if listener is not None:
            listener.close()
        _running.discard(proc.pid)
        if proc.returncode is None:
            kill(proc.pid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
        with _spawning:
            end_tree(proc.pid, keep=frozenset(_running))


def _owner_folder(workdir: Path) -> Path | None:
    """This orchestrator's scratch folder, when ``workdir`` lies in it."""
    for folder in workdir.parents:
        if folder.name.startswith(f"{SCRATCH_PREFIX}{os.getpid()}-"):
            return folder
    return None


def _watch(request: Request, proc: subprocess.Popen[bytes], read_fd: int, workdir: Path, started: float,
           on_tick: Callable[[Report], None] | None, listener: witness.Listener | None = None,
           stop: threading.Event | None = None) -> Report:
    selector = selectors.DefaultSelector()
    selector.register(read_fd, selectors.EVENT_READ)
    if listener is not None:
        selector.register(listener, selectors.EVENT_READ)
    buffer = b""
    received = 0
    messages: list[Any] = []
    final: dict[str, Any] | None = None
    last_message = started
    status: int | None = None
    usage: Any = None
    timed_out = ""
    open_channel = True

    def read_some(wait_s: float) -> bool:
        """Read what the channel holds (waiting up to ``wait_s``); False when nothing came."""
        nonlocal buffer, received, final, last_message, open_channel
        ready = selector.select(wait_s) if open_channel else []
        if listener is not None:
            listener.drain()  # every wake: the marks' stamps were taken at send time anyway
        if not any(key.fd == read_fd for key, _ in ready):
            return False
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            open_channel = False
            selector.unregister(read_fd)
            return False
        received += len(chunk)
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            last_message = time.monotonic()
            message = _decode(line)
            if isinstance(message, dict) and ("result" in message or "error" in message):
                final = message
            else:
                messages.append(message)
        return True

    with selector:
        while True:
            if open_channel:
                read_some(TICK_S)
            else:
                time.sleep(0.02)
            if received > MAX_CHANNEL_BYTES:
                timed_out = f"sent more than {MAX_CHANNEL_BYTES >> 20} MiB of results (ended)"
                break
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                # What it wrote before exiting is still in the pipe: read it all (without
                # waiting for EOF, which a leftover descendant holding the pipe would delay).
                while read_some(0) and received <= MAX_CHANNEL_BYTES:
                    pass
                break
            now = time.monotonic()
            if now - started > request.limit_s:
                timed_out = f"timed out after {request.limit_s:.0f} s (limit; its processes were killed)"
                break
            if stop is not None and stop.is_set():
                timed_out = STOPPED_REASON
                break
            if request.idle_limit_s is not None and now - last_message > request.idle_limit_s:
                timed_out = f"sent nothing for {request.idle_limit_s:.0f} s (killed)"
                break
            if on_tick is not None:
                on_tick(Report(ending=Ending.EXITED, messages=tuple(messages), elapsed_s=now - started,
                               workdir=workdir))
    if timed_out:
        kill(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - started
    stderr_tail = tail(workdir / "stderr.txt")
    if listener is not None:
        listener.drain()
    common: dict[str, Any] = {
        "messages": tuple(messages), "returncode": proc.returncode, "stderr_tail": stderr_tail,
        "elapsed_s": elapsed, "workdir": workdir,
        "cpu_s": (usage.ru_utime + usage.ru_stime) if usage is not None else 0.0,
        "max_rss_kb": int(usage.ru_maxrss) if usage is not None else 0,
        "marks": tuple(listener.marks) if listener is not None else (),
    }
    if timed_out == STOPPED_REASON:
        return Report(ending=Ending.STOPPED, reason=timed_out, **common)
    if timed_out:
        return Report(ending=Ending.TIMED_OUT, reason=timed_out, **common)
    if final is not None and "result" in final:
        return Report(ending=Ending.REPORTED, result=final["result"], **common)
    if final is not None:
        return Report(ending=Ending.RAISED, reason=str(final["error"])[:500], **common)
    return Report(ending=Ending.EXITED, reason=describe_status(proc.returncode, stderr_tail), **common)


def _decode(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None
