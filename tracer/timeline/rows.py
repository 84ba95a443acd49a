"""The timeline's model: rows (grouped lanes, counters, connections), filters, statistics, stepping.

The per-row drawing lives in :mod:`tracer.timeline.track`.  :class:`Timeline`
wraps a :class:`~tracer.recording.model.Recording`
that may still be growing: the loader thread calls :meth:`Timeline.update`
after each chunk; the UI thread only reads, and iterates over copies of the
recording's dicts (``list(...)``), which the loader may be adding to.
"""

from __future__ import annotations

import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import compress
from typing import Generic, TypeVar

from tracer.locale import N_, _, ngettext
from tracer.recording.events import KINDS, Event
from tracer.recording.fastpath import native
from tracer.recording.model import Connection, Counter, Lane, Recording, natural_key
from tracer.timeline import activity
from tracer.timeline.track import BACKLOG_KIND, CPU, INK_OF_CODE, QUEUED_KIND, WORK, Track, View
from tracer.units import spark

T = TypeVar("T")


# ---------------------------------------------------------------- rows, filters, statistics
@dataclass(frozen=True)
class Row:
    """One row of the timeline: a group heading, a lane, a counter or a connection."""

    kind: str  # "group" | "lane" | "counter" | "conn"
    label: str
    ref: int | str | None = None  # lane id, counter name or connection id


@dataclass(frozen=True)
class Filters:
    """What is shown: one connection, some lanes, some kinds (None: all)."""

    conn: int | None = None
    lanes: frozenset[int] | None = None
    kinds: frozenset[str] | None = None

    @property
    def active(self) -> bool:
        return self.conn is not None or self.lanes is not None or self.kinds is not None

    def describe(self) -> str:
        parts = []
        if self.conn is not None:
            parts.append(_("connection {conn}").format(conn=self.conn))
        if self.lanes is not None:
            parts.append(ngettext("{n} lane", "{n} lanes", len(self.lanes)).format(n=len(self.lanes)))
        if self.kinds is not None:
            parts.append(",".join(sorted(self.kinds)) or _("no kinds"))
        return " · ".join(parts)


@dataclass(frozen=True)
class AtPlayhead:
    """What was going on at one instant."""

    t: int
    threads: int
    open_connections: int
    queue: int | None
    backlog: int | None
    dropped: int


_FOREVER = 2**62
_counter_peaks = getattr(native, "counter_peaks", None)
_EMPTY = Track(array("q"), array("q"), array("b"), array("i"))
# (counter, label, unit): counters of one unit share a scale, so a queue of 3 and a backlog of 12 compare.
COUNTER_ROWS = (("queue", N_("pool queue"), "connections"), ("backlog", N_("kernel backlog"), "connections"),
                ("threads", N_("threads alive"), "threads"),
                ("ctx_voluntary", N_("ctx sw (waited)"), "switches"),
                ("ctx_involuntary", N_("ctx sw (preempt)"), "switches"))
COUNTER_UNIT = {name: unit for name, _label, unit in COUNTER_ROWS}
GROUP_TITLES = {"accepting": N_("accepting"), "workers": N_("workers"), "clients": N_("clients")}
_ACCEPTING = {KINDS["accept"].code, KINDS["listen"].code, KINDS["select"].code}


def lane_group(lane: Lane, start: int = 0) -> str:
    """``accepting`` (main/acceptor threads), ``workers`` or ``clients`` (looking at events from ``start``)."""
    if lane.side == "client":
        return "clients"
    if lane.name in ("MainThread", "accept"):
        return "accepting"
    kinds = lane.kind[start:] if start else lane.kind
    return "accepting" if any(code in kinds for code in _ACCEPTING) else "workers"


class _Recount(Generic[T]):
    """A value that reads every connection (open intervals, the legend's waits), made again when the recording
    has grown; while a big recording loads, at most twice a second and a sixth of the time (a look at every
    connection is ~2.5 s at 10M events, and redone on every redraw it held the UI thread most of the load).

    The loader's thread makes the last one when the file is in (:meth:`Timeline.finish`) while the UI's may ask
    for it: one makes it, the other waits for it (a lock), rather than both."""

    def __init__(self, value: T) -> None:
        self.value = value
        self.key: tuple[int, ...] = (-1, -1)
        self.at = self.cost = 0.0  # when the last was made, and the seconds it took
        self._lock = threading.Lock()

    def get(self, key: tuple[int, ...], eager: bool, make: Callable[[], T], held: bool = False) -> T:
        """The value for ``key`` (made again if it changed; ``eager``: a small recording, or one all in, every
        time; ``held``: not made here, the last stands, unless there is none)."""
        if held and self.key != (-1, -1):
            return self.value
        if key != self.key and (eager or time.monotonic() - self.at > max(0.5, 5 * self.cost)):
            with self._lock:
                if key != self.key:  # (the other thread may have made it while this one waited)
                    begin = time.monotonic()
                    self.value, self.key = make(), key
                    self.at = time.monotonic()
                    self.cost = self.at - begin
        return self.value


class Timeline:
    """Everything the timeline widget asks of a recording, kept up to date as it grows.

    Args:
        rec: the recording (it may still be growing: call :meth:`update`).
        fed: a replay's loader feeds it and calls :meth:`finish` when the file is in: the looks at every event
            wait for that, not for the trailer (read in the last chunk, a moment before, in the UI's thread).
    """

    def __init__(self, rec: Recording, fed: bool = False) -> None:
        self.rec = rec
        self.fed = fed
        self.filters = Filters()
        self.by_connection = False
        self.folded: set[str] = set()  # lane groups shown as their heading only
        self._tracks: dict[int, Track] = {}
        self._filtered: dict[int, Track] = {}
        self._conn_tracks: dict[int, tuple[int, Track]] = {}
        self._spots: dict[int, tuple[int, list[tuple[int, int]]]] = {}
        self._opens_recount: _Recount[tuple[array, array]] = _Recount((array("q"), array("q")))
        self._waits_recount: _Recount[set[str]] = _Recount(set())
        self._groups: dict[int, tuple[int, str]] = {}
        self._bursts: tuple[int, list[activity.Burst]] = (-1, [])
        self.loaded = False  # the loader read the whole file (replay): see finish
        self._bursts_lock = threading.Lock()  # (finish makes them in the loader's thread: see _Recount)
        self._peaks: dict[str, tuple[array | None, int, int]] = {}  # counter -> (its values, how many seen, peak)
        self.update()

    # -------------------------------------------------- where the action is
    def bursts(self) -> list[activity.Burst]:
        """The bursts of activity (see :mod:`tracer.timeline.activity`), recomputed as the recording grows.

        While a big recording (300,000+ events) still loads, the last answer stands: each look reads every event.
        """
        n = self.rec.n_events
        if n != self._bursts[0] and (n < 300_000 or self.all_in or self._bursts[0] < 0):
            with self._bursts_lock:
                if n != self._bursts[0]:
                    self._bursts = (n, activity.bursts(self.rec))
        return self._bursts[1]

    @property
    def all_in(self) -> bool:
        """Whether the recording will not grow: its trailer is read (or, fed by a loader, the loader is done)."""
        return self.loaded or (self.rec.complete and not self.fed)

    def active_window(self) -> tuple[int, int]:
        """From the first burst that serves a connection to the last (see :func:`activity.interesting`); with
        no connection, from the first burst to the last; the whole recording if nothing happened."""
        found = activity.interesting(self.bursts())
        if not found:
            return self.t_min, max(self.t_max, self.t_min + 1000)
        return found[0].t0, max(found[-1].t1, found[0].t0 + 1000)

    def fit_leaves_out(self) -> bool:
        """Whether the fit (:meth:`active_window`) leaves out bursts before or after the connections'."""
        found = self.bursts()
        return len(activity.interesting(found)) < len(found)

    def inks(self) -> list[str]:
        """The kinds of time this recording has (ink names), for a legend of only what is on screen."""
        used = {INK_OF_CODE[c].name for tr in list(self._tracks.values()) for c in tr.cum}
        return sorted(used | self._waits(self._held()))

    def _waits(self, held: bool = False) -> set[str]:
        """The waits of connections this recording has ("queue", "backlog"), for :meth:`inks`.

        Read from the columns (no view a connection), but each look copies every connection's columns: at 10M
        events, looked at on every redraw while loading, it held the UI thread ~14 s of a 32 s load.  So while
        a big recording loads, at most a sixth of the time (:class:`_Recount`), and a wait found stands until
        the file is in (then one look at the whole, :meth:`finish`): a wait seen once is there for good.
        """
        conns = self.rec.connections
        recount = self._waits_recount
        loading = not self.all_in

        def look() -> set[str]:
            found = set(recount.value) if loading else set()
            if "queue" not in found and conns.any_wait("submit_t", "start_t"):
                found.add("queue")
            if "backlog" not in found and conns.any_wait("connect_t", "accept_t", "connect_dur", "accept_dur"):
                found.add("backlog")
            return found

        return recount.get((len(conns), self.rec.n_events, loading), len(conns) < 10_000 or not loading, look, held)

    def work_class(self) -> int:
        """How a ``work`` event that does not say draws: computing if the server only computed (--cpu-ms)."""
        s = self.rec.settings
        return CPU if s.get("cpu_ms") and not s.get("work_ms") else WORK

    # -------------------------------------------------- growth
    def update(self) -> int:
        """Take in what the recording gained since the last call; return how many events."""
        new = 0
        for lane in list(self.rec.lanes.values()):
            tr = self._tracks.get(lane.id)
            if tr is None or tr.t is not lane.t or tr.dur is not lane.dur:  # new, re-sorted, or durations widened
                tr = self._tracks[lane.id] = Track(lane.t, lane.dur, lane.kind, lane.conn, lane.side == "client",
                                                   lane.details, self.work_class())
                new += tr.n
            else:
                new += tr.extend()
        return new

    def look(self) -> None:
        """(fed: in the loader's thread, after :meth:`update`) Make again, if their time has come (see
        :class:`_Recount`), what reads every connection: while a big file loads the UI's thread only reads the
        last (a recount there stopped it 0.5-2.4 s at a time at 10M events, no pan or key in between)."""
        self._open_intervals()
        self._waits()

    def _held(self) -> bool:
        """Whether the UI's thread leaves the looks at every connection to the loader's (:meth:`look`)."""
        return self.fed and not self.all_in

    def finish(self) -> None:
        """The whole file is in (replay; called in the loader's thread): make now what reads every event or
        connection (bursts, open intervals, the legend's waits), before the UI asks, so that its thread does
        not stop for them at the end of a big load (~2 s at 10M events)."""
        self.update()
        self.loaded = True
        self.bursts()
        self.look()

    def changed(self) -> None:
        """Note (in the UI's thread) that events came in: filtered copies are stale."""
        self._filtered.clear()

    def set_filters(self, filters: Filters) -> None:
        """Show only what ``filters`` lets through."""
        self.filters = filters
        self._filtered.clear()

    @property
    def t_min(self) -> int:
        starts = [tr.t[0] for tr in list(self._tracks.values()) if tr.n]
        return min(starts, default=0)

    @property
    def t_max(self) -> int:
        return max(self.rec.t_max, max((c.t[-1] for c in list(self.rec.counters.values()) if len(c.t)), default=0))

    # -------------------------------------------------- rows
    def rows(self) -> list[Row]:
        """The rows to draw, in order, for the current view mode and filters."""
        return self._conn_rows() if self.by_connection else self._lane_rows()

    def _lane_rows(self) -> list[Row]:
        f = self.filters
        groups: dict[str, list[Lane]] = {"accepting": [], "workers": [], "clients": []}
        for lane in list(self.rec.lanes.values()):
            if lane.id not in self._tracks:  # declared by the loader since its last update: next time
                continue
            if f.lanes is not None and lane.id not in f.lanes:
                continue
            if f.conn is not None and not len(self.track_for_lane(lane.id)):
                continue
            groups[self._group(lane)].append(lane)
        # Client threads declare their lanes in whatever order they first act:
        # list them by name, numbers compared as numbers (client-2 before client-10).
        groups["clients"].sort(key=natural_key)
        rows: list[Row] = []
        for name, lanes in groups.items():
            title = _(GROUP_TITLES[name])
            if lanes and name in self.folded:
                rows.append(Row("group", _("{title} ({n}, folded: z unfolds)").format(title=title, n=len(lanes)),
                                name))
            elif lanes:
                rows.append(Row("group", f"{title} ({len(lanes)})", name))
                rows.extend(Row("lane", lane.name, lane.id) for lane in lanes)
            if name == "workers" and f.conn is None:
                rows.extend(Row("counter", _(label), c) for c, label, _unit in COUNTER_ROWS if c in self.rec.counters)
        return rows

    def fold(self, group: str) -> None:
        """Fold a lane group to its heading, or unfold it."""
        self.folded ^= {group}

    def group_of(self, lane_id: int) -> str:
        return self._group(self.rec.lanes[lane_id])

    def _group(self, lane: Lane) -> str:
        """A lane's group, re-examining only events that arrived since the last look."""
        seen, group = self._groups.get(lane.id, (0, "workers"))
        n = len(lane)
        if group == "workers" and (n > seen or not seen):
            group = lane_group(lane, seen)
            self._groups[lane.id] = (n, group)
        return group

    def _conn_rows(self) -> list[Row]:
        conns = list(self.rec.connections.values())
        if self.filters.conn is not None:
            conns = [c for c in conns if c.id == self.filters.conn]
        conns.sort(key=lambda c: (_first_time(c), c.id))
        rows = [Row("group", _("connections ({n})").format(n=len(conns)), "connections")]
        rows.extend(Row("conn", _conn_label(c), c.id) for c in conns)
        return rows

    def track(self, row: Row) -> Track | None:
        """The events a row draws, filters applied."""
        if row.kind == "lane" and isinstance(row.ref, int):
            return self.track_for_lane(row.ref)
        if row.kind == "conn" and isinstance(row.ref, int):
            return self.conn_track(row.ref)
        return None

    def track_for_lane(self, lane_id: int) -> Track:
        """A lane's events, filters applied (empty for a lane the loader has not indexed yet)."""
        base = self._tracks.get(lane_id)
        if base is None:
            return _EMPTY
        f = self.filters
        if f.conn is None and f.kinds is None:
            return base
        tr = self._filtered.get(lane_id)
        if tr is None:
            tr = self._filtered[lane_id] = _filtered(base, f, self.rec.lanes[lane_id].details)
        return tr

    # -------------------------------------------------- connections
    def connection_spots(self, conn_id: int) -> list[tuple[int, int]]:
        """(lane id, index) of every event of one connection, without an index over all events.

        The connection's record says which lanes it touched and when it lived,
        so only those lanes' events in that window are read (an index of a
        million events would cost over 100 bytes each).  Where the record is
        unsure (a side never closed, a lane not known), the search widens.
        """
        hit = self._spots.get(conn_id)
        if hit is not None and hit[0] == self.rec.n_events:
            return hit[1]
        lanes, t0, t1 = self._where(conn_id)
        spots = []
        for lane in lanes:
            conns, n = lane.conn, len(lane)
            lo = bisect_left(lane.t, t0, 0, n)
            hi = bisect_right(lane.t, t1, lo, n)
            spots += [(lane.id, i) for i in range(lo, hi) if conns[i] == conn_id]
        if len(self._spots) > 4096:
            self._spots.clear()
        self._spots[conn_id] = (self.rec.n_events, spots)
        return spots

    def _where(self, conn_id: int) -> tuple[list[Lane], int, int]:
        """The lanes to search for a connection's events, and the time window."""
        everywhere = list(self.rec.lanes.values())
        c = self.rec.connections.get(conn_id)
        if c is None:
            return everywhere, 0, _FOREVER
        starts = [x for x in (c.connect_t, c.accept_t, c.submit_t, c.start_t) if x is not None]
        server_done = c.close_t is not None or c.accept_lane is None
        client_done = c.client_close_t is not None or c.client_lane is None
        ends = [x for x in (c.close_t, c.client_close_t) if x is not None]
        t0 = min(starts, default=0)
        t1 = max(ends) if ends and server_done and client_done else _FOREVER
        if c.accept_lane is not None and c.serve_lane is None:  # who served it is not known: any server lane
            ids = {lane.id for lane in everywhere if lane.side == "server"}
        else:
            ids = set()
        ids |= {x for x in (c.accept_lane, c.serve_lane, c.client_lane) if x is not None}
        if not ids:
            return everywhere, t0, t1
        return [lane for lane in everywhere if lane.id in ids], t0, t1

    def connection_events(self, conn_id: int) -> list[Event]:
        """Both ends of one connection's story in time order (like Recording.connection_events, indexed)."""
        lanes = self.rec.lanes
        out = [lanes[lane].event(i) for lane, i in self.connection_spots(conn_id)]
        out.sort(key=lambda e: (e.t, e.lane))
        return out

    def conn_track(self, conn_id: int) -> Track:
        """A connection's row: its waits (backlog, pool queue) and its server side (or client side, if only that)."""
        spots = self.connection_spots(conn_id)
        cached = self._conn_tracks.get(conn_id)
        if cached is not None and cached[0] == len(spots):
            return cached[1]
        conn = self.rec.connections.get(conn_id) or Connection(conn_id)
        lanes = self.rec.lanes
        every = [(lanes[ln].t[i], lanes[ln].dur[i], lanes[ln].kind[i], lanes[ln].side, lanes[ln].details.get(i))
                 for ln, i in spots]
        accept = KINDS["accept"].code  # the wait in accept() is the thread's, not this connection's
        server = [(t + d, 0, k, x) if k == accept else (t, d, k, x) for t, d, k, side, x in every if side == "server"]
        items = server or [(t, d, k, x) for t, d, k, _, x in every]
        if conn.connected_t is not None and conn.accepted_t is not None and conn.accepted_t > conn.connected_t:
            items.append((conn.connected_t, conn.accepted_t - conn.connected_t, BACKLOG_KIND, None))
        if conn.submit_t is not None and conn.start_t is not None and conn.start_t > conn.submit_t:
            items.append((conn.submit_t, conn.start_t - conn.submit_t, QUEUED_KIND, None))
        if server and conn.connect_t is not None:
            items.append((conn.connect_t, (conn.connected_t or conn.connect_t) - conn.connect_t, KINDS["connect"].code,
                          None))
        items.sort(key=lambda x: (x[0], x[1], x[2]))
        tr = Track(array("q", (x[0] for x in items)), array("q", (x[1] for x in items)),
                   array("b", (x[2] for x in items)), array("i", [conn_id] * len(items)), client=not server,
                   details={i: x[3] for i, x in enumerate(items) if x[3] is not None}, work=self.work_class())
        self._conn_tracks[conn_id] = (len(spots), tr)
        return tr

    # -------------------------------------------------- statistics and stepping
    def stats_at(self, t: int) -> AtPlayhead:
        """Threads alive, open connections, pool queue and kernel backlog at time ``t``."""
        counters = self.rec.counters
        if "threads" in counters:
            threads = counters["threads"].at(t)
        else:
            threads = sum(1 for tr in list(self._tracks.values())
                          if tr.life and tr.life[0] <= t < tr.life[1] and not tr.client)
        opens, closes = self._open_intervals(self._held())
        return AtPlayhead(t, threads, bisect_right(opens, t) - bisect_right(closes, t),
                     counters["queue"].at(t) if "queue" in counters else None,
                     counters["backlog"].at(t) if "backlog" in counters else None, self.rec.dropped)

    def _open_intervals(self, held: bool = False) -> tuple[array, array]:
        def count() -> tuple[array, array]:
            opens, closes = self.rec.connections.open_intervals()
            return array("q", sorted(opens)), array("q", sorted(closes))

        recount = self._opens_recount
        return recount.get((len(self.rec.connections), self.rec.n_events), len(recount.value[0]) < 10_000
                           or self.all_in, count, held)

    def step(self, t: int, forward: bool, lanes: Iterable[int] | None = None,
             current: tuple[int, int] | None = None) -> tuple[int, int] | None:
        """The next (previous) event after (before) the playhead: (lane id, index in the lane), or None.

        Events are ordered by (time, lane order, index), so events sharing one
        timestamp are visited one by one; ``current`` is the selected event
        (lane id, index), where stepping goes on from.
        """
        order = {lane_id: k for k, lane_id in enumerate(self._tracks)}
        here = (t, -1 if forward else len(order), 0)
        if current is not None and current[0] in order:
            base = self._tracks[current[0]]
            if current[1] < base.n and base.t[current[1]] == t:
                here = (t, order[current[0]], self.filtered_index(current[0], current[1]))
        best: tuple[int, int, int] | None = None
        for lane_id in list(self._tracks) if lanes is None else list(lanes):
            if self.filters.lanes is not None and lane_id not in self.filters.lanes:
                continue
            tr, k = self.track_for_lane(lane_id), order[lane_id]
            if forward:
                i = here[2] + 1 if k == here[1] else (bisect_left if k > here[1] else bisect_right)(tr.t, t, 0, tr.n)
                if i < tr.n and (best is None or (tr.t[i], k, i) < best):
                    best = (tr.t[i], k, i)
            else:
                find = bisect_right if k < here[1] else bisect_left
                i = here[2] - 1 if k == here[1] else find(tr.t, t, 0, tr.n) - 1
                if 0 <= i < tr.n and (best is None or (tr.t[i], k, i) > best):
                    best = (tr.t[i], k, i)
        if best is None:
            return None
        lane_id = list(self._tracks)[best[1]]
        return lane_id, self.base_index(lane_id, best[2])

    def index_of(self, event: Event) -> int:
        """The index of ``event`` in its lane's arrays (-1 if it is not there)."""
        lane = self.rec.lanes.get(event.lane)
        if lane is None:
            return -1
        code = KINDS[event.kind].code if event.kind in KINDS else -1
        i = bisect_left(lane.t, event.t)
        while i < len(lane) and lane.t[i] == event.t:
            if lane.kind[i] == code and lane.dur[i] == event.dur:
                return i
            i += 1
        return -1

    def filtered_index(self, lane_id: int, i: int) -> int:
        """Map an index in a lane's own arrays to its filtered track (the nearest at or before)."""
        tr, base = self.track_for_lane(lane_id), self._tracks[lane_id]
        if tr is base:
            return i
        t = base.t[i]
        j = bisect_left(tr.t, t, 0, tr.n)
        while j < tr.n and tr.t[j] == t and not (tr.dur[j] == base.dur[i] and tr.kind[j] == base.kind[i]):
            j += 1
        return j if j < tr.n and tr.t[j] == t else j - 1

    def base_index(self, lane_id: int, i: int) -> int:
        """Map an index in a lane's filtered track back to the lane's own arrays."""
        tr = self.track_for_lane(lane_id)
        base = self._tracks[lane_id]
        if tr is base:
            return i
        t = tr.t[i]
        j = bisect_left(base.t, t, 0, base.n)
        while j < base.n and not (base.t[j] == t and base.dur[j] == tr.dur[i] and base.kind[j] == tr.kind[i]):
            j += 1
        return j if j < base.n else i

    def counter_top(self, name: str) -> int:
        """The top of a counter's scale: the highest value of any counter with the same unit (at least 1)."""
        unit = COUNTER_UNIT.get(name)
        same = [c for c in list(self.rec.counters.values()) if c.name == name or COUNTER_UNIT.get(c.name) == unit]
        return max([1, *(self._peak(c) for c in same if len(c.v))])

    def _peak(self, counter: Counter) -> int:
        """``counter.peak()``, looking only at samples added since the last look (a counter row asks on every
        redraw, its spark per cell of a zoom: at 10M events a counter has ~200,000 samples, ~3 ms a look)."""
        values, n = counter.v, len(counter.v)
        seen, done, peak = self._peaks.get(counter.name, (None, 0, 0))
        if seen is not values or n < done:  # a new array (sorted at the end of loading): from the start
            done, peak = 0, 0
        if n > done:
            peak = max(peak, max(values[done:n])) if done else max(values[:n])
            self._peaks[counter.name] = (values, n, peak)
        return peak

    def counter_at(self, name: str, t: int) -> tuple[int, int] | None:
        """A counter's value at ``t`` and its maximum over the recording (None: no such counter)."""
        counter = self.rec.counters.get(name)
        if counter is None or not len(counter.t):
            return None
        return counter.at(t), self._peak(counter)

    def spark(self, name: str, view: View) -> list[tuple[str, int]]:
        """A counter as a sparkline: per cell (glyph, peak value in the cell)."""
        counter = self.rec.counters.get(name)
        if counter is None or not len(counter.t):
            return [(" ", 0)] * view.width
        top = self.counter_top(name)
        return [(spark(value, top), value) for value in _peaks(counter.t, counter.v, view)]


def _peaks(ct: array, cv: array, view: View) -> list[int]:
    """Per cell of ``view``: a counter's value on entering it, or the highest inside it if higher."""
    if _counter_peaks is not None and all(isinstance(x, array) and x.typecode == "q" for x in (ct, cv)):
        found = _counter_peaks(ct, cv, view.start, view.scale, view.width)
        if found is not None:  # (None: times past what a double holds exactly)
            return found  # type: ignore[no-any-return]
    return _peaks_py(ct, cv, view)


def _peaks_py(ct: array, cv: array, view: View) -> list[int]:
    out = []
    for c in range(view.width):
        a = view.time_at(c)
        lo, hi = bisect_right(ct, a), bisect_left(ct, a + view.scale)
        value = cv[lo - 1] if lo > 0 else 0
        if hi > lo:
            value = max(value, max(cv[lo:hi]))
        out.append(value)
    return out


def _filtered(base: Track, f: Filters, details: Mapping[int, object]) -> Track:
    n = base.n
    keep: list[bool] = [True] * n
    if f.conn is not None:
        cid = f.conn
        keep = [c == cid for c in base.conn[:n]]
    if f.kinds is not None:
        codes = {KINDS[k].code for k in f.kinds if k in KINDS}
        keep = [k and code in codes for k, code in zip(keep, base.kind[:n], strict=True)]
    kept = list(compress(range(n), keep))
    return Track(array("q", (base.t[i] for i in kept)), array("q", (base.dur[i] for i in kept)),
                 array("b", (base.kind[i] for i in kept)), array("i", (base.conn[i] for i in kept)), base.client,
                 {j: details[i] for j, i in enumerate(kept) if i in details}, base.work)


def _first_time(c: Connection) -> int:
    times = [x for x in (c.connect_t, c.accept_t, c.submit_t, c.start_t) if x is not None]
    return min(times, default=0)


def _conn_label(c: Connection) -> str:
    return _("conn {conn}").format(conn=c.id) if c.id > 0 else _("client {n} (never accepted)").format(n=-c.id)
