"""check's lifecycle walk in C (``_fastread.lifecycle_walk``) finds what the Python walk finds, in its order.

On every shipped recording, those in tests/data, Hypothesis-made ones (the reader's strategy: events in any
order, kinds the lifecycle does not allow after others, connections seen from one side only), and big ones
(groups sorted by qsort, the group table grown many times).
"""

from __future__ import annotations

import glob
import os

import pytest
from hypothesis import HealthCheck, given, settings

from tests.test_fastread import recording
from tests.test_stats_columns import made_up
from tracer.analysis import check
from tracer.errors import RecordingError
from tracer.recording import fastpath
from tracer.recording.reader import load

HERE = os.path.dirname(__file__)
FILES = sorted(glob.glob(os.path.join(HERE, "..", "recordings", "*.jsonl")) +
               glob.glob(os.path.join(HERE, "data", "*.jsonl")))
needs_c = pytest.mark.skipif(not hasattr(fastpath.native, "lifecycle_walk"), reason="the C walk is not built here")


def both_ways(rec, monkeypatch):  # type: ignore[no-untyped-def]
    fast = check.walk(rec)
    assert fast == check.walk_python(rec)
    found = check.check(rec)
    with monkeypatch.context() as m:
        m.setattr(fastpath, "native", None)
        assert check.check(rec) == found
    return fast


@needs_c
@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_every_recording_walks_the_same_both_ways(path, monkeypatch):
    try:
        rec = load(path)
    except RecordingError:
        pytest.skip("not a recording (the reader's tests cover it)")
    both_ways(rec, monkeypatch)


@needs_c
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=recording())
def test_made_up_recordings_walk_the_same_both_ways(tmp_path, monkeypatch, text):
    rec = made_up(tmp_path, text)
    if rec is not None:
        both_ways(rec, monkeypatch)


@needs_c
def test_a_big_recording_with_long_and_broken_connections_walks_the_same(tmp_path, monkeypatch):
    head = '{"format": "sockscope", "version": 1, "model": "thread"}'
    lines = [head, '{"lane": 1, "name": "w", "side": "server"}', '{"lane": 2, "name": "c", "side": "client"}']
    for cid in range(1, 3000):  # many groups: the C table grows from 1024 slots
        t = cid * 1000
        lines.append(f'[{t},5,"accept",1,{cid},-1,"127.0.0.1:{cid}"]')
        if cid % 7:
            lines.append(f'[{t + 10},5,"recv",1,{cid},3]')
        if cid % 5:
            lines.append(f'[{t + 20},5,"close",1,{cid},-1,"eof"]')
        if cid % 11 == 0:
            lines.append(f'[{t + 30},5,"send",1,{cid},3]')  # after its close
        lines.append(f'[{t + 1},5,"connect",2,{cid},-1,"127.0.0.1:{cid}"]')
    for k in range(40):  # one long connection, its events out of order by time: qsort sorts the group
        lines.append(f'[{5_000_000 - k * 10},1,"recv",1,4000,3]')
    lines.append('[4000000,1,"accept",1,4000,-1,"127.0.0.1:9"]')
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n")
    steps = both_ways(load(str(path)), monkeypatch)
    assert {s[0] for s in steps} == {0, 1} and len(steps) > 1000
