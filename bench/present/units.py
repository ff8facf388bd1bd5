"""Units and number formatting: how every figure is written, in every output.

The terminal, the Markdown summary and the HTML page all format through these functions,
so one value can never be printed two ways. ``None`` and non-finite values print as a dash.
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


def percent(fraction: float | None) -> str:
    return DASH if fraction is None or _bad(fraction) else f"{fraction * 100:.0f}%"


def change(fraction: float | None) -> str:
    """A relative change with its sign: ``+12.6%``."""
    if fraction is None or _bad(fraction):
        return DASH
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


def scale(value: float) -> str:
    return f"{value:g}"
