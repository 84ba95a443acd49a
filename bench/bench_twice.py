"""Do two runs of ``sockscope bench`` agree?  Issue 16's bar, checked from their --json files.

    python bench/bench_twice.py A.json B.json

For every load (mode, connections): each pair of models whose requests/s intervals do not overlap in one
run must keep its order in the other; and each pair's ratio interval (the ratio of the interval ends, a
conservative bound) must overlap the other run's.  Prints every disagreement and a one-line summary; exit 1
if any.  Rows where either model starved connections are compared too (the bench ranks them last).
"""

from __future__ import annotations

import itertools
import json
import sys


def by_load(path: str) -> dict[tuple[str, int], dict[str, dict]]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    out: dict[tuple[str, int], dict[str, dict]] = {}
    for fig in data["figures"]:
        if fig.get("rps_low") is None or fig.get("rps_high") is None:
            continue
        out.setdefault((fig["mode"], fig["connections"]), {})[fig["contender"]] = fig
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    a, b = by_load(argv[0]), by_load(argv[1])
    pairs = order_kept = order_pairs = ratio_overlap = 0
    problems = []
    for load in sorted(set(a) & set(b)):
        for m1, m2 in itertools.combinations(sorted(set(a[load]) & set(b[load])), 2):
            pairs += 1
            x, y = (a[load][m1], a[load][m2]), (b[load][m1], b[load][m2])
            for run, other, name in ((x, y, "A"), (y, x, "B")):
                if run[0]["rps_low"] > run[1]["rps_high"] or run[1]["rps_low"] > run[0]["rps_high"]:
                    order_pairs += 1
                    if (run[0]["rps"] > run[1]["rps"]) == (other[0]["rps"] > other[1]["rps"]):
                        order_kept += 1
                    else:
                        problems.append(f"{load[0]} {load[1]}: {m1} vs {m2} apart in run {name} but their order "
                                        f"flips ({run[0]['rps']:.0f}/{run[1]['rps']:.0f} against "
                                        f"{other[0]['rps']:.0f}/{other[1]['rps']:.0f})")
            ra = (x[0]["rps_low"] / x[1]["rps_high"], x[0]["rps_high"] / x[1]["rps_low"])
            rb = (y[0]["rps_low"] / y[1]["rps_high"], y[0]["rps_high"] / y[1]["rps_low"])
            if ra[0] <= rb[1] and rb[0] <= ra[1]:
                ratio_overlap += 1
            else:
                problems.append(f"{load[0]} {load[1]}: {m1}/{m2} ratio {ra[0]:.2f}-{ra[1]:.2f} in A, "
                                f"{rb[0]:.2f}-{rb[1]:.2f} in B: no overlap")
    for p in problems:
        print(p)
    print(f"{pairs} pairs of models at {len(set(a) & set(b))} loads; apart in a run: {order_pairs}, order kept in "
          f"the other: {order_kept}; ratio intervals overlapping: {ratio_overlap} of {pairs}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
