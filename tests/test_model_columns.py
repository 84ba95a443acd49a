"""The columnar model (connections as columns, details as arrays, issue 14) against the model it replaced.

tests/legacy/ keeps the reader and model as they were (slotted Connection objects, a dict of details per
lane), word for word.  Every recording shipped and in tests/data, Hypothesis-made ones (clean, odd and
damaged: the same error with the same line number) and big made-up ones (thousands of connections, ids far
apart, rows squeezed as halves are joined) must read to the same values both ways, through the C path and
the Python one.
"""

from __future__ import annotations

import glob
import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.legacy import legacy_reader
from tests.test_fastread import recording as fastread_recording
from tracer.errors import RecordingError
from tracer.recording import reader
from tracer.recording.conntable import Connection, ConnTable
from tracer.recording.follow import Loader

HERE = os.path.dirname(__file__)
FILES = sorted(glob.glob(os.path.join(HERE, "..", "recordings", "*.jsonl")) +
               glob.glob(os.path.join(HERE, "data", "*.jsonl")))
PATHS = [False, True] if reader.native is not None else [False]


def plain(rec) -> dict:  # type: ignore[no-untyped-def]
    """Everything a recording holds as plain values, the same for the old model and the new one."""
    lanes = [(lane.id, lane.name, lane.native_id, lane.side, lane.line, list(lane.t), list(lane.dur),
              list(lane.kind), list(lane.conn), list(lane.count), list(lane.lines), sorted(lane.details.items()),
              {i: lane.details.get(i) for i in range(len(lane))}, lane._sorted, lane.end)
             for lane in rec.lanes.values()]
    conns = [(cid, tuple(getattr(c, name) for name in Connection.FIELDS),
              (c.backlog_wait, c.queue_wait, c.service, c.closed)) for cid, c in rec.connections.items()]
    return {"header": rec.header, "lanes": lanes, "lane_order": list(rec.lanes),
            "counters": {k: (list(c.t), list(c.v)) for k, c in rec.counters.items()},
            "marks": rec.marks, "connections": conns, "n_conns": len(rec.connections),
            "values": [(c.id, c.peer, c.close_t) for c in rec.connections.values()], "keys": list(rec.connections),
            "get": [tuple(getattr(rec.connections.get(cid), "id", None) for cid in range(-6, 7))],
            "trailer": rec.trailer, "warnings": rec.warnings, "cut_off": rec.cut_off, "n_events": rec.n_events,
            "t_max": rec.t_max}


def old(path: str) -> object:
    try:
        return plain(legacy_reader.load(path, fast=False))
    except RecordingError as exc:
        return ("error", str(exc))


def new(path: str, fast: bool) -> object:
    try:
        return plain(reader.load(path, fast=fast))
    except RecordingError as exc:
        return ("error", str(exc))


def live(path: str, fast: bool | None, chunk: int) -> object:
    """Through the live path (a Loader's small reads), as replay and live read (None: the old builder)."""
    loader = Loader(path, lambda b: None, chunk=chunk)
    loader.builder = legacy_reader.Builder(path, False) if fast is None else reader.Builder(path, fast)
    try:
        return plain(loader.run())
    except RecordingError as exc:
        return ("error", str(exc))


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_every_recording_reads_as_the_old_model_did(path):
    want = old(path)
    for fast in PATHS:
        assert new(path, fast) == want, fast


# ---------------------------------------------------------------- made-up recordings, odder than test_fastread's
HEAD = json.dumps({"format": "sockscope", "version": 1, "model": "pool", "t0_monotonic_ns": 0})
LANES = [(0, "MainThread", "server"), (1, "worker_0", "server"), (7, "client-0", "client"),
         (8, "client-1", "client")]
PEERS = ["127.0.0.1:5000", "127.0.0.1:5001", "[::1]:6000", "unix:/tmp/s from @1a2b3", "unix:/tmp/s from @9",
         "unix:/tmp/s", "nocolon"]


@st.composite
def odd_event(draw) -> str:  # type: ignore[no-untyped-def]
    t = draw(st.integers(0, 3000)) * 10
    dur = draw(st.integers(0, 40)) * 10
    kind = draw(st.sampled_from(["accept", "connect", "close", "recv", "send", "start", "submit", "thread_start"]))
    lane = draw(st.sampled_from([x[0] for x in LANES]))
    conn = draw(st.sampled_from([0, 1, 2, 3, -1, -2, 5000, 2**31 - 1, -(2**31) + 1]))
    count = draw(st.sampled_from([-1, 0, 5, 2**62 - 1]))
    detail = draw(st.sampled_from([None, None, "eof", 7, *PEERS]))
    fields = [str(t), str(dur), f'"{kind}"', str(lane), str(conn), str(count)]
    if detail is not None:
        fields.append(json.dumps(detail))
    return "[" + ",".join(fields) + "]"


@st.composite
def odd_recording(draw) -> str:  # type: ignore[no-untyped-def]
    lines = [HEAD] + [json.dumps({"lane": i, "name": n, "side": side}) for i, n, side in LANES]
    lines += draw(st.lists(odd_event(), max_size=80))
    return "\n".join(lines) + "\n"


def compare(tmp_path, text: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.jsonl"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        want = old(str(path))
    except KeyError:
        # the old reader crashed when a server end stored under a negative id was the client's own half
        # (a traceback, not an error): the new one must read it without crashing, both paths alike
        got = [new(str(path), fast) for fast in PATHS]
        assert all(g == got[0] for g in got)
        return
    live_want = live(str(path), None, 64)
    for fast in PATHS:
        assert new(str(path), fast) == want, fast
        assert live(str(path), fast, 64) == live_want, fast


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=fastread_recording())
def test_made_up_and_damaged_recordings_read_as_the_old_model_did(tmp_path, text):
    compare(tmp_path, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=odd_recording())
def test_odd_ids_peers_and_sums_read_as_the_old_model_did(tmp_path, text):
    compare(tmp_path, text)


def big(n_conns: int, seed: int, spread: int = 1) -> str:
    """Many connections, client halves first (so rows are dropped and squeezed), some ids far apart."""
    rnd = random.Random(seed)
    lines = [HEAD] + [json.dumps({"lane": i, "name": n, "side": side}) for i, n, side in LANES]
    t = 0
    for k in range(1, n_conns + 1):
        cid = k * spread if rnd.random() < 0.9 else rnd.randrange(1, 2**31 - 1)
        peer = f"127.0.0.1:{k}"
        t += rnd.randint(1, 50)
        client = rnd.choice([7, 8])
        lines.append(f'[{t},{rnd.randint(0, 9)},"connect",{client},{k},-1,"{peer}"]')
        if rnd.random() < 0.8:
            lines.append(f'[{t + 3},{rnd.randint(0, 9)},"accept",0,{cid},-1,"{peer}"]')
            lines.append(f'[{t + 4},5,"recv",1,{cid},{rnd.choice([0, 10, 2**62 - 1])}]')
            lines.append(f'[{t + 9},1,"close",1,{cid},-1,"{rnd.choice(["eof", "server"])}"]')
        if rnd.random() < 0.7:
            lines.append(f'[{t + 12},1,"close",{client},{k},-1,"client"]')
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("n, seed, spread", [(3000, 1, 1), (2000, 2, 7), (500, 3, 100_000)])
def test_thousands_of_connections_read_as_the_old_model_did(tmp_path, n, seed, spread):
    compare(tmp_path, big(n, seed, spread))


def test_the_table_squeezes_joined_halves_out_and_views_find_their_rows():
    table = ConnTable()
    for cid in range(1, 200):
        table.new(-cid)
        table.new(cid)
        table.drop(-cid)
    view = table[150]
    assert table.dead and table.n > table.live == 199
    table.trim()
    assert table.dead == 0 and table.n == table.live == 199 and len(table.id) == 199
    assert view.id == 150 and table.id[view._find()] == 150 and list(table) == list(range(1, 200))
    assert -5 not in table and table.get(-5) is None and Connection(3).accept_t is None


@pytest.mark.parametrize("path", FILES + ["big"], ids=lambda p: os.path.basename(p))
def test_the_column_helpers_say_what_the_views_say(path, tmp_path):
    if path == "big":
        path = str(tmp_path / "big.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.write(big(1500, 4))
    try:
        conns = reader.load(path).connections
    except RecordingError:
        return
    views = conns.values()
    assert conns.any_wait("submit_t", "start_t") == any(c.queue_wait for c in views)
    assert conns.any_wait("connect_t", "accept_t", "connect_dur", "accept_dur") == any(c.backlog_wait for c in views)
    opens, closes = [], []
    for c in views:
        begin = c.accepted_t if c.accepted_t is not None else c.connected_t
        if begin is not None:
            opens.append(begin)
            end = c.close_t if c.id > 0 else c.client_close_t
            if end is not None:
                closes.append(max(end, begin))
    assert conns.open_intervals() == (opens, closes)


def test_details_read_and_set_like_the_dict_they_were():
    rec = reader.load(os.path.join(HERE, "data", "pool.jsonl"))
    lane = next(lane for lane in rec.lanes.values() if len(lane.details) > 2)
    want = dict(lane.details.items())
    first, *_ = want
    lane.details[first] = "x" * 50
    lane.details[len(lane) + 5] = 7
    want[first], want[len(lane) + 5] = "x" * 50, 7
    assert lane.details == want and list(lane.details) == sorted(want) and lane.details.get(-1, "none") == "none"


def test_a_hand_made_connection_reads_and_goes_in_like_the_dataclass_it_was():
    from tests.legacy.legacy_model import Connection as Old

    fields = dict(peer="127.0.0.1:9", accept_t=5, accepted_t=9, accept_lane=3, submit_t=10, start_t=12, serve_lane=4,
                  close_t=30, close_reason="eof", connect_t=1, connected_t=4, client_lane=100, client_close_t=31,
                  client_close_reason="client", requests=2, bytes_in=79, bytes_out=330, client_id=7)
    old_c, new_c = Old(7, **fields), Connection(7, **fields)
    assert tuple(getattr(old_c, f) for f in Connection.FIELDS) == new_c.fields()
    waits = ("backlog_wait", "queue_wait", "service", "closed")
    assert [getattr(new_c, w) for w in waits] == [getattr(old_c, w) for w in waits]
    rec = reader.load(os.path.join(HERE, "data", "pool.jsonl"))
    rec.connections[10**6] = new_c
    assert rec.connections[10**6].fields()[1:] == new_c.fields()[1:] and 10**6 in list(rec.connections)
    with pytest.raises(TypeError):
        Connection(1, nosuch=1)


def test_a_server_end_stored_under_its_client_halfs_own_id_reads(tmp_path):
    """The old reader crashed here (KeyError): the server's accept names the client's half id (-5) as its own."""
    lines = [HEAD] + [json.dumps({"lane": i, "name": n, "side": side}) for i, n, side in LANES]
    lines += ['[10,5,"connect",7,5,-1,"127.0.0.1:9"]', '[12,3,"accept",0,-5,-1,"127.0.0.1:9"]',
              '[20,1,"close",7,5,-1,"client"]']
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(KeyError):
        legacy_reader.load(str(path), fast=False)
    got = [new(str(path), fast) for fast in PATHS]
    assert all(g == got[0] for g in got) and isinstance(got[0], dict)


def big_client_ids(n_conns: int, seed: int) -> str:
    """Client ids far apart and reused out of order (the client map's array and its dict beyond it)."""
    rnd = random.Random(seed)
    lines = [HEAD] + [json.dumps({"lane": i, "name": n, "side": side}) for i, n, side in LANES]
    t = 0
    for k in range(1, n_conns + 1):
        client_id = rnd.choice([k, k * 1000, rnd.randrange(1, 2**31 - 1), 70_000 + k])
        peer = f"127.0.0.1:{k}"
        t += rnd.randint(1, 50)
        client = rnd.choice([7, 8])
        lines.append(f'[{t},{rnd.randint(0, 9)},"connect",{client},{client_id},-1,"{peer}"]')
        if rnd.random() < 0.8:
            lines.append(f'[{t + 3},{rnd.randint(0, 9)},"accept",0,{k},-1,"{peer}"]')
        if rnd.random() < 0.7:
            lines.append(f'[{t + 12},1,"close",{client},{client_id},-1,"client"]')
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", [1, 2])
def test_client_ids_far_apart_read_as_the_old_model_did(tmp_path, seed):
    compare(tmp_path, big_client_ids(1500, seed))


def test_the_client_map_reads_as_the_dict_it_was():
    rnd = random.Random(5)
    got, want = reader.IdMap(), {}
    for _ in range(3000):
        k = rnd.choice([rnd.randrange(1, 5000), rnd.randrange(1, 2**31 - 1), rnd.randrange(60_000, 200_000)])
        v = rnd.choice([-1, 1]) * rnd.randrange(1, 2**31 - 1)
        got[k] = v
        want[k] = v
    assert len(got.far) > 0 and len(got.dense) > 5000  # both halves used
    for k in list(want) + [rnd.randrange(1, 2**31 - 1) for _ in range(500)] + [0, 1, 2, 4999, 5000]:
        assert got.get(k) == want.get(k), k


@pytest.mark.skipif(reader.native is None, reason="the C extension is not built")
@pytest.mark.parametrize("seed", range(6))
def test_a_lane_sorts_the_same_in_c_and_in_python(monkeypatch, seed):
    from tracer.recording import fastpath
    from tracer.recording.model import Lane

    def lane() -> Lane:
        r = random.Random(seed)
        out = Lane(1, "w", 0, "server")
        out._append(10**6, 1, 4, 1, 1, 1, "first")  # out of order whatever follows
        n = r.choice([2, 3, 50, 4000])
        for i in range(n):
            out._append(r.randrange(0, 30 if n < 100 else 3000), r.randrange(0, 2**40), r.randrange(0, 12),
                        r.randrange(-5, 5), r.randrange(-2**62 + 1, 2**62), i + 2,
                        r.choice([None, None, "eof", "peer", 7]))
        return out

    fast = lane()
    fast._sort()
    monkeypatch.setattr(fastpath, "native", None)
    slow = lane()
    slow._sort()
    assert not lane()._sorted and fast._sorted and slow._sorted
    for name in ("t", "dur", "kind", "conn", "count", "lines"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.typecode == b.typecode and a == b, name
    assert list(fast.t) == sorted(fast.t)
    assert fast.details.idx == slow.details.idx and fast.details.vid == slow.details.vid


def widening(n: int) -> str:
    """Durations and counts that fit for a while, then one that does not (on lane 1: int64; lane 7: int32)."""
    lines = [HEAD] + [json.dumps({"lane": i, "name": n, "side": side}) for i, n, side in LANES]
    for k in range(n):
        lines.append(f'[{10 * k},{k % 7},"recv",0,0,{k % 5}]')
        dur, count = (2**31 + k, 2**40) if k == n // 2 else (3, -1)
        lines.append(f'[{10 * k + 1},{dur},"work",1,0,{count}]')
        lines.append(f'[{10 * k + 2},{2**31 - 1},"recv",7,0,{-(2**31)}]')  # the ends of int32: still narrow
    return "\n".join(lines) + "\n"


def test_durations_and_counts_are_narrow_until_a_value_does_not_fit(tmp_path):
    text = widening(3000)
    compare(tmp_path, text)
    path = tmp_path / "r.jsonl"
    path.write_text(text, encoding="utf-8", newline="")
    for fast in PATHS:
        rec = reader.load(str(path), fast=fast)
        codes = {lane.id: (lane.dur.typecode, lane.count.typecode) for lane in rec.lanes.values()}
        assert codes == {0: ("i", "h"), 1: ("q", "q"), 7: ("i", "i"), 8: ("i", "h")}, fast
        assert rec.lanes[1].dur[1500] == 2**31 + 1500 and rec.lanes[1].count[1500] == 2**40


def test_a_timeline_follows_a_lane_whose_durations_widen(tmp_path):
    from tracer.timeline.rows import Timeline

    lines = widening(400).splitlines(keepends=True)
    cut = len(lines) // 3  # before the wide value
    for fast in PATHS:
        b = reader.Builder(str(tmp_path / "r.jsonl"), fast)
        b.feed_lines(lines[:cut])
        tl = Timeline(b.rec)
        narrow = tl._tracks[1].dur
        assert narrow.typecode == "i"
        b.feed_lines(lines[cut:])
        tl.update()
        track = tl._tracks[1]
        assert track.dur is b.rec.lanes[1].dur and track.dur.typecode == "q", fast
        fresh = Timeline(b.rec)._tracks[1]
        assert track.n == fresh.n == 400
        assert {c: list(x) for c, x in track.cum.items()} == {c: list(x) for c, x in fresh.cum.items()}
        assert track.cum[next(iter(track.cum))][-1] > 2**31  # the wide duration is summed


def test_packed_values_read_as_the_list_they_were():
    from tracer.recording.conntable import Packed, Values

    items: list = ["127.0.0.1:5000", "", "eof", "日本", "\ud800 lone", 7, True, False, 0, -3, "x" * 300]
    packed = Packed(items)
    assert list(packed) == items and len(packed) == len(items)
    assert [type(v) for v in packed] == [type(v) for v in items]  # True stays a bool, 7 an int
    assert packed[-1] == items[-1] and packed[2:5] == items[2:5]
    with pytest.raises(IndexError):
        packed[len(items)]
    with pytest.raises(IndexError):
        packed[-len(items) - 1]
    values = Values()
    for v in items:
        values.id_of(v)
    values.pack()
    assert values.id_of("later") == len(items) and values.items[len(items)] == "later"  # added after packing


def test_a_loaded_recording_keeps_its_strings_packed(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(big(300, 4), encoding="utf-8", newline="")
    for fast in PATHS:
        rec = reader.load(str(path), fast=fast)
        assert not isinstance(rec.values.items, list) and len(rec.values.items) > 300
        assert all(c.peer == f"127.0.0.1:{k}" for k, c in enumerate(rec.connections.values(), 1) if c.peer), fast


@pytest.mark.skipif(reader.native is None, reason="the C extension is not built")
@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from("bhilq"), data=st.data())
def test_argsort_is_the_stable_sort_python_makes(code, data):
    """The C argsort (a radix sort of keys less their minimum; an insertion sort below 64 keys) against sorted():
    any width, negative keys, the extremes of the type, few distinct keys (ties), nearly and wholly in order."""
    from array import array

    bits = array(code).itemsize * 8
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    keys = st.one_of(st.integers(lo, hi), st.integers(-3, 3), st.sampled_from([lo, hi, 0]))
    values = data.draw(st.lists(keys, max_size=300))
    if data.draw(st.booleans()):
        values.sort()
        for _ in range(data.draw(st.integers(0, 5))):
            if values:
                values[data.draw(st.integers(0, len(values) - 1))] = data.draw(keys)
    arr = array(code, values)
    got = reader.native.argsort(arr)
    assert got.typecode == "i" and list(got) == sorted(range(len(values)), key=values.__getitem__)


@pytest.mark.skipif(reader.native is None, reason="the C extension is not built")
def test_the_lanes_arrays_grow_with_room_and_give_it_back_when_read(tmp_path):
    """The C path gives a lane's arrays room to grow into (frombytes alone copied them whole a block); finish gives
    it back: each column's memory as long as its items, the values the Python path reads."""
    import sys
    from array import array

    from tests.test_fastread import _pool

    path = tmp_path / "big.jsonl"  # ~4.6 MB: five blocks, appended to four times
    path.write_text("\n".join(_pool(80_000, 0, 500, seed=3)) + "\n")
    fast = reader.load(str(path))
    slow = reader.load(str(path), fast=False)
    empty = sys.getsizeof(array("q"))
    for lane_id, lane in fast.lanes.items():
        for name in ("t", "dur", "kind", "conn", "count", "lines"):
            col = getattr(lane, name)
            assert col == getattr(slow.lanes[lane_id], name), name
            assert sys.getsizeof(col) - empty <= len(col) * col.itemsize + 64, (lane_id, name)
    arr = array("i", range(10))
    reader.native.fit(arr)  # nothing to give back; an array of another kind and not an array are left as they are
    reader.native.fit(array("d", [1.5]))
    reader.native.fit([1, 2])
    assert arr == array("i", range(10))
