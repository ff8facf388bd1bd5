"""Which function runs one measured run of a workload: one place that knows every mode.

Switch and timed runs go through ``bench.measure.execute.execute_once``; the io mode has an
executor of its own (sockets to build and close around the run, a different trace to
validate) with the same signature and the same ``RunOutcome``. Callers that run "one run of
this workload" (the pyperf worker, the one-shot child, the counting children) ask here, so
a new mode is one line in ``executor_for``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.measure.execute import RunOutcome, execute_once
from bench.measure.execute_io import execute_io_once
from bench.workload.rockets import Workload

Executor = Callable[..., RunOutcome]


def executor_for(workload: Workload) -> Executor:
    """``execute_once``, or the io executor for an io workload."""
    if workload.mode == "io":
        return execute_io_once
    return execute_once


def run_once(entry: Any, workload: Workload, clock: Any = "real", probe: Any = None) -> RunOutcome:
    """One validated run of ``workload`` on ``entry``; ``probe`` starts and stops around ``run``."""
    return executor_for(workload)(entry, workload, clock, probe=probe)
