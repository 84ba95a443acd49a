"""Chrome trace JSON (object form) that Perfetto and chrome://tracing open.

How this works
--------------
Perfetto's JSON importer quietly merges threads whose ids do not fit in 32
bits or are reused, and drops slices that partly overlap another on the same
thread.  So:

- a lane's tid is its lane id + 1 (never 0, unique across both processes), or
  its position + 1 if lane ids are too large; the server and the clients are
  two processes, each with the tid of its first lane as pid (Perfetto takes
  the thread whose tid equals a pid for that process's main thread);
- spans are complete (``X``) slices written lane by lane in start order with a
  stack of open slices: one that would end after its parent is clipped to end
  with it, so slices always nest (clipped ones carry ``args.clipped``);
- timestamps are µs since the recording's start, written with the ns and
  half a ns more (``12.3455``): Perfetto truncates ``ts * 1000`` to an integer
  number of ns, and the half keeps float rounding from landing one ns short.
  No ``displayTimeUnit``: Perfetto once took it for the unit of ``ts``
  (google/perfetto#141);
- flow arrows (``bind_id`` with ``flow_out``/``flow_in``) run from the
  ``accept`` slice to the connection's first event on the thread that serves
  it (a pool worker's ``start``: the arrow's length is the queue wait),
  written only when both ends are exported; Perfetto binds flows to slices
  only, so an instant carrying one is written as a 0-length slice;
- event-loop models get one async slice (``b``/``e``, ``id`` = connection) per
  connection, from accept to close.
"""

from __future__ import annotations

import json
import re
from array import array
from bisect import bisect_left
from typing import Any, TextIO

from tracer.export import Progress, Selection, encode, span_of
from tracer.recording.events import BY_CODE, KINDS, Look
from tracer.recording.model import Lane, Recording

EVENT_LOOP_MODELS = ("selectors", "asyncio")
_MAX_TID = 2**31 - 1
_ACCEPT = KINDS["accept"].code
_KIND_NAMES = [k.name for k in BY_CODE]
_MARK = [k.look is Look.MARK for k in BY_CODE]
_NAMES_UTF8 = [name.encode() for name in _KIND_NAMES]
_MARK_BYTES = bytes(_MARK)


_PLAIN = re.compile(r"[A-Za-z0-9 .:_/@\[\]-]*")  # a string JSON writes as itself, quoted


def _json(value: str | int) -> str:
    """``json.dumps(value, ensure_ascii=False)``; a plain string (a peer address, a close reason: most
    details, and mostly distinct) without calling it."""
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return '"' + value + '"'
    return json.dumps(value, ensure_ascii=False)


def us(ns: int) -> str:
    """ns as a µs decimal that Perfetto reads back as exactly ``ns`` (see the module's docstring)."""
    return "%d.%03d5" % divmod(ns, 1000)


def tids(rec: Recording) -> dict[int, int]:
    """Lane id -> tid: small, never 0, never reused."""
    ids = list(rec.lanes)
    if all(0 <= i < _MAX_TID - 1 for i in ids):
        return {i: i + 1 for i in ids}
    return {i: n + 1 for n, i in enumerate(ids)}


def pids(rec: Recording, tid: dict[int, int]) -> dict[str, int]:
    """Side -> pid: the tid of the side's first lane.

    Perfetto makes the thread whose tid equals a pid that process's main
    thread, so a pid must never be another process's tid; a side's own first
    tid is one that cannot be.
    """
    out: dict[str, int] = {}
    for lane in rec.lanes.values():
        out.setdefault(lane.side, tid[lane.id])
    return out


def write(rec: Recording, out: TextIO, sel: Selection, progress: Progress | None = None) -> int:
    """Write ``rec`` as Chrome trace JSON; return the number of events exported."""
    lo, hi = sel.bounds(rec)
    lanes = sel.lane_list(rec)
    tid = tids(rec)
    pid = pids(rec, tid)
    server_pid = pid.get("server", pid.get("client", 1))
    flows: dict[int, dict[int, str]] = {}  # lane id -> {event index: the flow's fields}
    for fmt, ends in zip((',"bind_id":%d,"flow_out":true', ',"bind_id":%d,"flow_in":true'),
                         _flows(rec, lanes, lo, hi), strict=True):
        for (lane_id, i), flow in ends.items():
            flows.setdefault(lane_id, {}).setdefault(i, fmt % flow)  # an accept that is also served: out
    w = _Writer(out)
    out.write('{"traceEvents":[\n')
    _metadata(w, rec, lanes, tid, pid)
    total = sum(len(lane) for lane in lanes) or 1
    done = n = clipped = 0
    for lane in lanes:
        k, c = _lane(w, lane, pid[lane.side], tid[lane.id], lo, hi, flows.get(lane.id, {}))
        n += k
        clipped += c
        done += len(lane)
        if progress is not None:
            progress(done, total)
    # counters and marks may come after the last event ends (rec.t_max): without --to, keep them all
    last = hi if sel.t_to is not None else 1 << 62
    _counters(w, rec, server_pid, lo, last)
    _marks(w, rec, server_pid, lo, last)
    if rec.model in EVENT_LOOP_MODELS:
        _async(w, rec, server_pid, {lane.id for lane in lanes}, lo, hi)
    other = _other(rec, sel, clipped)
    out.write('\n],"otherData":%s}\n' % json.dumps(other, ensure_ascii=False))
    return n


class _Writer:
    """Writes trace events separated by commas, one per line."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.first = True

    def raw(self, text: str) -> None:
        if self.first:
            self.first = False
            self.out.write(text)
        else:
            self.out.write(",\n" + text)

    def obj(self, event: dict[str, Any]) -> None:
        self.raw(json.dumps(event, ensure_ascii=False, separators=(",", ":")))


def _other(rec: Recording, sel: Selection, clipped: int) -> dict[str, Any]:
    """The recording's header (flattened to strings and numbers), dropped count and selection."""
    other: dict[str, Any] = {"source": "sockscope", "recording": rec.path}
    for key, value in rec.header.items():
        other[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
    lo, hi = sel.bounds(rec)
    other.update(events=rec.n_events, dropped=rec.dropped, complete=rec.complete,
                 range_us=f"{lo / 1000:.3f}..{hi / 1000:.3f}", clipped_slices=clipped)
    return other


def _metadata(w: _Writer, rec: Recording, lanes: list[Lane], tid: dict[int, int], pid: dict[str, int]) -> None:
    sides = {lane.side for lane in lanes}
    for order, side, name in ((1, "server", f"server: {rec.model}"), (2, "client", "clients")):
        if side in sides:
            w.obj({"ph": "M", "pid": pid[side], "name": "process_name", "args": {"name": name}})
            w.obj({"ph": "M", "pid": pid[side], "name": "process_sort_index", "args": {"sort_index": order}})
    for order, lane in enumerate(lanes):
        label = f"{lane.name} (lane {lane.id})"
        p, t = pid[lane.side], tid[lane.id]
        w.obj({"ph": "M", "pid": p, "tid": t, "name": "thread_name", "args": {"name": label}})
        w.obj({"ph": "M", "pid": p, "tid": t, "name": "thread_sort_index", "args": {"sort_index": order}})


def _lane(w: _Writer, lane: Lane, pid: int, tid: int, lo: int, hi: int, flows: dict[int, str]) -> tuple[int, int]:
    """Write one lane's events; return (events written, slices clipped to nest).

    The hot loop of this export: one pass over the lane's columns (zip), each detail quoted once, and
    the rare extras (a detail, a flow's end, a clipped slice) looked up only at the indices that have them.
    """
    head = '{"pid":%d,"tid":%d,' % (pid, tid)
    x_fmt = head + '"ph":"X","ts":%d.%03d5,"dur":%d.%03d5,"name":"%s","cat":"' + lane.side + '","args":{%s}%s}'
    i_fmt = head + '"ph":"i","s":"t","ts":%d.%03d5,"name":"%s","cat":"' + lane.side + '","args":{%s}}'
    t_, dur_ = lane.t, lane.dur
    a, b = span_of(lane, lo, hi)
    if encode.native is not None:
        try:
            return _lane_native(w, lane, head, a, b, lo, hi, flows)
        except encode.Unsupported:
            pass  # columns the C encoder does not read: the loop below writes the same
    quoted: dict[tuple[type, str | int], str] = {}  # details repeat (eof, eof, ...): quote each once
    details: dict[int, str] = {}
    for i, detail in lane.details.items():
        if a <= i < b:
            key = (type(detail), detail)  # True is not 1
            q = quoted.get(key)
            if q is None:
                q = quoted[key] = ',"detail":' + _json(detail)
            details[i] = q
    parts: list[str] = []
    append = parts.append
    stack: list[int] = []  # ends of the open slices, innermost last
    clipped = n = 0
    for i, t, d, code, c, k, line in zip(range(a, b), t_[a:b], dur_[a:b], lane.kind[a:b], lane.conn[a:b],
                                         lane.count[a:b], lane.lines[a:b], strict=True):
        end = t + d
        if end < lo:
            continue
        start, stop = (t if t > lo else lo), (end if end < hi else hi)
        while stack and stack[-1] <= start:
            stack.pop()
        args = '"line":%d' % line
        if stack and stop > stack[-1]:
            stop = stack[-1]
            clipped += 1
        if start != t or stop != end:
            args += ',"clipped":true'
        if c:
            args += ',"conn":%d' % c
        if k >= 0:
            args += ',"count":%d' % k
        if details and i in details:
            args += details[i]
        flow = flows.get(i, "") if flows else ""
        if stop == start and _MARK[code] and not flow:
            append(i_fmt % (start // 1000, start % 1000, _KIND_NAMES[code], args))
        else:
            d = stop - start
            append(x_fmt % (start // 1000, start % 1000, d // 1000, d % 1000, _KIND_NAMES[code], args, flow))
            stack.append(stop)
        if len(parts) >= 10_000:  # write in batches: one lane may hold a million events
            n += len(parts)
            w.raw(",\n".join(parts))
            parts.clear()
    if parts:
        w.raw(",\n".join(parts))
    return n + len(parts), clipped


def _lane_native(w: _Writer, lane: Lane, head: str, a: int, b: int, lo: int, hi: int,
                 flows: dict[int, str]) -> tuple[int, int]:
    """:func:`_lane`'s loop in C (tracer/export/_encode.c): the details as the lane's columns over its
    distinct values (each quoted once), the flows' fields at their indices."""
    didx, dvid, values, _ = encode.lane_details(lane, a, b)
    table = [(',"detail":' + _json(v)).encode() for v in values]
    fidx = sorted(i for i in flows if a <= i < b)
    cat = '","cat":"%s","args":{' % lane.side
    n, clipped = encode.native.chrome_lane(
        lane.t, lane.dur, lane.kind, lane.conn, lane.count, lane.lines, a, b, lo, hi,
        (head + '"ph":"X","ts":').encode(), (head + '"ph":"i","s":"t","ts":').encode(), cat.encode(), _NAMES_UTF8,
        _MARK_BYTES, didx, dvid, table, array("q", fidx), [flows[i].encode() for i in fidx], w.raw, 10_000)
    return int(n), int(clipped)


def _flows(rec: Recording, lanes: list[Lane], lo: int, hi: int) -> tuple[dict[tuple[int, int], int],
                                                                         dict[tuple[int, int], int]]:
    """(lane, index) of each flow's two ends: the accept slice and the first event on the serving thread.

    Read from the connection table's columns (no view per connection), with each lane's first index of
    every connection found once (:class:`_FirstSeen`) instead of a scan from the accept per connection.
    """
    chosen = {lane.id for lane in lanes}
    outs: dict[tuple[int, int], int] = {}
    ins: dict[tuple[int, int], int] = {}
    lane_ids = rec.lane_ids
    seen = _FirstSeen()
    for cid, at, al, sl in zip(*_columns(rec, "id", "accept_t", "accept_lane", "serve_lane"), strict=True):
        if cid <= 0 or al < 0 or sl < 0 or al == sl or at < 0:
            continue
        la, ls = rec.lanes[lane_ids[al]], rec.lanes[lane_ids[sl]]
        if la.id not in chosen or ls.id not in chosen:
            continue
        a = seen.find(la, at, cid, want_accept=True)
        s = seen.find(ls, at, cid, want_accept=False)
        if a is None or s is None:
            continue
        if _overlaps(la, a, lo, hi) and _overlaps(ls, s, lo, hi):
            outs[(la.id, a)] = cid
            ins[(ls.id, s)] = cid
    return outs, ins


def _columns(rec: Recording, *names: str) -> tuple[list[int], ...]:
    """The live connections' values of some columns of ``rec.connections``, -1 for "not seen" (lanes as
    their number in ``rec.lane_ids``), in the table's order."""
    return tuple(rec.connections._snapshot(*names))


class _FirstSeen:
    """Each lane's first event index of every connection on it, made once per lane when first asked."""

    def __init__(self) -> None:
        self.first: dict[int, dict[int, int]] = {}

    def find(self, lane: Lane, t: int, conn: int, want_accept: bool, limit: int = 10_000) -> int | None:
        """What :func:`_find` says, from the index: the first event of ``conn`` at or after the first event
        starting at ``t`` is the connection's first on the lane, unless the lane had it earlier too (then
        the scan)."""
        first = self.first.get(lane.id)
        if first is None:  # last write wins: reversed, each connection keeps its first index
            first = self.first[lane.id] = dict(zip(reversed(lane.conn), range(len(lane) - 1, -1, -1), strict=True))
        j = first.get(conn)
        if j is None:
            return None
        # i = bisect_left(lane.t, t) is not needed: the times are sorted, so j < i when lane.t[j] < t, and
        # j >= i + limit when lane.t[j - limit] >= t (a bisect a connection was a sixth of the flows' time)
        times = lane.t
        if times[j] < t:
            return _find(lane, t, conn, want_accept, limit)
        if j >= limit and times[j - limit] >= t:
            return None
        if want_accept:
            return j if lane.kind[j] == _ACCEPT else None
        return j


def _find(lane: Lane, t: int, conn: int, want_accept: bool, limit: int = 10_000) -> int | None:
    """The connection's accept on ``lane``, or its first event there (start, thread_start, recv), from ``t``."""
    i = bisect_left(lane.t, t)
    for j in range(i, min(len(lane), i + limit)):
        if lane.conn[j] != conn:
            continue
        if want_accept:
            return j if lane.kind[j] == _ACCEPT else None
        return j
    return None


def _overlaps(lane: Lane, i: int, lo: int, hi: int) -> bool:
    return lane.t[i] <= hi and lane.t[i] + lane.dur[i] >= lo


def _counters(w: _Writer, rec: Recording, pid: int, lo: int, hi: int) -> None:
    for name, counter in rec.counters.items():
        ts, vs = counter.t, counter.v
        i = max(0, bisect_left(ts, lo) - 1)  # the value in force at lo
        while i < len(ts) and ts[i] <= hi:
            w.raw('{"ph":"C","pid":%d,"name":"%s","ts":%s,"args":{"%s":%d}}'
                  % (pid, name, us(max(ts[i], lo)), name, vs[i]))
            i += 1


def _marks(w: _Writer, rec: Recording, pid: int, lo: int, hi: int) -> None:
    for t, text in rec.marks:
        if lo <= t <= hi:
            w.raw('{"ph":"i","s":"g","pid":%d,"ts":%s,"name":%s,"cat":"mark"}'
                  % (pid, us(t), json.dumps(text, ensure_ascii=False)))


def _async(w: _Writer, rec: Recording, pid: int, chosen: set[int], lo: int, hi: int) -> None:
    """One async slice per connection, accept to close, on the server process."""
    for c in rec.connections.values():
        if c.id <= 0 or c.accept_t is None or c.accept_lane not in chosen:
            continue
        begin = max(c.accepted_t or c.accept_t, lo)
        end = min(c.close_t if c.close_t is not None else rec.t_max, hi)
        if end < begin:
            continue
        name = f"connection {c.id}"
        for ph, t in (("b", begin), ("e", end)):
            w.raw('{"ph":"%s","pid":%d,"cat":"connection","id":%d,"name":"%s","ts":%s}'
                  % (ph, pid, c.id, name, us(t)))
