"""CSV (RFC 4180, with a header row): one row per event, in time order.

Named ``csvout`` so that it never shadows the standard library's ``csv``.
"""

from __future__ import annotations

import csv
import io
import re
from array import array
from bisect import bisect_left
from typing import TextIO

from tracer.export import Progress, Selection, encode, span_of
from tracer.locale import N_
from tracer.recording.events import BY_CODE
from tracer.recording.model import Lane, Recording

# (column, what it holds): the one place the columns are described; --help prints it.
COLUMNS: list[tuple[str, str]] = [
    ("time_us", N_("when the call started, µs since the recording's start (ns precision)")),
    ("duration_us", N_("how long the thread stayed in the call, µs (0 for an instant)")),
    ("kind", N_("accept, recv, send, close, submit, start, connect, thread_start, ...")),
    ("lane", N_("the lane (thread) number")),
    ("thread", N_("the thread's name")),
    ("connection", N_("the connection id (empty: none; negative: seen only by the client)")),
    ("bytes", N_("bytes moved by recv/send (0 for a recv at end of stream); empty otherwise")),
    ("count", N_("pool queue depth after a submit, backlog of a listen, sockets ready for select")),
    ("detail", N_("close reason (eof, server, reset, timeout, ...), peer address, or error")),
    ("side", N_("server or client")),
    ("line", N_("the line of the recording the event was read from")),
]

_BYTES = {k.code for k in BY_CODE if k.name in ("recv", "send")}


WINDOWS = 64  # the range is written in this many slices of time: at most one slice's rows are held at once


def write(rec: Recording, out: TextIO, sel: Selection, progress: Progress | None = None) -> int:
    """Write one row per event in the selection; return the number of rows.

    Fast path (a million rows in about a second): the range is cut in :data:`WINDOWS` slices of time
    (so only one slice's rows are held at once); in each, every lane's rows are made as text in one
    pass over its columns, with the lane's constant fields and every string quoted once (by :mod:`csv`
    itself, so the quoting is the writer's own); then one stable sort of the rows by start time gives
    the order heapq.merge of (t, lane order, index) did: ties go by lane order, then by index.
    """
    lo, hi = sel.bounds(rec)
    lanes = sel.lane_list(rec)
    csv.writer(out, lineterminator="\r\n").writerow([name for name, _ in COLUMNS])
    quote = _Quoter()
    names = [quote(k.name) for k in BY_CODE]
    spans = [_span(lane, lo, hi) for lane in lanes]
    firsts = [lane.t[a] for lane, (a, b, _) in zip(lanes, spans, strict=True) if a < b]
    if not firsts:
        return 0
    if encode.native is not None:
        try:
            n = _rows_native(lanes, spans, names, quote, out)
        except encode.Unsupported:
            pass  # columns the C encoder does not read: the windows below write the same
        else:
            if progress is not None:
                progress(n, n)
            return n
    details = [{i: quote(d) for i, d in lane.details.items() if a <= i < b} for lane, (a, b, _) in
               zip(lanes, spans, strict=True)]  # quoted once: a lane's are looked at in every slice
    t0, t1 = min(firsts), max(lane.t[b - 1] for lane, (a, b, _) in zip(lanes, spans, strict=True) if a < b) + 1
    edges = [t0 + (t1 - t0) * k // WINDOWS for k in range(WINDOWS)] + [t1]
    total = sum(b - a for a, b, _ in spans) or 1
    n = 0
    for w0, w1 in zip(edges, edges[1:], strict=False):
        rows: list[str] = []
        starts = array("q")
        for lane, (a, b, skip), quoted in zip(lanes, spans, details, strict=True):
            i0, i1 = max(a, bisect_left(lane.t, w0, a, b)), min(b, bisect_left(lane.t, w1, a, b))
            if i0 < i1:
                _lane_rows(lane, i0, i1, skip, quoted, names, quote, rows, starts)
        order = sorted(range(len(rows)), key=starts.__getitem__)  # stable: lanes were added in order
        out.write("".join(map(rows.__getitem__, order)))
        n += len(rows)
        if progress is not None:
            progress(n, total)
    return n


_MOVED = bytes(k.code in _BYTES for k in BY_CODE)


def _rows_native(lanes: list[Lane], spans: list[tuple[int, int, set[int]]], names: list[str], quote: _Quoter,
                 out: TextIO) -> int:
    """Every row, in :func:`write`'s order, by the C encoder (tracer/export/_encode.c): it merges the
    lanes by (start, lane order, index), which is what the windows' stable sorts give."""
    jobs = []
    for lane, (a, b, skip) in zip(lanes, spans, strict=True):
        didx, dvid, values, _ = encode.lane_details(lane, a, b)
        jobs.append((lane.t, lane.dur, lane.kind, lane.conn, lane.count, lane.lines, a, b, array("q", sorted(skip)),
                     didx, dvid, [quote(v).encode() for v in values],
                     (",%s,%s," % (lane.id, quote(lane.name))).encode(), ("," + quote(lane.side) + ",").encode()))
    return int(encode.native.csv_rows(jobs, [name.encode() for name in names], _MOVED, out.write, 20_000))


def _span(lane: Lane, lo: int, hi: int) -> tuple[int, int, set[int]]:
    """``[a, b)`` holding the lane's events in range, and those in it that are not (ended before ``lo``)."""
    a, b = span_of(lane, lo, hi)
    t, dur = lane.t, lane.dur
    while a < b and t[a] + dur[a] < lo:  # the look-back found an earlier, longer event
        a += 1
    first = bisect_left(t, lo)  # from here on every event overlaps the range
    return a, b, {i for i in range(a, min(first, b)) if t[i] + dur[i] < lo}  # rare: short ones among the earlier


_PLAIN = re.compile(r"[A-Za-z0-9.:_/@\[\]-]+")  # not empty (csv writes "" alone), no , " \r \n or space


class _Quoter:
    """A field as :mod:`csv` writes it (quoted where it must be), each distinct value quoted once."""

    def __init__(self) -> None:
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf, lineterminator="")
        self.done: dict[tuple[type, str | int], str] = {}

    def __call__(self, value: str | int) -> str:
        key = (type(value), value)  # True is not 1
        got = self.done.get(key)
        if got is None and isinstance(value, str) and _PLAIN.fullmatch(value):
            got = self.done[key] = value  # nothing csv quotes: most details (peers), and mostly distinct
        if got is None:
            self.buf.seek(0)
            self.buf.truncate()
            self.writer.writerow([value, ""])  # two fields: an empty one alone would be written as ""
            got = self.done[key] = self.buf.getvalue()[:-1]
        return got


def _lane_rows(lane: Lane, a: int, b: int, skip: set[int], details: dict[int, str], names: list[str],
               quote: _Quoter, rows: list[str], starts: array) -> None:
    """Append the rows of ``lane``'s events ``[a, b)`` (but ``skip``) to ``rows``, their start times to
    ``starts``; ``details`` holds the lane's details, quoted."""
    t_, dur_ = lane.t, lane.dur
    tail = ",%s,%s," % (lane.id, quote(lane.name))
    side = "," + quote(lane.side) + ","
    fmt = "%d.%03d,%d.%03d,%s" + tail + "%s,%s,%s,%s" + side + "%d\r\n"
    append = rows.append
    for i, t, d, code, c, k, line in zip(range(a, b), t_[a:b], dur_[a:b], lane.kind[a:b], lane.conn[a:b],
                                         lane.count[a:b], lane.lines[a:b], strict=True):
        if skip and i in skip:
            continue
        if k < 0:
            moved = count = ""
        elif code in _BYTES:
            moved, count = k, ""
        else:
            moved, count = "", k
        append(fmt % (t // 1000, t % 1000, d // 1000, d % 1000, names[code], c or "", moved, count,
                      details.get(i, "") if details else "", line))
        starts.append(t)
