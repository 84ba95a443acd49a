"""bench/soak.py's judge of the RSS after warm-up (issue 15): a leak fails, warm-up does not.

The series are what the soak samples after each round (``Sample``: seconds, fds, threads, RSS KiB),
shaped like the ones measured: a warm-up that rises in steps at the heaviest loads and levels off, and
a leak that keeps rising by the same amount every rotation.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import soak  # noqa: E402

ROTATION = 8  # six scenarios, wrk, ab


def series(rss: list[float], every_s: float = 2.0) -> list[soak.Sample]:
    return [soak.Sample(t=i * every_s, fds=5, threads=3, rss_kib=int(r)) for i, r in enumerate(rss)]


def warm_up(rounds: int) -> list[float]:
    """Steps at the rotation's heavy rounds, each half the one before (the thread model's, measured)."""
    rss, step, now = [], 1400.0, 30_000.0
    for i in range(rounds):
        if i % ROTATION in (6, 7):
            now += step / 2
            if i % ROTATION == 7:
                step /= 2
        rss.append(now)
    return rss


def test_a_warm_up_that_levels_off_passes():
    verdict = soak.judge_rss(series(warm_up(60)), ROTATION)
    assert verdict.problem is None and verdict.slope is not None
    assert "after warm-up (rounds 31-60)" in verdict.words and "<= 1024" in verdict.words


# The thread server's RSS after each round of a 3-minute soak (before the lane fix), KiB - 30,000
THREAD_MEASURED = [
    516, 532, 552, 580, 592, 596, 1640, 1948, 1964, 1964, 1968, 1968, 1976, 1976, 2312, 2368,
    2372, 2372, 2380, 2380, 2388, 2388, 2560, 2984, 3004, 3004, 3008, 3008, 3008, 3008, 3084, 3096,
    3096, 3096, 3100, 3100, 3100, 3100, 3160, 3160, 3168, 3168, 3172, 3172, 3172, 3172, 3184, 3392,
    3400, 3400, 3404, 3404, 3404, 3404, 3420, 3420, 3420, 3420, 3420, 3420, 3420, 3420, 3752, 3824,
]


def test_the_thread_models_measured_rss_passes():
    """Its first 64 rounds (8 rotations; the ones after were flatter still)."""
    verdict = soak.judge_rss(series([30_000 + r for r in THREAD_MEASURED], every_s=1.5), ROTATION)
    assert verdict.problem is None and verdict.slope is not None, verdict


def test_a_leak_of_a_few_bytes_a_request_fails_with_its_reason():
    # 1.5 MiB a minute: at the soak's ~120,000 requests a minute, 13 bytes each
    leak = [r + 50 * i for i, r in enumerate(warm_up(60))]  # +50 KiB a 2 s round
    verdict = soak.judge_rss(series(leak), ROTATION)
    assert verdict.problem is not None and "a leak" in verdict.problem
    assert verdict.slope is not None and 1500 <= verdict.slope < 1800
    assert "> 1024" in verdict.words
    assert soak.judge_rss(series(warm_up(60)), ROTATION).slope < 250  # the same warm-up alone


def test_warm_up_is_at_least_three_rotations_even_in_a_short_run():
    """In 40 rounds half would be 20: the thread model's third rotation would be judged as a leak."""
    steep = series([30_000 + r for r in THREAD_MEASURED[:40]], every_s=1.5)
    assert soak.slope_kib_per_min(steep[20:]) > soak.LEAK_KIB_PER_MIN  # what half alone would judge
    verdict = soak.judge_rss(steep, ROTATION)
    assert verdict.problem is None and "rounds 25-40" in verdict.words


def test_too_short_a_run_says_it_is_not_judged():
    verdict = soak.judge_rss(series([30_000 + 500 * i for i in range(30)]), ROTATION)
    assert verdict.problem is None and verdict.slope is None
    assert verdict.words == "slope not judged: 6 rounds after 24 of warm-up, 16 needed (a longer --minutes)"
