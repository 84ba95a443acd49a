"""``sockscope export`` and ``compare`` on the command line: outputs, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest

from tests.handmade import MS, Lines, pool_known
from tracer.cli import main
from tracer.export import parse_time


@pytest.fixture
def known(tmp_path):
    return pool_known().write(tmp_path / "known.jsonl")


@pytest.mark.parametrize(("text", "ns"), [
    ("12ms", 12_000_000), ("3.5s", 3_500_000_000), ("250us", 250_000), ("250µs", 250_000), ("100ns", 100),
    ("7", 7_000_000), ("0.5", 500_000), (" 2 ms ", 2_000_000), ("0", 0),
])
def test_parse_time(text, ns):
    assert parse_time(text) == ns


@pytest.mark.parametrize("fmt", ["chrome", "csv", "svg", "md"])
def test_each_format_writes_next_to_the_recording(known, fmt, capsys):
    assert main(["export", str(known), "--format", fmt]) == 0
    suffix = {"chrome": ".trace.json", "csv": ".csv", "svg": ".svg", "md": ".md"}[fmt]
    out = known.with_name("known" + suffix)
    assert out.stat().st_size > 100
    std = capsys.readouterr()
    assert f"wrote {out}" in std.out and std.err == ""  # no progress when stderr is not a terminal
    assert not [p for p in known.parent.iterdir() if p.name.startswith(".sockscope-")]


def test_format_aliases(known, capsys):
    assert main(["export", str(known), "-f", "JSON", "-o", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["traceEvents"]
    assert main(["export", str(known), "-f", "markdown", "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("# sockscope report")


def test_dash_writes_to_standard_output(known, capsys):
    assert main(["export", str(known), "-f", "chrome", "-o", "-", "--from", "2ms", "--to", "3ms"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["otherData"]["range_us"] == "2000.000..3000.000"


def test_cut_off_recording_still_exports(tmp_path, capsys):
    path = pool_known().write(tmp_path / "cut.jsonl", cut=True)
    assert main(["export", str(path), "-f", "csv", "-o", str(tmp_path / "cut.csv")]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "cut off" in err and "no trailer" in err


def one_line_error(capsys, *words):
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize(("argv", "words"), [
    (["--format", "pdf"], ["unknown format", "chrome, csv, svg, md"]),
    (["-f", "csv", "--from", "soon"], ["12ms"]),
    (["-f", "csv", "--from=-3ms"], ["expected a time"]),
    (["-f", "csv", "--from", "5ms", "--to", "2ms"], ["must be after"]),
    (["-f", "csv", "--from", "1h"], ["expected a time"]),
    (["-f", "csv", "--from", "20s"], ["after the recording's end"]),
    (["-f", "csv", "--lanes", "nobody"], ["no lane matches 'nobody'", "MainThread"]),
    (["-f", "svg", "--width", "10"], ["--width"]),
    (["-f", "csv", "-o", "/nonexistent/folder/out.csv"], ["folder /nonexistent/folder does not exist"]),
])
def test_bad_options_are_one_line(known, capsys, argv, words):
    assert main(["export", str(known), *argv]) == 2
    one_line_error(capsys, *words)


def test_bad_files_are_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing.jsonl"), "-f", "csv"]) == 2
    one_line_error(capsys, "no such file")
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"hello": 1}\n')
    assert main(["export", str(junk), "-f", "md"]) == 2
    one_line_error(capsys, "junk.jsonl:1", "sockscope")
    assert main(["export", str(tmp_path), "-f", "md"]) == 2
    one_line_error(capsys, "folder")
    broken = pool_known()
    broken.lines.insert(5, "[1, 2, 3")
    assert main(["export", str(broken.write(tmp_path / "broken.jsonl")), "-f", "csv"]) == 2
    one_line_error(capsys, "broken.jsonl:6")


def test_refuses_to_overwrite_the_recording(known, capsys):
    assert main(["export", str(known), "-f", "csv", "-o", str(known)]) == 2
    one_line_error(capsys, "the recording itself")


def test_compare_side_by_side_with_ratios(tmp_path, capsys):
    a = pool_known(n=5).write(tmp_path / "a.jsonl")
    b = pool_known(n=10).write(tmp_path / "b.jsonl")
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    lines = {line.split("  ")[0].strip(): line.split() for line in out.splitlines()}
    head = out.splitlines()[0].split()
    assert head == ["A:", "pool", "(a.jsonl)", "B:", "pool", "(b.jsonl)", "B/A"]  # one model: told by file
    assert lines["connections accepted"][-3:] == ["5", "10", "2×"]
    assert lines["backlog wait p50"][-5:] == ["3", "µs", "5", "µs", "1.67×"]
    assert lines["connections never closed"][-1] == "="  # 0 and 0


def test_compare_names_the_files_only_where_the_models_do_not_tell_a_from_b(tmp_path, capsys):
    """(Review: a student's program before and after a change read 'A: myserver.py  B: myserver.py'.)"""
    (tmp_path / "one").mkdir()
    a = pool_known(n=5).write(tmp_path / "one" / "r.jsonl")
    b = pool_known(n=10).write(tmp_path / "r.jsonl")
    thread = Lines("thread").lane(0, "MainThread").end(t=MS).write(tmp_path / "t.jsonl")
    assert main(["compare", str(a), str(b)]) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["A:", "pool", f"({a})", "B:", "pool", f"({b})",
                                                               "B/A"]
    assert main(["compare", str(thread), str(b)]) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["A:", "thread", "B:", "pool", "B/A"]


@pytest.mark.parametrize(("rate", "shown"), [(0.26, "0.26"), (9.5, "9.5"), (0.0, "0"), (12.4, "12"), (5400.0, "5,400")])
def test_compare_shows_a_slow_rate_with_its_decimals(rate, shown):
    # One request in 3.8 s showed as "0" requests/s beside a B/A of 219x.
    from tracer.commands import compare

    assert compare._value(rate, "/s") == shown


def test_compare_warns_about_a_cut_off_recording(tmp_path, capsys):
    """Regression: compare read a truncated recording as if it were whole, without a word."""
    a = pool_known(n=5).write(tmp_path / "a.jsonl")
    text = a.read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text[: len(text) // 2])
    assert main(["compare", str(cut), str(a)]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "no trailer" in err


def test_compare_bad_input(tmp_path, capsys):
    a = pool_known().write(tmp_path / "a.jsonl")
    assert main(["compare", str(a), str(tmp_path / "nope.jsonl")]) == 2
    one_line_error(capsys, "nope.jsonl", "no such file")


def test_empty_recording_exports(tmp_path, capsys):
    path = Lines("thread").lane(0, "MainThread").end(t=MS).write(tmp_path / "empty.jsonl")
    for fmt in ("chrome", "csv", "svg", "md"):
        assert main(["export", str(path), "-f", fmt]) == 0


class FakeTerminal:
    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_progress_only_on_a_terminal():
    from tracer.export import Progress

    for tty in (True, False):
        term = FakeTerminal(tty)
        p = Progress("export svg", term)  # type: ignore[arg-type]
        for done in (0, 50, 100):
            p(done, 100)
        p.done()
        assert ("export svg:  50%" in term.text) is tty
        assert term.text == "" or term.text.endswith("\r")


def test_the_help_says_how_much_smaller_perfetto_is_as_the_shipped_recordings_show():
    """Regression: --help said "about 3x smaller than chrome" long after the packets were deflated."""
    import io
    import os
    import re

    from tracer import export
    from tracer.commands.export import epilog
    from tracer.recording.reader import load
    from tracer.run import shipped

    found = re.search(r"compressed: (\d+)-(\d+)x smaller than chrome", epilog())
    assert found, epilog()
    low, high = int(found[1]), int(found[2])
    ratios = []
    for item in shipped.SHIPPED:
        rec = load(os.path.join(os.path.dirname(__file__), "..", "recordings", item.file))
        text, data = io.StringIO(), io.BytesIO()
        export.write("chrome", rec, text)
        export.write("perfetto", rec, data)
        ratios.append(len(text.getvalue().encode("utf-8")) / len(data.getvalue()))
    assert low <= min(ratios) and max(ratios) <= high, sorted(ratios)
