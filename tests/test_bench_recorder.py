"""bench/bench_recorder.py's turn order: balanced, so that no server always follows the same one.

The noise floor (two untraced servers) came out biased the same way in every run while the order was
only rotated: each server then always followed the same predecessor.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bench_recorder  # noqa: E402

NAMES = ["off", "on", "off2", "run-off", "run-on"]


def pairs(order: list[str]) -> Counter[tuple[str, str]]:
    return Counter(zip(order, order[1:], strict=False))


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7])
def test_a_circuit_has_each_server_follow_every_other_exactly_once(n):
    names = NAMES[:n] + [f"x{i}" for i in range(n - len(NAMES))]
    for seed in range(20):
        circuit = bench_recorder.balanced_circuit(names, random.Random(seed))
        closed = pairs(circuit + circuit[:1])  # with its closing edge, back to the first
        assert len(circuit) == n * (n - 1)
        assert closed == Counter({(a, b): 1 for a in names for b in names if a != b})
        assert Counter(circuit) == Counter(dict.fromkeys(names, n - 1))


def test_a_rounds_order_is_balanced_in_pairs_and_in_turns():
    order = bench_recorder.turn_order(NAMES, 100, random.Random(7))  # 5 servers x 2 s / 100 ms
    assert Counter(order) == Counter(dict.fromkeys(NAMES, 20))
    count = pairs(order)
    assert not any(a == b for a, b in count)  # never two turns in a row
    assert len(count) == 20 and sorted(count.values()) == [4] + [5] * 19  # all but the last closing edge: 5


def test_the_order_is_not_the_rotation_and_differs_by_seed_but_repeats_with_it():
    rng = random.Random(3)
    rounds = [bench_recorder.turn_order(NAMES, 100, rng) for _ in range(4)]
    assert len({tuple(r) for r in rounds}) == 4
    follows = {a: Counter(b for r in rounds for x, b in zip(r, r[1:], strict=False) if x == a) for a in NAMES}
    assert all(len(after) == 4 for after in follows.values())  # a rotation: 1 successor each
    again = random.Random(3)
    assert [bench_recorder.turn_order(NAMES, 100, again) for _ in range(4)] == rounds


def test_a_short_order_and_one_server():
    assert bench_recorder.turn_order(["off"], 3, random.Random(0)) == ["off"] * 3
    assert bench_recorder.turn_order(NAMES, 0, random.Random(0)) == []
    assert len(bench_recorder.turn_order(NAMES, 7, random.Random(0))) == 7


def test_the_bar_verdict_says_met_or_not_and_how_sure():
    verdict = bench_recorder.bar_verdict
    assert verdict(0.01, -0.01, 0.025, 0.03, 0.004) == "MET: +1.0% (95% -1.0%..+2.5%) <= 3% (the whole interval is " \
                                                        "under the bar)"
    assert verdict(0.02, 0.0, 0.04, 0.03, 0.0).endswith("; not sure: the interval reaches past the bar")
    assert verdict(0.043, 0.025, 0.06, 0.03, 0.008) == ("NOT MET: +4.3% (95% +2.5%..+6.0%) > 3%; the interval "
                                                         "reaches down under the bar")
    assert verdict(0.063, 0.052, 0.078, 0.05, -0.008).startswith("NOT MET: +6.3% (95% +5.2%..+7.8%) > 5% (the whole")


def test_a_noise_floor_of_half_the_bar_tells_nothing_whatever_the_estimate():
    for cost in (-0.07, 0.01, 0.09):
        words = bench_recorder.bar_verdict(cost, cost - 0.02, cost + 0.02, 0.03, -0.016)
        assert words.startswith("NOT TOLD: the noise floor is -1.6%, half the bar (3%) or more"), words
    assert bench_recorder.bar_verdict(0.01, 0.0, 0.02, 0.03, 0.014).startswith("MET")
