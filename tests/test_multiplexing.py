"""The selectors and asyncio servers: one thread, every client (LESSONS rows 10, 11)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.conftest import client, http_get, server_kinds, wait_for

MODELS = ["selectors", "asyncio"]


@pytest.mark.parametrize("model", MODELS)
def test_keepalive_sequence_on_one_lane(serve, model):
    s = serve(model)
    with client(s.address) as c:
        for _ in range(3):
            assert http_get(c).startswith(b"HTTP/1.1 200 OK")
    s.wait_closed()
    rec = s.stop()
    (conn,) = rec.connections.values()
    assert server_kinds(rec, conn.id) == ["accept"] + ["recv", "send"] * 3 + ["recv", "close"]
    assert conn.close_reason == "eof"
    lanes = {e.lane for e in rec.connection_events(conn.id)}
    assert lanes == {conn.accept_lane}, "accepted and served on the same one thread"


@pytest.mark.parametrize("model", MODELS)
def test_one_thread_serves_many_clients(serve, model):
    s = serve(model)
    socks = [socket.create_connection(s.address, timeout=5) for _ in range(20)]
    try:
        for c in socks:  # all 20 open at once, each served in turn
            assert http_get(c).startswith(b"HTTP/1.1 200")
    finally:
        for c in socks:
            c.close()
    s.wait_closed(20)
    rec = s.stop()
    busy = [lane for lane in rec.server_lanes() if len(lane)]
    assert len(busy) == 1
    (lane,) = busy
    kinds = lane.kinds()
    assert {"select", "accept", "recv", "send", "close"} <= kinds
    counts = [lane.count[i] for i in range(len(lane)) if lane.event(i).kind == "select"]
    assert max(counts) >= 1


@pytest.mark.parametrize("model", MODELS)
def test_a_blocking_handler_freezes_every_client(serve, model):
    s = serve(model, work_ms=300)
    slow = socket.create_connection(s.address, timeout=5)
    fast = socket.create_connection(s.address, timeout=5)
    try:
        done = {}

        def get(name, sock):
            t = time.monotonic()
            http_get(sock)
            done[name] = time.monotonic() - t

        a = threading.Thread(target=get, args=("first", slow))
        a.start()
        wait_for(lambda: any(e.kind == "work" for lane in s.snapshot().lanes.values() for e in lane.events()),
                 what="the first request to reach the handler")
        b = threading.Thread(target=get, args=("second", fast))
        b.start()
        a.join(10)
        b.join(10)
    finally:
        slow.close()
        fast.close()
    # The second client asked while the loop was blocked in the first one's handler:
    # it waited for the rest of that 300 ms and then its own 300 ms.
    assert done["second"] >= 0.3


@pytest.mark.parametrize("model", MODELS)
def test_idle_timeout(serve, model):
    s = serve(model, timeout=0.2)
    with client(s.address) as c:
        assert c.recv(10) == b""
    s.wait_closed()
    rec = s.stop()
    (conn,) = rec.connections.values()
    assert conn.close_reason == "timeout"


@pytest.mark.parametrize("model", MODELS)
def test_bad_request_answered(serve, model):
    s = serve(model)
    with client(s.address) as c:
        c.sendall(b"NONSENSE\r\n\r\n")
        assert c.recv(100).startswith(b"HTTP/1.1 400")
    s.wait_closed()
    assert s.stop().connections[1].close_reason == "server"
