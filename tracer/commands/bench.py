"""``sockscope bench``: how much faster is IO multiplexing, and why (LESSONS row 13)."""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
import socket
import sys
import time

from rich.console import Console
from rich.table import Table

import servers
from tracer import addresses
from tracer.analysis.bench_figures import TRACED, BenchResult, Figure, figures
from tracer.analysis.bench_verdict import cross_check_line, one_accept_per_wake, verdict
from tracer.clients.loadgen import MODES, UNIX_PREFIX
from tracer.commands.common import non_negative, positive_int
from tracer.errors import UsageError
from tracer.export import bench_report
from tracer.locale import _, listed, ngettext
from tracer.locale.cells import break_offsets, cell_len, ljust, truncate
from tracer.outputs import check_output_path, write_text
from tracer.run import loaddrivers
from tracer.run.benchmark import Contender, Plan, run_bench, socket_path
from tracer.run.programs import ProgramSpec, check_program

MAX_CONNECTIONS = 5000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help=_("how much faster is IO multiplexing? the models side by side under the same load"),
        description=_("Start each model in its own process and drive them all, in interleaved rounds, from one "
                      "load generator process: requests/s and p50/p99 latency at rising concurrency (keep-alive and "
                      "one request per connection) with their {pct} intervals, every connection's outcome (starved, "
                      "errors, timeouts), what idle connections cost (memory, threads), and a verdict in words. The "
                      "default run takes under two minutes and says how long before it starts.").format(
            pct="95%"))  # argparse does not %-format a description: "95%%" was shown as typed
    p.add_argument("--models", default=",".join(servers.MODELS),
                   help=_("comma-separated models (default: {models})").format(models=",".join(servers.MODELS)))
    p.add_argument("--connections", default="1,10,50,200,1000",
                   help=_("comma-separated connection counts (default 1,10,50,200,1000)"))
    p.add_argument("--modes", default=",".join(MODES),
                   help=_("keep-alive (a connection sends request after request) and/or close (one request per "
                        "connection, as ab does) (default both)"))
    p.add_argument("--rounds", type=positive_int, default=5,
                   help=_("interleaved rounds, spread over the run (default 5)"))
    p.add_argument("--duration", type=non_negative, default=0.1,
                   help=_("seconds of load per run, after a warm-up (default 0.1)"))
    p.add_argument("--capacity", default="100,1000,5000",
                   help=_("idle connections to hold open, comma-separated, or 'none' (default 100,1000,5000; "
                        "bounded by this machine's limits, which the bench checks)"))
    p.add_argument("--busy", type=positive_int, default=4, help=_("busy connections beside the idle ones (default 4)"))
    p.add_argument("--headline", type=positive_int, default=50,
                   help=_("the connections the verdict speaks of (default 50)"))
    p.add_argument("--tracing", choices=["off", "on", "both"], default="off",
                   help=_("measure untraced servers, traced ones, or both side by side (default off)"))
    p.add_argument("--workers", type=positive_int, default=10, help=_("pool size (default 10)"))
    p.add_argument("--work-ms", type=non_negative, default=0, help=_("each request waits this long (as on a database)"))
    p.add_argument("--cpu-ms", type=non_negative, default=0,
                   help=_("each request computes this long: the CPU-bound case, where multiplexing does not help"))
    p.add_argument("--pin", action="store_true",
                   help=_("servers on one core, the load on another (Linux): shows what the GIL's core hops cost"))
    p.add_argument("--wrk", choices=["auto", "on", "off"], default="auto",
                   help=_("cross-check the headline load with wrk: auto (when installed), on, off (default auto)"))
    p.add_argument("--target", metavar="HOST:PORT", action="append", default=[],
                   help=_("also measure a server already listening there (loopback only, unless --allow-remote), "
                          "or at unix:PATH (a Unix socket)"))
    p.add_argument("--allow-remote", action="store_true", help=_("let --target and --host aim beyond this machine"))
    p.add_argument("--host", default="127.0.0.1",
                   help=_("where the models listen and the load goes: 127.0.0.1 (default), ::1 (IPv6) or another "
                        "loopback address; any other only with --allow-remote"))
    p.add_argument("--unix", metavar="FOLDER", nargs="?", const="",
                   help=_("the models listen on Unix sockets instead of TCP, one per server, in FOLDER (default: a "
                        "new temporary folder, removed at the end); wrk cannot reach them, so no cross-check"))
    p.add_argument("--program", metavar="FILE.py", action="append", default=[],
                   help=_("also measure your own server program, started as the models are (untraced, on "
                        "127.0.0.1, a free port whatever it binds); repeatable"))
    p.add_argument("-m", "--module", metavar="MODULE", action="append", default=[],
                   help=_("also measure a server module (python -m MODULE), as --program"))
    p.add_argument("--record", metavar="DIR", help=_("also record one run of each model into DIR, to open on the "
                                                   "timeline (sockscope replay DIR/MODEL.jsonl)"))
    p.add_argument("--format", choices=["text", *bench_report.FORMATS[:3]], default="text",
                   help=_("what to print: text (a table and charts), md, csv or json (default text)"))
    p.add_argument("-o", "--output", metavar="FILE", action="append", default=[],
                   help=_("also write FILE; its suffix picks the format: .svg (a chart), .md, .csv, .json"))
    p.add_argument("--json", metavar="FILE", help=_("also write the measurements as JSON (as -o FILE.json)"))
    p.set_defaults(func=run)


def _numbers(text: str, what: str, low: int, high: int) -> tuple[int, ...]:
    try:
        values = tuple(int(c) for c in text.split(",") if c.strip())
    except ValueError:
        raise UsageError(_("{option}: expected numbers like 1,10,50, got {text!r}").format(option=what, text=text)) \
            from None
    if not values or any(not low <= v <= high for v in values):
        raise UsageError(_("{option}: each count must be from {low} to {high:,}").format(option=what, low=low,
                                                                                       high=high))
    return tuple(dict.fromkeys(values))


def parse_target(text: str, allow_remote: bool) -> tuple[str, int]:
    """HOST:PORT (or [v6]:PORT), resolved, a loopback address unless ``allow_remote``; or unix:PATH, a Unix
    socket (on this machine by nature), as ("unix:PATH", 0), the load worker's way of naming one."""
    if text.startswith(UNIX_PREFIX):
        return _unix_target(text)
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(_("--target: expected HOST:PORT like 127.0.0.1:8000, or unix:PATH, got {text!r}").format(
            text=text))
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(_("--target: cannot resolve {host!r}: {why}").format(host=host, why=exc.strerror)) from None
    addresses = [str(info[4][0]) for info in infos]
    if not allow_remote and not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise UsageError(_("--target {text}: not this machine ({found}); load is sent only to loopback unless you "
                           "add --allow-remote (and own that server)").format(
            text=text, found=listed(sorted(set(addresses)))))
    try:
        socket.create_connection((addresses[0], int(port)), timeout=3).close()
    except OSError as exc:
        why = exc.strerror or exc
        raise UsageError(_("--target {text}: nothing answers there ({why})").format(text=text, why=why)) from None
    return addresses[0], int(port)


def _unix_target(text: str) -> tuple[str, int]:
    path = text[len(UNIX_PREFIX):]
    if not path:
        raise UsageError(_("--target: expected unix:PATH with the path of a Unix socket, got {text!r}").format(
            text=text))
    if not addresses.unix_supported():
        raise UsageError(_("--target {text}: this Python has no Unix sockets (AF_UNIX)").format(text=text))
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(path)
    except OSError as exc:
        why = exc.strerror or exc
        raise UsageError(_("--target {text}: nothing answers there ({why})").format(text=text, why=why)) from None
    return UNIX_PREFIX + path, 0


def _contenders(args: argparse.Namespace) -> tuple[Contender, ...]:
    models = tuple(dict.fromkeys(m.strip() for m in args.models.split(",") if m.strip()))
    unknown = [m for m in models if m not in servers.MODELS]
    if unknown or not (models or args.target or args.program or args.module):
        raise UsageError(_("unknown model {models}; choose from {choices}").format(
            models=listed(unknown) or _("(none)"), choices=listed(servers.MODELS)))
    tracing = {"off": (False,), "on": (True,), "both": (False, True)}[args.tracing]
    out = [Contender(_label(m, args.workers) + (TRACED if t else ""), m, t)  # a traced row says so
           for m in models for t in tracing]
    out += [Contender(f"target {t}", address=parse_target(t, args.allow_remote)) for t in args.target]
    out += _programs(args, {c.name for c in out})
    return tuple(out)


def _programs(args: argparse.Namespace, taken: set[str]) -> list[Contender]:
    """--program FILE.py and -m MODULE, checked before anything starts (a missing file, a syntax error: one line)."""
    out = []
    for spec in [ProgramSpec(script=f) for f in args.program] + [ProgramSpec(module=m) for m in args.module]:
        check_program(spec)
        name = spec.name
        while name in taken:  # two files called server.py, or a program named like a model
            name += "'"
        taken.add(name)
        out.append(Contender(name, program=tuple(spec.command())))
    return out


def _label(model: str, workers: int) -> str:
    return f"pool({workers})" if model == "pool" else model


def parse_plan(args: argparse.Namespace) -> Plan:
    conns = _numbers(args.connections, "--connections", 1, MAX_CONNECTIONS)
    modes = tuple(dict.fromkeys(m.strip() for m in args.modes.split(",") if m.strip()))
    if not modes or any(m not in MODES for m in modes):
        raise UsageError(_("--modes: expected keep-alive and/or close, got {modes!r}").format(modes=args.modes))
    if not 0.1 <= args.duration <= 60:
        raise UsageError(_("--duration: expected 0.1 to 60 seconds"))
    if args.rounds > 50:
        raise UsageError(_("--rounds: at most 50"))
    capacity = () if args.capacity.strip().lower() in ("none", "off", "0", "") else \
        _numbers(args.capacity, "--capacity", 1, 50000)
    if args.pin and (why := loaddrivers.pinning_problem()):
        raise UsageError(why)
    host, unix = _where(args)
    if unix is not None and args.wrk == "on":
        raise UsageError(_("--wrk on: wrk cannot reach a Unix socket; leave out --unix or --wrk on"))
    wrk = None if args.wrk == "off" or unix is not None else loaddrivers.wrk_path()
    if args.wrk == "on" and wrk is None:
        raise UsageError(_("--wrk on: wrk is not installed (apt-get install wrk, brew install wrk)"))
    for out in args.output:
        if os.path.splitext(out)[1].lower().lstrip(".") not in bench_report.FORMATS:
            raise UsageError(_("-o {file}: expected a name ending in .svg, .md, .csv or .json").format(file=out))
    if args.record:
        _record_dir(args.record)
    if args.headline not in conns:
        wrk = None  # the cross-check runs at the headline load only
    return Plan(_contenders(args), conns, modes, args.rounds, args.duration, args.workers, args.work_ms, args.cpu_ms,
                capacity, args.busy, args.pin, wrk, args.headline, args.record, host, unix)


def _where(args: argparse.Namespace) -> tuple[str, str | None]:
    """(host, unix folder) from --host and --unix, checked before anything starts."""
    if args.unix is not None:
        if args.host != "127.0.0.1":
            raise UsageError(_("--unix listens on paths, not on a host: give --host or --unix, not both"))
        if args.unix:
            if not os.path.isdir(args.unix):
                raise UsageError(_("--unix {folder}: expected an existing folder for the servers' sockets").format(
                    folder=args.unix))
            longest = max(servers.MODELS, key=len)
            addresses.check_unix_path(socket_path(args.unix, longest, 99999))  # the longest path it will bind
        elif not addresses.unix_supported():
            raise UsageError(_("--unix: this Python has no Unix sockets (AF_UNIX); leave out --unix"))
        return "127.0.0.1", args.unix
    host = addresses.listen_host(args.host)
    if not args.allow_remote and not addresses.is_loopback(host):
        raise UsageError(_("--host {host}: not this machine; the bench sends load only to loopback (127.0.0.1, ::1) "
                           "unless you add --allow-remote").format(host=args.host))
    return host, None


def _record_dir(path: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise UsageError(_("--record {path}: cannot make that folder ({why})").format(path=path,
                                                                                     why=exc.strerror or exc)) from None
    if not os.path.isdir(path):
        raise UsageError(_("--record {path}: expected a folder").format(path=path))


def run(args: argparse.Namespace) -> int:
    plan = parse_plan(args)
    for path in list(args.output) + ([args.json] if args.json else []):
        check_output_path(path)  # before minutes of measuring, not after
    err = Console(stderr=True, highlight=False)
    err.print(fit(_("sockscope bench: {runs} runs ({rounds} interleaved rounds of {servers} servers x {modes} modes x "
                "{loads} loads of {duration:g} s, then capacity), about {seconds:.0f} s in all; loopback only. "
                "Ctrl-C stops it and keeps what was measured.").format(
        runs=plan.total_runs, rounds=plan.rounds, servers=len(plan.contenders), modes=len(plan.modes),
        loads=len(plan.connections), duration=plan.duration, seconds=plan.estimate_s), err.width))
    started = time.monotonic()
    result = run_bench(plan, _progress(err))
    if err.is_terminal:
        err.print(" " * 70, end="\r")
    result.machine["took_s"] = round(time.monotonic() - started, 1)  # the length bar, read by bench_twice.py
    result.machine["estimate_s"] = round(plan.estimate_s, 1)
    took = _("took {seconds:.0f} s").format(seconds=result.machine["took_s"])
    err.print(took + (_("; {why}").format(why=result.partial) if result.partial else ""))
    _print(args, plan, result)
    _write(args, result)
    return 130 if result.partial else 0


def _progress(err: Console):  # type: ignore[no-untyped-def]
    last = [""]

    def show(n: int, total: int, what: str) -> None:
        if err.is_terminal:
            err.print(ljust(truncate(f"  [{n}/{total}] {what}", 78), 78), end="\r")
            return
        phase = re.split("[:：]", what)[0]
        if phase != last[0]:  # one line a phase when not a terminal
            last[0] = phase
            err.print(f"  [{n}/{total}] {phase}")
    return show


def _print(args: argparse.Namespace, plan: Plan, result: BenchResult) -> None:
    out = Console(highlight=False)
    if args.format != "text":
        sys.stdout.write(bench_report.render(result, args.format))
        return
    for i, line in enumerate(bench_report.header(result)):
        out.print(fit(line, out.width), style="bold yellow" if result.partial and i == 0 else None)
    for mode in plan.modes:
        figs = [f for f in figures(result.samples) if f.mode == mode]
        if figs:
            titled(out, table(figs, mode, "rps"))
            out.print(chart(figs, mode, "rps"))
            titled(out, table(figs, mode, "p99_ms"))
            out.print(chart(figs, mode, "p99_ms"))
    out.print(fit(_("✗ starved: connections never answered in the whole run (warm-up and measured window); "
                "load-bound: the load generator ran at ≥{share} of a core there.").format(share="90%"), out.width))
    if one_accept_per_wake(result):
        out.print(fit(_("✗ on selectors: the lesson's selectors server accepts one connection per wake of select(); "
                    "see the verdict."), out.width))
    if result.capacity:
        titled(out, capacity_table(result))
    for line in warnings(result):
        out.print(fit(_("warning: {message}").format(message=line), out.width), style="yellow")
    cross = wrk_check(result)
    if cross:
        out.print(fit(cross, out.width))
    for path in result.recorded:
        out.print(_("recorded: {path}  (sockscope replay {path})").format(path=path))
    for note in result.notes:
        out.print(fit(_("note: {note}").format(note=note), out.width))
    out.print("\n[bold]" + _("Verdict") + "[/bold]")
    for line in verdict(result):
        out.print(fit(line, out.width))


def fit(text: str, width: int) -> str:
    """Chinese broken between characters to fit ``width`` (Rich breaks only at spaces, leaving half-empty
    lines around "0.15 s"); English is left to Rich, as before. Plain text only (no markup)."""
    if cell_len(text) == len(text):
        return text
    lines = []
    for line in text.split("\n"):
        cuts = [0, *break_offsets(line, width), len(line)]
        lines += [line[a:b].rstrip() for a, b in zip(cuts, cuts[1:], strict=False)]
    return "\n".join(lines)


def titled(out: Console, t: Table) -> None:
    """A table with its title on a line of its own, wrapped by :func:`fit` (Rich wraps a title at spaces only,
    to the table's width)."""
    title, t.title = str(t.title or ""), None
    out.print(fit(title, out.width), style="italic")
    out.print(t)


def _k(v: float) -> str:
    return f"{v / 1000:.1f}k" if v >= 10000 else f"{v:,.0f}"


def _span(low: float, high: float) -> str:
    """'57.4–60.1k': an interval in at most 11 characters (a column at 80 columns)."""
    if low >= 1000:
        return f"{low / 1000:.1f}–{high / 1000:.1f}k"
    return f"{low:,.0f}–{high:,.0f}"


def table(figs: list[Figure], mode: str, value: str) -> Table:
    """One row per model, one column per load: the figure over its spread, and how its connections fared."""
    what = _("requests/s ({pct} interval), server CPU per request").format(pct="95%") if value == "rps" else \
        _("p99 latency, ms (min–max over rounds)")
    t = Table(title=f"{mode}: {what}", title_justify="left", padding=(0, 1))
    t.add_column(_("model"))
    conns = sorted({f.connections for f in figs})
    for c in conns:
        t.add_column(_("{n} conn").format(n=c), justify="right")
    for name in dict.fromkeys(f.contender for f in figs):
        row = [name]
        for c in conns:
            f = next((f for f in figs if f.contender == name and f.connections == c), None)
            row.append(_cell(f, value) if f else "—")
        t.add_row(*row)
    return t


def _cell(f: Figure, value: str) -> str:
    if value == "rps":
        lines = [_k(f.rps), _span(f.rps_low, f.rps_high)]
        if f.server_us_per_request is not None:
            lines.append("[dim]" + _("{us:.0f} µs/req").format(us=f.server_us_per_request) + "[/dim]")
    else:
        lines = [f"{f.p99_ms:.1f}", f"{f.p99_ms_low:.1f}–{f.p99_ms_high:.1f}"]
    if f.starved:
        lines.append("[red]" + _("✗ {n}/{total} starved").format(n=f.starved, total=f.connections) + "[/red]")
    if f.closes_each:
        lines.append("[yellow]" + _("closes after each request") + "[/yellow]")
    if f.errors or f.timeouts:
        lines.append("[yellow]" + _("{errors} err {timeouts} t/o").format(errors=f.errors, timeouts=f.timeouts)
                     + "[/yellow]")
    if f.limited and value == "rps":
        lines.append("[yellow]" + _("load-bound") + "[/yellow]")
    return "\n".join(lines)


def chart(figs: list[Figure], mode: str, value: str, width: int = 36) -> str:
    """Bars per connection count and model: requests/s (linear) or p99 latency (log, it spans 1000×)."""
    log = value == "p99_ms"
    title = _("p99 latency (ms, log scale)") if log else _("requests/s")
    lines = ["\n" + _("{title} vs {mode} connections (▒ ✗: starved some)").format(title=title, mode=mode)]
    values = [max(getattr(f, value), 1e-3) for f in figs]
    peak = max(values, default=1.0)
    low = min(values, default=1.0)
    name_w = max(cell_len(f.contender) for f in figs)
    for c in sorted({f.connections for f in figs}):
        for i, f in enumerate(x for x in figs if x.connections == c):
            v = max(getattr(f, value), 1e-3)
            share = (math.log(v / low) / math.log(peak / low) if peak > low else 1.0) if log else v / peak
            bar = ("▒" if f.starved else "█") * max(1, round(share * width))
            shown = f"{v:,.2f} ms" if log else f"{v:,.0f}"
            lines.append(f"{str(c) if i == 0 else '':>5} {ljust(f.contender, name_w)} {bar:<{width}} {shown:>11}"
                         f"{' ✗' if f.starved else ''}")
    return "\n".join(lines)


def capacity_table(result: BenchResult) -> Table:
    t = Table(title=_("capacity: idle connections held open, plus busy ones (one round, a fresh server each)"),
              title_justify="left")
    for i, col in enumerate((_("model"), _("idle held"), "RSS", _("threads"), _("busy served"), _("note"))):
        t.add_column(col, justify="left" if i in (0, 5) else "right")
    for c in result.capacity:
        served = f"{c.busy_served}/{c.busy}" if c.held or not c.note else "—"
        style = "[red]" if c.held and c.busy_served < c.busy else ""
        t.add_row(c.contender, f"{c.held:,}/{c.idle:,}", bench_report.rss(c),
                  f"{c.threads:,}" if c.threads else "—", f"{style}{served}", c.note)
    return t


def warnings(result: BenchResult) -> list[str]:
    out = []
    if bench_report.busy(result):
        m = result.machine
        if m.get("other_work_cores") is not None:
            out.append(_("this machine was busy with other work (it used {other:.2f} of {cores} cores during the "
                         "run): requests/s and their ratios then reflect the scheduler as much as the servers; "
                         "server CPU per request (µs/req) is steadier; run it again when the machine is "
                         "quiet").format(other=m["other_work_cores"], cores=m["cores"]))
        else:
            out.append(_("this machine was busy with other work (load average {before:.1f} before, {after:.1f} "
                         "after, on {cores} cores): requests/s and their ratios then reflect the scheduler as much "
                         "as the servers; server CPU per request (µs/req) is steadier; run it again when the machine "
                         "is quiet").format(before=m.get("load_average_before") or 0,
                                            after=m.get("load_average_after") or 0, cores=m["cores"]))
    bound = [f for f in figures(result.samples) if f.limited]
    if bound:
        which = ", ".join(f"{f.contender}@{f.connections} {f.mode}" for f in bound[:6])
        out.append(ngettext("the load generator used ≥{share} of a core in {n} cell ({which}): there the server may "
                            "do more than shown", "the load generator used ≥{share} of a core in {n} cells ({which}): "
                            "there the server may do more than shown", len(bound)).format(
            share="90%", n=len(bound), which=which + (", ..." if len(bound) > 6 else ""))
                   + ("" if any(s.generator == "wrk" for s in result.samples) else _("; install wrk to cross-check")))
    return out


def wrk_check(result: BenchResult) -> str | None:
    """selectors/thread by the built-in generator and by wrk, paired in time (see :func:`cross_check_line`)."""
    return cross_check_line(result)


def _write(args: argparse.Namespace, result: BenchResult) -> None:
    targets = list(args.output) + ([args.json] if args.json else [])
    for path in targets:
        fmt = "json" if path == args.json else os.path.splitext(path)[1].lower().lstrip(".")
        write_text(path, bench_report.render(result, fmt))  # as > path would: a device or FIFO in place
        print(_("wrote {path}").format(path=path), file=sys.stderr)
