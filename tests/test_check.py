"""``check``: hand-built recordings with each kind of finding, at the right line; a real as-taught server."""

from __future__ import annotations

import socket

from tests.conftest import wait_for
from tests.handmade import US, Lines, pool_known
from tracer.analysis.check import CODES, check_file
from tracer.cli import main


def one_connection(close: bool = True) -> Lines:
    """A thread-model server: an accept lane and one recv-1 lane serving connection 1."""
    r = Lines("thread").lane(0, "MainThread").lane(1, "accept").lane(2, "recv-1")
    r.ev(0, 0, "listen", 0, 0, 128)
    r.ev(10 * US, 5 * US, "accept", 1, 1, -1, "127.0.0.1:40001", tag="accept")
    r.ev(16 * US, 0, "thread_start", 2, 1)
    r.ev(17 * US, 3 * US, "recv", 2, 1, 40, tag="recv")
    r.ev(21 * US, 1 * US, "send", 2, 1, 200, tag="send")
    if close:
        r.ev(23 * US, 1 * US, "close", 2, 1, -1, "eof", tag="close")
    r.ev(25 * US, 0, "thread_exit", 2, tag="exit")
    return r


def codes(findings):
    return [(f.code, f.line) for f in findings]


def test_clean_recordings_have_no_findings(tmp_path):
    assert check_file(pool_known().write(tmp_path / "known.jsonl")) == []
    assert check_file(one_connection().end(alive=[1]).write(tmp_path / "one.jsonl")) == []


def test_connection_never_closed(tmp_path):
    r = one_connection(close=False).end(alive=[1])
    (f,) = check_file(r.write(tmp_path / "r.jsonl"))
    assert (f.code, f.line, f.conn) == ("never-closed", r.at["send"], 1)
    assert "127.0.0.1:40001" in f.message and "server" in f.message


def test_recv_after_close(tmp_path):
    r = one_connection()
    r.ev(24 * US, 1 * US, "recv", 2, 1, 0, tag="late")
    (f,) = check_file(r.end(alive=[1]).write(tmp_path / "r.jsonl"))
    assert (f.code, f.line) == ("recv-after-close", r.at["late"])
    assert f"line {r.at['close']}" in f.message


def test_event_after_close(tmp_path):
    r = one_connection()
    r.ev(24 * US, 1 * US, "send", 2, 1, 10, tag="late")
    assert codes(check_file(r.end(alive=[1]).write(tmp_path / "r.jsonl"))) == [("after-close", r.at["late"])]


def test_event_the_table_does_not_allow(tmp_path):
    r = Lines("thread").lane(0, "MainThread").lane(1, "recv-1")
    r.ev(5 * US, 1 * US, "recv", 1, 7, 10, tag="orphan")  # recv on a connection never accepted
    r.ev(6 * US, 0, "thread_exit", 1)
    findings = check_file(r.end().write(tmp_path / "r.jsonl"))
    assert [f.code for f in findings] == ["unexpected"]  # never opened, so not "never closed" either
    assert findings[0].line == r.at["orphan"]
    assert "expected accept" in findings[0].message


def test_lane_ending_without_thread_exit(tmp_path):
    r = one_connection()
    r.lines.pop()  # drop recv-1's thread_exit
    found = check_file(r.end(alive=[1]).write(tmp_path / "r.jsonl"))
    assert codes(found) == [("no-thread-exit", r.at["close"])]
    assert "recv-1" in found[0].message


def test_alive_lanes_and_main_thread_are_exempt(tmp_path):
    r = one_connection()
    r.lines.pop()
    assert check_file(r.end(alive=[1, 2]).write(tmp_path / "r.jsonl")) == []
    assert not [f for f in check_file(one_connection().end().write(tmp_path / "s.jsonl"))
                if "MainThread" in f.message]


def test_event_after_thread_exit(tmp_path):
    r = one_connection()
    r.ev(30 * US, 1 * US, "work", 2, 0, tag="ghost")
    assert codes(check_file(r.end(alive=[1]).write(tmp_path / "r.jsonl"))) == [("after-thread-exit", r.at["ghost"])]


def test_missing_trailer_and_cut_off_line(tmp_path):
    r = one_connection()
    found = check_file(r.write(tmp_path / "r.jsonl"))
    assert codes(found) == [("no-trailer", len(r.lines))]
    r.ev(40 * US, 0, "thread_start", 1)
    found = check_file(r.write(tmp_path / "c.jsonl", cut=True))
    assert [f.code for f in found] == ["cut-off", "no-trailer"]


def test_a_cut_recording_says_so_before_the_connections_it_left_open(tmp_path, capsys):
    """The list is in line order, so the cut came last; the note comes first, a student not blaming the server."""
    cut = one_connection(close=False).write(tmp_path / "cut.jsonl", cut=True)
    assert main(["check", str(cut)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "did not end cleanly" in out[0] and "never closed" in out[1] and "cut off" in out[-3]
    ended = one_connection(close=False).end(alive=[1]).write(tmp_path / "ended.jsonl")
    assert main(["check", str(ended)]) == 1
    assert "did not end cleanly" not in capsys.readouterr().out


def test_dropped_events(tmp_path):
    r = one_connection().end(dropped=7, alive=[1])
    (f,) = check_file(r.write(tmp_path / "r.jsonl"))
    assert (f.code, f.line) == ("dropped", r.at["trailer"])
    assert "7 events" in f.message


def test_every_code_is_described():
    assert set(CODES) >= {"never-closed", "recv-after-close", "after-close", "unexpected", "no-thread-exit",
                          "after-thread-exit", "no-trailer", "cut-off", "dropped"}


def test_exit_codes(tmp_path, capsys):
    clean = pool_known().write(tmp_path / "clean.jsonl")
    assert main(["check", str(clean)]) == 0
    assert "clean" in capsys.readouterr().out
    bad = one_connection(close=False).end(alive=[1]).write(tmp_path / "bad.jsonl")
    assert main(["check", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{bad}:") and "never closed" in out[0]
    assert out[-1].endswith("1 finding: 1 connection never closed")
    junk = tmp_path / "junk.jsonl"
    junk.write_text("hello\n")
    assert main(["check", str(junk)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert main(["check", str(tmp_path / "missing.jsonl")]) == 2


def test_as_taught_server_leaves_its_connections_unclosed(serve):
    s = serve("thread", as_taught=True)
    for _ in range(2):
        with socket.create_connection(s.address, timeout=5) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.recv(65536)
    wait_for(lambda: sum(c.requests for c in s.snapshot().connections.values()) >= 2, what="two replies")
    rec = s.stop()
    found = check_file(rec.path)
    unclosed = [f for f in found if f.code == "never-closed"]
    assert sorted(f.conn for f in unclosed) == sorted(c.id for c in rec.connections.values() if c.id > 0)
    assert len(unclosed) == 2


def test_client_side_left_open(tmp_path):
    r = one_connection().lane(9, "client-1", side="client")
    r.ev(9 * US, 2 * US, "connect", 9, 501, -1, "127.0.0.1:40001")
    r.ev(12 * US, 1 * US, "send", 9, 501, 40, tag="client-send")
    r.ev(40 * US, 0, "thread_exit", 9)
    (f,) = check_file(r.end(alive=[1]).write(tmp_path / "r.jsonl"))
    assert (f.code, f.line, f.conn) == ("never-closed", r.at["client-send"], 1)  # joined to the server's id
    assert "by the client" in f.message


def test_a_client_half_no_accept_matches_is_named_by_the_clients_id(tmp_path):
    """Regression (newcomer's check): a cut recording's clients whose accepts were cut off were named by the
    reader's own negative numbers: 'connection -10000013 never closed by the client'."""
    r = one_connection().lane(9, "client-1", side="client")
    r.ev(9 * US, 2 * US, "connect", 9, 10_000_013, -1, "127.0.0.1:40999")  # no accept has this peer
    r.ev(12 * US, 1 * US, "send", 9, 10_000_013, 40, tag="client-send")
    r.ev(40 * US, 0, "thread_exit", 9)
    (f,) = check_file(r.end(alive=[1]).write(tmp_path / "r.jsonl"))
    assert (f.code, f.line, f.conn) == ("never-closed", r.at["client-send"], -10_000_013)
    assert f.message.startswith("connection 10000013 (client side only) never closed by the client"), f.message


def test_clean_counts_a_client_programs_connections_and_says_event_for_one(tmp_path, capsys):
    """(Adversarial check: a client program's clean recording said '0 connections follow the lifecycle', and one
    of a single event 'clean: 1 events'.)"""
    r = Lines("client.py").lane(0, "MainThread", side="client")
    r.ev(10 * US, 2 * US, "connect", 0, 1, -1, "127.0.0.1:40001")
    r.ev(13 * US, 1 * US, "send", 0, 1, 40)
    r.ev(15 * US, 1 * US, "close", 0, 1, -1, "client")
    path = str(r.end(alive=[0]).write(tmp_path / "c.jsonl"))
    assert main(["check", path]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: clean: 3 events, 1 connection follows the lifecycle"
    one = Lines("client.py").lane(0, "MainThread", side="client").ev(0, 0, "thread_start", 0)
    path = str(one.end(alive=[0]).write(tmp_path / "one.jsonl"))
    assert main(["check", path]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: clean: 1 event, 0 connections follow the lifecycle"


def test_a_refused_connect_left_unclosed_is_no_connection_left_open(tmp_path):
    """(Review: a client program refused and never closing its socket read 'never closed by the client: its
    last event is connect (state connected)'.)  A connect that worked and was never closed still is one."""
    r = Lines("client.py").lane(0, "MainThread", side="client")
    r.ev(10 * US, 60 * US, "connect", 0, 1, -1, "refused")
    r.ev(80 * US, 20 * US, "connect", 0, 2, -1, "timeout")
    r.ev(110 * US, 5 * US, "connect", 0, 3, -1, "error: [Errno 113] No route to host")
    r.ev(116 * US, 1 * US, "send", 0, 3, 0)  # (the program went on with the socket: its send and recv fail too)
    r.ev(117 * US, 1 * US, "recv", 0, 3, 0)
    r.ev(120 * US, 2 * US, "connect", 0, 4, -1, "127.0.0.1:40001", tag="connected")
    (f,) = check_file(r.end(alive=[0]).write(tmp_path / "c.jsonl"))
    assert (f.code, f.line, f.conn) == ("never-closed", r.at["connected"], -4)
