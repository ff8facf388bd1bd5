"""Valgrind's output files: where a counting process writes them, and what they say.

Every counting process has a folder of its own (``bench.measure.instructions`` gives it
one); Valgrind writes there under the fixed names below, and the readers here take the
figures back out: the event totals of a run (``read_counts``), the cycle estimate built
on them (``estimated_cycles``) and where the instructions went (``top_functions``).

Trade-off: the files are parsed here, not by ``callgrind_annotate`` (no dependency on its
Perl, nor on its output format); the price is following Valgrind's file format ourselves,
of which only the few lines read here matter.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final

#: Callgrind's output (``--callgrind-out-file``): each client-request dump adds ``.N``.
CALLGRIND_OUT: Final = "callgrind.out"
#: Cachegrind's output, ``.%p``: a process that forks writes one file per process.
CACHEGRIND_OUT: Final = "cachegrind.out"
#: Valgrind's own messages (``--log-file``), one per process; its stderr is the program's.
VALGRIND_LOG: Final = "valgrind.%p.log"
#: The first line of a dump triggered by the stub's ``stop`` (``CALLGRIND_DUMP_STATS_AT("run")``).
RUN_TRIGGER: Final = "desc: Trigger: Client Request: run"

#: Penalties of the cycle estimate (KCachegrind's "CEst"); see ``estimated_cycles``.
L1_MISS_CYCLES: Final = 10
LL_MISS_CYCLES: Final = 100


def run_dump(folder: Path) -> Path | None:
    """The Callgrind dump of ``run`` in a process's folder, None when it wrote none (the
    probe never stopped)."""
    for part in sorted(folder.glob(f"{CALLGRIND_OUT}*")):
        with contextlib.suppress(OSError), part.open(errors="replace") as fp:
            if any(line.startswith(RUN_TRIGGER) for line in fp):
                return part
    return None


def cachegrind_file(folder: Path, pid: int | None) -> Path:
    """Cachegrind's file of process ``pid`` in ``folder``; with ``pid`` None, the folder's
    only one (a process that never forked). Raises ``OSError`` when there is no such file."""
    if pid is not None:
        return folder / f"{CACHEGRIND_OUT}.{pid}"
    found = sorted(folder.glob(f"{CACHEGRIND_OUT}.*"))
    if len(found) != 1:
        raise FileNotFoundError(f"{len(found)} Cachegrind files in {folder}, expected one")
    return found[0]


def valgrind_logs(folder: Path) -> list[Path]:
    return sorted(folder.glob(VALGRIND_LOG.replace("%p", "*")))


def read_counts(path: Path) -> dict[str, int]:
    """Event totals of a Callgrind or Cachegrind output file: {"Ir": …, "D1mr": …}.

    Callgrind's ``totals:`` line is preferred to ``summary:``: when instrumentation is
    switched off before a dump, the summary reads 0 while the totals are right.
    """
    events: list[str] = []
    totals: list[int] | None = None
    summary: list[int] | None = None
    with path.open(errors="replace") as fp:
        for line in fp:
            if line.startswith("events:"):
                events = line.split(":", 1)[1].split()
            elif line.startswith("totals:"):
                totals = [int(x) for x in line.split(":", 1)[1].split()]
            elif line.startswith("summary:"):
                summary = [int(x) for x in line.split(":", 1)[1].split()]
    values = totals if totals is not None else summary
    if not events or values is None:
        raise ValueError(f"{path} has no events/totals lines")
    return {name: (values[i] if i < len(values) else 0) for i, name in enumerate(events)}


def estimated_cycles(counts: Mapping[str, int]) -> int:
    """Ir + 10 × (I1mr + D1mr + D1mw) + 100 × (ILmr + DLmr + DLmw)."""
    l1 = sum(counts.get(k, 0) for k in ("I1mr", "D1mr", "D1mw"))
    ll = sum(counts.get(k, 0) for k in ("ILmr", "DLmr", "DLmw"))
    return counts.get("Ir", 0) + L1_MISS_CYCLES * l1 + LL_MISS_CYCLES * ll


_NAME_REF = re.compile(r"^\((\d+)\)(?:\s+(.*))?$")
#: Callgrind names a recursive call's deeper levels ``fn'2``, ``fn'3``…: one function.
_RECURSION_LEVEL = re.compile(r"'\d+$")


def top_functions(profile_path: Path | str, limit: int = 15) -> list[tuple[str, int]]:
    """Where the instructions go: (function, exclusive Ir), largest first.

    A cost line belongs to the current ``fn=``, except the line after ``calls=`` (the
    call's inclusive cost, already counted inside the callee) and after ``jump=`` or
    ``jcnd=``. Compressed names (``(12) name`` then ``(12)``) are resolved. Costs are added
    by function name: code inlined from headers (``fi=``/``fe=``) stays with the function
    it was inlined into, the recursion levels ``fn'2``… with ``fn``, and same-named
    functions of different objects together (``callgrind_annotate`` splits all three).
    """
    names: dict[str, str] = {}
    costs: dict[str, int] = {}
    positions = 1
    ir_index = 0
    current = "???"
    skip_next = False
    with Path(profile_path).open(errors="replace") as fp:
        for raw in fp:
            line = raw.rstrip("\n")
            if not line:
                continue
            head = line[0]
            if head.isdigit() or head in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                fields = line.split()
                index = positions + ir_index
                if index < len(fields):
                    costs[current] = costs.get(current, 0) + int(fields[index])
                continue
            key, sep, value = line.partition("=")
            if sep:
                if key in ("fn", "cfn"):
                    name = _resolve(value, names)
                    if key == "fn":
                        current = _RECURSION_LEVEL.sub("", name)
                elif key in ("calls", "jump", "jcnd"):
                    skip_next = True
                continue
            if line.startswith("positions:"):
                positions = len(line.split(":", 1)[1].split())
            elif line.startswith("events:"):
                events = line.split(":", 1)[1].split()
                ir_index = events.index("Ir") if "Ir" in events else 0
    ranked = sorted(((n, c) for n, c in costs.items() if c), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:limit]


def _resolve(value: str, names: dict[str, str]) -> str:
    match = _NAME_REF.match(value.strip())
    if match is None:
        return value.strip()
    ident, name = match.groups()
    if name:
        names[ident] = name
        return name
    return names.get(ident, f"({ident})")
