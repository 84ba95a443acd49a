"""bench/bench_twice.py: issue 16's two-run bars from two --json files, each said met or NOT MET.

The runs are made up from rounds (``Sample`` rows) shaped like the measured ones: a whole-run drift (the
second run faster across the board), models that starve connections, wrk beside the built-in generator.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tracer.analysis.bench_figures import BenchResult, Sample

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bench_twice  # noqa: E402


def rounds(name: str, rates: list[float], conns: int = 50, starved: list[int] | None = None,
           generator: str = "builtin") -> list[Sample]:
    return [Sample(name, "keep-alive", conns, r, generator, int(n), 1.0, 500, 2000,
                   (starved or [0] * len(rates))[r]) for r, n in enumerate(rates)]


def run(drift: float = 1.0, flip: bool = False, took: float = 100.0, wrk_share: float = 1.0,
        lucky: float = 1.0) -> dict:
    """Five rounds: selectors 3× thread, asyncio 1.5× thread (or 1/1.5 when ``flip``), and at 1,000
    connections single and pool(10) starving overlapping numbers of connections, their req/s ``lucky``."""
    d = [drift * (1 + 0.01 * r) for r in range(5)]  # a slow drift inside the run too
    samples = (rounds("selectors", [30000 * x for x in d]) + rounds("thread", [10000 * x for x in d])
               + rounds("asyncio", [(10000 / 1.5 if flip else 15000) * x * (1 + 0.02 * (r % 2))
                                    for r, x in enumerate(d)]))
    samples += (rounds("selectors", [31000 * x for x in d], generator="wrk")
                + rounds("thread", [10000 * wrk_share * x for x in d], generator="wrk"))
    samples += (rounds("single", [5000 * lucky * x for x in d], 1000, [995, 999, 996, 998, 997])
                + rounds("pool(10)", [9000 / lucky * x for x in d], 1000, [990, 996, 991, 995, 992])
                + rounds("thread", [8000 * x for x in d], 1000, [0, 0, 0, 0, 0]))
    result = BenchResult({"headline": 50}, {"took_s": took}, samples)
    return result.to_json()


def check(tmp_path: Path, capsys, a: dict, b: dict) -> tuple[int, dict[str, str]]:
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps(a))
    pb.write_text(json.dumps(b))
    code = bench_twice.main([str(pa), str(pb)])
    out = capsys.readouterr().out
    bars = {}
    for line in out.splitlines():
        head, _, text = line.partition(": ")
        if head in ("met", "NOT MET", "unknown"):
            bars[text.split(":")[0].split(" (")[0].split(",")[0]] = head
    return code, bars | {"_out": out}


def test_two_runs_that_agree_meet_every_bar_despite_a_whole_run_drift(tmp_path, capsys):
    code, bars = check(tmp_path, capsys, run(), run(drift=1.25))
    assert code == 0, bars["_out"]
    assert {k: v for k, v in bars.items() if k != "_out"} == {"length": "met", "order": "met", "ratios": "met",
                                                              "wrk": "met"}
    assert "ratios (paired in time)" in bars["_out"]


def test_a_pair_that_changes_order_is_a_flip_and_the_bar_is_not_met(tmp_path, capsys):
    code, bars = check(tmp_path, capsys, run(), run(flip=True))
    assert code == 1 and bars["order"] == "NOT MET" and bars["ratios"] == "NOT MET"
    assert "keep-alive 50: asyncio vs thread apart in run A by rps but not in that order in run B" in bars["_out"]


def test_starving_models_are_compared_by_what_all_their_clients_got(tmp_path, capsys):
    """single and pool(10) at 1,000: their starved counts overlap over the rounds, so they are tied, however
    their lucky few's req/s swap between runs; thread (starving none) is apart from both, and stays ahead."""
    code, bars = check(tmp_path, capsys, run(lucky=3.0), run(lucky=1 / 3))
    out = bars["_out"]
    assert "pool(10) vs single" not in out and bars["order"] == "met", out
    # selectors/thread, asyncio/selectors, asyncio/thread at 50 (by req/s) and thread vs each starving model at
    # 1,000 (by starved), in both runs: 5 pairs apart, twice
    assert "apart in a run: 10, order kept in the other: 10" in out


def test_a_starving_pair_apart_by_its_starved_counts_is_counted_and_checked(tmp_path, capsys):
    a, b = run(), run()
    for data, counts in ((a, (980, 999)), (b, (999, 980))):  # pool(10) starves fewer in A, more in B
        for fig in data["figures"]:
            if fig["connections"] == 1000 and fig["contender"] in ("pool(10)", "single"):
                n = counts[fig["contender"] == "single"]
                fig["starved"] = fig["starved_low"] = n
                fig["starved_low"] -= 1 if fig["contender"] == "single" else 0
    code, bars = check(tmp_path, capsys, a, b)
    assert code == 1 and bars["order"] == "NOT MET"
    assert "pool(10) vs single apart in run A by starved but not in that order in run B" in bars["_out"]


def test_a_long_run_and_a_wrk_gap_are_said_not_met(tmp_path, capsys):
    code, bars = check(tmp_path, capsys, run(took=125), run(wrk_share=1.5))
    assert code == 1 and bars["length"] == "NOT MET" and bars["wrk"] == "NOT MET"
    assert "length: 125 s, 100 s" in bars["_out"] and "built-in/wrk 1.45" in bars["_out"]


def test_bad_input_is_one_line(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("[]")
    assert bench_twice.main([str(bad), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert bench_twice.main([str(tmp_path / "missing.json"), str(bad)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
