"""Markdown report: its numbers checked against a hand-built recording with known answers."""

from __future__ import annotations

import io

from tests.handmade import US, pool_known
from tests.test_check import one_connection
from tracer import export
from tracer.recording import load


def report(path) -> str:
    buf = io.StringIO()
    export.write("md", load(path), buf)
    return buf.getvalue()


def row(text: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{text}")


def test_model_settings_and_counts(tmp_path):
    text = report(pool_known().write(tmp_path / "k.jsonl"))
    assert text.startswith("# sockscope report: pool")
    assert "workers = 2" in text and "backlog = 128" in text
    assert row(text, "connections accepted")[1] == "10"
    assert row(text, "requests answered")[1] == "10"
    assert row(text, "server threads created")[1] == "2"
    assert row(text, "server threads alive at most")[1] == "3"
    assert row(text, "threads that served more than one connection")[1] == "2"
    assert row(text, "most connections served by one thread")[1] == "5"
    assert row(text, "connections never closed by the server")[1] == "0"


def test_waits_with_percentiles_and_worst_five(tmp_path):
    text = report(pool_known().write(tmp_path / "k.jsonl"))
    assert row(text, "backlog") == ["backlog", "10", "5 µs", "9 µs", "10 µs", "10 µs", "5.5 µs"]
    assert row(text, "queue") == ["queue", "10", "10 µs", "18 µs", "20 µs", "20 µs", "11 µs"]
    assert row(text, "service") == ["service", "10", "50 µs", "90 µs", "100 µs", "100 µs", "55 µs"]
    worst = text.split("### Worst five: backlog", 1)[1].split("###", 1)[0]
    assert [line.split("|")[1].strip() for line in worst.splitlines() if line.startswith("| ")][2:] == \
        ["10", "9", "8", "7", "6"]
    assert row(worst, "10")[1] == f"{10 * US // 1000} µs"


def test_throughput_and_close_reasons(tmp_path):
    text = report(pool_known().write(tmp_path / "k.jsonl"))
    section = text.split("## Throughput over time", 1)[1].split("##", 1)[0]
    counts = [int(line.split("|")[2]) for line in section.splitlines() if line.startswith("| ") and "–" in line]
    assert sum(counts) == 10 and len(counts) == 12
    assert "`" in section  # the sparkline
    assert row(text, "eof")[1] == "10" and row(text, "client")[1] == "10"


def test_reports_what_check_finds(tmp_path):
    assert "Nothing: every connection follows the lifecycle." in report(pool_known().write(tmp_path / "k.jsonl"))
    r = one_connection(close=False).end(alive=[1])
    text = report(r.write(tmp_path / "bad.jsonl"))
    assert row(text, "connection never closed")[1] == "1"
    assert f"- line {r.at['send']}: connection 1" in text
