"""The lesson's servers, one module per concurrency model, and their registry.

Each model module has ``TITLE`` and ``serve(net, cfg)``, which runs until
interrupted.  ``net`` brings the drop-in socket, Thread and ThreadPoolExecutor
(see ``tracer.record.net``); ``cfg`` is a :class:`Settings`.
"""

from __future__ import annotations

import importlib
import socket
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

MODELS: dict[str, str] = {
    "single": "servers.single",
    "thread": "servers.threaded",
    "pool": "servers.pool",
    "selectors": "servers.multiplexed",
    "asyncio": "servers.eventloop",
}

DESCRIPTIONS: dict[str, str] = {
    "single": "one thread accepts and serves one connection at a time",
    "thread": "an accept thread and a new thread per connection",
    "pool": "the accept loop hands connections to a ThreadPoolExecutor",
    "selectors": "one thread multiplexes every connection with selectors",
    "asyncio": "one thread runs an asyncio event loop, a coroutine per connection",
}

# Models whose lesson code exists as written (--as-taught).
AS_TAUGHT = ("single", "thread", "pool")


@dataclass(frozen=True)
class Settings:
    """How a lesson server runs.

    Attributes:
        model: which server.
        host, port: where it listens (port 0: a free port); an IPv6 host
            (``::1``) makes an ``AF_INET6`` socket.
        unix: a Unix socket path to listen on instead (``AF_UNIX``); then
            host and port are unused.
        workers: the pool's size.
        backlog: ``listen()``'s argument.
        timeout: idle seconds before a connection is closed (None: never).
        as_taught: run the lesson's code as written.
        work_ms: each request waits this long, as if on a database.
        cpu_ms: each request computes this long (holding the GIL).
        pause_accept_ms: the accept loop starts this late.
        program: a program of the student's in place of a model: what follows
            ``sockscope run -o FILE`` (its options, then ``SCRIPT.py`` or
            ``-m MODULE``); empty for the built-in servers.
    """

    model: str = "pool"
    host: str = "127.0.0.1"
    port: int = 0
    workers: int = 10
    backlog: int = 128
    timeout: float | None = 30.0
    as_taught: bool = False
    work_ms: float = 0
    cpu_ms: float = 0
    pause_accept_ms: float = 0
    unix: str | None = None
    program: tuple[str, ...] = ()

    @property
    def family(self) -> int:
        """The family ``socket()`` is given: ``AF_UNIX`` for a path, ``AF_INET6`` for an IPv6 host."""
        if self.unix is not None:
            return socket.AF_UNIX  # type: ignore[no-any-return, attr-defined, unused-ignore]
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    @property
    def address(self) -> tuple[str, int] | str:
        """What ``bind()`` is given: ``(host, port)``, or the path."""
        return self.unix if self.unix is not None else (self.host, self.port)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.program:
            del out["program"]
        return out


def load(model: str) -> ModuleType:
    """The module of ``model``; KeyError for an unknown one."""
    return importlib.import_module(MODELS[model])
