"""The replay app: every binding with a pilot, mouse selection, bad files, SVG snapshots."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, SelectionList

from tracer.cli import main
from tracer.recording.reader import load
from tracer.timeline.rows import Timeline
from tracer.timeline.track import SPEEDS
from tracer.tui.app import ReplayApp
from tracer.tui.screens import ErrorScreen, FilterScreen, GotoScreen, HelpScreen
from tracer.tui.widgets.panels import DetailPanel, Ruler, describe_event
from tracer.tui.widgets.timeline import TimelineView

ROOT = Path(__file__).parent.parent
DATA = "tests/data"  # relative: the title shows the path as given, and snapshots must not depend on the checkout
US, MS = 1_000, 1_000_000


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


async def until(pilot: Pilot, condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        await pilot.pause(0.01)


async def loaded(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, ReplayApp)
    await until(pilot, lambda: app.loaded, what="the recording to load")
    await pilot.pause()


def lanes(app: ReplayApp) -> TimelineView:
    return app.query_one(TimelineView)


def shown(app: ReplayApp, selector: str) -> str:
    """The text a panel shows now (panels redraw after the frame that changed them)."""
    return str(app.query_one(selector).render())


def text_of(view: TimelineView) -> str:
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


# ---------------------------------------------------------------- bindings
async def test_play_pause_runs_on_the_clock() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        app.speed_index = SPEEDS.index(1_000_000)  # 1 ms of trace per second
        start = time.monotonic()
        await pilot.press("space")
        assert app.playing
        await until(pilot, lambda: lanes(app).playhead > 50 * US, what="the playhead to move")
        # the clock decides: 50 µs of trace at 1 ms/s takes at least 50 ms of wall time ...
        assert time.monotonic() - start >= 0.05
        await pilot.press("space")
        assert not app.playing
        stopped = lanes(app).playhead
        # ... and never runs ahead of it, however few frames were drawn
        assert stopped <= (time.monotonic() - start) * 1_000_000
        await pilot.pause(0.05)
        assert lanes(app).playhead == stopped


async def test_playback_stops_at_the_end() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        app.speed_index = len(SPEEDS) - 1
        await pilot.press("space")
        await until(pilot, lambda: not app.playing, what="playback to stop at the end")
        assert lanes(app).playhead == app.timeline.t_max  # type: ignore[union-attr]


async def test_speed_keys_step_through_speeds() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        i = app.speed_index
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert app.speed_index == i + 2
        await pilot.press(*["left_square_bracket"] * (app.speed_index + 1))  # one more than the way down
        assert app.speed_index == 0
        await until(pilot, lambda: "1 µs/s" in shown(app, "#title"), what="the speed in the title")


async def test_step_keys_walk_events_and_select_them() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        await pilot.press("full_stop")  # next event on any lane: the listen at 10 µs
        assert view.selected == (0, 0) and view.playhead == 10 * US
        await pilot.press("full_stop", "full_stop")
        assert view.playhead > 10 * US
        await pilot.press("comma")
        before = view.playhead
        view.cursor = 0
        await pilot.press("down", "down")  # past the "workers" heading to worker_0's row
        assert view.cursor_lane() == 1
        await pilot.press("right")
        assert view.selected is not None and view.selected[0] == 1 and view.playhead >= before
        await pilot.press("right", "left")
        assert view.selected[0] == 1
        await until(pilot, lambda: all(w in shown(app, "#detail-body") for w in (" event  ", "worker_0")),
                    what="the detail panel")


async def test_zoom_fit_and_pan_keys() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        scale = view.view.scale
        await pilot.press("plus")
        assert view.view.scale == pytest.approx(scale / 2)
        await pilot.press("minus", "minus")
        assert view.view.scale == pytest.approx(scale * 2)
        await pilot.press("0")
        assert view.view.scale == pytest.approx(scale)
        start = view.view.start
        await pilot.press("l")
        assert view.view.start > start
        await pilot.press("h", "h")
        assert view.view.start < start


async def test_lane_scrolling_and_home_end() -> None:
    app = ReplayApp(f"{DATA}/many_lanes.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        await pilot.press("pagedown", "pagedown")
        assert view.cursor == 21 and view.scroll_offset.y > 0
        await pilot.press("pageup")
        assert view.cursor == 11
        await pilot.press("up")
        assert view.cursor == 10
        await pilot.press("end")
        assert view.playhead == app.timeline.t_max  # type: ignore[union-attr]
        await pilot.press("home")
        assert view.playhead == app.timeline.t_min  # type: ignore[union-attr]


async def test_fold_a_group_by_key_and_by_click() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        await pilot.press("down")  # worker_0
        await pilot.press("z")
        labels = [r.label for r in view.rows]
        assert "worker_0" not in labels and view.rows[view.cursor].ref == "workers"
        assert "▸ workers (3, folded" in view.render_line(view.cursor).text
        await pilot.press("z")
        assert "worker_0" in [r.label for r in view.rows] and view.cursor_lane() == 1
        heading = next(i for i, r in enumerate(view.rows) if r.ref == "clients")
        await pilot.click(TimelineView, offset=(3, heading))
        assert "client-0" not in [r.label for r in view.rows]
        await pilot.click(TimelineView, offset=(3, heading))
        assert "client-0" in [r.label for r in view.rows]


async def test_goto_typed_time_and_a_typo() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GotoScreen))
        await pilot.press(*"abc", "enter")
        assert isinstance(app.screen, GotoScreen)  # the error is shown, the dialog stays
        app.screen.query_one(Input).value = ""
        await pilot.press(*"1.5ms", "enter")
        await until(pilot, lambda: not isinstance(app.screen, GotoScreen))
        assert lanes(app).playhead == 1_500_000
        await pilot.press("g", "escape")
        assert not isinstance(app.screen, GotoScreen)


async def test_enter_inspects_and_escape_unselects() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        view.seek(500 * US)
        await pilot.press("down", "enter")  # worker_0 at 500 µs: inside conn 1's send
        assert view.selected is not None and view.highlight == 1
        await pilot.press("escape")
        assert view.selected is None and view.highlight is None


async def test_tab_toggles_the_connection_view() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        await pilot.press("tab")
        assert app.timeline.by_connection  # type: ignore[union-attr]
        assert [r.ref for r in lanes(app).rows if r.kind == "conn"] == [1, 2, 3, 4, 5]
        assert "connection" in app.query_one(Ruler).heading
        await pilot.press("down", "enter")
        assert lanes(app).highlight is not None
        await pilot.press("tab")
        assert not app.timeline.by_connection  # type: ignore[union-attr]


async def test_filter_keys_and_dialog() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        await pilot.press("o")  # nothing selected: a hint, no filter
        assert not app.timeline.filters.active  # type: ignore[union-attr]
        await pilot.press("full_stop", "full_stop")  # conn 1's connect, on a client lane
        await pilot.press("o")
        assert app.timeline.filters.conn == view.highlight  # type: ignore[union-attr]
        await pilot.press("x")
        assert not app.timeline.filters.active  # type: ignore[union-attr]
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, FilterScreen))
        app.screen.query_one("#filter-conn", Input).value = "4"
        await pilot.click("#apply")
        await until(pilot, lambda: not isinstance(app.screen, FilterScreen))
        assert app.timeline.filters.conn == 4  # type: ignore[union-attr]
        assert [r.label for r in view.rows if r.kind == "lane"] == ["MainThread", "worker_0", "client-0"]
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, FilterScreen))
        app.screen.query_one("#filter-conn", Input).value = ""
        app.screen.query_one("#filter-kinds", SelectionList).deselect_all()
        app.screen.query_one("#filter-kinds", SelectionList).select("close")
        app.screen.query_one("#filter-lanes", SelectionList).deselect(0)
        await pilot.click("#apply")
        await until(pilot, lambda: not isinstance(app.screen, FilterScreen))
        f = app.timeline.filters  # type: ignore[union-attr]
        assert f.kinds == {"close"} and f.lanes is not None and 0 not in f.lanes
        assert "MainThread" not in [r.label for r in view.rows]
        await until(pilot, lambda: "close" in shown(app, "#status"), what="the filter in the status strip")
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, FilterScreen))
        await pilot.click("#clear")
        await until(pilot, lambda: not isinstance(app.screen, FilterScreen))
        assert not app.timeline.filters.active  # type: ignore[union-attr]


async def test_help_screen_and_quit() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, what="the app to quit")


async def test_command_palette_lists_the_timeline_commands() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Play / pause", "Zoom to fit", "Go to time", "Toggle thread / connection view", "Filter",
                "Clear filters", "Help: colours and marks"} <= set(titles)


# ---------------------------------------------------------------- mouse
async def test_click_selects_an_event_and_highlights_its_connection() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        row = next(i for i, r in enumerate(view.rows) if r.label == "worker_0")
        x = view.label_width + view.view.cell_of(300 * US)  # inside conn 1's recv on worker_0
        await pilot.click(TimelineView, offset=(x, row))
        assert view.selected is not None and view.selected[0] == 1
        assert view.highlight == 1
        assert set(view._hl_spans) == {0, 1, 11}  # acceptor, worker, client: one story across lanes
        await until(pilot, lambda: "connect" in shown(app, "#detail-body"), what="the connection's story")
        detail = shown(app, "#detail-body")
        assert "accept" in detail and "submit" in detail and "connect" in detail
        await pilot.click(TimelineView, offset=(view.label_width + view.view.width - 2, row))
        assert view.selected is None


async def test_click_on_a_story_line_jumps_to_that_event() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        view.seek(2_700_000)
        view.cursor = next(i for i, r in enumerate(view.rows) if r.label == "worker_0")
        await pilot.press("enter")
        assert view.highlight == 4
        panel = app.query_one(DetailPanel)
        line, target = next((y, e) for y, e in panel.targets.items() if e.kind == "connect")
        await pilot.click(DetailPanel, offset=(5, line + 1))  # (+1: the panel's top border)
        assert view.selected == (target.lane, app.timeline.index_of(target))  # type: ignore[union-attr]
        assert view.playhead == target.t and view.highlight == 4
        assert not app.lanes.auto_fit


async def test_click_on_the_ruler_seeks_and_wheel_zooms() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        await pilot.click(Ruler, offset=(view.label_width + 50, 0))
        assert view.playhead == pytest.approx(view.view.time_at(50.5), abs=view.view.scale)
        scale = view.view.scale
        ruler = app.query_one(Ruler)
        ruler.post_message(wheel(events.MouseScrollUp, ruler, view.label_width + 10, 0))
        await until(pilot, lambda: view.view.scale < scale, what="the wheel on the ruler to zoom in")
        scale = view.view.scale
        view.post_message(wheel(events.MouseScrollUp, view, view.label_width + 10, 3, ctrl=True))
        await until(pilot, lambda: view.view.scale < scale, what="ctrl+wheel to zoom in")
        start = view.view.start
        view.post_message(wheel(events.MouseScrollDown, view, view.label_width + 10, 3, shift=True))
        await until(pilot, lambda: view.view.start > start, what="shift+wheel to pan")


def wheel(kind: type[events.MouseEvent], widget: object, x: int, y: int, *, ctrl: bool = False,
          shift: bool = False) -> events.MouseEvent:
    return kind(widget, x, y, 0, 1, 0, shift, False, ctrl)  # type: ignore[arg-type]


# ---------------------------------------------------------------- what is shown
async def test_markup_and_escapes_in_names_show_literally() -> None:
    app = ReplayApp(f"{DATA}/markup.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        text = text_of(view)
        assert "[bold]red[/bold]" in text
        assert "esc\\x1b[31m" in text
        assert "\x1b" not in text
        await pilot.press("full_stop", "full_stop")  # the accept, whose peer has markup
        await until(pilot, lambda: "[link=x]peer[/link]\\x1b[2J" in shown(app, "#detail-body"),
                    what="the peer, literally, in the detail panel")


@pytest.mark.parametrize("name", ["empty.jsonl", "one.jsonl", "same_time.jsonl", "many_lanes.jsonl"])
async def test_edge_recordings_open_and_every_key_is_safe(name: str) -> None:
    app = ReplayApp(f"{DATA}/{name}")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("space", "space")  # (while playing, every press waits for a frame)
        await pilot.press("right", "left", "full_stop", "comma", "plus", "minus", "0", "l", "h", "up",
                          "down", "pagedown", "end", "home", "enter", "tab", "tab", "o", "x", "escape")
        assert app.is_running and not isinstance(app.screen, ErrorScreen)


@pytest.mark.parametrize("name, words", [("not_a_recording.jsonl", "expected a header"),
                                         ("bad_line.jsonl", ":4: expected a JSON value")])
async def test_a_bad_file_gets_a_readable_error(name: str, words: str) -> None:
    app = ReplayApp(f"{DATA}/{name}")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), what="the error screen")
        assert words in app.screen.message  # type: ignore[attr-defined]
        assert app.error is not None and words in app.error  # the CLI says it again and exits 2
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ErrorScreen))


@pytest.mark.parametrize("args, words", [(["nope.jsonl"], "no such file"),
                                         ([f"{DATA}/not_a_recording.jsonl"], "expected a header"),
                                         ([DATA], "folder")])
def test_cli_fails_in_one_line_before_the_app(args: list[str], words: str, capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    assert main(["replay", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and err.count("\n") == 1


@pytest.mark.parametrize("content, words", [(b"", "empty file"), (b"\x89PNG\r\n\x1a\n\x00\x00", "UTF-8"),
                                            (b"hello\n", "expected a sockscope header")])
def test_cli_rejects_what_is_not_a_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes,
                                             words: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


# ---------------------------------------------------------------- follow mode (live reuses it)
async def test_follow_mode_tracks_a_growing_file(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    lines = Path(DATA, "pool.jsonl").read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:12]) + lines[12][:10])  # and half a line
    app = ReplayApp(path, follow=True)
    async with app.run_test(size=(120, 35)) as pilot:
        await until(pilot, lambda: app.timeline is not None and app.timeline.rec.n_events > 0)
        first = app.timeline.rec.n_events  # type: ignore[union-attr]
        with open(path, "a") as f:
            f.write(lines[12][10:] + "".join(lines[13:40]))
        await until(pilot, lambda: app.timeline.rec.n_events > first, what="new events")  # type: ignore[union-attr]
        await until(pilot, lambda: lanes(app).playhead == app.timeline.t_max > 0,  # type: ignore[union-attr]
                    what="the view to track the newest event")
        await pilot.press("h")  # the user pans: stop tracking
        assert not app.tracking
        await pilot.press("f")
        assert app.tracking
        path.write_text("".join(lines[:8]))  # truncated: start over
        await until(pilot, lambda: app.timeline.rec.n_events <= 2, what="a reset")  # type: ignore[union-attr]


def test_follow_key_is_off_in_replay() -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    assert app.check_action("follow", ()) is False


# ---------------------------------------------------------------- snapshots
def _snap(snap_compare: Callable[..., bool], name: str, size: tuple[int, int], press: tuple[str, ...] = (),
          before: Callable[[Pilot], Awaitable[None]] | None = None) -> bool:
    async def run_before(pilot: Pilot) -> None:
        await loaded(pilot)
        if before is not None:
            await before(pilot)

    return snap_compare(ReplayApp(f"{DATA}/{name}"), press=press, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (120, 35)])
def test_snapshot_pool(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    assert _snap(snap_compare, "pool.jsonl", size)


@pytest.mark.parametrize("size", [(80, 24), (120, 35)])
def test_snapshot_selected_connection(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    async def select(pilot: Pilot) -> None:
        view = pilot.app.query_one(TimelineView)
        view.seek(2_700_000)
        view.move_cursor(2)
        view.inspect_at_playhead()
        await pilot.pause()

    assert _snap(snap_compare, "pool.jsonl", size, before=select)


@pytest.mark.parametrize("size", [(80, 24), (120, 35)])
def test_snapshot_connection_view(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    assert _snap(snap_compare, "pool.jsonl", size, press=("tab",))


@pytest.mark.parametrize("name, size", [("pool-saturated-queue.jsonl", (120, 35)),
                                        ("single-both-ends.jsonl", (80, 24))])
def test_snapshot_shipped_recording(snap_compare: Callable[..., bool], name: str, size: tuple[int, int]) -> None:
    """The shipped recordings (recordings/); re-recording one means --snapshot-update here."""
    async def run_before(pilot: Pilot) -> None:
        await loaded(pilot)

    assert snap_compare(ReplayApp(f"recordings/{name}"), terminal_size=size, run_before=run_before)


def test_snapshot_help(snap_compare: Callable[..., bool]) -> None:
    assert _snap(snap_compare, "pool.jsonl", (120, 35), press=("question_mark",))


def test_snapshot_markup(snap_compare: Callable[..., bool]) -> None:
    assert _snap(snap_compare, "markup.jsonl", (80, 24), press=("full_stop", "full_stop"))


def test_snapshot_many_lanes(snap_compare: Callable[..., bool]) -> None:
    assert _snap(snap_compare, "many_lanes.jsonl", (80, 24))


def test_snapshot_empty(snap_compare: Callable[..., bool]) -> None:
    assert _snap(snap_compare, "empty.jsonl", (80, 24))


def test_snapshot_bad_file(snap_compare: Callable[..., bool]) -> None:
    async def run_before(pilot: Pilot) -> None:
        await until(pilot, lambda: isinstance(pilot.app.screen, ErrorScreen))

    assert snap_compare(ReplayApp(f"{DATA}/bad_line.jsonl"), terminal_size=(80, 24), run_before=run_before)


def test_the_story_flags_what_the_lifecycle_table_does_not_expect() -> None:
    """The detail panel walks the one lifecycle table: an as-taught server never closes (LESSONS row 12)."""
    timeline = Timeline(load("recordings/thread-as-taught-no-close.jsonl"))
    story = describe_event(timeline, None, next(iter(timeline.rec.connections))).plain
    assert "never closed by the server" in story
    odd = describe_event(Timeline(load(f"{DATA}/same_time.jsonl")), None, 1).plain
    assert "⚠ not expected here (expected accept)" in odd


def test_the_story_of_a_refused_connect_says_it_failed_and_nothing_was_left_open(tmp_path: Path) -> None:
    """(Review: a refused connect read 'blocked 60 µs in connect(), from refused' and 'never closed by the client
    (still connected …)'.)  A connect that worked and was never closed is still flagged."""
    from tests.handmade import Lines
    r = Lines("client.py").lane(0, "MainThread", side="client")
    r.ev(10 * US, 60 * US, "connect", 0, 1, -1, "refused")
    r.ev(71 * US, 1 * US, "send", 0, 1, 0)  # (the program went on with the socket: its send fails too)
    r.ev(80 * US, 2 * US, "connect", 0, 2, -1, "127.0.0.1:40001")
    timeline = Timeline(load(str(r.end(alive=[0]).write(tmp_path / "c.jsonl"))))
    refused, connected = (describe_event(timeline, None, cid).plain for cid in timeline.rec.connections)
    assert "connect() failed after 60.000 µs: refused" in refused and "never closed" not in refused, refused
    assert "from 127.0.0.1:40001" in connected and "never closed by the client (still connected" in connected


def test_an_events_raw_fields_leave_out_what_says_nothing() -> None:
    """'count -1' and 'detail —' on every close and start said nothing to a student: only fields that hold a value."""
    timeline = Timeline(load(f"{DATA}/pool.jsonl"))
    events = [e for lane in timeline.rec.lanes.values() for e in lane.events()]
    start = next(e for e in events if e.kind == "start")
    recv = next(e for e in events if e.kind == "recv" and e.nbytes > 0)
    accept = next(e for e in events if e.kind == "accept" and e.detail)
    said = describe_event(timeline, start, None).plain
    assert "count" not in said and "detail" not in said and f"line {start.line}" in said
    assert f"count {recv.nbytes}" in describe_event(timeline, recv, None).plain
    assert f"detail {accept.detail}" in describe_event(timeline, accept, None).plain


def test_replay_without_a_terminal_says_so_instead_of_spinning() -> None:
    """Regression: `sockscope replay FILE | head` drew escape codes into the pipe and spun a core forever."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "tracer", "replay", f"{DATA}/pool.jsonl"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("error: replay needs a terminal") and done.stderr.count("\n") == 1
    assert done.stdout == ""


async def test_the_playhead_never_cuts_a_ruler_label_into_a_wrong_time() -> None:
    """Regression: ``┴0.2 s`` with the playhead on its '2' read ``┴0.▼ s``.  Every label left whole, or none."""
    from tracer.timeline.track import ruler_ticks

    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        ruler = app.query_one(Ruler)
        cell, label = next((c, lab) for c, lab in ruler_ticks(view.view) if c > 10)
        view.seek(int(view.view.time_at(cell + 2.5)))  # onto the label's second character
        await pilot.pause()
        row = "".join(seg.text for seg in ruler.render_line(0))[ruler.label_width:]
        assert row[view.view.cell_of(view.playhead)] == "▼"
        assert "┴" + label not in row and "┴─▼" in row
        for c, other in ruler_ticks(view.view):
            if other != label and c + len(other) < len(row):
                assert "┴" + other in row  # the others (all of them that fit) are there


async def test_ctrl_c_quits_as_q_does() -> None:
    """Regression (issue 15): Ctrl-C only popped up "Press ctrl+q to quit"."""
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not app.is_running, what="the app to quit")


def test_long_thread_names_keep_the_end_that_tells_them_apart() -> None:
    """A student's pool lanes (ThreadPoolExecutor-0_0 accepts, -0_1 serves) were both 'ThreadPoolExecu…'."""
    from tracer.tui.widgets.look import fit, fit_name

    cut = [fit_name(f"ThreadPoolExecutor-0_{i}", 14) for i in (0, 1, 12)]
    assert cut == ["ThreadPoo…-0_0", "ThreadPoo…-0_1", "ThreadPo…-0_12"]
    assert all(len(c) == 14 for c in cut)
    assert fit_name("worker_3", 14) == fit("worker_3", 14)  # short names: padded as before
    assert fit_name("esc\\x1b[31mred\\x07", 14) == fit("esc\\x1b[31mred\\x07", 14)  # no numbered end: the start
    assert fit_name("完成连接队列长度啊", 9) == fit("完成连接队列长度啊", 9)  # wide text: cut at a character


def students_pool(path: Path) -> Path:
    """The README's pool server under `sockscope run`, as recorded: start-up at 0.1 s (the accept loop submitted
    to the pool, its thread started), the accept waiting until curl's first request at 2.5 s, five requests,
    then the accept waiting until Ctrl-C at 6.6 s (drawn to the stop)."""
    from tests.handmade import Lines

    r = Lines("myserver.py").lane(0, "MainThread").lane(1, "ThreadPoo…-0_0").lane(2, "ThreadPoo…-0_1")
    r.ev(103 * MS, 0, "listen", 0, 0, 1024, "127.0.0.1:9999").ev(103 * MS, 0, "submit", 0, 0, 0)
    r.ev(110 * MS, 0, "thread_start", 1).ev(111 * MS, 0, "start", 1)
    t = 111 * MS
    for i in range(1, 6):
        came = 2500 * MS + i * 20 * MS
        r.ev(t, came - t, "accept", 1, i, -1, f"127.0.0.1:{55000 + i}").ev(came, 0, "submit", 1, i, 1)
        if i == 1:
            r.ev(came + 100 * US, 0, "thread_start", 2)
        r.ev(came + 200 * US, 0, "start", 2, i).ev(came + 300 * US, 150 * US, "recv", 2, i, 78)
        r.ev(came + 500 * US, 20 * US, "send", 2, i, 60)
        t = came + 10 * US
    r.ev(t, 6600 * MS - t, "accept", 1, 0, -1, "shutdown")
    return r.end(t=6600 * MS, alive=[0, 1, 2]).write(path)


async def test_fit_frames_the_requests_not_the_start_up_before_them(tmp_path: Path) -> None:
    """Regression (newcomer's check): on a student's recording whose accept waits the whole run, 0 framed all
    of it (0.1 s to 2.6 s: the requests in a few columns; they needed `}`)."""
    app = ReplayApp(students_pool(tmp_path / "myserver.jsonl"))
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        await pilot.press("plus", "plus", "l", "0")
        first, last = 2520 * MS, 2600 * MS + 520 * US  # the first request's accept, the last send's end
        assert view.view.start > 2400 * MS and view.view.cell_of(first) >= 0, view.view
        assert view.view.cell_of(last) < view.view.width
        assert view.view.cell_of(last) - view.view.cell_of(first) > view.view.width * 0.8  # they fill it
        assert any("left out ({ and } frame" in str(n.message) for n in app._notifications)  # noqa: SLF001 (says so)


async def test_fit_without_start_up_says_nothing(tmp_path: Path) -> None:
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("0")
        assert not any("left out" in str(n.message) for n in app._notifications)  # noqa: SLF001


async def test_the_playhead_time_keeps_its_decimals_while_the_zoom_drifts() -> None:
    """Regression (newcomer's check): following a live recording, the view's scale drifts to and fro across a
    power of ten and the title's `t =` showed 4 decimals and 3 by turns."""
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(120, 35)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        view.seek(1_234_567)  # 1.234567 ms: the unit is ms; one µs a cell is the change from 3 to 4 decimals
        shown_t: list[str] = []
        for scale in (980.0, 1020.0, 990.0, 1040.0, 970.0, 1010.0):  # ns a cell, to and fro across 1 µs
            view.view.scale = scale
            app._update_panels()  # noqa: SLF001
            await pilot.pause()
            title = shown(app, "TitleBar")
            shown_t.append(title.split("t = ")[1].split()[0])
        assert len(set(shown_t)) == 1, shown_t
        view.view.scale = 10.0  # a real zoom (a hundred times) still shows more
        app._update_panels()  # noqa: SLF001
        await pilot.pause()
        assert shown(app, "TitleBar").split("t = ")[1].split()[0] == "1.23457"
        view.view.scale = 1e5  # and fewer, down to 3
        app._update_panels()  # noqa: SLF001
        await pilot.pause()
        assert shown(app, "TitleBar").split("t = ")[1].split()[0] == "1.235"


def _segments_one_cell_at_a_time(view: TimelineView, row, index: int) -> list:  # type: ignore[no-untyped-def]
    """The definition _cell_segments keeps: each cell's style asked for in turn, runs merged by identity."""
    from rich.segment import Segment

    from tracer.tui.widgets import look

    cells = view._with_note(row, view._row_cells(row, index))
    hl, sel = view._overlay(row, view._hl_spans), view._selected_cells(row)
    ph = view.view.cell_of(view.playhead)
    segments, run, run_style = [], [], None
    for c, (glyph, lk, code) in enumerate(cells):
        if code == -4:
            style = look.COUNTER_NOTE
        elif c == ph:
            style, glyph = look.PLAYHEAD, "┃"
        elif code == -2:
            style = look.COUNTER
        else:
            style = look.cell_style(lk, code, glyph, c in hl, c in sel)
        if style is not run_style and run:
            segments.append(Segment("".join(run), run_style))
            run = []
        run_style = style
        run.append(glyph)
    if run:
        segments.append(Segment("".join(run), run_style))
    return segments


async def test_cell_runs_are_those_of_one_style_asked_a_cell_at_a_time() -> None:
    # _cell_segments looks styles up by cell and redoes only the playhead, selection and highlight (a call per
    # cell was ~3 ms of a zoom frame at 10M events); the runs must be the same, with all three on screen.
    app = ReplayApp("recordings/pool-saturated-queue.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        assert view.step(True, all_lanes=True) and view.step(True, all_lanes=True)  # selects, highlights
        assert view.selected is not None and view.highlight is not None
        for zoom in (1.0, 4.0, 0.1):
            view.zoom_by(zoom)
            view.seek(view.view.time_at(view.view.width // 3))
            rows = [(i, row) for i, row in enumerate(view.rows) if row.kind != "group"]
            assert any(row.kind == "counter" for _, row in rows)
            if zoom == 1.0:
                assert any(view._overlay(row, view._hl_spans) for _, row in rows) and any(
                    view._selected_cells(row) for _, row in rows)
            for i, row in rows:
                assert view._cell_segments(row, i) == _segments_one_cell_at_a_time(view, row, i)


# ---------------------------------------------------------------- the title bar at 80 columns
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("path", "follow"), [("recordings/pool-saturated-queue.jsonl", False),
                                              ("recordings/thread-backlog-kernel-queue.jsonl", False),
                                              (f"{DATA}/pool.jsonl", True)])
async def test_title_bar_fits_80_columns_without_a_cut(lang: str, path: str, follow: bool) -> None:
    """Regression (newcomer's check): at 80 columns the title bar ended in '…' ('pool · 4 workers · b…', in
    Chinese too): what does not fit is left out whole, the least useful first, and the model stays."""
    from rich.cells import cell_len

    from tracer import locale

    locale.set_language(lang)
    app = ReplayApp(ROOT / path if path.startswith("recordings") else path, follow=follow)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.timeline is not None and (app.loaded or follow), what="the recording")
        await pilot.pause()
        title = shown(app, "TitleBar")
        assert "…" not in title and cell_len(title) <= 80, title
        assert title.startswith(" sockscope ") and "t = " in title, title
        assert f"   {app.timeline.rec.model}" in title, title  # the model is left out last
        if follow:
            assert locale._("following") in title, title
        await pilot.resize_terminal(200, 24)  # wider: everything, the file's path last
        await pilot.pause()
        assert shown(app, "TitleBar").rstrip().endswith(path.rsplit("/", 1)[-1]), shown(app, "TitleBar")


async def test_counter_rows_below_the_lanes_are_said_on_their_last_line() -> None:
    """Regression (newcomer's check): in a small terminal a lesson said 'watch the pool queue counter' and no
    counter row was on screen, nor a word of where they were: the lanes' last line says they are below."""
    app = ReplayApp(f"{DATA}/pool.jsonl")
    async with app.run_test(size=(80, 12)) as pilot:
        await loaded(pilot)
        view = lanes(app)
        height = view.scrollable_content_region.height
        first = next(k for k, row in enumerate(view.rows) if row.kind == "counter")
        assert 2 <= height <= first, (height, first)  # the counters start below the window
        said = [view.render_line(y).text for y in range(height)]
        assert "↓ 3 counter rows below (scroll down)" in said[-1], said
        assert not any("counter rows below" in line for line in said[:-1]), said
        view.scroll_to(y=first, animate=False)
        await pilot.pause()
        assert not any("counter rows below" in view.render_line(y).text for y in range(height))
