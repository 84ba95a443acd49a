"""``sockscope demo``: the main job in one command — a pool server, a burst of clients, the live timeline."""

from __future__ import annotations

import argparse
import signal

from servers import Settings
from tracer.clients import program, scenarios
from tracer.commands.common import add_address_options, add_ascii_option, positive_int, use_ascii, where_from
from tracer.commands.live import default_path, not_interactive, run_live
from tracer.errors import UsageError
from tracer.locale import N_, _
from tracer.recording.format import check_recording_path
from tracer.run.live_session import Session, summary_lines

HINT = N_("Watch: MainThread accepts each client, the pool queues it, a worker serves it")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help=_("a pool server, a burst of clients, the live timeline: start here"),
                       description=_("Run the pool server, fire a burst of clients at it and show the live "
                                     "timeline. When stdout is not a terminal, record headless instead and print "
                                     "a summary and the command that replays the recording."))
    p.add_argument("-o", "--output", metavar="FILE",
                   help=_("record to FILE (default: live-pool-TIME.jsonl in the current folder); an earlier "
                          "recording there is replaced, any other file is left alone"))
    p.add_argument("--clients", type=positive_int, default=20,
                   help=_("clients in the opening burst (default 20)"))
    p.add_argument("--workers", type=positive_int, default=4, help=_("the pool's size (default 4)"))
    add_ascii_option(p)
    add_address_options(p.add_argument_group(_("server")), port=False)
    p.set_defaults(func=run)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    top = next(p.maximum for p in scenarios.get("burst").params if p.name == "clients")
    if args.clients > top:
        raise UsageError(_("--clients: expected at most {top:g}, got {n}").format(top=top, n=args.clients))
    host, _port, unix = where_from(args)
    cfg = Settings(model="pool", workers=args.workers, host=host, unix=unix)
    path = args.output or default_path(cfg.model)
    check_recording_path(path)  # before the server and the UI start
    burst = ("burst", {"clients": args.clients})
    session = Session(cfg, path)
    why = not_interactive()
    if why is None:
        use_ascii(args)
        return run_live(session, hint=_(HINT), fire_at_start=burst)
    print(_("sockscope: {why}, so no live timeline: recording headless instead "
            "(a pool server and a burst of {n} clients)").format(why=why, n=args.clients), flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # on kill too, stop the server and clients (in sessions of their own)
    session.start()
    try:
        firing = session.fire(*burst)
        session.wait_clients(timeout=30)
        session.wait_accepts(args.clients, timeout=10)
    finally:
        result = session.stop()
    for line in summary_lines(path, result, program.parse_outcome(firing.piped.stdout)):
        print(line)
    return 0 if result.clean else 1
