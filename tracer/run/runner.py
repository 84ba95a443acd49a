"""Run one lesson server in this process, traced or not, and stop it cleanly.

Ctrl-C and SIGTERM both become ``KeyboardInterrupt`` in the main thread, where
every lesson server blocks (in ``accept`` or in ``sleep``), but never inside a
traced call before its record (:mod:`tracer.record.interrupts`).  Stopping then
wakes every thread blocked on a socket (``Net.stop``), and only after that
closes the recorder, so the trailer counts every event.
"""

from __future__ import annotations

import errno
import faulthandler
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import servers
from servers import Settings
from tracer import addresses
from tracer.addresses import Address
from tracer.errors import ServerError, TracerError
from tracer.locale import _, listed
from tracer.record.interrupts import StopSignals
from tracer.record.net import Net, backlog_probe_available
from tracer.record.recorder import Recorder, context_switches


@dataclass
class ServerExit:
    """What a server run left behind."""

    address: Address | None
    trailer: dict[str, Any]
    stuck_threads: list[str]
    signum: int | None = None  # the signal that stopped it (SIGINT, SIGTERM), if one did


is_loopback = addresses.is_loopback  # where it always was


def header_for(cfg: Settings) -> dict[str, Any]:
    return {
        "model": cfg.model,
        "settings": cfg.to_json(),
        "counters": {"backlog": backlog_probe_available(cfg.family), "queue": cfg.model == "pool", "threads": True,
                     "ctx_switches": context_switches() is not None},
    }


def run_server(
    cfg: Settings,
    record: str | None = None,
    *,
    out: TextIO = sys.stdout,
    on_listen: Callable[[Address], None] | None = None,
    quiet: bool = False,
) -> ServerExit:
    """Run ``cfg.model`` until Ctrl-C/SIGTERM; return what it left.

    Raises:
        TracerError: unknown model, recording not writable, port in use ...
    """
    try:
        module = servers.load(cfg.model)
    except KeyError:
        raise TracerError(_("unknown model {model!r}; choose one of {models}").format(
            model=cfg.model, models=listed(servers.MODELS))) from None
    if cfg.unix is not None:
        addresses.prepare_unix_path(cfg.unix)  # a stale socket file goes; anything else is refused
    recorder = Recorder(record, header_for(cfg), offload=spare_core()) if record else None
    address: list[Address] = []
    bound: list[tuple[int, int] | None] = []  # the socket file we made, removed when we stop

    def listening(sock: Any) -> None:
        where = sock.getsockname()
        here: Address = cfg.unix if cfg.unix is not None else (where[0], where[1])
        address.append(here)
        if cfg.unix is not None:
            bound.append(addresses.socket_identity(cfg.unix))
        if not quiet:
            print(listening_line(cfg.model, here, record), file=out, flush=True)
        if on_listen is not None:
            on_listen(here)

    net = Net(recorder, on_listen=listening, pause_accept_ms=cfg.pause_accept_ms)
    stops = StopSignals(net)
    previous = _install_signals(stops)
    failure: TracerError | None = None
    try:
        try:
            module.serve(net, cfg)
        except OSError as exc:
            # Before listening, the address is the trouble (in use, not ours); after,
            # the server itself failed (out of file descriptors, ...): one line either way.
            # Unless a stop signal woke the accept loop (it shuts the listener down).
            if not net.stopping:
                failure = ServerError(_("the {model} server stopped: {why}").format(
                    model=cfg.model, why=exc.strerror or exc)) if address \
                    else _bind_error(cfg, exc)
    except KeyboardInterrupt:  # raised once, outside traced code (tracer/record/interrupts.py)
        pass
    finally:
        stops.done = True  # first, and a plain assignment: no signal can cut what follows
        stuck = net.stop()  # (sets net.stopping first)
        trailer = recorder.close() if recorder else {}
        _restore_signals(previous)
        if cfg.unix is not None and bound:
            addresses.remove_socket_file(cfg.unix, bound[0])
    if failure is not None:
        if record and not address:
            _remove_quietly(record)  # a recording of a server that never listened would only mislead
        raise failure
    return ServerExit(address[0] if address else None, trailer, stuck, stops.signum)


def listening_line(model: str, address: Address, record: str | None) -> str:
    """``sockscope: pool server listening on http://[::1]:8000/, recording to r.jsonl; Ctrl-C stops it``, in the
    language in force.

    :class:`tracer.run.processes.ServerProcess` reads this line to learn where the server is: whatever the
    language, the first ``http://HOST:PORT/`` or ``unix:`` after a space is the address (see ``_LISTENING``).
    """
    where = addresses.show(address) if isinstance(address, str) else addresses.url(address)
    try_it = _("; try: {command}").format(command=addresses.url(address)) if isinstance(address, str) else ""
    if record:
        said = _("sockscope: {model} server listening on {address}, recording to {path}; Ctrl-C stops it{try_it}")
    else:
        said = _("sockscope: {model} server listening on {address} (tracing off); Ctrl-C stops it{try_it}")
    return said.format(model=model, address=where, path=record, try_it=try_it)


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
    if cfg.unix is not None:
        if exc.errno == errno.EADDRINUSE:
            return ServerError(_("--unix: {path} is already in use").format(path=cfg.unix))
        return ServerError(_("cannot listen on {address}: {why}").format(address=addresses.show(cfg.unix),
                                                                        why=exc.strerror or exc))
    if isinstance(exc, socket.gaierror):  # a name that stopped resolving, or one of the other family
        return ServerError(_("cannot listen on {address}: {why}").format(address=cfg.host, why=exc.strerror or exc))
    if exc.errno == errno.EADDRINUSE:
        return ServerError(_("port {port} on {host} is already in use; try --port 0 for a free one").format(
            port=cfg.port, host=cfg.host))
    if exc.errno == errno.EACCES:
        return ServerError(_("no permission to listen on port {port} (ports below 1024 need root)").format(
            port=cfg.port))
    return ServerError(_("cannot listen on {address}: {why}").format(address=addresses.show((cfg.host, cfg.port)),
                                                                    why=exc.strerror or exc))


def _install_signals(handler: StopSignals) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    if hasattr(signal, "SIGUSR1"):  # kill -USR1 PID: every thread's Python stack on stderr (a server that hangs)
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    if previous and hasattr(signal, "SIGUSR1"):
        faulthandler.unregister(signal.SIGUSR1)
