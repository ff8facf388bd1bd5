"""Exact measurement of what instruction counts cannot see: the system calls ``run`` makes.

Why: an instruction count is blind to the kernel. An asyncio switch costs an
``epoll_wait`` per loop turn, a thread handoff a ``futex``, a timer a
``clock_nanosleep``; none of it shows in Valgrind's count and all of it is where I/O cost
lives. strace sees every call. The same code on the same input makes the same calls,
except where the count depends on timing (how often a loop found nothing due and
blocked again) or on the allocator (when the heap asks the kernel for memory): those are
reported, not gated (``bench.results.syscall_kinds`` holds the classification, measured in
A/A runs, docs/design.md §6.12).

One job per module: this one runs jobs and assembles their results;
``bench.measure.syscall_records`` holds the records; ``bench.measure.strace`` says whether
strace can trace here and how it is called; ``bench.measure.syscalls_child`` is the
program strace traces; ``bench.measure.strace_trace`` reads the region back;
``bench.measure.syscall_suite`` turns results into a results file.

Processes: every repeat of a job is one ``bench.measure.isolate`` request (handler
``count-syscalls``) whose ``prefix`` is strace writing into the request's folder, so its
limit and the killing of its whole tree are the isolation module's. At most ``parallel``
run at a time, each watched by a thread of a pool. The child runs with the instruction
counter's fixed environment and working directory (``bench.measure.valgrind``): a
caller's variables can switch on interpreter modes (``PYTHONASYNCIODEBUG``) that change
what a loop calls. A scheduler's failure (crash, invalid run, hang) becomes a result with
a status and reasons; nothing a scheduler does makes ``run_syscall_jobs`` raise. Where
strace cannot trace, every job is SKIPPED with the one-line reason.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import isolate
from bench.measure.instruction_repeats import Board
from bench.measure.strace import TRACE_FILE, strace_prefix, strace_problem, strace_version
from bench.measure.strace_trace import TraceError, count_region
from bench.measure.syscall_records import KEPT, STATUS_ORDER, Status, SyscallJob, SyscallResult
from bench.measure.valgrind import CHILD_CWD, child_environment

__all__ = ["SyscallJob", "SyscallResult", "run_syscall_jobs", "strace_problem", "strace_version"]


@dataclass(frozen=True, kw_only=True)
class _Launch:
    job_index: int
    repeat: int
    request: isolate.Request
    folder: Path


@dataclass(kw_only=True)
class _Repeat:
    status: Status
    reasons: list[str]
    counts: dict[str, int] | None = None
    threads: int = 0
    child: dict[str, Any] = field(default_factory=dict)


def _slug(target: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", target).strip("-")[:60] or "target"


def _plan(job: SyscallJob, index: int, repeat: int, workdir: Path, env: Mapping[str, str],
          limit: float) -> _Launch:
    folder = workdir / f"{index:03d}-{_slug(job.target)}-{job.mode}-n{job.rockets}-r{repeat + 1}"
    params = {"target": job.target, "mode": job.mode, "rockets": job.rockets, "seed": job.seed,
              "time_scale": job.time_scale, "trace": str(folder / TRACE_FILE)}
    request = isolate.Request(handler="count-syscalls", params=params, limit_s=limit, env=env, cwd=CHILD_CWD,
                              prefix=strace_prefix(folder / TRACE_FILE))
    return _Launch(job_index=index, repeat=repeat, request=request, folder=folder)


def _read(report: isolate.Report, folder: Path, limit: float) -> _Repeat:
    """The child's verdict and, for a VALID run, the calls in its region of the trace."""
    if report.ending is isolate.Ending.TIMED_OUT:
        return _Repeat(status="failed", reasons=[f"timed out after {limit:g} s"])
    result = report.result
    if not (report.reported and isinstance(result, dict) and result.get("status") in STATUS_ORDER):
        return _Repeat(status="failed", reasons=[report.reason or "the child sent a malformed result"])
    status: Status = result["status"]
    reasons = [str(r) for r in result.get("reasons", [])]
    if status not in KEPT:
        return _Repeat(status=status, reasons=reasons, child=result)
    try:
        with (folder / TRACE_FILE).open(errors="replace") as trace:
            region = count_region(trace)
    except (OSError, TraceError) as exc:
        why = exc if isinstance(exc, TraceError) else f"unreadable: {exc.strerror or exc}"
        return _Repeat(status="failed", reasons=[*reasons, f"strace trace: {why}"], child=result)
    return _Repeat(status=status, reasons=reasons, counts=region.counts, threads=len(region.pids), child=result)


def _run(launch: _Launch, board: Board, limit: float) -> tuple[_Repeat, float] | None:
    """One counting process; None when its job was decided before it could start."""
    if board.decided(launch.job_index):
        return None
    shutil.rmtree(launch.folder, ignore_errors=True)
    report = isolate.run(launch.request, launch.folder, on_tick=board.tick)
    repeat = _read(report, launch.folder, limit)
    if repeat.status not in KEPT:
        board.decide(launch.job_index)  # its other repeats need not run
    with contextlib.suppress(OSError):
        (launch.folder / TRACE_FILE).unlink()  # the trace is large; stderr stays for a failure
    if repeat.child or repeat.status != "failed":
        shutil.rmtree(launch.folder, ignore_errors=True)
    return repeat, report.elapsed_s


def _assemble(job: SyscallJob, repeats: list[_Repeat], elapsed: float) -> SyscallResult:
    status: Status = min((r.status for r in repeats), key=STATUS_ORDER.index, default="failed")
    reasons: list[str] = []
    for repeat in repeats:
        reasons += [r for r in repeat.reasons if r not in reasons]
    kept = status in KEPT and all(r.counts is not None for r in repeats)
    child = next((r.child for r in repeats if r.child), {})
    return SyscallResult(
        target=job.target, mode=job.mode, time_scale=job.time_scale if job.mode == "timed" else None,
        status=status, reasons=tuple(reasons or ([] if repeats else ["no repeat ran"])),
        counts=tuple(r.counts for r in repeats if r.counts is not None) if kept else (),
        denominator=job.denominator, warmed=bool(child.get("warmed", False)),
        threads=max((r.threads for r in repeats), default=0), elapsed_s=elapsed,
        resumes=child.get("resumes"), wasted=child.get("wasted"))


def not_run(job: SyscallJob, status: Status, reason: str) -> SyscallResult:
    return SyscallResult(target=job.target, mode=job.mode, time_scale=job.time_scale if job.mode == "timed" else None,
                         status=status, reasons=(reason,), counts=(), denominator=job.denominator, warmed=False,
                         threads=0, elapsed_s=0.0)


def run_syscall_jobs(jobs: Iterable[SyscallJob], *, workdir: Path, parallel: int = 2, time_limit_s: float = 300,
                     on_done: Callable[[SyscallResult], None] | None = None) -> list[SyscallResult]:
    """Count every job's calls under strace; results in the order of ``jobs``.

    ``time_limit_s`` applies to each process; at the limit its tree is killed and the job
    fails. When one repeat is not VALID, the job's repeats not yet started are dropped.
    ``on_done`` is called in the calling thread as each job completes. Each process works
    in a folder of its own under ``workdir``; only a failure the child could not explain
    keeps its stderr there. Raises only on interrupts, after ending every process it started.
    """
    job_list = list(jobs)
    results: dict[int, SyscallResult] = {}  # by job index, as each job completes

    def finish(index: int, result: SyscallResult) -> None:
        results[index] = result
        if on_done is not None:
            on_done(result)

    problem = strace_problem()
    for index, job in enumerate(job_list if problem is not None else ()):
        finish(index, not_run(job, "skipped", str(problem)))
    if problem is not None:
        return [results[i] for i in sorted(results)]
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env, limit, board = child_environment(), float(time_limit_s), Board()
    launches = [_plan(job, index, repeat, workdir, env, limit)
                for index, job in enumerate(job_list) for repeat in range(job.repeats)]
    done: dict[int, list[tuple[_Repeat, float]]] = {i: [] for i in range(len(job_list))}
    with isolate.scratch(), ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="strace") as pool:
        futures: dict[Future[tuple[_Repeat, float] | None], _Launch] = {
            pool.submit(_run, launch, board, limit): launch for launch in launches}
        by_job: dict[int, list[Future[tuple[_Repeat, float] | None]]] = {i: [] for i in range(len(job_list))}
        for future, launch in futures.items():
            by_job[launch.job_index].append(future)
        try:
            for future in as_completed(futures):
                index = futures[future].job_index
                if index in results:
                    continue
                if not future.cancelled():
                    try:
                        got = future.result()
                    except Exception as exc:  # a harness bug: reported on the job, the others kept
                        got = (_Repeat(status="failed", reasons=[f"harness error: {type(exc).__name__}: {exc}"]), 0.0)
                    if got is not None:
                        done[index].append(got)
                if all(f.done() for f in by_job[index]):
                    repeats = [r for r, _ in done[index]]
                    finish(index, _assemble(job_list[index], repeats, sum(e for _, e in done[index])))
        except BaseException:
            for future in futures:
                future.cancel()
            board.stop()
            raise
    return [results[i] for i in sorted(results)]
