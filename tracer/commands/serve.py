"""``sockscope serve MODEL``: run one lesson server, recording or not."""

from __future__ import annotations

import argparse
import sys

from tracer.commands.common import add_model_argument, add_server_options, settings_from
from tracer.errors import UsageError
from tracer.run.runner import run_server


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run one lesson server",
                       description="Run one lesson server until Ctrl-C. With --record, every accept, recv, send "
                                   "and close is written to a recording; without it, nothing is traced.")
    add_model_argument(p)
    add_server_options(p)
    p.add_argument("--record", metavar="FILE",
                   help="write a recording (JSON Lines) to FILE; an earlier recording there is replaced, "
                        "any other file is left alone")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.record is not None and not args.record.strip():
        raise UsageError("--record needs a file name (an empty one would run untraced without a word)")
    cfg = settings_from(args)
    outcome = run_server(cfg, args.record)
    if args.record:
        t = outcome.trailer
        print(f"sockscope: stopped; {args.record}: {t.get('events', 0)} events, {t.get('dropped', 0)} dropped. "
              f"Open it with: sockscope replay {args.record}")
    else:
        print("sockscope: stopped")
    if outcome.stuck_threads:
        print(f"warning: threads still running at exit: {', '.join(outcome.stuck_threads)}", file=sys.stderr)
    return 0
