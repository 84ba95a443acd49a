"""The load generator and `sockscope bench` (LESSONS row 13), on tiny configurations (two loads, short rounds)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from servers import Settings
from tests.conftest import needs_ipv6
from tracer import child
from tracer.analysis.bench_figures import BenchResult, Capacity, Sample, comparisons, figures, order, ranking, ratio
from tracer.analysis.bench_verdict import verdict
from tracer.cli import main
from tracer.clients import loadgen
from tracer.export import bench_report
from tracer.run import loaddrivers
from tracer.run.benchmark import Contender, Plan, capacity_problem, run_bench
from tracer.run.processes import ServerProcess

LINUX_PROC = os.path.exists("/proc/self/status")


# ----------------------------------------------------------------- the load generator
def test_loadgen_counts_requests_and_latency(serve):
    s = serve("thread")
    result = loadgen.run(*s.address, connections=3, duration=0.3)
    assert result.requests > 3 and result.requests == sum(result.answered)
    assert result.starved == 0 and result.errors == 0
    assert 0 < result.percentile(50) <= result.percentile(99)


def test_loadgen_counts_starved_connections_exactly(serve):
    # A pool of 2 serves two keep-alive connections for good; the other four wait in its queue.
    s = serve("pool", workers=2, timeout=None)
    result = loadgen.run(*s.address, connections=6, duration=0.3)
    assert result.starved == 4
    assert sorted(a > 0 for a in result.answered) == [False] * 4 + [True] * 2
    assert result.summary()["min_answered"] == 0


@pytest.fixture
def process():
    """An untraced lesson server in its own process, as the bench starts them (stopped at the end)."""
    started: list[ServerProcess] = []

    def start(model: str, **kw: object) -> tuple[str, int]:
        server = ServerProcess(Settings(model=model, timeout=None, **kw), None)  # type: ignore[arg-type]
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


def test_loadgen_one_request_per_connection_serves_every_slot(process):
    # The same pool of 2, one request per connection: each connection frees its worker, nobody starves.
    address = process("pool", workers=2)
    result = loadgen.run(*address, connections=6, duration=0.3, mode="close")
    assert result.starved == 0 and result.errors == 0
    assert result.requests == sum(result.answered) and min(result.answered) > 0


def test_loadgen_warmup_counts_for_starvation_only(serve):
    s = serve("selectors")
    result = loadgen.run(*s.address, connections=2, duration=0.2, warmup=0.2)
    assert sum(result.answered) > result.requests > 0  # answers in the warm-up are not in requests/s
    assert 0.19 < result.duration < 0.3 and result.wall_s > 0.39


def test_loadgen_grace_waits_for_every_first_answer_then_counts(serve):
    # Every slot answered once: counting starts then, not after the whole grace (5 s here).
    s = serve("thread")
    result = loadgen.run(*s.address, connections=3, duration=0.2, grace=5.0)
    assert result.starved == 0 and result.requests > 0
    assert 0.19 < result.duration < 0.5 and result.wall_s < 2.5


def test_loadgen_grace_is_spent_whole_on_a_server_that_starves_for_good(serve):
    # A pool of 2 never answers four of six keep-alive connections: the grace runs out, they are starved.
    s = serve("pool", workers=2, timeout=None)
    result = loadgen.run(*s.address, connections=6, duration=0.1, grace=0.3)
    assert result.starved == 4
    assert 0.09 < result.duration < 0.3 and result.wall_s > 0.39


def test_loadgen_worker_holds_idle_connections(serve):
    s = serve("selectors")
    replies = io.StringIO()
    host, port = s.address
    jobs = [{"op": "hold", "host": host, "port": port, "n": 5}, {"op": "release"}, {"op": "nope"}]
    assert loadgen.worker((json.dumps(j) for j in jobs), replies) == 0
    held, released, bad = (json.loads(line) for line in replies.getvalue().splitlines())
    assert held == {"held": 5, "refused": 0, "timeouts": 0}
    assert released == {"released": 5}
    assert "unknown op" in bad["error"]


# ----------------------------------------------------------------- figures and verdict, from made-up rounds
def rounds(name: str, per_round: list[int], conns: int = 50, starved: int = 0, p99_us: float = 4000.0,
           mode: str = "keep-alive", generator: str = "builtin") -> list[Sample]:
    return [Sample(name, mode, conns, r, generator, n, 1.0, p99_us / 4, p99_us, starved)
            for r, n in enumerate(per_round)]


def made_up(**settings: object) -> BenchResult:
    samples = (rounds("selectors", [30000, 31000, 29000], p99_us=2000) + rounds("thread", [10000, 10200, 9800])
               + rounds("asyncio", [29500, 30500, 29800]) + rounds("pool(10)", [40000, 41000, 39000], starved=40))
    return BenchResult({"headline": 50, "pin": False, "cpu_ms": 0, **settings}, {}, samples)


def test_a_rate_is_the_rounds_sum_with_an_interval_around_it():
    f = next(f for f in figures(made_up().samples) if f.contender == "selectors")
    assert f.rps == 30000 and f.rounds == 3
    assert 29000 <= f.rps_low < f.rps < f.rps_high <= 31000


def test_the_verdict_sentence_numbers_come_from_the_table():
    result = made_up()
    first = verdict(result)[0]
    r = ratio(result.samples, "selectors", "thread", "keep-alive", 50)
    assert r is not None and not r.tied
    table = {f.contender: f for f in figures(result.samples)}
    assert first.startswith("On this machine, with 50 keep-alive connections, selectors served ")
    assert f"{r.value:.1f}× (95%: {r.low:.1f}–{r.high:.1f}×)" in first
    assert f"{table['selectors'].rps:,.0f} against {table['thread'].rps:,.0f} requests/s" in first
    assert f"{table['selectors'].p99_ms:.1f} ms p99 against {table['thread'].p99_ms:.1f} ms" in first
    assert any("pool(10) starved 40 of 50 connections" in line for line in verdict(result))


def test_a_model_that_starves_ranks_after_those_that_serve_everyone_and_noise_is_a_tie():
    result = made_up()
    places = {f.contender: (place, tied) for place, f, tied in ranking(figures(result.samples), result.samples)}
    assert places["selectors"] == (1, False)
    assert places["asyncio"] == (1, True)  # within selectors' noise: tied, not ranked
    assert places["thread"] == (3, False)
    assert places["pool(10)"][0] == 4  # the most requests/s, from the lucky 10 of 50
    assert any("=1. asyncio" in line for line in verdict(result))


def test_models_within_each_others_noise_are_reported_as_tied():
    samples = rounds("selectors", [100, 130, 90]) + rounds("thread", [110, 95, 120])
    line = verdict(BenchResult({"headline": 50}, {}, samples))[0]
    assert "selectors and thread were tied" in line and "within each other's noise" in line


def test_a_ratio_is_taken_round_by_round_so_a_drift_over_the_run_cancels():
    """Both models 2.5× faster by the last round (the machine drifting): each round's ratio is 3, so the
    ratio is 3 with no spread; resampling each model's rounds apart would have spread it over 1.5–5×."""
    samples = rounds("selectors", [30000, 45000, 60000, 75000]) + rounds("thread", [10000, 15000, 20000, 25000])
    r = ratio(samples, "selectors", "thread", "keep-alive", 50)
    assert r is not None and r.rounds == 4
    assert r.value == pytest.approx(3) and r.low == pytest.approx(3) and r.high == pytest.approx(3)


def test_a_ratio_interval_is_a_t_interval_over_the_per_round_ratios():
    """Three rounds of 1.05, 1.2 and 1.35: a bootstrap of three rounds spans about 1.05–1.35 and calls it a
    difference; Student's t over the logarithms (2 degrees of freedom) says they are within each other's noise."""
    import math
    import statistics

    samples = rounds("asyncio", [10500, 12000, 13500]) + rounds("thread", [10000] * 3)
    r = ratio(samples, "asyncio", "thread", "keep-alive", 50)
    logs = [math.log(x) for x in (1.05, 1.2, 1.35)]
    half = 4.303 * statistics.stdev(logs) / math.sqrt(3)
    assert r.value == pytest.approx(math.exp(statistics.mean(logs)))
    assert r.low == pytest.approx(math.exp(statistics.mean(logs) - half))
    assert r.high == pytest.approx(math.exp(statistics.mean(logs) + half))
    assert r.tied


def test_models_that_starve_are_told_apart_by_what_all_their_clients_got():
    """At 1,000 connections single and pool(10) starve 995–999 and 990–996 over the rounds: tied, although
    pool's lucky ten got 3× single's requests/s; thread, which starved none, is ahead of both."""
    samples = (rounds("single", [5000, 5100, 4900], 1000) + rounds("pool(10)", [15000, 15300, 14700], 1000)
               + rounds("thread", [8000, 8100, 7900], 1000))
    starved = {"single": [995, 999, 996], "pool(10)": [990, 996, 991], "thread": [0, 0, 0]}
    samples = [Sample(s.contender, s.mode, s.connections, s.round, s.generator, s.requests, s.seconds, s.p50_us,
                      s.p99_us, starved[s.contender][s.round]) for s in samples]
    figs = {f.contender: f for f in figures(samples)}
    assert (figs["pool(10)"].starved_low, figs["pool(10)"].starved) == (990, 996)
    assert order(figs["pool(10)"], figs["single"], samples) == 0
    assert order(figs["thread"], figs["single"], samples) == 1 and order(figs["single"], figs["thread"], samples) == -1
    places = [(place, f.contender, tied) for place, f, tied in ranking(list(figs.values()), samples)]
    assert places == [(1, "thread", False), (2, "pool(10)", False), (2, "single", True)]
    pairs = {(c["a"], c["b"]): c for c in comparisons(samples)}
    assert pairs[("single", "pool(10)")]["order"] == 0 and pairs[("single", "thread")]["order"] == -1
    # starving apart in every round: pool's 990-996 against single's 997-999
    apart = [Sample(s.contender, s.mode, s.connections, s.round, s.generator, s.requests, s.seconds, s.p50_us,
                    s.p99_us, s.starved + (3 if s.contender == "single" else 0) if s.starved else 0) for s in samples]
    figs = {f.contender: f for f in figures(apart)}
    assert order(figs["pool(10)"], figs["single"], apart) == 1


def test_the_verdict_says_what_idle_connections_cost():
    result = made_up()
    result.capacity = [Capacity("thread", 1000, 1000, 4, 4, 900.0, 80 * 1024, 20 * 1024, 1003),
                       Capacity("pool(10)", 1000, 1000, 4, 0, 0.0, 21 * 1024, 20 * 1024, 11)]
    line = next(x for x in verdict(result) if x.startswith("Holding 1,000 idle"))
    assert "thread +60.0 MB and 1,003 threads, its busy clients served" in line
    assert "pool(10) +1.0 MB and 11 threads, 4 of 4 busy clients never answered" in line


def test_the_default_bench_is_planned_to_last_under_two_minutes_with_more_shorter_rounds():
    """The bar: the default run (five models, both modes, five loads, capacity, wrk) under 2 minutes; its
    estimate uses the per-run cost measured on a quiet machine (0.13 s a run beyond warm-up and window)."""
    import servers

    plan = Plan(tuple(Contender(m, m) for m in servers.MODELS), wrk="/usr/bin/wrk")
    assert plan.rounds >= 5 and plan.duration <= 0.1  # more, shorter rounds than 3 x 0.25 s
    assert plan.wrk_runs == 2 * plan.rounds  # the pair, once a round
    assert 90 < plan.estimate_s < 110


def test_capacity_is_bounded_by_the_machines_limits():
    assert "open files" in capacity_problem("selectors", 5000, 4, {"open_files": 1024})
    assert "threads" in capacity_problem("thread", 5000, 4, {"open_files": 100000, "threads": 4096})
    assert capacity_problem("selectors", 5000, 4, {"open_files": 100000, "threads": 4096}) is None


def test_wrk_reports_parse():
    out = """Running 1s test @ http://127.0.0.1:8000/
  1 threads and 50 connections
  Latency Distribution
     50%    0.97ms
     75%    1.10ms
     90%    1.30ms
     99%    2.50ms
  52513 requests in 1.00s, 17.08MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
Requests/sec:  52485.18
"""
    got = loaddrivers.parse_wrk(out)
    assert got == {"requests": 52513, "seconds": 1.0, "p50_us": 970.0, "p99_us": 2500.0, "errors": 2, "timeouts": 3}


# ----------------------------------------------------------------- real tiny runs
TINY = dict(connections=(2, 6), modes=("keep-alive", "close"), rounds=2, duration=0.15, workers=2, capacity=(),
            wrk=None, headline=6)


@pytest.fixture(scope="module")
def tiny() -> BenchResult:
    plan = Plan((Contender("pool(2)", "pool"), Contender("selectors", "selectors")), **TINY)  # type: ignore[arg-type]
    return run_bench(plan)


def test_a_bench_interleaves_rounds_and_counts_the_starved_exactly(tiny):
    assert not tiny.partial and tiny.planned_runs == 2 * 2 * 2 * 2 == len(tiny.samples)
    assert [s.contender for s in tiny.samples[:2]] == ["pool(2)", "selectors"]  # round 1: pool first ...
    assert [s.contender for s in tiny.samples[8:10]] == ["selectors", "pool(2)"]  # ... round 2: the turn rotates
    pool = {(f.mode, f.connections): f for f in figures(tiny.samples) if f.contender == "pool(2)"}
    assert pool[("keep-alive", 6)].starved == 4 and pool[("keep-alive", 2)].starved == 0
    assert pool[("close", 6)].starved == 0
    assert "At 6 keep-alive connections, pool(2) starved 4 of 6 connections" in " ".join(verdict(tiny))
    if LINUX_PROC:  # the servers' own CPU per request, read from /proc around each run
        assert all(f.server_us_per_request and f.server_us_per_request > 0 for f in figures(tiny.samples))


def test_tracing_on_starts_the_traced_contender_with_a_recording(monkeypatch):
    """Regression: --tracing on|both was stored in the plan and never used (every server ran untraced)."""
    paths: list[str | None] = []
    real_start = ServerProcess.start

    def start(self, *args, **kwargs):
        paths.append(self.path)
        return real_start(self, *args, **kwargs)

    monkeypatch.setattr(ServerProcess, "start", start)
    plan = Plan((Contender("selectors", "selectors"), Contender("selectors traced", "selectors", tracing=True)),
                **dict(TINY, connections=(2,), modes=("keep-alive",), rounds=1))  # type: ignore[arg-type]
    result = run_bench(plan)
    assert not result.partial and len(paths) == 2
    assert paths[0] is None and paths[1] is not None and paths[1].endswith(".jsonl")
    assert not os.path.exists(paths[1])  # measured, then removed with its scratch folder


def test_a_busy_machine_is_said_in_the_header_and_the_warnings():
    from tracer.commands.bench import warnings

    result = made_up()
    result.machine = {"cores": 2, "python": "3.11", "implementation": "CPython", "platform": "x",
                      "load_generator": "built-in", "load_average_before": 1.0, "load_average_after": 23.0}
    result.settings.update(rounds=3, duration=0.25, connections=[50], modes=["keep-alive"], workers=10, work_ms=0,
                           cpu_ms=0, pin=False)
    assert any("load average 1.0 before, 23.0 after, on 2 cores — busy" in line
               for line in bench_report.header(result))
    assert any("this machine was busy" in w for w in warnings(result))
    result.machine["load_average_after"] = 1.5
    assert not any("busy" in line for line in bench_report.header(result)) and not warnings(result)


def test_the_bench_own_load_is_not_other_work():
    """The load average after a run counts the bench's own threads; other work is measured apart from them."""
    from tracer.commands.bench import warnings

    result = made_up()
    result.machine = {"cores": 2, "python": "3.11", "implementation": "CPython", "platform": "x",
                      "load_generator": "built-in", "load_average_before": 0.5, "load_average_after": 100.9,
                      "other_work_cores": 0.03}
    result.settings.update(rounds=3, duration=0.25, connections=[50], modes=["keep-alive"], workers=10, work_ms=0,
                           cpu_ms=0, pin=False)
    header = bench_report.header(result)
    assert any("other work used 0.03 of 2 cores" in line and "busy" not in line for line in header)
    assert not warnings(result)
    result.machine["other_work_cores"] = 0.9
    assert any("other work used 0.90 of 2 cores" in line and "— busy" in line for line in bench_report.header(result))
    assert any("it used 0.90 of 2 cores" in w for w in warnings(result))


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="needs Linux's /proc/stat")
def _process_cpu_seconds(pid: int) -> float:
    """A running process's CPU time so far (Linux: /proc/PID/stat's utime and stime)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_other_work_sees_a_busy_process_but_not_the_bench_itself():
    # Held to what each process really used, not to a quiet machine: other work on the machine (xdist's other
    # worker, anyone's suite) adds to both sides alike, where 'seen > own + 0.3' failed on a loaded machine.
    import subprocess
    import sys

    from tracer.run import loaddrivers

    if loaddrivers.machine_cpu_seconds() is None:
        pytest.skip("no /proc/stat here: OtherWork cannot tell (it says None)")

    def spin(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass

    tick = 1.5 / os.sysconf("SC_CLK_TCK")  # /proc/stat counts in ticks: a tick or so each read
    mine = loaddrivers.OtherWork()
    spin(0.6)  # the bench's own CPU: not other work
    spent = loaddrivers.own_cpu_seconds() - mine.own0
    whole = loaddrivers.machine_cpu_seconds() - mine.machine0  # type: ignore[operator]
    own = mine.cores()
    elapsed = time.monotonic() - mine.t0
    assert own is not None and spent > 0.05
    assert own * elapsed <= whole - 0.8 * spent + tick, (own, elapsed, whole, spent)

    theirs = loaddrivers.OtherWork()
    other = subprocess.Popen([sys.executable, "-c", "import time\nend = time.monotonic() + 1.0\n"
                              "while time.monotonic() < end: pass"], start_new_session=True)
    try:
        time.sleep(0.8)  # measured while it runs and before it is waited for: someone else's process
        used = _process_cpu_seconds(other.pid)
        seen = theirs.cores()
        elapsed = time.monotonic() - theirs.t0
    finally:
        other.wait(5)
    assert seen is not None and used > 0.05
    assert seen * elapsed >= 0.8 * used - tick, (seen, elapsed, used)


def test_every_output_format_parses(tiny, tmp_path):
    data = json.loads(bench_report.render(tiny, "json"))
    assert data["header"][0].startswith("machine: ") and data["verdict"] and data["partial"] == ""
    assert {f["contender"] for f in data["figures"]} == {"pool(2)", "selectors"}
    text = bench_report.render(tiny, "csv")
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert len(rows) == 8 and {r["starved"] for r in rows if r["contender"] == "pool(2)"} == {"0", "4"}
    assert re.search(r"^# load generator: built-in", text, re.M)
    svg = ET.fromstring(bench_report.render(tiny, "svg"))
    lines = svg.findall(".//{http://www.w3.org/2000/svg}polyline")
    assert svg.tag.endswith("svg") and len(lines) == 8  # 2 modes x (rps, p99) x 2 models
    assert bench_report.MODEL_COLOURS["selectors"] in bench_report.render(tiny, "svg")
    md = bench_report.render(tiny, "md")
    table = [line for line in md.splitlines() if line.startswith("| pool(2) | keep-alive | 6 |")]
    head = next(line for line in md.splitlines() if line.startswith("| model | mode |"))
    assert len(table) == 1 and "starved 4/6" in table[0] and table[0].count("|") == head.count("|")


def test_ctrl_c_mid_run_keeps_what_was_measured():
    plan = Plan((Contender("thread", "thread"), Contender("selectors", "selectors")), **TINY)  # type: ignore[arg-type]

    def progress(n: int, total: int, what: str) -> None:
        if n == 4:
            raise KeyboardInterrupt

    result = run_bench(plan, progress)
    assert result.partial == "interrupted after 4 of 16 runs"
    assert len(result.samples) == 3
    assert bench_report.header(result)[0].startswith("PARTIAL: interrupted after 4 of 16 runs")


def test_ctrl_c_on_the_command_gives_a_partial_report():
    argv = child.module_argv("tracer", "bench", "--models", "thread,selectors", "--connections", "2,4",
                             "--rounds", "20", "--duration", "0.15", "--capacity", "none", "--wrk", "off",
                             "--format", "json")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child.env())
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # one line a round when stderr is not a terminal
            if "round 3/20" in line:
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    data = json.loads(out)
    assert data["partial"].startswith("interrupted after") and data["header"][0].startswith("PARTIAL")
    assert len(data["samples"]) >= 2 * 2 * 2 * 2 and "Traceback" not in err


@pytest.mark.parametrize("hot_path", ["c"], indirect=True)  # once: the target's recorder is not what is under test
def test_bench_prints_tables_charts_capacity_and_a_verdict(capsys, serve, tmp_path):
    target = serve("thread", timeout=None)
    host, port = target.address
    out_svg, out_md = tmp_path / "b.svg", tmp_path / "b.md"
    assert main(["bench", "--models", "pool,selectors", "--workers", "2", "--connections", "2,6", "--rounds", "2",
                 "--duration", "0.15", "--capacity", "8", "--busy", "2", "--wrk", "off", "--headline", "6",
                 "--target", f"{host}:{port}", "-o", str(out_svg), "-o", str(out_md),
                 "--record", str(tmp_path / "rec")]) == 0
    cap = capsys.readouterr()
    assert "about " in cap.err and " s in all" in cap.err
    assert "keep-alive: requests/s (95% interval)" in cap.out and "close: requests/s" in cap.out
    assert "requests/s vs keep-alive connections" in cap.out and "p99 latency (ms, log scale) vs" in cap.out
    assert "✗ 4/6 starved" in cap.out and f"target {host}:{port}" in cap.out
    assert "capacity: idle connections held open" in cap.out and "Verdict" in cap.out
    assert ET.parse(out_svg).getroot().tag.endswith("svg") and out_md.read_text().startswith("# sockscope bench")
    recorded = sorted(p.name for p in (tmp_path / "rec").iterdir())
    assert recorded == ["pool(2).jsonl", "selectors.jsonl"]  # a target is not ours to record
    assert main(["check", str(tmp_path / "rec" / "selectors.jsonl")]) == 0


@pytest.mark.skipif(not LINUX_PROC, reason="a server's memory and threads are read from /proc (Linux)")
def test_capacity_counts_threads_and_sees_busy_clients_starve():
    plan = Plan((Contender("thread", "thread"), Contender("pool(2)", "pool")), connections=(2,), modes=("close",),
                rounds=1, duration=0.15, workers=2, capacity=(20,), busy=2, wrk=None, headline=2)
    got = {c.contender: c for c in run_bench(plan).capacity}
    assert got["thread"].held == 20 and got["thread"].threads >= 21 and got["thread"].busy_served == 2
    assert got["pool(2)"].busy_served == 0  # its two workers sit on idle connections
    assert got["thread"].rss_kb > got["thread"].base_rss_kb


@pytest.mark.skipif(loaddrivers.wrk_path() is None, reason="wrk is not installed (apt-get install wrk)")
def test_wrk_cross_check_runs_beside_the_builtin_generator(capsys, tmp_path):
    """The cross-check measures what the headline does: the same pair, the same connections, as long, and right
    after the built-in runs of each round (paired in time); both ratios and their agreement, with intervals."""
    out_json = tmp_path / "b.json"
    assert main(["bench", "--models", "thread,selectors", "--connections", "4", "--modes", "keep-alive",
                 "--rounds", "3", "--duration", "0.15", "--capacity", "none", "--headline", "4", "--wrk", "on",
                 "--json", str(out_json)]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps at 80 columns
    assert re.search(r"selectors/thread at 4 keep-alive connections, paired round by round: built-in [\d.]+× "
                     r"\(95%: [\d.]+–[\d.]+×\), wrk [\d.]+× \(95%: [\d.]+–[\d.]+×\); built-in/wrk [\d.]+× "
                     r"\(95%: [\d.]+–[\d.]+×\) \((within 30%|more than 30% apart)\)", out)
    data = json.loads(out_json.read_text())
    samples = data["samples"]
    for r in range(3):  # each round: the built-in pair at 4 connections, then wrk against the same pair
        kinds = [(s["generator"], s["contender"]) for s in samples if s["round"] == r]
        assert sorted(kinds) == sorted([("builtin", "thread"), ("builtin", "selectors"), ("wrk", "thread"),
                                        ("wrk", "selectors")])
        assert [g for g, _ in kinds] == ["builtin", "builtin", "wrk", "wrk"]
    wrk = [s for s in samples if s["generator"] == "wrk"]
    assert all(s["connections"] == 4 and s["mode"] == "keep-alive" for s in wrk)
    assert all(0.15 <= s["seconds"] < 0.6 for s in wrk)  # as long as the built-in run, not wrk's whole second
    check = data["cross_check"]
    assert (check["a"], check["b"], check["agreement"]["rounds"]) == ("selectors", "thread", 3)
    b, w = check["builtin"]["value"], check["wrk"]["value"]
    assert check["agreement"]["low"] <= check["agreement"]["value"] <= check["agreement"]["high"]
    assert 0.5 < check["agreement"]["value"] / (b / w) < 2  # the per-round agreement is about the ratio of ratios


@pytest.mark.skipif(loaddrivers.pinning_problem() is not None, reason=str(loaddrivers.pinning_problem()))
def test_pinned_bench_runs_and_explains_the_gil(capsys):
    assert main(["bench", "--models", "thread", "--connections", "2", "--modes", "keep-alive", "--rounds", "1",
                 "--duration", "0.15", "--capacity", "none", "--wrk", "off", "--pin"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "pinned (server on one core, load on another)" in out and "Pinned (--pin)" in out


@pytest.mark.parametrize("argv, message", [
    (["--models", "nope"], "unknown model nope"),
    (["--connections", "a,b"], "expected numbers"),
    (["--connections", "0"], "from 1 to 5,000"),
    (["--duration", "100"], "0.1 to 60"),
    (["--modes", "pipelined"], "expected keep-alive and/or close"),
    (["--capacity", "-3"], "from 1 to 50,000"),
    (["-o", "bench.png"], "expected a name ending in .svg"),
    (["--target", "192.0.2.1:80"], "not this machine"),
    (["--target", "nonsense"], "expected HOST:PORT"),
    (["--program", "mine.py"], "no such file: mine.py"),
    (["--program", "tests/programs"], "a folder without a __main__.py"),
    (["--module", ""], "-m expects a module name"),
])
def test_bench_bad_input_is_one_line(capsys, argv, message):
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1


def test_target_with_nothing_listening_is_one_line(capsys):
    import socket

    with socket.socket() as s:  # a port that was free a moment ago, and nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["bench", "--target", f"127.0.0.1:{port}", "--models", ""]) == 2
    assert "nothing answers there" in capsys.readouterr().err


def test_the_loadgen_command_line_still_answers_in_one_json_line(process):
    host, port = process("selectors")
    done = subprocess.run(child.module_argv("tracer.clients.loadgen", host, str(port), "--connections", "2",
                                            "--duration", "0.1", "--mode", "close"),
                          capture_output=True, text=True, timeout=30, env=child.env(), check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["starved"] == 0


def test_one_round_has_no_interval_and_says_so():
    samples = rounds("selectors", [30000]) + rounds("thread", [10000])
    line = verdict(BenchResult({"headline": 50}, {}, samples))[0]
    assert "3.00× (one round: no interval" in line


def test_run_load_measures_once_in_its_own_process(process):
    from tracer.run.benchmark import run_load

    got = run_load(*process("selectors"), connections=3, duration=0.15)
    assert got["requests"] > 0 and got["starved"] == 0 and len(got["answered"]) == 3


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="connection states are read from /proc/net/tcp")
def test_wait_closed_waits_for_the_servers_closes(process):
    import socket

    host, port = process("selectors")
    socks = [socket.create_connection((host, port)) for _ in range(3)]
    try:
        assert (loaddrivers.open_connections(port) or 0) >= 3
        assert not loaddrivers.wait_closed(port, timeout=0.1)  # the server keeps them open: idle, not closed
    finally:
        for s in socks:
            s.close()
    assert loaddrivers.wait_closed(port)
    assert loaddrivers.open_connections(port) == 0


# ----------------------------------------------------------------- a student's program beside the models
PROGRAMS = os.path.join(os.path.dirname(__file__), "programs")


def program(path: str) -> Contender:
    return Contender(os.path.basename(path), program=(os.path.join(PROGRAMS, path),))


def test_a_program_is_measured_beside_a_model_in_the_same_rounds(tmp_path):
    plan = Plan((Contender("pool(2)", "pool"), program("bench_keepalive.py")), connections=(2, 6),
                modes=("keep-alive",), rounds=2, duration=0.15, workers=2, capacity=(8,), busy=2, wrk=None,
                headline=6, record_dir=str(tmp_path))
    result = run_bench(plan)
    assert not result.partial and not result.notes
    assert [s.contender for s in result.samples[:2]] == ["pool(2)", "bench_keepalive.py"]
    assert [s.contender for s in result.samples[4:6]] == ["bench_keepalive.py", "pool(2)"]  # round 2: rotated
    got = {(f.contender, f.connections): f for f in figures(result.samples)}
    assert got[("bench_keepalive.py", 6)].starved == 0 and got[("pool(2)", 6)].starved == 4
    assert got[("bench_keepalive.py", 6)].rps > 0
    assert "bench_keepalive.py" in result.machine["programs"] and "untraced" in result.machine["programs"]
    assert any("programs: bench_keepalive.py" in line for line in bench_report.header(result))
    assert result.machine["listen"] == "127.0.0.1 over TCP (programs on 127.0.0.1, --target where it is, over TCP)"
    if LINUX_PROC:  # measured in the program's own process, not a wrapper's: its CPU and its threads
        assert got[("bench_keepalive.py", 6)].server_us_per_request > 0
        cap = {c.contender: c for c in result.capacity}["bench_keepalive.py"]
        assert cap.held == 8 and cap.busy_served == 2 and cap.threads >= 8 + 1  # a thread per idle connection, and main
    recorded = sorted(os.path.basename(p) for p in result.recorded)
    assert recorded == ["bench_keepalive.py.jsonl", "pool(2).jsonl"]
    assert main(["check", str(tmp_path / "bench_keepalive.py.jsonl")]) == 0


def test_a_program_that_never_listens_gets_its_line_and_the_bench_goes_on(monkeypatch):
    from tracer.run import processes

    monkeypatch.setattr(processes, "PROGRAM_LISTEN_S", 3.0)  # hangs.py waits this out (8 s is the product's)
    plan = Plan((program("grade/hangs.py"), Contender("selectors", "selectors"), program("bench_dies.py")),
                connections=(2,), modes=("close",), rounds=3, duration=0.15, workers=2, capacity=(4,), busy=1,
                wrk=None, headline=2)
    result = run_bench(plan)
    assert not result.partial
    notes = " | ".join(result.notes)
    assert "hangs.py: hangs.py did not listen within 3 s" in notes and "it was not measured" in notes
    assert re.search(r"bench_dies\.py: the bench_dies\.py server died \(exit status 3\)", notes), notes
    assert all("\n" not in n for n in result.notes)
    assert len([s for s in result.samples if s.contender == "selectors"]) == 3  # every round, all the same
    assert not [s for s in result.samples if s.contender == "hangs.py"]
    assert 1 <= len([s for s in result.samples if s.contender == "bench_dies.py"]) < 3  # until it died
    assert {c.contender: c.note for c in result.capacity}["hangs.py"] == "did not start"


def test_bench_program_on_the_command_line(capsys, tmp_path):
    out_json = tmp_path / "b.json"
    argv = ["bench", "--models", "selectors", "--program", os.path.join(PROGRAMS, "bench_keepalive.py"),
            "--program", os.path.join(PROGRAMS, "grade", "crashes.py"),
            "--connections", "2", "--modes", "keep-alive", "--rounds", "1", "--duration", "0.15",
            "--capacity", "none", "--wrk", "off", "--headline", "2", "--json", str(out_json)]
    # a module found nowhere is one line before anything starts, as a missing file is
    assert main([*argv, "-m", "no_such_module_here"]) == 2
    assert capsys.readouterr().err == "error: no module named 'no_such_module_here' (sockscope run -m MODULE)\n"
    assert not out_json.exists()
    assert main([*argv, "-m", "json.no_such_submodule"]) == 0  # (its package is there: the program's own error)
    cap = capsys.readouterr()
    out = " ".join(cap.out.split())
    assert "bench_keepalive.py" in out and "programs: bench_keepalive.py, crashes.py, json.no_such_submodule" in out
    assert "note: crashes.py: RuntimeError: forgot to bind; it was not measured" in out
    assert "note: json.no_such_submodule:" in out and "Traceback" not in cap.out + cap.err
    data = json.loads(out_json.read_text())
    assert {s["contender"] for s in data["samples"]} == {"selectors", "bench_keepalive.py"}


# ----------------------------------------------------------------- figures that must not be made up
def test_no_server_cpu_per_request_when_nothing_was_answered_in_the_window():
    """Regression: a row of 0 requests/s showed 333 µs/request (its warm-up answers over the whole run's CPU)."""
    quiet = [Sample("thread_server.py", "keep-alive", 6, r, "builtin", 0, 0.2, 0.0, 0.0, errors=6,
                    server_cpu_s=0.002, requests_all=6) for r in range(2)]
    fig = figures(quiet)[0]
    assert fig.rps == 0 and fig.server_us_per_request is None
    assert bench_report.us(fig) == "—"
    from tracer.commands.bench import _cell

    assert "µs/req" not in _cell(fig, "rps")
    # a round with answers still counts, and only it: 0.004 s over its 10 answers (warm-up too)
    mixed = quiet[:1] + [Sample("thread_server.py", "keep-alive", 6, 1, "builtin", 4, 0.2, 1.0, 2.0,
                                server_cpu_s=0.004, requests_all=10)]
    assert figures(mixed)[0].server_us_per_request == pytest.approx(400)


def test_the_lessons_thread_server_under_keep_alive_is_reconnected_to_and_said_to_close_after_each_request():
    """Regression: the load generator did not reconnect after a keep-alive connection was closed by the server,
    so the lesson's thread_server.py (one answer, then close) showed 0 requests/s and N errors."""
    from tracer.commands.bench import _cell

    lesson = os.path.join(os.path.dirname(__file__), os.pardir, "servers", "lesson", "thread_server.py")
    plan = Plan((Contender("thread_server.py", program=(os.path.normpath(lesson),)),), connections=(3,),
                modes=("keep-alive",), rounds=1, duration=0.15, capacity=(), wrk=None, headline=3)
    result = run_bench(plan)
    assert not result.partial and not result.notes, result.notes
    sample, fig = result.samples[0], figures(result.samples)[0]
    assert sample.requests > 3 and sample.errors == 0  # it answered, connection after connection
    assert sample.closes >= sample.requests_all - 3  # every answer but the last of each slot was followed by a close
    assert fig.rps > 0 and fig.closes_each
    assert "closes after each request" in _cell(fig, "rps")
    if LINUX_PROC:
        assert fig.server_us_per_request is not None


def test_loadgen_keep_alive_counts_a_server_that_closes_after_each_answer(tmp_path):
    """A server of ours that answers one request per connection, then closes: the slots reconnect."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        got = loadgen.run(*listener.getsockname()[:2], connections=2, duration=0.3)
    finally:
        stop.set()
        t.join(2)
        listener.close()
    assert got.requests > 2 and got.starved == 0 and got.errors == 0
    assert got.closes >= sum(got.answered) - 2
    assert got.summary()["closes"] == got.closes


# ----------------------------------------------------------------- every family: IPv6 and Unix sockets
def _recorded_settings(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.loads(f.readline())["settings"]


TINY_ARGV = ["--connections", "2", "--modes", "keep-alive", "--rounds", "1", "--duration", "0.15",
             "--capacity", "none", "--wrk", "off", "--headline", "2"]


@needs_ipv6
def test_bench_over_ipv6(capsys, tmp_path):
    """Regression: `bench --host ::1` was lost in a merge (the load generator takes every family)."""
    out_json = tmp_path / "b.json"
    assert main(["bench", "--models", "selectors", *TINY_ARGV, "--host", "::1", "--json", str(out_json),
                 "--record", str(tmp_path / "rec")]) == 0
    data = json.loads(out_json.read_text())
    assert data["samples"][0]["requests"] > 0 and data["samples"][0]["starved"] == 0
    assert "listening: [::1] over TCP" in data["header"]
    assert _recorded_settings(str(tmp_path / "rec" / "selectors.jsonl"))["host"] == "::1"  # it listened there
    assert main(["check", str(tmp_path / "rec" / "selectors.jsonl")]) == 0


@pytest.mark.skipif(not hasattr(__import__("socket"), "AF_UNIX"), reason="this Python has no AF_UNIX")
def test_bench_over_unix_sockets_in_a_folder(capsys, tmp_path):
    """Regression: `bench --unix` was lost in a merge; every server (throughput, capacity, --record) on its own."""
    socks = tmp_path / "s"
    socks.mkdir()
    out_json = tmp_path / "b.json"
    argv = [*TINY_ARGV[:-6], "--capacity", "4", "--busy", "1", "--wrk", "off", "--headline", "2"]
    assert main(["bench", "--models", "pool,selectors", "--workers", "2", *argv, "--unix", str(socks),
                 "--json", str(out_json), "--record", str(tmp_path / "rec")]) == 0
    data = json.loads(out_json.read_text())
    assert {s["contender"] for s in data["samples"]} == {"pool(2)", "selectors"}
    assert all(s["requests"] > 0 for s in data["samples"])
    assert f"listening: Unix sockets in {socks}" in data["header"]
    cap = {c["contender"]: c for c in data["capacity"]}
    assert cap["selectors"]["held"] == cap["pool(2)"]["held"] == 4
    assert cap["selectors"]["busy_served"] == 1 and cap["pool(2)"]["busy_served"] == 0  # its 2 workers are held
    unix = _recorded_settings(str(tmp_path / "rec" / "selectors.jsonl"))["unix"]
    assert unix.startswith(str(socks)) and unix.endswith(".sock")
    assert main(["check", str(tmp_path / "rec" / "selectors.jsonl")]) == 0
    assert list(socks.iterdir()) == []  # each server removed its own socket


@pytest.mark.skipif(not hasattr(__import__("socket"), "AF_UNIX"), reason="this Python has no AF_UNIX")
def test_bench_target_a_unix_socket(capsys, tmp_path, process):
    """--target unix:PATH: a server already listening on a Unix socket, measured and held open like any other."""
    path = str(tmp_path / "mine.sock")
    process("selectors", unix=path)
    out_json = tmp_path / "b.json"
    argv = [*TINY_ARGV[:-6], "--capacity", "3", "--busy", "1", "--wrk", "auto", "--headline", "2"]
    assert main(["bench", "--models", "", "--target", f"unix:{path}", *argv, "--json", str(out_json)]) == 0
    data = json.loads(out_json.read_text())
    assert {s["contender"] for s in data["samples"]} == {f"target unix:{path}"}
    assert {s["generator"] for s in data["samples"]} == {"builtin"}  # wrk cannot reach it: not cross-checked
    assert all(s["requests"] > 0 and s["starved"] == 0 for s in data["samples"])
    assert data["capacity"][0]["held"] == 3 and data["capacity"][0]["busy_served"] == 1
    assert main(["bench", "--models", "", "--target", "unix:", *argv]) == 2
    assert "expected unix:PATH" in capsys.readouterr().err
    assert main(["bench", "--models", "", "--target", f"unix:{tmp_path / 'none.sock'}", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --target unix:") and "nothing answers there" in err and err.count("\n") == 1


@pytest.mark.skipif(not hasattr(__import__("socket"), "AF_UNIX"), reason="this Python has no AF_UNIX")
def test_bench_over_unix_sockets_in_a_temporary_folder_removes_it():
    plan = Plan((Contender("selectors", "selectors"),), connections=(2,), modes=("keep-alive",), rounds=1,
                duration=0.15, capacity=(), wrk=None, headline=2, unix="")
    result = run_bench(plan)
    assert not result.partial and result.samples[0].requests > 0
    folder = result.machine["listen"].removeprefix("Unix sockets in ")
    assert folder.startswith(os.sep) and not os.path.exists(folder)


@pytest.mark.parametrize("argv, message", [
    (["--host", "192.0.2.1"], "--host 192.0.2.1: not this machine"),
    (["--host", "nosuch.invalid"], "--host: cannot find the address of 'nosuch.invalid'"),
    (["--unix", "--host", "::1"], "give --host or --unix, not both"),
    (["--unix", "no/such/folder"], "expected an existing folder"),
    (["--unix", "/tmp/" + "x" * 120], "expected an existing folder"),
    (["--unix", "--wrk", "on"], "wrk cannot reach a Unix socket"),
])
def test_bench_address_bad_input_is_one_line(capsys, argv, message):
    assert main(["bench", "--models", "selectors", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1


def test_bench_unix_folder_too_deep_for_a_socket_path_is_one_line(capsys, tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    assert main(["bench", "--models", "selectors", "--unix", str(deep)]) == 2
    err = capsys.readouterr().err
    assert "bytes, over the" in err and err.count("\n") == 1


# ----------------------------------------------------------------- --tracing on|both
def test_the_verdict_says_what_tracing_costs_and_compares_like_with_like():
    samples = (rounds("selectors", [30000, 31000, 29000]) + rounds("selectors traced", [15000, 15600, 14400])
               + rounds("thread", [10000, 10200, 9800]) + rounds("thread traced", [9000, 9300, 8700]))
    result = BenchResult({"headline": 50}, {}, samples)
    lines = verdict(result)
    assert "selectors served " in lines[0] and "the requests of thread (" in lines[0]  # untraced with untraced
    cost = next(x for x in lines if x.startswith("What tracing costs"))
    r = ratio(samples, "selectors traced", "selectors", "keep-alive", 50)
    assert r is not None and f"selectors traced served {r.value:.2f}× (95%: {r.low:.2f}–{r.high:.2f}×)" in cost
    assert "thread traced served 0.90×" in cost
    only_traced = BenchResult({"headline": 50}, {}, [s for s in samples if s.contender.endswith(" traced")])
    first = verdict(only_traced)[0]
    assert "selectors traced served " in first and "the requests of thread traced" in first
    assert not any(x.startswith("What tracing costs") for x in verdict(only_traced))  # nothing to compare with


def test_tracing_both_records_through_the_recorder_and_says_so(capsys, monkeypatch, tmp_path):
    """--tracing both: the traced rows say 'traced', really record every call, and the verdict says the cost."""
    events: dict[str, int] = {}
    real_stop = ServerProcess.stop

    def stop(self, *args, **kwargs):
        status = real_stop(self, *args, **kwargs)
        if self.path and os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                events[self.path] = sum(1 for line in f if line.startswith("[") and '"recv"' in line)
        return status

    monkeypatch.setattr(ServerProcess, "stop", stop)
    out_json = tmp_path / "b.json"
    assert main(["bench", "--models", "selectors", "--tracing", "both", "--connections", "2", "--modes",
                 "keep-alive", "--rounds", "2", "--duration", "0.15", "--capacity", "none", "--wrk", "off",
                 "--headline", "2", "--record", str(tmp_path / "rec"), "--json", str(out_json)]) == 0
    data = json.loads(out_json.read_text())
    assert {s["contender"] for s in data["samples"]} == {"selectors", "selectors traced"}
    assert any(line.startswith("tracing: the rows marked 'traced'") for line in data["header"])
    assert any(line.startswith("What tracing costs, at 2 keep-alive connections: selectors traced served")
               for line in data["verdict"])
    scratch = [p for p in events if not p.startswith(str(tmp_path))]
    assert len(scratch) == 1 and events[scratch[0]] > 10  # the traced server's recv calls, recorded ...
    assert not os.path.exists(scratch[0])  # ... then removed with the scratch folder
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == ["selectors.jsonl"]  # recorded once, not twice
    out = capsys.readouterr().out
    assert "selectors traced" in out


def test_tracing_on_names_every_row_traced():
    import argparse

    from tracer.commands.bench import _contenders, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["bench", "--models", "selectors,thread", "--tracing", "on"])
    got = _contenders(args)
    assert [(c.name, c.tracing) for c in got] == [("selectors traced", True), ("thread traced", True)]
    plan = Plan(got, wrk="/usr/bin/wrk")
    assert plan.wrk_contenders == got  # wrk cross-checks the traced pair


# ----------------------------------------------------------------- the lesson's selectors server at 1,000 connections
def test_selectors_starving_at_many_connections_is_explained_as_the_lessons_code(capsys):
    """servers/multiplexed.py accepts one connection per wake (the lesson's code, kept): the bench says so."""
    import types

    from tracer.commands.bench import _print

    result = made_up()
    result.samples += (rounds("selectors", [5000, 5200, 4800], conns=1000, starved=843)
                       + rounds("thread", [3000, 3100, 2900], conns=1000, starved=641))
    lines = verdict(result)
    note = next(x for x in lines if x.startswith("The lesson's selectors server starved keep-alive connections"))
    assert "(843 of 1000 at 1000 connections)" in note and "not because of IO multiplexing" in note
    assert "accepts one connection each time select() wakes it" in note
    assert lines.index(note) < len(lines) - 2  # before the general why
    result.machine = {"cores": 2, "python": "3.11", "implementation": "CPython", "platform": "x",
                      "load_generator": "built-in"}
    result.settings.update(rounds=3, duration=0.25, connections=[50, 1000], modes=["keep-alive"], workers=10,
                           work_ms=0, cpu_ms=0)
    _print(types.SimpleNamespace(format="text"), types.SimpleNamespace(modes=("keep-alive",)), result)
    out = " ".join(capsys.readouterr().out.split())
    assert "✗ 843/1000 starved" in out
    assert "✗ on selectors: the lesson's selectors server accepts one connection per wake of select()" in out
    served = made_up()  # selectors serving everyone: no such note
    assert not any("lesson's selectors server" in x for x in verdict(served))


# ----------------------------------------------------------------- in Chinese (issue 13)
HAN = re.compile("[\u4e00-\u9fff]")


def test_a_tiny_bench_in_chinese_from_sockscope_lang_and_english_unchanged(tmp_path, tiny):
    out_md, out_svg = tmp_path / "b.md", tmp_path / "b.svg"
    argv = child.module_argv("tracer", "bench", "--models", "pool,selectors", "--workers", "2", "--connections", "2,6",
                             "--modes", "keep-alive", "--rounds", "2", "--duration", "0.15", "--capacity", "none",
                             "--wrk", "off", "--headline", "6", "-o", str(out_md), "-o", str(out_svg))
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False,
                          env=child.env() | {"SOCKSCOPE_LANG": "zh", "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("sockscope bench：共 ")
    out = "".join(line.strip() for line in done.stdout.splitlines())  # Chinese is wrapped between characters
    assert "结论" in out and "在 6 个长连接下，pool(2) 让 6 个连接中的 4 个饥饿（从未得到响应" in out
    assert "按所有客户端得到的服务排名：1. selectors，2. pool(2)（有连接饥饿）。" in out
    assert "每秒请求数（95% 置信区间）" in out and "✗ 4/6 饥饿" in out and "Verdict" not in out
    assert all(cell_width(line) <= 80 for line in done.stdout.splitlines())  # not one line past the terminal
    md = out_md.read_text(encoding="utf-8")
    assert md.startswith("# sockscope bench\n\n- 机器：") and "## 结论" in md and "| 模型 | 模式 | 连接数 |" in md
    svg = out_svg.read_text(encoding="utf-8")
    assert "每秒请求数" in svg and "Noto Sans CJK SC" in svg
    ET.fromstring(svg)
    # this process speaks English: the same kind of run's verdict is word for word as before
    english = " ".join(verdict(tiny))
    assert "At 6 keep-alive connections, pool(2) starved 4 of 6 connections (never answered" in english
    assert "Ranked by what all clients got: 1. selectors, 2. pool(2) (starved some)." in english
    assert not HAN.search(english) and not HAN.search(bench_report.render(tiny, "md"))


def cell_width(line: str) -> int:
    from tracer.locale.cells import cell_len

    return cell_len(line)


@pytest.mark.parametrize("lang, words", [("en", "with their 95% intervals"), ("zh", "附 95% 置信区间")])
def test_bench_help_says_95_percent_once(capsys, lang, words):
    """Regression: argparse does not %-format a description, so '95%%' was shown as typed."""
    with pytest.raises(SystemExit):
        main(["--lang", lang, "bench", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert words in out and "%%" not in out
