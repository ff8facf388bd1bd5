"""The servers of one (size, connections) cell, swept interleaved: one point each, in turn.

Why interleaved: on a shared 2-core VM the machine itself is faster in some minutes than
in others (the same server's CPU per request differed by 10–15 % between two sweeps run one
after the other, in opposite directions for different servers). Swept one after another,
a server's knee takes the speed of the minute it was measured in, and the ranking follows
the minutes. Swept in rounds (each server's plan, ``echo_sweep.sweep_plan``, advances by
one point per round, the order rotating each round), every server's points are spread over
the whole sweep, as the paired gate interleaves its two sides for the same reason.

Cost: every server of the cell serves for the whole sweep (idle servers sleep in their
poll and take no CPU); a server that fails is ended at once and its plan dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from bench.measure.echo_sweep import ServerSweep, ServerUnderTest, SweepSettings, sweep_plan


def sweep_cell(servers: Sequence[ServerSweep], settings: SweepSettings, workdir: Path,
               finished: Callable[[ServerSweep], None] | None = None) -> list[ServerSweep]:
    """Sweep ``servers`` (their outcomes are filled in place) in rounds; ``finished`` is
    called as each one's plan ends (its syscalls still to count)."""
    under_test = [ServerUnderTest(out, settings, workdir / f"{i}-{out.scheduler}-{out.variant}")
                  for i, out in enumerate(servers)]
    try:
        plans = {}
        for test in under_test:
            why = test.server.wait_started()
            if why is not None:
                test.out.status, test.out.reasons = "failed", [f"the server did not start: {why}"]
                test.server.stop()
                _tell(finished, test.out)
                continue
            plan = sweep_plan(test.out, settings)
            plans[id(test)] = (test, plan, next(plan))
        turn = 0
        while plans:
            order = list(plans.values())
            shift = turn % len(order)
            for test, plan, params in order[shift:] + order[:shift]:
                try:
                    _, point = test.measured(params)
                    plans[id(test)] = (test, plan, plan.send(point))
                except StopIteration:
                    del plans[id(test)]
                    _tell(finished, test.out)
                except RuntimeError as exc:
                    test.out.status, test.out.reasons = "failed", [*test.out.reasons, str(exc)]
                    plan.close()
                    del plans[id(test)]
                    test.server.stop()
                    _tell(finished, test.out)
            turn += 1
        for test in under_test:
            try:
                test.count_syscalls()
            except RuntimeError as exc:
                test.out.status, test.out.reasons = "failed", [*test.out.reasons, str(exc)]
    finally:
        for test in under_test:
            test.server.stop()
    return list(servers)


def _tell(finished: Callable[[ServerSweep], None] | None, out: ServerSweep) -> None:
    if finished is not None:
        finished(out)
