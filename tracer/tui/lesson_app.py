"""``sockscope lesson N``: the replay app with a lesson panel that steps through the recording.

How this works
--------------
:class:`LessonApp` is the replay app on the lesson's recording.  Each step's
view is worked out by :func:`tracer.lessons.guide.moment` from the recording
once it is loaded (a step of another recording loads that one first), then
applied: the window, connection or thread view, lanes shown, the selection
and the playhead.  The panel says the step's sentences with the recording's
numbers.  After the lesson's own steps comes "try it yourself": ``t`` quits
and the command runs the same scenario live (``LessonApp.try_it``).
"""

from __future__ import annotations

import os

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tracer.lessons import guide
from tracer.lessons.guide import Lesson, Step
from tracer.locale import N_, _
from tracer.locale.cells import cell_len
from tracer.timeline import palette
from tracer.timeline.rows import Filters
from tracer.tui.app import ReplayApp
from tracer.tui.messages import Loaded
from tracer.tui.screens import HelpScreen
from tracer.tui.widgets.fitting import CellWrapped, KeysFooter
from tracer.tui.widgets.look import clean

GLYPH_VALUES = ("ink_", "mark_", "arrow_")  # the facts that are glyphs (guide.facts): drawn in the set in force


class LessonPanel(VerticalScroll):
    """The step's words: where in the lesson, what is on screen, a question (its answer on a key)."""

    DEFAULT_CSS = """
    LessonPanel { height: auto; max-height: 8; border-top: solid $accent; padding: 0 1; background: $boost; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="lesson-body")

    def show(self, text: Text) -> None:
        self.query_one("#lesson-body", Static).update(CellWrapped(text) if CellWrapped.wide(text) else text)
        self.scroll_home(animate=False)


def lesson_help() -> Text:
    """The lesson keys, for the top of the help screen."""
    text = Text()
    text.append(_("Lesson") + "\n", "bold underline")
    for key, words in (("n  PgDn", _("the next step: it sets the view and says what is on screen")),
                       ("p  PgUp", _("the previous step")),
                       ("a", _("the answer to the step's question (computed from the recording)")),
                       ("t", _("on the last step: run the same scenario live, to change a knob and fire again"))):
        text.append(f"  {key:<16}", "bold")
        text.append(f" {words}\n")
    text.append(_("Between steps, every replay key works: zoom, pan, select, play.") + "\n\n")
    return text


LessonFooter = KeysFooter  # (the replay's and live's footer too now)


class LessonHelpScreen(HelpScreen):
    """The replay help, with the lesson keys on top."""

    def on_mount(self) -> None:
        self.query_one("#help").mount(Static(CellWrapped.of(lesson_help())), before=0)


class LessonApp(ReplayApp):
    """One lesson: its recording in the timeline, and a panel that walks through it step by step."""

    BINDINGS = [
        Binding("n,pagedown", "lesson_step(1)", N_("next step"), key_display="n", priority=True),
        Binding("p,pageup", "lesson_step(-1)", N_("prev step"), key_display="p", priority=True),
        Binding("a", "answer", N_("answer")),
        Binding("t", "try_it", N_("try it"), show=False),
    ]

    DETAIL_SHARE = 4  # the lesson panel takes room too: the detail panel grows to a quarter of the screen

    def __init__(self, lesson: Lesson, folder: str = "recordings", *, back_from_live: bool = False,
                 recorded: str | None = None) -> None:
        super().__init__(os.path.join(folder, lesson.recording))
        self.lesson = lesson
        self.folder = folder
        self.back_from_live = back_from_live
        self.recorded = recorded  # what try it yourself recorded: said on the way back (its summary is behind us)
        self.step_index = len(lesson.steps) if back_from_live else 0  # back: on try it yourself, where t was
        self.answered = False
        self.try_it = False  # set when the student asks to try it live (the command runs it after the app)
        self.step_error: str | None = None
        self._facts: dict[str, dict[str, str]] = {}
        self._values: dict[str, str] = {}
        self._applied = -1
        # the lesson's keys first in the footer: after the replay's they fell off its end at 80 and 120 columns
        table = self._bindings.key_to_bindings
        ours = {key for b in LessonApp.BINDINGS if isinstance(b, Binding) for key in b.key.split(",")}
        for key in [k for k in table if k not in ours]:
            table[key] = table.pop(key)  # (dicts keep insertion order: the replay's keys go after ours)

    @property
    def steps(self) -> int:
        """The lesson's steps, and the last one: try it yourself."""
        return len(self.lesson.steps) + 1

    def step(self) -> Step | None:
        """The current step (None: try it yourself)."""
        return self.lesson.steps[self.step_index] if self.step_index < len(self.lesson.steps) else None

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if widget.id == "status":
                yield LessonPanel(id="lesson")
            yield widget

    def on_mount(self) -> None:
        self.query_one("#about").display = False  # the lesson panel says what the recording shows
        if self.recorded is not None:
            self.notify(_("Recorded {path}; open it with: sockscope replay {path}").format(path=self.recorded),
                        timeout=12)
        if self.back_from_live and self.lesson.item is not None and not self.lesson.item.scenario:
            # a whole program (lesson 16) ran in the terminal: there was no live view to come back from
            self.notify(_("Back from the program's run: t runs it again, p goes back through the steps, q quits."),
                        timeout=6)
        elif self.back_from_live:
            self.notify(_("Back from the live view: t runs it again, p goes back through the steps, q quits."),
                        timeout=6)

    # -------------------------------------------------- loading a step's recording
    def _wanted_path(self) -> str:
        step = self.step()
        name = step.recording if step is not None and step.recording else self.lesson.recording
        return os.path.join(self.folder, name)

    def on_loaded(self, message: Loaded) -> None:
        message.prevent_default()  # ReplayApp's handler runs here, once, before the step is applied
        if message.stale:
            return  # a batch of the recording the last step showed, still on its way (its loader was stopped)
        super().on_loaded(message)
        self.query_one("#about").display = False
        if message.batch.finished and self._applied != self.step_index:
            self._apply()

    def _go(self, index: int) -> None:
        self.step_index = max(0, min(self.steps - 1, index))
        self.answered = False
        path = self._wanted_path()
        if path != self.path:  # another recording: load it, then apply (on_loaded)
            if self._loader is not None:
                self._loader.stop()
            self.path = path
            self.timeline = None
            self.loaded = False
            self._applied = -1
            self.lanes.set_timeline(None)
            self._show_panel(_("loading…"))
            self._load()
            return
        self._apply()

    # -------------------------------------------------- applying a step
    def _apply(self) -> None:
        tl = self.timeline
        if tl is None or not self.loaded:
            return
        self._applied = self.step_index
        step = self.step() or Step("activity", "")
        try:
            m = guide.moment(tl.rec, step)
        except guide.LessonError as exc:
            self.step_error = str(exc)
            self._values = {}
            self._show_panel(_("This step cannot be shown with this recording: {error}").format(error=exc))
            return
        self.step_error = None
        facts = self._facts.get(self.path)
        if facts is None:
            facts = self._facts[self.path] = guide.facts(tl.rec)
        self._values = {**facts, **m.values}
        self._set_view(step, m)
        self._show_panel()

    def _set_view(self, step: Step, m: guide.Moment) -> None:
        tl = self.timeline
        assert tl is not None
        lanes = self.lanes
        self._user()
        if self.playing:
            self._set_playing(False)
        tl.by_connection = step.by_connection
        tl.set_filters(Filters(lanes=m.lanes))
        lanes.cursor = 0
        lanes.scroll_to(y=0, animate=False)
        lanes.data_changed()
        lanes.frame(*m.window)
        lanes.seek(m.playhead, keep_visible=False)
        if m.select is not None and not step.by_connection:
            lanes.select(*m.select)
        else:
            lanes.select(None, None, conn=m.conn)
            row = next((k for k, r in enumerate(lanes.rows) if r.kind == "conn" and r.ref == m.conn), None)
            if row is not None:
                lanes.cursor = row
        # once the panels have their new heights, bring the selected row into view
        self.call_after_refresh(lambda: lanes.scroll_to_region_row(lanes.cursor))
        self._reanchor()

    def _show_panel(self, note: str | None = None) -> None:
        lesson, step = self.lesson, self.step()
        text = Text()
        where = _("Lesson {number} · step {step}/{steps}").format(number=lesson.number, step=self.step_index + 1,
                                                                 steps=self.steps)
        text.append(f" {where} ", "bold reverse")
        text.append(f"  {_(lesson.title)}\n", "bold")
        if note is not None:
            text.append(note)
        elif step is None:
            text.append(_("Try it yourself: "), "bold")
            said = _(lesson.try_text) if lesson.try_text else ""
            # a space after an English sentence; none after a Chinese one (its full stop is two cells already)
            text.append(said + ("" if not said or cell_len(said[-1]) == 2 else " "))
            text.append(_("Press t to run {command}").format(command=lesson.try_command()))
        else:
            text.append(self.say(step.text))
            if step.question:
                text.append("\n" + _("Q: "), "bold #ffaf00")
                text.append(_(step.question))
                if self.answered:
                    text.append("\n" + _("A: "), "bold #5fd75f")
                    text.append(self.say(step.answer))
                else:
                    text.append("   " + _("(a: the answer)"), "dim")
        text.append("\n")
        text.append(_("n/p (PgDn/PgUp) step · a answer · q quit"), "dim")
        self.query_one(LessonPanel).show(text)

    def _redraw_words(self) -> None:
        """The language or the glyph set changed (command palette): the panel says the step again in it."""
        super()._redraw_words()
        tl, step = self.timeline, self.step()
        if tl is None or not self.loaded or self._applied != self.step_index:
            return  # a recording is loading: its step is said once it is in
        if self.step_error is not None:  # said again, in the language now in force
            try:
                guide.moment(tl.rec, step or Step("activity", ""))
            except guide.LessonError as exc:
                self.step_error = str(exc)
            self._show_panel(_("This step cannot be shown with this recording: {error}").format(error=self.step_error))
            return
        self._show_panel()

    def say(self, template: str) -> str:
        """A step's sentence with the recording's numbers (names come from recordings: cleaned), its glyphs
        (``{ink_recv}``) drawn as the timeline draws them (the ASCII set, when it is on)."""
        values = {k: palette.glyphs(clean(v, 60)) if k.startswith(GLYPH_VALUES) else clean(v, 60)
                  for k, v in self._values.items()}
        try:
            return guide.fill(_(template) if template else template, values)
        except guide.LessonError as exc:
            return f"({exc})"

    def answer_text(self) -> str | None:
        """The current step's answer as shown (None: the step asks nothing)."""
        step = self.step()
        return self.say(step.answer) if step is not None and step.question else None

    # -------------------------------------------------- keys
    def action_lesson_step(self, delta: int) -> None:
        target = self.step_index + delta
        if not 0 <= target < self.steps:
            self.bell()
            return
        self._go(target)

    def action_answer(self) -> None:
        if self.answer_text() is None:
            self.notify(_("This step asks no question."), timeout=2)
            return
        self.answered = True
        self._show_panel()

    def action_help(self) -> None:
        self.push_screen(LessonHelpScreen())

    def action_try_it(self) -> None:
        if self.step() is not None:
            self.notify(_("Try it yourself is the lesson's last step (n to get there)."), timeout=3)
            return
        self.try_it = True
        self.exit()
