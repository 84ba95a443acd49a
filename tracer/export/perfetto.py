"""Perfetto's native trace format (protobuf ``TrackEvent``), for recordings too big for JSON.

Why this format, and why a hand-written encoder
-----------------------------------------------
Perfetto's JSON importer is "legacy, best-effort": chrome://tracing stops at
256 MB and the Perfetto UI runs out of memory near 1-2 GB of JSON, while its
own protobuf trace opens in ui.perfetto.dev and in ``trace_processor`` (SQL
over billions of events).  The ``perfetto`` package's trace builder would pull
in ``protobuf`` and build a message object per event (slower than the JSON we
already write); the wire format needs only varints and length prefixes, so the
encoder below writes the bytes directly, and ``tests/test_export_perfetto.py``
decodes them back with an independent little decoder.

Measured on ``bench/bench_export.py``'s million-event recording: the packets
themselves take ~44 bytes an event (the Chrome JSON ~146), and the file,
deflated as below, ~5 (``bench_export.py`` prints the ratio).

What is written (field numbers from Perfetto's ``protos/perfetto/trace``:
``trace_packet.proto``, ``track_event/track_event.proto``,
``track_event/track_descriptor.proto``, ``track_event/counter_descriptor.proto``,
``interned_data/interned_data.proto``, ``clock_snapshot.proto``)
-----------------------------------------------------------------------------
- a process track for the server and one for the clients, and a thread track
  per lane named ``NAME (lane N)`` (the Chrome export's names);
- one packet *sequence* per lane, set up as Perfetto's "advanced guide to
  programmatic trace generation" says: its first packet has both
  ``SEQ_INCREMENTAL_STATE_CLEARED`` and ``SEQ_NEEDS_INCREMENTAL_STATE``, interns
  the event names the lane uses and the argument names, sets the lane's track
  as the default (``TracePacketDefaults``, which obliges every later packet of
  the sequence to say ``SEQ_NEEDS_INCREMENTAL_STATE``: they do) and times the
  sequence with an incremental clock (``ClockSnapshot`` clock 64, the first
  sequence-scoped id, ``is_incremental``: each timestamp is the ns since the
  sequence's previous packet; the first one after the snapshot is relative
  to the snapshot's 0), so an event packet carries only a small delta, its
  type and a few small varints;
- spans as ``TYPE_SLICE_BEGIN``/``TYPE_SLICE_END`` pairs, clipped to nest as in
  the Chrome export (TrackEvent slices on one track must nest); instants as
  ``TYPE_INSTANT``; ``conn``, ``count`` and ``detail`` as debug annotations
  (a detail that repeats on a lane, like a close reason, as an interned
  string: ``debug_annotation_string_values``);
- a flow from each ``accept`` to the connection's first event on the thread
  that serves it (``flow_ids`` / ``terminating_flow_ids``, id = connection);
- each counter (pool queue, backlog, threads) as a counter track of the
  server process; marks as instants on the server's process track;
- for the event-loop models, one async slice per connection (``connection N``,
  accept to close, as the Chrome export's ``b``/``e`` pair) on tracks of the
  server process all named ``connections``: a connection takes the first
  track free when it begins, so the tracks are as many as the connections
  open at once, and Perfetto's UI shows same-named sibling tracks as one.

Every packet goes into ``compressed_packets`` (field 50): deflated batches
of packets under 512 KB each, which is what Perfetto's own tracing service
writes when a trace config asks for ``COMPRESSION_TYPE_DEFLATE`` and what
``trace_processor`` (and so ui.perfetto.dev) inflates as it reads.
Timestamps are ns since the recording's start.
"""

from __future__ import annotations

import heapq
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from typing import BinaryIO

from tracer.export import Progress, Selection, encode, span_of
from tracer.export.chrome import EVENT_LOOP_MODELS, _flows, pids, tids
from tracer.recording.events import BY_CODE, Look
from tracer.recording.model import Counter, Lane, Recording

BINARY = True  # the export command opens the output in binary mode

# TracePacket
_TIMESTAMP, _SEQ_ID, _TRACK_EVENT, _INTERNED, _SEQ_FLAGS = 8, 10, 11, 12, 13
_CLOCK_SNAPSHOT, _DEFAULTS, _TRACK_DESCRIPTOR, _FIRST_ON_SEQUENCE = 6, 59, 60, 87
_COMPRESSED = 50
# ClockSnapshot {clocks = 1 {clock_id = 1, timestamp = 2, is_incremental = 3}}, TracePacketDefaults.timestamp_clock_id
_CLOCKS, _CLOCK_ID, _CLOCK_TS, _CLOCK_INCREMENTAL, _D_CLOCK = 1, 1, 2, 3, 58
BOOTTIME, DELTA_CLOCK = 6, 64  # 64: the first clock id scoped to one sequence
SEQ_INCREMENTAL_STATE_CLEARED, SEQ_NEEDS_INCREMENTAL_STATE = 1, 2
# TrackEvent
_ANNOTATIONS, _TYPE, _NAME_IID, _TRACK_UUID, _NAME = 4, 9, 10, 11, 23
_COUNTER_VALUE, _FLOW_IDS, _TERMINATING_FLOW_IDS = 30, 47, 48
SLICE_BEGIN, SLICE_END, INSTANT, COUNTER = 1, 2, 3, 4
# TrackDescriptor, ProcessDescriptor, ThreadDescriptor
_UUID, _TD_NAME, _PROCESS, _THREAD, _PARENT_UUID, _COUNTER = 1, 2, 3, 4, 5, 8
_PID, _PROCESS_NAME = 1, 6
_TID, _THREAD_NAME = 2, 5
# InternedData (event_names, debug_annotation_names, debug_annotation_string_values: each {iid = 1, name|str = 2})
_I_NAMES, _I_ANNOTATION_NAMES, _I_STRING_VALUES = 2, 3, 29
# DebugAnnotation, TracePacketDefaults / TrackEventDefaults
_DA_NAME_IID, _DA_INT, _DA_STRING, _DA_STRING_IID = 1, 4, 6, 17
_D_TRACK_EVENT = 11

ANNOTATIONS = ("conn", "count", "detail")  # iids 1, 2, 3
_MARK = [k.look is Look.MARK for k in BY_CODE]
_MARK_BYTES = bytes(_MARK)
PROCESS_UUID = {"server": 1, "client": 2}
_COUNTER_UUID0 = 1 << 40  # counter tracks after every lane's (lane uuids are 1000 + position)
_ASYNC_UUID0 = 1 << 41  # the "connections" tracks
CHUNK = 480_000  # raw bytes per compressed packet: deflated, always under Perfetto's 512 KB
LEVEL = 3  # zlib level: 6 is ~5% smaller and 4x slower here


# ---------------------------------------------------------------- the wire format
def varint(n: int) -> bytes:
    """A protobuf varint (negative numbers as 64-bit two's complement, as int64 fields want)."""
    if n < 0:
        n += 1 << 64
    if n < 0x80:
        return bytes((n,))
    if n < 0x200000:
        if n < 0x4000:
            return bytes(((n & 0x7F) | 0x80, n >> 7))
        return bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, n >> 14))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_TAGS: dict[int, bytes] = {}  # field << 3 | wire -> its varint: a trace uses a few dozen


def tag(field: int, wire: int) -> bytes:
    key = field << 3 | wire
    got = _TAGS.get(key)
    if got is None:
        got = _TAGS[key] = varint(key)
    return got


def _len(n: int) -> bytes:
    """varint(n) of a length (never negative), from the table below 2**14."""
    return _small()[n] if n < 16384 else varint(n)


def f_int(field: int, n: int) -> bytes:
    """A varint field (uint64, int64, int32, enum, bool)."""
    return tag(field, 0) + (_small()[n] if 0 <= n < 16384 else varint(n))


def f_bytes(field: int, data: bytes) -> bytes:
    """A length-delimited field (string, bytes, message)."""
    return tag(field, 2) + _len(len(data)) + data


def f_str(field: int, text: str) -> bytes:
    return f_bytes(field, text.encode("utf-8"))


def f_fixed64(field: int, n: int) -> bytes:
    return tag(field, 1) + (n % (1 << 64)).to_bytes(8, "little")


def packet(body: bytes) -> bytes:
    """One ``Trace.packet`` (field 1): a trace file is these, concatenated."""
    return f_bytes(1, body)


class _Sink:
    """Takes whole packets and writes them deflated, in ``compressed_packets`` of at most :data:`CHUNK`
    raw bytes (a packet bigger than that alone, as it is)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.pending: list[bytes] = []
        self.size = 0

    def write(self, packets: list[bytes]) -> None:
        blob = b"".join(packets)
        for piece in _pieces(blob) if len(blob) > CHUNK else (blob,):
            if self.size + len(piece) > CHUNK and self.pending:
                self._flush()
            if len(piece) > CHUNK:
                self.out.write(piece)  # one packet too big to deflate under the limit
                continue
            self.pending.append(piece)
            self.size += len(piece)

    def close(self) -> None:
        if self.pending:
            self._flush()

    def _flush(self) -> None:
        self.out.write(packet(f_bytes(_COMPRESSED, zlib.compress(b"".join(self.pending), LEVEL))))
        self.pending.clear()
        self.size = 0


def _pieces(blob: bytes) -> Iterable[bytes]:
    """``blob`` (whole packets) cut at packet boundaries into pieces of at most :data:`CHUNK` bytes
    (or one packet, if it alone is bigger)."""
    start = i = 0
    while i < len(blob):
        j, shift, size = i + 1, 0, 0  # blob[i] is the packet's tag, 0x0a
        while True:
            byte = blob[j]
            size |= (byte & 0x7F) << shift
            j += 1
            shift += 7
            if byte < 0x80:
                break
        end = j + size
        if end - start > CHUNK and i > start:
            yield blob[start:i]
            start = i
        i = end
    if start < len(blob):
        yield blob[start:]


# ---------------------------------------------------------------- the trace
def write(rec: Recording, out: BinaryIO, sel: Selection, progress: Progress | None = None) -> int:
    """Write ``rec`` as a Perfetto protobuf trace; return the number of events exported."""
    lo, hi = sel.bounds(rec)
    lanes = sel.lane_list(rec)
    tid = tids(rec)
    pid = pids(rec, tid)
    flows: dict[int, dict[int, bytes]] = {}  # lane id -> {event index: the flow's field}
    for field, ends in zip((_FLOW_IDS, _TERMINATING_FLOW_IDS), _flows(rec, lanes, lo, hi), strict=True):
        for (lane_id, i), flow in ends.items():
            flows.setdefault(lane_id, {})[i] = f_fixed64(field, flow)
    sink = _Sink(out)
    chosen = {lane.id for lane in lanes}
    slices = _connection_slices(rec, chosen, lo, hi) if rec.model in EVENT_LOOP_MODELS else []
    n_async = _tracks(sink, rec, lanes, tid, pid, slices)
    total = sum(len(lane) for lane in lanes) or 1
    done = n = 0
    for seq, lane in enumerate(lanes, 1):
        n += _lane(sink, lane, seq, 1000 + seq, lo, hi, flows.get(lane.id, {}))
        done += len(lane)
        if progress is not None:
            progress(done, total)
    seq = len(lanes) + 1
    if sel.t_to is None:  # counters and marks may come after the last event ends: keep them all
        hi = 1 << 62
    for k, counter in enumerate(rec.counters.values()):
        _counter(sink, counter, seq + k, _COUNTER_UUID0 + k, lo, hi)
    seq += len(rec.counters)
    _marks(sink, rec, seq, lo, hi)
    if slices:
        _async(sink, slices, n_async, seq + 1)
    sink.close()
    return n


def _tracks(sink: _Sink, rec: Recording, lanes: list[Lane], tid: dict[int, int], pid: dict[str, int],
            slices: list[tuple[int, int, int, int]]) -> int:
    """Descriptors: a process per side, a thread per lane, a counter track per counter, the connection
    tracks; return how many of those."""
    sides = [side for side in ("server", "client") if any(lane.side == side for lane in lanes)
             or (side == "server" and (rec.counters or rec.marks or slices))]  # these are the server's
    packets = []
    for side in sides:
        name = f"server: {rec.model}" if side == "server" else "clients"
        proc = f_int(_PID, pid.get(side, len(tid) + 1)) + f_str(_PROCESS_NAME, name)
        packets.append(packet(f_bytes(_TRACK_DESCRIPTOR, f_int(_UUID, PROCESS_UUID[side]) + f_str(_TD_NAME, name)
                                      + f_bytes(_PROCESS, proc))))
    for seq, lane in enumerate(lanes, 1):
        label = f"{lane.name} (lane {lane.id})"
        thread = f_int(_PID, pid[lane.side]) + f_int(_TID, tid[lane.id]) + f_str(_THREAD_NAME, label)
        body = (f_int(_UUID, 1000 + seq) + f_int(_PARENT_UUID, PROCESS_UUID[lane.side]) + f_str(_TD_NAME, label)
                + f_bytes(_THREAD, thread))
        packets.append(packet(f_bytes(_TRACK_DESCRIPTOR, body)))
    for k, name in enumerate(rec.counters):
        body = (f_int(_UUID, _COUNTER_UUID0 + k) + f_int(_PARENT_UUID, PROCESS_UUID["server"]) + f_str(_TD_NAME, name)
                + f_bytes(_COUNTER, b""))
        packets.append(packet(f_bytes(_TRACK_DESCRIPTOR, body)))
    n_async = 1 + max((track for _, _, _, track in slices), default=-1)
    for k in range(n_async):
        body = f_int(_UUID, _ASYNC_UUID0 + k) + f_int(_PARENT_UUID, PROCESS_UUID["server"]) + f_str(_TD_NAME,
                                                                                                  "connections")
        packets.append(packet(f_bytes(_TRACK_DESCRIPTOR, body)))
    sink.write(packets)
    return n_async


def _first_packet(seq: int, track_uuid: int | None, codes: Iterable[int] = (), strings: Iterable[str] = ()) -> bytes:
    """A sequence's first packet: clear the incremental state, intern the names (kinds ``codes``, the
    argument names, the repeated string values ``strings``, iid = position + 1), default to its track, and
    time its packets with an incremental clock (each timestamp the ns since the sequence's previous
    packet: 2-3 bytes instead of 5-6)."""
    interned = b"".join(f_bytes(_I_NAMES, f_int(1, c + 1) + f_str(2, BY_CODE[c].name)) for c in sorted(codes))
    interned += b"".join(f_bytes(_I_ANNOTATION_NAMES, f_int(1, i) + f_str(2, a)) for i, a in enumerate(ANNOTATIONS, 1))
    interned += b"".join(f_bytes(_I_STRING_VALUES, f_int(1, i) + f_str(2, s)) for i, s in enumerate(strings, 1))
    defaults = f_int(_D_CLOCK, DELTA_CLOCK)
    if track_uuid is not None:
        defaults += f_bytes(_D_TRACK_EVENT, f_int(_TRACK_UUID, track_uuid))
    clocks = (f_bytes(_CLOCKS, f_int(_CLOCK_ID, DELTA_CLOCK) + f_int(_CLOCK_TS, 0) + f_int(_CLOCK_INCREMENTAL, 1))
              + f_bytes(_CLOCKS, f_int(_CLOCK_ID, BOOTTIME) + f_int(_CLOCK_TS, 0)))
    flags = SEQ_INCREMENTAL_STATE_CLEARED | SEQ_NEEDS_INCREMENTAL_STATE
    return packet(f_int(_SEQ_ID, seq) + f_int(_SEQ_FLAGS, flags) + f_int(_FIRST_ON_SEQUENCE, 1)
                  + f_bytes(_CLOCK_SNAPSHOT, clocks) + f_bytes(_INTERNED, interned) + f_bytes(_DEFAULTS, defaults))


_SMALL: list[bytes] = []  # varint(n) for n < 2**14, built on first use: most deltas, ids and counts


def _small() -> list[bytes]:
    if not _SMALL:
        _SMALL.extend(varint(n) for n in range(1 << 14))
    return _SMALL


def _details(lane: Lane, a: int, b: int) -> tuple[dict[int, bytes], list[str]]:
    """The ``detail`` annotations of events ``[a, b)``: index -> bytes, and the strings interned (those
    seen more than once: close reasons; a peer address, seen once, is written as is)."""
    got = {i: d for i, d in lane.details.items() if a <= i < b}
    seen: dict[str | int, int] = {}
    for d in got.values():
        seen[d] = seen.get(d, 0) + 1
    strings = [d for d, k in seen.items() if k > 1 and isinstance(d, str)]
    iid = {s: i for i, s in enumerate(strings, 1)}
    cache: dict[str | int, bytes] = {}
    out = {}
    for i, d in got.items():
        a_ = cache.get(d)
        if a_ is None:
            a_ = cache[d] = _annotation(d, iid)
        out[i] = a_
    return out, strings


_DETAIL_HEAD = f_int(_DA_NAME_IID, 3)


def _annotation(d: str | int, iid: dict[str, int]) -> bytes:
    """The ``detail`` debug annotation of value ``d`` (an interned string's by its iid in ``iid``)."""
    if isinstance(d, int):
        value = f_int(_DA_INT, d)
    elif d in iid:
        value = f_int(_DA_STRING_IID, iid[d])
    else:  # f_str(_DA_STRING, d), without its calls: a peer address, seen once
        small = _small()
        utf8 = d.encode("utf-8")
        value = b"\x32" + (small[len(utf8)] if len(utf8) < 16384 else varint(len(utf8))) + utf8
    size = len(_DETAIL_HEAD) + len(value)
    return b"\x22" + (varint(size) if size >= 128 else bytes((size,))) + _DETAIL_HEAD + value


def _lane_native(sink: _Sink, lane: Lane, seq: int, uuid: int, a: int, b: int, lo: int, hi: int,
                 flows: dict[int, bytes]) -> int:
    """:func:`_lane`'s loop in C (tracer/export/_encode.c): the details as the lane's columns over its
    distinct values (each encoded once), the flows' fields at their indices."""
    didx, dvid, values, counts = encode.lane_details(lane, a, b)
    strings = [v for v, k in zip(values, counts, strict=True) if k > 1 and isinstance(v, str)]
    iid = {s: i for i, s in enumerate(strings, 1)}
    fidx = sorted(i for i in flows if a <= i < b)
    first = _first_packet(seq, uuid, set(lane.kind[a:b]), strings)
    return int(encode.native.perfetto_lane(lane.t, lane.dur, lane.kind, lane.conn, lane.count, a, b, lo, hi, seq,
                                           _MARK_BYTES, didx, dvid, [_annotation(v, iid) for v in values],
                                           array("q", fidx), [flows[i] for i in fidx], first, sink.write, 4096))


def _lane(sink: _Sink, lane: Lane, seq: int, uuid: int, lo: int, hi: int, flows: dict[int, bytes]) -> int:
    """One lane's events as slices and instants on its own sequence; return how many.

    The hot loop of this export: every constant part of a packet is made once, varints come from a
    table, repeated annotations (a connection's id, a count) are encoded once per lane, and the rare
    extras (a detail, a flow's end) are looked up only at the indices that have them.
    """
    a, b = span_of(lane, lo, hi)
    if encode.native is not None:
        try:
            return _lane_native(sink, lane, seq, uuid, a, b, lo, hi, flows)
        except encode.Unsupported:
            pass  # columns the C encoder does not read: the loop below writes the same
    details, strings = _details(lane, a, b)
    extras = dict(details)
    for i, f in flows.items():
        if a <= i < b:
            extras[i] = extras.get(i, b"") + f
    small = _small()
    # every event packet: the sequence, and "uses the sequence's interned names and default track"
    tail = f_int(_SEQ_ID, seq) + f_int(_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE)
    te_tag = tag(_TRACK_EVENT, 2)
    end_tail = tail + f_bytes(_TRACK_EVENT, f_int(_TYPE, SLICE_END))
    # an end packet is 0x0a, its length, 0x40 (timestamp), the delta, end_tail: by the delta's length
    end_head = [b""] + [bytes((0x0A, 1 + k + len(end_tail), 0x40)) for k in range(1, 4)]
    end_head3 = end_head[3]
    names = [f_int(_NAME_IID, k.code + 1) for k in BY_CODE]
    begin_type, instant_type = f_int(_TYPE, SLICE_BEGIN), f_int(_TYPE, INSTANT)
    conn_head = tag(_ANNOTATIONS, 2)
    conn_ann: dict[int, bytes] = {}
    count_ann: dict[int, bytes] = {}
    parts: list[bytes] = [_first_packet(seq, uuid, set(lane.kind[a:b]), strings)]
    append = parts.append
    stack: list[int] = []  # ends of the open slices, innermost last
    marks = _MARK
    todo = sorted(extras)
    nxt = todo[0] if todo else -1
    k_extra = 0
    n = 0
    last = 0  # the previous packet's time: timestamps are deltas (never negative: packets go in time order)
    t_, dur_ = lane.t, lane.dur
    for i, t, d, code, c, k in zip(range(a, b), t_[a:b], dur_[a:b], lane.kind[a:b], lane.conn[a:b],
                                   lane.count[a:b], strict=True):
        end = t + d
        if end < lo:
            if i == nxt:
                k_extra += 1
                nxt = todo[k_extra] if k_extra < len(todo) else -1
            continue
        start, stop = (t if t > lo else lo), (end if end < hi else hi)
        while stack and stack[-1] <= start:
            e = stack.pop()
            delta = e - last
            if delta < 16384:
                append(end_head[1 + (delta > 127)] + small[delta] + end_tail)
            elif delta < 0x200000:
                append(end_head3 + bytes((delta & 0x7F | 0x80, delta >> 7 & 0x7F | 0x80, delta >> 14)) + end_tail)
            else:
                append(packet(b"\x40" + varint(delta) + end_tail))
            last = e
        if stack and stop > stack[-1]:
            stop = stack[-1]  # clipped to nest in the open slice
        body = names[code]
        if c:
            ann = conn_ann.get(c)
            if ann is None:
                v = varint(c if c > 0 else c + (1 << 64))
                ann = conn_ann[c] = conn_head + bytes((3 + len(v), 0x08, 0x01, 0x20)) + v
            body += ann
        if k >= 0:
            ann = count_ann.get(k)
            if ann is None:
                ann = count_ann[k] = f_bytes(_ANNOTATIONS, f_int(_DA_NAME_IID, 2) + f_int(_DA_INT, k))
            body += ann
        if i == nxt:
            body += extras[i]
            k_extra += 1
            nxt = todo[k_extra] if k_extra < len(todo) else -1
        instant = stop == start and marks[code]
        body += instant_type if instant else begin_type
        delta = start - last
        if delta < 16384:
            dv = small[delta]
        elif delta < 0x200000:
            dv = bytes((delta & 0x7F | 0x80, delta >> 7 & 0x7F | 0x80, delta >> 14))
        else:
            dv = varint(delta)
        body = (b"\x40" + dv + tail + te_tag
                + (small[len(body)] if len(body) < 16384 else varint(len(body))) + body)
        append(b"\x0a" + (small[len(body)] if len(body) < 16384 else varint(len(body))) + body)
        last = start
        if not instant:
            stack.append(stop)
        n += 1
        if len(parts) >= 4096:  # write in batches: one lane may hold a million events
            sink.write(parts)
            parts.clear()
    while stack:
        e = stack.pop()
        append(packet(b"\x40" + varint(e - last) + end_tail))
        last = e
    sink.write(parts)
    return n


def _counter(sink: _Sink, counter: Counter, seq: int, uuid: int, lo: int, hi: int) -> None:
    """A counter's samples in ``[lo, hi]`` (and the value in force at ``lo``) on its counter track."""
    ts, vs = counter.t, counter.v
    head = f_int(_SEQ_ID, seq) + f_int(_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE)
    parts = [_first_packet(seq, uuid)]
    i = max(0, bisect_left(ts, lo) - 1)
    last = 0
    while i < len(ts) and ts[i] <= hi:
        t = max(ts[i], lo)
        event = f_int(_TYPE, COUNTER) + f_int(_COUNTER_VALUE, vs[i])
        parts.append(packet(f_int(_TIMESTAMP, t - last) + head + f_bytes(_TRACK_EVENT, event)))
        last = t
        i += 1
    sink.write(parts)


def _marks(sink: _Sink, rec: Recording, seq: int, lo: int, hi: int) -> None:
    """The recording's marks as named instants on the server's process track."""
    marks = [(t, text) for t, text in rec.marks if lo <= t <= hi]
    if not marks:
        return
    parts = [packet(f_int(_SEQ_ID, seq) + f_int(_SEQ_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED)
                    + f_int(_FIRST_ON_SEQUENCE, 1))]
    for t, text in marks:
        event = f_int(_TYPE, INSTANT) + f_int(_TRACK_UUID, PROCESS_UUID["server"]) + f_str(_NAME, text)
        parts.append(packet(f_int(_TIMESTAMP, t) + f_int(_SEQ_ID, seq) + f_bytes(_TRACK_EVENT, event)))
    sink.write(parts)


def _connection_slices(rec: Recording, chosen: set[int], lo: int, hi: int) -> list[tuple[int, int, int, int]]:
    """(begin, end, connection, track) of each accepted connection's async slice, accept to close (the
    Chrome export's ``b``/``e`` pairs), clipped to ``[lo, hi]``; a connection takes the lowest-numbered
    track that is free (its last slice ended before this one begins)."""
    spans = []
    for c in rec.connections.values():
        if c.id <= 0 or c.accept_t is None or c.accept_lane not in chosen:
            continue
        begin = max(c.accepted_t if c.accepted_t is not None else c.accept_t, lo)
        end = min(c.close_t if c.close_t is not None else rec.t_max, hi)
        if end >= begin:
            spans.append((begin, end, c.id))
    spans.sort()
    free: list[int] = []  # track numbers free now
    busy: list[tuple[int, int]] = []  # (end, track) of the open slices
    out = []
    for begin, end, cid in spans:
        while busy and busy[0][0] < begin:
            heapq.heappush(free, heapq.heappop(busy)[1])
        track = heapq.heappop(free) if free else len(busy)
        heapq.heappush(busy, (end, track))
        out.append((begin, end, cid, track))
    return out


def _async(sink: _Sink, slices: list[tuple[int, int, int, int]], n_tracks: int, seq: int) -> None:
    """The connections' async slices, on their own sequence, in time order (on one track a slice
    ends before the next begins, so only a zero-length slice has its two ends at one time)."""
    ends = sorted([(b, 0, cid, track) for b, _, cid, track in slices]
                  + [(e, 1, cid, track) for _, e, cid, track in slices])
    head = f_int(_SEQ_ID, seq) + f_int(_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE)
    parts = [_first_packet(seq, None)]
    last = 0
    for t, is_end, cid, track in ends:
        event = f_int(_TRACK_UUID, _ASYNC_UUID0 + track)
        if is_end:
            event += f_int(_TYPE, SLICE_END)
        else:
            event += (f_int(_TYPE, SLICE_BEGIN) + f_str(_NAME, f"connection {cid}")
                      + f_bytes(_ANNOTATIONS, f_int(_DA_NAME_IID, 1) + f_int(_DA_INT, cid)))
        parts.append(packet(f_int(_TIMESTAMP, t - last) + head + f_bytes(_TRACK_EVENT, event)))
        last = t
    sink.write(parts)
