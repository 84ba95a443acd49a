"""``sockscope live MODEL``: a server in its own process, and the timeline following its recording."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping

from tracer.commands.common import (
    add_ascii_option,
    add_module_option,
    add_server_options,
    model_help,
    settings_from,
    use_ascii,
)
from tracer.errors import UsageError
from tracer.locale import _
from tracer.recording.format import check_recording_path
from tracer.recording.reader import check_followable
from tracer.run.live_session import POKES, Session, summary_lines
from tracer.run.processes import yield_cpu_to_server
from tracer.run.programs import check_output_of


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("live", help=_("run a server and watch its timeline live; keys fire clients at it"),
                       description=_("Start a lesson server in its own process, recording to a new file in "
                                     "the current folder (or -o FILE), and open the timeline on that recording as it "
                                     "grows. Keys fire scenario clients at the server: {keys} (shift+key: set the "
                                     "counts first). With --attach FILE, follow a recording another process "
                                     "writes (sockscope serve MODEL --record FILE).").format(
                                         keys=_(", ").join(f"{k.key} {k.scenario}" for k in POKES)))
    p.add_argument("model", metavar="MODEL", nargs="?", help=_("{model_help}; left out with --attach").format(
        model_help=model_help()))
    add_module_option(p)
    add_server_options(p)
    p.add_argument("-o", "--output", metavar="FILE",
                   help=_("record to FILE (default: live-MODEL-TIME.jsonl in the current folder); an earlier "
                          "recording there is replaced, any other file is left alone"))
    p.add_argument("--attach", metavar="FILE", help=_("follow FILE, written by another process; start no server"))
    add_ascii_option(p)
    p.set_defaults(func=run)


def default_path(model: str, folder: str = ".") -> str:
    """A new timestamped recording file in ``folder`` (made if missing): the current folder, where the student
    stands, never the shipped ``recordings/`` (the newcomer's live files ended up among the lessons' own)."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UsageError(_("cannot make the folder {folder}/ for recordings: {why}; give a file with -o FILE").format(
            folder=folder, why=exc.strerror or exc)) from None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = os.path.join(folder, f"live-{model}-{stamp}.jsonl")
    n = 2
    while os.path.exists(path):
        path = os.path.join(folder, f"live-{model}-{stamp}-{n}.jsonl")
        n += 1
    return path


def not_interactive() -> str | None:
    """Why nobody can see a UI here (stdout not a terminal, a CI job without one), or None if they can."""
    if not sys.stdout.isatty():
        return _("stdout is not a terminal")
    if not sys.stdin.isatty():  # no keys can reach the UI (and Textual would spin on the closed input)
        return _("CI is set and stdin is not a terminal") if _ci() else _("stdin is not a terminal")
    return None


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_terminal() -> None:
    why = not_interactive()
    if why is not None:
        raise UsageError(_("live needs a terminal to show its timeline ({why}); without one, use "
                           "'sockscope record MODEL --scenario NAME' (or 'sockscope demo', which records headless)")
                         .format(why=why))


def run(args: argparse.Namespace) -> int:
    if args.attach:
        if args.model is not None or args.module is not None or args.output:
            raise UsageError(_("--attach FILE follows a recording another process writes: give no MODEL and no -o"))
        use_ascii(args)
        return attach(args.attach)
    if args.model is None and args.module is None:
        raise UsageError(_("expected a MODEL to run, or --attach FILE to follow a recording"))
    cfg = settings_from(args)
    need_terminal()
    use_ascii(args)
    path = args.output or default_path(os.path.splitext(cfg.model)[0])
    check_output_of(cfg.program, path)  # a script of the student's: not its own file as the recording
    check_recording_path(path)  # before the server and the UI start
    return run_live(Session(cfg, path))


def attach(path: str) -> int:
    check_followable(path)
    need_terminal()
    from tracer.tui.live_app import run_app

    yield_cpu_to_server()  # the server is another process's: the UI takes what it leaves
    app = run_app(path, session=None)
    problems = app.session.stop().problems if app.session is not None else []  # clients we fired at it
    say([*(_("warning: {message}").format(message=p) for p in problems),
         _("sockscope: stopped following {path}. Open it with: sockscope replay {path}").format(path=path)])
    return 0


def run_live(session: Session, hint: str | None = None,
             fire_at_start: tuple[str, Mapping[str, int | float | str]] | None = None) -> int:
    """Start the server, run the UI until quit, then stop everything and say where the recording is."""
    from tracer.tui.live_app import run_app  # before the server starts: a broken install fails with nothing to stop

    session.start()
    yield_cpu_to_server()  # the server (started above) keeps its priority; the UI and later clients yield
    try:
        if fire_at_start is not None:
            session.fire(*fire_at_start)
        run_app(session.path, session=session, hint=hint)
    finally:
        result = session.stop()  # first: the terminal may be gone (SIGHUP), and printing fail
    say(summary_lines(session.path, result, session=session))
    return 0 if result.clean else 1


def say(lines: list[str]) -> None:
    """Print ``lines``; a terminal closed under us (EIO) has nobody left to tell."""
    try:
        for line in lines:
            print(line, flush=True)
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
