"""Replay's load (the UI's Loader, chunks with progress) through the C block path against the old lines path.

Both in one process, interleaved, best of N: the old path is the loader as it was before (each chunk cut by
``str.splitlines``, then ``Builder.feed_lines``).  Prints the ratio; the machine is shared, so say ``uptime``.

    python bench/bench_follow.py FILE [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import time

from tracer.recording.follow import Loader


class LinesLoader(Loader):
    """The loader before issue 14's block path: a str a line."""

    def _feed(self, text: str) -> None:
        self.builder.feed_lines(text.splitlines(keepends=True))


def _time(cls: type[Loader], path: str) -> tuple[float, int]:
    batches: list[object] = []
    t0 = time.perf_counter()
    rec = cls(path, batches.append).run()
    return time.perf_counter() - t0, rec.n_events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    best = {"lines": float("inf"), "block": float("inf")}
    for _ in range(args.runs):
        for name, cls in (("lines", LinesLoader), ("block", Loader)):
            dt, n = _time(cls, args.path)
            best[name] = min(best[name], dt)
    print(f"{n:,} events, best of {args.runs}: lines path {best['lines']:.2f} s, block path {best['block']:.2f} s, "
          f"block/lines {best['block'] / best['lines']:.2f}x; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
