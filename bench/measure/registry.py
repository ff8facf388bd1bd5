"""Discover schedulers through the ``schedbench.schedulers`` entry-point group.

Built-ins and third-party plugins take the same path. Loading is the boundary where
untrusted code enters, so it is validated here, once: an entry that fails to import or
breaks the contract becomes an *unavailable* entry carrying the reason, and never takes
the other schedulers down. Everything past this module trusts a loaded class.
"""

from __future__ import annotations

import importlib.metadata as md
import inspect
from dataclasses import dataclass
from typing import Any

from schedulers.protocol import DIALECTS, FAMILIES, OPTIONAL_DEFAULTS, THIRD_PARTY, echo_variants, has_readiness

ENTRY_POINT_GROUP = "schedbench.schedulers"
BUILTIN_DISTRIBUTION = "schedbench"


@dataclass(frozen=True)
class SchedulerEntry:
    """One registered scheduler, loaded or not."""

    name: str
    origin: str  # "built-in" or "plugin <distribution> <version>"
    target: str  # "module:attr" as registered
    cls: Any | None = None
    error: str | None = None

    @property
    def available(self) -> bool:
        return self.cls is not None

    @property
    def builtin(self) -> bool:
        return self.origin == "built-in"

    @property
    def dialect(self) -> str:
        return str(self.cls.dialect) if self.cls is not None else "?"

    @property
    def supports_virtual_clock(self) -> bool:
        return bool(self.option("supports_virtual_clock"))

    @property
    def polling(self) -> bool:
        return bool(self.option("polling"))

    @property
    def readiness(self) -> bool:
        """True when the scheduler offers ``readable``/``writable`` (the io mode needs them)."""
        return self.cls is not None and has_readiness(self.cls)

    @property
    def echo_variants(self) -> str:
        """The scheduler's echo servers' variant names, comma-separated ("" when it has none):
        a plain string, so it crosses the discovery child like the other properties."""
        return ",".join(echo_variants(self.cls)) if self.cls is not None else ""

    @property
    def one_run_per_process(self) -> bool:
        """True when the scheduler's loop runs once per process (Twisted's reactor)."""
        return bool(self.option("one_run_per_process"))

    @property
    def version(self) -> str | None:
        """The wrapped library's version, when the scheduler declares one."""
        value = self.option("version")
        return None if value is None else str(value)

    @property
    def timer_note(self) -> str | None:
        """How the loop's timers read and round time, when the scheduler says."""
        value = self.option("timer_note")
        return None if value is None else str(value)

    @property
    def family(self) -> str:
        """Which list the scheduler is ranked in (``schedulers.protocol.FAMILIES``), or
        "third-party" when it does not say. A plugin that subclasses a built-in does not
        inherit the built-in's family: it is someone else's design until it says otherwise."""
        for klass in inspect.getmro(self.cls) if self.cls is not None else ():
            if "family" in vars(klass):
                if self.origin != "built-in" and klass.__module__.partition(".")[0] == "schedulers":
                    break
                value = vars(klass)["family"]
                return THIRD_PARTY if value is None else str(value)
        return THIRD_PARTY

    def option(self, attribute: str) -> object:
        return getattr(self.cls, attribute, OPTIONAL_DEFAULTS[attribute])

    def record_fields(self) -> dict[str, Any]:
        """Who the scheduler is, as every run record of it carries it whatever measured it
        (time, instructions, system calls): one place, so no kind of measurement forgets the
        family or the timer note and a report never has to import the scheduler to rank it."""
        available = self.available
        return {"scheduler": self.name, "origin": self.origin, "version": self.version if available else None,
                "dialect": self.dialect if available else None,
                "timer_note": self.timer_note if available else None,
                "family": self.family if available else None}


def check_contract(cls: Any) -> str | None:
    """Why ``cls`` cannot serve as a scheduler, or None when it can."""
    if not inspect.isclass(cls):
        return f"entry point loads {type(cls).__name__!r}, not a class"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        return "missing class attribute 'name' (a non-empty str)"
    dialect = getattr(cls, "dialect", None)
    if dialect not in DIALECTS:
        return f"class attribute 'dialect' is {dialect!r}; allowed: {', '.join(DIALECTS)}"
    family = getattr(cls, "family", None)
    if family is not None and family not in FAMILIES:
        return f"class attribute 'family' is {family!r}; allowed: {', '.join(FAMILIES)} (or leave it out)"
    for method in ("sleep", "run"):
        if not callable(getattr(cls, method, None)):
            return f"missing method {method!r}"
    try:
        inspect.signature(cls).bind(object())
    except (TypeError, ValueError):
        return "constructor does not accept cls(clock)"
    return None


def _origin(ep: md.EntryPoint) -> str:
    dist = ep.dist
    if dist is None:
        return "plugin (unknown distribution)"
    if dist.metadata["Name"] == BUILTIN_DISTRIBUTION:
        return "built-in"
    return f"plugin {dist.metadata['Name']} {dist.version}"


def load_entry(ep: md.EntryPoint) -> SchedulerEntry:
    origin = _origin(ep)
    try:
        cls = ep.load()
    except Exception as exc:  # a plugin's import may raise anything: report, don't crash
        return SchedulerEntry(ep.name, origin, ep.value, error=_describe(exc, "import failed"))
    problem = check_contract(cls)
    if problem is not None:
        return SchedulerEntry(ep.name, origin, ep.value, error=problem)
    return SchedulerEntry(ep.name, origin, ep.value, cls=cls)


def _describe(exc: BaseException, context: str) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{context}: {type(exc).__name__}: {message}" if message else f"{context}: {type(exc).__name__}"


@dataclass(frozen=True)
class Registration:
    """One entry point of the group, not imported: the name it is listed under and whether
    it may be loaded at all."""

    key: str  # the entry-point name; "name (origin)" for a refused one
    ep: md.EntryPoint
    origin: str
    refused: str | None = None  # why it is not loaded (its name is taken), None when it may be

    def load(self) -> SchedulerEntry:
        if self.refused is not None:
            return SchedulerEntry(self.key, self.origin, self.ep.value, error=self.refused)
        return load_entry(self.ep)


def registrations() -> list[Registration]:
    """Every registered entry point in listing order (built-ins first, then by name); none imported.

    A built-in's name belongs to the built-in, whatever order the entry points are found
    in: a plugin registering it is refused and listed apart as "name (plugin X 1.0)". Of
    two plugins registering one name, the first by distribution keeps it, and the other
    is refused the same way.
    """
    by_name: dict[str, list[tuple[md.EntryPoint, str]]] = {}
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        by_name.setdefault(ep.name, []).append((ep, _origin(ep)))
    found: list[Registration] = []
    for name, candidates in by_name.items():
        candidates.sort(key=lambda c: (c[1] != "built-in", c[1]))
        owner_ep, owner_origin = candidates[0]
        found.append(Registration(name, owner_ep, owner_origin))
        for ep, origin in candidates[1:]:
            if (ep.value, origin) == (owner_ep.value, owner_origin):
                continue  # the same registration seen twice
            taken = "the built-in" if owner_origin == "built-in" else owner_origin
            found.append(Registration(f"{name} ({origin})", ep, origin,
                                      refused=f"name {name!r} is taken by {taken}; {origin} refused"))
    return sorted(found, key=lambda r: (r.origin != "built-in", r.key))


def discover() -> dict[str, SchedulerEntry]:
    """Every registered scheduler by entry-point name, built-ins first, then by name."""
    return {reg.key: reg.load() for reg in registrations()}


def load_named(name: str) -> SchedulerEntry:
    """Load just one scheduler by entry-point name (a worker process needs no other)."""
    for reg in registrations():
        if reg.key == name:
            return reg.load()
    return SchedulerEntry(name, "?", "?", error=f"no scheduler named {name!r} is registered")
