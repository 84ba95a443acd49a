"""A program of the student's, run traced in a process of its own (``sockscope run``, a script as MODEL).

:func:`check_program` refuses what cannot run before anything starts (a
missing file, a folder without ``__main__.py``, a binary file; a syntax error
comes back as Python's own message); :func:`child_argv` is the command line of
:mod:`tracer.run.traced_program`; :func:`run_program` runs it in the
foreground, forwarding Ctrl-C (a second one becomes SIGTERM, a third a kill);
:func:`listen_address` reads where it listens from its recording.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import signal
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

from tracer import child
from tracer.errors import UsageError
from tracer.locale import _
from tracer.recording.format import is_header_line


@dataclass(frozen=True)
class ProgramSpec:
    """What to run: a script (or ``-m`` module), its arguments, and the bind it may get instead of its own."""

    script: str | None = None
    module: str | None = None
    args: tuple[str, ...] = ()
    host: str | None = None
    port: int | None = None

    @property
    def name(self) -> str:
        """The program as a user names it: ``pool_server.py``, ``http.server``."""
        return os.path.basename(self.script) if self.script else str(self.module)

    def command(self) -> list[str]:
        """How ``sockscope run`` is told to run it (after its options)."""
        return ["-m", str(self.module), *self.args] if self.module else [str(self.script), *self.args]


def looks_like_program(name: str) -> bool:
    """Whether a MODEL argument names a Python file rather than a built-in model."""
    return name.endswith((".py", ".pyw")) or os.sep in name or (os.altsep or os.sep) in name or os.path.exists(name)


class SyntaxProblem(UsageError):
    """A script that does not compile; ``shown`` is Python's own message."""

    def __init__(self, script: str, shown: str, hint: str = "") -> None:
        self.shown = shown
        super().__init__(_("{script} has a syntax error (above); nothing was run or recorded{hint}").format(
            script=script, hint=hint))


def _top_level_missing(module: str) -> bool:
    """Whether the top-level package of ``module`` is nowhere ``python -m`` would look (the working folder
    first, then this Python's path and import hooks).  Only the top level, found without importing anything:
    a submodule's parent package would run its ``__init__`` here."""
    top = module.partition(".")[0]
    if not top.isidentifier():
        return False  # (let Python say what it makes of it)
    if top in sys.builtin_module_names or top in sys.modules:
        return False
    try:
        if importlib.machinery.PathFinder.find_spec(top, [os.getcwd(), *sys.path]) is not None:
            return False
        return importlib.util.find_spec(top) is None
    except (ImportError, ValueError, OSError):
        return False


def check_program(spec: ProgramSpec) -> None:
    """Raise UsageError (one line) unless ``spec`` can be run; SyntaxProblem with Python's message."""
    if spec.module is not None:
        if not spec.module or spec.module.startswith("-"):
            raise UsageError(_("-m expects a module name, got {module!r}").format(module=spec.module))
        if _top_level_missing(spec.module):  # (before the "running ..." line; the program's process says it too)
            raise UsageError(_("no module named {module!r} (sockscope run -m MODULE)").format(
                module=spec.module.partition(".")[0]))
        return
    script = spec.script or ""
    if not os.path.exists(script):
        raise UsageError(_("no such file: {script} (expected a Python program, or -m MODULE)").format(script=script))
    if os.path.isdir(script):
        if os.path.isfile(os.path.join(script, "__main__.py")):
            return
        raise UsageError(_("{script} is a folder without a __main__.py; give a Python file (or -m MODULE)").format(
            script=script))
    try:
        with open(script, "rb") as f:
            source = f.read(4 << 20)
    except OSError as exc:
        raise UsageError(_("cannot read {script}: {why}").format(script=script, why=exc.strerror or exc)) from None
    if b"\0" in source:
        raise UsageError(_("{script} is not a Python program (a binary file)").format(script=script))
    if source.startswith(b"{") and is_header_line(source.split(b"\n", 1)[0]):  # (its header compiles as Python)
        raise UsageError(_("{script} is a recording, not a program: open it with sockscope replay {script}, or "
                           "follow it as it grows with sockscope live --attach {script}").format(script=script))
    try:
        compile(source, script, "exec", dont_inherit=True)
    except SyntaxError as exc:
        shown = "".join(traceback.format_exception_only(type(exc), exc))
        hint = "" if script.endswith((".py", ".pyw")) else _(". Is {name} a Python program?").format(
            name=os.path.basename(script))
        raise SyntaxProblem(script, shown, hint) from None
    except ValueError as exc:  # undecodable source
        raise UsageError(_("{script} is not a Python program ({why})").format(script=script, why=exc)) from None


def check_output(spec: ProgramSpec, path: str) -> None:
    """Refuse a recording ``path`` that is the program's own file (``-o myserver.py myserver.py``).

    ``check_recording_path`` already keeps a file that holds something else, but an
    empty script passed it, and the program then ran the recording's header.
    """
    if spec.script is None or not os.path.isfile(spec.script) or not os.path.exists(path):
        return
    try:
        same = os.path.samefile(path, spec.script)
    except OSError:
        return
    if same:
        raise UsageError(_("{path} is the program itself: give the recording another name").format(
            path=path))


def check_output_of(program: tuple[str, ...], path: str) -> None:
    """:func:`check_output` for a ``Settings.program`` (nothing to check for a built-in model's empty one)."""
    if program:
        check_output(spec_of(program), path)


def header(spec: ProgramSpec) -> dict[str, Any]:
    """The recording's header fields for a program (the model is its name)."""
    from tracer.record.net import backlog_probe_available
    from tracer.record.recorder import context_switches

    return {
        "model": spec.name,
        "settings": {"program": spec.command(), "host": spec.host, "port": spec.port},
        "program": {"command": spec.command(), "cwd": os.getcwd()},
        "counters": {"backlog": backlog_probe_available(), "queue": True, "threads": True,
                     "ctx_switches": context_switches() is not None},  # the same keys as a built-in server's
    }


def child_argv(spec: ProgramSpec, record: str | None) -> list[str]:
    """The command line of the traced program's process."""
    cfg = {"record": record, "script": spec.script, "module": spec.module, "args": list(spec.args),
           "host": spec.host, "port": spec.port, "header": header(spec), "parent": os.getpid()}
    return child.module_argv("tracer.run.traced_program", json.dumps(cfg))


def spec_of(program: tuple[str, ...] | list[str]) -> ProgramSpec:
    """The program of a ``Settings.program``: ``[--host H] [--port N] (SCRIPT | -m MODULE) ARGS``."""
    words = list(program)
    host: str | None = None
    port: int | None = None
    while words and words[0] in ("--host", "--port"):
        if words[0] == "--host":
            host = words[1]
        else:
            port = int(words[1])
        words = words[2:]
    if words and words[0] == "-m":
        return ProgramSpec(module=words[1], args=tuple(words[2:]), host=host, port=port)
    return ProgramSpec(script=words[0], args=tuple(words[1:]), host=host, port=port)


def run_argv(program: tuple[str, ...], record: str | None) -> list[str]:
    """``sockscope run -o RECORD PROGRAM`` (what record, live and serve start for a script of the student's)."""
    if record is None:
        return child.module_argv("tracer", "serve", *program)
    return child.module_argv("tracer", "run", "-o", record, *program)


@dataclass
class Ended:
    """How a program's run ended."""

    status: int  # its exit status (negative: killed by that signal)
    signals: list[str] = field(default_factory=list)  # what we sent it, in order
    trailer: dict[str, Any] | None = None


def run_program(spec: ProgramSpec, record: str | None) -> Ended:
    """Run the program in the foreground (its stdin, stdout and stderr are ours) until it ends.

    A Ctrl-C typed in the terminal reaches it directly; one sent to us only
    (``kill -INT``, a ``record`` session stopping us) is passed on.  A second
    becomes SIGTERM, a third SIGKILL: a program that ignores SIGINT still stops.
    """
    proc = subprocess.Popen(child_argv(spec, record), env=child.env())
    sent: list[str] = []
    interrupts = [0]

    def forward(signum: int, frame: Any) -> None:
        if signum == signal.SIGTERM:
            interrupts[0] = max(interrupts[0], 1)
        interrupts[0] += 1
        sig = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)[min(interrupts[0], 3) - 1]
        if proc.poll() is None:
            sent.append(signal.Signals(sig).name)
            proc.send_signal(sig)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Ended(status, sent, read_trailer(record) if record else None)


def read_trailer(path: str) -> dict[str, Any] | None:
    """The recording's trailer, or None if it has none (the program was killed, or left by ``os._exit``)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 8192))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.strip():
            if line.startswith('{"end": true'):
                try:
                    value = json.loads(line)
                except ValueError:
                    return None
                return value if isinstance(value, dict) else None
            return None
    return None


def listen_address(path: str, offset: int = 0) -> tuple[tuple[str, int] | None, int]:
    """The first TCP ``listen`` in the recording from ``offset`` on; and how far it was read.

    Returns:
        ((host, port) or None, the offset to read on from).
    """
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return None, offset
    end = data.rfind(b"\n") + 1
    for raw in data[:end].splitlines():
        if raw.startswith(b"[") and b'"listen"' in raw:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if len(event) == 7 and event[2] == "listen" and isinstance(event[6], str) and ":" in event[6]:
                host, _sep, port = event[6].rpartition(":")
                if port.isdigit():
                    return (host.strip("[]"), int(port)), offset + end
    return None, offset + end


def exit_code(status: int) -> int:
    """A shell's exit code for a child's status (killed by signal N: 128 + N)."""
    return 128 - status if status < 0 else status

