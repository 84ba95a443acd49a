"""The lesson servers on real loopback sockets: the events each connection leaves."""

from __future__ import annotations

import socket
import struct

import pytest

import servers
from tests.conftest import client, http_get, read_response, server_kinds, wait_for

MODELS = ["single", "thread", "pool"]


@pytest.mark.parametrize("model", MODELS)
def test_keepalive_connection_sequence(serve, model):
    s = serve(model)
    with client(s.address) as c:
        for _ in range(3):
            reply = http_get(c)
            assert reply.startswith(b"HTTP/1.1 200 OK")
            assert b"Connection: keep-alive" in reply
    s.wait_closed()
    rec = s.stop()
    (conn,) = [c for c in rec.connections.values() if c.id > 0]
    kinds = server_kinds(rec, conn.id)
    expected_start = {"single": ["accept"], "thread": ["accept", "thread_start"],
                      "pool": ["accept", "submit", "start"]}[model]
    assert kinds[: len(expected_start)] == expected_start
    body = kinds[len(expected_start):]
    assert body == ["recv", "send"] * 3 + ["recv", "close"]
    assert conn.close_reason == "eof"
    assert conn.requests == 3
    serving = {e.lane for e in rec.connection_events(conn.id) if e.kind in ("recv", "send", "close")}
    assert len(serving) == 1
    if model != "single":
        assert serving != {conn.accept_lane}, "served on the accepting thread"


def test_pool_reuses_workers(serve):
    s = serve("pool", workers=2)
    for _ in range(6):
        with client(s.address) as c:
            assert http_get(c, close=True).startswith(b"HTTP/1.1 200")
    rec = s.stop()
    serving = {c.serve_lane for c in rec.connections.values()}
    assert len(rec.connections) == 6
    assert len(serving) <= 2
    worker_lanes = [lane for lane in rec.lanes.values() if lane.name.startswith("worker")]
    assert 1 <= len(worker_lanes) <= 2


def test_thread_per_connection_lanes_start_and_end(serve):
    s = serve("thread")
    for _ in range(4):
        with client(s.address) as c:
            assert http_get(c, close=True).startswith(b"HTTP/1.1 200")
    wait_for(lambda: sum(1 for t in __import__("threading").enumerate() if t.name.startswith("recv-")) == 0,
             what="recv threads to end")
    rec = s.stop()
    recv_lanes = [lane for lane in rec.lanes.values() if lane.name.startswith("recv-")]
    assert [lane.name for lane in recv_lanes] == ["recv-1", "recv-2", "recv-3", "recv-4"]
    for lane in recv_lanes:
        kinds = [e.kind for e in lane.events()]
        assert kinds[0] == "thread_start" and kinds[-1] == "thread_exit"


def test_single_as_taught_is_the_lessons_first_program(serve):
    s = serve("single", as_taught=True)
    with client(s.address) as c:
        c.sendall(b"hello")
        assert c.recv(100) == b"Hello magedu.com"
        assert c.recv(100) == b""
    s.thread.join(5)
    assert not s.thread.is_alive(), "the lesson's first server serves one client and exits"
    rec = s.stop()
    (conn,) = rec.connections.values()
    assert server_kinds(rec, conn.id) == ["accept", "recv", "send", "close"]


@pytest.mark.parametrize("model", ["thread", "pool"])
def test_as_taught_never_closes(serve, model):
    s = serve(model, as_taught=True)
    with client(s.address) as c:
        reply = http_get(c)
        assert b"Date: Mon, 24 Oct 2022" in reply  # the lesson's response, as written
    rec = s.stop()
    (conn,) = rec.connections.values()
    assert server_kinds(rec, conn.id)[-2:] == ["recv", "send"]
    assert not conn.closed


def test_pool_as_taught_spends_a_worker_on_accept(serve):
    s = serve("pool", as_taught=True, workers=1)
    with client(s.address, timeout=0.5) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(TimeoutError):
            c.recv(100)  # the only worker runs the accept loop: nobody serves
    rec = s.stop()
    accept_lanes = {e.lane for lane in rec.lanes.values() for e in lane.events() if e.kind == "accept"}
    assert [rec.lanes[x].name for x in accept_lanes] == ["worker_0"]


def test_reset_recorded(serve):
    s = serve("pool")
    c = socket.create_connection(s.address)
    c.sendall(b"GET / HTTP/1.1\r\n")  # half a request
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()  # RST
    s.wait_closed()
    rec = s.stop()
    (conn,) = rec.connections.values()
    assert conn.close_reason == "reset"


def test_idle_timeout_recorded(serve):
    s = serve("thread", timeout=0.2)
    with client(s.address) as c:
        assert c.recv(10) == b""  # the server gives up on us
    rec = s.stop()
    (conn,) = rec.connections.values()
    assert conn.close_reason == "timeout"
    recv = [e for e in rec.connection_events(conn.id) if e.kind == "recv"]
    assert recv[-1].detail == "timeout" and recv[-1].dur >= 150_000_000


@pytest.mark.parametrize("request_bytes, status", [
    (b"BLAH\r\n\r\n", b"400"),
    (b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 9000 + b"\r\n\r\n", b"431"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"400"),  # a TLS hello
], ids=["garbage", "header-too-large", "tls-hello"])
def test_bad_requests_answered_and_closed(serve, request_bytes, status):
    s = serve("pool")
    with client(s.address) as c:
        c.sendall(request_bytes)
        reply = read_response(c)
        assert reply.split(b" ")[1] == status
        assert c.recv(10) == b""
    rec = s.stop()
    (conn,) = rec.connections.values()
    assert conn.close_reason == "server"


@pytest.mark.parametrize("model", list(servers.MODELS))
@pytest.mark.parametrize("header", [b"Host: a\x00b", b"Host: a\rb", b"X: \x1b[2J", b""],
                         ids=["nul", "cr", "escape", "no-host"])
def test_control_bytes_in_a_header_value_get_400_from_every_model(serve, model, header):
    """Regression (issue 15): ``Host: a\\0b`` was answered 200 by all five models (RFC 9110 5.5)."""
    s = serve(model)
    with client(s.address) as c:
        c.sendall(b"GET / HTTP/1.1\r\n" + (header + b"\r\n" if header else b"") + b"\r\n")
        reply = read_response(c)
        assert reply.split(b" ")[1] == b"400", reply[:80]
        assert c.recv(10) == b""  # and closed
    s.stop()


def test_client_closes_before_response(serve):
    s = serve("pool", work_ms=100)
    with client(s.address) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    s.wait_closed()
    rec = s.stop()
    (conn,) = rec.connections.values()
    assert conn.close_reason in ("reset", "eof")
    kinds = server_kinds(rec, conn.id)
    assert "work" in kinds and kinds[-1] == "close"


def test_backlog_counter_sampled(serve):
    s = serve("single", pause_accept_ms=0)
    with client(s.address) as c:
        http_get(c, close=True)
    rec = s.stop()
    assert "threads" in rec.counters
    assert "backlog" in rec.counters


def test_pool_queue_counter_ends_at_zero(serve):
    """Regression: the executor's shutdown markers were sampled as one queued connection."""
    s = serve("pool", workers=2)
    with client(s.address) as c:
        assert http_get(c, close=True).startswith(b"HTTP/1.1 200")
    rec = s.stop()
    queue = rec.counters["queue"]
    assert queue.v[-1] == 0


def test_stopping_serves_no_queued_connection(serve):
    """Regression: stopping woke the as-taught accept worker, which then served the queued connections."""
    s = serve("pool", as_taught=True, workers=1)
    socks = [socket.create_connection(s.address) for _ in range(3)]
    try:
        wait_for(lambda: len([e for lane in s.snapshot().lanes.values() for e in lane.events()
                              if e.kind == "submit" and e.conn]) == 3, what="3 connections queued")
        rec = s.stop()
    finally:
        for c in socks:
            c.close()
    kinds = {e.kind for lane in rec.lanes.values() for e in lane.events() if e.conn}
    assert "recv" not in kinds and "send" not in kinds
    assert {c.close_reason for c in rec.connections.values()} == {"shutdown"}
