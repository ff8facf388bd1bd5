"""Two versions of one scheduler in one process: each side's modules from its own tree.

The in-process level of the paired gate runs base (A) and head (B) alternately in one
process, so both sides see the same memory layout drift, the same neighbour, the same
frequency changes within milliseconds of each other. That needs both versions of, say,
``schedulers.heapq_timers`` loaded at once, each from its own side's files.

How: a side's package (``schedulers``) is imported from that side's tree with the other
side's modules out of ``sys.modules``; the modules it imported are then kept aside as that
side's *module set*. Each module object keeps its own globals, so ``HeapqScheduler`` of A
refers to A's ``schedulers.protocol`` and B's to B's. A module that imports a sibling lazily
(inside a function, at run time) looks it up in ``sys.modules`` when it runs: ``activate``
puts the side's module set back in place before each of its runs — a few dictionary
updates, outside the timed region.

Trade-off: only the scheduler's own package is loaded twice. Third-party libraries (trio,
uvloop) exist once per process, so a gate whose sides differ in a library version cannot
use this level (the gate checks the trees and uses processes then), and a loop with
process-global state (an installed reactor, a hub, signal handlers) cannot either.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SideModules:
    """One side's loaded modules of the package its scheduler lives in."""

    label: str
    root: Path
    package: str
    modules: dict[str, types.ModuleType] = field(default_factory=dict)

    def activate(self) -> None:
        """Make this side's modules the ones ``import`` finds (for lazy imports at run time)."""
        for name in [n for n in sys.modules if _in_package(n, self.package)]:
            del sys.modules[name]
        sys.modules.update(self.modules)


def _in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@contextlib.contextmanager
def _only_tree(root: Path, package: str) -> Iterator[None]:
    """Import ``package`` from ``root`` alone; restore ``sys.path`` and ``sys.modules`` after."""
    saved = {n: m for n, m in sys.modules.items() if _in_package(n, package)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if _in_package(n, package)]:
            del sys.modules[name]
        sys.modules.update(saved)


def load_side(label: str, root: Path, target: str) -> tuple[SideModules, Any]:
    """Load ``module:attr`` from the tree at ``root``; the side's module set and the object.

    Raises ``ImportError`` (or whatever the module raises) when it cannot be loaded, and
    ``ImportError`` when the module did not come from ``root`` (a side tree without it).
    """
    module_name, _, attr = target.partition(":")
    package = module_name.split(".")[0]
    side = SideModules(label, root.resolve(), package)
    with _only_tree(side.root, package):
        module = importlib.import_module(module_name)
        origin = Path(getattr(module, "__file__", "") or "").resolve()
        if side.root not in origin.parents:
            raise ImportError(f"{module_name} of side {label} came from {origin}, not from {side.root}")
        obj: Any = module
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        side.modules = {n: m for n, m in sys.modules.items() if _in_package(n, package)}
    return side, obj
