"""Run one lesson server in this process, traced or not, and stop it cleanly.

Ctrl-C and SIGTERM both become ``KeyboardInterrupt`` in the main thread, where
every lesson server blocks (in ``accept`` or in ``sleep``).  Stopping then wakes
every thread blocked on a socket (``Net.stop``), and only after that closes the
recorder, so the trailer counts every event.
"""

from __future__ import annotations

import errno
import faulthandler
import ipaddress
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import servers
from servers import Settings
from tracer.errors import ServerError, TracerError
from tracer.record.net import Net, backlog_probe_available
from tracer.record.recorder import Recorder, context_switches


@dataclass
class ServerExit:
    """What a server run left behind."""

    address: tuple[str, int] | None
    trailer: dict[str, Any]
    stuck_threads: list[str]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def header_for(cfg: Settings) -> dict[str, Any]:
    return {
        "model": cfg.model,
        "settings": cfg.to_json(),
        "counters": {"backlog": backlog_probe_available(), "queue": cfg.model == "pool", "threads": True,
                     "ctx_switches": context_switches() is not None},
    }


def run_server(
    cfg: Settings,
    record: str | None = None,
    *,
    out: TextIO = sys.stdout,
    on_listen: Callable[[tuple[str, int]], None] | None = None,
    quiet: bool = False,
) -> ServerExit:
    """Run ``cfg.model`` until Ctrl-C/SIGTERM; return what it left.

    Raises:
        TracerError: unknown model, recording not writable, port in use ...
    """
    try:
        module = servers.load(cfg.model)
    except KeyError:
        raise TracerError(f"unknown model {cfg.model!r}; choose one of {', '.join(servers.MODELS)}") from None
    recorder = Recorder(record, header_for(cfg), offload=spare_core()) if record else None
    address: list[tuple[str, int]] = []

    def listening(sock: Any) -> None:
        host, port = sock.getsockname()[:2]
        address.append((host, port))
        if not quiet:
            where = f" recording to {record}" if record else " (tracing off)"
            print(f"sockscope: {cfg.model} server listening on http://{host}:{port}/{where}; Ctrl-C stops it",
                  file=out, flush=True)
        if on_listen is not None:
            on_listen((host, port))

    net = Net(recorder, on_listen=listening, pause_accept_ms=cfg.pause_accept_ms)
    previous = _install_signals(net)
    failure: TracerError | None = None
    try:
        module.serve(net, cfg)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        # Before listening, the address is the trouble (in use, not ours); after,
        # the server itself failed (out of file descriptors, ...): one line either way.
        failure = ServerError(f"the {cfg.model} server stopped: {exc.strerror or exc}") if address \
            else _bind_error(cfg, exc)
    finally:
        stuck = net.stop()  # (sets net.stopping first)
        trailer = recorder.close() if recorder else {}
        _restore_signals(previous)
    if failure is not None:
        if record and not address:
            _remove_quietly(record)  # a recording of a server that never listened would only mislead
        raise failure
    return ServerExit(address[0] if address else None, trailer, stuck)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass  # already gone, or not ours to remove: the error above is what matters


def spare_core() -> bool:
    """Whether this process may run on more than one core.

    Only then does formatting the recording in a child process (off the
    server's GIL) pay: on one core the child takes the same CPU from the
    server, plus the hand-over (measured: bench/bench_recorder.py).
    """
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # not Linux
        return (os.cpu_count() or 1) > 1


def _bind_error(cfg: Settings, exc: OSError) -> TracerError:
    if exc.errno == errno.EADDRINUSE:
        return ServerError(f"port {cfg.port} on {cfg.host} is already in use; try --port 0 for a free one")
    if exc.errno == errno.EACCES:
        return ServerError(f"no permission to listen on port {cfg.port} (ports below 1024 need root)")
    return ServerError(f"cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}")


def _install_signals(net: Net) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum: int, frame: Any) -> None:
        if net.stopping:
            return  # a second Ctrl-C while stopping: let the shutdown finish and write the trailer
        net.stopping = True
        raise KeyboardInterrupt

    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, interrupt)
    if hasattr(signal, "SIGUSR1"):  # kill -USR1 PID: every thread's Python stack on stderr (a server that hangs)
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    if previous and hasattr(signal, "SIGUSR1"):
        faulthandler.unregister(signal.SIGUSR1)
