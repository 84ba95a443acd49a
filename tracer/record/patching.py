"""Tracing a program as written: traced classes take the place of the standard library's.

How this works
--------------
``install(recorder)`` runs in the traced program's own process, before the
program does (``sockscope run``; :mod:`tracer.run.traced_program`).  Like
gevent's ``monkey.patch_socket`` and pytest-socket's ``disable_socket``, it
sets module attributes: ``socket.socket``, ``threading.Thread``,
``concurrent.futures.ThreadPoolExecutor`` (and ``.thread.``), ``selectors``'
selector classes and ``DefaultSelector``, ``select.select``.  The standard
library looks these up when it calls them, so what the program builds on them
is traced too: ``socket.socket.accept()`` makes the accepted socket with the
module's ``socket(...)``, and ``create_connection``, ``create_server``,
``socketpair``, ``fromfd``, ``socketserver``, ``http.server`` and asyncio's
``start_server``/``open_connection`` all go through it.

The traced socket is :mod:`tracer.record.net`'s (the C hot path's recv,
recv_into, send and sendall; ``tracer/record/_hotpath.c``), given the standard
constructor; ``recvfrom(_into)`` and ``sendto`` are added here in Python,
a datagram's peer in the event's detail.  Internal plumbing is left out:
asyncio's self-pipe (a ``socketpair`` it makes per loop), a selector wait with
no socket of the program's registered, the recorder's own writer thread (also
hidden from ``threading.active_count()``).

A thread gets its lane at its first event (its ``thread_start`` is noted and
written then), so that a thread whose first call is ``connect`` is a client
lane.  Blocking calls note the wait while inside it (accept, connect, select,
recvfrom, and the Python hot path's recv/send in ``Net.waits``; the C hot
path's recv/send in its list of calls in progress, ``Tap.open_calls``):
:meth:`Program.draw_open_waits` ends the ones still open when the program
stops, marked ``shutdown``.  A Ctrl-C raised inside the wait itself (the main
thread's) ends it there, marked the same way.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.thread
import errno
import os
import select
import selectors
import signal
import socket
import stat
import sys
import threading
import types
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from tracer import addresses
from tracer.locale import _
from tracer.record import net
from tracer.record.recorder import Recorder

_SOCKET = socket.socket  # the standard library's, kept before anything is replaced
_THREAD = threading.Thread
_EXECUTOR = concurrent.futures.thread.ThreadPoolExecutor
_SELECT = select.select
_SELECTOR_NAMES = ("SelectSelector", "PollSelector", "EpollSelector", "DevpollSelector", "KqueueSelector")
_recvfrom = _SOCKET.recvfrom
_recvfrom_into = _SOCKET.recvfrom_into
_sendto = _SOCKET.sendto

WILDCARDS = {"", "0.0.0.0", "::", "0:0:0:0:0:0:0:0"}
LOOPBACK = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}

_active: Program | None = None


def peer_text(addr: Any) -> str:
    """``ip:port``, ``[v6]:port``, or a Unix path, as every detail names an address (:mod:`tracer.addresses`)."""
    return addresses.sockaddr_text(addr)


class Program:
    """The traced program's state: its recorder, what it listens on, the waits still open.

    Args:
        recorder: where events go; None traces nothing (only binds are narrowed).
        host: where a bind to every address (``0.0.0.0``, ``''``, ``::``) goes:
            None for loopback; a wildcard itself to allow the network.
        port: the port that replaces the first bind's that names one (0: a free one), or None.
        on_note: told, in one line, what was changed (a narrowed bind, a fork).
        on_listen: called with the first listening socket's (host, port).
    """

    def __init__(self, recorder: Recorder | None, host: str | None = None, port: int | None = None,
                 on_note: Callable[[str], None] = lambda text: None,
                 on_listen: Callable[[tuple[str, int]], None] | None = None) -> None:
        self.recorder = recorder
        self.host = host
        self.port = port
        self.on_note = on_note
        self.on_listen = on_listen
        self.net = net.Net(recorder, on_listen=self._listening)
        self.address: tuple[str, int] | None = None
        self.rebound: list[dict[str, str]] = []
        self.bind_failed: tuple[str, int] | None = None
        self.waits = self.net.waits  # the Python hot path's recv/send note theirs here too
        self.internal_fds: set[int] = set()
        self.hidden: set[threading.Thread] = set()
        self.pid = os.getpid()
        self._noted: set[str] = set()
        self._port_used = False
        # A connection's sockets by what they name (device, inode): socket.fromfd and sock.dup() make a second
        # socket object on the same connection, which takes its number and side; the last one closed closes it
        self._shared: dict[tuple[int, int], list[Any]] = {}  # -> [conn, client, sockets open]
        self._shared_lock = threading.Lock()

    # ------------------------------------------------------------ sockets sharing a connection
    @staticmethod
    def _names(sock: _SOCKET) -> tuple[int, int] | None:
        try:
            st = os.fstat(sock.fileno())
        except (OSError, ValueError):  # (Windows: a socket is no file there; fromfd's dup is not followed)
            return None
        return st.st_dev, st.st_ino

    def connection_made(self, sock: Any) -> None:
        """``sock`` got its connection (accepted, connected): other sockets on it will share it."""
        key = self._names(sock)
        if key is not None:
            with self._shared_lock:
                self._shared[key] = [sock.conn, sock.client, 1]

    def adopt(self, sock: Any) -> None:
        """A socket made on an existing descriptor (fromfd, dup): the connection it is on, if one of ours."""
        key = self._names(sock)
        if key is None:
            return
        with self._shared_lock:
            entry = self._shared.get(key)
            if entry is not None:
                sock.conn, sock.client = entry[0], entry[1]
                entry[2] += 1
        if sock.client and self.recorder is not None:
            client_end(sock, self.recorder)  # a twin of a connect()ed socket: on the client lane too

    def released(self, sock: Any) -> bool:
        """``sock`` is being closed: True if another socket still holds its connection (no close event yet)."""
        key = self._names(sock)
        if key is None:
            return False
        with self._shared_lock:
            entry = self._shared.get(key)
            if entry is None or entry[0] != sock.conn:
                return False
            entry[2] -= 1
            if entry[2] > 0:
                return True
            del self._shared[key]  # (an inode is used again once its socket is closed)
            return False

    # ------------------------------------------------------------ binds
    def bind_address(self, sock: _SOCKET, address: Any) -> Any:
        """Where a bind to ``address`` goes: loopback for a wildcard, ``--port``'s port for the first."""
        if sock.family not in LOOPBACK or not isinstance(address, tuple) or len(address) < 2:
            return address
        host, port = address[0], address[1]
        new_host = host
        if host in WILDCARDS and self.host not in WILDCARDS:
            new_host = self.host if self.host and _family_of(self.host) == sock.family else LOOPBACK[sock.family]
            if self.host and new_host != self.host:  # --host ::1 for an AF_INET socket: it cannot bind there
                self.note_once("host-family", _(
                    "sockscope: note: --host {host} cannot apply to the program's {family} socket; it binds "
                    "{bound} instead").format(host=self.host, bound=new_host,
                                              family="IPv6" if sock.family == socket.AF_INET6 else "IPv4"))
        new_port = port
        if self.port is not None and port and not self._port_used:
            new_port, self._port_used = self.port, True
        if (new_host, new_port) == (host, port):
            return address
        self.rebound.append({"asked": peer_text((host or "''", port)), "bound": peer_text((new_host, new_port))})
        return (new_host, new_port, *address[2:])

    def _listening(self, sock: _SOCKET) -> None:
        if self.address is None and sock.type == socket.SOCK_STREAM and sock.family in LOOPBACK:
            host, port = sock.getsockname()[:2]
            self.address = (host, port)
            if self.on_listen is not None:
                self.on_listen(self.address)

    def note_once(self, key: str, text: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self.on_note(text)

    # ------------------------------------------------------------ waits
    def wait_begins(self, kind: str, conn: int, lane: int | None = None) -> int:
        """Note that this thread now waits in ``kind`` (on ``lane``, else its own); returns the clock's time."""
        rec = self.recorder
        if rec is None:  # a child made by os.fork (or multiprocessing's fork): nothing of it is recorded
            return 0  # (its events go nowhere: the recorder was closed in it by forked())
        t = rec.clock()
        self.waits[threading.get_ident()] = (kind, t, _lane(rec) if lane is None else lane, conn)
        return t

    def wait_ends(self) -> None:
        self.waits.pop(threading.get_ident(), None)

    def interrupted(self) -> None:
        """The program's Ctrl-C came inside this thread's wait: draw it until now, marked ``shutdown``."""
        rec = self.recorder
        wait = self.waits.pop(threading.get_ident(), None)
        if rec is not None and wait is not None:
            kind, t, lane, conn = wait
            rec.interrupted_wait((t - rec.t0, rec.clock() - t, kind, lane, conn, -1, "shutdown"))

    def draw_open_waits(self) -> int:
        """End every wait still open (a daemon thread blocked in accept at exit), marked ``shutdown``.

        Returns:
            How many were drawn.
        """
        rec = self.recorder
        if rec is None:
            return 0
        now = rec.clock()
        open_waits = list(self.waits.values())
        self.waits.clear()
        if rec.tap is not None:  # the C hot path's recv/send waiting now (tracer/record/_hotpath.c)
            open_waits += rec.tap.open_calls()
        for kind, t, lane, conn in open_waits:
            rec.emit((t - rec.t0, now - t, kind, lane, conn, -1, "shutdown"))
        return len(open_waits)

    def forked(self) -> None:
        """In a child made by ``os.fork``: leave the parent's recording alone."""
        if self.recorder is not None:
            self.recorder.closed = True
            self.recorder.broken = "forked"
        self.recorder = None


def client_end(sock: Any, rec: Recorder) -> None:
    """A socket the program ``connect()``ed (or a twin of one): its events on the client lane of whichever
    thread uses it (``Recorder.client_lane``), not on a server thread's own lane.  The C hot path writes on the
    calling thread's own lane, so its recv, recv_into, send and sendall are the Python hot path's (a client's
    calls: the servers' accepted sockets keep the C path)."""
    sock._lanes = rec.client_lanes
    if not isinstance(sock, net.PyTracedIO):  # (the C path's socket: without a tap there is only the Python one)
        for name in ("recv", "recv_into", "send", "sendall"):
            setattr(sock, name, types.MethodType(getattr(net.PyTracedIO, name), sock))


def _family_of(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _lane(rec: Recorder, side: str | None = None) -> int:
    try:
        return rec._local.lane  # type: ignore[no-any-return]
    except AttributeError:
        return rec.declare_lane(name=threading.current_thread().name, side=side)


def _is_socket_fd(fileobj: Any, program: Program) -> bool:
    """Whether a registered file object is one of the program's sockets (not a pipe, not asyncio's self-pipe)."""
    try:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if fd in program.internal_fds:
        return False
    if isinstance(fileobj, _SOCKET):
        return True
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False


# ---------------------------------------------------------------- the socket
def _socket_class(program: Program) -> type[_SOCKET]:
    """``socket.socket`` for the program: the traced socket (C or Python hot path), with the standard constructor."""
    rec = program.recorder
    if rec is None:
        base: type[net.ManagedSocket] = net.ManagedSocket
    else:
        base = net.PyTracedSocket if rec.tap is None else net.CTracedSocket  # type: ignore[attr-defined]

    class ProgramSocket(base):  # type: ignore[valid-type, misc]
        __doc__ = _SOCKET.__doc__

        def __init__(self, family: int = -1, type: int = -1, proto: int = -1, fileno: Any = None,
                     net: Any = None) -> None:
            super().__init__(family, type, proto, fileno, net=program.net)
            self.client = False
            self.bound = False
            if fileno is not None and rec is not None:
                program.adopt(self)  # socket.fromfd, sock.dup(): a second socket on a connection we know

        def bind(self, address: Any) -> None:
            where = program.bind_address(self, address)
            try:
                _SOCKET.bind(self, where)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE and isinstance(where, tuple):
                    program.bind_failed = (where[0], where[1])
                raise
            self.bound = True
            if where is not address and program.rebound:
                got = peer_text(self.getsockname())
                asked = program.rebound[-1]["asked"]
                program.rebound[-1]["bound"] = got
                if rec is not None:
                    rec.mark(f"bind {asked} -> {got} (sockscope run)")
                program.on_note(_bind_note(asked, got, address[0] in WILDCARDS and program.host not in WILDCARDS))

    if rec is None:
        return ProgramSocket

    return _traced_socket_class(program, rec, ProgramSocket)


def _traced_socket_class(program: Program, rec: Recorder, base: type[Any]) -> type[_SOCKET]:
    """The program's socket with every call recorded: accept, connect, the Python-only receives and sendto."""

    class TracedProgramSocket(base):  # type: ignore[valid-type, misc]
        """The program's socket, traced."""

        def accept(self) -> tuple[Any, Any]:
            rec.serving()  # (a thread whose first call was connect, a port probe, serves from here on)
            program.wait_begins("accept", 0)
            try:
                sock, addr = super().accept()
            finally:
                program.wait_ends()
            program.connection_made(sock)
            return sock, addr

        def connect(self, address: Any) -> None:
            t = self._connecting()
            try:
                _SOCKET.connect(self, address)
            except (BlockingIOError, InterruptedError):  # asyncio's: the handshake completes in its loop
                self._connected(t, address)
                raise
            except OSError as exc:
                self._failed("connect", t, exc)
                raise
            except KeyboardInterrupt:
                program.interrupted()
                raise
            finally:
                program.wait_ends()
            self._connected(t, address)

        def connect_ex(self, address: Any) -> int:
            """A selectors program's non-blocking connect: ``connect``'s outcome as an error number (0, EINPROGRESS,
            ECONNREFUSED ...), recorded as ``connect`` records it; what connect_ex raises too (a host not found)
            still raises."""
            try:
                self.connect(address)
            except (socket.gaierror, socket.herror):
                raise
            except TimeoutError as exc:  # (a socket with a timeout: connect_ex says EAGAIN)
                return exc.errno or errno.EAGAIN
            except OSError as exc:
                if exc.errno is None:
                    raise
                return exc.errno
            return 0

        def _connecting(self) -> int:
            self.client = True
            _lane(rec, "client")  # a thread whose first call is connect: a client's lane
            client_end(self, rec)
            self.conn = program.net.new_conn_id()
            return program.wait_begins("connect", self.conn, self._lane())

        def _connected(self, t: int, address: Any) -> None:
            # the client's own address, as the server's accept names it (a Unix socket's: the path)
            detail = peer_text(self.getsockname()) if self.family in LOOPBACK \
                else addresses.unix_detail(address, self.getsockname())
            rec.emit((t - rec.t0, rec.clock() - t, "connect", self._lane(), self.conn, -1, detail))
            program.connection_made(self)

        def close(self) -> None:
            if self.client and self.why is None:  # type: ignore[has-type]
                self.why = "client"
            if self.conn and self.fileno() != -1 and program.released(self):
                self.conn = 0  # another socket (fromfd, dup) still holds the connection: its close ends it
            super().close()

        def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
            t = program.wait_begins("recv", self.conn, self._lane())
            try:
                data, addr = _recvfrom(self, bufsize, flags)
            except OSError as exc:
                self._failed("recv", t, exc)
                raise
            except KeyboardInterrupt:
                program.interrupted()
                raise
            finally:
                program.wait_ends()
            self._datagram("recv", t, len(data), addr)
            return data, addr

        def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
            t = program.wait_begins("recv", self.conn, self._lane())
            try:
                n, addr = _recvfrom_into(self, buffer, nbytes, flags)
            except OSError as exc:
                self._failed("recv", t, exc)
                raise
            except KeyboardInterrupt:
                program.interrupted()
                raise
            finally:
                program.wait_ends()
            self._datagram("recv", t, n, addr)
            return n, addr

        def sendto(self, data: Any, *args: Any) -> int:
            t = rec.clock()
            try:
                n = _sendto(self, data, *args)
            except OSError as exc:
                self._failed("send", t, exc)
                raise
            self._datagram("send", t, n, args[-1] if args else None, client=True)
            return n  # type: ignore[no-any-return]

        def _datagram(self, kind: str, t: int, n: int, addr: Any, client: bool = False) -> None:
            t1 = rec.clock()
            if self.client:  # a connect()ed socket: the client lane of the thread using it
                lane = self._lane()
            else:
                try:
                    lane = rec._local.lane
                except AttributeError:  # a datagram sent from a socket never bound: a client's
                    lane = _lane(rec, "client" if client and not self.bound else None)
            if addr is None:
                rec.emit((t - rec.t0, t1 - t, kind, lane, self.conn, n))
            else:
                rec.emit((t - rec.t0, t1 - t, kind, lane, self.conn, n, peer_text(addr)))

    TracedProgramSocket.__name__ = TracedProgramSocket.__qualname__ = "socket"
    return TracedProgramSocket


def _bind_note(asked: str, got: str, narrowed: bool) -> str:
    if narrowed:
        return _("sockscope: note: the program binds {asked}; bound to {got} instead, this machine only "
                 "(to allow the network: sockscope run --host 0.0.0.0 ...)").format(asked=asked, got=got)
    return _("sockscope: note: the program binds {asked}; bound to {got} instead (sockscope run --port)").format(
        asked=asked, got=got)


# ---------------------------------------------------------------- threads and the pool
def _thread_class(program: Program) -> type[threading.Thread]:
    rec = program.recorder

    class Thread(_THREAD):
        __doc__ = _THREAD.__doc__

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # not super(): threading's own _DummyThread and _MainThread call Thread.__init__(self), the module's name
            _THREAD.__init__(self, *args, **kwargs)
            a = kwargs.get("args") or (args[3] if len(args) > 3 else ())
            self._for_conn = next((getattr(x, "conn", 0) for x in a if isinstance(x, net.ManagedSocket)), 0)

        def start(self) -> None:
            with net._stop_signals_blocked():  # Ctrl-C is the main thread's (net.hand_stop_signals_to_main)
                super().start()

        def _bootstrap_inner(self) -> None:  # (stable since 3.0) run() may be the program's own override
            if hasattr(signal, "pthread_sigmask"):  # never the main thread (see net.hand_stop_signals_to_main)
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            if rec is None or rec.closed:
                super()._bootstrap_inner()  # type: ignore[misc]
                return
            rec.defer_start(self._for_conn)
            rec.sample("threads")
            try:
                super()._bootstrap_inner()  # type: ignore[misc]
            finally:
                if not rec.closed:
                    try:
                        lane = rec._local.lane
                    except AttributeError:
                        lane = rec.declare_lane(name=self.name)
                    rec.disarm_exit_watch()
                    rec.instant("thread_exit", lane)

    return Thread


def _executor_class(program: Program) -> type[_EXECUTOR]:
    rec = program.recorder
    executors: list[Any] = []
    if rec is not None:
        rec.add_probe("queue", lambda: sum(ex._sockscope_depth.n for ex in list(executors)))

    class ThreadPoolExecutor(_EXECUTOR):
        __doc__ = _EXECUTOR.__doc__

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._sockscope_depth = net.QueueDepth()  # (before the base's __init__: a subclass's may submit)
            super().__init__(*args, **kwargs)
            executors.append(self)

        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            if rec is None or rec.closed:
                with net._stop_signals_blocked():
                    return super().submit(fn, *args, **kwargs)
            conn = next((a.conn for a in args if isinstance(a, net.ManagedSocket)), 0)

            depth = self._sockscope_depth

            def job() -> Any:
                depth.picked()
                rec.instant("start", conn=conn)
                rec.sample("queue")  # (see TracedExecutor.submit)
                return fn(*args, **kwargs)

            t = rec.now()  # before the hand-off, so a quick worker's start never precedes it
            with net._stop_signals_blocked():
                future = depth.hand_on(super().submit, job)
            rec.emit((t, 0, "submit", _lane(rec), conn, self._work_queue.qsize()))
            rec.sample("queue")
            return future

    return ThreadPoolExecutor


# ---------------------------------------------------------------- selectors
def _selector_class(program: Program, base: type[selectors.BaseSelector]) -> type[selectors.BaseSelector]:
    rec = program.recorder

    class Selector(base):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._sockscope_fds: set[int] = set()

        def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
            key = super().register(fileobj, events, data)
            if _is_socket_fd(fileobj, program):
                self._sockscope_fds.add(key.fd)
            return key  # type: ignore[no-any-return]

        def unregister(self, fileobj: Any) -> selectors.SelectorKey:
            key = super().unregister(fileobj)
            self._sockscope_fds.discard(key.fd)
            return key  # type: ignore[no-any-return]

        def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            if rec is None or not self._sockscope_fds:  # no socket of the program's: not socket IO
                return super().select(timeout)  # type: ignore[no-any-return]
            t = program.wait_begins("select", 0)
            try:
                ready = super().select(timeout)
            except KeyboardInterrupt:  # Ctrl-C while waiting: the wait still happened, draw it
                rec.interrupted_wait((t - rec.t0, rec.clock() - t, "select", _lane(rec), 0, -1, "shutdown"))
                raise
            finally:
                program.wait_ends()
            rec.emit((t - rec.t0, rec.clock() - t, "select", _lane(rec), 0, len(ready)))
            return ready  # type: ignore[no-any-return]

    Selector.__name__ = Selector.__qualname__ = base.__name__
    return Selector


def _select_function(program: Program) -> Callable[..., Any]:
    rec = program.recorder
    assert rec is not None

    def traced_select(rlist: Any, wlist: Any, xlist: Any, timeout: float | None = None) -> Any:
        if not any(isinstance(x, _SOCKET) for group in (rlist, wlist, xlist) for x in group):
            return _SELECT(rlist, wlist, xlist, timeout)
        t = program.wait_begins("select", 0)
        try:
            ready = _SELECT(rlist, wlist, xlist, timeout)
        except KeyboardInterrupt:
            rec.interrupted_wait((t - rec.t0, rec.clock() - t, "select", _lane(rec), 0, -1, "shutdown"))
            raise
        finally:
            program.wait_ends()
        rec.emit((t - rec.t0, rec.clock() - t, "select", _lane(rec), 0, sum(map(len, ready))))
        return ready

    traced_select.__doc__ = _SELECT.__doc__
    return traced_select


# ---------------------------------------------------------------- asyncio's self-pipe
def _leave_self_pipe_out(program: Program) -> None:
    """asyncio's loop wakes itself through a socketpair: plumbing, not the program's IO."""
    import asyncio.selector_events as se

    make = se.BaseSelectorEventLoop._make_self_pipe  # type: ignore[attr-defined]
    close = se.BaseSelectorEventLoop._close_self_pipe  # type: ignore[attr-defined]

    def _make_self_pipe(self: Any) -> None:
        make(self)
        for name in ("_ssock", "_csock"):
            traced = getattr(self, name)
            fd = traced.fileno()
            program.internal_fds.add(fd)
            plain = _SOCKET(traced.family, traced.type, traced.proto, fileno=traced.detach())
            setattr(self, name, plain)
            getattr(self._selector, "_sockscope_fds", set()).discard(fd)

    def _close_self_pipe(self: Any) -> None:
        program.internal_fds.discard(self._ssock.fileno())
        program.internal_fds.discard(self._csock.fileno())
        close(self)

    se.BaseSelectorEventLoop._make_self_pipe = _make_self_pipe  # type: ignore[attr-defined]
    se.BaseSelectorEventLoop._close_self_pipe = _close_self_pipe  # type: ignore[attr-defined]


# ---------------------------------------------------------------- install
def install(recorder: Recorder | None, *, host: str | None = None, port: int | None = None,
            on_note: Callable[[str], None] = lambda text: None,
            on_listen: Callable[[tuple[str, int]], None] | None = None) -> Program:
    """Put the traced classes in the standard library's place, for the program about to run in this process.

    Make ``recorder`` first: its writer thread must be a plain one.
    """
    global _active
    import asyncio.selector_events  # noqa: F401 - before the socket is replaced: ssl's SSLSocket stays the standard one

    program = Program(recorder, host, port, on_note, on_listen)
    _active = program
    _keep_own_sockets_plain()
    socket.socket = _socket_class(program)  # type: ignore[misc]
    if recorder is not None:
        program.hidden.add(recorder._writer)
        _hide_own_threads(program)
        recorder.add_probe("threads", lambda: threading.active_count())
        threading.Thread = _thread_class(program)  # type: ignore[misc]
        pool = _executor_class(program)
        concurrent.futures.ThreadPoolExecutor = pool  # type: ignore[misc]
        concurrent.futures.thread.ThreadPoolExecutor = pool  # type: ignore[misc]
        for name in _SELECTOR_NAMES:
            base = getattr(selectors, name, None)
            if base is not None:
                setattr(selectors, name, _selector_class(program, base))
        selectors.DefaultSelector = getattr(selectors, selectors.DefaultSelector.__name__)  # type: ignore[misc]
        server_module = sys.modules.get("socketserver")  # imported already: it holds the selector class it chose
        if server_module is not None:
            server_module._ServerSelector = getattr(  # type: ignore[attr-defined]
                selectors, server_module._ServerSelector.__name__)  # type: ignore[attr-defined]
        select.select = _select_function(program)
        _flush_on_hard_exit(program)
        _leave_self_pipe_out(program)
        _note_processes(program)
    return program


def _hide_own_threads(program: Program) -> None:
    """``threading.active_count()`` and ``enumerate()`` as the program would see them untraced."""
    enumerate_all = threading.enumerate

    def enumerate() -> list[threading.Thread]:  # noqa: A001 - threading's own name
        return [t for t in enumerate_all() if t not in program.hidden]

    def active_count() -> int:
        return len(enumerate())

    enumerate.__doc__ = enumerate_all.__doc__
    threading.enumerate = enumerate
    threading.active_count = active_count
    threading.activeCount = active_count  # type: ignore[attr-defined]


def _note_processes(program: Program) -> None:
    """Processes the program starts are not traced: say so once (and never write from a forked child)."""
    def in_parent() -> None:
        program.note_once("fork", _("sockscope: note: the program started a process (os.fork or multiprocessing); "
                                    "processes it starts are not traced"))

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=program.forked, after_in_parent=in_parent)
    try:
        import multiprocessing.process as mp
    except ImportError:  # a Python built without it
        return
    start = mp.BaseProcess.start

    def traced_start(self: Any) -> None:
        in_parent()
        start(self)

    mp.BaseProcess.start = traced_start  # type: ignore[method-assign]


def _flush_on_hard_exit(program: Program) -> None:
    """``os._exit``: what is queued reaches the file first (no trailer: the program did not end cleanly)."""
    hard_exit = os._exit

    def _exit(status: int) -> None:
        rec = program.recorder
        if rec is not None and not rec.closed and os.getpid() == program.pid:
            rec.closed = True  # the writer's loop ends after its current batch; the rest is ours to write
            rec._wake.set()
            rec._writer.join(1.0)
            rec.flush()
        hard_exit(status)

    _exit.__doc__ = hard_exit.__doc__
    os._exit = _exit  # type: ignore[assignment]


def _keep_own_sockets_plain() -> None:
    """sockscope's own sockets (the Unix backlog probe's netlink socket) are not the program's: the standard class."""
    import types

    from tracer.record import unix_queue

    unix_queue.available()  # asked once, now, about a socket of our own
    unix_queue.socket = types.SimpleNamespace(**vars(socket))  # type: ignore[assignment]
