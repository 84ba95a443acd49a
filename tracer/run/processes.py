"""Live mode's processes: the lesson server in its own process, and the clients fired at it.

How this works
--------------
The recording is the one interface between a running server and the UI, so
the server runs in its own process (``python -m tracer serve MODEL --port 0
--record FILE``) and never competes with the UI for a GIL.  Its stdout's
"listening on http://HOST:PORT/" line tells where it listens.  Two reader
threads drain its stdout and stderr (a full pipe would block the server) and
keep the last lines of stderr, which say why when it dies.

Each firing of a scenario is one more process, appending its own client lanes
to the same file (O_APPEND), with a lane range and a connection-id range no
other process of the session uses, on the server's clock (the header's
``t0_monotonic_ns``).  It appends a mark naming what was fired.

Stopping runs in a fixed order, each wait bounded: clients first (nothing may
follow the server's trailer), then the server with SIGINT (its Ctrl-C path
stops every thread and writes the trailer), then SIGTERM, then kill.  Every
process is started in its own session, so a Ctrl-C typed in the terminal
reaches only us, and we stop them in that order.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from servers import Settings
from tracer import child
from tracer.addresses import Address
from tracer.errors import ServerError
from tracer.locale import _
from tracer.run.programs import listen_address

PROGRAM_OUTPUT_KEPT = 1 << 20  # characters of a program's stdout kept in memory (record, live)
PROGRAM_LISTEN_S = 8.0  # a program of the student's must call listen() this soon after it starts

# The line tracer.run.runner.listening_line prints, in either language: its first http://127.0.0.1:PORT/,
# http://[::1]:PORT/ or unix:PATH after a space is where the server listens.
_LISTENING = re.compile(r"^sockscope[:：].*?\s(?:http://(?P<host>\[[^\]]+\]|[^\s/\[\]]+):(?P<port>\d+)/|(?P<unix>unix:))")
# The stderr line tracer.run.traced_program writes at a program's listen(), traced or not (bench runs it untraced).
_PROGRAM_LISTENS = re.compile(r"^sockscope[:：].*\shttp://(?P<host>\[[^\]]+\]|[^\s/\[\]]+):(?P<port>\d+)/$")


def server_argv(cfg: Settings, record: str | None) -> list[str]:
    """The command line of ``sockscope serve`` for ``cfg``, recording to ``record`` (None: tracing off)."""
    if cfg.program:  # a program of the student's: sockscope run
        from tracer.run.programs import run_argv

        return run_argv(cfg.program, record)
    where = ["--unix", cfg.unix] if cfg.unix is not None else ["--host", cfg.host, "--port", str(cfg.port)]
    argv = child.module_argv(
        "tracer", "serve", cfg.model, *(["--record", record] if record else []), *where, "--workers", str(cfg.workers),
        "--backlog", str(cfg.backlog), "--timeout", "none" if cfg.timeout is None else repr(cfg.timeout),
        "--work-ms", repr(cfg.work_ms), "--cpu-ms", repr(cfg.cpu_ms),
        "--pause-accept-ms", repr(cfg.pause_accept_ms))
    if cfg.as_taught:
        argv.append("--as-taught")
    return argv


UI_NICENESS = 10


def yield_cpu_to_server(step: int = UI_NICENESS) -> None:
    """Lower the calling thread's CPU priority, and that of the threads it starts later.

    The server runs in a process of its own, so the UI never takes its GIL; but
    on a machine with fewer cores than busy processes (server, load, UI) the
    UI's parsing and redrawing would still take CPU time from it.  Niced, the UI
    gets what the server leaves.  Call it after the server process has started
    (a child inherits its parent's niceness).  On Linux ``nice()`` applies to the
    calling thread only; the UI's threads start from it afterwards.
    """
    try:
        os.nice(step)
    except OSError as exc:  # a platform or sandbox that refuses: the UI runs at normal priority
        print(_("sockscope: could not lower the UI's priority ({why})").format(why=exc.strerror or exc),
              file=sys.stderr)


def stop_process(proc: subprocess.Popen[str], grace: float = 5.0) -> int:
    """Stop ``proc``: SIGINT, then SIGTERM, then kill, each wait bounded.

    Returns:
        Its exit status (negative: the signal that ended it).
    """
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
        if proc.poll() is not None:
            break
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait(2.0)


@dataclass
class Piped:
    """A child process whose stdout and stderr are drained by two threads."""

    proc: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    stderr: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=20))
    on_stdout: Callable[[str], None] | None = None
    on_stderr: Callable[[str], None] | None = None
    limit: int | None = None  # characters of stdout kept (a stranger's program may print megabytes); None: all
    cut: int = 0  # characters of stdout not kept
    _threads: list[threading.Thread] = field(default_factory=list)
    _kept: int = 0

    def __post_init__(self) -> None:
        for stream, sink in ((self.proc.stdout, self._out), (self.proc.stderr, self._err)):
            t = threading.Thread(target=self._drain, args=(stream, sink, self.limit), name="sockscope-pipe",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def _err(self, line: str) -> None:
        self.stderr.append(line)
        if self.on_stderr is not None:
            self.on_stderr(line)

    def _out(self, line: str) -> None:
        if self.limit is None or self._kept + len(line) <= self.limit:
            self._kept += len(line)
            self.stdout.append(line)
        else:
            self.cut += len(line)
        if self.on_stdout is not None:
            self.on_stdout(line)

    @staticmethod
    def _drain(stream: object, sink: Callable[[str], None], limit: int | None = None) -> None:
        if limit is None:
            for line in stream:  # type: ignore[attr-defined]
                sink(line.rstrip("\n"))
            return
        # bounded: a line that never ends is read (and handed on) in pieces, never whole
        for line in iter(lambda: stream.readline(min(limit, 1 << 16)), ""):  # type: ignore[attr-defined]
            sink(line.rstrip("\n")[:limit])

    def join(self, timeout: float = 2.0) -> None:
        """Wait (bounded) until both pipes are read to their end."""
        for t in self._threads:
            t.join(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Once the process has ended: read its pipes to their end, then close them (no file left to the GC)."""
        self.join(timeout)
        for stream, reader in zip((self.proc.stdout, self.proc.stderr), self._threads, strict=True):
            if stream is not None and not reader.is_alive():
                stream.close()

    def last_errors(self, n: int = 3) -> list[str]:
        """The last ``n`` non-empty stderr lines."""
        return [line for line in self.stderr if line.strip()][-n:]


def spawn(argv: list[str], on_stdout: Callable[[str], None] | None = None, *, cwd: str | None = None,
          limit: int | None = None, on_stderr: Callable[[str], None] | None = None) -> Piped:
    """Start ``argv`` in its own session with piped, drained output (``limit``: characters of stdout kept)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace", start_new_session=True,
                            env=child.env(PYTHONUNBUFFERED="1"), cwd=cwd)
    return Piped(proc, on_stdout=on_stdout, on_stderr=on_stderr, limit=limit)


class Tracebacks:
    """The tracebacks a program wrote to its stderr, counted, the first kept whole (bounded).

    ``record`` and ``live`` keep a program's output out of the way of their own lines; a handler thread that
    raises (``Exception in thread ...:``, socketserver's ``Exception occurred during processing of request from
    ...``) must still reach the student, or "8 never closed by the server" has no why.  A chained report
    ("During handling of the above exception, another exception occurred") counts once, an exception group
    (``+ Exception Group Traceback``, its lines under ``|``) once.  Read from the text Python prints: a
    message's second line and a note (``add_note``) after the exception's line are not told from the program's
    next output, and are left out; a program that prints "Traceback (most recent call last):" itself is
    counted.
    """

    KEEP = 60  # lines of the first report kept (its exception's line too, after a "…" where it is cut)
    _CHAIN = ("During handling of the above exception", "The above exception was the direct cause")
    _GROUP = "+ Exception Group Traceback (most recent call last):"

    def __init__(self) -> None:
        self.count = 0
        self.first: list[str] = []
        self.last_line = ""  # the first report's exception (``ValueError: boom``)
        self._state = "out"  # out | frames (in a traceback) | group | after (its exception line seen) | chain
        self._before = ""  # the last line before a traceback: what it is about

    def feed(self, line: str) -> None:
        state = self._state
        if state == "group":
            if line and not line[0].isspace():  # the group's report ends at the first line not under it
                self._state = state = "out"
            else:
                if not self.last_line and self.count == 1:
                    inner = line.lstrip()
                    if inner.startswith("| ") and not inner[2:3].isspace():
                        self.last_line = inner[2:]  # the group itself: "ExceptionGroup: g (2 sub-exceptions)"
                self._keep(line)
                return
        if state == "after" and line.startswith(self._CHAIN):
            self._state = "chain"
        elif state in ("after", "chain") and not line.strip():
            pass
        elif line.startswith("Traceback (most recent call last):") or line.lstrip().startswith(self._GROUP):
            if state != "chain":
                self._begin()
            self._state = "group" if line.lstrip().startswith("+") else "frames"
        elif state == "frames":
            if line and not line[0].isspace():  # the exception itself ends the frames
                self._state = "after"
                if self.count == 1:
                    self.last_line = line
                    self._keep(line, last=True)
                return
        else:
            self._state = "out"
            if line.strip():
                self._before = line
            return
        self._keep(line)

    def _begin(self) -> None:
        self.count += 1
        if self.count == 1 and self._before.startswith("Exception"):
            self.first.append(self._before)

    def _keep(self, line: str, last: bool = False) -> None:
        if self.count != 1:
            return
        if len(self.first) < self.KEEP:
            self.first.append(line)
            return
        if self.first[-1] != "  …":
            self.first.append("  …")
        if last:
            self.first.append(line)


class ServerProcess:
    """One lesson server running in its own process, recording to ``path``.

    Args:
        cfg: the model and its knobs.
        path: the recording it writes (truncated at start).
    """

    def __init__(self, cfg: Settings, path: str | None, *, cwd: str | None = None,
                 output_limit: int | None = None, argv: list[str] | None = None) -> None:
        self.cfg = cfg
        self.argv = argv  # instead of server_argv(cfg, path): bench runs a program's own process, to measure its pid
        self.path = path
        self.cwd = cwd  # where it runs (grade: a fresh temporary folder)
        # a program of the student's may print for as long as it runs: keep at most a MiB of it (grade: its own)
        self.output_limit = output_limit if output_limit is not None or not cfg.program else PROGRAM_OUTPUT_KEPT
        self.address: Address | None = None
        self.piped: Piped | None = None
        self.exit_status: int | None = None
        self._listening = threading.Event()
        # what a program of the student's raised (record and live do not show its stderr); None for a built-in one
        self.tracebacks = Tracebacks() if cfg.program else None
        self.forget_failed = True  # a program that never listened leaves no recording (grade keeps it: evidence)
        self.ended_without_listening = False  # (a program that ran and ended by itself before any listen())

    def start(self, timeout: float = 15.0) -> Address:
        """Start the server; return where it listens once it does.

        Raises:
            ServerError: it exited first (port in use, recording not writable:
                its own one-line error), or did not listen within ``timeout``.
        """
        if self.cfg.program and self.path and os.path.isfile(self.path):
            os.remove(self.path)  # an earlier recording there (already checked) must not tell where the program listens
        untraced_program = bool(self.cfg.program) and not self.path  # where it listens: its stderr line
        argv = self.argv or server_argv(self.cfg, self.path)
        self.piped = spawn(argv, on_stdout=None if self.cfg.program else self._line, cwd=self.cwd,
                           limit=self.output_limit,
                           on_stderr=self._program_line if untraced_program else
                           self.tracebacks.feed if self.tracebacks is not None else None)
        if self.cfg.program:
            timeout = min(timeout, PROGRAM_LISTEN_S)
        deadline = time.monotonic() + timeout
        offset = 0
        while not self._listening.wait(0.02):
            if self.cfg.program and self.path:  # where it listens: its first listen() in the recording
                self.address, offset = listen_address(self.path, offset)
                if self.address is not None:
                    break
            if self.piped.proc.poll() is not None:
                self.piped.close()
                self.exit_status = self.piped.proc.returncode
                self._forget_recording()
                raise ServerError(self._why_not_started())
            if time.monotonic() > deadline:
                self.stop()
                self._forget_recording()
                if self.cfg.program:
                    raise ServerError(_("{model} did not listen within {seconds:g} s (no socket.listen() "
                                        "call): scenarios and live mode need a server; record a client program "
                                        "with sockscope run").format(model=self.cfg.model, seconds=timeout))
                raise ServerError(_("the {model} server did not start listening within {seconds:g} s").format(
                    model=self.cfg.model, seconds=timeout))
        assert self.address is not None
        return self.address

    def _line(self, line: str) -> None:
        m = _LISTENING.search(line)
        if m and self.address is None:
            # a path is printed as given, but may hold anything: we know it already
            self.address = self.cfg.unix if m["unix"] and self.cfg.unix else (m["host"].strip("[]"), int(m["port"]))
            self._listening.set()

    def _program_line(self, line: str) -> None:
        if self.tracebacks is not None:
            self.tracebacks.feed(line)
        m = _PROGRAM_LISTENS.match(line)
        if m and self.address is None:
            self.address = (m["host"].strip("[]"), int(m["port"]))
            self._listening.set()

    def _why_not_started(self) -> str:
        assert self.piped is not None
        errors = self.piped.last_errors(1)
        said = _("error: {message}").format(message="")
        if errors and self.cfg.program and errors[0].startswith(("sockscope: ", "sockscope：")):
            # it ran and ended by itself: its last line is run's own summary, not a reason
            self.ended_without_listening = True
            return _("{model} ended (exit status {status}) without listening (no socket.listen() call): "
                     "scenarios and live mode need a server; record a client program with sockscope run").format(
                         model=self.cfg.model, status=self.piped.proc.returncode)
        if errors:
            return errors[0].removeprefix("error: ").removeprefix(said)
        return _("the {model} server exited with status {status} before listening").format(
            model=self.cfg.model, status=self.piped.proc.returncode)

    def _forget_recording(self) -> None:
        """A program that never listened: its recording (the start-up only) would only mislead."""
        if self.cfg.program and self.path and self.forget_failed:
            try:
                os.remove(self.path)
            except OSError:
                pass  # (never made: the program did not get that far)

    @property
    def running(self) -> bool:
        return self.piped is not None and self.piped.proc.poll() is None

    def death(self) -> str | None:
        """None while it runs (or after we stopped it); else why it ended, in one or a few lines."""
        if self.piped is None or self.exit_status is not None or self.piped.proc.poll() is None:
            return None
        self.piped.join(0.5)
        code = self.piped.proc.returncode
        status = _("killed by signal {n}").format(n=-code) if code < 0 else _("exit status {n}").format(n=code)
        lines = self.piped.last_errors(3)
        said = (_("the {model} server ended by itself ({status})") if code == 0
                else _("the {model} server died ({status})")).format(model=self.cfg.model, status=status)
        return said + "".join(f"\n{x}" for x in lines)

    def stop(self, grace: float = 5.0) -> int:
        """Stop it cleanly (SIGINT, SIGTERM, kill; bounded); return its exit status."""
        if self.piped is None:
            return 0
        if self.exit_status is None:
            self.exit_status = stop_process(self.piped.proc, grace)
            self.piped.close()
        return self.exit_status
