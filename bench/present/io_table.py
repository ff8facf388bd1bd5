"""The io mode's table: what each scheduler costs per readiness wake, over the I/O floor.

Ranked by overhead (cost per resume less the I/O floor's, both measured in the same suite)
when the file has the floor, else by cost per resume. Spurious wakes (a resume through
``readable`` with nothing to read) stand beside the figures, as early wakes do in timed
mode: counted, never a status.
"""

from __future__ import annotations

from bench.present import noise, units
from bench.present.table_parts import Table, best_run, num, ranks, row, sorted_runs
from bench.results.model import Document, RunRecord


def _cpu_per_wake_us(run: RunRecord) -> float | None:
    values = [p.cpu_per_wake_us for p in run.processes if p.cpu_per_wake_us is not None]
    return sum(values) / len(values) if values else None


def _instructions(run: RunRecord) -> float | None:
    return None if run.instructions is None else run.instructions.per_unit


def _instruction_io_table(doc: Document, runs: list[RunRecord]) -> Table:
    floor = doc.body_floor_instructions.get("io-floor")
    key = doc.overhead_instructions if floor is not None else _instructions
    ordered = sorted_runs(runs, key)
    best = best_run(ordered, key)
    rows = [row(run, [
        num(place),
        num(units.instructions(doc.overhead_instructions(run)), run is best and floor is not None),
        num(units.instructions(_instructions(run)), run is best and floor is None),
        num(units.times(None if floor is None or not floor.per_unit or _instructions(run) is None
                        else _instructions(run) / floor.per_unit)),  # type: ignore[operator]
    ]) for run, place in zip(ordered, ranks(ordered, key), strict=True)]
    foot = (f"I/O floor (raw epoll): {units.instructions(floor.per_unit)} instructions per resume. "
            if floor is not None else "No I/O floor in this file. ")
    return Table("Waiting on sockets: instructions each scheduler adds per resume (io mode, Valgrind, run() alone)",
                 ["rank", "overhead instr", "instr/resume", "× I/O floor"], rows,
                 foot + "Instructions count user space only: the kernel's work in each system call is not in them.")


def io_table(doc: Document) -> Table | None:
    runs = doc.runs_in("io")
    if not runs:
        return None
    if doc.workload.measure == "instructions":
        return _instruction_io_table(doc, runs)
    has_floor = doc.io_floor is not None
    key = doc.io_overhead_ns if has_floor else doc.switch_ns
    ordered = sorted_runs(runs, key)
    best, best_cpu = best_run(ordered, key), best_run(ordered, _cpu_per_wake_us)
    rows = []
    for run, place in zip(ordered, ranks(ordered, key), strict=True):
        over = noise.overhead(doc, run)
        rows.append(row(run, [
            num(place),
            num(units.ns(None) if over is None else over.text,
                run is best and over is not None and not over.noise),
            num(units.ns(doc.switch_ns(run)), run is best and not has_floor),
            num(units.us(_cpu_per_wake_us(run)), run is best_cpu),
            num(units.count(run.spurious_wakes)),
            num(units.count(run.wasted)),
        ]))
    size = next((r.message_size for r in runs if r.message_size), 1)
    rockets = next((r.rockets for r in runs if r.rockets), doc.workload.rockets)
    floor = f"I/O floor (raw epoll, each socket registered once): {units.ns(doc.io_floor.mean_ns)} ns per resume; " \
        if doc.io_floor is not None else "No I/O floor in this file: ranked by cost per resume. "
    foot = (f"{floor}overhead = cost per resume − the I/O floor; ≈ 0 (± b): within the noise of the run and the "
            f"floor. io mode: {rockets // 2:,} socket pairs, "
            f"{size:,}-byte messages; a resume is a rocket's start or a readiness wake. Spurious: wakes through "
            "readable() with nothing to read; polls: resumes that found nothing ready.")
    return Table("Waiting on sockets: what each scheduler adds per readiness wake (io mode, wall time per resume)",
                 ["rank", "overhead ns", "cost ns", "CPU/wake µs", "spurious", "polls"], rows, foot)
