"""The C hot path (record/_hotpath.c) against its Python twin: the same lines, the same events, nothing leaked."""

from __future__ import annotations

import gc
import itertools
import json
import os
import socket
import struct
import sys
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.record import hotpath
from tracer.record.formatter import event_line, format_lines
from tracer.record.net import Net
from tracer.record.recorder import Recorder
from tracer.recording.reader import load

pytestmark = pytest.mark.skipif(not hotpath.built(), reason="the C hot path was not built (no C compiler)")


class TickClock:
    """Each reading 10 ns after the last: times that do not depend on the machine."""

    def __init__(self) -> None:
        self.ticks = itertools.count(1_000, 10)

    def __call__(self) -> int:
        return next(self.ticks)


def _connected(path: Path, c: bool) -> tuple[Recorder, socket.socket, socket.socket, socket.socket]:
    """A recorder (C or Python hot path), a traced listening socket, a plain peer, and the traced accepted end."""
    rec = Recorder(str(path), {"model": "test"}, clock=TickClock(), flush_interval=3600, c_hot_path=c)
    server = Net(rec).socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    peer = socket.create_connection(server.getsockname(), timeout=5)
    conn, _ = server.accept()
    return rec, server, peer, conn


def _talk(path: Path, c: bool) -> list[Any]:
    """One connection through a traced listening socket: recv, send, sendall, eof, close; the event lines."""
    rec, server, peer, conn = _connected(path, c)
    peer.sendall(b"hello")
    assert conn.recv(1024) == b"hello"
    assert conn.send(b"abc") == 3
    conn.sendall(memoryview(b"0123456789"))
    conn.sendall(bytearray(b"xy"), 0)
    assert peer.recv(64) == b"abc0123456789xy"
    peer.close()
    assert conn.recv(1024) == b""
    assert conn.why == "eof"
    conn.close()
    server.close()
    rec.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    # the addresses (listen, accept) differ from run to run: the rest must not
    return [ev[:6] + ([ev[6]] if len(ev) > 6 and ev[2] not in ("listen", "accept") else [])
            for ev in lines if isinstance(ev, list)]


def test_c_and_python_record_the_same_events(tmp_path: Path) -> None:
    c, py = _talk(tmp_path / "c.jsonl", c=True), _talk(tmp_path / "py.jsonl", c=False)
    assert c == py
    kinds = [(e[2], e[5]) for e in c]
    assert kinds == [("listen", 1), ("accept", -1), ("recv", 5), ("send", 3), ("send", 10), ("send", 2),
                     ("recv", 0), ("close", -1)]
    assert c[-1][6] == "eof"


def test_a_reset_is_recorded_and_raised_the_same_way(tmp_path: Path) -> None:
    def reset(path: Path, c: bool) -> list[Any]:
        rec, server, peer, conn = _connected(path, c)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()  # RST
        with pytest.raises(ConnectionResetError) as caught:
            conn.recv(10)
        assert caught.value.__traceback__ is not None
        assert conn.why == "reset"
        conn.close()
        server.close()
        rec.close()
        return [e for e in (json.loads(x) for x in path.read_text().splitlines())
                if isinstance(e, list) and e[2] not in ("listen", "accept")]

    assert reset(tmp_path / "c.jsonl", True) == reset(tmp_path / "py.jsonl", False)


def _talk_into(path: Path, c: bool) -> list[Any]:
    """recv_into as makefile()/socketserver's rfile read: bytes in, nothing asked for, the peer's end."""
    rec, server, peer, conn = _connected(path, c)
    buf = bytearray(16)
    peer.sendall(b"hello")
    assert conn.recv_into(buf) == 5 and buf[:5] == b"hello"
    peer.sendall(b"abc")
    assert conn.recv_into(memoryview(buf)[4:], nbytes=2) == 2 and buf[4:6] == b"ab"  # keywords work too
    assert conn.recv_into(buffer=buf, flags=0) == 1
    assert conn.recv_into(bytearray(0)) == 0 and conn.why is None  # nothing asked for: not the peer's end
    peer.sendall(b"line\n")
    with conn.makefile("rb") as rfile:  # socketserver's rfile, http.server's: SocketIO.readinto is recv_into
        assert rfile.readline() == b"line\n"
    peer.close()
    assert conn.recv_into(buf) == 0 and conn.why == "eof"
    conn.close()
    server.close()
    rec.close()
    return [ev[:6] + ([ev[6]] if len(ev) > 6 and ev[2] not in ("listen", "accept") else [])
            for ev in (json.loads(line) for line in path.read_text().splitlines()) if isinstance(ev, list)]


def test_recv_into_is_recorded_the_same_in_c_and_python(tmp_path: Path) -> None:
    c, py = _talk_into(tmp_path / "c.jsonl", c=True), _talk_into(tmp_path / "py.jsonl", c=False)
    assert c == py
    assert [(e[2], e[5]) for e in c] == [("listen", 1), ("accept", -1), ("recv", 5), ("recv", 2), ("recv", 1),
                                         ("recv", 0), ("recv", 5), ("recv", 0), ("close", -1)]
    assert c[-1][6] == "eof"
    rec = Recorder(str(tmp_path / "e.jsonl"), {}, flush_interval=3600, c_hot_path=True)
    net = Net(rec)
    a, b = socket.socketpair()
    s = net._socket_class(fileno=a.detach(), net=net)
    before = rec.pending
    for bad in ((), (bytearray(1), 1, 0, 0)):
        with pytest.raises(TypeError, match="1 to 3 arguments"):
            s.recv_into(*bad)
    with pytest.raises(TypeError):
        s.recv_into(b"read-only")
    assert rec.pending == before
    s.close()
    b.close()
    rec.close()


def _blocked(rec: Recorder, net: Net, call: str) -> tuple[list[Any], list[Any], Any]:
    """A thread blocked in ``call`` on a traced socket: what open_calls/net.waits say during it and after."""
    a, b = socket.socketpair()
    s = net._socket_class(fileno=a.detach(), net=net)
    s.conn = 7
    if call == "sendall":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    data = b"x" * (4 << 20)
    calls = {"recv": lambda: s.recv(10), "recv_into": lambda: s.recv_into(bytearray(10)),
             "sendall": lambda: s.sendall(data)}
    t = threading.Thread(target=calls[call], name="blocked")

    def open_now() -> list[Any]:
        return rec.tap.open_calls() if rec.tap is not None else list(net.waits.values())

    t.start()
    for _ in range(500):  # bounded: 5 s at most
        if open_now():
            break
        threading.Event().wait(0.01)
    during = open_now()
    if call == "sendall":
        got = 0
        while got < len(data):
            got += len(b.recv(1 << 20))
    else:
        b.sendall(b"hi")
    t.join(10)
    after = open_now()
    s.close()
    b.close()
    return during, after, t


@pytest.mark.parametrize("c", [True, False], ids=["c", "python"])
@pytest.mark.parametrize("call", ["recv", "recv_into", "sendall"])
def test_a_call_still_waiting_can_be_read(tmp_path: Path, c: bool, call: str) -> None:
    """What a traced program draws at its stop: the kind, start, lane and conn of each call still waiting."""
    rec = Recorder(str(tmp_path / "r.jsonl"), {}, flush_interval=3600, c_hot_path=c)
    net = Net(rec)
    t0 = rec.clock()
    during, after, t = _blocked(rec, net, call)
    assert not t.is_alive()
    assert len(during) == 1
    kind, start, lane, conn = during[0]
    assert kind == ("send" if call == "sendall" else "recv") and conn == 7 and start >= t0
    rec.close()
    recording = load(tmp_path / "r.jsonl")
    assert recording.lanes[lane].name == "blocked"
    done = [e for e in recording.events() if e.kind == kind]
    assert done and done[0].t == start - rec.t0  # the wait read while open is the span recorded after
    assert after == []


@pytest.mark.parametrize("c", [True, False], ids=["c", "python"])
def test_ctrl_c_inside_a_recv_records_the_wait_as_shutdown(tmp_path: Path, c: bool) -> None:
    """The main thread's recv interrupted by the program's Ctrl-C (KeyboardInterrupt from the wait): its span."""
    import signal

    rec = Recorder(str(tmp_path / "r.jsonl"), {}, flush_interval=3600, c_hot_path=c)
    net = Net(rec)
    a, b = socket.socketpair()
    s = net._socket_class(fileno=a.detach(), net=net)
    s.conn = 3
    main = threading.get_ident()
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            s.recv(10)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, old)
    assert (rec.tap.open_calls() if c else list(net.waits)) == []
    s.close()
    b.close()
    rec.close()
    recv = [e for e in load(tmp_path / "r.jsonl").events() if e.kind == "recv"]
    assert [(e.conn, e.nbytes, e.detail) for e in recv] == [(3, -1, "shutdown")]
    assert recv[0].dur >= 150_000_000  # the wait until the Ctrl-C


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")
def test_a_forked_child_has_no_calls_waiting(tmp_path: Path) -> None:
    """The calls in progress live on their threads' stacks: a forked child (one thread) must not see them."""
    rec = Recorder(str(tmp_path / "r.jsonl"), {}, flush_interval=3600, c_hot_path=True)
    net = Net(rec)
    a, b = socket.socketpair()
    s = net._socket_class(fileno=a.detach(), net=net)
    t = threading.Thread(target=s.recv, args=(10,))
    t.start()
    for _ in range(500):
        if rec.tap.open_calls():
            break
        threading.Event().wait(0.01)
    assert len(rec.tap.open_calls()) == 1
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: say how many it sees, leave at once
        os.write(w, str(len(rec.tap.open_calls())).encode())
        os._exit(0)
    os.close(w)
    seen = os.read(r, 10)
    os.close(r)
    os.waitpid(pid, 0)
    b.sendall(b"x")
    t.join(10)
    s.close()
    b.close()
    rec.close()
    assert seen == b"0"


def test_wrong_arguments_are_a_type_error_and_record_nothing(tmp_path: Path) -> None:
    rec = Recorder(str(tmp_path / "r.jsonl"), {}, flush_interval=3600, c_hot_path=True)
    a, b = socket.socketpair()
    with Net(rec).socket(a.family, a.type) as s:
        before = rec.pending
        with pytest.raises(TypeError, match="1 or 2 arguments"):
            s.recv()
        with pytest.raises(TypeError, match="1 or 2 arguments"):
            s.send(b"x", 0, 0)
        with pytest.raises(TypeError):
            s.sendall(12)
        assert rec.pending == before
    a.close()
    b.close()
    rec.close()


def test_sockets_release_the_tap_and_are_collected(tmp_path: Path) -> None:
    """The C fields (_tap, why) are owned references: closing and dropping sockets must give them back."""
    rec = Recorder(str(tmp_path / "r.jsonl"), {}, flush_interval=3600, c_hot_path=True)
    net = Net(rec)
    tap = rec.tap
    gc.collect()
    base = sys.getrefcount(tap)
    refs = []
    for _ in range(200):
        s = net.socket()
        s.why = "x" * 3
        refs.append(weakref.ref(s))
        s.close()
        del s
    gc.collect()
    now = sys.getrefcount(tap)  # outside the assert: pytest's rewriting holds a reference of its own
    assert now == base
    assert all(r() is None for r in refs)
    rec.close()


class _Buffer(bytearray):
    """A buffer that can be watched with a weak reference (bytes and bytearray cannot)."""


def test_a_calls_arguments_are_let_go_after_it(tmp_path: Path) -> None:
    """The argument tuples are reused from call to call (_hotpath.c args_pool): what was passed, the data
    sent and the buffer filled, is not kept by the tuple once the call returns, or when it raised."""
    rec, server, peer, conn = _connected(tmp_path / "r.jsonl", True)
    watched = []
    for i in range(40):  # past the pool's 16 of each size
        data = _Buffer(b"x" * (i + 1))
        watched.append(weakref.ref(data))
        assert (conn.send(data) if i % 2 else conn.sendall(data, 0)) in (i + 1, None)
        assert peer.recv(64) == b"x" * (i + 1)
        peer.sendall(b"y")
        into = _Buffer(4)
        watched.append(weakref.ref(into))
        assert conn.recv_into(into) == 1 and into[:1] == b"y"
        del data, into
    assert all(ref() is None for ref in watched)
    bad = _Buffer(b"ro")
    watched = [weakref.ref(bad)]
    with pytest.raises(TypeError):
        conn.recv(bad)  # a wrong argument, raised by _socket itself
    del bad
    assert watched[0]() is None
    peer.close()
    conn.close()
    server.close()
    rec.close()


def test_lanes_follow_the_thread_and_the_recorder(tmp_path: Path) -> None:
    """The per-thread lane cache: two recorders in one thread, another thread, and a lane declared anew."""
    ra = Recorder(str(tmp_path / "a.jsonl"), {}, flush_interval=3600, c_hot_path=True)
    rb = Recorder(str(tmp_path / "b.jsonl"), {}, flush_interval=3600, c_hot_path=True, first_lane=100)
    na, nb = Net(ra), Net(rb)
    pa, pb = socket.socketpair(), socket.socketpair()
    ca = na._socket_class(fileno=pa[0].detach(), net=na)
    cb = nb._socket_class(fileno=pb[0].detach(), net=nb)
    for c in (ca, cb, ca):
        c.send(b"x")
    ra.declare_lane("renamed")  # this thread's lane on ra is now 1
    ca.send(b"y")

    def other() -> None:
        ca.send(b"z")
        cb.send(b"z")

    t = threading.Thread(target=other, name="other")
    t.start()
    t.join()
    for c in (ca, cb):
        c.close()
    for p in (pa[1], pb[1]):
        p.close()
    ra.close()
    rb.close()
    a, b = load(tmp_path / "a.jsonl"), load(tmp_path / "b.jsonl")
    assert [(e.lane, e.nbytes) for e in a.events() if e.kind == "send"] == [
        (0, 1), (0, 1), (1, 1), (2, 1)]
    assert [a.lanes[i].name for i in (0, 1, 2)] == ["MainThread", "renamed", "other"]
    assert [e.lane for e in b.events() if e.kind == "send"] == [100, 101]


odd_events = st.tuples(
    st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.booleans(),
    st.integers(0, 2**63 - 1),
    st.sampled_from(["recv", "send", "close", 'quo"te', "back\\slash", "nl\n", "é"]),
    st.integers(0, 10), st.integers(0, 2**40), st.integers(-1, 2**31),
) | st.tuples(
    st.integers(0, 2**62), st.integers(0, 2**62), st.just("close"), st.integers(0, 5), st.integers(0, 5),
    st.just(-1), st.text(max_size=20),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(odd_events, max_size=30), st.integers(0, 40))
def test_the_c_queue_writes_what_the_python_formatter_writes(events: list[tuple[Any, ...]], take: int) -> None:
    """Odd fields (floats, bools, ints past 64 bits, kinds that need escaping, details) go through Python."""
    tap = hotpath.native.Tap(local=threading.local(), declare_lane=lambda: 0, clock=None, t0=0,
                             max_pending=1_000)
    for ev in events:
        tap.emit(ev)
    n = min(take, len(events))
    assert tap.take(take, event_line) == format_lines([], events[:n])
    assert tap.pending == len(events) - n
    assert tap.take(len(events), event_line) == format_lines([], events[n:])
    assert tap.pending == 0
    for ev in events:  # as bytes after a head (the recorder's file): the same lines, in UTF-8
        tap.emit(ev)
    head = ['{"lane": 0, "name": "é"}', '{"c": "queue", "t": 1, "v": 0}']
    assert tap.take(take, event_line, format_lines(head, []).encode()) == format_lines(head, events[:n]).encode()
    assert tap.take(-1, event_line, b"") == format_lines([], events[n:]).encode()


def test_every_digit_count_is_written_as_python_writes_it() -> None:
    """Each field at every power of ten and one below it, up to the 64-bit ends: put_int's paths (one digit,
    below 10**8, 8 low digits after a short top, past 10**16) and their seams."""
    edges = sorted({0, 1, 2**63 - 1, 2**32 - 1, 2**32, *(10**k + d for k in range(1, 19) for d in (-1, 0, 1))})
    events = [(v, v, kind, v, v, v) for v in edges for kind in ("recv", "close")]
    events += [(-v, 5, "recv", -v, -v, -v) for v in edges if v] + [(-(2**63), 0, "send", 0, 0, -(2**63))]
    tap = hotpath.native.Tap(local=threading.local(), declare_lane=lambda: 0, clock=None, t0=0, max_pending=10_000)
    for ev in events:
        tap.emit(ev)
    assert tap.take(-1, event_line) == format_lines([], events)
    for ev in events:
        tap.emit(ev)
    assert tap.take(-1, event_line, b"") == format_lines([], events).encode()


def test_take_as_bytes_keeps_the_head_first_and_refuses_a_head_that_is_not_bytes() -> None:
    tap = hotpath.native.Tap(local=threading.local(), declare_lane=lambda: 0, clock=None, t0=0, max_pending=100)
    assert tap.take(-1, event_line, b"") == b""
    assert tap.take(-1, event_line, b'{"mark": "x", "t": 0}\n') == b'{"mark": "x", "t": 0}\n'
    tap.emit((1, 2, "recv", 0, 1, 5))
    with pytest.raises(TypeError, match="head must be bytes"):
        tap.take(-1, event_line, "not bytes")
    assert tap.pending == 1  # refused before anything was taken
    tap.emit((3, 4, "close", 0, 1, -1, "ünïcode"))
    assert tap.take(-1, event_line, b"") == '[1,2,"recv",0,1,5]\n[3,4,"close",0,1,-1,"ünïcode"]\n'.encode()


@settings(max_examples=100, deadline=None)
@given(st.lists(odd_events, max_size=30), st.integers(-1, 40))
def test_write_puts_in_the_file_what_take_hands_back(events: list[tuple[Any, ...]], take: int) -> None:
    """Tap.write formats into its kept buffer and writes it itself: the same bytes as take()'s, the rest queued."""
    tap = hotpath.native.Tap(local=threading.local(), declare_lane=lambda: 0, clock=None, t0=0, max_pending=1_000)
    twin = hotpath.native.Tap(local=threading.local(), declare_lane=lambda: 0, clock=None, t0=0, max_pending=1_000)
    for ev in events:
        tap.emit(ev)
        twin.emit(ev)
    head = format_lines(['{"lane": 0, "name": "é"}'], []).encode()
    read, write = os.pipe()
    try:
        written = tap.write(write, take, event_line, head)
        written += tap.write(write, -1, event_line, b"")
        os.close(write)
        with os.fdopen(read, "rb") as f:
            data = f.read()
    finally:
        for fd in (read, write):
            try:
                os.close(fd)
            except OSError:
                pass
    assert data == twin.take(take, event_line, head) + twin.take(-1, event_line, b"")
    assert written == len(data) and tap.pending == 0


def test_write_of_batches_of_every_size_keeps_order_and_says_what_fails(tmp_path: Path) -> None:
    """Bursts past the kept buffer's size, an empty queue, a bad descriptor (OSError: the batch is gone, the tap
    still works), a head that is not bytes (refused before anything is taken)."""
    tap = hotpath.native.Tap(local=threading.local(), declare_lane=lambda: 0, clock=None, t0=0, max_pending=1_000_000)
    emitted: list[tuple[Any, ...]] = []
    serial = itertools.count()
    path = tmp_path / "out.jsonl"
    with open(path, "ab") as f:
        assert tap.write(f.fileno(), -1, event_line, b"") == 0  # nothing queued yet: nothing written
        for size, take in [(3000, 1000), (70_000, 70_000), (0, 10), (200_000, -1), (5, 5)]:
            for _ in range(size):
                i = next(serial)
                emitted.append((i, i % 977, "recv", i % 7, i % 11, i) if i % 1000 else (i, 0, "close", 1, 2, -1, "é"))
                tap.emit(emitted[-1])
            tap.write(f.fileno(), take, event_line, b"")
        tap.write(f, -1, event_line, b"")  # a file object is taken for its descriptor, as os.write's callers do
    assert path.read_bytes() == format_lines([], emitted).encode()
    tap.emit((1, 2, "recv", 0, 1, 5))
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(TypeError, match="head must be bytes"):
            tap.write(fd, -1, event_line, "not bytes")
        assert tap.pending == 1
        with pytest.raises(OSError) as failed:
            tap.write(fd, -1, event_line, b"")  # read-only: write(2) says EBADF
    finally:
        os.close(fd)
    assert failed.value.errno is not None and tap.pending == 0
    tap.emit((3, 4, "send", 0, 1, 6))
    read, write = os.pipe()
    os.close(read)  # nobody reads: EPIPE (Python ignores SIGPIPE)
    try:
        with pytest.raises(BrokenPipeError):
            tap.write(write, -1, event_line, b"")
    finally:
        os.close(write)


def test_a_line_that_fails_loses_its_batch_and_leaves_the_tap_whole(tmp_path: Path) -> None:
    """A raw event (a float: Python's line) whose line() raises or is not str: take() and write() raise it, the
    batch's events are let go (counted lost by the caller), and the next batch comes out whole."""
    tap = hotpath.native.Tap(local=threading.local(), declare_lane=lambda: 0, clock=None, t0=0, max_pending=100)

    def broken(ev: tuple[Any, ...]) -> str:
        raise ZeroDivisionError("the line")

    kept = [(3, 4, "send", 0, 1, 6), (3.5, 4, "send", 0, 1, 6)]
    lines = format_lines([], kept)
    path = tmp_path / "out.jsonl"
    with open(path, "wb") as f:
        calls: list[tuple[Callable[[Any], Any], object]] = [
            (lambda line: tap.take(-1, line), lines),
            (lambda line: tap.take(-1, line, b"head\n"), b"head\n" + lines.encode()),
            (lambda line: tap.write(f.fileno(), -1, line, b"head\n"), len(b"head\n" + lines.encode()))]
        for call, whole in calls:
            for line, error in ((broken, ZeroDivisionError), (lambda ev: b"bytes", TypeError)):
                tap.emit((1, 2, "recv", 0, 1, 5))
                tap.emit((1.5, 2, "recv", 0, 1, 5))
                with pytest.raises(error):
                    call(line)
                assert tap.pending == 0
            for ev in kept:
                tap.emit(ev)
            assert call(event_line) == whole
    assert path.read_bytes() == b"head\n" + lines.encode()


EDGES = sorted({0, -1, -(2**63), 2**63 - 1} | {s * (10**k + d) for k in range(19) for d in (-1, 0, 1) for s in (1, -1)
                                              if -(2**63) <= s * (10**k + d) < 2**63})


def test_the_c_formatter_writes_every_digit_count_and_sign_as_python_does() -> None:
    """Each integer field at 0, +-1, +-10**k +- 1 and the int64 ends: the C digit-pair formatter's edges."""
    tap = hotpath.native.Tap(local=threading.local(), declare_lane=lambda: 0, clock=None, t0=0,
                             max_pending=10_000)
    events = [(v, EDGES[-1 - i], "recv", v, -v if v > -(2**63) else 0, v) for i, v in enumerate(EDGES)]
    for ev in events:
        tap.emit(ev)
    assert tap.take(len(events), event_line) == format_lines([], events)


def test_batches_of_every_size_through_one_tap_keep_order_and_lines() -> None:
    """take() keeps the last batch's arrays for the next (the queue and the text): small and big batches,
    bursts past what is kept (65,536 events), some left queued each time, all written once and in order."""
    tap = hotpath.native.Tap(local=threading.local(), declare_lane=lambda: 0, clock=None, t0=0,
                             max_pending=1_000_000)
    emitted: list[tuple[Any, ...]] = []
    written = []
    serial = itertools.count()
    for size, take in [(5, 5), (3000, 1000), (10, 2000), (70_000, 70_000), (1, 0), (200_000, 150_000),
                       (0, 60_000), (2048, -1), (100, 7)]:
        for _ in range(size):
            i = next(serial)
            emitted.append((i, i % 977, "recv" if i % 2 else "send", i % 7, i % 11, i % 4096)
                           if i % 1000 else (i, 0, "close", 1, 2, -1, f"detail {i}"))
            tap.emit(emitted[-1])
        before = tap.pending
        text = tap.take(take, event_line)
        n = before if take < 0 else min(take, before)
        assert tap.pending == before - n
        written.append(text)
    written.append(tap.take(-1, event_line))
    assert tap.pending == 0
    assert "".join(written) == format_lines([], emitted)


def test_the_socket_methods_are_called_directly() -> None:
    """The traced calls reach _socket.socket's C functions without their descriptors (every test through
    recv/send/sendall/recv_into above then tests that path; keywords still go through the descriptor)."""
    assert hotpath.native.DIRECT_CALLS == 4


def test_a_full_queue_drops_the_newest_and_counts_them() -> None:
    tap = hotpath.native.Tap(local=threading.local(), declare_lane=lambda: 0, clock=None, t0=0, max_pending=3)
    for i in range(5):
        tap.emit((i, 0, "recv", 0, 1, i))
    assert (tap.pending, tap.dropped) == (3, 2)
    assert tap.take(10, event_line) == "".join(f'[{i},0,"recv",0,1,{i}]\n' for i in range(3))
    with pytest.raises(TypeError):
        tap.emit((1, 2, 3))
    with pytest.raises(ValueError):
        hotpath.native.Tap(local=None, declare_lane=lambda: 0, clock=None, t0=0, max_pending=0)


@pytest.mark.parametrize(("env", "says"), [
    ("0", "(C hot path)"), ("no", "(C hot path)"), ("off", "(C hot path)"), ("", "(C hot path)"),
    ("1", "(Python hot path: SOCKSCOPE_PURE_PYTHON=1)"), ("yes", "(Python hot path: SOCKSCOPE_PURE_PYTHON=yes)"),
])
def test_version_says_which_hot_path_records(env: str, says: str) -> None:
    import subprocess

    out = subprocess.run([sys.executable, "-m", "tracer", "--version"], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "SOCKSCOPE_PURE_PYTHON": env})
    assert out.returncode == 0 and out.stdout.strip().endswith(says)


def test_a_stale_build_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """An editable install not rebuilt after the C source changed: recorded in Python, said once, not a crash."""
    import types

    monkeypatch.setitem(sys.modules, "tracer.record._hotpath", types.SimpleNamespace(VERSION=hotpath.VERSION - 1))
    native, stale = hotpath._load()
    assert native is None and stale
    monkeypatch.setattr(hotpath, "native", None)
    monkeypatch.setattr(hotpath, "stale", True)
    monkeypatch.setattr(hotpath, "_warned", False)
    monkeypatch.setenv("SOCKSCOPE_PURE_PYTHON", "0")
    for name in ("a", "b"):
        rec = Recorder(str(tmp_path / f"{name}.jsonl"), {}, flush_interval=3600)
        assert rec.tap is None
        rec.close()
    assert capsys.readouterr().err.count("the C hot path is out of date (run pip install -e . to rebuild it)") == 1
    assert "out of date" in hotpath.describe()
    assert load(tmp_path / "a.jsonl").header["recorder"] == "python"
