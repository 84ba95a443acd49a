"""``sockscope run [options] SCRIPT.py [ARGS]`` / ``run -m MODULE [ARGS]``: any Python program, traced as written."""

from __future__ import annotations

import argparse
import os
import sys

from tracer.commands.common import own_line, port_value
from tracer.errors import UsageError
from tracer.locale import N_, _, ngettext
from tracer.recording.format import check_recording_path, earlier_kept_on_failure
from tracer.run.programs import ProgramSpec, check_output, check_program, exit_code, run_program

TRACED = N_("""\
what is traced, in a program that never heard of sockscope:
  every socket it makes, however it makes it (socket.socket(), create_connection, create_server,
  socketserver, http.server, asyncio's start_server/open_connection), AF_INET, AF_INET6, AF_UNIX,
  SOCK_STREAM and SOCK_DGRAM: accept, connect, recv, recv_into (makefile, socketserver's rfile),
  recvfrom, send, sendall, sendto, close (a connection's: a datagram socket's close is no event),
  each a span on its thread's lane, with bytes (a datagram's peer in its detail); threads
  (threading.Thread) as lanes named as the program names them;
  ThreadPoolExecutor's submit and start, and its queue; selectors' select() and select.select as
  'select' waits (asyncio's loop too); the kernel's accept queue, threads alive.
not traced: processes the program starts (os.fork, multiprocessing, subprocess: a note says so);
  C extensions that do their own IO (uvloop, database drivers); TLS (ssl) sockets' bytes;
  sendfile, sendmsg/recvmsg; asyncio's non-blocking tries that move no bytes; its self-pipe.
stopping: Ctrl-C (or SIGTERM) stops the program and completes the recording; a second Ctrl-C
  sends SIGTERM, a third kills it (the recording stays readable, without a trailer); threads still
  waiting (accept, recv, send, select) have their waits drawn to the end, marked 'shutdown'. If
  sockscope run is killed, the program gets SIGTERM (Linux) and completes the recording.""")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help=_("run any Python program, unmodified, traced into a recording"),
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       usage="sockscope run [-o FILE] [--host HOST] [--port N] (SCRIPT.py | -m MODULE) [ARGS ...]",
                       description=_("Run a Python program as 'python SCRIPT.py ARGS' would, with its sockets, "
                                     "threads, thread pools and selectors traced, into one recording. sockscope's "
                                     "options come before the program, the program's own arguments after it. "
                                     "A bind to every address (0.0.0.0, '', ::) is narrowed to this machine."),
                       epilog=_(TRACED))
    p.add_argument("-o", "--output", metavar="FILE",
                   help=_("the recording to write (default: SCRIPT's name .jsonl, here); an earlier recording "
                          "there is replaced, any other file is left alone"))
    p.add_argument("--host", metavar="HOST",
                   help=_("where a bind to every address goes (default: loopback, 127.0.0.1 or ::1); "
                          "--host 0.0.0.0 lets the program listen on the network as written"))
    p.add_argument("--port", type=port_value, metavar="N",
                   help=_("replace the port of the program's first bind that names one (0: a free one); "
                          "the recording says what was changed. Its own connects to the old port are not "
                          "changed"))
    p.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE [ARGS]",
                   help=_("run a module, as python -m does"))
    p.add_argument("program", nargs=argparse.REMAINDER, metavar="SCRIPT.py [ARGS]",
                   help=_("the program and its arguments"))
    p.set_defaults(func=run)


def spec_from(args: argparse.Namespace) -> ProgramSpec:
    """The program named on the command line (options first, then the program and its arguments)."""
    if args.module is not None:
        if args.program:
            raise UsageError(_("give a SCRIPT or -m MODULE, not both"))
        if not args.module:
            raise UsageError(_("-m expects a module name"))
        return ProgramSpec(module=args.module[0], args=tuple(args.module[1:]), host=args.host, port=args.port)
    if not args.program:
        raise UsageError(_("expected a program to run: SCRIPT.py [ARGS] or -m MODULE [ARGS]"))
    script, *rest = args.program
    if script.startswith("-"):
        raise UsageError(_("unknown option {option!r} (sockscope's options come before the program)").format(
            option=script))
    return ProgramSpec(script=script, args=tuple(rest), host=args.host, port=args.port)


def default_output(spec: ProgramSpec) -> str:
    stem = os.path.splitext(os.path.basename(os.path.normpath(spec.script or "")))[0] if spec.script else spec.module
    return f"{stem or 'program'}.jsonl"


def run(args: argparse.Namespace) -> int:
    spec = spec_from(args)
    check_program(spec)  # a syntax error: Python's own message, then one line (cli.py)
    path = args.output or default_output(spec)
    if not path.strip():
        raise UsageError(_("-o needs a file name"))
    check_output(spec, path)
    check_recording_path(path)
    print(_("sockscope: running {program}, recording to {path}; Ctrl-C stops it").format(program=spec.name, path=path),
          file=sys.stderr, flush=True)
    with earlier_kept_on_failure(path):  # a program that cannot start (port in use) keeps the earlier one
        ended = run_program(spec, path)
        return report(spec, path, ended)


def report(spec: ProgramSpec, path: str, ended: object) -> int:
    """Say how the program ended and where its recording is; return the exit code ``run`` ends with."""
    from tracer.run.programs import Ended
    assert isinstance(ended, Ended)
    if ended.trailer is not None and (ended.trailer.get("program") or {}).get("how") == "not started":
        _remove_quietly(path)  # it could not start (port in use, no such module): its one line said why
        return 2
    t = ended.trailer
    if ended.signals[:1] == ["SIGINT"]:  # a Ctrl-C reaches us too: not on the ^C the terminal echoed
        own_line(sys.stderr)  # (after SIGTERM nothing was echoed: no empty line)
    if t is None:
        how = _("killed by {signal}").format(signal=ended.signals[-1]) if ended.signals else (
            _("killed by signal {n}").format(n=-ended.status) if ended.status < 0
            else _("exit status {n}").format(n=ended.status))
        print(_("sockscope: {program} ended without completing the recording ({how}; os._exit or a kill); "
                "{path} is readable, without a trailer. Open it with: sockscope replay {path}").format(
                    program=spec.name, how=how, path=path), file=sys.stderr)
        return exit_code(ended.status) or 1
    program = t.get("program") or {}
    how = _("stopped") if program.get("how") == "stopped" else _("ended with exit status {n}").format(
        n=program.get("exit_status", 0))
    drawn = program.get("open_waits", 0)
    waits = ngettext(", {n} wait still open at the end drawn to it", ", {n} waits still open at the end drawn to it",
                     drawn).format(n=drawn) if drawn else ""
    events = t.get("events", 0)
    print(ngettext("sockscope: {program} {how}; {path}: {events} event, {dropped} dropped{waits}. "
                   "Open it with: sockscope replay {path}",
                   "sockscope: {program} {how}; {path}: {events} events, {dropped} dropped{waits}. "
                   "Open it with: sockscope replay {path}", events if isinstance(events, int) else 2).format(
        program=spec.name, how=how, path=path, events=events, dropped=t.get("dropped", 0), waits=waits),
        file=sys.stderr)
    return exit_code(ended.status)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass  # already gone: the one-line error is what matters
