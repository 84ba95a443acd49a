"""Markdown report: its numbers checked against a hand-built recording with known answers."""

from __future__ import annotations

import io

from tests.handmade import MS, US, pool_known
from tests.test_check import one_connection
from tracer import export
from tracer.recording.reader import load


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
    assert "- Settings: 2 workers · backlog 128\n" in text  # in words, as the timeline's title says them
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


def test_a_window_and_lanes_report_what_they_hold(tmp_path):
    """--from/--to/--lanes: connections 3, 4 and 5 (1 ms apart), the server's lanes only."""
    rec = load(pool_known().write(tmp_path / "k.jsonl"))
    sel = export.select(rec, int(2.5 * MS), int(5.5 * MS), ["server"])
    buf = io.StringIO()
    export.write("md", rec, buf, sel)
    text = buf.getvalue()
    assert "- Window: 2.5 ms to 5.5 ms, lanes: MainThread, worker_0, worker_1." in text
    assert row(text, "connections accepted")[1] == "3"
    assert row(text, "requests answered")[1] == "3"
    assert row(text, "server / client lanes")[1] == "3 / 0"
    assert row(text, "queue") == ["queue", "3", "8 µs", "10 µs", "10 µs", "10 µs", "8 µs"]  # 2i µs, i = 3, 4, 5
    assert row(text, "backlog")[1] == "0"  # the backlog wait starts at the client's connect: not chosen
    assert "Nothing: every connection follows the lifecycle." in text  # check's findings: the whole recording
    every_lane = io.StringIO()
    export.write("md", rec, every_lane, export.select(rec, int(2.5 * MS), int(5.5 * MS)))
    assert row(every_lane.getvalue(), "backlog") == ["backlog", "3", "4 µs", "5 µs", "5 µs", "5 µs", "4 µs"]
    assert "Window" not in report(tmp_path / "k.jsonl")


def test_the_settings_line_in_words_in_chinese(tmp_path, chinese):
    """Regression (newcomer's check): the settings line was printed raw ("as_taught = False, work_ms = 200.0")."""
    r = pool_known()
    r.lines[0] = r.lines[0].replace('"backlog": 128', '"backlog": 128, "as_taught": false, "work_ms": 200.0')
    text = report(r.write(tmp_path / "k.jsonl"))
    assert "- 设置：2 个工作线程 · 工作 200 ms（等待） · backlog 128\n" in text, text
    assert "- 模型：**pool**：" in text  # the Chinese colon after the model too
    assert "as_taught" not in text and "= " not in text



def test_counter_peaks_are_named_as_the_timeline_names_them(tmp_path):
    """(Newcomer's check: the English report said 'highest ctx_involuntary', 'highest queue': the file's keys.)"""
    r = pool_known(3)
    r.lines.pop()  # its trailer: the counters go before it
    r.counter("queue", 1 * MS, 2).counter("ctx_involuntary", 2 * MS, 7).counter("threads", 0, 3)
    text = report(r.end().write(tmp_path / "c.jsonl"))
    assert row(text, "highest pool queue")[1] == "2"
    assert row(text, "highest ctx sw (preempt)")[1] == "7"
    assert row(text, "highest threads alive")[1] == "3"
    assert "highest queue" not in text and "ctx_involuntary" not in text
