"""The load generator and `sockscope bench` (LESSONS row 13)."""

from __future__ import annotations

import pytest

from tracer.cli import main
from tracer.clients import loadgen


def test_loadgen_counts_requests_and_latency(serve):
    s = serve("thread")
    result = loadgen.run(*s.address, connections=3, duration=0.3)
    assert result.requests > 3
    assert result.starved == 0 and result.errors == 0
    assert 0 < result.percentile(50) <= result.percentile(99)


def test_loadgen_sees_starved_connections(serve):
    # A pool of 1 serves one keep-alive connection forever; the other two wait.
    s = serve("pool", workers=1, timeout=None)
    result = loadgen.run(*s.address, connections=3, duration=0.3)
    assert result.starved == 2
    assert result.requests > 0


def test_bench_prints_a_table_and_a_chart(capsys):
    assert main(["bench", "--models", "pool,selectors", "--connections", "2", "--duration", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "pool" in out and "selectors" in out
    assert "requests/s with 2 keep-alive connections" in out
    assert out.count("█") >= 2


@pytest.mark.parametrize("argv, message", [
    (["--models", "nope"], "unknown model nope"),
    (["--connections", "a,b"], "expected numbers"),
    (["--connections", "0"], "from 1 to 2000"),
    (["--duration", "100"], "0.2 to 60"),
])
def test_bench_bad_input_is_one_line(capsys, argv, message):
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
