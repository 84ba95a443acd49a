"""Modal screens: help, go to a time, filters, and a readable error."""

from __future__ import annotations

from rich.cells import set_cell_size
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from tracer.locale import N_, _
from tracer.recording.events import KINDS
from tracer.timeline import palette
from tracer.timeline.rows import Filters, Timeline
from tracer.tui.widgets.fitting import CellWrapped
from tracer.tui.widgets.look import clean
from tracer.tui.widgets.panels import legend
from tracer.units import parse_time

KEYS = [
    ("space", N_("play / pause (playback runs on a clock: trace time per second)")),
    ("[  ]", N_("slower / faster (1 µs of trace per second ... 10 s per second)")),
    ("← →", N_("previous / next event on the selected lane")),
    (",  .", N_("previous / next event on any lane")),
    ("↑ ↓  pgup pgdn", N_("select a lane / scroll the lanes")),
    ("+ -  0", N_("zoom in / out around the playhead, fit the activity (not the dead time around it)")),
    ("{  }", N_("previous / next burst of activity (the gaps between are skipped)")),
    ("h l  shift+← →", N_("pan left / right")),
    ("home end", N_("jump to the start / end")),
    ("g", N_("go to a time you type (12.5ms, 300us, 2s)")),
    ("enter", N_("inspect the event under the playhead on the selected lane")),
    ("tab", N_("by-thread view / by-connection view")),
    ("o  /  x", N_("only the selected connection (again: all) / filter dialog / clear filters")),
    ("escape", N_("clear the selection")),
    ("z", N_("fold the selected lane's group to its heading (again: unfold); or click a heading")),
    ("f", N_("follow the end of a growing recording (live)")),
    ("ctrl+p", N_("command palette (also: language 中文/English, ASCII glyphs)")),
    ("mouse", N_("click an event to inspect it; click the ruler to seek; wheel scrolls lanes, "
                 "shift+wheel pans, ctrl+wheel (or wheel on the ruler) zooms")),
]


class HelpScreen(ModalScreen[None]):
    """What the colours, marks and keys mean."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 1), pad_edge=True)  # words wrap in their own column, never under the keys
        keys.add_column(no_wrap=True, style="bold")
        keys.add_column(overflow="fold")
        for key, words in KEYS:
            keys.add_row(set_cell_size(palette.glyphs(key), 16), CellWrapped.of(_(words)))
        notes = Text(_("A zoomed-out cell summarises every event under it: the kind of time that covers most of "
                       "the cell wins; a thread's start (●), a close (×) and a thread's end (○) always show, "
                       "whatever else the cell holds. Other instants show when nothing covers the cell.") + "\n")
        glyphs = Text(_("If the rows of the timeline do not line up (some terminals in a Chinese locale draw "
                        "▒ █ ░ │ ┃ two cells wide), start with --ascii or SOCKSCOPE_ASCII=1, or choose "
                        "'ASCII glyphs' in the command palette (ctrl+p): the same timeline in plain ASCII.") + "\n"
                      + _("Language: --lang zh|en, SOCKSCOPE_LANG, or LANG=zh_CN.UTF-8; ctrl+p switches it now."))
        with VerticalScroll(id="help"):
            yield Static(Text(_("What you see"), "bold underline"))
            yield Static(legend())
            yield Static(CellWrapped.of(notes))
            yield Static(Text(_("Keys"), "bold underline"))
            yield Static(keys)
            yield Static(Text("\n" + _("Glyphs"), "bold underline"))
            yield Static(CellWrapped.of(glyphs))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)


class GotoScreen(ModalScreen[int | None]):
    """Type a time; the playhead goes there."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="goto"):
            yield Label(_("Go to time (12.5ms, 300us, 2s; a plain number is ms):"))
            yield Input(placeholder="12.5ms", id="goto-input")
            yield Label("", id="goto-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            t = parse_time(event.value)
        except ValueError as exc:
            self.query_one("#goto-error", Label).update(Text(str(exc), "#ff5f5f"))
            return
        self.dismiss(t)

    def action_cancel(self) -> None:
        self.dismiss(None)


class FilterScreen(ModalScreen[Filters | None]):
    """Choose a connection, kinds and lanes to show."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, timeline: Timeline, current: Filters) -> None:
        super().__init__()
        self.timeline = timeline
        self.current = current

    def compose(self) -> ComposeResult:
        cur = self.current
        lanes = list(self.timeline.rec.lanes.values())
        with Vertical(id="filters"):
            yield Label(_("Connection id (empty: all):"))
            yield Input(value="" if cur.conn is None else str(cur.conn), id="filter-conn", type="integer")
            with Horizontal(id="filter-lists"):
                yield SelectionList[str](
                    *[Selection(name, name, cur.kinds is None or name in cur.kinds) for name in KINDS],
                    id="filter-kinds")
                yield SelectionList[int](
                    *[Selection(Text(clean(lane.name, 40)), lane.id, cur.lanes is None or lane.id in cur.lanes)
                      for lane in lanes], id="filter-lanes")
            yield Label("", id="filter-error")
            with Horizontal(id="filter-buttons"):
                yield Button(_("Apply"), variant="primary", id="apply")
                yield Button(_("Clear all"), id="clear")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#filter-kinds").border_title = _("kinds")
        self.query_one("#filter-lanes").border_title = _("lanes")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "clear":
            self.dismiss(Filters())
        else:
            self._apply()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._apply()

    def _apply(self) -> None:
        raw = self.query_one("#filter-conn", Input).value.strip()
        try:
            conn = int(raw) if raw else None
        except ValueError:
            self.query_one("#filter-error", Label).update(
                Text(_("expected a connection id, got {text!r}").format(text=raw), "#ff5f5f"))
            return
        kinds = frozenset(self.query_one("#filter-kinds", SelectionList).selected)
        lanes = frozenset(self.query_one("#filter-lanes", SelectionList).selected)
        all_lanes = len(lanes) == len(self.timeline.rec.lanes)
        self.dismiss(Filters(conn, None if all_lanes else lanes, None if len(kinds) == len(KINDS) else kinds))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ErrorScreen(ModalScreen[None]):
    """A recording that cannot be shown: one readable line, and a way out."""

    BINDINGS = [Binding("escape", "dismiss", "close"), Binding("q", "app.quit", "quit")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="error"):
            yield Label(Text(_("Cannot show this recording"), "bold #ff5f5f"))
            yield Static(Text(clean(self.message, 400)))
            yield Label(Text(_("q quits · escape closes this message"), "#808080"))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
