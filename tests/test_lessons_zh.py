"""The guided lessons' own messages in Chinese (issue 13): what a finder says when it finds nothing, a pending
lesson, a missing recording, no terminal, the try-it command and the live hint, and the lesson app's footer,
glyphs and language switch. Each test reads the Chinese words, so it fails if the translation goes missing."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import Static

from tests.test_lessons import on_step, until
from tracer import locale
from tracer.cli import main
from tracer.lessons import catalogue, guide
from tracer.recording.reader import load
from tracer.timeline import palette
from tracer.tui.lesson_app import LessonApp

ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)



def panel(app: LessonApp) -> str:
    """The lesson panel's words (the Chinese ones are wrapped by the panel itself: its text, before wrapping)."""
    return str(app.query_one("#lesson-body", Static).content)


def lesson(number: int) -> guide.Lesson:
    found = catalogue.get(number)
    assert found is not None
    return found


# ---------------------------------------------------------------- the finders' messages
def test_a_finder_that_finds_nothing_says_so_in_chinese(chinese: None) -> None:
    rec = load("recordings/selectors-one-thread-serves-all.jsonl")
    cases = [("first thread_start server recv-*", "名为 recv-* 的服务端泳道上没有 thread_start"),
             ("longest connect server", "服务端泳道上没有 connect"),
             ("longest accept client", "客户端泳道上没有 accept"),
             ("first thread_exit client nobody-*", "名为 nobody-* 的客户端泳道上没有 thread_exit"),
             ("counter nothing", "录制文件里没有 nothing 计数"),
             ("burst 99", "burst 99：录制文件只有"),
             ("nowhere", "未知的视图 'nowhere'；可用的查找方式：longest、first")]
    for view, words in cases:
        with pytest.raises(guide.LessonError) as found:
            guide.moment(rec, guide.Step(view, ""))
        assert words in str(found.value), (view, str(found.value))
    with pytest.raises(guide.LessonError, match="这里没有 {no_such_name}；有的是："):
        guide.fill("{no_such_name}", {})


async def test_a_step_that_cannot_be_shown_says_so_in_the_panel_in_chinese(chinese: None) -> None:
    """A step whose finder finds nothing in its recording: the panel says why, in Chinese; and a sentence naming
    an unknown value says that."""
    broken = dataclasses.replace(lesson(10), steps=(guide.Step("first thread_start server recv-*", "x"),
                                                   guide.Step("activity", "{no_such_name}")))
    app = LessonApp(broken)
    async with app.run_test(size=(120, 35)) as pilot:
        await until(pilot, on_step(app, 0))
        await pilot.pause()
        assert app.step_error == "名为 recv-* 的服务端泳道上没有 thread_start"
        assert "这一步无法用这个录制文件展示：名为 recv-* 的服务端泳道上没有 thread_start" in panel(app)
        await pilot.press("n")
        await until(pilot, on_step(app, 1))
        await pilot.pause()
        assert "(这里没有 {no_such_name}；有的是：" in panel(app)


# ---------------------------------------------------------------- sockscope lesson's messages
def test_a_pending_lesson_is_said_in_chinese(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """``pending`` is a catalog string translated where shown: in the list and in the error. (No lesson is pending
    today: the test gives lesson 16 a marked sentence the catalog knows.)"""
    why = "the recording has no activity"
    waiting = dataclasses.replace(lesson(16), pending=why)
    monkeypatch.setattr(catalogue, "LESSONS", tuple(waiting if x.number == 16 else x for x in catalogue.LESSONS))
    assert main(["--lang", "zh", "lesson"]) == 0
    out = capsys.readouterr().out
    assert ("     三条小消息：TCP 一次 recv 就把它们连在一起收下，UDP 的 recvfrom 让每条保持完整"
            "（录制文件里没有任何活动）") in out
    assert main(["--lang", "zh", "lesson", "16"]) == 2
    err = capsys.readouterr().err
    assert err == "错误：第 16 课（TCP 是字节流，UDP 保持数据报完整）录制文件里没有任何活动\n"


def test_a_lessons_missing_recording_is_said_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "lesson", "1", "--folder", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"错误：第 1 课的录制文件 {tmp_path / catalogue.get(1).recording} 不存在：")  # type: ignore[union-attr]
    assert "或用这条命令重新录制：sockscope record thread --scenario keepalive" in err and err.count("\n") == 1


@pytest.mark.parametrize("lang, words", [
    ("zh", "错误：第 3 课第 3 步需要录制文件 {path}，但它不存在：用这条命令重新录制："),
    ("en", "error: lesson 3's step 3 needs the recording {path}, which is missing: remake it with: ")])
def test_a_comparison_steps_missing_recording_names_the_step(lang: str, words: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: with the lesson's recording there but a comparison step's missing, the error said only
    'no such file', with no way to remake it."""
    three = lesson(3)
    shutil.copy(ROOT / "recordings" / three.recording, tmp_path / three.recording)
    assert main(["--lang", lang, "lesson", "3", "--folder", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    path = os.path.join(str(tmp_path), "pool-churn-reuses-workers.jsonl")
    assert err.startswith(words.format(path=path)), err
    assert err.rstrip().endswith("--scenario churn --set connections=20 --set clients=2 -o "
                                 "recordings/pool-churn-reuses-workers.jsonl") and err.count("\n") == 1


def test_lesson_without_a_terminal_says_so_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "lesson", "1"]) == 2  # pytest's stdout is not a terminal
    err = capsys.readouterr().err
    assert err == ("错误：lesson 需要终端来显示时间线（标准输出不是终端）；没有终端时，'sockscope lesson' "
                   "可列出所有课程\n")


def test_try_it_command_and_live_hint_in_chinese(chinese: None, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from tracer.commands import lesson as command
    from tracer.commands import live

    assert lesson(12).try_command() == ("sockscope live thread --as-taught（随后发起 keepalive：--set clients=3 "
                                        "--set requests=2 --set timeout=1）")
    assert lesson(10).try_command() == "sockscope live selectors（随后发起 burst：--set clients=20）"
    asked: dict[str, object] = {}
    monkeypatch.setattr(live, "run_live", lambda session, **kw: asked.update(kw) or 0)  # no server started
    assert command.try_live(lesson(12))[0] == 0
    assert asked["hint"] == "第 12 课，实时（按 q 返回课程）：去掉 --as-taught 再运行：每个连接都会关闭。"
    assert "sockscope: sockscope live thread --as-taught（随后发起 keepalive" in capsys.readouterr().out


def test_try_it_command_in_english_is_unchanged() -> None:
    assert lesson(12).try_command() == ("sockscope live thread --as-taught  (then keepalive fires: --set clients=3 "
                                        "--set requests=2 --set timeout=1)")


# ---------------------------------------------------------------- the lesson app
@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 35)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang, keys, palette_key", [("zh", "p 上一步  n 下一步  a 答案", "▏^p 命令"),
                                                     ("en", "p prev step  n next step  a answer", "▏^p palette")])
async def test_the_lesson_keys_lead_the_footer_and_no_word_is_cut_under_the_palette_key(
        lang: str, keys: str, palette_key: str, size: tuple[int, int]) -> None:
    """Regression: the lesson's keys came after the replay's and fell off the footer's end at 80 and 120
    columns; and a key running on under the docked ^p item blanked a Chinese character there (^p   令)."""
    from tests.test_tui_zh import screen_lines

    locale.set_language(lang)
    app = LessonApp(lesson(17))
    async with app.run_test(size=size) as pilot:
        await until(pilot, on_step(app, 0))
        await pilot.pause()
        await pilot.pause()
        footer = screen_lines(app)[-1]
        assert footer.startswith(f" tab {'视图' if lang == 'zh' else 'view'}  {keys}  "), footer
        assert footer.rstrip().endswith(palette_key) and cell_len(footer) == size[0], footer


async def test_the_lesson_footer_and_panel_words_in_chinese(chinese: None) -> None:
    app = LessonApp(lesson(10))
    async with app.run_test(size=(120, 35)) as pilot:
        await until(pilot, on_step(app, 0))
        footer = {b.description for _n, b, _e, _t in app.screen.active_bindings.values() if b.show}
        assert {"下一步", "上一步", "答案", "播放"} <= footer, footer
        await pilot.press("a")
        await pilot.pause()
        text = panel(app)
        assert "问：这个服务端有多少个线程？" in text and "答：1。" in text, text
        for _k in range(app.steps - 1):
            await pilot.press("n")
        await until(pilot, on_step(app, app.steps - 1))
        text = panel(app).replace("\n", "")
        assert ("自己试试：把 burst 调大再发起一次：依然只有一条泳道。按 t 运行 sockscope live selectors"
                "（随后发起 burst：--set clients=20）") in text


async def test_the_lesson_panel_follows_a_language_switch() -> None:
    """The command palette's language switch: the lesson panel says the step again in the new language."""
    app = LessonApp(lesson(9))
    async with app.run_test(size=(120, 35)) as pilot:
        await until(pilot, on_step(app, 0))
        await pilot.pause()
        assert "8 clients at once" in panel(app)
        app.switch_language("zh")
        await pilot.pause()
        assert "8 个客户端同时到来" in panel(app) and "第 9 课 · 第 1/3 步" in panel(app)
        app.switch_language("en")
        await pilot.pause()
        assert "8 clients at once" in panel(app)


async def test_the_lesson_panel_draws_its_glyphs_in_the_ascii_set(chinese: None) -> None:
    """With --ascii the timeline draws recv as ASCII; the panel's "({ink_recv})" must name the same glyph."""
    recv = next(ink.glyph for ink in palette.SPAN_INKS if ink.name == "recv")
    twin = palette.ASCII_GLYPHS[recv]
    palette.set_ascii(True)
    app = LessonApp(lesson(1))
    async with app.run_test(size=(120, 35)) as pilot:
        await until(pilot, on_step(app, 0))
        await pilot.pause()
        text = panel(app)
        assert f"长长的 {twin} 段就是 recv" in text and recv not in text, text
        app.switch_ascii()  # back to the block glyphs, from the command palette: the panel follows
        await pilot.pause()
        assert f"长长的 {recv} 段就是 recv" in panel(app)


# ---------------------------------------------------------------- a shipped recording's line, in replay
@pytest.mark.parametrize("size", [(80, 24), (120, 35)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_shipped_recordings_line_in_chinese_in_replay(chinese: None, size: tuple[int, int]) -> None:
    """``sockscope replay recordings/FILE`` says under the title what the recording shows (shipped.py's look):
    in Chinese, cut at a character boundary, no line past the terminal's width."""
    from tests.test_tui_zh import screen_lines
    from tracer.tui.app import ReplayApp
    from tracer.tui.widgets.panels import AboutLine

    app = ReplayApp("recordings/thread-as-taught-no-close.jsonl")
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        about = app.query_one(AboutLine)
        assert about.display
        assert str(about.content).startswith("LESSONS.md 第 12 行：课上的处理函数：每个连接一次 recv、一次 send")
        lines = screen_lines(app)
        assert len(lines) == size[1] and all(cell_len(line) == size[0] for line in lines), lines
        assert lines[1].startswith(" LESSONS.md 第 12 行：课上的处理函数") and lines[1].rstrip().endswith("…")


async def test_a_shipped_recordings_line_follows_a_language_switch_and_stays_hidden_in_a_lesson() -> None:
    from tracer.tui.app import ReplayApp
    from tracer.tui.widgets.panels import AboutLine

    app = ReplayApp("recordings/pool-saturated-queue.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        assert str(app.query_one(AboutLine).content).startswith("rows 4, 15: 16 clients, 4 workers")
        app.switch_language("zh")
        await pilot.pause()
        assert str(app.query_one(AboutLine).content).startswith("LESSONS.md 第 4、15 行：16 个客户端，4 个工作线程")
    lesson_app = LessonApp(lesson(4))  # the lesson panel says what the recording shows: the line stays hidden
    async with lesson_app.run_test(size=(120, 35)) as pilot:
        await until(pilot, on_step(lesson_app, 0))
        lesson_app.switch_language("zh")
        await pilot.pause()
        assert not lesson_app.query_one(AboutLine).display
