"""``sockscope compare A B``: two recordings' key statistics side by side, with ratios."""

from __future__ import annotations

import argparse
import os
import sys

from tracer.analysis.stats import Stats, compute, key_numbers
from tracer.export import Progress
from tracer.locale import _
from tracer.locale.cells import cell_len, ljust, rjust
from tracer.recording.reader import load
from tracer.units import fmt_time


def _ns(ns: float | None) -> str:
    """A statistic's time, in significant digits (``12.3 µs``)."""
    return fmt_time(ns, significant=True)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help=_("two recordings' statistics side by side"),
                       description=_("Compare two recordings (say thread-per-connection vs pool): connections, "
                                     "requests per second, threads, and the backlog/queue/service waits, with B/A."))
    p.add_argument("a", metavar="A", help=_("the first recording"))
    p.add_argument("b", metavar="B", help=_("the second recording"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stats = []
    for path in (args.a, args.b):
        progress = Progress(_("loading {file}").format(file=path))
        rec = load(path, progress=progress)
        progress.done()
        for warning in rec.warnings:  # a cut-off or unfinished recording: compare what is there, and say so
            print(_("warning: {message}").format(message=warning), file=sys.stderr)
        stats.append(compute(rec))
    rows = table_rows(stats[0], stats[1])
    title_a, title_b = _title(stats[0], "A"), _title(stats[1], "B")
    if len({(s.model, bool(s.settings.get("as_taught"))) for s in stats}) == 1:
        # one model twice (a program before and after a change): tell them by file
        names = [os.path.basename(p) for p in (args.a, args.b)]
        if names[0] == names[1]:
            names = [args.a, args.b]
        title_a, title_b = f"{title_a} ({names[0]})", f"{title_b} ({names[1]})"
    if sys.stdout.isatty():
        _rich(rows, title_a, title_b)
    else:
        print(plain(rows, title_a, title_b), end="")
    return 0


def _title(s: Stats, letter: str) -> str:
    if s.settings.get("as_taught"):
        return _("{letter}: {model} as taught").format(letter=letter, model=s.model)
    return f"{letter}: {s.model}"


def _value(v: float | None, unit: str) -> str:
    if v is None:
        return "–"
    if unit == "ns":
        return _ns(v)
    if unit == "/s":  # under 10 a second with its decimals: "0" beside a ratio of 219x read as a bug
        return f"{v:,.0f}" if v >= 10 or v == 0 else f"{v:.2g}"
    return f"{int(v):,}"


def ratio(a: float | None, b: float | None) -> str:
    """B/A as ``2.5×``; ``–`` when either is missing or A is 0."""
    if a is None or b is None or a == 0:
        return "–" if not (a == 0 and b == 0) else "="
    return f"{b / a:.3g}×"


def table_rows(a: Stats, b: Stats) -> list[tuple[str, str, str, str]]:
    """(label, A, B, B/A) for each key number."""
    rows = []
    for (label, va, unit), (_label, vb, _unit) in zip(key_numbers(a), key_numbers(b), strict=True):
        rows.append((label, _value(va, unit), _value(vb, unit), ratio(va, vb)))
    return rows


def plain(rows: list[tuple[str, str, str, str]], title_a: str, title_b: str) -> str:
    head = ("", title_a, title_b, "B/A")
    widths = [max(cell_len(r[i]) for r in [head, *rows]) for i in range(4)]  # cells: a Chinese character is two
    lines = []
    for r in [head, *rows]:
        lines.append("  ".join([ljust(r[0], widths[0])] + [rjust(r[i], widths[i]) for i in (1, 2, 3)]).rstrip())
    return "\n".join(lines) + "\n"


def _rich(rows: list[tuple[str, str, str, str]], title_a: str, title_b: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="sockscope compare")
    table.add_column("")
    for name in (title_a, title_b, "B/A"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(*r)
    Console().print(table)
