"""Writes the small hand-built recordings the timeline tests use (deterministic bytes).

Run from the repository: .venv/bin/python tests/data/make_data.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
US = 1_000
MS = 1_000_000


def header(model: str = "pool", **settings: object) -> str:
    s = {"model": model, "host": "127.0.0.1", "port": 8000, "workers": 3, "backlog": 16, **settings}
    return json.dumps({"format": "sockscope", "version": 1, "tool": "sockscope 0.1.0", "model": model,
                       "settings": s, "t0_monotonic_ns": 1})


def lane(i: int, name: str, side: str = "server") -> str:
    return json.dumps({"lane": i, "name": name, "native_id": 100 + i, "side": side})


def ev(t: int, dur: int, kind: str, lane_id: int, conn: int = 0, count: int = -1, detail: object = None) -> str:
    fields: list[object] = [t, dur, kind, lane_id, conn, count]
    if detail is not None:
        fields.append(detail)
    return json.dumps(fields, separators=(",", ":"))


def counter(name: str, t: int, v: int) -> str:
    return json.dumps({"c": name, "t": t, "v": v})


def trailer(t: int, events: int, dropped: int = 0) -> str:
    return json.dumps({"end": True, "t": t, "events": events, "dropped": dropped, "alive_lanes": []})


def pool() -> list[str]:
    """A pool of 3 workers, 2 client lanes, 5 connections: the 4th and 5th wait in the pool's queue."""
    out = [header(), lane(0, "MainThread"), ev(10 * US, 0, "listen", 0, 0, 16, "127.0.0.1:8000"),
           counter("threads", 10 * US, 1), counter("queue", 10 * US, 0), counter("backlog", 10 * US, 0)]
    out += [lane(1, "worker_0"), lane(2, "worker_1"), lane(3, "worker_2")]
    out += [lane(10, "client-0", "client"), lane(11, "client-1", "client")]
    t = 100 * US
    n = 1
    for c in range(1, 6):
        w = 1 + (c - 1) % 3
        cl = 10 + c % 2
        peer = f"127.0.0.1:{50000 + c}"
        start = t + 60 * US if c <= 3 else 2 * MS + c * 150 * US
        out.append(ev(t - 40 * US, 30 * US, "connect", cl, c, -1, peer))
        out.append(ev(t - 90 * US if c == 1 else t - 5 * US, 95 * US if c == 1 else 10 * US, "accept", 0, c, -1, peer))
        out.append(ev(t + 10 * US, 0, "submit", 0, c, max(0, c - 3)))
        out.append(counter("queue", t + 10 * US, max(0, c - 3)))
        if c <= 3:
            out.append(ev(t + 50 * US, 0, "thread_start", w))
        out.append(ev(start, 0, "start", w, c))
        out.append(ev(t + 20 * US, 5 * US, "send", cl, c, 78))
        out.append(ev(start + 5 * US, 300 * US, "recv", w, c, 78))
        out.append(ev(start + 310 * US, 40 * US, "send", w, c, 330))
        out.append(ev(t + 30 * US, start + 350 * US - t - 30 * US, "recv", cl, c, 330))
        out.append(ev(start + 360 * US, 200 * US, "recv", w, c, 0))
        out.append(ev(start + 570 * US, 10 * US, "close", w, c, -1, "eof"))
        out.append(ev(start + 400 * US, 5 * US, "close", cl, c, -1, "client"))
        n += 10 + (c <= 3)
        t += 250 * US
    out.append(counter("queue", 3 * MS, 0))
    out.append(counter("threads", 200 * US, 4))
    out.append(ev(4 * MS, 0, "thread_exit", 3))
    out.append(trailer(4 * MS, n + 1))
    return out


def files() -> dict[str, list[str]]:
    return {
        "pool.jsonl": pool(),
        "empty.jsonl": [header()],
        "one.jsonl": [header(), lane(0, "MainThread"), ev(5 * US, 0, "listen", 0, 0, 16, "127.0.0.1:8000"),
                      trailer(5 * US, 1)],
        "same_time.jsonl": [header(), lane(0, "MainThread"), lane(1, "worker_0")]
        + [ev(1 * MS, 0, k, 0 if i % 2 == 0 else 1, 1, -1) for i, k in enumerate(
            ["submit", "start", "submit", "close", "thread_start", "thread_exit"])]
        + [ev(1 * MS, 50 * US, "recv", 1, 1, 10), trailer(2 * MS, 7)],
        "many_lanes.jsonl": [header("thread")] + [lane(i, f"recv-{i}") for i in range(500)]
        + [ev(i * 10 * US, 3 * MS, "recv", i, i + 1, 0) for i in range(500)] + [trailer(10 * MS, 500)],
        "markup.jsonl": [header(), lane(0, "[bold]red[/bold]"), lane(1, "esc\x1b[31mred\x07")]
        + [ev(10 * US, 20 * US, "accept", 0, 1, -1, "[link=x]peer[/link]\x1b[2J"),
           ev(40 * US, 5 * US, "recv", 1, 1, 3), ev(50 * US, 1 * US, "close", 1, 1, -1, "error: [b]x\x1b")],
        "not_a_recording.jsonl": ['{"hello": "world"}', "[1,2,3]"],
        "bad_line.jsonl": [header(), lane(0, "MainThread"), ev(1 * US, 0, "listen", 0), "this is not json"],
    }


def main() -> None:
    for name, lines in files().items():
        (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
