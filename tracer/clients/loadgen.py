"""A bounded HTTP keep-alive load generator on one thread (selectors).

Runs in its own process (``python -m tracer.clients.loadgen``) so it never shares the
server's GIL.  Each of N connections sends a GET, waits for the whole response
(by Content-Length), and sends the next, until the duration is over.  Unlike
``wrk``, it reports per connection whether it was ever answered, so a pool that
starves 40 of 50 connections shows it.
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field

from tracer.clients.http import REQUEST, reply_size


@dataclass
class LoadResult:
    """What a load run measured."""

    connections: int
    duration: float
    requests: int = 0
    errors: int = 0
    refused: int = 0
    starved: int = 0  # connections never answered
    latencies_us: list[int] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.duration if self.duration else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in µs (0 when nothing was answered)."""
        if not self.latencies_us:
            return 0.0
        data = sorted(self.latencies_us)
        return float(data[min(len(data) - 1, int(p / 100 * len(data)))])

    def summary(self) -> dict[str, float | int]:
        return {"connections": self.connections, "duration": self.duration, "requests": self.requests,
                "rps": round(self.rps, 1), "errors": self.errors, "refused": self.refused, "starved": self.starved,
                "p50_us": self.percentile(50), "p90_us": self.percentile(90), "p99_us": self.percentile(99)}


class _Conn:
    __slots__ = ("sock", "buf", "sent_at", "answered")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.sent_at = 0.0
        self.answered = 0


def _complete(buf: bytes) -> int:
    """Length of the first whole response in ``buf``, or 0."""
    size = reply_size(buf)
    return size if size is not None and len(buf) >= size else 0


def run(host: str, port: int, connections: int, duration: float, connect_timeout: float = 3.0) -> LoadResult:
    """Drive ``connections`` keep-alive connections at host:port for ``duration`` seconds."""
    result = LoadResult(connections, duration)
    sel = selectors.DefaultSelector()
    conns: list[_Conn] = []
    for _ in range(connections):
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError:
            result.refused += 1
            continue
        sock.setblocking(False)
        conn = _Conn(sock)
        conns.append(conn)
        sel.register(sock, selectors.EVENT_READ, conn)
    start = time.perf_counter()
    deadline = start + duration
    for conn in conns:
        _send(conn, result)
    while conns and time.perf_counter() < deadline:
        for key, _ in sel.select(timeout=max(0.0, min(0.1, deadline - time.perf_counter()))):
            conn = key.data
            try:
                data = conn.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                result.errors += 1
                sel.unregister(conn.sock)
                conn.sock.close()
                conns.remove(conn)
                continue
            conn.buf += data
            size = _complete(conn.buf)
            if size:
                now = time.perf_counter()
                conn.buf = conn.buf[size:]
                conn.answered += 1
                result.requests += 1
                result.latencies_us.append(int((now - conn.sent_at) * 1e6))
                if now < deadline:
                    _send(conn, result)
    result.duration = time.perf_counter() - start
    result.starved = sum(1 for c in conns if not c.answered)
    for conn in conns:
        conn.sock.close()
    sel.close()
    return result


def _send(conn: _Conn, result: LoadResult) -> None:
    conn.sent_at = time.perf_counter()
    try:
        conn.sock.send(REQUEST)  # 36 bytes: fits any socket buffer
    except OSError:
        result.errors += 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tracer.clients.loadgen", description=__doc__.splitlines()[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--duration", type=float, default=2.0)
    args = p.parse_args(argv)
    if not 1 <= args.connections <= 5000 or not 0 < args.duration <= 600:
        print("error: connections must be 1..5000 and duration 0..600 s", file=sys.stderr)
        return 2
    result = run(args.host, args.port, args.connections, args.duration)
    print(json.dumps(result.summary()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
