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
FORMATS = ("chrome", "csv", "perfetto")

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
DETAILS = [None, None, None, "eof", "client", "", 'a,"b"\nc', "127.0.0.1:5000", "é中", 7, -3]


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
                                    1 << 60, 1, bytes(20), array("q"), [], b"", print, 10)
    lane.dur = list(lane.dur)  # a list: no buffer to read, but the Python loop reads it
    with pytest.raises(encode.Unsupported, match="dur: not a contiguous buffer"):
        encode.native.chrome_lane(lane.t, lane.dur, lane.kind, lane.conn, lane.count, lane.lines, 0, len(lane), 0,
                                  1 << 60, b"", b"", b"", [b"x"] * 20, bytes(20), array("q"), [], [], print, 10)
    for fmt in FORMATS:
        assert written(rec, fmt) == expected[fmt], fmt


@needs_c
def test_a_kind_code_out_of_range_is_refused():
    rec = _pool()
    lane = max(rec.lanes.values(), key=len)
    lane.kind[0] = 120
    with pytest.raises(encode.Unsupported, match="kind code 120"):
        encode.native.perfetto_lane(lane.t, lane.dur, lane.kind, lane.conn, lane.count, 0, len(lane), 0, 1 << 60, 1,
                                    bytes(20), array("q"), [], b"", print, 10)


def test_sockscope_pure_python_turns_the_encoder_off():
    code = "from tracer.export import encode; print(encode.native is None)"
    for value, off in (("1", "True"), ("0", str(encode.native is None))):
        env = dict(os.environ, SOCKSCOPE_PURE_PYTHON=value)
        got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert got.stdout.strip() == off
