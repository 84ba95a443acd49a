"""``sockscope check FILE``: validate a recording against the connection lifecycle."""

from __future__ import annotations

import argparse
from collections import Counter

from tracer.analysis.check import CODES, check, count_lines
from tracer.export import Progress
from tracer.recording.reader import load

SHOWN = 50


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="validate a recording against the connection lifecycle",
                       description="Replay every connection's events through the lifecycle table and list what "
                                   "it does not allow, with line numbers: connections never closed, events after "
                                   "close, lanes ending without thread_exit, a missing trailer, dropped events.",
                       epilog="exit status: 0 clean, 1 findings, 2 not a recording (or unreadable)")
    p.add_argument("file", metavar="FILE", help="a recording (.jsonl)")
    p.add_argument("--all", action="store_true", help=f"list every finding (default: the first {SHOWN})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    progress = Progress(f"loading {args.file}")
    rec = load(args.file, progress=progress)
    progress.done()
    findings = check(rec, n_lines=count_lines(args.file))
    if not findings:
        server = sum(1 for c in rec.connections.values() if c.id > 0)
        said = f"{server:,} connections follow" if server != 1 else "1 connection follows"
        print(f"{args.file}: clean: {rec.n_events:,} events, {said} the lifecycle")
        return 0
    shown = findings if args.all else findings[:SHOWN]
    for f in shown:
        print(f"{args.file}:{f.line}: {f.message}")
    if len(shown) < len(findings):
        print(f"... {len(findings) - len(shown):,} more (--all lists them)")
    tally = Counter(f.code for f in findings)
    order = list(CODES)
    summary = ", ".join(f"{tally[code]:,} {CODES[code]}" for code in sorted(tally, key=order.index))
    print(f"{args.file}: {len(findings):,} finding{'s' if len(findings) != 1 else ''}: {summary}")
    return 1
