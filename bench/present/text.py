"""Plain-text tables for the terminal. Formatting only: callers pass strings."""

from __future__ import annotations

from collections.abc import Sequence


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    """A column-aligned table with a rule under the header; ``right`` aligns numbers."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    align = right or [False] * len(headers)

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, align, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    return "\n".join(out)


def fmt_ns(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e9:,.0f}"


def fmt_us(micro: float | None) -> str:
    if micro is None:
        return "-"
    if abs(micro) >= 1000:
        return f"{micro:,.0f}"
    return f"{micro:.1f}"


def fmt_s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.3f}"
