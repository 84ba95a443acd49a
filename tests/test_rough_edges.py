"""The rough edges a new user hit (issue 15), each pinned by the bug it was."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


# pip's console-script wrapper, as pip writes it (distlib's template), for `sockscope`
PIP_WRAPPER = (
    "import re\n"
    "import sys\n"
    "from tracer.entry import main\n"
    "if __name__ == '__main__':\n"
    "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
    "    sys.exit(main())\n"
)
# A Ctrl-C (a real SIGINT) at one chosen instant: while tracer.entry runs its imports, or just after the
# wrapper's import of it returns (both before tracer.entry.main's try).
CTRL_C_AT = (
    "import builtins, signal\n"
    "real = builtins.__import__\n"
    "def ctrl_c_at(name, globals=None, *args, **kw):\n"
    "    module = real(name, globals, *args, **kw)\n"
    "    if (WHEN == 'inside' and (globals or {}).get('__name__') == 'tracer.entry'\n"
    "            or WHEN == 'after' and name == 'tracer.entry'):\n"
    "        builtins.__import__ = real\n"
    "        signal.raise_signal(signal.SIGINT)\n"
    "    return module\n"
    "builtins.__import__ = ctrl_c_at\n"
)


@pytest.mark.parametrize("when", ["inside", "after"])
def test_ctrl_c_before_the_entry_point_runs_is_one_word(tmp_path, when):
    """A Ctrl-C while pip's wrapper imported ``tracer.entry``, or just after, printed a KeyboardInterrupt
    traceback: the console script's first line of ours (``tracer/__init__.py``) now holds Ctrl-C."""
    script = tmp_path / "sockscope"  # the name decides: only the console script is held
    script.write_text(f"WHEN = {when!r}\n" + CTRL_C_AT + PIP_WRAPPER, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script), "--version"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert (out.returncode, out.stderr, out.stdout) == (130, "interrupted\n", "")


def test_importing_the_package_elsewhere_leaves_ctrl_c_alone():
    child = ("import signal, tracer, tracer.entry\n"
             "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n")
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout == "True\n", out.stderr


def test_the_entry_point_gives_ctrl_c_back_to_the_command(tmp_path):
    """Once ``main`` runs, a Ctrl-C is a KeyboardInterrupt again (the commands and the TUI catch it)."""
    script = tmp_path / "sockscope"
    script.write_text(
        "import signal, sys\nimport tracer\nheld = signal.getsignal(signal.SIGINT)\n"
        "import tracer.entry, tracer.cli\n"
        "tracer.cli.main = lambda argv=None: print(held is not signal.default_int_handler,"
        " signal.getsignal(signal.SIGINT) is signal.default_int_handler) or 0\n"
        "sys.exit(tracer.entry.main([]))\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert (out.returncode, out.stdout) == (0, "True True\n"), out.stderr


def classify(returncode: int, stdout: str, stderr: str) -> str:
    """What one ``sockscope --version`` interrupted at some instant left on the screen."""
    if returncode == -signal.SIGINT and not stderr:
        return "killed before Python's own handler (silent)"
    if returncode == 130 and stderr == "interrupted\n":
        return "interrupted"
    if returncode == 0 and stdout.startswith("sockscope "):
        return "finished first"
    if returncode == 1 and stderr == "KeyboardInterrupt\n":
        # No traceback at all: raised where no Python frame runs (in Python's own C code around the script,
        # before it or after ours returned), so not from a line of ours, which always shows its frames.  Seen
        # once in 50 launches on a loaded machine (CI); not reproduced in 400 on a quiet one.
        return "interrupted outside any Python frame (no traceback)"
    if "Traceback" in stderr or "Fatal Python error" in stderr:
        ours = [line for line in stderr.splitlines()
                if line.lstrip().startswith("File ") and os.sep + "tracer" + os.sep in line]
        return f"TRACEBACK IN OUR CODE: {ours[-1].strip()}" if ours else "traceback before our code"
    return f"UNEXPECTED: status {returncode}, {stderr[-200:]!r}"


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32", reason="POSIX signals")
@pytest.mark.timeout(180)
def test_ctrl_c_at_random_early_instants_shows_no_traceback_of_ours(tmp_path):
    """50 launches of the console script, a SIGINT at a random instant of the first ~2x the time Python takes
    to start and import re (half of them land before our first line, half after, on a quiet machine).

    What is left before our first line (tracer/__init__.py) is Python's own start-up (site, .pth files)
    and pip's wrapper's ``import re``: a traceback there is counted, and none may show a frame of ours.
    """
    exe = Path(sys.executable).parent / "sockscope"
    if not exe.exists():
        pytest.skip("the sockscope console script is not installed beside this Python")
    runs = []
    for _ in range(3):  # how long Python takes here to start and import re, what comes before our first line
        t = time.monotonic()  # (a loaded machine starts slowly: the instants follow)
        subprocess.run([sys.executable, "-c", "import re"], capture_output=True, cwd=tmp_path, timeout=60, check=True)
        runs.append(time.monotonic() - t)
    span = 2 * sorted(runs)[1]
    rng = random.Random()
    seen: collections.Counter[str] = collections.Counter()
    for _ in range(50):
        proc = subprocess.Popen([str(exe), "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=tmp_path)
        time.sleep(rng.uniform(0, span))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        seen[classify(proc.returncode, out, err)] += 1
    print(f"instants in 0-{span * 1000:.0f} ms: {dict(seen)}")  # (-s shows how the 50 fell)
    assert not [k for k in seen if k.startswith(("TRACEBACK IN OUR CODE", "UNEXPECTED"))], dict(seen)
    assert seen["interrupted"] > 0, dict(seen)  # some instants fell after our first line
