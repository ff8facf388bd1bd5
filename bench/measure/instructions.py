"""Exact measurement: how many instructions a scheduler's ``run`` executes, counted by Valgrind.

Why: on a shared VM wall time moves by tens of per cent from run to run (docs/regressions.md), so a 5 % change
in a scheduler is invisible to it. An instruction count of the same code on the same
input repeats to better than 0.1 %, so it sees a 1 % change in one run. The trade-off:
an instruction is not a nanosecond. A cache miss, a branch mispredict or a syscall
costs hundreds of cycles and counts as one instruction (or, for the syscall's kernel
side, as none), so the count ranks designs by the work they *execute*, not by the
time they take; Valgrind also serialises threads and slows the program 5x (not
instrumenting) to 50-100x (instrumenting). Counts belong to one Python build (its
compiler, flags, version): compare them on one machine, never across interpreters.

One job per module: this one runs jobs and assembles each job's result;
``bench.measure.instruction_records`` holds the job and result records;
``bench.measure.instruction_repeats`` runs one repeat's Valgrind processes and reads them;
``bench.measure.valgrind`` says how a count is made (both methods, the stub, what is
pinned, the command line); ``bench.measure.instructions_child`` is the program Valgrind
counts; ``bench.measure.callgrind_files`` reads Valgrind's files back;
``bench.measure.instruction_suite`` turns results into a results file.

Warm-up: the child runs the same workload once, unmeasured, in the same process, then
counts the second run: imports, free lists, the interpreter's specialised bytecode and
the scheduler's own caches are in place, as in a long-lived program. A scheduler that
declares ``one_run_per_process = True`` has its first run counted, and ``warmed`` says so.

Processes: every count is one ``bench.measure.isolate`` request (handler
``count-instructions``) whose ``prefix`` is Valgrind, so starting it, its time limit and
killing its whole tree are the isolation module's, as for every other child. At most
``parallel`` run at a time, each watched by a thread of a pool: ``isolate.run`` blocks
until its child ends, and Valgrind runs a program on one core however many threads it
has, so a thread per running process costs nothing that matters. A scheduler's failure
(crash, invalid run, hang, out of memory) becomes a result with a status and reasons;
nothing a scheduler does makes ``run_instruction_jobs`` raise.
"""

from __future__ import annotations

import compileall
import contextlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path

from bench.measure import isolate
from bench.measure.callgrind_files import estimated_cycles, read_counts, top_functions
from bench.measure.instruction_records import (
    COUNTED,
    STATUS_ORDER,
    InstructionJob,
    InstructionMode,
    InstructionResult,
    Status,
)
from bench.measure.instruction_repeats import (
    Board,
    Finished,
    Launch,
    Repeat,
    Role,
    collect,
    is_final,
    plan_launch,
    run_process,
)
from bench.measure.valgrind import (
    CACHE_GEOMETRY,
    CHILD_CWD,
    METHOD_CLIENT_REQUESTS,
    PROJECT_ROOT,
    Method,
    MethodChoice,
    aslr_pinning,
    child_environment,
    choose_method,
    valgrind_problem,
    valgrind_version,
)

#: What callers import from here: the records, the method choice and the readers are
#: defined in the modules named above and re-exported, so one import gives the counter.
__all__ = [
    "COUNTED", "InstructionJob", "InstructionMode", "InstructionResult", "Method", "MethodChoice", "Status",
    "choose_method", "estimated_cycles", "precompile", "read_counts", "run_instruction_jobs", "top_functions",
    "valgrind_problem", "valgrind_version",
]


# ---- a job's result ----------------------------------------------------------------------

def _pinned(job: InstructionJob, aslr: str, repeats: Sequence[Repeat]) -> dict[str, str]:
    seeded = next((r.report["pinned_random"] for r in repeats if r.report.get("pinned_random")), None)
    geometry = " ".join(f"{level}={size},{ways},{line}" for level, size, ways, line in CACHE_GEOMETRY)
    return {
        "PYTHONHASHSEED": "0",
        "aslr": aslr,
        "cache_geometry": geometry if job.cache_sim else "no cache simulation",
        "random": f"{', '.join(seeded)} seeded with {job.seed} before each run" if seeded else "not reached",
        "clock": "real (every sleep is 0 s)" if job.mode == "switch" else "virtual",
        "environment": "only PATH, HOME, VALGRIND_*, PYTHONPATH (project first), PYTHONHASHSEED",
        "cwd": str(CHILD_CWD),
    }


def _assemble(job: InstructionJob, repeats: Sequence[Repeat], method: Method, aslr: str, elapsed: float,
              notes: Sequence[str]) -> InstructionResult:
    status: Status = min((r.status for r in repeats), key=STATUS_ORDER.index, default="failed")
    reasons: list[str] = []
    for repeat in repeats:
        reasons += [r for r in repeat.reasons if r not in reasons]
    if not repeats:
        reasons.append("no repeat ran")
    counted = [r for r in repeats if r.counts is not None]
    instructions = tuple(r.counts["Ir"] for r in counted if r.counts is not None)
    denominator = job.denominator
    per_unit = None
    if instructions and status in COUNTED and denominator:
        per_unit = sum(instructions) / len(instructions) / denominator
    drift = (max(instructions) - min(instructions)) / min(instructions) if len(instructions) > 1 else 0.0
    cycles = tuple(estimated_cycles(r.counts) for r in counted if r.counts is not None) if job.cache_sim else ()
    report = next((r.report for r in repeats if "warmed" in r.report), {})
    return InstructionResult(
        target=job.target, mode=job.mode, status=status, reasons=tuple(reasons), instructions=instructions,
        denominator=denominator, per_unit=per_unit, drift=drift, method=method,
        warmed=bool(report.get("warmed", False)), valgrind_version=valgrind_version(),
        pinned=_pinned(job, aslr, repeats), profile_path=next((r.profile for r in counted if r.profile), None),
        elapsed_s=elapsed, estimated_cycles=cycles, rockets=job.rockets, seed=job.seed,
        resumes=report.get("resumes"), wasted=report.get("wasted"), notes=tuple(notes))


def _not_run(job: InstructionJob, method: Method, reason: str, notes: Sequence[str] = ()) -> InstructionResult:
    return InstructionResult(
        target=job.target, mode=job.mode, status="failed", reasons=(reason,), instructions=(),
        denominator=job.denominator, per_unit=None, drift=0.0, method=method, warmed=False,
        valgrind_version=valgrind_version(), pinned={}, profile_path=None, elapsed_s=0.0,
        rockets=job.rockets, seed=job.seed, notes=tuple(notes))


# ---- running jobs ------------------------------------------------------------------------

def precompile() -> None:
    """Byte-compile the harness and the built-in schedulers before anything is counted.

    A child that compiles a module from source allocates differently from one that reads
    its ``.pyc``, and that moves the heap ``run`` later allocates in: the first count in a
    fresh checkout would come out off every later one, and a gate comparing a fresh base
    checkout with a warm head would see that as a change. Compiling first makes every
    child read bytecode. Where the tree is read-only, nothing is written and the children
    compile as before.
    """
    for package in ("bench", "schedulers"):
        with contextlib.suppress(OSError):
            compileall.compile_dir(str(PROJECT_ROOT / package), quiet=2)


def run_instruction_jobs(jobs: Iterable[InstructionJob], *, workdir: Path, parallel: int = 2,
                         time_limit_s: float = 300, on_done: Callable[[InstructionResult], None] | None = None,
                         method: MethodChoice = "auto") -> list[InstructionResult]:
    """Count every job under Valgrind; results in the order of ``jobs``.

    At most ``parallel`` Valgrind processes run at a time. ``time_limit_s`` applies to
    each process (a job has ``repeats`` of them, twice that with the difference method);
    at the limit its process tree is killed and the job fails with "timed out after N s".
    When one repeat fails, is invalid or is skipped, the job's repeats not yet started are
    dropped. ``on_done`` is called in the calling thread as each job completes. Files go
    to ``workdir``: the kept Callgrind profiles (``callgrind.out.*``), and the folder (its
    stderr and Valgrind logs) of a process that failed without the child reporting why.

    ``method``: ``auto`` (the stub when it builds, else the difference method),
    ``callgrind-client-requests`` (every job fails if the stub cannot be built) or
    ``difference`` (forced, e.g. to check the fallback). Raises only for the caller's
    mistakes (a bad job is refused when it is built) and on interrupts, after ending
    every process it started.
    """
    job_list = list(jobs)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    precompile()
    results: list[InstructionResult | None] = [None] * len(job_list)

    def finish(index: int, result: InstructionResult) -> None:
        results[index] = result
        if on_done is not None:
            on_done(result)

    problem = valgrind_problem()
    chosen, stub, notes = choose_method(method) if problem is None else (METHOD_CLIENT_REQUESTS, None, [])
    if problem is not None or (chosen == METHOD_CLIENT_REQUESTS and stub is None):
        reason = problem if problem is not None else notes[0]
        for index, job in enumerate(job_list):
            finish(index, _not_run(job, chosen, reason, notes))
        return [r for r in results if r is not None]
    pinning, aslr = aslr_pinning()
    env = child_environment()
    limit = float(time_limit_s)
    roles: tuple[Role, ...] = ("count",) if chosen == METHOD_CLIENT_REQUESTS else ("measure", "baseline")
    launches = [plan_launch(job, index, repeat, role, workdir=workdir, stub=stub, pinning=pinning, env=env, limit=limit)
                for index, job in enumerate(job_list) for repeat in range(job.repeats) for role in roles]

    board = Board()
    finished: dict[int, list[Finished]] = {i: [] for i in range(len(job_list))}
    # isolate.scratch(): stale trees of a killed orchestrator are swept and this process
    # becomes the reaper of its children's orphans (its folder itself is not used).
    with isolate.scratch(), ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="valgrind") as pool:
        futures: dict[Future[Finished | None], Launch] = {}
        by_job: dict[int, list[Future[Finished | None]]] = {i: [] for i in range(len(job_list))}
        for launch in launches:
            future = pool.submit(run_process, launch, board)
            futures[future] = launch
            by_job[launch.job_index].append(future)
        try:
            for future in as_completed(futures):
                launch = futures[future]
                index = launch.job_index
                if results[index] is not None:
                    continue
                done: Finished | None = None
                if not future.cancelled():
                    try:
                        done = future.result()
                    except Exception as exc:  # a harness bug: report it on the job, keep the others
                        reason = f"harness error: {type(exc).__name__}: {exc}"
                        done = Finished(launch=launch, report=isolate.Report(ending=isolate.Ending.EXITED,
                                                                              reason=reason))
                if done is not None:
                    finished[index].append(done)
                    if is_final(done):
                        for other in by_job[index]:
                            other.cancel()  # those still queued; started ones see the decision
                if all(f.done() for f in by_job[index]):
                    job = job_list[index]
                    elapsed = sum(d.report.elapsed_s for d in finished[index])
                    try:
                        repeats = collect(job, finished[index], chosen, limit, workdir)
                        result = _assemble(job, repeats, chosen, aslr, elapsed, notes)
                    except Exception as exc:  # a harness bug must not cost the other jobs
                        result = _not_run(job, chosen, f"harness error: {type(exc).__name__}: {exc}", notes)
                    finish(index, result)
        except BaseException:
            # Ctrl-C or an exception from on_done: nothing we started may outlive us. The
            # queued processes never start; the running ones are ended by their threads.
            for future in futures:
                future.cancel()
            board.stop()
            raise
    return [r for r in results if r is not None]
