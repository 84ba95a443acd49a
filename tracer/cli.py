"""``sockscope``: the command line.  Errors become one line and an exit code here."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from tracer import __version__
from tracer.commands import COMMANDS
from tracer.errors import TracerError
from tracer.record import hotpath


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line (the usage block is in --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


RECORDING_COMMANDS = ("serve", "record", "live", "demo", "run")


class Version(argparse.Action):
    """``--version`` as one unwrapped line (argparse's own wraps it at the terminal's width)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> NoReturn:
        print(f"sockscope {__version__} ({hotpath.describe()})")
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sockscope",
        description="Record, replay and export what a socket server's threads do.",
        epilog="Run 'sockscope COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action=Version, nargs=0, help="show the version and which hot path records")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if hotpath.stale and hotpath.asked() and args.command in RECORDING_COMMANDS:
        hotpath.warn_stale()  # here too: the server process's own note is not shown by record, live or demo
    try:
        return int(args.func(args) or 0)
    except TracerError as exc:
        sys.stderr.write(getattr(exc, "shown", ""))  # a program's syntax error: Python's own message first
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head, ...
        return 0
