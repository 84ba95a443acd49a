"""``sockscope grade``: the shipped homeworks against sockscope's own servers (pass) and the lesson's code (fail).

Real servers in their own processes on loopback, real scenario clients; each
grade takes one to five seconds.  The failures asserted are the ones a
teacher would give, item by item, with the evidence pointing into the recording.
"""

from __future__ import annotations

import csv
import io
import json
import time

import pytest

from servers import Settings
from tracer.cli import main
from tracer.grade import homework, report
from tracer.grade.session import Grade, Target, grade
from tracer.recording.reader import load

pytestmark = pytest.mark.slow


def graded(tmp_path, work: str, model: str, **settings) -> Grade:
    cfg = Settings(model=model, **settings)
    return grade(Target(model, cfg), homework.load(work), str(tmp_path / f"{work}-{model}.jsonl"))


def failed(g: Grade) -> set[str]:
    return {i.requirement.type for i in g.failed}


@pytest.mark.parametrize("work, model", [
    ("thread-server", "thread"),
    ("pool-server", "pool"),
    ("multiplexed-server", "selectors"),
    ("multiplexed-server", "asyncio"),
])
def test_each_homework_passes_on_sockscopes_own_server_of_its_model(tmp_path, capsys, work, model):
    out = tmp_path / "g.jsonl"
    assert main(["grade", model, "--homework", work, "-o", str(out), "--format", "json"]) == 0
    (g,) = json.loads(capsys.readouterr().out)
    assert [r["title"] for r in g["requirements"] if not r["passed"]] == []
    assert g["result"] == "pass" and g["points"] == g["total"] == len(homework.load(work).requirements)
    assert all(w["status"] == "done" for w in g["runs"]) and not g["notes"]
    assert load(str(out)).complete


# What the lesson's code gets wrong, as a teacher would say it: one recv per connection (a kept-alive
# connection's second request is never answered), no close(), a 200 to anything (it never parses).
AS_TAUGHT = {"answered", "closed", "hostile"}


@pytest.mark.parametrize("work, model, wrong", [
    ("thread-server", "thread", AS_TAUGHT),
    ("pool-server", "pool", AS_TAUGHT),
    # a thread each: for every connection, for every idle one
    ("multiplexed-server", "thread", AS_TAUGHT | {"max-threads", "idle-threads"}),
])
def test_each_homework_fails_the_lessons_as_taught_code_for_the_teachers_reasons(tmp_path, work, model, wrong):
    g = graded(tmp_path, work, model, as_taught=True)
    assert failed(g) == wrong, report.text(g)
    assert g.exit_code == 1
    items = {i.requirement.type: i.verdict for i in g.failed}
    assert "never answered" in items["answered"].evidence and "did not read again" in items["answered"].evidence
    assert "never closed by the server" in items["closed"].evidence
    assert "the server answered 200" in items["hostile"].evidence
    rec = load(g.path)
    for v in items.values():  # the evidence points at a real connection, at a time inside the recording
        if v.conn is not None:
            assert v.conn in rec.connections
        if v.at is not None:
            assert 0 <= v.at <= rec.t_max


def test_a_thread_per_connection_fails_the_pool_homework_on_exactly_the_thread_items(tmp_path):
    g = graded(tmp_path, "pool-server", "thread")
    assert failed(g) == {"max-threads", "reuse"}, report.text(g)
    reuse = next(i.verdict for i in g.failed if i.requirement.type == "reuse")
    assert "thread recv-" in reuse.evidence and "thread number 13" in reuse.evidence
    created = int(reuse.measured.split()[0])
    accepted = int(reuse.measured.split()[4])
    assert created >= accepted - 1  # one thread per connection


def test_one_connection_at_a_time_fails_the_pool_homework_on_exactly_the_slow_client(tmp_path):
    g = graded(tmp_path, "pool-server", "single")
    assert failed(g) == {"slow-client"}, report.text(g)
    slow = g.failed[0].verdict
    assert "while 4 slow clients were sending" in slow.evidence and "in the kernel's backlog" in slow.evidence


def test_a_pool_fails_the_multiplexing_homework_where_threads_are_pinned(tmp_path):
    g = graded(tmp_path, "multiplexed-server", "pool")
    assert {"max-threads", "idle-threads", "slow-client"} <= failed(g), report.text(g)
    assert failed(g) <= {"max-threads", "idle-threads", "slow-client", "answered"}
    slow = next(i.verdict for i in g.failed if i.requirement.type == "slow-client")
    assert "12 slow clients" in slow.evidence


def test_a_handler_that_blocks_the_event_loop_fails_the_latency_bound(tmp_path):
    """The lesson's row 11: every request sleeps 40 ms inside the loop; a burst of 50 waits 2 s in all."""
    g = graded(tmp_path, "multiplexed-server", "selectors", work_ms=40)
    assert "latency" in failed(g), report.text(g)
    assert failed(g) <= {"latency", "slow-client"}
    lat = next(i.verdict for i in g.failed if i.requirement.type == "latency")
    assert "to be answered" in lat.evidence and lat.conn is not None


def test_a_server_that_ends_mid_grade_gets_its_line_and_the_rest_is_not_run(tmp_path):
    """The lesson's first server serves one client and exits: the runs after it are not made."""
    g = graded(tmp_path, "pool-server", "single", as_taught=True)
    assert g.status == "graded" and g.exit_code == 1
    cut = next(k for k, w in enumerate(g.runs) if w.status != "done")
    assert g.runs[cut].status == "cut short" and "ended by itself" in g.runs[cut].why
    assert [w.status for w in g.runs[cut + 1:]] == ["not run"] * (len(g.runs) - cut - 1)
    assert any("ended by itself" in note for note in g.notes)
    hostile = next(i.verdict for i in g.items if i.requirement.type == "hostile")
    assert not hostile.passed and hostile.measured == "not measured" and "did not run" in hostile.evidence
    assert load(g.path).complete  # the recording is still whole


def test_the_time_limit_cuts_a_submission_short_and_says_so(tmp_path):
    work = homework.load("pool-server")
    from dataclasses import replace

    began = time.monotonic()
    g = grade(Target("pool --as-taught", Settings(model="pool", as_taught=True)), replace(work, time_limit=1.0),
              str(tmp_path / "g.jsonl"))
    assert time.monotonic() - began < 15
    assert any("time limit" in note for note in g.notes), g.notes
    assert any(w.status == "not run" for w in g.runs) and g.exit_code == 1


def test_cli_report_names_each_item_the_evidence_and_the_replay_command(tmp_path, capsys):
    out = tmp_path / "grade.jsonl"
    assert main(["grade", "pool", "--as-taught", "--homework", "pool-server", "-o", str(out), "--explain"]) == 1
    text = capsys.readouterr().out
    assert "PASS  at most 12 threads alive" in text and "FAIL  every connection closed by the server" in text
    assert "why: connections are left open: the server never calls close()" in text
    assert "lesson: sockscope lesson 12" in text
    replays = [line.split("open it: ", 1)[1] for line in text.splitlines() if "open it: " in line]
    assert len(replays) == 3 and all(r.startswith(f"sockscope replay {out} --at ") for r in replays)
    from tracer.cli import build_parser

    args = build_parser().parse_args(replays[0].split()[1:])  # the printed command is one replay takes
    assert args.conn in load(str(out)).connections and args.at > 0
    assert "score 4/7: fails" in text


def test_many_submissions_one_after_another_with_a_table_a_recording_each(tmp_path, capsys):
    """A submission that cannot be run gets its line, and the next one goes on."""
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "crashes.py").write_text("raise SystemExit('boom')\n")
    (tmp_path / "subs" / "notes.txt").write_text("not a program\n")
    folder = tmp_path / "grades"
    argv = ["grade", "selectors", str(tmp_path / "subs" / "crashes.py"), "thread", str(tmp_path / "subs" / "notes.txt"),
            str(tmp_path / "missing.py"), "--homework", "multiplexed-server", "-o", str(folder), "--format", "csv"]
    assert main(argv) == 2  # some could not be run
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert [r["result"] for r in rows] == ["pass", "error", "fail", "error", "error"]
    assert rows[0]["score"] == "7/7" and rows[2]["failed"] == "max-threads; idle-threads"
    assert "boom" in rows[1]["why"] and "not a Python program" in rows[3]["why"]
    assert "no such file" in rows[4]["why"]
    assert sorted(p.name for p in folder.iterdir()) == ["crashes.jsonl", "selectors.jsonl", "thread.jsonl"]
    assert load(str(folder / "thread.jsonl")).complete
    assert "not a sandbox" in captured.err


SMALL = """
[[run]]
scenario = "churn"
connections = 12

[[require]]
type = "reuse"
threads = 4

[[require]]
type = "closed"
"""


def test_gradebook_formats_md_and_json(tmp_path, capsys):
    (tmp_path / "hw.toml").write_text(SMALL)
    # 3 workers and the accept thread: the pool cannot create more than the bound of 4, however the churn's
    # connections fall (with 10 workers, a worker not yet back in the pool when the next connection came made a
    # fifth thread on a loaded CI machine)
    argv = ["grade", "thread", "pool", "--workers", "3", "--homework", str(tmp_path / "hw.toml"),
            "-o", str(tmp_path / "g")]
    assert main([*argv, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [(d["file"], d["result"], d["points"]) for d in data] == [
        ("thread", "fail", 1), ("pool --workers 3", "pass", 2)]
    reuse = data[0]["requirements"][0]
    assert not reuse["passed"] and reuse["replay"].startswith("sockscope replay ") and reuse["bound"]
    assert reuse["measured"].startswith("13 threads created for 12 connections")  # the accept thread, and one each
    assert main([*argv, "--format", "md", "--explain"]) == 1
    md = capsys.readouterr().out
    assert md.startswith("| file | score | result | failed |\n|---|---|---|---|\n| thread | 1/2 | fail | reuse |\n"
                         "| pool --workers 3 | 2/2 | pass |  |\n")
    assert "## thread" in md and "`sockscope replay " in md and "`sockscope lesson 3`" in md
