"""The rough edges a new user hit (issue 15), each pinned by the bug it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tracer.recording.reader import load
from tracer.run.headless import answered_after_client_left, summary

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def test_idle_summary_says_which_answers_came_after_the_client_gave_up():
    """``record pool --scenario idle`` said "3 requests answered" and "0 replies" in one summary: the busy
    clients had timed out waiting for a worker, and the workers answered them after they had gone."""
    rec = load(DATA / "pool-idle-late-answers.jsonl")
    assert answered_after_client_left(rec) == 3
    text = summary(rec)
    assert "3 requests answered (3 of them after their client had given up)" in text


def test_a_fresh_recording_of_a_served_burst_has_no_late_answers():
    rec = load(DATA / "pool.jsonl")
    assert answered_after_client_left(rec) == 0 and "given up" not in summary(rec)


def test_client_program_with_a_missing_recording_is_one_line(tmp_path):
    """``python -m tracer.clients HOST:PORT --scenario burst --record NEW`` died with a FileNotFoundError
    traceback."""
    out = subprocess.run([sys.executable, "-m", "tracer.clients", "127.0.0.1:9", "--scenario", "burst",
                          "--record", str(tmp_path / "new.jsonl")], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr
    assert "sockscope serve MODEL --record FILE" in out.stderr and len(out.stderr.splitlines()) == 1
    assert not (tmp_path / "new.jsonl").exists()


def test_ctrl_c_while_the_command_still_imports_is_one_word(tmp_path):
    """Ctrl-C within the first ~50 ms of ``sockscope replay`` printed a traceback from inside an import:
    the console script now enters ``tracer.entry.main`` before importing anything heavy."""
    child = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def interrupted(name, *args, **kw):\n"
        "    if name.startswith('tracer.commands'):\n"
        "        raise KeyboardInterrupt  # a Ctrl-C lands while the commands are imported\n"
        "    return real(name, *args, **kw)\n"
        "builtins.__import__ = interrupted\n"
        "from tracer.entry import main\n"
        "sys.exit(main(['replay', 'x.jsonl']))\n"
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert (out.returncode, out.stderr) == (130, "interrupted\n")


def test_the_console_script_enters_through_the_light_module():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'sockscope = "tracer.entry:main"' in text
    assert "tracer.entry" in (ROOT / "tracer" / "__main__.py").read_text(encoding="utf-8")
