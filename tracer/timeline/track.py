"""What one timeline row draws: the view window, time units, and per-cell summaries.

How this works
--------------
A :class:`View` maps time (ns since the recording's start) to character cells:
cell ``c`` covers ``[start + c*scale, start + (c+1)*scale)``, and ``start`` is
kept on a multiple of ``scale`` so that cells have absolute indices a pan can
reuse.  Each row is backed by a :class:`Track`: the lane's own columnar arrays
(start, duration, kind, connection) plus derived prefix arrays, extended as
the recording grows:

* ``cls`` — each event's class of time (one byte): which ink draws it
  (waiting to accept, for bytes, in select, ..., sending, work, cpu; see
  :mod:`tracer.timeline.palette`) or an instant;
* ``cum[class]`` — running sum of durations of that class's spans, for the
  classes the row has only, kept every ``STRIDE`` (8) events: the time a class
  covers between two indices is one subtraction plus at most 2 x 8 reads of
  ``cls``/``dur`` at the ends, and a cell shows the class that took most of it.
  (Kept for every event it cost ~20 bytes an event; every 8th, ~2.5: issue 14's
  bar is 48 bytes an event for the recording and this index together.)
* ``inst[kind]`` — the indices of each kind of instant (they are few), so
  "is there a close in this cell" is two bisects, and no zoom drops one;
* ``maxend`` — running maximum of ``t + dur``, every ``STRIDE`` events too, so
  whether an event that began earlier still runs at time ``a`` is one lookup
  and at most 8 reads.  On one thread spans follow each other and the maximum
  is the event's own end, so this array is only built for a row whose spans
  overlap.

A cell's summary therefore costs a bisect and a few array reads, however many
events lie under it: a frame costs O(visible cells x log n), never O(events).
Nothing here imports Textual; tests drive it directly.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tracer.recording.events import BY_CODE, KINDS, Look
from tracer.recording.fastpath import native as _native
from tracer.timeline import palette
from tracer.units import fmt_time, nice_step

# Classes of time: 0 idle, one per span ink (palette.SPAN_INKS, in order), then MARK for instants.
IDLE = 0
INK_CODE: dict[str, int] = {ink.name: k for k, ink in enumerate(palette.SPAN_INKS, 1)}
INK_OF_CODE: dict[int, palette.Ink] = {k: ink for k, ink in enumerate(palette.SPAN_INKS, 1)}
MARK = len(palette.SPAN_INKS) + 1
WORK, CPU = INK_CODE["work"], INK_CODE["cpu"]
# The looks' classes, for code that asks by look (a blocked span draws as recv, working as send).
BLOCKED, WORKING, QUEUED = INK_CODE["recv"], INK_CODE["send"], INK_CODE["queue"]
QUEUED_KIND = 100  # a pseudo kind code: a connection waiting in the pool's queue
BACKLOG_KIND = 101  # a pseudo kind code: waiting in the kernel's accept queue
SEVERAL_CODE = -3  # the kind code of a cell holding several kinds of lifecycle instants
_CLS_OF = [IDLE] * 128
for _k in BY_CODE:
    if _k.name in palette.KIND_INK:
        _CLS_OF[_k.code] = INK_CODE[palette.KIND_INK[_k.name]]
    elif _k.look is Look.MARK:
        _CLS_OF[_k.code] = MARK
_CLS_OF[QUEUED_KIND], _CLS_OF[BACKLOG_KIND] = INK_CODE["queue"], INK_CODE["backlog"]
_CLS_BYTES = bytes(_CLS_OF)  # the same table, for the C extend
_WORK_KIND = KINDS["work"].code
_LIFECYCLE = frozenset(KINDS[name].code for name in palette.LIFECYCLE)
_MARK_GLYPH = {KINDS[name].code: ink.glyph for name, ink in palette.MARKS.items()}

# Glyphs: they carry the meaning on a monochrome terminal; colours repeat it.
SPAN_GLYPH = {code: ink.glyph for code, ink in INK_OF_CODE.items()}
MARK_GLYPH = {name: ink.glyph for name, ink in palette.MARKS.items()}
CLIENT_GLYPH = palette.CLIENT_GLYPHS
SHORT_GLYPH = palette.SHORT_GLYPH  # events too short to draw at this zoom
LIFE_GLYPH = palette.LIFE_GLYPH  # the thread is alive but in no traced call
# Which mark wins a cell with several (of those a cell may drop: submit, start): the end of a story first.
_MARK_RANK = {"close": 6, "thread_exit": 5, "thread_start": 4, "start": 3, "submit": 2, "listen": 1}

MIN_SCALE = 1.0  # ns per cell, zoomed in all the way
SHIFT = 3
STRIDE = 1 << SHIFT  # the prefix arrays keep one entry every STRIDE events (entry b: events 0..b*STRIDE-1)
_BLANK = (" ", IDLE, -1)
_LIFE = (LIFE_GLYPH, IDLE, -1)
_SPAN_CELL = {code: (glyph, code, -1) for code, glyph in SPAN_GLYPH.items()}
_SHORT_CELL = {code: (SHORT_GLYPH, code, -1) for code in SPAN_GLYPH}


def _typed(column: object, code: str) -> bool:
    return isinstance(column, array) and column.typecode == code


def class_of(kind_code: int, detail: object = None, work: int = WORK) -> int:
    """The class of time (an ink's code, MARK or IDLE) of one event."""
    cls = _CLS_OF[kind_code] if 0 <= kind_code < len(_CLS_OF) else IDLE
    if cls == WORK:
        return CPU if detail == "cpu" else WORK if detail == "wait" else work
    return cls


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


def tick_label(ns: int, step: int, top: float = 0) -> str:
    """A ruler label in the unit that suits the tick step and the times shown (``top``: the largest), without
    needless digits: 25.23 s, not 25230 ms, once the ruler shows times past a second."""
    size = max(step * 10, top)
    for div, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1, "ns")):
        if size >= div * 1.0001 or div == 1:
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
            out.append((cell, tick_label(t, step, view.end)))
        t += step
    return out


# ---------------------------------------------------------------- tracks: what a row draws
class Track:
    """Sorted event arrays for one row, with the prefix arrays that make cells cheap.

    Args:
        t, dur, kind, conn: parallel arrays sorted by ``t`` (a lane's own, or
            filtered copies); they may grow, :meth:`extend` catches up.
        client: a client's row (its send/recv draw as arrows when short).
        details: index -> detail (a lane's sparse details): a ``work`` event whose detail is ``cpu`` computed.
        work: the class of a ``work`` event that does not say (older recordings: from the settings).
    """

    __slots__ = ("t", "dur", "kind", "conn", "client", "n", "cls", "cum", "inst", "maxend", "life", "_sums",
                 "_top", "details", "work")

    def __init__(self, t: Sequence[int], dur: Sequence[int], kind: Sequence[int], conn: Sequence[int],
                 client: bool = False, details: Mapping[int, object] | None = None, work: int = WORK) -> None:
        self.t, self.dur, self.kind, self.conn = t, dur, kind, conn
        self.client = client
        self.details, self.work = details, work
        self.n = 0
        self.cls = array("b")  # each event's class of time (1 byte an event)
        # cum[c][i]: time of class c in events 0..i-1; an array exists only for a class the row has
        self.cum: dict[int, array] = {}
        self.inst: dict[int, array] = {}  # kind code -> indices of its instants (sparse: instants are few)
        # maxend exists only once spans overlap; on one thread they follow each other and maxend[i] is t+dur
        self.maxend: array | None = None
        self._sums: dict[int, int] = {}
        self._top = -1
        self.life: tuple[int, int] | None = None  # (first start, last end): when the thread existed
        self.extend()

    def extend(self) -> int:
        """Take in events appended since the last call; return how many.

        In C (``tracer/recording/_fastread.c``'s ``track_extend``) when it is built and the columns are arrays;
        :meth:`_extend_py` is the definition, and the path without it (``SOCKSCOPE_PURE_PYTHON=1``).
        """
        if _native is not None and _typed(self.t, "q") and (_typed(self.dur, "q") or _typed(self.dur, "i")) \
                and _typed(self.kind, "b"):
            return int(_native.track_extend(self, _CLS_BYTES, WORK, MARK, IDLE, class_of))
        return self._extend_py()

    def _extend_py(self) -> int:
        t, dur, kind = self.t, self.dur, self.kind
        start, stop = self.n, min(len(t), len(dur), len(kind), len(self.conn))
        if stop <= start:
            return 0
        sums, cum, inst, cls_arr = self._sums, self.cum, self.inst, self.cls
        details, work = self.details, self.work
        pairs = list(cum.items())
        top, me = self._top, self.maxend
        for i in range(start, stop):
            if not i & (STRIDE - 1):  # a block starts: the sums of the events before it
                for k, arr in pairs:
                    arr.append(sums[k])
                if me is not None:
                    me.append(top)
            ti, d, code = t[i], dur[i], kind[i]
            c = _CLS_OF[code] if 0 <= code < 128 else IDLE
            if c == WORK:
                c = class_of(code, details.get(i) if details is not None else None, work)
            cls_arr.append(c)
            if c == MARK:
                idx = inst.get(code)
                if idx is None:
                    idx = inst[code] = array("i")
                idx.append(i)
            elif c != IDLE:
                if c not in cum:  # the row's first span of this class: its blocks are all zeros so far
                    cum[c] = array("q", [0]) * ((i >> SHIFT) + 1)
                    sums[c] = 0
                    pairs = list(cum.items())
                sums[c] += d
            if me is None and ti < top:  # the first overlap: keep the running maximum from now on
                me = self.maxend = array("q")
                run = -1
                for j in range((i >> SHIFT) << SHIFT):
                    if not j & (STRIDE - 1):
                        me.append(run)
                    run = max(run, t[j] + dur[j])
                me.append(run)
            end = ti + d
            if end > top:
                top = end
        self._top = top
        self.n = stop
        self.life = (t[0], top)
        return stop - start

    def __len__(self) -> int:
        return self.n

    def class_time(self, c: int, i: int) -> int:
        """Time of class ``c`` in events 0..i-1."""
        arr = self.cum.get(c)
        if arr is None:
            return 0
        b = min(i >> SHIFT, len(arr) - 1)
        total = arr[b]
        cls, dur = self.cls, self.dur
        for j in range(b << SHIFT, i):
            if cls[j] == c:
                total += dur[j]
        return total

    def max_end(self, j: int) -> int:
        """The latest end among events 0..j."""
        t, dur = self.t, self.dur
        me = self.maxend
        if me is None:
            return t[j] + dur[j]
        b = min(j >> SHIFT, len(me) - 1)
        top = me[b]
        for k in range(b << SHIFT, j + 1):
            end = t[k] + dur[k]
            if end > top:
                top = end
        return top

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

    def time_by_class(self, lo: int, hi: int, a: float, b: float, carry: int) -> dict[int, float]:
        """Time of each class inside ``[a, b)``: events lo..hi-1 start there, ``carry`` runs in from before."""
        cum = self.cum
        times: dict[int, float]
        cls, dur = self.cls, self.dur
        if hi - lo <= STRIDE or not cum:
            times = dict.fromkeys(cum, 0)
            for j in range(lo, hi):
                c = cls[j]
                if c in times:
                    times[c] += dur[j]
        else:
            last = len(next(iter(cum.values()))) - 1  # every class's blocks: as many
            blo, bhi = min(lo >> SHIFT, last), min(hi >> SHIFT, last)
            times = {c: arr[bhi] - arr[blo] for c, arr in cum.items()}
            for j in range(bhi << SHIFT, hi):
                c = cls[j]
                if c in times:
                    times[c] += dur[j]
            for j in range(blo << SHIFT, lo):
                c = cls[j]
                if c in times:
                    times[c] -= dur[j]
        if hi > lo:
            last = hi - 1  # the last span that starts here may run on past the cell: clip it
            over = self.t[last] + self.dur[last] - b
            if over > 0 and self.cls[last] in times:
                times[self.cls[last]] -= over
        if carry >= 0:
            part = min(self.t[carry] + self.dur[carry], b) - a
            if part > 0 and self.cls[carry] in times:
                times[self.cls[carry]] += part
        return times

    def instants(self, lo: int, hi: int) -> list[int]:
        """Kind codes of the instants among events lo..hi-1 (each code once)."""
        return [code for code, idx in self.inst.items() if bisect_left(idx, hi) > bisect_left(idx, lo)]

    def cells(self, view: View, width: int | None = None) -> list[tuple[str, int, int]]:
        """Summarise the events under each cell: a list of (glyph, class, kind code or -1).

        The class that covers most of a cell wins it; a lifecycle instant (start, close, exit) in a cell
        always shows, whatever covers the rest (several kinds of them: ``※``), so no zoom drops one.

        In C (``_fastread.c``'s ``track_cells``: a zoom summarises every cell again, ~10 ms of a frame at 10M
        events in Python) when it is built and the columns are arrays; :meth:`_cells_py` is the definition.
        """
        width = view.width if width is None else width
        if _cells_c is not None and self.n and _typed(self.t, "q") and _typed(self.kind, "b") \
                and (_typed(self.dur, "q") or _typed(self.dur, "i")):
            found = _cells_c(self, view.start, view.scale, width, _CELL_TABLES)
            if found is not None:  # (None: times past what a double holds exactly)
                return found  # type: ignore[no-any-return]
        return self._cells_py(view, width)

    def _cells_py(self, view: View, width: int) -> list[tuple[str, int, int]]:
        n = self.n
        if not n:
            return [_BLANK] * width
        out: list[tuple[str, int, int]] = []
        t, dur = self.t, self.dur
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
            times = self.time_by_class(lo, hi, a, b, carry if carry_end > a else -1)
            busy: float = 0  # added in order, as C does: sum() of floats compensates from Python 3.12 on
            for part in times.values():
                busy += part
            top = max(times, key=times.__getitem__) if times else IDLE
            marks = self.instants(lo, hi) if self.inst else []
            life = [code for code in marks if code in _LIFECYCLE]
            if life:
                out.append(_life_cell(life))
            elif hi - lo == 1 and (marks or dur[lo] < half):
                out.append(self._single(lo, busy, top, half))
            elif marks and busy < half:
                best = max(marks, key=lambda code: _MARK_RANK.get(_name(code), 0))
                out.append((_MARK_GLYPH.get(best, "•"), MARK, best))
            elif busy >= half and top in _SPAN_CELL:
                out.append(_SPAN_CELL[top])
            else:
                out.append(_SHORT_CELL.get(top, (SHORT_GLYPH, MARK, -1)))
            # the event that runs on past this cell (if any) carries into the next
            last = hi - 1
            last_end = t[last] + dur[last]
            if last_end > b and last_end >= carry_end:
                carry, carry_end = last, last_end
            elif self.maxend is not None and self.max_end(last) > max(b, carry_end):
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
        cls = self.cls[carry]
        if cls not in _SPAN_CELL:
            return None
        if min(end, b) - a >= half:
            return _SPAN_CELL[cls]
        if self.client and self.kind[carry] == KINDS["recv"].code:
            return (CLIENT_GLYPH["recv"], cls, self.kind[carry])  # the response arrives
        return None  # the span's tail covers under half the cell: rounding, as for its start

    def _single(self, i: int, busy: float, top: int, half: float) -> tuple[str, int, int]:
        code = self.kind[i]
        name = _name(code)
        own = self.cls[i]
        if own == MARK:
            return (_MARK_GLYPH.get(code, "•"), MARK, code)
        if self.client and name in CLIENT_GLYPH:
            return (CLIENT_GLYPH[name], own, code)
        if busy >= half and top in _SPAN_CELL:
            return _SPAN_CELL[top]
        return (SHORT_GLYPH, own, code)


_CLOSE_EXIT = frozenset((KINDS["close"].code, KINDS["thread_exit"].code))


def _life_cell(codes: list[int]) -> tuple[str, int, int]:
    """A cell holding lifecycle instants: the one's glyph; a close with its thread's end ⊗; more ※."""
    if len(codes) == 1:
        return (_MARK_GLYPH[codes[0]], MARK, codes[0])
    if set(codes) == _CLOSE_EXIT:
        return (palette.CLOSE_EXIT.glyph, MARK, KINDS["close"].code)
    return (palette.SEVERAL.glyph, MARK, SEVERAL_CODE)


def _name(code: int) -> str:
    if code == QUEUED_KIND:
        return "queued"
    if code == BACKLOG_KIND:
        return "backlog"
    return BY_CODE[code].name if 0 <= code < len(BY_CODE) else "?"


def kind_name(code: int) -> str:
    """The name of a kind code, pseudo kinds included (``queued``, ``backlog``)."""
    return _name(code)


# What track_cells (C) draws with, by class and by kind code: the glyphs and codes above, in tables.
_CELL_TABLES = (tuple(SPAN_GLYPH.get(c) for c in range(128)), tuple(_MARK_GLYPH.get(c, "•") for c in range(128)),
                tuple(CLIENT_GLYPH.get(_name(c)) for c in range(128)),
                bytes(_MARK_RANK.get(_name(c), 0) for c in range(128)), bytes(c in _LIFECYCLE for c in range(128)),
                SHORT_GLYPH, LIFE_GLYPH, _BLANK[0], palette.CLOSE_EXIT.glyph, palette.SEVERAL.glyph,
                MARK, IDLE, SEVERAL_CODE, KINDS["close"].code, KINDS["thread_exit"].code, KINDS["recv"].code)
_cells_c = getattr(_native, "track_cells", None)
