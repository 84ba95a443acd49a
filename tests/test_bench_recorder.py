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
