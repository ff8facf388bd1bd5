"""``listscan``: every pass resumes every live task in a plain list.

How it sleeps: a sleeping task is resumed on every pass and answers with how many
seconds it still has ("not ready, N seconds left"). After a pass the loop blocks for the
smallest answer, then passes over everyone again.

Cost model: a pass costs one resume per *live* task, sleeping or not, so the cost of one
useful wake grows linearly with the number of tasks alive. The blocking time is computed
from answers given during the pass, so every wake is late by up to one pass's duration.

Where it breaks down: with 10,000 rockets a pass resumes thousands of sleepers to find
the few that are due. Under heavy load (small time scale) the passes themselves take
longer than the gaps between deadlines and the loop becomes CPU-bound, never blocking.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterable, Mapping
from typing import Any, ClassVar, Literal

from schedulers.protocol import Clock


class ListScanScheduler:
    name: ClassVar[str] = "listscan"
    dialect: ClassVar[Literal["generator"]] = "generator"
    supports_virtual_clock: ClassVar[bool] = True
    polling: ClassVar[bool] = True  # sleepers are resumed to ask whether they are due

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def sleep(self, seconds: float) -> Generator[float, None, None]:
        now = self.clock.now
        deadline = now() + seconds
        left = seconds
        # Suspend at least once, even for 0 seconds: switch mode counts on it.
        while True:
            yield left
            left = deadline - now()
            if left <= 0:
                return

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        wait = self.clock.wait
        tasks = list(coroutines)
        resumes = 0
        while tasks:
            # ---- one pass: resume every live task, collect how long each still has ----
            smallest = math.inf
            alive: list[Generator[Any, None, None]] = []
            keep = alive.append
            for task in tasks:
                resumes += 1
                try:
                    left = task.send(None)
                except StopIteration:
                    continue
                keep(task)
                if left < smallest:
                    smallest = left
            tasks = alive
            # ---- block until the soonest reported deadline ----
            if tasks and smallest > 0:
                wait(smallest)
        return {"resumes": resumes}
