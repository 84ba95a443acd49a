"""Connections as columns: one array per field, one row per connection, ids found through dense arrays.

How this works, and why this way
--------------------------------
A recording holds a connection per ~11 events.  As one slotted object each
(with ~8 int objects hanging off it) a connection cost ~40 bytes an event,
and the C fast path spent most of its time setting their attributes.  Here a
connection is a row of :class:`ConnTable`'s arrays (times and sums 8 bytes,
lanes and strings 4: ~130 bytes a connection, ~12 an event), and a
:class:`Connection` is a small view made when asked for, with the same
attributes as before (read-only).  "Not seen" is ``NONE`` (-1) in a column:
times, lane numbers and string numbers are never negative.  ``accepted_t``
and ``connected_t`` are kept as durations (``t + dur`` can pass 2**63).

* Rows are in the order the connections were first seen, as the dict was.  A
  client's half (stored under ``-client_id`` until its accept is read) is
  merged into the server's row and *dropped*: marked ``gone``, and squeezed
  out when the arrays are full (:meth:`ConnTable.compact`; the C fast path
  has its own, ``tracer/recording/_fastread.c``), so rows move: a view keeps
  the id and finds its row again when :attr:`ConnTable.epoch` changed.
* The arrays are longer than the rows in use (``n``): the C fast path writes
  new rows in place while it holds their buffers (an array cannot grow then).
* id -> row: ``pos[id]`` / ``neg[-id]`` (-1: none) for ids up to about twice the
  rows; a file with far-flung ids puts those in the ``far`` dict instead.
* Lanes are stored as their number in the recording's declaration order
  (``lane_ids``); strings (peers, close reasons) as their number in the
  recording's :class:`Values` (``value_table``).
* A byte sum that outgrows 64 bits (only a made-up file can) turns its column
  into a list; the C path then leaves the rest of the file to Python.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from itertools import compress
from typing import Any, overload

from tracer.recording import fastpath

NONE = -1
# name, typecode, value of a new row (id's is the id)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("id", "i", 0), ("peer", "i", NONE), ("accept_t", "q", NONE), ("accept_dur", "q", 0), ("accept_lane", "i", NONE),
    ("submit_t", "q", NONE), ("start_t", "q", NONE), ("serve_lane", "i", NONE), ("close_t", "q", NONE),
    ("close_reason", "i", NONE), ("connect_t", "q", NONE), ("connect_dur", "q", 0), ("client_lane", "i", NONE),
    ("client_close_t", "q", NONE), ("client_close_reason", "i", NONE), ("requests", "q", 0), ("bytes_in", "q", 0),
    ("bytes_out", "q", 0), ("client_id", "i", 0), ("replying", "b", 0), ("gone", "b", 0),
)
# what a client's half brings to the server's row when the two ends are joined
HALF = ("connect_t", "connect_dur", "client_lane", "client_close_t", "client_close_reason", "client_id")
_DENSE_SLACK = 4096
if fastpath.native is not None and tuple(fastpath.native.COLUMNS) != tuple(name for name, _, _ in COLUMNS):
    fastpath.native = None  # built from other source: read in Python (pip install -e . builds it again)


class ConnTable:
    """The recording's connections (``rec.connections``): read like a dict of id -> :class:`Connection`."""

    # the columns (set from COLUMNS in __init__): arrays; a byte sum past 64 bits makes its column a list
    id: Any
    peer: Any
    accept_t: Any
    accept_dur: Any
    accept_lane: Any
    submit_t: Any
    start_t: Any
    serve_lane: Any
    close_t: Any
    close_reason: Any
    connect_t: Any
    connect_dur: Any
    client_lane: Any
    client_close_t: Any
    client_close_reason: Any
    requests: Any
    bytes_in: Any
    bytes_out: Any
    client_id: Any
    replying: Any  # the server's last byte-moving event on it was a send: its next send is no new reply
    gone: Any

    def __init__(self, lane_ids: list[int] | None = None, values: Values | None = None) -> None:
        self.lane_ids: list[int] = lane_ids if lane_ids is not None else []
        self.value_table = values if values is not None else Values()
        self.n = 0  # rows in use (gone ones included)
        self.live = 0
        self.dead = 0
        self.epoch = 0  # rows moved (compaction): views look their row up again
        self.cap = 0
        for name, code, _ in COLUMNS:
            setattr(self, name, array(code))
        self.pos = array("i")
        self.neg = array("i")
        self.far: dict[int, int] = {}

    # ------------------------------------------------------------ reading
    def row_of(self, cid: int) -> int:
        """The row of connection ``cid``, -1 if none."""
        if cid > 0:
            return self.pos[cid] if cid < len(self.pos) else self.far.get(cid, -1)
        if cid < 0:
            return self.neg[-cid] if -cid < len(self.neg) else self.far.get(cid, -1)
        return -1

    def __len__(self) -> int:
        return self.live

    def __contains__(self, cid: object) -> bool:
        return isinstance(cid, int) and self.row_of(cid) >= 0

    def get(self, cid: int, default: Connection | None = None) -> Connection | None:
        r = self.row_of(cid) if isinstance(cid, int) else -1
        return Connection._view(self, r, cid) if r >= 0 else default

    def __getitem__(self, cid: int) -> Connection:
        r = self.row_of(cid) if isinstance(cid, int) else -1
        if r < 0:
            raise KeyError(cid)
        return Connection._view(self, r, cid)

    def _rows(self) -> tuple[int, list[tuple[int, int]]]:
        """(epoch, [(row, id)]) of the live rows, in order, read while no other thread moves them."""
        while True:
            epoch, n = self.epoch, self.n
            ids, gone = self.id[:n], self.gone[:n]
            if epoch == self.epoch:
                break
        keep = [not g for g in gone]
        return epoch, list(zip(compress(range(n), keep), compress(ids, keep), strict=True))

    def keys(self) -> list[int]:
        return [cid for _, cid in self._rows()[1]]

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys())

    def values(self) -> list[Connection]:
        epoch, rows = self._rows()
        view = Connection._view
        return [view(self, r, cid, epoch) for r, cid in rows]

    def items(self) -> list[tuple[int, Connection]]:
        epoch, rows = self._rows()
        view = Connection._view
        return [(cid, view(self, r, cid, epoch)) for r, cid in rows]

    def __repr__(self) -> str:
        return f"ConnTable({self.live} connections)"

    def _snapshot(self, *names: str) -> tuple[Any, ...]:
        """The live rows' values of some columns (a tuple of lists), read while no other thread moves them."""
        while True:
            epoch, n = self.epoch, self.n
            cols = [getattr(self, name)[:n] for name in ("gone", *names)]
            if epoch == self.epoch:
                break
        keep = [not g for g in cols[0]]
        return tuple(list(compress(col, keep)) for col in cols[1:])

    def any_wait(self, first: str, then: str, first_dur: str | None = None, then_dur: str | None = None) -> bool:
        """Whether a connection waited between two of its times (e.g. ``submit_t`` and ``start_t``): what
        ``any(c.queue_wait for c in values())`` says, without a view a connection.  The ``_dur`` columns are
        added to the times (``accepted_t`` is ``accept_t + accept_dur``)."""
        a, b, *durs = self._snapshot(first, then, *(d for d in (first_dur, then_dur) if d))
        da = durs[0] if first_dur else None
        db = durs[-1] if then_dur else None
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            if x >= 0 and y >= 0 and y + (db[k] if db else 0) > x + (da[k] if da else 0):
                return True
        return False

    def open_intervals(self) -> tuple[list[int], list[int]]:
        """When each connection opened (accepted, else connected) and, where seen, closed (its own side)."""
        ids, at, adur, ct, cdur, close, cclose = self._snapshot(
            "id", "accept_t", "accept_dur", "connect_t", "connect_dur", "close_t", "client_close_t")
        # (one pass over zipped columns: an index loop cost ~0.23 s per 50,000 connections)
        begins = [a + ad if a >= 0 else c + cd if c >= 0 else -1
                  for a, ad, c, cd in zip(at, adur, ct, cdur, strict=True)]
        opens = [b for b in begins if b >= 0]
        closes = [max(e, b) for b, e in
                  ((b, x if cid > 0 else y) for b, cid, x, y in zip(begins, ids, close, cclose, strict=True))
                  if b >= 0 and e >= 0]
        return opens, closes

    # ------------------------------------------------------------ building (the reader's)
    def new(self, cid: int) -> int:
        """Add connection ``cid`` (not there yet) as the last row; return its row."""
        if self.n == self.cap:
            self._room()
        r = self.n
        for name, _, default in COLUMNS:
            getattr(self, name)[r] = default
        self.id[r] = cid
        self.n += 1
        self.live += 1
        self._slot(cid, r)
        return r

    def __setitem__(self, cid: int, conn: Connection) -> None:
        """``table[cid] = conn``: a row with ``conn``'s fields (a test's or a tool's hand-made connection)."""
        r = self.row_of(cid)
        if r < 0:
            r = self.new(cid)
        self.put(r, **{name: getattr(conn, name) for name in Connection.FIELDS if name != "id"})

    def put(self, r: int, **fields: Any) -> None:
        """Set row ``r``'s fields from their values as a :class:`Connection` reads them (None: not seen)."""
        def lane(x: int | None) -> int:
            if x is None:
                return NONE
            if x not in self.lane_ids:
                self.lane_ids.append(x)
            return self.lane_ids.index(x)

        for name, value in fields.items():
            if name in ("peer", "close_reason", "client_close_reason"):
                getattr(self, name)[r] = NONE if value is None else self.value_table.id_of(value)
            elif name in ("accept_lane", "serve_lane", "client_lane"):
                getattr(self, name)[r] = lane(value)
            elif name in ("accepted_t", "connected_t"):
                begin = "accept_t" if name == "accepted_t" else "connect_t"
                t = fields.get(begin, getattr(self, begin)[r])
                if value is not None and (t is None or t < 0):
                    raise ValueError(f"{name} needs {begin}")
                getattr(self, begin.replace("_t", "_dur"))[r] = 0 if value is None else value - t
            elif name == "client_id":
                self.client_id[r] = value or 0
            elif name in ("requests", "bytes_in", "bytes_out"):
                getattr(self, name)[r] = value
            elif name in Connection.FIELDS and name != "id":
                getattr(self, name)[r] = NONE if value is None else value
            else:
                raise TypeError(f"Connection has no field {name!r}")

    def drop(self, cid: int) -> int:
        """Take connection ``cid`` out (its row stays, marked gone, until compacted); return the row, -1 if none."""
        r = self.row_of(cid)
        if r < 0:
            return r
        self._slot(cid, -1)
        self.gone[r] = 1
        self.live -= 1
        self.dead += 1
        return r

    def add(self, name: str, r: int, value: int) -> None:
        """``column[r] += value``, a column of Python ints from then on if it outgrows 64 bits."""
        col = getattr(self, name)
        try:
            col[r] += value
        except OverflowError:
            col = list(col)
            setattr(self, name, col)
            col[r] += value

    def _slot(self, cid: int, r: int) -> None:
        """Point id ``cid`` at row ``r`` (-1: nowhere)."""
        dense, key = (self.pos, cid) if cid > 0 else (self.neg, -cid)
        if key < len(dense):
            dense[key] = r
            return
        if r < 0:
            self.far.pop(cid, None)
            return
        if key >= self.live * 2 + _DENSE_SLACK:  # far beyond the rows: a dense array would be mostly empty
            self.far[cid] = r
            return
        grow = max(key + 1, len(dense) * 5 // 4 + 1024) - len(dense)
        dense.extend(array("i", [-1]) * grow)
        for other in [k for k in self.far if (k > 0) == (cid > 0) and abs(k) < len(dense)]:
            dense[abs(other)] = self.far.pop(other)
        dense[key] = r

    def _room(self) -> None:
        """Make room for rows: squeeze out gone rows if there are enough of them, else grow the arrays."""
        if self.dead and self.dead * 4 >= self.n:
            self.compact()
        if self.n * 4 > self.cap * 3 or self.n == self.cap:
            self._resize(max(16, self.n * 3 // 2 + 16))

    def _resize(self, cap: int) -> None:
        for name, code, _ in COLUMNS:
            col = getattr(self, name)
            if len(col) < cap:
                col.extend(array(code, [0]) * (cap - len(col)) if isinstance(col, array) else [0] * (cap - len(col)))
            elif len(col) > cap:
                setattr(self, name, col[:cap])
        self.cap = cap

    def compact(self) -> None:
        """Squeeze the gone rows out, keeping the order; rows move (``epoch`` goes up)."""
        if not self.dead:
            return
        fast = fastpath.native
        if fast is not None and hasattr(fast, "compact") and all(isinstance(getattr(self, c[0]), array)
                                                                  for c in COLUMNS):
            fast.compact(self)
            return
        n = self.n
        keep = [not g for g in self.gone[:n]]
        for name, code, _ in COLUMNS:
            col = getattr(self, name)
            kept = list(compress(col[:n], keep))
            col[:len(kept)] = array(code, kept) if isinstance(col, array) else kept
        self.n = self.live
        self.dead = 0
        self.epoch += 1
        for dense in (self.pos, self.neg):
            dense[:] = array("i", [-1]) * len(dense)
        self.far.clear()
        for r, cid in enumerate(self.id[:self.n]):
            self._slot(cid, r)

    def trim(self) -> None:
        """No gone rows and no room to grow: the arrays as small as the rows (once the file is read)."""
        self.compact()
        self._resize(self.n)
        # the id maps as long as the ids in use need (the negative one is empty once every client half has
        # joined its server's row): ~9 bytes a connection
        ids = self.id
        top, low = (max(ids), min(ids)) if len(ids) else (0, 0)
        del self.pos[max(top + 1, 0):]
        del self.neg[max(1 - low, 0):]


class Values:
    """The recording's distinct detail values, each kept once; details and connections hold their numbers.

    Both ends of a connection name one peer, and close reasons repeat: one table for the whole recording.
    ``ids`` (value -> number) covers ``items[:synced]``: the C reader appends the strings it reads to ``items``
    alone (its own table of them, kept across its calls, knows each; a dict lookup a new peer was ~4% of a
    load) and :meth:`sync` brings ``ids`` up to date before anything looks a value up.
    """

    __slots__ = ("items", "ids", "synced")

    def __init__(self) -> None:
        self.items: list[str | int] | Packed = []
        self.ids: dict[object, int] = {}
        self.synced = 0

    def pack(self) -> None:
        """The values read so far as one :class:`Packed` blob (once the file is read; see its docstring)."""
        if isinstance(self.items, list):
            self.items = Packed(self.items)

    def forget_ids(self) -> None:
        """Let ``ids`` go (only a builder looks values up: ~100 bytes a distinct peer); later values are numbered
        from here on, as before."""
        self.ids.clear()
        self.synced = len(self.items)

    def sync(self) -> None:
        """``ids`` for the values appended to ``items`` without it (by the C reader)."""
        items, ids = self.items, self.ids
        for j in range(self.synced, len(items)):
            value = items[j]
            ids.setdefault(("bool", value) if isinstance(value, bool) else value, j)
        self.synced = len(items)

    def id_of(self, value: str | int) -> int:
        if self.synced != len(self.items):
            self.sync()
        key: object = ("bool", value) if isinstance(value, bool) else value  # True == 1 as a dict key
        i = self.ids.get(key)
        if i is None:
            i = self.ids[key] = len(self.items)
            self.items.append(value)
            self.synced += 1
        return i


class Packed(Sequence["str | int"]):
    """A list of values kept as one UTF-8 blob and where each ends: ~20 bytes a value, not ~72 as str objects.

    Distinct values are mostly peers (a port each: ~50,000 in a 1M-event recording, ~3.6 bytes an event as
    strings).  Reading one decodes it (a detail shown or exported, not a hot loop); non-strings (integer
    details) stay as they are, and values added later (a hand-made connection) go in a plain list after.
    """

    __slots__ = ("blob", "ends", "other", "tail")

    def __init__(self, items: list[str | int]) -> None:
        parts, other, ends, at = [], {}, [], 0
        for k, v in enumerate(items):
            if type(v) is str:
                b = v.encode("utf-8", "surrogatepass")  # (json reads lone surrogates: they round-trip)
                parts.append(b)
                at += len(b)
            else:
                other[k] = v
            ends.append(at)
        self.blob = b"".join(parts)
        self.ends = array("i" if at < 2**31 else "q", ends)
        self.other: dict[int, str | int] = other
        self.tail: list[str | int] = []

    def __len__(self) -> int:
        return len(self.ends) + len(self.tail)

    @overload
    def __getitem__(self, k: int) -> str | int: ...
    @overload
    def __getitem__(self, k: slice) -> list[str | int]: ...

    def __getitem__(self, k: int | slice) -> str | int | list[str | int]:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        n = len(self.ends)
        if k < 0:
            k += len(self)
        if k >= n:
            return self.tail[k - n]
        if k < 0:
            raise IndexError("Packed index out of range")
        if self.other and k in self.other:
            return self.other[k]
        return self.blob[self.ends[k - 1] if k else 0:self.ends[k]].decode("utf-8", "surrogatepass")

    def append(self, value: str | int) -> None:
        self.tail.append(value)


def _time(name: str) -> property:
    def get(self: Connection) -> int | None:
        r = self._find()
        v = getattr(self._table, name)[r] if r >= 0 else NONE
        return None if v < 0 else v
    return property(get)


def _end(name: str, dur: str) -> property:
    def get(self: Connection) -> int | None:
        r = self._find()
        if r < 0:
            return None
        t = getattr(self._table, name)[r]
        return None if t < 0 else t + getattr(self._table, dur)[r]
    return property(get)


def _lane(name: str) -> property:
    def get(self: Connection) -> int | None:
        r = self._find()
        v = getattr(self._table, name)[r] if r >= 0 else NONE
        return None if v < 0 else self._table.lane_ids[v]
    return property(get)


def _text(name: str) -> property:
    def get(self: Connection) -> str | None:
        r = self._find()
        v = getattr(self._table, name)[r] if r >= 0 else NONE
        return None if v < 0 else str(self._table.value_table.items[v])
    return property(get)


def _count(name: str) -> property:
    def get(self: Connection) -> int:
        r = self._find()
        return getattr(self._table, name)[r] if r >= 0 else 0  # type: ignore[no-any-return]
    return property(get)


class Connection:
    """One TCP connection, both ends, with the times that tell where it waited (a view of a table's row).

    ``id`` > 0 for a connection the server accepted; < 0 for one seen only on
    the client's side (refused, or still in the backlog when recording ended).
    Times are ns since the recording's start; None where not seen.
    ``Connection(id, accept_t=..., ...)`` makes one of its own (a one-row table), ``rec.connections[id] = c``
    puts one in a recording: both as the dataclass it was.
    """

    __slots__ = ("_table", "_row", "_epoch", "id")
    FIELDS = ("id", "peer", "accept_t", "accepted_t", "accept_lane", "submit_t", "start_t", "serve_lane", "close_t",
              "close_reason", "connect_t", "connected_t", "client_lane", "client_close_t", "client_close_reason",
              "requests", "bytes_in", "bytes_out", "client_id")

    def __init__(self, id: int, **fields: Any) -> None:  # noqa: A002 (the field's name)
        table = ConnTable()
        self._table, self._row, self._epoch, self.id = table, table.new(id), table.epoch, id
        table.put(self._row, **fields)

    @classmethod
    def _view(cls, table: ConnTable, row: int, cid: int, epoch: int | None = None) -> Connection:
        self = object.__new__(cls)
        self._table, self._row, self._epoch, self.id = table, row, table.epoch if epoch is None else epoch, cid
        return self

    def _find(self) -> int:
        t = self._table
        if self._epoch != t.epoch:
            self._row, self._epoch = t.row_of(self.id), t.epoch
        return self._row

    peer = _text("peer")
    accept_t = _time("accept_t")
    accepted_t = _end("accept_t", "accept_dur")  # when accept() returned it
    accept_lane = _lane("accept_lane")
    submit_t = _time("submit_t")
    start_t = _time("start_t")
    serve_lane = _lane("serve_lane")
    close_t = _time("close_t")
    close_reason = _text("close_reason")
    connect_t = _time("connect_t")
    connected_t = _end("connect_t", "connect_dur")  # when the client's connect() returned
    client_lane = _lane("client_lane")
    client_close_t = _time("client_close_t")
    client_close_reason = _text("client_close_reason")
    requests = _count("requests")
    bytes_in = _count("bytes_in")
    bytes_out = _count("bytes_out")

    @property
    def client_id(self) -> int | None:
        r = self._find()
        v = self._table.client_id[r] if r >= 0 else 0
        return v or None

    def fields(self) -> tuple[Any, ...]:
        """Every field, in the order of :attr:`FIELDS`."""
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Connection) and self.fields() == other.fields()

    __hash__ = None  # type: ignore[assignment]  # as the dataclass it was: equal by value, mutable

    def __repr__(self) -> str:
        return "Connection(" + ", ".join(f"{k}={v!r}" for k, v in zip(self.FIELDS, self.fields(), strict=True)) + ")"

    @property
    def backlog_wait(self) -> int | None:
        """From the handshake's end (client's connect returned) to accept() returning it."""
        return backlog_wait(self.connected_t, self.accepted_t)

    @property
    def queue_wait(self) -> int | None:
        """From the hand-off to the pool to a worker picking it up."""
        return queue_wait(self.submit_t, self.start_t)

    @property
    def service(self) -> int | None:
        """From being picked up (or accepted) to the server's close."""
        return service(self.start_t, self.accepted_t, self.close_t)

    @property
    def closed(self) -> bool:
        return self.close_t is not None


# Where a connection's time went, from its times (None: not seen).  The one definition: Connection's
# properties and the statistics over the columns (tracer/analysis/stats.py) both call these.
def backlog_wait(connected: int | None, accepted: int | None) -> int | None:
    """From the client's connect() returning to accept() returning the connection (the kernel's backlog)."""
    if connected is None or accepted is None:
        return None
    return max(0, accepted - connected)


def queue_wait(submit: int | None, start: int | None) -> int | None:
    """From the hand-off to the pool to a worker picking the connection up."""
    if submit is None or start is None:
        return None
    return max(0, start - submit)


def service(start: int | None, accepted: int | None, close: int | None) -> int | None:
    """From being picked up (or, with no pool, accepted) to the server's close."""
    begin = start if start is not None else accepted
    if begin is None or close is None:
        return None
    return max(0, close - begin)
