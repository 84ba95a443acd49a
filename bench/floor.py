"""The floor a reader of recordings is measured against: parse every line of a file, and nothing more.

``json.loads`` of each line is what a plain Python reader pays at the least;
``orjson.loads`` of each line (if orjson is installed) is the bar of issue 14:
loading a recording into the model should cost no more than that.  Printed
beside the reader's own time by ``bench_timeline.py`` and ``bench_export.py``,
measured in the same run on the same file, so the ratio means something.
"""

from __future__ import annotations

import json
import time


def floor(path: str) -> dict[str, float]:
    """Seconds to read ``path`` and parse each line with json (and orjson, if installed)."""
    out: dict[str, float] = {}
    with open(path, "rb") as f:
        data = f.read()
    lines = data.splitlines()
    t = time.perf_counter()
    loads = json.loads
    for line in lines:
        loads(line)
    out["json.loads"] = time.perf_counter() - t
    try:
        import orjson
    except ImportError:
        return out
    t = time.perf_counter()
    oloads = orjson.loads
    for line in lines:
        oloads(line)
    out["orjson.loads"] = time.perf_counter() - t
    return out


def report(path: str, seconds: float, n: int, label: str = "load") -> list[str]:
    """Lines comparing ``seconds`` (the reader's) with the floor, measured now."""
    lines = []
    for name, s in floor(path).items():
        lines.append(f"floor {name:<13} {s:6.2f} s   {s / n * 1e6:.2f} µs/event   {label} is {seconds / s:.2f}x it")
    return lines
