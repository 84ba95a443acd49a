"""The timeline: one row per lane (or per connection), drawn with the Line API.

How this works
--------------
The widget is a ``ScrollView`` whose virtual height is the number of rows; it
scrolls vertically itself.  Time never scrolls the widget: the horizontal
position and zoom live in a :class:`~tracer.timeline.rows.View`, so only the cells
on screen are ever summarised.  ``render_line(y)`` asks the row's
:class:`~tracer.timeline.rows.Track` for its cells (cached until the view or the
data changes), then lays the playhead, the selected event and the highlighted
connection over them, merging equal styles into few ``Segment`` s.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tracer.locale import N_, _, ngettext
from tracer.timeline import activity, palette
from tracer.timeline.rows import Row, Timeline
from tracer.timeline.track import IDLE, View
from tracer.tui.messages import TimelineChanged, UserMoved
from tracer.tui.widgets import look
from tracer.tui.widgets.look import cell_style, clean, fit

SHORT_LABELS = {"backlog": N_("backlog"), "threads": N_("threads"), "ctx_voluntary": N_("sw waited"),
                "ctx_involuntary": N_("sw preempt")}  # counters' labels at 80 columns, by counter


_PLAIN: dict[tuple[str, int, int], Style] = {}  # a cell -> its style, neither highlighted nor selected


def _plain_style(cell: tuple[str, int, int]) -> Style:
    glyph, lk, code = cell
    style = look.COUNTER_NOTE if code == -4 else look.COUNTER if code == -2 else cell_style(lk, code, glyph, False,
                                                                                            False)
    _PLAIN[cell] = style
    return style


class TimelineView(ScrollView, can_focus=True, inherit_bindings=False):
    """The lanes.  State lives here; the app's actions call its methods."""

    DEFAULT_CSS = """
    TimelineView { overflow-x: hidden; overflow-y: auto; scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.timeline: Timeline | None = None
        self.view = View()
        self.playhead = 0
        self.cursor = 0  # the selected row
        self.selected: tuple[int, int] | None = None  # (lane id, event index) or (0, conn id) in conn view
        self.highlight: int | None = None  # the connection shown across lanes
        self.rows: list[Row] = []
        self.frames = 0  # lines rendered (the benchmark waits on it)
        self.auto_fit = True  # until the user moves the view, it shows the whole recording
        self.horizon = 0  # live: "now", which runs on while nothing happens (the playhead may go there)
        self.framed: tuple[float, float] | None = None  # the window frame() showed, kept when the width changes
        self._cells: dict[int, dict[int, tuple[str, int, int]]] = {}
        self._cells_key: tuple[object, ...] = ()
        self._hl_spans: dict[int, list[tuple[int, int]]] = {}
        self._data_version = 0
        self._first_counter = -1  # the first counter row's index (-1: none)

    # -------------------------------------------------- geometry
    @property
    def label_width(self) -> int:
        return 18 if self.size.width >= 100 else 12

    def time_width(self) -> int:
        return max(1, self.scrollable_content_region.width - self.label_width)

    def on_resize(self, event: events.Resize) -> None:
        self.view.width = self.time_width()
        if self.auto_fit:
            self.fit()
        elif self.framed is not None:
            self.view.fit(*self.framed)
        if self.selected is not None or self.highlight is not None:
            self.scroll_to_region_row(self.cursor)  # the panels grew or shrank: keep the selection in view
        self.invalidate()

    # -------------------------------------------------- data
    def set_timeline(self, timeline: Timeline | None) -> None:
        """Show a (new) recording's timeline."""
        self.timeline = timeline
        self.selected = None
        self.highlight = None
        self._hl_spans = {}
        self.data_changed()

    def data_changed(self) -> None:
        """The recording grew, or the mode or filters changed: rebuild rows and redraw."""
        self._data_version += 1
        self.rows = self.timeline.rows() if self.timeline else []
        self._first_counter = next((k for k, row in enumerate(self.rows) if row.kind == "counter"), -1)
        self.cursor = min(self.cursor, max(0, len(self.rows) - 1))
        while self.cursor + 1 < len(self.rows) and not self._can_rest(self.cursor):
            self.cursor += 1  # the cursor sits on a row, never on an open heading
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.rows))
        if self.highlight is not None:
            self._hl_spans = self._spans_of(self.highlight)
        self.invalidate()

    def invalidate(self) -> None:
        """Redraw (the cells cache is keyed by scale and data version, so a pan reuses it)."""
        self.refresh()
        self._changed()

    def _changed(self) -> None:
        self.post_message(TimelineChanged())

    # -------------------------------------------------- drawing
    def render_line(self, y: int) -> Strip:
        self.frames += 1
        width = self.scrollable_content_region.width
        index = int(self.scroll_offset.y) + y
        if index >= len(self.rows) or self.timeline is None:
            return Strip.blank(width)
        if hint := self.counters_hint(y, index):
            return self._strip([Segment(fit(hint, width), look.COUNTER_NOTE)], width)
        row = self.rows[index]
        lw = self.label_width
        if self.view.width != max(1, width - lw):  # a scrollbar came or went: the content width changed
            self.view.width = max(1, width - lw)
            if self.auto_fit:
                self.fit()
            elif self.framed is not None:
                self.view.fit(*self.framed)  # the same window (a lesson step's), at the new width
        if row.kind == "group":  # a heading has no cells: it may run across them
            ph = lw + self.view.cell_of(self.playhead)
            folded = self.timeline is not None and row.ref in self.timeline.folded
            text = fit(f"{'▸' if folded else '▾'} {clean(row.label)} ", width)
            style = look.LABEL_CURSOR if folded and index == self.cursor else look.GROUP
            segs = [Segment(text, style)]
            if max(lw, cell_len(text.rstrip()) + 1) <= ph < width:  # the playhead never hides the heading
                before, after = segs[0].split_cells(ph)  # in cells: a Chinese heading is twice its length
                segs = [before, Segment("┃", look.PLAYHEAD), after.split_cells(1)[1]]
            return self._strip(segs, width)
        label = self._label(row, index, lw)
        return self._strip([label, *self._cell_segments(row, index)], width)

    def counters_hint(self, y: int, index: int) -> str:
        """What the last line says in place of its row when the counter rows are all below the lanes' window
        ('' otherwise): at 60x15 a lesson said 'watch the pool queue counter' and no counter was on screen.
        The cursor's row is never hidden, nor the only row."""
        height = self.scrollable_content_region.height
        if y != height - 1 or height < 2 or self._first_counter <= index or index == self.cursor:
            return ""
        n = sum(1 for row in self.rows[self._first_counter:] if row.kind == "counter")
        said = ngettext("↓ {n} counter row below (scroll down) · its value now is in the line under the lanes",
                        "↓ {n} counter rows below (scroll down) · their values now are in the line under the lanes",
                        n).format(n=n)
        clauses = said.split(" · ")
        while len(clauses) > 1 and cell_len(" " + " · ".join(clauses)) > self.size.width:
            clauses.pop()
        return " " + " · ".join(clauses)

    @staticmethod
    def _strip(segs: list[Segment], width: int) -> Strip:
        """One line, in the glyph set in force (ASCII swaps every block and box character one for one)."""
        if palette.ascii_on():
            segs = [Segment(palette.glyphs(s.text), s.style, s.control) for s in segs]
        return Strip(segs, width).crop_extend(0, width, None)

    def _label(self, row: Row, index: int, lw: int) -> Segment:
        # The short form where the full label would be cut: at 80 columns, and a Chinese label at any width
        short = (row.kind == "counter" and row.ref in SHORT_LABELS
                 and (lw < 18 or cell_len(f" {row.label}") > lw - 1))
        name = _(SHORT_LABELS[str(row.ref)]) if short else row.label
        style = look.LABEL_CURSOR if index == self.cursor else (look.COUNTER if row.kind == "counter" else look.LABEL)
        return Segment(" " + look.fit_name(clean(name), lw - 2) + "│", style)

    def _row_cells(self, row: Row, index: int) -> list[tuple[str, int, int]]:
        """The row's cells, from a cache keyed by absolute cell (time / scale): a pan computes only new cells."""
        view = self.view
        key = (view.scale, self._data_version)
        if key != self._cells_key:
            self._cells.clear()
            self._cells_key = key
        grid = self._cells.get(index)
        if grid is None or len(grid) > 16 * view.width:
            grid = self._cells[index] = {}
        k0 = view.first_cell
        width = view.width
        missing = [k for k in range(k0, k0 + width) if k not in grid]
        if missing:
            first, last = missing[0], missing[-1]
            sub = View(first * view.scale, view.scale, last - first + 1)
            for k, cell in enumerate(self._compute(row, sub), first):
                grid[k] = cell
        return [grid[k] for k in range(k0, k0 + width)]

    def _compute(self, row: Row, view: View) -> list[tuple[str, int, int]]:
        assert self.timeline is not None
        if row.kind == "counter" and isinstance(row.ref, str):
            return [(g, IDLE, -2) for g, _ in self.timeline.spark(row.ref, view)]
        track = self.timeline.track(row)
        return track.cells(view) if track is not None else [(" ", IDLE, -1)] * view.width

    def counter_note(self, row: Row) -> str:
        """``12 / max 105``: a counter's value at the playhead and its maximum ('' for other rows)."""
        if row.kind != "counter" or not isinstance(row.ref, str) or self.timeline is None:
            return ""
        found = self.timeline.counter_at(row.ref, self.playhead)
        return " " + _("{now:,} / max {top:,}").format(now=found[0], top=found[1]) + " " if found is not None else ""

    def _with_note(self, row: Row, cells: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        """A counter row's cells with its note written over the end away from the playhead."""
        note = self.counter_note(row)
        # one entry per terminal cell: a wide (Chinese) character takes two, the second an empty filler
        marks = [cell for ch in note for cell in ([(ch, IDLE, -4), ("", IDLE, -4)] if cell_len(ch) == 2
                                                  else [(ch, IDLE, -4)])]
        if not marks or len(marks) + 4 > len(cells):
            return cells
        ph = self.view.cell_of(self.playhead)
        at = 0 if ph >= len(cells) // 2 else len(cells) - len(marks)
        cells = list(cells)
        cells[at:at + len(marks)] = marks
        return cells

    def _cell_segments(self, row: Row, index: int) -> list[Segment]:
        """The row's cells as runs of one style: each cell's own (one look-up by the cell), then the few cells
        the playhead, the selection and the highlighted connection change (a call per cell was ~3 ms a frame)."""
        cells = self._with_note(row, self._row_cells(row, index))
        if not cells:
            return []
        hl = self._overlay(row, self._hl_spans)
        sel = self._selected_cells(row)
        ph = self.view.cell_of(self.playhead)
        plain = _PLAIN
        if len(plain) > 4096:  # (a counter's note brings its own characters: keep the table small)
            plain.clear()
        styles = [s if (s := plain.get(cell)) is not None else _plain_style(cell) for cell in cells]
        glyphs = [cell[0] for cell in cells]
        for c in hl | sel:
            if 0 <= c < len(cells) and c != ph and cells[c][2] not in (-4, -2):
                glyph, lk, code = cells[c]
                styles[c] = cell_style(lk, code, glyph, c in hl, c in sel)
        if 0 <= ph < len(cells) and cells[ph][2] != -4:
            styles[ph], glyphs[ph] = look.PLAYHEAD, "┃"
        segments: list[Segment] = []
        first, run_style = 0, styles[0]
        for c, style in enumerate(styles):
            if style is not run_style:
                segments.append(Segment("".join(glyphs[first:c]), run_style))
                first, run_style = c, style
        segments.append(Segment("".join(glyphs[first:]), run_style))
        return segments

    def _overlay(self, row: Row, spans: dict[int, list[tuple[int, int]]]) -> set[int]:
        """Cells of this row covered by the highlighted connection's events."""
        if self.highlight is None:
            return set()
        if row.kind == "conn":
            return set(range(self.view.width)) if row.ref == self.highlight else set()
        if row.kind != "lane" or not isinstance(row.ref, int):
            return set()
        return self._cells_of(spans.get(row.ref, ()))

    def _cells_of(self, spans: object) -> set[int]:
        out: set[int] = set()
        view = self.view
        for t, end in spans:  # type: ignore[attr-defined]
            if end < view.start or t > view.end:
                continue
            a = max(0, view.cell_of(t))
            b = min(view.width - 1, view.cell_of(max(t, end - 1)))
            out.update(range(a, b + 1))
        return out

    def _selected_cells(self, row: Row) -> set[int]:
        if self.selected is None or self.timeline is None or row.kind != "lane" or row.ref != self.selected[0]:
            return set()
        lane = self.timeline.rec.lanes.get(self.selected[0])
        i = self.selected[1]
        if lane is None or i >= len(lane):
            return set()
        return self._cells_of([(lane.t[i], lane.t[i] + lane.dur[i])])

    def _spans_of(self, conn_id: int) -> dict[int, list[tuple[int, int]]]:
        assert self.timeline is not None
        spans: dict[int, list[tuple[int, int]]] = {}
        lanes = self.timeline.rec.lanes
        for lane_id, i in self.timeline.connection_spots(conn_id):
            lane = lanes[lane_id]
            spans.setdefault(lane_id, []).append((lane.t[i], lane.t[i] + lane.dur[i]))
        return spans

    # -------------------------------------------------- moving around
    def pan_cells(self, cells: float) -> None:
        self.framed = None
        self.view.pan(cells)
        self.invalidate()

    def zoom_by(self, factor: float, around: float | None = None) -> None:
        """Zoom in (factor > 1) or out around a time (default: the playhead, if on screen)."""
        if around is None:
            ph = self.view.cell_of(self.playhead)
            around = self.playhead if 0 <= ph < self.view.width else self.view.time_at(self.view.width / 2)
        self.framed = None
        self.view.zoom(factor, around)
        self.invalidate()

    def fit(self) -> None:
        """Show the recording's activity: its first burst to its last, not the dead time around them."""
        if self.timeline is not None:
            t0, t1 = self.timeline.active_window()
            margin = (t1 - t0) * 0.03
            self.frame(t0 - margin, t1 + margin)
            if not 0 <= self.view.cell_of(self.playhead) < self.view.width:
                # the playhead at the view's left edge, just before the activity, not off screen: the status
                # line reads what is shown (a program that waited 5 s for its first client opened at 4.8 s with
                # 'at 0 ns' under it); not on the activity's start, where it would hide its first events
                self.seek(max(0.0, t0 - margin), keep_visible=False)
        else:
            self.invalidate()

    def frame(self, t0: float, t1: float) -> None:
        """Show ``[t0, t1]`` across the lanes (at the current width)."""
        if self.size.width:
            self.view.width = self.time_width()
        self.framed = (max(0.0, t0), t1)
        self.view.fit(*self.framed)
        self.invalidate()

    def burst(self, forward: bool) -> bool:
        """Frame the next (previous) burst of activity, the playhead on its start; False when there is none."""
        if self.timeline is None:
            return False
        found = self.timeline.bursts()
        here = self.playhead
        hit = activity.next_burst(found, here, forward)
        if hit is None:
            return False
        self.frame(*activity.frame(hit))
        self.seek(hit.t0)
        return True

    def seek(self, t: float, keep_visible: bool = True) -> None:
        """Move the playhead to ``t`` (clamped to the recording)."""
        top = max(self.timeline.t_max if self.timeline else 0, self.horizon)
        self.playhead = int(max(0, min(t, top)))
        if keep_visible:
            before = self.view.start
            self.view.show(self.playhead, margin=max(1, self.view.width // 10))
            if self.view.start != before:
                self.framed = None  # the view moved on with the playhead
        self.invalidate()

    def move_cursor(self, delta: int) -> None:
        """Select another row (skipping group headings), scrolling it into view."""
        if not self.rows:
            return
        i = max(0, min(len(self.rows) - 1, self.cursor + delta))
        step = 1 if delta >= 0 else -1
        while 0 <= i < len(self.rows) and not self._can_rest(i):
            i += step
        if not 0 <= i < len(self.rows):
            i = self.cursor
        self.cursor = i
        self.scroll_to_region_row(i)
        self.refresh()
        self._changed()

    def scroll_to_region_row(self, i: int) -> None:
        height = self.scrollable_content_region.height
        top = int(self.scroll_offset.y)
        if i < top:
            self.scroll_to(y=i, animate=False)
        elif i >= top + height:
            self.scroll_to(y=i - height + 1, animate=False)

    def _can_rest(self, i: int) -> bool:
        row = self.rows[i]
        return row.kind != "group" or (self.timeline is not None and row.ref in self.timeline.folded)

    def toggle_fold(self, index: int | None = None) -> None:
        """Fold the selected row's lane group (or unfold the selected folded heading)."""
        i = self.cursor if index is None else index
        if self.timeline is None or not 0 <= i < len(self.rows) or self.timeline.by_connection:
            return
        row = self.rows[i]
        if row.kind == "group" and isinstance(row.ref, str):
            group = row.ref
        elif row.kind == "lane" and isinstance(row.ref, int):
            group = self.timeline.group_of(row.ref)
        else:
            return
        self.timeline.fold(group)
        self.data_changed()
        heading = next((k for k, r in enumerate(self.rows) if r.kind == "group" and r.ref == group), 0)
        self.cursor = heading if group in self.timeline.folded else min(heading + 1, len(self.rows) - 1)
        self.scroll_to_region_row(self.cursor)
        self._changed()

    def show_active_rows(self, since: float) -> bool:
        """Scroll so that the rows active since ``since`` are on screen (live mode).

        When they do not all fit, the server's active lanes come first (what ``demo`` tells the student to
        watch: MainThread, the workers), with as many client lanes under them as fit; when the server's lanes
        alone do not fit either (a thread per connection), the newest rows.  Returns whether it scrolled.
        """
        if self.timeline is None:
            return False
        rec = self.timeline.rec
        active, server = [], []
        for k, row in enumerate(self.rows):
            track = self.timeline.track(row)
            if track is not None and track.n and track.life is not None and track.life[1] >= since:
                active.append(k)
                lane = rec.lanes.get(row.ref) if row.kind == "lane" and isinstance(row.ref, int) else None
                if lane is not None and lane.side != "client":
                    server.append(k)
        if not active:
            return False
        height = self.scrollable_content_region.height
        top = int(self.scroll_offset.y)
        first, last = active[0], active[-1]
        if first >= top and last < top + height:
            return False
        if last - first < height:
            y = first - 1  # all of them, with the heading above the first
        elif server and server[-1] - server[0] < height:
            y = server[0] - 1 if server[-1] - server[0] < height - 1 else server[0]
            if server[0] >= top and server[-1] < top + height:
                return False  # the server's lanes are on screen already: leave the rest where the user put it
        else:
            y = max(first, last - height + 1)
        self.scroll_to(y=max(0, y), animate=False)
        return True

    def cursor_row(self) -> Row | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def cursor_lane(self) -> int | None:
        row = self.cursor_row()
        return row.ref if row is not None and row.kind == "lane" and isinstance(row.ref, int) else None

    def select(self, lane_id: int | None, index: int | None, *, conn: int | None = None) -> None:
        """Select an event (lane, index), or a whole connection; highlight its connection."""
        if self.timeline is None:
            return
        if lane_id is not None and index is not None:
            lane = self.timeline.rec.lanes[lane_id]
            self.selected = (lane_id, index)
            conn = lane.conn[index] or None
            for r, row in enumerate(self.rows):
                if row.kind == "lane" and row.ref == lane_id:
                    self.cursor = r
                    self.scroll_to_region_row(r)
                    break
        else:
            self.selected = None
        self.highlight = conn
        self._hl_spans = self._spans_of(conn) if conn is not None else {}
        self.refresh()
        self._changed()

    def step(self, forward: bool, all_lanes: bool) -> bool:
        """Move the playhead to the next (previous) event, select it; False at the end."""
        if self.timeline is None:
            return False
        lane = None if all_lanes else self.cursor_lane()
        current = self.selected if self.selected is not None and self.selected[0] >= 0 else None
        found = self.timeline.step(self.playhead, forward, None if lane is None else [lane], current)
        if found is None:
            return False
        lane_id, i = found
        self.seek(self.timeline.rec.lanes[lane_id].t[i])
        self.select(lane_id, i)
        return True

    def inspect_at_playhead(self) -> None:
        """Select what the selected row has under the playhead (or nearest to it)."""
        row = self.cursor_row()
        if self.timeline is None or row is None:
            return
        if row.kind == "conn" and isinstance(row.ref, int):
            self.select(None, None, conn=row.ref)
            return
        self._select_near(row, self.playhead)

    def _select_near(self, row: Row, t: float) -> bool:
        assert self.timeline is not None
        if row.kind == "conn" and isinstance(row.ref, int):
            self.select(None, None, conn=row.ref)
            return True
        if row.kind != "lane" or not isinstance(row.ref, int):
            return False
        track = self.timeline.track_for_lane(row.ref)
        i = track.event_at(t, self.view.scale * 1.5)
        if i < 0:
            return False
        self.select(row.ref, self.timeline.base_index(row.ref, i))
        return True

    # -------------------------------------------------- mouse
    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        self.post_message(UserMoved())
        index = int(self.scroll_offset.y) + offset.y
        if not 0 <= index < len(self.rows):
            return
        if self.rows[index].kind == "group":
            self.toggle_fold(index)  # a click on a heading folds or unfolds its group
            return
        self.cursor = index
        if offset.x >= self.label_width:
            t = self.view.time_at(offset.x - self.label_width + 0.5)
            if not self._select_near(self.rows[index], t):
                self.select(None, None)
        self.refresh()
        self._changed()

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if not self._wheel_moves_time(event, zoom=1.25, pan=-1):
            super()._on_mouse_scroll_up(event)

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if not self._wheel_moves_time(event, zoom=0.8, pan=1):
            super()._on_mouse_scroll_down(event)

    def _on_mouse_scroll_left(self, event: events.MouseScrollLeft) -> None:
        self._wheel_moves_time(event, zoom=None, pan=-1)

    def _on_mouse_scroll_right(self, event: events.MouseScrollRight) -> None:
        self._wheel_moves_time(event, zoom=None, pan=1)

    def _wheel_moves_time(self, event: events.MouseEvent, zoom: float | None, pan: int) -> bool:
        """Ctrl+wheel zooms at the pointer; shift+wheel and a sideways wheel (no ``zoom``) pan a tenth of the
        view; a plain wheel is left to scroll the lanes (False)."""
        sideways = zoom is None
        if not (sideways or event.ctrl or event.shift):
            return False
        self.auto_fit = False
        self.post_message(UserMoved())
        if event.ctrl and zoom is not None:
            self.zoom_by(zoom, self._time_under(event))
        else:
            self.pan_cells(pan * max(1, self.view.width // 10))
        event.stop()
        return True

    def _time_under(self, event: events.MouseEvent) -> float | None:
        offset = event.get_content_offset(self)
        if offset is None or offset.x < self.label_width:
            return None
        return self.view.time_at(offset.x - self.label_width + 0.5)
