"""The one error type that crosses the CLI boundary: it becomes ``error: …`` and exit 2."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURES = 1  # the command ran but something failed or regressed
EXIT_USAGE = 2  # bad input: nothing was run


class CLIError(Exception):
    """Bad input from the user; the message names the value and what is allowed."""
