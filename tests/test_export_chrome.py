"""Chrome trace JSON: Perfetto's importer rules (tests/perfetto_rules.py) on real and hand-built recordings."""

from __future__ import annotations

import io
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import client, http_get
from tests.handmade import US, Lines, pool_known
from tests.perfetto_rules import ns, problems
from tracer import export
from tracer.recording.reader import Builder, load
from tracer.run import shipped

# The shipped ones only: recordings/ also collects the user's own live-*.jsonl (ignored by git).
SHIPPED = sorted(os.path.join(os.path.dirname(__file__), "..", "recordings", item.file) for item in shipped.SHIPPED)


def chrome(rec, **sel):
    buf = io.StringIO()
    export.write("chrome", rec, buf, export.select(rec, **sel) if sel else None)
    return json.loads(buf.getvalue())


def flows(doc):
    out = {e["bind_id"]: e for e in doc["traceEvents"] if e.get("flow_out")}
    ins = {e["bind_id"]: e for e in doc["traceEvents"] if e.get("flow_in")}
    return out, ins


@pytest.mark.parametrize("model", ["thread", "pool", "single"])
def test_real_recordings_keep_every_thread_slice_and_arrow(serve, model):
    s = serve(model, workers=2)
    for _ in range(3):
        with client(s.address) as c:
            assert http_get(c, close=True).startswith(b"HTTP/1.1 200")
    s.wait_closed(3)
    rec = s.stop()
    doc = chrome(rec)
    assert problems(doc) == []
    outs, ins = flows(doc)
    served_elsewhere = [c for c in rec.connections.values() if c.id > 0 and c.serve_lane != c.accept_lane]
    assert sorted(outs) == sorted(ins) == sorted(c.id for c in served_elsewhere)
    for c in served_elsewhere:
        assert outs[c.id]["name"] == "accept" and outs[c.id]["tid"] == c.accept_lane + 1
        assert ins[c.id]["tid"] == c.serve_lane + 1 and ins[c.id]["args"]["conn"] == c.id
        assert ins[c.id]["name"] == {"pool": "start", "thread": "thread_start"}[model]  # where serving begins
        assert ins[c.id]["ph"] == "X"  # Perfetto binds flows to slices only
    if model == "single":
        assert not outs  # accepted and served on one thread: no arrow to draw


@pytest.mark.parametrize("path", SHIPPED, ids=[os.path.basename(p) for p in SHIPPED])
def test_shipped_recordings_follow_perfettos_rules(path):
    assert problems(chrome(load(path))) == []


def test_threads_processes_and_header(tmp_path):
    rec = load(pool_known().write(tmp_path / "known.jsonl"))
    doc = chrome(rec)
    assert problems(doc) == []
    meta = [e for e in doc["traceEvents"] if e["ph"] == "M"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in meta if e["name"] == "thread_name"}
    assert names[(1, 1)] == "MainThread (lane 0)" and names[(1, 3)] == "worker_1 (lane 2)"
    assert names[(102, 102)] == "client-1 (lane 101)" and names[(102, 111)] == "client-10 (lane 110)"
    procs = {e["pid"]: e["args"]["name"] for e in meta if e["name"] == "process_name"}
    assert procs == {1: "server: pool", 102: "clients"}  # pid: the tid of the side's first lane
    other = doc["otherData"]
    assert other["model"] == "pool" and other["dropped"] == 0 and other["events"] == rec.n_events
    assert json.loads(other["settings"])["workers"] == 2
    assert "displayTimeUnit" not in doc  # ts is µs, the format's default


def test_timestamps_are_microseconds_that_read_back_to_the_nanosecond(tmp_path):
    rec = load(pool_known().write(tmp_path / "known.jsonl"))
    by_line = {}
    for lane in rec.lanes.values():
        for e in lane.events():
            by_line[e.line] = e
    timed = [e for e in chrome(rec)["traceEvents"] if e["ph"] in ("X", "i") and "line" in e.get("args", {})]
    assert len(timed) == rec.n_events
    for e in timed:
        src = by_line[e["args"]["line"]]
        assert ns(e["ts"]) == src.t
        assert abs(e["ts"] - src.t / 1000) < 0.001
        if e["ph"] == "X":
            assert ns(e["dur"]) == src.dur


def test_partly_overlapping_spans_are_clipped_to_nest(tmp_path):
    r = Lines("thread").lane(0, "MainThread")
    r.ev(10 * US, 20 * US, "recv", 0, 1, 5).ev(20 * US, 20 * US, "send", 0, 1, 5, tag="send")
    r.ev(41 * US, 1 * US, "work", 0, 1)
    doc = chrome(load(r.end(alive=[0]).write(tmp_path / "r.jsonl")))
    bad = {"traceEvents": [e for e in doc["traceEvents"]]}
    assert problems(bad) == []
    send = next(e for e in doc["traceEvents"] if e.get("name") == "send")
    assert send["args"]["clipped"] is True and ns(send["ts"]) + ns(send["dur"]) == 30 * US
    assert doc["otherData"]["clipped_slices"] == 1


def test_huge_lane_ids_still_get_small_distinct_tids(tmp_path):
    r = Lines("thread").lane(5_000_000_000, "big").lane(7, "small")
    r.ev(1 * US, 1 * US, "work", 5_000_000_000).ev(1 * US, 1 * US, "work", 7)
    doc = chrome(load(r.end().write(tmp_path / "r.jsonl")))
    assert problems(doc) == []
    tids = {e["tid"] for e in doc["traceEvents"] if e["ph"] == "X"}
    assert tids == {1, 2}


def test_a_time_range_never_leaves_half_an_arrow(tmp_path):
    rec = load(pool_known().write(tmp_path / "known.jsonl"))
    c3 = rec.connections[3]
    doc = chrome(rec, t_from=c3.accepted_t + 1, t_to=c3.close_t)  # conn 3's accept ends before the range
    assert problems(doc) == []
    outs, ins = flows(doc)
    assert 3 not in outs and 3 not in ins
    assert all(ns(e["ts"]) >= c3.accepted_t + 1 for e in doc["traceEvents"] if e["ph"] in ("X", "i", "C"))
    full_outs, _ = flows(chrome(rec))
    assert sorted(full_outs) == list(range(1, 11))


def test_chosen_lanes_only(tmp_path):
    rec = load(pool_known().write(tmp_path / "known.jsonl"))
    doc = chrome(rec, lane_specs=["worker*"])
    assert problems(doc) == []
    assert {e["tid"] for e in doc["traceEvents"] if e["ph"] == "X"} == {2, 3}
    assert flows(doc) == ({}, {})  # the accept end is not exported, so no arrows


def test_event_loop_models_get_one_async_slice_per_connection(tmp_path):
    r = Lines("selectors").lane(0, "MainThread")
    for i in (1, 2):
        r.ev(i * 100 * US, 5 * US, "accept", 0, i, -1, f"127.0.0.1:{4000 + i}")
    r.ev(110 * US, 2 * US, "recv", 0, 1, 10).ev(210 * US, 2 * US, "recv", 0, 2, 10)
    r.ev(300 * US, 1 * US, "close", 0, 1, -1, "eof")  # connection 2 stays open to the end
    doc = chrome(load(r.end(alive=[0]).write(tmp_path / "r.jsonl")))
    assert problems(doc) == []
    slices = [(e["ph"], e["id"]) for e in doc["traceEvents"] if e["ph"] in ("b", "e")]
    assert sorted(slices) == [("b", 1), ("b", 2), ("e", 1), ("e", 2)]


@pytest.mark.parametrize(("event", "complaint"), [
    ({"ph": "X", "pid": 1, "tid": 0, "ts": 1, "dur": 1}, "non-zero 32-bit"),
    ({"ph": "X", "pid": 1, "tid": 2**32 + 1, "ts": 1, "dur": 1}, "non-zero 32-bit"),
    ({"ph": "X", "pid": 2, "tid": 5, "ts": 1, "dur": 1}, "used in pid"),
    ({"ph": "X", "pid": 1, "tid": 5, "ts": 1.5, "dur": 2}, "partly overlaps"),
    ({"ph": "X", "pid": 1, "tid": 6, "ts": 1, "dur": 1, "bind_id": 9, "flow_out": True}, "flow 9"),
    ({"ph": "i", "pid": 1, "tid": 6, "ts": 1, "bind_id": 8, "flow_in": True}, "does not bind"),
    ({"ph": "X", "pid": 1, "tid": 6, "ts": "1", "dur": 1}, "not a number"),
    ({"ph": "b", "pid": 1, "cat": "c", "id": 3, "name": "n", "ts": 1}, "never ends"),
    ({"ph": "M", "pid": 1, "tid": 5, "name": "thread_name", "args": {"name": "other"}}, "named twice"),
    ({"ph": "M", "pid": 5, "name": "process_name", "args": {"name": "clients"}}, "Perfetto would move"),
])
def test_the_rules_checker_can_fail(event, complaint):
    base = [{"ph": "M", "pid": 1, "tid": 5, "name": "thread_name", "args": {"name": "t"}},
            {"ph": "X", "pid": 1, "tid": 5, "ts": 0, "dur": 2}]
    assert problems({"traceEvents": base}) == []
    found = problems({"traceEvents": [*base, event]})
    assert any(complaint in p for p in found), found


kinds = st.sampled_from(["recv", "send", "work", "accept", "close", "thread_start", "submit"])
spans = st.lists(st.tuples(st.integers(0, 5_000), st.integers(0, 3_000), kinds), max_size=25)


@settings(max_examples=60, deadline=None)
@given(lanes=st.dictionaries(st.sampled_from([0, 1, 7, 2**31 - 2, 2**33]), spans, min_size=1, max_size=4),
       cut=st.tuples(st.integers(0, 4_000), st.integers(1, 6_000)))
def test_any_overlap_and_any_range_still_follows_the_rules(lanes, cut):
    """Writers interleave and clocks jitter: whatever the spans, Perfetto keeps every slice we write."""
    b = Builder("<hypothesis>")
    b.feed(json.dumps({"format": "sockscope", "version": 1, "model": "thread"}))
    for lane_id in lanes:
        b.feed(json.dumps({"lane": lane_id, "name": f"t{lane_id}"}))
    for lane_id, events in lanes.items():
        for t, dur, kind in events:
            b.feed(json.dumps([t, dur, kind, lane_id, 1, 5]))
    rec = b.finish()
    lo = min(cut[0], max(rec.t_max - 1, 0))
    sel = export.Selection(lo, lo + cut[1])
    buf = io.StringIO()
    n = export.write("chrome", rec, buf, sel)
    doc = json.loads(buf.getvalue())
    assert problems(doc) == []
    expected = sum(1 for lane in rec.lanes.values() for i in range(len(lane))
                   if lane.t[i] <= lo + cut[1] and lane.t[i] + lane.dur[i] >= lo)
    assert n == expected == sum(1 for e in doc["traceEvents"] if e["ph"] in ("X", "i"))


def test_a_span_reaching_into_the_range_behind_many_instants_is_kept(tmp_path):
    """Regression: the range's start looked back only 16 events for spans reaching into it."""
    r = Lines("thread").lane(0, "MainThread")
    r.ev(0, 50 * US, "recv", 0, 1, 5, tag="long")
    for _ in range(40):
        r.ev(1 * US, 0, "submit", 0, 1, 0)
    rec = load(r.end(alive=[0]).write(tmp_path / "r.jsonl"))
    doc = chrome(rec, t_from=10 * US, t_to=20 * US)
    assert problems(doc) == []
    (kept,) = [e for e in doc["traceEvents"] if e.get("name") == "recv"]
    assert kept["args"]["line"] == r.at["long"] and kept["args"]["clipped"] is True


def test_counter_samples_and_marks_after_the_last_event_are_kept(tmp_path):
    """Regression: without --to the export cut counters and marks at rec.t_max, the last event's end."""
    r = Lines("pool").lane(0, "MainThread")
    r.ev(10 * US, 5 * US, "accept", 0, 1, -1, "127.0.0.1:4001")
    r.counter("queue", 5 * US, 1).counter("queue", 40 * US, 0)  # sampled after the accept ended (15 µs)
    r.lines.append(json.dumps({"mark": "after", "t": 50 * US}))
    rec = load(r.end(t=60 * US, alive=[0]).write(tmp_path / "r.jsonl"))
    assert rec.t_max == 15 * US and rec.marks == [(50 * US, "after")]
    events = chrome(rec)["traceEvents"]
    assert [(ns(e["ts"]), e["args"]["queue"]) for e in events if e["ph"] == "C"] == [(5 * US, 1), (40 * US, 0)]
    assert [(ns(e["ts"]), e["name"]) for e in events if e.get("cat") == "mark"] == [(50 * US, "after")]
    cut = chrome(rec, t_to=30 * US)["traceEvents"]  # a range given: what is after it stays out
    assert [ns(e["ts"]) for e in cut if e["ph"] == "C"] == [5 * US]
    assert not [e for e in cut if e.get("cat") == "mark"]
