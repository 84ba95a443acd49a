"""A soak: every model, tracing on, under a rotating mix of scenarios (and wrk/ab where installed).

    python bench/soak.py                 # 10 minutes in all, shared by the five models
    python bench/soak.py --minutes 2 --models pool,selectors

Each model's server runs in its own process (``sockscope serve MODEL --record FILE``, loopback, port
0) for its share of the time. Rounds of load rotate through the scenarios (burst, ramp, keepalive,
churn, slowloris, cpu) and, where installed, 2 s of ``wrk`` and of ``ab -k``. After every round the
server's /proc (Linux; elsewhere said once and skipped) gives its open descriptors, threads and RSS.
At the end: no descriptor or thread left over since the first round, the RSS slope after warm-up
(KiB per minute, least squares over the rounds after the first third), the recording passes
``check`` with accepts == closes and 0 dropped, and no traceback on any stderr. One line per model;
exit status 1 if any model failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import servers  # noqa: E402
from servers import Settings  # noqa: E402
from tracer.analysis.check import check_file  # noqa: E402
from tracer.clients import program  # noqa: E402
from tracer.recording.reader import load  # noqa: E402
from tracer.run.processes import server_argv, stop_process  # noqa: E402

SCENARIOS = [("burst", ["clients=30"]), ("ramp", []), ("keepalive", []), ("churn", []),
             ("slowloris", []), ("cpu", ["clients=5"])]
PROC = Path("/proc")


@dataclass
class Sample:
    t: float
    fds: int
    threads: int
    rss_kib: int


@dataclass
class Soak:
    model: str
    rounds: int = 0
    samples: list[Sample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def sample(pid: int) -> Sample | None:
    """The server's open descriptors, threads and RSS from /proc (None where there is no /proc)."""
    if not (PROC / str(pid) / "status").exists():
        return None
    status = (PROC / str(pid) / "status").read_text()
    threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
    rss = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
    return Sample(time.monotonic(), len(os.listdir(PROC / str(pid) / "fd")), threads, rss)


def start_server(model: str, path: Path, err: Path) -> tuple[subprocess.Popen[str], tuple[str, int]]:
    proc = subprocess.Popen(server_argv(Settings(model=model, workers=10), str(path)), stdout=subprocess.PIPE,
                            stderr=err.open("w"), text=True, start_new_session=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"http://([\d.]+):(\d+)/", line)
    if not m:
        raise SystemExit(f"the {model} server did not start: {line!r}")
    return proc, (m.group(1), int(m.group(2)))


def load_round(n: int, address: tuple[str, int], path: Path, err: Path) -> None:
    """One round of load: the next scenario of the rotation, or wrk/ab where installed."""
    tools = [t for t in ("wrk", "ab") if shutil.which(t)]
    choices = SCENARIOS + [(t, []) for t in tools]
    name, sets = choices[n % len(choices)]
    url = f"http://{address[0]}:{address[1]}/"
    if name == "wrk":
        cmd = ["wrk", "-t2", "-c20", "-d2s", url]
    elif name == "ab":
        cmd = ["ab", "-q", "-k", "-c", "10", "-t", "2", "-n", "20000", url]
    else:
        cmd = program.argv(address, name, dict(s.split("=") for s in sets), str(path))
    with err.open("a") as e:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=e, timeout=120, check=False)


def slope_kib_per_min(samples: list[Sample]) -> float:
    """Least-squares RSS slope over the samples after the first third (warm-up)."""
    xs = samples[len(samples) // 3:]
    if len(xs) < 2:
        return 0.0
    mt = sum(s.t for s in xs) / len(xs)
    mr = sum(s.rss_kib for s in xs) / len(xs)
    den = sum((s.t - mt) ** 2 for s in xs)
    return 60 * sum((s.t - mt) * (s.rss_kib - mr) for s in xs) / den if den else 0.0


def soak(model: str, seconds: float, folder: Path) -> Soak:
    out = Soak(model)
    path, err, cerr = folder / f"{model}.jsonl", folder / f"{model}.server.err", folder / f"{model}.clients.err"
    proc, address = start_server(model, path, err)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            load_round(out.rounds, address, path, cerr)
            out.rounds += 1
            s = sample(proc.pid)
            if s is not None:
                out.samples.append(s)
    finally:
        status = stop_process(proc, grace=10)
    if status != 0:
        out.problems.append(f"server exit status {status}")
    if len(out.samples) > 1:
        first, last = out.samples[0], out.samples[-1]
        if last.fds > first.fds:
            out.problems.append(f"descriptors {first.fds} -> {last.fds}")
        if last.threads > first.threads:
            out.problems.append(f"threads {first.threads} -> {last.threads}")
    findings = check_file(path)
    if findings:
        out.problems.append(f"check: {len(findings)} findings, first: {findings[0].message}")
    rec = load(path)
    server_lanes = {lane.id for lane in rec.server_lanes()}
    accepts = sum(1 for e in rec.events() if e.kind == "accept" and e.conn > 0 and e.lane in server_lanes)
    closes = sum(1 for e in rec.events() if e.kind == "close" and e.conn > 0 and e.lane in server_lanes)
    if accepts != closes:
        out.problems.append(f"{accepts} accepts, {closes} closes")
    if rec.dropped:
        out.problems.append(f"{rec.dropped} dropped")
    for f in (err, cerr):
        if f.exists() and "Traceback" in f.read_text(errors="replace"):
            out.problems.append(f"a traceback in {f.name}")
    out.problems += [] if out.samples or not sys.platform.startswith("linux") else ["no /proc samples"]
    print(f"{model:<10} {out.rounds:>3} rounds  {accepts:>7,} connections  "
          f"fds {_ends(out, 'fds')}  threads {_ends(out, 'threads')}  "
          f"RSS {out.samples[-1].rss_kib if out.samples else 0:,} KiB, "
          f"slope {slope_kib_per_min(out.samples):+.0f} KiB/min  "
          f"{'ok' if not out.problems else 'FAIL: ' + '; '.join(out.problems)}", flush=True)
    return out


def _ends(out: Soak, what: str) -> str:
    if not out.samples:
        return "-"
    return f"{getattr(out.samples[0], what)}->{getattr(out.samples[-1], what)}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="in all, shared by the models (default 10)")
    ap.add_argument("--models", default=",".join(servers.MODELS))
    ap.add_argument("--keep", metavar="DIR", help="keep the recordings and logs here")
    args = ap.parse_args()
    if not 0.1 <= args.minutes <= 600:
        ap.error("--minutes: expected 0.1 to 600")
    models = [m for m in args.models.split(",") if m]
    if not sys.platform.startswith("linux"):
        print("soak: no /proc here: descriptors, threads and RSS are not checked", file=sys.stderr)
    print(f"soak: {args.minutes:g} min, {len(models)} models, tracing on; load tools: "
          f"{', '.join(t for t in ('wrk', 'ab') if shutil.which(t)) or 'none (scenarios only)'}; "
          "loopback only", flush=True)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sockscope-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = [soak(m, args.minutes * 60 / len(models), folder) for m in models]
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
