"""A bench result for homework: Markdown, CSV, JSON, and an SVG chart in the timeline's colours.

Every format opens with the same header (machine cores, Python, the load
generator, the settings, and "partial" when a Ctrl-C cut the run short), and
reads the same :class:`~tracer.analysis.bench_figures.Figure` values as the
terminal table and the verdict.
"""

from __future__ import annotations

import csv
import io
import json
import math
from xml.sax.saxutils import escape

from tracer.analysis.bench_figures import BenchResult, Capacity, Figure, figures
from tracer.analysis.bench_verdict import cross_check_line, verdict
from tracer.export.svg import FONT as FONT_STACK
from tracer.locale import _, ngettext
from tracer.recording.events import Look
from tracer.timeline import palette

FORMATS = ("md", "csv", "json", "svg")

# One colour per model, taken from the timeline's (a selectors lane's arrows are cyan there too).
MODEL_COLOURS = {
    "selectors": palette.CLIENT_ARROW_COLOUR,
    "asyncio": palette.KIND_COLOURS["thread_start"],
    "thread": palette.LOOK_COLOURS[Look.BLOCKED],
    "pool": palette.QUEUED_COLOUR,
    "single": palette.LOOK_COLOURS[Look.WORKING],
}
OTHER_COLOUR = palette.KIND_COLOURS["close"]


def colour(contender: str) -> str:
    return MODEL_COLOURS.get(contender.split("(")[0].split(" ")[0], OTHER_COLOUR)


def header(result: BenchResult) -> list[str]:
    """The lines every output starts with."""
    m, s = result.machine, result.settings
    lim = m.get("limits", {})
    pinned = _("pinned (server on one core, load on another)") if s["pin"] else _("not pinned")
    lines = [_("machine: {cores} cores, {implementation} {python}, {platform}").format(
                 cores=m["cores"], implementation=m["implementation"], python=m["python"], platform=m["platform"]),
             _("load generator: {generator}").format(generator=m["load_generator"]),
             _("settings: {rounds} rounds x {duration:g} s per load, interleaved; connections {connections}; modes "
               "{modes}; pool workers {workers}; work {work_ms:g} ms, cpu {cpu_ms:g} ms per request; {pinned}").format(
                 rounds=s["rounds"], duration=s["duration"], connections=", ".join(str(c) for c in s["connections"]),
                 modes=", ".join(s["modes"]), workers=s["workers"], work_ms=s["work_ms"], cpu_ms=s["cpu_ms"],
                 pinned=pinned),
             _("limits: open files {files}, threads {threads}, somaxconn {somaxconn}").format(
                 files=lim.get("open_files", "?"), threads=lim.get("threads", "?"),
                 somaxconn=lim.get("somaxconn", "?"))]
    if m.get("listen"):
        lines.append(_("listening: {where}").format(where=m["listen"]))
    if m.get("tracing"):
        lines.append(_("tracing: {what}").format(what=m["tracing"]))
    if m.get("programs"):
        lines.append(_("programs: {what}").format(what=m["programs"]))
    before, after = m.get("load_average_before"), m.get("load_average_after")
    other = m.get("other_work_cores")
    if other is not None:
        line = _("machine load: other work used {other:.2f} of {cores} cores during the run (load average {before} "
                 "before, {after} after: it counts the bench's own threads too)").format(
            other=other, cores=m["cores"], before="?" if before is None else f"{before:.1f}",
            after="?" if after is None else f"{after:.1f}")
        if busy(result):
            line += _(" — busy: figures are noisier, and server CPU per request is steadier than requests/s")
        lines.append(line)
    elif before is not None:
        line = _("machine load: load average {before:.1f} before, {after} after, on {cores} cores").format(
            before=before, after="?" if after is None else f"{after:.1f}", cores=m["cores"])
        if busy(result):
            line += _(" — busy: figures are noisier, and server CPU per request is steadier than requests/s")
        lines.append(line)
    if result.partial:
        lines.insert(0, _("PARTIAL: {why}; the figures below are the rounds finished so far").format(
            why=result.partial))
    return lines


BUSY_OTHER_CORES = 0.25  # cores' worth of other work during the run that makes the figures noisy


def busy(result: BenchResult) -> bool:
    """Other work wanted more cores than the machine has, during the run."""
    m = result.machine
    if m.get("other_work_cores") is not None:  # measured (Linux): more than a quarter of a core is felt here
        return bool(m["other_work_cores"] > BUSY_OTHER_CORES)
    loads = [x for x in (m.get("load_average_before"), m.get("load_average_after")) if x is not None]
    return bool(loads) and max(loads) > m.get("cores", 1)


def spread(f: Figure) -> str:
    return f"{f.rps_low:,.0f}–{f.rps_high:,.0f}"


def starved_mark(f: Figure) -> str:
    return _("starved {n}/{total}").format(n=f.starved, total=f.connections) if f.starved else ""


def markdown(result: BenchResult) -> str:
    out = ["# sockscope bench", ""] + [f"- {line}" for line in header(result)] + [""]
    out += [_("## Verdict"), ""] + verdict(result) + [""]
    out += [_("## Throughput and latency"), "",
            _("| model | mode | connections | requests/s | {pct} | p50 ms | p99 ms | p99 min–max | server µs/request "
              "| outcome |").format(pct="95%"),
            "|---|---|---:|---:|---|---:|---:|---|---:|---|"]
    for f in figures(result.samples):
        outcome = _("; ").join(x for x in (
            starved_mark(f), ngettext("{n} error", "{n} errors", f.errors).format(n=f.errors) if f.errors else "",
            ngettext("{n} timeout", "{n} timeouts", f.timeouts).format(n=f.timeouts) if f.timeouts else "",
            _("closes after each request") if f.closes_each else "",
            _("load-generator bound") if f.limited else "") if x) or _("all answered")
        out.append(f"| {f.contender} | {f.mode} | {f.connections} | {f.rps:,.0f} | {spread(f)} | {f.p50_ms:.2f} | "
                   f"{f.p99_ms:.2f} | {f.p99_ms_low:.2f}–{f.p99_ms_high:.2f} | {us(f)} | {outcome} |")
    wrk = figures(result.samples, "wrk")
    if wrk:
        out += ["", _("## Cross-check with wrk"), "",
                _("| model | connections | requests/s | {pct} | p99 ms |").format(pct="95%"),
                "|---|---:|---:|---|---:|"]
        out += [f"| {f.contender} | {f.connections} | {f.rps:,.0f} | {spread(f)} | {f.p99_ms:.2f} |" for f in wrk]
        line = cross_check_line(result)
        if line:
            out += ["", line]
    if result.capacity:
        out += ["", _("## Capacity: idle connections held open"), "",
                _("| model | idle | held | RSS (+since start) | threads | busy served | note |"),
                "|---|---:|---:|---:|---:|---|---|"]
        out += [f"| {c.contender} | {c.idle:,} | {c.held:,} | {rss(c)} | {c.threads if c.threads is not None else '—'}"
                f" | {c.busy_served}/{c.busy} | {c.note} |" for c in result.capacity]
    if result.notes:
        out += ["", _("## Notes"), ""] + [f"- {n}" for n in result.notes]
    return "\n".join(out) + "\n"


def rss(c: Capacity) -> str:
    """'30.1 MB (+2.0)': the server's resident memory holding the connections, and its growth since it started."""
    if c.rss_kb is None:
        return "—"
    grew = f" (+{(c.rss_kb - c.base_rss_kb) / 1024:.1f})" if c.base_rss_kb is not None else ""
    return f"{c.rss_kb / 1024:.1f} MB{grew}"


def us(f: Figure) -> str:
    return "—" if f.server_us_per_request is None else f"{f.server_us_per_request:.0f}"


CSV_FIELDS = ("contender", "mode", "connections", "generator", "rounds", "rps", "rps_low", "rps_high", "p50_ms",
              "p99_ms", "p99_ms_low", "p99_ms_high", "starved", "errors", "timeouts", "cpu_share",
              "server_us_per_request")


def to_csv(result: BenchResult) -> str:
    buf = io.StringIO()
    for line in header(result):
        buf.write(f"# {line}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for f in figures(result.samples) + figures(result.samples, "wrk"):
        w.writerow([round(v, 3) if isinstance(v, float) else v for v in (getattr(f, k) for k in CSV_FIELDS)])
    return buf.getvalue()


def to_json(result: BenchResult) -> str:
    return json.dumps({"header": header(result), "verdict": verdict(result), **result.to_json()}, indent=1) + "\n"


# ----------------------------------------------------------------- the SVG chart
W, PAD_L, PAD_R, PAD_T, PANEL_H, GAP = 960, 70, 150, 80, 220, 70
FONT = f"{FONT_STACK};font-size:12px"  # the timeline SVG's stack: Latin first, then fonts with Chinese glyphs


def _x(conns: int, all_conns: list[int], width: int) -> float:
    lo, hi = math.log10(min(all_conns)), math.log10(max(all_conns))
    return PAD_L + (0.5 if hi == lo else (math.log10(conns) - lo) / (hi - lo)) * width


def _panel(figs: list[Figure], top: float, title: str, value: str, log_y: bool) -> list[str]:
    """One chart: ``value`` of each contender against connections (log x), a line per contender."""
    width = W - PAD_L - PAD_R
    conns = sorted({f.connections for f in figs})
    spread = ("rps_low", "rps_high") if value == "rps" else ("p99_ms_low", "p99_ms_high")
    values = [max(getattr(f, k), 1e-3) for f in figs for k in (value, *spread)]
    hi = max(values, default=1.0)
    lo = min(values, default=1.0) if log_y else 0.0

    def y(v: float) -> float:
        if log_y:
            span = math.log10(hi) - math.log10(lo) or 1.0
            return top + PANEL_H - (math.log10(max(v, 1e-3)) - math.log10(lo)) / span * PANEL_H
        return top + PANEL_H - v / (hi or 1) * PANEL_H

    out = [f'<text x="{PAD_L}" y="{top - 12}" fill="{palette.TEXT_COLOUR}" style="{FONT};font-size:14px">'
           f"{escape(title)}</text>",
           f'<rect x="{PAD_L}" y="{top}" width="{width}" height="{PANEL_H}" fill="none" '
           f'stroke="{palette.LIFE_COLOUR}"/>']
    for c in conns:
        out.append(f'<text x="{_x(c, conns, width):.1f}" y="{top + PANEL_H + 16}" text-anchor="middle" '
                   f'fill="{palette.TEXT_COLOUR}" style="{FONT}">{c}</text>')
    for v in (lo, hi) if log_y else (0.0, hi / 2, hi):
        out.append(f'<text x="{PAD_L - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="{palette.TEXT_COLOUR}" '
                   f'style="{FONT}">{_tick(v)}</text>')
    out.append(f'<text x="{PAD_L + width / 2:.0f}" y="{top + PANEL_H + 32}" text-anchor="middle" '
               f'fill="{palette.LOOK_COLOURS[Look.MARK]}" style="{FONT}">{escape(_("connections (log scale)"))}</text>')
    names = list(dict.fromkeys(f.contender for f in figs))
    for i, name in enumerate(names):
        mine = sorted((f for f in figs if f.contender == name), key=lambda f: f.connections)
        col = colour(name)
        pts = " ".join(f"{_x(f.connections, conns, width):.1f},{y(getattr(f, value)):.1f}" for f in mine)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{col}" stroke-width="2"/>')
        for f in mine:
            cx, cy = _x(f.connections, conns, width), y(getattr(f, value))
            low, high = (f.rps_low, f.rps_high) if value == "rps" else (f.p99_ms_low, f.p99_ms_high)
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}" stroke="{col}" '
                       'stroke-width="6" stroke-opacity="0.35"/>')  # the spread: 95% interval, or min–max
            fill = "none" if f.starved else col  # a hollow point: some connections starved
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{fill}" stroke="{col}" stroke-width="2">'
                       f"<title>{escape(name)} {f.connections}: {getattr(f, value):,.2f}"
                       f"{' — ' + starved_mark(f) if f.starved else ''}</title></circle>")
        starved = _(" ✗ starved") if any(f.starved for f in mine) else ""
        out.append(f'<text x="{W - PAD_R + 12}" y="{top + 16 + i * 18}" fill="{col}" style="{FONT}">'
                   f"{escape(name)}{starved}</text>")
    return out


def _tick(v: float) -> str:
    return f"{v / 1000:,.0f}k" if v >= 10000 else f"{v:,.3g}"


def svg(result: BenchResult) -> str:
    """Throughput and p99 latency against connections, per mode: a line per model, hollow points where it starved."""
    figs = figures(result.samples)
    modes = list(dict.fromkeys(f.mode for f in figs))
    panels = [(mode, what) for mode in modes for what in ("rps", "p99_ms")]
    height = PAD_T + len(panels) * (PANEL_H + GAP) + 40 + 16 * 4
    body = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}">',
            '<rect width="100%" height="100%" fill="#1c1c1c"/>',
            f'<text x="{PAD_L}" y="28" fill="{palette.TEXT_COLOUR}" style="{FONT};font-size:16px">'
            f"{escape(_('sockscope bench: requests/s and p99 latency against connections'))}</text>"]
    for i, line in enumerate(header(result)):
        body.append(f'<text x="{PAD_L}" y="{46 + i * 14}" fill="{palette.LOOK_COLOURS[Look.MARK]}" '
                    f'style="{FONT};font-size:10px">{escape(line)}</text>')
    top = PAD_T + 50
    for mode, what in panels:
        mine = [f for f in figs if f.mode == mode]
        title = (_("requests/s, {mode}") if what == "rps" else _("p99 latency (ms, log scale), {mode}")).format(
            mode=mode) + _(" — band: {pct} interval / min–max; hollow: starved").format(pct="95%")
        body += _panel(mine, top, title, what, log_y=what == "p99_ms")
        top += PANEL_H + GAP
    body.append("</svg>")
    return "\n".join(body) + "\n"


def render(result: BenchResult, fmt: str) -> str:
    return {"md": markdown, "csv": to_csv, "json": to_json, "svg": svg}[fmt](result)
