"""Do two runs of ``sockscope bench`` agree?  Issue 16's bars, checked from their --json files.

    python bench/bench_twice.py A.json B.json

Each bar is printed with "met" or "NOT MET"; exit 1 when any is not met (2: bad input).

- **Length**: each run took under 2 minutes (``took_s``, which the bench writes after it said its estimate).
- **Order**: at every load (mode, connections), each pair of models that is apart in one run keeps its order in
  the other.  Apart means what the bench itself reports as not tied:
  - both served every client in every round: their requests/s intervals do not overlap, *or* the bench's ratio
    (paired round by round) has an interval that excludes 1; the order is by requests/s;
  - either starved connections: by what all its clients got, the connections never answered.  Apart only when
    one starved fewer in every round than the other did in any (their min–max over rounds do not overlap);
    their requests/s are the lucky few's and do not separate them.  The order is by starved connections
    (the fewer ahead).  When both starved the same number in every round, requests/s as above.
  Kept means the other run's figures have the same order on the same measure (tied or not there: an order
  reversed even within the noise is a flip).
- **Ratios**: every pair's ratio interval (the bench's, paired in time; from files without it, the ratio of
  the figures' interval ends) overlaps the other run's.
- **wrk**: in each run, selectors/thread by the built-in generator is within 30% of the same ratio by wrk
  (built-in/wrk, paired round by round, between 0.7 and 1.3).
"""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any

LONGEST_S = 120
WITHIN = 0.3


def load(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: {path}: {exc}") from None
    if not isinstance(data, dict) or "figures" not in data:
        raise SystemExit(f"error: {path}: not a sockscope bench --json file (no 'figures')")
    return data


def by_load(data: dict[str, Any]) -> dict[tuple[str, int], dict[str, dict[str, Any]]]:
    out: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for fig in data["figures"]:
        if fig.get("generator", "builtin") != "builtin" or fig.get("rps_low") is None:
            continue
        out.setdefault((fig["mode"], fig["connections"]), {})[fig["contender"]] = fig
    return out


def ratios(data: dict[str, Any]) -> dict[tuple[str, int, str, str], tuple[float, float]]:
    """The bench's paired ratio intervals, both ways round."""
    out = {}
    for c in data.get("comparisons") or []:
        if c.get("low") is None:
            continue
        out[(c["mode"], c["connections"], c["a"], c["b"])] = (c["low"], c["high"])
        out[(c["mode"], c["connections"], c["b"], c["a"])] = (1 / c["high"], 1 / c["low"])
    return out


def starved(fig: dict[str, Any]) -> tuple[int, int]:
    """(fewest, most) connections never answered over the rounds."""
    most = int(fig.get("starved") or 0)
    return int(fig.get("starved_low", most)), most


def separated(x: dict[str, Any], y: dict[str, Any], ratio: tuple[float, float] | None) -> tuple[str, int] | None:
    """(measure, 1 if x is ahead else -1) when the run tells x and y apart, else None (tied)."""
    sx, sy = starved(x), starved(y)
    if (sx[1] or sy[1]) and not (sx[0] == sx[1] == sy[0] == sy[1]):
        if sx[1] < sy[0]:
            return "starved", 1
        if sy[1] < sx[0]:
            return "starved", -1
        return None
    apart = x["rps_low"] > y["rps_high"] or y["rps_low"] > x["rps_high"]
    if ratio is not None and not ratio[0] <= 1 <= ratio[1]:
        apart = True
    return ("rps", 1 if x["rps"] > y["rps"] else -1) if apart else None


def point_order(x: dict[str, Any], y: dict[str, Any], measure: str) -> int:
    if measure == "starved":
        mx, my = sum(starved(x)), sum(starved(y))
        return 0 if mx == my else (1 if mx < my else -1)
    return 0 if x["rps"] == y["rps"] else (1 if x["rps"] > y["rps"] else -1)


def conservative(x: dict[str, Any], y: dict[str, Any]) -> tuple[float, float] | None:
    if not y["rps_low"] or not y["rps_high"]:
        return None
    return x["rps_low"] / y["rps_high"], x["rps_high"] / y["rps_low"]


def verdict(ok: bool | None) -> str:
    return "unknown" if ok is None else ("met" if ok else "NOT MET")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python bench/bench_twice.py A.json B.json", file=sys.stderr)
        return 2
    try:
        runs = [load(p) for p in argv]
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    loads = [by_load(d) for d in runs]
    paired = [ratios(d) for d in runs]
    problems: list[str] = []
    bars: list[tuple[str, bool | None]] = []

    took = [d.get("machine", {}).get("took_s") for d in runs]
    length_ok = None if None in took else all(t < LONGEST_S for t in took)
    said = ", ".join("?" if t is None else f"{t:.0f} s" for t in took)
    bars.append((f"length: {said} (each under {LONGEST_S} s)", length_ok))

    pairs = apart = kept = overlap = compared = 0
    common = sorted(set(loads[0]) & set(loads[1]))
    for key in common:
        mode, conns = key
        names = sorted(set(loads[0][key]) & set(loads[1][key]))
        for m1, m2 in itertools.combinations(names, 2):
            pairs += 1
            figs = [(run[key][m1], run[key][m2]) for run in loads]
            for i, other in ((0, 1), (1, 0)):
                got = separated(*figs[i], paired[i].get((mode, conns, m1, m2)))
                if got is None:
                    continue
                apart += 1
                measure, sign = got
                if point_order(*figs[other], measure) == sign:
                    kept += 1
                else:
                    problems.append(f"{mode} {conns}: {m1} vs {m2} apart in run {'AB'[i]} by {measure} but not in "
                                    f"that order in run {'AB'[other]} ({describe(figs[i])} against "
                                    f"{describe(figs[other])})")
            spans = [paired[i].get((mode, conns, m1, m2)) if paired[0] and paired[1] else conservative(*figs[i])
                     for i in (0, 1)]
            if spans[0] is None or spans[1] is None:
                continue
            compared += 1
            (a0, a1), (b0, b1) = spans
            if a0 <= b1 and b0 <= a1:
                overlap += 1
            else:
                problems.append(f"{mode} {conns}: {m1}/{m2} ratio {a0:.2f}-{a1:.2f} in A, {b0:.2f}-{b1:.2f} in B: "
                                "no overlap")
    bars.append((f"order: {pairs} pairs of models at {len(common)} loads; apart in a run: {apart}, order kept in "
                 f"the other: {kept}", kept == apart if pairs else None))
    kind = "paired in time" if paired[0] and paired[1] else "ratio of the figures' interval ends"
    bars.append((f"ratios ({kind}): intervals overlapping: {overlap} of {compared}",
                 overlap == compared if compared else None))

    checks = [d.get("cross_check") for d in runs]
    words = []
    for name, c in zip("AB", checks, strict=True):
        if c is None:
            words.append(f"{name}: no wrk cross-check")
            continue
        b, w, g = c["builtin"], c["wrk"], c["agreement"]
        words.append(f"{name}: built-in {b['value']:.2f}× ({b['low']:.2f}–{b['high']:.2f}), wrk {w['value']:.2f}× "
                     f"({w['low']:.2f}–{w['high']:.2f}), built-in/wrk {g['value']:.2f} ({g['low']:.2f}–"
                     f"{g['high']:.2f})")
    wrk_ok = None if None in checks else all(abs(c["agreement"]["value"] - 1) <= WITHIN for c in checks)
    bars.append((f"wrk, {'; '.join(words)} (each within {WITHIN:.0%})", wrk_ok))

    for p in problems:
        print(p)
    for text, ok in bars:
        print(f"{verdict(ok)}: {text}")
    return 0 if all(ok for _, ok in bars) else 1


def describe(pair: tuple[dict[str, Any], dict[str, Any]]) -> str:
    x, y = pair
    return f"{x['rps']:.0f}/{y['rps']:.0f} req/s, starved {starved(x)[1]}/{starved(y)[1]}"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
