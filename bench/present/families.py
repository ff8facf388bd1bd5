"""Who is compared with whom: runs grouped by the family their results file recorded.

A reader choosing a loop for a service needs the real loops (``production``) ranked among
themselves; the teaching designs (list scan, busy-wait, heap, deque) are a lesson of their
own; plugins (``third-party``) stand apart; this project's loop (``this-project``, the
hybrid) is shown against both.

The hybrid gets its own group, right after the production loops (``FAMILY_NAMES``' order),
with the place it *would* take among them stated, rather than a marked row inside the
production ranking. Trade-off: inside, every production place below it would shift by one
and "asyncio is 3rd" would depend on whether this project's loop ran; apart, the production
ranking reads the same with or without it, and its place is still one glance away.

Files written before the family was recorded have ``None``: one group, "family not
recorded", never a guess from the scheduler's name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.results.model import FAMILY_NAMES, RunRecord

PRODUCTION = "production"
THIS_PROJECT = "this-project"
#: The heading of each group, as tables and sentences name it.
FAMILY_LABELS: dict[str | None, str] = {
    "production": "production loops",
    "this-project": "this project's loop",
    "third-party": "third-party plugins",
    "teaching": "teaching designs",
    None: "family not recorded",
}


def family_index(family: str | None) -> int:
    """Position of a family in the listing order; unrecorded last."""
    return FAMILY_NAMES.index(family) if family in FAMILY_NAMES else len(FAMILY_NAMES)


def label(family: str | None) -> str:
    return FAMILY_LABELS.get(family, family or FAMILY_LABELS[None])


def compared_with(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs a winner is chosen among: the production loops, or every run when the file
    records no production loop (an older file, or a plugin-only run)."""
    production = [r for r in runs if r.family == PRODUCTION]
    return production or list(runs)


def place_among(run: RunRecord, others: Sequence[RunRecord], key: Callable[[RunRecord], float | None],
                same: Callable[[RunRecord, RunRecord], bool]) -> str | None:
    """Where ``run`` would place among ``others`` (ranked runs with a figure): ``1``, or
    ``≈2`` when within the noise of the one it would follow. None without a figure."""
    mine = key(run)
    if mine is None:
        return None
    values = sorted(((v, r) for r in others if r.status.ranked and (v := key(r)) is not None), key=lambda x: x[0])
    ahead = [r for v, r in values if v < mine]
    behind = [r for v, r in values if v >= mine]
    if ahead and same(ahead[-1], run):
        tied_place = len(ahead)
        return f"≈{tied_place}"
    if behind and same(run, behind[0]) and not ahead:
        return "≈1"
    return str(len(ahead) + 1)
