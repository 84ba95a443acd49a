"""Perfetto's protobuf trace, decoded back by a wire-format reader written here (not the encoder's code).

Field numbers are Perfetto's (protos/perfetto/trace/trace_packet.proto, track_event/*.proto,
interned_data/interned_data.proto); the decoder below knows only the wire format and those numbers.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zlib
from collections import defaultdict
from dataclasses import dataclass, field

import pytest

from tests.perfetto_rules import ns
from tracer import export
from tracer.export.chrome import _flows, tids
from tracer.recording.events import BY_CODE, Look
from tracer.recording.reader import load
from tracer.run import shipped

HERE = os.path.dirname(__file__)
MARKS = {k.name for k in BY_CODE if k.look is Look.MARK}
SHIPPED = sorted(os.path.join(HERE, "..", "recordings", item.file) for item in shipped.SHIPPED)


# ---------------------------------------------------------------- a tiny protobuf wire decoder
def fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of every field of one message."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i:i + size], i + size
            assert len(value) == size, "a length runs past the end of its message"
        elif wire == 5:
            value, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise AssertionError(f"wire type {wire} (groups are not written by anyone)")
        out.append((num, wire, value))
    assert i == len(buf)
    return out


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def one(msg: bytes, num: int, default=None):  # type: ignore[no-untyped-def]
    got = [v for n, _, v in fields(msg) if n == num]
    return got[-1] if got else default


def many(msg: bytes, num: int) -> list:  # type: ignore[type-arg]
    return [v for n, _, v in fields(msg) if n == num]


def signed(n: int) -> int:
    return n - (1 << 64) if n >= 1 << 63 else n


@dataclass
class Decoded:
    threads: dict[int, tuple[str, int, int]] = field(default_factory=dict)  # uuid -> (name, pid, tid)
    processes: dict[int, str] = field(default_factory=dict)
    counters: dict[int, str] = field(default_factory=dict)
    tracks: dict[int, tuple[str, int]] = field(default_factory=dict)  # other tracks: uuid -> (name, parent)
    slices: dict[int, list[tuple[int, int, str, dict]]] = field(default_factory=lambda: defaultdict(list))  # type: ignore[type-arg]
    instants: dict[int, list[tuple[int, str, dict]]] = field(default_factory=lambda: defaultdict(list))  # type: ignore[type-arg]
    counter_values: dict[int, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    flow_out: dict[int, tuple[int, int]] = field(default_factory=dict)  # flow id -> (track, ts)
    flow_in: dict[int, tuple[int, int]] = field(default_factory=dict)


def packets(data: bytes) -> list[bytes]:
    """The trace's packets, those in ``compressed_packets`` (field 50: a deflated stream of packets, each
    under 512 KB, as trace_processor's tokenizer wants) inflated in place."""
    out = []
    for num, wire, pkt in fields(data):
        assert num == 1 and wire == 2, "a trace is repeated TracePacket packet = 1"
        assert isinstance(pkt, bytes)
        inner = one(pkt, 50)
        if inner is None:
            out.append(pkt)
            continue
        assert len(pkt) < 512 * 1024, "a compressed_packets packet over 512 KB"
        assert len(fields(pkt)) == 1, "a compressed_packets packet holds nothing else"
        for n, w, p in fields(zlib.decompress(inner)):
            assert n == 1 and w == 2 and one(p, 50) is None, "compressed packets hold plain packets"
            out.append(p)
    return out


def decode(data: bytes) -> Decoded:
    """Replay the trace as trace_processor would: sequences, interning, defaults, slice stacks."""
    d = Decoded()
    names: dict[int, dict[int, str]] = {}  # per sequence: name iid -> name
    ann: dict[int, dict[int, str]] = {}
    default_track: dict[int, int] = {}
    delta: dict[int, int] = {}  # sequences timed by an incremental clock: the last timestamp
    open_: dict[int, list[tuple[int, str, dict]]] = defaultdict(list)  # type: ignore[type-arg]
    strings: dict[int, dict[int, str]] = {}
    for pkt in packets(data):
        seq = one(pkt, 10, 0)
        flags = one(pkt, 13, 0)
        if flags & 1:  # SEQ_INCREMENTAL_STATE_CLEARED
            names[seq], ann[seq], strings[seq] = {}, {}, {}
            default_track.pop(seq, None)
            delta.pop(seq, None)
        snapshot = one(pkt, 6)
        if snapshot is not None:
            clocks = {one(c, 1): (one(c, 2, 0), one(c, 3, 0)) for c in many(snapshot, 1)}
            assert 6 in clocks, "the sequence's clock is tied to BOOTTIME, the trace's clock"
            incremental = [cid for cid, (_, inc) in clocks.items() if inc]
            assert all(64 <= cid < 128 for cid in incremental), "incremental clocks are sequence-scoped ids"
            base = {cid: ts - clocks[6][0] for cid, (ts, _) in clocks.items()}
        interned = one(pkt, 12)
        if interned is not None:
            for e in many(interned, 2):
                names[seq][one(e, 1)] = one(e, 2).decode()
            for e in many(interned, 3):
                ann[seq][one(e, 1)] = one(e, 2).decode()
            for e in many(interned, 29):
                strings[seq][one(e, 1)] = one(e, 2).decode()
        defaults = one(pkt, 59)
        if defaults is not None:
            if one(defaults, 11) is not None:
                default_track[seq] = one(one(defaults, 11), 11)
            clock = one(defaults, 58)
            if clock is not None:
                assert clock in base, "a packet's default clock is defined by a snapshot on its sequence"
                delta[seq] = base[clock]
        desc = one(pkt, 60)
        if desc is not None:
            uuid, name = one(desc, 1), one(desc, 2, b"").decode()
            if one(desc, 4) is not None:
                th = one(desc, 4)
                d.threads[uuid] = (one(th, 5).decode(), one(th, 1), one(th, 2))
            elif one(desc, 3) is not None:
                d.processes[uuid] = one(one(desc, 3), 6).decode()
            elif one(desc, 8) is not None:
                d.counters[uuid] = name
            else:
                d.tracks[uuid] = (name, one(desc, 5, 0))
        ev = one(pkt, 11)
        if ev is None:
            continue
        ts = one(pkt, 8)
        assert ts is not None, "every event has a timestamp"
        if seq in delta:
            ts = delta[seq] = delta[seq] + ts
        track = one(ev, 11, default_track.get(seq))
        kind = one(ev, 9)
        if one(ev, 10) is not None or one(ev, 11) is None:  # an interned name, or the sequence's default track
            assert flags & 2, "an event that uses interned names says it needs the incremental state"
        name = names[seq][one(ev, 10)] if one(ev, 10) is not None else (one(ev, 23) or b"").decode()
        args = {}
        for a in many(ev, 4):
            if one(a, 4) is not None:
                value = signed(one(a, 4))
            elif one(a, 17) is not None:
                assert flags & 2, "an interned string value needs the incremental state"
                value = strings[seq][one(a, 17)]
            else:
                value = one(a, 6).decode()
            args[ann[seq][one(a, 1)]] = value
        for f in many(ev, 47):
            d.flow_out[f] = (track, ts)
        for f in many(ev, 48):
            d.flow_in[f] = (track, ts)
        if kind == 1:
            open_[track].append((ts, name, args))
        elif kind == 2:
            begin, bname, bargs = open_[track].pop()
            assert ts >= begin
            d.slices[track].append((begin, ts - begin, bname, bargs))
        elif kind == 3:
            d.instants[track].append((ts, name, args))
        elif kind == 4:
            d.counter_values[track].append((ts, signed(one(ev, 30))))
    assert not any(open_.values()), "every slice that begins ends"
    return d


def _dur(e: dict) -> int:  # type: ignore[type-arg]
    """A Chrome X slice's duration in ns (written as µs with the ns and half a ns more)."""
    return round(float(e["dur"]) * 1000 - 0.5)


def perfetto(rec, **sel) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    export.write("perfetto", rec, buf, export.select(rec, **sel) if sel else None)
    return buf.getvalue()


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize("path", SHIPPED + [os.path.join(HERE, "data", "pool.jsonl")], ids=os.path.basename)
def test_every_lane_a_named_track_every_span_a_slice_flows_and_counters(path):
    rec = load(path)
    d = decode(perfetto(rec))
    buf = io.StringIO()
    export.write("chrome", rec, buf)
    doc = json.loads(buf.getvalue())
    by_name = {name: uuid for uuid, (name, _, _) in d.threads.items()}
    assert len(d.threads) == len(rec.lanes)
    for lane in rec.lanes.values():
        uuid = by_name[f"{lane.name} (lane {lane.id})"]
        spans = [(lane.t[i], lane.dur[i], BY_CODE[lane.kind[i]].name) for i in range(len(lane))
                 if lane.dur[i] or BY_CODE[lane.kind[i]].look is not Look.MARK]
        instants = [(lane.t[i], BY_CODE[lane.kind[i]].name) for i in range(len(lane))
                    if not lane.dur[i] and BY_CODE[lane.kind[i]].look is Look.MARK]
        got = sorted((t, dur, name) for t, dur, name, _ in d.slices[uuid])
        # slices nest: one that would outlive its parent is clipped, so compare starts and names, and
        # every unclipped span exactly
        assert sorted((t, name) for t, _, name in got) == sorted((t, name) for t, _, name in spans)
        assert all(dur <= d0 for (_, dur, _), (_, d0, _) in zip(got, sorted(spans), strict=True))
        # clipped exactly as the Chrome export clips them (a slice must nest in the one still open)
        tid = tids(rec)[lane.id]
        assert got == sorted((ns(e["ts"]), _dur(e), e["name"])
                             for e in doc["traceEvents"] if e.get("ph") == "X" and e.get("tid") == tid
                             and not (_dur(e) == 0 and e["name"] in MARKS))  # (Chrome binds flows to slices)
        assert sorted((t, name) for t, name, _ in d.instants[uuid]) == sorted(instants)
    outs, ins = _flows(rec, list(rec.lanes.values()), 0, rec.t_max)
    assert set(d.flow_out) == set(outs.values()) == set(d.flow_in) == set(ins.values())
    for conn, (track, ts) in d.flow_out.items():
        assert d.threads[track][0].startswith(rec.lanes[rec.connections[conn].accept_lane].name)
        assert d.flow_in[conn][1] >= ts
    assert sorted(d.counters.values()) == sorted(rec.counters)
    for uuid, name in d.counters.items():
        c = rec.counters[name]
        assert d.counter_values[uuid] == list(zip(c.t, c.v, strict=True))


def test_arguments_carry_connection_count_and_detail():
    rec = load(os.path.join(HERE, "data", "pool.jsonl"))
    d = decode(perfetto(rec))
    lane = next(lane for lane in rec.lanes.values() if any(lane.details.values()))
    uuid = next(u for u, (name, _, _) in d.threads.items() if name == f"{lane.name} (lane {lane.id})")
    events = sorted([(t, args) for t, _, _, args in d.slices[uuid]] + [(t, a) for t, _, a in d.instants[uuid]],
                    key=lambda x: x[0])
    want = [(lane.t[i], {k: v for k, v in (("conn", lane.conn[i] or None), ("count", lane.count[i]
             if lane.count[i] >= 0 else None), ("detail", lane.details.get(i))) if v is not None})
            for i in range(len(lane))]
    assert sorted(events, key=lambda x: (x[0], sorted(x[1].items()))) == \
        sorted(want, key=lambda x: (x[0], sorted(x[1].items())))


def test_a_time_range_and_lane_choice_export_only_those():
    rec = load(os.path.join(HERE, "data", "pool.jsonl"))
    lane = next(iter(rec.lanes.values()))
    mid = rec.t_max // 2
    d = decode(perfetto(rec, t_from=mid, lane_specs=[str(lane.id)]))
    assert [name for name, _, _ in d.threads.values()] == [f"{lane.name} (lane {lane.id})"]
    for track in d.slices.values():
        assert all(t >= mid for t, _, _, _ in track)


def test_every_event_survives_the_deflated_pieces(tmp_path, monkeypatch):
    """Packets are deflated in pieces of at most CHUNK raw bytes, cut between packets (a piece over 512 KB
    would be refused by trace_processor); sizes are compared in bench/bench_export.py, not here."""
    from tracer.export import perfetto as module

    sys.path.insert(0, os.path.join(HERE, "..", "bench"))
    from bench_export import synthesize

    path = str(tmp_path / "big.jsonl")
    synthesize(path, 20_000)
    rec = load(path)
    whole = perfetto(rec)
    monkeypatch.setattr(module, "CHUNK", 3000)  # many pieces, most cut inside a lane's batch
    cut = perfetto(rec)
    pieces = [pkt for _, _, pkt in fields(cut)]
    assert len(pieces) > 100 and all(one(p, 50) is not None for p in pieces)
    assert packets(cut) == packets(whole)
    d = decode(cut)
    assert sum(map(len, d.slices.values())) + sum(map(len, d.instants.values())) == rec.n_events


def test_a_packet_too_big_to_deflate_alone_is_written_as_it_is(monkeypatch):
    from tracer.export import perfetto as module

    rec = load(os.path.join(HERE, "data", "pool.jsonl"))
    lane = next(lane for lane in rec.lanes.values() if lane.details)
    i = next(iter(lane.details))
    lane.details[i] = "x" * 5000  # e.g. a long error message
    monkeypatch.setattr(module, "CHUNK", 4000)
    data = perfetto(rec)
    raw = [pkt for _, _, pkt in fields(data) if one(pkt, 50) is None and one(pkt, 11) is not None]
    assert len(raw) == 1 and b"x" * 5000 in raw[0]
    uuid = next(u for u, (name, _, _) in decode(data).threads.items() if name == f"{lane.name} (lane {lane.id})")
    events = decode(data).slices[uuid] + [(t, 0, n, a) for t, n, a in decode(data).instants[uuid]]
    assert any(args.get("detail") == "x" * 5000 for _, _, _, args in events)


def _model(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return str(json.loads(f.readline())["model"])


EVENT_LOOP = [p for p in SHIPPED if _model(p) in ("selectors", "asyncio")]


@pytest.mark.parametrize("path", EVENT_LOOP, ids=os.path.basename)
def test_event_loop_connections_are_async_slices_as_in_the_chrome_export(path):
    rec = load(path)
    d = decode(perfetto(rec))
    buf = io.StringIO()
    export.write("chrome", rec, buf)
    ends = defaultdict(dict)
    for e in json.loads(buf.getvalue())["traceEvents"]:
        if e.get("ph") in ("b", "e"):
            ends[e["id"]][e["ph"]] = ns(e["ts"])
    assert ends, "the Chrome export has connection slices to compare with"
    tracks = {uuid for uuid, (name, parent) in d.tracks.items() if name == "connections"}
    assert tracks and all(d.tracks[u][1] in d.processes for u in tracks)  # the server process's tracks
    got = {args["conn"]: (t, dur, name) for u in tracks for t, dur, name, args in d.slices[u]}
    assert got == {cid: (e["b"], e["e"] - e["b"], f"connection {cid}") for cid, e in ends.items()}
    # as many tracks as connections open at once (one that ends as another begins counts as open)
    open_ = most = 0
    for _, step in sorted([(e["b"], 0) for e in ends.values()] + [(e["e"], 1) for e in ends.values()]):
        open_ += 1 if step == 0 else -1
        most = max(most, open_)
    assert len(tracks) == most


def test_only_event_loop_models_get_connection_slices():
    rec = load(os.path.join(HERE, "data", "pool.jsonl"))
    assert rec.model not in ("selectors", "asyncio") and rec.connections
    assert not decode(perfetto(rec)).tracks


def test_connection_tracks_never_overlap_and_reuse_the_first_free_one():
    from tracer.export.perfetto import _connection_slices
    from tracer.recording.model import Connection, Recording

    rec = Recording("x")
    rec.t_max = 100
    for cid, (a, b) in enumerate([(0, 10), (5, 20), (10, 15), (11, 12), (30, 30), (30, 40)], 1):
        rec.connections[cid] = Connection(cid, accept_t=a, accepted_t=a, accept_lane=0, close_t=b)
    got = {cid: track for _, _, cid, track in _connection_slices(rec, {0}, 0, 100)}
    # 3 begins at 10 as 1 ends there: a slice must end before the next on its track begins
    assert got == {1: 0, 2: 1, 3: 2, 4: 0, 5: 0, 6: 1}


def test_the_command_writes_a_binary_file_and_to_stdout(tmp_path):
    src = os.path.join(HERE, "data", "pool.jsonl")
    out = tmp_path / "pool.perfetto-trace"
    run = subprocess.run([sys.executable, "-m", "tracer", "export", src, "--format", "perfetto", "-o", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    data = out.read_bytes()
    assert decode(data).threads
    piped = subprocess.run([sys.executable, "-m", "tracer", "export", src, "-f", "perfetto", "-o", "-"],
                           capture_output=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout == data


def test_a_chrome_export_over_the_limit_warns_and_points_to_perfetto(tmp_path, monkeypatch, capsys):
    from tracer.cli import main
    from tracer.commands import export as command

    src = os.path.join(HERE, "data", "pool.jsonl")
    assert main(["export", src, "-f", "chrome", "-o", str(tmp_path / "a.json")]) == 0
    assert "warning" not in capsys.readouterr().err
    monkeypatch.setattr(command, "CHROME_LIMIT", 1000)  # a 256 MB file is too big to make in a test
    assert main(["export", src, "-f", "chrome", "-o", str(tmp_path / "b.json")]) == 0
    err = capsys.readouterr().err
    assert "chrome://tracing will not open" in err and "--format perfetto" in err
    assert json.loads((tmp_path / "b.json").read_text())["traceEvents"]  # written all the same


@pytest.mark.parametrize("n", [0, 1, 127, 128, 16383, 16384, 2**21, 2**63 - 1, -1, -(2**63)])
def test_fields_from_the_tables_are_the_plain_varints(n):
    """The tag and small-number tables change no byte: a field is its tag's varint, then the value's."""
    from tracer.export import perfetto as p

    for number in (1, 15, 16, 2047, 2048):
        assert p.f_int(number, n) == p.varint(number << 3) + p.varint(n)
        assert p.f_fixed64(number, n) == p.varint(number << 3 | 1) + (n % 2**64).to_bytes(8, "little")
        if n >= 0:
            data = b"x" * min(n, 20_000)
            assert p.f_bytes(number, data) == p.varint(number << 3 | 2) + p.varint(len(data)) + data
