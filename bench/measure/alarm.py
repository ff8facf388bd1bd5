"""The one in-process limit on a single run: an interval timer armed around the work alone.

The parent's deadline (``bench.measure.isolate``) is what a job cannot escape; this alarm
is finer: it stops one run that overstays so the process can record why and carry on (or
end) by itself. Two rules make it unable to misfire:

* it is armed immediately before the work and disarmed right after, so building the
  coroutines or validating never spends its budget;
* whether it fired is a flag set by the handler, not the type of the exception that
  reaches the caller: a loop may catch ``RunTimeout`` and raise its own error (trio wraps
  it in ``TrioInternalError``), and an alarm that fires just as the work ends is still
  known to have fired.
"""

from __future__ import annotations

import signal
from types import FrameType, TracebackType
from typing import Any


class RunTimeout(BaseException):
    """Raised by the alarm inside a run. A BaseException, so ``except Exception`` in a
    scheduler cannot swallow it."""


class Alarm:
    """``with Alarm(seconds):`` or, as an ``execute_once`` probe, ``start()``/``stop()``."""

    def __init__(self, seconds: float, message: str | None = None) -> None:
        self.seconds = max(seconds, 1e-3)
        self.message = message or f"timed out after {seconds:g} s"
        self.fired = False
        self._previous: Any = None

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        self.fired = True
        raise RunTimeout(self.message)

    def start(self) -> None:
        self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if self._previous is not None:
            signal.signal(signal.SIGALRM, self._previous)
            self._previous = None

    def __enter__(self) -> Alarm:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
