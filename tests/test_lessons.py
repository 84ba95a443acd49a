"""Guided lessons: the data (every lesson names a shipped recording and the command that remakes it), each
step's view worked out from its recording (shipped and freshly recorded), and the app stepping through them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tracer.analysis.check import check
from tracer.cli import main
from tracer.lessons import catalogue, guide
from tracer.recording.events import KINDS
from tracer.recording.model import Lane, Recording
from tracer.recording.reader import load
from tracer.run import shipped
from tracer.tui.lesson_app import LessonApp, LessonPanel
from tracer.units import fmt_time

READY = [lesson for lesson in catalogue.LESSONS if not lesson.pending]


def recordings_of(lesson: guide.Lesson) -> list[str]:
    return [lesson.recording, *(s.recording for s in lesson.steps if s.recording)]


def values_for(rec: Recording, step: guide.Step) -> tuple[guide.Moment, dict[str, str]]:
    m = guide.moment(rec, step)
    return m, {**guide.facts(rec), **m.values}


# ---------------------------------------------------------------- the data
def test_a_lesson_for_every_row_of_lessons_md() -> None:
    text = Path("recordings/LESSONS.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ") and line[2:3].isdigit()]
    assert [str(lesson.number) for lesson in catalogue.LESSONS] == rows


def test_no_lesson_is_pending() -> None:
    """Lessons 16 and 18 waited for sockscope run; every row of LESSONS.md can be opened now."""
    assert READY == list(catalogue.LESSONS)


@pytest.mark.parametrize("lesson", catalogue.LESSONS, ids=lambda x: f"lesson{x.number}")
def test_lesson_data_names_a_shipped_recording_and_its_command(lesson: guide.Lesson) -> None:
    assert lesson.title and lesson.summary and lesson.try_text and len(lesson.steps) >= 2
    for name in recordings_of(lesson):
        item = next((s for s in shipped.SHIPPED if s.file == name), None)
        assert item is not None, f"{name} is not in tracer/run/shipped.py"
        assert os.path.exists(os.path.join("recordings", name)), f"recordings/{name} is missing"
        assert item.command().startswith("sockscope run " if not item.scenario else "sockscope record ")
        assert name in item.command()
    assert lesson.try_command().startswith(("sockscope live ", "sockscope run "))
    for step in lesson.steps:
        assert step.view.split()[0] in guide.FINDERS
        assert bool(step.question) == bool(step.answer), "a question needs its computed answer"
        assert step.frame in ("", "event", "burst", "activity", "conn")


@pytest.mark.parametrize("lesson", READY, ids=lambda x: f"lesson{x.number}")
def test_every_step_finds_its_moment_in_the_shipped_recording(lesson: guide.Lesson) -> None:
    for step in lesson.steps:
        rec = load(os.path.join("recordings", step.recording or lesson.recording))
        m, values = values_for(rec, step)
        for template in (step.text, step.question, step.answer):
            assert guide.names_in(template) <= set(values), (step.view, guide.names_in(template) - set(values))
            guide.fill(template, values)
        t0, t1 = m.window
        assert t0 < t1 and t0 <= m.playhead <= t1, (step.view, m.window, m.playhead)
        if m.select is not None:
            lane = rec.lanes[m.select[0]]
            assert t0 <= lane.t[m.select[1]] <= t1


def test_a_finder_that_finds_nothing_says_so() -> None:
    rec = load("recordings/selectors-one-thread-serves-all.jsonl")
    with pytest.raises(guide.LessonError, match="no thread_start on a server lane named recv-"):
        guide.moment(rec, guide.Step("first thread_start server recv-*", ""))
    with pytest.raises(guide.LessonError, match="unknown view"):
        guide.moment(rec, guide.Step("nowhere", ""))
    with pytest.raises(guide.LessonError, match="not known here"):
        guide.fill("{no_such_name}", {})


# ---------------------------------------------------------------- answers are the recording's numbers
def answer(lesson_no: int, step_no: int, rec: Recording) -> str:
    step = catalogue.get(lesson_no).steps[step_no - 1]  # type: ignore[union-attr]
    _, values = values_for(rec, step)
    return guide.fill(step.answer, values)


def check_pool_queue(rec: Recording) -> None:
    waits = [c.queue_wait for c in rec.connections.values() if c.queue_wait is not None]
    assert answer(4, 2, rec) == f"{fmt_time(max(waits), significant=True)}."
    assert answer(4, 3, rec) == f"{max(rec.counters['queue'].v):,} connections."


def check_as_taught(rec: Recording) -> None:
    ends = {"eof": 0, "timeout": 0}
    for lane in rec.client_lanes():
        for e in lane.events():
            if e.kind == "close" and e.detail in ends:
                ends[e.detail] += 1
    assert answer(12, 3, rec) == f"{ends['eof']} got end-of-file; {ends['timeout']} timed out."
    server_closes = sum(1 for lane in rec.server_lanes() for e in lane.events() if e.kind == "close")
    assert answer(12, 2, rec).startswith(f"{server_closes}: ")


def check_one_lane(rec: Recording) -> None:
    assert answer(10, 1, rec) == f"{len(rec.server_lanes())}."
    accepted = sum(1 for lane in rec.server_lanes() for e in lane.events() if e.kind == "accept" and e.conn)
    assert answer(10, 2, rec) == f"{accepted}."


def check_both_ends(rec: Recording) -> None:
    worst = max((c for c in rec.connections.values() if c.backlog_wait is not None), key=lambda c: c.backlog_wait)
    client = rec.lanes[worst.client_lane].name  # type: ignore[index]
    assert answer(14, 3, rec) == f"{client}, {fmt_time(worst.backlog_wait, significant=True)}."


def lane_named(rec: Recording, name: str) -> Lane:
    return next(lane for lane in rec.lanes.values() if lane.name == name)


def check_stream_and_datagrams(rec: Recording) -> None:
    """Lesson 16: TCP's recv sizes and UDP's recvfrom sizes, read off the recording, are what the steps say."""
    sends = [e for e in lane_named(rec, "client").events() if e.kind == "send"]
    to_tcp = [e.nbytes for e in sends if not e.detail]  # sendto names its peer in the detail; send does not
    to_udp = [e.nbytes for e in sends if e.detail]
    assert to_tcp == to_udp == [5, 5, 5]
    tcp = [e.nbytes for e in lane_named(rec, "tcp-server").events() if e.kind == "recv" and e.nbytes > 0]
    udp = [e.nbytes for e in lane_named(rec, "udp-server").events() if e.kind == "recv" and e.nbytes > 0]
    assert sum(tcp) == 15 and len(tcp) < 3, tcp  # run together: fewer recv than sends
    assert udp == to_udp  # each datagram whole
    assert answer(16, 2, rec) == f"{len(tcp)}: {', '.join(map(str, tcp))} bytes."
    assert answer(16, 3, rec) == f"{len(udp)}: {', '.join(map(str, udp))} bytes."


def check_thread_as_typed(rec: Recording) -> None:
    """Lesson 18: the lanes have the code's names, accepts are on accept, no close, check finds them all."""
    names = {lane.name for lane in rec.server_lanes()}
    conns = [c for c in rec.connections.values() if c.id > 0]
    assert {f"recv-{c.id}" for c in conns} <= names and "accept" in names
    assert {rec.lanes[c.accept_lane].name for c in conns} == {"accept"}  # type: ignore[index]
    assert not any(e.kind == "close" for lane in rec.server_lanes() for e in lane.events())
    assert sorted(f.conn for f in check(rec) if f.code == "never-closed") == sorted(c.id for c in conns)
    assert answer(18, 2, rec) == f"{len(conns)}."
    assert answer(18, 3, rec) == f"0: {len(conns)} of {len(conns)} were never closed."


def check_pool_as_typed(rec: Recording) -> None:
    """Lesson 18, the pool: worker 0_0 does every accept and serves nobody."""
    first = lane_named(rec, "ThreadPoolExecutor-0_0")
    conns = [c for c in rec.connections.values() if c.id > 0]
    assert {c.accept_lane for c in conns} == {first.id}
    served = {c.serve_lane for c in conns if c.serve_lane is not None}
    assert first.id not in served and served
    assert not any(e.kind in ("recv", "send") for e in first.events())
    never = sum(1 for f in check(rec) if f.code == "never-closed")
    assert answer(18, 4, rec) == (f"{len(served)}, none of them ThreadPoolExecutor-0_0; {never} of {len(conns)} "
                                  "connections were never closed.")


CHECKS: dict[str, Callable[[Recording], None]] = {
    "tcp-stream-udp-datagrams.jsonl": check_stream_and_datagrams,
    "thread-server-as-typed.jsonl": check_thread_as_typed,
    "pool-server-as-typed.jsonl": check_pool_as_typed,
    "pool-saturated-queue.jsonl": check_pool_queue,
    "thread-as-taught-no-close.jsonl": check_as_taught,
    "selectors-one-thread-serves-all.jsonl": check_one_lane,
    "single-both-ends.jsonl": check_both_ends,
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_answers_match_the_shipped_recordings_numbers(name: str) -> None:
    CHECKS[name](load(f"recordings/{name}"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_a_freshly_recorded_run_lands_on_its_own_moments(name: str, tmp_path: Path) -> None:
    """The shipped command, run again: every step of every lesson using it still finds its moment."""
    item = next(s for s in shipped.SHIPPED if s.file == name)
    item.make(str(tmp_path))
    rec = load(str(tmp_path / name))
    CHECKS[name](rec)
    for lesson in READY:
        for step in lesson.steps:
            if (step.recording or lesson.recording) == name:
                m, values = values_for(rec, step)
                guide.fill(step.text, values)
                assert m.window[0] <= m.playhead <= m.window[1]


# ---------------------------------------------------------------- the command
def test_lesson_lists_every_lesson(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lesson"]) == 0
    out = capsys.readouterr().out
    for lesson in catalogue.LESSONS:
        assert f"{lesson.number:>3}  {lesson.title}" in out
    assert "pool --workers 4 --work-ms 200 · burst" in out
    assert "servers/lesson/thread_server.py --port 0 · keepalive" in out
    assert "recordings/programs/stream_and_datagram.py · sockscope run" in out
    assert "needs `sockscope run`" not in out


@pytest.mark.parametrize("argv, words", [(["lesson", "99"], "no lesson 99"),
                                         (["lesson", "1", "--folder", "nowhere"], "is missing")])
def test_lesson_bad_input_is_one_line(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and err.count("\n") == 1


def test_try_it_finds_the_lessons_script_from_any_folder(tmp_path, monkeypatch) -> None:
    """Regression: 't' at the end of lesson 18 passed servers/lesson/... relative to where the student stood."""
    monkeypatch.chdir(tmp_path)
    cfg, _, _ = guide.try_settings(catalogue.get(18))
    assert cfg.program and os.path.isabs(cfg.program[-1]) and os.path.isfile(cfg.program[-1])


def test_lessons_find_their_recordings_from_any_folder(tmp_path, monkeypatch) -> None:
    """Regression: 'sockscope lesson 4' from a folder without recordings/ said 'no such file'."""
    from tracer.run.shipped import shipped_folder

    monkeypatch.chdir(tmp_path)
    folder = shipped_folder()
    assert os.path.isabs(folder) and os.path.isfile(os.path.join(folder, catalogue.get(4).recording))


# ---------------------------------------------------------------- the app
async def until(pilot: Pilot, condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {condition}")
        await pilot.pause(0.01)


def on_step(app: LessonApp, index: int) -> Callable[[], bool]:
    return lambda: app.step_index == index and app._applied == index and app.loaded


def panel(app: LessonApp) -> str:
    return str(app.query_one("#lesson-body").render())


@pytest.mark.parametrize("lesson", READY, ids=lambda x: f"lesson{x.number}")
async def test_every_lesson_opens_steps_to_its_end_and_back(lesson: guide.Lesson) -> None:
    app = LessonApp(lesson)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, on_step(app, 0))
        for k in range(1, app.steps):
            await pilot.press("n")
            await until(pilot, on_step(app, k))
            assert f"step {k + 1}/{app.steps}" in panel(app)
            step = app.step()
            if step is not None:
                assert app.step_error is None, app.step_error
                if step.question:
                    await pilot.press("a")
                    await pilot.pause()
                    rec = app.timeline.rec  # type: ignore[union-attr]
                    assert app.answer_text() == guide.fill(step.answer, values_for(rec, step)[1])
                    assert f"A: {app.answer_text()}" in panel(app)
        assert "Try it yourself" in panel(app) and lesson.try_command() in panel(app).replace("\n", " ")
        for k in range(app.steps - 2, -1, -1):
            await pilot.press("pageup")
            await until(pilot, on_step(app, k))
        assert app.path.endswith(lesson.recording)


async def test_a_step_sets_the_view_it_names() -> None:
    """Lesson 4, step 2: the connection view, the longest queue wait highlighted and in the window."""
    app = LessonApp(catalogue.get(4))  # type: ignore[arg-type]
    async with app.run_test(size=(120, 35)) as pilot:
        await until(pilot, on_step(app, 0))
        await pilot.press("pagedown")
        await until(pilot, on_step(app, 1))
        rec = app.timeline.rec  # type: ignore[union-attr]
        worst = max((c for c in rec.connections.values() if c.queue_wait is not None), key=lambda c: c.queue_wait)
        assert app.timeline.by_connection and app.lanes.highlight == worst.id  # type: ignore[union-attr]
        view = app.lanes.view
        assert view.start <= worst.submit_t and worst.start_t <= view.end
        assert f"Connection {worst.id} waited" in panel(app)
        await pilot.press("t")  # not the last step: nothing runs
        assert not app.try_it


async def test_try_it_yourself_quits_to_run_it_live() -> None:
    lesson = catalogue.get(9)
    assert lesson is not None
    app = LessonApp(lesson)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, on_step(app, 0))
        for k in range(1, app.steps):
            await pilot.press("n")
            await until(pilot, on_step(app, k))
        await pilot.press("t")
        await pilot.pause()
    assert app.try_it
    cfg, scenario, params = guide.try_settings(lesson)
    assert (cfg.model, cfg.cpu_ms, scenario, params) == ("thread", 50.0, "cpu", {"clients": "8", "cpu_ms": "50"})


def test_try_settings_carry_the_scenarios_server_knobs() -> None:
    cfg, scenario, _ = guide.try_settings(catalogue.get(7))  # type: ignore[arg-type]
    assert (scenario, cfg.backlog, cfg.pause_accept_ms) == ("backlog", 3, 1500)


@pytest.mark.parametrize("size", [(80, 24), (120, 35)])
def test_snapshot_lesson_step(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, LessonApp)
        await until(pilot, on_step(app, 0))
        await pilot.press("n")
        await until(pilot, on_step(app, 1))
        await pilot.press("a")
        await pilot.pause()

    assert snap_compare(LessonApp(catalogue.get(4)), terminal_size=size, run_before=run_before)  # type: ignore[arg-type]


@pytest.mark.parametrize("number, size", [(12, (120, 35)), (17, (80, 24)), (1, (120, 35))])
def test_snapshot_lesson_first_steps(snap_compare: Callable[..., bool], number: int, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, LessonApp)
        await until(pilot, on_step(app, 0))
        await pilot.press("n", "n")
        await until(pilot, on_step(app, 2))
        assert isinstance(app.query_one(LessonPanel), LessonPanel)

    assert snap_compare(LessonApp(catalogue.get(number)), terminal_size=size, run_before=run_before)  # type: ignore[arg-type]


def test_kinds_used_by_lessons_exist() -> None:
    for lesson in READY:
        for step in lesson.steps:
            name, *args = step.view.split()
            if name in ("longest", "first", "last"):
                assert args[0] in KINDS


def test_no_step_gives_away_the_answer_to_its_own_question() -> None:
    """A step's answer must name something its text does not (lesson 3 said "21 threads created", then asked how
    many threads; lesson 7 said how long the connect took, then asked how long)."""
    import string

    fields = string.Formatter()
    leaks = []
    for lesson in catalogue.LESSONS:
        for i, step in enumerate(lesson.steps, 1):
            if not step.answer:
                continue
            answer = {name for _, name, _, _ in fields.parse(step.answer) if name}
            text = {name for _, name, _, _ in fields.parse(step.text) if name}
            if answer and answer <= text:
                leaks.append(f"lesson {lesson.number} step {i}: {sorted(answer)} already in its text")
    assert not leaks


async def test_back_from_the_live_view_the_lesson_opens_on_try_it_yourself() -> None:
    lesson = catalogue.get(9)
    assert lesson is not None
    app = LessonApp(lesson, back_from_live=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, on_step(app, app.steps - 1))
        assert "Try it yourself" in panel(app)
        assert any("Back from the live view" in str(n.message) for n in app._notifications)  # noqa: SLF001
        await pilot.press("t")  # and t tries it again
        await pilot.pause()
    assert app.try_it


def test_q_in_the_live_view_goes_back_to_the_lesson(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression (newcomer's check): t then q in the live view quit sockscope instead of going back."""
    from tracer.commands import lesson as command
    from tracer.commands import live

    opened: list[int] = []
    said: list[str | None] = []

    def run(self: LessonApp) -> None:  # the student: t on the first opening, q on the second
        opened.append(self.step_index)
        said.append(self.recorded)
        self.try_it = len(opened) == 1

    tried: list[int] = []
    monkeypatch.setattr(live, "not_interactive", lambda: None)
    monkeypatch.setattr(LessonApp, "run", run)
    monkeypatch.setattr(command, "try_live", lambda lesson: (tried.append(lesson.number) or 1, "./live-x.jsonl"))
    assert main(["lesson", "9"]) == 1  # the live run's exit status is kept
    lesson = catalogue.get(9)
    assert lesson is not None
    assert tried == [9] and opened == [0, len(lesson.steps)]  # back, on the try-it step
    assert said == [None, "./live-x.jsonl"]  # and the lesson says what the live run recorded


def test_lesson_16s_try_it_says_where_its_recording_went(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression (newcomer's check): lesson 16's t ran the program and the lesson came straight back over its
    summary: the student never saw where ./stream_and_datagram.jsonl went. Now the lesson says it."""
    from tracer.commands import lesson as command
    from tracer.commands import run as run_command

    ran: list[str] = []
    monkeypatch.setattr(run_command, "run", lambda args: ran.append(args.output) or 0)  # no program started
    lesson = catalogue.get(16)
    assert lesson is not None
    assert command.try_live(lesson) == (0, os.path.join(".", "stream_and_datagram.jsonl"))
    assert ran == [os.path.join(".", "stream_and_datagram.jsonl")]


async def test_back_from_trying_it_the_lesson_says_where_the_recording_is() -> None:
    lesson = catalogue.get(16)
    assert lesson is not None
    app = LessonApp(lesson, back_from_live=True, recorded="./stream_and_datagram.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, on_step(app, app.steps - 1))
        said = [str(n.message) for n in app._notifications]  # noqa: SLF001
        assert any("sockscope replay ./stream_and_datagram.jsonl" in m for m in said), said
        # it ran in the terminal, no live view (the lesson said 'Back from the live view'; newcomer's check)
        assert any("Back from the program's run" in m for m in said) and not any("live view" in m for m in said)


async def test_q_quit_stays_in_the_footer_of_a_small_terminal() -> None:
    """Regression (newcomer's check): at 60x15 the footer dropped q quit, the first key past ^p palette;
    the keys before it make room instead."""
    from textual.widgets._footer import FooterKey

    lesson = catalogue.get(4)
    assert lesson is not None
    app = LessonApp(lesson)
    async with app.run_test(size=(60, 15)) as pilot:
        await until(pilot, on_step(app, 0))

        def shown() -> list[FooterKey]:
            return [k for k in app.query(FooterKey) if k.display]

        def fitted() -> bool:  # the footer is fitted after a refresh, laid out after another: wait for both
            keys = shown()
            palette = [k for k in keys if k.has_class("-command-palette")]
            quits = [k for k in keys if k.action == "quit" and k.region.width]
            return bool(palette and quits) and all(k.region.right <= palette[0].region.x
                                                   for k in keys if k is not palette[0])

        deadline = time.monotonic() + 5.0
        while not fitted() and time.monotonic() < deadline:
            await pilot.pause(0.05)
        keys = shown()
        palette = next(k for k in keys if k.has_class("-command-palette"))
        quits = [k for k in keys if k.action == "quit"]
        assert quits and quits[0].region.right <= palette.region.x, [(k.action, k.region) for k in keys]
        assert all(k.region.right <= palette.region.x for k in keys if k is not palette)


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_no_stray_scrollbar_in_the_detail_panel_of_a_small_terminal(lang: str) -> None:
    """Regression (newcomer's check): at 60x15 a stray '▌' showed above the footer: the unselected detail
    panel's hint was wider than the panel, and its horizontal scrollbar took the hint's row."""
    from tracer import locale
    from tracer.tui.widgets.panels import DetailPanel

    locale.set_language(lang)
    lesson = catalogue.get(4)
    assert lesson is not None
    app = LessonApp(lesson)
    async with app.run_test(size=(60, 15)) as pilot:
        await until(pilot, on_step(app, 0))
        await pilot.pause()
        panel = app.query_one(DetailPanel)
        assert not panel.show_horizontal_scrollbar
        body = str(app.query_one("#detail-body").render())
        said = locale._("click an event (or enter) for its connection's story · ? colours and keys")
        assert said.split(" · ")[0] in body, body  # the clauses that fit, whole
