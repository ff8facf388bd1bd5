"""Units and number formatting: how every figure is written, in every output.

The terminal, the Markdown summary, the HTML page, ``compare`` and the PNG charts all
format through these functions, so one value can never be printed two ways. ``None`` and
non-finite values print as a dash. Chart-only shapes (tick labels, compact counts on a
size axis, bar-end labels) live here too rather than in the chart code: a format is
decided once, next to the others it must agree with.
"""

from __future__ import annotations

import math

DASH = "–"


def _bad(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def ns(value: float | None) -> str:
    """Nanoseconds: whole numbers with thousands separators, one decimal below 10."""
    if value is None or _bad(value):
        return DASH
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}"


def us(value: float | None) -> str:
    """Microseconds: whole numbers from 1,000, one decimal from 1, two below."""
    if value is None or _bad(value):
        return DASH
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}"


def seconds(value: float | None) -> str:
    return DASH if value is None or _bad(value) else f"{value:.3f}"


def times(value: float | None) -> str:
    """A ratio written as a multiple: ``12.9×``."""
    if value is None or _bad(value):
        return DASH
    return f"{value:,.1f}×" if abs(value) < 100 else f"{value:,.0f}×"


def percent(fraction: float | None, decimals: int = 0) -> str:
    """A share as a percentage: ``42%`` (``decimals=1``: ``0.4%``, for small shares)."""
    return DASH if fraction is None or _bad(fraction) else f"{fraction * 100:.{decimals}f}%"


def change(fraction: float | None) -> str:
    """A relative change with its sign: ``+12.6%``; from or to zero it has no percentage."""
    if fraction is None or math.isnan(fraction):
        return DASH
    if math.isinf(fraction):
        return "from 0" if fraction > 0 else "to 0"
    return f"{fraction * 100:+.1f}%" if abs(fraction) < 10 else f"{fraction * 100:+,.0f}%"


def count(value: float | None) -> str:
    return DASH if value is None or _bad(value) else f"{value:,.0f}"


def instructions(value: float | None) -> str:
    return count(value)


def value_in(value: float | None, unit: str) -> str:
    """A figure in its registry unit (``ns``, ``µs``, ``instructions``, ``× floor``)."""
    if unit == "ns":
        return ns(value)
    if unit == "µs":
        return us(value)
    if unit == "× floor":
        return times(value)
    return count(value)


def with_unit(value: float | None, unit: str) -> str:
    """A figure followed by its unit where the number alone would not say it: ``1,234 ns``,
    ``12.5 µs``. Multiples already read ``12.9×`` and counts stand alone."""
    if value is None or _bad(value):
        return DASH
    text = value_in(value, unit)
    return f"{text} {unit}" if unit in ("ns", "µs") else text


def scale(value: float) -> str:
    """A setting as it was given (a time scale, a time budget): ``0.01``, ``3``."""
    return f"{value:g}"


def figure(value: float | None) -> str:
    """A figure whose unit is said elsewhere (a label at a bar's end): whole from 100, one
    decimal from 1, two significant digits below."""
    if value is None or _bad(value):
        return DASH
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.2g}"


def tick(value: float, _pos: int | None = None) -> str:
    """An axis tick label, plain rather than a power of ten: ``0.5``, ``100``, ``1,000``.
    Takes matplotlib's tick position too, so it can be a ``FuncFormatter`` as it is."""
    if abs(value) >= 1 and math.isclose(value, round(value), rel_tol=1e-9):
        return f"{value:,.0f}"
    return f"{value:,g}"


def compact(value: float, _pos: int | None = None) -> str:
    """A short count for a size axis: ``100``, ``1k``, ``10k``, ``1M``."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"
