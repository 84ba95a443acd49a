"""What one timeline row draws: the view window, time units, and per-cell summaries.

How this works
--------------
A :class:`View` maps time (ns since the recording's start) to character cells:
cell ``c`` covers ``[start + c*scale, start + (c+1)*scale)``, and ``start`` is
kept on a multiple of ``scale`` so that cells have absolute indices a pan can
reuse.  Each row is backed by a :class:`Track`: the lane's own columnar arrays
(start, duration, kind, connection) plus derived prefix arrays, extended as
the recording grows:

* ``cum[look]`` — running sum of durations of BLOCKED / WORKING (/ QUEUED)
  spans, so the time a look covers between two indices is one subtraction;
* ``marks`` — running count of instants, so "is there a close in this cell"
  is one subtraction too;
* ``maxend`` — running maximum of ``t + dur``, so whether an event that began
  earlier still runs at time ``a`` is one lookup.  On one thread spans follow
  each other and the maximum is the event's own end, so this array is only
  built for a row whose spans overlap (bytes per event are a bar too).

A cell's summary therefore costs a bisect and a few array reads, however many
events lie under it: a frame costs O(visible cells x log n), never O(events).
Nothing here imports Textual; tests drive it directly.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from tracer.recording.events import BY_CODE, KINDS, Look
from tracer.units import fmt_time, nice_step

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



# ---------------------------------------------------------------- time and units
def fmt_speed(ns_per_s: float) -> str:
    """Playback speed as trace time per wall second: ``1 µs/s``, ``500 ms/s``."""
    return f"{_trim(fmt_time(ns_per_s, 3))}/s"


def _trim(text: str) -> str:
    num, _, unit = text.partition(" ")
    if "." in num:
        num = num.rstrip("0").rstrip(".")
    return f"{num} {unit}"


SPEEDS = [m * 10**e for e in range(3, 11) for m in (1, 2, 5)][:-2]  # 1 µs/s ... 10 s/s


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
