"""Does the instruction counter count what it says? An independent check, and a survey.

``check`` (the default) counts ``scheduler.run`` twice, by two methods that share no
counting code:

* the harness (``bench.measure.instructions``, Callgrind client requests from the
  compiled stub, instrumentation on only around ``run``);
* the difference method, done here from scratch: two whole-process counts under
  ``valgrind --tool=cachegrind --cache-sim=no``, with the same pinning as the harness
  (``PYTHONHASHSEED=0``, ``setarch <machine> -R`` when it works, ``random`` seeded). Both
  processes build the workload, run it once unmeasured (the warm-up) and build the
  coroutines of the counted run; then the *full* process runs it and ends right after
  ``run`` (``os._exit`` from the probe's ``stop``) while the *baseline* process ends right
  before (``os._exit`` from ``start``). full − baseline = ``run``.

It prints both figures, their ratio and the instructions per resume, and exits 1 when a
ratio is off by more than ``--tolerance`` (5 %). The two cannot agree exactly: the
processes run different programs with different arguments, so their heaps are laid out
differently (a growing list is extended in place in one and copied in the other), and
the probes differ by a few hundred instructions. Measured: 0.2-0.6 % apart at 2,000
rockets.

``survey`` counts every registered scheduler in switch mode and on the virtual clock,
``--repeats`` processes each, two at a time, and prints instructions per resume / per
useful wake, the drift between repeats and the wall time.

Typical use (about 1 and 4 minutes on 2 cores)::

    .venv/bin/python scripts/instructions_check.py check --rockets 2000
    .venv/bin/python scripts/instructions_check.py survey --rockets 2000 --repeats 2
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure.instructions import (  # noqa: E402
    InstructionJob,
    InstructionResult,
    run_instruction_jobs,
    valgrind_problem,
)
from bench.measure.registry import ENTRY_POINT_GROUP  # noqa: E402

DEFAULT_SCHEDULERS = ("heapq", "asyncio", "hybrid")

#: The program both difference-method processes run (``python -c``). argv: scheduler,
#: rockets, seed, role ("full" or "baseline"). Same harness entry point as every other
#: measurement (``execute_once``), its own probe: one that ends the process.
DRIVER = """
import os, random, sys
from bench.measure.execute import execute_once
from bench.measure.registry import load_named
from bench.workload.rockets import Workload

name, rockets, seed, role = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
entry = load_named(name)
if not entry.available:
    sys.exit(f"{name} unavailable: {entry.error}")
workload = Workload.generate(rockets, seed, "switch", 1.0)

def pin():
    random.seed(seed)
    trio_run = sys.modules.get("trio._core._run")
    if isinstance(getattr(trio_run, "_r", None), random.Random):
        trio_run._r.seed(seed)

class EndProcess:
    def start(self):
        if role == "baseline":
            os._exit(0)

    def stop(self):
        os._exit(0)

pin()
warm = execute_once(entry, workload, "real")
if not warm.verdict.valid:
    sys.exit(f"warm-up run invalid: {warm.verdict.explain()}")
del warm
pin()
execute_once(entry, workload, "real", probe=EndProcess())
sys.exit("the probe never ended the process")
"""


def aslr_off_prefix() -> list[str]:
    """``setarch <machine> -R`` when this system allows it, else nothing (our own probe)."""
    setarch = shutil.which("setarch")
    if setarch is None:
        return []
    prefix = [setarch, platform.machine(), "-R"]
    ok = subprocess.run([*prefix, sys.executable, "-c", "pass"], capture_output=True).returncode == 0
    return prefix if ok else []


def cachegrind_total(scheduler: str, rockets: int, seed: int, role: str, workdir: Path,
                     prefix: Sequence[str]) -> int:
    """Instructions (Ir) of one whole process under Cachegrind."""
    out = workdir / f"cachegrind.{scheduler}.{role}"
    env = {**os.environ, "PYTHONHASHSEED": "0",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    cmd = [*prefix, "valgrind", "--tool=cachegrind", "--cache-sim=no", "--branch-sim=no",
           f"--cachegrind-out-file={out}", f"--log-file={out}.log",
           sys.executable, "-c", DRIVER, scheduler, str(rockets), str(seed), role]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{scheduler} {role}: exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    for line in out.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"{out}: no summary line")


def difference_count(scheduler: str, rockets: int, seed: int, workdir: Path, prefix: Sequence[str],
                     pool: ThreadPoolExecutor) -> int:
    full = pool.submit(cachegrind_total, scheduler, rockets, seed, "full", workdir, prefix)
    base = pool.submit(cachegrind_total, scheduler, rockets, seed, "baseline", workdir, prefix)
    return full.result() - base.result()


def check(args: argparse.Namespace, workdir: Path) -> int:
    names = [s.strip() for s in args.schedulers.split(",") if s.strip()]
    started = time.monotonic()
    harness = run_instruction_jobs(
        [InstructionJob(name, "switch", args.rockets, args.seed) for name in names],
        workdir=workdir / "harness", parallel=args.parallel, method="callgrind-client-requests")
    harness_s = time.monotonic() - started
    for result in harness:
        if not result.counted:
            print(f"{result.target}: harness count {result.status}: {'; '.join(result.reasons)}")
            return 2
    prefix = aslr_off_prefix()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        independent = [difference_count(n, args.rockets, args.seed, workdir, prefix, pool) for n in names]
    independent_s = time.monotonic() - started
    print(f"switch mode, {args.rockets:,} rockets, seed {args.seed}; ASLR {'off' if prefix else 'on'}; "
          f"method of the harness: {harness[0].method}")
    print(f"{'scheduler':<10} {'harness Ir':>14} {'difference Ir':>14} {'ratio':>8} "
          f"{'Ir/resume (harness)':>20} {'Ir/resume (diff.)':>18}")
    worst = 0.0
    for result, other in zip(harness, independent, strict=True):
        count = result.instructions[0]
        ratio = other / count
        worst = max(worst, abs(ratio - 1))
        print(f"{result.target:<10} {count:>14,} {other:>14,} {ratio:>8.4f} "
              f"{count / result.denominator:>20,.1f} {other / result.denominator:>18,.1f}")
    print(f"largest disagreement {worst:.3%} (tolerance {args.tolerance:.0%}); "
          f"harness {harness_s:.1f} s, difference method {independent_s:.1f} s")
    return 0 if worst <= args.tolerance else 1


def survey(args: argparse.Namespace, workdir: Path) -> int:
    # Names only: the schedulers themselves are imported in the Valgrind children alone.
    names = sorted({ep.name for ep in md.entry_points(group=ENTRY_POINT_GROUP)})
    if args.schedulers:
        names = [s.strip() for s in args.schedulers.split(",") if s.strip()]
    jobs = [InstructionJob(name, mode, args.rockets, args.seed, repeats=args.repeats)
            for name in names for mode in ("switch", "virtual")]

    def progress(result: InstructionResult) -> None:
        figure = f"{result.per_unit:,.0f} Ir/unit" if result.per_unit is not None else "; ".join(result.reasons)
        print(f"  {result.target:<10} {result.mode:<8} {result.status:<8} {figure}  ({result.elapsed_s:.1f} s)",
              flush=True)

    started = time.monotonic()
    results = run_instruction_jobs(jobs, workdir=workdir, parallel=args.parallel, on_done=progress)
    wall = time.monotonic() - started
    print(f"\n{args.rockets:,} rockets, seed {args.seed}, {args.repeats} repeats per job, {args.parallel} at a time; "
          f"method {results[0].method}; pinned: {dict(results[0].pinned)}")
    print(f"{'scheduler':<10} {'Ir/resume':>10} {'drift':>9} {'warmed':>7} {'Ir/wake (virtual)':>18} {'drift':>9} "
          f"{'job s':>7}")
    for name in names:
        switch = next(r for r in results if r.target == name and r.mode == "switch")
        virtual = next(r for r in results if r.target == name and r.mode == "virtual")
        print(f"{name:<10} {_unit(switch):>10} {_drift(switch):>9} {switch.warmed!s:>7} {_unit(virtual):>18} "
              f"{_drift(virtual):>9} {switch.elapsed_s + virtual.elapsed_s:>7.1f}")
    print(f"wall time of the survey: {wall:.1f} s")
    return 0 if all(r.status in ("valid", "early", "skipped") for r in results) else 1


def _unit(result: InstructionResult) -> str:
    return f"{result.per_unit:,.0f}" if result.per_unit is not None else result.status


def _drift(result: InstructionResult) -> str:
    return f"{result.drift:.4%}" if len(result.instructions) > 1 else "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", nargs="?", choices=("check", "survey"), default="check")
    parser.add_argument("--schedulers", default=None,
                        help=f"comma-separated (check: {','.join(DEFAULT_SCHEDULERS)}; survey: every registered one)")
    parser.add_argument("--rockets", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1969)
    parser.add_argument("--repeats", type=int, default=2, help="survey: Valgrind processes per job")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--workdir", type=Path, default=None, help="keep Valgrind's files here (default: a temp dir)")
    args = parser.parse_args(argv)
    problem = valgrind_problem()
    if problem is not None:
        print(problem)
        return 2
    if args.command == "check" and args.schedulers is None:
        args.schedulers = ",".join(DEFAULT_SCHEDULERS)
    with tempfile.TemporaryDirectory(prefix="schedbench-instructions-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        return check(args, workdir) if args.command == "check" else survey(args, workdir)


if __name__ == "__main__":
    sys.exit(main())
