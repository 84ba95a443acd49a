"""``sockscope bench``: the models side by side under the same load (LESSONS row 13).

For each model, each number of keep-alive connections and each tracing mode,
a fresh server process is started, ``tracer.clients.loadgen`` (another process, so
neither shares the other's GIL) drives it for a fixed time, and the server is
stopped.  Every run is bounded: the whole plan's length is printed first.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from servers import Settings
from tracer import child
from tracer.errors import TracerError
from tracer.run.processes import ServerProcess


@dataclass(frozen=True)
class Cell:
    """One measurement: a model, a load, a tracing mode."""

    model: str
    connections: int
    tracing: bool
    rps: float
    p50_us: float
    p99_us: float
    starved: int
    errors: int
    refused: int


@dataclass(frozen=True)
class Plan:
    models: tuple[str, ...]
    connections: tuple[int, ...]
    tracing: tuple[bool, ...]
    duration: float
    workers: int = 10
    work_ms: float = 0
    cpu_ms: float = 0

    @property
    def runs(self) -> int:
        return len(self.models) * len(self.connections) * len(self.tracing)

    @property
    def estimate_s(self) -> float:
        return self.runs * (self.duration + 1.0)  # ~1 s to start and stop each server


def run_plan(plan: Plan, progress: Callable[[int, str], None] | None = None) -> list[Cell]:
    """Measure every cell of ``plan``, in order."""
    cells = []
    n = 0
    for model in plan.models:
        for tracing in plan.tracing:
            for conns in plan.connections:
                n += 1
                if progress is not None:
                    plural = "s" if conns != 1 else ""
                    progress(n, f"{model}, {conns} connection{plural}, tracing {'on' if tracing else 'off'}")
                cells.append(measure(plan, model, conns, tracing))
    return cells


def measure(plan: Plan, model: str, connections: int, tracing: bool) -> Cell:
    """One server process, one load run."""
    cfg = Settings(model=model, workers=plan.workers, work_ms=plan.work_ms, cpu_ms=plan.cpu_ms,
                   timeout=None, backlog=max(128, connections))
    with tempfile.TemporaryDirectory(prefix="sockscope-bench-") as tmp:
        record = os.path.join(tmp, "bench.jsonl") if tracing else None
        server = _start(cfg, record)
        try:
            host, port = server.address  # type: ignore[misc]
            result = run_load(host, port, connections, plan.duration)
        finally:
            server.stop()
    return Cell(model, connections, tracing, result["rps"], result["p50_us"], result["p99_us"],
                result["starved"], result["errors"], result["refused"])


def _start(cfg: Settings, record: str | None) -> ServerProcess:
    server = ServerProcess(cfg, record)  # record None: tracing off, no recorder at all
    server.start()
    return server


def run_load(host: str, port: int, connections: int, duration: float) -> dict[str, Any]:
    """``tracer.clients.loadgen`` in its own process against host:port; its summary (rps, p50_us, starved, ...)."""
    argv = child.module_argv("tracer.clients.loadgen", host, str(port), "--connections", str(connections),
                             "--duration", repr(duration))
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False,
                              env=child.env())
    except subprocess.TimeoutExpired:
        raise TracerError(f"the load generator did not finish within {duration + 60:g} s") from None
    if done.returncode != 0:
        raise TracerError(f"the load generator failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]
