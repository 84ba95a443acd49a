# The reader as it was before the columnar model (issue 14), kept word for word as the reference:
# only the imports changed (the model beside it; no C path), and what the model's definition changed since
# (requests answered: a run of sends after a read, not each send).  tests/test_model_columns.py compares.
"""Read a recording: lines in, the columnar :class:`~tracer.recording.model.Recording` out.

How this works, and why this way
--------------------------------
:class:`Builder` is the definition of what a line means: :meth:`Builder.feed`
reads one line carefully and raises :class:`~tracer.errors.RecordingError`
with the file, the line number and what was expected.  Nearly every line of a
recording is an event of one shape, ``[t,dur,"kind",lane,conn,count(,detail)]``,
and reading those one by one in Python costs ~4 µs each (7.1 s for a minute
under load, 1M events), against 0.2 µs for ``orjson.loads`` of the line
alone.  So :meth:`Builder.feed_lines` hands runs of lines to the optional C
extension ``tracer.recording._fastread`` (built like the recorder's hot path;
``SOCKSCOPE_PURE_PYTHON=1`` turns it off), which does for a line of exactly
that shape what ``_add`` does, and stops at the first line of any other shape
or one that fails a check; that line goes through :meth:`Builder.feed`, so
errors are word for word the careful path's.  orjson or msgspec would parse
faster than ``json`` but still leave a Python object per field and the
per-event work in Python (~1 µs), and a new runtime dependency; the C path
parses straight into the lanes' arrays.  ``tests/test_fastread.py`` holds
both paths to the same model, errors and line numbers included.

Measured (``bench/bench_timeline.py``, 1M events): 4.0 s -> ~1.1 s, about 4-6x
the orjson floor; ~60% of what is left is the ``Connection`` objects'
attribute traffic, the next thing to make columnar (issue 14's note).
"""

from __future__ import annotations

import io
import json
import os
import sys
from array import array
from collections.abc import Callable
from typing import Any, TextIO

from tests.legacy.legacy_model import Connection, Counter, Lane, Recording
from tracer.addresses import join_key
from tracer.errors import RecordingError
from tracer.locale import _
from tracer.recording.events import BY_CODE, KINDS
from tracer.recording.format import FORMAT_NAME, FORMAT_VERSION

_KIND_CODE = {name: k.code for name, k in KINDS.items()}


def _load_native() -> Any:
    """The C fast path, if built, current, and not turned off by ``SOCKSCOPE_PURE_PYTHON``."""
    if os.environ.get("SOCKSCOPE_PURE_PYTHON", "").strip().lower() not in ("", "0", "no", "false", "off"):
        return None
    try:
        from tracer.recording import _fastread  # type: ignore[attr-defined]
    except ImportError:  # built without a C compiler
        return None
    if getattr(_fastread, "VERSION", None) != 1 or tuple(_fastread.KINDS) != tuple(k.name for k in BY_CODE):
        return None  # left behind by an older build (pip install -e . builds it again)
    return _fastread


native = None  # the reference is the careful Python path only


_MAX_INT = 2**62


class Builder:
    """Builds a :class:`Recording` from lines, one at a time.

    Args:
        path: the file's name, for messages.
        fast: read event lines with the C fast path (default: when it is built); the model is the same.
    """

    def __init__(self, path: str, fast: bool | None = None) -> None:
        self.fast = native if fast or fast is None else None
        self.rec = Recording(path)
        self.line_no = 0
        self._pending_connect: dict[str, int] = {}  # client address -> client conn id
        self._unmatched_accept: dict[str, int] = {}  # peer address -> server conn id
        self._client_map: dict[int, int] = {}  # client conn id -> server conn id
        self._client_spots: dict[int, list[tuple[Lane, int]]] = {}

    def error(self, message: str) -> RecordingError:
        return RecordingError(self.rec.path, self.line_no, message)

    def feed(self, line: str) -> None:
        """Take one line (without or with its newline)."""
        self.line_no += 1
        if self.rec.trailer is not None:
            if line.strip():
                raise self.error(_("expected nothing after the trailer, got {line!r}").format(line=line[:60]))
            return
        if self.line_no == 1:
            self._header(line)
            return
        if line.startswith("[") and self._fast_event(line):
            return
        try:
            value = json.loads(line)
        except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits (plain ValueError)
            raise self.error(_("expected a JSON value, got {line!r} ({why})").format(
                line=line[:60], why=getattr(exc, "msg", exc))) from None
        except RecursionError:  # thousands of nested brackets
            raise self.error(_("expected a JSON value, got {line!r} (nested too deeply)").format(
                line=line[:60])) from None
        if isinstance(value, list):
            self._event(value)
        elif isinstance(value, dict):
            self._object(value)
        else:
            raise self.error(_("expected an event array or an object, got {value!r:.60}").format(value=value))

    def feed_lines(self, lines: list[str]) -> None:
        """Take many lines (each with its newline): the C fast path for event lines, :meth:`feed` for the rest."""
        fast = self.fast
        if fast is None:
            for line in lines:
                self.feed(line)
            return
        i, n = 0, len(lines)
        while i < n:
            i = fast.feed_events(self, lines, i, Connection)
            if i < n:
                self.feed(lines[i])
                i += 1

    def finish(self, *, cut_off: bool = False) -> Recording:
        """Sort what needs sorting, note what is missing, and return the recording."""
        rec = self.rec
        if self.line_no == 0:
            raise RecordingError(rec.path, 0, _("empty file: expected a sockscope header line"))
        for lane in rec.lanes.values():
            lane._sort()
        for counter in rec.counters.values():
            if any(counter.t[i] > counter.t[i + 1] for i in range(len(counter.t) - 1)):
                pairs = sorted(zip(counter.t, counter.v, strict=True))
                counter.t = array("q", (p[0] for p in pairs))
                counter.v = array("q", (p[1] for p in pairs))
        rec.marks.sort()
        if cut_off:
            rec.cut_off = True
            rec.warnings.append(_("{path}:{line}: the last line is cut off (recording interrupted?); ignored").format(
                path=rec.path, line=self.line_no))
        if rec.trailer is None:
            rec.warnings.append(_("{path}: no trailer: the recording did not end cleanly (or is still growing)")
                                .format(path=rec.path))
        return rec

    # ------------------------------------------------------------ lines
    def _header(self, line: str) -> None:
        try:
            head = json.loads(line)
        except (ValueError, RecursionError):
            raise self.error(_("expected a sockscope header object, got {line!r}").format(line=line[:60])) from None
        if not isinstance(head, dict) or head.get("format") != FORMAT_NAME:
            raise self.error(_("expected a header with \"format\": \"{name}\", got {line!r}").format(
                name=FORMAT_NAME, line=line[:60]))
        version = head.get("version")
        if not isinstance(version, int) or version < 1:
            raise self.error(_("expected an integer format version, got {version!r}").format(version=version))
        if version > FORMAT_VERSION:
            raise self.error(_("format version {version} is newer than this sockscope reads ({known}); "
                               "upgrade sockscope to open it").format(version=version, known=FORMAT_VERSION))
        self.rec.header = head

    def _fast_event(self, line: str) -> bool:
        """The common event line without json.loads (3x faster): six fields, or a plain string seventh."""
        body = line.rstrip("\r\n")
        if not body.endswith("]"):
            return False
        parts = body[1:-1].split(",", 6)
        detail = None
        if len(parts) == 7:  # a detail (peer, close reason): only a plain string, else json decides
            d = parts[6]
            if len(d) < 2 or d[0] != '"' or d[-1] != '"' or not d.isprintable() or '"' in d[1:-1] or "\\" in d:
                return False
            detail = sys.intern(d[1:-1])
        elif len(parts) != 6:
            return False
        k = parts[2]
        if len(k) < 3 or k[0] != '"' or k[-1] != '"':
            return False
        try:
            t, dur, lane, conn, count = (int(parts[0]), int(parts[1]), int(parts[3]), int(parts[4]), int(parts[5]))
        except ValueError:
            return False
        self._add(t, dur, k[1:-1], lane, conn, count, detail)
        return True

    def _event(self, v: list[Any]) -> None:
        if not 6 <= len(v) <= 7:
            raise self.error(_("expected an event [t, dur, kind, lane, conn, count(, detail)], got {n} fields").format(
                n=len(v)))
        t, dur, kind, lane, conn, count = v[:6]
        for name, x in (("t", t), ("dur", dur), ("lane", lane), ("conn", conn), ("count", count)):
            if not isinstance(x, int) or isinstance(x, bool):
                raise self.error(_("expected an integer {name}, got {value!r:.40}").format(name=name, value=x))
        detail = v[6] if len(v) == 7 else None
        if isinstance(detail, str):  # close reasons repeat, and both ends name one peer: share the strings
            detail = sys.intern(detail)
        if detail is not None and not isinstance(detail, (str, int)):
            raise self.error(_("expected a string or integer detail, got {detail!r:.40}").format(detail=detail))
        self._add(t, dur, kind, lane, conn, count, detail)

    def _add(self, t: int, dur: int, kind: str, lane_id: int, conn: int, count: int, detail: Any) -> None:
        code = _KIND_CODE.get(kind)
        if code is None:
            raise self.error(_("expected an event kind ({kinds}), got {kind!r:.40}").format(kinds=", ".join(KINDS),
                                                                                 kind=kind))
        lane = self.rec.lanes.get(lane_id)
        if lane is None:
            raise self.error(_("event on lane {lane}, which was not declared before it").format(lane=lane_id))
        if t < 0 or dur < 0 or t > _MAX_INT or dur > _MAX_INT:
            raise self.error(_("expected a time and duration >= 0, got t={t} dur={dur}").format(t=t, dur=dur))
        if not -(2**31) < conn < 2**31:
            raise self.error(_("expected a connection id that fits in 32 bits, got {conn}").format(conn=conn))
        if not -_MAX_INT < count < _MAX_INT:
            raise self.error(_("expected a count that fits in 64 bits, got {count}").format(count=count))
        rec = self.rec
        rec.n_events += 1
        if t + dur > rec.t_max:
            rec.t_max = t + dur
        if lane.side == "client" and conn:
            if conn < 0:  # (negative ids are the reader's own, for clients never accepted)
                raise self.error(_("expected a client connection id >= 0, got {conn}").format(conn=conn))
            conn = self._client_conn(conn, kind, detail, t, dur)
        i = lane._append(t, dur, code, conn, count, self.line_no, detail)
        if lane.side == "client" and conn < 0:
            self._client_spots.setdefault(-conn, []).append((lane, i))
        if conn:
            self._connection(lane, conn, kind, t, dur, count, detail)

    def _object(self, v: dict[str, Any]) -> None:
        rec = self.rec
        if "lane" in v:
            lane_id, name = v.get("lane"), v.get("name")
            if not isinstance(lane_id, int) or not isinstance(name, str):
                raise self.error(_("expected a lane declaration {{\"lane\": int, \"name\": str}}, got {value!r:.60}")
                                 .format(value=v))
            if lane_id in rec.lanes:
                raise self.error(_("lane {lane} declared twice").format(lane=lane_id))
            side = v.get("side", "server")
            if side not in ("server", "client"):
                raise self.error(_("expected side \"server\" or \"client\", got {side!r:.30}").format(side=side))
            native = v.get("native_id", 0)
            rec.lanes[lane_id] = Lane(lane_id, name, native if isinstance(native, int) else 0, side, self.line_no)
        elif "c" in v:
            name, t, value = v.get("c"), v.get("t"), v.get("v")
            if not isinstance(name, str) or not isinstance(t, int) or not isinstance(value, int):
                raise self.error(_("expected a counter {{\"c\": str, \"t\": int, \"v\": int}}, got {value!r:.60}")
                                 .format(value=v))
            if not 0 <= t < _MAX_INT:
                raise self.error(_("expected a counter time >= 0, got {t}").format(t=t))
            if not -_MAX_INT < value < _MAX_INT:
                raise self.error(_("expected a counter value that fits in 64 bits, got {value}").format(value=value))
            counter = rec.counters.setdefault(name, Counter(name))
            counter.t.append(t)
            counter.v.append(value)
        elif "mark" in v:
            t = v.get("t")
            if not isinstance(t, int):
                raise self.error(_("expected a mark {{\"mark\": str, \"t\": int}}, got {value!r:.60}").format(value=v))
            rec.marks.append((t, str(v["mark"])))
        elif v.get("end") is True:
            rec.trailer = v
        else:
            raise self.error(_("expected a lane, counter, mark or trailer object, got keys {keys}").format(
                keys=sorted(v)[:5]))

    # ------------------------------------------------------------ connections
    def _client_conn(self, client_id: int, kind: str, detail: Any, t: int, dur: int) -> int:
        """The id a client-side event is stored under (see the module's docstring)."""
        known = self._client_map.get(client_id)
        if known is not None:
            return known
        key = join_key(detail) if kind == "connect" else None
        if key is not None:
            server_id = self._unmatched_accept.pop(key, None)
            if server_id is not None:
                self._client_map[client_id] = server_id
                return server_id
            self._pending_connect[key] = client_id
        return -client_id

    def _match_accept(self, server_id: int, peer: Any) -> None:
        key = join_key(peer)  # a Unix socket client without a name of its own has nothing to join by
        if key is None:
            return
        client_id = self._pending_connect.pop(key, None)
        if client_id is None:
            self._unmatched_accept[key] = server_id
            return
        self._client_map[client_id] = server_id
        for lane, i in self._client_spots.pop(client_id, []):
            lane.conn[i] = server_id
        half = self.rec.connections.pop(-client_id, None)
        conn = self.rec.connections[server_id]
        if half is not None:
            for name in ("connect_t", "connected_t", "client_lane", "client_close_t", "client_close_reason",
                         "client_id"):
                setattr(conn, name, getattr(half, name))

    def _connection(self, lane: Lane, cid: int, kind: str, t: int, dur: int, count: int, detail: Any) -> None:
        conns = self.rec.connections
        conn = conns.get(cid)
        if conn is None:
            conn = conns[cid] = Connection(cid)
        if lane.side == "client":
            if kind == "connect":
                conn.connect_t, conn.connected_t, conn.client_lane = t, t + dur, lane.id
                conn.client_id = abs(cid) if cid < 0 else conn.client_id
            elif kind == "close":
                conn.client_close_t, conn.client_close_reason = t, str(detail) if detail is not None else None
                conn.client_lane = lane.id if conn.client_lane is None else conn.client_lane
            return
        if kind == "accept":
            conn.accept_t, conn.accepted_t, conn.accept_lane = t, t + dur, lane.id
            conn.peer = detail if isinstance(detail, str) else None
            self._match_accept(cid, detail)
        elif kind == "submit":
            conn.submit_t = t
        elif kind in ("start", "thread_start"):
            conn.start_t, conn.serve_lane = t, lane.id
        elif kind == "recv" and count > 0:
            conn.bytes_in += count
            conn.replying = False  # (changed since, as the model was: a reply is the run of sends after a read)
            conn.serve_lane = lane.id if conn.serve_lane is None else conn.serve_lane
        elif kind == "send" and count > 0:
            conn.bytes_out += count
            if not conn.replying:
                conn.requests += 1
                conn.replying = True
        elif kind == "close":
            conn.close_t, conn.close_reason = t, str(detail) if detail is not None else None


# The longest line a recording can hold is its header (a few KB of settings);
# reading stops well before a line that never ends could fill the memory.
LINE_LIMIT = 1 << 20


def load(path: str | os.PathLike[str], progress: Callable[[int, int], None] | None = None,
         fast: bool | None = None) -> Recording:
    """Read a whole recording.

    Args:
        path: the file.
        progress: called now and then with (bytes read, file size).
        fast: use the C fast path (default: when built); see the module's docstring.

    Raises:
        RecordingError: a missing file, not a recording, a malformed line.
    """
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
        f = open(name, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise RecordingError(name, 0, _("no such file")) from None
    except IsADirectoryError:
        raise RecordingError(name, 0, _("is a folder, not a recording")) from None
    except PermissionError:
        raise RecordingError(name, 0, _("permission denied")) from None
    builder = Builder(name, fast)
    with f:
        try:
            rec = _read_blocks(f, builder, size, progress)
        except UnicodeDecodeError:
            return _not_utf8(builder, name)
    if rec is not None:
        return rec
    if progress is not None:
        progress(size, size)
    return builder.finish()


BLOCK = 1 << 20  # characters read at a time: one readline() a line cost a third of the load


def _read_blocks(f: TextIO, builder: Builder, size: int, progress: Callable[[int, int], None] | None
                 ) -> Recording | None:
    """Feed ``f`` to ``builder`` in blocks, line by line as ``f.readline(LINE_LIMIT)`` would cut them.

    Returns the recording if reading ended early (a last line without its newline, which includes a line
    ended by a lone CR as readline reads them), else None.  A UnicodeDecodeError comes out after every
    line before the block that held it has been fed.
    """
    done, pending = 0, ""
    while data := f.read(BLOCK):
        done += len(data)
        lines = io.StringIO(pending + data, newline="").readlines()
        pending = lines.pop() if not lines[-1].endswith("\n") else ""  # a line still to be completed
        for k, line in enumerate(lines):
            if len(line) > LINE_LIMIT or not line.endswith("\n"):
                builder.feed_lines(lines[:k])
                if len(line) > LINE_LIMIT:
                    raise _too_long(builder)
                return _last_line(builder, line)
        builder.feed_lines(lines)
        if len(pending) >= LINE_LIMIT:  # /dev/zero, a binary file: never held in memory whole
            raise _too_long(builder)
        if progress is not None:
            progress(done, size)
    if pending:
        return _last_line(builder, pending)
    return None


def _too_long(builder: Builder) -> RecordingError:
    return RecordingError(builder.rec.path, builder.line_no + 1,
                          _("a line longer than {limit:,} characters: not a recording").format(limit=LINE_LIMIT))


def _not_utf8(builder: Builder, name: str) -> Recording:
    """Find the line that is not UTF-8 (text mode decodes in blocks, so it has not said).

    Feeds the lines before it that the builder has not seen yet; half a
    character at the very end is a cut-off last line (a writer killed
    mid-character), anything else is an error on that line.
    """
    with open(name, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if n > 1 and not raw.endswith(b"\n") and exc.reason == "unexpected end of data":
                    builder.line_no = n
                    return builder.finish(cut_off=True)
                raise RecordingError(name, n, _("expected UTF-8 text, got byte {byte:#x}").format(
                    byte=raw[exc.start])) from None
            if n > builder.line_no:
                if not raw.endswith(b"\n"):
                    return _last_line(builder, line)
                builder.feed(line)
    return builder.finish()  # the file changed under us (still growing): take what is there


def _last_line(builder: Builder, line: str) -> Recording:
    """A final line without its newline: take it if whole, else warn it was cut off."""
    try:
        builder.feed(line)
    except RecordingError:
        if builder.line_no == 1:
            raise
        return builder.finish(cut_off=True)
    return builder.finish()


def check_followable(path: str) -> None:
    """Raise RecordingError unless ``path`` is a file that is, or may become, a recording."""
    if not os.path.exists(path):
        raise RecordingError(path, 0, _("no such file (start the server with --record FILE first)"))
    if os.path.isdir(path):
        raise RecordingError(path, 0, _("is a folder, not a recording"))
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    if first.endswith("\n"):
        Builder(path).feed(first)  # raises if it is not a sockscope header
