"""``sockscope``: the command line.  Errors become one line and an exit code here."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from tracer import __version__, locale
from tracer.commands import COMMANDS
from tracer.errors import TracerError
from tracer.locale import _
from tracer.locale.outside import Parser
from tracer.record import hotpath

RECORDING_COMMANDS = ("serve", "record", "live", "demo", "run")


class Version(argparse.Action):
    """``--version`` as one unwrapped line (argparse's own wraps it at the terminal's width)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> NoReturn:
        print(f"sockscope {__version__} ({hotpath.describe()})")
        parser.exit(0)


def _lang_option(parser: argparse.ArgumentParser) -> None:
    """``--lang`` on every parser (read before parsing, by :func:`lang_asked`; here so that argparse accepts it)."""
    parser.add_argument("--lang", choices=locale.LANGUAGES, default=argparse.SUPPRESS,
                        help=_("language: zh (简体中文) or en (default: SOCKSCOPE_LANG, else the locale, LANG)"))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, its help in the language in force (set it first: help is text made now).

    ``only``: build just that command's parser.  Each command's module imports
    what it runs (the bench imports Rich and the servers, ``run`` the program
    runner), and importing all thirteen cost ``sockscope export`` ~0.5 s before
    it read a byte; the full parser is still built for ``--help`` and for a
    word that is not a command (argparse's error lists them all).
    """
    parser = Parser(
        prog="sockscope",
        description=_("Record, replay and export what a socket server's threads do."),
        epilog=_("Run 'sockscope COMMAND --help' for a command's options."),
    )
    parser.add_argument("--version", action=Version, nargs=0, help=_("show the version and which hot path records"))
    _lang_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS if only is None else [f"tracer.commands.{only}"]:
        importlib.import_module(name).register(sub)
    for command in sub.choices.values():
        _lang_option(command)
    return parser


# Commands whose arguments after the first positional belong to another program (``run SCRIPT.py --lang x``).
PASS_THROUGH = ("run",)


def lang_asked(argv: list[str]) -> str | None:
    """The value of ``--lang`` in ``argv`` (before ``--``, and not in a traced program's own arguments)."""
    command = None
    for i, tok in enumerate(argv):
        if tok == "--":
            return None
        if tok == "--lang" and i + 1 < len(argv):
            return argv[i + 1] if argv[i + 1] in locale.LANGUAGES else None
        if tok.startswith("--lang="):
            value = tok.partition("=")[2]
            return value if value in locale.LANGUAGES else None
        if not tok.startswith("-") and (i == 0 or argv[i - 1] != "--lang"):
            if command in PASS_THROUGH:
                return None
            command = command or tok
    return None


PROGRAM_ARGS = ("record", "live", "serve")  # MODEL may be a script of yours; its own arguments come after --


def split_program_args(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """``record SCRIPT.py --scenario burst -- ARGS``: sockscope's words, and the program's own (None: no ``--``).

    Only for the commands whose MODEL may be a program; ``run`` takes the
    program's arguments right after it, ``--`` included.
    """
    command = None
    for i, tok in enumerate(argv):
        if tok == "--":
            return (argv[:i], argv[i + 1:]) if command in PROGRAM_ARGS else (argv, None)
        if command is None and not tok.startswith("-") and (i == 0 or argv[i - 1] != "--lang"):
            command = tok
            if command not in PROGRAM_ARGS:
                return argv, None
    return argv, None


def command_asked(argv: list[str]) -> str | None:
    """The command ``argv`` names (its first word that is not an option or ``--lang``'s value), if it is one."""
    for i, tok in enumerate(argv):
        if tok == "--":
            return None
        if not tok.startswith("-") and (i == 0 or argv[i - 1] != "--lang"):
            return tok if f"tracer.commands.{tok}" in COMMANDS else None
    return None


def use_language(argv: list[str]) -> str:
    """Speak what ``--lang``, ``SOCKSCOPE_LANG`` or the locale asks for; argparse too."""
    lang = locale.set_language(locale.choose(lang_asked(argv)))
    setattr(argparse, "_", locale._)  # noqa: B010 (argparse reads its module's _ and ngettext at each call)
    setattr(argparse, "ngettext", locale.ngettext)  # noqa: B010
    return lang


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    use_language(argv)
    parser = build_parser(only=command_asked(argv))
    argv, program_args = split_program_args(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse's parse_args says so from the top parser: 'see sockscope --help', not the command's
        subs = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)  # noqa: SLF001
        command = subs.choices.get(getattr(args, "command", None) or "") if subs is not None else None
        (command or parser).error(_("unrecognized arguments: %s") % " ".join(extra))
    args.program_args = program_args
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if hotpath.stale and hotpath.asked() and args.command in RECORDING_COMMANDS:
        hotpath.warn_stale()  # here too: the server process's own note is not shown by record, live or demo
    try:
        return int(args.func(args) or 0)
    except TracerError as exc:
        sys.stderr.write(getattr(exc, "shown", ""))  # a program's syntax error: Python's own message first
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(_("interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head, ...
        return 0
