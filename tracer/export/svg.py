"""SVG: the timeline as a picture for a report, one row per thread.

How this works
--------------
The plot is ``width`` pixels wide; each lane is summarised per pixel column.
Every span adds the time it covers in a column to that column's tally for its
kind, and the kind covering most of a column colours it; runs of columns of
one kind become one rectangle.  So a million events draw as at most
(lanes x columns) rectangles, and a few well-separated events draw as one
rectangle each.  Instants (close, thread start/exit, submit, start, listen)
are ticks, at most one per kind per column.  Counters (threads alive, pool
queue, kernel backlog) are step charts under the lanes.  Colours come from
:mod:`tracer.timeline.palette`, the same as the UI's.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter as Tally
from typing import TextIO
from xml.sax.saxutils import escape

from tracer import units
from tracer.analysis.stats import counter_name
from tracer.export import Progress, Selection, encode, in_range, span_of
from tracer.locale import N_, _, ngettext
from tracer.locale.cells import cell_len, truncate
from tracer.recording.events import BY_CODE, KINDS, Look
from tracer.recording.model import Counter, Lane, Recording, natural_key
from tracer.timeline import palette
from tracer.units import fmt_time


def _ns(ns: float | None) -> str:
    """A statistic's time, in significant digits (``12.3 µs``)."""
    return fmt_time(ns, significant=True)

WIDTH = 1200
LABEL_W = 170
RIGHT = 24
WIDE = 2.0  # px: a span this wide is drawn on its own; narrower ones are summarised per pixel column
TOP = 64  # title and axis
# Latin first (as before), then fonts with Simplified Chinese glyphs on Linux, macOS and Windows.
FONT = ("font-family:DejaVu Sans,Helvetica,Arial,'Noto Sans CJK SC','Source Han Sans SC','PingFang SC',"
        "'Microsoft YaHei','WenQuanYi Micro Hei',sans-serif")
_K = len(BY_CODE)
_IS_MARK = [k.look is Look.MARK for k in BY_CODE]
_MARK_BYTES = bytes(_IS_MARK)


def write(rec: Recording, out: TextIO, sel: Selection, progress: Progress | None = None,
          width: int = WIDTH) -> int:
    """Draw the selection as SVG; return the number of events drawn (summarised or not)."""
    lo, hi = sel.bounds(rec)
    hi = max(hi, lo + 1)
    lanes = [lane for lane in sel.lane_list(rec)]
    # Server lanes first, as in the UI; clients by name, numbers as numbers (client-2 before client-10).
    lanes.sort(key=lambda lane: (lane.side == "client", natural_key(lane) if lane.side == "client" else []))
    plot_w = max(100, width - LABEL_W - RIGHT)
    row_h = 18 if len(lanes) <= 40 else max(4, min(18, 720 // max(1, len(lanes))))
    counters = [c for name in ("threads", "queue", "backlog") if (c := rec.counters.get(name)) is not None
                and len(c.t)] if sel.lanes is None else []
    scale = plot_w / (hi - lo)
    body: list[str] = []
    y = TOP
    n = 0
    used: set[int] = set()
    client_gap = False
    for k, lane in enumerate(lanes):
        if lane.side == "client" and not client_gap and k:
            client_gap = True
            body.append(_text(8, y + 12, _("clients"), 11, "#555", weight="bold"))
            y += 16
        labelled = row_h >= 9 or k % math.ceil(11 / row_h) == 0  # small rows: label every few
        drawn, kinds = _lane(body, lane, y, row_h, lo, hi, scale, plot_w, labelled)
        n += drawn
        used |= kinds
        y += row_h
        if progress is not None:
            progress(k + 1, len(lanes))
    y += 8
    for counter in counters:
        _counter(body, counter, y, lo, hi, plot_w)
        y += 34
    height = y + 40
    out.write(_head(width, height, used))
    out.write(_title(rec, sel, lo, hi, n, width))
    out.write(_axis(lo, hi, plot_w, TOP, y))
    out.write("\n".join(body))
    out.write(_legend(used, height - 28, width))
    out.write("\n</svg>\n")
    return n


def _head(width: int, height: int, used: set[int]) -> str:
    styles = " ".join(f".k-{BY_CODE[c].name}{{fill:{palette.colour(BY_CODE[c].name)}}}" for c in sorted(used))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" style="{FONT}">\n'
            f'<style>{styles} .lane{{fill:#f6f7f9}} .grid{{stroke:#e0e0e0;stroke-width:1}}</style>\n'
            f'<rect width="{width}" height="{height}" fill="#ffffff"/>\n')


def _title(rec: Recording, sel: Selection, lo: int, hi: int, n: int, width: int) -> str:
    s = rec.settings
    bits = [rec.model]
    if rec.model == "pool" and "workers" in s:
        bits.append(ngettext("{n} worker", "{n} workers", s["workers"]).format(n=s["workers"]))
    if "backlog" in s:
        bits.append(_("backlog {n}").format(n=s["backlog"]))
    if s.get("as_taught"):
        bits.append(_("as taught"))
    unit, div, decimals = time_unit(lo, hi, nice_step(hi - lo))
    span = f"{lo / div:.{decimals}f} – {hi / div:.{decimals}f} {unit}"
    drawn = ngettext("{n:,} event drawn", "{n:,} events drawn", n).format(n=n)
    sub = f"{rec.path} · {span} · {drawn}"  # _text escapes
    if rec.dropped:
        sub += " · " + _("{n:,} dropped while recording").format(n=rec.dropped)
    return (_text(8, 20, "sockscope · " + " · ".join(bits), 15, "#222", weight="bold") + "\n"
            + _text(8, 38, sub, 11, "#555") + "\n")


def _text(x: float, y: float, text: str, size: int, fill: str, anchor: str = "start", weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" '
            f'font-weight="{weight}">{escape(text)}</text>')


def nice_step(span: float, target: int = 8) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``target`` pieces."""
    return float(units.nice_step(span / target)) if span > 0 else 1.0


def time_unit(lo: int, hi: int, step: float) -> tuple[str, float, int]:
    """(unit, ns per unit, decimals) that label times between lo and hi, ``step`` apart."""
    top = max(abs(hi), abs(lo), 1)
    unit, div = next((u, d) for u, d in (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1.0)) if top >= d or d == 1)
    decimals = max(0, -math.floor(math.log10(step / div) + 1e-9)) if step > 0 else 0
    return unit, div, decimals


def _axis(lo: int, hi: int, plot_w: int, top: int, bottom: int) -> str:
    step = nice_step(hi - lo)
    unit, div, decimals = time_unit(lo, hi, step)
    parts = []
    k = math.ceil(lo / step)
    while k * step <= hi:
        t = k * step
        x = LABEL_W + (t - lo) * plot_w / (hi - lo)
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{bottom}"/>')
        parts.append(_text(x, top - 10, f"{t / div:.{decimals}f} {unit}", 10, "#444", anchor="middle"))
        k += 1
    return "\n".join(parts) + "\n"


class _Columns:
    """One lane's events in range, sorted into what each pixel column shows."""

    def __init__(self, plot_w: int) -> None:
        self.n = 0
        self.cover = [0.0] * (plot_w * _K)  # column * _K + kind code -> px of the column covered
        self.starts = [0] * plot_w  # narrow spans starting in each column
        self.first = [-1] * plot_w  # the first of them (its tooltip, if it is alone)
        self.marks: dict[tuple[int, int], list[int]] = {}  # (column, code) -> [first event, how many]
        self.wide: list[tuple[float, float, int, int]] = []  # (x0, x1, code, index): drawn one by one


def _columns(lane: Lane, lo: int, hi: int, scale: float, plot_w: int) -> _Columns:
    """What each pixel column of ``lane`` shows: the C encoder's loop (tracer/export/_encode.c) where it
    reads the lane's columns, else :func:`_columns_python`; the two give the same lists, floats and all."""
    if encode.native is not None and 0 <= lo <= hi < 2**63:
        a, b = span_of(lane, lo, hi)
        try:
            got = encode.native.svg_columns(lane.t, lane.dur, lane.kind, a, b, lo, hi, scale, plot_w, _MARK_BYTES)
        except encode.Unsupported:
            pass
        else:
            cols = _Columns(0)
            cols.n, cols.cover, cols.starts, cols.first, cols.marks, cols.wide = got
            return cols
    return _columns_python(lane, lo, hi, scale, plot_w)


def _columns_python(lane: Lane, lo: int, hi: int, scale: float, plot_w: int) -> _Columns:
    cols = _Columns(plot_w)
    cover, marks = cols.cover, cols.marks
    t_, dur_, kind_ = lane.t, lane.dur, lane.kind
    for i in in_range(lane, lo, hi):
        cols.n += 1
        code = kind_[i]
        x0 = (max(t_[i], lo) - lo) * scale
        c0 = min(plot_w - 1, int(x0))
        if _IS_MARK[code]:
            seen = marks.get((c0, code))
            if seen is None:
                marks[(c0, code)] = [i, 1]
            else:
                seen[1] += 1
            continue
        x1 = min((min(t_[i] + dur_[i], hi) - lo) * scale, plot_w)
        if x1 - x0 >= WIDE:
            cols.wide.append((x0, x1, code, i))
            continue
        cols.starts[c0] += 1
        if cols.first[c0] < 0:
            cols.first[c0] = i
        c1 = min(plot_w - 1, int(x1))
        if c0 == c1:
            cover[c0 * _K + code] += max(x1 - x0, 1e-6)  # even a 0-length span shows
            continue
        cover[c0 * _K + code] += c0 + 1 - x0
        for c in range(c0 + 1, c1):
            cover[c * _K + code] += 1.0
        cover[c1 * _K + code] += x1 - c1
    return cols


def _lane(body: list[str], lane: Lane, y: int, row_h: int, lo: int, hi: int, scale: float,
          plot_w: int, labelled: bool = True) -> tuple[int, set[int]]:
    """Draw one lane; return (events drawn, kind codes used)."""
    cols = _columns(lane, lo, hi, scale, plot_w)
    full = row_h - (row_h >= 9)
    body.append(f'<rect class="lane" x="{LABEL_W}" y="{y}" width="{plot_w}" height="{full}"/>')
    if labelled:
        size = max(8, min(11, row_h - 3))
        name = truncate(lane.name, 22)  # in cells: a Chinese thread name is twice as wide
        body.append(_text(LABEL_W - 6, y + row_h / 2 + size / 2.8, name, size, "#333", anchor="end"))
    pad = 2 if row_h >= 9 else 0
    used = {code for _, _, code, _ in cols.wide}
    for x0, x1, code, i in cols.wide:  # a pixel's gap after each, so back-to-back calls stay apart
        w = x1 - x0 - 1 if x1 - x0 >= 3 else x1 - x0
        body.append(f'<rect class="ev k-{BY_CODE[code].name}" x="{LABEL_W + x0:.1f}" y="{y + pad}" width="{w:.1f}" '
                    f'height="{row_h - 2 * pad - (row_h >= 9)}"><title>{_tip(lane, i)}</title></rect>')
    paths: dict[int, list[str]] = {}
    used |= _runs(body, paths, lane, cols, y, row_h, plot_w)  # short calls: on top
    used |= _marks(body, paths, lane, cols, y, full, plot_w)
    for code, segments in sorted(paths.items()):
        name = BY_CODE[code].name
        tip = escape(_("{lane}: {kind}, several events per pixel").format(lane=lane.name, kind=name))
        body.append(f'<path class="sum k-{name}" d="{"".join(segments)}"><title>{tip}</title></path>')
    return cols.n, used


def _marks(body: list[str], paths: dict[int, list[str]], lane: Lane, cols: _Columns, y: int, full: int,
           plot_w: int) -> set[int]:
    """Instants as ticks: alone with a tooltip where sparse, summarised where dense."""
    tall = {KINDS[k].code for k in ("close", "thread_start", "thread_exit")}
    columns_with = Tally(code for _, code in cols.marks)
    for (c, code), (i, count) in sorted(cols.marks.items()):
        x = LABEL_W + c
        if count == 1 and columns_with[code] * 8 < plot_w:
            h = full if code in tall else full // 2
            body.append(f'<rect class="mk k-{BY_CODE[code].name}" x="{x}" y="{y + full - h}" width="2" '
                        f'height="{h}"><title>{_tip(lane, i)}</title></rect>')
        else:  # a short tick at the bottom, so the spans above stay readable
            paths.setdefault(code, []).append(f"M{x} {y + full - 3}h1v3h-1z")
    return set(columns_with)


def _runs(body: list[str], paths: dict[int, list[str]], lane: Lane, cols: _Columns, y: int, row_h: int,
          plot_w: int) -> set[int]:
    """Merge columns won by the same kind: one event becomes a rectangle, more a path segment."""
    cover, starts, first = cols.cover, cols.starts, cols.first
    used: set[int] = set()
    pad = 2 if row_h >= 9 else 0
    h = row_h - 2 * pad - (row_h >= 9)
    run_code, run_start, run_events, run_first = -1, 0, 0, -1
    for c in range(plot_w + 1):
        code = -1
        if c < plot_w:
            row = cover[c * _K:(c + 1) * _K]
            best = max(row)
            code = row.index(best) if best > 0 else -1
        if code != run_code or c == plot_w:
            if run_code >= 0:
                used.add(run_code)
                x, w = LABEL_W + run_start, c - run_start
                if run_events == 1:
                    body.append(f'<rect class="ev k-{BY_CODE[run_code].name}" x="{x}" y="{y + pad}" width="{w}" '
                                f'height="{h}"><title>{_tip(lane, run_first)}</title></rect>')
                else:
                    paths.setdefault(run_code, []).append(f"M{x} {y + pad}h{w}v{h}h-{w}z")
            run_code, run_start, run_events, run_first = code, c, 0, -1
        if c < plot_w and code >= 0:
            run_events += starts[c]
            if run_first < 0 and first[c] >= 0:
                run_first = first[c]
    return used


def _tip(lane: Lane, i: int) -> str:
    e = lane.event(i)
    bits = [f"{lane.name}: {e.kind}", _("at {time}").format(time=_ns(e.t))]
    if e.dur:
        bits.append(_("for {time}").format(time=_ns(e.dur)))
    if e.conn:
        bits.append(_("connection {conn}").format(conn=e.conn))
    if e.kind in ("recv", "send") and e.nbytes >= 0:
        bits.append(f"{e.nbytes} B")
    if e.detail is not None:
        bits.append(str(e.detail))
    bits.append(_("line {line}").format(line=e.line))
    return escape(" · ".join(bits))


def _counter(body: list[str], counter: Counter, y: int, lo: int, hi: int, plot_w: int) -> None:
    """A step chart of a sampled counter: each pixel column shows the highest value it saw."""
    scale = plot_w / (hi - lo)
    cols = [0] * plot_w
    ts, vs = counter.t, counter.v
    i = max(0, bisect_right(ts, lo) - 1)  # the sample in force at lo
    while i < len(ts) and ts[i] <= hi:
        seg_end = ts[i + 1] if i + 1 < len(ts) else hi  # a value holds until the next sample
        c0 = min(plot_w - 1, int((max(ts[i], lo) - lo) * scale))
        c1 = min(plot_w - 1, int((min(seg_end, hi) - lo) * scale))
        v = vs[i]
        for c in range(c0, c1 + 1):
            if v > cols[c]:
                cols[c] = v
        i += 1
    top = max(cols, default=0)
    h = 26
    colour = palette.COUNTER_COLOURS.get(counter.name, "#888")
    label = counter_name(counter.name)
    body.append(_text(LABEL_W - 6, y + 12, label, 11, "#333", anchor="end"))
    body.append(_text(LABEL_W - 6, y + 24, _("max {n}").format(n=top), 9, "#777", anchor="end"))
    body.append(f'<rect class="lane" x="{LABEL_W}" y="{y}" width="{plot_w}" height="{h}"/>')
    if top <= 0:
        return
    pts = [f"{LABEL_W},{y + h}"]
    for c, v in enumerate(cols):
        py = y + h - v * (h - 2) / top
        pts.append(f"{LABEL_W + c},{py:.1f} {LABEL_W + c + 1},{py:.1f}")
    pts.append(f"{LABEL_W + plot_w},{y + h}")
    body.append(f'<polygon class="counter" points="{" ".join(pts)}" fill="{colour}" fill-opacity="0.55" '
                f'stroke="{colour}" stroke-width="1"/>')


# What a look means, as the legend names it.
LOOK_WORDS = {Look.BLOCKED: N_("blocked"), Look.WORKING: N_("working"), Look.QUEUED: N_("queued"),
              Look.MARK: N_("mark")}


def text_width(text: str, per_cell: float) -> int:
    """About how many pixels ``text`` takes, ``per_cell`` px a Latin letter: a Chinese character takes two cells
    (1 em, where a Latin letter of DejaVu Sans averages 0.57 em), so a legend of them is spaced twice as wide."""
    return int(per_cell * cell_len(text))


def _legend(used: set[int], y: int, width: int) -> str:
    """Spans by look (blue: blocked in accept, recv ...), then each instant by kind."""
    # (class, label, swatch width); a class of None is a heading ("blocked:"), then a swatch for each kind under
    # it, each in its own colour (one swatch for "accept, recv, connect" showed recv's blue as accept's teal)
    entries: list[tuple[str | None, str, int]] = []
    spans = [c for c in sorted(used) if not _IS_MARK[c]]
    for look in (Look.BLOCKED, Look.WORKING):
        names = [BY_CODE[c].name for c in spans if BY_CODE[c].look is look]
        if names:
            entries.append((None, f"{_(LOOK_WORDS[look])}:", 0))
            entries += [(f"k-{name}", name, 14) for name in names]
    entries += [(f"k-{BY_CODE[c].name}", BY_CODE[c].name, 3) for c in sorted(used) if _IS_MARK[c]]
    parts = []
    x = 8
    for cls, label, w in entries:
        if cls is None:
            parts.append(_text(x, y + 10, label, 11, "#555"))
            x += 6 + text_width(label, 6.3)
            continue
        parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="12" class="{cls}"/>')
        parts.append(_text(x + w + 4, y + 10, label, 11, "#333"))
        x += w + 14 + text_width(label, 6.3)
    footer = _("sockscope · colours as in the timeline UI")
    if x + text_width(footer, 5.5) + 8 <= width:  # only where the legend leaves room for it
        parts.append(_text(width - 8, y + 10, footer, 9, "#999", anchor="end"))
    return "\n".join(parts) + "\n"
