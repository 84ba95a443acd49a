"""Live mode's two bars, measured side by side (prints numbers; asserts nothing).

1. Latency: from the moment the server accepts a connection (its ``accept``
   event's end, on the recording's clock), and from the moment a fired client's
   ``connect`` returns, to the moment that connection is in the live UI's
   model, read from the UI's own event loop.  Bar: 250 ms to the screen.
2. The UI does not slow the server: the pool server's requests per second
   under the same keep-alive load (``tracer.clients.loadgen``, its own process), with
   and without a live UI following the recording, in alternating pairs.

    .venv/bin/python bench/bench_live.py [--samples 30] [--pairs 3] [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time

from servers import Settings
from tracer.addresses import Address
from tracer.run.benchmark import run_load
from tracer.run.live_session import Session
from tracer.run.processes import yield_cpu_to_server
from tracer.tui.live_app import LiveApp


def t0_of(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        return int(json.loads(f.readline())["t0_monotonic_ns"])


def ends(app: LiveApp) -> tuple[dict[int, int], dict[int, int]]:
    """For the connections in the UI's model: id -> when the server's accept() returned it, and
    id -> when the client's connect() returned (both on the recording's clock)."""
    tl = app.timeline
    accepted: dict[int, int] = {}
    connected: dict[int, int] = {}
    for c in list(tl.rec.connections.values()) if tl is not None else []:
        if c.accepted_t is not None:
            accepted[c.id] = c.accepted_t
        if c.connected_t is not None:
            connected[c.id] = c.connected_t
    return accepted, connected


async def latency(samples: int) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds from each server accept, and each client connect, to its appearance in the UI's model,
    and from the connect to the first frame of lanes drawn after that.

    Each sample fires one scenario client (a process of its own, as the keys do) and
    watches the model from the UI's own event loop.
    """
    from_accept: list[float] = []
    from_connect: list[float] = []
    drawn: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "latency.jsonl")
        session = Session(Settings(model="pool", workers=4), path)
        session.start()
        t0 = t0_of(path)
        app = LiveApp(path, session=session)
        try:
            async with app.run_test(size=(120, 35)) as pilot:
                while app.timeline is None:
                    await pilot.pause(0.01)
                for _ in range(samples):
                    seen_a, seen_c = (set(d) for d in ends(app))
                    session.fire("burst", {"clients": 1})
                    got_a: dict[int, int] = {}
                    got_c: dict[int, int] = {}
                    deadline = time.monotonic() + 10
                    while not (got_a and got_c) and time.monotonic() < deadline:
                        await asyncio.sleep(0.002)
                        now = time.monotonic_ns() - t0
                        accepted, connected = ends(app)
                        if not got_a and (new := {k: v for k, v in accepted.items() if k not in seen_a}):
                            got_a = new
                            from_accept.append((now - max(new.values())) / 1e6)
                        if not got_c and (new := {k: v for k, v in connected.items() if k not in seen_c}):
                            got_c = new
                            from_connect.append((now - max(new.values())) / 1e6)
                            frames = app.lanes.frames
                            while app.lanes.frames == frames and time.monotonic() < deadline:
                                await asyncio.sleep(0.001)  # the lanes' next frame draws it
                            drawn.append((time.monotonic_ns() - t0 - max(new.values())) / 1e6)
                    session.wait_clients(10)
                    await pilot.pause(random.uniform(0.05, 0.3))  # sample every phase of the polls
                await pilot.press("q")
        finally:
            session.stop()
    return from_accept, from_connect, drawn


def events_in(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.startswith("[") and line.endswith("\n"))


def load(address: Address, seconds: float) -> float:
    """Requests per second the server answered under 8 keep-alive connections for ``seconds``."""
    assert not isinstance(address, str), "bench_live loads a TCP server"
    return float(run_load(str(address[0]), int(address[1]), 8, seconds)["rps"])


async def throughput(pairs: int, seconds: float) -> list[tuple[float, float, float, int]]:
    """(requests/s without a UI, with a live UI following, the UI process's CPU share, events in its model)."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "load.jsonl")
        session = Session(Settings(model="pool", workers=8), path)
        address = session.start()
        # As `sockscope live` does once its server runs: this thread runs the UI below. The load
        # generator is started from another thread (asyncio.to_thread), so it keeps its priority.
        yield_cpu_to_server()
        try:
            for _ in range(pairs):
                alone = await asyncio.to_thread(load, address, seconds)
                app = LiveApp(path, session=session)
                async with app.run_test(size=(120, 35)) as pilot:
                    backlog = events_in(path)
                    while app.timeline is None or app.timeline.rec.n_events < backlog:
                        await pilot.pause(0.05)  # catch up with the history first: measure following, not loading
                    cpu0, wall0 = time.process_time(), time.monotonic()
                    watched = await asyncio.to_thread(load, address, seconds)
                    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
                    events = app.timeline.rec.n_events if app.timeline else 0
                    await pilot.press("q")
                results.append((alone, watched, cpu, events))
        finally:
            session.stop()
    return results


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=30)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--seconds", type=float, default=3.0)
    args = p.parse_args()

    names = ("server accept -> in the live UI's model", "client connect -> in the live UI's model",
             "client connect -> drawn on the lanes")
    for what, ms in zip(names, await latency(args.samples), strict=True):
        if ms:
            ms.sort()
            print(f"{what}, {len(ms)} samples: median {statistics.median(ms):.0f} ms, "
                  f"p90 {ms[int(0.9 * (len(ms) - 1))]:.0f} ms, max {ms[-1]:.0f} ms (bar: 250 ms to the screen)")
    print(f"this machine has {os.cpu_count()} cores; the server, the load and the UI are three processes")
    ratios = []
    for alone, watched, cpu, events in await throughput(args.pairs, args.seconds):
        ratios.append(watched / alone)
        print(f"pool server, 8 keep-alive connections: {alone:,.0f} req/s alone, {watched:,.0f} req/s with a live UI "
              f"following: ratio {watched / alone:.2f} (the UI used {cpu:.0%} of a core; {events:,} events in it)")
    if ratios:
        print(f"median ratio over {len(ratios)} pairs: {statistics.median(ratios):.2f} "
              "(on a machine with fewer cores than busy processes, the UI's share of a core comes off the server)")


if __name__ == "__main__":
    asyncio.run(main())
