"""What a grading session's recording shows, run by run: the facts every requirement reads.

How this works
--------------
A grading session fires its runs one after another at one server, each from
a client process of its own with its own lane range (round ``k`` owns lanes
``k * LANES_PER_ROUND`` ...), so a client lane's id says which run it belongs
to and its name (``client-7``) which client of the run it was.  From the
client lanes alone each connection's story as the client lived it is read:
when it connected, what it sent, when its last reply byte came, and why it
closed (``client`` after every reply came; ``timeout``, ``eof``, ``reset``,
``no reply`` otherwise; the hostile clients' verdicts).  The server's side
(backlog, queue, service) comes from the reader's joined
:class:`~tracer.recording.model.Connection`, and the threads alive from the
server lanes, each alive from its first event to its ``thread_exit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tracer.analysis.check import Finding
from tracer.clients.toolkit import LANES_PER_ROUND, Outcome
from tracer.locale import N_, _, ngettext
from tracer.recording.events import KINDS
from tracer.recording.model import Connection, Recording
from tracer.units import fmt_time

_CONNECT, _SEND, _RECV, _CLOSE = (KINDS[k].code for k in ("connect", "send", "recv", "close"))
_START, _EXIT = KINDS["thread_start"].code, KINDS["thread_exit"].code


@dataclass
class RunWindow:
    """One run of a session: what was fired, whether it ran, and when (ns on the recording's clock).

    Attributes:
        status: ``done``; ``cut short`` (the server died or time ran out during
            it); ``not run`` (that happened before it).
    """

    name: str
    scenario: str
    params: Mapping[str, float | int]
    round: int
    status: str = "not run"
    why: str | None = None
    outcome: Outcome | None = None
    t0: int = 0
    t1: int = 0


@dataclass
class ClientConn:
    """One connection as its client lived it.

    Attributes:
        conn: its id in the recording (the server's; negative: never accepted).
        index: which client of its run (``client-7`` is 7).
        sent: request bytes the client sent.
        reply_end: when the last reply byte arrived (None: none did).
        reason: the client's close reason (``client`` once every reply came).
    """

    conn: int
    lane: int
    index: int
    connect_t: int | None = None
    sent: int = 0
    reply_end: int | None = None
    close_t: int | None = None
    reason: str | None = None

    @property
    def answered(self) -> bool:
        return self.sent > 0 and self.reason == "client"

    @property
    def latency(self) -> int | None:
        """From the connect to the last reply byte (None: not answered)."""
        if not self.answered or self.connect_t is None or self.reply_end is None:
            return None
        return self.reply_end - self.connect_t


@dataclass
class Evidence:
    """A session's recording, its runs and ``check``'s findings, read once for every requirement."""

    rec: Recording
    runs: dict[str, RunWindow]
    findings: list[Finding]
    clients_by_round: dict[int, list[ClientConn]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.clients_by_round = _client_conns(self.rec)
        for run in self.runs.values():
            lanes = [lane for lane in self.rec.client_lanes() if lane.id // LANES_PER_ROUND == run.round and len(lane)]
            if lanes:
                run.t0 = min(lane.t[0] for lane in lanes)
                run.t1 = max(lane.end for lane in lanes)

    def clients(self, run: str) -> list[ClientConn]:
        """The run's connections, in client order."""
        return self.clients_by_round.get(self.runs[run].round, [])

    def connection(self, conn: int) -> Connection | None:
        return self.rec.connections.get(conn)

    # ------------------------------------------------------------ threads
    def alive_steps(self) -> list[tuple[int, int]]:
        """(time, server threads alive from then on), one step per change."""
        changes: list[tuple[int, int]] = []
        for lane in self.rec.server_lanes():
            if len(lane):
                changes.append((lane.t[0], 1))
                if lane.kind[-1] == _EXIT:
                    changes.append((lane.t[-1], -1))
        changes.sort()  # exits (-1) first at a tie
        steps, alive = [], 0
        for t, delta in changes:
            alive += delta
            steps.append((t, alive))
        return steps

    def peak_alive(self, t0: int = 0, t1: int | None = None) -> tuple[int, int]:
        """The most server threads alive at once between ``t0`` and ``t1``, and when: (count, time)."""
        t1 = self.rec.t_max if t1 is None else t1
        best, when, alive = 0, t0, 0
        for t, n in self.alive_steps():
            if t <= t0:
                alive = n
                continue
            if t > t1:
                break
            if n > best:
                best, when = n, t
        if alive > best:
            best, when = alive, t0
        counter = self.rec.counters.get("threads")
        if counter is not None:
            for t, v in zip(counter.t, counter.v, strict=True):
                if t0 <= t <= t1 and v > best:
                    best, when = v, t
        return best, when

    def threads_started(self, t0: int = 0, t1: int | None = None) -> list[tuple[int, str]]:
        """(time, lane name) of every server thread that started between ``t0`` and ``t1``, in time order."""
        t1 = self.rec.t_max if t1 is None else t1
        out = []
        for lane in self.rec.server_lanes():
            for t, code in zip(lane.t, lane.kind, strict=True):
                if code == _START and t0 <= t <= t1:
                    out.append((t, lane.name))
        return sorted(out)


def _client_conns(rec: Recording) -> dict[int, list[ClientConn]]:
    by_round: dict[int, list[ClientConn]] = {}
    for lane in rec.client_lanes():
        index = _index(lane.name)
        mine: dict[int, ClientConn] = {}
        for i in range(len(lane)):
            conn, code = lane.conn[i], lane.kind[i]
            if not conn:
                continue
            cc = mine.get(conn)
            if cc is None:
                cc = mine[conn] = ClientConn(conn, lane.id, index)
            if code == _CONNECT:
                cc.connect_t = lane.t[i]
            elif code == _SEND and lane.count[i] > 0:
                cc.sent += lane.count[i]
            elif code == _RECV and lane.count[i] > 0:
                cc.reply_end = lane.t[i] + lane.dur[i]
            elif code == _CLOSE:
                cc.close_t = lane.t[i]
                detail = lane.details.get(i)
                cc.reason = str(detail) if detail is not None else None
                cc.connect_t = cc.connect_t if cc.connect_t is not None else lane.t[i]
        by_round.setdefault(lane.id // LANES_PER_ROUND, []).extend(mine.values())
    for conns in by_round.values():
        conns.sort(key=lambda c: (c.index, c.connect_t or 0))
    return by_round


def _index(name: str) -> int:
    tail = name.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


# ---------------------------------------------------------------- in words
@dataclass(frozen=True)
class Story:
    """Why a connection was not answered: in words, the moment that shows it, the lessons that explain it."""

    text: str
    at: int | None
    lessons: tuple[int, ...]


def story(ev: Evidence, cc: ClientConn) -> Story:
    """Why ``cc`` was not answered, in a sentence a student understands (LESSONS.md rows for ``--explain``)."""
    c = ev.connection(cc.conn)
    gave_up = _gave_up(cc)
    if c is None or c.accept_t is None:
        if cc.reason == "refused":
            return Story(_("connection {conn} was refused: nothing accepted connections").format(conn=cc.conn),
                         cc.connect_t, (7,))
        return Story(_("connection {conn} was never accepted: it waited in the kernel's backlog from {time} until "
                       "the client {gave_up}").format(conn=cc.conn, time=_t(c.connected_t if c else cc.connect_t),
                                                      gave_up=gave_up), cc.connect_t, (7, 5))
    if c.submit_t is not None and c.start_t is None:
        busy = _in_service(ev, c.submit_t)
        behind = ngettext(" behind {n} connection in service", " behind {n} connections in service", busy).format(
            n=busy) if busy else ""
        return Story(_("connection {conn} was never answered: it waited {time} in the pool's queue{behind}, and the "
                       "client {gave_up}").format(conn=cc.conn, time=_d(_end(cc, ev) - c.submit_t), behind=behind,
                                                  gave_up=gave_up), c.submit_t, (4, 8))
    if c.requests and cc.sent:
        collected = (_(": the server never called close(), Python closed the socket when it collected it")
                     if c.close_t is None and cc.reason == "eof" else "")
        return Story(ngettext(
            "connection {conn} was answered {n} time, then its next request was never answered: after its last send "
            "the server did not read again, and the client {gave_up}{collected}",
            "connection {conn} was answered {n} times, then its next request was never answered: after its last send "
            "the server did not read again, and the client {gave_up}{collected}", c.requests).format(
                conn=cc.conn, n=c.requests, gave_up=gave_up, collected=collected),
            _last_server_send(ev, cc.conn) or c.accepted_t, (12,))
    if c.bytes_in == 0:
        return Story(_("connection {conn} was accepted at {time} but no thread read its request; the client "
                       "{gave_up}").format(conn=cc.conn, time=_t(c.accepted_t), gave_up=gave_up), c.accepted_t, (11, 4))
    return Story(_("connection {conn}: the server read {n} bytes but sent no answer; the client {gave_up}").format(
        conn=cc.conn, n=c.bytes_in, gave_up=gave_up), c.accepted_t, (1, 11))


def waits(ev: Evidence, cc: ClientConn) -> str:
    """Where an answered connection's time went: ``1.2 s in the pool's queue, 3 ms in service``."""
    c = ev.connection(cc.conn)
    if c is None:
        return ""
    parts = [_("{time} {where}").format(time=_d(v), where=_(where))
             for v, where in ((c.backlog_wait, N_("in the kernel's backlog")),
                              (c.queue_wait, N_("in the pool's queue")), (c.service, N_("in service"))) if v]
    return _(", ").join(parts)


def _gave_up(cc: ClientConn) -> str:
    why = {"timeout": N_("gave up waiting"), "eof": N_("saw the server hang up"), "reset": N_("was reset"),
           "shutdown": N_("was stopped at the end of the run"), "no reply": N_("got an incomplete reply")}
    text = _(why[cc.reason]) if cc.reason in why else _("closed it ({reason})").format(reason=cc.reason)
    return _("{what} at {time}").format(what=text, time=_t(cc.close_t)) if cc.close_t is not None else text


def _end(cc: ClientConn, ev: Evidence) -> int:
    return cc.close_t if cc.close_t is not None else ev.rec.t_max


def _in_service(ev: Evidence, t: int) -> int:
    """Connections being served at ``t`` (started, closed by neither end yet)."""
    n = 0
    for c in ev.rec.connections.values():
        begin = c.start_t if c.start_t is not None else c.accepted_t
        if c.id > 0 and begin is not None and begin <= t and (c.close_t is None or c.close_t > t) \
                and (c.client_close_t is None or c.client_close_t > t):
            n += 1
    return n


def _last_server_send(ev: Evidence, conn: int) -> int | None:
    sends = [e.t for e in ev.rec.connection_events(conn)
             if e.kind == "send" and ev.rec.lanes[e.lane].side == "server"]
    return sends[-1] if sends else None


def _t(ns: int | None) -> str:
    return fmt_time(ns, significant=True) if ns is not None else _("the start")


def _d(ns: int | None) -> str:
    return fmt_time(ns, significant=True)
