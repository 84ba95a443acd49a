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
the orjson floor then; at or under it now (0.75-0.99x, README.md's "Big
recordings" says how it got there).  Connections are columns now
(:mod:`tracer.recording.conntable`), which the C path writes in place: the
model went from ~117 to ~54 bytes an event.
"""

from __future__ import annotations

import io
import json
import os
import sys
from array import array
from collections.abc import Callable
from typing import Any, TextIO

from tracer.addresses import join_key
from tracer.errors import RecordingError
from tracer.locale import _, listed
from tracer.recording.conntable import HALF, NONE
from tracer.recording.events import KINDS
from tracer.recording.fastpath import native
from tracer.recording.format import FORMAT_NAME, FORMAT_VERSION
from tracer.recording.model import Counter, Lane, Recording

_KIND_CODE = {name: k.code for name, k in KINDS.items()}




_MAX_INT = 2**62


class IdMap:
    """Client connection id (> 0) -> server connection id (!= 0), as a dict would: a dense array where ids are
    near each other (one a connection: a dict of ~900,000 ints was ~90 MB at 10M events), a dict beyond.

    ``dense[k - base]`` is 0 for none; an id outside the array is looked up in ``far``.  ``base`` is set by the
    first id written: a client process numbers its connections from its round's first id (10,000,000 times
    the round), so without it every client id of a real recording went to the dict.  A write to an id the
    array covers goes to the array (so the array, when it holds a value, holds the latest).  The C fast path
    reads and writes ``dense`` in place and calls ``__setitem__`` outside it.
    """

    __slots__ = ("dense", "far", "base")

    def __init__(self) -> None:
        self.dense = array("i")
        self.far: dict[int, int] = {}
        self.base = 0

    def get(self, k: int) -> int | None:
        j = k - self.base
        if 0 <= j < len(self.dense):
            v = self.dense[j]
            if v:
                return v
        return self.far.get(k)

    def __setitem__(self, k: int, v: int) -> None:
        d = self.dense
        if not d and not self.far and k >= _DENSE_SLACK:  # (ids near 0 keep base 0, as a server's)
            self.base = k - _BASE_SLACK  # room below for ids that came first but are matched later
        j = k - self.base
        if 0 <= j < len(d):
            d[j] = v
        elif 0 <= j < 2 * len(d) + _DENSE_SLACK:
            d.frombytes(bytes(4 * (max(j + 1, len(d) * 5 // 4 + 1024) - len(d))))
            d[j] = v
        else:
            self.far[k] = v


_DENSE_SLACK = 1 << 16
_BASE_SLACK = 1 << 12


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
        self._client_map = IdMap()  # client conn id -> server conn id
        self._client_spots: dict[int, list[tuple[Lane, int]]] = {}
        self._fast_details: Any = None  # the C path's table of the details' strings, kept across its calls

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
            i = fast.feed_events(self, lines, i)
            if i < n:
                self.feed(lines[i])
                i += 1

    def finish(self, *, cut_off: bool = False) -> Recording:
        """Sort what needs sorting, note what is missing, and return the recording."""
        rec = self.rec
        if self.line_no == 0:
            raise RecordingError(rec.path, 0, _("empty file: expected a sockscope header line"))
        fit = getattr(native, "fit", None)  # (the C path grew the lanes' arrays with room to spare: given back)
        for lane in rec.lanes.values():
            lane._sort()
            if fit is not None:
                for col in (lane.t, lane.dur, lane.kind, lane.conn, lane.count, lane.lines, lane.details.idx,
                            lane.details.vid):
                    fit(col)
        for counter in rec.counters.values():
            if any(counter.t[i] > counter.t[i + 1] for i in range(len(counter.t) - 1)):
                pairs = sorted(zip(counter.t, counter.v, strict=True))
                counter.t = array("q", (p[0] for p in pairs))
                counter.v = array("q", (p[1] for p in pairs))
        rec.marks.sort()
        rec.connections.trim()
        rec.values.forget_ids()  # only the builder looks values up (~100 bytes a distinct peer); reading uses items
        self._fast_details = None  # the C path's table of them (it holds each str)
        rec.values.pack()
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
            raise self.error(_("expected an event kind ({kinds}), got {kind!r:.40}").format(kinds=listed(KINDS),
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
            native_id = v.get("native_id", 0)
            lane = rec.lanes[lane_id] = Lane(lane_id, name, native_id if isinstance(native_id, int) else 0, side,
                                             self.line_no, rec.values)
            lane.index = len(rec.lane_ids)
            rec.lane_ids.append(lane_id)
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
        table = self.rec.connections
        half = table.drop(-client_id)
        r = table.row_of(server_id)
        if half >= 0 and r >= 0:  # (r < 0: the server end was stored under the half's own id)
            for name in HALF:
                col = getattr(table, name)
                col[r] = col[half]

    def _lane_index(self, lane: Lane) -> int:
        """The lane's number for the connection table (a lane put in ``rec.lanes`` by hand gets one now)."""
        if lane.index < 0:
            lane.index = len(self.rec.lane_ids)
            self.rec.lane_ids.append(lane.id)
        return lane.index

    def _connection(self, lane: Lane, cid: int, kind: str, t: int, dur: int, count: int, detail: Any) -> None:
        table = self.rec.connections
        r = table.row_of(cid)
        if r < 0:
            r = table.new(cid)
        li = self._lane_index(lane)
        values = self.rec.values
        if lane.side == "client":
            if kind == "connect":
                table.connect_t[r], table.connect_dur[r], table.client_lane[r] = t, dur, li
                if cid < 0:
                    table.client_id[r] = -cid
            elif kind == "close":
                table.client_close_t[r] = t
                table.client_close_reason[r] = values.id_of(str(detail)) if detail is not None else NONE
                if table.client_lane[r] == NONE:
                    table.client_lane[r] = li
            return
        if kind == "accept":
            table.accept_t[r], table.accept_dur[r], table.accept_lane[r] = t, dur, li
            table.peer[r] = values.id_of(detail) if isinstance(detail, str) else NONE
            self._match_accept(cid, detail)
        elif kind == "submit":
            table.submit_t[r] = t
        elif kind in ("start", "thread_start"):
            table.start_t[r], table.serve_lane[r] = t, li
        elif kind == "recv" and count > 0:
            table.add("bytes_in", r, count)
            table.replying[r] = 0
            if table.serve_lane[r] == NONE:
                table.serve_lane[r] = li
        elif kind == "send" and count > 0:
            table.add("bytes_out", r, count)
            if not table.replying[r]:  # a reply is the run of sends after a read (http.server sends two a reply)
                table.requests[r] += 1
                table.replying[r] = 1
        elif kind == "close":
            table.close_t[r] = t
            table.close_reason[r] = values.id_of(str(detail)) if detail is not None else NONE


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
    builder = Builder(name, fast)
    block = getattr(builder.fast, "feed_block", None)
    try:
        size = os.path.getsize(name)
        # the C path reads the file's bytes (decoding 1 MB blocks to str, and a new str a block, was ~3% of a load)
        f: Any = open(name, "rb") if block is not None else open(name, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise RecordingError(name, 0, _("no such file")) from None
    except IsADirectoryError:
        raise RecordingError(name, 0, _("is a folder, not a recording")) from None
    except PermissionError:
        raise RecordingError(name, 0, _("permission denied")) from None
    with f:
        try:
            rec = _read_bytes(f, builder, size, progress) if block is not None else _read_blocks(f, builder, size,
                                                                                                 progress)
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
    """Feed ``f`` to ``builder`` in blocks, line by line as ``f.readline(LINE_LIMIT)`` would cut them (a text
    file: load's way without the C path, which reads bytes with :func:`_read_bytes`).

    Returns the recording if reading ended early (a last line without its newline, which includes a line
    ended by a lone CR as readline reads them), else None.  A UnicodeDecodeError comes out after every
    line before the block that held it has been fed.
    """
    done, pending = 0, ""
    block = getattr(builder.fast, "feed_block", None)
    while data := f.read(BLOCK):
        done += len(data)
        start = 0
        if pending and block is not None:
            # the line the last block began, fed on its own: pending + data copied the whole block (~1% of a load)
            start = data.find("\n") + 1
            if start:
                if (rec := _feed_block(builder, block, pending + data[:start], 0)[0]) is not None:
                    return rec
                pending = ""  # (it ended with its newline: nothing is left over)
        rec, pending = _feed_block(builder, block, pending + data if pending else data, start)
        if rec is not None:
            return rec
        if len(pending) >= LINE_LIMIT:  # /dev/zero, a binary file: never held in memory whole
            raise _too_long(builder)
        if progress is not None:
            progress(done, size)
    if pending:
        return _last_line(builder, pending)
    return None


def _read_bytes(f: io.BufferedReader, builder: Builder, size: int, progress: Callable[[int, int], None] | None
                ) -> Recording | None:
    """:func:`_read_blocks` over the file's bytes, for the C path (``feed_block`` takes bytes as it takes str).

    Read into one buffer, the line left unfinished at its start; the C path takes the complete lines in place
    and stops at the first it does not take (one that is not ASCII or UTF-8 text among them), and from there the
    block's lines are decoded and go the way :func:`_read_blocks` sends them.  A UnicodeDecodeError comes out
    as there, the lines before it fed (:func:`_not_utf8` goes on from the builder's line).
    """
    block = getattr(builder.fast, "feed_block")  # noqa: B009 (load() checked it is there)
    buf = bytearray(BLOCK)
    have = done = 0  # bytes in buf (an unfinished line first), bytes read
    while True:
        if have == len(buf):  # a line longer than the buffer
            buf.extend(bytes(len(buf)))
        with memoryview(buf) as whole, whole[have:] as room:
            n = f.readinto(room)
        if not n:
            break
        done += n
        have += n
        stop = buf.rfind(b"\n", 0, have) + 1
        at = 0
        if stop and builder.line_no == 0:  # the header is the careful path's
            at = buf.find(b"\n", 0, stop) + 1
            if (rec := _feed_text(builder, buf[:at].decode("utf-8"))[0]) is not None:
                return rec
        if stop and builder.line_no:
            at = block(builder, buf, at, stop, LINE_LIMIT)
        if at < stop and (rec := _feed_text(builder, buf[at:stop].decode("utf-8"))[0]) is not None:
            return rec
        if stop:
            buf[:have - stop] = buf[stop:have]  # the unfinished line to the front (the same length: no resize)
            have -= stop
        if have and buf.find(b"\r", 0, have - 1) >= 0:  # a lone CR ends a line as readline cuts them: reading
            rec, _rest = _feed_text(builder, _text(buf[:have]))  # ends there, as in _read_blocks
            if rec is not None:
                return rec
        if have >= LINE_LIMIT and len(_text(buf[:have])) >= LINE_LIMIT:  # /dev/zero: never held in memory whole
            raise _too_long(builder)
        if progress is not None:
            progress(done, size)
    if have:
        rec, pending = _feed_text(builder, buf[:have].decode("utf-8"))
        return rec if rec is not None else _last_line(builder, pending)
    return None


def _text(data: bytearray) -> str:
    """A line's first bytes as text mode holds them: a character cut off at the end waits for its next bytes;
    a byte that is not UTF-8 raises UnicodeDecodeError, as text mode would."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data" or exc.end != len(data):
            raise
        return data[:exc.start].decode("utf-8")


def _feed_block(builder: Builder, block: Callable[..., int] | None, text: str, start: int
                ) -> tuple[Recording | None, str]:
    """Feed the lines of ``text[start:]`` (``start`` just after a newline, or 0), as :func:`_feed_text` does."""
    at = start
    if block is not None:
        # the C path reads the block's lines in place (a str a line cost ~15% of the load), and stops at the
        # first line it does not take; the lines from there on go the way below, as they always went
        if builder.line_no == 0:  # the header is the careful path's
            at = text.find("\n", start) + 1 or start
            if at > start and (rec := _feed_text(builder, text[start:at])[0]) is not None:
                return rec, ""
        if builder.line_no:
            at = block(builder, text, at, text.rfind("\n") + 1, LINE_LIMIT)
    return _feed_text(builder, text[at:] if at else text)


def _feed_text(builder: Builder, text: str) -> tuple[Recording | None, str]:
    """Feed ``text``'s lines as readline cuts them: (the recording if reading ended early, the line left over)."""
    if not text:
        return None, ""
    lines = io.StringIO(text, newline="").readlines()
    pending = lines.pop() if not lines[-1].endswith("\n") else ""  # a line still to be completed
    for k, line in enumerate(lines):
        if len(line) > LINE_LIMIT or not line.endswith("\n"):
            builder.feed_lines(lines[:k])
            if len(line) > LINE_LIMIT:
                raise _too_long(builder)
            return _last_line(builder, line), ""
    builder.feed_lines(lines)
    return None, pending


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
