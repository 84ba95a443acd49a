"""``sockscope record MODEL --scenario NAME -o FILE``: a server and a scenario's clients, into one recording."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, TextIO

from servers import Settings
from tracer.clients import scenarios
from tracer.commands.common import add_model_argument, add_server_options, settings_from
from tracer.errors import UsageError
from tracer.locale import _, listed
from tracer.run.headless import KNOBS, Result, raised_lines, summary

# Server options a scenario may imply; left None here so that we know which the user gave.
_KNOB_DESTS = tuple(sorted(KNOBS))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help=_("run a server and a scenario's clients; write one recording"),
                       description=_("Start a lesson server in its own process and a scenario's clients in another, "
                                     "record both sides on one clock into FILE, stop the server cleanly and "
                                     "summarise. 'sockscope scenarios' lists the scenarios and their parameters."))
    add_model_argument(p)
    p.set_defaults(model=None)
    p.add_argument("--scenario", "-s", metavar="NAME",
                   help=_("one of: {models}").format(models=listed(scenarios.SCENARIOS)))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help=_("a scenario parameter, e.g. --set clients=50 (repeatable)"))
    p.add_argument("-o", "--output", metavar="FILE",
                   help=_("the recording to write (default: MODEL-NAME.jsonl); an earlier recording there is "
                          "replaced, any other file is left alone"))
    p.add_argument("--regenerate-all", action="store_true",
                   help=_("remake every shipped recording in recordings/ (and its index in recordings/README.md)"))
    add_server_options(p)
    p.set_defaults(func=run, **{dest: None for dest in _KNOB_DESTS})
    for action in p._actions:  # 'model' is optional only for --regenerate-all
        if action.dest == "model":
            action.nargs = "?"


def settings_with_defaults(args: argparse.Namespace) -> tuple[Settings, set[str]]:
    """Settings from ``args``; and the knobs the user gave (they win over a scenario's)."""
    explicit = {dest for dest in _KNOB_DESTS if getattr(args, dest) is not None}
    defaults = Settings()
    for dest in _KNOB_DESTS:
        if getattr(args, dest) is None:
            setattr(args, dest, getattr(defaults, dest))
    return settings_from(args), explicit


def run(args: argparse.Namespace) -> int:
    if args.regenerate_all:
        if args.model or args.module or args.scenario or args.output or args.set:
            raise UsageError(_("--regenerate-all remakes the shipped recordings: give no MODEL, --scenario, -o or "
                               "--set"))
        from tracer.run.shipped import regenerate

        regenerate(on_start=lambda item: print(f"sockscope: {item.command()}", flush=True),
                   on_done=lambda item, result: print(f"  {summary(result.recording, result.outcome)}", flush=True))
        return 0
    if args.model is None and args.module is None:
        raise UsageError(_("expected a MODEL (or -m MODULE, or --regenerate-all)"))
    if not args.scenario:
        raise UsageError(_("expected --scenario NAME, one of: {names}").format(names=listed(scenarios.SCENARIOS)))
    scenario = scenarios.get(args.scenario)
    overrides = scenarios.parse_sets(args.set)
    params = scenario.resolve(overrides)  # bad parameters fail before any process starts
    cfg, explicit = settings_with_defaults(args)
    path = args.output or f"{os.path.splitext(cfg.model)[0]}-{scenario.name}.jsonl"
    from tracer.commands.record import Progress, report
    from tracer.recording.format import check_recording_path, earlier_kept_on_failure
    from tracer.run.headless import record
    from tracer.run.programs import check_output_of

    check_output_of(cfg.program, path)  # a script of the student's: not its own file as the recording
    check_recording_path(path)  # before any process starts, or anything is printed
    title = _("{model} under {scenario}").format(model=cfg.model, scenario=scenario.name)
    try:
        with earlier_kept_on_failure(path), Progress(title, total=scenario.connections(params)) as progress:
            result = record(cfg, scenario.name, overrides, path, explicit=explicit, progress=progress)
    except KeyboardInterrupt:
        return interrupted(path)
    report(result)
    return 0


def interrupted(path: str, out: TextIO | None = None) -> int:
    """Ctrl-C: say so, and where the recording made so far is and how to open it (if it holds events); 130."""
    from tracer.errors import RecordingError
    from tracer.recording.reader import load

    print(_("interrupted"), file=sys.stderr)
    out = out or sys.stdout
    try:
        rec = load(path)
    except (RecordingError, OSError):
        return 130
    if rec.n_events:
        size = os.path.getsize(path)
        print(_("sockscope: recorded {path} ({size:,.0f} KiB)").format(path=path, size=size / 1024), file=out)
        print(_("Open it with: {command}").format(command=f"sockscope replay {path}"), file=out)
    return 130


class Progress:
    """A Rich progress bar on a terminal, else a plain line now and then."""

    def __init__(self, title: str, stream: TextIO | None = None, total: int | None = None) -> None:
        self.title = title
        self.stream = stream or sys.stderr
        self.total = total
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0
        self._shown = -1

    def __enter__(self) -> Progress:
        if self.stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn(_("connections done")), TimeElapsedColumn(), console=Console(file=self.stream),
                            transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.title, total=self.total)
        else:
            print(_("sockscope: {what} ...").format(what=self.title), file=self.stream, flush=True)
        return self

    def __call__(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total or None)
            return
        now = time.monotonic()
        if done != self._shown and (done == total or now - self._last >= 1.0):
            self._last, self._shown = now, done
            print(_("sockscope: {done}/{total} connections done").format(done=done, total=total), file=self.stream,
                  flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def report(result: Result, out: TextIO | None = None) -> None:
    """Print where the recording is, its summary and how to open it."""
    out = out or sys.stdout
    if result.note:
        print(_("note: {message}").format(message=result.note), file=out)
    size = os.path.getsize(result.path)
    print(_("sockscope: recorded {path} ({size:,.0f} KiB)").format(path=result.path, size=size / 1024), file=out)
    print(summary(result.recording, result.outcome), file=out)
    for warning in result.recording.warnings:
        print(_("warning: {message}").format(message=warning), file=out)
    for line in raised_lines(result.recording.model, result.tracebacks):
        print(line, file=out)
    print(_("Open it with: {command}").format(command=f"sockscope replay {result.path}"), file=out)
