"""What a count runs under: Valgrind, its command line, the Callgrind stub, and what is pinned.

``bench.measure.instructions`` asks this module whether Valgrind can run here, which
method to count with, and the command a counting process runs under; the process itself
is started by ``bench.measure.isolate`` like every other child of the harness.

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
"Client Request: run"; that file is kept as the profile. The stub is compiled on demand
with gcc into a cache directory keyed by the Python version and a hash of the source
(``~/.cache/schedbench/callgrind-stub``, else the temp directory), never by setuptools, so
installing schedbench needs no compiler.

Method 2, ``difference`` (the fallback when the stub cannot be built: no gcc, no
``valgrind/callgrind.h``, no Python headers): two whole-process counts under
``valgrind --tool=cachegrind --cache-sim=no``. One process runs everything up to the end
of ``run`` and forks there (the parent ends at once, the child validates and reports),
the other ends where ``run`` would begin; the difference is ``run``. It needs two
processes that count everything (start-up and imports included, so each is slower) and
its result carries their tiny differences (a fork, the exit), but it needs nothing
compiled. ``scripts/instructions_check.py`` uses the same idea, independently, to check
method 1.

Pinned, because it can move a count: ``PYTHONHASHSEED=0`` (set and dict orders of
strings), address-space randomisation off through ``setarch <machine> -R`` when the
system allows it (probed once; otherwise left on, and ``pinned["aslr"]`` says why),
``random`` and trio's batch-reversing RNG seeded with the job's seed before each run (in
the child), the child's environment and working directory fixed whoever calls (they
shape the heap, and the heap decides, for one, whether a growing list is extended in
place or copied by ``realloc``), and, when the cache is simulated, a fixed cache geometry
(``CACHE_GEOMETRY``) instead of the host's. What is left is the job itself: its target
and numbers are the child's parameters, so two jobs never share a heap layout exactly;
differences below ~0.1 % between two otherwise identical targets are layout noise, not
work.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal

from bench.measure import cstub
from bench.measure.callgrind_files import CACHEGRIND_OUT, CALLGRIND_OUT, VALGRIND_LOG

Method = Literal["callgrind-client-requests", "difference"]
MethodChoice = Literal["auto", "callgrind-client-requests", "difference"]
Tool = Literal["callgrind", "cachegrind"]

METHOD_CLIENT_REQUESTS: Final = "callgrind-client-requests"
METHOD_DIFFERENCE: Final = "difference"
STUB_SOURCE: Final = Path(__file__).with_name("_callgrind.c")
#: Must match ``STUB_MODULE`` in ``instructions_child`` (the module's init symbol).
STUB_MODULE: Final = "_schedbench_callgrind"
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]
#: The child's working directory, the same for every job: ``python -m`` puts it first on
#: ``sys.path`` (and into the import system's caches), so a caller's workdir would
#: otherwise shape the child's heap.
CHILD_CWD: Final = PROJECT_ROOT
INSTALL_HINT: Final = "apt-get install valgrind (Debian/Ubuntu) or dnf install valgrind (Fedora)"
#: Cache geometry used whenever the cache is simulated: (level, size B, ways, line B).
#: Fixed, not the host's, so counts of misses compare across machines and runs:
#: 32 KiB 8-way L1s and an 8 MiB 16-way last level, 64-byte lines.
CACHE_GEOMETRY: Final = (("I1", 32768, 8, 64), ("D1", 32768, 8, 64), ("LL", 8388608, 16, 64))
#: The caller's variables the child keeps (see ``child_environment``).
KEPT_ENV: Final = ("PATH", "HOME")
_PROBE_TIMEOUT_S: Final = 120.0


# ---- Valgrind and address-space randomisation -------------------------------------------

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
        return f"valgrind cannot run here: {last_line(proc.stderr) or f'exit {proc.returncode}'}", version
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
        return (), f"on: setarch {machine} -R refused: {last_line(proc.stderr) or proc.returncode}"
    return prefix, f"off (setarch {machine} -R)"


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ---- the Callgrind stub, and the method -------------------------------------------------

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
    include = sysconfig.get_paths()["include"]
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    extra_includes: list[str] = []
    valgrind = shutil.which("valgrind")
    if valgrind is not None:
        # A Valgrind installed under another prefix (/opt, /usr/local) keeps its headers there.
        extra_includes.append(f"-I{Path(valgrind).resolve().parent.parent / 'include'}")
    # The key covers the source, the Python version, its headers and the suffix, not the
    # flags, so stubs cached before the build moved to ``cstub`` are found again.
    build = cstub.compile_once(
        STUB_SOURCE, kind="callgrind-stub", output=f"{STUB_MODULE}{suffix}",
        args=["-shared", "-fPIC", "-O2", f"-I{include}", *extra_includes],
        key_extra=(sys.version + include + suffix).encode(), tag=sys.implementation.cache_tag,
        key_flags=False, compilers=("gcc",),
        roots=list(cache_roots) if cache_roots is not None else stub_cache_roots())
    if build.path is not None:
        return build.path, None
    if build.stderr:  # gcc ran and failed: name what is missing
        if "Python.h" in build.stderr:
            return None, f"Python headers not found in {include} (apt-get install python3-dev)"
        return None, _compile_problem(build.stderr)
    if build.problem is not None and build.problem.startswith("no C compiler found"):
        return None, "gcc not found (apt-get install gcc)"
    if build.problem is not None and build.problem.startswith("the source "):
        return None, f"the stub's source {STUB_SOURCE.name} is not installed with schedbench"
    return None, build.problem


def _compile_problem(stderr: str) -> str:
    if "callgrind.h" in stderr:
        return "valgrind/callgrind.h not found (apt-get install valgrind; valgrind-devel on Fedora)"
    errors = [line for line in stderr.splitlines() if "error" in line]
    return f"gcc failed: {(errors or stderr.splitlines() or ['no output'])[0].strip()}"


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


# ---- the counting process: its command prefix and environment ---------------------------

def valgrind_prefix(tool: Tool, folder: Path, *, cache_sim: bool, pinning: Sequence[str]) -> tuple[str, ...]:
    """The command the child's interpreter runs under: ``pinning`` (``aslr_pinning``), then
    Valgrind with ``tool``, writing its files into ``folder`` (names from
    ``bench.measure.callgrind_files``)."""
    valgrind = shutil.which("valgrind") or "valgrind"
    cache: list[str] = ["--cache-sim=no"]
    if cache_sim:
        cache = ["--cache-sim=yes", *(f"--{level}={size},{ways},{line}" for level, size, ways, line in CACHE_GEOMETRY)]
    if tool == "callgrind":
        options = ["--tool=callgrind", "--instr-atstart=no", "--collect-atstart=yes",
                   f"--callgrind-out-file={folder / CALLGRIND_OUT}", *cache]
    else:
        # %p: the measuring process of the difference method forks, and each process
        # writes its own file; the parent's is the count.
        options = ["--tool=cachegrind", "--branch-sim=no", f"--cachegrind-out-file={folder / CACHEGRIND_OUT}.%p",
                   *cache]
    return (*pinning, valgrind, *options, f"--log-file={folder / VALGRIND_LOG}")


def child_environment() -> dict[str, str]:
    """The child's environment: fixed, not the caller's (``bench.measure.isolate`` then puts
    the project first on ``PYTHONPATH``, so in-tree ``module:Class`` targets import from
    this checkout).

    Python copies the environment into ``os.environ`` at start-up, so its size and
    contents shape the heap everything after is allocated in, and a list growing in
    ``run`` is ``realloc``-ed in place or copied depending on what lies next to it. The
    effect is small (tens of instructions for kilobytes more environment), but a caller's
    environment also carries interpreter switches that change what runs, and it changes
    between a shell and pytest. Kept: ``PATH``, ``HOME``, Valgrind's own variables and the
    caller's ``PYTHONPATH``. Everything else is dropped: the locale (Python then runs in its
    coerced UTF-8 "C" locale) and every interpreter switch that would change what ``run``
    executes (``PYTHONDEVMODE``, ``PYTHONMALLOC``, ``PYTHONASYNCIODEBUG``,
    ``PYTHONOPTIMIZE``…).
    """
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENV or k.startswith("VALGRIND_")}
    env["PYTHONHASHSEED"] = "0"
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env
