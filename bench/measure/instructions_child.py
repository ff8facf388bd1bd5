"""One target, one counted run: the ``count-instructions`` handler of ``bench.measure.isolate``.

``bench.measure.instructions`` starts it through ``isolate.run`` with Valgrind as the
request's ``prefix``, so the interpreter that runs this handler is the program Valgrind
counts. Parameters: ``target``, ``mode``, ``rockets``, ``seed``, ``probe``, ``stub`` (the
compiled Callgrind stub's path, for ``probe="callgrind"``) and ``handicap`` (test-only).

It loads the target here and only here (the parent never imports a scheduler), builds
the workload, runs it once unmeasured (the warm-up: imports done, caches and free lists
filled, the interpreter's specialised bytecode in place), then runs it again through
``execute_once`` with the probe switched on right around ``scheduler.run``, and returns
``status``, ``reasons``, ``counters``, ``warmed``, ``scheduler``, ``on_valgrind``,
``pinned_random`` and ``pid`` (the counted process: the difference method reads that
process's Cachegrind file).

Probes (what "switched on" means):

* ``callgrind``: the compiled stub (``bench/measure/_callgrind.c``). Callgrind runs with
  instrumentation off and the stub turns it on for ``run`` alone and dumps the count.
* ``exit-at-start``: the baseline of the difference method. The process ends with
  status ``EXIT_REACHED_REGION`` and sends nothing where the region would begin (the
  parent gets an ``EXITED`` report with that status), so a whole-process count covers
  everything *before* ``run``.
* ``fork-at-stop``: the measurement of the difference method. Where the region ends the
  process forks: the parent waits for the child and ends at once with the child's status
  (its count stops right after ``run``); the child (not part of the parent's count)
  validates, and ``isolate`` sends the result over the channel it inherited. So the
  difference of the two counts is ``run``, and the run is still validated.
* ``none``: nothing is counted; for running the same handler outside Valgrind.

What the isolation child adds is outside the count. ``python -m bench.measure.child``
imports its own modules (``subprocess``, ``selectors``, ``ctypes``…) and this one before
the warm-up: with the stub only ``run`` is counted, so they cost nothing counted, and
with the difference method both processes run the same preamble, so it cancels. They do
shape the heap ``run`` allocates in, as the environment does: counts compare between
processes started the same way, which every count of the harness is. A scheduler that
reads the stack inside ``run`` also counts the frames above it: gevent records each
greenlet's spawning stack (ten frames, with their line numbers), which reaches this
handler, ``child_main`` and the child module's own frame, and the cost of a line number
grows with the code before it in its function or module. That is why the child entry is
a module of its own, kept short: a long module there moves gevent's count by per cents,
like a heap layout, not with gevent's own work.

``warmed`` is False for a target declaring ``one_run_per_process = True`` (read with
``getattr``, default False): such a design cannot run twice in one process, so its first
run is counted and that is recorded.

Randomness: ``random`` is seeded with the job's seed before each run, and so is trio's
private scheduler RNG (``trio._core._run._r``, which reverses each batch of runnable
tasks with probability 1/2) when trio is loaded. Seeding a private attribute is a
deliberate trade-off: it makes trio's count repeatable, at the price of depending on a
name trio may rename; if it disappears, trio's count simply drifts again (the list of
what was seeded is returned, so the loss is visible).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from bench.measure.clocks import ClockKind
from bench.measure.execute import Probe, SchedulerCrashed
from bench.measure.executors import run_once
from bench.measure.registry import SchedulerEntry, check_contract, load_named
from bench.workload.rockets import Mode, Workload

PROBES: Final = ("callgrind", "exit-at-start", "fork-at-stop", "none")
#: How the baseline process of the difference method says "I got to the region"; must
#: match ``EXIT_REACHED_REGION`` in ``bench.measure.instruction_repeats``.
EXIT_REACHED_REGION: Final = 10
#: Must match ``STUB_MODULE`` in ``bench.measure.valgrind`` (not imported: that module
#: builds the stub in the parent, and would only add imports to the counted program).
STUB_MODULE: Final = "_schedbench_callgrind"
#: Where trio keeps the RNG its run loop uses to reverse batches (see the docstring).
TRIO_RNG_MODULE: Final = "trio._core._run"


class CallgrindProbe:
    """The stub's C functions as the probe's methods.

    Stored as instance attributes, so ``probe.start()`` calls the C function directly:
    no Python frame of ours inside the counted region.
    """

    __slots__ = ("running_on_valgrind", "start", "stop")

    def __init__(self, stub: Any) -> None:
        self.start: Callable[[], None] = stub.start
        self.stop: Callable[[], None] = stub.stop
        self.running_on_valgrind: Callable[[], bool] = stub.running_on_valgrind


class ExitAtStart:
    """Difference baseline: end the process where the counted region would begin."""

    def start(self) -> None:
        # os._exit, not sys.exit: no interpreter teardown, whose cost would depend on
        # what is alive and is not in the other process's count either.
        os._exit(EXIT_REACHED_REGION)

    def stop(self) -> None:  # never reached
        pass


class ForkAtStop:
    """Difference measurement: at the region's end, fork; the parent ends, the child reports."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pid = os.fork()
        if pid == 0:
            return  # the child goes on to validate and report, outside the parent's count
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status))


def load_stub(path: str) -> Any:
    """Import the compiled stub from its cache path (it is not on ``sys.path``)."""
    spec = importlib.util.spec_from_file_location(STUB_MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the Callgrind stub from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_target(target: str) -> tuple[SchedulerEntry, str | None]:
    """(entry, None), or (unavailable entry, status) with status "skipped" or "failed".

    A registered name goes through the registry, like every other measurement. A
    ``module:Class`` path (an in-tree driver or a test scheduler) is imported directly and
    held to the same contract; a path that does not load is a failure, not a skip: the
    caller named it explicitly.
    """
    if ":" not in target:
        entry = load_named(target)
        if entry.available:
            return entry, None
        # Registered but not loadable (a missing optional dependency): skipped, as the
        # suite does. Not registered at all: the caller asked for something that is not there.
        return entry, ("failed" if entry.origin == "?" else "skipped")
    module_name, _, qualname = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # an import may raise anything
        return SchedulerEntry(target, "module", target, error=f"import failed: {type(exc).__name__}: {exc}"), "failed"
    problem = check_contract(obj)
    if problem is not None:
        return SchedulerEntry(target, "module", target, error=problem), "failed"
    return SchedulerEntry(str(obj.name), "module", target, cls=obj), None


def pin_randomness(seed: int) -> list[str]:
    """Seed every RNG a run may consult; returns what was seeded (for the record)."""
    random.seed(seed)
    pinned = ["random"]
    trio_run = sys.modules.get(TRIO_RNG_MODULE)
    rng = getattr(trio_run, "_r", None)
    if isinstance(rng, random.Random):
        rng.seed(seed)
        pinned.append(f"{TRIO_RNG_MODULE}._r")
    return pinned


def make_probe(kind: str, stub_path: str | None) -> Probe | None:
    if kind not in PROBES:
        raise ValueError(f"unknown probe {kind!r}; known: {', '.join(PROBES)}")
    if kind == "callgrind":
        if stub_path is None:
            raise ValueError("the callgrind probe needs the stub's path")
        return CallgrindProbe(load_stub(stub_path))
    if kind == "exit-at-start":
        return ExitAtStart()
    if kind == "fork-at-stop":
        return ForkAtStop()
    return None


def report(status: str, reasons: Sequence[str], **extra: Any) -> dict[str, Any]:
    """The handler's result: ``status`` is a verdict's (``bench.workload.checks``), or
    ``failed`` (crashed, could not start) or ``skipped`` (unavailable, no virtual clock)."""
    return {"status": status, "reasons": list(reasons), **extra}


def handle(params: Mapping[str, Any], channel: object) -> dict[str, Any]:
    """One counted run of ``params["target"]``; each early return says why.

    Whatever else goes wrong raises, and ``isolate`` reports it as the child's error.
    """
    target, mode = str(params["target"]), str(params["mode"])
    rockets, seed = int(params["rockets"]), int(params["seed"])
    kind, stub, handicap = str(params.get("probe", "none")), params.get("stub"), int(params.get("handicap", -1))
    # Taken before any fork: with ``fork-at-stop`` the result comes from the forked child,
    # and the count the parent reads is this process's.
    counted_pid = os.getpid()
    try:
        probe = make_probe(kind, None if stub is None else str(stub))
    except Exception as exc:
        return report("failed", [f"probe {kind!r} unusable: {type(exc).__name__}: {exc}"])
    on_valgrind: bool | None = None
    if isinstance(probe, CallgrindProbe):
        on_valgrind = bool(probe.running_on_valgrind())
        if not on_valgrind:
            return report("failed", ["not running under Valgrind: the Callgrind probe would count nothing"],
                          on_valgrind=False)
    entry, load_status = load_target(target)
    if load_status is not None:
        reason = f"unavailable: {entry.error}" if load_status == "skipped" else str(entry.error)
        return report("skipped" if load_status == "skipped" else "failed", [reason], scheduler=entry.name)
    if handicap >= 0:
        from bench.measure.worker import handicapped  # the gate's own check: fixed extra work per sleep

        entry = handicapped(entry, handicap)
    if mode == "virtual" and not entry.supports_virtual_clock:
        return report("skipped", ["does not support the virtual clock"], scheduler=entry.name)
    if mode == "io" and not entry.readiness:
        return report("skipped", ["offers no readable/writable (the readiness primitives the io mode waits with)"],
                      scheduler=entry.name)
    workload_mode: Mode = "timed" if mode == "virtual" else mode  # type: ignore[assignment]
    # Switch mode: every sleep is 0 s, so no design waits and the real clock (what the
    # wall-time suite uses) is only read, never waited on; the counts are as repeatable
    # on it as on the virtual one. Virtual mode: the timed workload without waiting. io
    # mode: sockets, on the real clock (the count covers the loop's polls, not the waits).
    clock: ClockKind = "virtual" if mode == "virtual" else "real"
    workload = Workload.generate(rockets - rockets % 2 if mode == "io" else rockets, seed, workload_mode, 1.0)
    warmed = not bool(getattr(entry.cls, "one_run_per_process", False))
    common: dict[str, Any] = {"scheduler": entry.name, "warmed": warmed, "on_valgrind": on_valgrind,
                              "pid": counted_pid}
    stage = "warm-up run: "
    try:
        if warmed:
            pin_randomness(seed)
            warm = run_once(entry, workload, clock)
            if not warm.verdict.valid:
                return report("invalid", [stage + r for r in warm.verdict.reasons], **common)
            del warm  # its trace and coroutines are collected before the counted run
        stage = ""
        pinned = pin_randomness(seed)
        outcome = run_once(entry, workload, clock, probe=probe)
    except SchedulerCrashed as exc:
        return report("failed", [stage + str(exc)], **common)
    except MemoryError:
        return report("failed", [stage + "out of memory (MemoryError)"], **common)
    verdict = outcome.verdict
    counters = dict(outcome.counters) if outcome.counters is not None else None
    return report(verdict.status.value, verdict.reasons, counters=counters, resumes=verdict.resumes,
                  wasted=verdict.wasted, early_wakes=verdict.early_wakes, pinned_random=pinned, **common)
