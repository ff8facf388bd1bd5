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

Size: the whole Valgrind method lives here (building the stub, both counting methods,
pinning what varies, running jobs in parallel, reading Valgrind's files) so that one
file says how a count is made; the child side is ``instructions_child``, the suite that
turns counts into a results file is ``instruction_suite``.

Method 1, ``callgrind-client-requests`` (the default): only ``run`` is counted.
``bench.measure.execute.execute_once`` calls a probe's ``start()``/``stop()`` immediately
around ``scheduler.run(coroutines)``. The probe is a tiny C extension
(``_callgrind.c``): ``start`` = ``CALLGRIND_ZERO_STATS`` + ``CALLGRIND_START_INSTRUMENTATION``,
``stop`` = ``CALLGRIND_DUMP_STATS_AT("run")`` + ``CALLGRIND_STOP_INSTRUMENTATION``.
Valgrind runs ``--tool=callgrind --instr-atstart=no --collect-atstart=yes``: nothing is
instrumented until ``start`` (interpreter start-up, imports, building the workload and
the warm-up run go at the uninstrumented speed), and collection is on as soon as
instrumentation is (an off-to-on switch resets the collection state to
``--collect-atstart``). The count is the ``totals:`` line of the dump whose trigger is
"Client Request: run"; that file is kept as the profile (``top_functions`` reads it).
The stub is compiled on demand with gcc into a cache directory keyed by the Python
version and a hash of the source (``~/.cache/schedbench/callgrind-stub``, else the temp
directory), never by setuptools, so installing schedbench needs no compiler.

Method 2, ``difference`` (the fallback when the stub cannot be built: no gcc, no
``valgrind/callgrind.h``, no Python headers): two whole-process counts under
``valgrind --tool=cachegrind --cache-sim=no``. One process runs everything up to the end
of ``run`` and forks there (the parent ends at once, the child validates and reports),
the other ends where ``run`` would begin; the difference is ``run``. It needs two
processes that count everything (start-up and imports included, so each is slower) and
its result carries their tiny differences (a fork, the exit), but it needs nothing
compiled. ``scripts/instructions_check.py`` uses the same idea, independently, to check
method 1.

Warm-up: the child runs the same workload once, unmeasured, in the same process, then
counts the second run: imports, free lists, the interpreter's specialised bytecode and
the scheduler's own caches are in place, as in a long-lived program. A scheduler that
declares ``one_run_per_process = True`` (read with ``getattr``, default False) has its
first run counted, and ``warmed`` says so.

Pinned, because it can move a count: ``PYTHONHASHSEED=0`` (set and dict orders of
strings), address-space randomisation off through ``setarch <machine> -R`` when the
system allows it (probed once; otherwise left on, and ``pinned["aslr"]`` says why),
``random`` and trio's batch-reversing RNG seeded with the job's seed before each run,
the child's environment and working directory fixed whoever calls (they shape the heap,
and the heap decides, for one, whether a growing list is extended in place or copied by
``realloc``), and, when the cache is simulated, a fixed cache geometry
(``CACHE_GEOMETRY``) instead of the host's. What is left is the job itself: its target
and numbers are the child's arguments, so two jobs never share a heap layout exactly.
Measured with heapq at 2,000 rockets, other working directories moved the count by
up to 0.02 % and an environment 3 kB larger by 16 instructions: differences below
~0.1 % between two otherwise identical targets are layout noise, not work.

Processes: every count runs in its own Valgrind process, in its own session, at most
``parallel`` at a time (Valgrind runs a program on one core however many threads it
has), each with a time limit after which its whole process group is killed. A
scheduler's failure (crash, invalid run, hang, out of memory) becomes a result with a
status and reasons; nothing a scheduler does makes ``run_instruction_jobs`` raise.
"""

from __future__ import annotations

import compileall
import contextlib
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from bench.workload.rockets import Workload

InstructionMode = Literal["switch", "virtual"]
#: A run's verdict (``valid``, ``early``, ``suspect``, ``invalid``: see
#: ``bench.workload.checks``), or ``failed`` (crashed, timed out, not counted) or
#: ``skipped`` (unavailable, or no virtual clock support).
Status = Literal["valid", "early", "suspect", "invalid", "failed", "skipped"]
Method = Literal["callgrind-client-requests", "difference"]
MethodChoice = Literal["auto", "callgrind-client-requests", "difference"]

METHOD_CLIENT_REQUESTS: Final = "callgrind-client-requests"
METHOD_DIFFERENCE: Final = "difference"
CHILD_MODULE: Final = "bench.measure.instructions_child"
#: Must match ``EXIT_REACHED_REGION`` in the child (not imported: the child module is
#: the program under Valgrind, this one never needs to load it).
EXIT_REACHED_REGION: Final = 10
STUB_SOURCE: Final = Path(__file__).with_name("_callgrind.c")
STUB_MODULE: Final = "_schedbench_callgrind"
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]
#: The child's working directory, the same for every job: ``python -m`` puts it first on
#: ``sys.path`` (and into the import system's caches), so a caller's workdir would
#: otherwise shape the child's heap (measured: up to 0.02 % of heapq's count).
CHILD_CWD: Final = PROJECT_ROOT
INSTALL_HINT: Final = "apt-get install valgrind (Debian/Ubuntu) or dnf install valgrind (Fedora)"

#: Cache geometry used whenever the cache is simulated: (level, size B, ways, line B).
#: Fixed, not the host's, so counts of misses compare across machines and runs:
#: 32 KiB 8-way L1s and an 8 MiB 16-way last level, 64-byte lines.
CACHE_GEOMETRY: Final = (("I1", 32768, 8, 64), ("D1", 32768, 8, 64), ("LL", 8388608, 16, 64))
#: Penalties of the cycle estimate (KCachegrind's "CEst"); see ``estimated_cycles``.
L1_MISS_CYCLES: Final = 10
LL_MISS_CYCLES: Final = 100

#: The caller's variables the child keeps (see ``child_environment``).
KEPT_ENV: Final = ("PATH", "HOME")
#: Worst first: the status of a job is the worst of its repeats'.
_STATUS_ORDER: Final[tuple[Status, ...]] = ("failed", "invalid", "suspect", "skipped", "early", "valid")
#: Verdicts whose run was counted: the trace is right (an early wake or implausible
#: timing figures say nothing against the instructions executed).
COUNTED: Final[tuple[Status, ...]] = ("valid", "early", "suspect")
_PROBE_TIMEOUT_S: Final = 120.0


@dataclass(frozen=True)
class InstructionJob:
    """One thing to count.

    ``target``: a registered scheduler name, or ``"module:Class"`` naming an importable
    class that follows the scheduler protocol (loaded only in the child process).
    ``mode``: ``"switch"`` (zero-length sleeps) or ``"virtual"`` (the timed workload at
    time scale 1 on the virtual clock). ``repeats``: separate Valgrind processes; more
    than one measures the count's drift. ``cache_sim``: simulate the cache
    (``CACHE_GEOMETRY``) and report estimated cycles besides instructions.
    """

    target: str
    mode: InstructionMode
    rockets: int
    seed: int
    repeats: int = 1
    cache_sim: bool = False
    #: Test-only: iterations of extra work per sleep (``bench.measure.worker.handicapped``);
    #: -1: no hook at all, 0: the hook with no extra work (the control of a planted change).
    handicap: int = -1

    def __post_init__(self) -> None:
        # The caller's mistakes, unlike a scheduler's, are raised.
        if self.mode not in ("switch", "virtual"):
            raise ValueError(f"mode must be 'switch' or 'virtual', got {self.mode!r}")
        if self.rockets < 1 or self.repeats < 1:
            raise ValueError(f"rockets and repeats must be >= 1, got {self.rockets} and {self.repeats}")
        if not self.target or self.target.strip() != self.target:
            raise ValueError(f"target must be a scheduler name or module:Class, got {self.target!r}")

    @property
    def workload(self) -> Workload:
        return Workload.generate(self.rockets, self.seed, "switch" if self.mode == "switch" else "timed", 1.0)

    @property
    def denominator(self) -> int:
        """Resumes (switch mode) or useful wakes, one per sleep (virtual mode)."""
        workload = self.workload
        return workload.expected_resumes if self.mode == "switch" else workload.total_sleeps


@dataclass(frozen=True)
class InstructionResult:
    """The count of one job.

    ``instructions``: Ir (instructions executed) of ``run`` in each repeat that produced
    a count. ``per_unit``: their mean divided by ``denominator`` (instructions per resume
    in switch mode, per useful wake in virtual mode); None unless the status is one of
    ``COUNTED`` (valid, early, suspect). ``drift``: (largest − smallest) / smallest over
    the repeats, 0.0 for one. ``estimated_cycles`` (only with ``cache_sim``), per repeat::

        cycles = Ir + 10 × (I1mr + D1mr + D1mw) + 100 × (ILmr + DLmr + DLmw)

    i.e. one cycle per instruction, 10 per first-level miss, 100 per last-level miss
    (KCachegrind's estimate): a rough model that ignores branch mispredicts, overlap of
    misses and the real latencies of the host. ``CALLGRIND_START_INSTRUMENTATION``
    flushes the simulated cache, so with method 1 a run starts cold: some of its first
    misses would not happen natively (with the difference method the cache is warm).
    ``elapsed_s``: the sum of the wall times of the job's Valgrind processes.
    ``profile_path``: the Callgrind dump of the first counted repeat (method 1 only).
    """

    target: str
    mode: InstructionMode
    status: Status
    reasons: tuple[str, ...]
    instructions: tuple[int, ...]
    denominator: int
    per_unit: float | None
    drift: float
    method: Method
    warmed: bool
    valgrind_version: str | None
    pinned: Mapping[str, str]
    profile_path: Path | None
    elapsed_s: float
    estimated_cycles: tuple[int, ...] = ()
    rockets: int = 0
    seed: int = 0
    resumes: int | None = None  # as counted by the scheduler in the counted run
    wasted: int | None = None   # polls that found a task not yet due (polling designs)
    notes: tuple[str, ...] = ()  # how it was measured, when that is not the default

    @property
    def counted(self) -> bool:
        return self.status in COUNTED and bool(self.instructions)


# ---- the environment: Valgrind, address-space randomisation, the stub -------------------

@functools.cache
def _valgrind() -> tuple[str | None, str | None]:
    """(problem, version): probed once per process, by running a trivial program."""
    exe = shutil.which("valgrind")
    if exe is None:
        return f"valgrind is not installed: {INSTALL_HINT}", None
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 timeout=_PROBE_TIMEOUT_S).stdout.strip() or None
        with tempfile.TemporaryDirectory(prefix="schedbench-vg-") as tmp:
            proc = subprocess.run(
                [exe, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/probe.out",
                 sys.executable, "-c", "pass"],
                capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"valgrind cannot run here: {type(exc).__name__}: {exc}", None
    if proc.returncode != 0:
        return f"valgrind cannot run here: {_last_line(proc.stderr) or f'exit {proc.returncode}'}", version
    return None, version


def valgrind_problem() -> str | None:
    """None when Valgrind (with Callgrind) can run Python here; else one line saying why not."""
    return _valgrind()[0]


def valgrind_version() -> str | None:
    """``valgrind --version`` (e.g. ``valgrind-3.19.0``), None when it is not installed."""
    return _valgrind()[1]


@functools.cache
def aslr_pinning() -> tuple[tuple[str, ...], str]:
    """(command prefix, description): ``setarch <machine> -R`` when it works here.

    Address-space randomisation moves the heap, and with it ``id()``-keyed orders and the
    allocator's layout, from process to process. Some containers forbid the
    ``personality`` call behind ``-R``: then randomisation stays on and the description
    says why.
    """
    machine = platform.machine()
    setarch = shutil.which("setarch")
    if setarch is None:
        return (), "on: setarch not found (util-linux)"
    prefix = (setarch, machine, "-R")
    try:
        proc = subprocess.run([*prefix, sys.executable, "-c", "pass"], capture_output=True, text=True,
                              timeout=_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return (), f"on: setarch {machine} -R failed: {exc}"
    if proc.returncode != 0:
        return (), f"on: setarch {machine} -R refused: {_last_line(proc.stderr) or proc.returncode}"
    return prefix, f"off (setarch {machine} -R)"


def stub_cache_roots() -> list[Path]:
    """Where compiled stubs are kept, in order of preference."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    home_cache = Path(xdg) if xdg else Path.home() / ".cache"
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return [home_cache / "schedbench" / "callgrind-stub",
            Path(tempfile.gettempdir()) / f"schedbench-{uid}" / "callgrind-stub"]


def build_stub(cache_roots: Sequence[Path] | None = None) -> tuple[Path | None, str | None]:
    """(path of the compiled stub, None), or (None, why it cannot be built).

    Compiled once per (Python version, stub source) into the first writable cache root;
    later calls find it there, compiler or not. gcc reads the very bytes that were
    hashed (from stdin), and writes under a temporary name that is then renamed, so
    concurrent builders never load a half-written or mismatched file.
    """
    try:
        source = STUB_SOURCE.read_bytes()
    except OSError:
        return None, f"the stub's source {STUB_SOURCE.name} is not installed with schedbench"
    include = sysconfig.get_paths()["include"]
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    key = hashlib.sha256(source + sys.version.encode() + include.encode() + suffix.encode()).hexdigest()[:16]
    name = f"{sys.implementation.cache_tag}-{key}"
    roots = list(cache_roots) if cache_roots is not None else stub_cache_roots()
    for root in roots:
        if (root / name / f"{STUB_MODULE}{suffix}").exists():
            return root / name / f"{STUB_MODULE}{suffix}", None
    compiler = shutil.which("gcc")
    if compiler is None:
        return None, "gcc not found (apt-get install gcc)"
    if not (Path(include) / "Python.h").exists():
        return None, f"Python headers not found in {include} (apt-get install python3-dev)"
    extra_includes: list[str] = []
    valgrind = shutil.which("valgrind")
    if valgrind is not None:
        # A Valgrind installed under another prefix (/opt, /usr/local) keeps its headers there.
        extra_includes.append(f"-I{Path(valgrind).resolve().parent.parent / 'include'}")
    problems: list[str] = []
    for root in roots:
        target = root / name / f"{STUB_MODULE}{suffix}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".build-", suffix=suffix, dir=target.parent)
            os.close(fd)
        except OSError as exc:
            problems.append(f"{root}: {exc.strerror or exc}")
            continue
        tmp = Path(tmp_name)
        try:
            proc = subprocess.run(
                [compiler, "-shared", "-fPIC", "-O2", f"-I{include}", *extra_includes, "-x", "c", "-",
                 "-o", str(tmp)],
                input=source, capture_output=True, timeout=_PROBE_TIMEOUT_S)
            if proc.returncode != 0:
                return None, _compile_problem(proc.stderr.decode(errors="replace"))
            os.replace(tmp, target)
            return target, None
        except (OSError, subprocess.SubprocessError) as exc:
            problems.append(f"{root}: {exc}")
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return None, "no writable cache directory for the stub: " + "; ".join(problems)


def _compile_problem(stderr: str) -> str:
    if "callgrind.h" in stderr:
        return "valgrind/callgrind.h not found (apt-get install valgrind; valgrind-devel on Fedora)"
    errors = [line for line in stderr.splitlines() if "error" in line]
    return f"gcc failed: {(errors or stderr.splitlines() or ['no output'])[0].strip()}"


def child_environment() -> dict[str, str]:
    """The child's environment: fixed, not the caller's.

    Python copies the environment into ``os.environ`` at start-up, so its size and
    contents shape the heap everything after is allocated in, and a list growing in
    ``run`` is ``realloc``-ed in place or copied depending on what lies next to it. The
    effect measured here is small (16 instructions for 3 kB more environment, heapq,
    2,000 rockets), but a caller's environment also carries interpreter switches that
    change what runs, and it changes between a shell and pytest. Kept: ``PATH``,
    ``HOME``, Valgrind's own variables and the caller's ``PYTHONPATH`` (behind the
    project, which comes first so in-tree ``module:Class`` targets import from this
    checkout). Everything else is dropped: the locale (Python then runs in its coerced
    UTF-8 "C" locale) and every interpreter switch that would change what ``run``
    executes (``PYTHONDEVMODE``, ``PYTHONMALLOC``, ``PYTHONASYNCIODEBUG``,
    ``PYTHONOPTIMIZE``…).
    """
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENV or k.startswith("VALGRIND_")}
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return env


# ---- reading Valgrind's output -----------------------------------------------------------

def read_counts(path: Path) -> dict[str, int]:
    """Event totals of a Callgrind or Cachegrind output file: {"Ir": …, "D1mr": …}.

    Callgrind's ``totals:`` line is preferred to ``summary:``: when instrumentation is
    switched off before a dump, the summary reads 0 while the totals are right.
    """
    events: list[str] = []
    totals: list[int] | None = None
    summary: list[int] | None = None
    with path.open(errors="replace") as fp:
        for line in fp:
            if line.startswith("events:"):
                events = line.split(":", 1)[1].split()
            elif line.startswith("totals:"):
                totals = [int(x) for x in line.split(":", 1)[1].split()]
            elif line.startswith("summary:"):
                summary = [int(x) for x in line.split(":", 1)[1].split()]
    values = totals if totals is not None else summary
    if not events or values is None:
        raise ValueError(f"{path} has no events/totals lines")
    return {name: (values[i] if i < len(values) else 0) for i, name in enumerate(events)}


def estimated_cycles(counts: Mapping[str, int]) -> int:
    """Ir + 10 × (I1mr + D1mr + D1mw) + 100 × (ILmr + DLmr + DLmw)."""
    l1 = sum(counts.get(k, 0) for k in ("I1mr", "D1mr", "D1mw"))
    ll = sum(counts.get(k, 0) for k in ("ILmr", "DLmr", "DLmw"))
    return counts.get("Ir", 0) + L1_MISS_CYCLES * l1 + LL_MISS_CYCLES * ll


_NAME_REF = re.compile(r"^\((\d+)\)(?:\s+(.*))?$")
#: Callgrind names a recursive call's deeper levels ``fn'2``, ``fn'3``…: one function.
_RECURSION_LEVEL = re.compile(r"'\d+$")


def top_functions(profile_path: Path | str, limit: int = 15) -> list[tuple[str, int]]:
    """Where the instructions go: (function, exclusive Ir), largest first.

    Parses the Callgrind file itself (no dependency on ``callgrind_annotate``'s Perl):
    a cost line belongs to the current ``fn=``, except the line after ``calls=`` (the
    call's inclusive cost, already counted inside the callee) and after ``jump=`` or
    ``jcnd=``. Compressed names (``(12) name`` then ``(12)``) are resolved. Costs are added
    by function name: code inlined from headers (``fi=``/``fe=``) stays with the function
    it was inlined into, the recursion levels ``fn'2``… with ``fn``, and same-named
    functions of different objects together (``callgrind_annotate`` splits all three).
    """
    names: dict[str, str] = {}
    costs: dict[str, int] = {}
    positions = 1
    ir_index = 0
    current = "???"
    skip_next = False
    with Path(profile_path).open(errors="replace") as fp:
        for raw in fp:
            line = raw.rstrip("\n")
            if not line:
                continue
            head = line[0]
            if head.isdigit() or head in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                fields = line.split()
                index = positions + ir_index
                if index < len(fields):
                    costs[current] = costs.get(current, 0) + int(fields[index])
                continue
            key, sep, value = line.partition("=")
            if sep:
                if key in ("fn", "cfn"):
                    name = _resolve(value, names)
                    if key == "fn":
                        current = _RECURSION_LEVEL.sub("", name)
                elif key in ("calls", "jump", "jcnd"):
                    skip_next = True
                continue
            if line.startswith("positions:"):
                positions = len(line.split(":", 1)[1].split())
            elif line.startswith("events:"):
                events = line.split(":", 1)[1].split()
                ir_index = events.index("Ir") if "Ir" in events else 0
    ranked = sorted(((n, c) for n, c in costs.items() if c), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:limit]


def _resolve(value: str, names: dict[str, str]) -> str:
    match = _NAME_REF.match(value.strip())
    if match is None:
        return value.strip()
    ident, name = match.groups()
    if name:
        names[ident] = name
        return name
    return names.get(ident, f"({ident})")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ---- running jobs ------------------------------------------------------------------------

Role = Literal["count", "measure", "baseline"]


@dataclass(frozen=True)
class _Launch:
    """One Valgrind process: which job and repeat, what it does, where its files go."""

    job_index: int
    repeat: int
    role: Role
    command: tuple[str, ...]
    stem: Path  # workdir / name prefix of every file this process writes


@dataclass(frozen=True)
class _Finished:
    launch: _Launch
    pid: int
    returncode: int | None
    stdout: str
    timed_out: bool
    elapsed_s: float
    error: str | None = None  # the harness could not start or watch the process


@dataclass
class _Repeat:
    """What one repeat of a job produced."""

    status: Status
    reasons: list[str]
    counts: dict[str, int] | None = None
    profile: Path | None = None
    report: dict[str, Any] = field(default_factory=dict)


class _LiveProcesses:
    """Processes running now, so an interrupt can kill their groups (and nothing else),
    and the jobs already decided, so their remaining repeats are not started.

    The decision is recorded by the worker thread that saw it, before it takes its next
    process off the queue: cancelling from the calling thread alone comes too late when a
    worker picks up the next repeat of the same job the moment the previous one ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[str]] = set()
        self._decided: set[int] = set()

    def decide(self, job_index: int) -> None:
        with self._lock:
            self._decided.add(job_index)

    def decided(self, job_index: int) -> bool:
        with self._lock:
            return job_index in self._decided

    def add(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._procs.add(proc)

    def discard(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._procs.discard(proc)

    def kill_all(self) -> None:
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            _kill_group(proc)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    # The child leads its own session (start_new_session), so its pid is its group's id:
    # this kills Valgrind, the program under it and anything that program forked.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _slug(target: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", target).strip("-")[:60] or "target"


def _valgrind_command(job: InstructionJob, launch_stem: Path, role: Role, stub: Path | None,
                      prefix: Sequence[str]) -> tuple[str, ...]:
    valgrind = shutil.which("valgrind") or "valgrind"
    cache: list[str] = ["--cache-sim=no"]
    if job.cache_sim:
        cache = ["--cache-sim=yes", *(f"--{level}={size},{ways},{line}" for level, size, ways, line in CACHE_GEOMETRY)]
    log = f"--log-file={launch_stem}.valgrind.%p.log"
    child = [sys.executable, "-m", CHILD_MODULE, "--target", job.target, "--mode", job.mode,
             "--rockets", str(job.rockets), "--seed", str(job.seed)]
    if job.handicap >= 0:
        child += ["--handicap", str(job.handicap)]
    if role == "count":
        assert stub is not None
        tool = ["--tool=callgrind", "--instr-atstart=no", "--collect-atstart=yes",
                f"--callgrind-out-file={launch_stem}.callgrind", *cache]
        child += ["--probe", "callgrind", "--stub", str(stub)]
    else:
        tool = ["--tool=cachegrind", "--branch-sim=no", f"--cachegrind-out-file={launch_stem}.cachegrind.%p", *cache]
        child += ["--probe", "fork-at-stop" if role == "measure" else "exit-at-start"]
    return (*prefix, valgrind, *tool, log, *child)


def _run_process(launch: _Launch, env: Mapping[str, str], limit: float, live: _LiveProcesses) -> _Finished | None:
    """Run one Valgrind process; None when its job was decided before it could start."""
    if live.decided(launch.job_index):
        return None
    done = _watch_process(launch, env, limit, live)
    if _is_final(done):
        live.decide(launch.job_index)
    return done


def _watch_process(launch: _Launch, env: Mapping[str, str], limit: float, live: _LiveProcesses) -> _Finished:
    for stale in launch.stem.parent.glob(launch.stem.name + ".*"):
        with contextlib.suppress(OSError):
            stale.unlink()
    started = time.monotonic()
    try:
        with open(f"{launch.stem}.stderr", "w") as err:
            proc = subprocess.Popen(launch.command, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                    text=True, errors="replace", env=dict(env), cwd=CHILD_CWD,
                                    start_new_session=True)
            live.add(proc)
            try:
                try:
                    out, _ = proc.communicate(timeout=limit)
                    timed_out = False
                except subprocess.TimeoutExpired:
                    _kill_group(proc)
                    timed_out = True
                    try:
                        out, _ = proc.communicate(timeout=30)
                    except subprocess.TimeoutExpired:  # something outside the group holds the pipe
                        proc.kill()
                        proc.wait()
                        out = ""
            finally:
                live.discard(proc)
    except OSError as exc:
        return _Finished(launch, 0, None, "", False, time.monotonic() - started, f"could not start valgrind: {exc}")
    return _Finished(launch, proc.pid, proc.returncode, out or "", timed_out, time.monotonic() - started)


def _child_report(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict) and report.get("status") in _STATUS_ORDER:
            return report
    return None


def _exit_reason(done: _Finished) -> str:
    code = done.returncode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}" + (" (out of memory, or killed from outside)" if name == "SIGKILL" else "")
    stem = done.launch.stem
    detail = ""
    with contextlib.suppress(OSError):
        detail = _last_line(Path(f"{stem}.stderr").read_text(errors="replace"))
    if not detail:
        # Nothing from Python: Valgrind itself may have said why (its log, not stderr).
        for log in sorted(stem.parent.glob(f"{stem.name}.valgrind.*.log")):
            lines = [re.sub(r"^==\d+==\s?", "", x) for x in log.read_text(errors="replace").splitlines()]
            detail = _last_line("\n".join(lines)) or detail
    return f"exit {code}: {detail or 'no error output'}"


def _report_repeat(done: _Finished, limit: float, what: str = "") -> _Repeat | dict[str, Any]:
    """The child's report, or a failed repeat when there is none."""
    if done.error is not None:
        return _Repeat("failed", [what + done.error])
    if done.timed_out:
        return _Repeat("failed", [f"{what}timed out after {limit:g} s"])
    report = _child_report(done.stdout)
    if report is None:
        return _Repeat("failed", [what + _exit_reason(done)])
    return report


def _countable_report(done: _Finished, limit: float) -> tuple[dict[str, Any], Status, list[str]] | _Repeat:
    """The child's report, its status and reasons when its run is to be counted; else the
    finished repeat (failed, or a verdict such as INVALID that is not counted)."""
    got = _report_repeat(done, limit)
    if isinstance(got, _Repeat):
        return got
    status: Status = got["status"]
    reasons = [str(r) for r in got.get("reasons", [])]
    if status not in COUNTED:
        return _Repeat(status, reasons, report=got)
    return got, status, reasons


def _count_repeat(done: _Finished, limit: float, workdir: Path) -> _Repeat:
    """Method 1: the child's verdict and the dump its stub triggered."""
    countable = _countable_report(done, limit)
    if isinstance(countable, _Repeat):
        return countable
    got, status, reasons = countable
    stem = done.launch.stem
    dump = None
    for part in sorted(stem.parent.glob(f"{stem.name}.callgrind*")):
        with contextlib.suppress(OSError), part.open(errors="replace") as fp:
            if any(line.startswith("desc: Trigger: Client Request: run") for line in fp):
                dump = part
                break
    if dump is None:
        return _Repeat("failed", [*reasons, "Callgrind wrote no dump for run (the probe never stopped)"], report=got)
    try:
        counts = read_counts(dump)
        kept = workdir / f"callgrind.out.{stem.name}"
        os.replace(dump, kept)
    except (OSError, ValueError) as exc:  # e.g. a dump cut short
        return _Repeat("failed", [*reasons, f"unreadable Callgrind dump: {exc}"], report=got)
    return _Repeat(status, reasons, counts, kept, got)


def _difference_repeat(measure: _Finished, baseline: _Finished, limit: float) -> _Repeat:
    """Method 2: the measured process's verdict, and its count minus the baseline's."""
    countable = _countable_report(measure, limit)
    if isinstance(countable, _Repeat):
        return countable
    got, status, reasons = countable
    if baseline.returncode != EXIT_REACHED_REGION or baseline.timed_out or baseline.error:
        base = _report_repeat(baseline, limit, "baseline process: ")
        if isinstance(base, _Repeat):
            return base
        detail = "; ".join(str(r) for r in base.get("reasons", [])) or f"status {base['status']}"
        return _Repeat("failed", [f"baseline process did not reach run: {detail}"], report=got)
    try:
        full = read_counts(Path(f"{measure.launch.stem}.cachegrind.{measure.pid}"))
        before = read_counts(Path(f"{baseline.launch.stem}.cachegrind.{baseline.pid}"))
    except (OSError, ValueError) as exc:
        return _Repeat("failed", [f"difference method: unreadable Cachegrind output: {exc}"], report=got)
    counts = {k: full[k] - before.get(k, 0) for k in full}
    if counts.get("Ir", 0) <= 0:
        return _Repeat("failed", [f"difference method: the process that ran counted {full.get('Ir')} "
                                  f"instructions, the one that stopped before run {before.get('Ir')}"], report=got)
    return _Repeat(status, reasons, counts, None, got)


def _pinned(job: InstructionJob, aslr: str, repeats: Sequence[_Repeat]) -> dict[str, str]:
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


def _assemble(job: InstructionJob, repeats: Sequence[_Repeat], method: Method, aslr: str, elapsed: float,
              notes: Sequence[str]) -> InstructionResult:
    status: Status = min((r.status for r in repeats), key=_STATUS_ORDER.index, default="failed")
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


def choose_method(method: MethodChoice = "auto") -> tuple[Method, Path | None, list[str]]:
    """(method, stub path or None, notes). ``auto``: the stub when it builds, else difference.

    A forced ``callgrind-client-requests`` whose stub cannot be built comes back with no
    stub; ``run_instruction_jobs`` then fails every job with the note as the reason.
    """
    if method == METHOD_DIFFERENCE:
        return METHOD_DIFFERENCE, None, ["difference method requested"]
    stub, problem = build_stub()
    if stub is not None:
        return METHOD_CLIENT_REQUESTS, stub, []
    if method == METHOD_CLIENT_REQUESTS:
        return METHOD_CLIENT_REQUESTS, None, [f"Callgrind stub not built: {problem}"]
    return METHOD_DIFFERENCE, None, [f"Callgrind stub not built ({problem}): counted by the difference method"]


def _is_final(done: _Finished) -> bool:
    """Whether this process already decides the job (so its other repeats need not run)."""
    if done.timed_out or done.error is not None:
        return True
    if done.launch.role == "baseline" and done.returncode == EXIT_REACHED_REGION:
        return False
    report = _child_report(done.stdout)
    return report is None or report["status"] not in COUNTED


def precompile() -> None:
    """Byte-compile the harness and the built-in schedulers before anything is counted.

    A child that compiles a module from source allocates differently from one that reads
    its ``.pyc``, and that moves the heap ``run`` later allocates in: the first count in a
    fresh checkout came out 0.04–1.5 % off every later one (measured: hybrid −0.04 %, trio
    +1.5 %, 2,000 rockets). A gate comparing a fresh base checkout with a warm head would
    see that as a change. Compiling first makes every child read bytecode. Where the tree
    is read-only, nothing is written and the children compile as before.
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
    at the limit its process group is killed and the job fails with "timed out after N s".
    When one repeat fails, is invalid or is skipped, the job's repeats not yet started are
    dropped. ``on_done`` is called in the calling thread as each job completes. Files go
    to ``workdir``: the kept Callgrind profiles (``callgrind.out.*``), and the stderr and
    Valgrind log of a process that failed without the child reporting why.

    ``method``: ``auto`` (the stub when it builds, else the difference method),
    ``callgrind-client-requests`` (every job fails if the stub cannot be built) or
    ``difference`` (forced, e.g. to check the fallback). Raises only for the caller's
    mistakes (a bad job is refused when it is built) and on interrupts, after killing
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
    prefix, aslr = aslr_pinning()
    env = child_environment()
    limit = float(time_limit_s)

    launches: list[_Launch] = []
    for index, job in enumerate(job_list):
        base = f"{index:03d}-{_slug(job.target)}-{job.mode}-n{job.rockets}-s{job.seed}"
        for repeat in range(job.repeats):
            roles: tuple[Role, ...] = ("count",) if chosen == METHOD_CLIENT_REQUESTS else ("measure", "baseline")
            for role in roles:
                name = f"{base}-r{repeat + 1}" + ("" if role == "count" else f"-{role}")
                stem = workdir / name
                launches.append(_Launch(index, repeat, role, _valgrind_command(job, stem, role, stub, prefix), stem))

    live = _LiveProcesses()
    finished: dict[int, list[_Finished]] = {i: [] for i in range(len(job_list))}
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="valgrind") as pool:
        futures: dict[Future[_Finished | None], _Launch] = {}
        by_job: dict[int, list[Future[_Finished | None]]] = {i: [] for i in range(len(job_list))}
        for launch in launches:
            future = pool.submit(_run_process, launch, env, limit, live)
            futures[future] = launch
            by_job[launch.job_index].append(future)
        try:
            for future in as_completed(futures):
                launch = futures[future]
                index = launch.job_index
                if results[index] is not None:
                    continue
                done: _Finished | None = None
                if not future.cancelled():
                    try:
                        done = future.result()
                    except Exception as exc:  # a harness bug: report it on the job, keep the others
                        done = _Finished(launch, 0, None, "", False, 0.0, f"harness error: {type(exc).__name__}: {exc}")
                if done is not None:
                    finished[index].append(done)
                    if _is_final(done):
                        for other in by_job[index]:
                            other.cancel()  # those still queued; started ones see the decision
                if all(f.done() for f in by_job[index]):
                    job = job_list[index]
                    elapsed = sum(d.elapsed_s for d in finished[index])
                    try:
                        repeats = _collect(job, finished[index], chosen, limit, workdir)
                        result = _assemble(job, repeats, chosen, aslr, elapsed, notes)
                    except Exception as exc:  # a harness bug must not cost the other jobs
                        result = _not_run(job, chosen, f"harness error: {type(exc).__name__}: {exc}", notes)
                    finish(index, result)
        except BaseException:
            # Ctrl-C or an exception from on_done: nothing we started may outlive us.
            for future in futures:
                future.cancel()
            live.kill_all()
            raise
    return [r for r in results if r is not None]


def _collect(job: InstructionJob, done: Sequence[_Finished], method: Method, limit: float,
             workdir: Path) -> list[_Repeat]:
    """One ``_Repeat`` per repeat that ran, in repeat order; temporary files removed."""
    repeats: list[_Repeat] = []
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
            outcome = got if isinstance(got, _Repeat) else _Repeat(got["status"], list(got.get("reasons", [])),
                                                                   report=got)
        repeats.append(outcome)
        # Logs are kept only when the child could not say what went wrong itself.
        _tidy([d.launch.stem for d in mine.values()], keep_logs=outcome.status == "failed" and not outcome.report)
    return repeats


def _tidy(stems: Sequence[Path], keep_logs: bool) -> None:
    """Remove a repeat's scratch files; an unexplained failure keeps its stderr and Valgrind log."""
    for stem in stems:
        for path in stem.parent.glob(stem.name + ".*"):
            if keep_logs and (path.suffix in (".stderr", ".log")):
                continue
            with contextlib.suppress(OSError):
                path.unlink()
