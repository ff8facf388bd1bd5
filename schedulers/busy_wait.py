"""``busywait``: round-robin over a list; the thread never blocks.

How it sleeps: ``sleep`` is a loop that reads the clock and yields until its deadline has
passed, so a sleeping task costs one resume per pass for as long as it sleeps.

Cost model: wakes are as punctual as one pass over the live tasks allows (no kernel
timer in the way), paid for with 100 % of a core for the whole run, whatever the load.
Wasted resumes grow with (sleep time × passes per second × sleeping tasks).

Where it breaks down: everywhere CPU matters: on a shared or battery-powered machine,
and under a virtual clock, which only moves when someone waits on it (this design never
does, so ``supports_virtual_clock`` is False).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from typing import Any, ClassVar, Literal

from schedulers.protocol import Clock


class BusyWaitScheduler:
    name: ClassVar[str] = "busywait"
    dialect: ClassVar[Literal["generator"]] = "generator"
    supports_virtual_clock: ClassVar[bool] = False
    polling: ClassVar[bool] = True

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def sleep(self, seconds: float) -> Generator[None, None, None]:
        now = self.clock.now
        deadline = now() + seconds
        yield  # always suspend once, even for 0 seconds
        while now() < deadline:
            yield

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        tasks = list(coroutines)
        resumes = 0
        index = 0
        # Round-robin with in-place removal: finished tasks are swapped with the last one,
        # so the list never needs rebuilding and a pass visits each live task once.
        while tasks:
            if index >= len(tasks):
                index = 0
            task = tasks[index]
            resumes += 1
            try:
                task.send(None)
            except StopIteration:
                tasks[index] = tasks[-1]
                tasks.pop()
                continue
            index += 1
        return {"resumes": resumes}
