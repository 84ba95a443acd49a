"""Statistics over a :class:`~tracer.recording.reader.Recording`: where the time went.

Shared by the Markdown export, ``sockscope compare`` and (if it wants them) the
UI.  Everything is computed from the reader's columnar arrays and its joined
:class:`~tracer.recording.reader.Connection` records in one pass per lane, so a
million-event recording takes well under a second.

Percentiles are nearest-rank: p50 of 1..100 is 50, p99 is 99, and every
reported value is one that was measured.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress
from typing import Any

from tracer.locale import N_, _
from tracer.recording import conntable
from tracer.recording.events import BY_CODE, KINDS
from tracer.recording.model import ConnTable, Recording

_SEND = KINDS["send"].code
_RECV = KINDS["recv"].code
_START = KINDS["thread_start"].code
_EXIT = KINDS["thread_exit"].code

# (attribute on Connection, short name, what a student reads)
WAITS = (
    ("backlog_wait", "backlog", N_("waiting in the kernel's backlog (connect returned → accept returned)")),
    ("queue_wait", "queue", N_("waiting in the pool's queue (submit → a worker starts it)")),
    ("service", "service", N_("in service (accepted or started → the server's close)")),
)
# The waits' short names as a report shows them (the key stays English: it is a name in the code and the CSV).
WAIT_NAMES = {"backlog": N_("backlog"), "queue": N_("queue"), "service": N_("service")}


def percentile(sorted_values: list[int], p: float) -> int | None:
    """The nearest-rank ``p``-th percentile of already sorted values (None if empty)."""
    if not sorted_values:
        return None
    k = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(k, len(sorted_values)) - 1]


@dataclass
class Waits:
    """One kind of wait over the connections that had it.

    Attributes:
        name: ``backlog``, ``queue`` or ``service``.
        label: what it means, in words.
        values: ns per connection, ascending.
        worst: up to five (connection id, ns), longest first.
    """

    name: str
    label: str
    values: list[int] = field(default_factory=list)
    worst: list[tuple[int, int]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.values)

    def p(self, q: float) -> int | None:
        return percentile(self.values, q)

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None

    @property
    def max(self) -> int | None:
        return self.values[-1] if self.values else None


@dataclass
class Bucket:
    """A slice of the recording's time: how much got done in it."""

    t0: int
    t1: int
    requests: int = 0
    closed: int = 0

    @property
    def rate(self) -> float:
        """Requests per second in this bucket."""
        span = self.t1 - self.t0
        return self.requests * 1e9 / span if span > 0 else 0.0


@dataclass
class Stats:
    """The key numbers of one recording (see :func:`compute`)."""

    path: str
    model: str
    settings: dict[str, Any]
    duration: int  # ns, the last event's end
    events: int
    dropped: int
    complete: bool
    kinds: Tally[str]
    server_lanes: int
    client_lanes: int
    connections: int  # accepted by the server
    client_only: int  # seen only by a client (refused, or never accepted)
    never_closed: int  # accepted, never closed by the server
    requests: int
    bytes_in: int
    bytes_out: int
    close_reasons: Tally[str]
    client_close_reasons: Tally[str]
    threads_created: int
    threads_max_alive: int
    workers_reused: int  # server threads that served more than one connection
    most_served_by_one: int  # the most connections one server thread served
    waits: dict[str, Waits]
    throughput: list[Bucket]
    peaks: dict[str, int]  # counter name -> highest value
    active: tuple[int, int]  # from the first connection's start to the last one's end, ns

    @property
    def requests_per_s(self) -> float:
        """Requests answered per second while connections were coming and going."""
        span = self.active[1] - self.active[0]
        return self.requests * 1e9 / span if span > 0 else 0.0


def compute(rec: Recording, buckets: int = 12) -> Stats:
    """Compute the statistics of ``rec``.

    Args:
        rec: a loaded recording.
        buckets: how many slices of time the throughput is counted in.
    """
    c = _Columns(rec.connections)
    server = c.server
    reused, most = _reused(c)
    active = _active(rec, c)
    kinds: Tally[str] = Tally()
    for lane in rec.lanes.values():
        for code, n in _kind_counts(lane.kind):
            kinds[BY_CODE[code].name] += n
    return Stats(
        path=rec.path, model=rec.model, settings=rec.settings, duration=rec.t_max, events=rec.n_events,
        dropped=rec.dropped, complete=rec.complete, kinds=kinds,
        server_lanes=len(rec.server_lanes()), client_lanes=len(rec.client_lanes()),
        connections=len(server), client_only=len(c.id) - len(server),
        never_closed=sum(1 for t in c.of_server(c.close_t) if t < 0),
        requests=sum(c.of_server(c.requests)), bytes_in=sum(c.of_server(c.bytes_in)),
        bytes_out=sum(c.of_server(c.bytes_out)),
        close_reasons=_reasons(rec, c.of_server(c.close_reason)),
        client_close_reasons=_reasons(rec, compress(c.client_close_reason, (x >= 0 for x in c.client_lane))),
        threads_created=_threads_created(rec),
        threads_max_alive=_max_alive(rec),
        workers_reused=reused, most_served_by_one=most,
        waits={name: _waits(c, name, label) for _attr, name, label in WAITS},
        throughput=_throughput(rec, buckets, active, c),
        peaks={name: counter.peak() for name, counter in rec.counters.items()},
        active=active,
    )


class _Columns:
    """The connections' columns that the statistics read, one list each over the live rows (in the table's
    order, as ``rec.connections.values()`` gives them): no :class:`Connection` view a connection (1M events
    are ~90,000 connections, and reading one view's field costs ~1 µs)."""

    NAMES = ("id", "accept_t", "accept_dur", "submit_t", "start_t", "serve_lane", "close_t", "close_reason",
             "connect_t", "connect_dur", "client_lane", "client_close_t", "client_close_reason", "requests",
             "bytes_in", "bytes_out")

    def __init__(self, table: ConnTable) -> None:
        (self.id, self.accept_t, self.accept_dur, self.submit_t, self.start_t, self.serve_lane, self.close_t,
         self.close_reason, self.connect_t, self.connect_dur, self.client_lane, self.client_close_t,
         self.client_close_reason, self.requests, self.bytes_in, self.bytes_out) = table._snapshot(*self.NAMES)
        self.is_server = [cid > 0 for cid in self.id]
        self.server = self.of_server(self.id)
        # when accept() and connect() returned (None where not seen, as Connection.accepted_t says)
        self.accepted = [t + d if t >= 0 else None for t, d in zip(self.accept_t, self.accept_dur, strict=True)]
        self.connected = [t + d if t >= 0 else None for t, d in zip(self.connect_t, self.connect_dur, strict=True)]

    def of_server(self, column: list[int]) -> list[int]:
        """``column``'s values of the connections the server accepted (id > 0)."""
        return list(compress(column, self.is_server))


def _kind_counts(kind: Sequence[int]) -> list[tuple[int, int]]:
    """(kind code, how many) of a lane's kind column, in the order each code is first seen (as ``Tally(kind)``)."""
    raw = kind.tobytes() if isinstance(kind, array) and kind.typecode == "b" else None
    if raw is None:  # (the reader's column is int8; a hand-made one may be another)
        return list(Tally(kind).items())
    present = [(raw.find(b), code) for code in range(256) if (b := bytes([code])) in raw]
    return [(code - 256 if code > 127 else code, raw.count(bytes([code]))) for _at, code in sorted(present)]


def _reasons(rec: Recording, vids: Iterable[int]) -> Tally[str]:
    """Close reasons by how often, from their numbers in the recording's values (-1: never closed), in the
    order first seen (``most_common`` keeps it for ties)."""
    items = rec.values.items
    out: Tally[str] = Tally()
    for vid, n in Tally(vids).items():
        out[(str(items[vid]) if vid >= 0 else None) or "never closed"] += n
    return out


def _waits(c: _Columns, name: str, label: str) -> Waits:
    """What :attr:`Connection.backlog_wait` (``queue_wait``, ``service``) says of each server connection: the
    same functions (:mod:`tracer.recording.conntable`), over the columns."""
    if name == "backlog":
        got = ((cid, conntable.backlog_wait(b, a)) for cid, a, b in zip(c.id, c.accepted, c.connected, strict=True))
    elif name == "queue":
        got = ((cid, conntable.queue_wait(_seen(a), _seen(b)))
               for cid, a, b in zip(c.id, c.submit_t, c.start_t, strict=True))
    else:
        got = ((cid, conntable.service(_seen(s), a, _seen(end)))
               for cid, s, a, end in zip(c.id, c.start_t, c.accepted, c.close_t, strict=True))
    pairs = [(v, cid) for cid, v in got if cid > 0 and v is not None]
    pairs.sort()
    return Waits(name, label, [v for v, _ in pairs], [(cid, v) for v, cid in _worst(pairs)])


def _seen(t: int) -> int | None:
    """A time column's value as a :class:`Connection` gives it: None where it was not seen (-1)."""
    return t if t >= 0 else None


def _worst(pairs: list[tuple[int, int]], k: int = 5) -> list[tuple[int, int]]:
    """The ``k`` longest of sorted (wait, id) pairs, longest first, ties by id: what sorting them by
    ``(-wait, id)`` and taking ``k`` says, from the end (each run of one wait is in id order already)."""
    out: list[tuple[int, int]] = []
    end = len(pairs)
    while end and len(out) < k:
        start = bisect_left(pairs, (pairs[end - 1][0],), 0, end)
        out += pairs[start:min(end, start + k - len(out))]
        end = start
    return out


def _threads_created(rec: Recording) -> int:
    """Server threads that recorded their own start."""
    return sum(1 for lane in rec.server_lanes() if _START in lane.kind)


def _max_alive(rec: Recording) -> int:
    """The most server threads alive at once.

    The higher of two readings: the ``threads`` counter (sampled by the
    recorder, which can miss threads that come and go between two samples),
    and the lanes, each counted from its first event (or ``thread_start``) to
    its ``thread_exit`` (or the end).
    """
    counter = rec.counters.get("threads")
    sampled = counter.peak() if counter is not None and len(counter.v) else 0
    changes: list[tuple[int, int]] = []
    for lane in rec.server_lanes():
        if not len(lane):
            continue
        changes.append((lane.t[0], 1))
        if lane.kind[-1] == _EXIT:
            changes.append((lane.t[-1], -1))
    alive = best = 0
    for _t, delta in sorted(changes, key=lambda c: (c[0], c[1])):  # exits first at a tie
        alive += delta
        best = max(best, alive)
    return max(best, sampled)


def _reused(c: _Columns) -> tuple[int, int]:
    per_lane = Tally(lane for lane in c.of_server(c.serve_lane) if lane >= 0)  # (lane numbers: as many as ids)
    return sum(1 for n in per_lane.values() if n > 1), max(per_lane.values(), default=0)


def _active(rec: Recording, c: _Columns) -> tuple[int, int]:
    """From the first connection's first event to the last one's last: the part worth a rate."""
    begin = min(rec.t_max, *(min((t for t in col if t >= 0), default=rec.t_max)
                             for col in (c.connect_t, c.accept_t, c.submit_t)))
    end = max(0, *(max((t for t in col if t >= 0), default=0) for col in (c.close_t, c.client_close_t, c.start_t)),
              *(max((t for t in col if t is not None), default=0) for col in (c.accepted, c.connected)))
    if end <= begin:
        return 0, rec.t_max
    return begin, end


def _throughput(rec: Recording, n: int, active: tuple[int, int], c: _Columns) -> list[Bucket]:
    """Requests answered and connections closed per slice of the active time.

    A request answered is what the reader counts (``Connection.requests``): a run of the server's sends with
    bytes on a connection, begun after a read with bytes (or as its first), counted at its first send.  The
    runs are followed lane by lane; a connection one thread reads and another answers (a writer thread) is
    followed over all the server's lanes in the file's order, as the reader follows it."""
    lo, hi = active
    span = max(hi - lo, 1)
    last = n - 1
    requests, closed = [0] * n, [0] * n
    # each run begun on the lane that read it: its connection and time (arrays: ~90,000 runs at 1M events)
    start_conn, start_t = array("i"), array("q")
    handed: set[int] = set()  # connections a lane sends on that it never read: answered by another thread
    seen: set[int] = set()  # connections whose bytes moved on a lane already walked
    for lane in rec.server_lanes():
        t_, conn_, count_, kind_, lines_ = lane.t, lane.conn, lane.count, lane.kind, lane.lines
        replying: set[int] = set()
        read: set[int] = set()
        prev = -1
        in_file_order = True
        for i in sorted(chain(where(kind_, _SEND), where(kind_, _RECV))):  # (sorted: a merge's generators cost more)
            cid = conn_[i]
            if not cid or count_[i] <= 0:
                continue
            if lines_[i] < prev:
                in_file_order = False  # (its writer's events came out of time order, and were sorted)
            prev = lines_[i]
            if kind_[i] == _RECV:
                replying.discard(cid)
                read.add(cid)
            elif cid not in replying:
                replying.add(cid)
                if cid in read:
                    start_conn.append(cid)
                    start_t.append(t_[i])
                else:
                    handed.add(cid)  # (or it greets before it reads: followed over all lanes too, the same)
        here = read | replying
        handed |= (here & seen) if in_file_order else here  # (a connection on two lanes: followed over all)
        seen |= here
    starts: Iterable[tuple[int, int]] = zip(start_conn, start_t, strict=True)
    if handed:
        starts = chain(((cid, t) for cid, t in starts if cid not in handed), _handed_starts(rec, handed))
    for _cid, t in starts:
        k = (t - lo) * n // span
        requests[k if 0 <= k <= last else 0 if k < 0 else last] += 1
    for close in compress(c.close_t, c.is_server):
        if close >= 0:
            k = (close - lo) * n // span
            closed[k if 0 <= k <= last else 0 if k < 0 else last] += 1
    return [Bucket(lo + span * i // n, lo + span * (i + 1) // n, requests[i], closed[i]) for i in range(n)]


def _handed_starts(rec: Recording, conns: set[int]) -> list[tuple[int, int]]:
    """The reply runs of connections read and answered on different lanes: their reads and sends over all the
    server's lanes, in the file's order (the reader's)."""
    events = []
    for lane in rec.server_lanes():
        t_, conn_, count_, kind_, lines_ = lane.t, lane.conn, lane.count, lane.kind, lane.lines
        for i in chain(where(kind_, _SEND), where(kind_, _RECV)):  # (in any order: sorted by line below)
            if conn_[i] in conns and count_[i] > 0:
                events.append((lines_[i], kind_[i] == _SEND, conn_[i], t_[i]))
    events.sort()
    replying: set[int] = set()
    out = []
    for _line, is_send, cid, t in events:
        if not is_send:
            replying.discard(cid)
        elif cid not in replying:
            replying.add(cid)
            out.append((cid, t))
    return out


def where(kind: Sequence[int], code: int) -> Iterator[int]:
    """The indices of a kind column that hold ``code``: found in its bytes (a server lane's sends are a sixth of
    its events; testing each event in Python cost ~0.4 s at 1M events)."""
    if not isinstance(kind, array) or kind.typecode != "b" or not 0 <= code < 128:
        yield from (i for i, k in enumerate(kind) if k == code)
        return
    raw, b = kind.tobytes(), bytes([code])
    i = raw.find(b)
    while i >= 0:
        yield i
        i = raw.find(b, i + 1)


# ------------------------------------------------------------------ formatting
def key_numbers(s: Stats) -> list[tuple[str, float | None, str]]:
    """The numbers ``compare`` puts side by side: (label, value, unit), unit ``ns``, ``/s`` or ``""``."""
    rows: list[tuple[str, float | None, str]] = [
        (_("events"), s.events, ""),
        (_("dropped events"), s.dropped, ""),
        (_("length"), s.duration, "ns"),
        (_("connections accepted"), s.connections, ""),
        (_("connections never closed"), s.never_closed, ""),
        (_("requests answered"), s.requests, ""),
        (_("requests per second"), s.requests_per_s, "/s"),
        (_("server threads created"), s.threads_created, ""),
        (_("server threads alive at most"), s.threads_max_alive, ""),
        (_("threads serving >1 connection"), s.workers_reused, ""),
    ]
    for w in s.waits.values():
        for q in (50, 90, 99):
            label = _("service p{q}") if w.name == "service" else _("{wait} wait p{q}")
            rows.append((label.format(wait=_(WAIT_NAMES[w.name]), q=q), w.p(q), "ns"))
    for name, label in (("backlog", N_("highest backlog")), ("queue", N_("highest queue"))):
        rows.append((_(label), s.peaks.get(name), ""))
    return rows


# The sampled counters' names, as the UI, the SVG and the report show them.
COUNTER_NAMES = {"threads": N_("threads alive"), "queue": N_("pool queue"), "backlog": N_("kernel backlog"),
                 "ctx_voluntary": N_("ctx sw (waited)"), "ctx_involuntary": N_("ctx sw (preempt)")}  # as the timeline


# Why connections closed (a recording's ``close`` detail), in words; the recorded value stays English.
CLOSE_REASONS = {"eof": N_("eof"), "server": N_("server"), "reset": N_("reset"), "timeout": N_("timeout"),
                 "never closed": N_("never closed")}


def close_words(reason: str | None) -> str:
    """A close reason as a report shows it (``None``: never closed); an unknown one (``error: ...``) as it is."""
    reason = reason or "never closed"
    return _(CLOSE_REASONS[reason]) if reason in CLOSE_REASONS else reason


def counter_name(name: str) -> str:
    """A counter's name in words (``backlog`` → ``kernel backlog``); an unknown counter keeps its own."""
    return _(COUNTER_NAMES[name]) if name in COUNTER_NAMES else name
