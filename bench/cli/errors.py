"""The error types that cross the CLI boundary: each becomes ``error: …`` and exit 2.

``CLIError`` is bad input from the user; ``ResultsError`` (``bench.results``) a file that
cannot be read, or written: every file-system failure a command can foresee is one of
those, with the path named (``bench.results.writable``).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURES = 1  # the command ran but something failed or regressed
EXIT_USAGE = 2  # bad input (nothing was run), or a file that cannot be read or written


class CLIError(Exception):
    """Bad input from the user; the message names the value and what is allowed."""
