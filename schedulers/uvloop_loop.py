"""``uvloop``: the asyncio API on uvloop, libuv's event loop written in Cython.

The workload is written exactly as for ``asyncio`` (tasks, ``gather``, ``asyncio.sleep``);
only the loop underneath changes, so the difference between the two rows is the loop.

How it sleeps: ``asyncio.sleep`` schedules a ``call_later`` that uvloop turns into a libuv
timer; libuv blocks in epoll until the next one. ``sleep(0)`` is asyncio's bare yield.

Cost model: the Task and Future machinery is asyncio's own (C-accelerated), but the loop's
ready queue, timers and callbacks are C code, so a switch costs about half of asyncio's.

Where it breaks down: timers have millisecond granularity. ``call_later`` rounds the
delay to the nearest millisecond (a sleep under 0.5 ms becomes ``call_soon``), and libuv
counts it from its cached loop time (``uv_now``: whole milliseconds, refreshed once per
loop iteration). A timer can therefore fire *before* its deadline as measured by
``time.perf_counter``, by up to about a millisecond, or more when the iteration that
refreshed ``uv_now`` ran long. Those early wakes are shown as figures, not hidden.

Readiness: the ``asyncio`` row's ``add_reader``/``add_writer`` with a Future, inherited;
uvloop turns each into a libuv ``uv_poll`` handle started for the wait and stopped by the
callback.

uvloop is imported at module level on purpose: where it is not installed the entry point
fails to import and the registry lists ``uvloop`` as unavailable with the reason.

Counters: like asyncio, uvloop does not count resumes, so ``run`` returns ``None``.

Echo servers: the ``asyncio`` row's two variants, ``"streams"`` and ``"protocol"``, on a
uvloop loop (``asyncio_echo_servers``); uvloop sets ``TCP_NODELAY`` on its connections.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Mapping
from typing import ClassVar

import uvloop

from schedulers.asyncio_loop import AsyncioScheduler, asyncio_echo_servers
from schedulers.protocol import EchoServer


class UvloopScheduler(AsyncioScheduler):
    """The asyncio workload, line for line; only the loop underneath differs."""

    name: ClassVar[str] = "uvloop"
    family: ClassVar[str] = "production"
    timer_note: ClassVar[str] = (
        "libuv keeps loop time in whole milliseconds, truncated: sleeps under 1 ms fire at once and longer "
        "ones up to 1 ms early"
    )
    version: ClassVar[str] = importlib.metadata.version("uvloop")
    supports_virtual_clock: ClassVar[bool] = False  # libuv reads its own clock

    @staticmethod
    def new_event_loop() -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop

    echo_servers: ClassVar[Mapping[str, EchoServer]] = asyncio_echo_servers(uvloop.new_event_loop)
