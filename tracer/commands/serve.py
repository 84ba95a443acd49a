"""``sockscope serve MODEL``: run one lesson server, recording or not."""

from __future__ import annotations

import argparse
import signal
import sys

from servers import Settings
from tracer.commands.common import add_model_argument, add_server_options, own_line, settings_from
from tracer.errors import UsageError
from tracer.locale import _, listed, ngettext
from tracer.run.runner import run_server


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help=_("run one lesson server"),
                       description=_("Run one lesson server until Ctrl-C. With --record, every accept, recv, send "
                                     "and close is written to a recording; without it, nothing is traced."))
    add_model_argument(p, nargs="?")
    add_server_options(p)
    p.add_argument("--record", metavar="FILE",
                   help=_("write a recording (JSON Lines) to FILE; an earlier recording there is replaced, "
                          "any other file is left alone"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.record is not None and not args.record.strip():
        raise UsageError(_("--record needs a file name (an empty one would run untraced without a word)"))
    cfg = settings_from(args)
    if cfg.program:
        return serve_program(cfg, args.record)
    if args.record:
        from tracer.recording.format import earlier_kept_on_failure

        with earlier_kept_on_failure(args.record):  # a server that cannot listen keeps the earlier recording
            outcome = run_server(cfg, args.record)  # returns when Ctrl-C (or SIGTERM) stopped the server
    else:
        outcome = run_server(cfg, args.record)
    if outcome.signum == signal.SIGINT:
        own_line(sys.stdout)  # not on the ^C the terminal echoed (after SIGTERM there is none: no empty line)
    if args.record:
        t = outcome.trailer
        events = t.get("events", 0)
        print(ngettext("sockscope: stopped; {file}: {events} event, {dropped} dropped. "
                       "Open it with: sockscope replay {file}",
                       "sockscope: stopped; {file}: {events} events, {dropped} dropped. "
                       "Open it with: sockscope replay {file}", events if isinstance(events, int) else 2).format(
            file=args.record, events=events, dropped=t.get("dropped", 0)))
    else:
        print(_("sockscope: stopped"))
    if outcome.stuck_threads:
        print(_("warning: threads still running at exit: {threads}").format(threads=listed(outcome.stuck_threads)),
              file=sys.stderr)
    return 0


def serve_program(cfg: Settings, record: str | None) -> int:
    """A program of the student's as the server: ``sockscope run`` (untraced without ``--record``)."""
    from tracer.commands.run import report
    from tracer.recording.format import check_recording_path, earlier_kept_on_failure
    from tracer.run.programs import check_output, run_program, spec_of

    spec = spec_of(cfg.program)
    if record is None:
        print(_("sockscope: running {program} (tracing off); Ctrl-C stops it").format(program=spec.name),
              file=sys.stderr, flush=True)
        return run_program(spec, None).status
    check_output(spec, record)
    check_recording_path(record)
    print(_("sockscope: running {program}, recording to {path}; Ctrl-C stops it").format(program=spec.name,
                                                                                       path=record),
          file=sys.stderr, flush=True)
    with earlier_kept_on_failure(record):  # a program that cannot start (port in use) keeps the earlier one
        return report(spec, record, run_program(spec, record))
