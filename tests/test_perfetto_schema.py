"""The Perfetto export parsed with Perfetto's own schema (the ``perfetto`` package's ``perfetto_trace_pb2``).

tests/test_export_perfetto.py decodes the trace with a wire reader written here and field numbers read off
Perfetto's protos: a wrong number would be wrong in the encoder and that reader alike.  Here Google's
generated classes parse it (trace_processor, which would be the real check, downloads its binary at first
use: this machine has no network for it).  Nothing the schema does not know may be left over, and what it
parses agrees with the wire reader's count of tracks, slices, instants, counters and flows.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from typing import Any

import pytest

from tests.test_export_perfetto import SHIPPED, decode, perfetto
from tracer.recording.reader import load

schema = pytest.importorskip("perfetto.protos.perfetto.trace.perfetto_trace_pb2",
                             reason="the perfetto package (the test extra) is not installed")
unknown_fields = pytest.importorskip("google.protobuf.unknown_fields", reason="protobuf too old for UnknownFieldSet")

HERE = os.path.dirname(__file__)
SLICE_BEGIN, SLICE_END, INSTANT, COUNTER = 1, 2, 3, 4  # TrackEvent.Type


def parsed(data: bytes) -> list[Any]:
    """The trace's packets as Perfetto's TracePacket messages, compressed_packets inflated in place."""
    out = []
    for packet in schema.Trace.FromString(data).packet:
        if packet.HasField("compressed_packets"):
            out.extend(schema.Trace.FromString(zlib.decompress(packet.compressed_packets)).packet)
        else:
            out.append(packet)
    return out


def leftovers(message: Any, path: str = "") -> list[str]:
    """Where the schema found fields it does not know (an encoder's wrong number or wire type lands there)."""
    found = [path or "TracePacket"] if len(unknown_fields.UnknownFieldSet(message)) else []
    for fd, value in message.ListFields():
        if fd.type == fd.TYPE_MESSAGE:
            for item in (value if fd.is_repeated else [value]):
                found += leftovers(item, f"{path}.{fd.name}")
    return found


@pytest.mark.parametrize("path", SHIPPED + [os.path.join(HERE, "data", "pool.jsonl")], ids=os.path.basename)
def test_perfettos_own_schema_reads_every_field_and_agrees_with_the_wire_reader(path):
    rec = load(path)
    data = perfetto(rec)
    packets = parsed(data)
    assert [where for p in packets for where in leftovers(p)] == []
    wire = decode(data)

    threads = {p.track_descriptor.uuid: p.track_descriptor.thread.thread_name for p in packets
               if p.HasField("track_descriptor") and p.track_descriptor.HasField("thread")}
    assert sorted(threads.values()) == sorted(f"{lane.name} (lane {lane.id})" for lane in rec.lanes.values())
    assert threads == {uuid: name for uuid, (name, _, _) in wire.threads.items()}
    counters = {p.track_descriptor.uuid: p.track_descriptor.name for p in packets
                if p.HasField("track_descriptor") and p.track_descriptor.HasField("counter")}
    assert sorted(counters.values()) == sorted(rec.counters) and counters == wire.counters

    events = [p for p in packets if p.HasField("track_event")]
    kinds = Counter(p.track_event.type for p in events)
    assert kinds[SLICE_BEGIN] == kinds[SLICE_END] == sum(len(v) for v in wire.slices.values())
    assert kinds[INSTANT] == sum(len(v) for v in wire.instants.values())
    assert kinds[COUNTER] == sum(len(v) for v in wire.counter_values.values())
    assert all(p.HasField("timestamp") for p in events)
    flows_out = {f for p in events for f in p.track_event.flow_ids}
    flows_in = {f for p in events for f in p.track_event.terminating_flow_ids}
    assert flows_out == set(wire.flow_out) == flows_in == set(wire.flow_in)

    names: dict[int, set[int]] = {}  # per sequence: the event name iids interned so far
    for p in packets:
        seq = p.trusted_packet_sequence_id
        if p.sequence_flags & 1:  # SEQ_INCREMENTAL_STATE_CLEARED
            names[seq] = set()
        names.setdefault(seq, set()).update(e.iid for e in p.interned_data.event_names)
        if p.HasField("track_event") and p.track_event.HasField("name_iid"):
            assert p.track_event.name_iid in names[seq], "a name used before it is interned"


def test_a_field_the_schema_does_not_know_is_found():
    # field 999 (varint 1) after a timestamp: what a wrong field number in the encoder would leave
    body = schema.TracePacket(timestamp=1).SerializeToString() + bytes([0xB8, 0x3E, 0x01])
    trace = bytes([0x0A, len(body)]) + body  # Trace.packet = 1, length-delimited
    assert [where for p in parsed(trace) for where in leftovers(p)] == ["TracePacket"]
