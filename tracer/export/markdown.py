"""Markdown: a report of a recording's statistics, for a homework or a lab note.

Model and settings; counts of connections, threads and requests; where each
connection's time went (backlog, pool queue, service) with p50/p90/p99 and
the worst five; throughput over time; what ``sockscope check`` finds.
"""

from __future__ import annotations

import json
from typing import TextIO

import servers
from tracer.analysis.check import CODES, Finding, check
from tracer.analysis.stats import Stats, compute
from tracer.export import Progress, Selection, in_range
from tracer.record.formatter import event_line
from tracer.recording.model import Recording
from tracer.recording.reader import Builder
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
    for lane in sel.lane_list(rec):
        builder.feed(json.dumps({"lane": lane.id, "name": lane.name, "native_id": lane.native_id,
                                 "side": lane.side}))
        for i in in_range(lane, lo, hi):
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
    lanes = "all" if sel.lanes is None else ", ".join(rec.lanes[i].name for i in sel.lanes)
    return (f"- Window: {_ns(lo)} to {_ns(hi)}, lanes: {lanes}. The statistics below are of the events "
            f"in it; what `sockscope check` finds is of the whole recording")


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
    skip = {"model", "host", "port"} | ({"workers"} if s.model != "pool" else set())  # a pool's knob only
    settings = ", ".join(f"{k} = {v}" for k, v in s.settings.items() if k not in skip)
    what = servers.DESCRIPTIONS.get(s.model)
    lines = [f"# sockscope report: {s.model}", "",
             f"- Recording: `{s.path}`",
             f"- Model: **{s.model}**" + (" (as taught)" if s.settings.get("as_taught") else "")
             + (f": {what}" if what else ""),
             f"- Settings: {settings or '–'}",
             f"- Length: {_ns(s.duration)}, {s.events:,} events, {s.dropped:,} dropped"
             + ("" if s.complete else " (no trailer: the recording did not end cleanly)"),
             *([window] if window else []), ""]
    return "\n".join(lines)


def _counts(s: Stats) -> str:
    rows = [
        ["connections accepted", f"{s.connections:,}"],
        ["connections seen only by a client", f"{s.client_only:,}"],
        ["connections never closed by the server", f"{s.never_closed:,}"],
        ["requests answered", f"{s.requests:,}"],
        ["requests per second (while connections came and went)", f"{s.requests_per_s:,.0f}"],
        ["server threads created", f"{s.threads_created:,}"],
        ["server threads alive at most", f"{s.threads_max_alive:,}"],
        ["threads that served more than one connection", f"{s.workers_reused:,}"],
        ["most connections served by one thread", f"{s.most_served_by_one:,}"],
        ["server / client lanes", f"{s.server_lanes} / {s.client_lanes}"],
        ["bytes received / sent by the server", f"{s.bytes_in:,} / {s.bytes_out:,}"],
    ]
    rows += [[f"highest {name}", f"{v:,}"] for name, v in sorted(s.peaks.items())]
    return "## Counts\n\n" + _table(["what", "how many"], rows)


def _waits(s: Stats) -> str:
    rows = []
    for w in s.waits.values():
        rows.append([f"{w.name}", f"{w.n:,}", _ns(w.p(50)), _ns(w.p(90)), _ns(w.p(99)), _ns(w.max),
                     _ns(w.mean)])
    text = ["## Where each connection's time went", "",
            _table(["wait", "connections", "p50", "p90", "p99", "max", "mean"], rows)]
    for w in s.waits.values():
        text.append(f"- **{w.name}**: {w.label}.")
    text.append("")
    for w in s.waits.values():
        if w.worst:
            text.append(f"### Worst five: {w.name}\n")
            text.append(_table(["connection", w.name], [[str(cid), _ns(v)] for cid, v in w.worst]))
    return "\n".join(text)


def _per_connection(rec: Recording | None) -> str:
    """One row per connection (the first MAX_CONNECTIONS), so a homework can quote any of them."""
    if rec is None:
        return ""
    conns = sorted((c for c in rec.connections.values() if c.id > 0), key=lambda c: c.id)
    if not conns:
        return ""
    rows = [[str(c.id), c.peer or "–", _ns(c.backlog_wait), _ns(c.queue_wait), _ns(c.service),
             str(c.requests), c.close_reason or "never closed"] for c in conns[:MAX_CONNECTIONS]]
    more = (f"\nThe first {MAX_CONNECTIONS} of {len(conns):,}; `sockscope export --format csv` has every event.\n"
            if len(conns) > MAX_CONNECTIONS else "")
    return ("### Connection by connection\n\n"
            + _table(["connection", "peer", "backlog", "queue", "service", "requests", "closed"], rows,
                     align="llrrrrl") + more)


def _throughput(s: Stats) -> str:
    b = s.throughput
    if not b or not s.requests:
        return "## Throughput over time\n\nNo requests were answered.\n"
    rows = [[f"{_ns(x.t0)} – {_ns(x.t1)}", f"{x.requests:,}", f"{x.rate:,.0f}", f"{x.closed:,}"] for x in b]
    line = sparkline([x.requests for x in b])
    return ("## Throughput over time\n\n"
            f"Requests answered per {_ns(b[0].t1 - b[0].t0)}: `{line}`\n\n"
            + _table(["time", "requests", "per second", "connections closed"], rows))


def _closes(s: Stats) -> str:
    rows = [[reason, f"{n:,}"] for reason, n in s.close_reasons.most_common()]
    text = "## How connections ended\n\n"
    if rows:
        text += "By the server:\n\n" + _table(["reason", "connections"], rows)
    crow = [[reason, f"{n:,}"] for reason, n in s.client_close_reasons.most_common()]
    if crow:
        text += "\nBy the clients:\n\n" + _table(["reason", "connections"], crow)
    return text


def _findings(findings: list[Finding]) -> str:
    if not findings:
        return "## What `sockscope check` finds\n\nNothing: every connection follows the lifecycle.\n"
    tally: dict[str, int] = {}
    for f in findings:
        tally[f.code] = tally.get(f.code, 0) + 1
    rows = [[CODES[code], f"{n:,}"] for code, n in sorted(tally.items(), key=lambda kv: list(CODES).index(kv[0]))]
    text = ["## What `sockscope check` finds", "", _table(["finding", "how many"], rows)]
    for f in findings[:MAX_FINDINGS]:
        text.append(f"- line {f.line}: {f.message}")
    if len(findings) > MAX_FINDINGS:
        text.append(f"- ... and {len(findings) - MAX_FINDINGS:,} more (run `sockscope check`)")
    return "\n".join(text) + "\n"
