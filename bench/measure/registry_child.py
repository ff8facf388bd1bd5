"""Discover schedulers without importing a single plugin into this process.

Importing a plugin runs its code: it may call ``os._exit(0)`` or ``sys.exit``, hang, or
patch ``time`` and the harness at import time. The orchestrator (``python -m bench
list``, the suite's selection, the one-shot parent, the scaling sweep) only needs to know
what each entry *is*, so it asks a child process: ``python -m bench.measure.registry_child``
imports the entries one after another and reports each as one JSON line on a private
copy of its stdout (whatever a plugin prints goes to /dev/null). The parent,
``discover_isolated``, builds ``DescribedEntry`` objects from those lines: every
property of a ``SchedulerEntry`` (availability, error, dialect, virtual-clock support and
whatever optional attributes the registry exposes) except the class itself, which the
process that runs a scheduler loads for itself.

When a plugin ends the child (``os._exit``, a signal, a hang past ``IMPORT_TIMEOUT_S``),
that entry is listed as unavailable with what happened, and a new child carries on with
the entries after it: one plugin cannot hide the others.

Protocol, one JSON object per line: ``{"loading": key}`` before an import,
``{"entry": {...}}`` after it, ``{"done": true}`` at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Final

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

_dumps: Final = json.dumps  # captured before any plugin is imported


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


def child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.measure.registry_child")
    parser.add_argument("--start", type=int, default=0, help="skip the first START registrations")
    args = parser.parse_args(argv)
    # The protocol gets a private copy of stdout; fd 1 (print, C extensions) goes nowhere.
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)

    def send(message: dict[str, Any]) -> None:
        channel.write(_dumps(message) + "\n")
        channel.flush()

    for reg in registrations()[args.start:]:
        send({"loading": reg.key})
        try:
            entry = reg.load()
        except Exception as exc:  # load() reports import errors itself; this is belt and braces
            entry = SchedulerEntry(reg.key, reg.origin, reg.ep.value, error=f"import failed: {type(exc).__name__}")
        except SystemExit as exc:
            entry = SchedulerEntry(reg.key, reg.origin, reg.ep.value,
                                   error=f"import failed: the plugin called sys.exit({exc.code!r})")
        send({"entry": describe(entry)})
    send({"done": True})
    # Skip interpreter shutdown: a plugin's atexit hook or non-daemon thread must not hang it.
    os._exit(0)


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


def _lines(stream: IO[bytes], timeout: float) -> Iterator[bytes | None]:
    """Lines from ``stream``; None when none came within ``timeout`` seconds; ends at EOF."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    buffer = b""
    fd = stream.fileno()
    try:
        while True:
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                yield line
            if not selector.select(timeout):
                yield None
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                if buffer:
                    yield buffer
                return
            buffer += chunk
    finally:
        selector.close()


def _ended(returncode: int | None) -> str:
    if returncode is None:
        return "did not finish"
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


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
    while start < len(regs):
        loading: str | None = None
        done = timed_out = False
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.measure.registry_child", "--start", str(start)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert proc.stdout is not None
        try:
            last = time.monotonic()
            for line in _lines(proc.stdout, timeout=min(timeout_s, 1.0)):
                if line is None:
                    if time.monotonic() - last > timeout_s:
                        timed_out = True
                        break
                    continue
                last = time.monotonic()
                try:
                    message = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if not isinstance(message, dict):
                    continue
                if message.get("done") is True:
                    done = True
                elif isinstance(message.get("loading"), str):
                    loading = message["loading"]
                elif loading in by_key and "entry" in message:
                    found[loading] = _entry_from(message["entry"], by_key[loading])
                    loading = None
        finally:
            _kill(proc)
            proc.stdout.close()
        if done:
            break
        # The child ended (or hung) inside an import: blame that entry, carry on after it.
        culprit = loading if loading in by_key else next((r.key for r in regs[start:] if r.key not in found), None)
        if culprit is None:
            break
        if culprit not in found:
            status = f"did not finish within {timeout_s:g} s" if timed_out else _ended(proc.returncode)
            found[culprit] = _unavailable(by_key[culprit], f"import ended the discovery process: it {status}")
        start = next(i for i, reg in enumerate(regs) if reg.key == culprit) + 1
    return {reg.key: found.get(reg.key) or _unavailable(reg, "not described by the discovery process")
            for reg in regs}


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """End the child and anything a plugin started in its process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


if __name__ == "__main__":
    sys.exit(child_main())
