"""``sockscope bench``: the models side by side under the same load (LESSONS row 13).

How this works
--------------
Each contender (a lesson model, untraced unless asked, a program of the
student's, or a ``--target`` address) gets one server process for the whole
throughput part.  A program runs untraced too: ``tracer.run.traced_program``
without a recording only moves its bind (127.0.0.1, a free port) and says
where it listens; it is started as its own process, so the CPU, memory and
threads read from /proc are the program's.  One that crashes, never listens or
dies is a note, and the rest goes on.  One load
worker process (:mod:`tracer.clients.loadgen`, one thread, selectors) drives
them, so neither shares the other's GIL.  Rounds are interleaved: within a
round every load (mode × connections) is run against every contender in turn,
the contenders' order rotating from round to round, so a burst of other work on
a shared machine falls on all of them alike; :mod:`tracer.analysis.bench_figures`
turns the rounds into rates with 95% intervals, and ratios from rates paired in
time (the same round).  The default run has more, shorter rounds (5 x 0.1 s)
rather than few long ones (3 x 0.25 s): a drift of the whole machine over a
minute then shows in each model's spread and cancels in each round's ratios.
With ``wrk`` installed, at the headline load (50 keep-alive connections) of each
round, right after the built-in generator's runs, ``wrk`` runs as long against
the same pair (selectors and thread), so the cross-check's ratios are paired in
time too.

Capacity is measured once per (contender, idle count) on a fresh server, as the
memory a server keeps does not shrink back: idle connections are opened and held,
the server's resident memory and threads are read from /proc once they stop
changing, then a few busy connections run and we count which got answers.

A Ctrl-C stops the run where it is: everything measured so far is kept, marked
partial.  Every run is bounded; the whole plan's length is known before it starts.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from servers import Settings
from tracer.analysis.bench_figures import BenchResult, Capacity, Sample, untraced_name
from tracer.clients import loadgen
from tracer.errors import ServerError, TracerError
from tracer.locale import _, ngettext
from tracer.run import loaddrivers as drivers
from tracer.run import programs
from tracer.run.processes import ServerProcess

Progress = Callable[[int, int, str], None]
WRK_OVERHEAD_S = 0.15  # starting wrk and reading its report, measured here
RUN_OVERHEAD_S = 0.13  # a built-in load run beyond its warm-up and window: its job, its connects and closes


def warmup_s(connections: int) -> float:
    """Seconds of load before counting: the connections made and accepted (a thread-per-connection server
    starting its threads, a selectors loop accepting one connection a turn): 0.03 s, +0.2 s per 1,000."""
    return 0.03 + connections / 5000


def grace_s(connections: int) -> float:
    """At most this much more warm-up while some connection has had no answer yet (see loadgen's ``loop``):
    0.15 s, +0.2 s per 1,000.  With 0.1 s windows, thread-per-connection at 50 connections was said to
    starve 20 of them, that all got answers a moment later; a model that starves connections for good pays
    it in each of its runs (the default bench: ~10 s)."""
    return 0.15 + connections / 5000


@dataclass(frozen=True)
class Contender:
    """Something the bench measures: a lesson model it starts, a program of the student's it starts
    (``program``: ``sockscope run``'s words, SCRIPT or -m MODULE, then its arguments), or a server
    already listening at ``address``."""

    name: str
    model: str | None = None
    tracing: bool = False
    address: tuple[str, int] | None = None
    program: tuple[str, ...] = ()

    @property
    def started(self) -> bool:
        """Whether the bench starts (and stops) its server: a model or a program, not a ``--target``."""
        return self.model is not None or bool(self.program)


@dataclass(frozen=True)
class Plan:
    contenders: tuple[Contender, ...]
    connections: tuple[int, ...] = (1, 10, 50, 200, 1000)
    modes: tuple[str, ...] = ("keep-alive", "close")
    rounds: int = 5
    duration: float = 0.1
    workers: int = 10
    work_ms: float = 0
    cpu_ms: float = 0
    capacity: tuple[int, ...] = (100, 1000, 5000)
    busy: int = 4
    pin: bool = False
    wrk: str | None = None  # wrk's path: cross-check at the headline load
    headline: int = 50
    record_dir: str | None = None
    host: str = "127.0.0.1"  # where the models listen (IPv4 or IPv6; loopback unless asked otherwise)
    unix: str | None = None  # listen on Unix sockets instead, one per server in this folder ("": a temporary one)

    @property
    def load_runs(self) -> int:
        return self.rounds * len(self.modes) * len(self.connections) * len(self.contenders)

    @property
    def wrk_runs(self) -> int:
        return self.rounds * len(self.wrk_contenders) if self.wrk and self.headline in self.connections else 0

    @property
    def wrk_contenders(self) -> tuple[Contender, ...]:
        """Who wrk cross-checks: selectors and thread (the verdict's ratio) when both run (untraced, else
        traced), else everyone wrk can reach (not a Unix socket)."""
        for traced in (False, True):
            pair = tuple(c for c in self.contenders if c.model in ("selectors", "thread") and c.tracing == traced)
            if len(pair) == 2:
                return pair
        return tuple(c for c in self.contenders if not (c.address and c.address[0].startswith(loadgen.UNIX_PREFIX)))

    @property
    def recorded(self) -> tuple[Contender, ...]:
        """Who --record records: each model or program once (a recording is traced whichever way it was measured)."""
        seen: dict[str, Contender] = {}
        for c in self.contenders:
            if c.started:
                seen.setdefault(untraced_name(c.name), c)
        return tuple(seen.values())

    @property
    def capacity_runs(self) -> int:
        return len(self.capacity) * len(self.contenders)

    @property
    def total_runs(self) -> int:
        recording = len(self.recorded) if self.record_dir else 0
        return self.load_runs + self.wrk_runs + self.capacity_runs + recording

    @property
    def estimate_s(self) -> float:
        """Measured here: ~0.13 s a load run beyond its warm-up and length, ~0.5 s a server start, ~1 s a
        capacity step at 1,000 idle.  (The default run of 3 x 0.25 s rounds was estimated at 100 s with 0.05 s
        a run, and took 109-113 s on a quiet machine: the 12 s over, spread on its 156 runs, is the 0.08 s
        added.)"""
        starts = len([c for c in self.contenders if c.started])
        capacity = sum(0.5 + n / 2000 for n in self.capacity) * len(self.contenders)
        recording = len(self.recorded) * (self.duration + 1.0) if self.record_dir else 0
        warmups = sum(map(warmup_s, self.connections)) * self.rounds * len(self.modes) * len(self.contenders)
        wrk = self.wrk_runs * (self.duration + warmup_s(self.headline) + WRK_OVERHEAD_S)
        return (self.load_runs * (self.duration + RUN_OVERHEAD_S) + warmups + wrk
                + starts * 0.5 + capacity + recording)

    def settings(self) -> dict[str, object]:
        d = asdict(self)
        d["contenders"] = [c.name for c in self.contenders]
        return d


@dataclass
class _Run:
    """The running state of one bench: what it measured so far and what it must stop."""

    plan: Plan
    progress: Progress
    result: BenchResult
    servers: dict[str, ServerProcess] = field(default_factory=dict)
    worker: drivers.LoadWorker | None = None
    done: int = 0
    dead: set[str] = field(default_factory=set)
    never_started: set[str] = field(default_factory=set)  # programs that crashed or never listened
    scratch: str | None = None  # where traced contenders' recordings go (--tracing on|both), removed at the end
    sockets: str | None = None  # the folder of the servers' Unix sockets (--unix), while they run
    own_sockets: bool = False  # ... made by the bench (removed at the end)
    started: int = 0  # servers started so far: each gets a socket path of its own

    def step(self, what: str) -> None:
        self.done += 1
        self.progress(self.done, self.plan.total_runs, what)


def machine() -> dict[str, object]:
    return {"cores": os.cpu_count() or 1, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform(terse=True),
            "limits": drivers.limits()}


def run_bench(plan: Plan, progress: Progress | None = None) -> BenchResult:
    """Measure ``plan``; on Ctrl-C, what was measured so far (``partial`` says where it stopped)."""
    generator = _("built-in (one thread, selectors, its own process)")
    if plan.wrk:
        generator += _("; cross-check: wrk -t1 at {n} keep-alive connections").format(n=plan.headline)
    result = BenchResult(plan.settings(), machine() | {"load_generator": generator}, planned_runs=plan.total_runs)
    if any(c.tracing for c in plan.contenders):
        result.machine["tracing"] = _("the rows marked 'traced' ran with sockscope's recorder on (every socket call "
                                      "recorded, as sockscope record does), into a temporary folder removed at the "
                                      "end; the others untraced")
    names = [c.name for c in plan.contenders if c.program]
    if names:
        result.machine["programs"] = _("{names}: run untraced, as the models are (sockscope run without -o: only its "
                                       "bind is moved to 127.0.0.1 and a free port)").format(names=", ".join(names))
    run = _Run(plan, progress or (lambda n, total, what: None), result)
    result.machine["load_average_before"] = drivers.load_average()
    other_work = drivers.OtherWork()
    server_cpus, load_cpus = drivers.pin_cores() if plan.pin else (None, None)
    most = max([*plan.connections, *(n + plan.busy for n in plan.capacity)])
    drivers.raise_open_files(most + 256)  # the servers and the worker inherit it
    try:
        result.machine["listen"] = _listen_line(run)
        run.worker = drivers.LoadWorker(load_cpus)
        _throughput(run, server_cpus, load_cpus)
        _stop_servers(run)
        _capacity(run, server_cpus)
        _record(run)
    except KeyboardInterrupt:
        result.partial = _("interrupted after {done} of {total} runs").format(done=run.done, total=plan.total_runs)
    finally:
        _stop_servers(run)
        if run.worker is not None:
            run.worker.close()
        if run.scratch is not None:
            shutil.rmtree(run.scratch, ignore_errors=True)  # traced runs' recordings: measured, not kept
        if run.own_sockets and run.sockets is not None:
            shutil.rmtree(run.sockets, ignore_errors=True)  # each server removed its own socket; then the folder
    result.machine["load_average_after"] = drivers.load_average()
    result.machine["other_work_cores"] = other_work.cores()  # after every child has been waited for
    return result


def _listen_line(run: _Run) -> str:
    """Where the models listen, said in every header; makes the folder of Unix sockets when the bench owns it."""
    plan = run.plan
    others = _(" (programs on 127.0.0.1, --target where it is, over TCP)") \
        if any(not c.model for c in plan.contenders) else ""
    if plan.unix is None:
        return _("{host} over TCP{others}").format(host=f"[{plan.host}]" if ":" in plan.host else plan.host,
                                                   others=others)
    if plan.unix:
        run.sockets = plan.unix
    else:  # short, so that a socket path stays under the 104/108 bytes a path may have
        run.sockets = tempfile.mkdtemp(prefix="ssb-", dir="/tmp" if os.path.isdir("/tmp") else None)
        run.own_sockets = True
    return _("Unix sockets in {folder}{others}").format(folder=run.sockets, others=others)


def socket_path(folder: str, model: str, n: int) -> str:
    """The Unix socket of the ``n``-th server the bench starts (a fresh one each: a server removes its own)."""
    return os.path.join(folder, f"{model}-{n}.sock")


def _start(run: _Run, c: Contender, cpus: set[int] | None, record: str | None = None,
           backlog: int | None = None) -> ServerProcess:
    plan = run.plan
    argv = None
    if record is None and c.tracing:  # measured with tracing on: its recording goes to a scratch folder
        if run.scratch is None:
            run.scratch = tempfile.mkdtemp(prefix="sockscope-bench-")
        record = os.path.join(run.scratch, f"{c.name.replace('/', '-').replace(' ', '-')}-{run.done}.jsonl")
    if c.program:  # as grade runs one: on 127.0.0.1, a free port whatever it binds; untraced unless recording
        cfg = Settings(model=c.name, program=("--host", "127.0.0.1", "--port", "0", *c.program))
        argv = programs.child_argv(programs.spec_of(cfg.program), record)  # no wrapper: its pid is the program's
    else:
        assert c.model is not None
        unix = None
        if run.sockets is not None:
            run.started += 1
            unix = socket_path(run.sockets, c.model, run.started)
        cfg = Settings(model=c.model, workers=plan.workers, work_ms=plan.work_ms, cpu_ms=plan.cpu_ms, timeout=None,
                       backlog=backlog or max(128, *plan.connections), host=plan.host, unix=unix)
    server = ServerProcess(cfg, record, argv=argv)
    with drivers.affinity(cpus):
        server.start()
    return server


def _not_started(run: _Run, c: Contender, exc: ServerError, what: str) -> None:
    """A program that crashed or never listened: one line, and the bench goes on without it."""
    why = str(exc).partition(": scenarios and live mode")[0]  # ServerProcess's hint is for live mode
    run.dead.add(c.name)
    run.never_started.add(c.name)
    run.result.notes.append(_("{name}: {why}; {what}").format(name=c.name, why=why, what=what))


def _address(run: _Run, c: Contender, cpus: set[int] | None) -> tuple[str, int] | None:
    """Where ``c`` listens (started on first use); None once its server has died (noted)."""
    if c.address is not None:
        return c.address
    if c.name in run.dead:
        return None
    server = run.servers.get(c.name)
    if server is None:
        try:
            server = run.servers[c.name] = _start(run, c, cpus)
        except ServerError as exc:
            if not c.program:
                raise
            _not_started(run, c, exc, _("it was not measured"))
            return None
    why = server.death()
    if why is not None:
        run.dead.add(c.name)
        run.result.notes.append(_("{name}: {why}; its remaining runs were skipped").format(
            name=c.name, why=why.splitlines()[0]))
        return None
    return _where(server.address)


def _throughput(run: _Run, server_cpus: set[int] | None, load_cpus: set[int] | None) -> None:
    plan = run.plan
    for c in plan.contenders:  # every server up before the first round: starts do not fall inside rounds
        _address(run, c, server_cpus)
    for r in range(plan.rounds):
        turn = plan.contenders[r % len(plan.contenders):] + plan.contenders[:r % len(plan.contenders)]
        for mode in plan.modes:
            for conns in plan.connections:
                for c in turn:
                    run.step(ngettext("round {r}/{rounds}: {name}, {n} {mode} connection",
                                      "round {r}/{rounds}: {name}, {n} {mode} connections", conns).format(
                        r=r + 1, rounds=plan.rounds, name=c.name, n=conns, mode=mode))
                    address = _address(run, c, server_cpus)
                    if address is not None:
                        run.result.samples.append(_load(run, c.name, address, mode, conns, r))
                if plan.wrk_runs and mode == "keep-alive" and conns == plan.headline:
                    _wrk_round(run, turn, r, server_cpus, load_cpus)  # right after: paired in time


def _wrk_round(run: _Run, turn: tuple[Contender, ...], r: int, server_cpus: set[int] | None,
               load_cpus: set[int] | None) -> None:
    """wrk against the cross-checked pair, as long as the built-in runs just before it (warm-up and window)."""
    plan = run.plan
    for c in (c for c in turn if c in plan.wrk_contenders):
        run.step(_("round {r}/{rounds}: {name}, {n} keep-alive connections, wrk").format(
            r=r + 1, rounds=plan.rounds, name=c.name, n=plan.headline))
        address = _address(run, c, server_cpus)
        if address is not None:
            run.result.samples.append(_wrk(run, c.name, address, r, load_cpus))


def _load(run: _Run, name: str, address: tuple[str, int], mode: str, conns: int, r: int) -> Sample:
    assert run.worker is not None
    server = run.servers.get(name)
    pid = server.piped.proc.pid if server is not None and server.piped is not None else None
    cpu0 = drivers.process_cpu_s(pid) if pid else None
    got = run.worker.job("run", run.plan.duration + 30 + conns / 100, host=address[0], port=address[1],
                         connections=conns, duration=run.plan.duration, mode=mode, warmup=warmup_s(conns),
                         grace=grace_s(conns))
    return Sample(name, mode, conns, r, "builtin", got["requests"], got["duration"], got["p50_us"], got["p99_us"],
                  got["starved"], got["min_answered"], got["errors"], got["refused"], got["timeouts"],
                  got["cpu_s"] / got["wall_s"] if got["wall_s"] else 0.0, _since(pid, cpu0), sum(got["answered"]),
                  got.get("closes", 0))


def _since(pid: int | None, before: float | None) -> float | None:
    after = drivers.process_cpu_s(pid) if pid and before is not None else None
    return None if after is None or before is None else after - before


def _wrk(run: _Run, name: str, address: tuple[str, int], r: int, cpus: set[int] | None) -> Sample:
    assert run.plan.wrk is not None
    seconds = run.plan.duration + warmup_s(run.plan.headline)  # wrk has no warm-up: it counts its ramp too
    got = drivers.run_wrk(run.plan.wrk, address[0], address[1], run.plan.headline, seconds, cpus)
    return Sample(name, "keep-alive", run.plan.headline, r, "wrk", got["requests"], got["seconds"], got["p50_us"],
                  got["p99_us"], errors=got["errors"], timeouts=got["timeouts"],
                  cpu_share=got["cpu_s"] / got["seconds"] if got["seconds"] else 0.0)


def _stop_servers(run: _Run) -> None:
    for server in run.servers.values():
        server.stop()
    run.servers.clear()


# ----------------------------------------------------------------- capacity
def capacity_problem(model: str | None, idle: int, busy: int, found: dict[str, object]) -> str | None:
    """Why this machine cannot hold ``idle`` + ``busy`` connections on ``model`` (None: it can)."""
    files = found.get("open_files")
    if isinstance(files, int) and idle + busy + 64 > files:
        return _("needs {n:,} open files; the limit here is {limit:,} (ulimit -n)").format(n=idle + busy + 64,
                                                                                           limit=files)
    threads = found.get("threads")
    if model == "thread" and isinstance(threads, int) and idle + busy + 8 > threads:
        return _("needs {n:,} threads; the limit here is {limit:,}").format(n=idle + busy + 8, limit=threads)
    return None


def _settled(pid: int, timeout: float = 8.0) -> tuple[int, int] | None:
    """The server's (RSS KiB, threads) once two readings 0.2 s apart agree on its threads (bounded)."""
    last = drivers.process_status(pid)
    deadline = time.monotonic() + timeout
    while last is not None and time.monotonic() < deadline:
        time.sleep(0.2)  # polling a condition (the thread count settling), not a fixed wait
        now = drivers.process_status(pid)
        if now is None or now[1] == last[1]:
            return now
        last = now
    return last


def _capacity(run: _Run, cpus: set[int] | None) -> None:
    plan, found = run.plan, drivers.limits()
    run.result.machine["limits"] = found
    for idle in plan.capacity:
        for c in plan.contenders:
            run.step(_("capacity: {name}, {idle:,} idle + {busy} busy connections").format(
                name=c.name, idle=idle, busy=plan.busy))
            why = capacity_problem(c.model, idle, plan.busy, found)
            if c.name in run.never_started:
                why = _("did not start")
            if why is not None:
                run.result.capacity.append(Capacity(c.name, idle, 0, plan.busy, 0, 0.0, None, None, None, why))
                continue
            run.result.capacity.append(_hold(run, c, idle, cpus))


def _hold(run: _Run, c: Contender, idle: int, cpus: set[int] | None) -> Capacity:
    assert run.worker is not None
    plan = run.plan
    try:
        server = _start(run, c, cpus, backlog=idle + plan.busy + 16) if c.started else None
    except ServerError as exc:
        if not c.program:
            raise
        _not_started(run, c, exc, _("its capacity was not measured"))
        return Capacity(c.name, idle, 0, plan.busy, 0, 0.0, None, None, None, _("did not start"))
    try:
        host, port = _where(server.address) if server is not None else c.address  # type: ignore[misc]
        pid = server.piped.proc.pid if server is not None and server.piped is not None else None
        base = drivers.process_status(pid) if pid else None
        held = run.worker.job("hold", 60, host=host, port=port, n=idle, timeout=2.0)
        after = _settled(pid) if pid else None
        busy = run.worker.job("run", plan.duration + 30, host=host, port=port, connections=plan.busy,
                              duration=max(plan.duration, 0.5), mode="keep-alive")
        run.worker.job("release", 30)
        note = "" if after is not None or not pid else _("memory and threads need /proc (Linux)")
        if held["held"] < idle:
            note = _("{n:,} could not connect (backlog full)").format(n=idle - held["held"])
        return Capacity(c.name, idle, held["held"], plan.busy, plan.busy - busy["starved"], busy["rps"],
                        after[0] if after else None, base[0] if base else None, after[1] if after else None, note)
    finally:
        if server is not None:
            server.stop()


def _where(address: object) -> tuple[str, int]:
    """A server's address as the load worker takes it: (host, port), or ("unix:PATH", 0) for a Unix socket."""
    if isinstance(address, str):
        return loadgen.UNIX_PREFIX + address, 0
    if not isinstance(address, tuple):
        raise TracerError(f"expected a server address, got {address!r}")
    return str(address[0]), int(address[1])


# ----------------------------------------------------------------- recordings
def _record(run: _Run) -> None:
    """One recorded run per model (traced, so not measured): the numbers' timeline, opened with replay."""
    plan = run.plan
    if not plan.record_dir:
        return
    assert run.worker is not None
    conns = min(plan.headline if plan.headline in plan.connections else plan.connections[-1], 200)
    for c in plan.recorded:
        if c.name in run.never_started:
            continue
        run.step(_("recording {name}").format(name=c.name))
        path = os.path.join(plan.record_dir, f"{untraced_name(c.name).replace('/', '-')}.jsonl")
        try:
            server = _start(run, c, None, record=path)
        except ServerError as exc:
            if not c.program:
                raise
            _not_started(run, c, exc, _("it was not recorded"))
            continue
        try:
            host, port = _where(server.address)
            pid = server.piped.proc.pid if server.piped is not None else None
            listening = drivers.open_sockets(pid) if pid and port == 0 else None
            run.worker.job("run", plan.duration + 30, host=host, port=port,
                           connections=conns, duration=plan.duration, mode="keep-alive")
            if port:
                drivers.wait_closed(port)  # every close in the recording before the trailer
            elif pid and listening is not None:  # a Unix socket: not in /proc/net/tcp; the server's own sockets
                drivers.wait_sockets(pid, listening)
        finally:
            status = server.stop()
        if status != 0 and not c.program:
            raise TracerError(f"the {c.name} server recording {path} did not stop cleanly")
        if status != 0:
            run.result.notes.append(_("{name}: its recorded run ended with status {status}; see {path}").format(
                name=c.name, status=status, path=path))
        run.result.recorded.append(path)


def run_load(host: str, port: int, connections: int, duration: float, mode: str = "keep-alive") -> dict[str, Any]:
    """One ``tracer.clients.loadgen`` run in a process of its own against host:port; its summary (``rps``, ...).

    For a single measurement (``bench/bench_live.py``); the bench itself keeps one worker for all of its runs.
    """
    worker = drivers.LoadWorker()
    try:
        return worker.job("run", duration + 60, host=host, port=port, connections=connections, duration=duration,
                          mode=mode)
    finally:
        worker.close()
