"""What ``record`` tells of a program's tracebacks (tracer.run.processes.Tracebacks), fed what Python prints."""

from __future__ import annotations

import subprocess
import sys

from tracer.run.processes import Tracebacks

PROGRAM = r'''
import socketserver, sys, threading

def plain():
    raise ValueError("boom")

def chained():
    try:
        {}["key"]
    except KeyError as exc:
        raise RuntimeError("while handling") from exc

for target in (plain, chained):
    t = threading.Thread(target=target, name=target.__name__)
    t.start()
    t.join()
print("an ordinary line", file=sys.stderr)
try:
    1 / 0
except ZeroDivisionError:
    socketserver.BaseServer.handle_error(None, None, ("127.0.0.1", 5555))  # as a threading server reports
raise SystemExit(3)
'''


def fed(text: str) -> Tracebacks:
    tb = Tracebacks()
    for line in text.splitlines():
        tb.feed(line)
    return tb


def test_reports_are_counted_once_each_and_the_first_kept_whole() -> None:
    err = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=30).stderr
    tb = fed(err)
    assert tb.count == 3, err  # plain, chained (one report of two tracebacks), socketserver's
    assert tb.first[0] == "Exception in thread plain:" and tb.first[1] == "Traceback (most recent call last):"
    assert tb.first[-1] == tb.last_line == "ValueError: boom"
    assert "an ordinary line" not in tb.first


def test_a_report_about_a_request_keeps_its_heading_and_nothing_is_no_report() -> None:
    err = subprocess.run([sys.executable, "-c", PROGRAM.replace("(plain, chained)", "()")], capture_output=True,
                         text=True, timeout=30).stderr
    tb = fed(err)
    assert tb.count == 1 and tb.first[0].startswith("Exception occurred during processing of request from")
    assert tb.last_line == "ZeroDivisionError: division by zero"
    quiet = fed("sockscope: x.py stopped\n127.0.0.1 - - \"GET / HTTP/1.1\" 200 -\n")
    assert quiet.count == 0 and quiet.first == [] and quiet.last_line == ""


def test_the_first_report_is_kept_bounded() -> None:
    deep = "Traceback (most recent call last):\n" + '  File "x.py", line 1, in f\n    f()\n' * 500 + \
        "RecursionError: maximum recursion depth exceeded\n"
    tb = fed(deep + deep)
    assert tb.count == 2 and len(tb.first) == Tracebacks.KEEP + 2 and tb.first[-2] == "  …"
    assert tb.first[-1] == tb.last_line == "RecursionError: maximum recursion depth exceeded"


def test_an_exception_group_is_one_report_with_its_own_line() -> None:
    """(Review: '  + Exception Group Traceback' was never matched: a handler raising a group went unreported.)"""
    prog = ("import threading\n"
            "def f():\n"
            "    raise ExceptionGroup('g', [ValueError(1), ExceptionGroup('inner', [KeyError(2)])])\n"
            "for _ in range(2):\n"
            "    t = threading.Thread(target=f)\n"
            "    t.start()\n"
            "    t.join()\n"
            "raise ValueError('after')\n")
    err = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=30).stderr
    tb = fed(err)
    assert tb.count == 3, err  # two groups and the main thread's
    assert tb.first[0].startswith("Exception in thread Thread-1")
    assert tb.last_line == "ExceptionGroup: g (2 sub-exceptions)"
    assert tb.first[-1].strip() == "+------------------------------------"
    assert "    | KeyError: 2" in "\n".join(tb.first)


def test_a_report_cut_where_its_exception_is_the_next_line_still_ends_with_it() -> None:
    """(Review: a report whose exception was line 61 showed '…' instead of it.)"""
    for frames in range(55, 66):
        text = "Traceback (most recent call last):\n" + "".join(f'  File "x.py", line {k}, in f\n' for k in
                                                             range(frames)) + "KeyError: 'k'\n"
        tb = fed(text)
        assert tb.count == 1 and tb.first[-1] == "KeyError: 'k'" == tb.last_line, frames
        assert len(tb.first) <= Tracebacks.KEEP + 2
