"""SVG: parsed as XML; its rectangles counted against the events in range."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from tests.handmade import MS, US, Lines, pool_known
from tracer import export
from tracer.export import svg
from tracer.recording.events import KINDS, Look
from tracer.recording.reader import load
from tracer.timeline import palette

NS = "{http://www.w3.org/2000/svg}"


def draw(rec, width=1200, **sel):
    buf = io.StringIO()
    n = svg.write(rec, buf, export.select(rec, **sel) if sel else export.Selection(), width=width)
    root = ET.fromstring(buf.getvalue())
    return n, root, buf.getvalue()


def classes(root, cls):
    return [e for e in root.iter() if cls in (e.get("class") or "").split()]


def texts(root):
    return [e.text for e in root.iter(NS + "text")]


def spaced(n_lanes=3, per_lane=20, gap=50 * US, dur=20 * US):
    """Spans far apart (well over a pixel), ending with a close mark each."""
    r = Lines("thread")
    for lane in range(n_lanes):
        r.lane(lane, f"recv-{lane}")
    for lane in range(n_lanes):
        for k in range(per_lane):
            t = k * gap + lane * US
            r.ev(t, dur, "recv" if k % 2 else "send", lane, 1 + lane, 10)
        r.ev(per_lane * gap, 0, "close", lane, 1 + lane, -1, "eof")
    return r.end(alive=list(range(n_lanes)))


def test_one_rectangle_per_span_and_one_tick_per_mark(tmp_path):
    rec = load(spaced().write(tmp_path / "r.jsonl"))
    n, root, _ = draw(rec)
    assert n == rec.n_events
    spans = [e for e in rec.events() if KINDS[e.kind].look is not Look.MARK]
    assert len(classes(root, "ev")) == len(spans) == 60
    assert len(classes(root, "mk")) == 3
    assert not classes(root, "sum")  # nothing needed summarising
    recv = [e for e in classes(root, "ev") if "k-recv" in e.get("class")]
    assert len(recv) == 30 and all(e.find(NS + "title") is not None for e in recv)


def test_time_range_counts_only_the_events_in_it(tmp_path):
    rec = load(spaced().write(tmp_path / "r.jsonl"))
    lo, hi = 200 * US, 500 * US
    n, root, _ = draw(rec, t_from=lo, t_to=hi)
    inside = [e for e in rec.events() if e.t <= hi and e.end >= lo]
    assert n == len(inside)
    assert len(classes(root, "ev")) == len([e for e in inside if KINDS[e.kind].look is not Look.MARK])
    assert any(t and t.endswith("µs") for t in texts(root))  # the axis is in real units


def test_lanes_labels_axis_and_legend(tmp_path):
    rec = load(pool_known().write(tmp_path / "k.jsonl"))
    _, root, text = draw(rec, lane_specs=["MainThread,worker*"])
    labels = texts(root)
    assert {"MainThread", "worker_0", "worker_1"} <= set(labels)
    assert not any(t and t.startswith("client-") for t in labels)
    assert any(t and t.endswith(" ms") for t in labels)
    legend = " ".join(t for t in labels if t)
    assert "blocked: accept recv working: send" in legend  # the legend names the kinds drawn
    # each span kind its own swatch, in its own colour (one swatch for "accept, recv" showed recv in accept's)
    children = list(root)
    swatches = {e.get("class"): children[i + 1].text for i, e in enumerate(children)
                if e.tag == NS + "rect" and (e.get("class") or "").startswith("k-")}
    assert {k: swatches.get(k) for k in ("k-accept", "k-recv", "k-send")} == {
        "k-accept": "accept", "k-recv": "recv", "k-send": "send"}
    assert palette.colour("recv") in text and palette.colour("accept") in text  # the UI's colours
    assert "sockscope · pool" in " ".join(t for t in labels if t)


def test_a_dense_recording_is_summarised_per_pixel(tmp_path):
    r = Lines("pool").lane(0, "worker_0").lane(1, "worker_1")
    for lane in (0, 1):
        for k in range(8_000):
            t = k * 5 * US
            r.ev(t, 2 * US, "recv", lane, k + 1, 10).ev(t + 2 * US, 1 * US, "send", lane, k + 1, 10)
            r.ev(t + 4 * US, 0, "close", lane, k + 1, -1, "eof")
    rec = load(r.end(t=100 * MS, alive=[0, 1]).write(tmp_path / "dense.jsonl"))
    n, root, text = draw(rec, width=600)
    assert n == rec.n_events == 48_000
    shapes = classes(root, "ev") + classes(root, "mk")
    segments = sum(e.get("d").count("M") for e in classes(root, "sum"))
    plot_w = 600 - svg.LABEL_W - svg.RIGHT
    assert len(shapes) + segments <= 2 * 2 * plot_w  # spans and marks: at most one of each per pixel per lane
    assert len(text) < 400_000


def test_many_lanes_shrink_rows_and_still_draw(tmp_path):
    r = Lines("thread")
    for lane in range(300):
        r.lane(lane, f"recv-{lane}")
    for lane in range(300):
        r.ev(lane * US, 100 * US, "recv", lane, lane + 1, 10)
    rec = load(r.end(alive=list(range(300))).write(tmp_path / "many.jsonl"))
    _, root, _ = draw(rec)
    rects = classes(root, "ev")
    assert len(rects) == 300
    assert all(float(e.get("height")) >= 1 for e in rects)
    assert int(root.get("height")) < 2000


def test_nice_steps():
    assert [svg.nice_step(x, 10) for x in (10, 95, 1_000_000, 3_000)] == [1, 10, 100_000, 500]
