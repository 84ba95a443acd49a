"""What the bench drives load with and reads the machine through: the load worker, ``wrk``, pinning, limits.

The built-in load generator runs as one long-lived worker process
(``python -m tracer.clients.loadgen --worker``), sent one JSON job per
measurement: an interpreter start (~60 ms here) per run would cost more than a
0.3 s run measures.  ``wrk`` (C, when installed) is started per run; it cannot
count per connection, so the bench uses it as a cross-check of the built-in
generator's figures, not instead of them.

Linux-only things are guarded: pinning (``sched_setaffinity``), a server's memory
and threads (``/proc/PID/status``) and the thread limits (``/proc/sys``,
cgroups); elsewhere each says in one line what is missing.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from tracer import child
from tracer.errors import TracerError
from tracer.run.processes import Piped, stop_process

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]


class LoadWorker:
    """The built-in load generator as a worker process in its own session (a Ctrl-C reaches only the bench)."""

    def __init__(self, cpus: set[int] | None = None) -> None:
        self.replies: queue.Queue[str] = queue.Queue()
        with affinity(cpus):
            proc = subprocess.Popen(child.module_argv("tracer.clients.loadgen", "--worker"), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                    start_new_session=True, env=child.env(PYTHONUNBUFFERED="1"))
        self.piped = Piped(proc, on_stdout=self.replies.put)

    def job(self, op: str, wait: float, **params: Any) -> dict[str, Any]:
        """Send one job; its reply (bounded by ``wait`` seconds)."""
        proc = self.piped.proc
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps({"op": op, **params}) + "\n")
            proc.stdin.flush()
            line = self.replies.get(timeout=wait)
        except (OSError, queue.Empty):
            why = "; ".join(self.piped.last_errors(2)) or f"no answer within {wait:g} s"
            raise TracerError(f"the load generator failed: {why}") from None
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise TracerError(f"the load generator failed: {reply['error']}")
        return reply

    def close(self) -> None:
        proc = self.piped.proc
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()  # EOF: the worker releases what it holds and exits
        try:
            proc.wait(3.0)
        except subprocess.TimeoutExpired:
            stop_process(proc, grace=1.0)
        self.piped.close()


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(path: str, host: str, port: int, connections: int, seconds: float,
            cpus: set[int] | None = None) -> dict[str, Any]:
    """One ``wrk`` run (one thread, like the built-in generator) of ``seconds``; its counts, latencies, CPU share.

    wrk's -d counts whole seconds; a shorter run is a longer -d stopped by SIGINT,
    on which wrk stops its threads (within its 100 ms tick) and prints its
    report as usual, over the time it really ran.
    """
    url = f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
    before = _children_cpu()
    argv = [path, "-t1", f"-c{connections}", f"-d{math.ceil(seconds) + 1}s", "--latency", url]
    with affinity(cpus):
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        try:
            out, err = proc.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        stop_process(proc, grace=1.0)
        raise TracerError(f"wrk did not finish within {seconds + 30:g} s") from None
    if proc.returncode:
        raise TracerError(f"wrk failed: {(err or out).strip()[-200:]}")
    return parse_wrk(out) | {"cpu_s": _children_cpu() - before}


_UNITS = {"us": 1.0, "ms": 1000.0, "s": 1e6, "m": 60e6}


def parse_wrk(out: str) -> dict[str, Any]:
    """Requests, seconds, p50/p99 (µs) and socket errors from ``wrk --latency``'s report."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if not total:
        raise TracerError(f"wrk's report has no 'N requests in T': {out.strip()[-200:]!r}")

    def latency(p: str) -> float:
        m = re.search(rf"^\s*{p}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(m[1]) * _UNITS[m[2]] if m else 0.0

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests": int(total[1]), "seconds": float(total[2]) * _UNITS[total[3]] / 1e6,
            "p50_us": latency("50"), "p99_us": latency("99"),
            "errors": (sum(int(x) for x in errors.groups()[:3]) if errors else 0) + (int(non2xx[1]) if non2xx else 0),
            "timeouts": int(errors[4]) if errors else 0}


def _children_cpu() -> float:
    if resource is None:
        return 0.0
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# ----------------------------------------------------------------- pinning
def pinning_problem() -> str | None:
    """Why ``--pin`` cannot work here (None: it can)."""
    if not hasattr(os, "sched_setaffinity"):
        return f"--pin needs Linux (sched_setaffinity); this is {sys.platform}"
    if len(os.sched_getaffinity(0)) < 2:
        return "--pin needs 2 cores to put the server on one and the load on another; this process may use 1"
    return None


def pin_cores() -> tuple[set[int], set[int]]:
    """(the server's core, the load's core): the first two this process may use."""
    cores = sorted(os.sched_getaffinity(0))
    return {cores[0]}, {cores[1]}


@contextlib.contextmanager
def affinity(cpus: set[int] | None) -> Iterator[None]:
    """Run the block on ``cpus`` (None: as is): a process started in it inherits them, with every thread it starts.

    Pinning ourselves around the start, rather than the child after it, catches
    the threads a server starts before it says it listens.
    """
    if cpus is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


# ----------------------------------------------------------------- the machine
def process_status(pid: int) -> tuple[int, int] | None:
    """(resident memory in KiB, threads) of ``pid`` from /proc (None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["Threads"])
    except (OSError, KeyError, ValueError):
        return None


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) ``pid`` has used, every thread, from /proc (None where there is none)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def open_connections(port: int) -> int | None:
    """Connections to local ``port`` not yet closed by the server (ESTABLISHED or CLOSE_WAIT), from /proc/net/tcp."""
    count, found = 0, False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        found = True
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] in ("01", "08"):
                count += 1
    return count if found else None


def wait_closed(port: int, timeout: float = 3.0) -> bool:
    """Wait (bounded) until the server on ``port`` has closed every connection; False if it has not, or cannot say."""
    deadline = time.monotonic() + timeout
    while (left := open_connections(port)) is not None and left and time.monotonic() < deadline:
        time.sleep(0.02)  # polling a condition (the server's closes), not a fixed wait
    return left == 0


def open_sockets(pid: int) -> int | None:
    """Sockets ``pid`` has open, from /proc/PID/fd (None where there is no /proc): a Unix socket server's
    connections, which /proc/net/tcp does not list."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    count = 0
    for name in names:
        try:
            count += os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:")
        except OSError:
            continue  # closed while we looked
    return count


def wait_sockets(pid: int, most: int, timeout: float = 3.0) -> bool:
    """Wait (bounded) until ``pid`` has at most ``most`` sockets open; False if it has not, or cannot say."""
    deadline = time.monotonic() + timeout
    while (left := open_sockets(pid)) is not None and left > most and time.monotonic() < deadline:
        time.sleep(0.02)  # polling a condition (the server's closes), not a fixed wait
    return left is not None and left <= most


def machine_cpu_seconds() -> float | None:
    """CPU time every process on the machine has used since boot (Linux: /proc/stat); None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait
    busy = [int(x) for i, x in enumerate(fields[1:9]) if i not in (3, 4)]
    return sum(busy) / ticks


def own_cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (servers, load worker, wrk)."""
    import resource  # not on Windows; machine_cpu_seconds() is None there first

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class OtherWork:
    """How many cores other work used while the bench ran: the machine's CPU time less the bench's own.

    The load average cannot say this: the bench's own threads raise it (a thread-per-connection server
    at 1,000 connections has 1,000 of them runnable), so a quiet machine read as 'busy' after a run.
    """

    def __init__(self) -> None:
        self.machine0 = machine_cpu_seconds()
        self.own0 = own_cpu_seconds() if self.machine0 is not None else 0.0
        self.t0 = time.monotonic()

    def cores(self) -> float | None:
        """Cores' worth of CPU the rest of the machine used, on average; None where it cannot be told."""
        machine1 = machine_cpu_seconds()
        if self.machine0 is None or machine1 is None:
            return None
        elapsed = time.monotonic() - self.t0
        other = (machine1 - self.machine0) - (own_cpu_seconds() - self.own0)
        return max(other, 0.0) / elapsed if elapsed > 0 else None


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return None


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def limits() -> dict[str, Any]:
    """The limits that bound how many connections and threads a server here can hold."""
    found: dict[str, Any] = {"cores": os.cpu_count() or 1}
    if resource is not None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        found["open_files"] = soft if soft != resource.RLIM_INFINITY else None
        found["open_files_hard"] = hard if hard != resource.RLIM_INFINITY else None
        nproc = resource.getrlimit(resource.RLIMIT_NPROC)[0]
        found["threads_rlimit"] = None if nproc == resource.RLIM_INFINITY else nproc
    for key, path in (("threads_max", "/proc/sys/kernel/threads-max"), ("somaxconn", "/proc/sys/net/core/somaxconn"),
                      ("pids_max", "/sys/fs/cgroup/pids.max"), ("pids_max", "/sys/fs/cgroup/pids/pids.max")):
        value = _read_int(path)
        if value is not None:
            found.setdefault(key, value)
    caps = [found.get(k) for k in ("threads_rlimit", "threads_max", "pids_max")]
    found["threads"] = min((c for c in caps if c), default=None)
    return found


def raise_open_files(needed: int) -> int | None:
    """Raise this process's soft open-file limit towards ``needed`` (children inherit it); the limit now."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft
