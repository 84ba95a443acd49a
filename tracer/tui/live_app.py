"""``sockscope live``: the replay app on a recording that is still growing, with keys that poke the server.

How this works
--------------
Live is a replay whose file is still growing: :class:`LiveApp` is the replay
app with ``follow=True``, so the same loader thread tails the recording.  What
it adds: keys that fire a scenario's clients (each a process of its own,
appending to the same recording, see :class:`tracer.run.processes.Session`), a form to
set a scenario's counts, a bar under the ruler showing the marks the client
processes write ("scenario burst: clients=20 ..."), and a watch every quarter
second on the processes: the server dying, a client failing.  Following "now"
shows from the last firing's mark to now (at most the last ten seconds), so
what was just fired fills the view however long the session has run.

When attached to a recording another process writes (no session of ours), the
server's address comes from the recording's ``listen`` event, so the keys work
there too, until the recording's trailer says the server stopped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterable, Mapping

from rich.console import Group
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from tracer import addresses
from tracer.addresses import Address
from tracer.clients import scenarios, toolkit
from tracer.errors import TracerError
from tracer.locale import N_, _
from tracer.recording.events import KINDS
from tracer.run.live_session import POKES, Session, describe_firing
from tracer.timeline import palette
from tracer.tui.app import ReplayApp
from tracer.tui.messages import Loaded, LoadFailed, TimelineChanged
from tracer.tui.screens import ErrorScreen, HelpScreen
from tracer.tui.widgets import look
from tracer.tui.widgets.fitting import CellWrapped
from tracer.tui.widgets.look import clean

WATCH_EVERY = 0.25  # seconds between looks at the server and client processes
ATTACHED_IDLE = 600 * 10**9  # ns: attached, a recording silent longer than this is not taken as running
LIVE_WINDOW = 10e9  # ns: following shows at most the last 10 s of activity, so a long session shows what just happened
MARK_STYLE = look.Style(color="#ffd75f", bold=True)
_LISTEN = KINDS["listen"].code


def mark_label(text: str) -> str:
    """A mark's short label: ``scenario burst: clients=20 ...`` -> ``burst``."""
    words = text.split()
    if len(words) >= 2 and words[0] == "scenario":
        return words[1].rstrip(":")
    return text


class MarksBar(Widget):
    """One line under the ruler: ``▼burst`` where each firing's mark falls on the time axis."""

    DEFAULT_CSS = "MarksBar { height: 1; }"

    def render_line(self, y: int) -> Strip:
        app = self.app
        width = self.size.width
        tl = getattr(app, "timeline", None)
        if tl is None or not isinstance(app, ReplayApp):
            return Strip.blank(width)
        lanes = app.lanes
        view, lw = lanes.view, lanes.label_width
        cells: list[tuple[str, bool]] = [(" ", False)] * max(0, width - lw)
        for t, text in sorted(list(tl.rec.marks)):  # the loader thread appends: take a copy
            cell = view.cell_of(t)
            if not 0 <= cell < len(cells):
                continue
            for k, ch in enumerate("▼" + clean(mark_label(text))[:24] + " "):
                if cell + k < len(cells):
                    cells[cell + k] = (ch, k == 0)
        segs = [Segment(look.fit(" " + _("fired"), lw - 1) + "│", look.DIM)]
        segs += [Segment(ch, MARK_STYLE if head else look.DIM) for ch, head in cells]
        if palette.ascii_on():
            segs = [Segment(palette.glyphs(s.text), s.style) for s in segs]
        return Strip(segs, width).simplify().crop_extend(0, width, None)


class CountsScreen(ModalScreen[dict[str, str] | None]):
    """A form: one input per parameter of a scenario; Enter fires, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, scenario: str, values: Mapping[str, str]) -> None:
        super().__init__()
        self.scenario = scenarios.get(scenario)
        self.values = dict(values)

    def compose(self) -> ComposeResult:
        sc = self.scenario
        with Vertical(id="counts"):
            yield Label(Text(_("{name}: {description}").format(name=sc.name, description=_(sc.description)),
                             "bold"))
            for p in sc.all_params():
                with Horizontal(classes="count-row"):
                    yield Label(Text(p.name), classes="count-name")
                    yield Input(self.values.get(p.name, f"{p.default:g}"), id=f"count-{p.name}",
                                tooltip=_(p.help), classes="count-input", select_on_focus=False)
                    yield Label(Text(_(p.help), "dim"), classes="count-help")
            yield Label("", id="counts-error")
            with Horizontal(id="counts-buttons"):
                yield Button(_("Fire"), variant="primary", id="counts-fire")
                yield Button(_("Cancel"), id="counts-cancel")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The cursor at the end of a count, so Backspace edits it (it sat at the left: Backspace did nothing)."""
        if isinstance(event.widget, Input):
            event.widget.cursor_position = len(event.widget.value)

    def _collect(self) -> dict[str, str] | None:
        values = {p.name: self.query_one(f"#count-{p.name}", Input).value.strip()
                  for p in self.scenario.all_params()}
        try:
            self.scenario.resolve(values)
        except TracerError as exc:
            self.query_one("#counts-error", Label).update(Text(str(exc).removeprefix("--set "), "#ff5f5f"))
            return None
        return values

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "counts-fire":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        values = self._collect()
        if values is not None:
            self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


def live_help() -> Group:
    """The live keys, for the top of the help screen (the words wrap in their column, never under the keys)."""
    keys = Table.grid(padding=(0, 1), pad_edge=True)
    keys.add_column(no_wrap=True, style="bold")
    keys.add_column(overflow="fold")
    for p in POKES:
        keys.add_row(f"{p.key} {p.key.upper():<14}",
                     CellWrapped.of(_("{name}: {description}").format(
                         name=p.scenario, description=_(scenarios.get(p.scenario).description))))
    keys.add_row(f"{'f':<16}",
                 CellWrapped.of(_("follow now again (after panning, zooming, pausing or selecting)")))
    keys.add_row(f"{'p':<16}",
                 CellWrapped.of(_("pin the lanes where they are (again: follow the newest active lanes)")))
    return Group(Text(_("Live: keys that fire clients at the server (shift+key: set the counts first)"),
                      "bold underline"), keys,
                 CellWrapped.of(_("The \"fired\" row under the ruler marks when each was fired; each firing is a "
                                  "client process whose lanes join the recording.") + "\n"))


class LiveHelpScreen(HelpScreen):
    """The replay help, with the live keys on top."""

    def on_mount(self) -> None:
        self.query_one("#help").mount(Static(live_help()), before=0)


class LiveApp(ReplayApp):
    """The timeline following a growing recording; keys fire scenarios at the server.

    Args:
        path: the recording.
        session: our server and clients; None when attached to another process's recording.
        hint: one line shown under the title (``sockscope demo``'s "what to look at").
    """

    CSS = """
    #pokes { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    #hint { height: 1; padding: 0 1; color: $text-accent; text-overflow: ellipsis; text-wrap: nowrap; }
    CountsScreen { align: center middle; }
    #counts { width: 90%; max-width: 100; height: auto; max-height: 90%; border: round $primary;
              padding: 0 1; background: $surface; }
    .count-row { height: 1; }
    .count-name { width: 14; }
    .count-input { width: 12; height: 1; border: none; padding: 0 1; background: $boost; }
    .count-input:focus { background: $primary 40%; }
    .count-help { width: 1fr; padding: 0 1; }
    #counts-error { color: $error; }
    #counts-buttons { height: auto; }
    #counts-buttons Button { margin: 0 1; }
    """
    # Shown on their own line (see compose), not in the footer, which the replay keys fill.
    BINDINGS = [
        Binding("p", "pin", N_("pin lanes"), show=False),
        *(Binding(p.key, f"fire('{p.scenario}')", p.label, show=False) for p in POKES),
        *(Binding(p.key.upper(), f"counts('{p.scenario}')", f"{p.label}…", show=False) for p in POKES),
    ]

    def __init__(self, path: str | os.PathLike[str], *, session: Session | None = None,
                 hint: str | None = None) -> None:
        super().__init__(path, follow=True)
        self.session = session
        self.hint = hint
        self.counts: dict[str, dict[str, str]] = {}  # per scenario: what the form last set
        self.fired: list[str] = []  # what was fired, in order
        self.alerts: list[str] = []  # what the watch reported (server died, client failed), in order
        self._told: set[str] = set()  # notices given once
        self.load_failed = False
        self._tracked_key: tuple[float, float, int] = (0.0, 0.0, 0)  # the view as following last left it
        self.late_clients_stopped = False  # attached: our clients stopped after the other server ended
        self.pinned = False  # the lanes stay where the user scrolled them (p); else they follow new activity

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            yield widget
            if widget.id == "title" and self.hint:
                yield Static(Text(self.hint), id="hint")
            if widget.id == "ruler":
                yield MarksBar(id="marks")
            if widget.id == "detail":
                yield PokeKeys(poke_keys(), id="pokes")

    def on_mount(self) -> None:  # runs before ReplayApp.on_mount (Textual calls both)
        self.set_interval(WATCH_EVERY, self._watch)
        self._signals(on=True)
        if self.session is None:
            self.notify(_("Following {path}, written by another process. The keys fire clients at its "
                          "server once its address is in the recording.").format(path=self.path), timeout=6)
        else:
            self.notify(_("Recording to {path} (after q: sockscope replay {path})").format(path=self.path),
                        timeout=8)

    def on_unmount(self) -> None:
        self._signals(on=False)

    def _signals(self, on: bool) -> None:
        """Kill, or the terminal closing, quits the app, so that its caller stops the server and clients."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                if on:
                    loop.add_signal_handler(sig, self.exit)
                else:
                    loop.remove_signal_handler(sig)
            except (ValueError, RuntimeError, NotImplementedError):
                return  # not the main thread (or no signals here): the default stays

    @on(Loaded)
    @on(TimelineChanged)
    def _redraw_marks(self) -> None:  # besides ReplayApp's handlers; the bar reads the new state when drawn
        self.query_one(MarksBar).refresh()
        if self.tracking and self.lanes.view.key() != self._tracked_key:
            self._track_end()  # something else moved the view while following (a resize refits it all)

    def now(self) -> int:
        """The recording's "now" (ns): the clock runs on while nothing happens, until the trailer is written.

        The header's ``t0_monotonic_ns`` is this machine's monotonic clock at time 0 (the server's clients use
        it too), so now is the clock's reading minus it; never before the newest event.
        """
        tl = self.timeline
        if tl is None:
            return 0
        t0 = tl.rec.header.get("t0_monotonic_ns")
        if tl.rec.trailer is not None or not isinstance(t0, int):
            return tl.t_max
        clock = time.monotonic_ns() - t0
        ours = self.session is not None and self.session.server is not None
        if not ours and clock - tl.t_max > ATTACHED_IDLE:
            return tl.t_max  # attached to a file whose clock is not this machine's (or long dead): its last event
        return max(tl.t_max, clock)

    def _track_end(self) -> None:
        """Follow "now": from the last firing's mark (or the last LIVE_WINDOW, or the start) to now.

        Overrides ReplayApp's (fit everything): a burst fired into a long session would get one cell.  Once
        the fired activity is over and the clock runs on, the view stays on the activity (at least half of
        it), not on the growing idle time; the title says the time.  The lanes follow the newest activity
        unless pinned (p).
        """
        tl = self.timeline
        if tl is None:
            return
        lanes = self.lanes
        lanes.fit()  # takes the current width
        now = self.now()
        lanes.horizon = now
        found = tl.bursts()
        last = min(now, max((b.t1 for b in found), default=now))
        # The last 10 s of activity, not of the clock: left idle for longer, the view kept what was done last (it
        # showed 10 empty seconds, every lane blank, though MainThread was still waiting in accept).
        t0 = max(tl.t_min, last - LIVE_WINDOW)
        fired = [t for t, _ in list(tl.rec.marks) if t0 <= t <= now]
        if fired:
            t0 = max(fired)  # what was fired last fills the view
        ends = [b.t1 for b in found if b.t1 >= t0]
        t1: float = now
        if ends and now - t0 > 2 * max(max(ends) - t0, 500_000_000):
            t1 = max(ends) + (max(ends) - t0)  # idle for long: keep the activity across half the view
        span = max(t1 - t0, 1_000_000)
        lanes.framed = (t0 - span * 0.03, t1 + span * 0.12)  # room for the mark, and for the playhead's margin
        lanes.view.fit(*lanes.framed)
        lanes.seek(now, keep_visible=False)
        if not self.pinned:
            lanes.show_active_rows(t0)
        self._tracked_key = lanes.view.key()
        self._update_panels()

    def action_pin(self) -> None:
        self.pinned = not self.pinned
        self.notify(_("Lanes pinned: they stay where you scroll them (p again: follow new activity).") if self.pinned
                    else _("Lanes follow the newest activity again."), timeout=3)

    # -------------------------------------------------- poking
    def action_fire(self, scenario: str) -> None:
        session = self._session()
        if session is None:
            return
        try:
            firing = session.fire(scenario, self.counts.get(scenario))
        except TracerError as exc:
            self.notify(str(exc), title=_("Not fired"), severity="warning", timeout=6)
            return
        text = describe_firing(scenario, firing.params)
        self.fired.append(text)
        self.notify(_("fired {what}").format(what=text), timeout=3)
        self.action_follow()  # show what it does

    def action_counts(self, scenario: str) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self.counts[scenario] = values
                self.action_fire(scenario)

        self.push_screen(CountsScreen(scenario, self.counts.get(scenario, {})), done)

    def _session(self) -> Session | None:
        """Our session; attached, one made from the recording's listen address, while the recording goes on."""
        if self.session is not None and self.session.server is not None:
            return self.session
        tl = self.timeline
        if tl is not None and tl.rec.trailer is not None:
            why = _("the recording has ended (its server stopped)")
        elif self.session is not None:
            return self.session
        elif tl is not None and (address := listen_address(tl.rec.lanes.values())) is not None:
            self.session = Session(None, self.path, address=address, first_round=toolkit.next_round(self.path))
            return self.session
        else:
            why = _("the recording does not say where its server listens yet")
        self.notify(_("Poking is off: {why}.").format(why=why), severity="warning", timeout=6)
        return None

    # -------------------------------------------------- watching the processes
    def _watch(self) -> None:
        if self.tracking and self.timeline is not None and self.timeline.rec.trailer is None:
            self._track_end()  # the clock runs while nothing happens
        session = self.session
        if session is not None:
            died = session.death()
            if died and "died" not in self._told:
                self._told.add("died")
                self.alerts.append(died)
                head, _nl, rest = died.partition("\n")
                self.notify((rest or _("no error output")) + "\n" + _("The recording so far stays readable; q quits."),
                            title=head, severity="error", timeout=30)
            raised = session.raised()
            if raised is not None and raised.count and raised.last_line and "raised" not in self._told:
                self._told.add("raised")  # the first only: a handler that raises on every request would flood
                program = session.cfg.model if session.cfg is not None else "?"
                said = _("{program} raised {error}").format(program=program, error=raised.last_line)
                self.alerts.append(said)
                self.notify(_("Its traceback is printed when you quit (q)."), title=said, severity="warning",
                            timeout=10)
            for failure in session.client_failures():
                self.alerts.append(failure)
                self.notify(failure, title=_("A client process failed"), severity="warning", timeout=10)
        if "ended" not in self._told and self.timeline is not None and self.timeline.rec.trailer is not None:
            self._told.add("ended")  # the server wrote its trailer: another process's, or ours ending by itself
            self.notify(_("The server stopped: the recording is complete."), timeout=8)
            if session is not None and session.firings:
                self._trailer_last_again(session)

    @on(LoadFailed)
    def _note_load_failed(self, message: LoadFailed) -> None:
        if not message.stale:
            self.load_failed = True

    @work(thread=True, group="late-clients")
    def _trailer_last_again(self, session: Session) -> None:
        """The server wrote its trailer while our clients ran: they may have appended lines after it.

        Stop them, put the trailer last again, and read the fixed file afresh.
        """
        from tracer.run.headless import move_trailer_last  # the one fix-up `record` uses too

        session.stop()
        before = os.stat(self.path).st_ino
        move_trailer_last(self.path)
        self.call_from_thread(self._reopen, os.stat(self.path).st_ino != before)

    def _reopen(self, replaced: bool) -> None:
        self.late_clients_stopped = True
        if not replaced:
            return
        # read the fixed file afresh whatever the loader did: it may have failed at the old file's line after the
        # trailer, or may yet (a poll that stat'ed the path before the move reads the old file after it); once
        # stopped, a failure it posts is stale and not shown (its ErrorScreen came after this once in CI)
        if self._loader is not None:
            self._loader.stop()
        self.load_failed = False
        self.error = None
        if isinstance(self.screen, ErrorScreen):
            self.pop_screen()
        self._load()
        self.alerts.append("our clients' last lines came after the server's trailer: moved it last")
        self.notify(_("Our clients' last lines came after the server's trailer: moved it last, reading again."),
                    timeout=8)

    def action_help(self) -> None:
        self.push_screen(LiveHelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("fire", "counts") and self.screen is not self.screen_stack[0]:
            return False  # typing a count in the form is not a poke
        return super().check_action(action, parameters)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for p in POKES:
            sc = scenarios.get(p.scenario)
            yield SystemCommand(_("Fire {scenario} ({key})").format(scenario=p.scenario, key=p.key),
                                _(sc.description), lambda name=p.scenario: self.action_fire(name))
            yield SystemCommand(_("Fire {scenario} with counts… ({key})").format(scenario=p.scenario,
                                                                                key=p.key.upper()),
                                _("Set how many clients, requests ... then fire"),
                                lambda name=p.scenario: self.action_counts(name))


def poke_keys(width: int | None = None) -> Text:
    """The line of keys that fire clients: ``fire: b burst  s slow clients ...``.

    ``width``: the cells there are; the shift+key note is left out when it would not fit (it was cut to
    ``shift+…`` at 80 columns; the help screen says it too).
    """
    text = Text(_("fire") + " ", "bold")
    for p in POKES:
        text.append(f" {p.key}", "bold #ffd75f")
        text.append(f" {_(p.label)} ")
    note = "  " + _("shift+key: set counts first")
    if width is None or text.cell_len + Text(note).cell_len <= width:
        text.append(note, "dim")
    return text


class PokeKeys(Static):
    """:func:`poke_keys`, as wide as it is given."""

    def on_resize(self, event: events.Resize) -> None:
        self.update(poke_keys(max(0, event.size.width - 2)))  # (its padding: a cell each side)


def listen_address(lanes: Iterable[object]) -> Address | None:
    """Where the server listens, from a server lane's ``listen`` event (``host:port``, ``[::1]:port``, ``unix:P``)."""
    for lane in lanes:
        if getattr(lane, "side", None) != "server":
            continue
        for i, detail in list(lane.details.items()):  # type: ignore[attr-defined]
            if lane.kind[i] == _LISTEN and isinstance(detail, str):  # type: ignore[attr-defined]
                try:
                    return addresses.parse(detail)
                except ValueError:
                    continue  # not one we can aim clients at
    return None


def run_app(path: str, *, session: Session | None, hint: str | None = None) -> LiveApp:
    """Run the live UI until the user quits; return the app (tests read what it saw)."""
    app = LiveApp(path, session=session, hint=hint)
    app.run()
    return app
