"""The vocabulary of a recording: event kinds, what each one means, and lanes.

Each traced call is a *span*: when the thread entered the call (``t``, ns since
the recording's start) and how long it stayed there (``dur``, ns).  Instants
are spans of duration 0.  Everything that draws or exports events asks this
module what a kind means instead of keeping its own list.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tracer.locale import N_


class Look(enum.Enum):
    """How a kind of event reads on a timeline."""

    BLOCKED = "blocked"  # the thread sleeps in the kernel: accept, recv, select, connect
    WORKING = "working"  # the thread does something: send, handling
    QUEUED = "queued"  # a connection waits for a worker
    MARK = "mark"  # an instant: close, thread start/exit, submit, start, listen


@dataclass(frozen=True)
class Kind:
    """One kind of event.

    Attributes:
        name: the name written in recordings.
        code: a small integer used in the in-memory columnar arrays.
        look: how it reads on a timeline.
        help: one line a student understands.
    """

    name: str
    code: int
    look: Look
    help: str


_KINDS = [
    Kind("listen", 0, Look.MARK, N_("the server socket starts listening")),
    Kind("accept", 1, Look.BLOCKED, N_("waits in accept() until a connection is ready")),
    Kind("submit", 2, Look.MARK, N_("a connection is handed to the pool's queue")),
    Kind("start", 3, Look.MARK, N_("a worker picks a connection from the pool's queue")),
    Kind("recv", 4, Look.BLOCKED, N_("waits in recv() until bytes arrive")),
    Kind("send", 5, Look.WORKING, N_("send() copies the reply to the kernel")),
    Kind("close", 6, Look.MARK, N_("the socket is closed")),
    Kind("thread_start", 7, Look.MARK, N_("a thread starts")),
    Kind("thread_exit", 8, Look.MARK, N_("a thread ends")),
    Kind("select", 9, Look.BLOCKED, N_("waits in select() until some sockets are ready")),
    Kind("connect", 10, Look.BLOCKED, N_("a client waits in connect() for the handshake")),
    Kind("work", 11, Look.WORKING, N_("the handler works (waits on a database, computes)")),
]

KINDS: dict[str, Kind] = {k.name: k for k in _KINDS}
BY_CODE: list[Kind] = sorted(_KINDS, key=lambda k: k.code)


def kind(name: str) -> Kind:
    """Return the kind called ``name``; raise KeyError for an unknown one."""
    return KINDS[name]


@dataclass(frozen=True)
class Event:
    """One event, as the data layer hands it out (the arrays hold the rest).

    Attributes:
        t: start, ns since the recording's start.
        dur: ns spent in the call (0 for instants).
        kind: the kind's name.
        lane: the lane (thread) it happened on.
        conn: the connection id, 0 for none.
        nbytes: bytes moved (recv/send), sockets ready (select), or -1.
        detail: close reason, peer address, queue depth ... or None.
        line: the recording's line number it was read from (0 if unknown).
    """

    t: int
    dur: int
    kind: str
    lane: int
    conn: int = 0
    nbytes: int = -1
    detail: str | int | None = None
    line: int = 0

    @property
    def end(self) -> int:
        return self.t + self.dur
