"""``sockscope bench``: how much faster is IO multiplexing, and why (LESSONS row 13)."""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import socket
import sys
import time

from rich.console import Console
from rich.table import Table

import servers
from tracer import addresses
from tracer.analysis.bench_figures import TRACED, BenchResult, Figure, figures, fmt_ratio, ratio
from tracer.analysis.bench_verdict import headline_figures, one_accept_per_wake, verdict
from tracer.clients.loadgen import MODES
from tracer.commands.common import non_negative, positive_int
from tracer.errors import UsageError
from tracer.export import bench_report
from tracer.locale import _
from tracer.outputs import check_output_path, write_text
from tracer.run import loaddrivers
from tracer.run.benchmark import Contender, Plan, run_bench, socket_path
from tracer.run.programs import ProgramSpec, check_program

MAX_CONNECTIONS = 5000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help=_("how much faster is IO multiplexing? the models side by side under the same load"),
        description="Start each model in its own process and drive them all, in interleaved rounds, from one load "
                    "generator process: requests/s and p50/p99 latency at rising concurrency (keep-alive and one "
                    "request per connection) with their 95%% intervals, every connection's outcome (starved, errors, "
                    "timeouts), what idle connections cost (memory, threads), and a verdict in words. The default "
                    "run takes about a minute and a half and says how long before it starts.")
    p.add_argument("--models", default=",".join(servers.MODELS),
                   help=f"comma-separated models (default: {','.join(servers.MODELS)})")
    p.add_argument("--connections", default="1,10,50,200,1000",
                   help="comma-separated connection counts (default 1,10,50,200,1000)")
    p.add_argument("--modes", default=",".join(MODES),
                   help="keep-alive (a connection sends request after request) and/or close (one request per "
                        "connection, as ab does) (default both)")
    p.add_argument("--rounds", type=positive_int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--duration", type=non_negative, default=0.25,
                   help="seconds of load per run, after a warm-up (default 0.25)")
    p.add_argument("--capacity", default="100,1000,5000",
                   help="idle connections to hold open, comma-separated, or 'none' (default 100,1000,5000; "
                        "bounded by this machine's limits, which the bench checks)")
    p.add_argument("--busy", type=positive_int, default=4, help="busy connections beside the idle ones (default 4)")
    p.add_argument("--headline", type=positive_int, default=50,
                   help="the connections the verdict speaks of (default 50)")
    p.add_argument("--tracing", choices=["off", "on", "both"], default="off",
                   help="measure untraced servers, traced ones, or both side by side (default off)")
    p.add_argument("--workers", type=positive_int, default=10, help="pool size (default 10)")
    p.add_argument("--work-ms", type=non_negative, default=0, help="each request waits this long (as on a database)")
    p.add_argument("--cpu-ms", type=non_negative, default=0,
                   help="each request computes this long: the CPU-bound case, where multiplexing does not help")
    p.add_argument("--pin", action="store_true",
                   help="servers on one core, the load on another (Linux): shows what the GIL's core hops cost")
    p.add_argument("--wrk", choices=["auto", "on", "off"], default="auto",
                   help="cross-check the headline load with wrk: auto (when installed), on, off (default auto)")
    p.add_argument("--target", metavar="HOST:PORT", action="append", default=[],
                   help="also measure a server already listening there (loopback only, unless --allow-remote)")
    p.add_argument("--allow-remote", action="store_true", help="let --target and --host aim beyond this machine")
    p.add_argument("--host", default="127.0.0.1",
                   help="where the models listen and the load goes: 127.0.0.1 (default), ::1 (IPv6) or another "
                        "loopback address; any other only with --allow-remote")
    p.add_argument("--unix", metavar="FOLDER", nargs="?", const="",
                   help="the models listen on Unix sockets instead of TCP, one per server, in FOLDER (default: a "
                        "new temporary folder, removed at the end); wrk cannot reach them, so no cross-check")
    p.add_argument("--program", metavar="FILE.py", action="append", default=[],
                   help="also measure your own server program, started as the models are (untraced, on "
                        "127.0.0.1, a free port whatever it binds); repeatable")
    p.add_argument("-m", "--module", metavar="MODULE", action="append", default=[],
                   help="also measure a server module (python -m MODULE), as --program")
    p.add_argument("--record", metavar="DIR", help="also record one run of each model into DIR, to open on the "
                                                   "timeline (sockscope replay DIR/MODEL.jsonl)")
    p.add_argument("--format", choices=["text", *bench_report.FORMATS[:3]], default="text",
                   help="what to print: text (a table and charts), md, csv or json (default text)")
    p.add_argument("-o", "--output", metavar="FILE", action="append", default=[],
                   help="also write FILE; its suffix picks the format: .svg (a chart), .md, .csv, .json")
    p.add_argument("--json", metavar="FILE", help="also write the measurements as JSON (as -o FILE.json)")
    p.set_defaults(func=run)


def _numbers(text: str, what: str, low: int, high: int) -> tuple[int, ...]:
    try:
        values = tuple(int(c) for c in text.split(",") if c.strip())
    except ValueError:
        raise UsageError(f"{what}: expected numbers like 1,10,50, got {text!r}") from None
    if not values or any(not low <= v <= high for v in values):
        raise UsageError(f"{what}: each count must be from {low} to {high:,}")
    return tuple(dict.fromkeys(values))


def parse_target(text: str, allow_remote: bool) -> tuple[str, int]:
    """HOST:PORT (or [v6]:PORT), resolved; a loopback address unless ``allow_remote``."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--target: expected HOST:PORT like 127.0.0.1:8000, got {text!r}")
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"--target: cannot resolve {host!r}: {exc.strerror}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not allow_remote and not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise UsageError(f"--target {text}: not this machine ({', '.join(sorted(set(addresses)))}); load is sent "
                         "only to loopback unless you add --allow-remote (and own that server)")
    try:
        socket.create_connection((addresses[0], int(port)), timeout=3).close()
    except OSError as exc:
        raise UsageError(f"--target {text}: nothing answers there ({exc.strerror or exc})") from None
    return addresses[0], int(port)


def _contenders(args: argparse.Namespace) -> tuple[Contender, ...]:
    models = tuple(dict.fromkeys(m.strip() for m in args.models.split(",") if m.strip()))
    unknown = [m for m in models if m not in servers.MODELS]
    if unknown or not (models or args.target or args.program or args.module):
        raise UsageError(f"unknown model {', '.join(unknown) or '(none)'}; choose from {', '.join(servers.MODELS)}")
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
        raise UsageError(f"--modes: expected keep-alive and/or close, got {args.modes!r}")
    if not 0.1 <= args.duration <= 60:
        raise UsageError("--duration: expected 0.1 to 60 seconds")
    if args.rounds > 50:
        raise UsageError("--rounds: at most 50")
    capacity = () if args.capacity.strip().lower() in ("none", "off", "0", "") else \
        _numbers(args.capacity, "--capacity", 1, 50000)
    if args.pin and (why := loaddrivers.pinning_problem()):
        raise UsageError(why)
    host, unix = _where(args)
    if unix is not None and args.wrk == "on":
        raise UsageError("--wrk on: wrk cannot reach a Unix socket; leave out --unix or --wrk on")
    wrk = None if args.wrk == "off" or unix is not None else loaddrivers.wrk_path()
    if args.wrk == "on" and wrk is None:
        raise UsageError("--wrk on: wrk is not installed (apt-get install wrk, brew install wrk)")
    for out in args.output:
        if os.path.splitext(out)[1].lower().lstrip(".") not in bench_report.FORMATS:
            raise UsageError(f"-o {out}: expected a name ending in .svg, .md, .csv or .json")
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
            raise UsageError("--unix listens on paths, not on a host: give --host or --unix, not both")
        if args.unix:
            if not os.path.isdir(args.unix):
                raise UsageError(f"--unix {args.unix}: expected an existing folder for the servers' sockets")
            longest = max(servers.MODELS, key=len)
            addresses.check_unix_path(socket_path(args.unix, longest, 99999))  # the longest path it will bind
        elif not addresses.unix_supported():
            raise UsageError("--unix: this Python has no Unix sockets (AF_UNIX); leave out --unix")
        return "127.0.0.1", args.unix
    host = addresses.listen_host(args.host)
    if not args.allow_remote and not addresses.is_loopback(host):
        raise UsageError(f"--host {args.host}: not this machine; the bench sends load only to loopback "
                         "(127.0.0.1, ::1) unless you add --allow-remote")
    return host, None


def _record_dir(path: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--record {path}: cannot make that folder ({exc.strerror or exc})") from None
    if not os.path.isdir(path):
        raise UsageError(f"--record {path}: expected a folder")


def run(args: argparse.Namespace) -> int:
    plan = parse_plan(args)
    for path in list(args.output) + ([args.json] if args.json else []):
        check_output_path(path)  # before minutes of measuring, not after
    err = Console(stderr=True, highlight=False)
    err.print(f"sockscope bench: {plan.total_runs} runs ({plan.rounds} interleaved rounds of "
              f"{len(plan.contenders)} servers x {len(plan.modes)} modes x {len(plan.connections)} loads of "
              f"{plan.duration:g} s, then capacity), about {plan.estimate_s:.0f} s in all; loopback only. "
              "Ctrl-C stops it and keeps what was measured.")
    started = time.monotonic()
    result = run_bench(plan, _progress(err))
    if err.is_terminal:
        err.print(" " * 70, end="\r")
    err.print(f"took {time.monotonic() - started:.0f} s" + (f"; {result.partial}" if result.partial else ""))
    _print(args, plan, result)
    _write(args, result)
    return 130 if result.partial else 0


def _progress(err: Console):  # type: ignore[no-untyped-def]
    last = [""]

    def show(n: int, total: int, what: str) -> None:
        if err.is_terminal:
            err.print(f"  [{n}/{total}] {what}"[:78].ljust(78), end="\r")
            return
        phase = what.split(":")[0]
        if phase != last[0]:  # one line a phase when not a terminal
            last[0] = phase
            err.print(f"  [{n}/{total}] {phase}")
    return show


def _print(args: argparse.Namespace, plan: Plan, result: BenchResult) -> None:
    out = Console(highlight=False)
    if args.format != "text":
        sys.stdout.write(bench_report.render(result, args.format))
        return
    for line in bench_report.header(result):
        out.print(line, style="bold yellow" if line.startswith("PARTIAL") else None)
    for mode in plan.modes:
        figs = [f for f in figures(result.samples) if f.mode == mode]
        if figs:
            out.print(table(figs, mode, "rps"))
            out.print(chart(figs, mode, "rps"))
            out.print(table(figs, mode, "p99_ms"))
            out.print(chart(figs, mode, "p99_ms"))
    out.print("✗ starved: connections never answered in the whole run (warm-up and measured window); "
              "load-bound: the load generator ran at ≥90% of a core there.")
    if one_accept_per_wake(result):
        out.print("✗ on selectors: the lesson's selectors server accepts one connection per wake of select(); "
                  "see the verdict.")
    if result.capacity:
        out.print(capacity_table(result))
    for line in warnings(result):
        out.print(f"warning: {line}", style="yellow")
    cross = wrk_check(result)
    if cross:
        out.print(cross)
    for path in result.recorded:
        out.print(f"recorded: {path}  (sockscope replay {path})")
    for note in result.notes:
        out.print(f"note: {note}")
    out.print("\n[bold]Verdict[/bold]")
    for line in verdict(result):
        out.print(line)


def _k(v: float) -> str:
    return f"{v / 1000:.1f}k" if v >= 10000 else f"{v:,.0f}"


def _span(low: float, high: float) -> str:
    """'57.4–60.1k': an interval in at most 11 characters (a column at 80 columns)."""
    if low >= 1000:
        return f"{low / 1000:.1f}–{high / 1000:.1f}k"
    return f"{low:,.0f}–{high:,.0f}"


def table(figs: list[Figure], mode: str, value: str) -> Table:
    """One row per model, one column per load: the figure over its spread, and how its connections fared."""
    what = "requests/s (95% interval), server CPU per request" if value == "rps" else \
        "p99 latency, ms (min–max over rounds)"
    t = Table(title=f"{mode}: {what}", title_justify="left", padding=(0, 1))
    t.add_column("model")
    conns = sorted({f.connections for f in figs})
    for c in conns:
        t.add_column(f"{c} conn", justify="right")
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
            lines.append(f"[dim]{f.server_us_per_request:.0f} µs/req[/dim]")
    else:
        lines = [f"{f.p99_ms:.1f}", f"{f.p99_ms_low:.1f}–{f.p99_ms_high:.1f}"]
    if f.starved:
        lines.append(f"[red]✗ {f.starved}/{f.connections} starved[/red]")
    if f.errors or f.timeouts:
        lines.append(f"[yellow]{f.errors} err {f.timeouts} t/o[/yellow]")
    if f.limited and value == "rps":
        lines.append("[yellow]load-bound[/yellow]")
    return "\n".join(lines)


def chart(figs: list[Figure], mode: str, value: str, width: int = 36) -> str:
    """Bars per connection count and model: requests/s (linear) or p99 latency (log, it spans 1000×)."""
    log = value == "p99_ms"
    title = "p99 latency (ms, log scale)" if log else "requests/s"
    lines = [f"\n{title} vs {mode} connections (▒ ✗: starved some)"]
    values = [max(getattr(f, value), 1e-3) for f in figs]
    peak = max(values, default=1.0)
    low = min(values, default=1.0)
    name_w = max(len(f.contender) for f in figs)
    for c in sorted({f.connections for f in figs}):
        for i, f in enumerate(x for x in figs if x.connections == c):
            v = max(getattr(f, value), 1e-3)
            share = (math.log(v / low) / math.log(peak / low) if peak > low else 1.0) if log else v / peak
            bar = ("▒" if f.starved else "█") * max(1, round(share * width))
            shown = f"{v:,.2f} ms" if log else f"{v:,.0f}"
            lines.append(f"{str(c) if i == 0 else '':>5} {f.contender:<{name_w}} {bar:<{width}} {shown:>11}"
                         f"{' ✗' if f.starved else ''}")
    return "\n".join(lines)


def capacity_table(result: BenchResult) -> Table:
    t = Table(title="capacity: idle connections held open, plus busy ones (one round, a fresh server each)",
              title_justify="left")
    for col in ("model", "idle held", "RSS", "threads", "busy served", "note"):
        t.add_column(col, justify="left" if col in ("model", "note") else "right")
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
        out.append(f"this machine was busy with other work (load average {m.get('load_average_before') or 0:.1f} "
                   f"before, {m.get('load_average_after') or 0:.1f} after, on {m['cores']} cores): requests/s and "
                   "their ratios then reflect the scheduler as much as the servers; server CPU per request (µs/req) "
                   "is steadier; run it again when the machine is quiet")
    bound = [f for f in figures(result.samples) if f.limited]
    if bound:
        which = ", ".join(f"{f.contender}@{f.connections} {f.mode}" for f in bound[:6])
        out.append(f"the load generator used ≥90% of a core in {len(bound)} cells ({which}"
                   f"{', ...' if len(bound) > 6 else ''}): there the server may do more than shown"
                   + ("" if any(s.generator == "wrk" for s in result.samples) else "; install wrk to cross-check"))
    return out


def wrk_check(result: BenchResult) -> str | None:
    """selectors/thread by the built-in generator and by wrk, side by side from the same rounds."""
    figs = headline_figures(result)
    names = {f.contender for f in figs}
    if not any(s.generator == "wrk" for s in result.samples):
        return None
    traced = next((t for t in ("", TRACED) if {"selectors" + t, "thread" + t} <= names), None)
    if traced is None:
        return None
    a, b = "selectors" + traced, "thread" + traced
    conns = figs[0].connections
    ours = ratio(result.samples, a, b, "keep-alive", conns)
    theirs = ratio(result.samples, a, b, "keep-alive", conns, "wrk")
    if ours is None or theirs is None:
        return None
    return (f"{a}/{b} at {conns} keep-alive connections: built-in {fmt_ratio(ours)}, wrk {fmt_ratio(theirs)}"
            f" (built-in/wrk {ours.value / theirs.value:.2f})")


def _write(args: argparse.Namespace, result: BenchResult) -> None:
    targets = list(args.output) + ([args.json] if args.json else [])
    for path in targets:
        fmt = "json" if path == args.json else os.path.splitext(path)[1].lower().lstrip(".")
        write_text(path, bench_report.render(result, fmt))  # as > path would: a device or FIFO in place
        print(f"wrote {path}", file=sys.stderr)
