"""Statistics over a hand-built recording whose answers are known (see tests/handmade.py)."""

from __future__ import annotations

import pytest

from tests.handmade import MS, US, Lines, pool_known
from tracer.analysis.stats import compute, key_numbers, percentile
from tracer.recording.reader import load
from tracer.units import fmt_time, sparkline


@pytest.fixture
def known(tmp_path):
    return compute(load(pool_known().write(tmp_path / "known.jsonl")))


@pytest.mark.parametrize(("values", "p", "want"), [
    (list(range(1, 101)), 50, 50), (list(range(1, 101)), 90, 90), (list(range(1, 101)), 99, 99),
    (list(range(1, 101)), 100, 100), ([7], 50, 7), ([7], 99, 7), ([1, 2], 50, 1), ([1, 2], 51, 2), ([], 50, None),
])
def test_percentile_is_nearest_rank(values, p, want):
    assert percentile(values, p) == want


def test_waits_have_the_known_percentiles(known):
    want = {"backlog": (5, 9, 10), "queue": (10, 18, 20), "service": (50, 90, 100)}
    for name, (p50, p90, p99) in want.items():
        w = known.waits[name]
        assert w.n == 10
        assert (w.p(50), w.p(90), w.p(99)) == (p50 * US, p90 * US, p99 * US), name
        assert w.max == p99 * US


def test_worst_five_are_the_last_five_connections(known):
    assert known.waits["backlog"].worst == [(i, i * US) for i in (10, 9, 8, 7, 6)]
    assert [cid for cid, _ in known.waits["service"].worst] == [10, 9, 8, 7, 6]


def test_counts(known):
    assert known.model == "pool"
    assert known.connections == 10 and known.client_only == 0 and known.never_closed == 0
    assert known.requests == 10
    assert known.bytes_in == 500 and known.bytes_out == 2000
    assert known.threads_created == 2
    assert known.threads_max_alive == 3  # MainThread and two workers; no threads counter
    assert known.workers_reused == 2 and known.most_served_by_one == 5
    assert known.close_reasons == {"eof": 10}
    assert known.client_close_reasons == {"client": 10}
    assert (known.server_lanes, known.client_lanes) == (3, 10)


def test_throughput_counts_every_request_in_the_active_time(known):
    assert sum(b.requests for b in known.throughput) == 10
    assert sum(b.closed for b in known.throughput) == 10
    assert known.active[0] == 1 * MS  # the first connect
    assert known.throughput[0].t0 == known.active[0] and known.throughput[-1].t1 == known.active[1]


def test_threads_the_counter_missed_still_count(tmp_path):
    """Regression: the sampled counter saw 1, then 0; ten workers lived between two samples ("9 threads created,
    at most 1 alive").  The lanes' lifetimes say 11 (MainThread and the ten)."""
    r = Lines("pool").lane(0, "MainThread").ev(0, 0, "listen", 0, 0, 5)
    r.counter("threads", 3 * MS, 1)
    for k in range(10):
        r.lane(k + 1, f"worker_{k}").ev(90 * MS + k, 0, "thread_start", k + 1, 0, -1)
    for k in range(10):
        r.ev(116 * MS + k, 0, "thread_exit", k + 1, 0, -1)
    r.counter("threads", 117 * MS, 0)
    s = compute(load(r.end().write(tmp_path / "r.jsonl")))
    assert s.threads_max_alive == 11


def test_threads_counter_wins_when_recorded(tmp_path):
    r = Lines("thread").lane(0, "MainThread").ev(0, 0, "listen", 0, 0, 5)
    r.counter("threads", 10, 1).counter("threads", 20, 42).counter("threads", 30, 2)
    s = compute(load(r.end().write(tmp_path / "r.jsonl")))
    assert s.threads_max_alive == 42
    assert s.peaks["threads"] == 42


def test_key_numbers_line_up_between_recordings(tmp_path, known):
    empty = compute(load(Lines("thread").lane(0, "MainThread").end().write(tmp_path / "e.jsonl")))
    assert [k[0] for k in key_numbers(known)] == [k[0] for k in key_numbers(empty)]
    assert dict((k[0], k[1]) for k in key_numbers(empty))["backlog wait p50"] is None


@pytest.mark.parametrize(("ns", "text"), [
    (None, "–"), (0, "0 ns"), (850, "850 ns"), (12_300, "12.3 µs"), (250_000, "250 µs"), (4_560_000, "4.56 ms"),
    (1_230_000_000, "1.23 s"),
])
def test_fmt_time_in_significant_digits(ns, text):
    assert fmt_time(ns, significant=True) == text


def test_sparkline_scales_to_the_largest():
    assert sparkline([0, 1, 2, 4]) == " ▂▄█"
    assert sparkline([0, 0]) == "  "


def replies_known() -> Lines:
    """Three connections whose replies are each more than one send, as ``http.server`` answers (headers, then
    the body), a server that greets first, and a selector lane that interleaves two of them."""
    r = Lines("thread")
    r.lane(0, "MainThread").lane(1, "handler").lane(2, "loop")
    t = 0

    def ev(kind: str, lane: int, conn: int, count: int) -> None:
        nonlocal t
        t += 10 * US
        r.ev(t, US, kind, lane, conn, count)

    for cid in (1, 2, 3):
        ev("accept", 0, cid, -1)
    # 1: two requests, each answered by a header send and a body send; a 0-byte send and a 0-byte recv change
    # nothing; the EOF read ends it
    for kind, count in (("recv", 80), ("send", 40), ("send", 0), ("send", 900), ("recv", 0),
                        ("recv", 80), ("send", 40), ("send", 900), ("recv", 0)):
        ev(kind, 1, 1, count)
    ev("close", 1, 1, -1)
    # 2 greets (a reply with no request before it), then answers one request; 3 answers one in two sends,
    # its sends and 2's interleaved on one lane
    for kind, conn, count in (("send", 2, 5), ("recv", 2, 10), ("recv", 3, 10), ("send", 3, 20), ("send", 2, 20),
                              ("send", 3, 20), ("send", 2, 1)):
        ev(kind, 2, conn, count)
    return r.end(t)


@pytest.mark.parametrize("fast", [True, False], ids=["c-reader", "python-reader"])
def test_a_reply_in_several_sends_is_one_request_answered(tmp_path, fast):
    rec = load(replies_known().write(tmp_path / "replies.jsonl"), fast=fast)
    assert {cid: c.requests for cid, c in rec.connections.items()} == {1: 2, 2: 2, 3: 1}
    s = compute(rec)
    assert s.requests == 5 and sum(b.requests for b in s.throughput) == 5
    assert s.bytes_out == 40 + 900 + 40 + 900 + 5 + 20 + 1 + 20 + 20


def handed_known() -> Lines:
    """(Review: a reader thread per connection hands each request to one writer thread.)  Connections 1 and 2
    read on their own lanes, answered on the writer's in two sends a reply, twice each."""
    r = Lines("thread")
    r.lane(0, "MainThread").lane(1, "reader-1").lane(2, "reader-2").lane(3, "writer")
    r.ev(10 * US, US, "accept", 0, 1, -1).ev(20 * US, US, "accept", 0, 2, -1)
    t = 100 * US
    for _request in range(2):
        for cid in (1, 2):
            r.ev(t, US, "recv", cid, cid, 50)
            r.ev(t + 2 * US, US, "send", 3, cid, 40).ev(t + 4 * US, US, "send", 3, cid, 400)
            t += 10 * US
    return r.end(t)


@pytest.mark.parametrize("fast", [True, False], ids=["c-reader", "python-reader"])
def test_a_connection_read_by_one_thread_and_answered_by_another_counts_each_reply(tmp_path, fast):
    rec = load(handed_known().write(tmp_path / "handed.jsonl"), fast=fast)
    assert {cid: c.requests for cid, c in rec.connections.items()} == {1: 2, 2: 2}
    s = compute(rec)
    assert s.requests == 4 and sum(b.requests for b in s.throughput) == 4  # the buckets counted 2


def test_a_window_of_the_whole_time_counts_the_replies_the_file_does(tmp_path):
    """(Review: the md report of a window fed the reader lane after lane: the writer's sends all came after
    every read, and 30 replies read 3.)"""
    from tracer import export
    from tracer.export.markdown import window

    rec = load(handed_known().write(tmp_path / "handed.jsonl"))
    part = window(rec, export.select(rec, t_from=0, t_to=rec.t_max))
    assert compute(part).requests == 4 and {cid: c.requests for cid, c in part.connections.items()} == {1: 2, 2: 2}
