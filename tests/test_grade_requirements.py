"""The requirement types over hand-built recordings whose answers are known: each fails exactly when it should.

A hand-built "server" per requirement type (one that never closes, one whose
threads grow, one that keeps a connection queued, ...) is a recording written
line by line (tests/handmade.py), with client lanes in round 1's range as a
grading session writes them.  And ``replay --at/--conn`` opens where a failure points.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.handmade import Lines
from tracer.analysis.check import check
from tracer.cli import main
from tracer.clients.toolkit import LANES_PER_ROUND
from tracer.grade.evidence import Evidence, RunWindow
from tracer.grade.requirements import TYPES
from tracer.recording.reader import load
from tracer.tui.app import ReplayApp
from tracer.tui.widgets.timeline import TimelineView

MS = 1_000_000
CLIENT = LANES_PER_ROUND + 1  # round 1's first client lane
PARAMS = {"clients": 4, "requests": 1, "timeout": 5.0, "deadline": 30.0}


def conversation(r: Lines, k: int, *, worker: int, t: int, close: bool = True, answered: bool = True,
                 queued_ms: int = 0, start: bool = False) -> None:
    """Connection ``k`` (1-based) on client lane ``client-k``: connect, request, reply, both ends close."""
    conn, lane, peer = k, CLIENT + k - 1, f"127.0.0.1:{40000 + k}"
    r.ev(t, MS // 10, "connect", lane, 10_000_000 + k, -1, peer)
    r.ev(t, MS // 10, "accept", 1, conn, -1, peer)
    if queued_ms:
        r.ev(t + MS // 5, 0, "submit", 1, conn, 1)
    t += queued_ms * MS
    if queued_ms:
        r.ev(t + MS // 5, 0, "start", worker, conn)
    if start:
        r.ev(t + MS // 4, 0, "thread_start", worker, conn)
    r.ev(t + MS // 5, 100, "send", lane, 10_000_000 + k, 35)
    r.ev(t + MS // 4, MS // 2, "recv", worker, conn, 35)
    if not answered:
        r.ev(t + 5000 * MS, 0, "close", lane, 10_000_000 + k, -1, "timeout")
        return
    r.ev(t + MS, 100, "send", worker, conn, 200)
    r.ev(t + MS // 4, 2 * MS, "recv", lane, 10_000_000 + k, 200)
    r.ev(t + 3 * MS, 100, "close", lane, 10_000_000 + k, -1, "client")
    r.ev(t + 3 * MS, 2 * MS, "recv", worker, conn, 0)
    if close:
        r.ev(t + 5 * MS, 100, "close", worker, conn, -1, "eof")
    if start:
        r.ev(t + 6 * MS, 0, "thread_exit", worker)


def server(tmp_path: Path, workers: int = 2, **kinds: bool) -> Lines:
    r = Lines("pool").lane(1, "MainThread")
    for w in range(workers):
        r.lane(2 + w, f"worker-{w}")
    for k in range(1, 5):
        r.lane(CLIENT + k - 1, f"client-{k}", "client")
    return r


def evidence(tmp_path: Path, r: Lines, scenario: str = "burst", **params: float) -> Evidence:
    path = tmp_path / "rec.jsonl"
    path.write_text("\n".join(r.end(alive=[1, 2, 3, *range(CLIENT, CLIENT + 4)]).lines) + "\n")
    rec = load(path)
    run = RunWindow("run", scenario, {**PARAMS, **params}, 1, status="done")
    return Evidence(rec, {"run": run}, check(rec))


def verdict(ev: Evidence, kind: str, **params):
    spec = TYPES[kind]
    full = {k: p.default for k, p in spec.params.items()} | params
    return spec.check(ev, full)


def test_a_server_that_never_closes_fails_closed_and_only_closed(tmp_path):
    r = server(tmp_path)
    for k in range(1, 5):
        conversation(r, k, worker=2 + k % 2, t=k * 10 * MS, close=k != 3)
    ev = evidence(tmp_path, r)
    assert verdict(ev, "answered").passed
    bad = verdict(ev, "closed")
    assert not bad.passed and bad.measured == "1 connection never closed by the server"
    assert bad.conn == 3 and "connection 3 (127.0.0.1:40003) never closed by the server" in bad.evidence
    assert bad.at is not None and 30 * MS <= bad.at <= 40 * MS
    assert verdict(ev, "latency", run="run", under=10 * MS).passed


def test_a_reply_that_never_came_fails_answered_with_its_story_and_latency_is_never(tmp_path):
    r = server(tmp_path)
    for k in range(1, 5):
        conversation(r, k, worker=2, t=k * 10 * MS, answered=k != 2)
    ev = evidence(tmp_path, r)
    bad = verdict(ev, "answered")
    assert not bad.passed and bad.measured == "3 of 4 answered" and bad.conn == 2
    assert "the server read 35 bytes but sent no answer; the client gave up waiting" in bad.evidence
    assert bad.lessons == (1, 11)
    late = verdict(ev, "latency", run="run", under=10 * MS, percentile=50.0)
    assert late.passed  # half of them were quick
    p99 = verdict(ev, "latency", run="run", under=10 * MS)
    assert not p99.passed and p99.measured.startswith("p99 never (1 of 4 not answered)")


def test_a_connection_left_in_the_pools_queue_is_told_as_such(tmp_path):
    r = server(tmp_path)
    conversation(r, 1, worker=2, t=10 * MS)
    conversation(r, 2, worker=3, t=10 * MS, queued_ms=800)
    lat = verdict(evidence(tmp_path, r), "latency", run="run", under=500 * MS)
    assert not lat.passed and lat.conn == 2
    assert "connection 2 took 80" in lat.evidence and "in the pool's queue" in lat.evidence


def test_threads_that_grow_fail_max_threads_and_reuse_at_the_thread_that_broke_the_bound(tmp_path):
    r = server(tmp_path, workers=4)
    for k in range(1, 5):
        conversation(r, k, worker=1 + k, t=k * MS, start=True)  # a new thread each, all alive at once
    ev = evidence(tmp_path, r)
    assert verdict(ev, "max-threads", threads=5).passed
    alive = verdict(ev, "max-threads", threads=3)
    assert not alive.passed and alive.measured == "5 alive at most"  # MainThread and four
    reuse = verdict(ev, "reuse", threads=2)
    assert not reuse.passed and reuse.measured == "4 threads created for 4 connections"
    assert "thread worker-2 was thread number 3 created" in reuse.evidence and reuse.at == 3 * MS + MS // 4
    assert verdict(ev, "reuse", threads=4).passed


def test_idle_connections_each_holding_a_thread_fail_idle_threads(tmp_path):
    r = server(tmp_path, workers=4)
    for k in range(1, 5):
        conversation(r, k, worker=1 + k, t=k * MS, start=True)
    ev = evidence(tmp_path, r, "idle", idle=4, busy=0)
    bad = verdict(ev, "idle-threads", run="run")
    assert not bad.passed and bad.measured == "5 threads alive with 4 idle connections open (1.25 each)"
    assert verdict(ev, "idle-threads", run="run", per_connection=1.5).passed


@pytest.mark.parametrize("reasons, passed, says", [
    (["rejected 400", "closed by server", "reset", "rejected 431"], True, None),
    (["rejected 400", "answered 200", "rejected 400", "rejected 400"], False, "sent a request line without a "
                                                                            "version: the server answered 200"),
    (["rejected 400", "rejected 400", "no answer and kept open", "rejected 400"], False,
     "sent an unknown method: the server no answer and kept open"),
])
def test_hostile_passes_only_when_every_bad_request_is_refused(tmp_path, reasons, passed, says):
    r = server(tmp_path)
    for k, reason in enumerate(reasons, 1):
        lane = CLIENT + k - 1
        r.ev(k * MS, 100, "connect", lane, 10_000_000 + k, -1, f"127.0.0.1:{40000 + k}")
        r.ev(k * MS + 200, 100, "send", lane, 10_000_000 + k, 20)
        r.ev(k * MS + 900, 100, "close", lane, 10_000_000 + k, -1, reason)
    v = verdict(evidence(tmp_path, r, "hostile", clients=4, probes=0), "hostile", run="run")
    assert v.passed is passed
    if says:
        assert says in v.evidence


def test_a_run_that_did_not_happen_fails_what_reads_it_and_says_why(tmp_path):
    r = server(tmp_path)
    conversation(r, 1, worker=2, t=MS)
    ev = evidence(tmp_path, r)
    ev.runs["run"].status, ev.runs["run"].why = "not run", "the server died"
    v = verdict(ev, "answered")
    assert not v.passed and v.measured == "not measured" and "the server died" in v.evidence


# ---------------------------------------------------------------- replay --at/--conn
async def test_replay_opens_at_the_time_and_connection_a_failure_names(tmp_path):
    r = server(tmp_path)
    for k in range(1, 5):
        conversation(r, k, worker=2, t=k * 10 * MS)
    path = tmp_path / "rec.jsonl"
    path.write_text("\n".join(r.end(alive=[1, 2, 3]).lines) + "\n")
    app = ReplayApp(str(path), at=30 * MS, conn=3)
    async with app.run_test(size=(120, 35)) as pilot:
        for _ in range(200):
            if app.loaded and app.open_at is None:
                break
            await pilot.pause(0.01)
        view = app.query_one(TimelineView)
        assert view.playhead == 30 * MS and view.highlight == 3
        assert view.selected is not None and load(path).lanes[view.selected[0]].conn[view.selected[1]] == 3


def test_replay_at_takes_the_one_time_syntax(capsys, tmp_path):
    with pytest.raises(SystemExit) as exited:
        main(["replay", "x.jsonl", "--at", "soon"])
    assert exited.value.code == 2
    assert "expected a time such as 12ms" in capsys.readouterr().err


# ---------------------------------------------------------------- the hostile clients, against raw sockets
@pytest.mark.parametrize("behaviour, verdict", [
    ("hold", "no answer and kept open"),  # accepts and never reads: a stranger can tie it up
    ("hang up", "closed by server"),
    ("ok", "answered 200 and kept open"),  # a 200 to anything, and the connection left open
])
def test_hostile_clients_say_what_the_server_did(tmp_path, behaviour, verdict):
    import socket
    import threading

    from tracer.clients import program

    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            if behaviour == "hang up":
                conn.close()
                continue
            if behaviour == "ok":
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
            held.append(conn)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        outcome = program.run_scenario(listener.getsockname(), "hostile",
                                       {"clients": 3, "probes": 0, "timeout": 0.3, "close_ms": 100})
    finally:
        stop.set()
        t.join(5)
        for conn in held:
            conn.close()
        listener.close()
    assert outcome.outcomes == {verdict: 3}


def test_a_submission_printing_megabytes_is_cut_off_and_still_drained():
    """The pipe is read to its end (a full pipe would block the program), but only the limit is kept."""
    import sys

    from tracer.run.processes import spawn

    code = "import sys\nfor _ in range(40): sys.stdout.write('x' * 100_000)\nprint()\nprint('listening on the end')"
    piped = spawn([sys.executable, "-c", code], limit=1000)
    assert piped.proc.wait(30) == 0
    piped.close(10)
    assert sum(len(line) for line in piped.stdout) <= 1000
    assert piped.cut >= 3_000_000
