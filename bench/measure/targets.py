"""Resolve what a worker was asked to measure: a registered scheduler, or a floor driver.

Body floor drivers (``body-floor/generator`` …) and the I/O floor (``io-floor``) follow the
scheduler protocol but are not registered as entry points: they are the harness's own
reference loops, never a contender.
"""

from __future__ import annotations

from bench.measure.io_floor import IO_FLOOR_NAME, io_floor_entry
from bench.measure.registry import SchedulerEntry, load_named

BODY_FLOOR_PREFIX = "body-floor/"


def body_floor_name(dialect: str) -> str:
    return f"{BODY_FLOOR_PREFIX}{dialect}"


def load_target(name: str) -> SchedulerEntry:
    """The entry to run for ``name``; an unknown one comes back unavailable with the reason."""
    if name.startswith(BODY_FLOOR_PREFIX):
        from bench.measure.body_floor import body_floor_entry

        dialect = name.removeprefix(BODY_FLOOR_PREFIX)
        try:
            entry = body_floor_entry(dialect)
        except (ValueError, ImportError) as exc:
            return SchedulerEntry(name, "built-in", "?", error=str(exc))
        return SchedulerEntry(name, entry.origin, entry.target, cls=entry.cls)
    if name == IO_FLOOR_NAME:
        return io_floor_entry()
    return load_named(name)
