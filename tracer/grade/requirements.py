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
from tracer.locale import N_, _, ngettext
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
            return Verdict(False, _("not measured"), bound, _("run {name} ({scenario}) did not run: {why}").format(
                name=name, scenario=run.scenario, why=run.why))
    return None


def _default_runs(ev: Evidence, given: tuple[str, ...] | None, skip: str | None = None) -> tuple[str, ...]:
    if given:
        return given
    return tuple(name for name, run in ev.runs.items() if run.scenario != skip)


def _ms(ns: int | None) -> str:
    return fmt_time(ns, significant=True) if ns is not None else _("never")


# ---------------------------------------------------------------- the checks
def answered(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    names = _default_runs(ev, p["runs"], skip="hostile")
    bound = _("all")
    if (missing := _not_run(ev, names, bound)) is not None:
        return missing
    conns = [cc for name in names for cc in ev.clients(name) if cc.sent]
    bad = [cc for cc in conns if not cc.answered]
    measured = _("{n} of {total} answered").format(n=len(conns) - len(bad), total=len(conns))
    if not bad:
        return Verdict(bool(conns), measured, bound, None if conns else _("no connection sent a request"))
    first = min(bad, key=lambda cc: cc.connect_t or 0)
    told = story(ev, first)
    more = _(" ({n} more like it)").format(n=len(bad) - 1) if len(bad) > 1 else ""
    return Verdict(False, measured, bound, told.text + more, told.at, first.conn, told.lessons)


def closed(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    findings = ev.findings
    never = [f for f in findings if f.code == "never-closed"]
    if not findings:
        n = sum(1 for c in ev.rec.connections.values() if c.id > 0)
        return Verdict(True, ngettext("{n} connection closed, no check findings",
                                      "{n} connections closed, no check findings", n).format(n=n), _("no findings"))
    measured = (ngettext("{n} connection never closed by the server", "{n} connections never closed by the server",
                         len(never)).format(n=len(never)) if len(never) == len(findings)
                else ngettext("{n} check findings ({never} connection never closed)",
                              "{n} check findings ({never} connections never closed)", len(never)).format(
                    n=len(findings), never=len(never)))
    first = findings[0]
    c = ev.connection(first.conn) if first.conn else None
    at = None
    if c is not None:
        at = max((t for t in (c.accepted_t, c.start_t, c.client_close_t) if t is not None), default=None)
    return Verdict(False, measured, _("no findings"), first.message, at, first.conn or None)


def max_threads(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    names = _default_runs(ev, p["runs"])
    bound = _("at most {n}").format(n=p["threads"])
    if (missing := _not_run(ev, names, bound)) is not None:
        return missing
    best, when = 0, 0
    for name in names:
        run = ev.runs[name]
        n, t = ev.peak_alive(run.t0, run.t1)
        if n > best:
            best, when = n, t
    measured = _("{n} alive at most").format(n=best)
    if best <= p["threads"]:
        return Verdict(True, measured, bound)
    return Verdict(False, measured, bound,
                   _("{n} server threads were alive at once at {time}").format(n=best, time=_ms(when)), when)


def reuse(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    bound = _("at most {n} created").format(n=p["threads"])
    if p["run"] is not None:
        if (missing := _not_run(ev, (p["run"],), bound)) is not None:
            return missing
        run = ev.runs[p["run"]]
        started = ev.threads_started(run.t0, run.t1)
        n = sum(1 for cc in ev.clients(run.name) if cc.conn > 0)
    else:
        started = ev.threads_started()
        n = sum(1 for c in ev.rec.connections.values() if c.id > 0)
    measured = _("{threads} threads created for {n} connections").format(threads=len(started), n=n)
    if len(started) <= p["threads"]:
        return Verdict(True, measured, bound)
    t, name = started[p["threads"]]
    return Verdict(False, measured, bound, _("thread {name} was thread number {number} created, at {time}: a new "
                                             "thread per connection instead of reusing one").format(
                                                 name=name, number=p["threads"] + 1, time=_ms(t)), t)


def latency(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    q, limit = p["percentile"], p["under"]
    bound = _("p{q:g} under {limit}").format(q=q, limit=_ms(limit))
    if (missing := _not_run(ev, (p["run"],), bound)) is not None:
        return missing
    conns = [cc for cc in ev.clients(p["run"]) if cc.sent or cc.reason not in ("client", None)]
    if not conns:
        return Verdict(False, _("no connections"), bound, _("run {run} made no connection").format(run=p["run"]))
    inf = 1 << 62
    values = sorted(cc.latency if cc.latency is not None else inf for cc in conns)
    value = percentile(values, q)
    assert value is not None
    unanswered = sum(1 for cc in conns if cc.latency is None)
    shown = _ms(value) if value < inf else _("never ({n} of {total} not answered)").format(n=unanswered,
                                                                                           total=len(conns))
    measured = _("p{q:g} {value} over {n} connections").format(q=q, value=shown, n=len(conns))
    if value <= limit:
        return Verdict(True, measured, bound)
    worst = max(conns, key=lambda cc: cc.latency if cc.latency is not None else inf)
    return Verdict(False, measured, bound, _slow_story(ev, worst), worst.connect_t, worst.conn)


def _slow_story(ev: Evidence, cc: ClientConn) -> str:
    if cc.latency is None:
        return story(ev, cc).text
    where = waits(ev, cc)
    took = _("connection {conn} took {time} to be answered").format(conn=cc.conn, time=_ms(cc.latency))
    return took + (_(": {waits}").format(waits=where) if where else "")


def slow_client(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    run, limit = ev.runs[p["run"]], p["within"]
    bound = _("every quick client within {limit}").format(limit=_ms(limit))
    if (missing := _not_run(ev, (run.name,), bound)) is not None:
        return missing
    slow = int(run.params["slow"])
    quick = [cc for cc in ev.clients(run.name) if cc.index > slow]
    if not quick:
        return Verdict(False, _("no quick clients"), bound, _("run {run} has fast = 0: nothing to measure").format(
            run=run.name))
    inf = 1 << 62
    worst = max(quick, key=lambda cc: cc.latency if cc.latency is not None else inf)
    late = [cc for cc in quick if cc.latency is None or cc.latency > limit]
    measured = (_("slowest quick client {time}").format(time=_ms(worst.latency)) if worst.latency is not None
                else _("{n} of {total} quick clients not answered").format(
                    n=sum(1 for cc in quick if cc.latency is None), total=len(quick)))
    if not late:
        return Verdict(True, measured, bound)
    return Verdict(False, measured, bound, _slow_story(ev, worst) + _(
        ", while {n} slow clients were sending their requests a few bytes at a time").format(n=slow),
        worst.connect_t, worst.conn)


def idle_threads(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    run = ev.runs[p["run"]]
    bound = _("at most {n:g} per idle connection").format(n=p["per_connection"])
    if (missing := _not_run(ev, (run.name,), bound)) is not None:
        return missing
    idle = sum(1 for cc in ev.clients(run.name) if cc.index <= int(run.params["idle"]) and cc.conn > 0)
    if not idle:
        return Verdict(False, _("no idle connection was accepted"), bound,
                       _("run {run}: none of its idle connections was accepted").format(run=run.name), run.t0)
    peak, when = ev.peak_alive(run.t0, run.t1)
    ratio = peak / idle
    measured = _("{threads} threads alive with {n} idle connections open ({ratio:.2f} each)").format(
        threads=peak, n=idle, ratio=ratio)
    if ratio <= p["per_connection"]:
        return Verdict(True, measured, bound)
    return Verdict(False, measured, bound, _("{threads} server threads were alive at {time} while {n} "
                                             "connections sent nothing: a thread waits in recv for each").format(
                                                 threads=peak, time=_ms(when), n=idle), when)


def hostile(ev: Evidence, p: Mapping[str, Any]) -> Verdict:
    run = ev.runs[p["run"]]
    bound = _("each refused or closed, and still serving")
    if (missing := _not_run(ev, (run.name,), bound)) is not None:
        return missing
    n = int(run.params["clients"])
    conns = ev.clients(run.name)
    bad = [cc for cc in conns if cc.index <= n]
    probes = [cc for cc in conns if cc.index > n]
    refused = [cc for cc in bad if _refused(cc.reason)]
    served = [cc for cc in probes if cc.answered]
    measured = _("{refused} of {bad} bad requests refused or closed; {served} of {probes} ordinary requests "
                 "answered after").format(refused=len(refused), bad=len(bad), served=len(served), probes=len(probes))
    if run.status != "done":
        return Verdict(False, measured, bound, _("the server did not survive: {why}").format(why=run.why), run.t1)
    wrong = [cc for cc in bad if not _refused(cc.reason)]
    if wrong:
        cc = wrong[0]
        label = HOSTILE[(cc.index - 1) % len(HOSTILE)][0]
        return Verdict(False, measured, bound, _("connection {conn} sent {what}: the server {reason}").format(
            conn=cc.conn, what=_(label), reason=_reason_words(cc.reason)), cc.connect_t, cc.conn)
    if len(served) < len(probes) or len(bad) < n:
        probe = next((cc for cc in probes if not cc.answered), None)
        if probe is None:
            return Verdict(False, measured, bound, _("only {sent} of {n} bad requests were sent").format(
                sent=len(bad), n=n), run.t0)
        return Verdict(False, measured, bound, _("after the bad requests: {story}").format(story=story(ev, probe).text),
                       probe.connect_t, probe.conn)
    return Verdict(True, measured, bound)


def _reason_words(reason: str | None) -> str:
    """A hostile client's verdict (data: ``answered 200 and kept open``) in the language in force."""
    text = str(reason)  # (None as the report always said it)
    head, kept, rest = text.partition(" and kept open")
    status = head.removeprefix("answered ")
    if head.startswith("answered ") and status.isdigit() and not rest:
        return (_("answered {status} and kept open") if kept else _("answered {status}")).format(status=status)
    return _("no answer and kept open") if text == "no answer and kept open" else text


def _refused(reason: str | None) -> bool:
    return reason is not None and (reason.startswith("rejected ") or reason in ("closed by server", "reset"))


def _runs(scenario: str | None = None, default: Any = MISSING) -> Param:
    return Param("run", N_("the name of a [[run]] of scenario {scenario}") if scenario else N_("the name of a [[run]]"),
                 default, scenario)


_RUNS = Param("runs", N_("the [[run]] names it reads (default: all)"), None)

TYPES: dict[str, Type] = {t.name: t for t in (
    Type("answered", {"runs": _RUNS}, answered, lambda p: _("every connection answered"),
         N_("a connection was never answered (one recv per connection, a full pool, a blocked loop)"), (12, 4),
         passes=N_("every connection that sent a request got every reply")),
    Type("closed", {}, closed, lambda p: _("every connection closed by the server"),
         N_("connections are left open: the server never calls close()"), (12,),
         passes=N_("check finds nothing: the server closed every connection")),
    Type("max-threads", {"threads": Param("int", N_("the most server threads alive at once")), "runs": _RUNS},
         max_threads, lambda p: _("at most {n} threads alive").format(n=p["threads"]),
         N_("the server's threads grow with its connections"), (2, 10),
         passes=N_("at most `threads` server threads are alive at once")),
    Type("reuse", {"threads": Param("int", N_("the most threads created")), "run": _runs(default=None)}, reuse,
         lambda p: (_("at most {n} threads created in {run}") if p["run"] else _("at most {n} threads created"))
         .format(n=p["threads"], run=p["run"]),
         N_("a thread is created (and destroyed) per connection instead of reused"), (3,),
         passes=N_("at most `threads` threads are created for all the connections (or a run's)")),
    Type("latency", {"run": _runs(), "under": Param("time", N_("the bound, e.g. '500ms'")),
                     "percentile": Param("number", N_("which percentile (default 99)"), 99.0)}, latency,
         lambda p: _("p{q:g} latency under {limit} in {run}").format(q=p["percentile"], limit=_ms(p["under"]),
                                                                     run=p["run"]),
         N_("under a burst, connections wait too long (in the backlog, the pool's queue, a blocked loop)"), (4, 11, 15),
         passes=N_("the `percentile` of connect -> last reply byte is under `under`")),
    Type("slow-client", {"run": _runs("slowloris"), "within": Param("time", N_("the bound, e.g. '1s'"))}, slow_client,
         lambda p: _("a slow client does not stop the others"),
         N_("slow clients pin the server's threads, and the quick ones wait behind them"), (6,),
         passes=N_("in a slowloris run, every quick client is answered within `within`")),
    Type("idle-threads", {"run": _runs("idle"),
                          "per_connection": Param("number", N_("threads per idle connection, at most (default 0.1)"),
                                                  0.1)}, idle_threads,
         lambda p: _("idle connections do not cost a thread each"),
         N_("every idle connection holds a thread blocked in recv"), (8,),
         passes=N_("the threads alive while idle connections are open are at most `per_connection` each")),
    Type("hostile", {"run": _runs("hostile")}, hostile,
         lambda p: _("survives hostile requests"),
         N_("a malformed request is answered as if it were valid, or ties the connection up"), (12,),
         passes=N_("each malformed request is answered 4xx/5xx or closed, and ordinary ones after it answered")),
)}
