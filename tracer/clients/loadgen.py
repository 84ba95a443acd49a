"""A bounded HTTP load generator on one thread (selectors) that counts every connection's outcome.

Runs in its own process (``python -m tracer.clients.loadgen``) so it never shares the
server's GIL.  N client slots each run one of two ways until the duration is over:

- ``keep-alive``: one connection per slot; send a GET, wait for the whole
  response (by Content-Length), send the next (``wrk``'s way); a server that
  closes the connection after answering (the lesson's ``thread_server.py``
  answers once and closes) is counted in ``closes`` and the slot connects
  again, as ``wrk`` does;
- ``close``: one request per connection (``ab``'s way); connect, GET with
  ``Connection: close``, read the response, close, connect again.

Unlike ``wrk``, it reports per slot how many answers it got, so a pool that
starves 40 of 50 keep-alive connections shows it as 40 zeros, and it measures
its own CPU time: a one-thread Python client tops out near one core, and a
figure measured at 95% of that is the client's limit, not the server's.

``--worker`` reads jobs as JSON lines on stdin (``run``, ``hold``, ``release``)
and answers each with one JSON line: the bench keeps one such process for a whole
run (no interpreter start per measurement) and can hold idle connections open
while it samples the server's memory.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tracer import addresses
from tracer.addresses import Address
from tracer.clients.http import REQUEST, REQUEST_CLOSE, reply_size
from tracer.errors import TracerError

MODES = ("keep-alive", "close")
MAX_CONNECTIONS = 20000


@dataclass
class LoadResult:
    """What a load run measured, per slot and in all."""

    connections: int
    duration: float
    mode: str = "keep-alive"
    requests: int = 0
    errors: int = 0  # closed or reset by the server before answering
    refused: int = 0  # connect refused
    timeouts: int = 0  # a connect or a request that waited past the timeout
    closes: int = 0  # keep-alive connections the server closed after answering (the slot reconnected)
    answered: list[int] = field(default_factory=list)  # answers per slot
    latencies_us: list[int] = field(default_factory=list)
    cpu_s: float = 0.0  # this process's CPU time during the run
    wall_s: float = 0.0  # the run's whole length (connects and warm-up too)

    @property
    def starved(self) -> int:
        """Slots that never got an answer."""
        return sum(1 for a in self.answered if a == 0)

    @property
    def rps(self) -> float:
        return self.requests / self.duration if self.duration else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank latency percentile in µs (0 when nothing was answered)."""
        if not self.latencies_us:
            return 0.0
        data = sorted(self.latencies_us)
        k = max(1, -(-int(p * len(data)) // 100))
        return float(data[min(k, len(data)) - 1])

    def summary(self) -> dict[str, Any]:
        return {"connections": self.connections, "mode": self.mode, "duration": self.duration,
                "requests": self.requests, "rps": round(self.rps, 1), "errors": self.errors,
                "refused": self.refused, "timeouts": self.timeouts, "closes": self.closes, "starved": self.starved,
                "min_answered": min(self.answered, default=0), "answered": self.answered,
                "p50_us": self.percentile(50), "p90_us": self.percentile(90), "p99_us": self.percentile(99),
                "cpu_s": round(self.cpu_s, 4), "wall_s": round(self.wall_s, 4)}


class _Slot:
    """One client: its current socket, what it has read, when it sent."""

    __slots__ = ("index", "sock", "buf", "sent_at", "late", "served")

    def __init__(self, index: int) -> None:
        self.index = index
        self.sock: socket.socket | None = None
        self.buf = b""
        self.sent_at = 0.0
        self.late = False  # its current request has been counted as a timeout
        self.served = 0  # answers on its current connection


def _complete(buf: bytes) -> int:
    """Length of the first whole response in ``buf``, or 0."""
    size = reply_size(buf)
    return size if size is not None and len(buf) >= size else 0


UNIX_PREFIX = "unix:"  # a host of "unix:PATH" connects to a Unix socket (the port is unused)


def _connect(host: str, port: int) -> socket.socket:
    """A non-blocking connect in progress (a one-thread client cannot wait in connect)."""
    if host.startswith(UNIX_PREFIX):
        sock = socket.socket(addresses.family(host[len(UNIX_PREFIX):]), socket.SOCK_STREAM)
        sock.setblocking(False)
        target: Address = host[len(UNIX_PREFIX):]
    else:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        target = (host, port)
    code = sock.connect_ex(target)
    if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, getattr(errno, "WSAEWOULDBLOCK", -1)):
        sock.close()
        raise ConnectionRefusedError(code, os.strerror(code))
    return sock


class _Run:
    """One load run's state; ``loop`` drives it until the deadline."""

    def __init__(self, host: str, port: int, result: LoadResult, timeout: float) -> None:
        self.host, self.port, self.result, self.timeout = host, port, result, timeout
        self.close_mode = result.mode == "close"
        self.sel = selectors.DefaultSelector()
        self.slots = [_Slot(i) for i in range(result.connections)]
        self.result.answered = [0] * result.connections
        self.counting_from = 0.0  # answers before this (the warm-up) count for starvation only
        self.first_answers = 0  # slots answered at least once

    def start(self, slot: _Slot) -> None:
        """Open the slot's connection; its request goes when the connect completes."""
        slot.buf, slot.late, slot.served = b"", False, 0
        try:
            slot.sock = _connect(self.host, self.port)
        except OSError:
            self.result.refused += 1
            slot.sock = None
            return
        slot.sent_at = time.perf_counter()  # a close-mode latency includes the connect, as ab's does
        self.sel.register(slot.sock, selectors.EVENT_WRITE, slot)

    def drop(self, slot: _Slot) -> None:
        if slot.sock is not None:
            self.sel.unregister(slot.sock)
            slot.sock.close()
            slot.sock = None

    def connected(self, slot: _Slot) -> None:
        assert slot.sock is not None
        code = slot.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.result.refused += 1
            return self.drop(slot)
        self.sel.modify(slot.sock, selectors.EVENT_READ, slot)
        self.send(slot, first=True)

    def send(self, slot: _Slot, first: bool = False, deadline: float = 0.0) -> None:
        assert slot.sock is not None
        if not (self.close_mode and first):
            slot.sent_at = time.perf_counter()
        slot.late = False
        try:
            slot.sock.send(REQUEST_CLOSE if self.close_mode else REQUEST)  # < 60 bytes: fits any buffer
        except OSError:
            self.lost(slot, deadline)

    def lost(self, slot: _Slot, deadline: float) -> None:
        """The server closed (or reset) the slot's connection: after answering on it, in keep-alive mode, a
        server that closes after each request (counted, and the slot connects again); else an error.

        Bytes left after the last whole answer that do not start a response are
        that answer's tail: the lesson's servers count Content-Length in
        characters, and their Chinese page is longer in bytes.  A response begun
        and cut off is an error."""
        if self.close_mode or not slot.served or slot.buf.startswith(b"HTTP/"):
            self.result.errors += 1
            return self.drop(slot)
        self.result.closes += 1
        self.drop(slot)
        if time.perf_counter() < deadline:
            self.start(slot)

    def readable(self, slot: _Slot, deadline: float) -> None:
        assert slot.sock is not None
        try:
            data = slot.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            return self.lost(slot, deadline)
        slot.buf += data
        size = _complete(slot.buf)
        if not size:
            return
        now = time.perf_counter()
        slot.buf = slot.buf[size:]
        slot.served += 1
        self.result.answered[slot.index] += 1
        if self.result.answered[slot.index] == 1:
            self.first_answers += 1
        if now >= self.counting_from:
            self.result.requests += 1
            self.result.latencies_us.append(int((now - slot.sent_at) * 1e6))
        if self.close_mode:
            self.drop(slot)
            if now < deadline:
                self.start(slot)
        elif now < deadline:
            self.send(slot, deadline=deadline)

    def check_late(self, now: float) -> None:
        """Count each request (or connect) still waiting after ``timeout`` once."""
        for slot in self.slots:
            if slot.sock is not None and not slot.late and now - slot.sent_at > self.timeout:
                slot.late = True
                self.result.timeouts += 1

    def loop(self, duration: float, warmup: float = 0.0, grace: float = 0.0) -> None:
        """The warm-up, then ``duration`` seconds counted.  With ``grace``, the warm-up goes on past ``warmup``
        until every slot has had an answer, for at most ``grace`` seconds more: a thread-per-connection server
        starting 50 threads answers each once within ~0.1 s, and a short run counted from a fixed instant
        called the slowest of them starved; a server that really starves them uses the whole grace."""
        earliest = time.perf_counter() + warmup
        start = self.counting_from = earliest + grace  # at the latest
        deadline = start + duration
        next_check = earliest + 0.05
        waiting = grace > 0
        while (now := time.perf_counter()) < deadline:  # the warm-up, then the measured window
            for key, events in self.sel.select(timeout=max(0.0, min(0.05, deadline - now))):
                slot = key.data
                if events & selectors.EVENT_WRITE:
                    self.connected(slot)
                else:
                    self.readable(slot, deadline)
            if waiting and now >= earliest and self.first_answers == len(self.slots):
                waiting = False
                start = self.counting_from = time.perf_counter()
                deadline = start + duration
            if now >= next_check:
                self.check_late(now)
                next_check = now + 0.05
        self.result.duration = time.perf_counter() - start

    def close(self) -> None:
        for slot in self.slots:
            self.drop(slot)
        self.sel.close()


def run(host: str, port: int, connections: int, duration: float, mode: str = "keep-alive",
        timeout: float = 2.0, warmup: float = 0.0, grace: float = 0.0) -> LoadResult:
    """Drive ``connections`` client slots at host:port for ``warmup`` + ``duration`` seconds (bounded by them).

    Requests/s and latencies count the last ``duration`` seconds only (a server
    starting 1,000 threads is not measured while it starts them); a slot is
    starved when it got no answer in the whole run.
    """
    result = LoadResult(connections, duration, mode)
    cpu0, wall0 = _cpu(), time.perf_counter()
    state = _Run(host, port, result, timeout)
    try:
        for slot in state.slots:
            state.start(slot)
        state.loop(duration, warmup, grace)
    finally:
        state.close()
    result.cpu_s = _cpu() - cpu0
    result.wall_s = time.perf_counter() - wall0
    return result


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


class Holder:
    """Idle connections held open (no request sent), as a browser's idle keep-alive tabs."""

    def __init__(self) -> None:
        self.socks: list[socket.socket] = []

    def hold(self, host: str, port: int, n: int, timeout: float = 5.0) -> dict[str, int]:
        """Open ``n`` connections at once; wait (at most ``timeout`` s in all) until they are established."""
        sel = selectors.DefaultSelector()
        pending, refused = 0, 0
        for _ in range(n):
            try:
                sock = _connect(host, port)
            except OSError:
                refused += 1
                continue
            sel.register(sock, selectors.EVENT_WRITE)
            pending += 1
        deadline = time.monotonic() + timeout
        while pending and (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(timeout=min(0.1, left)):
                sock = key.fileobj  # type: ignore[assignment]
                sel.unregister(sock)
                pending -= 1
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    refused += 1
                    sock.close()
                else:
                    self.socks.append(sock)
        for key in list(sel.get_map().values()):  # still connecting: timed out
            key.fileobj.close()  # type: ignore[union-attr]
        sel.close()
        return {"held": len(self.socks), "refused": refused, "timeouts": pending}

    def release(self) -> dict[str, int]:
        n = len(self.socks)
        for sock in self.socks:
            sock.close()
        self.socks.clear()
        return {"released": n}


def worker(lines: Any, out: Any) -> int:
    """Answer JSON jobs, one per line, until stdin ends: {"op": "run"|"hold"|"release", ...}."""
    holder = Holder()
    for line in lines:
        if not line.strip():
            continue
        job = json.loads(line)
        op = job.pop("op")
        if op == "run":
            reply = run(**job).summary()
        elif op == "hold":
            reply = holder.hold(**job)
        elif op == "release":
            reply = holder.release()
        else:
            reply = {"error": f"unknown op {op!r}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    holder.release()
    return 0


def run_at(address: Address, connections: int, duration: float, mode: str = "keep-alive") -> LoadResult:
    """:func:`run` at an address of any family: ``(host, port)`` (IPv4 or IPv6) or a Unix socket's path."""
    if isinstance(address, str):
        return run(UNIX_PREFIX + address, 0, connections, duration, mode)
    return run(str(address[0]), int(address[1]), connections, duration, mode)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tracer.clients.loadgen", description=__doc__.splitlines()[0])
    p.add_argument("host", nargs="?", help="HOST (then PORT), or HOST:PORT, [IPV6]:PORT or unix:PATH")
    p.add_argument("port", type=int, nargs="?")
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--duration", type=float, default=2.0)
    p.add_argument("--mode", choices=MODES, default="keep-alive")
    p.add_argument("--warmup", type=float, default=0.0, help="seconds before counting starts")
    p.add_argument("--worker", action="store_true", help="answer JSON jobs on stdin, one per line")
    args = p.parse_args(argv)
    if args.worker:
        return worker(sys.stdin, sys.stdout)
    if args.host is None:
        print("error: expected HOST PORT (or --worker)", file=sys.stderr)
        return 2
    if args.port is None:
        try:
            address = addresses.parse(args.host)
            addresses.family(address)  # a path where there is no AF_UNIX: say so here, not in a traceback
        except (ValueError, TracerError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        args.host, args.port = (UNIX_PREFIX + address, 0) if isinstance(address, str) else address
    if not 1 <= args.connections <= MAX_CONNECTIONS or not 0 < args.duration <= 600:
        print(f"error: connections must be 1..{MAX_CONNECTIONS} and duration 0..600 s", file=sys.stderr)
        return 2
    result = run(args.host, args.port, args.connections, args.duration, args.mode, warmup=args.warmup)
    print(json.dumps(result.summary()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
