"""``sockscope replay``: the per-thread timeline app.

How this works
--------------
A worker thread runs a :class:`~tracer.recording.follow.Loader` over the file; after each
chunk it brings the :class:`~tracer.timeline.rows.Timeline` index up to date and
posts one :class:`~tracer.tui.messages.Loaded` message, so the first screen is
drawn while the rest loads.  With ``follow=True`` the loader keeps polling the
file (every 100 ms) and the view tracks the newest time until the user pans,
pauses or selects; ``f`` tracks again.  Live mode subclasses this app (extra
``BINDINGS`` merge with these) and reuses the same path.

Playback reads ``time.monotonic()``: the playhead is where it was when play
started plus elapsed wall time times the speed, so a slow frame never slows
the trace's clock.
"""

from __future__ import annotations

import bisect
import dataclasses
import gc
import math
import os
import time
from collections.abc import Iterable

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ProgressBar

from tracer import locale
from tracer.errors import TracerError
from tracer.locale import N_, _
from tracer.recording.events import Event
from tracer.recording.follow import Batch, Loader
from tracer.timeline import palette
from tracer.timeline.rows import Filters, Timeline
from tracer.timeline.track import SPEEDS, fmt_speed
from tracer.tui.messages import JumpTo, Loaded, LoadFailed, Seek, TimelineChanged, UserMoved, ZoomAt
from tracer.tui.screens import ErrorScreen, FilterScreen, GotoScreen, HelpScreen
from tracer.tui.widgets.fitting import KeysFooter
from tracer.tui.widgets.panels import AboutLine, DetailPanel, Ruler, StatusStrip, TitleBar, describe_event
from tracer.tui.widgets.timeline import TimelineView
from tracer.units import fmt_time

FRAME = 1 / 30  # playback redraws at 30 frames a second; the clock decides where the playhead is
REDRAW = 0.3  # while a big file loads, redraw the lanes at most this often (seconds),
LOAD_SHARE = 5  # and after a redraw wait this many times what it cost the UI's thread: at most a sixth of its time
_cpu = getattr(time, "thread_time", time.perf_counter)  # (the UI thread's CPU time, where the platform has it)


class ReplayApp(App[None]):
    """The timeline of one recording (``follow=True``: of a recording that is still growing)."""

    CSS_PATH = "app.tcss"
    TITLE = "sockscope"
    DETAIL_SHARE = 3  # the detail panel grows to at most this share of the screen's height (then scrolls)
    # Descriptions are marked here and translated when the language is set (_translate_bindings).
    BINDINGS = [
        Binding("space", "play", N_("play")),
        Binding("left", "step(False, False)", N_("step"), key_display="←→"),
        Binding("right", "step(True, False)", N_("next"), show=False),
        Binding("comma", "step(False, True)", N_("prev any lane"), show=False),
        Binding("full_stop", "step(True, True)", N_("next any lane"), show=False),
        Binding("plus,equals_sign", "zoom(2)", N_("zoom"), key_display="+-"),
        Binding("minus", "zoom(0.5)", N_("zoom out"), show=False),
        Binding("tab", "toggle_view", N_("view"), priority=True),
        Binding("question_mark", "help", N_("help")),
        Binding("q", "quit", N_("quit")),
        # A student expects Ctrl-C to quit (Textual's default only says "Press ctrl+q to quit"); priority: also
        # from a dialog or an input field.
        Binding("ctrl+c", "quit", N_("quit"), show=False, priority=True),
        Binding("0", "fit", N_("fit")),
        Binding("right_curly_bracket", "burst(True)", N_("next burst"), key_display="{}"),
        Binding("left_curly_bracket", "burst(False)", N_("prev burst"), show=False),
        Binding("right_square_bracket", "speed(1)", N_("speed"), key_display="[]"),
        Binding("left_square_bracket", "speed(-1)", N_("slower"), show=False),
        Binding("g", "goto", N_("go to")),
        Binding("slash", "filters", N_("filter")),
        Binding("h,shift+left", "pan(-1)", N_("pan left"), show=False),
        Binding("l,shift+right", "pan(1)", N_("pan right"), show=False),
        Binding("up", "cursor(-1)", N_("lane up"), show=False),
        Binding("down", "cursor(1)", N_("lane down"), show=False),
        Binding("pageup", "cursor(-10)", N_("page up"), show=False),
        Binding("pagedown", "cursor(10)", N_("page down"), show=False),
        Binding("home", "jump(False)", N_("to the start"), show=False),
        Binding("end", "jump(True)", N_("to the end"), show=False),
        Binding("enter", "inspect", N_("inspect"), show=False),
        Binding("o", "filter_connection", N_("only this conn"), show=False),
        Binding("x", "clear_filters", N_("clear filters"), show=False),
        Binding("escape", "unselect", N_("unselect"), show=False),
        Binding("f", "follow", N_("follow"), show=False),
        Binding("z", "fold", N_("fold group"), show=False),
    ]

    def __init__(self, path: str | os.PathLike[str], *, follow: bool = False, at: int | None = None,
                 conn: int | None = None) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.follow = follow
        self.open_at = (at, conn) if at is not None or conn is not None else None  # replay --at/--conn
        self.timeline: Timeline | None = None
        self.loaded = False
        self.error: str | None = None  # why the recording could not be read (the CLI exits 2 with it)
        self.tracking = follow  # the view follows the newest time (live mode)
        self.user_moved = False  # once the user moves the view, loading stops re-fitting it
        self.playing = False
        self.speed_index = SPEEDS.index(1_000_000)
        self._speed_chosen = False  # once the user picks a speed, loading leaves it alone
        self._anchor = (0.0, 0)  # (wall clock, trace time) when play started
        self._loader: Loader | None = None
        self._timer: Timer | None = None
        self._pending_panels = False
        self._t_digits: tuple[float, int] | None = None  # the playhead time's unit and decimals, kept (see _digits)
        self._redrawn = 0.0
        self._redraw_wait = REDRAW  # the least time to the next redraw while loading (see _redraw_cost)
        self._redraw_cpu = 0.0
        self._frozen = False  # gc.freeze()d a big recording (see on_loaded)
        self._detail_key: tuple[object, ...] = ()
        self._detail_lines = 2
        self._english_bindings = {(key, b.action): b.description
                                  for key, bs in self._bindings.key_to_bindings.items() for b in bs}
        self._translate_bindings()

    # -------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield TitleBar(id="title")
        yield AboutLine(id="about")
        yield ProgressBar(id="progress", show_eta=False)
        yield Ruler(id="ruler")
        yield TimelineView(id="timeline")
        yield StatusStrip(id="status")
        yield DetailPanel(id="detail")
        yield KeysFooter()  # no key cut under ^p (a cut Chinese word came out as blanks: '^p   令')

    @property
    def lanes(self) -> TimelineView:
        return self.query_one(TimelineView)

    def _translate_bindings(self) -> None:
        """The footer's words in the language in force (Binding is frozen: each is replaced)."""
        table = self._bindings.key_to_bindings
        for key, bindings in table.items():
            table[key] = [dataclasses.replace(b, description=_(self._english_bindings.get((key, b.action), "")))
                          if self._english_bindings.get((key, b.action)) else b for b in bindings]

    def switch_language(self, lang: str) -> None:
        """Speak ``lang`` from now on: footer, panels, rows, help (from the command palette)."""
        locale.set_language(lang)
        self._translate_bindings()
        self.refresh_bindings()
        self._redraw_words()
        self.notify(_("Language: English") if lang == "en" else _("Language: 简体中文"), timeout=3)

    def switch_ascii(self) -> None:
        """Block glyphs or plain ASCII (for a terminal that draws ▒ █ │ two cells wide)."""
        palette.set_ascii(not palette.ascii_on())
        self._redraw_words()
        self.notify(_("ASCII glyphs on") if palette.ascii_on() else _("Block glyphs on"), timeout=3)

    def _redraw_words(self) -> None:
        self._detail_key = ()
        about = self.query_one(AboutLine)
        if about.display:  # a shipped recording's line, in the language now in force
            about.show(self.timeline, self.path)
        if self.timeline is not None:
            self.lanes.data_changed()  # the rows' labels (groups, counters) are made in the language in force
        self.lanes.refresh()
        self.query_one(Ruler).refresh()
        self._update_panels()

    def on_mount(self) -> None:
        self.query_one(AboutLine).display = False  # until the header says which recording this is
        self.query_one(ProgressBar).display = False  # shown only if the first chunk is not the whole file
        self.lanes.focus()
        self._timer = self.set_interval(FRAME, self._tick, pause=True)
        self._load()
        self._update_panels()

    def on_resize(self) -> None:
        self._size_detail()

    def _size_detail(self, lines: int | None = None) -> None:
        """The detail panel grows with its story (up to a third of the screen, then it scrolls), so the
        lanes keep the rest: at 80x24 an unselected panel takes 3 rows, a connection's story up to 8."""
        panel = self.query_one(DetailPanel)
        if lines is not None:
            self._detail_lines = lines
        top = max(3, self.size.height // self.DETAIL_SHARE)
        panel.styles.height = max(3, min(top, self._detail_lines + 1))

    def on_unmount(self) -> None:
        if self._loader is not None:
            self._loader.stop()
        if self._frozen:
            gc.unfreeze()

    # -------------------------------------------------- loading (a worker thread)
    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        timeline: Timeline | None = None

        def on_batch(batch: Batch) -> None:
            nonlocal timeline
            if timeline is None or batch.reset or timeline.rec is not batch.recording:
                timeline = Timeline(batch.recording, fed=not self.follow)
            else:
                timeline.update()
                timeline.look()
            if batch.finished:
                timeline.finish()
            self.post_message(Loaded(batch, timeline, loader))

        loader = self._loader = Loader(self.path, on_batch, follow=self.follow)
        try:
            loader.run()
        except TracerError as exc:
            self.post_message(LoadFailed(str(exc), loader))
        except OSError as exc:  # a read error mid-file: say so, in one line
            self.post_message(LoadFailed(f"{self.path}: {exc.strerror or exc}", loader))
        except Exception as exc:  # noqa: BLE001 - a reader bug: still one line for the user, not a traceback
            self.post_message(LoadFailed(_("{path}: sockscope could not read this recording ({error}); please "
                                           "report it").format(path=self.path, error=f"{type(exc).__name__}: {exc}"),
                                         loader))

    def on_loaded(self, message: Loaded) -> None:
        if message.stale:
            return
        batch = message.batch
        lanes = self.lanes
        first = self.timeline is None or message.timeline is not self.timeline
        if first:
            self.timeline = message.timeline
            lanes.set_timeline(self.timeline)
            self.query_one(AboutLine).show(self.timeline, self.path)
        elif (batch.finished or batch.reset or batch.done >= batch.total
              or time.monotonic() - self._redrawn > self._redraw_wait):
            # a big file's batches come fast: redraw a few times a second, and the more a redraw costs (the rows
            # read more events as more come in) the less often, so that the UI leaves the loader most of the time
            self._redraw_cpu = _cpu()
            self.call_after_refresh(self._redraw_cost)
            message.timeline.changed()
            lanes.data_changed()
        else:
            bar = self.query_one(ProgressBar)
            bar.update(total=max(batch.total, 1), progress=batch.done)
            bar.display = True
            return
        self._redrawn = time.monotonic()
        if batch.reset:
            self.notify(_("The recording was truncated or replaced: reading it again."), severity="warning")
        bar = self.query_one(ProgressBar)
        bar.update(total=max(batch.total, 1), progress=batch.done)
        bar.display = batch.done < batch.total  # following: hidden while caught up with the file
        if batch.finished:
            self._finished()
        if self.tracking:
            self._track_end()
        elif lanes.auto_fit:
            lanes.fit()
        self._update_panels()

    def _redraw_cost(self) -> None:
        """After a redraw while loading: what it cost this thread (the rows, the panels, the screen) sets the wait."""
        self._redraw_wait = max(REDRAW, LOAD_SHARE * (_cpu() - self._redraw_cpu))

    def _finished(self) -> None:
        """The whole file is in (replay): pick a speed, drop the bar, say what the reader warned about."""
        self.loaded = True
        self.query_one(ProgressBar).display = False
        if self.timeline is None:
            return
        if not self._speed_chosen:
            # the whole recording plays in about 20 s; [ and ] go from there down to µs per second
            span = max(self.timeline.t_max - self.timeline.t_min, 1)
            self.speed_index = max(0, bisect.bisect_right(SPEEDS, span / 20) - 1)
        if self.timeline.rec.n_events > 100_000:
            # a million events are millions of objects the collector would walk on every pass: a full
            # collection mid-pan costs a frame (measured: 100+ ms); they live as long as the app anyway
            gc.collect()
            gc.freeze()
            self._frozen = True
        for warning in self.timeline.rec.warnings[:3]:
            self.notify(warning, severity="warning", timeout=6)
        if self.open_at is not None:
            self._open_there(*self.open_at)
            self.open_at = None

    def _open_there(self, at: int | None, conn: int | None) -> None:
        """``replay --at T --conn N`` (the evidence ``grade`` names): the playhead at T, N's event there selected."""
        assert self.timeline is not None
        event: Event | None = None
        if conn is not None:
            story = self.timeline.rec.connection_events(conn)
            if not story:
                self.notify(f"this recording has no connection {conn}", severity="warning", timeout=6)
            else:
                event = next((e for e in story if at is None or e.t + e.dur >= at), story[-1])
        self._user()
        self.lanes.seek(at if at is not None else event.t if event is not None else self.timeline.t_min)
        if event is not None and (i := self.timeline.index_of(event)) >= 0:
            self.lanes.select(event.lane, i)
        self._reanchor()

    def on_load_failed(self, message: LoadFailed) -> None:
        if message.stale:
            return
        self.error = message.error
        self.loaded = True
        self.query_one(ProgressBar).display = False
        self.notify(message.error, title=_("Cannot read the recording"), severity="error", timeout=10)
        self.push_screen(ErrorScreen(message.error))

    def _track_end(self) -> None:
        if self.timeline is None:
            return
        lanes = self.lanes
        if lanes.view.scale <= 1.0 or not self.user_moved:
            lanes.fit()
        lanes.seek(self.timeline.t_max)

    # -------------------------------------------------- panels
    def on_timeline_changed(self, message: TimelineChanged) -> None:
        if not self._pending_panels:  # many changes in one frame: redraw the panels once
            self._pending_panels = True
            self.call_after_refresh(self._update_panels)

    def _update_panels(self) -> None:
        self._pending_panels = False
        lanes = self.lanes
        tl = self.timeline
        speed = SPEEDS[self.speed_index]
        if self.follow:
            note = _("following") if self.tracking else _("f follows the end")
        else:
            note = "" if self.loaded else _("loading…")
        self._t_digits = _digits(lanes.playhead, lanes.view.scale, self._t_digits)
        self.query_one(TitleBar).show(tl, self.path, self.playing, fmt_speed(speed), _ratio(speed),
                                      fmt_time(lanes.playhead, self._t_digits[1]), note)
        heading = ((_("connection") if lanes.label_width >= 18 else _("conn")) if tl and tl.by_connection
                   else _("thread"))
        self.query_one(Ruler).show(lanes.view, lanes.label_width, lanes.playhead, heading)
        self.query_one(StatusStrip).show(tl.stats_at(lanes.playhead) if tl else None,
                                         tl.filters.describe() if tl else "")
        key = (id(tl), lanes.selected, lanes.highlight, tl.rec.n_events if tl else 0)
        if tl is not None and key != self._detail_key:  # (the story does not move with the playhead)
            self._detail_key = key
            event = None
            if lanes.selected is not None:
                lane = tl.rec.lanes.get(lanes.selected[0])
                if lane is not None and lanes.selected[1] < len(lane):
                    event = lane.event(lanes.selected[1])
            targets: dict[int, Event] = {}
            text = describe_event(tl, event, lanes.highlight, targets, max(20, self.size.width - 2))
            self.query_one(DetailPanel).show(text, targets)
            self._size_detail(text.plain.rstrip("\n").count("\n") + 1)

    def on_seek(self, message: Seek) -> None:
        self._user()
        self.lanes.seek(message.t, keep_visible=False)
        self._reanchor()

    def on_jump_to(self, message: JumpTo) -> None:
        """Go to an event picked in the detail panel (the selected connection stays highlighted)."""
        if self.timeline is None:
            return
        self._user()
        e = message.event
        i = self.timeline.index_of(e)
        if i >= 0:
            self.lanes.seek(e.t)
            self.lanes.select(e.lane, i)
        self._reanchor()

    def on_user_moved(self, message: UserMoved) -> None:
        self._user()

    def on_zoom_at(self, message: ZoomAt) -> None:
        self._user()
        self.lanes.zoom_by(message.factor, message.t)

    # -------------------------------------------------- playback
    def _tick(self) -> None:
        wall0, t0 = self._anchor
        t = t0 + (time.monotonic() - wall0) * SPEEDS[self.speed_index]
        top = self.timeline.t_max if self.timeline else 0
        if t >= top and not self.follow:
            t = top
            self._set_playing(False)
        lanes = self.lanes
        lanes.playhead = int(t)
        view = lanes.view
        if view.cell_of(t) >= view.width - 1 or view.cell_of(t) < 0:
            view.start = t - view.width * view.scale * 0.1  # page on: the cells of a page are drawn once
            lanes.framed = None
            lanes.invalidate()
        else:
            lanes.refresh()
            self._update_panels()

    def _reanchor(self) -> None:
        self._anchor = (time.monotonic(), self.lanes.playhead)

    def _set_playing(self, playing: bool) -> None:
        self.playing = playing
        if self._timer is not None:
            if playing:
                self._reanchor()
                self._timer.resume()
            else:
                self._timer.pause()
        self._update_panels()

    def _user(self) -> None:
        """The user took the wheel: stop re-fitting and stop following the end."""
        self.user_moved = True
        self.tracking = False
        self.lanes.auto_fit = False

    # -------------------------------------------------- actions
    def action_play(self) -> None:
        if not self.playing and self.timeline is not None and self.lanes.playhead >= self.timeline.t_max:
            self.lanes.seek(self.timeline.t_min)
        self.tracking = False
        self._set_playing(not self.playing)

    def action_speed(self, delta: int) -> None:
        self._reanchor_now()
        self._speed_chosen = True
        self.speed_index = max(0, min(len(SPEEDS) - 1, self.speed_index + delta))
        self._update_panels()

    def _reanchor_now(self) -> None:
        if self.playing:
            self._tick()
            self._reanchor()

    def action_step(self, forward: bool, all_lanes: bool) -> None:
        self._user()
        if not self.lanes.step(forward, all_lanes):
            self.bell()
        self._reanchor()

    def action_zoom(self, factor: float) -> None:
        self._user()
        self.lanes.zoom_by(factor)

    def action_fit(self) -> None:
        self._user()
        self.lanes.fit()
        if self.timeline is not None and self.timeline.fit_leaves_out():
            # ({{ }}: the keys { and }, escaped for the catalog check, which reads braces as fields)
            self.notify(_("Fitted to the connections' activity; the start-up or shutdown around it is left out "
                          "({{ and }} frame each burst, - zooms out).").format(), timeout=4)

    def action_burst(self, forward: bool) -> None:
        self._user()
        if not self.lanes.burst(forward):
            self.notify(_("No more bursts of activity that way."), timeout=2)
        self._reanchor()

    def action_pan(self, direction: int) -> None:
        self._user()
        self.lanes.pan_cells(direction * max(1, self.lanes.view.width // 4))

    def action_cursor(self, delta: int) -> None:
        self.lanes.move_cursor(delta)

    def action_jump(self, to_end: bool) -> None:
        self._user()
        if self.timeline is not None:
            self.lanes.seek(self.timeline.t_max if to_end else self.timeline.t_min)
        self._reanchor()

    def action_goto(self) -> None:
        def done(t: int | None) -> None:
            if t is not None:
                self._user()
                self.lanes.seek(t)
                self._reanchor()

        self.push_screen(GotoScreen(), done)

    def action_inspect(self) -> None:
        self.tracking = False
        self.lanes.inspect_at_playhead()

    def action_unselect(self) -> None:
        self.lanes.select(None, None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The main screen's keys stay out of the modal screens' way (tab moves focus there).
        if action in ("toggle_view",) and self.screen is not self.screen_stack[0]:
            return False
        if action == "follow" and not self.follow:
            return False
        return True

    def action_toggle_view(self) -> None:
        if self.timeline is None:
            return
        self.timeline.by_connection = not self.timeline.by_connection
        self.lanes.cursor = 0
        self.lanes.scroll_to(y=0, animate=False)
        self.lanes.data_changed()
        self.lanes.move_cursor(0)

    def action_filter_connection(self) -> None:
        if self.timeline is None:
            return
        f = self.timeline.filters
        if f.conn is not None:
            self._set_filters(Filters(None, f.lanes, f.kinds))
        elif self.lanes.highlight is not None:
            self._set_filters(Filters(self.lanes.highlight, f.lanes, f.kinds))
        else:
            self.notify(_("Select an event of a connection first (click it, or enter)."))

    def action_filters(self) -> None:
        if self.timeline is not None:
            self.push_screen(FilterScreen(self.timeline, self.timeline.filters), self._filters_chosen)

    def _filters_chosen(self, filters: Filters | None) -> None:
        if filters is not None:
            self._set_filters(filters)

    def action_clear_filters(self) -> None:
        self._set_filters(Filters())

    def _set_filters(self, filters: Filters) -> None:
        if self.timeline is None:
            return
        self.timeline.set_filters(filters)
        self.lanes.cursor = 0
        self.lanes.data_changed()
        self.lanes.move_cursor(0)

    def action_follow(self) -> None:
        self.tracking = True
        self.user_moved = False
        self._track_end()
        self._update_panels()

    def action_fold(self) -> None:
        self.lanes.toggle_fold()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):  # Textual's own (Quit, Keys, Theme ...), in our words
            words = TEXTUAL_COMMANDS.get(command.title)
            yield command if words is None else SystemCommand(_(words[0]), _(words[1]), command.callback,
                                                              command.discover)
        other = "en" if locale.language() == "zh" else "zh"
        commands = [
            (N_("Play / pause"), N_("Start or stop playback"), self.action_play),
            (N_("Zoom to fit"), N_("Show the whole recording"), self.action_fit),
            (N_("Go to time"), N_("Move the playhead to a time you type"), self.action_goto),
            (N_("Toggle thread / connection view"), N_("One row per thread, or one per connection"),
             self.action_toggle_view),
            (N_("Filter"), N_("Show one connection, some lanes, some kinds"), self.action_filters),
            (N_("Clear filters"), N_("Show everything again"), self.action_clear_filters),
            (N_("Slower"), N_("Less trace time per second"), lambda: self.action_speed(-1)),
            (N_("Faster"), N_("More trace time per second"), lambda: self.action_speed(1)),
            (N_("Fold / unfold group"), N_("Show the selected lane's group as one heading, or open it"),
             self.action_fold),
            (N_("Help: colours and marks"), N_("What the glyphs and colours mean"), self.action_help),
            (N_("Language: English") if other == "en" else N_("Language: 简体中文"),
             N_("Switch the interface's language (界面语言)"), lambda: self.switch_language(other)),
            (N_("ASCII glyphs on / off"), N_("For a terminal that draws ▒ █ │ two cells wide and breaks the rows"),
             self.switch_ascii),
        ]
        if self.follow:
            commands.append((N_("Follow"), N_("Track the newest events"), self.action_follow))
        for title, help_text, callback in commands:
            yield SystemCommand(_(title), _(help_text), callback)


TEXTUAL_WORDS = (N_("palette"), N_("Open the command palette"))  # Textual's ctrl+p binding, in the footer

# Textual's own palette commands (title -> our words for it); one Textual renames is left as Textual says it.
TEXTUAL_COMMANDS = {
    "Quit": (N_("Quit"), N_("Quit sockscope")),
    "Keys": (N_("Keys"), N_("Show the keys of the focused part")),
    "Theme": (N_("Theme"), N_("Change the colour theme")),
    "Change theme": (N_("Theme"), N_("Change the colour theme")),
    "Screenshot": (N_("Screenshot"), N_("Save an SVG screenshot of the screen")),
    "Maximize": (N_("Maximize"), N_("Maximize the focused part")),
    "Minimize": (N_("Minimize"), N_("Minimize the maximized part")),
}


STICKY = 0.2  # decades (a factor 1.6; a zoom step is 2): the decimals change once the zoom is this far past


def _digits(t: float, scale: float, before: tuple[float, int] | None = None) -> tuple[float, int]:
    """Decimals that show the playhead's time to about one cell's precision at this zoom: (unit, decimals).

    ``before``: the last answer.  The same decimals stay while the zoom is within :data:`STICKY` of them:
    following a live recording, the view's scale drifts to and fro across a power of ten with each tick, and
    ``t =`` showed 4 decimals and 3 by turns.
    """
    unit = 1e9 if abs(t) >= 1e9 else 1e6 if abs(t) >= 1e6 else 1e3
    exact = math.log10(unit / max(scale, 1.0))
    digits = max(3, min(9, math.ceil(exact)))
    if before is not None and before[0] == unit and before[1] != digits:
        kept = before[1]
        if kept - 1 - STICKY < exact <= kept + STICKY:  # (ceil(exact) == kept, with the margin)
            digits = max(3, min(9, kept))
    return unit, digits


def _ratio(ns_per_s: float) -> str:
    """Speed as a ratio of real time: ``1/1,000×``, ``2×``."""
    r = ns_per_s / 1e9
    if r >= 1:
        return f"{r:g}×"
    return f"1/{round(1 / r):,}×"
