"""A reproducible noisy neighbour: memory-bound work switching on and off at random.

The regression gate's error rates depend on what else runs on the machine; this script is
that "something else", shipped so anyone can reproduce a shared machine's noise on purpose.

* **Memory-bound**: each worker streams copies and cache-line-strided sums over arrays far
  bigger than the last-level cache. That evicts the benchmark's cache lines and competes for
  memory bandwidth, which a CPU-bound neighbour pinned to another core would hardly disturb.
* **Random on/off phases lasting seconds**: noise on the timescale of a measurement block
  hits one side of a block-wise A/B comparison (all A, then all B) and not the other; that
  is what defeats it. Paired interleaving (A B A B, as ``bench gate`` does) cancels it.
* **Seeded**: the seed (printed) fixes the schedule; ``--log`` appends one JSON line per
  phase change (``t`` = Unix time) to relate a gate's outcome to the noise.

On a 2-core machine one worker (the default) leaves the benchmark a core of its own:

    .venv/bin/python scripts/noisy_neighbour.py --seed 1 --log results/scratch/noise.jsonl &
    .venv/bin/python -m bench gate main HEAD
    kill %1    # or --duration SECONDS; SIGTERM/SIGINT end it cleanly with its workers
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import re
import secrets
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn, TextIO

import numpy as np

BLOCK = 2**18  # float64 elements per step (2 MB): well under 10 ms of work between checks of the phase
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage block
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def _number(what: str, low: int, strict: bool = False, kind: Callable[[str], float] = float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and (value > low if strict else value >= low)):
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; use {what} {'>' if strict else '>='} {low}")
        return value
    return parse


def phase_range(text: str) -> tuple[float, float]:
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*-\s*(\d+(?:\.\d*)?|\.\d+)\s*", text)
    low, high = (float(match[1]), float(match[2])) if match else (math.nan, math.nan)
    if not (low <= high and high > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; use MIN-MAX seconds, 0 <= MIN <= MAX, MAX > 0")
    return low, high


def _work(on: Any, stop: Any, ready: Any, mb: float, parent: int) -> None:
    """One worker: stream through two arrays while ``on`` is set; sleep on the event otherwise."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop; SIGTERM ends us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    n = max(1, int(mb * 2**20 / 16))  # two float64 arrays of mb/2 each
    src, dst = np.arange(n, dtype=np.float64), np.zeros(n, dtype=np.float64)
    block, pos = min(BLOCK, n), 0
    ready.release()
    while not stop.is_set() and os.getppid() == parent:  # an orphaned worker ends too
        if not on.wait(0.25):  # off: sleep
            continue
        while on.is_set() and os.getppid() == parent:
            np.copyto(dst[pos:pos + block], src[pos:pos + block])
            other = (pos + n // 2) % n  # a region not just touched: one float per 64-byte line
            src[other:other + block:8].sum()
            pos = pos + block if pos + block < n else 0


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # a second signal must not interrupt the clean-up
    raise _Stop(signal.Signals(signum).name)


def _log(out: TextIO | None, phase: str, seed: int) -> None:
    if out is not None:
        print(json.dumps({"t": round(time.time(), 3), "phase": phase, "seed": seed}), file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="noisy_neighbour.py", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=_number("a number of seconds", 0), default=0.0,
                        help="seconds to run; 0: until SIGTERM/SIGINT")
    parser.add_argument("--seed", type=int, default=None, help="seed of the phase schedule (default: random)")
    parser.add_argument("--workers", type=_number("a whole number", 1, kind=int), default=1, help="default 1")
    parser.add_argument("--on", type=phase_range, default=(1.0, 6.0), help="seconds per on phase (default 1-6)")
    parser.add_argument("--off", type=phase_range, default=(1.0, 6.0), help="seconds per off phase (default 1-6)")
    parser.add_argument("--size-mb", type=_number("a number of megabytes", 0, strict=True), default=64.0,
                        help="working set per worker (default 64)")
    parser.add_argument("--log", default=None, metavar="FILE", help="append one JSON line per phase change")
    args = parser.parse_args(argv)
    seed = secrets.randbits(32) if args.seed is None else args.seed
    try:
        out = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115
    except OSError as exc:
        parser.error(f"argument --log: cannot append to {args.log!r}: {exc.strerror}")
    ranges = ", ".join(f"{name} {lo:g}-{hi:g} s" for name, (lo, hi) in (("on", args.on), ("off", args.off)))
    print(f"noisy_neighbour: seed {seed}, {args.workers} worker(s) x {args.size_mb:g} MB, {ranges}, "
          f"duration {args.duration or 'unlimited'}", flush=True)
    ctx = mp.get_context("spawn")
    on, stop, ready = ctx.Event(), ctx.Event(), ctx.Semaphore(0)
    procs: list[Any] = []
    reason, status, phase = "duration over", 0, "off"
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # no stop half-way through starting a child
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stop)
    try:
        procs = [ctx.Process(target=_work, args=(on, stop, ready, args.size_mb, os.getpid()), daemon=True)
                 for _ in range(args.workers)]
        for proc in procs:
            proc.start()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # a signal that came meanwhile stops us here
        for _ in procs:
            while not ready.acquire(timeout=0.2):
                if not all(proc.is_alive() for proc in procs):
                    reason, status = "a worker failed to start", 1
                    raise _Stop(reason)
        rng = random.Random(seed)
        end = time.monotonic() + args.duration if args.duration else math.inf
        while (now := time.monotonic()) < end:
            phase = "on" if phase == "off" else "off"
            on.set() if phase == "on" else on.clear()
            _log(out, phase, seed)
            length = rng.uniform(*(args.on if phase == "on" else args.off))
            time.sleep(max(0.0, min(now + length, end) - time.monotonic()))
    except _Stop as exc:
        reason = str(exc)
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # pending signals die with us, unhandled
        on.clear()
        stop.set()
        for proc in (p for p in procs if p.pid is not None):
            proc.join(timeout=2)
            proc.terminate()  # only if it is still running
            proc.join()
        _log(out, "stop", seed)
    print(f"noisy_neighbour: stopped ({reason})", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
