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
from collections import Counter as Tally
from dataclasses import dataclass, field
from typing import Any

from tracer.locale import N_, _
from tracer.recording.events import BY_CODE, KINDS
from tracer.recording.model import Connection, Recording

_SEND = KINDS["send"].code
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
    conns = list(rec.connections.values())
    server = [c for c in conns if c.id > 0]
    reused, most = _reused(server)
    active = _active(rec)
    kinds: Tally[str] = Tally()
    for lane in rec.lanes.values():
        for code, n in Tally(lane.kind).items():
            kinds[BY_CODE[code].name] += n
    return Stats(
        path=rec.path, model=rec.model, settings=rec.settings, duration=rec.t_max, events=rec.n_events,
        dropped=rec.dropped, complete=rec.complete, kinds=kinds,
        server_lanes=len(rec.server_lanes()), client_lanes=len(rec.client_lanes()),
        connections=len(server), client_only=len(conns) - len(server),
        never_closed=sum(1 for c in server if c.close_t is None),
        requests=sum(c.requests for c in server), bytes_in=sum(c.bytes_in for c in server),
        bytes_out=sum(c.bytes_out for c in server),
        close_reasons=Tally(c.close_reason or "never closed" for c in server),
        client_close_reasons=Tally(c.client_close_reason or "never closed" for c in conns
                                   if c.client_lane is not None),
        threads_created=_threads_created(rec),
        threads_max_alive=_max_alive(rec),
        workers_reused=reused, most_served_by_one=most,
        waits={name: _waits(server, attr, name, label) for attr, name, label in WAITS},
        throughput=_throughput(rec, buckets, active),
        peaks={name: c.peak() for name, c in rec.counters.items()},
        active=active,
    )


def _waits(conns: list[Connection], attr: str, name: str, label: str) -> Waits:
    pairs = [(v, c.id) for c in conns if (v := getattr(c, attr)) is not None]
    pairs.sort()
    worst = sorted(pairs, key=lambda p: (-p[0], p[1]))[:5]
    return Waits(name, label, [v for v, _ in pairs], [(cid, v) for v, cid in worst])


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


def _reused(conns: list[Connection]) -> tuple[int, int]:
    per_lane = Tally(c.serve_lane for c in conns if c.serve_lane is not None)
    return sum(1 for n in per_lane.values() if n > 1), max(per_lane.values(), default=0)


def _active(rec: Recording) -> tuple[int, int]:
    """From the first connection's first event to the last one's last: the part worth a rate."""
    begin, end = rec.t_max, 0
    for c in rec.connections.values():
        starts = [t for t in (c.connect_t, c.accept_t, c.submit_t) if t is not None]
        ends = [t for t in (c.close_t, c.client_close_t, c.accepted_t, c.connected_t, c.start_t) if t is not None]
        if starts:
            begin = min(begin, min(starts))
        if ends:
            end = max(end, max(ends))
    if end <= begin:
        return 0, rec.t_max
    return begin, end


def _throughput(rec: Recording, n: int, active: tuple[int, int]) -> list[Bucket]:
    """Requests answered (server sends with bytes) and connections closed per slice of the active time."""
    lo, hi = active
    span = max(hi - lo, 1)
    out = [Bucket(lo + span * i // n, lo + span * (i + 1) // n) for i in range(n)]
    last = n - 1
    for lane in rec.server_lanes():
        for t, code, conn, count in zip(lane.t, lane.kind, lane.conn, lane.count, strict=True):
            if code == _SEND and conn and count > 0:
                out[max(0, min((t - lo) * n // span, last))].requests += 1
    for c in rec.connections.values():
        if c.close_t is not None and c.id > 0:
            out[max(0, min((c.close_t - lo) * n // span, last))].closed += 1
    return out


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
