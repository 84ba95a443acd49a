"""The traced program's process: install tracing, run the program as ``python`` would, complete the recording.

Run by ``sockscope run`` (``python -m tracer.run.traced_program CONFIG``,
CONFIG a JSON object: record, script or module, args, host, port).

How it ends
-----------
- By itself: as Python does, the non-daemon threads are waited for
  (``threading._shutdown``, which also ends idle ThreadPoolExecutor workers);
  then waits still open on daemon threads are drawn to the end, marked
  ``shutdown``, the trailer is written, and the process exits with the
  program's status.
- Ctrl-C / SIGTERM: ``KeyboardInterrupt`` in the main thread, without its
  traceback; the recording is completed the same way and the process leaves at
  once (``os._exit``), without waking threads still blocked, so nothing of the
  program runs after the trailer.  A SIGTERM while already stopping (the
  program caught the interrupt) completes the recording right there.
- Raising: the traceback as Python prints it (without our frames), status 1.
- ``os._exit``, kill -9: no trailer; the reader takes the rest.
- ``sockscope run`` itself killed (kill -9): on Linux the kernel sends this
  process SIGTERM (``PR_SET_PDEATHSIG``), which stops it as above, so the
  program does not live on without anyone to stop it.  Elsewhere it is not
  watched (it lives on until stopped).
"""

from __future__ import annotations

import _socket
import atexit
import faulthandler
import json
import os
import runpy
import signal
import sys
import threading
import time
from typing import Any

from tracer import locale
from tracer.locale import _
from tracer.record import hotpath  # noqa: F401 - the C hot path captures the standard socket class on import
from tracer.record.patching import Program, install
from tracer.record.recorder import Recorder
from tracer.recording.format import FORMAT_NAME  # noqa: F401 - loaded before the program's path is first

STRAGGLERS_S = 0.02  # at Ctrl-C, how long threads get to record a call that has just returned
EXIT_BIND = 3  # the program could not bind its port: the parent says so in one line (the child's stderr has it)


_OURS = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # tracer/: sockscope's own frames


def hide_our_frames(exc: BaseException | None, seen: set[int] | None = None) -> None:
    """Unlink sockscope's own frames (the traced socket's connect, a pool job's wrapper) from ``exc``'s traceback
    and those it was raised from, so it reads as under plain python. The program's frames stay as they were."""
    seen = set() if seen is None else seen
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        kept = []
        tb = exc.__traceback__
        while tb is not None:
            if not tb.tb_frame.f_code.co_filename.startswith(_OURS):
                kept.append(tb)
            tb = tb.tb_next
        for a, b in zip(kept, [*kept[1:], None], strict=True):
            a.tb_next = b
        exc.__traceback__ = kept[0] if kept else None
        if exc.__cause__ is not None:
            hide_our_frames(exc.__cause__, seen)
        exc = exc.__context__


# one thread's traceback at a time: Python's hook writes a report line by line, and two handler threads that
# raise at once interleave their lines (record reads the first report whole from the program's stderr)
_REPORTING = threading.RLock()


def _one_request_error_at_a_time() -> None:
    """socketserver reports a handler's exception in four writes (``BaseServer.handle_error``): threads of a
    ThreadingTCPServer that raise at once interleaved them, mid-line too.  Under the same lock as the thread
    hook.  (Imported here, after the socket and selectors classes are replaced: it binds a selector class.)"""
    import functools
    import socketserver

    report = socketserver.BaseServer.handle_error

    @functools.wraps(report)
    def handle_error(self: Any, request: Any, client_address: Any) -> None:
        with _REPORTING:
            report(self, request, client_address)

    socketserver.BaseServer.handle_error = handle_error  # type: ignore[method-assign]


def _thread_hook(default: Any) -> Any:
    def hook(args: Any) -> None:
        hide_our_frames(args.exc_value)
        if args.exc_value is not None:
            args = threading.ExceptHookArgs((args.exc_type, args.exc_value, args.exc_value.__traceback__,
                                             args.thread))
        with _REPORTING:
            default(args)

    if getattr(default, "sockscope", False):  # the quiet-stop hook's mark, kept (net.install_quiet_stop_hook)
        hook.sockscope = True  # type: ignore[attr-defined]
    return hook


def _only_closing(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port`` and only connections closing (TIME_WAIT) hold it: a bind with
    SO_REUSEADDR gets it then (the lesson's code, run twice within a minute, sets none). Not on Windows, where
    SO_REUSEADDR lets a bind take a port in use."""
    if sys.platform == "win32":
        return False
    try:  # (the C socket: the program's socket.socket is the traced one, whose bind follows --port)
        probe = _socket.socket(_socket.AF_INET6 if ":" in host else _socket.AF_INET, _socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        probe.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Child:
    """One traced run of a program (see the module's docstring)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.stopping = False
        self.finished = False
        self.finishing = False
        self.not_started = False  # it could not start (port in use, no such module): its one line says why
        self.recorder: Recorder | None = None
        if cfg.get("record"):
            from tracer.run.runner import spare_core

            self.recorder = Recorder(cfg["record"], cfg.get("header") or {}, offload=spare_core())
        self.program: Program = install(self.recorder, host=cfg.get("host"), port=cfg.get("port"),
                                        on_note=note, on_listen=self._listening)

    def _listening(self, address: tuple[str, int]) -> None:
        host, port = address
        shown = f"[{host}]" if ":" in host else host
        # (translated: the parent reads only the URL at the line's end, tracer.run.processes._PROGRAM_LISTENS)
        note(_("sockscope: the program listens on {url}").format(url=f"http://{shown}:{port}/"))

    # ------------------------------------------------------------ signals
    def _signal(self, signum: int, frame: Any) -> None:
        if self.finishing:
            return  # the trailer is being written: let it finish
        if not self.stopping:
            self.stopping = True
            raise KeyboardInterrupt
        if signum == signal.SIGTERM:  # stopping already, and still running: stop now
            self.finish(0)
            os._exit(0)

    def install_signals(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._signal)
        if hasattr(signal, "SIGUSR1"):  # kill -USR1 PID: every thread's stack on stderr (a program that hangs)
            faulthandler.register(signal.SIGUSR1, all_threads=True)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """A child of the program's (os.fork, a multiprocessing worker) gets Python's own handlers back, as under
        plain python: a pool's worker that its pool ends with SIGTERM showed ours' KeyboardInterrupt traceback."""
        for sig, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
            try:
                if signal.getsignal(sig) == self._signal:
                    signal.signal(sig, default)
            except ValueError:  # forked from another thread than the main one: the handlers stay
                pass

    # ------------------------------------------------------------ running
    def run(self) -> int:
        """Run the program; return its exit status."""
        cfg = self.cfg
        sys.argv = [cfg.get("script") or cfg["module"], *cfg.get("args", [])]
        if cfg.get("module"):
            sys.path.insert(0, os.getcwd())
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(cfg["script"])))
        self.install_signals()
        threading.excepthook = _thread_hook(threading.excepthook)  # a thread's traceback as plain python shows it
        _one_request_error_at_a_time()
        try:
            if cfg.get("module"):
                runpy.run_module(cfg["module"], run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(cfg["script"], run_name="__main__")
        except SystemExit as exc:
            return self._exit_status(exc.code)
        except KeyboardInterrupt:
            self.stopping = True
            return 0
        except BaseException as exc:  # noqa: B036 - shown as Python shows it; the recording is still completed
            return self._raised(exc)
        return 0

    def _exit_status(self, code: Any) -> int:
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1

    def _raised(self, exc: BaseException) -> int:
        tb = exc.__traceback__
        ours = {__file__, getattr(runpy, "__file__", ""), "<frozen runpy>"}
        while tb is not None and tb.tb_frame.f_code.co_filename in ours:
            tb = tb.tb_next
        if self.program.bind_failed is not None and isinstance(exc, OSError) and not self.program.address:
            host, port = self.program.bind_failed
            if _only_closing(host, port):
                said = _("port {port} on {host} is still held by the last run's closing connections (TIME_WAIT, up "
                         "to a minute: the program sets no SO_REUSEADDR); wait, or give --port 0 for a free one")
            else:
                said = _("port {port} on {host} is already in use (the program's bind); give --port 0 for a "
                         "free one")
            note(_("error: {message}").format(message=said.format(port=port, host=host)))
            self.not_started = True
            return EXIT_BIND
        if isinstance(exc, ImportError) and self.cfg.get("module") and tb is None:
            missing = _("no module named {module!r} (sockscope run -m MODULE)").format(module=self.cfg["module"])
            note(_("error: {message}").format(message=missing))
            self.not_started = True
            return 2
        exc.__traceback__ = tb
        hide_our_frames(exc)
        sys.excepthook(type(exc), exc, exc.__traceback__)
        return 1

    def wait_for_threads(self) -> None:
        """What Python does at exit: wait for the non-daemon threads (Ctrl-C ends the wait)."""
        if self.stopping:
            return
        shutdown = getattr(threading, "_shutdown", None)
        try:
            if shutdown is not None:
                shutdown()
        except KeyboardInterrupt:
            self.stopping = True

    def finish(self, status: int) -> None:
        """Draw the open waits and write the trailer (once; never from a forked child)."""
        if self.finished or os.getpid() != self.program.pid:
            return
        self.finished = self.finishing = True
        rec = self.recorder
        if rec is None or rec.closed:
            return
        if self.stopping:  # a thread whose call just returned records it now: let it (switch interval 5 ms)
            time.sleep(STRAGGLERS_S)
        drawn = self.program.draw_open_waits() + rec.waits_drawn  # at exit, and those a Ctrl-C ended
        how = "not started" if self.not_started else "stopped" if self.stopping else "ended"
        extra: dict[str, Any] = {"program": {"how": how, "exit_status": status, "open_waits": drawn}}
        if self.program.rebound:
            extra["program"]["rebound"] = self.program.rebound
        rec.close(**extra)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int | None) -> bool:
    """Linux: have the kernel send this process SIGTERM when ``sockscope run`` (its parent) dies; False elsewhere.

    ctypes' prctl (the standard library has no prctl); a parent already gone
    by the time it is set (it died in the moment after the fork) stops us too.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):  # no libc prctl (musl without it, a sandbox): not watched
        return False
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)
    return True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cfg = json.loads(argv[0])
    die_with_parent(cfg.get("parent"))
    locale.set_language(locale.choose())  # the parent's language (SOCKSCOPE_LANG): its notes and errors
    child = Child(cfg)
    status = child.run()
    child.wait_for_threads()
    child.finish(status)
    if os.getpid() != child.program.pid:
        return status  # a forked child of the program ends as it would
    if child.stopping or any(t.is_alive() and not t.daemon for t in threading.enumerate()
                             if t is not threading.main_thread()):
        try:
            atexit._run_exitfuncs()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass  # a closed pipe: nobody left to read it
            os._exit(status)
    return status


if __name__ == "__main__":
    sys.exit(main())
