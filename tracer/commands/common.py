"""Options shared by the commands that start a server."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import servers
from servers import Settings
from tracer import addresses
from tracer.errors import UsageError
from tracer.locale import _, listed


def timeout_value(text: str) -> float | None:
    if text.lower() in ("none", "off", "never"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected seconds or 'none', got {text!r}").format(text=text)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(_("expected seconds > 0 or 'none', got {text!r}").format(text=text))
    return value


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected a number, got {text!r}").format(text=text)) from None
    if value < 0:
        raise argparse.ArgumentTypeError(_("expected a number >= 0, got {text!r}").format(text=text))
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected a whole number, got {text!r}").format(text=text)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("expected a whole number >= 1, got {text!r}").format(text=text))
    return value


def port_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected a port number, got {text!r}").format(text=text)) from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(_("expected a port from 0 to 65535, got {text!r}").format(text=text))
    return value


def model_help() -> str:
    """MODEL's help, in the language in force (built when the parser is, never at import)."""
    return _("one of: {models}; or a Python file of your own (SCRIPT.py), traced as 'sockscope run' traces it, "
             "its own arguments after -- at the end (sockscope record SCRIPT.py --scenario burst -- ARGS)").format(
        models=_(", ").join(_("{name} ({description})").format(name=name, description=_(servers.DESCRIPTIONS[name]))
                            for name in servers.MODELS))


def add_model_argument(parser: argparse.ArgumentParser, nargs: str | None = None) -> None:
    parser.add_argument("model", metavar="MODEL", nargs=nargs, help=model_help())
    add_module_option(parser)


def add_module_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--module", metavar="MODULE",
                        help=_("a module of your own in place of MODEL (as python -m MODULE), traced as "
                               "'sockscope run'"))


def add_address_options(g: argparse._ArgumentGroup, port: bool = True) -> None:
    """--host (IPv4 or IPv6), --port and --unix: where a server listens."""
    g.add_argument("--host", help=_("address to listen on: an IPv4 or IPv6 one (127.0.0.1, ::1) or a name "
                                    "(default 127.0.0.1, this machine only)"))
    if port:
        g.add_argument("--port", type=port_value, help=_("port (default 0: a free one, printed at start)"))
    g.add_argument("--unix", metavar="PATH", help=_("listen on a Unix socket at PATH instead of a port "
                   "(at most {limit} bytes; a stale socket file there is replaced, "
                   "any other file is left alone; removed when the server stops)").format(
                       limit=addresses.unix_path_limit()))


def where_from(args: argparse.Namespace) -> tuple[str, int, str | None]:
    """``(host, port, unix)`` from --host/--port/--unix, checked; warns when listening beyond this machine."""
    host, port = args.host, getattr(args, "port", None)
    if args.unix is not None:
        if host is not None or port is not None:
            given = _(" and ").join(o for o, v in (("--host", host), ("--port", port)) if v is not None)
            raise UsageError(_("--unix listens on a path, not a port: give {given} or --unix, not both").format(
                given=given))
        addresses.check_unix_path(args.unix)
        return "127.0.0.1", 0, args.unix
    host = addresses.listen_host("127.0.0.1" if host is None else host)
    if not addresses.is_loopback(host):
        shown = f"[{host}]" if ":" in host else host or _("every address")
        print(_("warning: listening on {address}: the server is reachable from the network").format(address=shown),
              file=sys.stderr)
    return host, 0 if port is None else port, None


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The server knobs shared by serve, record and live."""
    g = parser.add_argument_group(_("server"))
    add_address_options(g)
    g.add_argument("--workers", type=positive_int, default=10, help=_("pool size for the pool model (default 10)"))
    g.add_argument("--backlog", type=positive_int, default=128, help=_("listen() backlog (default 128)"))
    g.add_argument("--timeout", type=timeout_value, default=30.0,
                   help=_("idle seconds before a connection is closed, or 'none' (default 30)"))
    g.add_argument("--as-taught", action="store_true",
                   help=_("run the lesson's code as written: one recv, one send, no close"))
    g.add_argument("--work-ms", type=non_negative, default=0, help=_("each request waits this long, as on a database"))
    g.add_argument("--cpu-ms", type=non_negative, default=0, help=_("each request computes this long (the GIL lesson)"))
    g.add_argument("--pause-accept-ms", type=non_negative, default=0,
                   help=_("start the accept loop this late (the backlog lesson)"))


def program_settings(args: argparse.Namespace) -> Settings | None:
    """Settings for a program of the student's named in place of MODEL (SCRIPT.py or -m MODULE), else None.

    Only ``--host`` (given, not the default) and ``--port`` (given) apply to it:
    they become ``sockscope run``'s options.  Its own arguments are the words
    after ``--`` (``args.program_args``, split off by ``cli.main``).
    """
    from tracer.run.programs import ProgramSpec, check_program, looks_like_program

    module = getattr(args, "module", None)
    if module is None and (args.model is None or not looks_like_program(args.model)):
        return None
    if module is not None and args.model is not None:
        raise UsageError(_("give a MODEL or -m MODULE, not both (got {model!r} and -m {module})").format(
            model=args.model, module=module))
    if getattr(args, "unix", None) is not None:
        raise UsageError(_("--unix is for the built-in servers; a program of yours binds where it binds"))
    host = args.host
    spec = ProgramSpec(script=None if module else args.model, module=module, host=host, port=args.port,
                       args=tuple(getattr(args, "program_args", None) or ()))
    check_program(spec)
    options = [*(["--host", host] if host else []), *(["--port", str(args.port)] if args.port is not None else [])]
    return Settings(model=spec.name, host=host or "127.0.0.1", port=args.port or 0,
                    program=(*options, *spec.command()))


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from parsed options; warns when listening beyond this machine."""
    program = program_settings(args)
    if program is not None:
        return program
    if getattr(args, "program_args", None) is not None:
        raise UsageError(_("the words after -- are a program's own arguments (SCRIPT.py or -m MODULE); "
                           "{model} is not a program of yours").format(model=args.model or _("no MODEL")))
    if args.model is None:
        raise UsageError(_("expected a MODEL (or -m MODULE)"))
    if args.model not in servers.MODELS:
        raise UsageError(_("unknown model {model!r}; choose one of {models}").format(
            model=args.model, models=listed(servers.MODELS)))
    if args.as_taught and args.model not in servers.AS_TAUGHT:
        raise UsageError(_("--as-taught: the lesson has no {model} server; it has {models}").format(
            model=args.model, models=listed(servers.AS_TAUGHT)))
    host, port, unix = where_from(args)
    return Settings(model=args.model, host=host, port=port, workers=args.workers, backlog=args.backlog,
                    timeout=args.timeout, as_taught=args.as_taught, work_ms=args.work_ms, cpu_ms=args.cpu_ms,
                    pause_accept_ms=args.pause_accept_ms, unix=unix)


def add_ascii_option(parser: argparse.ArgumentParser) -> None:
    """``--ascii`` on the commands that open the timeline."""
    parser.add_argument("--ascii", action="store_true",
                        help=_("draw the timeline with ASCII characters (also SOCKSCOPE_ASCII=1): for a terminal "
                               "that draws ▒ █ │ two cells wide, as some do in a Chinese locale"))


def use_ascii(args: argparse.Namespace) -> None:
    """Turn on the ASCII glyph set when ``--ascii`` or ``SOCKSCOPE_ASCII`` asks for it."""
    from tracer.timeline import palette

    palette.set_ascii(bool(getattr(args, "ascii", False)) or palette.ascii_asked())


def own_line(stream: TextIO) -> None:
    """Start what follows a Ctrl-C on a line of its own.

    The terminal echoes ``^C`` where the cursor is and no newline, so the summary printed after it ran on
    from ``^C``.  A terminal only: a pipe or a file got no ``^C``.  Call it after SIGINT only: after SIGTERM
    nothing was echoed, and the newline was an empty line before the summary.
    """
    try:
        if stream.isatty():
            stream.write("\n")
    except (OSError, ValueError):
        pass  # the terminal is gone: the summary's own print says so, or nobody is left to tell
