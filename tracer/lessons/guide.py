"""Lessons as data, and what each step shows worked out from its recording (no Textual here).

How this works
--------------
A :class:`Lesson` is a shipped recording and a few :class:`Step` s, written in
:mod:`tracer.lessons.catalogue` (plain data: a teacher adds a lesson there, a
translator translates the strings there).  A step names a *finder* (``view``)
and says in two or three sentences what is on screen.  The finder is run on the
recording: ``longest recv`` finds the longest recv and selects it, ``conn
queue_wait`` the connection that waited longest in the pool's queue, ``burst 2``
the second burst of activity.  It returns a :class:`Moment`: the time window,
what to select, which lanes to show, and named values (``{lane}``, ``{dur}``,
``{client}``) that fill the step's sentences.  Facts of the whole recording
(``{threads_max}``, ``{connections}``, ...; see :func:`facts`) fill them too,
and a step's question is answered from them.  So a recording made afresh
lands on its own right moment, with its own numbers.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import string
from dataclasses import dataclass, field

from servers import Settings
from tracer.analysis import stats
from tracer.clients import scenarios
from tracer.locale import _, listed, ngettext
from tracer.recording.events import KINDS, Event
from tracer.recording.model import Connection, Lane, Recording
from tracer.run import shipped
from tracer.timeline import activity, palette
from tracer.units import fmt_time


@dataclass(frozen=True)
class Step:
    """One step of a lesson.

    Attributes:
        view: the finder that sets the view (see :data:`FINDERS`): ``activity``, ``burst 2``,
            ``longest recv``, ``first thread_start client``, ``conn queue_wait``, ``counter queue`` ...
        text: two or three sentences; ``{name}`` is filled from the moment and the recording's facts.
        question: asked on screen; its answer shows on a key press.
        answer: the answer, ``{name}`` filled the same way (never written by hand: computed).
        lanes: show only lanes whose names match these globs (``recv-*,client-*``); empty: all.
        frame: ``event`` (around what was found, the default for finders that find one),
            ``burst`` (the burst it is in), ``activity`` (all the activity), ``conn`` (its connection's life).
        by_connection: one row per connection instead of per thread.
        recording: another shipped recording for this step (a comparison); empty: the lesson's.
    """

    view: str
    text: str
    question: str = ""
    answer: str = ""
    lanes: str = ""
    frame: str = ""
    by_connection: bool = False
    recording: str = ""


@dataclass(frozen=True)
class Lesson:
    """One lesson: a row of LESSONS.md told with a shipped recording.

    Attributes:
        number: its row in LESSONS.md.
        title: a few words.
        recording: the shipped recording's file name (``tracer/run/shipped.py``).
        summary: one line: what it shows.
        steps: what to look at, in order (the "try it yourself" step is added after them).
        pending: why it cannot be shown yet (its recording needs something sockscope cannot do yet).
        try_text: the last step's words, before the command.
    """

    number: int
    title: str
    recording: str
    summary: str
    steps: tuple[Step, ...]
    pending: str = ""
    try_text: str = ""

    @property
    def item(self) -> shipped.Shipped | None:
        return next((s for s in shipped.SHIPPED if s.file == self.recording), None)

    def live_argv(self) -> list[str]:
        """``sockscope live`` with the lesson's server settings (the scenario is fired at start); for a
        whole program (no scenario), ``sockscope run`` of it."""
        item = self.item
        if item is None:
            return []
        if not item.scenario:
            return ["sockscope", "run", *item.options, item.model]
        return ["sockscope", "live", item.model, *item.options]

    def try_command(self) -> str:
        item = self.item
        if item is None:
            return ""
        if not item.scenario:
            return shlex.join(self.live_argv())
        command = shlex.join(self.live_argv())
        sets = " ".join(f"--set {s}" for s in item.sets)
        if sets:
            return _("{command}  (then {scenario} fires: {sets})").format(command=command, scenario=item.scenario,
                                                                        sets=sets)
        return _("{command}  (then {scenario} fires)").format(command=command, scenario=item.scenario)


@dataclass
class Moment:
    """What a step shows, found in its recording.

    Attributes:
        window: ``(t0, t1)`` ns on screen.
        select: (lane id, event index) to select, or None.
        conn: a connection to highlight (or None).
        lanes: lane ids to show only (None: all).
        values: names the step's sentences use.
        playhead: where the playhead goes.
    """

    window: tuple[float, float]
    select: tuple[int, int] | None = None
    conn: int | None = None
    lanes: frozenset[int] | None = None
    values: dict[str, str] = field(default_factory=dict)
    playhead: float = 0.0


class LessonError(ValueError):
    """A lesson's data does not fit its recording (a finder found nothing, a name unknown).

    Its message is in the language in force (the lesson panel shows it to the student).
    """


# ---------------------------------------------------------------- facts of the whole recording
def facts(rec: Recording) -> dict[str, str]:
    """Named numbers of the recording, as text, for sentences and answers."""
    s = stats.compute(rec)
    conns = [c for c in rec.connections.values() if c.id > 0]
    out = {
        "model": rec.model, "connections": str(s.connections), "requests": str(s.requests),
        "threads_created": str(s.threads_created), "threads_max": str(s.threads_max_alive),
        "server_lanes": str(s.server_lanes), "client_lanes": str(s.client_lanes),
        "never_closed": str(s.never_closed), "closed": str(s.connections - s.never_closed),
        "reused": str(s.workers_reused),
        "most_served": str(s.most_served_by_one), "client_only": str(s.client_only),
        "workers": str(rec.settings.get("workers", "")), "backlog": str(rec.settings.get("backlog", "")),
    }
    for name in ("queue", "backlog", "threads", "ctx_voluntary", "ctx_involuntary"):
        out[f"peak_{name}"] = f"{s.peaks.get(name, 0):,}"
    for name, waits in s.waits.items():
        out[f"{name}_max"] = fmt_time(max(waits.values), significant=True) if waits.values else "0 ns"
    timeouts = [c for c in rec.connections.values() if c.client_close_reason == "timeout"]
    out["client_timeouts"] = str(len(timeouts))
    out["client_eofs"] = str(sum(1 for c in rec.connections.values() if c.client_close_reason == "eof"))
    out["served_lanes"] = str(len({c.serve_lane for c in conns if c.serve_lane is not None}))
    lanes_by_kind = {name: sum(1 for lane in rec.server_lanes() if KINDS[name].code in lane.kind)
                     for name in ("select", "recv", "accept")}
    out.update({f"lanes_{k}": str(v) for k, v in lanes_by_kind.items()})
    # the glyphs, from the one palette: a sentence says "(▒)" as "({ink_recv})" and stays right if it changes
    out.update({f"ink_{ink.name}": ink.glyph for ink in palette.SPAN_INKS})
    out.update({f"mark_{ink.name}": ink.glyph for ink in (*palette.MARK_INKS, palette.CLOSE_EXIT)})
    out.update({"arrow_out": palette.CLIENT_GLYPHS["send"], "arrow_in": palette.CLIENT_GLYPHS["recv"]})
    return out


# ---------------------------------------------------------------- finders
def _lanes(rec: Recording, side: str) -> list[Lane]:
    return [lane for lane in rec.lanes.values() if lane.side == side]


def _event_values(rec: Recording, e: Event, prefix: str = "") -> dict[str, str]:
    lane = rec.lanes[e.lane]
    conn = rec.connections.get(e.conn) if e.conn else None
    out = {f"{prefix}lane": lane.name, f"{prefix}dur": fmt_time(e.dur, significant=True),
           f"{prefix}t": fmt_time(e.t, significant=True), f"{prefix}bytes": str(max(e.nbytes, 0)),
           f"{prefix}kind": e.kind, f"{prefix}end": fmt_time(e.end, significant=True)}
    if conn is not None:
        out.update(_conn_values(rec, conn, prefix))
    return out


def _conn_values(rec: Recording, c: Connection, prefix: str = "") -> dict[str, str]:
    def name(lane: int | None) -> str:
        return rec.lanes[lane].name if lane is not None and lane in rec.lanes else "?"

    out = {f"{prefix}conn": str(c.id), f"{prefix}client": name(c.client_lane),
           f"{prefix}server_lane": name(c.serve_lane if c.serve_lane is not None else c.accept_lane),
           f"{prefix}client_close": c.client_close_reason or "never", f"{prefix}close": c.close_reason or "never"}
    for attr in ("backlog_wait", "queue_wait", "service"):
        value = getattr(c, attr)
        out[f"{prefix}{attr}"] = fmt_time(value, significant=True) if value is not None else "0 ns"
    return out


def _events(rec: Recording, kind: str, side: str, where: str) -> list[Event]:
    code = KINDS[kind].code
    out = []
    for lane in _lanes(rec, side):
        if where and not fnmatch.fnmatchcase(lane.name, where):
            continue
        out += [lane.event(i) for i in range(len(lane)) if lane.kind[i] == code]
    return out


def _pick(rec: Recording, args: list[str], how: str) -> Moment:
    """``longest|first|last KIND [server|client] [LANE-GLOB] [bytes]``."""
    kind = args[0]
    side = next((a for a in args[1:] if a in ("server", "client")), "server")
    needs_bytes = "bytes" in args[1:]
    where = next((a for a in args[1:] if a not in ("server", "client", "bytes")), "")
    found = [e for e in _events(rec, kind, side, where) if not needs_bytes or e.nbytes > 0]
    found = [e for e in found if not (isinstance(e.detail, str) and e.detail.startswith(("shutdown", "error")))]
    if not found:  # whole sentences: "server"/"client" are words of their own in Chinese
        message = {("server", False): _("no {kind} on a server lane"),
                   ("server", True): _("no {kind} on a server lane named {where}"),
                   ("client", False): _("no {kind} on a client lane"),
                   ("client", True): _("no {kind} on a client lane named {where}")}[side, bool(where)]
        raise LessonError(message.format(kind=kind, where=where))
    key = {"longest": lambda e: (-e.dur, e.t), "first": lambda e: (e.t, e.lane), "last": lambda e: (-e.t, e.lane)}
    e = min(found, key=key[how])
    lane = rec.lanes[e.lane]
    index = next(i for i in range(len(lane)) if lane.t[i] == e.t and lane.kind[i] == KINDS[kind].code)
    values = _event_values(rec, e)
    values["count"] = str(len(found))
    values["sizes"] = listed(max(x.nbytes, 0) for x in sorted(found, key=lambda x: (x.t, x.lane)))
    span = max(e.dur, 2_000_000)
    return Moment((e.t - span * 0.4, e.end + span * 0.4), (e.lane, index), e.conn or None, values=values,
                  playhead=e.t)


def _longest(rec: Recording, args: list[str]) -> Moment:
    return _pick(rec, args, "longest")


def _first(rec: Recording, args: list[str]) -> Moment:
    return _pick(rec, args, "first")


def _last(rec: Recording, args: list[str]) -> Moment:
    return _pick(rec, args, "last")


def _conn(rec: Recording, args: list[str]) -> Moment:
    """``conn ATTR``: the connection with the largest ``backlog_wait``, ``queue_wait`` or ``service``."""
    attr = args[0]
    conns = [c for c in rec.connections.values() if c.id > 0 and getattr(c, attr) is not None]
    if not conns:
        raise LessonError(_("no connection has a {attr}").format(attr=attr))
    c = max(conns, key=lambda c: (getattr(c, attr), -c.id))
    select = None
    lane_id = c.serve_lane if c.serve_lane is not None else c.accept_lane
    if lane_id is not None:
        lane = rec.lanes[lane_id]
        hits = [i for i in range(len(lane)) if lane.conn[i] == c.id]
        select = (lane_id, hits[0]) if hits else None
    values = _conn_values(rec, c)
    values["wait"] = values[attr]
    t0 = _life(c)[0]
    return Moment(_life(c), select, c.id, values=values,
                  playhead=getattr(c, {"backlog_wait": "connected_t", "queue_wait": "submit_t"}.get(attr, "start_t"))
                  or t0)


def _life(c: Connection) -> tuple[float, float]:
    """A window over a connection's life, both ends, with a tenth of room each side."""
    times = [x for x in (c.connect_t, c.accepted_t, c.submit_t, c.start_t, c.close_t, c.client_close_t)
             if x is not None]
    t0, t1 = min(times), max(times)
    span = max(t1 - t0, 2_000_000)
    return t0 - span * 0.1, t1 + span * 0.1


def _burst(rec: Recording, args: list[str]) -> Moment:
    """``burst N`` (1 is the first), ``burst main`` (the busiest), ``burst last``."""
    found = activity.bursts(rec)
    if not found:
        raise LessonError(_("the recording has no activity"))
    which = args[0] if args else "1"
    if which == "main":
        b = activity.main_burst(found)
    elif which == "last":
        b = found[-1]
    else:
        if not which.isdigit() or not 1 <= int(which) <= len(found):
            raise LessonError(ngettext("burst {which}: the recording has {n} burst",
                                       "burst {which}: the recording has {n} bursts", len(found))
                              .format(which=which, n=len(found)))
        b = found[int(which) - 1]
    assert b is not None
    return Moment(activity.frame(b), values={"bursts": str(len(found)), "span": fmt_time(b.span, significant=True),
                                             "from": fmt_time(b.t0, significant=True)}, playhead=b.t0)


def _activity(rec: Recording, args: list[str]) -> Moment:
    found = activity.bursts(rec)
    if not found:
        raise LessonError(_("the recording has no activity"))
    t0, t1 = found[0].t0, found[-1].t1
    margin = max(t1 - t0, 1_000_000) * 0.03
    return Moment((t0 - margin, t1 + margin), values={"bursts": str(len(found)),
                                                      "span": fmt_time(t1 - t0, significant=True)}, playhead=t0)


def _counter(rec: Recording, args: list[str]) -> Moment:
    """``counter NAME``: the counter at its peak (the first time it reaches it)."""
    counter = rec.counters.get(args[0])
    if counter is None or not len(counter.v):
        raise LessonError(_("the recording has no {name} counter").format(name=args[0]))
    peak = counter.peak()
    at = counter.t[list(counter.v).index(peak)]
    t0, t1 = _activity(rec, []).window
    margin = (t1 - t0) * 0.03
    values = {"peak": f"{peak:,}", "at": fmt_time(at, significant=True)}
    return Moment((min(t0, at - margin), max(t1, at + margin)), values=values, playhead=at)


FINDERS = {"longest": _longest, "first": _first, "last": _last, "conn": _conn, "burst": _burst,
           "activity": _activity, "counter": _counter}


# ---------------------------------------------------------------- a step, worked out
def moment(rec: Recording, step: Step) -> Moment:
    """Run the step's finder on ``rec``; apply its frame and lanes.

    Raises:
        LessonError: the finder found nothing, or the step names an unknown finder.
    """
    name, *args = step.view.split()
    finder = FINDERS.get(name)
    if finder is None:
        raise LessonError(_("unknown view {view!r}; finders: {finders}").format(view=step.view,
                                                                              finders=listed(FINDERS)))
    m = finder(rec, args)
    if step.frame == "activity":
        m.window = _activity(rec, []).window
    elif step.frame == "burst":
        found = activity.bursts(rec)
        hit = next((b for b in found if b.t1 >= m.playhead), None)  # the burst it is in, or the next one
        if hit is not None:
            m.window = activity.frame(hit)
    elif step.frame == "conn" and m.conn is not None and m.conn in rec.connections:
        m.window = _life(rec.connections[m.conn])
    if step.lanes:
        globs = [g.strip() for g in step.lanes.split(",") if g.strip()]
        m.lanes = frozenset(lane.id for lane in rec.lanes.values()
                            if any(fnmatch.fnmatchcase(lane.name, g) for g in globs))
    return m


def fill(template: str, values: dict[str, str]) -> str:
    """A step's sentence with its ``{names}`` filled (an unknown name is a LessonError)."""
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise LessonError(_("{{{name}}} is not known here; known: {known}").format(
            name=exc.args[0], known=listed(sorted(values)))) from None


def names_in(template: str) -> set[str]:
    """The ``{names}`` a sentence uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def try_settings(lesson: Lesson) -> tuple[Settings, str, dict[str, str]]:
    """The lesson's server settings (with its scenario's knobs: a paused accept, a small backlog), the
    scenario and its parameters: what "try it yourself" starts live.

    Raises:
        LessonError: the lesson has no recording to take them from.
    """
    from tracer.run import headless  # (only trying it starts a server)

    item = lesson.item
    if item is None:
        raise LessonError(_("lesson {number} has no recording to take its settings from").format(number=lesson.number))
    cfg, explicit = item.settings()
    if cfg.program:  # the lesson's script, found beside the package wherever the student stands
        from dataclasses import replace

        from tracer.run.shipped import shipped_folder

        root = os.path.dirname(shipped_folder())
        cfg = replace(cfg, program=(*cfg.program[:-1], os.path.join(root, cfg.program[-1])))
    params = scenarios.parse_sets(item.sets)
    scenario = scenarios.get(item.scenario)
    cfg = headless.apply_knobs(cfg, scenario, scenario.resolve(params), explicit)
    return cfg, item.scenario, params
