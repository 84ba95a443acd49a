"""Scenario clients: real sockets, one thread per concurrent client, traced on the server's clock.

How this works
--------------
A client process appends its own lanes to the server's recording (the file is
opened ``O_APPEND``; see :mod:`tracer.record.recorder`): its recorder takes ``t0``
from the recording's header, so both sides share one time axis, writes no
header and no trailer, and hands out lanes and connection ids from a range of
its own (:func:`ranges`), so that several firings never collide.  Its sockets
are :mod:`tracer.record.net`'s traced sockets, so each records ``connect``, ``send``,
``recv`` and ``close`` on its thread's lane, ``client-1``, ``client-2``, ...

Nothing a client sees is raised: a refused or timed-out connect, a reset, a
reply that never came are recorded (the ``close`` says why) and counted in the
:class:`Outcome`.  Every wait is bounded by the client ``timeout`` and by one
global ``deadline``; :meth:`Clients.stop` (SIGINT/SIGTERM in a client process)
wakes every thread at once.

Run as a program (``python -m tracer.clients ADDRESS --record FILE
--scenario NAME --set k=v``) it prints ``progress DONE TOTAL`` lines and one
``outcome {json}`` line on stdout.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from tracer import addresses
from tracer.addresses import Address
from tracer.clients.http import REQUEST, reply_size, reply_status
from tracer.errors import RecordingError, UsageError
from tracer.record.net import Net, _reason
from tracer.record.recorder import Recorder
from tracer.recording.format import read_t0

MAX_REPLY = 1 << 20  # a reply larger than this is cut short: the lesson's pages are tiny


LANES_PER_ROUND = 100_000  # server lanes stay below this (one per thread it ever ran)


CONNS_PER_ROUND = 10_000_000  # connection ids must fit in 32 bits: 214 rounds


@dataclass
class Outcome:
    """What a run of clients saw.

    Attributes:
        connections: connections attempted (or skipped once stopped).
        outcomes: how each ended: ``ok`` (every reply came), or the reason it
            did not (``refused``, ``timeout``, ``reset``, ``eof``, ``skipped`` ...).
        replies: complete replies received.
        elapsed: seconds from the first client's start to the last one's end.
        errors: unexpected errors inside client threads (a bug, not a server's doing).
        stopped: the run was stopped (signal, deadline) before it finished.
    """

    connections: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    replies: int = 0
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)
    stopped: bool = False


class Clients:
    """Client threads and their sockets, for a scenario's ``run`` function.

    Args:
        address: the server's (host, port), IPv4 or IPv6, or its Unix socket path.
        recorder: a client-side recorder, or None to run untraced.
        timeout: seconds any one connect or reply may take.
        deadline: seconds after which every client stops.
        first_conn_id: the first connection id handed out (see :func:`ranges`).
        total: connections planned, for progress.
        on_progress: called with (done, total) after each connection ends.
    """

    def __init__(self, address: Address, recorder: Recorder | None = None, *, timeout: float = 5.0,
                 deadline: float = 30.0, first_conn_id: int = CONNS_PER_ROUND, total: int = 0,
                 on_progress: Callable[[int, int], None] | None = None, name_prefix: str = "client-") -> None:
        self.address = address
        self.name_prefix = name_prefix
        self.net = Net(recorder, first_conn_id=first_conn_id)
        self.timeout = timeout
        self.total = total
        self.on_progress = on_progress
        self.outcome = Outcome()
        self._t_start = time.monotonic()
        self._t_end = self._t_start + deadline
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    # ------------------------------------------------------------ time
    def elapsed(self) -> float:
        """Seconds since these clients started."""
        return time.monotonic() - self._t_start

    def remaining(self) -> float:
        """Seconds left before the global deadline."""
        return self._t_end - time.monotonic()

    @property
    def stopped(self) -> bool:
        """True once stopped or past the deadline: every loop checks it."""
        return self._stop.is_set() or self.remaining() <= 0

    def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds``; False if stopped (or the deadline came) first."""
        if seconds > self.remaining():
            self._stop.wait(max(0.0, self.remaining()))
            return False
        return not self._stop.wait(max(0.0, seconds))

    def sleep_until(self, t: float) -> bool:
        """Sleep until ``t`` seconds after the start; False if stopped first."""
        return self.sleep(t - self.elapsed())

    def wait(self, event: threading.Event) -> bool:
        """Wait for ``event``, bounded by the deadline and by stop."""
        while not event.is_set() and not self.stopped:
            event.wait(min(0.05, max(0.0, self.remaining())))
        return event.is_set()

    def acquire(self, sem: threading.Semaphore) -> bool:
        """Acquire ``sem``, bounded by the deadline and by stop."""
        while not self.stopped:
            if sem.acquire(timeout=min(0.05, max(0.001, self.remaining()))):
                return True
        return False

    # ------------------------------------------------------------ threads
    def start(self, n: int, fn: Callable[[int], None], *, first: int = 1,
              together: bool = False) -> list[threading.Thread]:
        """Start ``n`` client threads, ``client-<first>`` ..., each running ``fn(k)``, k from 0.

        With ``together``, they pass a barrier first, so their connects go out at once.
        """
        barrier = threading.Barrier(n) if together and n > 1 else None
        threads = [threading.Thread(target=self._client, args=(fn, k, barrier), name=f"{self.name_prefix}{first + k}",
                                    daemon=True) for k in range(n)]
        for t in threads:
            t.start()
        return threads

    def join(self, threads: Sequence[threading.Thread]) -> None:
        """Wait for ``threads``; past the deadline, stop them (every socket wait is bounded too)."""
        for t in threads:
            t.join(max(0.0, self.remaining()))
            if t.is_alive():
                self.stop()
                t.join(self.timeout + 1)

    def run(self, n: int, fn: Callable[[int], None], *, together: bool = False) -> None:
        """:meth:`start` ``n`` clients and :meth:`join` them."""
        self.join(self.start(n, fn, together=together))

    def _client(self, fn: Callable[[int], None], k: int, barrier: threading.Barrier | None) -> None:
        if barrier is not None:
            try:
                barrier.wait(max(0.0, min(5.0, self.remaining())))
            except threading.BrokenBarrierError:
                pass  # one was slow to start: go anyway
        try:
            fn(k)
        except Exception as exc:  # a bug in a client, not the server's doing: report it, stop nothing else
            with self._lock:
                self.outcome.errors.append(f"{threading.current_thread().name}: {exc!r}")

    def stop(self) -> None:
        """Stop every client now: wake the threads blocked on a socket."""
        with self._lock:  # each open socket's reason before the stop is seen: a client that wakes to the stop
            self.outcome.stopped = True  # then closes saying "shutdown", not "no reply" (it raced, CI)
            socks = list(self._open)
            for sock in socks:
                if getattr(sock, "why", None) is None:
                    sock.why = "shutdown"  # type: ignore[attr-defined]
            self._stop.set()  # inside the lock: a socket opened after it sees the stop (_connect)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # not connected yet, or closed meanwhile: nothing to wake

    # ------------------------------------------------------------ connections
    @contextmanager
    def connection(self) -> Iterator[socket.socket | None]:
        """A connected socket, or None if the connect failed (recorded, not raised); closed after."""
        sock, outcome = self._connect()
        try:
            yield sock
        finally:
            if sock is not None:
                if getattr(sock, "missed", False) and getattr(sock, "why", None) is None:
                    sock.why = "no reply"  # type: ignore[attr-defined]  # the recording's close says so too
                outcome = getattr(sock, "why", None) or "ok"
                self._close(sock)
            self._finished(outcome)

    def _connect(self) -> tuple[socket.socket | None, str]:
        if self.stopped:
            return None, "skipped"
        sock = self.net.socket(addresses.family(self.address))
        with self._lock:
            stopped = self._stop.is_set()
            if not stopped:
                self._open.add(sock)
        if stopped:  # stopped while it was made: never connected
            self._close(sock, "shutdown")
            return None, "skipped"
        try:
            if isinstance(self.address, str):
                addresses.autobind(sock)  # a name of its own, by which the server's accept is joined to it
            sock.settimeout(max(0.001, min(self.timeout, self.remaining())))
            sock.connect(self.address)
        except OSError as exc:
            why = getattr(sock, "why", None) or _reason(exc)
            self._close(sock, why)
            return None, why
        return sock, "ok"

    def _close(self, sock: socket.socket, why: str = "client") -> None:
        if getattr(sock, "why", None) is None:
            sock.why = why  # type: ignore[attr-defined]
        sock.close()
        with self._lock:
            self._open.discard(sock)

    def _finished(self, outcome: str) -> None:
        with self._lock:
            self.outcome.connections += 1
            self.outcome.outcomes[outcome] = self.outcome.outcomes.get(outcome, 0) + 1
            done = self.outcome.connections
        if self.on_progress is not None:
            self.on_progress(done, self.total)

    def _bounded(self, sock: socket.socket) -> bool:
        """Set the socket's timeout for its next wait; False when no time is left."""
        left = min(self.timeout, self.remaining())
        if left <= 0 or self._stop.is_set():
            return False
        sock.settimeout(left)
        return True

    def request(self, sock: socket.socket) -> bool:
        """Send one GET and read its reply; False if anything failed (the socket recorded why)."""
        try:
            if not self._bounded(sock):
                return False
            sock.sendall(REQUEST)
        except OSError:
            return False
        return self.read_reply(sock)

    def dribble(self, sock: socket.socket, chunk: int, gap: float) -> bool:
        """Send one GET ``chunk`` bytes at a time, ``gap`` seconds apart (a slow client)."""
        for i in range(0, len(REQUEST), chunk):
            if i and not self.sleep(gap):
                return False
            try:
                if not self._bounded(sock):
                    return False
                sock.sendall(REQUEST[i:i + chunk])
            except OSError:
                return False
        return True

    def hostile(self, sock: socket.socket, data: bytes, close_wait: float) -> str:
        """Send one hostile request; say what the server did (also the recorded close reason).

        ``rejected NNN`` (an error status), ``closed by server`` (an end of stream or a
        reset, no answer), ``answered NNN`` (a success status to a request that is not
        one: the server never looked), ``answered NNN and kept open`` (and no close
        within ``close_wait`` s) or ``no answer and kept open`` (a stranger can tie it up).
        """
        got, closed = b"", False
        try:
            if self._bounded(sock):
                sock.sendall(data)
                got, closed = self._read_some(sock)
        except OSError:  # reset while sending: the server hung up on it
            closed = True
        status = reply_status(got)
        if status is not None and status >= 400:
            verdict = f"rejected {status}"
        elif status is not None:
            kept = not closed and not self._closes_within(sock, close_wait)
            verdict = f"answered {status}" + (" and kept open" if kept else "")
        else:
            verdict = "closed by server" if closed else "no answer and kept open"
        sock.why = verdict  # type: ignore[attr-defined]
        return verdict

    def _read(self, sock: socket.socket) -> tuple[bytes, int | None, str]:
        """Read one reply (by its Content-Length, else to the end), bounded in size and time.

        Returns:
            the bytes, the reply's size once known, and how the read ended: ``whole``, ``eof`` (the
            server closed), ``timeout``, ``reset`` or ``bounded`` (the size or time bound).
        """
        data = b""
        need: int | None = None
        try:
            while len(data) < MAX_REPLY and self._bounded(sock):
                chunk = sock.recv(65536)
                if not chunk:
                    return data, need, "eof"
                data += chunk
                need = need if need is not None else reply_size(data)
                if need is not None and len(data) >= need:
                    return data, need, "whole"
        except TimeoutError:
            return data, need, "timeout"
        except OSError:
            return data, need, "reset"
        return data, need, "bounded"

    def _read_some(self, sock: socket.socket) -> tuple[bytes, bool]:
        """One reply's bytes (bounded in size and time); and whether the server closed (or reset)."""
        data, _, ended = self._read(sock)
        return data, ended in ("eof", "reset")

    def _closes_within(self, sock: socket.socket, seconds: float) -> bool:
        """True if the server ends the stream within ``seconds`` (bytes after a whole reply do not count)."""
        try:
            sock.settimeout(max(0.001, min(seconds, self.remaining())))
            return not sock.recv(1)
        except TimeoutError:
            return False
        except OSError:
            return True

    def read_reply(self, sock: socket.socket) -> bool:
        """Read one HTTP reply (by its Content-Length, else to the end); False if it did not all come."""
        data, need, _ = self._read(sock)  # timed out or reset: the socket noted why
        complete = bool(data) and (need is None or len(data) >= need)
        if complete:
            with self._lock:
                self.outcome.replies += 1
        else:
            sock.missed = True  # type: ignore[attr-defined]
        return complete and need is not None  # without a length the connection is over


# ---------------------------------------------------------------- public API
def ranges(round_no: int) -> tuple[int, int]:
    """``(first_lane, first_conn_id)`` for the ``round_no``-th client process (from 1) of one recording."""
    if not 1 <= round_no < 2**31 // CONNS_PER_ROUND:
        raise UsageError(f"client round {round_no} is out of range (1 to {2**31 // CONNS_PER_ROUND - 1})")
    return LANES_PER_ROUND * round_no, CONNS_PER_ROUND * round_no


def next_round(path: str) -> int:
    """The first round number no client process has used yet in the recording ``path``."""
    top = 0
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError as exc:  # a traceback before: python -m tracer.clients ... --record NEW-FILE
        raise RecordingError(path, 0, f"cannot read the server's recording ({exc.strerror or exc}): the clients "
                             "append to a recording a server writes (sockscope serve MODEL --record FILE)") from None
    with f:
        for line in f:
            if line.startswith('{"lane"') and '"client"' in line:
                try:
                    top = max(top, int(json.loads(line)["lane"]) // LANES_PER_ROUND)
                except (ValueError, KeyError, TypeError):
                    continue  # a cut-off line: the reader reports it, not us
    return top + 1


def client_recorder(path: str, round_no: int | None = None) -> Recorder:
    """A recorder appending client lanes to ``path``, on its clock, in a lane range of its own."""
    first_lane, _ = ranges(round_no if round_no is not None else next_round(path))
    return Recorder(path, side="client", write_header=False, t0=read_t0(path), first_lane=first_lane)
