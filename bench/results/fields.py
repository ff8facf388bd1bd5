"""Typed reading of one JSON object, naming the exact field that is wrong.

The results model (``bench.results.model``) validates a whole file through these readers,
once, at load. Every error is one line with the field's path (``runs[3].timed.lateness_us.p99:
expected a finite number, got 'fast'``), so ``show``, ``compare``, ``export`` and ``reports``
can print it and exit 2 instead of failing deep inside with a traceback.

Plausibility is checked at the same boundary. Every number must be finite and within
``MAX_MAGNITUDE``; times, counts and ratios use the non-negative readers (``amount``,
``count`` and their variants), so a negative mean, a negative resume count or a
``mean_s`` of 1e308 (which becomes ``inf`` once shown in ns) is a one-line error naming
the field, not a winning row or a crash later. Signed values (lateness percentiles, where
an early wake is negative) keep the plain ``num`` readers.

Trade-off: a hand-written reader rather than a schema library (pydantic, jsonschema). The
format is small and versioned, the checks it needs (finite numbers, no ``bool`` posing as a
number, enums) are a few lines each, and the project keeps its three runtime dependencies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

#: The largest magnitude a stored number may have. Far above any real figure (1e15 s is
#: thirty million years, 1e15 instructions per resume absurd), yet small enough that every
#: unit conversion and square the readers and the gate compute stays finite.
MAX_MAGNITUDE = 1e15


class ResultsError(Exception):
    """A results file (or a worker's output) that cannot be read; the message is one line."""


class Fields:
    """A JSON object with its path, for typed access that fails with the path named."""

    __slots__ = ("data", "path")

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise ResultsError(f"{path or 'document'}: expected an object, got {_show(data)}")
        self.data: dict[str, Any] = data
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.data or self.data[key] is None:
            if required:
                raise ResultsError(f"{self.at(key)}: missing")
            return None
        return self.data[key]

    def text(self, key: str) -> str:
        value = self._get(key, True)
        if not isinstance(value, str):
            raise ResultsError(f"{self.at(key)}: expected a string, got {_show(value)}")
        return value

    def opt_text(self, key: str) -> str | None:
        return None if self._get(key, False) is None else self.text(key)

    def flag(self, key: str, default: bool | None = None) -> bool:
        value = self._get(key, default is None)
        if value is None:
            assert default is not None
            return default
        if not isinstance(value, bool):
            raise ResultsError(f"{self.at(key)}: expected true or false, got {_show(value)}")
        return value

    def num(self, key: str) -> float:
        return number(self._get(key, True), self.at(key))

    def opt_num(self, key: str) -> float | None:
        value = self._get(key, False)
        return None if value is None else number(value, self.at(key))

    def whole(self, key: str) -> int:
        return integer(self._get(key, True), self.at(key))

    def opt_whole(self, key: str) -> int | None:
        value = self._get(key, False)
        return None if value is None else integer(value, self.at(key))

    def amount(self, key: str) -> float:
        """A non-negative number: a time, a ratio, a count averaged over processes."""
        return non_negative(self.num(key), self.at(key))

    def opt_amount(self, key: str) -> float | None:
        value = self.opt_num(key)
        return None if value is None else non_negative(value, self.at(key))

    def amounts(self, key: str) -> tuple[float, ...]:
        return tuple(non_negative(v, f"{self.at(key)}[{i}]") for i, v in enumerate(self.nums(key)))

    def count(self, key: str) -> int:
        """A non-negative whole number: resumes, wakes, runs, instructions."""
        return non_negative(self.whole(key), self.at(key))

    def opt_count(self, key: str) -> int | None:
        value = self.opt_whole(key)
        return None if value is None else non_negative(value, self.at(key))

    def counts(self, key: str) -> tuple[int, ...]:
        return tuple(non_negative(v, f"{self.at(key)}[{i}]") for i, v in enumerate(self.wholes(key)))

    def nums(self, key: str) -> tuple[float, ...]:
        return tuple(number(v, f"{self.at(key)}[{i}]") for i, v in enumerate(self.items(key)))

    def wholes(self, key: str) -> tuple[int, ...]:
        return tuple(integer(v, f"{self.at(key)}[{i}]") for i, v in enumerate(self.items(key)))

    def texts(self, key: str) -> tuple[str, ...]:
        out = []
        for i, v in enumerate(self.items(key)):
            if not isinstance(v, str):
                raise ResultsError(f"{self.at(key)}[{i}]: expected a string, got {_show(v)}")
            out.append(v)
        return tuple(out)

    def items(self, key: str, required: bool = False) -> list[Any]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ResultsError(f"{self.at(key)}: expected a list, got {_show(value)}")
        return value

    def obj(self, key: str) -> Fields:
        return Fields(self._get(key, True), self.at(key))

    def opt_obj(self, key: str) -> Fields | None:
        value = self._get(key, False)
        return None if value is None else Fields(value, self.at(key))

    def objs(self, key: str) -> Iterator[Fields]:
        for i, item in enumerate(self.items(key)):
            yield Fields(item, f"{self.at(key)}[{i}]")

    def choice(self, key: str, allowed: Mapping[str, T]) -> T:
        value = self.text(key)
        if value not in allowed:
            raise ResultsError(f"{self.at(key)}: {value!r} is not one of {', '.join(allowed)}")
        return allowed[value]

    def opt(self, key: str, read: Callable[[Fields], T]) -> T | None:
        sub = self.opt_obj(key)
        return None if sub is None else read(sub)


def number(value: object, where: str) -> float:
    """A finite float; ``bool`` is refused although Python counts it as an int."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResultsError(f"{where}: expected a finite number, got {_show(value)}")
    try:
        result = float(value)
    except OverflowError:
        raise ResultsError(f"{where}: number out of range") from None
    if not math.isfinite(result):
        raise ResultsError(f"{where}: expected a finite number, got {value!r}")
    if abs(result) > MAX_MAGNITUDE:
        raise ResultsError(f"{where}: {value!r} is implausibly large (at most {MAX_MAGNITUDE:g})")
    return result


N = TypeVar("N", int, float)


def non_negative(value: N, where: str) -> N:
    """``value`` itself, or a ``ResultsError`` naming ``where`` if it is below zero."""
    if value < 0:
        raise ResultsError(f"{where}: must not be negative, got {value!r}")
    return value


def positive(value: N, where: str) -> N:
    """``value`` itself, or a ``ResultsError`` naming ``where`` unless it is above zero."""
    if value <= 0:
        raise ResultsError(f"{where}: must be positive, got {value!r}")
    return value


def integer(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ResultsError(f"{where}: expected a whole number, got {_show(value)}")
    if abs(value) > 2**63:
        raise ResultsError(f"{where}: whole number out of range")
    return value


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
