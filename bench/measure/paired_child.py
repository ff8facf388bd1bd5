"""The paired gate's child: rounds of one workload on one or two sides, values per run.

Handler ``paired-rounds`` of ``bench.measure.isolate``. Parameters: the ``sides`` to run (one
side at the process level, two at the in-process level, each ``{"label", "name", "root"}``),
``mode`` (``switch`` or ``timed``), ``rockets``, ``seed``, ``time_scale``, ``rounds``,
``warmup_rounds`` and ``order_seed``. Each round runs every side once on the same workload
object, in an order drawn afresh each round (so neither side always runs first, right after
the collector or the other side's garbage), and sends the round's figures to the parent.

Figures per run: ``switch_ns`` (wall time per useful resume) in switch mode;
``cpu_per_wake_us``, ``lateness_p50_us`` and ``lateness_p99_us`` in timed mode on the real
clock. Every run is validated as in the suite (``execute_once``); a run that is not VALID
or EARLY ends the child with that side named, since a gate must not compare a broken run.

A side's scheduler comes from that side's tree (``bench.measure.side_loader``) when its
module lives there; a third-party plugin comes from this interpreter's environment (the
process level gives each side its own interpreter for that).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure.execute import RunOutcome, SchedulerCrashed, execute_once
from bench.measure.registry import SchedulerEntry, check_contract, registrations
from bench.measure.side_loader import SideModules, load_side
from bench.workload.rockets import Workload
from bench.workload.status import Status

RANKED = (Status.VALID, Status.EARLY)


class SideFailed(Exception):
    """A side could not be loaded or one of its runs was not valid; the message names it."""


def _entry(side: Mapping[str, Any]) -> tuple[SchedulerEntry, SideModules | None]:
    name, label = str(side["name"]), str(side["label"])
    registration = next((r for r in registrations() if r.key == name), None)
    if registration is None:
        raise SideFailed(f"side {label}: no scheduler named {name!r} is registered in its environment")
    root = Path(side["root"]) if side.get("root") else None
    target = registration.ep.value
    package = target.split(":")[0].split(".")[0]
    if root is None or not ((root / package).is_dir() or (root / f"{package}.py").is_file()):
        entry = registration.load()  # a plugin installed in this side's environment
        if not entry.available:
            raise SideFailed(f"side {label}: {name}: {entry.error}")
        return entry, None
    try:
        modules, cls = load_side(label, root, target)
    except Exception as exc:  # the side's module may raise anything while importing
        raise SideFailed(f"side {label}: {name} could not be loaded from {root}: {type(exc).__name__}: {exc}") from exc
    problem = check_contract(cls)
    if problem is not None:
        raise SideFailed(f"side {label}: {name}: {problem}")
    return SchedulerEntry(name, f"side {label}", target, cls=cls), modules


def shares_process_state(entry: SchedulerEntry) -> bool:
    """A loop installed once per process (a reactor, a hub, process-wide handlers): declared
    by the plugin (``shares_process_state = True``), or implied by one run per process."""
    return bool(getattr(entry.cls, "shares_process_state", False)) or entry.one_run_per_process


def figures(outcome: RunOutcome) -> dict[str, float]:
    if outcome.workload.mode == "switch":
        return {"switch_ns": outcome.wall_s / outcome.resumes_for_cost * 1e9}
    lateness_us = np.asarray(outcome.lateness_s) * 1e6
    return {"cpu_per_wake_us": outcome.cpu_s / max(1, len(lateness_us)) * 1e6,
            "lateness_p50_us": float(np.percentile(lateness_us, 50)),
            "lateness_p99_us": float(np.percentile(lateness_us, 99))}


def _run(entry: SchedulerEntry, modules: SideModules | None, workload: Workload, label: str) -> dict[str, float]:
    if modules is not None:
        modules.activate()
    try:
        outcome = execute_once(entry, workload, "real")
    except SchedulerCrashed as exc:
        raise SideFailed(f"side {label}: {entry.name} crashed: {exc}") from None
    if outcome.verdict.status not in RANKED:
        raise SideFailed(f"side {label}: {entry.name} is {outcome.verdict.status.value}: {outcome.verdict.explain()}")
    return figures(outcome)


def handle(params: Mapping[str, Any], channel: Any) -> dict[str, Any]:
    workload = Workload.generate(int(params["rockets"]), int(params["seed"]),
                                 "timed" if params["mode"] == "timed" else "switch",
                                 float(params.get("time_scale") or 1.0))
    try:
        sides = [(str(s["label"]), *_entry(s)) for s in params["sides"]]
        if len(sides) > 1:
            refused = [entry.name for _, entry, _ in sides if shares_process_state(entry)]
            if refused:
                return {"refused": f"{refused[0]} keeps process-global state (its loop, hub or reactor is "
                                   f"installed once per process), so its two versions cannot share a process"}
        order_rng = random.Random(int(params["order_seed"]))
        warmups, wanted = int(params["warmup_rounds"]), int(params["rounds"])
        if any(entry.one_run_per_process for _, entry, _ in sides):
            warmups, wanted = 0, 1  # its loop runs once per process: one cold run is all there is
        rounds = []
        for index in range(warmups + wanted):
            order = list(sides)
            order_rng.shuffle(order)
            values = {label: _run(entry, modules, workload, label) for label, entry, modules in order}
            if index >= warmups:
                rounds.append({"order": "".join(label for label, _, _ in order), "values": values})
                channel.send({"round": len(rounds)})
    except SideFailed as exc:
        return {"failed": str(exc)}
    return {"rounds": rounds}
