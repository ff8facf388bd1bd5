"""The echo benchmark's two kinds of child process, as isolation handlers.

``serve``: one echo server. It imports the scheduler after the harness, makes the
listening socket itself (TCP on 127.0.0.1, port 0, ``TCP_NODELAY`` inherited by every
accepted connection, so no server is slowed by Nagle's algorithm), pins itself to its CPU,
sends ``{"port", "pid", "cpu"}`` to the parent, then hands the listener to the scheduler's
server function (``echo_servers`` in the plugin contract), which serves until the parent
ends the process tree (``isolate.run``'s ``stop``). A server that returns or raises ends
its child with the reason.

``load``: one run of the load generator (``bench.measure.loadgen``): a closed-loop probe or
an open-loop point. The generator is a compiled program the child starts, inside the
child's process tree, so it ends with the request like everything else.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

from bench.measure import loadgen
from bench.measure.registry import load_named
from schedulers.protocol import ECHO_BACKLOG, echo_variants


def serve(params: Mapping[str, Any], channel: Any) -> dict[str, Any]:
    entry = load_named(str(params["scheduler"]))  # the plugin is imported here, after the harness
    if not entry.available:
        raise RuntimeError(f"unavailable: {entry.error}")
    variants = echo_variants(entry.cls)
    variant = str(params["variant"])
    if variant not in variants:
        raise RuntimeError(f"{entry.name} has no echo server {variant!r} (it has: {', '.join(variants) or 'none'})")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(ECHO_BACKLOG)
    listener.setblocking(False)
    cpu = params.get("cpu")
    if cpu is not None:
        os.sched_setaffinity(0, {int(cpu)})
    channel.send({"port": listener.getsockname()[1], "pid": os.getpid(), "cpu": cpu})
    variants[variant](listener)
    raise RuntimeError(f"the echo server {entry.name}/{variant} returned; it must serve until it is ended")


def load(params: Mapping[str, Any], channel: Any) -> dict[str, Any]:
    """One load-generator run; its raw JSON and notes (the parent rebuilds the result)."""
    if params["mode"] == "closed":
        result = loadgen.closed_loop_probe(
            str(params["host"]), int(params["port"]), int(params["connections"]), int(params["size"]),
            float(params["duration"]), warmup=float(params["warmup"]), cpu=params.get("cpu"))
    else:
        result = loadgen.run_load(loadgen.LoadPoint(
            host=str(params["host"]), port=int(params["port"]), connections=int(params["connections"]),
            size=int(params["size"]), rate=float(params["rate"]), duration=float(params["duration"]),
            warmup=float(params["warmup"]), arrival=params.get("arrival", "constant"),
            seed=int(params.get("seed", 0)), cpu=params.get("cpu"),
            top_percentile=float(params.get("top_percentile", 99.9)), in_flight=int(params.get("in_flight", 1)),
            timeline=bool(params.get("timeline", False))))
    return {"raw": dict(result.raw), "notes": list(result.notes), "top_percentile": params.get("top_percentile", 99.9)}
