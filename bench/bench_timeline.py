"""Timeline bars: a synthetic 1,000,000-event recording, loaded and drawn.

Prints (measured here, no asserts):
  * load: time until the first screen is drawn while loading continues, and the full load;
  * per-frame render time of the timeline widget for pans and zooms (every visible line);
  * bytes per event held in memory (tracemalloc, recording + timeline index), and the peak RSS of a
    process that loads the file and builds the timeline (no UI);
  * the floor, from the same run on the same file: json.loads (and orjson.loads, if installed) of
    every line, and the reader's load time as a ratio of it (issue 14's bar: <= 1.0x orjson).

Run: .venv/bin/python bench/bench_timeline.py [--events N] [--keep FILE] [--no-ui]
(10M events take minutes: run that once, in the background, nice'd.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from floor import report  # noqa: E402

from tracer.recording.follow import Loader  # noqa: E402
from tracer.recording.reader import load  # noqa: E402
from tracer.timeline.rows import Timeline  # noqa: E402

WORKERS, CLIENTS = 10, 40


def make_recording(path: str, n_events: int, seed: int = 1) -> int:
    """A pool server with 10 workers and 40 client lanes; about 11 events per connection."""
    rnd = random.Random(seed)
    head = {"format": "sockscope", "version": 1, "model": "pool", "t0_monotonic_ns": 0,
            "settings": {"model": "pool", "workers": WORKERS, "backlog": 128}}
    out = [json.dumps(head)]
    out.append('{"lane": 0, "name": "MainThread", "native_id": 1, "side": "server"}')
    for w in range(WORKERS):
        out.append(f'{{"lane": {w + 1}, "name": "worker_{w}", "native_id": {w + 2}, "side": "server"}}')
    for c in range(CLIENTS):
        out.append(f'{{"lane": {100 + c}, "name": "client-{c}", "native_id": {c + 50}, "side": "client"}}')
    out.append('[0,0,"listen",0,0,128,"127.0.0.1:8000"]')
    n, conn, t = 1, 0, 1000
    free = [0] * (WORKERS + 1)
    cfree = [0] * CLIENTS
    while n < n_events:
        conn += 1
        cl = conn % CLIENTS
        t += rnd.randint(2_000, 30_000)
        c0 = max(t, cfree[cl])
        peer = f"127.0.0.1:{10000 + conn % 50000}"
        out.append(f'[{c0},{rnd.randint(20_000, 60_000)},"connect",{100 + cl},{conn},-1,"{peer}"]')
        acc = c0 + 70_000
        out.append(f'[{t},{acc - t},"accept",0,{conn},-1,"{peer}"]')
        out.append(f'[{acc + 500},0,"submit",0,{conn},{rnd.randint(0, 4)}]')
        w = 1 + conn % WORKERS
        s = max(acc + 1_000, free[w])
        rv, sd = rnd.randint(5_000, 200_000), rnd.randint(5_000, 50_000)
        out.append(f'[{s},0,"start",{w},{conn},-1]')
        out.append(f'[{s + 100},{rv},"recv",{w},{conn},79]')
        out.append(f'[{s + rv + 300},{sd},"send",{w},{conn},330]')
        end = s + rv + sd + 1_000
        out.append(f'[{end},{rnd.randint(1_000, 20_000)},"recv",{w},{conn},0]')
        out.append(f'[{end + 25_000},3000,"close",{w},{conn},-1,"eof"]')
        free[w] = end + 30_000
        out.append(f'[{c0 + 80_000},2000,"send",{100 + cl},{conn},79]')
        out.append(f'[{c0 + 90_000},{max(1_000, end - c0 - 90_000)},"recv",{100 + cl},{conn},330]')
        end = max(end, c0 + 91_000)
        out.append(f'[{end + 5_000},1000,"close",{100 + cl},{conn},-1,"client"]')
        cfree[cl] = end + 10_000
        if conn % 50 == 0:
            out.append(f'{{"c": "queue", "t": {acc}, "v": {rnd.randint(0, 5)}}}')
            out.append(f'{{"c": "backlog", "t": {acc}, "v": {rnd.randint(0, 3)}}}')
        n += 11
    out.append(json.dumps({"end": True, "t": max(free), "events": n, "dropped": 0, "alive_lanes": []}))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    return n


async def first_screen(path: str) -> tuple[float, float, list[float], list[float], list[float]]:
    """Open the app on the file; time the first drawn screen and the end of loading (and the gaps between the
    ticks of a 10 ms timer meanwhile: how long the UI could not answer a key); then pans and zooms."""
    from tracer.tui.app import ReplayApp
    from tracer.tui.widgets.timeline import TimelineView

    begin = time.perf_counter()
    app = ReplayApp(path)
    first = done = 0.0
    async with app.run_test(size=(120, 35)) as pilot:
        view = app.query_one(TimelineView)
        gaps: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append((now - last[0]) * 1000)
            last[0] = now

        timer = app.set_interval(0.01, tick)
        while not first:
            await pilot.pause(0.01)
            if view.frames and app.timeline is not None and app.timeline.rec.n_events:
                first = time.perf_counter() - begin
        while not app.loaded:
            await pilot.pause(0.02)
        done = time.perf_counter() - begin
        timer.stop()
        await pilot.press("0")
        pans, zooms = [], []
        for i in range(40):
            view.pan_cells(10 if i % 2 else -7)
            pans.append(frame(view))
        for i in range(40):
            view.zoom_by(2.0 if i % 4 < 2 else 0.5)
            zooms.append(frame(view))
        for _ in range(10):  # zoomed far in, and far out again
            view.zoom_by(3.0)
        for _ in range(10):
            zooms.append(frame(view))
            view.zoom_by(1 / 3.0)
    return first, done, pans, zooms, sorted(gaps) or [0.0]


def frame(view) -> float:  # type: ignore[no-untyped-def]
    """Render every visible line of the timeline once, as Textual would for a frame."""
    view.invalidate()
    begin = time.perf_counter()
    for y in range(view.size.height):
        view.render_line(y)
    return (time.perf_counter() - begin) * 1000


def memory(path: str, n: int) -> float:
    tracemalloc.start()
    rec = load(path)
    tl = Timeline(rec)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del tl
    return size / n


_RSS = """
import resource, sys, time
sys.path.insert(0, sys.argv[2])
from tracer.recording.reader import load
from tracer.timeline.rows import Timeline
t = time.perf_counter()
tl = Timeline(load(sys.argv[1]))
seconds = time.perf_counter() - t
try:  # VmHWM starts again at exec; ru_maxrss keeps the parent's peak across it (this bench's parent is bigger)
    with open("/proc/self/status") as f:
        kb = int(next(line for line in f if line.startswith("VmHWM:")).split()[1])
except (OSError, StopIteration):  # not Linux: ru_maxrss (kB on Linux, bytes on macOS; an upper bound)
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kb = kb // 1024 if sys.platform == "darwin" else kb
print(seconds, kb)
"""


def peak_rss(path: str) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a fresh process that loads ``path`` and builds its timeline."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", _RSS, path, root], capture_output=True, text=True, check=True)
    seconds, kb = out.stdout.split()
    return float(seconds), int(kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keep", metavar="FILE", help="write the synthetic recording here and keep it")
    ap.add_argument("--reuse", action="store_true", help="use --keep FILE as it is if it exists")
    ap.add_argument("--no-ui", action="store_true", help="skip the UI (first screen, frames)")
    args = ap.parse_args()
    path = args.keep or os.path.join(tempfile.mkdtemp(), "synthetic.jsonl")
    t = time.perf_counter()
    if args.reuse and args.keep and os.path.exists(path):
        with open(path, "rb") as f:
            n = sum(1 for line in f if line.startswith(b"["))
    else:
        n = make_recording(path, args.events)
    print(f"made {n:,} events, {os.path.getsize(path) / n:.1f} bytes/event on disk, in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    load(path)
    parse = time.perf_counter() - t
    print(f"load (reader, no UI):         {parse:6.2f} s   {parse / n * 1e6:.2f} µs/event")
    for line in report(path, parse, n):
        print(line)
    t = time.perf_counter()
    Loader(path, lambda b: None).run()
    s = time.perf_counter() - t
    print(f"load (Loader, as the UI):     {s:6.2f} s   {s / n * 1e6:.2f} µs/event")
    seconds, mb = peak_rss(path)
    print(f"peak RSS, load + timeline:    {mb:6.0f} MB  ({mb * 2**20 / n:.0f} bytes/event; bar 600 MB at 10M) "
          f"in {seconds:.2f} s")
    print(f"memory: {memory(path, n):.0f} bytes/event (recording + timeline index, tracemalloc; bar 48)")
    if args.no_ui:
        return

    first, done, pans, zooms, gaps = asyncio.run(first_screen(path))
    print(f"first screen on (120x35):     {first:6.2f} s   (bar 2 s at 1M, 1 s at 10M; loading goes on behind it)")
    print(f"whole file loaded in the UI:  {done:6.2f} s   ({done / parse:.2f}x the bare load, same file; "
          f"bar 10 s at 10M)")
    print(f"UI's stops while loading:     median {statistics.median(gaps):.0f} ms, p95 "
          f"{gaps[int(len(gaps) * 0.95)]:.0f} ms, worst {gaps[-1]:.0f} ms  (a 10 ms timer's ticks apart)")
    for name, xs in (("pan", pans), ("zoom", zooms)):  # (after the load: no loading redraw among them)
        p95 = statistics.quantiles(xs, n=20)[-1]
        print(f"{name:4} frame render: median {statistics.median(xs):5.2f} ms, p95 {p95:5.2f} ms, "
              f"worst {max(xs):5.2f} ms over {len(xs)} frames  (bar 16 ms)")
    if not args.keep:
        os.remove(path)


if __name__ == "__main__":
    main()
