"""The argument parser of every command-line boundary (``python -m bench``, ``python -m reports``).

It lives with the presentation layer because its one job is how a usage error reads: one
line and exit status 2, never argparse's usage dump. Both command lines share it so their
errors look alike, and ``reports`` (which may import only ``bench.results`` and
``bench.present``) can use it without reaching into ``bench.cli``.
"""

from __future__ import annotations

import argparse


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``error: …``) and exit 2, no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")
