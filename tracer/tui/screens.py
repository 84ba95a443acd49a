"""Modal screens: help, go to a time, filters, and a readable error."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from tracer.recording.events import KINDS
from tracer.timeline.rows import Filters, Timeline
from tracer.tui.widgets.look import clean
from tracer.tui.widgets.panels import legend
from tracer.units import parse_time

KEYS = [
    ("space", "play / pause (playback runs on a clock: trace time per second)"),
    ("[  ]", "slower / faster (1 µs of trace per second ... 10 s per second)"),
    ("← →", "previous / next event on the selected lane"),
    (",  .", "previous / next event on any lane"),
    ("↑ ↓  pgup pgdn", "select a lane / scroll the lanes"),
    ("+ -  0", "zoom in / out around the playhead, fit the activity (not the dead time around it)"),
    ("{  }", "previous / next burst of activity (the gaps between are skipped)"),
    ("h l  shift+← →", "pan left / right"),
    ("home end", "jump to the start / end"),
    ("g", "go to a time you type (12.5ms, 300us, 2s)"),
    ("enter", "inspect the event under the playhead on the selected lane"),
    ("tab", "by-thread view / by-connection view"),
    ("o  /  x", "only the selected connection (again: all) / filter dialog / clear filters"),
    ("escape", "clear the selection"),
    ("z", "fold the selected lane's group to its heading (again: unfold); or click a heading"),
    ("f", "follow the end of a growing recording (live)"),
    ("ctrl+p", "command palette"),
    ("mouse", "click an event to inspect it; click the ruler to seek; wheel scrolls lanes, "
              "shift+wheel pans, ctrl+wheel (or wheel on the ruler) zooms"),
]


class HelpScreen(ModalScreen[None]):
    """What the colours, marks and keys mean."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("What you see\n", "bold underline")
        text.append_text(legend())
        text.append("\nA zoomed-out cell summarises every event under it: the kind of time that covers most of "
                    "the cell wins; a thread's start (●), a close (×) and a thread's end (○) always show, "
                    "whatever else the cell holds. Other instants show when nothing covers the cell.\n\n")
        text.append("Keys\n", "bold underline")
        for key, words in KEYS:
            text.append(f"  {key:<16}", "bold")
            text.append(f" {words}\n")
        with VerticalScroll(id="help"):
            yield Static(text)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)


class GotoScreen(ModalScreen[int | None]):
    """Type a time; the playhead goes there."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="goto"):
            yield Label("Go to time (12.5ms, 300us, 2s; a plain number is ms):")
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
            yield Label("Connection id (empty: all):")
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
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Clear all", id="clear")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#filter-kinds").border_title = "kinds"
        self.query_one("#filter-lanes").border_title = "lanes"

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
            self.query_one("#filter-error", Label).update(Text(f"expected a connection id, got {raw!r}", "#ff5f5f"))
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
            yield Label(Text("Cannot show this recording", "bold #ff5f5f"))
            yield Static(Text(clean(self.message, 400)))
            yield Label(Text("q quits · escape closes this message", "#808080"))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
