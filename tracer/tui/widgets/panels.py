"""The strips around the lanes: title bar, ruler, status strip and detail panel."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import events
from textual.containers import VerticalScroll
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from tracer.analysis import lifecycle
from tracer.analysis.check import STATES, conn_label
from tracer.analysis.stats import close_words
from tracer.locale import _, listed, ngettext
from tracer.recording.events import Event
from tracer.recording.model import Connection
from tracer.run import shipped
from tracer.timeline import palette
from tracer.timeline.rows import AtPlayhead, Timeline
from tracer.timeline.track import View, ruler_ticks
from tracer.tui.messages import JumpTo, Seek, ZoomAt
from tracer.tui.widgets import look
from tracer.tui.widgets.fitting import CellWrapped
from tracer.tui.widgets.look import clean, fit
from tracer.units import fmt_time


class Ruler(Widget):
    """Time ticks in real units over the lanes; click to seek, wheel to zoom."""

    DEFAULT_CSS = "Ruler { height: 1; }"

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.view = View()
        self.label_width = 18
        self.playhead = 0
        self.heading = ""

    def show(self, view: View, label_width: int, playhead: int, heading: str) -> None:
        self.view, self.label_width, self.playhead, self.heading = view, label_width, playhead, heading
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lw = self.label_width
        cells = ["─"] * max(0, width - lw)
        ph = self.view.cell_of(self.playhead)
        for cell, label in ruler_ticks(self.view):
            text = "┴" + label + " "
            if cell < ph < cell + len(text):
                text = "┴" + "─" * (len(text) - 1)  # the playhead would cut the label into a wrong time: drop it
            for k, ch in enumerate(text):
                if cell + k < len(cells):
                    cells[cell + k] = ch
        head = fit(f"─ {self.heading} ", lw - 1) + "┼"
        segs = [Segment(head, look.DIM)]
        if 0 <= ph < len(cells):
            segs += [Segment("".join(cells[:ph]), look.DIM), Segment("▼", look.PLAYHEAD),
                     Segment("".join(cells[ph + 1:]), look.DIM)]
        else:
            segs.append(Segment("".join(cells), look.DIM))
        return Strip([Segment(palette.glyphs(s.text), s.style) for s in segs], width).crop_extend(0, width, None)

    def _time(self, x: int) -> float | None:
        if x < self.label_width:
            return None
        return self.view.time_at(x - self.label_width + 0.5)

    def on_click(self, event: events.Click) -> None:
        t = self._time(event.x)
        if t is not None:
            self.post_message(Seek(int(max(0, t))))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        t = self._time(event.x)
        self.post_message(ZoomAt(1.25, t if t is not None else self.view.time_at(self.view.width / 2)))

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        t = self._time(event.x)
        self.post_message(ZoomAt(0.8, t if t is not None else self.view.time_at(self.view.width / 2)))


class TitleBar(Static):
    """Model, settings, file, events, play state and speed, the playhead's time.

    What does not fit the bar's width is left out whole, the least useful first (the file, the event count,
    the speed's ratio, the settings from the last): at 80 columns the bar ended in ``workers · b…``.
    """

    DEFAULT_CSS = "TitleBar { height: 1; background: $panel; }"
    KEEP = 1_000  # a part's rank that is never left out

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._shown: tuple[Timeline | None, str, bool, str, str, str, str] | None = None

    def show(self, timeline: Timeline | None, path: str, playing: bool, speed: str, ratio: str, t: str,
             note: str) -> None:
        """Say these, as many as fit (``ratio``: the speed as a ratio of real time, ``1/1,000×``)."""
        self._shown = (timeline, path, playing, speed, ratio, t, note)
        parts: list[tuple[int, str, str | Style]] = [  # (rank, text, style): the lowest rank is left out first
            (self.KEEP, " sockscope ", "bold reverse"),
            (self.KEEP, palette.glyphs("  ▶ " if playing else "  ‖ "), look.PLAYHEAD),  # what matters most first
            (self.KEEP, speed, ""), (20, f" ({ratio})", ""), (self.KEEP, f"  t = {t}", "bold")]
        if note:
            parts.append((60, f"  {note}", "italic #ffaf00"))
        if timeline is not None:
            rec = timeline.rec
            words = [clean(word, 30) for word in shipped.setting_words(clean(rec.model, 20), rec.settings)]
            # the model stays longest, then the settings in their order (the last is left out first)
            parts += [(50 if k == 0 else 40 - k, ("   " if k == 0 else palette.glyphs(" · ")) + word, "bold")
                      for k, word in enumerate(words)]
            parts.append((10, "  " + ngettext("{n:,} event", "{n:,} events", rec.n_events).format(n=rec.n_events),
                          look.DIM))
        parts.append((0, f"  {clean(path, 80)}", look.DIM))
        self.update(Text.assemble(*((piece, style) for piece, style in fitted(parts, self.size.width or 1_000)),
                                  no_wrap=True, overflow="ellipsis"))

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)


def fitted(parts: list[tuple[int, str, str | Style]], width: int) -> list[tuple[str, str | Style]]:
    """``parts`` (rank, text, style) in their order, the lowest ranks left out until the rest fit in ``width``
    cells (a Chinese character takes two); parts of rank :attr:`TitleBar.KEEP` stay even if they do not."""
    kept = list(parts)
    for part in sorted(parts, key=lambda p: p[0]):
        if sum(cell_len(text) for _rank, text, _style in kept) <= width or part[0] >= TitleBar.KEEP:
            break
        kept.remove(part)
    return [(text, style) for _rank, text, style in kept]


class AboutLine(Static):
    """What a shipped recording shows, in its one line from ``tracer/run/shipped.py`` (hidden for others)."""

    DEFAULT_CSS = """
    AboutLine { height: 1; padding: 0 1; color: $text-accent; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def show(self, timeline: Timeline | None, path: str) -> None:
        item = shipped.find(path, timeline.rec.model) if timeline is not None else None
        self.display = item is not None
        if item is not None:
            rows = listed(item.rows)
            said = ngettext("row {rows}: ", "rows {rows}: ", len(item.rows)).format(rows=rows)
            self.update(Text.assemble((said, "bold"), _(item.look)))


class StatusStrip(Static):
    """What was going on at the playhead."""

    DEFAULT_CSS = "StatusStrip { height: 1; background: $boost; }"

    def show(self, stats: AtPlayhead | None, filters: str) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if stats is None:
            self.update(text)
            return
        text.append(" " + _("at {time}").format(time=fmt_time(stats.t)), "bold")
        wide = self.size.width >= 100
        items = [(_("threads alive") if wide else _("threads"), stats.threads),
                 (_("open connections") if wide else _("conns"), stats.open_connections),
                 (_("pool queue") if wide else _("queue"), stats.queue),
                 (_("kernel backlog") if wide else _("backlog"), stats.backlog)]
        for name, value in items:
            if value is None:
                continue
            text.append(f"  {name} ", look.DIM)
            text.append(str(value), "bold")
        text.append(f"  {_('dropped')} ", look.DIM)
        text.append(str(stats.dropped), "bold #ff5f5f" if stats.dropped else "bold")
        if filters:
            text.append("  " + _("filter: "), "#ffaf00")
            text.append(clean(filters, 60), "bold #ffaf00")
        self.update(text)


class DetailPanel(VerticalScroll):
    """The selected event's fields and its connection's whole story, both ends; click a line to go there."""

    DEFAULT_CSS = "DetailPanel { height: 8; border-top: solid $primary; overflow-x: auto; }"

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.targets: dict[int, Event] = {}

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="detail-body")

    def show(self, text: Text, targets: dict[int, Event] | None = None) -> None:
        self.targets = targets or {}
        self.query_one("#detail-body", Static).update(text)

    def on_click(self, event: events.Click) -> None:
        line = int(event.screen_y) - self.content_region.y + int(self.scroll_offset.y)
        if (target := self.targets.get(line)) is not None:
            self.post_message(JumpTo(target))


STORY_LIMIT = 300
WARN = "bold #ffaf00"


def describe_event(timeline: Timeline, event: Event | None, conn_id: int | None,
                   targets: dict[int, Event] | None = None, width: int = 200) -> Text:
    """The detail panel's text: one event's fields, then its connection's story.

    Args:
        targets: filled with line number -> the event that line tells (a click there jumps to it).
    """
    text = Text(no_wrap=True, overflow="ellipsis")
    lanes = timeline.rec.lanes
    if event is not None:
        lane = lanes.get(event.lane)
        text.append(" " + _("event") + " ", "bold reverse")
        # In words first (what a student reads), then the raw fields (what the file says).
        text.append(f" {fmt_time(event.t)} ", "bold")
        text.append(clean(lane.name if lane else event.lane, 30) + " ", "bold")
        text.append(f"{event.kind} ", _kind_style(event.kind))
        conn = timeline.rec.connections.get(event.conn) if event.conn else None
        text.append(_words(event, conn) or _help(event.kind))
        fields = [("conn", conn_label(event.conn))]  # the raw fields that say something: no "count -1", no "detail —"
        if event.nbytes >= 0:
            fields.append(("count", str(event.nbytes)))
        if event.detail is not None:
            fields.append(("detail", clean(event.detail, 60)))
        fields.append(("line", str(event.line)))
        for name, value in fields:
            text.append(f"  {name} {value}", look.DIM)
        text.append("\n")
    if conn_id is None:
        if event is None:
            text.append_text(legend_line(timeline.inks(), width))
            hint = _("click an event (or enter) for its connection's story · ? colours and keys")
            text.append("\n" + _fit_clauses(hint, width), look.DIM)
        return text
    conn = timeline.rec.connections.get(conn_id)
    text.append(" " + _("connection {conn}").format(conn=conn_label(conn_id)) + " ", "bold reverse")
    if conn is not None:
        text.append_text(_summary(conn))
    text.append("\n")
    if conn is not None and (waits := _waits(conn)).plain:
        text.append_text(waits)
        text.append("\n")
    story = timeline.connection_events(conn_id)
    states: dict[str, str | None] = {"server": None, "client": None}
    refused: dict[str, bool] = {}  # the side's connect failed: it never connected (what it did after, failed too)
    for n, e in enumerate(story):
        lane = lanes.get(e.lane)
        side = lane.side if lane is not None else "server"
        step = lifecycle.step(side, states[side], e.kind)  # the one lifecycle table, as `check` reads it
        states[side] = step.state
        if e.kind == "connect":
            refused[side] = lifecycle.connect_failed(e.detail)
        if n >= STORY_LIMIT:
            continue
        if targets is not None:
            targets[text.plain.count("\n")] = e
        mine = event is not None and e.lane == event.lane and e.t == event.t and e.kind == event.kind
        text.append(palette.glyphs("▸") if mine else " ", look.PLAYHEAD)
        text.append(f"{fmt_time(e.t):>13}  ")
        text.append(fit(clean(lane.name if lane else e.lane, 14), 14) + " ", "bold" if mine else "")
        text.append(f"{e.kind:<12} ", _kind_style(e.kind))
        text.append(_words(e, conn))
        if not step.ok:
            text.append("  ⚠ " + _("not expected here (expected {expected})").format(
                expected=listed(step.expected) or _("nothing")), WARN)
        text.append("\n")
    if len(story) > STORY_LIMIT:
        text.append("  " + _("… {n:,} more events").format(n=len(story) - STORY_LIMIT) + "\n", look.DIM)
    if timeline.rec.complete:  # (a growing recording has not said its last word)
        for side, state in states.items():
            if state in lifecycle.OPEN_STATES and not refused.get(side):
                said = (_("never closed by the server (still {state} when the recording ended)") if side == "server"
                        else _("never closed by the client (still {state} when the recording ended)"))
                text.append("  ⚠ " + said.format(state=_(STATES[state]) if state in STATES else state) + "\n", WARN)
    return text


def _fit_clauses(said: str, width: int) -> str:
    """`` said`` with its last `` · `` clauses left out until it fits ``width`` cells ('' if even the first does
    not): a line wider than the panel gave it a horizontal scrollbar, a stray ``▌`` above the footer at 60x15."""
    clauses = said.split(" · ")
    while clauses and cell_len(" " + " · ".join(clauses)) > width:
        clauses.pop()
    return " " + " · ".join(clauses) if clauses else ""


def _summary(conn: Connection) -> Text:
    text = Text()
    if conn.peer:
        text.append(f" {clean(conn.peer, 50)}", "bold")
    if conn.close_reason:
        text.append("  " + _("closed: "), look.DIM)
        text.append(clean(close_words(conn.close_reason), 40), "bold")
    elif conn.id > 0:
        text.append("  " + _("never closed by the server"), "#ffaf00")
    return text


def _waits(conn: Connection) -> Text:
    """Where the connection's time went, in words."""
    text = Text(" ")
    for name, value in ((_("waited in the kernel's backlog"), conn.backlog_wait),
                        (_("waited in the pool's queue"), conn.queue_wait), (_("served for"), conn.service)):
        if value is not None:
            text.append(f" {name} ", look.DIM)
            text.append(fmt_time(value), "bold")
            text.append(" ")
    return text if len(text) > 1 else Text()


def _kind_style(kind: str) -> str:
    from tracer.recording.events import KINDS

    k = KINDS.get(kind)
    if k is None:
        return ""
    return palette.colour(kind)


def _words(e: Event, conn: Connection | None) -> str:
    """One event in words a student understands."""
    d = fmt_time(e.dur)
    if e.kind == "accept":
        wait = conn.backlog_wait if conn is not None else None
        extra = _(" (then waited {time} in the kernel's backlog)").format(time=fmt_time(wait)) if wait else ""
        return _("blocked {time} in accept(){extra}; peer {peer}").format(time=d, extra=extra,
                                                                          peer=clean(e.detail, 40))
    if e.kind == "connect":
        if lifecycle.connect_failed(e.detail):
            return _("connect() failed after {time}: {why}").format(time=d, why=clean(e.detail, 40))
        return _("blocked {time} in connect(), from {peer}").format(time=d, peer=clean(e.detail, 40))
    if e.kind == "submit":
        return palette.glyphs("→ ") + _("the pool's queue (depth {n})").format(n=e.nbytes)
    if e.kind == "start":
        wait = conn.queue_wait if conn is not None else None
        if wait is None:
            return _("a worker picks it up")
        return _("a worker picks it up after {time} in the pool queue").format(time=fmt_time(wait))
    if e.kind == "recv":
        if e.nbytes == 0:
            return _("blocked {time}, {n} B (the peer closed)").format(time=d, n=e.nbytes)
        return _("blocked {time}, {n} B").format(time=d, n=e.nbytes)
    if e.kind == "send":
        return f"{d}, {e.nbytes} B"
    if e.kind == "close":
        if e.detail is None:
            return _("closed")
        return _("reason: {reason}").format(reason=clean(close_words(str(e.detail)), 40))
    if e.kind == "select":
        return ngettext("blocked {time} in select(), {n} socket ready", "blocked {time} in select(), {n} sockets ready",
                        e.nbytes).format(time=d, n=e.nbytes)
    if e.kind == "listen":
        return _("listening on {address}, backlog {n}").format(address=clean(e.detail, 40), n=e.nbytes)
    if e.kind == "work":
        return _("the handler works for {time} (holding this thread)").format(time=d)
    if e.kind in ("thread_start", "thread_exit"):
        return _help(e.kind) + (_(" for connection {conn}").format(conn=conn_label(e.conn)) if e.conn else "")
    return d if e.dur else ""


def _help(kind: str) -> str:
    from tracer.recording.events import KINDS

    k = KINDS.get(kind)
    return _(k.help) if k is not None else ""


def legend() -> Table:
    """The help screen's explanation of glyphs and colours: one line per kind of time, then the marks.

    A table, so that a long explanation (twice as wide in Chinese) wraps inside
    its own column instead of running under the glyphs.
    """
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)  # every cell padded to the same 7 cells: the words' column starts in one place
    table.add_column(overflow="fold")
    for glyph, style, words in legend_rows():
        table.add_row(Text.assemble("  ", (set_cell_size(palette.glyphs(glyph), 5), style)),
                      CellWrapped.of(words))  # Chinese wraps between characters, not only at the spaces
    return table


def legend_rows() -> list[tuple[str, str, str]]:
    """(glyph, style, words) of each thing the timeline draws, in the language in force."""
    rows = [(ink.glyph * 3, ink.colour, _(ink.words)) for ink in palette.SPAN_INKS]
    rows += [("───", palette.LIFE_COLOUR, _("idle: the thread is alive but in no traced call")),
             (palette.SHORT_GLYPH, palette.LIFE_COLOUR, _("events too short to draw at this zoom (zoom in)"))]
    rows += [(ink.glyph, ink.colour, _(ink.words)) for ink in palette.MARK_INKS]
    rows += [(palette.CLOSE_EXIT.glyph, palette.CLOSE_EXIT.colour, _(palette.CLOSE_EXIT.words)),
             (palette.SEVERAL.glyph, palette.SEVERAL.colour, _(palette.SEVERAL.words)),
             ("→ ←", palette.CLIENT_ARROW_COLOUR, _("a client's request out, its response in")),
             ("▁▃█", palette.COUNTER_COLOUR, _("counters over time; the label says the value at the playhead / "
                                               "the maximum, and counters of one unit share a scale")),
             ("┃ ▼", "#ffff5f", _("the playhead")),
             ("▒▒▒", f"{palette.INKS['recv'].colour} on {palette.HIGHLIGHT_BG}",
              _("the selected connection, on every lane it touches")),
             ("▒▒▒", f"{palette.INKS['recv'].colour} on {palette.SELECTED_BG}", _("the selected event"))]
    return rows


def legend_line(names: list[str] | None = None, width: int = 200) -> Text:
    """One line: each kind of time's glyph and short name (``names``: only those inks, e.g. this recording's),
    then the instants; entries that would not fit in ``width`` cells are left out, never cut."""
    entries = [(ink.glyph, ink.colour, _(ink.short)) for ink in palette.SPAN_INKS
               if names is None or ink.name in names]
    entries += [(ink.glyph, f"bold {ink.colour}", _(ink.short)) for ink in palette.MARK_INKS[:3]]
    text = Text(no_wrap=True, overflow="ellipsis")
    for glyph, style, short in entries:
        if text.cell_len + cell_len(short) + 3 > width:  # cells: a Chinese name is twice as wide
            break
        text.append(f" {palette.glyphs(glyph)}", style)
        text.append(f" {short}")
    return text
