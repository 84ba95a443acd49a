# The model as it was before the columnar model (issue 14): the reference for tests/test_model_columns.py.
"""Read a recording into a plain-Python model that the UI, exports and check share.

How this works
--------------
:class:`Builder` takes lines one at a time (so live mode can feed it a growing
file) and keeps, per lane, columnar ``array`` s — start, duration, kind code,
connection, count, line number — sorted by start time, so that the timeline
finds what is visible with ``bisect``.  Details (close reasons, peer
addresses) are rare and live in a dict per lane.

Connections are joined across both ends as events arrive: the server's
``accept`` carries the peer's address, the client's ``connect`` its own local
address.  A client event is stored under the server's connection id once its
``accept`` is known; until then (or for a connection never accepted) under
``-client_id``, and rewritten in place when the match comes.

Malformed input raises :class:`~tracer.errors.RecordingError` with the file name,
line number and what was expected; a missing trailer and a cut-off last line
are accepted with a warning.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tracer.recording.events import BY_CODE, Event


class Lane:
    """One thread's events, as parallel arrays sorted by start time."""

    __slots__ = ("id", "name", "native_id", "side", "line", "t", "dur", "kind", "conn", "count", "lines", "details",
                 "_sorted", "end")

    def __init__(self, lane_id: int, name: str, native_id: int, side: str, line: int = 0) -> None:
        self.id = lane_id
        self.name = name
        self.native_id = native_id
        self.side = side
        self.line = line
        self.t = array("q")
        self.dur = array("q")
        self.kind = array("b")
        self.conn = array("i")
        self.count = array("q")
        self.lines = array("i")
        self.details: dict[int, str | int] = {}
        self._sorted = True
        self.end = 0  # when the lane's last-ending event ends

    def __len__(self) -> int:
        return len(self.t)

    def __repr__(self) -> str:
        return f"Lane({self.id}, {self.name!r}, {self.side}, {len(self)} events)"

    def event(self, i: int) -> Event:
        """The ``i``-th event of this lane."""
        return Event(self.t[i], self.dur[i], BY_CODE[self.kind[i]].name, self.id, self.conn[i], self.count[i],
                     self.details.get(i), self.lines[i])

    def events(self) -> Iterator[Event]:
        return (self.event(i) for i in range(len(self)))

    def first_at_or_after(self, t: int) -> int:
        """Index of the first event starting at or after ``t``."""
        return bisect_left(self.t, t)

    def last_before(self, t: int) -> int:
        """Index of the last event starting at or before ``t`` (-1 if none)."""
        return bisect_right(self.t, t) - 1

    def kinds(self) -> set[str]:
        return {BY_CODE[c].name for c in set(self.kind)}

    def _append(self, t: int, dur: int, code: int, conn: int, count: int, line: int, detail: Any) -> int:
        i = len(self.t)
        if i and t < self.t[-1]:
            self._sorted = False
        if t + dur > self.end:
            self.end = t + dur
        self.t.append(t)
        self.dur.append(dur)
        self.kind.append(code)
        self.conn.append(conn)
        self.count.append(count)
        self.lines.append(line)
        if detail is not None:
            self.details[i] = detail
        return i

    def _sort(self) -> None:
        """Put events in start order (stable), if writers interleaved them."""
        if self._sorted:
            return
        order = sorted(range(len(self.t)), key=self.t.__getitem__)
        for name in ("t", "dur", "kind", "conn", "count", "lines"):
            old = getattr(self, name)
            setattr(self, name, array(old.typecode, (old[i] for i in order)))
        where = {old: new for new, old in enumerate(order)}
        self.details = {where[i]: d for i, d in self.details.items()}
        self._sorted = True


@dataclass
class Counter:
    """A sampled value over time (``backlog``, ``queue``, ``threads``)."""

    name: str
    t: array = field(default_factory=lambda: array("q"))
    v: array = field(default_factory=lambda: array("q"))

    def at(self, t: int) -> int:
        """The value at time ``t`` (0 before the first sample)."""
        i = bisect_right(self.t, t) - 1
        return self.v[i] if i >= 0 else 0

    def peak(self) -> int:
        return max(self.v, default=0)


@dataclass(slots=True)
class Connection:
    """One TCP connection, both ends, with the times that tell where it waited.

    Slotted: a recording holds one per ~11 events, and without a ``__dict__``
    each costs ~110 bytes less (10 bytes an event on a million-event recording).

    ``id`` > 0 for a connection the server accepted; < 0 for one seen only on
    the client's side (refused, or still in the backlog when recording ended).
    Times are ns since the recording's start; None where not seen.
    """

    id: int
    peer: str | None = None
    accept_t: int | None = None
    accepted_t: int | None = None  # when accept() returned it
    accept_lane: int | None = None
    submit_t: int | None = None
    start_t: int | None = None
    serve_lane: int | None = None
    close_t: int | None = None
    close_reason: str | None = None
    connect_t: int | None = None
    connected_t: int | None = None  # when the client's connect() returned
    client_lane: int | None = None
    client_close_t: int | None = None
    client_close_reason: str | None = None
    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    client_id: int | None = None
    replying: bool = False  # (changed since: the last byte-moving event was a send)

    @property
    def backlog_wait(self) -> int | None:
        """From the handshake's end (client's connect returned) to accept() returning it."""
        if self.connected_t is None or self.accepted_t is None:
            return None
        return max(0, self.accepted_t - self.connected_t)

    @property
    def queue_wait(self) -> int | None:
        """From the hand-off to the pool to a worker picking it up."""
        if self.submit_t is None or self.start_t is None:
            return None
        return max(0, self.start_t - self.submit_t)

    @property
    def service(self) -> int | None:
        """From being picked up (or accepted) to the server's close."""
        begin = self.start_t if self.start_t is not None else self.accepted_t
        if begin is None or self.close_t is None:
            return None
        return max(0, self.close_t - begin)

    @property
    def closed(self) -> bool:
        return self.close_t is not None


class Recording:
    """A whole recording: header, lanes, counters, marks, connections, trailer."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.header: dict[str, Any] = {}
        self.lanes: dict[int, Lane] = {}
        self.counters: dict[str, Counter] = {}
        self.marks: list[tuple[int, str]] = []
        self.connections: dict[int, Connection] = {}
        self.trailer: dict[str, Any] | None = None
        self.warnings: list[str] = []  # in words, in the language in force
        self.cut_off = False  # the last line was cut off (the warnings say so in words)
        self.n_events = 0
        self.t_max = 0

    @property
    def model(self) -> str:
        return str(self.header.get("model", "?"))

    @property
    def settings(self) -> dict[str, Any]:
        s = self.header.get("settings")
        return s if isinstance(s, dict) else {}

    @property
    def dropped(self) -> int:
        return int(self.trailer.get("dropped", 0)) if self.trailer else 0

    @property
    def complete(self) -> bool:
        return self.trailer is not None

    def server_lanes(self) -> list[Lane]:
        return [lane for lane in self.lanes.values() if lane.side == "server"]

    def client_lanes(self) -> list[Lane]:
        return [lane for lane in self.lanes.values() if lane.side == "client"]

    def events(self) -> Iterator[Event]:
        """Every event, in start-time order across lanes (ties: lane order)."""
        import heapq

        iters = [lane.events() for lane in self.lanes.values()]
        return heapq.merge(*iters, key=lambda e: (e.t, e.lane))

    def connection_events(self, conn_id: int) -> list[Event]:
        """Both ends of one connection's story, in time order."""
        out = []
        for lane in self.lanes.values():
            conns = lane.conn
            for i in range(len(lane)):
                if conns[i] == conn_id:
                    out.append(lane.event(i))
        out.sort(key=lambda e: (e.t, e.lane))
        return out


def natural_key(lane: Lane) -> list[int | str]:
    """A lane's name with its digit runs as numbers: client-2 sorts before client-10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", lane.name)]
