"""``sockscope lesson``: the lessons listed; ``sockscope lesson N``: one, step by step, in the timeline."""

from __future__ import annotations

import argparse
import os
import sys

from tracer.errors import UsageError
from tracer.lessons import catalogue
from tracer.locale import _, listed
from tracer.run import shipped
from tracer.run.shipped import Shipped


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lesson", help=_("guided lessons: a shipped recording, step by step (start here)"),
                       description=_("Without N, list the lessons. With N, open lesson N's recording in the "
                                     "timeline with a lesson panel: n/p (or PageDown/PageUp) step, a shows the "
                                     "answer, t on the last step runs the same scenario live."))
    p.add_argument("number", metavar="N", nargs="?", type=int, help=_("the lesson to open (see the list)"))
    p.add_argument("--folder", default=None,
                   help=_("where the shipped recordings are (default: the recordings/ folder sockscope came with)"))
    p.set_defaults(func=run)


def listing() -> list[str]:
    """One line per lesson: number, title, model and scenario, what it shows."""
    lines = []
    for lesson in catalogue.LESSONS:
        item = lesson.item
        where = (" ".join([item.model, *item.options, "·", item.scenario or "sockscope run"])
                 if item is not None else _("pending"))
        lines.append(f"{lesson.number:>3}  {_(lesson.title)}  [{where}]")
        summary = _(lesson.summary)
        if lesson.pending:
            summary = _("{summary} ({pending})").format(summary=summary, pending=_(lesson.pending))
        lines.append(f"     {summary}")
    return lines


def run(args: argparse.Namespace) -> int:
    if args.number is None:
        for line in listing():
            print(line)
        print(_("Open one with: sockscope lesson N"))
        return 0
    lesson = catalogue.get(args.number)
    if lesson is None:
        numbers = listed(x.number for x in catalogue.LESSONS)
        raise UsageError(_("no lesson {number}; there are lessons {numbers} (sockscope lesson lists them)")
                         .format(number=args.number, numbers=numbers))
    if lesson.pending:
        raise UsageError(_("lesson {number} ({title}) {pending}").format(number=lesson.number, title=_(lesson.title),
                                                                       pending=_(lesson.pending)))
    from tracer.run.shipped import shipped_folder

    args.folder = args.folder or shipped_folder()
    path = os.path.join(args.folder, lesson.recording)
    if not os.path.exists(path):
        raise UsageError(_("lesson {number}'s recording {path} is missing: run sockscope from the project's folder, "
                           "give --folder, or remake it with: {command}").format(
            number=lesson.number, path=path, command=lesson.item.command() if lesson.item else "?"))
    from tracer.commands.live import not_interactive
    from tracer.commands.replay import check_file

    check_file(path)
    for k, step in enumerate(lesson.steps, 1):
        if step.recording:  # a comparison step shows another recording: it must be there too
            other = os.path.join(args.folder, step.recording)
            if not os.path.exists(other):
                item = shipped.find(other)
                raise UsageError(_("lesson {number}'s step {step} needs the recording {path}, which is missing: "
                                   "remake it with: {command}").format(
                    number=lesson.number, step=k, path=other, command=item.command() if item else "?"))
            check_file(other)
    why = not_interactive()
    if why is not None:
        raise UsageError(_("lesson needs a terminal to show its timeline ({why}); 'sockscope lesson' lists "
                           "them").format(why=why))
    from tracer.tui.lesson_app import LessonApp

    code, back, recorded = 0, False, None
    while True:  # try it yourself (t), then q in the live view: back to the lesson, on its try-it step
        app = LessonApp(lesson, args.folder, back_from_live=back, recorded=recorded)
        app.run()
        if app.error is not None:
            print(f"error: {app.error}", file=sys.stderr)
            return 2
        if not app.try_it:
            return code
        status, recorded = try_live(lesson)
        code, back = max(code, status), True


def try_live(lesson: catalogue.Lesson) -> tuple[int, str]:
    """The lesson's scenario, live, with its settings: the student changes a knob and fires again.

    Returns: the exit status, and the recording made (the lesson comes back over what was printed: it says it).
    """
    from tracer.commands.live import default_path, run_live
    from tracer.lessons.guide import try_settings
    from tracer.run.live_session import Session

    item = lesson.item
    if item is not None and not item.scenario:  # a whole program (lesson 16): run it again, traced, here
        return try_program(lesson, item)
    cfg, scenario, params = try_settings(lesson)
    print(f"sockscope: {lesson.try_command()}", flush=True)
    path = default_path(cfg.model)
    session = Session(cfg, path)
    hint = _("Lesson {number}, live (q: back to the lesson): {text}").format(number=lesson.number,
                                                                            text=_(lesson.try_text))
    return run_live(session, hint=hint, fire_at_start=(scenario, params)), path


def try_program(lesson: catalogue.Lesson, item: Shipped) -> tuple[int, str]:
    """A lesson that is one program, clients and all: ``sockscope run`` it into this folder."""
    from tracer.commands.run import default_output, run, spec_from
    from tracer.run.shipped import shipped_folder

    script = os.path.join(os.path.dirname(shipped_folder()), item.model)
    print(f"sockscope: {lesson.try_command()}", flush=True)
    args = argparse.Namespace(module=None, program=[script], output=None, host=None, port=None)
    args.output = os.path.join(".", default_output(spec_from(args)))  # where run would write it, said as a path
    return run(args), args.output
