"""Discover schedulers without importing a single plugin into this process.

Importing a plugin runs its code: it may call ``os._exit(0)`` or ``sys.exit``, hang, or
patch ``time`` and the harness at import time. The orchestrator (``python -m bench
list``, the suite's selection, the one-shot parent, the scaling sweep) only needs to know
what each entry *is*, so it asks a child process: the ``describe`` handler, started through
``bench.measure.isolate``, imports the entries one after another and sends a message before
each import and one describing the entry after it (whatever a plugin prints goes to
/dev/null). The parent, ``discover_isolated``, builds ``DescribedEntry`` objects from those
messages: every property of a ``SchedulerEntry`` (availability, error, dialect, virtual-clock
support and whatever optional attributes the registry exposes) except the class itself,
which the process that runs a scheduler loads for itself.

When a plugin ends the child (``os._exit``, a signal, a hang past ``IMPORT_TIMEOUT_S``),
that entry is listed as unavailable with what happened, and a new child carries on with
the entries after it: one plugin cannot hide the others.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from bench.measure import isolate
from bench.measure.child import Channel
from bench.measure.registry import Registration, SchedulerEntry, registrations
from schedulers.protocol import OPTIONAL_DEFAULTS

#: Seconds one entry's import may take in the child before it is killed and listed as
#: unavailable (heavy libraries such as Twisted import in about a second).
IMPORT_TIMEOUT_S: Final = 60.0

#: The properties a ``SchedulerEntry`` computes from its class; a ``DescribedEntry``
#: answers them from the child's description instead.
ENTRY_PROPERTIES: Final = frozenset(
    name for name, value in inspect.getmembers(SchedulerEntry) if isinstance(value, property)
)


@dataclass(frozen=True)
class DescribedEntry(SchedulerEntry):
    """A ``SchedulerEntry`` described by a child process: ``cls`` is None, every property
    (``available``, ``dialect``, ``supports_virtual_clock``, …) is the child's answer."""

    # Left out of the hash (dicts are unhashable; the base fields identify the entry).
    described: Mapping[str, Any] = field(default_factory=dict, hash=False)  # property name → value
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)  # optional class attributes

    def __getattribute__(self, attr: str) -> Any:
        if attr in ENTRY_PROPERTIES:
            described = object.__getattribute__(self, "described")
            if attr in described:
                return described[attr]
        return object.__getattribute__(self, attr)

    def option(self, attribute: str) -> object:
        return self.options.get(attribute, OPTIONAL_DEFAULTS[attribute])


# ---- child ------------------------------------------------------------------------------

def _plain(value: object) -> object:
    """``value`` if JSON carries it faithfully (None, bool, int, finite float, str), else a
    ``ValueError``: a plugin's attribute may be any object."""
    if value is None or type(value) in (bool, str):
        return value
    if type(value) is int and abs(value) < 2**63:
        return value
    if type(value) is float and math.isfinite(value):
        return value
    raise ValueError(type(value).__name__)


def describe(entry: SchedulerEntry) -> dict[str, Any]:
    """Everything about ``entry`` but its class, as JSON-safe values."""
    described: dict[str, Any] = {}
    for name in sorted(ENTRY_PROPERTIES):
        with contextlib.suppress(Exception):  # a plugin class may raise on attribute access
            described[name] = _plain(getattr(entry, name))
    options: dict[str, Any] = {}
    for name in OPTIONAL_DEFAULTS:
        with contextlib.suppress(Exception):
            options[name] = _plain(entry.option(name))
    return {"name": entry.name, "origin": entry.origin, "target": entry.target, "error": entry.error,
            "described": described, "options": options}


def handle(params: Mapping[str, Any], channel: Channel) -> dict[str, Any]:
    """Isolation handler: describe the registrations from ``params["start"]`` on."""
    # fd 1 (print, C extensions) goes nowhere: the results travel over the channel.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    for reg in registrations()[int(params.get("start", 0)):]:
        channel.send({"loading": reg.key})
        try:
            entry = reg.load()
        except Exception as exc:  # load() reports import errors itself; this is belt and braces
            entry = SchedulerEntry(reg.key, reg.origin, reg.ep.value, error=f"import failed: {type(exc).__name__}")
        except SystemExit as exc:
            entry = SchedulerEntry(reg.key, reg.origin, reg.ep.value,
                                   error=f"import failed: the plugin called sys.exit({exc.code!r})")
        channel.send({"entry": describe(entry)})
    return {"done": True}


# ---- parent -----------------------------------------------------------------------------

def _entry_from(description: object, reg: Registration) -> DescribedEntry:
    """A ``DescribedEntry`` from one child line, trusting nothing about its shape."""
    if not isinstance(description, dict):
        return _unavailable(reg, "the discovery child sent a malformed description")
    described = description.get("described")
    options = description.get("options")
    error = description.get("error")
    return DescribedEntry(
        reg.key, reg.origin, reg.ep.value, cls=None,
        error=error if isinstance(error, str) or error is None else str(error),
        described=dict(described) if isinstance(described, dict) else {},
        options={k: v for k, v in options.items() if k in OPTIONAL_DEFAULTS} if isinstance(options, dict) else {},
    )


def _unavailable(reg: Registration, why: str) -> DescribedEntry:
    return DescribedEntry(reg.key, reg.origin, reg.ep.value, error=why, described={"available": False})


def discover_isolated(timeout_s: float = IMPORT_TIMEOUT_S) -> dict[str, SchedulerEntry]:
    """Every registered scheduler, described by child processes; no plugin imported here.

    Same keys and order as ``registry.discover()``. The entries' ``cls`` is None; their
    ``available``, ``error``, ``dialect``, ``supports_virtual_clock`` and every other
    property are what the child found.
    """
    regs = registrations()
    by_key = {reg.key: reg for reg in regs}
    found: dict[str, DescribedEntry] = {}
    start = 0
    with isolate.scratch() as scratch:
        while start < len(regs):
            request = isolate.Request(handler="describe", params={"start": start}, idle_limit_s=timeout_s,
                                      limit_s=timeout_s * (len(regs) - start + 1))
            report = isolate.run(request, scratch / f"from-{start}")
            loading: str | None = None
            for message in report.messages:
                if not isinstance(message, dict):
                    continue
                if isinstance(message.get("loading"), str):
                    loading = message["loading"]
                elif loading in by_key and "entry" in message:
                    found[loading] = _entry_from(message["entry"], by_key[loading])
                    loading = None
            if report.reported:
                break
            # The child ended (or hung) inside an import: blame that entry, carry on after it.
            culprit = loading if loading in by_key else next((r.key for r in regs[start:] if r.key not in found), None)
            if culprit is None:
                break
            if culprit not in found:
                why = f"import ended the discovery process: it {_ended(report)}"
                found[culprit] = _unavailable(by_key[culprit], why)
            start = next(i for i, reg in enumerate(regs) if reg.key == culprit) + 1
    return {reg.key: found.get(reg.key) or _unavailable(reg, "not described by the discovery process")
            for reg in regs}


def _ended(report: isolate.Report) -> str:
    if report.ending is isolate.Ending.TIMED_OUT:
        return f"did not finish ({report.reason})"
    if report.ending is isolate.Ending.RAISED:
        return f"raised: {report.reason}"
    if report.returncode is not None and report.returncode < 0:
        return f"was killed by {signal.Signals(-report.returncode).name}"
    return f"exited with status {report.returncode}"
