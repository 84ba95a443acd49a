"""``check``: validate a recording against the connection lifecycle.

How this works
--------------
Every event that names a connection is replayed, in time order, through the
one lifecycle table (:data:`tracer.lifecycle.TABLE`), separately for the
connection's server side and client side.  What the table does not allow
becomes a :class:`Finding` with the recording's line number; so does a side
left open at the end.  Lanes are checked for events after ``thread_exit`` and
for ending without one (threads alive when the recorder closed are listed in
the trailer and exempt, as is ``MainThread``, which never exits).  The
trailer's absence and its dropped count are findings too.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass

from tracer.analysis import lifecycle
from tracer.analysis.stats import where
from tracer.locale import N_, N_n, _, listed, ngettext
from tracer.recording import fastpath
from tracer.recording.events import BY_CODE, KINDS
from tracer.recording.model import Recording
from tracer.recording.reader import load

_EXIT = KINDS["thread_exit"].code
_CONNECT = KINDS["connect"].code

# Finding codes, in the order a report lists them, with their names (translated where shown: _(CODES[code])).
CODES = {
    "never-closed": N_("connection never closed"),
    "recv-after-close": N_("recv after close"),
    "after-close": N_("event after close"),
    "unexpected": N_("event the lifecycle does not allow"),
    "after-thread-exit": N_("event after thread_exit"),
    "no-thread-exit": N_("lane ends without thread_exit"),
    "no-trailer": N_("missing trailer"),
    "cut-off": N_("last line cut off"),
    "dropped": N_("events dropped while recording"),
}
# The same, counted: "1 connection never closed", "3 connections never closed".
COUNTED = {
    "never-closed": N_n("{n:,} connection never closed", "{n:,} connections never closed"),
    "recv-after-close": N_n("{n:,} recv after close", "{n:,} recvs after close"),
    "after-close": N_n("{n:,} event after close", "{n:,} events after close"),
    "unexpected": N_n("{n:,} event the lifecycle does not allow", "{n:,} events the lifecycle does not allow"),
    "after-thread-exit": N_n("{n:,} event after thread_exit", "{n:,} events after thread_exit"),
    "no-thread-exit": N_n("{n:,} lane ends without thread_exit", "{n:,} lanes end without thread_exit"),
    "no-trailer": N_n("{n:,} missing trailer", "{n:,} missing trailers"),
    "cut-off": N_n("{n:,} last line cut off", "{n:,} last lines cut off"),
    "dropped": N_n("{n:,} report of events dropped while recording",
                   "{n:,} reports of events dropped while recording"),
}


def code_count(code: str, n: int) -> str:
    """``n`` findings of ``code`` in words, in the language in force: ``3 connections never closed``."""
    singular, plural = COUNTED[code]
    return ngettext(singular, plural, n).format(n=n)


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a recording.

    Attributes:
        line: the 1-based line of the recording it is about (0: the whole file).
        code: a key of :data:`CODES`.
        message: what was found, in words.
        conn: the connection it is about (0: none).
        lane: the lane it is about, if any.
    """

    line: int
    code: str
    message: str
    conn: int = 0
    lane: int | None = None


def check_file(path: str | os.PathLike[str]) -> list[Finding]:
    """Load and check a recording file.

    Raises:
        RecordingError: the file is missing or is not a recording.
    """
    rec = load(path)
    return check(rec, n_lines=count_lines(os.fspath(path)))


def check(rec: Recording, n_lines: int | None = None) -> list[Finding]:
    """Every finding about ``rec``, ordered by line.

    Args:
        rec: a loaded recording.
        n_lines: the file's number of lines (the trailer's line number), if known.
    """
    last = n_lines or 0
    found = _connections(rec) + _lanes(rec) + _ending(rec, last)
    found.sort(key=lambda f: (f.line, f.conn, f.code))
    return found


def count_lines(path: str) -> int:
    """The number of lines in a file, the last one counted even without its newline."""
    n = 0
    last = b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


# ------------------------------------------------------------------ connections
# The lifecycle's states as numbers (0: not seen yet), for the walk's table and the C walk's.
_STATE_NAMES: list[str | None] = [None, *sorted({key[1] for key in lifecycle.TABLE if key[1]}
                                                | set(lifecycle.TABLE.values()))]
_STATE_OF = {name: k for k, name in enumerate(_STATE_NAMES)}
_SIDES = ("server", "client")


def _walk_table() -> dict[str, dict[tuple[int, int], int]]:
    """The lifecycle table keyed by (state number, kind code), per side: the hot loop's one lookup."""
    table: dict[str, dict[tuple[int, int], int]] = {"server": {}, "client": {}}
    for (side, before, kind), after in lifecycle.TABLE.items():
        table[side][(_STATE_OF[before], KINDS[kind].code)] = _STATE_OF[after]
    return table


def _walk_bytes() -> bytes:
    """:func:`_walk_table` as the C walk reads it: a byte per (side, state, kind code), the next state + 1."""
    raw = bytearray(2 * len(_STATE_NAMES) * 256)
    table = _walk_table()
    for k, side in enumerate(_SIDES):
        for (state, code), after in table[side].items():
            raw[(k * len(_STATE_NAMES) + state) * 256 + code] = after + 1
    return bytes(raw)


_OPEN = [_STATE_OF[name] for name in sorted(lifecycle.OPEN_STATES)]
_CLOSED = _STATE_OF["closed"]


def _by_connection(rec: Recording) -> dict[tuple[int, str], list[tuple[int, int, int, int]]]:
    """(conn, side) -> [(t, line, kind code, lane)] of every event naming a connection."""
    groups: dict[tuple[int, str], list[tuple[int, int, int, int]]] = {}
    for lane in rec.lanes.values():
        side, lid = lane.side, lane.id
        for t, code, conn, line in zip(lane.t, lane.kind, lane.conn, lane.lines, strict=True):
            if conn:
                key = (conn, side)
                group = groups.get(key)
                if group is None:
                    group = groups[key] = []
                group.append((t, line, code, lid))
    return groups


Step = tuple[int, ...]  # (0, line, conn, side, state, code, lane, closed line) or (1, line, conn, side, state, code)


def walk(rec: Recording) -> list[Step]:
    """Each connection side's events through the lifecycle table, in the order first seen: what it does not
    allow, and the sides it leaves open (see :func:`_connections`).  The C extension's loop
    (``tracer/recording/_fastread.c``, lifecycle_walk) where it reads the lanes' columns, else :func:`walk_python`.
    """
    fast = fastpath.native
    lanes = list(rec.lanes.values())
    if (fast is not None and hasattr(fast, "lifecycle_walk") and all(lane.side in _SIDES for lane in lanes)
            and all(isinstance(col, array) for lane in lanes for col in (lane.t, lane.kind, lane.conn, lane.lines))
            and all(lane.kind.typecode == "b" for lane in lanes)):
        return list(fast.lifecycle_walk([(lane.id, lane.side == "client", lane.t, lane.kind, lane.conn, lane.lines)
                                         for lane in lanes], _walk_bytes(), len(_STATE_NAMES),
                                        sum(1 << k for k in _OPEN), _CLOSED))
    return walk_python(rec)


def walk_python(rec: Recording) -> list[Step]:
    table = _walk_table()
    out: list[Step] = []
    for (conn, side), events in _by_connection(rec).items():
        events.sort()  # time order; ties in file order
        allowed = table[side]
        s = _SIDES.index(side)
        state = 0
        closed_line = 0
        for _t, line, code, lane in events:
            nxt = allowed.get((state, code))
            if nxt is None:
                out.append((0, line, conn, s, state, code, lane, closed_line))
                continue
            if nxt == _CLOSED and not closed_line:
                closed_line = line
            state = nxt
        if state in _OPEN:
            out.append((1, events[-1][1], conn, s, state, events[-1][2]))
    return out


def conn_label(conn: int) -> str:
    """A connection's number as a student reads it: the reader numbers a client's half that no accept in the
    recording matches (a cut file, a client program's) below zero; it is shown by the client's own id."""
    return str(conn) if conn >= 0 else _("{id} (client side only)").format(id=-conn)


def _connections(rec: Recording) -> list[Finding]:
    found: list[Finding] = []
    failed: set[int] | None = None
    for step in walk(rec):
        if step[0] == 0:
            line, conn, s, state, code, lane, closed_line = step[1:]
            found.append(_disallowed(rec, _SIDES[s], _STATE_NAMES[state], BY_CODE[code].name, line, lane, conn,
                                     closed_line))
            continue
        line, conn, s, state, code = step[1:]
        c = rec.connections.get(conn)
        if s == 1:
            if failed is None:
                failed = failed_connects(rec)
            if conn in failed:
                continue  # refused (or timed out): the socket never connected, no connection was left open
        peer = f" ({c.peer})" if c is not None and c.peer else ""
        said = (_("connection {conn}{peer} never closed by the server: its last event is {kind} (state {state})")
                if s == 0 else
                _("connection {conn}{peer} never closed by the client: its last event is {kind} (state {state})"))
        found.append(Finding(line, "never-closed", said.format(conn=conn_label(conn), peer=peer,
                                                               kind=BY_CODE[code].name,
                                                               state=_state(_STATE_NAMES[state])), conn))
    return found


def failed_connects(rec: Recording) -> set[int]:
    """The connections whose client-side connect failed (refused, timed out, an error): never connected, so a
    socket left unclosed after it is no connection left open.  One pass over the client lanes' connects."""
    out: set[int] = set()
    for lane in rec.client_lanes():
        conns, details = lane.conn, lane.details
        for i in where(lane.kind, _CONNECT):
            if conns[i] and lifecycle.connect_failed(details.get(i)):
                out.add(conns[i])
    return out


def _disallowed(rec: Recording, side: str, state: str | None, kind: str, line: int, lane: int, conn: int,
                closed_line: int) -> Finding:
    name = rec.lanes[lane].name
    if state == "closed":
        code = "recv-after-close" if kind == "recv" else "after-close"
        return Finding(line, code, _("connection {conn}: {kind} on {lane} after its close at line {line}").format(
            conn=conn_label(conn), kind=kind, lane=name, line=closed_line), conn, lane)
    expected = listed(lifecycle.expected_after(side, state)) or _("nothing")
    now = _state(state) if state else (_("not accepted yet") if side == "server" else _("not connected yet"))
    said = (_("connection {conn}: {kind} on {lane} on the server side while {state}; expected {expected}")
            if side == "server" else
            _("connection {conn}: {kind} on {lane} on the client side while {state}; expected {expected}"))
    return Finding(line, "unexpected", said.format(conn=conn_label(conn), kind=kind, lane=name, state=now,
                                                   expected=expected), conn, lane)


# The lifecycle's states, as a finding names them (the table's own names stay the key).
STATES = {"accepted": N_("accepted"), "queued": N_("queued"), "serving": N_("serving"),
          "connected": N_("connected"), "closed": N_("closed")}


def _state(state: str | None) -> str:
    return _(STATES[state]) if state in STATES else str(state)


# ------------------------------------------------------------------ lanes and the ending
def _lanes(rec: Recording) -> list[Finding]:
    found: list[Finding] = []
    alive = set(rec.trailer.get("alive_lanes") or []) if rec.trailer else set()
    for lane in rec.lanes.values():
        kinds = lane.kind
        if not len(kinds):
            continue
        first_exit = next(where(kinds, _EXIT), -1)
        if 0 <= first_exit < len(kinds) - 1:
            i = first_exit + 1
            found.append(Finding(lane.lines[i], "after-thread-exit",
                                 _("lane {lane} ({name}): {kind} after its thread_exit at line {line}").format(
                                     lane=lane.id, name=lane.name, kind=BY_CODE[kinds[i]].name,
                                     line=lane.lines[first_exit]), lane=lane.id))
        # Only a recording that ended cleanly says which threads were still alive.
        if first_exit < 0 and rec.trailer is not None and lane.id not in alive and lane.name != "MainThread":
            found.append(Finding(lane.lines[-1], "no-thread-exit",
                                 _("lane {lane} ({name}) ends without thread_exit, and the trailer does not list "
                                   "it as alive").format(lane=lane.id, name=lane.name), lane=lane.id))
    return found


def _ending(rec: Recording, last: int) -> list[Finding]:
    found: list[Finding] = []
    if rec.cut_off:
        found.append(Finding(last, "cut-off", _("the last line is cut off: the recording was interrupted")))
    if rec.trailer is None:
        found.append(Finding(last, "no-trailer", _("no trailer: the recording did not end cleanly "
                                                   "(the server was killed?) or is still being written")))
    elif rec.dropped:
        found.append(Finding(last, "dropped", ngettext(
            "{n} event was dropped while recording (the writer fell behind): the recording is incomplete",
            "{n} events were dropped while recording (the writer fell behind): the recording is incomplete",
            rec.dropped).format(n=rec.dropped)))
    return found
