"""CSV (RFC 4180, with a header row): one row per event, in time order.

Named ``csvout`` so that it never shadows the standard library's ``csv``.
"""

from __future__ import annotations

import csv
import io
from array import array
from bisect import bisect_left
from typing import TextIO

from tracer.export import Progress, Selection, span_of
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


def write(rec: Recording, out: TextIO, sel: Selection, progress: Progress | None = None) -> int:
    """Write one row per event in the selection; return the number of rows.

    Fast path (a million rows in about a second): each lane's rows are made as text in one pass over
    its columns, with the lane's constant fields and every string quoted once (by :mod:`csv` itself,
    so the quoting is the writer's own); then one stable sort of the row numbers by start time gives
    the order heapq.merge of (t, lane order, index) did: ties go by lane order, then by index.
    """
    lo, hi = sel.bounds(rec)
    lanes = sel.lane_list(rec)
    csv.writer(out, lineterminator="\r\n").writerow([name for name, _ in COLUMNS])
    quote = _Quoter()
    names = [quote(k.name) for k in BY_CODE]
    rows: list[str] = []
    starts = array("q")
    total = sum(len(lane) for lane in lanes) or 1
    for lane in lanes:
        _lane_rows(lane, lo, hi, names, quote, rows, starts)
        if progress is not None:
            progress(len(rows), total)
    order = sorted(range(len(rows)), key=starts.__getitem__)  # stable: lanes were added in order
    for k in range(0, len(order), 50_000):
        out.write("".join(map(rows.__getitem__, order[k:k + 50_000])))
    return len(rows)


class _Quoter:
    """A field as :mod:`csv` writes it (quoted where it must be), each distinct value quoted once."""

    def __init__(self) -> None:
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf, lineterminator="")
        self.done: dict[str | int, str] = {}

    def __call__(self, value: str | int) -> str:
        got = self.done.get(value)
        if got is None:
            self.buf.seek(0)
            self.buf.truncate()
            self.writer.writerow([value, ""])  # two fields: an empty one alone would be written as ""
            got = self.done[value] = self.buf.getvalue()[:-1]
        return got


def _lane_rows(lane: Lane, lo: int, hi: int, names: list[str], quote: _Quoter, rows: list[str],
               starts: array) -> None:
    """Append the rows of ``lane``'s events in range to ``rows``, and their start times to ``starts``."""
    a, b = span_of(lane, lo, hi)
    t_, dur_ = lane.t, lane.dur
    while a < b and t_[a] + dur_[a] < lo:  # the look-back found an earlier, longer event
        a += 1
    first = bisect_left(t_, lo)  # from here on every event overlaps the range
    skip = {i for i in range(a, min(first, b)) if t_[i] + dur_[i] < lo}  # rare: a short event among the earlier
    tail = ",%s,%s," % (lane.id, quote(lane.name))
    side = "," + quote(lane.side) + ","
    details = {i: quote(d) for i, d in lane.details.items() if a <= i < b}
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
