"""The replay app in Chinese and with the ASCII glyph set: snapshots at 80x24 and 120x35, and pilots that every
line fits its width with its columns in place (a Chinese character is two cells wide) (issue 13)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot

from tests.test_tui import DATA, loaded, shown, until
from tracer import locale
from tracer.timeline import palette, track
from tracer.tui.app import ReplayApp
from tracer.tui.screens import HelpScreen
from tracer.tui.widgets.panels import DetailPanel, Ruler
from tracer.tui.widgets.timeline import TimelineView

ROOT = Path(__file__).parent.parent
SIZES = [(80, 24), (120, 35)]


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)



async def select_a_connection(pilot: Pilot) -> None:
    view = pilot.app.query_one(TimelineView)
    view.seek(2_700_000)
    view.move_cursor(2)
    view.inspect_at_playhead()
    await pilot.pause()


def screen_lines(app: ReplayApp) -> list[str]:
    """The whole screen as the terminal gets it, one string per line."""
    strips = app.screen._compositor.render_strips()  # noqa: SLF001 (what the driver writes)
    return [strip.text for strip in strips]


def col(text: str, ch: str) -> int:
    """The cell (not character) where ``ch`` first appears in ``text``."""
    return cell_len(text[: text.index(ch)])


async def assert_lines_fit(app: ReplayApp, width: int, height: int) -> None:
    lines = screen_lines(app)
    assert len(lines) == height
    assert all(cell_len(line) == width for line in lines), [line for line in lines if cell_len(line) != width]
    view = app.query_one(TimelineView)
    bar = palette.glyphs("│")
    lw = view.label_width
    for y in range(view.size.height):  # every lane and counter row: its label column ends where the cells start
        strip = view.render_line(y)
        assert strip.cell_length == view.size.width
        index = int(view.scroll_offset.y) + y
        if index < len(view.rows) and view.rows[index].kind != "group":
            assert col(strip.text, bar) == lw - 1, strip.text
    ruler = app.query_one(Ruler).render_line(0).text
    assert col(ruler, palette.glyphs("┼")) == lw - 1, ruler


# ---------------------------------------------------------------- pilots: widths and columns
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("ascii_glyphs", [False, True])
async def test_chinese_screens_fit_at_80x24_and_120x35(chinese: None, size: tuple[int, int],
                                                       ascii_glyphs: bool) -> None:
    palette.set_ascii(ascii_glyphs)
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=size) as pilot:
        await loaded(pilot)
        await assert_lines_fit(app, *size)
        assert "丢弃" in shown(app, "#status") and "线程" in app.query_one(Ruler).render_line(0).text
        await select_a_connection(pilot)
        await pilot.pause()
        await assert_lines_fit(app, *size)
        story = [line for line in str(app.query_one("#detail-body").render()).splitlines() if " ms  " in line]
        assert len(story) >= 3
        kinds = {col(line, next(k for k in ("accept ", "submit ", "start ", "recv ", "send ", "close ", "connect ")
                                if k in line)) for line in story if any(k in line for k in ("accept ", "recv "))}
        assert len(kinds) == 1, story  # the kind column stays put whatever the lane names hold
        await pilot.press("tab")
        await pilot.pause()
        await assert_lines_fit(app, *size)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = screen_lines(app)
        assert all(cell_len(line) == size[0] for line in lines)
        assert any("你看到的是什么" in line for line in lines)


async def test_ascii_glyph_set_draws_only_ascii_in_the_timeline() -> None:
    palette.set_ascii(True)
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = app.query_one(TimelineView)
        text = "\n".join(view.render_line(y).text for y in range(view.size.height))
        assert text.isascii(), {ch for ch in text if not ch.isascii()}
        assert "#" in text and "|" in text  # working spans and the label column, in ASCII
        assert app.query_one(Ruler).render_line(0).text.isascii()


def test_every_timeline_glyph_has_a_one_cell_ascii_twin() -> None:
    glyphs = set(track.SPAN_GLYPH.values()) | set(track.MARK_GLYPH.values()) | set(track.CLIENT_GLYPH.values())
    glyphs |= {track.SHORT_GLYPH, track.LIFE_GLYPH, palette.PLAYHEAD_GLYPH, palette.SHORT_GLYPH}
    glyphs |= set(palette.LOOK_GLYPHS.values()) | set(palette.KIND_GLYPHS.values())
    glyphs |= set(palette.CLIENT_GLYPHS.values())
    glyphs |= set("▁▂▃▄▅▆▇█│┼┴▼▾▸")  # sparklines, the label column, the ruler, group headings
    missing = {g for g in glyphs if g not in palette.ASCII_GLYPHS}
    assert not missing, f"no ASCII twin in palette.ASCII_GLYPHS for {sorted(missing)}"
    assert all(len(a) == 1 and a.isascii() and a.isprintable() for a in palette.ASCII_GLYPHS.values())


@pytest.mark.parametrize(("value", "want"), [("1", True), ("yes", True), ("on", True), ("0", False), ("", False)])
def test_ascii_from_the_environment(value: str, want: bool) -> None:
    assert palette.ascii_asked({"SOCKSCOPE_ASCII": value}) is want


async def test_switching_language_from_the_command_palette() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        assert "dropped" in shown(app, "#status")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Language: 简体中文" in titles and "ASCII glyphs on / off" in titles
        next(c for c in app.get_system_commands(app.screen) if c.title == "Language: 简体中文").callback()
        await pilot.pause()
        assert locale.language() == "zh"
        assert "丢弃" in shown(app, "#status")
        footer = {b.description for _n, b, _e, _t in app.screen.active_bindings.values() if b.show}
        assert {"播放", "帮助", "退出"} <= footer
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "界面语言：English" in titles and "退出" in titles
        next(c for c in app.get_system_commands(app.screen) if c.title == "界面语言：English").callback()
        await pilot.pause()
        assert locale.language() == "en" and "dropped" in shown(app, "#status")
        assert "play" in {b.description for _n, b, _e, _t in app.screen.active_bindings.values() if b.show}


async def test_the_story_in_chinese_uses_the_glossary(chinese: None) -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        await select_a_connection(pilot)
        await pilot.pause()
        story = str(app.query_one(DetailPanel).query_one("#detail-body").render())
        assert "连接" in story and "阻塞在 accept() 中" in story and "线程池队列" in story


# ---------------------------------------------------------------- snapshots (Chinese; and the ASCII set)
def _snap(snap_compare: Callable[..., bool], size: tuple[int, int], press: tuple[str, ...] = (),
          before: Callable[[Pilot], Awaitable[None]] | None = None) -> bool:
    async def run_before(pilot: Pilot) -> None:
        await loaded(pilot)
        if before is not None:
            await before(pilot)

    return snap_compare(ReplayApp(f"{DATA}/pool.jsonl"), press=press, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_replay_in_chinese(snap_compare: Callable[..., bool], chinese: None, size: tuple[int, int]) -> None:
    assert _snap(snap_compare, size, before=select_a_connection)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_help_in_chinese(snap_compare: Callable[..., bool], chinese: None, size: tuple[int, int]) -> None:
    assert _snap(snap_compare, size, press=("question_mark",))


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_ascii_glyphs_in_chinese(snap_compare: Callable[..., bool], chinese: None,
                                          size: tuple[int, int]) -> None:
    palette.set_ascii(True)
    assert _snap(snap_compare, size, before=select_a_connection)


# ---------------------------------------------------------------- the guided lessons in Chinese
def on_screen(app: ReplayApp, said: str, size: tuple[int, int]) -> None:
    """Every line the terminal's width, and all of ``said`` on screen (spaces aside: a wrap may drop them)."""
    lines = screen_lines(app)
    assert len(lines) == size[1] and all(cell_len(line) == size[0] for line in lines), lines
    shown = "".join(line.strip() for line in lines).replace(" ", "")
    assert said.replace(" ", "") in shown, (said, lines)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("number", range(1, 19))
async def test_a_lessons_steps_read_in_chinese_and_fit(chinese: None, number: int, size: tuple[int, int]) -> None:
    """Every step of the lesson, its question and answer, and "try it yourself": Chinese, and all of it on screen
    (wrapped between characters, nothing cut off, no line past the terminal's width)."""
    from tracer.lessons import catalogue
    from tracer.tui.lesson_app import LessonApp

    lesson = catalogue.get(number)
    assert lesson is not None
    app = LessonApp(lesson)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.step_index == 0 and app._applied == 0 and app.loaded)  # noqa: SLF001
        for k in range(app.steps):
            if k:
                await pilot.press("n")
                await until(pilot, lambda k=k: app.step_index == k and app._applied == k and app.loaded)  # noqa: SLF001
            await pilot.pause()
            assert app.step_error is None, app.step_error
            on_screen(app, f"第{number}课·第{k + 1}/{app.steps}步{locale._(lesson.title)}", size)
            step = app.step()
            if step is None:  # try it yourself
                assert locale._(lesson.try_text) != lesson.try_text, "untranslated try-it text"
                on_screen(app, f"自己试试：{locale._(lesson.try_text)}", size)
                assert "按t运行sockscope" in "".join(screen_lines(app)).replace(" ", "")
                continue
            assert locale._(step.text) != step.text, "untranslated step"
            on_screen(app, app.say(step.text), size)
            if step.question:
                assert locale._(step.question) != step.question, "untranslated question"
                on_screen(app, "问：" + locale._(step.question), size)
                await pilot.press("a")
                await pilot.pause()
                answer = app.answer_text()
                assert answer is not None and locale._(step.answer) != step.answer, "untranslated answer"
                on_screen(app, "答：" + answer, size)


async def test_the_help_in_chinese_wraps_between_characters_at_80x24(chinese: None) -> None:
    """Regression (newcomer's check): the help's Chinese wrapped only at spaces (Rich's rule), so a row broke
    after "放大 /" with half its line empty, and a line began with "；"."""
    from rich.console import Console
    from textual.widgets import Static

    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        lines: list[str] = []
        for static in app.screen.query("#help Static").results(Static):
            width = static.content_region.width
            assert width > 40
            console = Console(width=width, record=True, legacy_windows=False)
            console.print(static.content)  # (what it was given: a Rich renderable)
            lines += [line.rstrip() for line in console.export_text().splitlines()]
    assert any("以播放头为中心放大 / 缩小" in line for line in lines), "\n".join(lines)
    assert not [line for line in lines if line.strip()[:1] in set("，。、：；）！？")], "\n".join(lines)
    full = [line for line in lines if cell_len(line) >= width - 3]  # (some lines run to the edge: it wraps)
    assert full


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 35)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("live", [False, True], ids=["replay", "live"])
async def test_no_footer_word_is_cut_under_the_palette_key(chinese: None, size: tuple[int, int], live: bool) -> None:
    """Regression (newcomer's check): the replay's footer at 100 columns showed `^p   令`: a key running on under
    the docked ^p item had a Chinese character blanked there (the lesson's footer had the fix: now all three)."""
    from tracer.tui.live_app import LiveApp

    app = LiveApp(f"{DATA}/pool.jsonl", session=None) if live else ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.timeline is not None and app.timeline.rec.trailer is not None)
        await until(pilot, lambda: "^p" in screen_lines(app)[-1])  # the footer drawn
        await pilot.pause(0.2)
        await pilot.pause()
        footer = screen_lines(app)[-1]
        assert footer.startswith(" tab 视图  "), footer
        assert footer.rstrip().endswith("▏^p 命令") and cell_len(footer) == size[0], footer
        await pilot.press("q")
