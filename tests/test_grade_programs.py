"""``sockscope grade PROGRAM.py``: a student's own program, run under ``sockscope run``'s machinery.

The lesson's servers as typed (servers/lesson/) fail for the lesson's bugs; a hand-made server per
requirement type fails exactly that item; the batch mode goes on past a crashing and a hanging one.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tracer.cli import main

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parent.parent
HAND = ROOT / "tests" / "programs" / "grade"


def grade_json(capsys, tmp_path, program: Path, work: str) -> dict:
    main(["grade", str(program), "--homework", work, "-o", str(tmp_path / "g.jsonl"), "--format", "json"])
    (g,) = json.loads(capsys.readouterr().out)
    return g


def failed(g: dict) -> set[str]:
    return {r["type"] for r in g["requirements"] if not r["passed"]}


@pytest.mark.parametrize("program, work", [
    ("thread_server.py", "thread-server"),
    ("pool_server.py", "pool-server"),
])
def test_the_lessons_servers_as_typed_fail_for_the_lessons_bugs(tmp_path, capsys, program, work):
    g = grade_json(capsys, tmp_path, ROOT / "servers" / "lesson" / program, work)
    assert g["result"] == "fail" and failed(g) == {"answered", "closed", "hostile"}


@pytest.mark.parametrize("program, work, wrong", [
    ("correct_thread.py", "thread-server", set()),
    ("never_closes.py", "thread-server", {"closed"}),
    ("correct_thread.py", "pool-server", {"max-threads", "reuse"}),  # unbounded threads
    ("blocks_loop.py", "multiplexed-server", {"latency"}),
])
def test_a_hand_made_server_fails_exactly_its_item(tmp_path, capsys, program, work, wrong):
    g = grade_json(capsys, tmp_path, HAND / program, work)
    assert failed(g) == wrong, g
    assert g["exit_status"] == (1 if wrong else 0)


def test_the_batch_goes_on_past_a_crashing_a_hanging_a_chatty_and_a_quitting_submission(tmp_path, capsys,
                                                                                         monkeypatch):
    from tracer.run import processes

    monkeypatch.setattr(processes, "PROGRAM_LISTEN_S", 3.0)  # hangs.py waits this out (8 s is the product's)
    names = ["crashes.py", "hangs.py", "chatty.py", "exits_early.py", "correct_thread.py"]
    argv = ["grade", *(str(HAND / n) for n in names), "--homework", "thread-server", "-o", str(tmp_path / "out"),
            "--format", "csv"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    rows = {Path(r["file"]).name: r for r in csv.DictReader(io.StringIO(captured.out))}
    assert rows["crashes.py"]["result"] == "error" and "RuntimeError: forgot to bind" in rows["crashes.py"]["why"]
    assert rows["hangs.py"]["result"] == "error" and "did not listen within 3 s" in rows["hangs.py"]["why"]
    assert rows["chatty.py"]["result"] == "pass" and "output was cut off" in rows["chatty.py"]["why"]
    early = rows["exits_early.py"]["why"]  # exit status 0 reads "ended by itself", a non-zero one "died"
    assert rows["exits_early.py"]["result"] == "fail" and ("died" in early or "ended by itself" in early)
    assert rows["correct_thread.py"]["result"] == "pass"
    assert "not a sandbox" in captured.err
