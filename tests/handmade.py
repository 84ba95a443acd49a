"""Hand-built recordings whose answers are known, for the export, check and stats tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Lines:
    """A recording written line by line; remembers the line number of each tagged line."""

    def __init__(self, model: str = "pool", **settings: Any) -> None:
        header = {"format": "sockscope", "version": 1, "model": model, "t0_monotonic_ns": 0,
                  "settings": {"model": model, **settings}}
        self.lines = [json.dumps(header)]
        self.at: dict[str, int] = {}

    def lane(self, lane: int, name: str, side: str = "server") -> Lines:
        self.lines.append(json.dumps({"lane": lane, "name": name, "native_id": 1000 + lane, "side": side}))
        return self

    def ev(self, t: int, dur: int, kind: str, lane: int, conn: int = 0, count: int = -1, detail: Any = None,
           tag: str | None = None) -> Lines:
        fields: list[Any] = [t, dur, kind, lane, conn, count]
        if detail is not None:
            fields.append(detail)
        self.lines.append(json.dumps(fields))
        if tag:
            self.at[tag] = len(self.lines)
        return self

    def counter(self, name: str, t: int, v: int) -> Lines:
        self.lines.append(json.dumps({"c": name, "t": t, "v": v}))
        return self

    def end(self, t: int = 0, dropped: int = 0, alive: list[int] | None = None) -> Lines:
        self.lines.append(json.dumps({"end": True, "t": t, "events": 0, "dropped": dropped,
                                      "alive_lanes": alive or []}))
        self.at["trailer"] = len(self.lines)
        return self

    def write(self, path: Path, cut: bool = False) -> Path:
        text = "\n".join(self.lines) + "\n"
        if cut:
            text = text[:-8]  # the last line loses its end
        path.write_text(text, encoding="utf-8")
        return path


US = 1_000
MS = 1_000_000


def pool_known(n: int = 10) -> Lines:
    """A pool server with two workers and ``n`` clients, one connection each, 1 ms apart.

    Connection ``i`` (1..n) waits ``i`` µs in the backlog, ``2i`` µs in the pool
    queue and is in service for ``10i`` µs; it is served by worker ``i % 2``,
    answers one request (200 bytes) and ends with ``eof``.  So over 1..10:
    backlog p50 5 µs, p90 9 µs, p99 10 µs; queue 10/18/20 µs; service 50/90/100 µs.
    """
    r = Lines("pool", workers=2, backlog=128)
    r.lane(0, "MainThread").lane(1, "worker_0").lane(2, "worker_1")
    for i in range(1, n + 1):
        r.lane(100 + i, f"client-{i}", side="client")
    r.ev(0, 0, "listen", 0, 0, 128, "127.0.0.1:8000")
    r.ev(10 * US, 0, "thread_start", 1).ev(20 * US, 0, "thread_start", 2)
    for i in range(1, n + 1):
        base = i * MS
        peer = f"127.0.0.1:{40000 + i}"
        client, cid = 100 + i, 5000 + i
        worker = 1 + i % 2
        r.ev(base, 10 * US, "connect", client, cid, -1, peer, tag=f"connect{i}")
        accepted = base + 10 * US + i * US  # backlog wait i µs
        r.ev(base + 5 * US, accepted - (base + 5 * US), "accept", 0, i, -1, peer, tag=f"accept{i}")
        submit = accepted + 1 * US
        r.ev(submit, 0, "submit", 0, i, 0)
        start = submit + 2 * i * US  # queue wait 2i µs
        r.ev(start, 0, "start", worker, i, tag=f"start{i}")
        r.ev(start + 1 * US, 3 * US, "recv", worker, i, 50, tag=f"recv{i}")
        r.ev(start + 5 * US, 1 * US, "send", worker, i, 200)
        r.ev(start + 10 * i * US, 0, "close", worker, i, -1, "eof", tag=f"close{i}")  # service 10i µs
        r.ev(base + 12 * US + i * US, 1 * US, "send", client, cid, 50)
        r.ev(start + 6 * US, 2 * US, "recv", client, cid, 200)
        r.ev(start + 10 * i * US + 1 * US, 0, "close", client, cid, -1, "client")
        r.ev(start + 10 * i * US + 2 * US, 0, "thread_exit", client)
    return r.end(t=(n + 1) * MS, alive=[0, 1, 2])
