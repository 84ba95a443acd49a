"""``sockscope record``: a lesson server and a scenario's clients, headless, into one recording.

How this works
--------------
The server runs in its own process (``python -m tracer serve MODEL --port 0
--record FILE``, started by :class:`tracer.run.processes.ServerProcess`), the clients
in another (``python -m tracer.clients``), so neither shares the other's GIL.
The clients append their lanes to the server's file on the server's clock.
While they run, their ``progress`` lines drive a progress bar.  Then, in this
order (nothing may follow the server's trailer): the clients end, the server
gets SIGINT and writes its trailer, and the recording is loaded to summarise.

If the server dies first, the clients are stopped, the recording is left
readable (a trailer written early is moved to the end), and the error says how
the server ended and what it last wrote on stderr.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from servers import Settings
from tracer.clients import program, scenarios, toolkit
from tracer.errors import ServerError, TracerError
from tracer.locale import N_, _, ngettext
from tracer.outputs import write_text
from tracer.recording.format import check_recording_path
from tracer.recording.model import Recording
from tracer.recording.reader import load
from tracer.run.processes import Piped, ServerProcess, Tracebacks, spawn, stop_process

STARTUP_GRACE = 15.0  # seconds past the scenario's deadline before its process is stopped


@dataclass
class Result:
    """What ``record`` made."""

    path: str
    recording: Recording
    outcome: toolkit.Outcome | None
    server_status: int
    note: str | None = None  # the server ended by itself (the lesson's single server does)
    tracebacks: Tracebacks | None = None  # what a program of the student's raised (its output is not shown)


# Server settings a scenario may imply (slow accept for the backlog lesson, ...): given by the user, they win.
KNOBS = frozenset({"backlog", "pause_accept_ms", "cpu_ms"})


def apply_knobs(cfg: Settings, scenario: scenarios.Scenario, params: Mapping[str, Any],
                explicit: set[str] | frozenset[str] = frozenset()) -> Settings:
    """``cfg`` with the server knobs the scenario implies; settings in ``explicit`` (given by the user) win."""
    knobs: dict[str, Any] = {k: v for k, v in scenario.server_settings(params).items() if k not in explicit}
    if "backlog" in knobs:
        knobs["backlog"] = int(knobs["backlog"])
    return replace(cfg, **knobs)


def record(cfg: Settings, scenario_name: str, overrides: Mapping[str, Any] | None, path: str, *,
           explicit: set[str] | frozenset[str] = frozenset(), progress: Callable[[int, int], None] | None = None,
           on_server: Callable[[ServerProcess], None] | None = None) -> Result:
    """Run ``cfg``'s server and scenario ``scenario_name``'s clients; leave one recording at ``path``.

    Args:
        cfg: the server's settings (the scenario's knobs are applied, unless in ``explicit``).
        overrides: scenario parameters, e.g. ``{"clients": "50"}``.
        path: the recording to write (replaced).
        progress: called with (connections done, planned).
        on_server: called with the running server (tests kill it from here).

    Raises:
        UsageError: unknown scenario or parameter.
        ServerError: the server could not start, or died during the scenario.
    """
    scenario = scenarios.get(scenario_name)
    params = scenario.resolve(overrides)
    cfg = apply_knobs(cfg, scenario, params, explicit)
    check_recording_path(path)
    server = ServerProcess(cfg, path)
    piped: Piped | None = None
    try:
        address = server.start()
        if on_server is not None:
            on_server(server)
        piped = spawn(program.argv(address, scenario_name, {k: _fmt(v) for k, v in params.items()}, path,
                                   round_no=1), on_stdout=_progress_reader(progress))
        died = _wait_clients(piped, server, float(params["deadline"]) + STARTUP_GRACE)
    finally:  # on every way out (Ctrl-C too: they run in sessions of their own), clients first, then the server
        if piped is not None and piped.proc.poll() is None:
            stop_process(piped.proc, grace=3.0)
        status = server.stop()
        for p in (piped, server.piped):
            if p is not None:
                p.close()
        move_trailer_last(path)
    outcome = program.parse_outcome(piped.stdout)
    if died is not None and status != 0:
        raise ServerError(_("{died}\nthe recording so far is readable: {path}").format(died=died, path=path))
    if piped.proc.returncode != 0 and outcome is None:
        errors = "; ".join(piped.last_errors(3)) or _("exit status {n}").format(n=piped.proc.returncode)
        raise TracerError(_("the scenario's clients failed: {errors}").format(errors=errors))
    note = _("the {model} server ended by itself during the scenario (exit status 0)").format(
        model=cfg.model) if died else None
    return Result(path, load(path), outcome, status, note, server.tracebacks)


def _progress_reader(progress: Callable[[int, int], None] | None) -> Callable[[str], None]:
    """Reads the client process's ``progress DONE TOTAL`` lines."""

    def line(text: str) -> None:
        words = text.split()
        if progress is not None and len(words) == 3 and words[0] == "progress" and words[1].isdigit() \
                and words[2].isdigit():
            progress(int(words[1]), int(words[2]))

    return line


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _wait_clients(piped: Piped, server: ServerProcess, limit: float) -> str | None:
    """Wait for the client process; stop it if the server dies or time runs out. Returns the death, if any."""
    deadline = time.monotonic() + limit
    while piped.proc.poll() is None:
        died = server.death()
        if died is not None:
            stop_process(piped.proc, grace=3.0)
            piped.join()
            return died
        if time.monotonic() > deadline:
            stop_process(piped.proc, grace=3.0)
            break
        time.sleep(0.02)
    piped.join()
    return server.death()


def move_trailer_last(path: str) -> None:
    """Move a trailer that other lines followed (server ended before its clients) to the end."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError:
        return
    ends = [i for i, text in enumerate(lines) if text.startswith('{"end": true')]
    if not ends or ends[-1] == len(lines) - 1 and len(ends) == 1:
        return
    trailer = lines[ends[-1]]
    kept = [text for i, text in enumerate(lines) if i not in set(ends)]
    write_text(path, "".join(kept + [trailer]), newline="\n")  # a symlink's target, never the link


# ---------------------------------------------------------------- what it prints
def raised_lines(program: str, raised: Tracebacks | None) -> list[str]:
    """What a program of the student's raised while its output was kept out of sight (record, live): the
    count, and the first report as Python printed it, indented; nothing if it raised nothing."""
    if raised is None or not raised.count:
        return []
    head = ngettext("{program} raised {n} exception while recording (its output is not shown); here it is:",
                    "{program} raised {n} exceptions while recording (its output is not shown); the first:",
                    raised.count).format(program=program, n=raised.count)
    return [head, *("  " + line for line in raised.first)]


def summary(rec: Recording, outcome: toolkit.Outcome | None = None) -> str:
    """One paragraph: connections, threads, longest waits (numbers from :mod:`tracer.analysis.stats`)."""
    from tracer.analysis.stats import compute
    from tracer.units import fmt_time

    def _ns(ns: float | None) -> str:
        return fmt_time(ns, significant=True)

    st = compute(rec)
    conns = ngettext("{n} connection accepted", "{n} connections accepted", st.connections).format(n=st.connections)
    if st.client_only:
        conns += _(" ({n} more seen only by their client)").format(n=st.client_only)
    if st.never_closed:
        conns += _(", {n} never closed by the server").format(n=st.never_closed)
    late = answered_after_client_left(rec)
    answered = ngettext("{n} request answered", "{n} requests answered", st.requests).format(n=st.requests)
    if late:
        answered += _(" ({n} of them after their client had given up)").format(n=late)
    threads = ngettext("{n} thread created", "{n} threads created", st.threads_created).format(
        n=st.threads_created)
    parts = [_("{model} server ({knobs}): {connections}; {answered}; {threads}, at most {alive} alive at once")
             .format(model=rec.model, knobs=_knobs(rec.settings), connections=conns, answered=answered,
                     threads=threads, alive=st.threads_max_alive)]
    if outcome is not None:
        parts.append(_("clients saw {what}").format(what=program.summarize(outcome)))
    waits = [_("{time} {where} (connection {conn})").format(time=_ns(w.worst[0][1]), where=_(_WHERE[name]),
                                                             conn=w.worst[0][0])
             for name, w in st.waits.items() if w.worst and w.worst[0][1] > 0]
    if waits:
        parts.append(_("longest waits: {waits}").format(waits=_(", ").join(waits)))
    if st.peaks.get("backlog"):
        parts.append(_("the kernel's accept queue held up to {n}").format(n=st.peaks["backlog"]))
    parts.append(ngettext("{events:,} event, {dropped} dropped", "{events:,} events, {dropped} dropped",
                          st.events).format(events=st.events, dropped=st.dropped))
    return _("; ").join(parts) + _(".")


def answered_after_client_left(rec: Recording) -> int:
    """Server sends that came after the client had closed its end: answers nobody received.

    ``record pool --scenario idle`` said "3 requests answered" and "0 replies": the busy clients timed
    out waiting for a worker, and the workers answered them afterwards.
    """
    late = 0
    for c in rec.connections.values():
        if c.client_close_t is None or not c.requests:
            continue
        late += sum(1 for e in rec.connection_events(c.id) if e.kind == "send" and e.nbytes > 0
                    and rec.lanes[e.lane].side == "server" and e.t > c.client_close_t)
    return late


_WHERE = {"backlog": N_("in the kernel's backlog"), "queue": N_("in the pool's queue"), "service": N_("in service")}
_KNOB_WORDS = {"work_ms": N_("work {ms:g} ms"), "cpu_ms": N_("cpu {ms:g} ms"),
               "pause_accept_ms": N_("accept paused {ms:g} ms")}


def _knobs(settings: Mapping[str, Any]) -> str:
    if settings.get("program"):  # a program of the student's (sockscope run)
        return "sockscope run " + shlex.join(map(str, settings["program"]))  # as typed: 'b c' stays one word
    workers = settings.get("workers")
    shown = [ngettext("{n} worker", "{n} workers", workers or 0).format(n=workers)] \
        if settings.get("model") == "pool" else []
    shown.append(_("backlog {n}").format(n=settings.get("backlog")))
    for key, words in _KNOB_WORDS.items():
        if settings.get(key):
            shown.append(_(words).format(ms=settings[key]))
    if settings.get("as_taught"):
        shown.append(_("as taught"))
    return _(", ").join(shown)
