"""Grade one submission: run it, fire the homework's runs at it into one recording, judge the recording.

How this works
--------------
The submission (a built-in model, or a student's program once ``sockscope
run`` can trace one) is a server in its own process, started as ``record``
starts one (:class:`tracer.run.processes.ServerProcess`), with its working
folder a fresh temporary one, its stdout kept only up to
:data:`OUTPUT_LIMIT` characters and the whole grade bounded by the
homework's ``time_limit``.  The homework's runs go at it one after another,
each a client process of its own appending to the server's recording in its
own lane range (round 1, 2, ...).  If the server dies, or time runs out, the
runs not yet made are marked so and every requirement reading them fails
with that reason; the requirements on the runs that did happen are still
judged.  Then the server is stopped (SIGINT, its trailer; SIGTERM; kill),
the recording is loaded and checked, and every requirement's function reads it.

This is not a sandbox: a submission can do whatever its user may.  See
:data:`NOT_A_SANDBOX`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from servers import Settings
from tracer.analysis.check import check, count_lines
from tracer.clients import program
from tracer.errors import ServerError, TracerError
from tracer.grade.evidence import Evidence, RunWindow
from tracer.grade.homework import Homework, Requirement
from tracer.grade.requirements import TYPES, Verdict
from tracer.locale import N_, _
from tracer.recording.format import check_recording_path
from tracer.recording.reader import load
from tracer.run.headless import STARTUP_GRACE, move_trailer_last
from tracer.run.processes import Piped, ServerProcess, spawn, stop_process

OUTPUT_LIMIT = 64 * 1024  # characters of a submission's stdout kept; the rest is counted, not held
START_TIMEOUT = 10.0  # seconds a submission has to start listening

NOT_A_SANDBOX = N_("each submission ran in its own process, on 127.0.0.1, in a fresh temporary folder, with a time "
                   "limit and its output cut off; this is not a sandbox: a submission can still read and write "
                   "whatever your user can. For code you do not trust, run sockscope grade inside a container "
                   "(e.g. docker run --rm --network none -v \"$PWD\":/work python:3.12 ...) or as a separate user "
                   "who cannot read your files.")


@dataclass(frozen=True)
class Target:
    """What is graded: a built-in model with its settings, or a student's program (a file)."""

    label: str
    cfg: Settings | None = None
    program: str | None = None


@dataclass
class Item:
    """One requirement's result in a report."""

    requirement: Requirement
    verdict: Verdict

    @property
    def passed(self) -> bool:
        return self.verdict.passed


@dataclass
class Grade:
    """What grading one submission found.

    Attributes:
        status: ``graded``, or ``could not run`` (``why`` says how; exit 2).
        notes: lines a teacher should read (the server died, time ran out, output was cut).
    """

    target: Target
    homework: Homework
    path: str | None
    status: str = "graded"
    why: str | None = None
    items: list[Item] = field(default_factory=list)
    runs: list[RunWindow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def points(self) -> int:
        return sum(i.requirement.points for i in self.items if i.passed)

    @property
    def total(self) -> int:
        return sum(r.points for r in self.homework.requirements)

    @property
    def failed(self) -> list[Item]:
        return [i for i in self.items if not i.passed]

    @property
    def exit_code(self) -> int:
        """0 every required item passes, 1 one does not, 2 the submission could not be run."""
        if self.status != "graded":
            return 2
        return 1 if any(not i.passed and i.requirement.required for i in self.items) else 0


def grade(target: Target, homework: Homework, path: str, *,
          on_run: Callable[[int, RunWindow], None] | None = None) -> Grade:
    """Grade ``target`` against ``homework``, leaving the recording at ``path``.

    Never raises for what the submission does (that is in the :class:`Grade`);
    raises :class:`TracerError` only for ``path`` not being a place a recording may go.
    """
    check_recording_path(path)
    result = Grade(target, homework, path)  # as the user wrote it; the processes get it absolute (their cwd differs)
    path = os.path.abspath(path)
    cfg = target.cfg
    if cfg is None:
        problem = program_problem(target.program)
        if problem is not None:
            result.status, result.why, result.path = "could not run", problem, None
            return result
        cfg = program_settings(str(target.program))
    began = time.monotonic()
    folder = tempfile.mkdtemp(prefix="sockscope-grade-")
    try:
        _session(cfg, homework, path, folder, result, began, on_run)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        result.seconds = time.monotonic() - began
    if result.status == "graded":
        _judge(result, path)
    return result


def program_settings(path: str) -> Settings:
    """A student's program as ``sockscope run`` runs it: on 127.0.0.1, on a free port (whatever it binds)."""
    return Settings(model=os.path.basename(path), program=("--host", "127.0.0.1", "--port", "0",
                                                           os.path.abspath(path)))


def program_problem(path: str | None) -> str | None:
    """Why the file ``path`` cannot be a submission (missing, a folder, not Python), or None."""
    if path is None or not os.path.exists(path):
        return _("{path}: no such file").format(path=path)
    if os.path.isdir(path):
        return _("{path}: a folder, not a program").format(path=path)
    if not path.endswith(".py"):
        return _("{path}: not a Python program (.py)").format(path=path)
    return None


def _session(cfg: Settings, homework: Homework, path: str, folder: str, result: Grade, began: float,
             on_run: Callable[[int, RunWindow], None] | None) -> None:
    server = ServerProcess(cfg, path, cwd=folder, output_limit=OUTPUT_LIMIT)
    server.forget_failed = False  # a submission that never listened: its recording is the evidence
    result.runs = [RunWindow(r.name, r.scenario, r.params, i) for i, r in enumerate(homework.runs, 1)]
    try:
        try:
            address = server.start(timeout=START_TIMEOUT)
        except ServerError as exc:
            result.status, result.why = "could not run", _said(str(exc), server)
            return
        deadline = began + homework.time_limit
        for window, run in zip(result.runs, homework.runs, strict=True):
            if on_run is not None:
                on_run(window.round, window)
            _fire(window, program.argv(address, run.scenario, run.overrides(), path, round_no=window.round),
                  server, deadline)
            if window.status != "done":
                _skip_rest(result.runs, window)
                result.notes.append(_("{why} (run {name})").format(why=window.why, name=window.name))
                break
    finally:
        server.stop()
        if server.piped is not None:
            server.piped.close()
            if server.piped.cut:
                result.notes.append(_("its output was cut off after {kib} KiB ({n:,} more characters not kept)")
                                    .format(kib=OUTPUT_LIMIT // 1024, n=server.piped.cut))
        move_trailer_last(path)


def _fire(window: RunWindow, argv: list[str], server: ServerProcess, deadline: float) -> None:
    """One run's client process, bounded by its own deadline and the submission's time limit."""
    piped: Piped = spawn(argv)
    limit = min(time.monotonic() + float(window.params["deadline"]) + STARTUP_GRACE, deadline)
    try:
        while piped.proc.poll() is None:
            died = server.death()
            if died is not None:
                window.status, window.why = "cut short", _said(died, server)
                break
            if time.monotonic() > limit:
                over = time.monotonic() > deadline
                window.status = "cut short"
                window.why = _("the time limit for one submission ran out") if over else _("the run took too long")
                break
            time.sleep(0.02)
    finally:
        if piped.proc.poll() is None:
            stop_process(piped.proc, grace=2.0)
        piped.close()
    window.outcome = program.parse_outcome(piped.stdout)
    if window.status == "not run":
        died = server.death()
        if died is not None:
            window.status, window.why = "cut short", _said(died, server)
        elif window.outcome is None:
            window.status = "cut short"
            window.why = _("the clients failed: {errors}").format(
                errors="; ".join(piped.last_errors(2)) or _("exit status {n}").format(n=piped.proc.returncode))
        else:
            window.status = "done"


def _said(what: str, server: ServerProcess) -> str:
    """How a submission ended, in one line: the first line of ``what``, and the program's own last error line
    (``RuntimeError: forgot to bind``) rather than sockscope's notes about it."""
    head = what.splitlines()[0] if what else _("it ended")
    lines = list(server.piped.stderr) if server.piped is not None else []
    ours = ("sockscope:", "sockscope：")  # sockscope's notes, in English or Chinese (the child speaks ours)
    own = [line for line in lines if line.strip() and not line.startswith((*ours, " ", "\t", "Traceback"))]
    if (head.startswith(ours) or server.ended_without_listening) and own:
        head = _("{model} exited before it listened (exit status {n})").format(
            model=server.cfg.model, n=server.piped.proc.returncode) \
            if server.piped is not None and server.piped.proc.returncode is not None else head
    return f"{head}: {own[-1]}" if own and own[-1] not in head else head


def _skip_rest(runs: list[RunWindow], failed: RunWindow) -> None:
    for later in runs[failed.round:]:
        later.status, later.why = "not run", _("run {name} before it was cut short: {why}").format(
            name=failed.name, why=failed.why)


def _judge(result: Grade, path: str) -> None:
    try:
        rec = load(path)
        findings = check(rec, n_lines=count_lines(path))
    except (TracerError, OSError) as exc:
        result.status, result.why = "could not run", _("its recording could not be read: {why}").format(why=exc)
        return
    ev = Evidence(rec, {w.name: w for w in result.runs}, findings)
    result.items = [Item(req, TYPES[req.type].check(ev, req.params)) for req in result.homework.requirements]
