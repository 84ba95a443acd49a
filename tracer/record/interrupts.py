"""Ctrl-C and SIGTERM without losing an event: a stop signal never raises inside traced code.

How this works
--------------
Python runs a signal handler in the main thread between two bytecodes, wherever
that thread is.  When the handler raised ``KeyboardInterrupt`` at once, it could
land between a traced call and its record: after ``TracedSocket.close`` had
closed the socket and before it emitted the ``close`` (about 1 run in 10 of
``serve single`` stopped right after its last answer held an ``accept`` more
than ``close``s, with 0 dropped), after ``accept`` got its descriptor and before
the connection existed, in the middle of a C ``sendall``.

So the handler first looks at where the main thread is (the ``frame`` it is
given, outwards past the standard library's frames, and the C hot path's
per-thread "inside a call" flag).  Outside traced code it raises, as before.
Inside (any frame of ``tracer/record/``, or a C recv/send), it does not: it
marks the server as stopping, wakes every blocked socket call (``Net.wake``:
``shutdown()`` on the listeners and connections, no lock taken, so it is safe
from inside whatever the main thread was doing), and has a bare thread ask again
every millisecond (``signal.pthread_kill``, which also wakes a main thread asleep
in ``time.sleep(60)``).  The traced call returns (or fails with the "shutdown" it
now sees) and records itself; the first time the handler then finds the main
thread outside, it raises the ``KeyboardInterrupt``.  Later signals, while the
server stops, are ignored, so the cleanup (``with conn:``, ``finally``) is never cut short either.

In an asyncio event loop (the ``asyncio`` model) the handler never raises in
a task's code (a ``KeyboardInterrupt`` a task keeps comes out again while the
tasks are cancelled and cuts the cleanup short): waiting in ``select()`` it
raises there (the selector records the wait), else the loop's next ``select()``
raises it, between two rounds of callbacks (:mod:`tracer.record.multiplex`),
and the bare thread asks again until then.  It never wakes the sockets there:
a listener shut down ends the server's main coroutine by itself, and the loop
then stops its cleanup run before the connections are closed (the main task's
``loop.stop`` callback stays queued, or the ``KeyboardInterrupt`` lands in the
cleanup run instead).

A connection accepted while the stop was pending, or dropped unserved by a
server interrupted between ``accept()`` and handing it on, is closed and
recorded as ``shutdown`` (``TracedSocket`` does that).
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
import sysconfig
import threading
import time
from types import FrameType
from typing import Protocol

from tracer.record import hotpath
from tracer.record.multiplex import TracedSelector

_HERE = os.path.dirname(os.path.abspath(__file__))  # tracer/record/: the traced classes and the recorder
_STDLIB = tuple({os.path.abspath(p) + os.sep for p in (sysconfig.get_paths()["stdlib"],
                                                        sysconfig.get_paths()["platstdlib"])})


_SELECT_CODE = TracedSelector.select.__code__


class Stoppable(Protocol):
    stopping: bool
    interrupt: str  # "" / "pending" (an event loop's next select raises it) / "raised"; "off": untraced

    def wake(self) -> None: ...


def _in_c_call() -> bool:
    native = hotpath.native
    return bool(native is not None and native.in_call())


def _in_event_loop() -> bool:
    """Whether an asyncio loop runs in this (the main) thread."""
    aio = sys.modules.get("asyncio")
    return aio is not None and aio.events._get_running_loop() is not None


def _innermost(frame: FrameType | None) -> FrameType | None:
    """The innermost frame that is not the standard library's."""
    while frame is not None and _stdlib(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def _waiting_in_select(frame: FrameType | None) -> bool:
    """Whether the thread waits in a traced selector's select() (which records the wait if interrupted).

    That is: in the standard library's selector, called from inside ``TracedSelector.select``'s ``try``.
    In ``TracedSelector.select``'s own frame (before the wait, or after it and before its record), no.
    """
    if frame is None or frame.f_code is _SELECT_CODE:
        return False
    inner = _innermost(frame)
    return inner is not None and inner.f_code is _SELECT_CODE


def _stdlib(filename: str) -> bool:
    if filename.startswith("<"):  # frozen modules (os, codecs, importlib): the standard library's
        return True
    return filename.startswith(_STDLIB) and "-packages" not in filename


def inside_traced_code(frame: FrameType | None) -> bool:
    """Whether the thread whose ``frame`` this is sits inside a traced call, before its record.

    The innermost frame that is not the standard library's decides: one of
    ``tracer/record/``'s (the traced classes, the recorder), or the C hot path,
    means yes; the lesson's code, a student's, or the runner means no.
    """
    if _in_c_call():
        return True
    inner = _innermost(frame)
    return inner is not None and inner.f_code.co_filename.startswith(_HERE)


ASK_AGAIN_S = 0.001  # how often a deferred stop asks the main thread again: its delay past the traced call
ASK_FOR_S = 60.0  # and for how long at most (a handler sleeping in work_ms stays inside its call that long)


class StopSignals:
    """The SIGINT/SIGTERM handler for ``net``'s server (see the module's docstring).

    Set ``done`` once the server is stopping for good (the runner's ``finally``
    does, with a plain assignment, which no signal handler can run before): from
    then on a signal does nothing, so the shutdown and the trailer are never cut.
    """

    def __init__(self, net: Stoppable) -> None:
        self.net = net
        self.done = False
        self.signum: int | None = None  # the first stop signal: after SIGINT a terminal echoed ^C, after SIGTERM not
        self._asking = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.done:
            return  # a second Ctrl-C while stopping: let the shutdown finish and write the trailer
        if self.signum is None:
            self.signum = signum
        net = self.net
        if net.interrupt == "raised":
            return
        if _in_event_loop() and net.interrupt != "off":
            if not _waiting_in_select(frame):
                net.interrupt = "pending"  # raised by the loop's next select(), between two rounds of callbacks:
                self._ask_from_outside(signum)  # a task's code is never cut (multiplex.TracedSelector); asked
                return  # again, for a select() entered just after its check of "pending" waits with no timeout
            # Blocked in select(): raised here, inside the selector's try, which records the wait. Never
            # net.wake() in an event loop: the listener shut down ends the main coroutine by itself, its
            # done-callback (loop.stop) stays queued, and the server's cleanup run stops before it is done.
        elif inside_traced_code(frame):
            if not net.stopping:
                net.wake()
            self._ask_from_outside(signum)
            return
        self.done = True
        net.stopping = True
        net.interrupt = "raised"
        raise KeyboardInterrupt

    def _ask_from_outside(self, signum: int) -> None:
        if not self._asking:  # the main thread is asked again from outside: a handler that asked
            self._asking = True  # itself (interrupt_main) would run again inside itself, for ever
            _thread.start_new_thread(self._ask_again, (signum,))

    def _ask_again(self, signum: int) -> None:
        """In a bare thread of its own (no lock of ``threading`` taken): the signal again, every millisecond.

        (``threading.main_thread()`` reads a global, takes no lock.)
        """
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        main = threading.main_thread().ident
        give_up = time.monotonic() + ASK_FOR_S
        while True:
            time.sleep(ASK_AGAIN_S)
            if self.done or time.monotonic() >= give_up:  # looked at after the sleep: none sent once done
                return
            if hasattr(signal, "pthread_kill") and main is not None:
                signal.pthread_kill(main, signum)  # a real signal: it also wakes a main thread asleep (sleep(60))
            else:
                _thread.interrupt_main(signal.Signals(signum))
