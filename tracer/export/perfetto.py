"""Perfetto's native trace format (protobuf ``TrackEvent``), for recordings too big for JSON.

Why this format, and why a hand-written encoder
-----------------------------------------------
Perfetto's JSON importer is "legacy, best-effort": chrome://tracing stops at
256 MB and the Perfetto UI runs out of memory near 1-2 GB of JSON, while its
own protobuf trace opens in ui.perfetto.dev and in ``trace_processor`` (SQL
over billions of events).  Measured on ``bench/bench_export.py``'s
million-event recording the protobuf is 3.3x smaller than our Chrome JSON
(45 against 146 bytes an event, with ``conn``, ``count`` and ``detail`` on
every event: 4x would mean dropping some of them) and writes in about 2.5 s.
The ``perfetto`` package's trace builder would pull in ``protobuf`` and build
a message object per event (slower than the JSON we already write); the wire
format needs only varints and length prefixes, so the encoder below writes
the bytes directly, and ``tests/test_export_perfetto.py`` decodes
them back with an independent little decoder.

What is written (field numbers from Perfetto's ``protos/perfetto/trace``:
``trace_packet.proto``, ``track_event/track_event.proto``,
``track_event/track_descriptor.proto``, ``track_event/counter_descriptor.proto``,
``interned_data/interned_data.proto``)
-----------------------------------------------------------------------------
- a process track for the server and one for the clients, and a thread track
  per lane named ``NAME (lane N)`` (the Chrome export's names);
- one packet *sequence* per lane: its first packet clears the incremental
  state, interns the event names (the kinds) and argument names, sets the
  lane's track as the default and times the sequence with an incremental
  clock (``ClockSnapshot`` clock 64, ``is_incremental``: each timestamp is the
  ns since the sequence's previous packet), so an event packet carries only
  a small delta, its type and a few small varints;
- spans as ``TYPE_SLICE_BEGIN``/``TYPE_SLICE_END`` pairs, clipped to nest as in
  the Chrome export (TrackEvent slices on one track must nest); instants as
  ``TYPE_INSTANT``; ``conn``, ``count`` and ``detail`` as debug annotations;
- a flow from each ``accept`` to the connection's first event on the thread
  that serves it (``flow_ids`` / ``terminating_flow_ids``, id = connection);
- each counter (pool queue, backlog, threads) as a counter track of the
  server process; marks as instants on the server's process track.
Timestamps are ns since the recording's start.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import BinaryIO

from tracer.export import Progress, Selection, in_range
from tracer.export.chrome import _flows, pids, tids
from tracer.recording.events import BY_CODE, Look
from tracer.recording.model import Counter, Lane, Recording

BINARY = True  # the export command opens the output in binary mode

# TracePacket
_TIMESTAMP, _SEQ_ID, _TRACK_EVENT, _INTERNED, _SEQ_FLAGS = 8, 10, 11, 12, 13
_CLOCK_SNAPSHOT, _DEFAULTS, _TRACK_DESCRIPTOR, _FIRST_ON_SEQUENCE = 6, 59, 60, 87
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
# InternedData (event_names, debug_annotation_names: each {iid = 1, name = 2})
_I_NAMES, _I_ANNOTATION_NAMES = 2, 3
# DebugAnnotation, TracePacketDefaults / TrackEventDefaults
_DA_NAME_IID, _DA_INT, _DA_STRING = 1, 4, 6
_D_TRACK_EVENT = 11

ANNOTATIONS = ("conn", "count", "detail")  # iids 1, 2, 3
_MARK = [k.look is Look.MARK for k in BY_CODE]
PROCESS_UUID = {"server": 1, "client": 2}
_COUNTER_UUID0 = 1 << 40  # counter tracks after every lane's (lane uuids are 1000 + position)


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


def tag(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def f_int(field: int, n: int) -> bytes:
    """A varint field (uint64, int64, int32, enum, bool)."""
    return tag(field, 0) + varint(n)


def f_bytes(field: int, data: bytes) -> bytes:
    """A length-delimited field (string, bytes, message)."""
    return tag(field, 2) + varint(len(data)) + data


def f_str(field: int, text: str) -> bytes:
    return f_bytes(field, text.encode("utf-8"))


def f_fixed64(field: int, n: int) -> bytes:
    return tag(field, 1) + (n % (1 << 64)).to_bytes(8, "little")


def packet(body: bytes) -> bytes:
    """One ``Trace.packet`` (field 1): a trace file is these, concatenated."""
    return f_bytes(1, body)


# ---------------------------------------------------------------- the trace
def write(rec: Recording, out: BinaryIO, sel: Selection, progress: Progress | None = None) -> int:
    """Write ``rec`` as a Perfetto protobuf trace; return the number of events exported."""
    lo, hi = sel.bounds(rec)
    lanes = sel.lane_list(rec)
    tid = tids(rec)
    pid = pids(rec, tid)
    flows_out: dict[int, dict[int, int]] = {}  # lane id -> {event index: flow id}
    flows_in: dict[int, dict[int, int]] = {}
    for ends, by_lane in zip(_flows(rec, lanes, lo, hi), (flows_out, flows_in), strict=True):
        for (lane_id, i), flow in ends.items():
            by_lane.setdefault(lane_id, {})[i] = flow
    _tracks(out, rec, lanes, tid, pid)
    total = sum(len(lane) for lane in lanes) or 1
    done = n = 0
    for seq, lane in enumerate(lanes, 1):
        n += _lane(out, lane, seq, 1000 + seq, lo, hi, flows_out, flows_in)
        done += len(lane)
        if progress is not None:
            progress(done, total)
    seq = len(lanes) + 1
    if sel.t_to is None:  # counters and marks may come after the last event ends: keep them all
        hi = 1 << 62
    for k, counter in enumerate(rec.counters.values()):
        _counter(out, counter, seq + k, _COUNTER_UUID0 + k, lo, hi)
    _marks(out, rec, seq + len(rec.counters), lo, hi)
    return n


def _tracks(out: BinaryIO, rec: Recording, lanes: list[Lane], tid: dict[int, int], pid: dict[str, int]) -> None:
    """Descriptors: a process per side, a thread per lane, a counter track per counter."""
    sides = [side for side in ("server", "client") if any(lane.side == side for lane in lanes)
             or (side == "server" and (rec.counters or rec.marks))]  # counters and marks are the server's
    for side in sides:
        name = f"server: {rec.model}" if side == "server" else "clients"
        proc = f_int(_PID, pid.get(side, len(tid) + 1)) + f_str(_PROCESS_NAME, name)
        out.write(packet(f_bytes(_TRACK_DESCRIPTOR, f_int(_UUID, PROCESS_UUID[side]) + f_str(_TD_NAME, name)
                                 + f_bytes(_PROCESS, proc))))
    for seq, lane in enumerate(lanes, 1):
        label = f"{lane.name} (lane {lane.id})"
        thread = f_int(_PID, pid[lane.side]) + f_int(_TID, tid[lane.id]) + f_str(_THREAD_NAME, label)
        body = (f_int(_UUID, 1000 + seq) + f_int(_PARENT_UUID, PROCESS_UUID[lane.side]) + f_str(_TD_NAME, label)
                + f_bytes(_THREAD, thread))
        out.write(packet(f_bytes(_TRACK_DESCRIPTOR, body)))
    for k, name in enumerate(rec.counters):
        body = (f_int(_UUID, _COUNTER_UUID0 + k) + f_int(_PARENT_UUID, PROCESS_UUID["server"]) + f_str(_TD_NAME, name)
                + f_bytes(_COUNTER, b""))
        out.write(packet(f_bytes(_TRACK_DESCRIPTOR, body)))


def _first_packet(seq: int, track_uuid: int | None) -> bytes:
    """A sequence's first packet: clear the incremental state, intern the names, default to its track,
    and time its packets with an incremental clock (each timestamp the ns since the sequence's previous
    packet: 2-3 bytes instead of 5-6)."""
    interned = b"".join(f_bytes(_I_NAMES, f_int(1, k.code + 1) + f_str(2, k.name)) for k in BY_CODE)
    interned += b"".join(f_bytes(_I_ANNOTATION_NAMES, f_int(1, i) + f_str(2, a)) for i, a in enumerate(ANNOTATIONS, 1))
    defaults = f_int(_D_CLOCK, DELTA_CLOCK)
    if track_uuid is not None:
        defaults += f_bytes(_D_TRACK_EVENT, f_int(_TRACK_UUID, track_uuid))
    clocks = (f_bytes(_CLOCKS, f_int(_CLOCK_ID, DELTA_CLOCK) + f_int(_CLOCK_TS, 0) + f_int(_CLOCK_INCREMENTAL, 1))
              + f_bytes(_CLOCKS, f_int(_CLOCK_ID, BOOTTIME) + f_int(_CLOCK_TS, 0)))
    return packet(f_int(_SEQ_ID, seq) + f_int(_SEQ_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED) + f_int(_FIRST_ON_SEQUENCE, 1)
                  + f_bytes(_CLOCK_SNAPSHOT, clocks) + f_bytes(_INTERNED, interned) + f_bytes(_DEFAULTS, defaults))


_SMALL: list[bytes] = []  # varint(n) for n < 2**14, built on first use: most deltas, ids and counts


def _small() -> list[bytes]:
    if not _SMALL:
        _SMALL.extend(varint(n) for n in range(1 << 14))
    return _SMALL


def _lane(out: BinaryIO, lane: Lane, seq: int, uuid: int, lo: int, hi: int,
          flows_out: dict[int, dict[int, int]], flows_in: dict[int, dict[int, int]]) -> int:
    """One lane's events as slices and instants on its own sequence; return how many.

    The hot loop of this export (a million events in ~1 s): every constant part of a packet is made
    once, varints come from a table, and repeated annotations (a connection's id, a count, a
    close reason) are encoded once per lane.
    """
    out.write(_first_packet(seq, uuid))
    small = _small()
    # every event packet: the sequence, and "uses the sequence's interned names and default track"
    tail = f_int(_SEQ_ID, seq) + f_int(_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE)
    end_event = tail + f_bytes(_TRACK_EVENT, f_int(_TYPE, SLICE_END))
    ts_tag, te_tag, pk_tag = tag(_TIMESTAMP, 0), tag(_TRACK_EVENT, 2), tag(1, 2)
    names = [f_int(_NAME_IID, k.code + 1) for k in BY_CODE]
    begin_type, instant_type = f_int(_TYPE, SLICE_BEGIN), f_int(_TYPE, INSTANT)
    t_, dur_, kind_, conn_, count_, details = lane.t, lane.dur, lane.kind, lane.conn, lane.count, lane.details
    outs, ins = flows_out.get(lane.id, {}), flows_in.get(lane.id, {})
    conn_ann: dict[int, bytes] = {}
    count_ann: dict[int, bytes] = {}
    detail_ann: dict[str | int, bytes] = {}
    parts: list[bytes] = []
    append = parts.append
    stack: list[int] = []  # ends of the open slices, innermost last
    n = 0
    last = 0  # the previous packet's time: timestamps are deltas (never negative: packets go in time order)
    for i in in_range(lane, lo, hi):
        t, end = t_[i], t_[i] + dur_[i]
        start, stop = (t if t > lo else lo), (end if end < hi else hi)
        while stack and stack[-1] <= start:
            e = stack.pop()
            d = e - last
            body = ts_tag + (small[d] if d < 16384 else varint(d)) + end_event
            append(pk_tag + small[len(body)] + body)
            last = e
        if stack and stop > stack[-1]:
            stop = stack[-1]  # clipped to nest in the open slice
        code = kind_[i]
        body = names[code]
        c = conn_[i]
        if c:
            a = conn_ann.get(c)
            if a is None:
                a = conn_ann[c] = f_bytes(_ANNOTATIONS, f_int(_DA_NAME_IID, 1) + f_int(_DA_INT, c))
            body += a
        k = count_[i]
        if k >= 0:
            a = count_ann.get(k)
            if a is None:
                a = count_ann[k] = f_bytes(_ANNOTATIONS, f_int(_DA_NAME_IID, 2) + f_int(_DA_INT, k))
            body += a
        if details:
            detail = details.get(i)
            if detail is not None:
                a = detail_ann.get(detail)
                if a is None:
                    value = f_int(_DA_INT, detail) if isinstance(detail, int) else f_str(_DA_STRING, detail)
                    a = detail_ann[detail] = f_bytes(_ANNOTATIONS, f_int(_DA_NAME_IID, 3) + value)
                body += a
        if i in outs:
            body += f_fixed64(_FLOW_IDS, outs[i])
        elif i in ins:
            body += f_fixed64(_TERMINATING_FLOW_IDS, ins[i])
        instant = stop == start and _MARK[code]
        body += instant_type if instant else begin_type
        d = start - last
        body = ts_tag + (small[d] if d < 16384 else varint(d)) + tail + te_tag + small[len(body)] + body
        append(pk_tag + (small[len(body)] if len(body) < 16384 else varint(len(body))) + body)
        last = start
        if not instant:
            stack.append(stop)
        n += 1
        if len(parts) >= 20_000:  # write in batches: one lane may hold a million events
            out.write(b"".join(parts))
            parts.clear()
    while stack:
        e = stack.pop()
        body = ts_tag + varint(e - last) + end_event
        append(pk_tag + varint(len(body)) + body)
        last = e
    out.write(b"".join(parts))
    return n


def _counter(out: BinaryIO, counter: Counter, seq: int, uuid: int, lo: int, hi: int) -> None:
    """A counter's samples in ``[lo, hi]`` (and the value in force at ``lo``) on its counter track."""
    ts, vs = counter.t, counter.v
    out.write(_first_packet(seq, uuid))
    head = f_int(_SEQ_ID, seq) + f_int(_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE)
    parts = []
    i = max(0, bisect_left(ts, lo) - 1)
    last = 0
    while i < len(ts) and ts[i] <= hi:
        t = max(ts[i], lo)
        event = f_int(_TYPE, COUNTER) + f_int(_COUNTER_VALUE, vs[i])
        parts.append(packet(f_int(_TIMESTAMP, t - last) + head + f_bytes(_TRACK_EVENT, event)))
        last = t
        i += 1
    out.write(b"".join(parts))


def _marks(out: BinaryIO, rec: Recording, seq: int, lo: int, hi: int) -> None:
    """The recording's marks as named instants on the server's process track."""
    marks = [(t, text) for t, text in rec.marks if lo <= t <= hi]
    if not marks:
        return
    out.write(packet(f_int(_SEQ_ID, seq) + f_int(_SEQ_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED)
                     + f_int(_FIRST_ON_SEQUENCE, 1)))
    for t, text in marks:
        event = f_int(_TYPE, INSTANT) + f_int(_TRACK_UUID, PROCESS_UUID["server"]) + f_str(_NAME, text)
        out.write(packet(f_int(_TIMESTAMP, t) + f_int(_SEQ_ID, seq) + f_bytes(_TRACK_EVENT, event)))
