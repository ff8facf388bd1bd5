"""Deliberately broken schedulers, loaded as plugins only by the tests that need them.

Each one is the heapq design with exactly one thing wrong, so a test failing on it can
only be the validator noticing that thing.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from schedulers.heapq_timers import HeapqScheduler


def _events_sink(coro: Any) -> list[tuple[int, int]]:
    """The trace list a rocket records into, reached through its suspended frame.

    A scheduler has no legitimate access to the trace; tampering through the frame is the
    only way one can reorder a countdown, which is what these tests need to simulate.
    """
    return coro.gi_frame.f_locals["record"].__self__  # type: ignore[no-any-return]


class LosesRocket(HeapqScheduler):
    name: ClassVar[str] = "loses-rocket"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        coros = list(coroutines)
        return super().run(coros[:-1])  # the last rocket is never started


class WakesEarly(HeapqScheduler):
    """Files every wait request at half its length."""

    name: ClassVar[str] = "wakes-early"

    @staticmethod
    def sleep(seconds: float) -> Generator[float, None, None]:
        yield seconds / 2


class _TampersWithTrace(HeapqScheduler):
    """Runs correctly, then edits the trace through ``tamper``."""

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        coros = list(coroutines)
        events = _events_sink(coros[0]) if coros else []
        counters = super().run(coros)
        self.tamper(events)
        return counters

    def tamper(self, events: list[tuple[int, int]]) -> None:
        raise NotImplementedError


class ReordersCountdown(_TampersWithTrace):
    name: ClassVar[str] = "reorders-countdown"

    def tamper(self, events: list[tuple[int, int]]) -> None:
        # Swap the first two countdown steps of the first rocket that has two.
        first_step: dict[int, int] = {}
        for i, (rocket, step) in enumerate(events):
            if step == 0:
                continue
            if rocket in first_step:
                j = first_step[rocket]
                events[i], events[j] = events[j], events[i]
                break
            first_step[rocket] = i


class LaunchesTwice(_TampersWithTrace):
    name: ClassVar[str] = "launches-twice"

    def tamper(self, events: list[tuple[int, int]]) -> None:
        launch = next(e for e in events if e[1] == 0)
        events.append(launch)


class MiscountsResumes(HeapqScheduler):
    name: ClassVar[str] = "miscounts"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        counters = dict(super().run(coroutines))
        counters["resumes"] += 7
        return counters


class Raises(HeapqScheduler):
    name: ClassVar[str] = "raises"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        raise RuntimeError("scheduler exploded on purpose")


class NoRun:
    """Lacks the ``run`` member of the contract."""

    name: ClassVar[str] = "no-run"
    dialect: ClassVar[str] = "generator"

    def __init__(self, clock: Any) -> None:
        self.clock = clock

    def sleep(self, seconds: float) -> Any:
        yield seconds


class BadDialect(HeapqScheduler):
    dialect: ClassVar[str] = "threads"  # type: ignore[assignment]


class RaisesMidRun(HeapqScheduler):
    """Runs correctly for a while, then raises."""

    name: ClassVar[str] = "raises-mid-run"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        coros = list(coroutines)
        for coro in coros[: len(coros) // 2]:
            next(coro)
        raise ValueError("lost track of the heap halfway through")


class Hangs(HeapqScheduler):
    """Never returns: a pure-Python infinite loop (no blocking call to interrupt)."""

    name: ClassVar[str] = "hangs"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        spins = 0
        while True:
            spins += 1


class HangsAndWrapsInterrupts(HeapqScheduler):
    """Never returns, and turns any exception raised inside it into its own, as trio does
    with ``TrioInternalError``: a harness must not take that for the scheduler's failure
    when it was its own time limit that interrupted it."""

    name: ClassVar[str] = "hangs-and-wraps"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        try:
            while True:
                pass
        except BaseException as exc:
            raise RuntimeError("internal error in the loop") from exc


class SaysItHangs(Hangs):
    """Hangs, after creating ``hang-started`` in its working directory: the event a test
    waits for before it interrupts the suite (no guessing how long start-up takes)."""

    name: ClassVar[str] = "says-it-hangs"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        Path("hang-started").touch()
        return super().run(coroutines)


class Recurses(HeapqScheduler):
    name: ClassVar[str] = "recurses"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        return self.run(coroutines)


class EatsMemory(HeapqScheduler):
    """Allocates until the address-space limit stops it."""

    name: ClassVar[str] = "eats-memory"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        hoard = []
        while True:
            hoard.append(bytearray(16 * 1024 * 1024))


class ForksDaemon(HeapqScheduler):
    """Runs honestly, but first double-forks a daemon in a session of its own (escaping the
    job's process group) that would live for ten minutes; it writes its pid to the file named
    by ``SCHEDBENCH_TEST_PIDFILE``. The harness must end it with the job."""

    name: ClassVar[str] = "forks-daemon"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        import os
        import time

        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                with open(os.environ["SCHEDBENCH_TEST_PIDFILE"], "a") as fp:
                    fp.write(f"{os.getpid()}\n")
                time.sleep(600)
            os._exit(0)
        return super().run(coroutines)


class ForksWorker(HeapqScheduler):
    """Forks a child that keeps spinning after the run, without leaving the job's session,
    and starts a non-daemon thread that never ends: the job must still end on time. The
    child's pid goes to the file named by ``SCHEDBENCH_TEST_PIDFILE``."""

    name: ClassVar[str] = "forks-worker"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        import os
        import threading
        import time

        child = os.fork()
        if child == 0:
            while True:
                pass
        with open(os.environ["SCHEDBENCH_TEST_PIDFILE"], "a") as fp:
            fp.write(f"{child}\n")
        threading.Thread(target=time.sleep, args=(600,)).start()
        return super().run(coroutines)


class SpoilsRecords(HeapqScheduler):
    """Runs honestly, but first double-forks a daemon that, for a minute, appends forged
    records (a lost rocket, INVALID) to every record file of every job in the orchestrator's
    scratch folder: later jobs' files included, if it were still alive when they run."""

    name: ClassVar[str] = "spoils-records"

    def run(self, coroutines: Iterable[Generator[Any, None, None]]) -> Mapping[str, int]:
        import json
        import os
        import sys
        import time
        from pathlib import Path

        argv = sys.argv
        if "--record-dir" in argv and os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.closerange(0, 1 << 16)  # a proper daemon: nobody waits on its pipes
                scratch = Path(argv[argv.index("--record-dir") + 1]).parent.parent
                forged = json.dumps({"status": "invalid", "reasons": ["rocket 0 lost (forged)"]}) + "\n"
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    for records in scratch.glob("*/records"):
                        with open(records / "forged.jsonl", "a") as fp:
                            fp.write(forged)
                    time.sleep(0.05)
            os._exit(0)
        return super().run(coroutines)


class StatsPerSleep(HeapqScheduler):
    """heapq with one planted system call per sleep: ``os.stat('.')`` really enters the
    kernel (``newfstatat``), unlike ``os.getpid``, which some C libraries cache. The syscall
    gate (``--measure syscalls``, ``compare``) must catch it; the instruction gate barely
    could (a stat is a few hundred instructions in user space)."""

    name: ClassVar[str] = "stats-per-sleep"

    @staticmethod
    def sleep(seconds: float) -> Generator[float, None, None]:
        import os

        os.stat(".")
        yield seconds


class StatsPerWake(HeapqScheduler):
    """heapq with one planted system call per readiness wait (``os.stat('.')`` in
    ``readable``): the io mode's syscall gate must catch it."""

    name: ClassVar[str] = "stats-per-wake"

    def readable(self, sock: Any) -> Any:
        import os

        os.stat(".")
        return super().readable(sock)


def _corrupting_echo(listener: Any) -> None:
    """Echoes every byte but flips the lowest bit of the first byte of each read."""
    import socket
    import threading

    listener.setblocking(True)

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(bytes([data[0] ^ 1]) + data[1:])

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def _crashing_echo(listener: Any) -> None:
    raise RuntimeError("this echo server cannot start")


class CorruptsEcho(HeapqScheduler):
    """heapq whose echo server corrupts what it sends back: the echo benchmark's INVALID case."""

    name: ClassVar[str] = "corrupts-echo"
    echo_servers: ClassVar[Mapping[str, Any]] = {"default": _corrupting_echo}


class CrashingEcho(HeapqScheduler):
    """heapq whose echo server raises before it serves: FAILED, with the reason."""

    name: ClassVar[str] = "crashing-echo"
    echo_servers: ClassVar[Mapping[str, Any]] = {"default": _crashing_echo}
