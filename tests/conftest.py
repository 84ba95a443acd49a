"""Shared test helpers: lesson servers on loopback port 0, with a recording."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import servers
from servers import Settings
from tracer import locale
from tracer.record import hotpath
from tracer.record.net import Net
from tracer.record.recorder import Recorder
from tracer.recording import model, reader
from tracer.run.runner import header_for
from tracer.timeline import palette

# The suite speaks English whatever the machine's locale (a Chinese LANG would otherwise translate every
# message the tests read), in this process and in every child process it starts; tests of the language
# choice pass their own environment.
os.environ["SOCKSCOPE_LANG"] = "en"
os.environ.pop("SOCKSCOPE_ASCII", None)


@pytest.fixture(autouse=True)
def _english_and_unicode_glyphs() -> Iterator[None]:
    """Each test starts in English with the block glyphs, whatever the one before it switched to."""
    locale.set_language("en")
    palette.set_ascii(False)
    yield
    locale.set_language("en")
    palette.set_ascii(False)


def _why_no_ipv6() -> str | None:
    """Why this machine cannot listen on ``::1`` (None when it can)."""
    if not socket.has_ipv6:
        return "this Python was built without IPv6 (socket.has_ipv6 is false)"
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError as exc:
        return f"::1 cannot be bound here ({exc.strerror or exc}): no IPv6 loopback"
    return None


NO_IPV6 = _why_no_ipv6()
needs_ipv6 = pytest.mark.skipif(NO_IPV6 is not None, reason=NO_IPV6 or "")


@pytest.fixture
def chinese() -> Iterator[None]:
    """The test runs in Chinese (the autouse fixture above puts English back after it)."""
    locale.set_language("zh")
    yield


def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Wait until ``condition()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.005)


class Served:
    def __init__(self, cfg: Settings, path: Path) -> None:
        self.cfg = cfg
        self.path = path
        self.recorder = Recorder(str(path), header_for(cfg), flush_interval=0.01)
        self.address: tuple[str, int] | str | None = None
        self.net = Net(self.recorder, on_listen=self._listening)
        self.thread = threading.Thread(target=self._serve, name="test-server", daemon=True)
        self.error: BaseException | None = None

    def _listening(self, sock: socket.socket) -> None:
        where = sock.getsockname()
        self.address = where if isinstance(where, str) else where[:2]  # a Unix socket's path, or (host, port)

    def _serve(self) -> None:
        try:
            servers.load(self.cfg.model).serve(self.net, self.cfg)
        except OSError as exc:
            if not self.net.stopping:
                self.error = exc

    def snapshot(self) -> model.Recording:
        """The recording as written so far (the writer flushes every 10 ms)."""
        b = reader.Builder(str(self.path))
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if line.endswith("\n"):
                    b.feed(line)
        return b.finish()

    def wait_closed(self, n: int = 1) -> None:
        """Wait until the recording holds ``n`` server-side closes."""
        wait_for(lambda: sum(c.closed for c in self.snapshot().connections.values()) >= n,
                 what=f"{n} connection(s) closed by the server")

    def stop(self) -> model.Recording:
        self.net.stop(grace=3)
        self.recorder.close()
        assert self.error is None, self.error
        return reader.load(self.path)


@pytest.fixture(params=["c", "python"])
def hot_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Record through the C hot path, then through the Python one (SOCKSCOPE_PURE_PYTHON)."""
    if request.param == "c" and not hotpath.built():
        pytest.skip("the C hot path was not built (no C compiler when installed)")
    monkeypatch.setenv("SOCKSCOPE_PURE_PYTHON", "1" if request.param == "python" else "0")
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def serve(tmp_path: Path, hot_path: str) -> Iterator[Callable[..., Served]]:
    """Start a lesson server in this process: ``serve(model, **settings)``."""
    started: list[Served] = []

    def start(model: str, **kw: object) -> Served:
        cfg = Settings(model=model, **kw)  # type: ignore[arg-type]
        s = Served(cfg, tmp_path / f"{model}-{len(started)}.jsonl")
        started.append(s)
        s.thread.start()
        wait_for(lambda: s.address is not None, what=f"{model} server to listen")
        return s

    yield start
    for s in started:
        if not s.recorder.closed:
            s.net.stop(grace=1)
            s.recorder.close()


def server_kinds(rec: model.Recording, conn_id: int) -> list[str]:
    """The kinds of a connection's server-side events, in time order."""
    return [e.kind for e in rec.connection_events(conn_id) if rec.lanes[e.lane].side == "server"]


@contextmanager
def client(address: tuple[str, int], timeout: float = 5.0) -> Iterator[socket.socket]:
    sock = socket.create_connection(address, timeout=timeout)
    try:
        yield sock
    finally:
        sock.close()


def http_get(sock: socket.socket, path: str = "/", close: bool = False) -> bytes:
    """Send one GET and read exactly one response (by Content-Length)."""
    extra = "Connection: close\r\n" if close else ""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
    return read_response(sock)


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    sep = b"\r\n\r\n" if b"\r\n\r\n" in data else b"\n\n"
    head, _, body = data.partition(sep)
    length = 0
    for line in head.split(b"\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + sep + body
