"""The Perfetto export read back with Perfetto's own schema (``perfetto_trace_pb2`` from the ``perfetto`` package).

tests/test_export_perfetto.py decodes the trace with a little decoder of its own; this reads it with the
message classes Perfetto generates from its protos, so a field number or wire type we got wrong fails the
parse or shows up as an unknown field.  Then it checks what trace_processor would make of it: a thread
track per lane named as the lane, a slice per span (begins = ends) and an instant per mark at the event's
time (the sequence's incremental clock summed up), the event names interned per sequence, a flow end per
flow start, and every counter sample.  It does not run trace_processor itself: its Python API downloads a
``trace_processor_shell`` binary, which this machine's network refused; without the ``perfetto`` package
(not a dependency) the test skips.
"""

from __future__ import annotations

import io
import os
import zlib
from collections import Counter as Tally
from collections import defaultdict

import pytest

from tracer import export
from tracer.export.chrome import _flows
from tracer.recording.events import BY_CODE, Look
from tracer.recording.reader import load

pb = pytest.importorskip("perfetto.protos.perfetto.trace.perfetto_trace_pb2",
                         reason="the perfetto package (Perfetto's own protos) is not installed")

HERE = os.path.dirname(__file__)
RECORDINGS = [os.path.join(HERE, "..", "recordings", name) for name in
              ("pool-saturated-queue.jsonl", "selectors-one-thread-serves-all.jsonl",
               "thread-ramp-grows-threads.jsonl")]
RECORDINGS.append(os.path.join(HERE, "data", "many_lanes.jsonl"))
DELTA_CLOCK = 64


def packets(data: bytes) -> list:  # type: ignore[type-arg]
    trace = pb.Trace.FromString(data)
    out = []
    for p in trace.packet:
        if p.HasField("compressed_packets"):
            out.extend(pb.Trace.FromString(zlib.decompress(p.compressed_packets)).packet)
        else:
            out.append(p)
    return out


@pytest.mark.parametrize("path", RECORDINGS, ids=os.path.basename)
def test_perfettos_own_schema_reads_every_track_slice_flow_and_counter(path):
    rec = load(path)
    out = io.BytesIO()
    export.write("perfetto", rec, out)
    found = packets(out.getvalue())
    for p in found:  # nothing Perfetto's schema does not know (a wrong field number would be kept as unknown)
        size = p.ByteSize()
        p.DiscardUnknownFields()
        assert p.ByteSize() == size, p
    tracks = {p.track_descriptor.uuid: p.track_descriptor for p in found if p.HasField("track_descriptor")}
    threads = {uuid: d for uuid, d in tracks.items() if d.HasField("thread")}
    assert sorted(d.name for d in threads.values()) == sorted(f"{lane.name} (lane {lane.id})"
                                                               for lane in rec.lanes.values())
    by_name = {d.name: uuid for uuid, d in threads.items()}
    # replay each sequence: its default track, its clock, its interned names
    default: dict[int, int] = {}
    clock: dict[int, int] = defaultdict(int)
    names: dict[int, dict[int, str]] = defaultdict(dict)
    begins: dict[int, list[tuple[int, str]]] = defaultdict(list)
    instants: dict[int, list[tuple[int, str]]] = defaultdict(list)
    ends: Tally[int] = Tally()
    counts: dict[int, list[tuple[int, int]]] = defaultdict(list)
    flow_out: list[int] = []
    flow_in: list[int] = []
    for p in found:
        seq = p.trusted_packet_sequence_id
        if p.HasField("trace_packet_defaults"):
            d = p.trace_packet_defaults
            assert d.timestamp_clock_id == DELTA_CLOCK
            if d.HasField("track_event_defaults"):
                default[seq] = d.track_event_defaults.track_uuid
            assert p.sequence_flags & 1  # SEQ_INCREMENTAL_STATE_CLEARED
        for name in p.interned_data.event_names:
            names[seq][name.iid] = name.name
        if not p.HasField("track_event"):
            continue
        e = p.track_event
        if seq in default:  # sequences with defaults use the incremental clock
            assert p.sequence_flags & 2  # SEQ_NEEDS_INCREMENTAL_STATE
            clock[seq] += p.timestamp
            t = clock[seq]
        else:
            t = p.timestamp
        track = e.track_uuid if e.HasField("track_uuid") else default[seq]
        name = names[seq][e.name_iid] if e.name_iid else e.name
        if e.type == pb.TrackEvent.TYPE_SLICE_BEGIN:
            begins[track].append((t, name))
        elif e.type == pb.TrackEvent.TYPE_SLICE_END:
            ends[track] += 1
        elif e.type == pb.TrackEvent.TYPE_INSTANT:
            instants[track].append((t, name))
        elif e.type == pb.TrackEvent.TYPE_COUNTER:
            counts[track].append((t, e.counter_value))
        flow_out.extend(e.flow_ids)
        flow_in.extend(e.terminating_flow_ids)
    mark = [k.look is Look.MARK for k in BY_CODE]
    for lane in rec.lanes.values():
        uuid = by_name[f"{lane.name} (lane {lane.id})"]
        events = [(lane.t[i], BY_CODE[lane.kind[i]].name, lane.dur[i] == 0 and mark[lane.kind[i]])
                  for i in range(len(lane))]
        assert begins[uuid] == [(t, name) for t, name, instant in events if not instant], lane
        assert instants[uuid] == [(t, name) for t, name, instant in events if instant], lane
        assert ends[uuid] == len(begins[uuid])
    assert sorted(flow_out) == sorted(flow_in)
    assert len(flow_out) == len(_flows(rec, list(rec.lanes.values()), 0, rec.t_max)[0])
    counter_tracks = {d.name: uuid for uuid, d in tracks.items() if d.HasField("counter")}
    assert set(counter_tracks) == set(rec.counters)
    for name, counter in rec.counters.items():
        assert counts[counter_tracks[name]] == list(zip(counter.t, counter.v, strict=True))
    if "pool" in os.path.basename(path):
        assert flow_out and rec.counters  # the checks above had something to check
