"""The C export encoder (tracer/export/_encode.c) writes the very bytes of the Python loops.

Each format, on every shipped and test recording, whole and cut to a range and a few lanes, and on
Hypothesis-made ones (overlapping spans, instants, details, negative connection ids, odd ranges):
the file written with the C encoder equals the one written with ``encode.native = None``.  In the C
runs ``encode.Unsupported`` is not caught (monkeypatched to a class never raised), so a quiet
fallback to Python cannot make a comparison pass.
"""

from __future__ import annotations

import glob
import io
import json
import os
import subprocess
import sys
from array import array

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracer import export
from tracer.errors import RecordingError
from tracer.export import encode
from tracer.recording.model import Recording
from tracer.recording.reader import Builder, load

HERE = os.path.dirname(__file__)
FILES = sorted(glob.glob(os.path.join(HERE, "..", "recordings", "*.jsonl")) +
               glob.glob(os.path.join(HERE, "data", "*.jsonl")))
FORMATS = ("chrome", "csv", "perfetto", "svg")

needs_c = pytest.mark.skipif(encode.native is None, reason="the C export encoder is not built here")


def written(rec: Recording, fmt: str, sel: export.Selection | None = None) -> bytes:
    if export.is_binary(fmt):
        out = io.BytesIO()
        export.write(fmt, rec, out, sel)
        return out.getvalue()
    text = io.StringIO(newline="")
    export.write(fmt, rec, text, sel)
    return text.getvalue().encode("utf-8")


def both(monkeypatch: pytest.MonkeyPatch, rec: Recording, fmt: str,
         sel: export.Selection | None = None) -> tuple[bytes, bytes]:
    """(C, Python): the C run with Unsupported left uncaught, so it cannot fall back unseen."""
    native = encode.native
    with monkeypatch.context() as m:
        m.setattr(encode, "Unsupported", encode._Never)
        fast = written(rec, fmt, sel)
    with monkeypatch.context() as m:
        m.setattr(encode, "native", None)
        slow = written(rec, fmt, sel)
    assert encode.native is native
    return fast, slow


def loadable(path: str) -> Recording | None:
    try:
        return load(path)
    except RecordingError:
        return None


@needs_c
@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_every_recording_exports_the_same_bytes_both_ways(monkeypatch, path):
    rec = loadable(path)
    if rec is None:
        pytest.skip("not a readable recording (the reader's tests cover it)")
    lanes = list(rec.lanes)
    third = rec.t_max // 3
    sels = [None, export.Selection(third, 2 * third if third else None),
            export.Selection(0, None, tuple(lanes[::2]) or None)]
    for fmt in FORMATS:
        for sel in sels:
            fast, slow = both(monkeypatch, rec, fmt, sel)
            assert fast == slow, (fmt, sel)
    assert rec.n_events == 0 or len(both(monkeypatch, rec, "csv")[0].splitlines()) > 1


KINDS = ["recv", "send", "accept", "close", "submit", "start", "connect", "thread_start", "work", "select"]
DETAILS = [None, None, None, "eof", "client", "", 'a,"b"\nc', "127.0.0.1:5000", "é中", 7, -3, 1, True]


@st.composite
def recording(draw) -> Recording:  # type: ignore[no-untyped-def]
    model = draw(st.sampled_from(["thread", "pool", "selectors"]))
    b = Builder("<hypothesis>")
    b.feed(json.dumps({"format": "sockscope", "version": 1, "model": model}))
    lanes = draw(st.lists(st.sampled_from([0, 1, 2, 7, 1000, 1001]), min_size=1, max_size=4, unique=True))
    for lane_id in lanes:
        side = "client" if lane_id >= 1000 else "server"
        name = draw(st.sampled_from([f"t{lane_id}", f"w,{lane_id}", f'"q{lane_id}"', f"线程{lane_id}"]))
        b.feed(json.dumps({"lane": lane_id, "name": name, "native_id": lane_id + 1, "side": side}))
    events = draw(st.lists(st.tuples(st.integers(0, 200_000), st.integers(0, 30_000), st.sampled_from(KINDS),
                                     st.sampled_from(lanes), st.integers(0, 5), st.sampled_from([-1, 0, 27, 99_999]),
                                     st.sampled_from(DETAILS)), max_size=80))
    for t, dur, kind, lane_id, conn, count, detail in events:
        line = [t, dur, kind, lane_id, conn, count] + ([] if detail is None else [detail])
        b.feed(json.dumps(line))
    if draw(st.booleans()):
        b.feed(json.dumps({"c": "queue", "t": draw(st.integers(0, 300_000)), "v": 3}))
    if draw(st.booleans()):
        b.feed(json.dumps({"end": True, "dropped": 0}))
    return b.finish()


@needs_c
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rec=recording(), cut=st.tuples(st.integers(0, 150_000), st.none() | st.integers(1, 150_000)),
       every=st.booleans())
def test_made_up_recordings_export_the_same_bytes_both_ways(monkeypatch, rec, cut, every):
    lo = min(cut[0], max(rec.t_max - 1, 0))
    sel = None if every else export.Selection(lo, None if cut[1] is None else lo + cut[1])
    for fmt in FORMATS:
        fast, slow = both(monkeypatch, rec, fmt, sel)
        assert fast == slow, fmt


def _pool() -> Recording:
    return load(os.path.join(HERE, "data", "pool.jsonl"))


@needs_c
def test_other_integer_typecodes_are_read_as_well(monkeypatch):
    """The reader may store a column in another integer typecode: the encoder reads any of them."""
    rec = _pool()
    expected = {fmt: written(rec, fmt) for fmt in FORMATS}
    for lane in rec.lanes.values():
        lane.t, lane.conn, lane.kind, lane.lines = (array("l", lane.t), array("q", lane.conn),
                                                    array("h", lane.kind), array("I", lane.lines))
    for fmt in FORMATS:
        fast, slow = both(monkeypatch, rec, fmt)
        assert fast == slow == expected[fmt], fmt


@needs_c
def test_columns_it_cannot_read_are_refused_and_the_python_loop_writes_them():
    rec = _pool()
    expected = {fmt: written(rec, fmt) for fmt in FORMATS}
    lane = max(rec.lanes.values(), key=len)
    with pytest.raises(encode.Unsupported, match="dur: format d"):
        encode.native.perfetto_lane(lane.t, array("d", lane.dur), lane.kind, lane.conn, lane.count, 0, len(lane), 0,
                                    1 << 60, 1, bytes(20), array("q"), array("q"), [], array("q"), [], b"", print, 10)
    lane.dur = list(lane.dur)  # a list: no buffer to read, but the Python loop reads it
    with pytest.raises(encode.Unsupported, match="dur: not a contiguous buffer"):
        encode.native.chrome_lane(lane.t, lane.dur, lane.kind, lane.conn, lane.count, lane.lines, 0, len(lane), 0,
                                  1 << 60, b"", b"", b"", [b"x"] * 20, bytes(20), array("q"), array("q"), [],
                                  array("q"), [], print, 10)
    for fmt in FORMATS:
        assert written(rec, fmt) == expected[fmt], fmt


@needs_c
def test_a_kind_code_or_a_detail_number_out_of_range_is_refused():
    rec = _pool()
    lane = max(rec.lanes.values(), key=len)
    with pytest.raises(encode.Unsupported, match="value number out of range"):
        encode.native.perfetto_lane(lane.t, lane.dur, lane.kind, lane.conn, lane.count, 0, len(lane), 0, 1 << 60, 1,
                                    bytes(20), array("q", [0]), array("q", [1]), [b""], array("q"), [], b"", print, 10)
    lane.kind[0] = 120
    with pytest.raises(encode.Unsupported, match="kind code 120"):
        encode.native.perfetto_lane(lane.t, lane.dur, lane.kind, lane.conn, lane.count, 0, len(lane), 0, 1 << 60, 1,
                                    bytes(20), array("q"), array("q"), [], array("q"), [], b"", print, 10)


def test_sockscope_pure_python_turns_the_encoder_off():
    import importlib.util

    built = importlib.util.find_spec("tracer.export._encode") is not None  # (this run may have it turned off)
    code = "from tracer.export import encode; print(encode.native is None)"
    for value, off in (("1", "True"), ("0", str(not built))):
        env = dict(os.environ, SOCKSCOPE_PURE_PYTHON=value)
        got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert got.stdout.strip() == off


# ---------------------------------------------------------------- what the loops are handed
@given(value=st.text() | st.from_regex(r"[A-Za-z0-9 .:_/@\[\]-]*", fullmatch=True) | st.integers())
def test_details_are_quoted_as_json_and_csv_quote_them(value):
    """The shortcuts for plain strings give what json.dumps, csv and f_str give."""
    from tracer.export import chrome, csvout, perfetto

    assert chrome._json(value) == json.dumps(value, ensure_ascii=False)
    buf = io.StringIO()
    import csv

    csv.writer(buf, lineterminator="").writerow([value, ""])
    assert csvout._Quoter()(value) == buf.getvalue()[:-1]
    if isinstance(value, str):
        lane = Builder("<x>")
        lane.feed(json.dumps({"format": "sockscope", "version": 1, "model": "thread"}))
        lane.feed(json.dumps({"lane": 0, "name": "t"}))
        lane.feed(json.dumps([5, 1, "close", 0, 1, -1, value]))
        got, strings = perfetto._details(lane.finish().lanes[0], 0, 1)
        assert strings == []
        assert got == {0: perfetto.f_bytes(perfetto._ANNOTATIONS, perfetto.f_int(perfetto._DA_NAME_IID, 3)
                                           + perfetto.f_str(perfetto._DA_STRING, value))}


def flows_by_scan(rec: Recording, lanes, lo: int, hi: int):  # type: ignore[no-untyped-def]
    """The flows' ends as found before the index: a scan from the accept per connection."""
    from tracer.export.chrome import _find, _overlaps

    chosen = {lane.id for lane in lanes}
    outs, ins = {}, {}
    for c in rec.connections.values():
        if c.id <= 0 or c.accept_lane is None or c.serve_lane is None or c.accept_lane == c.serve_lane:
            continue
        if c.accept_lane not in chosen or c.serve_lane not in chosen or c.accept_t is None:
            continue
        a = _find(rec.lanes[c.accept_lane], c.accept_t, c.id, want_accept=True)
        s = _find(rec.lanes[c.serve_lane], c.accept_t, c.id, want_accept=False)
        if a is None or s is None:
            continue
        la, ls = rec.lanes[c.accept_lane], rec.lanes[c.serve_lane]
        if _overlaps(la, a, lo, hi) and _overlaps(ls, s, lo, hi):
            outs[(la.id, a)] = c.id
            ins[(ls.id, s)] = c.id
    return outs, ins


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_the_flows_index_finds_what_the_scan_found(path):
    from tracer.export.chrome import _flows

    rec = loadable(path)
    if rec is None:
        pytest.skip("not a readable recording (the reader's tests cover it)")
    lanes = list(rec.lanes.values())
    for lo, hi in ((0, rec.t_max), (rec.t_max // 3, 2 * rec.t_max // 3)):
        assert _flows(rec, lanes, lo, hi) == flows_by_scan(rec, lanes, lo, hi)
        assert _flows(rec, lanes[1:], lo, hi) == flows_by_scan(rec, lanes[1:], lo, hi)
    if os.path.basename(path) in ("pool.jsonl", "pool-as-taught-accept-worker.jsonl"):
        assert _flows(rec, lanes, 0, rec.t_max)[0]  # the index can find something


def test_the_flows_index_when_the_serving_lane_saw_the_connection_before_its_accept(tmp_path):
    """A lane that had the connection before the accept's time: the index defers to the scan."""
    from tests.handmade import US, Lines
    from tracer.export.chrome import _flows

    r = Lines("pool").lane(0, "MainThread").lane(1, "worker_0")
    r.ev(1 * US, 1 * US, "recv", 1, 1, 5)  # worker_0 has connection 1 before it is accepted
    r.ev(10 * US, 5 * US, "accept", 0, 1, -1, "127.0.0.1:4001")
    r.ev(20 * US, 0, "start", 1, 1, -1)
    rec = load(r.end(alive=[0, 1]).write(tmp_path / "r.jsonl"))
    lanes = list(rec.lanes.values())
    assert _flows(rec, lanes, 0, rec.t_max) == flows_by_scan(rec, lanes, 0, rec.t_max)
    assert _flows(rec, lanes, 0, rec.t_max)[1] == {(1, 1): 1}


@pytest.mark.parametrize("c_encoder", [True, False])
def test_a_true_detail_is_not_taken_for_a_1_on_the_same_lane(monkeypatch, c_encoder):
    """Regression: the per-lane quote caches were keyed by value, and True == 1 as a dict key."""
    if not c_encoder:
        monkeypatch.setattr(encode, "native", None)
    b = Builder("<x>")
    b.feed(json.dumps({"format": "sockscope", "version": 1, "model": "thread"}))
    b.feed(json.dumps({"lane": 0, "name": "t"}))
    b.feed(json.dumps([5, 1, "recv", 0, 1, 3, 1]))
    b.feed(json.dumps([9, 1, "recv", 0, 1, 3, True]))
    rec = b.finish()
    doc = json.loads(written(rec, "chrome"))
    assert [e["args"]["detail"] for e in doc["traceEvents"] if e.get("name") == "recv"] == [1, True]
    rows = written(rec, "csv").decode().splitlines()
    assert [row.split(",")[8] for row in rows[1:]] == ["1", "True"]


@needs_c
def test_details_kept_another_way_go_to_the_python_loops():
    """If the model's details lose their columns (a dict, say), the exports still write the same bytes."""
    rec = _pool()
    expected = {fmt: written(rec, fmt) for fmt in FORMATS}
    for lane in rec.lanes.values():
        lane.details = dict(lane.details.items())  # type: ignore[assignment]
    with pytest.raises(encode.Unsupported, match="details"):
        encode.lane_details(next(iter(rec.lanes.values())), 0, 1)
    for fmt in FORMATS:
        assert written(rec, fmt) == expected[fmt], fmt


@needs_c
@settings(max_examples=150, deadline=None)
@given(rec=recording(), lo=st.integers(0, 150_000), span=st.integers(1, 200_000), plot_w=st.integers(1, 300))
def test_svg_columns_are_the_python_loops_to_the_last_bit(rec, lo, span, plot_w):
    """The SVG's per-pixel sums, not only the picture (whose one decimal could hide a last bit): C and Python
    add the same floats in the same order."""
    from tracer.export import svg

    hi = lo + span
    scale = plot_w / (hi - lo)
    for lane in rec.lanes.values():
        c = svg._columns(lane, lo, hi, scale, plot_w)
        p = svg._columns_python(lane, lo, hi, scale, plot_w)
        assert (c.n, c.starts, c.first, c.marks) == (p.n, p.starts, p.first, p.marks)
        assert [x.hex() for x in c.cover] == [float(x).hex() for x in p.cover]
        assert [(x0.hex(), float(x1).hex(), k, i) for x0, x1, k, i in c.wide] == \
            [(x0.hex(), float(x1).hex(), k, i) for x0, x1, k, i in p.wide]


@needs_c
def test_svg_columns_it_cannot_read_are_refused():
    lane = _pool().lanes[1]
    with pytest.raises(encode.Unsupported):
        encode.native.svg_columns(lane.t, array("d", lane.dur), lane.kind, 0, len(lane), 0, 10, 1.0, 10, b"\0" * 20)
    with pytest.raises(encode.Unsupported):
        encode.native.svg_columns(array("q", [-5]), array("q", [1]), array("b", [0]), 0, 1, 0, 10, 1.0, 10, b"\0")


@settings(max_examples=400, deadline=None)
@given(times=st.lists(st.integers(0, 12), max_size=16), conns=st.data(), t=st.integers(-1, 13),
       conn=st.integers(0, 1), want=st.booleans(), limit=st.integers(1, 4))
def test_the_flows_index_finds_what_the_scan_finds_at_every_limit(times, conns, t, conn, want, limit):
    """_FirstSeen.find without a bisect (the sorted times say where the scan would start): as _find."""
    from tracer.export import chrome
    from tracer.recording.model import Lane

    lane = Lane(1, "w", 1, "server")
    for k, at in enumerate(sorted(times)):
        lane._append(at, 0, conns.draw(st.sampled_from([chrome._ACCEPT, 1])), conns.draw(st.integers(0, 1)), 0,
                     k, None)
    got = chrome._FirstSeen().find(lane, t, conn, want, limit)
    assert got == chrome._find(lane, t, conn, want, limit)
