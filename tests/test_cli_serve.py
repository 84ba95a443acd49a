"""`sockscope serve` given bad input, and stopped under load: one clear line, never a traceback, nothing lost."""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import http_get, wait_for
from tracer.record.hotpath import built as hot_path_built
from tracer.recording.reader import load

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)/")


def sockscope(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracer", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=30, **kw)  # type: ignore[call-overload, no-any-return]


def assert_one_error_line(result: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.fullmatch(f"error: {pattern}", lines[0]), lines[0]


class Server:
    """``sockscope serve`` in a child process, its address read from its first line."""

    def __init__(self, *args: str, **kw: object) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tracer", "serve", *args], cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]
        self.first_line = self._readline(timeout=20)
        m = LISTENING.search(self.first_line)
        if not m:
            self.proc.kill()
            pytest.fail(f"server did not start: {self.first_line!r} {self.proc.communicate()[1]!r}")
        self.address = (m.group(1), int(m.group(2)))

    def _readline(self, timeout: float) -> str:
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
            if not sel.select(timeout):
                self.proc.kill()
                pytest.fail("server printed nothing")
        return self.proc.stdout.readline()  # type: ignore[union-attr]

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            threads = _thread_states(self.proc.pid)  # which thread holds the signal, and where each one waits
            self.proc.send_signal(signal.SIGUSR1)  # the server's faulthandler: every thread's Python stack
            time.sleep(1)
            self.proc.kill()
            out, err = self.proc.communicate()
            pytest.fail(f"server did not stop on {signal.Signals(sig).name}:\n{threads}\nstdout: {out[-300:]}\n"
                        f"stderr: {err[-3000:]}")
        return self.proc.returncode, out, err


def _thread_states(pid: int) -> str:
    lines = []
    for task in sorted(os.listdir(f"/proc/{pid}/task")):
        try:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/task/{task}/status").read_text()
                          .splitlines() if ":" in line)
            wchan = Path(f"/proc/{pid}/task/{task}/wchan").read_text()
        except OSError:
            continue
        lines.append(f"  {task} {status['Name'].strip()} {status['State'].strip()} SigPnd {status['SigPnd'].strip()} "
                     f"ShdPnd {status['ShdPnd'].strip()} SigBlk {status['SigBlk'].strip()} wchan {wchan}")
    return "\n".join(lines)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.communicate()


# ----------------------------------------------------------------- bad input: one line, exit 2
def test_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = sockscope("serve", "pool", "--port", str(port))
    assert_one_error_line(result, f"port {port} on 127.0.0.1 is already in use; try --port 0 for a free one")


def test_port_in_use_with_record_leaves_no_recording(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = sockscope("serve", "thread", "--port", str(port), "--record", str(tmp_path / "r.jsonl"))
    assert_one_error_line(result, f"port {port} on 127.0.0.1 is already in use.*")
    assert not (tmp_path / "r.jsonl").exists()


def test_port_in_use_with_record_keeps_an_earlier_recording(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    earlier = (Path(__file__).resolve().parent.parent / "recordings" / "single-both-ends.jsonl").read_bytes()
    out.write_bytes(earlier)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = sockscope("serve", "thread", "--port", str(port), "--record", str(out))
    assert_one_error_line(result, f"port {port} on 127.0.0.1 is already in use.*")
    assert out.read_bytes() == earlier and [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]


def test_record_into_a_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "r.jsonl"
    result = sockscope("serve", "pool", "--record", str(path))
    assert_one_error_line(result, re.escape(f"cannot write recording {path}: folder {path.parent} does not exist"))


def test_record_into_a_path_that_is_a_folder(tmp_path: Path) -> None:
    result = sockscope("serve", "pool", "--record", str(tmp_path))
    assert_one_error_line(result, re.escape(f"cannot write recording {tmp_path}: it is a folder"))


def test_record_into_a_device_is_refused() -> None:
    """/dev/full took the writes and said 'No space left', then 'Open it with: sockscope replay /dev/full'."""
    result = sockscope("serve", "pool", "--record", "/dev/full")
    assert_one_error_line(result, re.escape("cannot write recording /dev/full: it is not a regular file "
                                            "(a device or a pipe?)"))


def test_record_into_a_folder_without_permission() -> None:
    """Root ignores file permissions (CAP_DAC_OVERRIDE), so as root the server runs as ``nobody``
    (through ``setpriv``); skipped where that is not possible."""
    folder = Path(tempfile.mkdtemp(prefix="sockscope-ro-"))
    target = folder / "r.jsonl"
    cmd = [sys.executable, "-m", "tracer", "serve", "pool", "--record", str(target)]
    try:
        if os.geteuid() == 0:
            folder.chmod(0o755)  # root's folder: others may look in, not write
            nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            if shutil.which("setpriv") is None or subprocess.run([*nobody, sys.executable, "-c", "pass"],
                                                                 capture_output=True).returncode:
                pytest.skip("running as root and cannot run Python as nobody, so no permission can be denied")
            cmd = nobody + cmd
        else:
            folder.chmod(0o555)
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert_one_error_line(result, re.escape(f"cannot write recording {target}: permission denied"))
    finally:
        folder.chmod(0o755)
        folder.rmdir()


def test_a_file_that_is_not_a_recording_is_never_overwritten(tmp_path: Path) -> None:
    """``--record server.py`` by a slip of the finger: refused in one line, the file untouched."""
    target = tmp_path / "server.py"
    target.write_text("print('my homework')\n")
    result = sockscope("serve", "pool", "--record", str(target))
    assert_one_error_line(result, re.escape(f"not writing a recording over {target}: it holds something else "
                                            "(a mistyped name?); choose another name"))
    assert target.read_text() == "print('my homework')\n"


def test_an_earlier_recording_is_replaced(servers: list[Server], tmp_path: Path) -> None:
    """Running the same command again replaces its recording (as the help says)."""
    target = tmp_path / "r.jsonl"
    target.write_text('{"format": "sockscope", "version": 1, "earlier": true}\n[1,0,"recv",0,1,5]\n')
    s = Server("pool", "--record", str(target))
    servers.append(s)
    code, _, err = s.stop()
    assert code == 0, err
    r = load(target)
    assert r.complete and "earlier" not in r.header


def test_empty_record_path_is_refused() -> None:
    result = sockscope("serve", "pool", "--record", "")
    assert_one_error_line(result, "--record needs a file name.*")


def test_unknown_model() -> None:
    result = sockscope("serve", "fork")
    assert_one_error_line(result, "unknown model 'fork'; choose one of single, thread, pool.*")


@pytest.mark.parametrize("option", [["--port", "70000"], ["--workers", "0"], ["--timeout", "soon"]])
def test_bad_option_values_are_usage_errors(option: list[str]) -> None:
    result = sockscope("serve", "pool", *option)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: argument" in result.stderr


def test_non_loopback_host_warns(servers: list[Server]) -> None:
    s = Server("pool", "--host", "0.0.0.0", "--port", "0")
    servers.append(s)
    code, _, err = s.stop()
    assert code == 0
    assert "warning: listening on 0.0.0.0: the server is reachable from the network" in err


# ----------------------------------------------------------------- stopped under load: nothing lost
def _load(address: tuple[str, int], stop: threading.Event, done: list[int]) -> None:
    """One keep-alive client: GETs until told to stop, the server goes, or 5 s / 5000 requests pass."""
    deadline = time.monotonic() + 5
    try:
        with socket.create_connection(address, timeout=2) as sock:
            for _ in range(5_000):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                if not http_get(sock).startswith(b"HTTP/1.1 200"):
                    return
                done.append(1)
    except OSError:
        return  # the server went away mid-request: that is the point


@pytest.mark.parametrize(("model", "sig"), [("pool", signal.SIGINT), ("thread", signal.SIGTERM)])
def test_stopped_under_load_leaves_a_complete_recording(servers: list[Server], tmp_path: Path, model: str,
                                                        sig: int) -> None:
    path = tmp_path / "r.jsonl"
    s = Server(model, "--record", str(path))
    servers.append(s)
    stop = threading.Event()
    done: list[int] = []
    clients = [threading.Thread(target=_load, args=(s.address, stop, done)) for _ in range(4)]
    for c in clients:
        c.start()
    try:
        wait_for(lambda: len(done) >= 300, what="300 requests served")
        code, out, err = s.stop(sig)  # while the clients are still sending
    finally:
        stop.set()
        for c in clients:
            c.join(10)
    assert code == 0, err
    assert "Traceback" not in err
    r = load(path)
    assert r.complete and not r.warnings
    event_lines = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("["))
    assert r.trailer["events"] == event_lines == r.n_events  # type: ignore[index]
    assert r.trailer["dropped"] == 0  # type: ignore[index]
    assert f"{r.trailer['events']} events, 0 dropped" in out  # type: ignore[index]
    served = sum(c.requests for c in r.connections.values())
    assert served >= len(done)  # every response a client counted is in the recording
    assert all(c.closed for c in r.connections.values() if c.id > 0), "a connection left open at shutdown"


def test_recording_is_valid_json_lines(servers: list[Server], tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    s = Server("single", "--record", str(path))
    servers.append(s)
    with socket.create_connection(s.address, timeout=5) as sock:
        assert http_get(sock, close=True).startswith(b"HTTP/1.1 200")
    code, _, _ = s.stop()
    assert code == 0
    for line in path.read_text(encoding="utf-8").splitlines():
        json.loads(line)


def test_a_second_ctrl_c_while_stopping_still_leaves_the_trailer(servers: list[Server], tmp_path: Path) -> None:
    """Impatient users press Ctrl-C twice; the second must not cut the shutdown short before the trailer."""
    path = tmp_path / "r.jsonl"
    s = Server("pool", "--record", str(path), "--work-ms", "300")  # requests in flight make stopping take a while
    servers.append(s)
    stop = threading.Event()
    done: list[int] = []
    clients = [threading.Thread(target=_load, args=(s.address, stop, done)) for _ in range(3)]
    for c in clients:
        c.start()
    try:
        wait_for(lambda: len(done) >= 3, what="3 requests served")
        s.proc.send_signal(signal.SIGINT)
        time.sleep(0.05)  # the second press, a moment later (what is under test is this gap)
        code, out, err = s.stop(signal.SIGINT)
    finally:
        stop.set()
        for c in clients:
            c.join(10)
    assert code == 0, err
    r = load(path)
    assert r.complete and r.trailer["dropped"] == 0  # type: ignore[index]


def _children(pid: int) -> list[str]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += f.read().split()
    return found


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or not os.path.exists("/proc/self/task"),
                    reason="needs Linux CPU affinity")
@pytest.mark.parametrize("pinned", [False, True])
@pytest.mark.parametrize("pure_python", [False, True])
def test_formatter_process_only_for_python_with_a_spare_core(servers: list[Server], tmp_path: Path, pinned: bool,
                                                             pure_python: bool) -> None:
    """The Python formatter runs in a child process when there is a spare core; the C one (which releases the
    GIL, and costs less than the hand-over) always in the server's own."""
    if not pinned and len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core only")
    if not pure_python and not hot_path_built():
        pytest.skip("the C hot path was not built (no C compiler when installed)")
    path = tmp_path / "r.jsonl"
    env = dict(os.environ, SOCKSCOPE_PURE_PYTHON="1" if pure_python else "0")
    s = Server("pool", "--record", str(path), env=env,
               preexec_fn=(lambda: os.sched_setaffinity(0, {0})) if pinned else None)
    servers.append(s)
    assert len(_children(s.proc.pid)) == (1 if pure_python and not pinned else 0)
    with socket.create_connection(s.address, timeout=5) as sock:
        for _ in range(20):
            assert http_get(sock).startswith(b"HTTP/1.1 200")
    code, out, _ = s.stop()
    r = load(path)
    assert code == 0 and r.complete and r.trailer["events"] == r.n_events >= 40  # type: ignore[index]


def test_ctrl_c_right_after_sigcont_still_stops(servers: list[Server], tmp_path: Path) -> None:
    """Regression: with SIGCONT still pending on the main thread, Linux handed SIGINT to a worker thread and the
    main thread slept on in accept() (3 runs in 10 before the fix).  Worker threads now block SIGINT/SIGTERM."""
    for attempt in range(4):
        path = tmp_path / f"r{attempt}.jsonl"
        s = Server("pool", "--workers", "2", "--record", str(path))
        servers.append(s)
        with socket.create_connection(s.address, timeout=5) as sock:
            assert http_get(sock).startswith(b"HTTP/1.1 200")  # a worker exists, blocked in recv
            s.proc.send_signal(signal.SIGSTOP)
            stat = Path(f"/proc/{s.proc.pid}/stat")
            wait_for(lambda stat=stat: stat.read_text().rsplit(")", 1)[1].split()[0] == "T", what="the server stopped")
            s.proc.send_signal(signal.SIGCONT)
            code, _, err = s.stop(signal.SIGINT)  # fails the test if it does not stop within 20 s
        assert code == 0, err
        assert load(path).complete


@pytest.mark.parametrize("argv, words", [
    (["serve", "pool", "--timeout", "abc"], "argument --timeout: expected seconds or 'none'"),
    (["serve", "pool", "--workers", "0"], "argument --workers: expected a whole number >= 1"),
    (["serve", "pool", "--port", "x"], "argument --port: expected a port number"),
    (["nonsense"], "invalid choice: 'nonsense'"),
])
def test_a_bad_command_line_is_one_line(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: argparse printed its whole usage block before the error."""
    from tracer.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and err.count("\n") == 1 and "--help" in err


@pytest.mark.parametrize("argv, helps", [
    (["replay", "--bogus", "x.jsonl"], "sockscope replay --help"),
    (["check", "x.jsonl", "--bogus", "more"], "sockscope check --help"),
    (["--bogus"], "sockscope --help"),
])
def test_an_unknown_option_points_to_its_commands_help(argv: list[str], helps: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """(Newcomer's check: 'sockscope replay --bogus' said "see 'sockscope --help'", which does not list it.)"""
    from tracer.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unrecognized arguments: --bogus") and err.count("\n") == 1, err
    assert f"(see '{helps}')" in err, err


def test_the_wait_in_accept_that_ctrl_c_ends_is_recorded(servers: list[Server], tmp_path: Path) -> None:
    """Regression: the main thread's last accept(), ended by Ctrl-C, was not drawn (MainThread looked idle)."""
    path = tmp_path / "r.jsonl"
    s = Server("single", "--record", str(path))
    servers.append(s)
    with socket.create_connection(s.address, timeout=5) as sock:
        assert http_get(sock, close=True).startswith(b"HTTP/1.1 200")
    # Ctrl-C once the server has closed the connection (and so is back in accept, or about to be).
    wait_for(lambda: '"close"' in path.read_text(), what="the server's close in the recording")
    code, _, err = s.stop(signal.SIGINT)
    assert code == 0, err
    rec = load(path)
    main = next(lane for lane in rec.lanes.values() if lane.name == "MainThread")
    last = main.event(len(main) - 1)
    assert (last.kind, last.conn, last.detail) == ("accept", 0, "shutdown")
    assert last.end >= max(c.close_t or 0 for c in rec.connections.values())


def test_ctrl_c_handed_to_another_thread_still_stops_accept() -> None:
    """A Ctrl-C the kernel hands to a thread other than the main one (here: sent to it on purpose) trips Python's
    handler, which only the main thread runs; asleep in accept(), it never did.  It now wakes within WAKE_S."""
    script = textwrap.dedent("""
        import signal, threading, time
        from tracer.record.net import Net
        server = Net(None).socket()
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        def elsewhere():
            time.sleep(0.3)
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # lands on this thread, not the main one
        threading.Thread(target=elsewhere).start()
        t = time.monotonic()
        try:
            server.accept()
        except KeyboardInterrupt:
            print(f"stopped after {time.monotonic() - t:.2f} s")
    """)
    try:
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("accept() slept on after a Ctrl-C taken by another thread")
    assert done.stdout.startswith("stopped after"), done.stderr


def typed_ctrl_c(argv: list[str], ready: str, kill: int | None = None) -> str:
    """Run sockscope in a terminal of its own (a pty), wait for ``ready``, type Ctrl-C (or send it ``kill``);
    what the terminal showed."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: sockscope, the terminal's foreground process
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "tracer", *argv])
    seen = b""
    typed = False
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready_now, _w, _x = select.select([fd], [], [], 0.1)
            if ready_now:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child has closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not typed and ready.encode() in seen:
                if kill is None:
                    os.write(fd, b"\x03")  # Ctrl-C, typed: the terminal echoes ^C and signals its foreground
                else:
                    os.kill(pid, kill)
                typed = True
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    assert typed, seen
    return seen.decode(errors="replace")


def _stoppable(command: str, tmp_path: Path) -> tuple[list[str], str]:
    """``serve`` or ``run`` of a sleeper, recording into ``tmp_path``; and the line that says it is ready."""
    record = str(tmp_path / "r.jsonl")
    if command == "serve":
        return ["serve", "thread", "--port", "0", "--record", record], "Ctrl-C stops it"
    script = tmp_path / "sleeper.py"
    script.write_text("import time\nprint('ready', flush=True)\ntime.sleep(30)\n")
    return ["run", "-o", record, str(script)], "ready"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pty's Ctrl-C (Linux-only here)")
@pytest.mark.parametrize("command", ["serve", "run"])
def test_the_summary_after_ctrl_c_starts_on_its_own_line(tmp_path: Path, command: str) -> None:
    """Regression (newcomer's check): the summary after Ctrl-C was printed on the ^C line ("^Csockscope: ...")."""
    argv, ready = _stoppable(command, tmp_path)
    shown = typed_ctrl_c(argv, ready)
    assert "stopped" in shown, shown
    assert "^C" in shown, repr(shown)  # a pty echoes it (ECHOCTL), as a terminal does
    assert re.search(r"\^C\r?\nsockscope: (\S+ )?stopped", shown), repr(shown)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pty (Linux-only here)")
@pytest.mark.parametrize("command", ["serve", "run"])
def test_the_summary_after_sigterm_follows_without_an_empty_line(tmp_path: Path, command: str) -> None:
    """Regression (newcomer's check): kill -TERM of 'sockscope serve' in a terminal printed an empty line before
    the summary (the newline meant for the ^C a terminal echoes; after SIGTERM there is none)."""
    argv, ready = _stoppable(command, tmp_path)
    shown = typed_ctrl_c(argv, ready, kill=signal.SIGTERM)
    assert "stopped" in shown, shown
    assert "^C" not in shown
    assert not re.search(r"\n\r?\n", shown), repr(shown)
