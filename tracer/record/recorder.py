"""The recorder: a cheap hot path in the server, a writer thread that batches.

How this works
--------------
Events wait in a queue for a writer thread, which wakes at least every
``flush_interval`` seconds, takes what is queued and writes it as JSON Lines
in one ``write``.  The queue is one of two:

- **In C** (``tracer/record/_hotpath.c``, built by ``pip install`` where a C compiler
  is present; see :mod:`tracer.record.hotpath`): a ``Tap`` holds plain structs.
  Traced sockets append to it from C without making a Python object, Python
  code through ``emit(tuple)``, and the writer formats a batch with the GIL
  released.  A traced recv or send costs the server a few hundred instructions
  (~5,000 in Python).
- **In Python** (no compiler, or ``SOCKSCOPE_PURE_PYTHON=1``): a
  ``collections.deque`` of tuples; ``deque.append`` is atomic under the GIL,
  so no lock is taken.  Formatting (``%`` over the tuple, several times
  cheaper than ``json.dumps``) holds the GIL ~500 ns per event, so with
  ``offload=True`` (``sockscope serve`` with a spare core) it happens in a
  child process instead (:mod:`tracer.record.formatter`); the writer thread only
  ``marshal`` s the batch (~90 ns per event) into a pipe.

Lanes are declared on a second deque.  The writer notes how many events are
queued *before* it drains the declarations, then writes only that many events,
so a lane's declaration always precedes its events in the file.

If ``max_pending`` events ever wait for the writer, the newest excess is
discarded and counted; the count goes in the trailer.  If the file cannot be
written (disk full, ...), the sink is detached, reported once on stderr, and
every later event is counted as dropped: the server keeps running.
"""

from __future__ import annotations

import _thread
import collections
import errno
import itertools
import json
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, BinaryIO, TextIO

from tracer.errors import TracerError
from tracer.locale import _
from tracer.record import fds, hotpath
from tracer.record.formatter import Formatter, event_line, format_lines
from tracer.recording.format import FORMAT_NAME, FORMAT_VERSION, check_recording_path

try:
    import resource  # POSIX: getrusage (Linux, macOS); Windows has none, and records no context switches
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]
CTX_COUNTERS = ("ctx_voluntary", "ctx_involuntary")


def context_switches() -> tuple[int, int] | None:
    """The process's voluntary and involuntary context switches so far (None where getrusage is missing).

    Voluntary: a thread gave up the CPU to wait (a blocking recv, a lock, the GIL); involuntary: the
    kernel took it away (its time slice ran out). Portable POSIX getrusage, not Linux's /proc.
    """
    if resource is None:
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw, usage.ru_nivcsw

def own_context_switches() -> tuple[int, int]:
    """The calling thread's own voluntary and involuntary switches so far ((0, 0) where Linux's
    ``RUSAGE_THREAD`` is missing: macOS, Windows)."""
    who = getattr(resource, "RUSAGE_THREAD", None)
    if who is None:
        return 0, 0
    usage = resource.getrusage(who)
    return usage.ru_nvcsw, usage.ru_nivcsw


class _Wake:
    """``threading.Event`` for the writer's one waiter, its ``wait`` one C call.

    Event.wait runs a Condition's Python code (a new lock, a deque, ~10 calls) every time the writer
    wakes, 20 times a second or more while a server runs: measured on this project's 2-core VM, an
    idle writer took ~100 us of CPU a wake waiting on an Event, ~50 us on a lock.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._lock.acquire()  # held until set(): wait() times out

    def set(self) -> None:
        try:
            self._lock.release()
        except RuntimeError:  # set already
            pass

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s; True once set (then at once, every later time too)."""
        if not self._lock.acquire(True, timeout):
            return False
        self.set()  # leave it set
        return True


Clock = Callable[[], int]


class _ExitWatch:
    """Lives in a thread's ``threading.local``; dies with the thread.

    CPython clears a thread's locals in that thread as it ends, so ``__del__``
    runs there and can stamp ``thread_exit`` on the right lane with the right
    time, for threads we did not create ourselves (a ThreadPoolExecutor's).
    """

    __slots__ = ("rec", "lane", "armed")

    def __init__(self, rec: Recorder, lane: int) -> None:
        self.rec = rec
        self.lane = lane
        self.armed = True

    def __del__(self) -> None:
        # The recorder forgets the ended thread: a thread per connection (the thread model) otherwise
        # left one entry per connection served, ~150 B each, for as long as the server ran (found by
        # tracemalloc under bench/soak.py's load).
        self.rec._lane_threads.pop(self.lane, None)
        self.rec._lane_sides.pop(self.lane, None)
        if self.armed and not self.rec.closed:
            self.rec.instant("thread_exit", self.lane)


class _ClientLanes:
    """``.lane``: the calling thread's lane for its connections' client ends (:meth:`Recorder.client_lane`), read
    where a traced socket reads its thread's lane (``TracedSocket._lanes``)."""

    __slots__ = ("rec",)

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    @property
    def lane(self) -> int:
        return self.rec.client_lane()


class Recorder:
    """Records events of one process into one JSON Lines file.

    Args:
        sink: a text file opened for writing, or a path.
        header: model, settings ... written in the header line.
        clock: a monotonic nanosecond clock; tests pass a fake one.
        flush_interval: seconds between writer batches at most.
        sample_interval: seconds between samples of the probes (counters).
        max_pending: events allowed to wait for the writer before loss is counted.
        t0: the clock value that is time 0 (default: now); a client process
            passes the server's so both share one axis.
        side: ``server`` or ``client``, the default side of lanes declared here.
        first_lane: the first lane number this recorder hands out; processes
            appending to one file must use disjoint ranges.
        write_header: False to append to a recording another process started
            (then ``t0`` should be that recording's ``t0_monotonic_ns``); such a
            recorder writes no trailer either: the trailer is the owner's, and
            nothing may follow it.
        offload: format in a child process when the queue is Python's (the
            C queue formats without the GIL and needs none).
        c_hot_path: queue in C (True) or Python (False); default: C when
            built, unless ``SOCKSCOPE_PURE_PYTHON=1``.
    """

    def __init__(
        self,
        sink: str | os.PathLike[str] | TextIO,
        header: dict[str, Any] | None = None,
        *,
        clock: Clock = time.monotonic_ns,
        flush_interval: float = 0.05,
        sample_interval: float = 0.005,
        max_pending: int = 2_000_000,
        t0: int | None = None,
        side: str = "server",
        first_lane: int = 0,
        write_header: bool = True,
        offload: bool = False,
        c_hot_path: bool | None = None,
    ) -> None:
        # The file's binary buffer, where the C queue's batches go as the UTF-8 bytes it made (a file we opened:
        # UTF-8, no newline translation); None for a stream handed to us, written as text.
        self._raw: BinaryIO | None = None
        self._own: _OwnFile | None = None  # the descriptor of a file we opened, watched (see _OwnFile)
        if isinstance(sink, (str, os.PathLike)):
            self.path = os.fspath(sink)
            self._own = _OwnFile(self.path, open_for_writing(self.path, truncate=write_header))
            self._file: TextIO = self._own.file
            self._raw = self._file.buffer
        else:
            self.path = getattr(sink, "name", "<stream>")
            self._file = sink
        self.clock = clock
        self.t0 = clock() if t0 is None else t0
        self.side = side
        self.flush_interval = flush_interval
        self.sample_interval = sample_interval
        self.max_pending = max_pending
        self.closed = False
        self.interrupted_waits = 0  # (see interrupted_wait)
        self.owner = write_header
        self.broken: str | None = None
        self._format_failed = False
        self._events: collections.deque[tuple[Any, ...]] = collections.deque()
        self._decls: collections.deque[str] = collections.deque()
        self._local = threading.local()
        # The queue: in C when built (tracer/record/_hotpath.c), which traced sockets
        # feed directly; else a deque.  Either way emit() is one call.
        self.tap: Any = None
        if hotpath.stale and hotpath.asked(c_hot_path):
            hotpath.warn_stale()
        if hotpath.wanted(c_hot_path):
            self.tap = hotpath.native.Tap(local=self._local, declare_lane=self.declare_lane,
                                          clock=None if clock is time.monotonic_ns else clock,
                                          t0=self.t0, max_pending=max_pending)
            self.emit: Callable[[tuple[Any, ...]], None] = self.tap.emit
        else:
            self.emit = self._events.append
        self._lane_ids = itertools.count(first_lane)
        self._lane_lock = threading.Lock()
        self._lane_threads: dict[int, weakref.ref[threading.Thread]] = {}
        self._lane_sides: dict[int, str] = {}
        self.client_lanes = _ClientLanes(self)  # what a server thread's connect()ed socket reads its lane from
        self._dropped = 0
        self._written = 0
        self._wake = _Wake()
        self._probes: dict[str, Callable[[], int]] = {}
        self._last_sample: dict[str, int] = {}
        self._sample_lock = threading.Lock()
        # the server's context switches since the recording began, sampled at each flush (not each beat: the
        # writer's own wakes switch, so they always change and would keep the beat at its fastest); only on the
        # real clock: a recording made on a test's clock is about that clock, not this process
        real = clock is time.monotonic_ns
        self._ctx0 = context_switches() if write_header and side == "server" and real else None
        self._writer_ident: int | None = None  # set by the writer itself
        self._writer_ctx = (0, 0)  # the writer's own switches, left out of the server's (Linux: RUSAGE_THREAD)
        if write_header:
            self._write_now(json.dumps(self._header(header or {}), ensure_ascii=False) + "\n")
        self._child: Formatter | None = None
        # Formatting in C releases the GIL and costs less than handing the
        # batch to another process: offload only the Python formatter.
        if offload and self.tap is None and isinstance(sink, (str, os.PathLike)) and self.broken is None:
            self._child = Formatter.start(self.path)
            if self._child is not None:
                self._file.close()  # the formatter process appends from here on
                if self._own is not None:
                    self._own.close()  # (kept: should the pipe be closed under us, this process appends again)
        self._writer = threading.Thread(target=self._run_writer, name="sockscope-writer", daemon=True)
        self._writer.start()

    # ----------------------------------------------------------- the hot path
    def now(self) -> int:
        """The current time, ns since this recording's start."""
        return self.clock() - self.t0

    def lane(self) -> int:
        """The calling thread's lane, declared on first use."""
        try:
            return self._local.lane  # type: ignore[no-any-return]
        except AttributeError:
            return self.declare_lane()

    def interrupted_wait(self, ev: tuple[Any, ...]) -> None:
        """A wait that the program's Ctrl-C ended, drawn to now marked ``shutdown``: emitted, and counted (the stop
        message says how many waits were still open at the end; the C hot path counts its own)."""
        self.interrupted_waits += 1
        self.emit(ev)

    @property
    def waits_drawn(self) -> int:
        """How many waits a Ctrl-C ended, drawn marked ``shutdown`` (Python's and the C hot path's)."""
        return self.interrupted_waits + (self.tap.interrupted if self.tap is not None else 0)

    def instant(self, kind: str, lane: int | None = None, conn: int = 0, nbytes: int = -1, detail: Any = None) -> None:
        """Record an event of duration 0, now."""
        if lane is None:
            lane = self.lane()
        t = self.clock() - self.t0
        if detail is None:
            self.emit((t, 0, kind, lane, conn, nbytes))
        else:
            self.emit((t, 0, kind, lane, conn, nbytes, detail))

    # ------------------------------------------------------------ lanes
    def _new_lane(self, name: str | None, side: str) -> int:
        """A new lane of the calling thread, declared (name, native id, side); the caller makes it the thread's
        own (:meth:`declare_lane`) or its client lane (:meth:`client_lane`), and watches its end."""
        me = threading.current_thread()
        with self._lane_lock:
            lane = next(self._lane_ids)
        self._lane_threads[lane] = weakref.ref(me)
        self._lane_sides[lane] = side
        self._decls.append(json.dumps({"lane": lane, "name": name or me.name, "native_id": threading.get_native_id(),
                                       "side": side}, ensure_ascii=False))
        return lane

    def declare_lane(self, name: str | None = None, side: str | None = None) -> int:
        """Give the calling thread a lane and declare it (name, native id)."""
        lane = self._new_lane(name, side or self.side)
        self._local.lane = lane
        if self.tap is not None:
            self.tap.lane_declared()
        self._local.watch = _ExitWatch(self, lane)
        start = getattr(self._local, "pending_start", None)
        if start is not None:  # a traced program's thread: its start waited for its lane's side (defer_start)
            del self._local.pending_start
            self.emit((start[0], 0, "thread_start", lane, start[1], -1))
        return lane

    def client_lane(self) -> int:
        """The calling thread's lane for the client end of the connections it makes (``connect``): its own lane
        when that is a client's (a thread whose first call was ``connect``), else a second lane of the same
        thread, side ``client`` (a server's thread that connects to a server, its own or another: its client end
        on the server's lane read as a server's events the lifecycle does not allow)."""
        local = self._local
        try:
            return local.client_lane  # type: ignore[no-any-return]
        except AttributeError:
            pass
        try:
            own = local.lane
        except AttributeError:
            own = self.declare_lane(side="client")
        if self._lane_sides.get(own) == "client":
            local.client_lane = own
            return own  # type: ignore[no-any-return]
        lane = self._new_lane(None, "client")
        local.client_lane = lane
        local.client_watch = _ExitWatch(self, lane)  # it ends with its thread, as the thread's own lane does
        return lane

    def serving(self) -> None:
        """The calling thread serves (it accepts): if its own lane is a client's (its first call was ``connect``:
        a port probe before it listens, a client that turns server), a server lane is its own from now on (the C
        hot path writes there), and the client lane stays its lane for the connections it makes."""
        local = self._local
        own = getattr(local, "lane", None)
        if own is None or self._lane_sides.get(own) != "client" or getattr(local, "client_lane", own) != own:
            return
        local.client_lane = own
        local.client_watch = local.watch  # the client lane still ends with its thread
        self.declare_lane(side="server")

    def defer_start(self, conn: int = 0) -> None:
        """Note the calling thread's ``thread_start`` now; write it when its lane is declared.

        A traced program's thread gets its lane at its first event, so that a
        thread whose first call is ``connect`` is declared a client lane.
        """
        self._local.pending_start = (self.now(), conn)

    def disarm_exit_watch(self) -> None:
        """The caller records its own ``thread_exit``; do not stamp another."""
        watch = getattr(self._local, "watch", None)
        if watch is not None:
            watch.armed = False

    # ------------------------------------------------------------ counters and marks
    def add_probe(self, name: str, probe: Callable[[], int]) -> None:
        """Sample ``probe()`` now and on the writer's beat; write it when it changes."""
        self._probes[name] = probe
        self._last_sample.pop(name, None)  # a new probe's first value is always written
        self._sample(name, probe)

    def remove_probe(self, name: str) -> None:
        """Stop sampling ``name``; write its value one last time if it changed."""
        probe = self._probes.pop(name, None)
        if probe is not None:
            self._sample(name, probe)

    def sample(self, name: str) -> None:
        """Sample one probe now, off the writer's beat (a thread that starts samples ``threads``:
        threads that come and go between two beats would otherwise be missed)."""
        probe = self._probes.get(name)
        if probe is not None:
            self._sample(name, probe)

    def last_sampled(self, name: str) -> int | None:
        """The last value written of probe ``name`` (None before the first)."""
        return self._last_sample.get(name)

    def _sample(self, name: str, probe: Callable[[], int]) -> bool:
        """Read one probe; write its value if it changed.  Returns whether it did."""
        with self._sample_lock:  # the writer and a starting thread: one reading written at a time, in order
            try:
                value = int(probe())
            except (OSError, ValueError):
                return False  # the probed object is gone (socket closed at shutdown)
            if self._last_sample.get(name) == value:
                return False
            self._last_sample[name] = value
            self.counter(name, value)
            return True

    def counter(self, name: str, value: int, t: int | None = None) -> None:
        """Record a counter's value at ``t`` (default now)."""
        t = self.now() if t is None else t
        self._decls.append(json.dumps({"c": name, "t": t, "v": value}))

    def mark(self, text: str, t: int | None = None) -> None:
        """Record a note on the time axis (what a user fired, ...)."""
        t = self.now() if t is None else t
        self._decls.append(json.dumps({"mark": text, "t": t}, ensure_ascii=False))

    def sample_context_switches(self) -> None:
        """Write the context switch counters (since the recording began) if they changed.

        The server's switches: the recorder's writer thread's own are left out (where the OS tells a
        thread's own, Linux). Its every wake is a switch, so they always changed, and an idle server's
        recording got two counter lines and a write a flush, 20 a second, for nothing it did.
        """
        if self._ctx0 is None:
            return
        if _thread.get_ident() == self._writer_ident:  # first: the process's, read after, hold them all
            self._writer_ctx = own_context_switches()
        now = context_switches()
        if now is None:
            return
        with self._sample_lock:
            for name, value, base, own in zip(CTX_COUNTERS, now, self._ctx0, self._writer_ctx, strict=True):
                if self._last_sample.get(name) != value - base - own:
                    self._last_sample[name] = value - base - own
                    self.counter(name, value - base - own)

    def sample_probes(self) -> bool:
        """Sample every probe; write those that changed.  Returns whether any did."""
        changed = [self._sample(name, probe) for name, probe in list(self._probes.items())]
        return any(changed)

    # ------------------------------------------------------------ the writer
    def _run_writer(self) -> None:
        # Probes are sampled every sample_interval while their values change
        # (the kernel's accept queue changes fast); while they hold still the
        # beat doubles up to flush_interval.  Each wake takes the server's GIL:
        # at a fixed 5 ms that cost the pool server ~5% of its requests/s
        # under a steady keep-alive load, with nothing new to write.
        self._writer_ident = _thread.get_ident()
        if hasattr(signal, "pthread_sigmask"):  # Ctrl-C is the main thread's (see net.hand_stop_signals_to_main)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        last_flush = time.monotonic()
        beat = self.sample_interval
        while not self.closed:
            self._wake.wait(beat if self._probes else self.flush_interval)
            if self.sample_probes():
                beat = self.sample_interval
            else:
                beat = min(beat * 2, max(self.flush_interval, self.sample_interval))
            if time.monotonic() - last_flush >= self.flush_interval or self.closed:
                self.sample_context_switches()
                self.flush()
                last_flush = time.monotonic()

    def flush(self) -> None:
        """Write everything queued so far (the writer calls this; so may close)."""
        tap = self.tap
        pending = tap.pending if tap is not None else self._pending_in_deque()
        head = self._take_head()  # after counting the events: a lane's declaration precedes all of them
        if not head and not pending:
            return
        batch: list[tuple[Any, ...]] = []
        if tap is None:
            popleft = self._events.popleft
            batch = [popleft() for _ in range(pending)]
        if self._child is not None and self.broken is None and not self._child.ours():
            self._child.abandon()  # the program closed our end of its pipe: what it got is written; we go on
            self._child = None
        if self._child is not None:
            sent = self._send(head, batch)
        else:
            self._still_ours()
            # The C queue's batch as bytes, straight to the file's binary buffer: a str of it held the server's
            # GIL ~400 us a 10,000-event batch (the lesson's pool under load: 20 a second), decoded from the C
            # text, joined to the head, encoded back by the text layer (measured: notes/gil11.md)
            data = _utf8(head) if tap is not None and self._raw is not None else None
            try:
                if data is not None:
                    # written by the C queue itself, from the buffer it formats into (not a bytes object a batch)
                    sent = self._write_by_tap(tap, pending, data)
                else:
                    out = format_lines(head, batch) + (tap.take(pending, event_line) if tap is not None else "")
                    sent = self._write_now(out)
            except (TypeError, ValueError, OverflowError) as exc:  # a bug in whoever emitted an event
                self._write_now(format_lines(head, []))  # the lanes' declarations still go in
                self._unformattable(exc, pending)
                return
        if sent:
            self._written += pending
        else:  # the sink is gone: these never reached the file
            self._dropped += pending

    def _pending_in_deque(self) -> int:
        """Events waiting in the Python queue, past ``max_pending`` the newest dropped and counted."""
        events = self._events
        pending = len(events)
        if pending > self.max_pending:
            for _dropped in range(pending - self.max_pending):
                events.pop()
            self._dropped += pending - self.max_pending
            pending = self.max_pending
        return pending

    def _unformattable(self, exc: Exception, lost: int) -> None:
        """Count a batch that could not be written, say so once, keep recording."""
        self._dropped += lost
        if not self._format_failed:
            self._format_failed = True
            print(_("sockscope: recording to {path}: {n} events could not be written ({why}); counted as dropped")
                  .format(path=self.path, n=lost, why=exc), file=sys.stderr)

    def _take_head(self) -> list[str]:
        """The declarations, counters and marks queued so far (lines of JSON)."""
        decls = self._decls
        return [decls.popleft() for _ in range(len(decls))]

    def _send(self, head: list[str], batch: list[tuple[Any, ...]]) -> bool:
        """Hand a batch to the formatter process; False (reported once) if it is gone."""
        if self.broken is not None:
            return False
        try:
            self._child.send(("batch", head, batch))  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            self.broken = f"the formatter process stopped ({exc})"
            print(_("sockscope: recording to {path} stopped: {why}; the server goes on").format(path=self.path,
                                                                                             why=self.broken),
                  file=sys.stderr)
            return False
        return True

    def _write_by_tap(self, tap: Any, pending: int, head: bytes) -> bool:
        """The C queue's first ``pending`` events, after ``head``, written to the file by the queue; False (and the sink
        detached, reported once) if they cannot be."""
        if self.broken is not None:
            tap.take(pending, event_line)  # taken off the queue all the same: counted as dropped by the caller
            return False
        try:
            fd = self._raw.fileno()  # type: ignore[union-attr]
        except (OSError, ValueError):  # a buffer with no descriptor (or closed): through its write()
            return self._write_now(tap.take(pending, event_line, head))
        try:
            self._file.flush()  # what the text layer holds goes first (nothing: every write is flushed)
            self._raw.flush()  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            tap.take(pending, event_line)
            return self._detach(exc)
        try:
            tap.write(fd, pending, event_line, head)
        except OSError as exc:  # the disk is full, the file is gone: a line may be cut short (the reader says so)
            return self._detach(exc)
        return True

    def _still_ours(self) -> None:
        """Before a batch: if the program closed our file's descriptor (a program that closes every fd above 2,
        as daemons do), open the file again rather than write into whatever the number is now (a file of the
        program's: our lines went into it), or lose the rest of the recording to EBADF."""
        own = self._own
        if own is None or self.broken is not None or own.ours():
            return
        try:
            self._file = own.reopen()
        except OSError as exc:
            self._detach(exc)
            return
        self._raw = self._file.buffer
        print(_("sockscope: note: the program closed the descriptor of {path} (it closes descriptors it did not "
                "open); sockscope opened the file again").format(path=self.path), file=sys.stderr)

    def _detach(self, exc: Exception) -> bool:
        self.broken = str(exc)
        print(_("sockscope: recording to {path} stopped: {why}; the server goes on").format(
            path=self.path, why=exc), file=sys.stderr)
        return False

    def _write_now(self, text: str | bytes) -> bool:
        """Write ``text`` (bytes: UTF-8, to the binary buffer); False (and the sink detached, reported once) if it
        cannot be."""
        if self.broken is not None:
            return False
        try:
            if isinstance(text, bytes):
                self._file.flush()  # what the text layer holds goes first (nothing: every write is flushed)
                self._raw.write(text)  # type: ignore[union-attr]
                self._raw.flush()  # type: ignore[union-attr]
            else:
                self._file.write(text)
                self._file.flush()
        except (OSError, ValueError) as exc:
            return self._detach(exc)
        return True

    def close(self, **trailer: Any) -> dict[str, Any]:
        """Flush everything, write the trailer (if this recorder wrote the header) and close the file.

        Returns:
            The trailer written (events, dropped, ...).
        """
        if self.closed:
            return {}
        # Which lanes' threads still run, taken *before* closing: a thread that
        # ends after this point is listed alive; one that ended before it has
        # its thread_exit recorded (exit watches stop stamping once closed).
        lanes = dict(self._lane_threads)  # (one C call: a thread ending meanwhile cannot change it under us)
        alive = sorted(lane for lane, ref in lanes.items() if (t := ref()) is not None and t.is_alive())
        self.closed = True
        self._wake.set()
        self._writer.join(timeout=5)
        self.sample_probes()
        self.sample_context_switches()
        self.flush()
        dropped = self.dropped
        if self.broken is not None:
            dropped += self.pending
        end = {"end": True, "t": self.now(), "events": self._written, "dropped": dropped,
               "alive_lanes": alive, **trailer}
        if self._child is not None:
            return self._child.finish(end, self.owner, self.path, alive=self.broken is None)
        if self.owner:
            self._write_now(json.dumps(end, ensure_ascii=False) + "\n")
        try:
            self._file.close()
            if self._own is not None:
                self._own.close()
        except OSError as exc:
            print(_("sockscope: closing {path} failed: {why}").format(path=self.path, why=exc), file=sys.stderr)
        return end

    @property
    def pending(self) -> int:
        """Events queued for the writer, not yet written."""
        return self.tap.pending if self.tap is not None else len(self._events)  # type: ignore[no-any-return]

    @property
    def dropped(self) -> int:
        """Events lost so far: the queue was full, or the file could not be written."""
        return self._dropped + (self.tap.dropped if self.tap is not None else 0)

    def _header(self, extra: dict[str, Any]) -> dict[str, Any]:
        import platform

        from tracer import __version__

        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "tool": f"sockscope {__version__}",
            "python": platform.python_version(),
            "recorder": "c" if self.tap is not None else "python",
            "platform": sys.platform,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "t0_monotonic_ns": self.t0,
            "clock": "time.monotonic_ns",
            **extra,
        }


class _OwnFile:
    """A recording file we opened, on a descriptor of ours (:mod:`tracer.record.fds`): moved above the low
    numbers, watched before each batch (:meth:`ours`), opened again from its path when the program closed it
    (:meth:`reopen`), closed at the end only if still ours; the file object over it never closes it."""

    def __init__(self, path: str, opened: TextIO) -> None:
        self.path = path
        self.held = fds.Held.taken_from(opened)
        self.file = self._wrap(self.held.fd)

    @staticmethod
    def _wrap(fd: int) -> TextIO:
        return open(fd, "a", encoding="utf-8", newline="\n", buffering=1 << 16, closefd=False)

    def ours(self) -> bool:
        return self.held.ours()

    def reopen(self) -> TextIO:
        """The file again, on a new descriptor of ours (OSError when it cannot be, or the path names another
        file now)."""
        again = fds.Held(os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)))
        if again.ident != self.held.ident:
            again.close()
            raise OSError(errno.ENOENT, _("the file was replaced"))
        self.held = again
        self.file = self._wrap(again.fd)
        return self.file

    def close(self) -> None:
        self.held.close()


def _utf8(head: list[str]) -> bytes | None:
    """The declarations' lines as UTF-8, or None where they cannot be encoded (a lone surrogate in a thread's
    name): written as text then, the text layer's error detaching the sink as it always did."""
    try:
        return format_lines(head, []).encode("utf-8")
    except UnicodeEncodeError:
        return None


def open_for_writing(path: str, truncate: bool = True) -> TextIO:
    """Open a recording for writing, with errors a user can act on.

    Args:
        truncate: start a new file (a server); False appends to an existing
            recording (scenario clients joining a server's recording).
    """
    if truncate:
        check_recording_path(path)
    else:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise TracerError(_("cannot write recording {path}: folder {folder} does not exist").format(
                path=path, folder=folder))
    try:
        # Truncate, then append: other processes (scenario clients) append
        # their own lanes to the same file, each batch one write() with O_APPEND.
        if truncate:
            open(path, "w").close()
        elif not os.path.isfile(path):
            raise TracerError(_("cannot append to recording {path}: no such file").format(path=path))
        return open(path, "a", encoding="utf-8", newline="\n", buffering=1 << 16)
    except PermissionError:
        raise TracerError(_("cannot write recording {path}: permission denied").format(path=path)) from None
    except IsADirectoryError:
        raise TracerError(_("cannot write recording {path}: it is a folder").format(path=path)) from None
    except OSError as exc:
        raise TracerError(_("cannot write recording {path}: {why}").format(
            path=path, why=exc.strerror or exc)) from None
