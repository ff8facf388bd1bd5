"""One repeat of a job: its Valgrind processes, started through ``bench.measure.isolate``,
and what they produced.

A repeat is one process with the stub (role ``count``) or two with the difference method
(``measure`` and ``baseline``). Each process is an isolation request whose ``prefix`` is
Valgrind (``bench.measure.valgrind.valgrind_prefix``) and whose handler is
``count-instructions`` (``bench.measure.instructions_child``), in a folder of its own where
Valgrind writes its files too. Its ``isolate.Report`` is read here into a ``Repeat``: the
child's verdict and the counts from Valgrind's files, or why there are none.

Trade-off: the parent reads the verdict from the child and the count from Valgrind's file,
two sources that must agree on which process is which; a folder per process makes that a
matter of paths, at the price of one directory per Valgrind process (removed as soon as
its repeat is read, unless it failed without the child saying why).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from bench.measure import isolate
from bench.measure.callgrind_files import cachegrind_file, read_counts, run_dump, valgrind_logs
from bench.measure.instruction_records import COUNTED, STATUS_ORDER, InstructionJob, Status
from bench.measure.valgrind import CHILD_CWD, METHOD_CLIENT_REQUESTS, Method, Tool, last_line, valgrind_prefix

#: Must match ``EXIT_REACHED_REGION`` in the child (not imported: the child module is
#: the program under Valgrind, the parent never needs to load it).
EXIT_REACHED_REGION: Final = 10

Role = Literal["count", "measure", "baseline"]
#: What each process of a repeat runs: Valgrind's tool and the child's probe. Method 1 has
#: one process per repeat ("count"), the difference method two ("measure", "baseline").
_ROLES: Final[Mapping[Role, tuple[Tool, str]]] = {
    "count": ("callgrind", "callgrind"),
    "measure": ("cachegrind", "fork-at-stop"),
    "baseline": ("cachegrind", "exit-at-start"),
}


@dataclass(frozen=True, kw_only=True)
class Launch:
    """One Valgrind process: which job and repeat, what it does, where its files go."""

    job_index: int
    repeat: int
    role: Role
    request: isolate.Request
    folder: Path  # its own: isolate's stdout/stderr and Valgrind's files


@dataclass(frozen=True, kw_only=True)
class Finished:
    """One process as ``isolate.run`` saw it end."""

    launch: Launch
    report: isolate.Report

    @property
    def child(self) -> dict[str, Any] | None:
        """The handler's result, when the child returned one with a known status."""
        result = self.report.result
        if self.report.reported and isinstance(result, dict) and result.get("status") in STATUS_ORDER:
            return result
        return None

    @property
    def reached_region(self) -> bool:
        """A baseline process that ended where ``run`` would begin, as it should."""
        return self.report.ending is isolate.Ending.EXITED and self.report.returncode == EXIT_REACHED_REGION


@dataclass(kw_only=True)
class Repeat:
    """What one repeat of a job produced."""

    status: Status
    reasons: list[str]
    counts: dict[str, int] | None = None
    profile: Path | None = None
    report: dict[str, Any] = field(default_factory=dict)


class Stopped(Exception):
    """Raised from ``isolate.run``'s tick in a worker thread: ends its child's tree."""


class Board:
    """What the worker threads and the calling thread share: the jobs already decided, so
    their remaining repeats are not started, and whether everything is to stop.

    The decision is recorded by the worker thread that saw it, before it takes its next
    process off the queue: cancelling from the calling thread alone comes too late when a
    worker picks up the next repeat of the same job the moment the previous one ends.
    Stopping goes through ``isolate.run``'s tick: an interrupt reaches the calling thread
    only, and the thread watching a child ends that child's tree within a tick.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decided: set[int] = set()
        self._stopping = threading.Event()

    def decide(self, job_index: int) -> None:
        with self._lock:
            self._decided.add(job_index)

    def decided(self, job_index: int) -> bool:
        with self._lock:
            return job_index in self._decided or self._stopping.is_set()

    def stop(self) -> None:
        self._stopping.set()

    def tick(self, _progress: isolate.Report) -> None:
        if self._stopping.is_set():
            raise Stopped


def _slug(target: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", target).strip("-")[:60] or "target"


def plan_launch(job: InstructionJob, index: int, repeat: int, role: Role, *, workdir: Path, stub: Path | None,
                pinning: Sequence[str], env: Mapping[str, str], limit: float) -> Launch:
    """The isolation request of one process of ``job``'s ``repeat``, in its own folder."""
    name = f"{index:03d}-{_slug(job.target)}-{job.mode}-n{job.rockets}-s{job.seed}-r{repeat + 1}"
    folder = workdir / (name if role == "count" else f"{name}-{role}")
    tool, probe = _ROLES[role]
    params: dict[str, Any] = {"target": job.target, "mode": job.mode, "rockets": job.rockets, "seed": job.seed,
                              "probe": probe}
    if probe == "callgrind":
        params["stub"] = str(stub)
    if job.handicap >= 0:
        params["handicap"] = job.handicap
    # The folder lies in the caller's workdir, not in isolate's scratch folder: a request
    # there would carry that folder's pid-dependent path in its environment, which shapes
    # the heap (see ``child_environment``). The child still dies with this process
    # (``PR_SET_PDEATHSIG``, which Valgrind's process, the child itself, holds).
    request = isolate.Request(handler="count-instructions", params=params, limit_s=limit, env=env, cwd=CHILD_CWD,
                              prefix=valgrind_prefix(tool, folder, cache_sim=job.cache_sim, pinning=pinning))
    return Launch(job_index=index, repeat=repeat, role=role, request=request, folder=folder)


def run_process(launch: Launch, board: Board) -> Finished | None:
    """Run one Valgrind process; None when its job was decided before it could start."""
    if board.decided(launch.job_index):
        return None
    shutil.rmtree(launch.folder, ignore_errors=True)  # left by an earlier call with this workdir
    done = Finished(launch=launch, report=isolate.run(launch.request, launch.folder, on_tick=board.tick))
    if is_final(done):
        board.decide(launch.job_index)
    return done


def is_final(done: Finished) -> bool:
    """Whether this process already decides the job (so its other repeats need not run)."""
    if done.launch.role == "baseline" and done.reached_region:
        return False
    child = done.child
    return child is None or child["status"] not in COUNTED


# ---- reading a repeat --------------------------------------------------------------------

def _exit_reason(done: Finished) -> str:
    report = done.report
    code = report.returncode
    if code is None:  # it never started
        return report.reason
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}" + (" (out of memory, or killed from outside)" if name == "SIGKILL" else "")
    detail = last_line(report.stderr_tail)
    if not detail:
        # Nothing from Python: Valgrind itself may have said why (its log, not stderr).
        for log in valgrind_logs(done.launch.folder):
            lines = [re.sub(r"^==\d+==\s?", "", x) for x in log.read_text(errors="replace").splitlines()]
            detail = last_line("\n".join(lines)) or detail
    return f"exit {code}: {detail or 'no error output'}"


def _report_repeat(done: Finished, limit: float, what: str = "") -> Repeat | dict[str, Any]:
    """The child's report, or a failed repeat when there is none."""
    report = done.report
    if report.ending is isolate.Ending.TIMED_OUT:
        return Repeat(status="failed", reasons=[f"{what}timed out after {limit:g} s"])
    if report.ending is isolate.Ending.RAISED:
        return Repeat(status="failed", reasons=[what + report.reason])
    child = done.child
    if child is None:
        reason = _exit_reason(done) if not report.reported else "the child sent a malformed result"
        return Repeat(status="failed", reasons=[what + reason])
    return child


def _countable_report(done: Finished, limit: float) -> tuple[dict[str, Any], Status, list[str]] | Repeat:
    """The child's report, its status and reasons when its run is to be counted; else the
    finished repeat (failed, or a verdict such as INVALID that is not counted)."""
    got = _report_repeat(done, limit)
    if isinstance(got, Repeat):
        return got
    status: Status = got["status"]
    reasons = [str(r) for r in got.get("reasons", [])]
    if status not in COUNTED:
        return Repeat(status=status, reasons=reasons, report=got)
    return got, status, reasons


def _count_repeat(done: Finished, limit: float, workdir: Path) -> Repeat:
    """Method 1: the child's verdict and the dump its stub triggered."""
    countable = _countable_report(done, limit)
    if isinstance(countable, Repeat):
        return countable
    got, status, reasons = countable
    dump = run_dump(done.launch.folder)
    if dump is None:
        return Repeat(status="failed", reasons=[*reasons, "Callgrind wrote no dump for run (the probe never stopped)"],
                       report=got)
    try:
        counts = read_counts(dump)
        kept = workdir / f"callgrind.out.{done.launch.folder.name}"
        dump.replace(kept)
    except (OSError, ValueError) as exc:  # e.g. a dump cut short
        return Repeat(status="failed", reasons=[*reasons, f"unreadable Callgrind dump: {exc}"], report=got)
    return Repeat(status=status, reasons=reasons, counts=counts, profile=kept, report=got)


def _difference_repeat(measure: Finished, baseline: Finished, limit: float) -> Repeat:
    """Method 2: the measured process's verdict, and its count minus the baseline's."""
    countable = _countable_report(measure, limit)
    if isinstance(countable, Repeat):
        return countable
    got, status, reasons = countable
    if not baseline.reached_region:
        base = _report_repeat(baseline, limit, "baseline process: ")
        if isinstance(base, Repeat):
            return base
        detail = "; ".join(str(r) for r in base.get("reasons", [])) or f"status {base['status']}"
        return Repeat(status="failed", reasons=[f"baseline process did not reach run: {detail}"], report=got)
    pid = got.get("pid")
    try:
        # The measured process forked: its own file is the one named after its pid.
        full = read_counts(cachegrind_file(measure.launch.folder, pid if isinstance(pid, int) else None))
        before = read_counts(cachegrind_file(baseline.launch.folder, None))
    except (OSError, ValueError) as exc:
        return Repeat(status="failed", reasons=[f"difference method: unreadable Cachegrind output: {exc}"],
                       report=got)
    counts = {k: full[k] - before.get(k, 0) for k in full}
    if counts.get("Ir", 0) <= 0:
        return Repeat(status="failed", reasons=[f"difference method: the process that ran counted "
                                                 f"{full.get('Ir')} instructions, the one that stopped before run "
                                                 f"{before.get('Ir')}"], report=got)
    return Repeat(status=status, reasons=reasons, counts=counts, report=got)


def collect(job: InstructionJob, done: Sequence[Finished], method: Method, limit: float,
             workdir: Path) -> list[Repeat]:
    """One ``Repeat`` per repeat that ran, in repeat order; temporary files removed."""
    repeats: list[Repeat] = []
    for repeat in range(job.repeats):
        mine = {d.launch.role: d for d in done if d.launch.repeat == repeat}
        if not mine:
            continue  # dropped after an earlier repeat decided the job
        if method == METHOD_CLIENT_REQUESTS:
            outcome = _count_repeat(mine["count"], limit, workdir)
        elif "measure" in mine and "baseline" in mine:
            outcome = _difference_repeat(mine["measure"], mine["baseline"], limit)
        else:
            only = next(iter(mine.values()))
            got = _report_repeat(only, limit, "" if only.launch.role == "measure" else "baseline process: ")
            outcome = got if isinstance(got, Repeat) else Repeat(
                status=got["status"], reasons=list(got.get("reasons", [])), report=got)
        repeats.append(outcome)
        # Logs are kept only when the child could not say what went wrong itself.
        _tidy([d.launch.folder for d in mine.values()], keep_logs=outcome.status == "failed" and not outcome.report)
    return repeats


def _tidy(folders: Sequence[Path], keep_logs: bool) -> None:
    """Remove a repeat's folders; an unexplained failure keeps its stderr and Valgrind logs."""
    for folder in folders:
        if not keep_logs:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        kept = {folder / "stderr.txt", *valgrind_logs(folder)}
        for path in folder.iterdir():
            if path not in kept:
                with contextlib.suppress(OSError):
                    path.unlink()

