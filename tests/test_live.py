"""Live mode: the server in its own process, clients fired at it, the UI following the recording."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from textual.widgets import Input, Static

from servers import Settings
from tracer.cli import main
from tracer.commands import live as live_command
from tracer.recording import model, reader
from tracer.recording.follow import Batch
from tracer.run.live_session import Session, summary_lines
from tracer.run.processes import ServerProcess
from tracer.tui.live_app import CountsScreen, LiveApp, MarksBar, listen_address
from tracer.tui.messages import Loaded, LoadFailed
from tracer.tui.screens import ErrorScreen


def test_server_process_starts_stops_and_leaves_a_complete_recording(tmp_path):
    path = str(tmp_path / "r.jsonl")
    server = ServerProcess(Settings(model="pool", workers=2), path)
    host, port = server.start()
    with socket.create_connection((host, port), timeout=5) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while c.recv(65536):
            pass
    assert server.death() is None
    assert server.stop() == 0
    rec = reader.load(path)
    assert rec.complete
    assert sum(1 for c in rec.connections.values() if c.accepted_t is not None) == 1


@pytest.fixture
def terminal(monkeypatch):
    """The command line believes it runs in a terminal (pytest captures stdout)."""
    monkeypatch.setattr(live_command, "not_interactive", lambda: None)


def test_port_in_use_is_one_line_before_anything_starts(tmp_path, capsys, terminal):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["live", "pool", "--port", str(port), "-o", str(tmp_path / "r.jsonl")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "already in use" in err and err.startswith("error: ")


@pytest.mark.parametrize("argv, expected", [
    (["live", "nosuch"], "unknown model 'nosuch'"),
    (["live"], "expected a MODEL"),
    (["live", "pool", "--attach", "x.jsonl"], "--attach FILE"),
    (["live", "--attach", "/nonexistent/x.jsonl"], "no such file"),
    (["live", "--attach", "notes.txt"], "expected a sockscope header"),
    (["live", "pool", "-o", "no/such/folder/r.jsonl"], "folder"),
    (["demo", "--clients", "5000"], "at most 1000"),
])
def test_bad_command_lines_are_one_line(argv, expected, capsys, terminal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hello\n")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err


@pytest.mark.parametrize("stdout_tty, stdin_tty, ci, why", [
    (False, True, "", "stdout is not a terminal"),
    (True, False, "true", "CI is set and stdin is not a terminal"),
    (True, False, "", "stdin is not a terminal"),
    (True, True, "true", None),
])
def test_who_can_see_a_ui(monkeypatch, stdout_tty, stdin_tty, ci, why):
    monkeypatch.setattr(sys, "stdout", type("Out", (), {"isatty": lambda self: stdout_tty})())
    monkeypatch.setattr(sys, "stdin", type("In", (), {"isatty": lambda self: stdin_tty})())
    monkeypatch.setenv("CI", ci)
    assert live_command.not_interactive() == why


def test_live_without_a_terminal_says_so_in_one_line(tmp_path, capsys):
    assert main(["live", "pool", "-o", str(tmp_path / "r.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs a terminal" in err
    assert not (tmp_path / "r.jsonl").exists()


def test_server_death_is_reported_with_status_and_last_lines(tmp_path):
    server = ServerProcess(Settings(model="pool"), str(tmp_path / "r.jsonl"))
    server.start()
    server.piped.stderr.append("Traceback: something broke")
    server.piped.proc.kill()
    server.piped.proc.wait(5)
    why = server.death()
    assert why is not None and "killed by signal 9" in why and "something broke" in why
    server.stop()


# ---------------------------------------------------------------- the UI, with real processes
async def until(pilot, condition, what: str, timeout: float = 20.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.02)


def accepted(app: LiveApp) -> int:
    """Connections the UI's model has seen accepted."""
    tl = app.timeline
    return 0 if tl is None else sum(1 for c in list(tl.rec.connections.values()) if c.accepted_t is not None)


def server_accepts(rec: model.Recording) -> int:
    return sum(1 for c in rec.connections.values() if c.accepted_t is not None)


async def test_a_burst_fired_from_the_ui_reaches_the_model_and_the_recording(tmp_path):
    path = str(tmp_path / "live.jsonl")
    session = Session(Settings(model="pool", workers=2), path)
    session.start()
    try:
        app = LiveApp(path, session=session)
        async with app.run_test(size=(120, 35)) as pilot:
            await pilot.press("B")  # the counts form for a burst
            assert isinstance(app.screen, CountsScreen)
            app.screen.query_one("#count-clients", Input).value = "5"
            await pilot.press("enter")
            assert app.fired == ["burst clients=5 requests=1"]
            await until(pilot, lambda: accepted(app) >= 5, "the burst's 5 accepts in the UI's model")
            await until(pilot, lambda: app.timeline.rec.marks, "the client process's mark")
            await pilot.pause()
            assert "▼burst" in app.query_one(MarksBar).render_line(0).text
            assert app.tracking and 0 <= app.lanes.view.cell_of(app.timeline.rec.marks[-1][0]) <= 4  # fills the view
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            assert "▼burst" in app.query_one(MarksBar).render_line(0).text
            await pilot.press("q")
    finally:
        stopped = session.stop()
    assert stopped.clean, stopped.problems
    rec = reader.load(path)
    assert rec.complete and not rec.warnings
    assert server_accepts(rec) == 5
    assert len(rec.client_lanes()) == 5
    assert [text.split(":")[0] for _, text in rec.marks] == ["scenario burst"]


async def test_the_server_dying_is_a_notification_and_the_recording_stays_readable(tmp_path):
    path = str(tmp_path / "dies.jsonl")
    session = Session(Settings(model="pool"), path)
    session.start()
    try:
        app = LiveApp(path, session=session)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.timeline is not None and app.timeline.rec.lanes, "the server's lanes")
            session.server.piped.proc.kill()
            await until(pilot, lambda: app.alerts, "the notice of the server's death")
            assert "died (killed by signal 9)" in app.alerts[0]
            await pilot.press("b")  # nothing to fire at
            assert not session.firings
            await pilot.press("q")
    finally:
        stopped = session.stop()
    assert not stopped.clean and "killed by signal 9" in stopped.problems[0]
    rec = reader.load(path)
    assert not rec.complete and rec.lanes  # no trailer, but readable
    lines = summary_lines(path, stopped)
    assert lines[0].startswith("warning: the pool server died")
    assert lines[-1] == f"Open it again with: sockscope replay {path}"


async def test_attached_ui_follows_another_process_and_pokes_its_server(tmp_path):
    path = str(tmp_path / "served.jsonl")
    server = ServerProcess(Settings(model="thread"), path)  # "sockscope serve thread --record FILE" elsewhere
    server.start()
    try:
        app = LiveApp(path, session=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.timeline is not None and app.timeline.rec.lanes, "the server's lanes")
            app.counts["burst"] = {"clients": "3"}
            await pilot.press("b")
            assert app.session is not None and app.session.address == server.address
            await until(pilot, lambda: accepted(app) >= 3, "3 accepts in the attached UI's model")
            assert app.session.wait_clients(timeout=10)
            server.stop()
            await until(pilot, lambda: app.timeline.rec.trailer is not None, "the server's trailer")
            await pilot.press("b")  # the server has stopped: nothing is fired
            assert len(app.session.firings) == 1
            await pilot.press("q")
        assert app.session.stop().clean
    finally:
        server.stop()
    rec = reader.load(path)
    assert rec.complete and server_accepts(rec) == 3


async def test_attached_clients_outliving_the_server_leave_its_trailer_last(tmp_path):
    path = str(tmp_path / "served.jsonl")
    server = ServerProcess(Settings(model="thread"), path)
    server.start()
    try:
        app = LiveApp(path, session=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.timeline is not None and app.timeline.rec.lanes, "the server's lanes")
            # slow clients asleep between their dribbles: they notice the server is gone only after its trailer
            app.counts["slowloris"] = {"slow": "2", "fast": "0", "gap_ms": "3000"}
            await pilot.press("s")
            await until(pilot, lambda: accepted(app) >= 2, "the slow clients' accepts")
            server.stop()  # the other process stops while our clients still talk to it
            await until(pilot, lambda: app.late_clients_stopped, "our clients stopped, the trailer last again")
            await until(pilot, lambda: app.timeline.rec.trailer is not None, "the recording read again")
            assert "moved it last" in app.alerts[-1]
            assert not isinstance(app.screen, ErrorScreen)
            await pilot.press("q")
    finally:
        server.stop()
    rec = reader.load(path)
    assert rec.complete and not rec.warnings


async def test_a_reload_ignores_what_the_loader_it_replaced_posts_late(tmp_path):
    # the race CI met once: the old loader read the lines after the trailer from the file it had open and
    # posted its failure after _reopen had already started reading the fixed file
    path = tmp_path / "fixed.jsonl"
    head = json.dumps({"format": "sockscope", "version": 1, "model": "thread", "settings": {}, "t0_monotonic_ns": 0})
    lane = json.dumps({"lane": 0, "name": "MainThread", "native_id": 1, "side": "server"})
    path.write_text(f'{head}\n{lane}\n[1000,0,"listen",0,0,128,"127.0.0.1:9"]\n{{"end": true, "t": 5000}}\n')
    app = LiveApp(path, session=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.timeline is not None and app.timeline.rec.trailer is not None, "the trailer")
        old_loader, old_timeline = app._loader, app.timeline
        app._reopen(True)
        await until(pilot, lambda: app._loader is not old_loader and app.timeline is not old_timeline,
                    "the fixed file read by a new loader")
        fresh = app.timeline
        app.post_message(LoadFailed("expected nothing after the trailer", old_loader))
        app.post_message(Loaded(Batch(old_timeline.rec, 1, 1, 1), old_timeline, old_loader))
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.screen, ErrorScreen) and not app.load_failed
        assert app.timeline is fresh and app.error is None
        app.post_message(LoadFailed("a failure of the loader in charge", app._loader))  # still shown
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the current loader's failure shown")
        assert app.load_failed and app.error == "a failure of the loader in charge"


async def test_attached_ui_keeps_a_half_written_line_until_it_is_whole(tmp_path):
    path = tmp_path / "growing.jsonl"
    head = json.dumps({"format": "sockscope", "version": 1, "model": "pool", "settings": {}, "t0_monotonic_ns": 0})
    lane = json.dumps({"lane": 0, "name": "MainThread", "native_id": 1, "side": "server"})
    accept = '[2000,500,"accept",0,1,-1,"127.0.0.1:5000"]\n'
    path.write_text(f'{head}\n{lane}\n[1000,0,"listen",0,0,128,"127.0.0.1:9"]\n' + accept[:17])
    app = LiveApp(path, session=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.timeline is not None and app.timeline.rec.n_events == 1, "the listen event")
        await until(pilot, lambda: app._loader is not None and app._loader.follower.partial, "the half line read")
        assert accepted(app) == 0 and not app.timeline.rec.warnings
        assert listen_address(app.timeline.rec.lanes.values()) == ("127.0.0.1", 9)
        with open(path, "a") as f:  # the other writer finishes its line
            f.write(accept[17:])
        await until(pilot, lambda: accepted(app) == 1, "the completed accept")
        await pilot.press("q")


def test_demo_without_a_terminal_records_headless(tmp_path):
    path = tmp_path / "demo.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    done = subprocess.run([sys.executable, "-m", "tracer", "demo", "-o", str(path), "--clients", "6"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "stdout is not a terminal" in done.stdout
    assert f"sockscope replay {path}" in done.stdout
    rec = reader.load(path)
    assert rec.complete and not rec.warnings
    assert server_accepts(rec) == 6


def test_demo_records_into_the_current_folder_not_the_shipped_recordings(tmp_path):
    """Regression (newcomer's check): without -o, demo (and lesson's t, live) wrote live-*.jsonl into
    recordings/, among the shipped recordings; now into the folder the student stands in, and says so."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**{k: v for k, v in os.environ.items() if k != "CI"}, "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-m", "tracer", "demo", "--clients", "3"], cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    made = [p.name for p in tmp_path.iterdir()]
    assert len(made) == 1 and made[0].startswith("live-pool-") and made[0].endswith(".jsonl"), made
    assert f"sockscope replay {os.path.join('.', made[0])}" in done.stdout
    assert reader.load(tmp_path / made[0]).complete


async def test_poking_is_off_until_the_recording_says_where_the_server_listens(tmp_path):
    path = tmp_path / "no-listen.jsonl"
    head = json.dumps({"format": "sockscope", "version": 1, "model": "pool", "settings": {}, "t0_monotonic_ns": 0})
    path.write_text(head + "\n" + json.dumps({"lane": 0, "name": "MainThread", "native_id": 1}) + "\n")
    app = LiveApp(path, session=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.timeline is not None and app.timeline.rec.lanes, "the lane")
        await pilot.press("b")
        assert app.session is None and not app.fired
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Fire burst (b)" in titles and "Fire burst with counts… (B)" in titles
        await pilot.press("S")  # the form, then escape: nothing fired
        assert isinstance(app.screen, CountsScreen)
        app.screen.query_one("#count-slow", Input).value = "lots"
        await pilot.press("enter")
        assert isinstance(app.screen, CountsScreen)  # a bad count keeps the form open, saying why
        assert "expected a whole number" in str(app.screen.query_one("#counts-error").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, CountsScreen) and app.session is None
        await pilot.press("question_mark")
        await pilot.pause()
        on_screen = "\n".join(strip.text for strip in app.screen._compositor.render_strips())  # noqa: SLF001
        assert "b B" in on_screen.split("What you see")[0]  # the live keys, above the replay help
        await pilot.press("escape")
        await pilot.press("q")


@pytest.mark.parametrize("span_s, window_s", [(60, 10), (2, 2)])
async def test_following_shows_the_last_ten_seconds_or_everything(tmp_path, span_s, window_s):
    # (the first pilot test checks the other case: what was fired last starts the window)
    path = tmp_path / "long.jsonl"
    head = json.dumps({"format": "sockscope", "version": 1, "model": "pool", "settings": {}, "t0_monotonic_ns": 0})
    lane = json.dumps({"lane": 0, "name": "MainThread", "native_id": 1, "side": "server"})
    end = span_s * 10**9
    path.write_text(f'{head}\n{lane}\n[0,0,"listen",0,0,128,"127.0.0.1:9"]\n[{end},0,"thread_exit",0,0,-1]\n')
    app = LiveApp(path, session=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.timeline is not None and app.timeline.t_max == end, "the events")
        await pilot.pause()
        view = app.lanes.view
        first, now = view.cell_of(end - window_s * 10**9), view.cell_of(end)
        assert 0 <= first <= 4 and now < view.width - 1, (first, now, view)
        if span_s > window_s:
            assert view.cell_of(0) < 0  # the start scrolled off: the window follows now
        await pilot.press("q")


@pytest.mark.parametrize("idle_s", [5, 30])
async def test_following_keeps_the_last_activity_on_screen_when_idle_longer_than_the_window(tmp_path, idle_s):
    """Regression (newcomer's check): `sockscope demo` left alone for more than 10 s after its burst showed the
    last 10 s of the clock, nothing in them: every lane blank, as if the server had gone."""
    import time as clock

    from tests.handmade import pool_known

    burst = pool_known(6)
    burst.lines.pop()  # no trailer: the server still runs, the clock runs on
    head = json.loads(burst.lines[0])
    head["t0_monotonic_ns"] = clock.monotonic_ns() - idle_s * 10**9  # the burst was idle_s ago
    burst.lines[0] = json.dumps(head)
    path = burst.write(tmp_path / "idle.jsonl")
    app = LiveApp(path, session=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.timeline is not None and len(app.timeline.rec.lanes) == 9, "the lanes")
        await pilot.pause(0.3)
        assert app.now() >= idle_s * 10**9
        view = app.lanes.view
        first, last = view.cell_of(1_000_000), view.cell_of(app.timeline.t_max)
        assert 0 <= first < last < view.width, (first, last, view)  # the burst across the view, not off its left
        await pilot.press("q")


def test_poke_keys_take_no_replay_key():
    from tracer.run.live_session import POKES
    from tracer.tui.app import ReplayApp

    taken = {key for b in ReplayApp.BINDINGS for key in b.key.split(",")}  # type: ignore[union-attr]
    mine = {p.key for p in POKES} | {p.key.upper() for p in POKES}
    assert not mine & taken


async def test_burst_counts_start_with_the_cursor_at_the_end_and_ctrl_c_quits(tmp_path):
    """Regressions (issue 15): in the counts dialog Backspace did nothing (the cursor sat at the left of each
    field); Ctrl-C only said "Press ctrl+q to quit"."""
    path = tmp_path / "no-listen.jsonl"
    head = json.dumps({"format": "sockscope", "version": 1, "model": "pool", "settings": {}, "t0_monotonic_ns": 0})
    path.write_text(head + "\n" + json.dumps({"lane": 0, "name": "MainThread", "native_id": 1}) + "\n")
    app = LiveApp(path, session=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.timeline is not None and app.timeline.rec.lanes, "the lane")
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, CountsScreen), "the counts dialog")
        field = app.screen.query_one("#count-clients", Input)
        field.focus()
        await pilot.pause()
        before = field.value
        await pilot.press("backspace", "7")
        assert field.value == before[:-1] + "7"
        await pilot.press("tab")  # the next field too
        await pilot.pause()
        other = app.screen.focused
        assert isinstance(other, Input) and other.cursor_position == len(other.value)
        await pilot.press("ctrl+c")  # from inside the dialog's field
        await until(pilot, lambda: not app.is_running, "the app to quit")


@pytest.mark.parametrize("size", [(120, 35), (80, 24)])
async def test_following_keeps_the_server_lanes_on_screen(tmp_path, size):
    """Regression (newcomer's check): with a burst of clients, following scrolled to the newest (client) lanes,
    so MainThread and the workers that `demo`'s header says to watch were off the top."""
    from tests.handmade import pool_known

    burst = pool_known(40)
    burst.lines.pop()  # no trailer: the server still runs
    path = burst.write(tmp_path / "burst.jsonl")
    app = LiveApp(path, session=None, hint="Watch: MainThread accepts each client")
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.timeline is not None and len(app.timeline.rec.lanes) == 43, "the lanes")
        await pilot.pause(0.3)
        lanes = app.lanes
        top, height = int(lanes.scroll_offset.y), lanes.scrollable_content_region.height
        shown = [row.label for row in lanes.rows[top:top + height]]
        assert "MainThread" in shown and "worker_0" in shown and "worker_1" in shown, shown
        assert any(label.startswith("client-") for label in shown), shown  # and some clients below them
        await pilot.press("q")


@pytest.mark.parametrize("size, note", [((80, 24), False), ((120, 35), True)])
async def test_the_fire_keys_line_leaves_out_its_note_rather_than_cut_it(tmp_path, size, note):
    """Regression (newcomer's check): at 80 columns the line of fire keys ended cut, `shift+…`."""
    from tests.handmade import pool_known

    app = LiveApp(pool_known(3).write(tmp_path / "p.jsonl"), session=None)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.timeline is not None and app.timeline.rec.trailer is not None, "the events")
        await pilot.pause(0.2)
        line = str(app.query_one("#pokes", Static).render()).rstrip()
        assert "r ramp" in line and "…" not in line and ("shift+key: set counts first" in line) == note, line
        await pilot.press("q")


RAISES = """\
import socket, threading
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
def handle(c):
    c.recv(1024)
    raise ValueError("boom")
while True:
    c, a = s.accept()
    threading.Thread(target=handle, args=(c,)).start()
"""


async def test_a_program_that_raises_is_a_notice_and_its_traceback_is_printed_after(tmp_path):
    """(Review: live and record keep a program's output out of sight; a handler raising on every request left
    only 'never closed by the server'.)  One notice for the first, the first report printed after quitting."""
    script = tmp_path / "raises.py"
    script.write_text(RAISES)
    path = str(tmp_path / "raises.jsonl")
    session = Session(Settings(model="raises.py", program=(str(script),)), path)
    session.start()
    try:
        app = LiveApp(path, session=session)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("b")
            await until(pilot, lambda: app.alerts, "the notice of the program's exception")
            assert app.alerts == ["raises.py raised ValueError: boom"]
            await pilot.pause(0.5)
            assert app.alerts == ["raises.py raised ValueError: boom"]  # once, however many handlers raised
            await pilot.press("q")
    finally:
        stopped = session.stop()
    lines = summary_lines(path, stopped, session=session)
    head = next(i for i, line in enumerate(lines) if "raised" in line)
    assert lines[head].startswith("raises.py raised ") and lines[head].endswith("; the first:"), lines
    assert lines[head + 1].startswith("  Exception in thread Thread-") and lines[-2] == "  ValueError: boom"
    assert lines[-1] == f"Open it again with: sockscope replay {path}"
    assert summary_lines(path, stopped) == [*lines[:head], lines[-1]]  # (no session: nothing of it)
