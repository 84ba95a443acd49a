"""Markdown: a report of a recording's statistics, for a homework or a lab note.

Model and settings; counts of connections, threads and requests; where each
connection's time went (backlog, pool queue, service) with p50/p90/p99 and
the worst five; throughput over time; what ``sockscope check`` finds.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from typing import TextIO

import servers
from tracer.analysis.check import CODES, Finding, check
from tracer.analysis.stats import WAIT_NAMES, Stats, close_words, compute, counter_name
from tracer.export import Progress, Selection, in_range
from tracer.locale import _, language, listed
from tracer.record.formatter import event_line
from tracer.recording.model import Lane, Recording
from tracer.recording.reader import Builder
from tracer.run.shipped import setting_words
from tracer.units import fmt_time, sparkline


def _ns(ns: float | None) -> str:
    """A statistic's time, in significant digits (``12.3 µs``)."""
    return fmt_time(ns, significant=True)

MAX_FINDINGS = 20
MAX_CONNECTIONS = 50


def write(rec: Recording, out: TextIO, sel: Selection, progress: Progress | None = None) -> int:
    """Write the report of ``sel`` (the statistics of what it holds); return the events counted.

    ``sockscope check``'s findings are the whole recording's: cut at a window's
    edges, every connection would look broken.
    """
    part = rec if sel.whole else window(rec, sel)
    stats = compute(part)
    if progress is not None:
        progress(1, 2)
    findings = check(rec, n_lines=_lines_of(rec))
    out.write(report(stats, findings, part, None if sel.whole else _window_line(rec, sel)))
    if progress is not None:
        progress(2, 2)
    return stats.events


def window(rec: Recording, sel: Selection) -> Recording:
    """A recording of what ``sel`` holds: the chosen lanes' events that overlap its time range, times kept.

    Made by feeding the reader the lines such a recording would have, so that
    connections, waits and counters are worked out exactly as for a file.
    """
    lo, hi = sel.bounds(rec)
    builder = Builder(rec.path)
    builder.feed(json.dumps(rec.header))
    n = 0
    lanes = sel.lane_list(rec)
    for lane in lanes:
        builder.feed(json.dumps({"lane": lane.id, "name": lane.name, "native_id": lane.native_id,
                                 "side": lane.side}))
    # the events in the file's order, not lane after lane: a connection one thread reads and another answers
    # counts its replies as in the file (a run of sends after a read)
    def picked(lane: Lane) -> Iterator[tuple[int, Lane, int]]:
        lines = lane.lines
        for i in in_range(lane, lo, hi):
            yield lines[i], lane, i

    for _line, lane, i in heapq.merge(*map(picked, lanes), key=lambda x: x[0]):
        e = lane.event(i)
        fields = (e.t, e.dur, e.kind, e.lane, e.conn, e.nbytes) + ((e.detail,) if e.detail is not None else ())
        builder.feed(event_line(fields))  # the recorder's own line: the reader's fast path takes it
        n += 1
    for name, counter in rec.counters.items():
        builder.feed(json.dumps({"c": name, "t": lo, "v": counter.at(lo)}))
        for t, v in zip(counter.t, counter.v, strict=True):
            if lo < t <= hi:
                builder.feed(json.dumps({"c": name, "t": t, "v": v}))
    for t, text in rec.marks:
        if lo <= t <= hi:
            builder.feed(json.dumps({"mark": text, "t": t}))
    if rec.trailer is not None:
        builder.feed(json.dumps({**rec.trailer, "events": n, "t": min(hi, int(rec.trailer.get("t", hi)))}))
    return builder.finish()


def _window_line(rec: Recording, sel: Selection) -> str:
    lo, hi = sel.bounds(rec)
    lanes = _("all") if sel.lanes is None else listed(rec.lanes[i].name for i in sel.lanes)
    return _("- Window: {start} to {end}, lanes: {lanes}. The statistics below are of the events "
             "in it; what `sockscope check` finds is of the whole recording").format(start=_ns(lo), end=_ns(hi),
                                                                                      lanes=lanes)


def _lines_of(rec: Recording) -> int | None:
    from tracer.analysis.check import count_lines

    try:
        return count_lines(rec.path)
    except OSError:
        return None


def report(s: Stats, findings: list[Finding], rec: Recording | None = None, window: str | None = None) -> str:
    """The Markdown text of a report (of a part of the recording, when ``window`` says which)."""
    parts = [_header(s, window), _counts(s), _waits(s), _per_connection(rec), _throughput(s), _closes(s),
             _findings(findings)]
    return "\n".join(parts)


def _table(head: list[str], rows: list[list[str]], align: str = "") -> str:
    align = align or "l" + "r" * (len(head) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _header(s: Stats, window: str | None = None) -> str:
    # in words, as the timeline's title says them ("4 workers · backlog 128"; it printed "as_taught = False, ...")
    settings = " · ".join(setting_words(s.model, s.settings)[1:])
    what = servers.DESCRIPTIONS.get(s.model)
    lines = [_("# sockscope report: {model}").format(model=s.model), "",
             _("- Recording: `{path}`").format(path=s.path),
             _("- Model: **{model}**").format(model=s.model)
             + (_(" (as taught)") if s.settings.get("as_taught") else "")
             + (_(": {what}").format(what=_(what)) if what else ""),  # (Chinese has its own colon)
             _("- Settings: {settings}").format(settings=settings or "–"),
             _("- Length: {length}, {events:,} events, {dropped:,} dropped").format(
                 length=_ns(s.duration), events=s.events, dropped=s.dropped)
             + ("" if s.complete else _(" (no trailer: the recording did not end cleanly)")),
             *([window] if window else []), ""]
    if language() != "en":  # the glossary's words beside the English a student will meet elsewhere
        lines[1:1] = ["", _("Words used: connection (连接), socket (套接字), blocking (阻塞), thread pool (线程池), "
                            "the kernel's accept queue (完成连接队列, `listen()`'s backlog)")]
    return "\n".join(lines)


def _counts(s: Stats) -> str:
    rows = [
        [_("connections accepted"), f"{s.connections:,}"],
        [_("connections seen only by a client"), f"{s.client_only:,}"],
        [_("connections never closed by the server"), f"{s.never_closed:,}"],
        [_("requests answered"), f"{s.requests:,}"],
        [_("requests per second (while connections came and went)"), f"{s.requests_per_s:,.0f}"],
        [_("server threads created"), f"{s.threads_created:,}"],
        [_("server threads alive at most"), f"{s.threads_max_alive:,}"],
        [_("threads that served more than one connection"), f"{s.workers_reused:,}"],
        [_("most connections served by one thread"), f"{s.most_served_by_one:,}"],
        [_("server / client lanes"), f"{s.server_lanes} / {s.client_lanes}"],
        [_("bytes received / sent by the server"), f"{s.bytes_in:,} / {s.bytes_out:,}"],
    ]
    rows += [[_("highest {counter}").format(counter=counter_name(name)), f"{v:,}"]  # as the timeline names them
             for name, v in sorted(s.peaks.items())]
    return _("## Counts") + "\n\n" + _table([_("what"), _("how many")], rows)


def _waits(s: Stats) -> str:
    rows = []
    for w in s.waits.values():
        rows.append([_(WAIT_NAMES[w.name]), f"{w.n:,}", _ns(w.p(50)), _ns(w.p(90)), _ns(w.p(99)), _ns(w.max),
                     _ns(w.mean)])
    text = [_("## Where each connection's time went"), "",
            _table([_("wait"), _("connections"), "p50", "p90", "p99", _("max"), _("mean")], rows)]
    for w in s.waits.values():
        text.append(_("- **{name}**: {meaning}.").format(name=_(WAIT_NAMES[w.name]), meaning=_(w.label)))
    text.append("")
    for w in s.waits.values():
        if w.worst:
            text.append(_("### Worst five: {name}").format(name=_(WAIT_NAMES[w.name])) + "\n")
            text.append(_table([_("connection"), _(WAIT_NAMES[w.name])], [[str(cid), _ns(v)] for cid, v in w.worst]))
    return "\n".join(text)


def _per_connection(rec: Recording | None) -> str:
    """One row per connection (the first MAX_CONNECTIONS), so a homework can quote any of them."""
    if rec is None:
        return ""
    ids = [cid for cid in rec.connections.keys() if cid > 0]  # (a view only for the rows shown)
    if not ids:
        return ""
    conns = [rec.connections[cid] for cid in heapq.nsmallest(MAX_CONNECTIONS, ids)]
    rows = [[str(c.id), c.peer or "–", _ns(c.backlog_wait), _ns(c.queue_wait), _ns(c.service),
             str(c.requests), close_words(c.close_reason)] for c in conns]
    more = ("\n" + _("The first {shown} of {n:,}; `sockscope export --format csv` has every event.").format(
        shown=MAX_CONNECTIONS, n=len(ids)) + "\n" if len(ids) > MAX_CONNECTIONS else "")
    return (_("### Connection by connection") + "\n\n"
            + _table([_("connection"), _("peer"), _(WAIT_NAMES["backlog"]), _(WAIT_NAMES["queue"]),
                      _(WAIT_NAMES["service"]), _("requests"), _("closed")], rows, align="llrrrrl") + more)


def _throughput(s: Stats) -> str:
    b = s.throughput
    if not b or not s.requests:
        return _("## Throughput over time") + "\n\n" + _("No requests were answered.") + "\n"
    rows = [[f"{_ns(x.t0)} – {_ns(x.t1)}", f"{x.requests:,}", f"{x.rate:,.0f}", f"{x.closed:,}"] for x in b]
    line = sparkline([x.requests for x in b])
    return (_("## Throughput over time") + "\n\n"
            + _("Requests answered per {time}: `{line}`").format(time=_ns(b[0].t1 - b[0].t0), line=line) + "\n\n"
            + _table([_("time"), _("requests"), _("per second"), _("connections closed")], rows))


def _closes(s: Stats) -> str:
    rows = [[close_words(reason), f"{n:,}"] for reason, n in s.close_reasons.most_common()]
    text = _("## How connections ended") + "\n\n"
    if rows:
        text += _("By the server:") + "\n\n" + _table([_("reason"), _("connections")], rows)
    crow = [[close_words(reason), f"{n:,}"] for reason, n in s.client_close_reasons.most_common()]
    if crow:
        text += "\n" + _("By the clients:") + "\n\n" + _table([_("reason"), _("connections")], crow)
    return text


def _findings(findings: list[Finding]) -> str:
    if not findings:
        return (_("## What `sockscope check` finds") + "\n\n" + _("Nothing: every connection follows the lifecycle.")
                + "\n")
    tally: dict[str, int] = {}
    for f in findings:
        tally[f.code] = tally.get(f.code, 0) + 1
    rows = [[_(CODES[code]), f"{n:,}"] for code, n in sorted(tally.items(), key=lambda kv: list(CODES).index(kv[0]))]
    text = [_("## What `sockscope check` finds"), "", _table([_("finding"), _("how many")], rows)]
    for f in findings[:MAX_FINDINGS]:
        text.append(_("- line {line}: {message}").format(line=f.line, message=f.message))
    if len(findings) > MAX_FINDINGS:
        text.append(_("- ... and {n:,} more (run `sockscope check`)").format(n=len(findings) - MAX_FINDINGS))
    return "\n".join(text) + "\n"
