"""A run's outcome: the one vocabulary every stage uses (checks, children, CLI, compare, reports).

Defined at the bottom of the harness, beside the checks that produce most verdicts, so that
every stage above can use it; the results model exports it as part of the file format.
Declaration order is the one ranking: later is worse.
"""

from __future__ import annotations

import enum
from typing import Any


class Status(enum.Enum):
    """A run's verdict. Declaration order is the one ranking: later is worse."""

    VALID = "valid"  # correct trace, plausible figures: ranked
    EARLY = "early"  # correct trace, some wakes before their deadline: shown, not ranked
    SUSPECT = "suspect"  # correct trace, implausible figures (below a floor, exact zeros)
    INVALID = "invalid"  # wrong trace or resume count
    FAILED = "failed"  # crashed, timed out, killed
    SKIPPED = "skipped"  # could not be loaded, or cannot run on the chosen clock

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def ranked(self) -> bool:
        """Only VALID runs compete for "best"; a fast wrong scheduler must never win."""
        return self is Status.VALID

    @property
    def charted(self) -> bool:
        """VALID runs are charted plainly, EARLY ones flagged; the rest are named, not drawn."""
        return self in (Status.VALID, Status.EARLY)

    @property
    def broken(self) -> bool:
        """Counts as a failure of the run (exit 1 of ``run``, a broken row in ``compare``)."""
        return self in (Status.SUSPECT, Status.INVALID, Status.FAILED)

    @property
    def label(self) -> str:
        return self.value.upper()

    @classmethod
    def worst(cls, statuses: Any) -> Status:
        return max(statuses, key=lambda s: s.severity, default=cls.VALID)


_SEVERITY = {status: i for i, status in enumerate(Status)}
STATUS_BY_NAME = {s.value: s for s in Status}
