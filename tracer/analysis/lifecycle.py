"""The connection lifecycle: which event may follow which, in one table.

``check``, the timeline's colouring and the tests all read :data:`TABLE`.
A connection has a server side (on the threads that accept and serve it) and
a client side (on the client's lane); each side moves through its own states.
"""

from __future__ import annotations

from dataclasses import dataclass

# (side, state, kind) -> next state.  A state of None is "not seen yet".
TABLE: dict[tuple[str, str | None, str], str] = {
    # the server's side
    ("server", None, "accept"): "accepted",
    ("server", "accepted", "submit"): "queued",
    ("server", "queued", "start"): "serving",
    ("server", "accepted", "recv"): "serving",
    ("server", "accepted", "send"): "serving",
    ("server", "accepted", "thread_start"): "accepted",
    ("server", "accepted", "close"): "closed",
    ("server", "queued", "close"): "closed",
    ("server", "serving", "recv"): "serving",
    ("server", "serving", "send"): "serving",
    ("server", "serving", "work"): "serving",
    ("server", "serving", "close"): "closed",
    # the client's side
    ("client", None, "connect"): "connected",
    ("client", "connected", "send"): "connected",
    ("client", "connected", "recv"): "connected",
    ("client", "connected", "close"): "closed",
    ("client", None, "close"): "closed",  # a refused connect closes a socket that never connected
}

OPEN_STATES = {"accepted", "queued", "serving", "connected"}

# what the recorder writes as a failed connect's detail, where a connect that worked names its address
# (tracer/record/net.py: _reason, and "shutdown" for one the stop woke)
CONNECT_FAILURES = frozenset({"refused", "timeout", "reset", "shutdown"})


def connect_failed(detail: object) -> bool:
    """Whether a ``connect`` event's detail says it failed: its socket never connected, so a side it leaves
    "connected" is no connection left open (a student's client that is refused and never closes the socket)."""
    return isinstance(detail, str) and (detail in CONNECT_FAILURES or detail.startswith("error: "))


@dataclass(frozen=True)
class Step:
    """The outcome of feeding one event to a connection side."""

    state: str | None
    ok: bool
    expected: tuple[str, ...]


def expected_after(side: str, state: str | None) -> tuple[str, ...]:
    """The kinds that may follow ``state`` on ``side``."""
    return tuple(sorted(k for (s, st, k) in TABLE if s == side and st == state))


def step(side: str, state: str | None, kind: str) -> Step:
    """Move a connection side on by one event.

    An event the table does not allow leaves the state as it was and reports
    what was expected instead.
    """
    nxt = TABLE.get((side, state, kind))
    if nxt is None:
        return Step(state, False, expected_after(side, state))
    return Step(nxt, True, ())
