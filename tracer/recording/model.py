"""Read a recording into a plain-Python model that the UI, exports and check share.

How this works
--------------
:class:`Builder` takes lines one at a time (so live mode can feed it a growing
file) and keeps, per lane, columnar ``array`` s — start, duration, kind code,
connection, count, line number — sorted by start time, so that the timeline
finds what is visible with ``bisect``.  Details (close reasons, peer
addresses) are rare: a lane keeps them as two arrays (event index, value
number) over one table of the recording's distinct values (:class:`Values`),
read like a dict (:class:`Details`).  Connections are columns too
(:mod:`tracer.recording.conntable`).

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
from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from dataclasses import dataclass, field
from typing import Any

from tracer.recording import fastpath
from tracer.recording.conntable import Connection, ConnTable, Values
from tracer.recording.events import BY_CODE, Event

__all__ = ["Connection", "ConnTable", "Counter", "Details", "Lane", "Recording", "Values", "natural_key"]


# a lane's dur and count columns start narrow and widen, through these typecodes, when a value does not fit
_WIDTHS = {"h": (-(2**15), 2**15 - 1), "i": (-(2**31), 2**31 - 1), "q": (-(2**63), 2**63 - 1)}


def _fits(value: int, code: str) -> bool:
    lo, hi = _WIDTHS[code]
    return lo <= value <= hi


class Details(Mapping[int, "str | int"]):
    """A lane's details (event index -> close reason, peer, ...): two arrays, read like a dict.

    ``idx`` holds the event indices in increasing order, ``vid`` each one's number in ``table``.
    """

    __slots__ = ("idx", "vid", "table")

    def __init__(self, table: Values | None = None) -> None:
        self.idx = array("i")
        self.vid = array("i")
        self.table = table if table is not None else Values()

    def get(self, i: int, default: Any = None) -> Any:
        idx = self.idx
        k = bisect_left(idx, i)
        if k < len(idx) and idx[k] == i:
            return self.table.items[self.vid[k]]
        return default

    def __getitem__(self, i: int) -> str | int:
        idx = self.idx
        k = bisect_left(idx, i)
        if k < len(idx) and idx[k] == i:
            return self.table.items[self.vid[k]]
        raise KeyError(i)

    def __contains__(self, i: object) -> bool:
        if not isinstance(i, int):
            return False
        k = bisect_left(self.idx, i)
        return k < len(self.idx) and self.idx[k] == i

    def __len__(self) -> int:
        return len(self.idx)

    def __iter__(self) -> Iterator[int]:
        return iter(self.idx)

    def items(self) -> ItemsView[int, str | int]:
        return _DetailItems(self)

    def values(self) -> ValuesView[str | int]:
        return _DetailValues(self)

    def __repr__(self) -> str:
        return f"Details({dict(self.items())!r})"

    def __setitem__(self, i: int, value: str | int) -> None:
        """Set (or add) the detail of event ``i``, as a dict would (the reader appends with :meth:`put`)."""
        idx = self.idx
        k = bisect_left(idx, i)
        vid = self.table.id_of(value)
        if k < len(idx) and idx[k] == i:
            self.vid[k] = vid
        else:
            idx.insert(k, i)
            self.vid.insert(k, vid)

    def put(self, i: int, value: str | int) -> None:
        """Add the detail of event ``i`` (after every one there is)."""
        self.idx.append(i)
        self.vid.append(self.table.id_of(value))


class _DetailItems(ItemsView[int, "str | int"]):
    def __iter__(self) -> Iterator[tuple[int, str | int]]:
        d: Details = self._mapping  # type: ignore[attr-defined]
        items = d.table.items
        return ((i, items[v]) for i, v in zip(d.idx, d.vid, strict=True))


class _DetailValues(ValuesView["str | int"]):
    def __iter__(self) -> Iterator[str | int]:
        d: Details = self._mapping  # type: ignore[attr-defined]
        return map(d.table.items.__getitem__, d.vid)


class Lane:
    """One thread's events, as parallel arrays sorted by start time."""

    __slots__ = ("id", "name", "native_id", "side", "line", "t", "dur", "kind", "conn", "count", "lines", "details",
                 "_sorted", "end", "index")

    def __init__(self, lane_id: int, name: str, native_id: int, side: str, line: int = 0,
                 values: Values | None = None) -> None:
        self.id = lane_id
        self.name = name
        self.native_id = native_id
        self.side = side
        self.line = line
        self.t = array("q")
        # int32 while every value fits, then int64 (_widen); counts int16 first (bytes, -1): 6-8 bytes an event saved
        self.dur = array("i")
        self.kind = array("b")
        self.conn = array("i")
        self.count = array("h")
        self.lines = array("i")
        self.details = Details(values)
        self._sorted = True
        self.end = 0  # when the lane's last-ending event ends
        self.index = -1  # its number in the recording's lane_ids (connections store lanes so), once it has one

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
        if not _fits(dur, self.dur.typecode):
            self._widen("dur", "q")
        if not _fits(count, self.count.typecode):
            self._widen("count", "i" if _fits(count, "i") else "q")
        self.t.append(t)
        self.dur.append(dur)
        self.kind.append(code)
        self.conn.append(conn)
        self.count.append(count)
        self.lines.append(line)
        if detail is not None:
            self.details.put(i, detail)
        return i

    def _widen(self, name: str, code: str) -> None:
        """Make column ``name`` (``dur`` or ``count``, as narrow as its values allow) of typecode ``code``, wider.

        A new array: a timeline holding the old one sees it is not the lane's any more (as after a re-sort)."""
        setattr(self, name, array(code, getattr(self, name)))

    def _sort(self) -> None:
        """Put events in start order (stable), if writers interleaved them."""
        if self._sorted:
            return
        fast = fastpath.native
        names = ("t", "dur", "kind", "conn", "count", "lines")
        if fast is not None and all(isinstance(getattr(self, name), array) for name in names):
            self._sort_native(fast, names)
            return
        order = sorted(range(len(self.t)), key=self.t.__getitem__)
        for name in ("t", "dur", "kind", "conn", "count", "lines"):
            old = getattr(self, name)
            setattr(self, name, array(old.typecode, map(old.__getitem__, order)))
        d = self.details
        if d:  # (arrays, not lists or dicts: a lane of millions of events sorts once loaded, and peak memory counts)
            where = array("i", bytes(4 * len(order)))  # old index -> new
            for new, old_i in enumerate(order):
                where[old_i] = new
            del order
            moved = array("i", map(where.__getitem__, d.idx))
            del where
            by = sorted(range(len(moved)), key=moved.__getitem__)
            details = Details(d.table)
            details.idx = array("i", map(moved.__getitem__, by))
            details.vid = array("i", map(d.vid.__getitem__, by))
            self.details = details
        self._sorted = True

    def _sort_native(self, fast: Any, names: tuple[str, ...]) -> None:
        """:meth:`_sort` with the C extension's argsort and take: 8 bytes an event of the lane at the peak (the
        lists of Python ints above cost ~70, and a 10M-event recording's accept lane holds ~2M events)."""
        order = fast.argsort(self.t)
        for name in names:
            setattr(self, name, fast.take(getattr(self, name), order))
        d = self.details
        if d:
            where = fast.argsort(order)  # old index -> new (the inverse of a permutation is its argsort)
            del order
            moved = fast.take(where, d.idx)
            del where
            by = fast.argsort(moved)
            details = Details(d.table)
            details.idx = fast.take(moved, by)
            details.vid = fast.take(d.vid, by)
            self.details = details
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


class Recording:
    """A whole recording: header, lanes, counters, marks, connections, trailer."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.header: dict[str, Any] = {}
        self.lanes: dict[int, Lane] = {}
        self.counters: dict[str, Counter] = {}
        self.marks: list[tuple[int, str]] = []
        self.values = Values()  # every detail value, once
        self.lane_ids: list[int] = []  # lanes in the order they were numbered (connections store the number)
        self.connections = ConnTable(self.lane_ids, self.values)
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
