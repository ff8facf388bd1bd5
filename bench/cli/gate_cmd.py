"""``bench gate BASE HEAD``: the paired wall-time and timer gate, from the command line.

Everything that can be wrong with the input is found before anything is measured: each
side is resolved and checked (``bench.gate.sides``), both sides must register the same
schedulers (or ``-s`` names ones both have), and the flags are checked by their types.
Exit codes: 0 no gated regression, 1 a regression or a failed side, 2 bad input, 130 stopped
(the pairs measured so far are written, marked incomplete).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

from bench.cli import args as A
from bench.cli.errors import EXIT_FAILURES, EXIT_OK, CLIError
from bench.gate import sides as S
from bench.gate.paired import GateSettings
from bench.gate.session import run_gate, same_sides
from bench.measure.suite import Interrupted, sigterm_as_interrupt
from bench.present.gate_table import gate_table
from bench.results import writable
from bench.results.fields import ResultsError
from bench.results.store import refuse_unsafe_output
from bench.workload.rockets import DEFAULT_SEED

DEFAULT_OUTPUT: Final = Path("results/gate.json")
DEFAULT_ROCKETS: Final = 2_000
DEFAULT_TIME_SCALE: Final = 0.05
#: Minimal effects (relative); docs/regressions.md justifies them from the A/A campaign.
DEFAULT_MIN_EFFECT: Final = {"process": 0.02, "in-process": 0.01, "lateness": 0.10}
DEFAULT_BUDGET_S: Final = 180.0
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]


def fraction(text: str) -> float:
    value = A.positive_number(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; give a relative effect such as 0.02 (2 %)")
    return value


def add_gate_parser(sub: Any) -> None:
    p = sub.add_parser("gate", help="paired A/B gate: wall time and timers of BASE against HEAD on this machine",
                       description="Measure BASE (A) and HEAD (B) side by side, pair after pair, and decide per "
                                   "scheduler and figure: regression, improvement, no change or inconclusive. "
                                   "A side is a git ref, a directory with a checkout, or an interpreter "
                                   "(--python-a/--python-b).")
    p.add_argument("base", nargs="?", default=None, metavar="BASE",
                   help="git ref or directory (default: the merge-base of HEAD with main)")
    p.add_argument("head", nargs="?", default=".", metavar="HEAD",
                   help="git ref or directory (default: this checkout as it is)")
    p.add_argument("--python-a", type=A.interpreter, default=None, help="side A is this interpreter's schedbench")
    p.add_argument("--python-b", type=A.interpreter, default=None, help="side B is this interpreter's schedbench")
    p.add_argument("--scheduler", "-s", type=A.names, default=None)
    p.add_argument("--mode", type=A.modes, default=None, help="switch, timed or both (default: switch,timed)")
    p.add_argument("--rockets", type=A.positive_int, default=DEFAULT_ROCKETS)
    p.add_argument("--seed", type=A.seed, default=DEFAULT_SEED)
    p.add_argument("--time-scale", type=A.time_scale, default=DEFAULT_TIME_SCALE)
    p.add_argument("--level", choices=("process", "in-process"), default=None,
                   help="force one level (default: in-process where sound, else process)")
    p.add_argument("--min-effect", type=fraction, default=DEFAULT_MIN_EFFECT["process"],
                   help="smallest change that counts at the process level (default 0.02)")
    p.add_argument("--min-effect-in-process", type=fraction, default=DEFAULT_MIN_EFFECT["in-process"])
    p.add_argument("--min-effect-lateness", type=fraction, default=DEFAULT_MIN_EFFECT["lateness"])
    p.add_argument("--budget", type=A.positive_number, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                   help="time per scheduler (default 180); undecided figures are inconclusive")
    p.add_argument("--run-limit", type=A.run_limit, default=30.0)
    p.add_argument("--order-seed", type=A.seed, default=None, help="seed of the A/B order (default: random)")
    p.add_argument("--output", "-o", type=Path, default=DEFAULT_OUTPUT)
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (a CI job summary)")


def registered(side: S.ResolvedSide) -> list[str]:
    script = ("import importlib.metadata as md\n"
              "print('\\n'.join(ep.name for ep in md.entry_points(group='schedbench.schedulers')))\n")
    proc = subprocess.run([side.python, "-c", script], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(side.root)})
    if proc.returncode != 0:
        raise CLIError(f"side {side.label} ({side.spec}): cannot list its schedulers")
    return [line for line in proc.stdout.split() if line]


def schedulers_for(a: S.ResolvedSide, b: S.ResolvedSide, wanted: list[str] | None) -> list[str]:
    la, lb = registered(a), registered(b)
    if wanted is None:
        if set(la) != set(lb):
            only_a, only_b = sorted(set(la) - set(lb)), sorted(set(lb) - set(la))
            raise CLIError(f"the sides register different schedulers (only in A: {', '.join(only_a) or 'none'}; "
                           f"only in B: {', '.join(only_b) or 'none'}); name the ones to gate with -s")
        return la
    for name in wanted:
        for side, listed in ((a, la), (b, lb)):
            if name not in listed:
                raise CLIError(f"side {side.label} ({side.spec}) has no scheduler {name!r}; it has: "
                               f"{', '.join(listed)}")
    return wanted


def cmd_gate(ns: argparse.Namespace) -> int:
    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    refuse_unsafe_output(ns.output)
    writable.check_file(ns.output, "the gate file")  # before the sides are built and measured
    if ns.base is None and ns.python_a is None:
        ns.base = S.default_base(PROJECT_ROOT)
    try:
        a = S.resolve("A", ns.base, ns.python_a, PROJECT_ROOT, log)
        b = S.resolve("B", None if ns.python_b else ns.head, ns.python_b, PROJECT_ROOT, log)
    except S.SideError as exc:
        raise CLIError(str(exc)) from None
    names = schedulers_for(a, b, ns.scheduler)
    modes = ns.mode or ["switch", "timed"]
    order_seed = ns.order_seed if ns.order_seed is not None else int.from_bytes(os.urandom(4), "big")
    settings = GateSettings(
        schedulers=names, modes=modes, rockets=ns.rockets, seed=ns.seed, time_scale=ns.time_scale, level=ns.level,
        min_effect={"process": ns.min_effect, "in-process": ns.min_effect_in_process,
                    "lateness": ns.min_effect_lateness},
        budget_s=ns.budget, run_limit_s=ns.run_limit, memory_limit_mb=0, order_seed=order_seed)
    if same_sides(a, b):
        log("A/A run: both sides are the same tree and interpreter (an error-rate check, not a comparison)")
    log(f"gate: {len(names)} scheduler(s) × {', '.join(modes)}; A = {a.spec} ({a.root}), B = {b.spec} ({b.root}); "
        f"≤ {ns.budget:g} s each -> {ns.output}")
    command = "python -m bench " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    try:
        with sigterm_as_interrupt():
            document = run_gate(settings, a, b, ns.output, command, log, Interrupted)
    except Interrupted:
        raise KeyboardInterrupt from None
    except OSError as exc:
        # The gate file is rewritten after every mode and was tried up front: this is most
        # likely the disk filling during the gate. ``dump_gate`` keeps no copy, so say
        # plainly what is lost rather than print a traceback.
        raise ResultsError(f"the gate stopped: {writable.describe(exc)}; pairs measured since the last save of "
                           f"{ns.output} are lost") from None
    print(gate_table(document, markdown=ns.markdown))
    log(f"written to {ns.output}; `python -m reports {ns.output}` draws its forest plot")
    return EXIT_OK if document.passed else EXIT_FAILURES
