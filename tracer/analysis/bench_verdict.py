"""The bench's verdict in words, computed from its figures: every number in it is one the table shows.

The sentences answer the lesson's last question ("IO多路复用 ... 能提高多少性能?")
for this machine: how many times the requests multiplexing served at the headline
load (with the ratio's 95% interval, or "tied" when the interval holds 1), who
starved connections, what idle connections cost, and why, tied to what the
timeline shows.
"""

from __future__ import annotations

from tracer.analysis.bench_figures import (
    BenchResult,
    Figure,
    cross_check,
    figures,
    fmt_ratio,
    is_traced,
    ranking,
    ratio,
    untraced_name,
)
from tracer.locale import N_, _, ngettext

MULTIPLEXED = ("selectors", "asyncio")

WHY = N_("Why: on the timeline, selectors is one lane going from one ready socket to the next (select, recv, send), "
         "with no context switch, no GIL hand-off and no stack per connection, while thread-per-connection is a "
         "lane per connection, each asleep in recv until the kernel wakes it and the GIL passes to it, once per "
         "request. Idle connections cost it a thread each (a stack and a lane that waits), which multiplexing pays "
         "as one registered socket.")
CPU = N_("Each request computed {ms:g} ms: multiplexing does not help CPU-bound work, and threads do not either, "
         "since the GIL runs one computation at a time.")

PIN = N_("Pinned (--pin), the server's threads share one core, so a thread that gives up the GIL hands it to a "
         "thread on the same core instead of waking one on the other core; what is left of the gap is the "
         "switching itself.")
UNPINNED = N_("Unpinned, a threaded server's GIL bounces between the two cores (a thread woken on the other core "
              "waits for the GIL to come over); --pin shows how much of its loss that is.")


def headline_figures(result: BenchResult, mode: str = "keep-alive") -> list[Figure]:
    """The figures at the headline load (the plan's headline connections, else the nearest measured)."""
    figs = [f for f in figures(result.samples) if f.mode == mode]
    if not figs:
        return []
    want = int(result.settings.get("headline", 50))  # type: ignore[call-overload]
    conns = min({f.connections for f in figs}, key=lambda c: (abs(c - want), c))
    return [f for f in figs if f.connections == conns]


def cross_check_line(result: BenchResult) -> str | None:
    """selectors/thread by the built-in generator and by wrk, side by side from the same rounds (paired in time),
    and their agreement, built-in/wrk round by round, with its interval."""
    figs = headline_figures(result)
    if not figs or not any(s.generator == "wrk" for s in result.samples):
        return None
    c = cross_check(result.samples, figs[0].connections)
    if c is None:
        return None
    within = abs(c.agreement.value - 1) <= 0.3
    return _("{a}/{b} at {n} keep-alive connections, paired round by round: built-in {ours}, wrk {theirs}; "
             "built-in/wrk {share} ({verdict})").format(
        a=c.a, b=c.b, n=c.connections, ours=fmt_ratio(c.builtin), theirs=fmt_ratio(c.wrk),
        share=fmt_ratio(c.agreement), verdict=_("within 30%") if within else _("more than 30% apart"))


def _pair(figs: list[Figure]) -> tuple[Figure, Figure] | None:
    """(multiplexed, thread-per-connection) if both were measured, else the top two of the ranking.

    Untraced rows are compared with untraced ones (traced with traced when only those ran): what tracing
    costs is said apart (:func:`tracing_cost`).
    """
    untraced = [f for f in figs if not is_traced(f.contender)]
    for group in (untraced, [f for f in figs if is_traced(f.contender)]):
        by = {untraced_name(f.contender): f for f in group}
        best = next((by[m] for m in MULTIPLEXED if m in by and not by[m].starved), None)
        if best is not None and "thread" in by:
            return best, by["thread"]
    served = sorted((f for f in (untraced if len(untraced) >= 2 else figs) if not f.starved), key=lambda f: -f.rps)
    return (served[0], served[1]) if len(served) >= 2 else None


def compare(result: BenchResult, mode: str) -> str | None:
    """'with 50 keep-alive connections, selectors served 2.2× the requests of thread (95%: …) at …'."""
    figs = headline_figures(result, mode)
    pair = _pair(figs)
    if pair is None:
        return None
    a, b = pair
    r = ratio(result.samples, a.contender, b.contender, mode, a.connections)
    if r is None:
        return None
    load = (_("with {n} keep-alive connections") if mode == "keep-alive" else
            _("with {n} connections, one request each")).format(n=a.connections)
    if r.tied:
        return _("{load}, {a} and {b} were tied: {a_rps:,.0f} against {b_rps:,.0f} requests/s, a ratio of "
                 "{ratio}, within each other's noise{cpu}").format(
            load=load, a=a.contender, b=b.contender, a_rps=a.rps, b_rps=b.rps, ratio=fmt_ratio(r), cpu=_cpu(a, b))
    p99 = _("{a:.1f} ms p99 against {b:.1f} ms").format(a=a.p99_ms, b=b.p99_ms) if a.p99_ms and b.p99_ms else \
        _("p99 not measured")
    return _("{load}, {a} served {ratio} the requests of {b} ({a_rps:,.0f} against {b_rps:,.0f} requests/s; "
             "{p99}{cpu})").format(load=load, a=a.contender, b=b.contender, ratio=fmt_ratio(r), a_rps=a.rps,
                                   b_rps=b.rps, p99=p99, cpu=_cpu(a, b))


def _cpu(a: Figure, b: Figure) -> str:
    """'; 14 µs of server CPU per request against 41 µs': steadier than requests/s when the machine is busy."""
    if a.server_us_per_request is None or b.server_us_per_request is None:
        return ""
    return _("; {a:.0f} µs of server CPU per request against {b:.0f} µs").format(
        a=a.server_us_per_request, b=b.server_us_per_request)


def starving(result: BenchResult) -> str | None:
    """Who starved connections, at the headline keep-alive load."""
    figs = [f for f in headline_figures(result) if f.starved]
    if not figs:
        return None
    said = _("; ").join(ngettext("{model} starved {n} of {total} connection", "{model} starved {n} of {total} "
                                 "connections", f.connections).format(model=f.contender, n=f.starved,
                                                                      total=f.connections) for f in figs)
    return _("at {n} keep-alive connections, {said} (never answered: ranked after every model that served all its "
             "clients, whatever its requests/s, which are the lucky few's)").format(n=figs[0].connections, said=said)


def one_accept_per_wake(result: BenchResult) -> list[Figure]:
    """The keep-alive rows where the lesson's selectors server starved connections (at any load)."""
    return [f for f in figures(result.samples) if f.mode == "keep-alive" and f.starved
            and untraced_name(f.contender) == "selectors"]


def accept_note(result: BenchResult) -> str | None:
    """Why selectors starved: the lesson's code, said so that a student does not read it as multiplexing's limit.

    ``servers/multiplexed.py`` calls ``accept()`` once each time ``select()`` says the listening socket is
    ready, and serves every ready client of that wake too: the more clients it serves, the slower it takes new
    ones.  It is the lesson's code and stays as written (STYLE.md §1); the bench says why instead.
    """
    figs = one_accept_per_wake(result)
    if not figs:
        return None
    where = _(", ").join(_("{n} of {total} at {total} connections").format(n=f.starved, total=f.connections)
                         for f in figs)
    return _("the lesson's selectors server starved keep-alive connections ({where}), most likely because of "
             "how it is written, not because of IO multiplexing: it accepts one connection each time select() "
             "wakes it, and each wake first serves every client it has that is ready, so while it serves the first "
             "ones the rest wait in the kernel's queue, past the end of a short run; a loop that called accept() "
             "until it had nothing left would take them all in one wake").format(where=where)


def capacity(result: BenchResult) -> str | None:
    """What the most idle connections held cost each model, and whether the busy ones were served."""
    rows = [c for c in result.capacity if c.rss_kb is not None and c.held]
    if not rows:
        return None
    most = max(c.idle for c in rows)
    parts = []
    for c in (c for c in rows if c.idle == most):
        served = _("its busy clients served") if c.busy_served == c.busy else ngettext(
            "{n} of {busy} busy client never answered", "{n} of {busy} busy clients never answered", c.busy
        ).format(n=c.busy - c.busy_served, busy=c.busy)
        grew = (c.rss_kb - c.base_rss_kb) / 1024 if c.base_rss_kb is not None else None  # type: ignore[operator]
        threads = ngettext("{n:,} thread", "{n:,} threads", c.threads or 0).format(n=c.threads or 0)
        cost = f"+{grew:,.1f} MB" if grew is not None else f"{c.rss_kb / 1024:,.0f} MB"  # type: ignore[operator]
        parts.append(_("{model} {cost} and {threads}, {served}").format(model=c.contender, cost=cost,
                                                                       threads=threads, served=served))
    return _("holding {n:,} idle connections: {parts}").format(n=most, parts=_("; ").join(parts))


def tracing_cost(result: BenchResult) -> str | None:
    """What recording every call cost each model measured both ways (--tracing both), at the headline load."""
    figs = headline_figures(result)
    by = {f.contender: f for f in figs}
    parts = []
    for traced in (f for f in figs if is_traced(f.contender) and untraced_name(f.contender) in by):
        plain = by[untraced_name(traced.contender)]
        r = ratio(result.samples, traced.contender, plain.contender, traced.mode, traced.connections)
        if r is None:
            continue
        said = (_("{model} traced served {ratio} of its untraced requests/s (within each other's noise)") if r.tied
                else _("{model} traced served {ratio} of its untraced requests/s")).format(
            model=plain.contender, ratio=fmt_ratio(r))
        if traced.server_us_per_request is not None and plain.server_us_per_request is not None:
            said += _(", {a:.0f} µs of server CPU per request against {b:.0f} µs").format(
                a=traced.server_us_per_request, b=plain.server_us_per_request)
        parts.append(said)
    if not parts:
        return None
    return _("what tracing costs, at {n} keep-alive connections: {parts} (the recorder writes an event for every "
             "socket call, in the server's own process)").format(n=figs[0].connections, parts=_("; ").join(parts))


def leader(result: BenchResult) -> str | None:
    """The ranking at the headline load, ties said as ties."""
    figs = headline_figures(result)
    if len(figs) < 2:
        return None
    places = ranking(figs, result.samples)
    words = []
    for place, f, tied in places:
        words.append((_("{tie}{place}. {model} (starved some)") if f.starved else _("{tie}{place}. {model}")).format(
            tie="=" if tied else "", place=place, model=f.contender))
    return _("ranked by what all clients got: {places}").format(places=_(", ").join(words))


def _sentence(part: str) -> str:
    """A part as a sentence: its first letter up, its full stop (Chinese: 。)."""
    return _("{sentence}.").format(sentence=f"{part[0].upper()}{part[1:]}")


def verdict(result: BenchResult) -> list[str]:
    """The verdict's sentences, in order, from the figures."""
    lines = []
    first = compare(result, "keep-alive")
    if first:
        lines.append(_("On this machine, {sentence}.").format(sentence=first))
    second = compare(result, "close")
    if second:
        lines.append(_sentence(second))
    for part in (starving(result), accept_note(result), leader(result), tracing_cost(result), capacity(result)):
        if part:
            lines.append(_sentence(part))
    cpu_ms = float(result.settings.get("cpu_ms", 0) or 0)  # type: ignore[arg-type]
    if cpu_ms:
        lines.append(_(CPU).format(ms=cpu_ms))
    lines.append(_(PIN) if result.settings.get("pin") else _(UNPINNED))
    lines.append(_(WHY))
    return lines
