"""The statistics read over the connections' columns say what they said over one Connection view each.

``reference`` is :func:`tracer.analysis.stats.compute` as it was before it read columns (kept here as the
oracle); both run on every shipped recording, those in tests/data, and Hypothesis-made ones (the reader's
strategy: odd lines, clients never accepted, close reasons of every shape).
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections import Counter as Tally

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_fastread import recording
from tracer.analysis import stats
from tracer.errors import RecordingError
from tracer.recording.events import BY_CODE
from tracer.recording.reader import load

HERE = os.path.dirname(__file__)
FILES = sorted(glob.glob(os.path.join(HERE, "..", "recordings", "*.jsonl")) +
               glob.glob(os.path.join(HERE, "data", "*.jsonl")))


def reference(rec, buckets=12):  # type: ignore[no-untyped-def]
    """The statistics as computed from one Connection view a connection (the code before the columns)."""
    conns = list(rec.connections.values())
    server = [c for c in conns if c.id > 0]
    per_lane = Tally(c.serve_lane for c in server if c.serve_lane is not None)
    begin, end = rec.t_max, 0
    for c in conns:
        starts = [t for t in (c.connect_t, c.accept_t, c.submit_t) if t is not None]
        ends = [t for t in (c.close_t, c.client_close_t, c.accepted_t, c.connected_t, c.start_t) if t is not None]
        if starts:
            begin = min(begin, min(starts))
        if ends:
            end = max(end, max(ends))
    active = (0, rec.t_max) if end <= begin else (begin, end)
    lo, hi = active
    span = max(hi - lo, 1)
    out = [stats.Bucket(lo + span * i // buckets, lo + span * (i + 1) // buckets) for i in range(buckets)]
    # a reply is a run of a connection's sends with bytes after a read with bytes, counted at its first send,
    # in the file's order (over all the server's lanes: one thread may read it and another answer)
    moves = sorted((line, code, conn, t) for lane in rec.server_lanes()
                   for t, code, conn, count, line in zip(lane.t, lane.kind, lane.conn, lane.count, lane.lines,
                                                         strict=True)
                   if conn and count > 0 and code in (stats._RECV, stats._SEND))
    replying = set()
    for _line, code, conn, t in moves:
        if code == stats._RECV:
            replying.discard(conn)
        elif conn not in replying:
            replying.add(conn)
            out[max(0, min((t - lo) * buckets // span, buckets - 1))].requests += 1
    for c in conns:
        if c.close_t is not None and c.id > 0:
            out[max(0, min((c.close_t - lo) * buckets // span, buckets - 1))].closed += 1
    kinds: Tally[str] = Tally()
    for lane in rec.lanes.values():
        for code, n in Tally(lane.kind).items():
            kinds[BY_CODE[code].name] += n
    waits = {}
    for attr, name, label in stats.WAITS:
        pairs = sorted((v, c.id) for c in server if (v := getattr(c, attr)) is not None)
        worst = sorted(pairs, key=lambda p: (-p[0], p[1]))[:5]
        waits[name] = stats.Waits(name, label, [v for v, _ in pairs], [(cid, v) for v, cid in worst])
    return dict(
        kinds=kinds, connections=len(server), client_only=len(conns) - len(server),
        never_closed=sum(1 for c in server if c.close_t is None), requests=sum(c.requests for c in server),
        bytes_in=sum(c.bytes_in for c in server), bytes_out=sum(c.bytes_out for c in server),
        close_reasons=Tally(c.close_reason or "never closed" for c in server),
        client_close_reasons=Tally(c.client_close_reason or "never closed" for c in conns
                                   if c.client_lane is not None),
        workers_reused=sum(1 for n in per_lane.values() if n > 1), most_served_by_one=max(per_lane.values(), default=0),
        waits=waits, throughput=out, active=active)


def same_both_ways(rec) -> None:  # type: ignore[no-untyped-def]
    got, want = stats.compute(rec), reference(rec)
    for name, value in want.items():
        mine = getattr(got, name)
        assert mine == value, name
        if isinstance(value, Tally):  # most_common breaks ties by the order first seen: that too
            assert list(mine.items()) == list(value.items()), name
    assert dataclasses.asdict(got) == dataclasses.asdict(stats.compute(rec))  # and it changes nothing it reads
    assert sum(b.requests for b in got.throughput) == got.requests  # the buckets count what the reader counts


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_every_recording_has_the_same_statistics_as_over_views(path):
    try:
        rec = load(path)
    except RecordingError:
        pytest.skip("not a recording (the reader's tests cover it)")
    same_both_ways(rec)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=recording())
def test_made_up_recordings_have_the_same_statistics_as_over_views(tmp_path, text):
    rec = made_up(tmp_path, text)
    if rec is not None:
        same_both_ways(rec)


def made_up(tmp_path, text):  # type: ignore[no-untyped-def]
    """The recording of a Hypothesis-made file's ``text``, None where the reader rejects it."""
    path = tmp_path / "r.jsonl"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        return load(str(path))
    except RecordingError:
        return None


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(1, 50)), unique_by=lambda p: p[1]), st.integers(1, 7))
def test_the_worst_are_the_longest_waits_ties_by_id(pairs, k):
    pairs.sort()
    assert stats._worst(pairs, k) == sorted(pairs, key=lambda p: (-p[0], p[1]))[:k]
