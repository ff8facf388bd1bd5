"""Named suite sizes: how many processes and values each kind of job gets.

``quick`` is for CI smoke runs (≤ 60 s on 2 cores); ``default``
is ``make bench`` (about 6 min on 2 cores); ``rigorous`` trades time for tighter confidence intervals.
Timed jobs run one value per process (a run at time scale 1.0 lasts ~9 s, so pyperf's
loop calibration would be pointless); their spread comes from the number of processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bench.workload.rockets import DEFAULT_ROCKETS


@dataclass(frozen=True)
class Preset:
    name: str
    rockets: int
    switch_processes: int
    switch_values: int
    switch_warmups: int
    #: time scale → worker processes (one run each)
    timed_processes: Mapping[float, int] = field(default_factory=dict)
    #: io jobs: worker processes and values each (an io run lasts a second or more at
    #: 10,000 rockets on the slower loops, so fewer than switch jobs).
    io_processes: int = 2
    io_values: int = 2

    @property
    def time_scales(self) -> list[float]:
        return list(self.timed_processes)

    def processes_for(self, scale: float) -> int:
        if scale in self.timed_processes:
            return self.timed_processes[scale]
        # A scale not in the preset: as many processes as the nearest faster one, so a
        # long run does not multiply.
        longer = [p for s, p in self.timed_processes.items() if s >= scale]
        return min(longer) if longer else min(self.timed_processes.values(), default=3)


PRESETS: dict[str, Preset] = {
    # The CI smoke run. Its switch jobs once started 7 processes × 2 values (the wall-time
    # gate pooled them); the paired gate replaced that use, and process starts were most of
    # the preset's time, so they now have the default's depth per process: 4 × 3 values.
    "quick": Preset("quick", rockets=3_000, switch_processes=4, switch_values=3, switch_warmups=1,
                    timed_processes={0.01: 4}),
    # Trimmed when the ecosystem's loops joined (13 schedulers, three body floors, three
    # timer floors) to keep `make bench` near 6 min on 2 cores: switch jobs went from 6 to 4
    # processes and the timed jobs at 0.1 and 0.01 from 3 and 5 to 2 and 3. The cost: the
    # standard error of a switch-cost mean grows by √(6/4) ≈ 1.22×, of the timed figures at
    # 0.1 and 0.01 by √(3/2) ≈ 1.22× and √(5/3) ≈ 1.29×; `--rigorous` keeps the old depth.
    "default": Preset("default", rockets=DEFAULT_ROCKETS, switch_processes=4, switch_values=3, switch_warmups=1,
                      timed_processes={1.0: 1, 0.1: 2, 0.01: 3}),
    "rigorous": Preset("rigorous", rockets=DEFAULT_ROCKETS, switch_processes=20, switch_values=3, switch_warmups=1,
                       timed_processes={1.0: 3, 0.1: 8, 0.01: 12}),
}
