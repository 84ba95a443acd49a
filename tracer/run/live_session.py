"""live_session."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

from servers import Settings
from tracer.addresses import Address
from tracer.clients import program, scenarios, toolkit
from tracer.clients.scenarios import Number
from tracer.errors import ServerError, TracerError
from tracer.locale import N_, _
from tracer.recording import reader
from tracer.run.headless import raised_lines, summary
from tracer.run.processes import Piped, ServerProcess, Tracebacks, spawn, stop_process


@dataclass(frozen=True)
class Poke:
    """One scenario the live UI fires on one key (counts: the scenario's parameters)."""

    key: str
    scenario: str
    label: str


POKES = [
    Poke("b", "burst", N_("burst")),
    Poke("s", "slowloris", N_("slow clients")),
    Poke("i", "idle", N_("idle conns")),
    Poke("k", "keepalive", N_("keep-alive")),
    Poke("c", "churn", N_("churn")),
    Poke("r", "ramp", N_("ramp")),
]


def _fmt(value: Number | str) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_firing(scenario: str, params: Mapping[str, Number]) -> str:
    """The mark text for a firing: the scenario and its own parameters, ``burst clients=20 requests=1``.

    The common ones (timeout, deadline) are named only when changed.
    """
    sc = scenarios.get(scenario)
    defaults = sc.defaults()
    own = {p.name for p in sc.params}
    shown = [f"{k}={v:g}" for k, v in params.items() if k in own or v != defaults.get(k)]
    return " ".join([scenario, *shown])


@dataclass
class Firing:
    """One scenario fired: its client process and what it was."""

    scenario: str
    params: dict[str, Number]
    round_no: int
    piped: Piped
    reported: bool = False  # its failure was reported

    @property
    def running(self) -> bool:
        return self.piped.proc.poll() is None


@dataclass
class Stopped:
    """How a session ended."""

    server_status: int | None  # None: no server of ours (attached)
    clients_stopped: int  # client processes still running at quit, stopped by us
    problems: list[str]

    @property
    def clean(self) -> bool:
        return not self.problems


class Session:
    """A live session: our server process (or none, when attached) and the clients fired at it.

    Args:
        cfg: the server to run; None to fire at a server another process runs.
        path: the recording.
        address: where that other server listens (with ``cfg`` None).
        first_round: the first client round (attached: one no process has used in the file).
    """

    def __init__(self, cfg: Settings | None, path: str, *, address: Address | None = None,
                 first_round: int = 1) -> None:
        self.cfg = cfg
        self.path = path
        self.server = ServerProcess(cfg, path) if cfg is not None else None
        self.address = address
        self.firings: list[Firing] = []
        self._next_round = first_round
        self.stopped: Stopped | None = None

    def start(self, timeout: float = 15.0) -> Address:
        """Start our server; return where it listens.  Raises ServerError (one line) if it cannot."""
        assert self.server is not None, "an attached session has no server to start"
        self.address = self.server.start(timeout)
        return self.address

    def can_fire(self) -> str | None:
        """None if a scenario can be fired now, else why not (one line)."""
        if self.stopped is not None:
            return _("the session has stopped")
        if self.address is None:
            return _("the server's address is not known yet")
        if self.server is not None and not self.server.running:
            return _("the server is not running")
        return None

    def fire(self, scenario: str, params: Mapping[str, Number | str] | None = None) -> Firing:
        """Start a client process running ``scenario`` at the server, appending to the recording.

        Raises:
            ServerError: nothing can be fired now (see :meth:`can_fire`).
            UsageError: an unknown scenario or parameter, or a value out of bounds.
        """
        why = self.can_fire()
        if why is not None:
            raise ServerError(_("cannot fire {scenario}: {why}").format(scenario=scenario, why=why))
        assert self.address is not None
        overrides = {k: _fmt(v) for k, v in (params or {}).items()}
        resolved = scenarios.get(scenario).resolve(overrides)  # a bad value is reported here, not by the child
        round_no = self._next_round
        toolkit.ranges(round_no)  # raises past the last round
        self._next_round += 1
        argv = program.argv(self.address, scenario, overrides, self.path, round_no=round_no)
        firing = Firing(scenario, resolved, round_no, spawn(argv))
        self.firings.append(firing)
        return firing

    def running_clients(self) -> list[Firing]:
        return [f for f in self.firings if f.running]

    def client_failures(self) -> list[str]:
        """One line per client process that exited with an error (each reported once)."""
        out = []
        for f in self.firings:
            code = f.piped.proc.poll()
            if code not in (None, 0) and not f.reported:
                f.reported = True
                f.piped.join(0.5)
                last = f.piped.last_errors(1)
                out.append(_("{firing}: client exited with status {code}").format(
                    firing=describe_firing(f.scenario, f.params), code=code) + (f": {last[0]}" if last else ""))
        return out

    def wait_clients(self, timeout: float = 30.0) -> bool:
        """Wait (bounded) until every client process has ended; False on timeout."""
        deadline = time.monotonic() + timeout
        for f in self.firings:
            try:
                f.piped.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return False
        return True

    def wait_accepts(self, n: int, timeout: float = 10.0) -> int:
        """Wait (bounded) until the recording holds ``n`` server accepts; return how many it holds."""
        deadline = time.monotonic() + timeout
        while True:
            seen = count_accepts(self.path)
            if seen >= n or time.monotonic() > deadline:
                return seen
            time.sleep(0.05)

    def death(self) -> str | None:
        """Why our server died, once it has (None while it runs or after we stopped it)."""
        return self.server.death() if self.server is not None and self.stopped is None else None

    def raised(self) -> Tracebacks | None:
        """What a program of the student's has raised so far (None for a built-in server or an attached one)."""
        return self.server.tracebacks if self.server is not None else None

    def stop(self) -> Stopped:
        """Stop the clients, then the server; every wait bounded.  Again: how it ended the first time."""
        if self.stopped is not None:
            return self.stopped
        problems: list[str] = []
        running = self.running_clients()
        for f in running:  # all at once, so that they end in parallel
            f.piped.proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 3.0
        for f in running:
            try:
                f.piped.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass  # stop_process escalates
        for f in running:
            code = stop_process(f.piped.proc, grace=1.0)
            if code not in (0, -signal.SIGINT, 130):
                problems.append(_("{firing}: client stopped with status {code}").format(
                    firing=describe_firing(f.scenario, f.params), code=code))
        for f in self.firings:
            f.piped.close()
        died = self.death()
        status = None
        if self.server is not None:
            status = self.server.stop()
            if died:
                problems.append(died)
            elif status != 0:
                problems.append(_("the server stopped with status {status}").format(status=status))
        self.stopped = Stopped(status, len(running), problems)
        return self.stopped


def count_accepts(path: str) -> int:
    """How many server ``accept`` events the recording holds so far (complete lines only)."""
    n = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("[") and '"accept"' in line and line.endswith("\n"):
                event = json.loads(line)
                n += event[2] == "accept" and event[4] > 0  # a failed accept has no connection
    return n


def summary_lines(path: str, stopped: Stopped, outcome: toolkit.Outcome | None = None,
                  session: Session | None = None) -> list[str]:
    """What to print after a session: problems, the recording's summary, what a program of the student's
    raised (``session``'s), how to open it again."""

    out = [_("warning: {message}").format(message=p) for p in stopped.problems]
    try:
        rec = reader.load(path)
    except TracerError as exc:
        return [*out, _("warning: {message}").format(message=exc), _("sockscope: the recording is {path}").format(
            path=path)]
    complete = _("complete") if rec.complete else _("no trailer: the server did not stop cleanly")
    out.append(_("sockscope: recorded {path} ({state})").format(path=path, state=complete))
    out.append(summary(rec, outcome))
    if session is not None and session.cfg is not None:
        out.extend(raised_lines(session.cfg.model, session.raised()))
    out.append(_("Open it again with: {command}").format(command=f"sockscope replay {path}"))
    return out
