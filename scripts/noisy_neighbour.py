"""A reproducible noisy neighbour: memory-bound work switching on and off at random.

The regression gate's error rates depend on what else runs on the machine. This script is
that "something else", shipped so anyone can reproduce a shared machine's noise on purpose:

* **Memory-bound**, not CPU-bound: each worker streams copies and cache-line-strided sums
  over arrays far bigger than the last-level cache. That evicts the benchmark's cache lines
  and competes for memory bandwidth, which a CPU-bound neighbour pinned to another core
  would hardly disturb.
* **Random on/off phases lasting seconds**: noise whose timescale is comparable to one
  measurement block hits one side of a block-wise A/B comparison (all A, then all B) and
  not the other, which is what makes such a comparison lie. Paired interleaving (A B A B,
  short blocks, as ``bench gate`` does) cancels it; this makes the difference visible.
* **Seeded**: the seed (printed) fixes the schedule of phase lengths; ``--log`` appends one
  JSON line per phase change (``t`` = Unix time) to relate a gate's outcome to the noise.

On a 2-core machine, one worker shares the benchmark's machine without taking its core:

    .venv/bin/python scripts/noisy_neighbour.py --seed 1 --log results/scratch/noise.jsonl &
    .venv/bin/python -m bench gate main HEAD
    kill %1

Arguments: ``--duration SECONDS`` (0 or absent: until SIGTERM/SIGINT), ``--workers K``
processes (default 1), ``--on``/``--off MIN-MAX`` seconds per phase (default 1-6),
``--size-mb M`` working set per worker (default 64). Bad input: one line, exit 2.
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
from typing import Any, NoReturn, TextIO

import numpy as np

BLOCK = 2**18  # float64 elements per step (2 MB): milliseconds of work between checks of the phase
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_RANGE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*-\s*(\d+(?:\.\d*)?|\.\d+)\s*")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def _number(text: str, what: str, low: float, strict: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < low or (strict and value == low):
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; use {what} {'>' if strict else '>='} {low:g}")
    return value


def duration(text: str) -> float:
    return _number(text, "a number of seconds", 0, strict=False)


def size_mb(text: str) -> float:
    return _number(text, "a number of megabytes", 0, strict=True)


def workers(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; use a whole number of processes >= 1")
    return int(text)


def phase_range(text: str) -> tuple[float, float]:
    match = _RANGE.fullmatch(text)
    low, high = (float(match[1]), float(match[2])) if match else (math.nan, math.nan)
    if not (0 <= low <= high and high > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; use MIN-MAX seconds with 0 <= MIN <= MAX, "
                                         "MAX > 0, e.g. 1-6")
    return low, high


def _work(on: Any, stop: Any, ready: Any, mb: float, parent: int) -> None:
    """One worker: stream through two arrays while ``on`` is set; sleep on the event otherwise."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop; SIGTERM ends us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    n = max(1, int(mb * 2**20 / 16))  # two float64 arrays of mb/2 each
    src, dst = np.arange(n, dtype=np.float64), np.zeros(n, dtype=np.float64)
    block, pos = min(BLOCK, n), 0
    ready.release()
    while not stop.is_set() and os.getppid() == parent:
        if not on.wait(0.25):  # off: sleep, waking only to notice an orphaned worker
            continue
        while on.is_set() and os.getppid() == parent:
            np.copyto(dst[pos:pos + block], src[pos:pos + block])
            other = (pos + n // 2) % n  # a region not just touched: one float per 64-byte line
            src[other:other + block:8].sum()
            pos = pos + block if pos + block < n else 0


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def _log(out: TextIO | None, phase: str, seed: int) -> None:
    if out is not None:
        out.write(json.dumps({"t": round(time.time(), 3), "phase": phase, "seed": seed}) + "\n")
        out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="noisy_neighbour.py", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=duration, default=0.0, help="seconds to run; 0: until SIGTERM/SIGINT")
    parser.add_argument("--seed", type=int, default=None, help="seed of the phase schedule (default: random)")
    parser.add_argument("--workers", type=workers, default=1, help="worker processes (default 1)")
    parser.add_argument("--on", type=phase_range, default=(1.0, 6.0), help="seconds per on phase (default 1-6)")
    parser.add_argument("--off", type=phase_range, default=(1.0, 6.0), help="seconds per off phase (default 1-6)")
    parser.add_argument("--size-mb", type=size_mb, default=64.0, help="working set per worker (default 64)")
    parser.add_argument("--log", default=None, metavar="FILE", help="append one JSON line per phase change")
    args = parser.parse_args(argv)
    seed = secrets.randbits(32) if args.seed is None else args.seed
    try:
        out = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115
    except OSError as exc:
        parser.error(f"argument --log: cannot append to {args.log!r}: {exc.strerror}")
    print(f"noisy_neighbour: seed {seed}, {args.workers} worker(s) x {args.size_mb:g} MB, on {args.on[0]:g}-"
          f"{args.on[1]:g} s, off {args.off[0]:g}-{args.off[1]:g} s, duration {args.duration or 'unlimited'}",
          flush=True)
    ctx = mp.get_context("spawn")
    on, stop, ready = ctx.Event(), ctx.Event(), ctx.Semaphore(0)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stop)
    procs: list[Any] = []
    reason, status, phase = "duration over", 0, "off"
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # no stop half-way through starting a child
        procs = [ctx.Process(target=_work, args=(on, stop, ready, args.size_mb, os.getpid()), daemon=True)
                 for _ in range(args.workers)]
        for proc in procs:
            proc.start()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        started = 0
        while started < len(procs):
            if ready.acquire(timeout=0.2):
                started += 1
            elif not all(proc.is_alive() for proc in procs):
                reason, status = "a worker failed to start", 1
                raise _Stop(reason)
        rng = random.Random(seed)
        end = time.monotonic() + args.duration if args.duration else math.inf
        while (now := time.monotonic()) < end:
            phase = "on" if phase == "off" else "off"
            on.set() if phase == "on" else on.clear()
            _log(out, phase, seed)
            time.sleep(max(0.0, min(now + rng.uniform(*(args.on if phase == "on" else args.off)), end)
                           - time.monotonic()))
    except _Stop as exc:
        reason = str(exc)
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        on.clear()
        stop.set()
        for proc in procs:
            if proc.pid is not None:
                proc.join(timeout=2)
                if proc.is_alive():
                    proc.terminate()
                    proc.join()
        _log(out, "stop", seed)
    print(f"noisy_neighbour: stopped ({reason})", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
