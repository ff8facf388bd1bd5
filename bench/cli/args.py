"""Argument parsers for the CLI boundary: each names the bad value and what is allowed."""

from __future__ import annotations

import argparse
import math

from bench.measure.clocks import CLOCK_KINDS
from bench.workload.rockets import MODES


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer; use a whole number ≥ 1"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small; use a whole number ≥ 1")
    return value


def seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer seed; use a whole number such as 1969"
        ) from None


def time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; use a finite number > 0 such as 0.01"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; use a finite number > 0 such as 0.01")
    return value


def time_scales(text: str) -> list[float]:
    return [time_scale(part) for part in _split(text, "time scale")]


def sizes(text: str) -> list[int]:
    values = [positive_int(part) for part in _split(text, "size")]
    return sorted(set(values))


def modes(text: str) -> list[str]:
    chosen = _split(text, "mode")
    for mode in chosen:
        if mode not in MODES:
            raise argparse.ArgumentTypeError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
    return chosen


def clock_kind(text: str) -> str:
    if text not in CLOCK_KINDS:
        raise argparse.ArgumentTypeError(f"unknown clock {text!r}; allowed: {', '.join(CLOCK_KINDS)}")
    return text


def names(text: str) -> list[str]:
    return _split(text, "scheduler")


def _split(text: str, what: str) -> list[str]:
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of {what}s")
    return parts


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``error: …``) and exit 2, no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")
