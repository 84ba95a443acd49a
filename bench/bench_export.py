"""How long each export takes on a synthetic million-event recording.

    .venv/bin/python bench/bench_export.py             # 1,000,000 events
    .venv/bin/python bench/bench_export.py --events 200000

Writes a pool-shaped recording (an accept loop, 8 workers, 50 client lanes,
about 11 events per connection, counters) to a temporary folder, loads it
once, then times ``check`` and each export format on the loaded recording and
prints seconds, events per second and output size; then each format end to end
(``sockscope export``, load included: issue 14's bar is < 3 s for 1M events),
and the floor (json/orjson.loads of every line) with the load's ratio to it.
Chrome, CSV and Perfetto are timed twice, with the C encoder (tracer/export/_encode.c)
and with the Python loops (``SOCKSCOPE_PURE_PYTHON=1`` end to end), side by side:
the ratio is what to read on a busy machine (CPU seconds are printed beside wall ones).
Asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from floor import report  # noqa: E402

from tracer import export  # noqa: E402
from tracer.analysis.check import check  # noqa: E402
from tracer.export import encode  # noqa: E402
from tracer.recording.reader import load  # noqa: E402

WORKERS = 8
CLIENTS = 50
PER_CONN = 11
FAST = ("chrome", "csv", "perfetto")  # the formats with a C encoder


def synthesize(path: str, n_events: int) -> int:
    """Write a recording of about ``n_events`` events; return how many were written."""
    header = {"format": "sockscope", "version": 1, "model": "pool", "t0_monotonic_ns": 0,
              "settings": {"model": "pool", "workers": WORKERS, "backlog": 128}}
    lines = [json.dumps(header)]
    lines.append(json.dumps({"lane": 0, "name": "MainThread", "native_id": 100, "side": "server"}))
    for w in range(WORKERS):
        lines.append(json.dumps({"lane": 1 + w, "name": f"worker_{w}", "native_id": 101 + w, "side": "server"}))
    for c in range(CLIENTS):
        lines.append(json.dumps({"lane": 1000 + c, "name": f"client-{c}", "native_id": 200 + c, "side": "client"}))
    for w in range(WORKERS):
        lines.append(f'[{w * 1000},0,"thread_start",{1 + w},0,-1]')
    n = WORKERS
    conns = n_events // PER_CONN
    t = 100_000
    for cid in range(1, conns + 1):
        w, c = 1 + cid % WORKERS, 1000 + cid % CLIENTS
        port = 10000 + cid % 50000
        peer = f"127.0.0.1:{port}"
        lines += [
            f'[{t},30000,"connect",{c},{cid + 500000},-1,"{peer}"]',
            f'[{t + 10000},25000,"accept",0,{cid},-1,"{peer}"]',
            f'[{t + 36000},0,"submit",0,{cid},{cid % 5}]',
            f'[{t + 40000},8000,"send",{c},{cid + 500000},27]',
            f'[{t + 50000},0,"start",{w},{cid},-1]',
            f'[{t + 52000},20000,"recv",{w},{cid},27]',
            f'[{t + 73000},9000,"send",{w},{cid},330]',
            f'[{t + 60000},30000,"recv",{c},{cid + 500000},330]',
            f'[{t + 83000},15000,"recv",{w},{cid},0]',
            f'[{t + 99000},3000,"close",{w},{cid},-1,"eof"]',
            f'[{t + 95000},2000,"close",{c},{cid + 500000},-1,"client"]',
        ]
        if cid % 100 == 0:
            lines.append(json.dumps({"c": "queue", "t": t, "v": cid % 7}))
        t += 12_000  # connections overlap: 8 workers stay busy
        n += PER_CONN
    for c in range(CLIENTS):
        lines.append(f'[{t + 100_000},0,"thread_exit",{1000 + c},0,-1]')
        n += 1
    lines.append(json.dumps({"end": True, "t": t + 200_000, "events": n, "dropped": 0,
                             "alive_lanes": [0] + list(range(1, WORKERS + 1))}))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return n


def packets_size(data: bytes) -> int:
    """The bytes of a Perfetto trace's packets with its ``compressed_packets`` inflated."""
    i = total = 0
    while i < len(data):
        size, j = _varint(data, i + 1)  # data[i] is the tag of Trace.packet
        body = data[j:j + size]
        if body[:1] == b"\x92" and body[1:2] == b"\x03":  # field 50 (compressed_packets) first
            _, k = _varint(body, 2)
            total += len(zlib.decompress(body[k:]))
        else:
            total += j + size - i
        i = j + size
    return total


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return n, i


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.jsonl")
        n = synthesize(path, args.events)
        size = os.path.getsize(path)
        print(f"recording: {n:,} events, {size / 1e6:.1f} MB  (load average {os.getloadavg()[0]:.1f})")
        t = time.perf_counter()
        rec = load(path)
        load_s = time.perf_counter() - t
        print(f"{'load':<8}{load_s:7.2f} s  {n / load_s:12,.0f} events/s")
        for line in report(path, load_s, n):
            print(line)
        t = time.perf_counter()
        found = check(rec)
        s = time.perf_counter() - t
        print(f"{'check':<8}{s:7.2f} s  {n / s:12,.0f} events/s  {len(found)} findings  ({s / load_s:.2f}x load)")
        sizes = {}
        for fmt, (_, suffix) in export.FORMATS.items():
            out = os.path.join(folder, "big" + suffix)
            t, c = time.perf_counter(), time.process_time()
            with open(out, "wb") if export.is_binary(fmt) else open(out, "w", encoding="utf-8", newline="") as f:
                export.write(fmt, rec, f)
            s, cpu = time.perf_counter() - t, time.process_time() - c
            sizes[fmt] = os.path.getsize(out)
            line = (f"{fmt:<8}{s:7.2f} s  {n / s:12,.0f} events/s  {sizes[fmt] / 1e6:8.1f} MB"
                    f"  {sizes[fmt] / n:6.1f} bytes/event  ({s / load_s:.2f}x load; CPU {cpu:.2f} s)")
            if fmt in FAST and encode.native is not None:
                native, encode.native = encode.native, None
                try:
                    c = time.process_time()
                    export.write(fmt, rec, io.BytesIO() if export.is_binary(fmt) else io.StringIO())
                    py = time.process_time() - c
                finally:
                    encode.native = native
                line += f"  python loops: CPU {py:.2f} s, C/python {cpu / py:.2f}"
            print(line)
        with open(os.path.join(folder, "big" + export.FORMATS["perfetto"][1]), "rb") as f:
            raw = packets_size(f.read())
        print(f"perfetto is {sizes['chrome'] / sizes['perfetto']:.1f}x smaller than chrome (bar 4x); its packets "
              f"before deflating {raw / n:.1f} bytes/event ({sizes['chrome'] / raw:.1f}x smaller)")
        del rec
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
        for fmt, (_, suffix) in export.FORMATS.items():
            out = os.path.join(folder, "cli" + suffix)
            runs = [("C", {})] if fmt not in FAST else [("C", {}), ("python", {"SOCKSCOPE_PURE_PYTHON": "1"})]
            got = []
            for name, env in runs:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "tracer", "export", path, "-f", fmt, "-o", out], cwd=root,
                               check=True, capture_output=True, env={**os.environ, **env})
                s = time.perf_counter() - t
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                got.append((name, s, cpu))
            text = "; ".join(f"{name} {s:.2f} s wall, {cpu:.2f} s CPU" for name, s, cpu in got)
            if len(got) == 2:
                text += f"; C/python CPU {got[0][2] / got[1][2]:.2f}"
            print(f"end to end: sockscope export -f {fmt:<9}{text}  (load included; bar 3 s for 1M; "
                  f"load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
