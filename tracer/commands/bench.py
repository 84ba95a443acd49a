"""``sockscope bench``: requests per second and latency per model, at rising concurrency."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

import servers
from tracer.commands.common import non_negative, positive_int
from tracer.errors import UsageError
from tracer.run.benchmark import Cell, Plan, run_plan


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="compare the models' throughput and latency under the same load",
        description="Start each model in its own process, drive it with N keep-alive connections from another "
                    "process for a fixed time, and print requests per second, latency (p50, p99) and connections "
                    "never answered ('starved'), as a table and a chart. Answers the lesson's question: how much "
                    "faster is IO multiplexing?")
    p.add_argument("--models", default=",".join(servers.MODELS),
                   help=f"comma-separated models (default: {','.join(servers.MODELS)})")
    p.add_argument("--connections", default="1,10,50", help="comma-separated connection counts (default 1,10,50)")
    p.add_argument("--duration", type=non_negative, default=1.5, help="seconds of load per run (default 1.5)")
    p.add_argument("--tracing", choices=["off", "on", "both"], default="off",
                   help="measure untraced servers, traced ones, or both side by side (default off)")
    p.add_argument("--workers", type=positive_int, default=10, help="pool size (default 10)")
    p.add_argument("--work-ms", type=non_negative, default=0, help="each request waits this long (as on a database)")
    p.add_argument("--cpu-ms", type=non_negative, default=0, help="each request computes this long")
    p.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")
    p.set_defaults(func=run)


def parse_plan(args: argparse.Namespace) -> Plan:
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    unknown = [m for m in models if m not in servers.MODELS]
    if unknown or not models:
        raise UsageError(f"unknown model {', '.join(unknown) or '(none)'}; choose from {', '.join(servers.MODELS)}")
    try:
        conns = tuple(int(c) for c in args.connections.split(","))
    except ValueError:
        raise UsageError(f"--connections: expected numbers like 1,10,50, got {args.connections!r}") from None
    if not conns or any(not 1 <= c <= 2000 for c in conns):
        raise UsageError("--connections: each count must be from 1 to 2000")
    if not 0.2 <= args.duration <= 60:
        raise UsageError("--duration: expected 0.2 to 60 seconds")
    tracing = {"off": (False,), "on": (True,), "both": (False, True)}[args.tracing]
    return Plan(models, conns, tracing, args.duration, args.workers, args.work_ms, args.cpu_ms)


def run(args: argparse.Namespace) -> int:
    plan = parse_plan(args)
    err = Console(stderr=True)
    err.print(f"sockscope bench: {plan.runs} runs of {plan.duration:g} s, about {plan.estimate_s:.0f} s in all "
              "(loopback only)")
    cells = run_plan(plan, lambda n, what: err.print(f"  [{n}/{plan.runs}] {what}", highlight=False))
    out = Console()
    out.print(table(plan, cells))
    out.print(chart(plan, cells), highlight=False)
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump([c.__dict__ for c in cells], f, indent=1)
        except OSError as exc:
            raise UsageError(f"cannot write {args.json}: {exc.strerror or exc}") from None
    if any(c.starved for c in cells):
        print("starved: connections that got no answer at all during the run (a busy pool, or a single thread)",
              file=sys.stderr)
    return 0


def table(plan: Plan, cells: list[Cell]) -> Table:
    t = Table(title="requests/s · p99 latency · starved connections", title_justify="left")
    t.add_column("model")
    if len(plan.tracing) > 1:
        t.add_column("tracing")
    for c in plan.connections:
        t.add_column(f"{c} conn", justify="right")
    if len(plan.tracing) > 1:
        t.add_column("on/off", justify="right")
    for model in plan.models:
        for tracing in plan.tracing:
            row = [model] + (["on" if tracing else "off"] if len(plan.tracing) > 1 else [])
            mine = [c for c in cells if c.model == model and c.tracing == tracing]
            for cell in mine:
                starved = f" · {cell.starved} starved" if cell.starved else ""
                row.append(f"{cell.rps:,.0f} · {cell.p99_us / 1000:.1f} ms{starved}")
            if len(plan.tracing) > 1:
                row.append(_ratio(cells, model) if tracing else "")
            t.add_row(*row)
    return t


def _ratio(cells: list[Cell], model: str) -> str:
    on = sum(c.rps for c in cells if c.model == model and c.tracing)
    off = sum(c.rps for c in cells if c.model == model and not c.tracing)
    return f"{on / off:.2f}" if off else "-"


def chart(plan: Plan, cells: list[Cell], width: int = 40) -> str:
    """Bars of requests/s per model at the highest connection count."""
    top = max(plan.connections)
    chosen = [c for c in cells if c.connections == top and c.tracing == plan.tracing[0]]
    peak = max((c.rps for c in chosen), default=0) or 1
    lines = [f"\nrequests/s with {top} keep-alive connections:"]
    for c in chosen:
        bar = "█" * max(1 if c.rps else 0, round(c.rps / peak * width))
        lines.append(f"  {c.model:<10} {bar:<{width}} {c.rps:>9,.0f}")
    return "\n".join(lines)
