"""CSV: read back with the csv module and matched, row by row, to the recording."""

from __future__ import annotations

import csv
import io
import os
from decimal import Decimal

from tests.conftest import client, http_get
from tests.handmade import US, Lines, pool_known
from tracer import export
from tracer.export.csvout import COLUMNS
from tracer.recording.reader import load


def rows(rec, **sel):
    buf = io.StringIO(newline="")
    n = export.write("csv", rec, buf, export.select(rec, **sel) if sel else None)
    text = buf.getvalue()
    out = list(csv.DictReader(io.StringIO(text, newline="")))
    assert n == len(out)
    return text, out


def ns(text: str) -> int:
    return int(Decimal(text) * 1000)


def matches(row, rec):
    """The event the row came from (found by its line), checked field by field."""
    lane = rec.lanes[int(row["lane"])]
    i = list(lane.lines).index(int(row["line"]))
    e = lane.event(i)
    assert ns(row["time_us"]) == e.t and ns(row["duration_us"]) == e.dur
    assert row["kind"] == e.kind and row["thread"] == lane.name and row["side"] == lane.side
    assert row["connection"] == (str(e.conn) if e.conn else "")
    if e.kind in ("recv", "send"):
        assert row["bytes"] == (str(e.nbytes) if e.nbytes >= 0 else "") and row["count"] == ""
    else:
        assert row["bytes"] == "" and row["count"] == (str(e.nbytes) if e.nbytes >= 0 else "")
    assert row["detail"] == ("" if e.detail is None else str(e.detail))
    return e


def test_header_and_rfc4180_line_ends(tmp_path):
    text, out = rows(load(pool_known().write(tmp_path / "k.jsonl")))
    assert text.split("\r\n", 1)[0] == ",".join(name for name, _ in COLUMNS)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")


def test_every_event_once_in_time_order(tmp_path):
    rec = load(pool_known().write(tmp_path / "k.jsonl"))
    _, out = rows(rec)
    assert len(out) == rec.n_events
    events = [matches(row, rec) for row in out]
    assert [e.t for e in events] == sorted(e.t for e in events)
    assert len({(e.lane, e.line) for e in events}) == rec.n_events


def test_a_real_recording_reads_back(serve):
    s = serve("pool", workers=2)
    for _ in range(3):
        with client(s.address) as c:
            http_get(c)
    s.wait_closed(3)
    rec = s.stop()
    _, out = rows(rec)
    assert len(out) == rec.n_events
    for row in out:
        matches(row, rec)
    assert {row["detail"] for row in out if row["kind"] == "close"} == {"eof"}


def test_awkward_details_are_quoted(tmp_path):
    r = Lines("thread").lane(0, 'Main "quoted", thread')
    r.ev(1 * US, 1 * US, "accept", 0, 1, -1, 'error: a, b "c"\nd')
    _, out = rows(load(r.end().write(tmp_path / "r.jsonl")))
    assert out[0]["detail"] == 'error: a, b "c"\nd' and out[0]["thread"] == 'Main "quoted", thread'


def test_range_and_lanes(tmp_path):
    rec = load(pool_known().write(tmp_path / "k.jsonl"))
    lo, hi = 3_000 * US, 5_000 * US
    _, out = rows(rec, t_from=lo, t_to=hi, lane_specs=["client"])
    want = [e for e in rec.events() if rec.lanes[e.lane].side == "client" and e.t <= hi and e.end >= lo]
    assert [(int(r["lane"]), int(r["line"])) for r in out] == [(e.lane, e.line) for e in want]
    assert want


def test_rows_in_merge_order_whatever_the_time_windows(tmp_path, monkeypatch):
    """The rows are made one slice of time at a time: any number of slices gives the order of a merge of
    every lane's (start, lane order, index), ties across lanes included (same_time.jsonl)."""
    import heapq

    from tracer.export import csvout

    for name in ("pool.jsonl", "same_time.jsonl", "many_lanes.jsonl"):
        rec = load(os.path.join(os.path.dirname(__file__), "data", name))
        lanes = list(rec.lanes.values())
        merged = heapq.merge(*([(lane.t[i], k, i) for i in range(len(lane))] for k, lane in enumerate(lanes)))
        want = [(lanes[k].id, lanes[k].lines[i]) for _, k, i in merged]
        for windows in (1, 3, 64, 1000):
            monkeypatch.setattr(csvout, "WINDOWS", windows)
            _, out = rows(rec)
            assert [(int(r["lane"]), int(r["line"])) for r in out] == want, (name, windows)
        mid = rec.t_max // 2
        _, cut = rows(rec, t_from=mid)
        monkeypatch.setattr(csvout, "WINDOWS", 1)
        assert rows(rec, t_from=mid)[1] == cut
