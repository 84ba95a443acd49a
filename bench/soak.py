"""A soak: every model, tracing on, under a rotating mix of scenarios (and wrk/ab where installed).

    python bench/soak.py                 # 10 minutes in all, shared by the five models
    python bench/soak.py --minutes 2 --models pool,selectors

Each model's server runs in its own process (``sockscope serve MODEL --record FILE``, loopback, port
0) for its share of the time. Rounds of load rotate through the scenarios (burst, ramp, keepalive,
churn, slowloris, cpu) and, where installed, 2 s of ``wrk`` and of ``ab -k``. After every round the
server's /proc (Linux; elsewhere said once and skipped) gives its open descriptors, threads and RSS.
At the end: no descriptor or thread left over since the first round, the RSS slope after warm-up
judged (:func:`judge_rss`: over 1 MiB a minute fails; it needs about 2 minutes a model, the default's
share: a shorter run says "not judged"), the recording passes ``check`` with accepts == closes and 0
dropped, and no traceback on any stderr. One line per model; exit status 1 if any model failed.
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

# RSS growth after warm-up above this is a leak (judge_rss).  Measured here after warm-up (the servers
# healthy, 2 cores at load ~9): up to ~600 KiB/min (thread, 3 min), the other models under 300.  At this
# soak's load (~120,000 requests and ~600 connections a minute) 1 MiB/min is ~9 bytes a request or
# ~1.8 KiB a connection: any leak of a buffer or an object per request crosses it.  One per connection
# smaller than that is tracemalloc's to find (the thread model's lane entries, 150 B each, were).
LEAK_KIB_PER_MIN = 1024
# Warm-up: half the rounds, and at least three whole rotations of the loads. The thread model's RSS still
# rose ~600 KiB in its third rotation (3 MiB/min for 12 s), then ~0-400 KiB a rotation, less and less,
# all of it in the wrk and ab rounds (the most requests at once); tracemalloc saw Python's heap flat.
WARM_UP_ROTATIONS = 3
JUDGED_ROTATIONS = 2  # a slope over fewer rounds than this many rotations is not judged


@dataclass
class Sample:
    t: float
    fds: int
    threads: int
    rss_kib: int
    load: str = ""  # the round's load that came before this sample


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


def rotation() -> list[tuple[str, list[str]]]:
    """The rounds' loads, in turn: the scenarios, then wrk and ab where installed."""
    return SCENARIOS + [(t, []) for t in ("wrk", "ab") if shutil.which(t)]


def load_round(n: int, address: tuple[str, int], path: Path, err: Path) -> str:
    """One round of load: the next scenario of the rotation, or wrk/ab where installed.  Returns its name."""
    name, sets = rotation()[n % len(rotation())]
    url = f"http://{address[0]}:{address[1]}/"
    if name == "wrk":
        cmd = ["wrk", "-t2", "-c20", "-d2s", url]
    elif name == "ab":
        cmd = ["ab", "-q", "-k", "-c", "10", "-t", "2", "-n", "20000", url]
    else:
        cmd = program.argv(address, name, dict(s.split("=") for s in sets), str(path))
    with err.open("a") as e:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=e, timeout=120, check=False)
    return name


def slope_kib_per_min(xs: list[Sample]) -> float:
    """Least-squares RSS slope of ``xs``, KiB a minute."""
    if len(xs) < 2:
        return 0.0
    mt = sum(s.t for s in xs) / len(xs)
    mr = sum(s.rss_kib for s in xs) / len(xs)
    den = sum((s.t - mt) ** 2 for s in xs)
    return 60 * sum((s.t - mt) * (s.rss_kib - mr) for s in xs) / den if den else 0.0


@dataclass
class RssVerdict:
    words: str  # for the model's line
    problem: str | None = None  # a leak
    slope: float | None = None  # KiB/min after warm-up; None: not judged


def judge_rss(samples: list[Sample], per_rotation: int) -> RssVerdict:
    """The RSS slope after warm-up, and whether it is a leak.

    A healthy server's memory grows until each kind of load has come at its peak: the most threads at
    once (their stacks), the largest batch of events (the allocator keeps what it once needed).  So the
    first half of the rounds, and at least ``WARM_UP_ROTATIONS`` whole rotations of the loads, are
    warm-up.  A leak grows with every request or connection: it goes on after.  The rest is judged by
    its least-squares slope, if it spans ``JUDGED_ROTATIONS`` whole rotations (most requests come in a
    rotation's wrk and ab rounds); else it is not judged, and the line says so.
    """
    skip = max(len(samples) // 2, WARM_UP_ROTATIONS * per_rotation)
    judged = samples[skip:]
    need = max(JUDGED_ROTATIONS * per_rotation, 2)
    if len(judged) < need:
        return RssVerdict(f"slope not judged: {len(judged)} rounds after {skip} of warm-up, "
                          f"{need} needed (a longer --minutes)")
    slope = slope_kib_per_min(judged)
    rounds = f"rounds {skip + 1}-{len(samples)}"
    if slope > LEAK_KIB_PER_MIN:
        return RssVerdict(f"slope {slope:+.0f} KiB/min after warm-up ({rounds}) > {LEAK_KIB_PER_MIN}",
                          f"RSS grows {slope:+.0f} KiB/min after warm-up ({rounds}): over "
                          f"{LEAK_KIB_PER_MIN} KiB/min, a leak", slope)
    return RssVerdict(f"slope {slope:+.0f} KiB/min after warm-up ({rounds}) <= {LEAK_KIB_PER_MIN}",
                      None, slope)


def soak(model: str, seconds: float, folder: Path) -> Soak:
    out = Soak(model)
    path, err, cerr = folder / f"{model}.jsonl", folder / f"{model}.server.err", folder / f"{model}.clients.err"
    proc, address = start_server(model, path, err)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            name = load_round(out.rounds, address, path, cerr)
            out.rounds += 1
            s = sample(proc.pid)
            if s is not None:
                s.load = name
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
    rss = judge_rss(out.samples, len(rotation()))
    if rss.problem:
        out.problems.append(rss.problem)
    print(f"{model:<10} {out.rounds:>3} rounds  {accepts:>7,} connections  "
          f"fds {_ends(out, 'fds')}  threads {_ends(out, 'threads')}  "
          f"RSS {out.samples[-1].rss_kib if out.samples else 0:,} KiB, {rss.words}  "
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
    if args.keep:  # every sample, to look at the curves
        with (folder / "samples.csv").open("w") as f:
            f.write("model,round,load,t_s,fds,threads,rss_kib\n")
            for r in results:
                t0 = r.samples[0].t if r.samples else 0
                for i, x in enumerate(r.samples):
                    f.write(f"{r.model},{i + 1},{x.load},{x.t - t0:.1f},{x.fds},{x.threads},{x.rss_kib}\n")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
