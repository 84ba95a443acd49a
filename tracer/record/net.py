"""Drop-in ``socket``, ``Thread`` and ``ThreadPoolExecutor`` for the lesson servers.

A lesson server writes ``net.socket()``, ``net.Thread(...)`` and
``net.ThreadPoolExecutor(n)`` where the lesson writes ``socket.socket()``,
``threading.Thread(...)`` and ``ThreadPoolExecutor(n)``.  With a recorder,
``net`` hands out traced subclasses that record each call as a span; without
one, plain standard-library objects (a thin socket subclass that only keeps
track of connections, so that Ctrl-C can wake the threads blocked on them).

Nothing here patches the standard library.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import itertools
import select
import selectors
import signal
import socket as _socket
import struct
import sys
import threading
import time
import weakref
from _thread import get_ident
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from tracer import addresses
from tracer.record import hotpath, unix_queue
from tracer.record.recorder import Recorder

_recv = _socket.socket.recv
_send = _socket.socket.send
_sendall = _socket.socket.sendall
_recv_into = _socket.socket.recv_into
_close = _socket.socket.close
_connect = _socket.socket.connect
_UNIX = getattr(_socket, "AF_UNIX", -1)  # absent on some Windows Pythons


def _reason(exc: OSError) -> str:
    """The close reason a failed socket call leaves behind."""
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "reset"
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since 3.10
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    return f"error: {exc.strerror or exc}"


def accept_queue_length(sock: _socket.socket) -> int:
    """The kernel's accept queue length of a listening socket (Linux).

    On a listening socket, Linux's ``TCP_INFO`` reports the queue's current
    length in ``tcpi_unacked`` and its limit in ``tcpi_sacked`` (offsets 24
    and 28 of ``struct tcp_info``).
    """
    info = sock.getsockopt(_socket.IPPROTO_TCP, _socket.TCP_INFO, 32)
    return struct.unpack_from("I", info, 24)[0]  # type: ignore[no-any-return]


def backlog_probe_available(family: int = _socket.AF_INET) -> bool:
    """Whether a listening socket of ``family`` can report its accept queue (Linux).

    TCP, IPv4 or IPv6, through ``TCP_INFO``; a Unix socket has none
    (EOPNOTSUPP), and is asked through ``sock_diag`` instead
    (:mod:`tracer.record.unix_queue`).
    """
    if family == _UNIX:
        return unix_queue.available()
    return (sys.platform.startswith("linux") and hasattr(_socket, "TCP_INFO")
            and family in (_socket.AF_INET, _socket.AF_INET6))


_stopping: weakref.WeakSet[Net] = weakref.WeakSet()

WAKE_S = 0.25  # how long a pending Ctrl-C can wait at most for the main thread blocked in accept()
BACKLOG_EVERY_NS = 1_000_000  # an empty accept queue sampled at an accept at most this often (TracedSocket.accept)


def _quiet_stop_hook(default: Callable[[Any], object]) -> Callable[[Any], None]:
    """An accept loop woken by ``Net.stop`` ends in an OSError: no traceback for that."""

    def hook(args: Any) -> None:
        if issubclass(args.exc_type, OSError) and len(_stopping):
            return
        default(args)

    hook.sockscope = True  # type: ignore[attr-defined]
    return hook


def install_quiet_stop_hook() -> None:
    if not getattr(threading.excepthook, "sockscope", False):
        threading.excepthook = _quiet_stop_hook(threading.excepthook)


class ManagedSocket(_socket.socket):
    """A plain socket that tells its ``Net`` when it listens and accepts."""

    fresh = False  # accepted, not yet handed on (see TracedSocket.__del__)

    def __init__(self, *args: Any, net: Net, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._net = net
        self.conn = 0
        self.why: str | None = None

    def __enter__(self) -> ManagedSocket:
        self.fresh = False  # ``with conn:`` closes it on every way out
        return self

    def listen(self, backlog: int = 128) -> None:
        super().listen(backlog)
        self._net.listening(self, backlog)

    def _wrap(self, fd: int) -> ManagedSocket:
        sock = type(self)(self.family, self.type, self.proto, fileno=fd, net=self._net)
        if _socket.getdefaulttimeout() is None and self.gettimeout():
            sock.setblocking(True)
        self._net.connections.add(sock)
        return sock

    def accept(self) -> tuple[ManagedSocket, Any]:
        fd, addr = self._accept_waking()
        return self._wrap(fd), addr

    def _accept_waking(self) -> tuple[int, Any]:
        """``_accept()``; in the main thread on a blocking socket, waking every ``WAKE_S`` to run a pending Ctrl-C.

        Python runs signal handlers in the main thread only, between
        bytecodes.  A Ctrl-C that the kernel hands to another thread (one we
        did not make, or in the instant before a new thread blocks it) trips
        the handler but leaves the main thread asleep in accept() for good;
        so does one that lands just before the main thread enters accept().
        Waiting in slices bounds that to ``WAKE_S``.
        """
        if (self.gettimeout() is not None or threading.current_thread() is not threading.main_thread()
                or not hasattr(select, "poll")):
            return self._accept()  # type: ignore[attr-defined, no-any-return]
        poller = select.poll()
        poller.register(self, select.POLLIN)
        while not poller.poll(WAKE_S * 1000):
            pass  # back in Python for a moment: a tripped signal handler runs here
        return self._accept()  # type: ignore[attr-defined, no-any-return]


class TracedSocket(ManagedSocket):
    """A socket whose accept, connect, recv, send and close are recorded.

    The close reason is what the socket saw: ``eof`` after a recv of 0 bytes,
    ``reset``/``timeout``/``error: ...`` after a failed call, ``shutdown`` when
    the server is stopping, else ``server``.

    recv/send/sendall, the calls a request makes, come from a hot-path mixin:
    :class:`PyTracedIO` below, or the same in C (``tracer._hotpath``), which
    costs the server a fraction as much.  ``Net`` picks one of the two
    classes built from this one, the one that feeds its recorder's queue.
    """

    def __init__(self, *args: Any, net: Net, **kwargs: Any) -> None:
        super().__init__(*args, net=net, **kwargs)
        self._rec: Recorder = net.recorder  # type: ignore[assignment]
        self._lanes = self._rec._local
        self._tap = self._rec.tap
        self._waits = net.waits
        self._recorded_close = False

    def _lane(self) -> int:
        try:
            return self._lanes.lane  # type: ignore[no-any-return]
        except AttributeError:
            return self._rec.declare_lane()

    def _failed(self, kind: str, t: int, exc: OSError, detail: str | None = None) -> None:
        if isinstance(exc, (BlockingIOError, InterruptedError)):
            return  # a non-blocking socket with nothing ready yet: the event loop retries
        rec = self._rec
        why = "shutdown" if self._net.stopping else _reason(exc)  # woken by Net.stop, not a network error
        if self.why is None or why != "timeout":
            self.why = why
        rec.emit((t - rec.t0, rec.clock() - t, kind, self._lane(), self.conn, -1, detail or why))

    def accept(self) -> tuple[ManagedSocket, Any]:
        rec = self._rec
        t = rec.clock()
        try:
            fd, addr = self._accept_waking()
        except OSError as exc:
            self._failed("accept", t, exc)
            raise
        except KeyboardInterrupt:  # Ctrl-C/SIGTERM while waiting: the wait still happened, draw it
            rec.interrupted_wait((t - rec.t0, rec.clock() - t, "accept", self._lane(), 0, -1, "shutdown"))
            raise
        t1 = rec.clock()
        sock = self._wrap(fd)
        sock.conn = self._net.new_conn_id()
        sock.fresh = True
        # a Unix socket's peer is a name, or nothing: the detail names the path too
        peer = addresses.unix_detail(sock.getsockname(), addr) if self.family == _UNIX \
            else addresses.sockaddr_text(addr)
        rec.emit((t - rec.t0, t1 - t, "accept", self._lane(), sock.conn, -1, peer))
        if t1 - self._net.backlog_sampled >= BACKLOG_EVERY_NS or rec.last_sampled("backlog"):
            # the accept queue at an accept too, not only on the writer's beat (up to 50 ms while the counters
            # hold still): a burst's queue that filled and drained between two beats read 'max 0' beside its
            # connections' backlog waits (Unix sockets, IPv6). At most once a millisecond while it was empty (a
            # Unix socket's is a netlink query, ~10 us), at every accept while it was not: else the last value
            # seen stood for the drained queue until the next beat (a demo's burst: 9 for 33 ms after the last)
            self._net.backlog_sampled = t1
            rec.sample("backlog")
        if self._net.stopping:  # a stop signal came during the call: nobody will serve this one
            sock.why = "shutdown"
            sock.close()
            raise ConnectionAbortedError(errno.ECONNABORTED, "accepted while the server stops; closed")
        return sock, addr

    def connect(self, address: Any) -> None:
        rec = self._rec
        self.conn = self._net.new_conn_id()
        t = rec.clock()
        try:
            _connect(self, address)
        except OSError as exc:
            self._failed("connect", t, exc)
            raise
        t1 = rec.clock()
        me = addresses.sockaddr_text(self.getsockname()) if self.family != _UNIX \
            else addresses.unix_detail(address, self.getsockname())  # the path, and the name the server sees
        rec.emit((t - rec.t0, t1 - t, "connect", self._lane(), self.conn, -1, me))

    def close(self) -> None:
        if not self._recorded_close and self.fileno() != -1:
            self._recorded_close = True
            rec = self._rec
            reason = self.why or ("shutdown" if self._net.stopping else "server")
            t = rec.clock()
            try:
                _close(self)
            finally:  # recorded whatever _close raised (a signal handler never raises here: interrupts.py)
                if self.conn:  # the listening socket has no connection to end
                    rec.emit((t - rec.t0, rec.clock() - t, "close", self._lane(), self.conn, -1, reason))
        else:
            _close(self)

    def __del__(self) -> None:
        """A connection dropped unserved while the server stops is closed, and the recording says so.

        That is the one a stop signal caught between ``accept()`` returning and
        the server handing the connection on (to a thread, a pool, ``with
        conn:``).  Any other dropped socket is closed silently, as Python's own
        finalizer does: the as-taught handlers' "never closed" stays visible.
        """
        if self.fresh and self._net.stopping and self.fileno() != -1:
            self.why = self.why or "shutdown"
            self.close()
        super().__del__()  # type: ignore[misc]  # (socket's finalizer: closes, warns)


class PyTracedIO:
    """recv, recv_into, send and sendall recorded as spans, in Python.

    What ``tracer._hotpath.TracedIO`` does in C, line for line; used where
    that was not built (no C compiler) or with ``SOCKSCOPE_PURE_PYTHON=1``.
    While a call waits, it is noted in ``Net.waits`` (per thread; the C one
    keeps a list of the calls in progress, ``Tap.open_calls``), so that a
    program stopped while a thread waits in recv draws that wait to the stop.
    A ``KeyboardInterrupt`` raised inside the wait (the program's Ctrl-C) is
    recorded as the span so far, marked ``shutdown``.
    """

    _rec: Recorder
    _lanes: Any
    _waits: dict[int, tuple[str, int, int, int]]
    conn: int
    why: str | None
    _failed: Callable[..., None]

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        rec = self._rec
        clock = rec.clock
        try:
            lane = self._lanes.lane
        except AttributeError:
            lane = rec.declare_lane()
        conn = self.conn
        t = clock()
        waits, me = self._waits, get_ident()
        waits[me] = ("recv", t, lane, conn)
        try:
            data = _recv(self, bufsize, flags)  # type: ignore[arg-type]
        except OSError as exc:
            self._failed("recv", t, exc)
            raise
        except KeyboardInterrupt:
            rec.interrupted_wait((t - rec.t0, clock() - t, "recv", lane, conn, -1, "shutdown"))
            raise
        finally:
            waits.pop(me, None)
        t1 = clock()
        n = len(data)
        if not n and self.why is None:
            self.why = "eof"
        rec.emit((t - rec.t0, t1 - t, "recv", lane, self.conn, n))
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        rec = self._rec
        clock = rec.clock
        try:
            lane = self._lanes.lane
        except AttributeError:
            lane = rec.declare_lane()
        conn = self.conn
        t = clock()
        waits, me = self._waits, get_ident()
        waits[me] = ("recv", t, lane, conn)
        try:
            n = _recv_into(self, buffer, nbytes, flags)  # type: ignore[arg-type]
        except OSError as exc:
            self._failed("recv", t, exc)
            raise
        except KeyboardInterrupt:
            rec.interrupted_wait((t - rec.t0, clock() - t, "recv", lane, conn, -1, "shutdown"))
            raise
        finally:
            waits.pop(me, None)
        t1 = clock()
        if not n and self.why is None and (nbytes or memoryview(buffer).nbytes):  # 0 asked for is not the end
            self.why = "eof"
        rec.emit((t - rec.t0, t1 - t, "recv", lane, self.conn, n))
        return n  # type: ignore[no-any-return]

    def send(self, data: Any, flags: int = 0) -> int:
        rec = self._rec
        clock = rec.clock
        try:
            lane = self._lanes.lane
        except AttributeError:
            lane = rec.declare_lane()
        conn = self.conn
        t = clock()
        waits, me = self._waits, get_ident()
        waits[me] = ("send", t, lane, conn)
        try:
            n = _send(self, data, flags)  # type: ignore[arg-type]
        except OSError as exc:
            self._failed("send", t, exc)
            raise
        except KeyboardInterrupt:
            rec.interrupted_wait((t - rec.t0, clock() - t, "send", lane, conn, -1, "shutdown"))
            raise
        finally:
            waits.pop(me, None)
        t1 = clock()
        rec.emit((t - rec.t0, t1 - t, "send", lane, self.conn, n))
        return n  # type: ignore[no-any-return]

    def sendall(self, data: Any, flags: int = 0) -> None:
        rec = self._rec
        clock = rec.clock
        try:
            lane = self._lanes.lane
        except AttributeError:
            lane = rec.declare_lane()
        conn = self.conn
        t = clock()
        waits, me = self._waits, get_ident()
        waits[me] = ("send", t, lane, conn)
        try:
            _sendall(self, data, flags)  # type: ignore[arg-type]
        except OSError as exc:
            self._failed("send", t, exc)
            raise
        except KeyboardInterrupt:
            rec.interrupted_wait((t - rec.t0, clock() - t, "send", lane, conn, -1, "shutdown"))
            raise
        finally:
            waits.pop(me, None)
        t1 = clock()
        rec.emit((t - rec.t0, t1 - t, "send", lane, self.conn, len(data)))


class PyTracedSocket(PyTracedIO, TracedSocket):  # type: ignore[misc]
    """A traced socket whose recv/send/sendall run in Python."""


if hotpath.native is not None:

    class CTracedSocket(hotpath.native.TracedIO, TracedSocket):  # type: ignore[misc]
        """A traced socket whose recv/send/sendall run in C (``tracer/record/_hotpath.c``)."""


def hand_stop_signals_to_main() -> None:
    """Block SIGINT and SIGTERM in the calling thread, unless it is the main one.

    Linux hands a process's signal to any thread that does not block it.  One
    that lands on a worker leaves the main thread, where Python runs signal
    handlers, asleep in ``accept()``: Ctrl-C is never acted on (seen when the
    main thread still had a SIGCONT pending).  Every thread ``Net`` makes calls
    this first.
    """
    if threading.current_thread() is not threading.main_thread() and hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def _stop_signals_blocked() -> Iterator[None]:
    """Block SIGINT/SIGTERM in the calling thread for a moment.

    A thread starts with its creator's signal mask, so a thread started inside
    this block never has a moment in which a Ctrl-C could land on it (before
    its own ``hand_stop_signals_to_main``).  A signal that comes meanwhile waits
    and is delivered when the block ends.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class ManagedThread(threading.Thread):
    """A plain Thread that leaves Ctrl-C to the main thread."""

    def start(self) -> None:
        with _stop_signals_blocked():
            super().start()

    def run(self) -> None:
        hand_stop_signals_to_main()
        super().run()


class TracedThread(ManagedThread):
    """A Thread whose lane opens with ``thread_start`` and ends with ``thread_exit``."""

    def __init__(self, *args: Any, net: Net, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._net = net
        a = kwargs.get("args") or (args[3] if len(args) > 3 else ())
        self._for_conn = next((x.conn for x in a if isinstance(x, ManagedSocket)), 0)
        _handed_on(a)

    def run(self) -> None:
        hand_stop_signals_to_main()
        rec: Recorder = self._net.recorder  # type: ignore[assignment]
        lane = rec.declare_lane()
        rec.disarm_exit_watch()
        rec.instant("thread_start", lane, self._for_conn)
        rec.sample("threads")
        try:
            super().run()
        finally:
            rec.instant("thread_exit", lane)


class Net:
    """The drop-in network and thread objects for one server process.

    Args:
        recorder: where events go, or None to run untraced.
        on_listen: called with the listening socket once it listens (the CLI
            prints the address there).
        pause_accept_ms: after ``listen``, wait this long before returning, so
            the accept loop starts late (the backlog lesson).
        first_conn_id: the first connection id handed out; client processes
            sharing one recording use disjoint ranges.
    """

    def __init__(
        self,
        recorder: Recorder | None = None,
        on_listen: Callable[[_socket.socket], None] | None = None,
        pause_accept_ms: float = 0,
        first_conn_id: int = 1,
    ) -> None:
        self.recorder = recorder
        self.on_listen = on_listen
        self.pause_accept_ms = pause_accept_ms
        self.stopping = False
        self.backlog_sampled = 0  # the clock when an accept last sampled the accept queue
        self.interrupt = "" if recorder is not None else "off"  # see tracer/record/interrupts.py
        self.listeners: list[_socket.socket] = []
        self.connections: weakref.WeakSet[_socket.socket] = weakref.WeakSet()
        self.executors: list[ThreadPoolExecutor] = []
        self.threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        self._conn_ids = itertools.count(first_conn_id)
        # the blocking calls waiting now, per thread: (kind, start on the clock, lane, conn); the Python
        # hot path's recv/send and a traced program's accept/connect/select (tracer/record/patching.py)
        self.waits: dict[int, tuple[str, int, int, int]] = {}
        self._closing: list[Callable[[], None]] = []
        # Traced recv/send in C when the recorder queues in C (tracer/record/_hotpath.c).
        self._socket_class: type[ManagedSocket] = ManagedSocket
        if recorder is not None:
            self._socket_class = PyTracedSocket if recorder.tap is None else CTracedSocket
        if recorder is not None and recorder.side == "server":
            recorder.add_probe("threads", lambda: threading.active_count() - 1)  # minus the writer

    def new_conn_id(self) -> int:
        return next(self._conn_ids)

    # ------------------------------------------------------------ drop-ins
    def socket(self, family: int = _socket.AF_INET, type: int = _socket.SOCK_STREAM, proto: int = 0) -> _socket.socket:
        """``socket.socket()``, traced when recording."""
        return self._socket_class(family, type, proto, net=self)

    def Thread(self, *args: Any, **kwargs: Any) -> threading.Thread:  # noqa: N802 - drop-in for the class
        """``threading.Thread(...)``, traced when recording."""
        if self.recorder is None:
            thread: threading.Thread = ManagedThread(*args, **kwargs)
        else:
            thread = TracedThread(*args, net=self, **kwargs)
        self.threads.add(thread)
        return thread

    def ThreadPoolExecutor(self, max_workers: int, thread_name_prefix: str = "worker") -> ThreadPoolExecutor:  # noqa: N802
        """``ThreadPoolExecutor(n)``, whose submit/start are traced when recording."""
        if self.recorder is None:
            ex: ThreadPoolExecutor = ManagedExecutor(max_workers, thread_name_prefix=thread_name_prefix,
                                                     initializer=hand_stop_signals_to_main)
        else:
            ex = TracedExecutor(self.recorder, max_workers, thread_name_prefix)
        self.executors.append(ex)
        return ex

    def DefaultSelector(self) -> selectors.BaseSelector:  # noqa: N802 - drop-in for the class
        """``selectors.DefaultSelector()``, whose waits are traced when recording."""
        sel = selectors.DefaultSelector()
        if self.recorder is None:
            return sel
        from tracer.record.multiplex import TracedSelector

        return TracedSelector(sel, self.recorder, self)

    def work(self, work_ms: float = 0, cpu_ms: float = 0, for_conn: _socket.socket | None = None) -> None:
        """The handler's own work for ``for_conn``: wait (as on a database) and/or compute."""
        if not (work_ms or cpu_ms):
            return
        rec = self.recorder
        conn = getattr(for_conn, "conn", 0)
        for ms, doing, detail in ((work_ms, time.sleep, "wait"), (cpu_ms, burn_cpu, "cpu")):
            if ms:  # one work event each, saying which: the timeline draws sleeping and computing apart
                t = rec.clock() if rec else 0
                doing(ms / 1000)
                if rec is not None:
                    rec.emit((t - rec.t0, rec.clock() - t, "work", rec.lane(), conn, -1, detail))

    # ------------------------------------------------------------ lifecycle
    def listening(self, sock: _socket.socket, backlog: int) -> None:
        self.listeners.append(sock)
        rec = self.recorder
        if rec is not None:
            rec.serving()  # (a thread whose first call was connect, a port probe, serves from here on)
            where = sock.getsockname()
            rec.instant("listen", nbytes=backlog, detail=addresses.show(where if isinstance(where, str)
                                                                          else where[:2]))
            if backlog_probe_available(sock.family):
                rec.add_probe("backlog", self._queue_probe(sock))
        if self.on_listen is not None:
            self.on_listen(sock)
        if self.pause_accept_ms:
            time.sleep(self.pause_accept_ms / 1000)

    def _queue_probe(self, sock: _socket.socket) -> Callable[[], int]:
        if sock.family != _UNIX:
            return lambda: accept_queue_length(sock)
        probe = unix_queue.UnixQueueProbe(sock)
        self._closing.append(probe.close)
        return probe

    def wake(self) -> None:
        """Wake every thread blocked on a socket: ``shutdown()`` on the listeners and connections.

        Takes no lock, so a signal handler may call it wherever the main thread
        was (:mod:`tracer.record.interrupts`).
        """
        self.stopping = True
        # Before the first shutdown: an accept loop it wakes ends in an OSError that must not print a
        # traceback (the Ctrl-C handler calls wake() before stop(): serve thread showed one on ^C).
        _stopping.add(self)
        install_quiet_stop_hook()
        for sock in self.listeners:
            _quietly_shutdown(sock)
        for sock in list(self.connections):
            if isinstance(sock, ManagedSocket) and sock.why is None:
                sock.why = "shutdown"
            _quietly_shutdown(sock)

    def stop(self, grace: float = 2.0) -> list[str]:
        """Wake every thread blocked on a socket and stop the pools.

        Returns:
            The names of threads still running after ``grace`` seconds.
        """
        self.stopping = True
        _stopping.add(self)
        install_quiet_stop_hook()
        # The pools first: a worker woken below (from accept or recv) must find
        # no queued connection to start serving while the server stops.
        for ex in self.executors:
            for queued in _drain_queue(ex):  # queued, never served: the server closes them
                if queued.fileno() != -1:
                    queued.why = "shutdown"
                    queued.close()
            if self.recorder is not None:  # shutdown() queues a wake-up marker per worker: not connections
                self.recorder.remove_probe("queue")
            ex.shutdown(wait=False, cancel_futures=True)
        self.wake()
        deadline = time.monotonic() + grace
        me = threading.current_thread()
        # Threads inherit daemon-ness from their creator, so a server started
        # from a daemon thread has daemon workers: join ours whatever they are.
        # Again until no new thread appears: a handler started by an accept that returned just
        # before the wake is not in the first list, and its close must come before the trailer.
        joined: set[threading.Thread] = set()
        while True:
            ours = set(self.threads)
            for ex in self.executors:
                ours.update(getattr(ex, "_threads", ()))  # ThreadPoolExecutor's workers (stable since 3.2)
            pending = [t for t in ours | {t for t in threading.enumerate() if not t.daemon}
                       if t not in joined and t is not me and t.name != "sockscope-writer"
                       and t.ident is not None]  # (made, never started)
            if not pending:
                break
            for t in pending:
                t.join(max(0.0, deadline - time.monotonic()))
                joined.add(t)
            if time.monotonic() >= deadline:
                break
        for sock in self.listeners:
            sock.close()
        for close in self._closing:  # the probes' own sockets: a sample from here on fails quietly
            close()
        gc.collect()  # a connection dropped unserved in a reference cycle records its close now (__del__)
        # Connections still open here were never closed by the server (the
        # lesson's as-taught handlers): they stay unclosed in the recording.
        return [t.name for t in threading.enumerate() if t.is_alive() and not t.daemon and t is not me]


class ManagedExecutor(ThreadPoolExecutor):
    """A ThreadPoolExecutor whose workers (started inside ``submit``) never see a Ctrl-C."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with _stop_signals_blocked():
            return super().submit(fn, *args, **kwargs)


class QueueDepth:
    """The jobs handed to a pool and not yet picked up by a worker: the pool queue counter's value.

    Counted at each hand-off and pick-up, not read from ``_work_queue.qsize()``: once the pool is shut down
    (``with ThreadPoolExecutor() as pool:`` ends so) its queue also holds wake-up sentinels (each worker puts the
    ``None`` back for the next, the interpreter's exit adds one a worker), and the counter read 1 or 2 to the end.
    """

    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()

    def add(self, k: int) -> None:
        with self._lock:
            self.n += k

    def hand_on(self, submit: Callable[[Callable[[], Any]], Future[Any]], job: Callable[[], Any]) -> Future[Any]:
        """``submit(job)``, counted: one more waits, until ``job`` calls :meth:`picked` or is cancelled first."""
        self.add(1)
        try:
            future = submit(job)
        except BaseException:
            self.add(-1)  # (after shutdown: nothing was handed on)
            raise
        future.add_done_callback(self._cancelled)
        return future

    def picked(self) -> None:
        """A worker took a job (its first line)."""
        self.add(-1)

    def _cancelled(self, future: Future[Any]) -> None:
        if future.cancelled():  # (shutdown(cancel_futures=True)): it never started, so never counted out
            self.add(-1)


class TracedExecutor(ManagedExecutor):
    """A ThreadPoolExecutor that records ``submit`` and ``start`` per job.

    ``submit`` carries the queue depth after the hand-off in its count field;
    ``start`` is stamped on the worker's lane when it picks the job up.
    """

    def __init__(self, rec: Recorder, max_workers: int, prefix: str) -> None:
        super().__init__(max_workers, thread_name_prefix=prefix, initializer=self._worker_starts)
        self._rec = rec
        self._depth = QueueDepth()
        rec.add_probe("queue", lambda: self._depth.n)

    def _worker_starts(self) -> None:
        hand_stop_signals_to_main()
        rec = self._rec
        rec.instant("thread_start", rec.declare_lane())
        rec.sample("threads")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        rec = self._rec
        conn = next((a.conn for a in args if isinstance(a, ManagedSocket)), 0)
        _handed_on(args)

        depth = self._depth

        def job() -> Any:
            depth.picked()
            rec.instant("start", conn=conn)
            rec.sample("queue")
            return fn(*args, **kwargs)

        t = rec.now()  # before the hand-off, so a quick worker's start never precedes it
        job.sockets = [a for a in args if isinstance(a, ManagedSocket)]  # type: ignore[attr-defined]
        future = depth.hand_on(super().submit, job)
        rec.emit((t, 0, "submit", rec.lane(), conn, self._work_queue.qsize()))
        # The queue counter at each hand-off and pick-up, not only on the writer's beat: a burst's queue that
        # filled and drained between two beats read '0 / max 0' while its connections waited in it
        rec.sample("queue")
        return future


def burn_cpu(seconds: float) -> None:
    """Compute (holding the GIL) for about ``seconds`` of this thread's CPU time.

    CPU time, not wall time: a handler that waits for the GIL has done none of
    its work yet, so with N threads computing at once each one takes about N
    times longer (the GIL lesson).  A wall-clock loop would end on time however
    little it computed, and hide exactly that.
    """
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for i in range(200):
            x += i * i


def _drain_queue(ex: ThreadPoolExecutor) -> list[ManagedSocket]:
    """Cancel the jobs still queued in ``ex``; return the sockets they held.

    Reads ThreadPoolExecutor's ``_work_queue`` (stable since Python 3.2): the
    public API can cancel queued jobs but not say what they held.
    """
    import queue

    socks: list[ManagedSocket] = []
    q = getattr(ex, "_work_queue", None)
    while q is not None:
        try:
            item = q.get_nowait()
        except queue.Empty:
            break
        if item is None:
            continue
        item.future.cancel()
        held = getattr(item.fn, "sockets", None) or [a for a in item.args if isinstance(a, ManagedSocket)]
        socks.extend(held)
    return socks


def _handed_on(args: Any) -> None:
    """The connections in ``args`` have someone to close them now (a thread, a pool's job)."""
    for a in args:
        if isinstance(a, ManagedSocket):
            a.fresh = False


def _quietly_shutdown(sock: _socket.socket) -> None:
    try:
        sock.shutdown(_socket.SHUT_RDWR)
    except OSError:
        pass  # not connected, or already closed: nothing to wake
