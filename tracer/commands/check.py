"""``sockscope check FILE``: validate a recording against the connection lifecycle."""

from __future__ import annotations

import argparse
from collections import Counter

from tracer.analysis.check import CODES, check, code_count, count_lines
from tracer.export import Progress
from tracer.locale import _, ngettext
from tracer.recording.reader import load

SHOWN = 50


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help=_("validate a recording against the connection lifecycle"),
                       description=_("Replay every connection's events through the lifecycle table and list what "
                                     "it does not allow, with line numbers: connections never closed, events after "
                                     "close, lanes ending without thread_exit, a missing trailer, dropped events."),
                       epilog=_("exit status: 0 clean, 1 findings, 2 not a recording (or unreadable)"))
    p.add_argument("file", metavar="FILE", help=_("a recording (.jsonl)"))
    p.add_argument("--all", action="store_true",
                   help=_("list every finding (default: the first {n})").format(n=SHOWN))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    progress = Progress(_("loading {file}").format(file=args.file))
    rec = load(args.file, progress=progress)
    progress.done()
    findings = check(rec, n_lines=count_lines(args.file))
    if not findings:
        n = len(rec.connections)  # a client program's too (its halves no accept matches: numbered below zero)
        events = ngettext("{n:,} event", "{n:,} events", rec.n_events).format(n=rec.n_events)
        follow = ngettext("{n:,} connection follows the lifecycle", "{n:,} connections follow the lifecycle",
                          n).format(n=n)
        print(_("{file}: clean: {events}, {connections}").format(file=args.file, events=events, connections=follow))
        return 0
    if any(f.code in ("cut-off", "no-trailer") for f in findings) and any(f.code == "never-closed" for f in findings):
        # Said first: the list is in line order, so the cut came last, after the connections it left open.
        print(_("{file}: note: the recording did not end cleanly (see its last lines below): connections still "
                "open where it ends may be open only because it stops there").format(file=args.file))
    shown = findings if args.all else findings[:SHOWN]
    for f in shown:
        print(f"{args.file}:{f.line}: {f.message}")
    if len(shown) < len(findings):
        print(_("... {n:,} more (--all lists them)").format(n=len(findings) - len(shown)))
    tally = Counter(f.code for f in findings)
    order = list(CODES)
    summary = _(", ").join(code_count(code, tally[code]) for code in sorted(tally, key=order.index))
    print(ngettext("{file}: {n:,} finding: {summary}", "{file}: {n:,} findings: {summary}", len(findings))
          .format(file=args.file, n=len(findings), summary=summary))
    return 1
