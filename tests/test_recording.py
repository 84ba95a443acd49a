"""The reader (recording/reader.py): exact round trips, and bad input rejected with file:line and what was expected."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import wait_for
from tracer.errors import RecordingError
from tracer.record.recorder import Recorder
from tracer.recording.model import Recording
from tracer.recording.reader import load

HEADER = {"format": "sockscope", "version": 1, "model": "pool", "settings": {"workers": 2}, "t0_monotonic_ns": 0}


class FakeClock:
    """A clock that says what the test sets (trio's MockClock, in small)."""

    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def write(path: Path, *lines: object, trailer: bool = True) -> Path:
    """A recording from Python values (dicts and lists as JSON; str as written)."""
    text = [json.dumps(HEADER)]
    for line in lines:
        text.append(line if isinstance(line, str) else json.dumps(line))
    if trailer:
        text.append(json.dumps({"end": True, "t": 10, "events": 0, "dropped": 0, "alive_lanes": []}))
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


LANE0 = {"lane": 0, "name": "MainThread", "native_id": 7, "side": "server"}


# ----------------------------------------------------------------- round trip through the Recorder
def test_recorder_output_reads_back_with_exact_times(tmp_path: Path) -> None:
    clock = FakeClock(5_000)
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "pool", "settings": {"workers": 2}}, clock=clock, flush_interval=3600)
    main = rec.declare_lane("MainThread")
    clock.now = 5_100
    rec.instant("listen", main, nbytes=128, detail="127.0.0.1:8000")
    rec.emit((200, 50, "accept", main, 1, -1, "127.0.0.1:40000"))
    rec.emit((260, 0, "submit", main, 1, 1))
    rec.counter("queue", 1, t=260)
    rec.mark("burst of 1 client", t=255)

    def worker() -> None:
        lane = rec.declare_lane()
        rec.emit((300, 0, "start", lane, 1, -1))
        rec.emit((310, 1_000, "recv", lane, 1, 78))
        rec.emit((1_400, 20, "send", lane, 1, 179))
        rec.emit((1_500, 5, "close", lane, 1, -1, "eof"))
        clock.now = 6_600  # the lane's thread_exit, stamped as the thread ends

    t = threading.Thread(target=worker, name="worker_0")
    t.start()
    t.join()
    wait_for(lambda: rec.pending == 8, what="thread_exit")
    clock.now = 7_000
    trailer = rec.close()
    assert trailer["events"] == 8 and trailer["dropped"] == 0 and trailer["t"] == 2_000

    r = load(path)
    assert r.header["t0_monotonic_ns"] == 5_000 and r.model == "pool" and r.settings == {"workers": 2}
    assert [(lane.id, lane.name, lane.side) for lane in r.lanes.values()] == [
        (0, "MainThread", "server"), (1, "worker_0", "server")]
    assert [(e.t, e.dur, e.kind, e.conn, e.nbytes, e.detail) for e in r.lanes[0].events()] == [
        (100, 0, "listen", 0, 128, "127.0.0.1:8000"),
        (200, 50, "accept", 1, -1, "127.0.0.1:40000"),
        (260, 0, "submit", 1, 1, None),
    ]
    assert [(e.t, e.dur, e.kind, e.nbytes) for e in r.lanes[1].events()] == [
        (300, 0, "start", -1), (310, 1_000, "recv", 78), (1_400, 20, "send", 179), (1_500, 5, "close", -1),
        (1_600, 0, "thread_exit", -1)]
    assert r.counters["queue"].at(259) == 0 and r.counters["queue"].at(260) == 1
    assert r.marks == [(255, "burst of 1 client")]
    assert r.trailer == trailer and r.complete and not r.warnings and r.n_events == 8 and r.t_max == 1_600
    c = r.connections[1]
    assert (c.peer, c.accepted_t, c.submit_t, c.start_t, c.close_t, c.close_reason) == (
        "127.0.0.1:40000", 250, 260, 300, 1_500, "eof")
    assert (c.queue_wait, c.service, c.requests, c.bytes_in, c.bytes_out) == (40, 1_200, 1, 78, 179)


def test_non_ascii_details_and_marks_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "pool"}, clock=FakeClock(), flush_interval=3600)
    lane = rec.declare_lane("wörker \"1\"")
    rec.emit((1, 0, "close", lane, 1, -1, "error: Connexion réinitialisée \\ \"x\""))
    rec.mark("café ☕", t=2)
    rec.close()
    r = load(path)
    assert r.lanes[0].name == "wörker \"1\""
    assert r.lanes[0].event(0).detail == "error: Connexion réinitialisée \\ \"x\""
    assert r.marks == [(2, "café ☕")]


def test_events_out_of_order_in_the_file_are_sorted_per_lane(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", LANE0, [30, 0, "recv", 0, 1, 5], [10, 0, "recv", 0, 1, 6],
                 [20, 0, "close", 0, 1, -1, "eof"])
    lane = load(path).lanes[0]
    assert list(lane.t) == [10, 20, 30] and list(lane.count) == [6, -1, 5] and lane.details == {1: "eof"}
    assert list(lane.lines) == [4, 5, 3]  # each event still knows its line in the file


# ----------------------------------------------------------------- rejected, with file:line and what was expected
@pytest.mark.parametrize(
    ("lines", "line_no", "expected"),
    [
        ([LANE0, "not json"], 3, "expected a JSON value"),
        ([LANE0, "[1, 2, \"recv\""], 3, "expected a JSON value"),
        ([LANE0, "42"], 3, "expected an event array or an object"),
        ([LANE0, [1, 2, "recv", 0, 1]], 3, "expected an event [t, dur, kind, lane, conn, count(, detail)]"),
        ([LANE0, [1, 2, "recv", 0, 1, 5, "x", "y"]], 3, "expected an event"),
        ([LANE0, [1, "2", "recv", 0, 1, 5]], 3, "expected an integer dur"),
        ([LANE0, [1, 2, "recv", 0, True, 5]], 3, "expected an integer conn"),
        ([LANE0, [1, 2, "recv", 0, 1, 5, [1]]], 3, "expected a string or integer detail"),
        ([LANE0, [1, 2, "dance", 0, 1, 5]], 3, "expected an event kind"),
        ([LANE0, [-1, 2, "recv", 0, 1, 5]], 3, "expected a time and duration >= 0"),
        ([LANE0, [1, 2, "recv", 0, 2**40, 5]], 3, "expected a connection id that fits in 32 bits"),
        ([LANE0, [1, 2, "recv", 0, 1, 2**64]], 3, "expected a count that fits in 64 bits"),
        ([LANE0, "[1,2,\"recv\",0,1,99999999999999999999999]"], 3, "expected a count that fits in 64 bits"),
        ([{"c": "queue", "t": 1, "v": 2**64}], 2, "expected a counter value that fits in 64 bits"),
        ([{"c": "queue", "t": -2**64, "v": 1}], 2, "expected a counter time >= 0"),
        ([[1, 2, "recv", 3, 1, 5]], 2, "event on lane 3, which was not declared before it"),
        ([[1, 2, "recv", 0, 1, 5], LANE0], 2, "event on lane 0, which was not declared before it"),
        ([LANE0, LANE0], 3, "lane 0 declared twice"),
        ([{"lane": "0", "name": "x"}], 2, "expected a lane declaration"),
        ([{"lane": 1, "name": "x", "side": "middle"}], 2, "expected side"),
        ([{"c": "queue", "t": "soon", "v": 1}], 2, "expected a counter"),
        ([{"mark": "x"}], 2, "expected a mark"),
        ([{"what": 1}], 2, "expected a lane, counter, mark or trailer object"),
    ],
)
def test_malformed_lines_are_rejected_with_where_and_what(tmp_path: Path, lines: list[object], line_no: int,
                                                           expected: str) -> None:
    path = write(tmp_path / "bad.jsonl", *lines)
    with pytest.raises(RecordingError) as err:
        load(path)
    assert err.value.line == line_no
    assert str(err.value).startswith(f"{path}:{line_no}: ")
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("hello", "expected a sockscope header object"),
        ('{"format": "chrome", "version": 1}', "expected a header with \"format\": \"sockscope\""),
        ('["sockscope", 1]', "expected a header with \"format\": \"sockscope\""),
        ('{"format": "sockscope"}', "expected an integer format version"),
        ('{"format": "sockscope", "version": "1"}', "expected an integer format version"),
        ('{"format": "sockscope", "version": 2}', "upgrade sockscope"),
    ],
)
def test_bad_headers_are_rejected_on_line_1(tmp_path: Path, header: str, expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(header + "\n" + json.dumps(LANE0) + "\n", encoding="utf-8")
    with pytest.raises(RecordingError) as err:
        load(path)
    assert err.value.line == 1 and expected in str(err.value)


def test_newer_version_names_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    path.write_text('{"format": "sockscope", "version": 7}\n', encoding="utf-8")
    with pytest.raises(RecordingError, match=r"new\.jsonl:1: format version 7 is newer than this sockscope reads "
                                             r"\(1\); upgrade sockscope to open it"):
        load(path)


def test_text_after_the_trailer_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", LANE0)
    with path.open("a") as f:
        f.write("\n")  # blank lines after the trailer are harmless
        f.write(json.dumps([1, 0, "recv", 0, 1, 5]) + "\n")
    with pytest.raises(RecordingError, match=r"r\.jsonl:5: expected nothing after the trailer"):
        load(path)


def test_non_utf8_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", LANE0, [1, 0, "recv", 0, 1, 5])
    data = path.read_bytes().replace(b'"recv"', b'"r\xffcv"')
    path.write_bytes(data)
    with pytest.raises(RecordingError, match=r"r\.jsonl:3: expected UTF-8 text, got byte 0xff"):
        load(path)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.mkdir(), p)[1], "is a folder"),
        (lambda p: (p.write_bytes(b""), p)[1], "empty file"),
    ],
)
def test_files_that_are_not_recordings(tmp_path: Path, make: object, expected: str) -> None:
    path = make(tmp_path / "x.jsonl")  # type: ignore[operator]
    with pytest.raises(RecordingError, match=expected):
        load(path)


# ----------------------------------------------------------------- accepted with a warning
def test_missing_trailer_is_accepted_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", LANE0, [1, 0, "recv", 0, 1, 5], trailer=False)
    r = load(path)
    assert not r.complete and r.n_events == 1
    assert r.warnings == [f"{path}: no trailer: the recording did not end cleanly (or is still growing)"]


@pytest.mark.parametrize("cut", [1, 5, 12])
def test_cut_off_last_line_is_accepted_with_a_warning(tmp_path: Path, cut: int) -> None:
    path = write(tmp_path / "r.jsonl", LANE0, [1, 0, "recv", 0, 1, 5], trailer=False)
    with path.open("a") as f:
        f.write('[2,0,"close",0,1,-1,"eof"]'[:cut])
    r = load(path)
    assert r.n_events == 1
    assert any("r.jsonl:4: the last line is cut off" in w for w in r.warnings)
    assert any("no trailer" in w for w in r.warnings)


def test_whole_last_line_without_newline_is_taken(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", LANE0)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    r = load(path)
    assert r.complete and not r.warnings


def test_cut_off_inside_a_multibyte_character(tmp_path: Path) -> None:
    """A recording killed in the middle of writing 'é' ends in half a character: a cut-off line, not bad UTF-8."""
    path = write(tmp_path / "r.jsonl", LANE0, [1, 0, "recv", 0, 1, 5], trailer=False)
    with path.open("ab") as f:
        f.write('[2,0,"close",0,1,-1,"error: réinitialisée"]'.encode()[:30])
    r = load(path)
    assert r.n_events == 1 and any("cut off" in w for w in r.warnings)


def test_cut_off_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(HEADER)[:20], encoding="utf-8")
    with pytest.raises(RecordingError, match=":1: "):
        load(path)


def test_integer_of_5000_digits_is_rejected_not_a_crash(tmp_path: Path) -> None:
    """Python refuses to parse integers over 4300 digits with a plain ValueError (no .msg, unlike JSON's)."""
    path = write(tmp_path / "r.jsonl", LANE0, "[" + "1" * 5000 + ",0,\"recv\",0,1,5]")
    with pytest.raises(RecordingError, match=":3: expected a JSON value"):
        load(path)


def test_deeply_nested_line_is_rejected_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", LANE0, "[" * 100_000)
    with pytest.raises(RecordingError, match=":3: "):
        load(path)


# ----------------------------------------------------------------- Hypothesis: a Recording or a RecordingError
def _sample(tmp_path: Path) -> bytes:
    rec = Recorder(str(tmp_path / "sample.jsonl"), {"model": "thread"}, clock=FakeClock(0), flush_interval=3600)
    a = rec.declare_lane("accept")
    rec.emit((10, 5, "accept", a, 1, -1, "127.0.0.1:5000"))
    rec.emit((20, 0, "thread_start", a, 1, -1))
    rec.emit((30, 400, "recv", a, 1, 78))
    rec.emit((440, 3, "send", a, 1, 179))
    rec.emit((450, 1, "close", a, 1, -1, "eof"))
    rec.counter("threads", 2, t=20)
    rec.mark("é", t=25)
    rec.close()
    return (tmp_path / "sample.jsonl").read_bytes()


def _load_or_error(path: Path) -> None:
    try:
        r = load(path)
    except RecordingError as exc:
        assert exc.path == str(path) and exc.line >= 0
        return
    assert isinstance(r, Recording)


lines = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.lists(st.one_of(st.integers(), st.text(max_size=8), st.booleans(), st.none(), st.floats()),
             max_size=8).map(json.dumps),
    st.dictionaries(st.sampled_from(["lane", "name", "side", "c", "t", "v", "mark", "end", "native_id"]),
                    st.one_of(st.integers(), st.text(max_size=8), st.booleans(), st.none()),
                    max_size=5).map(json.dumps),
    st.tuples(st.integers(-2**70, 2**70), st.integers(-5, 2**64), st.sampled_from(["recv", "send", "close", "x"]),
              st.integers(-2, 3), st.integers(-2**40, 2**40), st.integers(-2**70, 2**70))
    .map(lambda v: json.dumps(list(v))),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(lines, min_size=1, max_size=5), st.booleans())
def test_appended_lines_give_a_recording_or_a_recording_error(tmp_path: Path, extra: list[str],
                                                               drop_trailer: bool) -> None:
    data = _sample(tmp_path)
    if drop_trailer:
        data = data[: data.rstrip(b"\n").rfind(b"\n") + 1]
    path = tmp_path / "h.jsonl"
    path.write_bytes(data + "\n".join(extra).encode("utf-8", "surrogatepass"))
    _load_or_error(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_corrupted_bytes_give_a_recording_or_a_recording_error(tmp_path: Path, data: st.DataObject) -> None:
    good = bytearray(_sample(tmp_path))
    how = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
    at = data.draw(st.integers(0, len(good) - 1))
    if how == "flip":
        good[at] = data.draw(st.integers(0, 255))
    elif how == "insert":
        good[at:at] = data.draw(st.binary(min_size=1, max_size=10))
    elif how == "delete":
        del good[at: at + data.draw(st.integers(1, 10))]
    else:
        del good[at:]
    path = tmp_path / "h.jsonl"
    path.write_bytes(bytes(good))
    _load_or_error(path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 10_000))
def test_any_truncation_after_the_header_loads_with_warnings(tmp_path: Path, cut: int) -> None:
    data = _sample(tmp_path)
    header_end = data.index(b"\n") + 1
    cut = header_end + cut % (len(data) - 1 - header_end)  # (the trailer without its newline is whole)
    path = tmp_path / "t.jsonl"
    path.write_bytes(data[:cut])
    r = load(path)
    assert not r.complete and r.warnings


def test_a_line_that_never_ends_is_refused_without_reading_it_all() -> None:
    """/dev/zero is endless NULs with no newline: an error at line 1, not a machine out of memory."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    with pytest.raises(RecordingError, match=r"/dev/zero:1: a line longer than 1,048,576 characters"):
        load("/dev/zero")
