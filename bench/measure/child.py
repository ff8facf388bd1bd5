"""The child side of ``bench.measure.isolate``: ``python -m bench.measure.child FD PARENT JSON``.

It asks to die with its parent, limits its memory, imports the handler named in the JSON
(harness code; a handler imports a plugin itself, after the harness), calls it with a
``Channel`` to the parent and sends back its return value or how it failed, then leaves
with ``os._exit`` so no plugin's atexit hook or thread can change the ending.

Kept small on purpose: its frames sit under every measured run, and some loops record
their caller's stack (gevent's spawn tree computes each frame's line number, at a cost
that grows with the frame's offset in its code object).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
from typing import Any, Final, NoReturn

from bench.measure.isolate import HANDLERS
from bench.measure.process_tree import die_with_parent

_dumps: Final = json.dumps  # captured before any handler (and so any plugin) is imported


class Channel:
    """The child's end of the result pipe: one JSON object per line."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, message: Any) -> None:
        data = (_dumps(message) + "\n").encode()
        while data:
            data = data[os.write(self.fd, data):]


def limit_memory(megabytes: int) -> None:
    import resource

    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _describe_exception(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"exited: sys.exit({exc.code!r}) was called"
    if isinstance(exc, KeyboardInterrupt):
        return "raised KeyboardInterrupt (not a signal from outside)"
    if isinstance(exc, MemoryError):
        return "out of memory (MemoryError)"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def child_main(argv: list[str]) -> NoReturn:
    fd, parent, payload = int(argv[0]), int(argv[1]), json.loads(argv[2])
    die_with_parent(parent)
    channel = Channel(fd)
    code = 0
    try:
        limit_memory(int(payload.get("memory_limit_mb", 0)))
        module_name, _, function = HANDLERS[payload["handler"]].partition(":")
        handler = getattr(importlib.import_module(module_name), function)
        result = handler(payload["params"], channel)
        channel.send({"result": result})
    except BaseException as exc:  # the handler ran plugin code: any ending is a result
        code = 1
        with contextlib.suppress(BaseException):
            channel.send({"error": _describe_exception(exc)})
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
        sys.stderr.flush()
    # Skip interpreter shutdown: a plugin's atexit hook or leftover thread must not hang or
    # change the ending; whatever it left running is the parent's to end.
    os._exit(code)


if __name__ == "__main__":
    child_main(sys.argv[1:])
