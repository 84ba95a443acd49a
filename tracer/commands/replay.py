"""``sockscope replay FILE``: the timeline of a saved recording, with playback controls."""

from __future__ import annotations

import argparse
import os
import sys

from tracer.commands.common import add_ascii_option, use_ascii
from tracer.errors import RecordingError, UsageError
from tracer.locale import _
from tracer.recording.reader import Builder


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help=_("the timeline of a saved recording, with playback controls"),
                       description=_("Open a recording in the timeline: one row per thread, playback, zoom, "
                                     "and every connection's story. Press ? in the app for the keys."))
    p.add_argument("file", metavar="FILE", help=_("a recording (JSON Lines) written by 'sockscope serve --record'"))
    p.add_argument("--follow", action="store_true",
                   help=_("keep reading the file as it grows (a recording still being written)"))
    p.add_argument("--at", type=_time, metavar="TIME",
                   help=_("open with the playhead at TIME (12ms, 3.5s; a plain number is ms)"))
    p.add_argument("--conn", type=int, metavar="N", help=_("open with connection N's event at --at selected"))
    add_ascii_option(p)
    p.set_defaults(func=run)


def _time(text: str) -> int:
    from tracer.units import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def check_file(path: str, follow: bool = False) -> None:
    """Fail before the app starts for a file that is missing or plainly not a recording.

    Raises:
        RecordingError: one line saying what is wrong.
    """
    if os.path.isdir(path):
        raise RecordingError(path, 0, _("is a folder, not a recording"))
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 20)
    except FileNotFoundError:
        raise RecordingError(path, 0, _("no such file")) from None
    except PermissionError:
        raise RecordingError(path, 0, _("permission denied")) from None
    except OSError as exc:
        raise RecordingError(path, 0, _("cannot read: {why}").format(why=exc.strerror or exc)) from None
    if not first:
        if follow:
            return  # a recording about to be written: the app waits for its header
        raise RecordingError(path, 0, _("empty file: expected a sockscope header line"))
    if follow and not first.endswith(b"\n"):
        return  # the header is still being written
    try:
        Builder(path).feed(first.decode("utf-8"))
    except UnicodeDecodeError:
        raise RecordingError(path, 1, _("expected UTF-8 text (a sockscope recording), got binary data")) from None


def run(args: argparse.Namespace) -> int:
    check_file(args.file, args.follow)
    from tracer.commands.live import not_interactive

    why = not_interactive()
    if why is not None:  # a UI nobody can see or drive would run forever
        raise UsageError(_("replay needs a terminal to show its timeline ({why}); without one, use "
                           "'sockscope check {file}' or 'sockscope export {file} --format md -o -'").format(
                               why=why, file=args.file))
    from tracer.tui.app import ReplayApp  # Textual loads only when a UI is really wanted

    use_ascii(args)
    app = ReplayApp(args.file, follow=args.follow, at=args.at, conn=args.conn)
    app.run()
    if app.error is not None:  # shown in the app; said again where the shell can see it
        print(_("error: {message}").format(message=app.error), file=sys.stderr)
        return 2
    return 0
