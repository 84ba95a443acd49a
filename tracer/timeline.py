"""The timeline's data layer: a view window, rows, per-cell summaries, statistics.

How this works
--------------
A :class:`View` maps time (ns since the recording's start) to character cells:
cell ``c`` covers ``[start + c*scale, start + (c+1)*scale)``.  Each row of the
timeline is backed by a :class:`Track`: the lane's own columnar arrays (start,
duration, kind, connection) plus four derived prefix arrays, extended as the
recording grows:

* ``cum[look]`` — running sum of durations of BLOCKED / WORKING / QUEUED spans,
  so the time a look covers between two indices is one subtraction;
* ``marks`` — running count of instants, so "is there a close in this cell" is
  one subtraction too;
* ``maxend`` — running maximum of ``t + dur``, so whether an event that began
  earlier still runs at time ``a`` is one lookup.  On one thread spans follow
  each other and the maximum is the event's own end, so this array is only
  built for a row whose spans overlap (bytes per event are a bar too).

A cell's summary therefore costs two bisects and a few array reads, however
many events lie under it: rendering a frame costs O(visible cells x log n),
never O(events).  Nothing here imports Textual; tests drive it directly.
"""

from __future__ import annotations

import math
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress

from tracer.events import BY_CODE, KINDS, Event, Look
from tracer.recording import Connection, Lane, Recording

# Look codes (small ints, an index into the derived arrays).
IDLE, BLOCKED, WORKING, QUEUED, MARK = 0, 1, 2, 3, 4
LOOK_CODE = {Look.BLOCKED: BLOCKED, Look.WORKING: WORKING, Look.QUEUED: QUEUED, Look.MARK: MARK}
QUEUED_KIND = 100  # a pseudo kind code: a connection waiting (in the backlog or the pool's queue)
BACKLOG_KIND = 101  # a pseudo kind code: waiting in the kernel's accept queue
_LOOK_OF = [IDLE] * 128
for _k in BY_CODE:
    _LOOK_OF[_k.code] = LOOK_CODE[_k.look]
_LOOK_OF[QUEUED_KIND] = _LOOK_OF[BACKLOG_KIND] = QUEUED

# Glyphs: they carry the meaning on a monochrome terminal; colours repeat it.
SPAN_GLYPH = {BLOCKED: "▒", WORKING: "█", QUEUED: "░"}
MARK_GLYPH = {"close": "×", "thread_start": "●", "thread_exit": "○", "listen": "◇", "submit": "»", "start": "▸"}
CLIENT_GLYPH = {"send": "→", "recv": "←"}
SHORT_GLYPH = "┊"  # events too short to draw at this zoom
LIFE_GLYPH = "─"  # the thread is alive but in no traced call
# Which mark wins a cell with several: the end of a story first.
_MARK_RANK = {"close": 6, "thread_exit": 5, "thread_start": 4, "start": 3, "submit": 2, "listen": 1}

MIN_SCALE = 1.0  # ns per cell, zoomed in all the way
_BLANK = (" ", IDLE, -1)
_LIFE = (LIFE_GLYPH, IDLE, -1)
_SPAN_CELL = {look: (glyph, look, -1) for look, glyph in SPAN_GLYPH.items()}
_SHORT_CELL = {look: (SHORT_GLYPH, look, -1) for look in (BLOCKED, WORKING, QUEUED)}
SPARK = " ▁▂▃▄▅▆▇█"


# ---------------------------------------------------------------- time and units
def fmt_time(ns: float, digits: int = 3) -> str:
    """A time or duration in the unit that suits it: ``812 ns``, ``3.210 ms``, ``1.500 s``."""
    a = abs(ns)
    if a < 1_000:
        return f"{ns:.0f} ns"
    for div, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if a >= div:
            return f"{ns / div:.{digits}f} {unit}"
    return f"{ns / 1e3:.{digits}f} µs"  # pragma: no cover - unreachable


def fmt_speed(ns_per_s: float) -> str:
    """Playback speed as trace time per wall second: ``1 µs/s``, ``500 ms/s``."""
    return f"{_trim(fmt_time(ns_per_s, 3))}/s"


def _trim(text: str) -> str:
    num, _, unit = text.partition(" ")
    if "." in num:
        num = num.rstrip("0").rstrip(".")
    return f"{num} {unit}"


def parse_time(text: str) -> int:
    """Read a time a user typed: ``12.5ms``, ``300 us``, ``2s``, ``1500`` (ns).

    Raises:
        ValueError: with a message saying what was expected.
    """
    s = text.strip().lower().replace(" ", "").replace("µ", "u").replace(",", "")
    units = (("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000))
    num, mult = s, 1
    for unit, factor in units:
        if s.endswith(unit):
            num, mult = s[: -len(unit)], factor
            break
    try:
        value = float(num)
    except ValueError:
        raise ValueError(f"expected a time like 12.5ms, 300us, 2s or 1500 (ns), got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"expected a time >= 0, got {text!r}")
    return int(round(value * mult))


SPEEDS = [m * 10**e for e in range(3, 11) for m in (1, 2, 5)][:-2]  # 1 µs/s ... 10 s/s


def nice_step(ns: float) -> int:
    """The smallest 1-2-5 step (ns) at least ``ns``."""
    ns = max(ns, 1.0)
    e = 10 ** math.floor(math.log10(ns))
    for m in (1, 2, 5, 10):
        if m * e >= ns:
            return int(m * e)
    return int(10 * e)  # pragma: no cover


def tick_label(ns: int, step: int) -> str:
    """A ruler label in the unit that suits the tick step, without needless digits."""
    for div, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1, "ns")):
        if step * 10 >= div * 1.0001 or div == 1:
            decimals = max(0, -math.floor(math.log10(step / div) + 1e-9))
            return f"{ns / div:.{decimals}f} {unit}"
    return str(ns)  # pragma: no cover


# ---------------------------------------------------------------- the view window
@dataclass
class View:
    """Which slice of time is on screen: ``start`` ns at cell 0, ``scale`` ns per cell."""

    start: float = 0.0
    scale: float = 1_000_000.0
    width: int = 80

    @property
    def end(self) -> float:
        return self.start + self.scale * self.width

    def time_at(self, cell: float) -> float:
        return self.start + cell * self.scale

    def cell_of(self, t: float) -> int:
        return math.floor((t - self.start) / self.scale)

    def zoom(self, factor: float, around: float) -> None:
        """Zoom by ``factor`` (>1 zooms in), keeping time ``around`` at the same cell."""
        frac = (around - self.start) / self.scale
        self.scale = max(MIN_SCALE, min(self.scale / factor, 1e13))
        self.start = around - frac * self.scale
        self.snap()

    def pan(self, cells: float) -> None:
        self.start += round(cells) * self.scale
        self.snap()

    def fit(self, t0: float, t1: float) -> None:
        """Show ``[t0, t1]`` across the whole width (with a cell of margin)."""
        span = max(t1 - t0, 1000.0)
        self.scale = max(MIN_SCALE, span / max(self.width - 2, 1))
        self.start = t0 - self.scale
        self.snap()

    def snap(self) -> None:
        """Put cell edges on multiples of the scale, so a pan reuses the cells already summarised."""
        self.start = math.floor(self.start / self.scale + 0.5) * self.scale

    @property
    def first_cell(self) -> int:
        """The absolute index (time / scale) of cell 0."""
        return math.floor(self.start / self.scale + 0.5)

    def show(self, t: float, margin: int = 2) -> None:
        """Pan the least amount that puts time ``t`` on screen."""
        c = self.cell_of(t)
        if c < margin:
            self.start = t - margin * self.scale
        elif c >= self.width - margin:
            self.start = t - (self.width - margin - 1) * self.scale
        self.snap()

    def key(self) -> tuple[float, float, int]:
        return (self.start, self.scale, self.width)


def ruler_ticks(view: View, min_gap: int = 12) -> list[tuple[int, str]]:
    """(cell, label) of the ruler's ticks, spaced at least ``min_gap`` cells apart."""
    step = nice_step(view.scale * min_gap)
    first = math.ceil(view.start / step) * step
    out = []
    t = first
    while t < view.end:
        cell = view.cell_of(t)
        if 0 <= cell < view.width and t >= 0:
            out.append((cell, tick_label(t, step)))
        t += step
    return out


# ---------------------------------------------------------------- tracks: what a row draws
class Track:
    """Sorted event arrays for one row, with the prefix arrays that make cells cheap.

    Args:
        t, dur, kind, conn: parallel arrays sorted by ``t`` (a lane's own, or
            filtered copies); they may grow, :meth:`extend` catches up.
        client: a client's row (its send/recv draw as arrows when short).
    """

    __slots__ = ("t", "dur", "kind", "conn", "client", "n", "cum", "marks", "maxend", "life", "_sums")

    def __init__(self, t: Sequence[int], dur: Sequence[int], kind: Sequence[int], conn: Sequence[int],
                 client: bool = False) -> None:
        self.t, self.dur, self.kind, self.conn = t, dur, kind, conn
        self.client = client
        self.n = 0
        # QUEUED sums exist only on rows that have queued spans (connection rows): memory is the bar
        self.cum: dict[int, array | None] = {BLOCKED: array("q", [0]), WORKING: array("q", [0]), QUEUED: None}
        self.marks = array("i", [0])
        # maxend exists only once spans overlap; on one thread they follow each other and maxend[i] is t+dur
        self.maxend: array | None = None
        self._sums = [0, 0, 0, 0, 0, -1]  # blocked, working, queued, marks (by look code) and the top end
        self.life: tuple[int, int] | None = None  # (first start, last end): when the thread existed
        self.extend()

    def extend(self) -> int:
        """Take in events appended since the last call; return how many."""
        t, dur, kind = self.t, self.dur, self.kind
        start, stop = self.n, min(len(t), len(dur), len(kind), len(self.conn))
        if stop <= start:
            return 0
        cb, cw, cm = self.cum[BLOCKED], self.cum[WORKING], self.marks
        assert cb is not None and cw is not None
        sums, look_of = self._sums, _LOOK_OF
        top, me = sums[5], self.maxend
        for i in range(start, stop):
            ti, d = t[i], dur[i]
            look = look_of[kind[i]]
            if look == MARK:
                sums[IDLE] += 1
            else:
                sums[look] += d
                if look == QUEUED and self.cum[QUEUED] is None:
                    self.cum[QUEUED] = array("q", [0]) * (i + 1)
            cb.append(sums[BLOCKED])
            cw.append(sums[WORKING])
            cm.append(sums[IDLE])
            cq = self.cum[QUEUED]
            if cq is not None:
                cq.append(sums[QUEUED])
            if me is None and ti < top:  # the first overlap: keep the running maximum from now on
                me = self.maxend = array("q", (t[j] + dur[j] for j in range(i)))
                for j in range(1, i):
                    if me[j] < me[j - 1]:
                        me[j] = me[j - 1]
            end = ti + d
            if end > top:
                top = end
            if me is not None:
                me.append(top)
        sums[5] = top
        self.n = stop
        self.life = (t[0], top)
        return stop - start

    def __len__(self) -> int:
        return self.n

    def max_end(self, j: int) -> int:
        """The latest end among events 0..j."""
        return self.maxend[j] if self.maxend is not None else self.t[j] + self.dur[j]

    def covering(self, a: float) -> int:
        """Index of an event that started before ``a`` and is still running at ``a`` (-1 if none)."""
        j = bisect_left(self.t, a, 0, self.n) - 1
        if j < 0 or self.max_end(j) <= a:
            return -1
        t, dur = self.t, self.dur
        for i in range(j, max(-1, j - 64), -1):  # spans on one thread rarely nest: look back a little
            if t[i] + dur[i] > a:
                return i
        return -1

    def event_at(self, time: float, tolerance: float) -> int:
        """The event under ``time``: the nearest start within ``tolerance``, else a span covering it (-1: none)."""
        n = self.n
        if not n:
            return -1
        lo = bisect_left(self.t, time - tolerance, 0, n)
        hi = bisect_right(self.t, time + tolerance, lo, n)
        if hi > lo:
            # prefer an instant (they are what the eye aims at), then the nearest start
            return min(range(lo, hi), key=lambda i: (self.dur[i] > tolerance, abs(self.t[i] - time)))
        return self.covering(time)

    def cells(self, view: View, width: int | None = None) -> list[tuple[str, int, int]]:
        """Summarise the events under each cell: a list of (glyph, look, kind code or -1)."""
        width = view.width if width is None else width
        n = self.n
        if not n:
            return [_BLANK] * width
        out: list[tuple[str, int, int]] = []
        t, dur, kind, look_of = self.t, self.dur, self.kind, _LOOK_OF
        cb, cw, cq, cm = self.cum[BLOCKED], self.cum[WORKING], self.cum[QUEUED], self.marks
        assert cb is not None and cw is not None
        life0, life1 = self.life or (0, 0)
        scale, start = view.scale, view.start
        half = scale / 2
        lo = bisect_left(t, start, 0, n)
        carry = self.covering(start)
        carry_end = t[carry] + dur[carry] if carry >= 0 else -1
        for c in range(width):
            a = start + c * scale
            b = a + scale
            hi = bisect_left(t, b, lo, n)
            if hi == lo:
                cell = self._carry_cell(carry, a, b, half) if carry_end > a else None
                out.append(cell or (_LIFE if life0 <= a and b <= life1 else _BLANK))
                continue
            bc, wc = cb[hi] - cb[lo], cw[hi] - cw[lo]
            qc = cq[hi] - cq[lo] if cq is not None else 0
            last = hi - 1  # the last span that starts here may run on past the cell: clip it
            last_end = t[last] + dur[last]
            if last_end > b:
                lk = look_of[kind[last]]
                if lk == BLOCKED:
                    bc -= last_end - b
                elif lk == WORKING:
                    wc -= last_end - b
                elif lk == QUEUED:
                    qc -= last_end - b
            if carry_end > a:
                lk, part = look_of[kind[carry]], min(carry_end, b) - a
                if lk == BLOCKED:
                    bc += part
                elif lk == WORKING:
                    wc += part
                elif lk == QUEUED:
                    qc += part
            look = BLOCKED if bc >= wc and bc >= qc else (WORKING if wc >= qc else QUEUED)
            busy = bc + wc + qc
            marks = cm[hi] - cm[lo]
            if hi - lo == 1 and (marks or dur[lo] < half):
                out.append(self._single(lo, busy, look, half))
            elif marks and busy < half:
                out.append(self._marks(lo, hi))
            elif busy >= half:
                out.append(_SPAN_CELL[look])
            else:
                out.append(_SHORT_CELL[look])
            # the event that runs on past this cell (if any) carries into the next
            if last_end > b and last_end >= carry_end:
                carry, carry_end = last, last_end
            elif self.maxend is not None and self.maxend[last] > max(b, carry_end):
                carry = self.covering(b)  # an earlier span of this cell outlasts the last one (overlap)
                carry_end = t[carry] + dur[carry] if carry >= 0 else -1
            lo = hi
        return out

    def _carry_cell(self, carry: int, a: float, b: float, half: float) -> tuple[str, int, int] | None:
        if carry < 0:
            return None
        end = self.t[carry] + self.dur[carry]
        if end <= a:
            return None
        look = _LOOK_OF[self.kind[carry]]
        if look == MARK:
            return None
        if min(end, b) - a >= half:
            return _SPAN_CELL[look]
        if self.client and self.kind[carry] == KINDS["recv"].code:
            return (CLIENT_GLYPH["recv"], look, self.kind[carry])  # the response arrives
        return None  # the span's tail covers under half the cell: rounding, as for its start

    def _single(self, i: int, busy: float, look: int, half: float) -> tuple[str, int, int]:
        code = self.kind[i]
        name = BY_CODE[code].name if code < len(BY_CODE) else ""
        own = _LOOK_OF[code]
        if own == MARK:
            return (MARK_GLYPH.get(name, "•"), MARK, code)
        if self.client and name in CLIENT_GLYPH:
            return (CLIENT_GLYPH[name], own, code)
        if busy >= half:
            return (SPAN_GLYPH[look], look, -1)
        return (SHORT_GLYPH, own, code)

    def _marks(self, lo: int, hi: int) -> tuple[str, int, int]:
        if hi - lo > 8:
            return (SHORT_GLYPH, MARK, -1)
        best = max(range(lo, hi), key=lambda i: _MARK_RANK.get(_name(self.kind[i]), 0))
        code = self.kind[best]
        if _LOOK_OF[code] != MARK:
            return (SHORT_GLYPH, _LOOK_OF[code], -1)
        return (MARK_GLYPH.get(_name(code), "•"), MARK, code)


def _name(code: int) -> str:
    if code == QUEUED_KIND:
        return "queued"
    if code == BACKLOG_KIND:
        return "backlog"
    return BY_CODE[code].name if 0 <= code < len(BY_CODE) else "?"


def kind_name(code: int) -> str:
    """The name of a kind code, pseudo kinds included (``queued``, ``backlog``)."""
    return _name(code)


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
            parts.append(f"connection {self.conn}")
        if self.lanes is not None:
            parts.append(f"{len(self.lanes)} lane{'s' * (len(self.lanes) != 1)}")
        if self.kinds is not None:
            parts.append(",".join(sorted(self.kinds)) or "no kinds")
        return " · ".join(parts)


@dataclass(frozen=True)
class Stats:
    """What was going on at one instant."""

    t: int
    threads: int
    open_connections: int
    queue: int | None
    backlog: int | None
    dropped: int


COUNTER_ROWS = (("queue", "pool queue"), ("backlog", "kernel backlog"), ("threads", "threads alive"))
_ACCEPTING = {KINDS["accept"].code, KINDS["listen"].code, KINDS["select"].code}


def lane_group(lane: Lane, start: int = 0) -> str:
    """``accepting`` (main/acceptor threads), ``workers`` or ``clients`` (looking at events from ``start``)."""
    if lane.side == "client":
        return "clients"
    if lane.name in ("MainThread", "accept"):
        return "accepting"
    kinds = lane.kind[start:] if start else lane.kind
    return "accepting" if any(code in kinds for code in _ACCEPTING) else "workers"


class Timeline:
    """Everything the timeline widget asks of a recording, kept up to date as it grows.

    Args:
        rec: the recording (it may still be growing: call :meth:`update`).
    """

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.filters = Filters()
        self.by_connection = False
        self._tracks: dict[int, Track] = {}
        self._filtered: dict[int, Track] = {}
        self._conn_tracks: dict[int, tuple[int, Track]] = {}
        self._conn_index: dict[int, list[tuple[int, int]]] = {}
        self._conn_index_key = -1
        self._open_key: tuple[int, int] = (-1, -1)
        self._open_at = 0.0
        self._groups: dict[int, tuple[int, str]] = {}
        self._opens = array("q")
        self._closes = array("q")
        self.update()

    # -------------------------------------------------- growth
    def update(self) -> int:
        """Take in what the recording gained since the last call; return how many events."""
        new = 0
        for lane in list(self.rec.lanes.values()):
            tr = self._tracks.get(lane.id)
            if tr is None or tr.t is not lane.t:  # new lane, or the builder re-sorted it
                tr = self._tracks[lane.id] = Track(lane.t, lane.dur, lane.kind, lane.conn, lane.side == "client")
                new += tr.n
            else:
                new += tr.extend()
        return new

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
            if f.lanes is not None and lane.id not in f.lanes:
                continue
            if f.conn is not None and not len(self.track_for_lane(lane.id)):
                continue
            groups[self._group(lane)].append(lane)
        rows: list[Row] = []
        titles = {"accepting": "accepting", "workers": "workers", "clients": "clients"}
        for name, lanes in groups.items():
            if lanes:
                rows.append(Row("group", f"{titles[name]} ({len(lanes)})", name))
                rows.extend(Row("lane", lane.name, lane.id) for lane in lanes)
            if name == "workers" and f.conn is None:
                rows.extend(Row("counter", label, c) for c, label in COUNTER_ROWS if c in self.rec.counters)
        return rows

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
        rows = [Row("group", f"connections ({len(conns)})", "connections")]
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
        base = self._tracks[lane_id]
        f = self.filters
        if f.conn is None and f.kinds is None:
            return base
        tr = self._filtered.get(lane_id)
        if tr is None:
            tr = self._filtered[lane_id] = _filtered(base, f)
        return tr

    def lane_of(self, row: Row) -> Lane | None:
        return self.rec.lanes.get(row.ref) if row.kind == "lane" and isinstance(row.ref, int) else None

    # -------------------------------------------------- connections
    def connection_index(self) -> dict[int, list[tuple[int, int]]]:
        """Connection id -> [(lane id, event index)], built once per recording size."""
        key = self.rec.n_events
        if key != self._conn_index_key:
            index: dict[int, list[tuple[int, int]]] = {}
            for lane in list(self.rec.lanes.values()):
                conns = lane.conn
                for i in range(len(conns)):
                    c = conns[i]
                    if c:
                        index.setdefault(c, []).append((lane.id, i))
            self._conn_index, self._conn_index_key = index, key
            self._conn_tracks.clear()
        return self._conn_index

    def connection_events(self, conn_id: int) -> list[Event]:
        """Both ends of one connection's story in time order (like Recording.connection_events, indexed)."""
        lanes = self.rec.lanes
        out = [lanes[lane].event(i) for lane, i in self.connection_index().get(conn_id, [])]
        out.sort(key=lambda e: (e.t, e.lane))
        return out

    def conn_track(self, conn_id: int) -> Track:
        """A connection's row: its waits (backlog, pool queue) and its server side (or client side, if only that)."""
        index = self.connection_index()
        spots = index.get(conn_id, [])
        cached = self._conn_tracks.get(conn_id)
        if cached is not None and cached[0] == len(spots):
            return cached[1]
        conn = self.rec.connections.get(conn_id) or Connection(conn_id)
        lanes = self.rec.lanes
        every = [(lanes[ln].t[i], lanes[ln].dur[i], lanes[ln].kind[i], lanes[ln].side) for ln, i in spots]
        accept = KINDS["accept"].code  # the wait in accept() is the thread's, not this connection's
        server = [(t + d, 0, k) if k == accept else (t, d, k) for t, d, k, side in every if side == "server"]
        items = server or [x[:3] for x in every]
        if conn.connected_t is not None and conn.accepted_t is not None and conn.accepted_t > conn.connected_t:
            items.append((conn.connected_t, conn.accepted_t - conn.connected_t, BACKLOG_KIND))
        if conn.submit_t is not None and conn.start_t is not None and conn.start_t > conn.submit_t:
            items.append((conn.submit_t, conn.start_t - conn.submit_t, QUEUED_KIND))
        if server and conn.connect_t is not None:
            items.append((conn.connect_t, (conn.connected_t or conn.connect_t) - conn.connect_t, KINDS["connect"].code))
        items.sort()
        tr = Track(array("q", (x[0] for x in items)), array("q", (x[1] for x in items)),
                   array("b", (x[2] for x in items)), array("i", [conn_id] * len(items)), client=not server)
        self._conn_tracks[conn_id] = (len(spots), tr)
        return tr

    # -------------------------------------------------- statistics and stepping
    def stats_at(self, t: int) -> Stats:
        """Threads alive, open connections, pool queue and kernel backlog at time ``t``."""
        counters = self.rec.counters
        if "threads" in counters:
            threads = counters["threads"].at(t)
        else:
            threads = sum(1 for tr in list(self._tracks.values())
                          if tr.life and tr.life[0] <= t < tr.life[1] and not tr.client)
        opens, closes = self._open_intervals()
        return Stats(t, threads, bisect_right(opens, t) - bisect_right(closes, t),
                     counters["queue"].at(t) if "queue" in counters else None,
                     counters["backlog"].at(t) if "backlog" in counters else None, self.rec.dropped)

    def _open_intervals(self) -> tuple[array, array]:
        key = (len(self.rec.connections), self.rec.n_events)
        # while a big recording loads, recount at most twice a second (it sorts every connection)
        if key != self._open_key and (time.monotonic() - self._open_at > 0.5 or len(self._opens) < 10_000):
            self._open_at = time.monotonic()
            opens, closes = [], []
            for c in list(self.rec.connections.values()):
                begin = c.accepted_t if c.accepted_t is not None else c.connected_t
                if begin is None:
                    continue
                opens.append(begin)
                end = c.close_t if c.id > 0 else c.client_close_t
                if end is not None:
                    closes.append(max(end, begin))
            self._opens, self._closes = array("q", sorted(opens)), array("q", sorted(closes))
            self._open_key = key
        return self._opens, self._closes

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

    def spark(self, name: str, view: View) -> list[tuple[str, int]]:
        """A counter as a sparkline: per cell (glyph, peak value in the cell)."""
        counter = self.rec.counters.get(name)
        if counter is None or not len(counter.t):
            return [(" ", 0)] * view.width
        ct, cv = counter.t, counter.v
        top = max(counter.peak(), 1)
        out = []
        for c in range(view.width):
            a = view.time_at(c)
            lo, hi = bisect_right(ct, a), bisect_left(ct, a + view.scale)
            value = cv[lo - 1] if lo > 0 else 0
            if hi > lo:
                value = max(value, max(cv[lo:hi]))
            glyph = " " if value <= 0 else SPARK[max(1, round(value / top * 8))]
            out.append((glyph, value))
        return out


def _filtered(base: Track, f: Filters) -> Track:
    n = base.n
    keep: list[bool] = [True] * n
    if f.conn is not None:
        cid = f.conn
        keep = [c == cid for c in base.conn[:n]]
    if f.kinds is not None:
        codes = {KINDS[k].code for k in f.kinds if k in KINDS}
        keep = [k and code in codes for k, code in zip(keep, base.kind[:n], strict=True)]
    return Track(array("q", compress(base.t[:n], keep)), array("q", compress(base.dur[:n], keep)),
                 array("b", compress(base.kind[:n], keep)), array("i", compress(base.conn[:n], keep)), base.client)


def _first_time(c: Connection) -> int:
    times = [x for x in (c.connect_t, c.accept_t, c.submit_t, c.start_t) if x is not None]
    return min(times, default=0)


def _conn_label(c: Connection) -> str:
    return f"conn {c.id}" if c.id > 0 else f"client {-c.id} (never accepted)"
