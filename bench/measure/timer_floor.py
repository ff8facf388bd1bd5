"""Timer floor: how late this machine wakes one thread for the workload's gaps.

A scheduler's timer lateness is the machine's wake-up latency plus what the loop adds.
This measures the first part alone: one task, no scheduler, waiting for the same gaps the
workload's wakes have at a time scale, and reports how late each wake came.

The gaps: rocket *i* wakes at ``(delay_i + k) × scale`` for ``k = 0 .. countdown_i``;
sorted, the distinct deadlines leave ``gaps`` between consecutive ones (``wake_gaps``).
Each gap is waited *from the previous actual wake* (``deadline = previous wake + gap``),
so lateness never piles up into a backlog, even when a gap is shorter than the wake-up
latency, as most are at small time scales. Lateness = actual wake − deadline, the way
the rocket bodies measure it.

Three ways to wait, each for the same gaps, interleaved in chunks of ``CHUNK`` gaps
(every chunk is run by each variant in turn, in a rotating order, so drift in the
machine's load falls evenly on all three):

* ``blocking``: ``RealClock.wait`` (``time.sleep``) with the thread's timer slack as it
  is (50 µs by default on Linux): what a loop that blocks per timer gets;
* ``blocking_low_slack``: the same with the slack lowered to 1 ns
  (``schedulers.timer_slack``: ``prctl(PR_SET_TIMERSLACK, 1)``, restored after each
  chunk); ``None`` where the platform or kernel does not allow it;
* ``spinning``: read ``RealClock.now`` until the deadline: no syscall, so what is left
  is the clock's own cost and the times the thread was descheduled (the hypervisor, other
  processes): the floor of any design on this machine.

Budget. Waiting every gap at time scale 1 takes about as long as the workload itself,
per variant. The gaps are therefore taken in a seeded random order (a random sample
without replacement, seeded by the workload's seed) and waited chunk by chunk until
``budget_s`` of wall time is spent, but never fewer than ``MIN_WAKES`` per variant nor
more than there are gaps. Trade-off: a random sample keeps the distribution of gap
lengths of the whole run (the first K gaps would over-represent the sparse start of the
workload, when only rockets with short delays wake), at the price of the gaps' order,
which does not matter for one task waking from its previous wake. A budget rather than a
fixed count bounds the run time at every scale: at small scales a blocking wake costs its
latency, not the much shorter gap. The minimum keeps p99 resting on ``MIN_WAKES / 100``
samples (p99.9 on a tenth of that: read it as a hint).

What the floor is not. It is pessimistic at small scales: a real loop that wakes late
serves every timer due by then at once, while this waits each gap separately. And it is
optimistic about stalls: when the thread is descheduled for a few ms (the hypervisor,
another process), that counts once here, but in a scheduler it delays every timer due
meanwhile, so a scheduler's p99 sits above the floor's by more than its own cost whenever
stalls are frequent.

What it measured on the development machine, at each scale and under load, with the
commands that reproduce it: docs/design.md, section 12.3.

``python -m bench.measure.timer_floor --rockets N --seed S --time-scale X --budget B``
prints one JSON object (``TimerFloor`` as a dict), for running it in a worker process.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bench.measure.clocks import RealClock
from bench.results.distributions import lateness_summary
from bench.workload.rockets import DEFAULT_ROCKETS, DEFAULT_SEED, Workload
from schedulers.timer_slack import current_timer_slack, timer_slack

#: Wakes per variant below which the budget is ignored (p99 rests on ~20 samples).
MIN_WAKES: Final = 2_000

#: Gaps per chunk: each chunk is waited by every variant in turn.
CHUNK: Final = 200

#: The lowered timer slack, ns (the smallest Linux accepts; 0 means "the default").
LOW_SLACK_NS: Final = 1

VARIANTS: Final = ("blocking", "blocking_low_slack", "spinning")


@dataclass(frozen=True)
class TimerFloor:
    """Lateness of one thread waiting the workload's gaps, per way of waiting.

    Percentile dicts are ``lateness_summary``'s: p50/p90/p99/p99_9/max/mean in µs.
    ``cpu_us_per_wake`` is process CPU time per wake for each variant (what a wake costs
    the machine: ~100 % of the wall time when spinning).
    """

    time_scale: float
    rockets: int
    seed: int
    gaps: int  # distinct-deadline gaps in the workload at this scale
    median_gap_us: float
    wakes: int  # per variant: every variant waits the same sampled gaps
    budget_s: float
    timer_slack_ns: int | None  # the thread's slack in the default-slack variant
    blocking: dict[str, float]
    blocking_low_slack: dict[str, float] | None
    spinning: dict[str, float]
    cpu_us_per_wake: dict[str, float | None]

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def wake_deadlines(workload: Workload) -> list[float]:
    """The workload's distinct wake deadlines in seconds, sorted, at its time scale."""
    scale = workload.time_scale
    return sorted({(r.delay + k) * scale for r in workload.rockets for k in range(r.countdown + 1)})


def wake_gaps(workload: Workload) -> list[float]:
    """Gaps between consecutive distinct deadlines, in deadline order (all > 0)."""
    deadlines = wake_deadlines(workload)
    return [b - a for a, b in itertools.pairwise(deadlines)]


def _wait_blocking(gaps: Sequence[float], late: list[float]) -> None:
    now, wait = RealClock.now, RealClock.wait
    append = late.append
    previous = now()
    for gap in gaps:
        deadline = previous + gap
        wait(deadline - now())
        previous = now()
        append(previous - deadline)


def _wait_spinning(gaps: Sequence[float], late: list[float]) -> None:
    now = RealClock.now
    append = late.append
    previous = now()
    for gap in gaps:
        deadline = previous + gap
        t = now()
        while t < deadline:
            t = now()
        previous = t
        append(t - deadline)


def _chunks(gaps: Sequence[float], size: int) -> Iterator[Sequence[float]]:
    for start in range(0, len(gaps), size):
        yield gaps[start:start + size]


def measure_timer_floor(workload: Workload, budget_s: float) -> TimerFloor:
    """Wait the workload's gaps three ways until ``budget_s`` is spent (see the module doc).

    The workload's mode is ignored: the gaps are those of its rockets at its time scale.
    """
    if not budget_s > 0:
        raise ValueError(f"budget_s must be > 0, got {budget_s!r}")
    gaps = wake_gaps(workload)
    order = list(gaps)
    random.Random(workload.seed).shuffle(order)
    low_slack_allowed = _low_slack_allowed()
    runners: dict[str, Callable[[Sequence[float], list[float]], None]] = {
        "blocking": _wait_blocking, "spinning": _wait_spinning,
    }
    if low_slack_allowed:
        runners["blocking_low_slack"] = _wait_blocking
    late: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, float] = dict.fromkeys(runners, 0.0)
    names = list(runners)
    waited = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # nothing here allocates tracked objects; no collection pauses either way
    started = time.perf_counter()
    try:
        for index, chunk in enumerate(_chunks(order, CHUNK)):
            rotation = index % len(names)
            for name in names[rotation:] + names[:rotation]:
                cpu0 = time.process_time()
                if name == "blocking_low_slack":
                    with timer_slack(LOW_SLACK_NS):
                        runners[name](chunk, late[name])
                else:
                    runners[name](chunk, late[name])
                cpu[name] += time.process_time() - cpu0
            waited += len(chunk)
            if waited >= MIN_WAKES and time.perf_counter() - started >= budget_s:
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    cpu_per_wake: dict[str, float | None] = {
        name: (cpu[name] / waited * 1e6 if name in cpu and waited else None) for name in VARIANTS
    }
    sampled = sorted(order[:waited])
    return TimerFloor(
        time_scale=workload.time_scale,
        rockets=workload.count,
        seed=workload.seed,
        gaps=len(gaps),
        median_gap_us=sampled[len(sampled) // 2] * 1e6 if sampled else 0.0,
        wakes=waited,
        budget_s=budget_s,
        timer_slack_ns=current_timer_slack(),
        blocking=lateness_summary(late["blocking"]),
        blocking_low_slack=lateness_summary(late["blocking_low_slack"]) if low_slack_allowed else None,
        spinning=lateness_summary(late["spinning"]),
        cpu_us_per_wake=cpu_per_wake,
    )


def _low_slack_allowed() -> bool:
    """Whether this thread's timer slack can be lowered (and is, briefly, to find out)."""
    with timer_slack(LOW_SLACK_NS) as changed:
        return changed and current_timer_slack() == LOW_SLACK_NS


def _positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def handle(params: Mapping[str, Any], channel: object) -> dict[str, Any]:
    """Isolation handler (``bench.measure.isolate``): the floor for one workload, as a dict."""
    workload = Workload.generate(int(params["rockets"]), int(params["seed"]), "timed", float(params["time_scale"]))
    return measure_timer_floor(workload, float(params["budget_s"])).as_dict()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.measure.timer_floor",
        description="How late this machine wakes one thread for the workload's gaps (JSON on stdout).",
    )
    parser.add_argument("--rockets", type=int, default=DEFAULT_ROCKETS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--time-scale", type=_positive_float, default=1.0)
    parser.add_argument("--budget", type=_positive_float, default=10.0,
                        help="seconds of wall time to spend, all variants together (default 10)")
    args = parser.parse_args(argv)
    if args.rockets < 1:
        parser.error(f"--rockets must be >= 1, got {args.rockets}")
    workload = Workload.generate(args.rockets, args.seed, "timed", args.time_scale)
    floor = measure_timer_floor(workload, args.budget)
    json.dump(floor.as_dict(), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
