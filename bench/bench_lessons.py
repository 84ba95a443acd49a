"""Lesson bar: each lesson opens on its first step in under 1 s, at 80x24 and at 120x35.

Prints, per lesson and size, the time from starting the app (headless, as the tests drive it) until its
first step is applied and drawn, and that time as a share of the 1 s budget, side by side with a plain
``replay`` of the same recording (the floor: what loading and drawing cost without the lesson).
No asserts: read the table.

Run: .venv/bin/python bench/bench_lessons.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tracer.lessons import catalogue  # noqa: E402
from tracer.tui.app import ReplayApp  # noqa: E402
from tracer.tui.lesson_app import LessonApp  # noqa: E402

BUDGET = 1.0  # seconds


async def opened(app: ReplayApp, size: tuple[int, int], ready: object) -> float:
    t0 = time.perf_counter()
    async with app.run_test(size=size) as pilot:
        while not ready():  # type: ignore[operator]
            await pilot.pause(0.005)
        await pilot.pause()  # one frame with the step drawn
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per lesson and size (default 3; the median)")
    args = parser.parse_args()
    print(f"{'lesson':<8}{'size':<8}{'lesson s':>10}{'replay s':>10}{'share of 1 s':>14}")
    worst = 0.0
    for lesson in catalogue.LESSONS:
        if lesson.pending:
            print(f"{lesson.number:<8}{'-':<8}  pending: needs sockscope run")
            continue
        for size in ((80, 24), (120, 35)):
            times, floors = [], []
            for _ in range(args.rounds):
                app = LessonApp(lesson)
                times.append(asyncio.run(opened(app, size, lambda a=app: a._applied == 0)))
                plain = ReplayApp(os.path.join("recordings", lesson.recording))
                floors.append(asyncio.run(opened(plain, size, lambda a=plain: a.loaded)))
            t, f = statistics.median(times), statistics.median(floors)
            worst = max(worst, t)
            print(f"{lesson.number:<8}{f'{size[0]}x{size[1]}':<8}{t:>10.3f}{f:>10.3f}{t / BUDGET:>13.0%}")
    print(f"slowest: {worst:.3f} s = {worst / BUDGET:.0%} of the {BUDGET:g} s budget")


if __name__ == "__main__":
    main()
