"""bench/bench_recorder.py stopped by SIGTERM or Ctrl-C mid-run leaves none of its servers behind.

The servers take turns stopped by SIGSTOP; a bench killed mid-turn used to leave them (``sockscope
serve``, ``sockscope run`` and its traced program) stopped and orphaned, holding their ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_recorder.py"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]


def descendants(pid: int) -> dict[int, str]:
    """Every process under ``pid``: its start time (field 22 of /proc/PID/stat), to tell a reused pid."""
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [int(k) for k in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            continue
        for k in kids:
            stat = stat_of(k)
            if stat is not None:
                found[k] = stat[1]
                todo.append(k)
    return found


def stat_of(pid: int) -> tuple[str, str] | None:
    """(state, start time) of ``pid``, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], fields[19]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_run_continues_and_stops_every_child(sig, tmp_path):
    bench = subprocess.Popen([sys.executable, str(BENCH), "--only", "cost", "--lesson", "--rounds", "2",
                              "--seconds", "5", "--load", "python"], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        seen: dict[int, str] = {}
        stopped = False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (stopped and len(seen) >= 7):  # 5 servers, a program each of 2
            seen.update(descendants(bench.pid))
            stopped = any((s := stat_of(p)) is not None and s[0] == "T" for p in seen)
            assert bench.poll() is None, bench.communicate()
            time.sleep(0.05)
        assert stopped, f"no server was stopped by its turn within 90 s: {seen}"
        bench.send_signal(sig)
        _out, err = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
    assert bench.returncode == 128 + sig, err
    assert f"stopped by signal {int(sig)}" in err
    deadline = time.monotonic() + 10
    left = dict(seen)
    while left and time.monotonic() < deadline:  # orphans of the bench are reaped by init: a moment
        left = {p: t for p, t in left.items() if (s := stat_of(p)) is not None and s[1] == t and s[0] != "Z"}
        time.sleep(0.05)
    assert not left, f"left running after the bench's {sig.name}: {left}"
