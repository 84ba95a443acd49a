"""Scenario clients against real servers in their own processes: each scenario shows what it exists to show."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from servers import Settings
from tests.conftest import wait_for
from tracer.cli import main
from tracer.clients import program, scenarios, toolkit
from tracer.commands import record
from tracer.errors import ServerError, UsageError
from tracer.record.net import accept_queue_length, backlog_probe_available
from tracer.recording.model import Recording
from tracer.recording.reader import load
from tracer.run import headless
from tracer.run.shipped import SHIPPED, readme_section, regenerate

ROOT = Path(__file__).resolve().parent.parent
MS = 1_000_000


def recorded(tmp_path: Path, model: str, scenario: str, sets: dict[str, object] | None = None,
             **settings: object) -> headless.Result:
    """Record ``scenario`` against ``model``; the settings given here win over the scenario's knobs."""
    cfg = Settings(model=model, **settings)  # type: ignore[arg-type]
    path = str(tmp_path / f"{model}-{scenario}.jsonl")
    return headless.record(cfg, scenario, sets, path, explicit=set(settings))


def served(rec: Recording) -> list:
    return [c for c in rec.connections.values() if c.id > 0]


def events(rec: Recording, kind: str, side: str = "server") -> list:
    return [e for e in rec.events() if e.kind == kind and rec.lanes[e.lane].side == side]


def both_ends_joined(rec: Recording) -> None:
    for c in served(rec):
        assert c.client_lane is not None, f"connection {c.id}: its client end was not joined"
        assert rec.lanes[c.client_lane].name.startswith("client-")
        assert c.connected_t <= c.accepted_t + 50 * MS, "a connect that completed after its accept"


def sends_line_up(rec: Recording, blocked_ms: float, tolerance_ms: float = 30) -> int:
    """Every server recv blocked longer than ``blocked_ms`` ends where a client send on its connection ends."""
    client_sends: dict[int, list[int]] = {}
    for e in events(rec, "send", "client"):
        client_sends.setdefault(e.conn, []).append(e.end)
    n = 0
    for e in events(rec, "recv"):
        if e.dur >= blocked_ms * MS and e.nbytes > 0:
            gap = min(abs(e.end - end) for end in client_sends[e.conn])
            assert gap <= tolerance_ms * MS, f"recv on connection {e.conn} ended {gap / MS:.1f} ms from any send"
            n += 1
    return n


# ---------------------------------------------------------------- each scenario, freshly recorded
def test_burst_on_a_small_pool_queues(tmp_path):
    result = recorded(tmp_path, "pool", "burst", {"clients": 5}, workers=2, work_ms=100)
    rec = result.recording
    assert result.outcome.outcomes == {"ok": 5}
    assert len(served(rec)) == 5
    both_ends_joined(rec)
    waits = sorted(c.queue_wait for c in served(rec))
    assert waits[-3] >= 80 * MS, f"expected 3 connections to wait for one of 2 workers, got {waits}"
    assert rec.counters["queue"].peak() >= 2
    assert rec.complete and not rec.warnings


def test_ramp_on_thread_has_one_lane_per_connection(tmp_path):
    rec = recorded(tmp_path, "thread", "ramp", {"clients": 4, "every_ms": 60, "hold_ms": 100}).recording
    conns = served(rec)
    assert len(conns) == 4
    lanes = {c.serve_lane for c in conns}
    assert len(lanes) == 4 and all(rec.lanes[lane].name.startswith("recv-") for lane in lanes)
    threads = rec.counters["threads"]
    last = max(c.accepted_t for c in conns)
    assert threads.at(last + 20 * MS) >= threads.at(min(c.connect_t for c in conns)) + 3, "thread count did not rise"
    arrivals = sorted(c.connect_t for c in conns)
    assert arrivals[-1] - arrivals[0] >= 60 * MS, "clients arrived together, not one by one"


def test_keepalive_client_send_ends_where_the_blocked_recv_ends(tmp_path):
    rec = recorded(tmp_path, "thread", "keepalive", {"clients": 1, "requests": 3, "think_ms": 150}).recording
    (conn,) = served(rec)
    assert conn.requests == 3
    assert sends_line_up(rec, blocked_ms=100) == 2
    both_ends_joined(rec)


@pytest.mark.parametrize("model", ["pool", "thread"])
def test_churn_creates_threads_or_reuses_workers(tmp_path, model):
    rec = recorded(tmp_path, model, "churn", {"connections": 8, "clients": 1}, workers=2).recording
    conns = served(rec)
    assert len(conns) == 8
    lanes = {c.serve_lane for c in conns}
    if model == "pool":
        assert len(lanes) <= 2 and all(rec.lanes[x].name.startswith("worker") for x in lanes)
    else:
        assert len(lanes) == 8
        assert len(events(rec, "thread_start")) >= 8 and len(events(rec, "thread_exit")) >= 8


def test_slowloris_pins_the_only_worker(tmp_path):
    sets = {"slow": 1, "fast": 1, "chunk": 12, "gap_ms": 120, "fast_after_ms": 30}
    rec = recorded(tmp_path, "pool", "slowloris", sets, workers=1).recording
    slow, fast = sorted(served(rec), key=lambda c: c.connect_t)
    assert len([e for e in events(rec, "send", "client") if e.conn == slow.id]) == 3  # 36 bytes, 12 at a time
    assert fast.queue_wait >= 150 * MS, "the quick client was served while the slow one held the worker"


def test_idle_connections_each_hold_a_thread(tmp_path):
    rec = recorded(tmp_path, "thread", "idle", {"idle": 5, "busy": 1, "requests": 2, "think_ms": 30}).recording
    conns = served(rec)
    assert len(conns) == 6
    idle = [c for c in conns if c.requests == 0]
    assert len(idle) == 5 and all(c.bytes_in == 0 and c.close_reason == "eof" for c in idle)
    assert len({c.serve_lane for c in conns}) == 6


def test_backlog_connects_complete_long_before_their_accept(tmp_path):
    pause = 1500  # long enough for the client process to start, even on a busy machine
    result = recorded(tmp_path, "thread", "backlog", {"clients": 3, "backlog": 2, "pause_ms": pause})
    rec = result.recording
    assert rec.settings["backlog"] == 2 and rec.settings["pause_accept_ms"] == pause
    (listen,) = events(rec, "listen")
    conns = served(rec)
    assert len(conns) == 3
    for c in conns:
        assert c.accepted_t >= listen.t + (pause - 5) * MS, "accepted during the pause"
        # connected in the kernel's queue, and waited there for the rest of the pause
        assert c.backlog_wait >= pause * MS - (c.connected_t - listen.t) - 5 * MS
        assert c.backlog_wait >= 200 * MS, "connect did not complete long before its accept"
    assert rec.header["counters"]["backlog"] is backlog_probe_available()
    if backlog_probe_available():
        assert rec.counters["backlog"].peak() == 3


def test_cpu_handlers_take_turns_on_the_gil(tmp_path):
    n, cpu = 4, 40
    rec = recorded(tmp_path, "thread", "cpu", {"clients": n, "cpu_ms": cpu}).recording
    work = events(rec, "work")
    assert len(work) == n
    span = max(e.end for e in work) - min(e.t for e in work)
    assert span >= 0.8 * n * cpu * MS, "CPU-bound handlers finished faster than one core can run them"
    assert rec.settings["cpu_ms"] == cpu


def test_scenario_knobs_yield_to_explicit_server_options(tmp_path):
    scenario = scenarios.get("backlog")
    params = scenario.resolve({"backlog": "7"})
    assert headless.apply_knobs(Settings(), scenario, params).backlog == 7
    assert headless.apply_knobs(Settings(backlog=50), scenario, params, {"backlog"}).backlog == 50


# ---------------------------------------------------------------- bad input and failures
def test_unknown_scenario_and_parameter_list_the_valid_ones():
    with pytest.raises(UsageError, match="burst, ramp, keepalive, churn, slowloris, idle, backlog, cpu"):
        scenarios.get("stampede")
    with pytest.raises(UsageError, match=r"no parameter 'client'; it has: clients \(default 20\)"):
        scenarios.get("burst").resolve({"client": "3"})
    with pytest.raises(UsageError, match="expected a whole number, got '2.5'"):
        scenarios.get("burst").resolve({"clients": "2.5"})
    with pytest.raises(UsageError, match="from 1 to 1000"):
        scenarios.get("burst").resolve({"clients": "0"})
    with pytest.raises(UsageError, match="expected key=value"):
        scenarios.parse_sets(["clients"])


@pytest.mark.parametrize("argv, message", [
    (["record", "pool", "--scenario", "stampede"], "unknown scenario 'stampede'; choose one of burst"),
    (["record", "pool", "--scenario", "burst", "--set", "x=1"], "scenario burst has no parameter 'x'"),
    (["record", "pool"], "expected --scenario NAME"),
    (["record", "--scenario", "burst"], "expected a MODEL"),
    (["record", "--regenerate-all", "pool"], "--regenerate-all remakes"),
    (["scenarios", "nope"], "unknown scenario 'nope'"),
    # a device is never a recording: /dev/full once ran the machine out of memory (it was read back)
    (["record", "pool", "--scenario", "burst", "-o", "/dev/full"], "/dev/full: it is not a regular file"),
    (["record", "pool", "--scenario", "burst", "-o", "/dev/null"], "/dev/null: it is not a regular file"),
    (["record", "pool", "--scenario", "burst", "-o", "pyproject.toml"], "it holds something else"),
])
def test_cli_bad_input_is_one_line(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert captured.out == ""  # refused before anything starts or is announced


def test_scenarios_command_lists_each_with_its_parameters(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name, s in scenarios.SCENARIOS.items():
        assert f"\n{name} " in "\n" + out
        for p in s.all_params():
            assert f"{p.name}=" in out
    assert "[sets --pause-accept-ms]" in out and "[sets --cpu-ms]" in out


def header_only(path: Path) -> str:
    """A recording with only a header, as a server writes it at start."""
    path.write_text(json.dumps({"format": "sockscope", "version": 1, "model": "pool",
                                "t0_monotonic_ns": time.monotonic_ns()}) + "\n")
    return str(path)


def test_refused_connects_are_recorded_not_raised(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    address = s.getsockname()
    s.close()  # nothing listens there now
    path = header_only(tmp_path / "refused.jsonl")
    outcome = program.run_scenario(address, "burst", {"clients": 3}, path)
    assert outcome.outcomes == {"refused": 3} and outcome.replies == 0
    rec = load(path)
    assert len(rec.client_lanes()) == 3
    assert sorted(c.client_close_reason for c in rec.connections.values()) == ["refused"] * 3
    assert all(c.id < 0 for c in rec.connections.values())


def test_connects_beyond_a_full_queue_time_out_and_are_recorded(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: the kernel queues one, drops the rest's SYNs
        path = header_only(tmp_path / "timeout.jsonl")
        t = time.monotonic()
        outcome = program.run_scenario(listener.getsockname(), "burst", {"clients": 4, "timeout": 0.3}, path)
        assert time.monotonic() - t < 3
    assert outcome.outcomes.get("timeout", 0) >= 2, outcome
    reasons = [c.client_close_reason for c in load(path).connections.values()]
    assert reasons.count("timeout") == outcome.outcomes["timeout"]


def test_every_client_stops_at_the_deadline():
    with socket.socket() as listener:  # accepts in the kernel, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        t = time.monotonic()
        outcome = program.run_scenario(listener.getsockname(), "keepalive",
                                       {"clients": 2, "timeout": 60, "deadline": 0.4})
        assert time.monotonic() - t < 2
    assert outcome.replies == 0 and outcome.connections == 2


def test_stop_wakes_blocked_clients():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        handle: list[toolkit.Clients] = []
        done = threading.Event()

        def fire() -> None:
            outcome = program.run_scenario(listener.getsockname(), "keepalive", {"clients": 3, "timeout": 60},
                                           on_start=handle.append)
            assert outcome.stopped and outcome.outcomes == {"shutdown": 3}
            done.set()

        threading.Thread(target=fire, daemon=True).start()
        wait_for(lambda: handle and len(handle[0]._open) == 3, what="3 clients waiting for replies")
        handle[0].stop()
        assert done.wait(3), "stop() did not end the clients"


def test_server_killed_mid_scenario_stops_clients_and_leaves_a_readable_recording(tmp_path):
    path = tmp_path / "killed.jsonl"

    def kill_later(server) -> None:
        def kill() -> None:
            wait_for(lambda: '"client-1"' in path.read_text(), what="a client lane in the recording")
            os.kill(server.piped.proc.pid, signal.SIGKILL)

        threading.Thread(target=kill, daemon=True).start()

    t = time.monotonic()
    with pytest.raises(ServerError) as err:
        headless.record(Settings(model="thread"), "keepalive", {"clients": 2, "requests": 50, "think_ms": 100},
                      str(path), on_server=kill_later)
    assert time.monotonic() - t < 10
    assert "killed by signal 9" in str(err.value) and "readable" in str(err.value)
    rec = load(path)
    assert rec.client_lanes() and not rec.complete


def test_server_that_exits_by_itself_leaves_its_trailer_last(tmp_path):
    # the lesson's single server serves one client and exits; the next arrive 400 ms apart, after it
    result = recorded(tmp_path, "single", "ramp", {"clients": 3, "every_ms": 400, "timeout": 1}, as_taught=True)
    assert result.note and "ended by itself" in result.note
    rec = result.recording
    assert rec.complete and rec.client_lanes()
    assert len(served(rec)) == 1


def test_port_in_use_is_one_clear_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(ServerError, match=f"port {port} on 127.0.0.1 is already in use"):
            headless.record(Settings(model="pool", port=port), "burst", None, str(tmp_path / "x.jsonl"))


def test_client_rounds_never_share_lanes_or_connection_ids(tmp_path):
    path = header_only(tmp_path / "rounds.jsonl")
    assert toolkit.next_round(path) == 1
    with open(path, "a") as f:
        f.write(json.dumps({"lane": toolkit.ranges(1)[0], "name": "client-1", "native_id": 1, "side": "client"}) + "\n")
    assert toolkit.next_round(path) == 2
    (l1, c1), (l2, c2) = toolkit.ranges(1), toolkit.ranges(2)
    assert l2 - l1 >= toolkit.LANES_PER_ROUND and c2 - c1 >= toolkit.CONNS_PER_ROUND and c2 < 2**31
    with pytest.raises(UsageError):
        toolkit.ranges(0)


# ---------------------------------------------------------------- the kernel's accept queue
@pytest.mark.skipif(not backlog_probe_available(), reason="TCP_INFO on listening sockets is Linux's")
def test_tcp_info_offsets_report_the_accept_queue():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(7)
        assert accept_queue_length(listener) == 0
        peers = [socket.create_connection(listener.getsockname(), timeout=2) for _ in range(3)]
        try:
            wait_for(lambda: accept_queue_length(listener) == 3, what="3 connections in the accept queue")
            info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 32)
            assert struct.unpack_from("I", info, 28)[0] == 7  # tcpi_sacked: the queue's limit
            listener.accept()[0].close()
            assert accept_queue_length(listener) == 2
        finally:
            for p in peers:
                p.close()


# ---------------------------------------------------------------- the CLI and its output
def test_record_command_prints_where_a_summary_and_how_to_open(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert main(["record", "pool", "--workers", "2", "--scenario", "burst", "--set", "clients=3", "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert f"recorded {out}" in printed.out
    assert "3 connections accepted" in printed.out and "clients saw 3 connections: 3 ok" in printed.out
    assert f"Open it with: sockscope replay {out}" in printed.out
    assert "connections done" in printed.err  # plain progress lines: stderr is not a terminal here


def test_ctrl_c_during_record_says_where_the_recording_is(tmp_path, capsys, monkeypatch):
    # It printed only "interrupted": the recording was complete, but nothing said where or how to open it.
    from tracer.run import headless

    out = tmp_path / "r.jsonl"

    def stopped(cfg, scenario, overrides, path, **kw):  # the server stopped and wrote its trailer, then Ctrl-C
        Path(path).write_bytes(Path("recordings/pool-saturated-queue.jsonl").read_bytes())
        raise KeyboardInterrupt

    monkeypatch.setattr(headless, "record", stopped)
    assert main(["record", "pool", "--scenario", "burst", "-o", str(out)]) == 130
    printed = capsys.readouterr()
    assert "interrupted" in printed.err
    assert f"recorded {out}" in printed.out and f"Open it with: sockscope replay {out}" in printed.out


def test_plain_progress_lines_are_rate_limited():
    stream = io.StringIO()
    with record.Progress("pool under burst", stream) as progress:
        for i in range(1, 51):
            progress(i, 50)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "sockscope: pool under burst ..."
    assert lines[-1] == "sockscope: 50/50 connections done" and len(lines) <= 4


# ---------------------------------------------------------------- the shipped recordings
def check_shipped(name: str, rec: Recording) -> None:
    """The property each shipped recording exists to show."""
    conns = served(rec)
    lanes = {c.serve_lane for c in conns}
    if name == "thread-keepalive-blocking-recv.jsonl":
        assert sends_line_up(rec, blocked_ms=250) >= 6
    elif name == "thread-ramp-grows-threads.jsonl":
        assert len(lanes) == len(conns) == 12
        assert rec.counters["threads"].peak() >= 12
    elif name == "thread-churn-thread-per-connection.jsonl":
        assert len(lanes) == len(conns) == 20 and len(events(rec, "thread_exit")) >= 20
    elif name == "pool-churn-reuses-workers.jsonl":
        assert len(conns) == 20 and len(lanes) <= 4
    elif name == "pool-saturated-queue.jsonl":
        assert max(c.queue_wait for c in conns) >= 500 * MS and rec.counters["queue"].peak() >= 8
    elif name == "pool-as-taught-accept-worker.jsonl":
        (accept_lane,) = {c.accept_lane for c in conns}
        assert rec.lanes[accept_lane].name.startswith("worker")
        assert len(lanes - {None}) == 3, "4 workers, one on the accept loop: 3 serve"
        assert max(c.queue_wait or 0 for c in conns) >= 1000 * MS
    elif name == "pool-as-taught-one-worker-never-serves.jsonl":
        assert conns and all(c.submit_t is not None and c.start_t is None for c in conns)
        assert {c.client_close_reason for c in conns} == {"timeout"}
    elif name == "pool-slowloris-stalls.jsonl":
        assert max(c.queue_wait for c in conns) >= 500 * MS
    elif name == "thread-slowloris-grows.jsonl":
        assert len(lanes) == 8 and max(c.backlog_wait for c in conns) < 100 * MS
    elif name == "thread-backlog-kernel-queue.jsonl":
        assert sum(c.backlog_wait >= 500 * MS for c in conns) >= 3
        assert sum(c.connected_t - c.connect_t >= 500 * MS for c in conns) >= 3, "no connect was delayed"
        assert rec.counters["backlog"].peak() == 4
    elif name == "thread-idle-connections.jsonl":
        assert len(lanes) == 105 and sum(c.requests == 0 for c in conns) == 100
    elif name == "thread-cpu-gil.jsonl":
        work = events(rec, "work")
        assert len(work) == 8 and max(e.end for e in work) - min(e.t for e in work) >= 320 * MS
    elif name == "thread-as-taught-no-close.jsonl":
        assert conns and all(c.close_t is None for c in conns)
        assert all(len([e for e in rec.connection_events(c.id) if e.kind == "recv"
                        and rec.lanes[e.lane].side == "server"]) == 1 for c in conns)
        # what the README and lesson 12 say: garbage collection closes two sockets when their handler threads
        # end (the clients see end-of-file); the accept loop's variable holds the last one (a timeout)
        ends = sorted(c.client_close_reason or "never" for c in rec.connections.values() if c.client_lane is not None)
        assert ends == ["eof", "eof", "timeout"], ends
    elif name == "thread-context-switches.jsonl":
        assert len(conns) == 50 and rec.counters["ctx_voluntary"].peak() >= 200
    elif name == "selectors-context-switches.jsonl":
        assert len(conns) == 50 and len(rec.server_lanes()) == 1 and "ctx_voluntary" in rec.counters
    elif name == "selectors-slowloris-responsive.jsonl":
        assert len(rec.server_lanes()) == 1 and len(lanes) == 1
        by_arrival = sorted(conns, key=lambda c: c.connect_t)
        slow, quick = by_arrival[:4], by_arrival[4:]  # the 4 slow clients come first, the quick ones 200 ms on
        assert min(c.client_close_t - c.connect_t for c in slow) >= 500 * MS
        assert max(c.client_close_t - c.connect_t for c in quick) < 100 * MS, "a quick client waited"
        assert max(c.client_close_t for c in quick) < min(c.client_close_t for c in slow)
    elif name == "selectors-idle-one-lane.jsonl":
        (lane,) = rec.server_lanes()
        assert len(conns) == 105 and (lanes - {None}) | {c.accept_lane for c in conns} == {lane.id}
        assert sum(c.requests == 0 for c in conns) == 100
    elif name == "selectors-one-thread-serves-all.jsonl":
        (lane,) = rec.server_lanes()
        assert len(conns) == 20 and lanes == {lane.id}
        assert {"select", "accept", "recv", "send", "close"} <= lane.kinds()
        assert max(lane.count[i] for i in range(len(lane)) if lane.event(i).kind == "select") >= 2
    elif name == "selectors-blocking-handler-freezes.jsonl":
        (lane,) = rec.server_lanes()
        work = events(rec, "work")
        assert len(work) == 5
        # the loop does nothing else while a handler sleeps: no event starts inside a work span
        inside = [e for e in lane.events() if e.kind != "work" and any(w.t < e.t < w.end for w in work)]
        assert not inside
        assert max(c.client_close_t for c in conns) - min(c.connect_t for c in conns) >= 900 * MS
    elif name == "single-both-ends.jsonl":
        assert len(rec.server_lanes()) == 1 and len(rec.client_lanes()) == 5
        assert sorted(c.backlog_wait for c in conns)[-1] >= 150 * MS
    elif name == "tcp-stream-udp-datagrams.jsonl":  # lesson 16; tests/test_lessons.py checks the steps
        tcp = [e.nbytes for e in events(rec, "recv", "server") if rec.lanes[e.lane].name == "tcp-server" and e.nbytes]
        udp = [e.nbytes for e in events(rec, "recv", "server") if rec.lanes[e.lane].name == "udp-server"]
        assert sum(tcp) == 15 and len(tcp) < 3 and udp == [5, 5, 5], (tcp, udp)
    elif name in ("thread-server-as-typed.jsonl", "pool-server-as-typed.jsonl"):  # lesson 18, unmodified
        accepting = "accept" if name.startswith("thread") else "ThreadPoolExecutor-0_0"
        assert {rec.lanes[c.accept_lane].name for c in conns} == {accepting}
        assert not events(rec, "close", "server") and len(conns) >= 3
    else:
        pytest.fail(f"no check for shipped recording {name}")


@pytest.mark.parametrize("item", SHIPPED, ids=lambda s: s.file)
def test_shipped_recording_shows_its_lesson(item):
    path = ROOT / "recordings" / item.file
    assert path.stat().st_size < 1_000_000
    rec = load(path)
    assert rec.complete and not rec.warnings and rec.dropped == 0
    assert rec.model == (os.path.basename(item.model) if item.is_program else item.model)
    if not item.scenario:  # a whole program: its client is its own thread, "client"
        assert {lane.name for lane in rec.client_lanes()} == {"client"}
    elif item.model != "pool" or "--workers" not in item.options or "1" not in item.options:
        both_ends_joined(rec)
    check_shipped(item.file, rec)


def test_shipped_recordings_cover_the_lessons_and_the_index_lists_them():
    rows = {r for item in SHIPPED for r in item.rows}
    assert rows == {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18}
    readme = (ROOT / "recordings" / "README.md").read_text()
    assert readme_section() in readme, "recordings/README.md is stale: run sockscope record --regenerate-all"
    assert {s.file for s in SHIPPED} <= {p.name for p in (ROOT / "recordings").glob("*.jsonl")}


def test_thread_per_connection_switches_more_than_the_event_loop():
    """Lesson 17: the same burst of 50 clients, thread-per-connection against selectors."""
    thread = load(ROOT / "recordings" / "thread-context-switches.jsonl").counters["ctx_voluntary"].peak()
    loop = load(ROOT / "recordings" / "selectors-context-switches.jsonl").counters["ctx_voluntary"].peak()
    assert thread > 3 * loop, (thread, loop)


@pytest.mark.parametrize("name", ["pool-churn-reuses-workers.jsonl", "thread-backlog-kernel-queue.jsonl"])
def test_regenerating_reproduces_the_shipped_property(tmp_path, name):
    (tmp_path / "README.md").write_text("# Recordings\n\n## Format\n\nthe other section\n")
    started = []
    made = regenerate(str(tmp_path), only=[name], on_start=lambda item: started.append(item.command(str(tmp_path))))
    assert made == 1
    assert started and f"-o {tmp_path / name}" in started[0]
    check_shipped(name, load(tmp_path / name))
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("# Recordings\n\n## Format\n\nthe other section\n") and readme_section() in readme


@pytest.mark.parametrize("item", SHIPPED, ids=lambda item: item.file)
def test_shipped_settings_are_what_the_cli_would_parse(item):
    """Shipped.settings() reads its options without the CLI (no import circle); the CLI must agree."""
    from tracer.cli import build_parser

    args = build_parser().parse_args(item.argv()[1:])
    if not item.scenario:  # sockscope run: the same program, options and output
        from tracer.commands.run import spec_from
        from tracer.run.programs import spec_of

        assert spec_from(args) == spec_of(item.settings()[0].program) and args.output.endswith(item.file)
        return
    assert item.settings() == record.settings_with_defaults(args)


def test_clients_module_runs_as_a_program(tmp_path):
    import subprocess

    path = header_only(tmp_path / "p.jsonl")
    proc = subprocess.run([sys.executable, "-m", "tracer.clients", "127.0.0.1:1", "--scenario", "burst",
                           "--set", "clients=2", "--record", path], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    outcome = program.parse_outcome(proc.stdout.splitlines())
    assert outcome is not None and outcome.outcomes == {"refused": 2}
    assert proc.stdout.splitlines()[0] == "progress 1 2"


def test_a_second_firing_gets_lane_names_of_its_own(serve):
    """Regression: pressing b twice in live mode gave two lanes named client-1, two client-2, ..."""
    from tracer.timeline.rows import Timeline

    s = serve("thread")
    for _ in range(2):
        outcome = program.run_scenario(s.address, "burst", {"clients": "2"}, record=str(s.path))
        assert outcome.replies == 2
    rec = s.stop()
    names = [lane.name for lane in rec.client_lanes()]
    assert sorted(names) == ["client-1", "client-2", "r2.client-1", "r2.client-2"]
    rows = [row.label for row in Timeline(rec).rows() if row.kind == "lane" and "client" in row.label]
    assert rows == ["client-1", "client-2", "r2.client-1", "r2.client-2"]


def test_a_tracer_folder_in_the_current_folder_is_not_run(tmp_path):
    """The server, clients and formatter processes run this sockscope, not a ``tracer/`` found where the user
    stands (an old checkout: it once wrote headers without the fields this one writes)."""
    script = Path(sys.executable).parent / "sockscope"
    if not script.exists():
        pytest.skip("sockscope is not installed as a command in this environment")
    (tmp_path / "tracer").mkdir()
    (tmp_path / "tracer" / "__init__.py").write_text("raise ImportError('the wrong tracer')\n")
    env = dict(os.environ, SOCKSCOPE_PURE_PYTHON="1")  # the Python hot path: a formatter process too
    done = subprocess.run([str(script), "record", "pool", "--scenario", "burst", "--set", "clients=2",
                           "-o", "r.jsonl"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "the wrong tracer" not in done.stderr
    r = load(tmp_path / "r.jsonl")
    assert r.complete and r.header["recorder"] == "python" and len(r.connections) >= 2
