"""The requirement types a homework may use: each a small function over the recording, in one table.

| type | passes when | keys |
|---|---|---|
| ``answered`` | every connection that sent a request got every reply | ``runs`` (default: all but hostile) |
| ``closed`` | ``check`` finds nothing: every connection closed by the server, no lifecycle faults | — |
| ``max-threads`` | at most ``threads`` server threads alive at once | ``threads``, ``runs`` (default: all) |
| ``reuse`` | at most ``threads`` threads created for the connections | ``threads``, ``run`` (default: all) |
| ``latency`` | the ``percentile`` of connect → last reply byte is under ``under`` | ``run``, ``under``, ``percentile``|
| ``slow-client`` | in a slowloris run, the quick clients are all answered within ``within`` | ``run``, ``within`` |
| ``idle-threads`` | idle connections cost at most ``per_connection`` threads each | ``run``, ``per_connection`` |
| ``hostile`` | each malformed request is answered 4xx/5xx or closed; ordinary ones still answered | ``run`` |

Each function takes the :class:`~tracer.grade.evidence.Evidence` and the
requirement's typed keys and returns a :class:`Verdict`: pass or fail, the
measured value beside the bound, and for a failure the connection or moment
that shows it, for ``sockscope replay FILE --at T --conn N``.  Times are ns.
A run that did not happen (the server died before it) fails every
requirement that reads it, saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tracer.analysis.stats import percentile
from tracer.clients.http import HOSTILE
from tracer.grade.evidence import ClientConn, Evidence, story, waits
from tracer.units import fmt_time


class _Missing:
    def __repr__(self) -> str:
        return "required"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Param:
    """One key of a requirement: its kind (``int``, ``number``, ``time``, ``run``, ``runs``) and default."""

    kind: str
    help: str
    default: Any = MISSING
    scenario: str | None = None  # for a run key: the scenario the run must be of


@dataclass(frozen=True)
class Verdict:
    """What one requirement found.

    Attributes:
        passed: it holds.
        measured: the value, in words (``38 of 40 answered``).
        bound: what was asked (``all``, ``at most 12``).
        evidence: for a failure, the connection or moment that shows it.
        at, conn: where to open the recording to see it (ns; connection id).
    """

    passed: bool
    measured: str
    bound: str
    evidence: str | None = None
    at: int | None = None
    conn: int | None = None
    lessons: tuple[int, ...] | None = None  # the LESSONS.md rows for this failure (default: the type's)


@dataclass(frozen=True)
class Type:
    """A requirement type: its keys, its check, its default title, and what a teacher says when it fails.

    Attributes:
        lessons: the LESSONS.md rows (``sockscope lesson N``) that show what goes wrong.
    """

    name: str
    params: Mapping[str, Param]
    check: Callable[[Evidence, Mapping[str, Any]], Verdict]
    title: Callable[[Mapping[str, Any]], str]
    why: str
    lessons: tuple[int, ...]
    passes: str = ""

    def describe(self, params: Mapping[str, Any]) -> str:
        return self.title(params)


def _not_run(ev: Evidence, names: tuple[str, ...], bound: str) -> Verdict | None:
    for name in names:
        run = ev.runs[name]
        if run.status == "not run":
            return Verdict(False, "not measured", bound, f"run {name} ({run.scenario}) did not run: {run.why}")
    return None


def _default_runs(ev: Evidence, given: tuple[str, ...] | None, skip: str | None = None) -> tuple[str, ...]:
    if given:
        return given
    return tuple(name for name, run in ev.runs.items() if run.scenario != skip)


def _ms(ns: int | None) -> str:
    return fmt_time(ns, significant=True) if ns is not None else "never"


# ---------------------------------------------------------------- the checks
def answered(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    names = _default_runs(ev, p["runs"], skip="hostile")
    bound = "all"
    if (missing := _not_run(ev, names, bound)) is not None:
        return missing
    conns = [cc for name in names for cc in ev.clients(name) if cc.sent]
    bad = [cc for cc in conns if not cc.answered]
    measured = f"{len(conns) - len(bad)} of {len(conns)} answered"
    if not bad:
        return Verdict(bool(conns), measured, bound, None if conns else "no connection sent a request")
    first = min(bad, key=lambda cc: cc.connect_t or 0)
    told = story(ev, first)
    more = f" ({len(bad) - 1} more like it)" if len(bad) > 1 else ""
    return Verdict(False, measured, bound, told.text + more, told.at, first.conn, told.lessons)


def closed(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    findings = ev.findings
    never = [f for f in findings if f.code == "never-closed"]
    if not findings:
        n = sum(1 for c in ev.rec.connections.values() if c.id > 0)
        return Verdict(True, f"{n} connections closed, no check findings", "no findings")
    measured = (f"{len(never)} connections never closed by the server" if len(never) == len(findings)
                else f"{len(findings)} check findings ({len(never)} connections never closed)")
    first = findings[0]
    c = ev.connection(first.conn) if first.conn else None
    at = None
    if c is not None:
        at = max((t for t in (c.accepted_t, c.start_t, c.client_close_t) if t is not None), default=None)
    return Verdict(False, measured, "no findings", first.message, at, first.conn or None)


def max_threads(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    names = _default_runs(ev, p["runs"])
    bound = f"at most {p['threads']}"
    if (missing := _not_run(ev, names, bound)) is not None:
        return missing
    best, when = 0, 0
    for name in names:
        run = ev.runs[name]
        n, t = ev.peak_alive(run.t0, run.t1)
        if n > best:
            best, when = n, t
    if best <= p["threads"]:
        return Verdict(True, f"{best} alive at most", bound)
    return Verdict(False, f"{best} alive at most", bound,
                   f"{best} server threads were alive at once at {_ms(when)}", when)


def reuse(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    bound = f"at most {p['threads']} created"
    if p["run"] is not None:
        if (missing := _not_run(ev, (p["run"],), bound)) is not None:
            return missing
        run = ev.runs[p["run"]]
        started = ev.threads_started(run.t0, run.t1)
        n = sum(1 for cc in ev.clients(run.name) if cc.conn > 0)
    else:
        started = ev.threads_started()
        n = sum(1 for c in ev.rec.connections.values() if c.id > 0)
    measured = f"{len(started)} threads created for {n} connections"
    if len(started) <= p["threads"]:
        return Verdict(True, measured, bound)
    t, name = started[p["threads"]]
    return Verdict(False, measured, bound, f"thread {name} was thread number {p['threads'] + 1} created, at "
                   f"{_ms(t)}: a new thread per connection instead of reusing one", t)


def latency(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    q, limit = p["percentile"], p["under"]
    bound = f"p{q:g} under {_ms(limit)}"
    if (missing := _not_run(ev, (p["run"],), bound)) is not None:
        return missing
    conns = [cc for cc in ev.clients(p["run"]) if cc.sent or cc.reason not in ("client", None)]
    if not conns:
        return Verdict(False, "no connections", bound, f"run {p['run']} made no connection")
    inf = 1 << 62
    values = sorted(cc.latency if cc.latency is not None else inf for cc in conns)
    value = percentile(values, q)
    assert value is not None
    unanswered = sum(1 for cc in conns if cc.latency is None)
    shown = _ms(value) if value < inf else f"never ({unanswered} of {len(conns)} not answered)"
    measured = f"p{q:g} {shown} over {len(conns)} connections"
    if value <= limit:
        return Verdict(True, measured, bound)
    worst = max(conns, key=lambda cc: cc.latency if cc.latency is not None else inf)
    return Verdict(False, measured, bound, _slow_story(ev, worst), worst.connect_t, worst.conn)


def _slow_story(ev: Evidence, cc: ClientConn) -> str:
    if cc.latency is None:
        return story(ev, cc).text
    where = waits(ev, cc)
    return f"connection {cc.conn} took {_ms(cc.latency)} to be answered" + (f": {where}" if where else "")


def slow_client(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    run, limit = ev.runs[p["run"]], p["within"]
    bound = f"every quick client within {_ms(limit)}"
    if (missing := _not_run(ev, (run.name,), bound)) is not None:
        return missing
    slow = int(run.params["slow"])
    quick = [cc for cc in ev.clients(run.name) if cc.index > slow]
    if not quick:
        return Verdict(False, "no quick clients", bound, f"run {run.name} has fast = 0: nothing to measure")
    inf = 1 << 62
    worst = max(quick, key=lambda cc: cc.latency if cc.latency is not None else inf)
    late = [cc for cc in quick if cc.latency is None or cc.latency > limit]
    measured = (f"slowest quick client {_ms(worst.latency)}" if worst.latency is not None
                else f"{sum(1 for cc in quick if cc.latency is None)} of {len(quick)} quick clients not answered")
    if not late:
        return Verdict(True, measured, bound)
    return Verdict(False, measured, bound, _slow_story(ev, worst) + f", while {slow} slow clients were sending "
                   "their requests a few bytes at a time", worst.connect_t, worst.conn)


def idle_threads(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    run = ev.runs[p["run"]]
    bound = f"at most {p['per_connection']:g} per idle connection"
    if (missing := _not_run(ev, (run.name,), bound)) is not None:
        return missing
    idle = sum(1 for cc in ev.clients(run.name) if cc.index <= int(run.params["idle"]) and cc.conn > 0)
    if not idle:
        return Verdict(False, "no idle connection was accepted", bound, f"run {run.name}: none of its idle "
                       "connections was accepted", run.t0)
    peak, when = ev.peak_alive(run.t0, run.t1)
    ratio = peak / idle
    measured = f"{peak} threads alive with {idle} idle connections open ({ratio:.2f} each)"
    if ratio <= p["per_connection"]:
        return Verdict(True, measured, bound)
    return Verdict(False, measured, bound, f"{peak} server threads were alive at {_ms(when)} while {idle} "
                   "connections sent nothing: a thread waits in recv for each", when)


def hostile(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    run = ev.runs[p["run"]]
    bound = "each refused or closed, and still serving"
    if (missing := _not_run(ev, (run.name,), bound)) is not None:
        return missing
    n = int(run.params["clients"])
    conns = ev.clients(run.name)
    bad = [cc for cc in conns if cc.index <= n]
    probes = [cc for cc in conns if cc.index > n]
    refused = [cc for cc in bad if _refused(cc.reason)]
    served = [cc for cc in probes if cc.answered]
    measured = (f"{len(refused)} of {len(bad)} bad requests refused or closed; {len(served)} of {len(probes)} "
                "ordinary requests answered after")
    if run.status != "done":
        return Verdict(False, measured, bound, f"the server did not survive: {run.why}", run.t1)
    wrong = [cc for cc in bad if not _refused(cc.reason)]
    if wrong:
        cc = wrong[0]
        label = HOSTILE[(cc.index - 1) % len(HOSTILE)][0]
        return Verdict(False, measured, bound, f"connection {cc.conn} sent {label}: the server {cc.reason}",
                       cc.connect_t, cc.conn)
    if len(served) < len(probes) or len(bad) < n:
        probe = next((cc for cc in probes if not cc.answered), None)
        if probe is None:
            return Verdict(False, measured, bound, f"only {len(bad)} of {n} bad requests were sent", run.t0)
        return Verdict(False, measured, bound, "after the bad requests: " + story(ev, probe).text, probe.connect_t,
                       probe.conn)
    return Verdict(True, measured, bound)


def _refused(reason: str | None) -> bool:
    return reason is not None and (reason.startswith("rejected ") or reason in ("closed by server", "reset"))


def _runs(scenario: str | None = None, default: Any = MISSING) -> Param:
    return Param("run", f"the name of a [[run]]{f' of scenario {scenario}' if scenario else ''}", default, scenario)


_RUNS = Param("runs", "the [[run]] names it reads (default: all)", None)

TYPES: dict[str, Type] = {t.name: t for t in (
    Type("answered", {"runs": _RUNS}, answered, lambda p: "every connection answered",
         "a connection was never answered (one recv per connection, a full pool, a blocked loop)", (12, 4),
         passes="every connection that sent a request got every reply"),
    Type("closed", {}, closed, lambda p: "every connection closed by the server",
         "connections are left open: the server never calls close()", (12,),
         passes="check finds nothing: the server closed every connection"),
    Type("max-threads", {"threads": Param("int", "the most server threads alive at once"), "runs": _RUNS},
         max_threads, lambda p: f"at most {p['threads']} threads alive",
         "the server's threads grow with its connections", (2, 10),
         passes="at most `threads` server threads are alive at once"),
    Type("reuse", {"threads": Param("int", "the most threads created"), "run": _runs(default=None)}, reuse,
         lambda p: f"at most {p['threads']} threads created" + (f" in {p['run']}" if p["run"] else ""),
         "a thread is created (and destroyed) per connection instead of reused", (3,),
         passes="at most `threads` threads are created for all the connections (or a run's)"),
    Type("latency", {"run": _runs(), "under": Param("time", "the bound, e.g. '500ms'"),
                     "percentile": Param("number", "which percentile (default 99)", 99.0)}, latency,
         lambda p: f"p{p['percentile']:g} latency under {_ms(p['under'])} in {p['run']}",
         "under a burst, connections wait too long (in the backlog, the pool's queue, a blocked loop)", (4, 11, 15),
         passes="the `percentile` of connect -> last reply byte is under `under`"),
    Type("slow-client", {"run": _runs("slowloris"), "within": Param("time", "the bound, e.g. '1s'")}, slow_client,
         lambda p: "a slow client does not stop the others",
         "slow clients pin the server's threads, and the quick ones wait behind them", (6,),
         passes="in a slowloris run, every quick client is answered within `within`"),
    Type("idle-threads", {"run": _runs("idle"),
                          "per_connection": Param("number", "threads per idle connection, at most (default 0.1)",
                                                  0.1)}, idle_threads,
         lambda p: "idle connections do not cost a thread each",
         "every idle connection holds a thread blocked in recv", (8,),
         passes="the threads alive while idle connections are open are at most `per_connection` each"),
    Type("hostile", {"run": _runs("hostile")}, hostile,
         lambda p: "survives hostile requests",
         "a malformed request is answered as if it were valid, or ties the connection up", (12,),
         passes="each malformed request is answered 4xx/5xx or closed, and ordinary ones after it answered"),
)}
