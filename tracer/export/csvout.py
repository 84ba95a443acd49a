"""CSV (RFC 4180, with a header row): one row per event, in time order.

Named ``csvout`` so that it never shadows the standard library's ``csv``.
"""

from __future__ import annotations

import csv
import heapq
from bisect import bisect_left
from collections.abc import Iterator
from itertools import repeat
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
    """Write one row per event in the selection; return the number of rows."""
    lo, hi = sel.bounds(rec)
    lanes = sel.lane_list(rec)
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line ends
    writer.writerow([name for name, _ in COLUMNS])
    names = [k.name for k in BY_CODE]
    total = sum(len(lane) for lane in lanes) or 1
    n = 0
    # Merge the lanes' (t, lane order, index) in C (zip, heapq.merge); build a row only when it is written.
    keys = heapq.merge(*(_keys(lane, order, lo, hi) for order, lane in enumerate(lanes)))
    for n, (_t, order, i) in enumerate(keys, 1):
        lane = lanes[order]
        t, d, code, count = lane.t[i], lane.dur[i], lane.kind[i], lane.count[i]
        moved = code in _BYTES
        writer.writerow(("%d.%03d" % (t // 1000, t % 1000), "%d.%03d" % (d // 1000, d % 1000), names[code], lane.id,
                         lane.name, lane.conn[i] or "", count if moved and count >= 0 else "",
                         count if not moved and count >= 0 else "", lane.details.get(i, ""), lane.side,
                         lane.lines[i]))
        if progress is not None and n % 50_000 == 0:
            progress(n, total)
    return n


def _keys(lane: Lane, order: int, lo: int, hi: int) -> Iterator[tuple[int, int, int]]:
    """(t, lane order, index) of the lane's events in range, in start order."""
    a, b = span_of(lane, lo, hi)
    t, dur = lane.t, lane.dur
    while a < b and t[a] + dur[a] < lo:  # the look-back found an earlier, longer event
        a += 1
    first = bisect_left(t, lo)  # from here on every event overlaps the range
    skip = [i for i in range(a, min(first, b)) if t[i] + dur[i] < lo]  # rare: a short event among the earlier
    keys = zip(t[a:b], repeat(order), range(a, b))
    if skip:
        gone = set(skip)
        return (k for k in keys if k[2] not in gone)
    return keys
