"""Are the names the harness measures and judges with still the ones it imported?

A plugin runs in the worker's process and can rebind any module-level name: the clocks
the execution module captured, the validator, the recorder's methods. ``Snapshot`` takes
the identities of every function and class bound in the harness's modules (and of the
methods in those classes, and of the ``time`` and ``gc`` functions the harness relies on)
*before* the plugin is imported, and ``changed`` names whatever no longer is what it was.
The worker checks before and after every measured run, outside the timed region.

What this stops: a rebinding left in place, even for a single run. What it cannot stop
alone: a rebinding that undoes itself before the check (a fake clock that restores the
original when called); the witness outside the process (``bench.measure.witness``) and
the proof of work in ``bench.measure.execute`` are the defences for those. Only callables,
classes and modules are compared: module-level data may legitimately change.
"""

from __future__ import annotations

import gc
import sys
import time
import types
from collections.abc import Iterable
from typing import Any, Final

#: Outside the harness's own modules: the functions its measurement relies on.
_FOREIGN: Final = ((time, ("perf_counter", "process_time", "monotonic", "sleep")),
                   (gc, ("collect", "disable", "enable")))
_WATCHED: Final = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type, types.ModuleType,
                   staticmethod, classmethod, property)


def _watched(value: Any) -> bool:
    return isinstance(value, _WATCHED) or callable(value)


class Snapshot:
    """The identities of the harness's names when it was taken."""

    def __init__(self, prefixes: Iterable[str] = ("bench.",)) -> None:
        prefixes = tuple(prefixes)
        self._entries: list[tuple[str, dict[str, Any], str, Any]] = []
        for module_name, module in sorted(sys.modules.items()):
            if module is None or not module_name.startswith(prefixes):
                continue
            namespace = vars(module)
            for name, value in list(namespace.items()):
                if name.startswith("__") or not _watched(value):
                    continue
                self._entries.append((f"{module_name}.{name}", namespace, name, value))
                if isinstance(value, type) and value.__module__ == module_name:
                    self._watch_class(f"{module_name}.{name}", value)
        for module, names in _FOREIGN:
            for name in names:
                self._entries.append((f"{module.__name__}.{name}", vars(module), name, getattr(module, name)))

    def _watch_class(self, qualified: str, cls: type) -> None:
        # A class's namespace is a read-only mapping proxy; compare through it, live.
        for attr, value in list(vars(cls).items()):
            if not attr.startswith("__") and _watched(value):
                self._entries.append((f"{qualified}.{attr}", vars(cls), attr, value))  # type: ignore[arg-type]

    def changed(self) -> list[str]:
        """The names rebound or deleted since the snapshot (empty: none)."""
        return [label for label, namespace, name, original in self._entries if namespace.get(name) is not original]

    def __len__(self) -> int:
        return len(self._entries)
