"""The Recorder: counts in the trailer, loss counted never silent, a failing sink detached, lanes before events."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from tracer.errors import TracerError
from tracer.record.hotpath import built as hot_path_built
from tracer.record.recorder import Recorder, context_switches, open_for_writing
from tracer.recording.reader import load


@pytest.fixture(autouse=True)
def queue_in(hot_path: str) -> str:
    """Every test here runs with the C queue and with the Python one."""
    return hot_path


class FakeClock:
    def __init__(self, now: int = 0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def lines(path: Path) -> list[object]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_trailer_counts_every_event(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "pool"}, clock=FakeClock(), flush_interval=0.001)
    lane = rec.declare_lane("main")
    for i in range(1_000):
        rec.emit((i, 1, "recv", lane, 1, i))
    trailer = rec.close()
    assert (trailer["events"], trailer["dropped"]) == (1_000, 0)
    written = lines(path)
    assert written[0]["format"] == "sockscope" and written[-1] == trailer  # type: ignore[index]
    assert sum(isinstance(x, list) for x in written) == 1_000
    assert load(path).n_events == 1_000


def test_close_twice_writes_one_trailer(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "pool"}, clock=FakeClock())
    assert rec.close()["events"] == 0
    assert rec.close() == {}
    assert sum(1 for x in lines(path) if isinstance(x, dict) and x.get("end")) == 1


def test_overflow_is_counted_as_dropped(tmp_path: Path) -> None:
    """The writer never runs before close (a flush interval of an hour), so 25 wait behind a bound of 10."""
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "pool"}, clock=FakeClock(), flush_interval=3600, max_pending=10)
    lane = rec.declare_lane("main")
    for i in range(25):
        rec.emit((i, 0, "recv", lane, 1, i))
    trailer = rec.close()
    assert (trailer["events"], trailer["dropped"]) == (10, 15)
    r = load(path)
    assert list(r.lanes[0].count) == list(range(10))  # the oldest kept, the newest excess dropped
    assert r.dropped == 15


class FailingFile(io.StringIO):
    """A sink that takes the header, then fails every write, like a disk that filled up."""

    name = "full-disk.jsonl"

    def __init__(self, good_writes: int) -> None:
        super().__init__()
        self.good_writes = good_writes
        self.attempts = 0

    def write(self, text: str) -> int:
        self.attempts += 1
        if self.attempts > self.good_writes:
            raise OSError(28, "No space left on device")
        return super().write(text)


def test_failing_sink_is_detached_and_reported_once(capsys: pytest.CaptureFixture[str]) -> None:
    sink = FailingFile(good_writes=2)  # the header and one batch
    rec = Recorder(sink, {"model": "pool"}, clock=FakeClock(), flush_interval=3600)
    lane = rec.declare_lane("main")
    rec.emit((1, 0, "recv", lane, 1, 5))
    rec.flush()  # written
    for _ in range(3):
        for i in range(4):
            rec.emit((10 + i, 0, "recv", lane, 1, i))  # the server goes on emitting: nothing raises
        rec.flush()
    trailer = rec.close()
    assert rec.broken is not None and "No space left" in rec.broken
    assert (trailer["events"], trailer["dropped"]) == (1, 12)  # nothing lost silently
    err = capsys.readouterr().err
    assert err.count("sockscope: recording to full-disk.jsonl stopped: [Errno 28] No space left on device") == 1
    assert sink.attempts == 3  # detached after the first failure: no more writes tried, not even the trailer


@pytest.mark.skipif(not hot_path_built(), reason="the C hot path was not built (no C compiler)")
def test_a_file_whose_descriptor_fails_under_the_c_queue_is_detached_and_reported_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The C queue writes its batches to the file's descriptor itself (write(2)): a real failure there (a pipe nobody
    reads: EPIPE) detaches the sink as the buffer's does, said once, every later event counted."""
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "pool"}, clock=FakeClock(), flush_interval=3600, c_hot_path=True)
    lane = rec.declare_lane("main")
    rec.emit((1, 0, "recv", lane, 1, 5))
    rec.flush()
    read, write = os.pipe()
    os.close(read)
    rec._raw = os.fdopen(write, "wb")
    try:
        for _ in range(3):
            for i in range(4):
                rec.emit((10 + i, 0, "recv", lane, 1, i))
            rec.flush()
        trailer = rec.close()
    finally:
        rec._raw.close()
    assert rec.broken is not None and "Broken pipe" in rec.broken
    assert (trailer["events"], trailer["dropped"]) == (1, 12)
    assert capsys.readouterr().err.count("stopped: [Errno 32] Broken pipe") == 1
    r = load(path)
    assert [e.nbytes for e in r.lanes[lane].events()] == [5] and not r.complete


class FailingBuffer(io.BytesIO):
    """A file's binary buffer that fails every write, like a disk that filled up."""

    def write(self, data: Any) -> int:
        raise OSError(28, "No space left on device")


@pytest.mark.skipif(not hot_path_built(), reason="the C hot path was not built (no C compiler)")
def test_a_failing_file_under_the_c_queue_is_detached_and_reported_once(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The C queue's batches go to the file's binary buffer as bytes: its failure detaches the sink as the text
    layer's does (once said, every later event counted, the server going on)."""
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "pool"}, clock=FakeClock(), flush_interval=3600, c_hot_path=True)
    lane = rec.declare_lane("main")
    rec.emit((1, 0, "recv", lane, 1, 5))
    rec.flush()  # written
    rec._raw = FailingBuffer()
    for _ in range(3):
        for i in range(4):
            rec.emit((10 + i, 0, "recv", lane, 1, i))
        rec.flush()
    trailer = rec.close()
    assert rec.broken is not None and "No space left" in rec.broken
    assert (trailer["events"], trailer["dropped"]) == (1, 12)
    assert capsys.readouterr().err.count("stopped: [Errno 28] No space left on device") == 1
    r = load(path)  # what was written before stays readable (no trailer)
    assert [e.nbytes for e in r.lanes[lane].events()] == [5] and not r.complete


@pytest.mark.parametrize("c", [True, False] if hot_path_built() else [False])
def test_both_queues_write_the_same_file_through_the_file_they_opened(tmp_path: Path, c: bool) -> None:
    """Lanes, counters, marks and events with and without details, not ASCII, in their order, as text or bytes."""
    path = tmp_path / f"{c}.jsonl"
    rec = Recorder(str(path), {"model": "pool"}, clock=FakeClock(), flush_interval=3600, c_hot_path=c)
    lane = rec.declare_lane("récv-1")
    rec.emit((1, 2, "recv", lane, 1, 5))
    rec.mark("ünïcode mark")
    rec.emit((3, 0, "close", lane, 1, -1, "é"))
    rec.flush()
    rec.counter("queue", 3)
    rec.emit((4, 1, "send", lane, 1, 9))
    rec.close()
    body = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()[1:-1]]
    assert body == [{"lane": lane, "name": "récv-1", "native_id": threading.get_native_id(), "side": "server"},
                    {"mark": "ünïcode mark", "t": body[1]["t"]}, [1, 2, "recv", lane, 1, 5],
                    [3, 0, "close", lane, 1, -1, "é"], {"c": "queue", "t": body[4]["t"], "v": 3},
                    [4, 1, "send", lane, 1, 9]]


def test_failing_sink_on_the_header_counts_everything_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    rec = Recorder(FailingFile(good_writes=0), {"model": "pool"}, clock=FakeClock(), flush_interval=3600)
    lane = rec.declare_lane("main")
    rec.emit((1, 0, "recv", lane, 1, 5))
    trailer = rec.close()
    assert (trailer["events"], trailer["dropped"]) == (0, 1)
    assert capsys.readouterr().err.count("stopped") == 1


def test_lanes_are_declared_before_their_events_under_concurrency(tmp_path: Path) -> None:
    """Threads start and emit while the writer flushes every millisecond; the reader rejects any event whose
    lane was not declared on an earlier line, so loading is the check."""
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "thread"}, flush_interval=0.001)
    go = threading.Event()

    def emitter(k: int) -> None:
        go.wait(5)
        lane = rec.lane()  # declared here, on first use, as a traced socket call would
        for i in range(300):
            rec.emit((rec.now(), 0, "recv", lane, k + 1, i))
            if i % 50 == 0:
                rec.instant("send", conn=k + 1, nbytes=i)

    threads = [threading.Thread(target=emitter, args=(k,), name=f"recv-{k + 1}") for k in range(12)]
    for t in threads[:6]:
        t.start()
    go.set()
    for t in threads[6:]:  # these declare while the first six are mid-flight
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: rec.pending + rec._written >= 12 * 306 + 12, what="every thread's exit stamped")
    trailer = rec.close()
    r = load(path)
    assert r.n_events == trailer["events"] == 12 * (300 + 6 + 1)  # + each lane's thread_exit
    assert sorted(lane.name for lane in r.lanes.values()) == sorted(t.name for t in threads)
    for lane in r.lanes.values():
        assert lane.kinds() == {"recv", "send", "thread_exit"}


def test_an_ended_thread_leaves_nothing_behind_in_the_recorder(tmp_path: Path) -> None:
    """The thread model starts a thread per connection: the recorder kept an entry for each one it had
    seen (lane -> thread), for as long as the server ran (~150 B a connection, found by tracemalloc
    under bench/soak.py). The lanes of threads still running are still named alive in the trailer."""
    rec = Recorder(str(tmp_path / "r.jsonl"), {"model": "thread"}, flush_interval=0.001)
    rec.declare_lane("main")
    stay, done = threading.Event(), threading.Event()

    def serve_one() -> None:
        rec.instant("recv")

    def stays() -> None:
        rec.instant("recv")
        done.set()
        stay.wait(10)

    staying = threading.Thread(target=stays, name="stays")
    staying.start()
    done.wait(5)
    for _ in range(200):
        t = threading.Thread(target=serve_one)
        t.start()
        t.join()
    assert len(rec._lane_threads) == len(rec._lane_sides) == 2  # main and the one still running: none that ended
    trailer = rec.close()
    stay.set()
    staying.join()
    assert trailer["alive_lanes"] == [0, 1]


def test_probes_are_written_when_they_change_and_skipped_when_they_fail(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    clock = FakeClock(0)
    rec = Recorder(str(path), {"model": "pool"}, clock=clock, flush_interval=3600, sample_interval=3600)
    values: list[int | Exception] = [1, 1, 2, OSError("socket closed"), 2, 3]

    def probe() -> int:
        v = values.pop(0) if len(values) > 1 else values[0]  # the last value from then on (close samples too)
        if isinstance(v, Exception):
            raise v
        return v

    rec.add_probe("queue", probe)
    for t in (10, 20, 30, 40, 50):
        clock.now = t
        rec.sample_probes()
    rec.close()
    counter = load(path).counters["queue"]
    assert list(zip(counter.t, counter.v, strict=True)) == [(0, 1), (20, 2), (50, 3)]


def test_append_mode_recorder_writes_no_header_or_trailer(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    clock = FakeClock(1_000)
    server = Recorder(str(path), {"model": "pool"}, clock=clock, flush_interval=3600)
    server_lane = server.declare_lane("MainThread")
    server.emit((5, 0, "listen", server_lane, 0, 128))
    server.flush()
    client = Recorder(str(path), clock=clock, t0=1_000, side="client", first_lane=1000, write_header=False,
                      flush_interval=3600)
    client.emit((7, 3, "connect", client.declare_lane("client-1"), 1, -1, "127.0.0.1:5000"))
    client.close()
    server.close()
    r = load(path)
    assert [lane.id for lane in r.lanes.values()] == [0, 1000]
    assert r.lanes[1000].side == "client" and r.complete and r.n_events == 2


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: tmp / "missing" / "r.jsonl", "folder .* does not exist"),
        (lambda tmp: (tmp / "dir").mkdir() or tmp / "dir", "it is a folder"),
    ],
)
def test_unwritable_paths_are_one_line_errors(tmp_path: Path, make: object, expected: str) -> None:
    with pytest.raises(TracerError, match=expected):
        open_for_writing(str(make(tmp_path)))  # type: ignore[operator]


# ----------------------------------------------------------------- offload: formatting in a child process
def _record(path: Path, offload: bool, c_hot_path: bool | None = None) -> dict[str, object]:
    rec = Recorder(str(path), {"model": "pool"}, clock=FakeClock(10), flush_interval=0.001, offload=offload,
                   c_hot_path=c_hot_path)
    lane = rec.declare_lane("MainThread")
    rec.counter("queue", 0, t=1)
    for i in range(2_000):
        rec.emit((i, 3, "recv", lane, i // 10 + 1, i))
        if i % 100 == 0:
            rec.emit((i, 1, "close", lane, i // 10 + 1, -1, f"error: é {i} \"quoted\""))
    rec.mark("done ☕", t=5)
    return rec.close(extra="kept")


def test_offloaded_recording_is_the_same_file(tmp_path: Path) -> None:
    """The Python formatter, in this process or offloaded, and the C queue write the same bytes."""
    here, there, c = tmp_path / "here.jsonl", tmp_path / "there.jsonl", tmp_path / "c.jsonl"
    t_here, t_there = _record(here, offload=False, c_hot_path=False), _record(there, offload=True, c_hot_path=False)
    if hot_path_built():
        assert _record(c, offload=True) == t_here  # offload is not used with the C queue
        assert _body(here) == _body(c)
    assert t_here == t_there and t_there["events"] == 2_020 and t_there["dropped"] == 0
    assert t_there["extra"] == "kept"
    # the header's wall-clock "started" may differ by a second; everything after it is byte for byte the same
    assert _body(here) == _body(there)
    assert load(there).n_events == 2_020


def _body(path: Path) -> list[bytes]:
    """A recording's lines after the header, but the context switch counters (this process's, they differ)."""
    return [line for line in path.read_bytes().split(b"\n")[1:] if b'"ctx_' not in line]


def test_offloaded_formatter_killed_is_reported_once_and_counted(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "pool"}, clock=FakeClock(), flush_interval=3600, offload=True,
                   c_hot_path=False)
    lane = rec.declare_lane("main")
    rec.emit((1, 0, "recv", lane, 1, 5))
    rec.flush()
    assert rec._child is not None
    rec._child.proc.kill()
    rec._child.proc.wait()
    for _ in range(3):
        for j in range(5):
            rec.emit((2 + j, 0, "recv", lane, 1, j))  # nothing raises in the server
        rec.flush()
    trailer = rec.close()
    assert trailer["dropped"] == 15 and trailer["events"] == 1
    assert capsys.readouterr().err.count("stopped: the formatter process stopped") == 1
    assert not load(path).complete  # no trailer: the reader says the recording did not end cleanly


def test_formatter_counts_what_it_could_not_write() -> None:
    """The child on a full disk (/dev/full): it says so once, and its trailer counts the batch as dropped."""
    import marshal
    import struct
    import subprocess
    import sys

    def frame(message: tuple[object, ...]) -> bytes:
        data = marshal.dumps(message)
        return struct.pack("<I", len(data)) + data

    end = {"end": True, "t": 9, "events": 3, "dropped": 1, "alive_lanes": []}
    stdin = frame(("batch", ['{"lane": 0, "name": "m"}'], [(1, 0, "recv", 0, 1, 5)] * 3))
    stdin += frame(("batch", [], [(2, 0, "recv", 0, 1, 5)] * 2)) + frame(("end", json.dumps(end), True))
    out = subprocess.run([sys.executable, "-c", "from tracer.record.formatter import main; main()",
                          "/dev/full"], input=stdin, capture_output=True, timeout=30)
    assert json.loads(out.stdout) == dict(end, events=0, dropped=1 + 5)
    assert out.stderr.decode().count("No space left on device") == 1


def test_an_event_that_cannot_be_written_is_counted_and_recording_goes_on(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A bug in an emitter (here a time of infinity) costs its batch, counted and said once; not the writer."""
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "pool"}, clock=FakeClock(), flush_interval=3600)
    lane = rec.declare_lane("main")
    rec.emit((1, 0, "recv", lane, 1, 5))
    rec.emit((float("inf"), 0, "recv", lane, 1, 5))
    rec.flush()
    rec.emit((float("inf"), 0, "recv", lane, 1, 5))
    rec.flush()
    rec.emit((3, 0, "send", lane, 1, 7))
    trailer = rec.close()
    assert (trailer["events"], trailer["dropped"]) == (1, 3)
    assert capsys.readouterr().err.count("could not be written") == 1
    r = load(path)
    assert [(e.kind, e.nbytes) for e in r.lanes[lane].events()] == [("send", 7)] and r.complete


def test_threads_that_start_are_counted_even_between_two_samples(tmp_path: Path) -> None:
    """The writer samples every hour here; five threads alive for a moment still reach the threads counter."""
    from tracer.record.net import Net

    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "thread"}, flush_interval=3600, sample_interval=3600)
    net = Net(rec)
    go = threading.Event()
    threads = [net.Thread(target=go.wait, args=(5,), name=f"recv-{k}") for k in range(5)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    rec.close()
    r = load(path)
    assert r.counters["threads"].peak() >= 6  # the main thread and the five


@pytest.mark.skipif(context_switches() is None, reason="no getrusage here (Windows)")
def test_the_servers_context_switches_are_counted_from_the_recordings_start(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    rec = Recorder(str(path), {"model": "thread"}, flush_interval=3600)
    before = context_switches()
    threads = [threading.Thread(target=threading.Event().wait, args=(0.01,)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()  # each join and each wait gives up the CPU: voluntary switches
    rec.close()
    after = context_switches()
    assert before is not None and after is not None
    r = load(path)
    voluntary = r.counters["ctx_voluntary"]
    assert 20 <= voluntary.peak() <= after[0] - before[0] + 50  # since the start, not since the process began
    assert "ctx_involuntary" in r.counters


def test_a_clients_recorder_counts_no_context_switches(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    Recorder(str(path), {"model": "pool"}, flush_interval=3600).close()
    server = [json.loads(line).get("c") for line in path.read_text().splitlines()].count("ctx_voluntary")
    client = Recorder(str(path), side="client", first_lane=1000, write_header=False, flush_interval=3600)
    client.close()
    names = [json.loads(line).get("c") for line in path.read_text().splitlines()]
    assert names.count("ctx_voluntary") == server  # the switches are the server's: a client adds none


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own switches (RUSAGE_THREAD): Linux only")
def test_the_writers_own_wakes_are_not_the_servers_switches(tmp_path: Path) -> None:
    """An idle server's recording wrote two context-switch lines every flush (the writer's own wake is a
    switch): with 10 ms flushes, ~25 in 0.25 s. The server (this test's main thread) switches once."""
    # In a process of its own: the counters are the whole process's, and a test worker's process has threads
    # of its own (pytest-xdist's execnet IO thread wakes as it pleases); the hot path chosen is inherited.
    path = tmp_path / "r.jsonl"
    code = ("import time; from tracer.record.recorder import Recorder; "
            f"rec = Recorder({str(path)!r}, {{'model': 'thread'}}, flush_interval=0.01, sample_interval=0.01); "
            "time.sleep(0.25); rec.close()")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    lines = [json.loads(line) for line in path.read_text().splitlines()[1:-1]]
    values = [line["v"] for line in lines if line.get("c") == "ctx_voluntary"]
    assert 1 <= len(values) <= 4, values
    assert values == sorted(values)  # a count since the start: never down


def test_the_writer_waits_without_running_threadings_python_code(tmp_path: Path) -> None:
    """Each wake of the writer ran threading.Event.wait's Condition (a new lock, a deque, ~10 Python
    calls), 20 times a second or more under a server; its wait is one C call now."""
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            calls.append(f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_code.co_name}")

    threading.setprofile(profile)  # the threads started from here on: the writer only
    try:
        rec = Recorder(str(tmp_path / "r.jsonl"), {"model": "thread"}, flush_interval=0.01, sample_interval=0.01)
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
    time.sleep(0.2)
    rec.close()
    waits = calls.count("recorder.py:wait")
    assert waits >= 5  # it woke, and was profiled
    lifecycle = {"run", "_bootstrap", "_bootstrap_inner", "_delete", "_stop", "_set_ident", "_set_native_id",
                 "_set_tstate_lock", "_started"}  # the thread's start and end, once
    assert sorted({c for c in calls if c.startswith("threading.py:") and c.split(":")[1] not in lifecycle}) == []


def _jobs_behind_a_busy_worker(path: Path, n: int) -> tuple[Recorder, Any, threading.Event, list[Any]]:
    """A one-worker pool whose writer samples every hour: the worker waits on ``go``, ``n`` jobs queue behind it."""
    from tracer.record.net import TracedExecutor

    rec = Recorder(str(path), {"model": "pool"}, flush_interval=3600, sample_interval=3600)
    pool = TracedExecutor(rec, 1, "worker")
    go = threading.Event()
    pool.submit(go.wait, 5)
    wait_for(lambda: pool._work_queue.qsize() == 0, what="the worker to take the first job")  # noqa: SLF001
    return rec, pool, go, [pool.submit(int) for _ in range(n)]


def test_the_pool_queue_counter_sees_a_queue_that_fills_and_drains_between_two_samples(tmp_path: Path) -> None:
    """Three jobs queued behind a busy worker for a moment still reach the queue counter (newcomer's check: the
    demo's burst read 'pool queue 0 / max 0' beside a connection story that said it waited 3 ms in the queue)."""
    rec, pool, go, queued = _jobs_behind_a_busy_worker(tmp_path / "r.jsonl", 3)
    go.set()
    for job in queued:
        job.result(timeout=5)
    pool.shutdown(wait=True)  # its wake-up sentinel stays in the queue: not a job (the counter ended at 1)
    rec.close()
    queue = load(tmp_path / "r.jsonl").counters["queue"]
    assert queue.peak() == 3 and queue.v[-1] == 0, list(zip(queue.t, queue.v, strict=True))
    assert list(queue.t) == sorted(queue.t)


def test_jobs_a_shutdown_cancels_leave_the_pool_queue_counter(tmp_path: Path) -> None:
    rec, pool, go, queued = _jobs_behind_a_busy_worker(tmp_path / "r.jsonl", 4)
    pool.shutdown(wait=False, cancel_futures=True)
    go.set()
    pool.shutdown(wait=True)
    with pytest.raises(RuntimeError):
        pool.submit(int)  # after shutdown: refused, and not counted
    rec.close()
    assert all(job.cancelled() for job in queued)
    queue = load(tmp_path / "r.jsonl").counters["queue"]
    assert queue.peak() == 4 and queue.v[-1] == 0, list(zip(queue.t, queue.v, strict=True))
