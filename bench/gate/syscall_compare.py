"""Comparing two syscall counts of one run, name by name: exact where the count is exact.

Called by ``bench.gate.compare`` for every pair of VALID runs that both carry syscall
figures (``run --measure syscalls`` files); it returns plain changes that ``compare`` turns
into its figure rows.

The samples are the calls of one name in ``run`` in each counted process (one per
repeat, several when files are pooled), not divided by anything: both files measured
the same workload (``compare`` refuses otherwise), so per resume is the same ratio. No
test and no threshold: a name that ``bench.results.syscall_kinds`` gates is exact for the
same code, so

* ``no change``: every count equal on both sides;
* ``slower`` / ``faster``: every new count above / below every base count (one call more
  per run is a regression: a planted call per resume is thousands);
* ``inconclusive``: the two sides overlap without being equal, i.e. repeats of one side
  disagreed, which the A/A behind the classification did not see (shown, never gating).

The other names (allocator, timing-dependent) get the same verdicts but ``gated=False``:
shown with their change, never failing the gate. The total is one more row, gated only
when every name in it is. A name present on one side only counts 0 on the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.gate import stats
from bench.results.model import SyscallFigures
from bench.results.syscall_kinds import gated

UNIT = "calls"
TOTAL = "total"


@dataclass(frozen=True)
class SyscallChange:
    name: str  # a call's name, or TOTAL
    base_values: tuple[float, ...]
    new_values: tuple[float, ...]
    base: float  # median of base_values
    new: float
    change: float  # new / base - 1 (±inf from or to 0)
    verdict: str
    gated: bool

    @property
    def key(self) -> str:
        return f"syscalls:{self.name}"

    @property
    def label(self) -> str:
        return "syscalls in total" if self.name == TOTAL else f"{self.name} calls"


def exact_verdict(base: Sequence[float], new: Sequence[float]) -> str:
    if set(base) == set(new) and len(set(base)) == 1:
        return "no change"
    if min(new) > max(base):
        return "slower"
    if max(new) < min(base):
        return "faster"
    return "inconclusive"


def _change(name: str, base: Sequence[float], new: Sequence[float], is_gated: bool) -> SyscallChange:
    b, n = stats.median(base), stats.median(new)
    return SyscallChange(name, tuple(base), tuple(new), b, n, stats.relative_change(b, n), exact_verdict(base, new),
                         is_gated)


def syscall_changes(scheduler: str, mode: str, base: SyscallFigures, new: SyscallFigures) -> list[SyscallChange]:
    """Every name either side made, most calls first, then the total."""
    names = list(dict.fromkeys([*base.names, *new.names]))
    rows = [_change(name, base.calls(name), new.calls(name), gated(scheduler, mode, name)) for name in names]
    every_gated = all(gated(scheduler, mode, name) for name in names)
    rows.append(_change(TOTAL, base.totals, new.totals, every_gated))
    return rows
