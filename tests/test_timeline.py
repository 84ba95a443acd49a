"""The timeline's data layer without a UI: view window, cell summaries, rows, statistics, loading."""

from __future__ import annotations

import json
import os
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.errors import RecordingError
from tracer.recording.events import KINDS, Event
from tracer.recording.follow import Follower, Loader
from tracer.recording.reader import load
from tracer.timeline import palette
from tracer.timeline import track as tk
from tracer.timeline.rows import Filters, Timeline
from tracer.timeline.track import Track, View
from tracer.units import parse_time

DATA = Path(__file__).parent / "data"
US, MS = 1_000, 1_000_000


def code(name: str) -> int:
    return KINDS[name].code


def track(*events: tuple[int, int, str], client: bool = False) -> Track:
    return Track(array("q", [e[0] for e in events]), array("q", [e[1] for e in events]),
                 array("b", [code(e[2]) for e in events]), array("i", [1] * len(events)), client)


def glyphs(tr: Track, view: View) -> str:
    return "".join(c[0] for c in tr.cells(view))


# ---------------------------------------------------------------- time, units, the view
@pytest.mark.parametrize("text, ns", [("12.5ms", 12_500_000), ("300 us", 300_000), ("300µs", 300_000),
                                      ("2s", 2_000_000_000), ("1500", 1_500_000_000), ("7ns", 7), ("1,000 ms", 10**9)])
def test_parse_time_reads_units(text: str, ns: int) -> None:
    assert parse_time(text) == ns


@pytest.mark.parametrize("text", ["", "abc", "-3ms", "nan", "inf s", "1.2.3ms"])
def test_parse_time_rejects_with_a_message(text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_time(text)


@pytest.mark.parametrize("ns, text", [(812, "812 ns"), (3_210_000, "3.210 ms"), (1_500_000_000, "1.500 s"),
                                      (41_000, "41.000 µs")])
def test_fmt_time_picks_the_unit(ns: int, text: str) -> None:
    assert tk.fmt_time(ns) == text


def test_speeds_run_from_a_microsecond_a_second_to_seconds() -> None:
    assert tk.SPEEDS[0] == 1_000 and tk.fmt_speed(tk.SPEEDS[0]) == "1 µs/s"
    assert tk.SPEEDS[-1] >= 10**9 and tk.SPEEDS == sorted(tk.SPEEDS)


@pytest.mark.parametrize("scale, unit", [(1, "ns"), (1_000, "µs"), (100_000, "ms"), (100_000_000, "s")])
def test_ruler_units_adapt_to_the_zoom(scale: float, unit: str) -> None:
    ticks = tk.ruler_ticks(View(0, scale, 100))
    assert len(ticks) >= 3
    assert all(label.endswith(" " + unit) for _, label in ticks)
    cells = [c for c, _ in ticks]
    assert cells == sorted(cells) and min(b - a for a, b in zip(cells, cells[1:], strict=False)) >= 12


@given(st.floats(0, 1e12), st.floats(1, 1e9), st.floats(0.01, 100), st.floats(0, 1e12))
def test_zoom_keeps_the_time_under_the_cursor(start: float, scale: float, factor: float, around: float) -> None:
    v = View(start, scale, 100)
    before = (around - v.start) / v.scale
    v.zoom(factor, around)
    if v.scale > tk.MIN_SCALE and v.scale < 1e13:  # (the view snaps to whole cells: within half a cell)
        assert abs((around - v.start) / v.scale - before) <= 0.5 + 1e-9 + 1e-6 * abs(before)


def test_fit_and_show() -> None:
    v = View(width=100)
    v.fit(1_000, 99_000)
    assert v.cell_of(1_000) >= 0 and v.cell_of(99_000) < 100
    v.show(10**9)
    assert 0 <= v.cell_of(10**9) < 100


# ---------------------------------------------------------------- cells
def test_a_span_fills_its_cells_and_an_instant_marks_one() -> None:
    tr = track((10, 30, "recv"), (50, 0, "close"), (60, 20, "send"))
    assert glyphs(tr, View(0, 10, 9)) == " ▒▒▒─×██ "


def test_a_zoomed_out_cell_summarises_instead_of_dropping() -> None:
    # 1000 short sends and recvs in one cell: the cell is mostly blocked
    events = []
    for i in range(1000):
        events += [(i * 100, 70, "recv"), (i * 100 + 80, 10, "send")]
    tr = track(*events, (100_000, 0, "close"))
    cells = tr.cells(View(0, 100_000, 2))
    assert cells[0][:2] == ("▒", tk.BLOCKED)
    assert cells[1][0] == "×"


def test_short_events_under_half_a_cell_show_as_such() -> None:
    tr = track((0, 1, "send"), (3, 1, "send"), (1000, 1, "send"))
    assert glyphs(tr, View(0, 10, 1)) == "┊"


def test_a_long_span_starting_off_screen_still_draws() -> None:
    tr = track((0, 10**9, "accept"), (10**9, 0, "submit"))
    assert glyphs(tr, View(5 * 10**8, 1000, 5)) == "┅┅┅┅┅"  # waiting to accept


def test_client_send_and_recv_are_arrows() -> None:
    tr = track((0, 1, "send"), (100, 1, "recv"), client=True)
    assert glyphs(tr, View(0, 50, 3)) == "→─←"


def test_marks_pick_the_end_of_the_story() -> None:
    tr = track((10, 0, "submit"), (11, 0, "start"), (12, 0, "close"))
    assert glyphs(tr, View(0, 100, 1)) == "×"
    tr = track((10, 0, "thread_start"), (11, 0, "start"), (12, 0, "close"))
    assert glyphs(tr, View(0, 100, 1)) == "※"  # a start and a close in one cell: both said, not one dropped


def brute(tr: Track, a: float, b: float) -> list[float]:
    cov = [0.0] * (tk.MARK + 1)
    for i in range(tr.n):
        s, e = tr.t[i], tr.t[i] + tr.dur[i]
        cov[tr.cls[i]] += max(0.0, min(e, b) - max(s, a))
    return cov


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 40), st.sampled_from(["recv", "send", "close"])),
                min_size=1, max_size=40), st.integers(1, 30))
def test_cells_agree_with_brute_force_for_one_thread(gaps: list[tuple[int, int, str]], scale: int) -> None:
    """Spans on one thread never overlap; then the dominant look is exactly the brute-force one."""
    t, events = 0, []
    for gap, dur, kind in gaps:
        t += gap
        d = 0 if kind == "close" else dur
        events.append((t, d, kind))
        t += d
    tr = track(*events)
    view = View(0, scale, t // scale + 2)
    for c, (glyph, look, _) in enumerate(tr.cells(view)):
        cov = brute(tr, c * scale, (c + 1) * scale)
        busy = cov[tk.BLOCKED] + cov[tk.WORKING]
        if glyph in ("▒", "█"):
            assert busy >= scale / 2
            assert cov[look] == max(cov[tk.BLOCKED], cov[tk.WORKING])
        elif glyph not in tk.MARK_GLYPH.values() and glyph != "※":  # (an instant shows whatever else the cell holds)
            assert busy < scale / 2  # idle, or "too short to draw": under half the cell is busy


def test_track_grows_with_its_arrays() -> None:
    tr = track((0, 10, "recv"))
    tr.t.append(20)
    tr.dur.append(5)
    tr.kind.append(code("send"))
    tr.conn.append(1)
    assert tr.extend() == 1 and len(tr) == 2
    assert tr.class_time(tk.WORKING, 2) == 5 and tr.max_end(1) == 25
    assert tr.maxend is None  # spans one after another: no array needed


def test_overlapping_spans_build_the_running_maximum() -> None:
    tr = track((0, 1000, "accept"), (10, 5, "send"), (20, 0, "close"), (30, 5, "recv"))
    assert tr.maxend is not None and [tr.max_end(j) for j in range(4)] == [1000] * 4
    assert tr.covering(500) == 0
    assert glyphs(tr, View(0, 100, 10)) == "×┅┅┅┅┅┅┅┅┅"  # the close is never covered by the accept


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 60), st.sampled_from(["recv", "send", "accept", "close",
                                                                                       "work", "select"])),
                min_size=1, max_size=70), st.lists(st.integers(1, 30), max_size=5))
def test_prefix_blocks_give_what_a_sum_over_every_event_gives(events, pieces) -> None:
    """The prefix sums and running maximum kept every 8 events answer as sums over each event would, grown in pieces."""
    events = sorted(events)
    tr = track(*events[:1])
    done = 1
    for size in [*pieces, len(events)]:
        for t, d, k in events[done:done + size]:
            tr.t.append(t)
            tr.dur.append(d)
            tr.kind.append(code(k))
            tr.conn.append(0)
        done = min(len(events), done + size)
        tr.extend()
        n = len(tr)
        for c in tr.cum:
            for i in range(n + 1):
                assert tr.class_time(c, i) == sum(tr.dur[j] for j in range(i) if tr.cls[j] == c)
        for j in range(n):
            assert tr.max_end(j) == max(tr.t[x] + tr.dur[x] for x in range(j + 1))
        for lo in range(0, n, 3):
            for hi in range(lo, n + 1, 5):
                want = {c: sum(tr.dur[j] for j in range(lo, hi) if tr.cls[j] == c) for c in tr.cum}
                got = tr.time_by_class(lo, hi, 0, 10**9, -1)
                assert got == want and list(got) == list(tr.cum)


def test_event_at_prefers_a_span_covering_then_nearest() -> None:
    tr = track((0, 100, "recv"), (150, 0, "close"))
    assert tr.event_at(50, 5) == 0
    assert tr.event_at(148, 5) == 1
    assert tr.event_at(400, 5) == -1


# ---------------------------------------------------------------- rows, filters, statistics
@pytest.fixture(scope="module")
def pool() -> Timeline:
    return Timeline(load(DATA / "pool.jsonl"))


def test_rows_are_grouped_accepting_workers_counters_clients(pool: Timeline) -> None:
    rows = pool.rows()
    assert [(r.kind, r.label) for r in rows] == [
        ("group", "accepting (1)"), ("lane", "MainThread"),
        ("group", "workers (3)"), ("lane", "worker_0"), ("lane", "worker_1"), ("lane", "worker_2"),
        ("counter", "pool queue"), ("counter", "kernel backlog"), ("counter", "threads alive"),
        ("group", "clients (2)"), ("lane", "client-0"), ("lane", "client-1")]


def test_connection_view_has_one_row_per_connection_with_its_waits(pool: Timeline) -> None:
    pool.by_connection = True
    try:
        rows = pool.rows()
        assert [r.ref for r in rows if r.kind == "conn"] == [1, 2, 3, 4, 5]
        tr = pool.conn_track(4)
        kinds = {tk.kind_name(k) for k in tr.kind}
        assert {"queued", "backlog", "start", "recv", "send", "close"} <= kinds
        assert "░" in glyphs(tr, View(0, 50 * US, 100))
    finally:
        pool.by_connection = False


def test_connection_search_matches_a_full_scan_on_a_busy_recording(tmp_path: Path) -> None:
    """Thousands of connections over 10 workers and 40 client lanes: the windowed search misses nothing."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
    from bench_timeline import make_recording

    path = tmp_path / "busy.jsonl"
    make_recording(str(path), 20_000, seed=7)
    rec = load(path)
    timeline = Timeline(rec)
    for cid in list(rec.connections)[::37]:
        assert timeline.connection_events(cid) == rec.connection_events(cid)


def test_a_negative_client_connection_id_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "neg.jsonl"
    path.write_text("\n".join([json.dumps({"format": "sockscope", "version": 1}), *_LANES,
                               '[0,0,"connect",2,-3,0,"127.0.0.1:1"]', '[0,0,"accept",0,3,0,"127.0.0.1:1"]']) + "\n")
    with pytest.raises(RecordingError, match=":5: expected a client connection id >= 0"):
        Loader(path, lambda b: None).run()


def test_connection_events_match_the_recording(pool: Timeline) -> None:
    for cid in pool.rec.connections:
        assert pool.connection_events(cid) == pool.rec.connection_events(cid)
    story = [e.kind for e in pool.connection_events(4)]
    assert story[0] == "connect" and "accept" in story and "submit" in story and "start" in story


def test_filters_by_connection_kind_and_lane(pool: Timeline) -> None:
    try:
        pool.set_filters(Filters(conn=4))
        lanes = [r.label for r in pool.rows() if r.kind == "lane"]
        assert lanes == ["MainThread", "worker_0", "client-0"]
        assert set(pool.track_for_lane(1).conn) == {4}
        pool.set_filters(Filters(kinds=frozenset({"close"})))
        assert {tk.kind_name(k) for k in pool.track_for_lane(1).kind} == {"close"}
        pool.set_filters(Filters(lanes=frozenset({0})))
        assert [r.label for r in pool.rows() if r.kind == "lane"] == ["MainThread"]
        assert "connection 4" in Filters(conn=4).describe()
    finally:
        pool.set_filters(Filters())
    assert not pool.filters.active


@pytest.mark.parametrize("t, threads, open_, queue", [(0, 0, 0, 0), (150 * US, 1, 1, 0), (900 * US, 4, 3, 1),
                                                      (2 * MS, 4, 2, 2), (4 * MS, 4, 0, 0)])
def test_statistics_at_a_time(pool: Timeline, t: int, threads: int, open_: int, queue: int) -> None:
    s = pool.stats_at(t)
    assert (s.threads, s.open_connections, s.queue) == (threads, open_, queue)
    assert s.dropped == 0


def test_step_visits_every_event_in_order(pool: Timeline) -> None:
    seen, t, cur = [], -1, None
    while (found := pool.step(t, True, current=cur)) is not None:
        lane, i = found
        t, cur = pool.rec.lanes[lane].t[i], found
        seen.append(found)
    assert len(seen) == pool.rec.n_events == len(set(seen))
    back = []
    while (found := pool.step(t, False, current=cur)) is not None:
        t, cur = pool.rec.lanes[found[0]].t[found[1]], found
        back.append(found)
    assert back == seen[-2::-1]


def test_events_sharing_a_timestamp_are_stepped_one_by_one() -> None:
    timeline = Timeline(load(DATA / "same_time.jsonl"))
    seen, cur = set(), None
    while (found := timeline.step(1 * MS, True, current=cur)) is not None:
        seen.add(found)
        cur = found
    assert len(seen) == 7


def test_index_of_finds_an_event_in_its_lane(pool: Timeline) -> None:
    for e in pool.connection_events(4):
        i = pool.index_of(e)
        assert pool.rec.lanes[e.lane].event(i) == e
    assert pool.index_of(Event(123, 0, "close", 1)) == -1


def test_one_lane_stepping(pool: Timeline) -> None:
    found = pool.step(0, True, [2])
    assert found is not None and found[0] == 2


@pytest.mark.parametrize("name, rows, events", [("empty.jsonl", 0, 0), ("one.jsonl", 2, 1),
                                                ("many_lanes.jsonl", 501, 500)])
def test_edge_recordings(name: str, rows: int, events: int) -> None:
    timeline = Timeline(load(DATA / name))
    assert len(timeline.rows()) == rows and timeline.rec.n_events == events
    view = View(width=80)
    view.fit(timeline.t_min, max(timeline.t_max, timeline.t_min + 1))
    for row in timeline.rows():
        tr = timeline.track(row)
        if tr is not None:
            assert len(tr.cells(view)) == 80
    timeline.stats_at(0)


def test_spark_scales_to_the_peak(pool: Timeline) -> None:
    view = View(0, 50 * US, 100)
    cells = pool.spark("queue", view)
    assert max(v for _, v in cells) == 2
    assert any(g == "█" for g, _ in cells)


# ---------------------------------------------------------------- loading and following
def test_loader_reads_in_chunks_and_matches_load(tmp_path: Path) -> None:
    batches = []
    rec = Loader(DATA / "pool.jsonl", batches.append, chunk=256).run()
    assert len(batches) > 3 and batches[-1].finished
    assert [b.done for b in batches] == sorted(b.done for b in batches)
    assert rec.n_events == load(DATA / "pool.jsonl").n_events


def test_follower_keeps_a_half_written_line(tmp_path: Path) -> None:
    path = tmp_path / "grow.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b":')
    with Follower(path) as f:
        assert f.poll().lines == ['{"a": 1}\n']
        assert f.poll().lines == []
        with open(path, "ab") as out:
            out.write(b' 2}\n{"c": 3}\n')
        assert f.poll().lines == ['{"b": 2}\n', '{"c": 3}\n']


def test_follower_starts_over_when_the_file_is_truncated_or_replaced(tmp_path: Path) -> None:
    path = tmp_path / "grow.jsonl"
    path.write_text("one\ntwo\n")
    with Follower(path) as f:
        f.poll()
        path.write_text("x\n")  # shorter: truncated
        p = f.poll()
        assert p.reset and p.lines == ["x\n"]
        other = tmp_path / "other"
        other.write_text("y\nzz\nwww\n")
        os.replace(other, path)  # replaced: a new inode, even if longer
        p = f.poll()
        assert p.reset and p.lines == ["y\n", "zz\n", "www\n"]


def test_follow_mode_picks_up_new_events(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    lines = (DATA / "pool.jsonl").read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:5]))
    seen = []

    def on_batch(batch: object) -> None:
        seen.append(batch)
        if len(seen) == 1:
            with open(path, "a") as f:
                f.write("".join(lines[5:]))
        elif batch.recording.trailer is not None:  # type: ignore[attr-defined]
            loader.stop()

    loader = Loader(path, on_batch, follow=True, interval=0.01)
    rec = loader.run()
    assert rec.trailer is not None and rec.n_events == load(DATA / "pool.jsonl").n_events


@pytest.mark.parametrize("name, match", [("not_a_recording.jsonl", ":1: expected a header"),
                                         ("bad_line.jsonl", ":4: expected a JSON value"),
                                         ("nope.jsonl", "no such file")])
def test_loader_errors_are_one_line(name: str, match: str) -> None:
    with pytest.raises(RecordingError, match=match) as info:
        Loader(DATA / name, lambda b: None).run()
    assert "\n" not in str(info.value)


def test_loader_rejects_binary(tmp_path: Path) -> None:
    path = tmp_path / "bin.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(RecordingError, match="UTF-8"):
        Loader(path, lambda b: None).run()


def test_a_cut_off_last_line_loads_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    text = (DATA / "pool.jsonl").read_text()
    path.write_text(text[: text.rindex("[")] + "[4000000,0,\"clo")
    rec = Loader(path, lambda b: None).run()
    assert any("cut off" in w for w in rec.warnings)


_LINE = st.one_of(
    st.lists(st.one_of(st.integers(-5, 3_000), st.sampled_from(list(KINDS) + ["nope"]), st.text(max_size=5),
                       st.none()), min_size=0, max_size=8).map(lambda v: json.dumps(v)),
    st.builds(lambda i, n, side: json.dumps({"lane": i, "name": n, "side": side}), st.integers(-1, 4),
              st.text(max_size=8), st.sampled_from(["server", "client", "x"])),
    st.builds(lambda c, t, v: json.dumps({"c": c, "t": t, "v": v}), st.sampled_from(["queue", "threads"]),
              st.integers(0, 3000), st.integers(-2, 9)),
    st.text(max_size=12).filter(lambda s: "\n" not in s and "\r" not in s),
)


_EVENT = st.builds(lambda t, d, k, lane, c, n, det: json.dumps([t, d, k, lane, c, n, det]), st.integers(0, 5_000),
                   st.integers(0, 2_000), st.sampled_from(list(KINDS)), st.integers(0, 2), st.integers(-3, 3),
                   st.integers(-1, 9), st.one_of(st.text(max_size=6), st.sampled_from(["127.0.0.1:1", "eof"])))
_LANES = [json.dumps({"lane": i, "name": f"l{i}", "side": "client" if i == 2 else "server"}) for i in range(3)]


@settings(max_examples=80, deadline=None)
@given(st.one_of(st.lists(_LINE, max_size=25), st.lists(_EVENT, max_size=40).map(lambda ev: _LANES + ev)))
def test_any_lines_load_or_fail_in_one_line_and_then_draw(tmp_path_factory: pytest.TempPathFactory,
                                                          lines: list[str]) -> None:
    """Whatever follows a header: a RecordingError, or a timeline that draws, steps and counts."""
    path = tmp_path_factory.mktemp("fuzz") / "f.jsonl"
    path.write_text("\n".join([json.dumps({"format": "sockscope", "version": 1}), *lines]) + "\n")
    try:
        rec = Loader(path, lambda b: None).run()
    except RecordingError as exc:
        assert "\n" not in str(exc)
        return
    timeline = Timeline(rec)
    view = View(width=40)
    view.fit(timeline.t_min, max(timeline.t_max, timeline.t_min + 1))
    for by_connection in (False, True):
        timeline.by_connection = by_connection
        for row in timeline.rows():
            tr = timeline.track(row)
            if tr is not None:
                assert len(tr.cells(view)) == 40
            elif row.kind == "counter":
                assert len(timeline.spark(str(row.ref), view)) == 40
    timeline.stats_at(timeline.t_max // 2)
    for cid in rec.connections:  # whatever the windowed search finds is that connection's, once
        found = timeline.connection_events(cid)
        assert all(e.conn == cid for e in found) and len(found) == len(set(found))
    t, cur, steps = -1, None, 0
    while (found := timeline.step(t, True, current=cur)) is not None and steps <= rec.n_events:
        t, cur, steps = rec.lanes[found[0]].t[found[1]], found, steps + 1
    assert steps == rec.n_events


def test_a_lane_declared_after_the_last_update_waits_for_the_next() -> None:
    """The loader's thread declares lanes while the UI draws: rows show only lanes already indexed."""
    rec = load(DATA / "pool.jsonl")
    timeline = Timeline(rec)
    from tracer.recording.model import Lane

    rec.lanes[99] = Lane(99, "late", 1, "server")
    assert "late" not in [r.label for r in timeline.rows()]
    assert len(timeline.track_for_lane(99)) == 0
    timeline.update()
    assert "late" in [r.label for r in timeline.rows()]


def test_client_lanes_are_listed_by_name_with_numbers_as_numbers(tmp_path: Path) -> None:
    """Client threads declare lanes in the order they first act; rows list them client-1, client-2, ..., client-10."""
    names = ["client-10", "client-2", "client-1", "client-9"]
    lines = [json.dumps({"format": "sockscope", "version": 1}),
             json.dumps({"lane": 0, "name": "MainThread", "native_id": 1, "side": "server"})]
    for i, name in enumerate(names, start=1):
        lines.append(json.dumps({"lane": i, "name": name, "native_id": 100 + i, "side": "client"}))
        lines.append(f'[{i * 1000},500,"connect",{i},{i},-1,"127.0.0.1:{5000 + i}"]')
    path = tmp_path / "clients.jsonl"
    path.write_text("\n".join(lines) + "\n")
    timeline = Timeline(load(path))
    order = [row.label for row in timeline.rows() if row.kind == "lane" and row.label.startswith("client")]
    assert order == ["client-1", "client-2", "client-9", "client-10"]


# ---------------------------------------------------------------- each kind of time drawn apart
SPAN_KINDS = ["accept", "recv", "select", "connect", "queue", "backlog", "send", "work", "cpu"]


def one_span(name: str) -> Track:
    """A track holding one long span of class ``name`` (queue and backlog are a connection row's waits)."""
    codes = {"queue": tk.QUEUED_KIND, "backlog": tk.BACKLOG_KIND, "cpu": code("work")}
    details = {0: "cpu"} if name == "cpu" else {0: "wait"} if name == "work" else None
    return Track(array("q", [0]), array("q", [1000]), array("b", [codes.get(name, code(name) if name in KINDS
                                                                               else 0)]),
                 array("i", [1]), details=details)


@pytest.mark.parametrize("name", SPAN_KINDS)
def test_each_kind_of_time_has_its_own_glyph_and_colour(name: str) -> None:
    """Drawn, a span of this kind shows a glyph (and colour) no other kind shows: apart on a monochrome screen."""
    mine = one_span(name).cells(View(0, 100, 5))[2]
    others = {other: one_span(other).cells(View(0, 100, 5))[2] for other in SPAN_KINDS if other != name}
    assert mine[0] == palette.INKS[name].glyph
    for other, cell in others.items():
        assert cell[0] != mine[0], f"{name} and {other} draw alike"
        assert palette.INKS[other].colour != palette.INKS[name].colour
    assert mine[0] not in {ink.glyph for ink in palette.MARK_INKS} | {tk.SHORT_GLYPH, tk.LIFE_GLYPH, "→", "←"}


def test_a_cell_shows_the_kind_that_took_most_of_it() -> None:
    tr = track((0, 30, "select"), (30, 10, "accept"), (40, 50, "recv"), (90, 10, "send"))
    assert glyphs(tr, View(0, 100, 1)) == "▒"
    assert glyphs(tr, View(0, 50, 2)) == "≈▒"


def test_work_draws_as_sleep_or_cpu_by_its_detail() -> None:
    details = {0: "wait", 1: "cpu"}
    tr = Track(array("q", [0, 100]), array("q", [100, 100]), array("b", [code("work")] * 2), array("i", [1, 1]),
               details=details)
    assert glyphs(tr, View(0, 50, 4)) == "══▓▓"
    old = Track(array("q", [0]), array("q", [100]), array("b", [code("work")]), array("i", [1]), work=tk.CPU)
    assert glyphs(old, View(0, 50, 2)) == "▓▓"  # an older recording's work: as its settings say


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 2000),
                          st.sampled_from(["recv", "send", "accept", "work", "close", "thread_start", "thread_exit",
                                           "submit", "start"])), min_size=1, max_size=60),
       st.floats(1, 1e5), st.integers(0, 5000))
def test_no_instant_disappears_at_any_zoom(raw: list[tuple[int, int, str]], scale: float, start: int) -> None:
    """A start, close or exit always shows in its cell (summarised: several in one cell are ※), at any zoom."""
    raw.sort()
    events = [(t, 0 if KINDS[k].look.value == "mark" else d, k) for t, d, k in raw]
    tr = track(*events)
    view = View(float(start), scale, 40)
    view.snap()
    cells = tr.cells(view)
    for t, _, k in events:
        if k not in ("thread_start", "close", "thread_exit"):
            continue
        c = view.cell_of(t)
        if 0 <= c < view.width:
            combined = {palette.SEVERAL.glyph} | ({palette.CLOSE_EXIT.glyph} if k != "thread_start" else set())
            assert cells[c][0] in {palette.MARKS[k].glyph} | combined, (k, t, c, cells[c])


# ---------------------------------------------------------------- bursts, counters, the ruler
def test_bursts_skip_the_dead_time_between_them(tmp_path: Path) -> None:
    from tracer.timeline import activity

    rec = load("recordings/thread-keepalive-blocking-recv.jsonl")
    found = activity.bursts(rec)
    assert len(found) >= 3  # a round of requests every 300 ms: one burst each
    assert all(b.t1 - b.t0 < 100_000_000 for b in found)  # each a few ms, not the 300 ms of thinking
    gaps = [b.t0 - a.t1 for a, b in zip(found, found[1:], strict=False)]
    assert min(gaps) > 200_000_000
    assert activity.next_burst(found, found[0].t0, True) == found[1]
    assert activity.next_burst(found, found[1].t0, False) == found[0]
    assert activity.next_burst(found, found[-1].t0, True) is None
    tl = Timeline(rec)
    t0, t1 = tl.active_window()
    assert t0 == found[0].t0 and t1 == found[-1].t1 and t0 > tl.t_min  # fit leaves out the wait before


def _spans_one_by_one(rec):  # the definition, an event at a time (what conn_spans did)
    from tracer.timeline import activity

    out = []
    for lane in rec.lanes.values():
        for i in range(len(lane)):
            code, detail = lane.kind[i], lane.details.get(i)
            if code in activity._QUIET or (isinstance(detail, str) and detail.startswith(("shutdown", "error"))):
                continue
            end = lane.t[i] + lane.dur[i]
            out.append((end, end, lane.conn[i] != 0) if code in activity._SPANS_END_ONLY
                       else (lane.t[i], end, lane.conn[i] != 0))
    return sorted(out)


@pytest.mark.parametrize("name", sorted(p.name for p in Path("recordings").glob("*.jsonl")))
def test_bursts_read_the_columns_and_each_distinct_detail_once(name: str, monkeypatch) -> None:
    # A details.get an event froze the UI for ~7 s at the end of loading 1M events; same spans as the definition.
    from tracer.recording.model import Details
    from tracer.timeline import activity

    rec = load(f"recordings/{name}")
    want = _spans_one_by_one(rec)
    monkeypatch.setattr(Details, "get", lambda *a: pytest.fail("details looked up an event at a time"))
    assert activity.conn_spans(rec) == want
    # the C path (when built) merges the same spans into the same bursts
    assert activity.bursts(rec) == activity.bursts(rec, want)


def test_bursts_in_c_are_taken_when_built_and_refuse_bad_columns() -> None:
    from array import array

    from tracer.recording.fastpath import native
    from tracer.timeline import activity

    if not hasattr(native, "bursts"):
        pytest.skip("the C reader is not built (SOCKSCOPE_PURE_PYTHON or no compiler)")
    t, dur, conn = array("q", [0, 10, 5_000_000]), array("i", [5, 5, 1]), array("i", [1, 0, 0])
    kind = array("b", [5, 5, 4])  # send, send, recv
    got = native.bursts([(t, dur, kind, conn, 3, array("i"))], activity._HOW, 1_000_000, 0.1)
    assert got == [(0, 15, 2, 1), (5_000_001, 5_000_001, 1, 0)]  # a recv is a point at its end
    got = native.bursts([(t, dur, kind, conn, 3, array("i", [0]))], activity._HOW, 1_000_000, 0.1)
    assert got == [(10, 15, 1, 0), (5_000_001, 5_000_001, 1, 0)]  # a stopped event is left out
    with pytest.raises(ValueError):
        native.bursts([(t, dur, kind, conn, 4, array("i"))], activity._HOW, 1, 0.1)  # n past the columns
    with pytest.raises(TypeError):
        native.bursts([(t, [5], kind, conn, 3, array("i"))], activity._HOW, 1, 0.1)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 3_000_000), st.integers(0, 2_000_000),
                                   st.sampled_from(["recv", "send", "accept", "listen", "close", "start"]),
                                   st.integers(0, 2)), max_size=30), min_size=1, max_size=4),
       st.sampled_from([1, 100_000, 1_000_000]), st.sampled_from([0.0, 0.1, 0.5]))
def test_bursts_in_c_merge_lane_by_lane_as_one_sort_of_every_span(lanes, min_gap, share) -> None:
    """The C path merges each lane's spans, then the lanes' pieces: the same bursts as the definition, which
    sorts every span at once (a wait's end after the next start, spans overlapping, lanes far apart)."""
    from tracer.recording.fastpath import native
    from tracer.timeline import activity

    if not hasattr(native, "bursts"):
        pytest.skip("the C reader is not built (SOCKSCOPE_PURE_PYTHON or no compiler)")
    cols, found = [], []
    for events in lanes:
        events = sorted(events)  # a lane's events are in time order; their spans' points need not be
        t, dur = array("q", [e[0] for e in events]), array("q", [e[1] for e in events])
        kind, conn = array("b", [KINDS[e[2]].code for e in events]), array("i", [e[3] for e in events])
        cols.append((t, dur, kind, conn, len(events), array("i")))
        for a, d, k, c in zip(t, dur, kind, conn, strict=True):
            if k not in activity._QUIET:
                found.append((a + d, a + d, c != 0) if k in activity._SPANS_END_ONLY else (a, a + d, c != 0))
    found.sort()
    got = [activity.Burst(*b) for b in native.bursts(cols, activity._HOW, min_gap, share)]
    if not found:
        assert got == []
        return
    whole = max(s[1] for s in found) - found[0][0]
    want = []
    gap = max(min_gap, whole * share)
    start, end, count, conns = found[0][0], found[0][1], 0, 0
    for a, b, c in found:  # (activity.bursts' loop, with this test's gap)
        if a - end > gap:
            want.append(activity.Burst(start, end, count, conns))
            start, end, count, conns = a, b, 0, 0
        end, count, conns = max(end, b), count + 1, conns + c
    want.append(activity.Burst(start, end, count, conns))
    assert got == want


def test_open_connections_are_recounted_at_most_a_sixth_of_the_time(monkeypatch) -> None:
    # At 10M events a recount takes ~2.5 s; done every 0.5 s while loading, it held the UI thread most of the load.
    from tracer.timeline import rows

    tl = Timeline(load("recordings/pool-saturated-queue.jsonl"), fed=True)  # (a loader's: not in until finish)
    clock, calls = [100.0], []

    def slow(self):  # a recount that takes 2 s, of 20,000 connections
        calls.append(clock[0])
        clock[0] += 2.0
        return [0] * 20_000, []

    monkeypatch.setattr(rows.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(type(tl.rec.connections), "open_intervals", slow)
    tl._opens_recount.key = (-1, -1)
    tl.stats_at(0)
    for step in (1.0, 5.0):  # 1 s and 6 s after it: the recording grew, but not 10 s (5x its cost) yet
        clock[0] += step
        tl.rec.n_events += 1
        tl.look()  # (the loader's thread, after each chunk)
        tl.stats_at(0)
    assert len(calls) == 1
    clock[0] += 4.5
    tl.rec.n_events += 1
    tl.stats_at(0)
    assert len(calls) == 1  # the UI's thread does not recount: it reads the last
    tl.look()
    assert tl.stats_at(0).open_connections == 20_000 and len(calls) == 2
    clock[0] += 1.0
    tl.rec.n_events += 1
    tl.finish()  # the file is in: counted at once, not 10 s later (the strip showed a count of before the end)
    assert len(calls) == 3
    tl.stats_at(0)
    assert len(calls) == 3  # (and the UI's thread finds it made)


def test_the_legend_looks_for_connection_waits_at_most_a_sixth_of_the_time(monkeypatch) -> None:
    # Each look copies every connection's columns: at 10M events, on every redraw, ~14 s of a 32 s load.
    from tracer.timeline import rows

    tl = Timeline(load("recordings/pool-saturated-queue.jsonl"), fed=True)
    clock, calls = [100.0], []

    def slow(self, *names):  # a look that takes 1 s
        calls.append(names)
        clock[0] += 1.0
        return names[0] == "submit_t"

    monkeypatch.setattr(rows.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(type(tl.rec.connections), "any_wait", slow)
    monkeypatch.setattr(type(tl.rec.connections), "__len__", lambda self: 20_000)
    assert "queue" in tl.inks() and len(calls) == 2
    clock[0] += 3.0
    tl.rec.n_events += 1
    tl.look()
    assert "queue" in tl.inks() and len(calls) == 2  # 3 s after two 1 s looks: not yet (10 s)
    clock[0] += 7.5
    tl.rec.n_events += 1
    assert "queue" in tl.inks() and len(calls) == 2  # (the UI's thread leaves it to the loader's)
    tl.look()
    assert "queue" in tl.inks() and len(calls) == 3  # the queue's wait was seen: only the backlog's is looked for
    assert calls[-1][0] == "connect_t"
    tl.finish()  # the file is in: one look at the whole, both waits, at once
    assert "queue" in tl.inks() and len(calls) == 5 and tl.inks() == tl.inks() and len(calls) == 5


def test_counters_of_one_unit_share_a_scale() -> None:
    tl = Timeline(load("recordings/thread-backlog-kernel-queue.jsonl"))
    assert tl.counter_top("backlog") == tl.rec.counters["backlog"].peak()
    assert tl.counter_top("threads") == tl.rec.counters["threads"].peak()
    tl = Timeline(load("recordings/pool-saturated-queue.jsonl"))
    queue, backlog = tl.rec.counters["queue"].peak(), tl.rec.counters["backlog"].peak()
    assert tl.counter_top("backlog") == tl.counter_top("queue") == max(queue, backlog)
    value, top = tl.counter_at("queue", 10**12) or (None, None)
    assert top == queue and value == tl.rec.counters["queue"].v[-1]


def test_a_ruler_past_a_second_says_seconds() -> None:
    labels = [label for _, label in tk.ruler_ticks(View(25.2e9, 1e6, 80))]
    assert labels and all(label.endswith(" s") for label in labels)  # 25.22 s, not 25220 ms
    assert labels[1] == "25.22 s"


def _index(tr: Track) -> tuple:  # type: ignore[type-arg]
    return (tr.n, list(tr.cls), {c: list(a) for c, a in tr.cum.items()}, list(tr.cum),
            {k: list(a) for k, a in tr.inst.items()}, None if tr.maxend is None else list(tr.maxend),
            dict(tr._sums), tr._top, tr.life)


@pytest.mark.skipif(tk._native is None, reason="the C extension is not built here")
@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 50),
                          st.sampled_from(["recv", "send", "accept", "close", "work", "select", "start", "submit",
                                           "thread_exit", "connect"]),
                          st.sampled_from([None, "cpu", "wait", "eof"])), min_size=1, max_size=60),
       st.lists(st.integers(1, 20), max_size=4), st.sampled_from([tk.WORK, tk.CPU]))
def test_the_c_extend_indexes_as_the_python_one(events, pieces, work) -> None:
    """Track.extend in C (tracer/recording/_fastread.c) against _extend_py, grown in the same pieces."""
    events = sorted(events, key=lambda e: e[:3])  # (not by detail: None and a str do not compare)
    made = []
    for _ in range(2):
        t, dur, kind, conn = array("q"), array("q"), array("b"), array("i")
        details: dict[int, object] = {}
        tr = Track(t, dur, kind, conn, details=details, work=work)
        made.append((tr, t, dur, kind, conn, details))
    done = 0
    for size in [*pieces, len(events)]:
        for _tr, t, dur, kind, conn, details in made:
            for i, (a, d, k, x) in enumerate(events[done:done + size], done):
                t.append(a)
                dur.append(d)
                kind.append(code(k))
                conn.append(0)
                if x is not None:
                    details[i] = x
        done = min(len(events), done + size)
        c_tr, py_tr = made[0][0], made[1][0]
        assert c_tr.extend() == py_tr._extend_py()
        assert _index(c_tr) == _index(py_tr)


# ---------------------------------------------------------------- the cells in C (track_cells) against Python
needs_cells_c = pytest.mark.skipif(tk._cells_c is None, reason="the C extension is not built here")


@needs_cells_c
@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 120),
                          st.sampled_from(["recv", "send", "accept", "close", "work", "select", "start", "submit",
                                           "thread_start", "thread_exit", "connect", "listen"]),
                          st.sampled_from([None, "cpu", "wait"])), min_size=1, max_size=80),
       st.booleans(), st.floats(-50, 400), st.floats(0.3, 200), st.integers(0, 90), st.booleans())
def test_the_c_cells_are_the_python_ones(events, client, start, scale, width, wide) -> None:
    """Track.cells in C (a zoom summarises every cell again) against _cells_py: overlapping spans, instants,
    client arrows, cells of a fraction of a nanosecond, int32 and int64 durations."""
    events = sorted(events, key=lambda e: e[:3])
    details = {i: e[3] for i, e in enumerate(events) if e[3] is not None}
    tr = Track(array("q", [e[0] for e in events]), array("q" if wide else "i", [e[1] for e in events]),
               array("b", [code(e[2]) for e in events]), array("i", [1] * len(events)), client, details)
    view = View(start, scale, width)
    assert tr.cells(view) == tr._cells_py(view, width)
    view.snap()  # as the widget asks: cells on multiples of the scale
    assert tr.cells(view) == tr._cells_py(view, width)


@needs_cells_c
@pytest.mark.parametrize("name", sorted(p.name for p in Path("recordings").glob("*.jsonl")))
def test_the_c_cells_draw_every_shipped_recording_as_python(name: str) -> None:
    tl = Timeline(load(f"recordings/{name}"))
    t0, t1 = tl.t_min, max(tl.t_max, tl.t_min + 1000)
    tracks = [*tl._tracks.values(), *(tl.conn_track(c) for c in list(tl.rec.connections)[:12])]
    for k in range(40):  # from the whole recording down to a nanosecond a cell
        scale = (t1 - t0) / 80 / 1.7**k
        if scale < tk.MIN_SCALE:
            break
        view = View(t0 + (t1 - t0) * (k % 7) / 7, scale, 80)
        view.snap()
        for tr in tracks:
            assert tr.cells(view) == tr._cells_py(view, 80)


@needs_cells_c
def test_the_c_cells_leave_what_a_double_cannot_hold_to_python() -> None:
    tr = track((2**60, 5, "recv"), (2**60 + 10, 3, "send"))  # times past 2**49 ns: not exact in C's sums
    assert tk._cells_c(tr, 2.0**60, 1.0, 20, tk._CELL_TABLES) is None
    view = View(2.0**60, 1.0, 20)
    assert tr.cells(view) == tr._cells_py(view, 20)
    assert glyphs(tr, view).strip()  # drawn, by Python
    with pytest.raises(TypeError):
        tk._cells_c(tr, 0.0, 1.0, 20, ())  # not the tables


def test_cells_without_the_c_path_are_the_python_ones(monkeypatch) -> None:
    tr = track((0, 50, "recv"), (60, 0, "close"), (70, 20, "send"))
    want = tr._cells_py(View(0, 10, 12), 12)
    monkeypatch.setattr(tk, "_cells_c", None)  # as SOCKSCOPE_PURE_PYTHON=1 or no compiler
    assert tr.cells(View(0, 10, 12)) == want


# ---------------------------------------------------------------- a counter's spark: peaks in C, the peak kept
@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(-5, 40)), max_size=60), st.floats(-50, 500),
       st.floats(0.5, 100), st.integers(0, 60))
def test_counter_peaks_in_c_are_the_python_ones(samples, start, scale, width) -> None:
    from tracer.timeline import rows

    samples.sort()
    ct, cv = array("q", [s[0] for s in samples]), array("q", [s[1] for s in samples])
    view = View(start, scale, width)
    assert rows._peaks(ct, cv, view) == rows._peaks_py(ct, cv, view)
    if rows._counter_peaks is not None:
        assert rows._counter_peaks(ct, cv, start, scale, width) == rows._peaks_py(ct, cv, view)


def test_counter_peaks_in_c_refuse_other_columns() -> None:
    from tracer.timeline import rows

    if rows._counter_peaks is None:
        pytest.skip("the C extension is not built here")
    with pytest.raises(TypeError):
        rows._counter_peaks(array("i", [1]), array("q", [1]), 0.0, 1.0, 3)
    assert rows._counter_peaks(array("q", [2**60]), array("q", [1]), 0.0, 1.0, 3) is None  # past a double


def test_a_counter_peak_is_kept_and_grows_with_the_samples(monkeypatch) -> None:
    # A counter row asks for its peak on every redraw (and its spark for the scale): at 10M events a look at
    # ~200,000 samples was ~3 ms a frame.  Kept, it reads only what was appended, and a new array from the start.
    tl = Timeline(load("recordings/pool-saturated-queue.jsonl"))
    queue = tl.rec.counters["queue"]
    assert tl.counter_at("queue", 0) is not None
    assert tl._peak(queue) == queue.peak()
    top = queue.peak()
    queue.t.append(queue.t[-1] + 1)
    queue.v.append(top + 7)
    assert tl._peak(queue) == top + 7 == queue.peak()
    queue.v = array("q", [1, 2])  # the reader sorts a counter into new arrays at the end
    assert tl._peak(queue) == 2
