"""What recording costs: the three measured bars of the recorder, in one run.

    .venv/bin/python bench/bench_recorder.py            # the full run (about 7 minutes)
    .venv/bin/python bench/bench_recorder.py --quick    # a short run (about 1.5 minutes)
    .venv/bin/python bench/bench_recorder.py --only cost --rounds 30 --python-too   # the README's table
    .venv/bin/python bench/bench_recorder.py --only cost --quick --lesson   # + the lesson's pool under sockscope run
    .venv/bin/python bench/bench_recorder.py --only lesson --rounds 24   # the lesson's pool alone (issue 11's bar)

1. **Tracing cost.**  ``sockscope serve pool`` processes, tracing off and
   on (and a second one off, the noise floor), each under its own keep-alive load (``wrk`` if installed, else our own
   bounded client in a separate process), taking turns of 100 ms: the one not
   on turn is stopped (SIGSTOP), so it takes no core and its load waits.  The
   turns come in a random order, new each round (seeded, printed), balanced
   so that each server follows every other equally often.  On a
   shared machine, whatever else runs then falls on both alike; back-to-back
   runs of seconds each cannot promise that.  Requests/s = whole responses
   over the time the server ran; printed per round, with the cost from the
   sums.  Done unpinned, then pinned (servers on core 0, load on core 1),
   where the recorder's cost is least hidden.  Connections default to the
   pool's size: more would starve (a pool of 10 serves 10 at a time).
2. **No loss at a sustained rate.**  A Recorder (as ``serve`` makes it) driven
   by several threads emitting at a fixed total rate (default 100,000
   events/s for 60 s; 5 s with ``--quick``); the trailer's event count must
   equal what was emitted, with nothing dropped.
3. **Bytes per event** of the recordings made under load in part 1.
4. **Instructions per request** (when ``valgrind`` is installed): each
   server under ``valgrind --tool=callgrind`` serves N and then M sequential
   keep-alive requests; (instructions(M) - instructions(N)) / (M - N) is what
   one request costs, tracing off and on.  Instruction counts do not depend on
   what else the machine is doing, so this ratio is the same run after run —
   the steady figure beside part 1's noisy one.  It leaves out system-call
   and GIL hand-off time (the kernel's part of a request), so it bounds the
   recorder's CPU share of the server's own work from above.

Prints figures and ratios; asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
LISTENING = re.compile(r"listening on http://([^:/]+):(\d+)/")
PROGRAM_LISTENS = re.compile(r"the program listens on http://([^:/]+):(\d+)/")

# Every process this bench started, and whether it leads its own process group (stopped and continued as one).
_CHILDREN: list[tuple[subprocess.Popen[str], bool]] = []


def spawn(cmd: list[str], *, own_group: bool = False, **kwargs: Any) -> subprocess.Popen[str]:
    """``subprocess.Popen`` (text mode), the process noted for :func:`release_children`."""
    proc = subprocess.Popen(cmd, text=True, start_new_session=own_group, **kwargs)
    _CHILDREN.append((proc, own_group))
    return proc


def release_children() -> None:
    """SIGCONT, then SIGKILL, every process this bench started (its whole group where it has one), and reap them.

    The servers take turns stopped by SIGSTOP: a bench killed mid-turn left them stopped and orphaned
    (``sockscope run`` and its traced program too), holding their ports and a core's worth of load waiting.
    Only a process not yet reaped is signalled: a pid this bench waited for may be another's by now.
    """
    for proc, group in _CHILDREN:
        for sig in (signal.SIGCONT, signal.SIGKILL):
            if proc.poll() is not None:
                break
            try:
                if group:
                    os.killpg(proc.pid, sig)
                else:
                    proc.send_signal(sig)
            except (ProcessLookupError, PermissionError):
                pass  # gone already
    for proc, _group in _CHILDREN:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def stop_children_on_signal(folder: str) -> None:
    """On SIGTERM or SIGINT (Ctrl-C): continue and kill every child, remove ``folder``, exit 128 + the signal.

    Exits at once (``os._exit``) rather than unwinding: the finally clauses on the way would resume and
    stop, one at a time and politely, servers that are already gone.
    """
    def handler(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # once: a second Ctrl-C must not cut this short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        release_children()
        shutil.rmtree(folder, ignore_errors=True)
        print(f"\nstopped by signal {signum}: the servers and loads this bench started are stopped",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# --------------------------------------------------------------------- the load
def python_client(host: str, port: int, connections: int, seconds: float) -> dict[str, object]:
    """Keep-alive GETs, one at a time per connection, for ``seconds``.

    One thread multiplexes every connection with ``selectors`` (threads would
    spend the client's GIL on switching).  Counts whole responses per
    connection, so a starved connection shows as a zero.
    """
    sel = selectors.DefaultSelector()
    counts = [0] * connections
    bufs = [b""] * connections
    socks = []
    for i in range(connections):
        s = socket.create_connection((host, port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, i)
    end = time.monotonic() + seconds
    for s in socks:
        s.send(REQUEST)
    errors = 0
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            i = key.data
            s = key.fileobj
            try:
                data = s.recv(65536)  # type: ignore[union-attr]
            except OSError:
                data = b""
            if not data:
                errors += 1
                sel.unregister(s)
                continue
            buf = bufs[i] + data
            while True:  # whole responses only, by Content-Length
                head_end = buf.find(b"\r\n\r\n")
                if head_end < 0:
                    break
                m = re.search(rb"Content-Length: (\d+)", buf[:head_end])
                total = head_end + 4 + (int(m.group(1)) if m else 0)
                if len(buf) < total:
                    break
                buf = buf[total:]
                counts[i] += 1
                s.send(REQUEST)  # type: ignore[union-attr]
            bufs[i] = buf
    elapsed = seconds
    for s in socks:
        s.close()
    sel.close()
    return {"requests": sum(counts), "rps": sum(counts) / elapsed, "min_per_conn": min(counts), "errors": errors}


def start_load(tool: str, host: str, port: int, connections: int, seconds: float,
               cpu: int | None) -> subprocess.Popen[str]:
    """The load in its own process (pinned to ``cpu`` if given), running ``seconds``."""
    if tool == "wrk":
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{math.ceil(seconds)}s", f"http://{host}:{port}/"]
    else:
        cmd = [sys.executable, __file__, "--client", host, str(port), str(connections), str(seconds)]
    return spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_pin(cpu))


def load_result(tool: str, proc: subprocess.Popen[str]) -> dict[str, Any]:
    """Whole responses counted by a finished load process."""
    out, err = proc.communicate(timeout=60)
    if proc.returncode:
        raise RuntimeError(f"load generator failed: {err.strip()[-300:]}")
    if tool != "wrk":
        return json.loads(out)  # type: ignore[no-any-return]
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"requests": int(total.group(1)) if total else 0, "min_per_conn": None,
            "errors": errors.group(1) if errors else 0}


def _pin(cpu: int | None):  # type: ignore[no-untyped-def]
    """A preexec_fn pinning the child (and every thread it starts) to ``cpu``."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


# --------------------------------------------------------------------- part 1
class Server:
    """``sockscope serve pool`` in its own process; stopped with SIGINT like a user would."""

    def __init__(self, record: str | None, workers: int, cpu: int | None, root: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        self.record = record
        cmd = [sys.executable, "-m", "tracer", "serve", "pool", "--port", "0", "--workers", str(workers)]
        if record:
            cmd += ["--record", record]
        # -m runs the tracer package found in cwd first: this checkout's, or a baseline's
        self.proc = spawn(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_pin(cpu),
                          env=dict(os.environ, **(env or {})))
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        m = LISTENING.search(line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.proc.stderr.read()[-300:]!r}")  # type: ignore[union-attr]
        self.host, self.port = m.group(1), int(m.group(2))

    def halt(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def cont(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def pause(self) -> None:
        self.halt()

    def resume(self) -> None:
        """SIGCONT, and wait until every thread runs again.

        Until then the main thread still has SIGCONT pending, and Linux would
        deliver a SIGINT sent now to a worker thread, leaving the main thread
        asleep in accept() with the KeyboardInterrupt never raised.
        """
        self.cont()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(state == "T" for state in self._states()):
            time.sleep(0.001)
        time.sleep(0.05)

    def pids(self) -> list[int]:
        return [self.proc.pid]

    def _tasks(self) -> list[tuple[int, str]]:
        """(pid, thread id) of every thread of the server's processes; a server that died says why."""
        tasks = []
        for pid in self.pids():
            try:
                tasks += [(pid, task) for task in os.listdir(f"/proc/{pid}/task")]
            except OSError:
                pass  # a child that ended between listing and looking
        if self.proc.poll() is not None:  # its stderr says why (read in full: it has ended)
            err = self.proc.stderr.read() if self.proc.stderr else ""  # type: ignore[union-attr]
            raise RuntimeError(f"a server (pid {self.proc.pid}) exited {self.proc.returncode} mid-bench: "
                               f"{err.strip()[-300:]!r}")
        return tasks

    def _states(self) -> list[str]:
        states = []
        for pid, task in self._tasks():
            try:
                with open(f"/proc/{pid}/task/{task}/stat") as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except OSError:
                pass  # the thread ended
        return states

    def cpu_ns(self) -> int:
        """CPU time of all the server's threads so far (ns, from the scheduler)."""
        total = 0
        for pid, task in self._tasks():
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass
        return total

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        try:
            out, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise RuntimeError("server did not stop within 30 s of SIGINT") from None
        if self.proc.returncode:
            raise RuntimeError(f"server exited {self.proc.returncode}: {err.strip()[-300:]}")
        return out


class ProgramServer(Server):
    """The lesson's pool code (bench/lesson_pool.py) under ``sockscope run`` (or ``serve``, untraced).

    Two processes (sockscope and the program's); SIGSTOP/SIGCONT go to both (its process group).
    """

    def __init__(self, record: str | None, workers: int, cpu: int | None, env: dict[str, str] | None = None,
                 root: Path = ROOT) -> None:
        self.record = record
        program = [str(ROOT / "bench" / "lesson_pool.py")]
        env = {"LESSON_POOL_WORKERS": str(workers), **(env or {})}
        cmd = [sys.executable, "-m", "tracer", *(["run", "-o", record] if record else ["serve"]), "--port", "0",
               *program]
        # -m runs the tracer package found in cwd first (this checkout's, or a baseline's); it runs the program
        # with that copy first on PYTHONPATH
        self.proc = spawn(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_pin(cpu),
                          own_group=True, env=dict(os.environ, **env))
        lines: list[str] = []
        while not (m := PROGRAM_LISTENS.search(lines[-1] if lines else "")):
            line = self.proc.stderr.readline()  # type: ignore[union-attr]
            if not line:
                raise RuntimeError(f"program did not start: {''.join(lines)[-300:]!r}")
            lines.append(line)
        self.host, self.port = m.group(1), int(m.group(2))
        # the rest of its stderr (its summary at the end) is read by stop(); little comes meanwhile

    def pids(self) -> list[int]:
        try:
            children = open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read().split()
        except OSError:
            children = []
        return [self.proc.pid, *map(int, children)]

    def halt(self) -> None:
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def cont(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise RuntimeError("program did not stop within 30 s of SIGINT") from None
        if self.proc.returncode:
            raise RuntimeError(f"program exited {self.proc.returncode}: {err.strip()[-300:]}")
        return err


def balanced_circuit(names: list[str], rng: random.Random) -> list[str]:
    """A random closed walk through ``names`` in which each one follows every other exactly once.

    An Eulerian circuit of the complete directed graph on ``names`` (Hierholzer's algorithm, the edges
    taken in a shuffled order): ``n * (n - 1)`` turns, each name ``n - 1`` times, never twice in a row;
    the walk returns to its first name, so circuits laid end to end keep the balance at the joins.
    """
    if len(names) < 2:
        return list(names)
    out_edges = {a: [b for b in names if b != a] for a in names}
    for targets in out_edges.values():
        rng.shuffle(targets)
    stack, walk = [rng.choice(names)], []
    while stack:
        here = stack[-1]
        if out_edges[here]:
            stack.append(out_edges[here].pop())
        else:
            walk.append(stack.pop())
    walk.reverse()
    return walk[:-1]  # the last is the first again: the closing edge is the join to the next circuit


def turn_order(names: list[str], turns: int, rng: random.Random) -> list[str]:
    """``turns`` turns of the servers ``names``, balanced: each follows every other equally often.

    A rotated fixed order (what this bench did before) has each server always follow the same one, so
    whatever a predecessor leaves behind (caches, a load generator's backlog, the scheduler's
    placement) falls on one server only: two untraced servers then differed by 1-2% in every run.
    Here circuits of :func:`balanced_circuit`, a new random one each, all start from the same server,
    so every join repeats the closing edge of the circuit before it.  With ``turns`` a multiple of
    ``n * (n - 1)`` every ordered pair occurs equally often (the very last closing edge excepted).
    """
    if not names or turns <= 0:
        return []
    first = rng.choice(names)
    order: list[str] = []
    while len(order) < turns:
        circuit = balanced_circuit(names, rng)
        at = circuit.index(first)
        order += circuit[at:] + circuit[:at]
    return order[:turns]


def interleave(servers: dict[str, Server], order: list[str], slice_s: float, deadline: float) -> dict[str, float]:
    """Let the servers run by turns in ``order``, ``slice_s`` each (none past ``deadline``, time.monotonic()).

    Returns:
        How long each one ran (s).
    """
    ran = dict.fromkeys(servers, 0.0)
    for name in order:
        now = time.monotonic()
        if now + slice_s > deadline:  # the loads stop then: a turn past it would count nothing
            break
        server = servers[name]
        server.cont()
        time.sleep(slice_s)
        server.halt()
        ran[name] += time.monotonic() - now
    return ran


def interval(requests: dict[str, list[int]], ran: dict[str, list[float]], k: str,
             draws: int = 2000, base: str = "off") -> tuple[float, float]:
    """A 95% bootstrap interval of k's requests/s over ``base``'s, resampling whole rounds."""
    rng = random.Random(1)  # the same interval for the same rounds
    n = len(requests[k])
    ratios = []
    for _ in range(draws):
        pick = [rng.randrange(n) for _ in range(n)]
        on = sum(requests[k][i] for i in pick) / sum(ran[k][i] for i in pick)
        off = sum(requests[base][i] for i in pick) / sum(ran[base][i] for i in pick)
        ratios.append(on / off)
    ratios.sort()
    return ratios[int(0.025 * draws)], ratios[int(0.975 * draws) - 1]


def bar_verdict(cost: float, low: float, high: float, bar: float, noise: float) -> str:
    """Whether a cost (requests/s lost, a fraction; its 95% interval low..high) meets ``bar``, in words.

    The estimate decides, the interval says how sure; but a noise floor (two untraced servers' same
    figure) of half the bar or more means this machine could not tell: NOT TOLD, whatever the estimate.
    """
    span = f"{cost:+.1%} (95% {low:+.1%}..{high:+.1%})"
    if abs(noise) >= bar / 2:
        return (f"NOT TOLD: the noise floor is {noise:+.1%}, half the bar ({bar:.0%}) or more; the estimate {span} "
                "says nothing here: measure on a quiet machine")
    if cost <= bar:
        return f"MET: {span} <= {bar:.0%}" + (" (the whole interval is under the bar)" if high <= bar
                                             else "; not sure: the interval reaches past the bar")
    return f"NOT MET: {span} > {bar:.0%}" + (" (the whole interval is over the bar)" if low > bar
                                            else "; the interval reaches down under the bar")


def overhead(tool: str, args: argparse.Namespace, pinned: bool, folder: str
             ) -> tuple[str, list[str], list[tuple[str, str]]]:
    """Tracing off vs on, run by turns; returns the cost in words for the summary, the recording made, and
    each bar's verdict (what, words).

    The servers start once, each with its own load generator running all the
    time.  They take turns of ``--slice`` seconds; the others are stopped
    (SIGSTOP), so they take no core and their loads wait.  Whatever else the
    machine does then falls on all alike, which back-to-back runs of seconds
    each cannot promise on a shared machine.  Each round's requests/s are whole
    responses counted by the load generator over the time its server ran.

    A second untraced server ("off2") takes its turns too: off2/off is what
    "no difference" looks like on this machine today, the yardstick for
    on/off.  Each ratio gets a 95% interval (bootstrap over rounds), and the
    servers' own CPU time per request (from the scheduler) is printed beside
    it: it moves less with where the scheduler put the threads.  With
    ``--baseline DIR``, one more server runs the tracer of another checkout
    (before/after a change, in the same conditions); with ``--python-too``,
    one records through the Python hot path.
    """
    label = "pinned (servers on core 0, load on core 1)" if pinned else "unpinned"
    print(f"\n## tracing cost, pool server, {label}: {args.rounds} rounds x {args.seconds:g} s of each, "
          f"turns of {args.slice * 1000:g} ms, {args.connections} keep-alive connections, load: {tool}")
    print(f"turn order: balanced at random each round (seed {args.seed + pinned}; --seed {args.seed} repeats it): "
          "every server follows every other equally often, so no server always follows the same one")
    record = os.path.join(folder, f"pool-{'pinned' if pinned else 'unpinned'}.jsonl")
    cpu_server, cpu_load = (0, 1) if pinned else (None, None)
    servers: dict[str, Server] = {}
    try:
        _start_servers(servers, args, record, folder, cpu_server)
    except BaseException:
        for s in servers.values():
            s.resume()
            s.proc.kill()
        raise
    return _measure(servers, tool, args, pinned, cpu_load)


def _start_servers(servers: dict[str, Server], args: argparse.Namespace, record: str, folder: str,
                   cpu_server: int | None) -> None:
    """Start the servers being compared, one after another (a failing one leaves those started to the caller)."""
    lesson_only = args.only == "lesson"
    for name, rec in (() if lesson_only else (("off", None), ("on", record), ("off2", None))):
        servers[name] = Server(rec, args.workers, cpu_server)
        servers[name].pause()
    if args.python_too and not lesson_only:
        servers["on-py"] = Server(os.path.join(folder, "python.jsonl"), args.workers, cpu_server,
                                  env={"SOCKSCOPE_PURE_PYTHON": "1"})
        servers["on-py"].pause()
    if args.lesson:  # the lesson's pool code as a student's program: sockscope run vs untraced (sockscope serve)
        servers["run-off"] = ProgramServer(None, args.workers, cpu_server)
        servers["run-off"].pause()
        servers["run-on"] = ProgramServer(record if lesson_only else os.path.join(folder, "run.jsonl"),
                                          args.workers, cpu_server)
        servers["run-on"].pause()
        # the lesson's own yardstick: a second untraced copy of the program (off2/off is serve pool's, another
        # server with 1/5 of its requests/s, whose noise is not the lesson's)
        servers["run-off2"] = ProgramServer(None, args.workers, cpu_server)
        servers["run-off2"].pause()
    if args.baseline:
        if not lesson_only:
            servers["baseline"] = Server(os.path.join(folder, "baseline.jsonl"), args.workers, cpu_server,
                                         root=Path(args.baseline))
            servers["baseline"].pause()
        if args.lesson:  # the lesson's pool under the other checkout's sockscope run
            servers["run-baseline"] = ProgramServer(os.path.join(folder, "run-baseline.jsonl"), args.workers,
                                                    cpu_server, root=Path(args.baseline))
            servers["run-baseline"].pause()


def _measure(servers: dict[str, Server], tool: str, args: argparse.Namespace, pinned: bool,
             cpu_load: int | None) -> tuple[str, list[str], list[tuple[str, str]]]:
    """Run the rounds by turns; print each and the costs; return the summary and the recording made."""
    traced = "on" if "on" in servers else "run-on"  # run-on alone with --only lesson
    base = "off" if "off" in servers else "run-off"
    record = str(servers[traced].record)
    req: dict[str, list[int]] = {k: [] for k in servers}
    ran: dict[str, list[float]] = {k: [] for k in servers}
    cpu = dict.fromkeys(servers, 0)
    rng = random.Random(args.seed + pinned)  # printed by overhead(): the same orders again with --seed
    try:
        for i in range(-1, args.rounds):  # round -1 warms up: connections made, worker threads started
            secs = args.warmup if i < 0 else args.seconds
            order = turn_order(list(servers), round(len(servers) * secs / args.slice), rng)
            loads = {k: start_load(tool, s.host, s.port, args.connections, len(servers) * secs + 1.0, cpu_load)
                     for k, s in servers.items()}
            started = time.monotonic()
            time.sleep(0.5)  # the load generators start and connect (the servers' kernels accept)
            cpu_before = {k: s.cpu_ns() for k, s in servers.items()}
            took = interleave(servers, order, args.slice, deadline=started + len(servers) * secs + 0.9)
            got = {k: load_result(tool, p) for k, p in loads.items()}  # all servers stopped: nothing more counts
            if i < 0:
                continue
            for k, s in servers.items():
                req[k].append(got[k]["requests"])
                ran[k].append(took[k])
                cpu[k] += s.cpu_ns() - cpu_before[k]
            rps = {k: got[k]["requests"] / took[k] for k in got}
            starved = any(r["min_per_conn"] == 0 for r in got.values())
            print(f"round {i + 1:2}: " + "   ".join(f"{k} {rps[k]:6.0f} req/s" for k in servers) + "   "
                  + "   ".join(f"{k}/{base} {rps[k] / rps[base]:.3f}" for k in servers if k != base)
                  + ("   (a connection starved)" if starved else ""))
    except BaseException:
        release_children()  # a server that died, or the load's failure: the others are not left stopped
        raise
    finally:
        for s in servers.values():
            if s.proc.poll() is None:
                s.resume()
    try:
        outs = {k: s.stop() for k, s in servers.items()}
    except BaseException:
        release_children()
        raise
    rate = {k: sum(req[k]) / sum(ran[k]) for k in servers}
    cpu_per_req = {k: cpu[k] / max(sum(req[k]), 1) for k in servers}
    said = {}
    bar_at = 0.05 if pinned else 0.03  # (not `bar`: the lines below print a `bar` of their own)
    noise = 1 - rate["off2"] / rate["off"] if "off2" in servers else 0.0
    lesson_noise = 1 - rate["run-off2"] / rate["run-off"] if "run-off2" in servers else noise
    bars: list[tuple[str, str]] = []
    for k in servers:
        if k in ("off", "run-off"):
            continue
        if k == "run-off2":
            lo, hi = interval(req, ran, k, base="run-off")
            said[k] = f"{lesson_noise:+.1%} (95% {1 - hi:+.1%}..{1 - lo:+.1%})"
            print(f"run-off2/run-off: {1 - lesson_noise:.3f}, 95% interval {lo:.3f}..{hi:.3f}: cost "
                  f"{lesson_noise:+.1%} (both the lesson's code untraced: its noise floor)")
            continue
        if k == "run-baseline":
            lo, hi = interval(req, ran, k, base="run-off")
            r = rate[k] / rate["run-off"]
            print(f"run-baseline/run-off: {r:.3f} (the lesson's pool code under the baseline's sockscope run), "
                  f"95% interval {lo:.3f}..{hi:.3f}: cost {1 - r:+.1%}")
            continue
        if k == "run-on":
            lo, hi = interval(req, ran, k, base="run-off")
            r = rate[k] / rate["run-off"]
            said[k] = f"{1 - r:+.1%} (95% {1 - hi:+.1%}..{1 - lo:+.1%})"
            print(f"run-on/run-off: {r:.3f} of run-off's {rate['run-off']:.0f} req/s (the lesson's pool code, "
                  f"sockscope run vs untraced), 95% interval {lo:.3f}..{hi:.3f}: cost {1 - r:+.1%}; "
                  f"bar {'5' if pinned else '3'}% (serve pool's, as issue 11 asks)")
            bars.append(("the lesson's pool code under sockscope run",
                         bar_verdict(1 - r, 1 - hi, 1 - lo, bar_at, lesson_noise)))
            if "run-baseline" in servers:
                lo, hi = interval(req, ran, k, base="run-baseline")
                print(f"run-on/run-baseline: {rate[k] / rate['run-baseline']:.3f}, 95% interval {lo:.3f}..{hi:.3f} "
                      "(this checkout's sockscope run against the baseline's, the same program)")
            continue
        lo, hi = interval(req, ran, k)
        if k == "on":
            bars.append(("serve pool --record", bar_verdict(1 - rate[k] / rate["off"], 1 - hi, 1 - lo, bar_at,
                                                                noise)))
        said[k] = f"{1 - rate[k] / rate['off']:+.1%} (95% {1 - hi:+.1%}..{1 - lo:+.1%})"
        bar = f"; bar {'5' if pinned else '3'}%" if k == "on" else "  (both untraced: the noise floor)" \
            if k == "off2" else ""
        print(f"{k}/off: {rate[k] / rate['off']:.3f} of off's {rate['off']:.0f} req/s, 95% interval "
              f"{lo:.3f}..{hi:.3f}: cost {1 - rate[k] / rate['off']:+.1%} ({1 - hi:+.1%}..{1 - lo:+.1%}){bar}")
    pairs = [(a, b) for a, b in (("on", "off"), ("off2", "off"), ("run-on", "run-off"), ("run-off2", "run-off"))
             if a in servers]
    print("server CPU per request: " + ", ".join(f"{k} {cpu_per_req[k] / 1000:.1f} us" for k in servers) + "; "
          + ", ".join(f"{a}/{b} {cpu_per_req[a] / cpu_per_req[b]:.3f}" for a, b in pairs))
    if traced == "on":
        stopped = outs["on"].strip().splitlines()[-1].split(" Open it with")[0]  # the folder goes with the bench
        print(f"traced server: {stopped}")
    summary = (f"{said['on']}, bar {'5' if pinned else '3'}%; noise floor {said['off2']}" if traced == "on"
               else f"bar {'5' if pinned else '3'}%")
    if "on-py" in said:
        summary += f"; Python hot path {said['on-py']}"
    if "run-on" in said:
        summary += f"; the lesson's pool under sockscope run {said['run-on']}, its noise floor {said['run-off2']}"
    for what, words in bars:
        print(f"bar, {what}: {words}")
    return summary, [record], bars


# --------------------------------------------------------------------- part 2
def sustained(rate: int, seconds: float, threads: int, folder: str) -> dict[str, float]:
    """Emit ``rate`` events/s for ``seconds`` from ``threads`` threads into one Recorder."""
    from tracer.record.recorder import Recorder

    path = os.path.join(folder, "sustained.jsonl")
    rec = Recorder(path, {"model": "bench", "settings": {}}, offload=True)  # as `sockscope serve` records
    per_thread = rate / threads
    emitted = [0] * threads
    start = time.monotonic()
    end = start + seconds

    def emitter(k: int) -> None:
        lane = rec.declare_lane(f"emitter-{k}")
        rec.disarm_exit_watch()  # no thread_exit: the file should hold exactly what was emitted
        emit, clock, t0 = rec.emit, rec.clock, rec.t0
        n = 0
        conn = k * 1_000_000
        while True:
            now = time.monotonic()
            if now >= end:
                break
            due = int((now - start) * per_thread) - n
            for _ in range(due):  # the server's hot path: one tuple, appended
                t = clock()
                emit((t - t0, 1234, "recv", lane, conn + (n >> 4), 78))
                n += 1
            time.sleep(0.001)
        due = int(seconds * per_thread) - n  # the last slice, so the total is exact
        for _ in range(max(0, due)):
            emit((clock() - t0, 1234, "send", lane, conn, 179))
            n += 1
        emitted[k] = n

    pool = [threading.Thread(target=emitter, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - start
    trailer = rec.close()
    lines = 0
    with open(path, "rb") as f:
        for line in f:
            lines += line.startswith(b"[")
    return {"emitted": sum(emitted), "elapsed": elapsed, "events": trailer["events"], "dropped": trailer["dropped"],
            "lines": lines, "bytes": os.path.getsize(path)}


# --------------------------------------------------------------------- part 3
def bytes_per_event(records: list[str]) -> None:
    print("\n## bytes per event on disk (the traced runs above)")
    for path in records:
        size = os.path.getsize(path)
        event_bytes = events = 0
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(b"["):
                    events += 1
                    event_bytes += len(line)
        print(f"{os.path.basename(path)}: {events} events, {size} bytes: {size / max(events, 1):.1f} bytes/event "
              f"(event lines alone {event_bytes / max(events, 1):.1f}); bar 64")


def _callgrind_threads(out: str, cmd_has: str = "") -> list[tuple[int, bool]]:
    """(instructions, is the recorder's writer) per thread of the process whose command line holds ``cmd_has``.

    One file a thread (``--separate-threads``), ``OUT.PID-NN`` with ``%p`` in the name; a thread is the
    writer when its profile names ``Tap_take``, ``Tap_write`` or the Python formatter (the writer is the only caller).
    Threads are told apart by what they ran, not by their number: the untraced server has grown threads
    before (the counters' sampler), and a count-based split then failed.
    """
    found = []
    for name in sorted(Path(out).parent.glob(Path(out).name + "*-*")):
        text = name.read_text(errors="replace")
        cmd = next((line for line in text.splitlines()[:8] if line.startswith("cmd:")), "")
        if cmd_has not in cmd:
            continue
        total = next((int(line.split()[1]) for line in text.splitlines() if line.startswith(("summary:", "totals:"))),
                     0)
        found.append((total, "Tap_take" in text or "Tap_write" in text or "format_lines" in text))
    return found


def _serve_requests(proc: subprocess.Popen, pattern: re.Pattern[str], requests: int) -> None:
    """Read the server's address from its first matching line, then send ``requests`` keep-alive requests."""
    stream = proc.stdout if pattern is LISTENING else proc.stderr
    assert stream is not None
    lines = []
    for _ in range(2000):  # valgrind's own lines come first on stderr (bounded: the line is among the first)
        lines.append(stream.readline())
        if (m := pattern.search(lines[-1])) is not None:
            break
        if not lines[-1]:
            raise RuntimeError(f"the server under valgrind did not start: {''.join(lines)[-500:]}")
    else:
        raise RuntimeError("the server under valgrind did not start")
    with socket.create_connection((m[1], int(m[2])), timeout=60) as sock:
        for _ in range(requests):
            sock.sendall(REQUEST)
            data = b""
            while b"</html>" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError("the server closed the connection")
                data += chunk


def _callgrind_run(traced: bool, requests: int, folder: str, workers: int,
                   lesson: bool = False) -> tuple[int, int]:
    """(serving threads', writer's) instructions of one server run under callgrind."""
    tag = f"{'lesson' if lesson else 'pool'}.{'on' if traced else 'off'}.{requests}"
    out = os.path.join(folder, f"callgrind.{tag}")
    record = os.path.join(folder, f"callgrind-{tag}.jsonl")
    argv = ["valgrind", "-q", "--tool=callgrind", f"--callgrind-out-file={out}.%p", "--separate-threads=yes"]
    if lesson:  # the program's own process (python -m tracer.run.traced_program ...) is the one counted
        argv += ["--trace-children=yes", sys.executable, "-m", "tracer",
                 *(["run", "-o", record] if traced else ["serve"]), "--port", "0",
                 str(ROOT / "bench" / "lesson_pool.py")]
    else:
        argv += [sys.executable, "-m", "tracer", "serve", "pool", "--port", "0", "--timeout", "none",
                 "--workers", str(workers), *(["--record", record] if traced else [])]
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONHASHSEED="0", LESSON_POOL_WORKERS=str(workers))
    proc = spawn(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE if lesson else subprocess.DEVNULL,
                 env=env, own_group=True)  # same dicts each run
    try:
        _serve_requests(proc, PROGRAM_LISTENS if lesson else LISTENING, requests)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=300)
    threads = _callgrind_threads(out + ".", "traced_program" if lesson else "")
    if not threads:
        raise RuntimeError(f"no callgrind profile of the server in {folder}")
    return sum(n for n, writer in threads if not writer), sum(n for n, writer in threads if writer)


def _instructions_of(name: str, folder: str, workers: int, low: int, high: int, lesson: bool) -> float:
    per = {}
    for traced in (False, True):
        a = _callgrind_run(traced, low, folder, workers, lesson)
        b = _callgrind_run(traced, high, folder, workers, lesson)
        per[traced] = [(y - x) / (high - low) for x, y in zip(a, b, strict=True)]
    (off, _), (on, writer) = per[False], per[True]
    ratio = on / off
    print(f"{name}: tracing off {off:,.0f} instructions/request in the serving threads; on {on:,.0f} "
          f"({ratio - 1:+.1%}), and {writer:,.0f} in the recorder's writer thread; with the writer: "
          f"{(on + writer) / off:.3f} ({(on + writer) / off - 1:+.1%})")
    return ratio


def instructions(folder: str, workers: int, low: int = 200, high: int = 1200, lesson: bool = False) -> float | None:
    """Instructions per request, off and on, under callgrind; the on/off ratio of the serving threads."""
    if not shutil.which("valgrind"):
        print("\n## instructions per request: skipped (valgrind is not installed)")
        return None
    print(f"\n## instructions per request (callgrind, deterministic): {low} and {high} sequential keep-alive "
          "requests on one connection; (count at high - count at low) / (high - low)")
    ratio = _instructions_of("serve pool", folder, workers, low, high, lesson=False)
    if lesson:
        _instructions_of("the lesson's pool code (sockscope run vs untraced)", folder, workers, low, high, lesson=True)
    print("The serving threads are every thread but the writer (the main thread accepts once here). The writer runs "
          "beside them, on the other core when there is one; its share is partly time-driven (it samples the "
          "counters every few ms, and valgrind runs the server ~50x slower), so it is overstated here. "
          "Instruction counts leave out system calls and GIL hand-offs, the kernel's part of a request.")
    return ratio


def _load_average() -> str:
    """The 1-minute load average, or a word where the OS has none (Windows)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "unknown"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="short runs (about 1.5 minutes): 4 rounds x 1 s, 5 s at the sustained rate; too short to "
                        "tell a cost of a few percent from this machine's noise")
    p.add_argument("--rounds", type=int, help="rounds per setting (default 12; 4 with --quick)")
    p.add_argument("--seconds", type=float, help="seconds each server runs per round (default 2; 1 with --quick)")
    p.add_argument("--slice", type=float, default=0.1, help="seconds per turn (default 0.1)")
    p.add_argument("--seed", type=int, help="seed of the turn order (default: a new one, printed)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds each server runs before measuring")
    p.add_argument("--connections", type=int, default=10, help="keep-alive connections (default 10)")
    p.add_argument("--workers", type=int, default=10, help="the pool's size (default 10)")
    p.add_argument("--load", choices=("auto", "wrk", "python"), default="auto", help="load generator")
    p.add_argument("--rate", type=int, default=100_000, help="events/s for the sustained run")
    p.add_argument("--rate-seconds", type=float, help="seconds of the sustained run (default 60; 5 with --quick)")
    p.add_argument("--threads", type=int, default=4, help="emitting threads in the sustained run")
    p.add_argument("--only", choices=("cost", "lesson", "rate", "instructions"),
                   help="run one part only; lesson: the cost part with the lesson's pool code alone (sockscope run, "
                        "two untraced copies, the baseline's run with --baseline): fewer servers share the turns, "
                        "so more rounds fit in the same time")
    p.add_argument("--baseline", metavar="DIR", help="also time the traced server of another checkout, e.g. "
                   "DIR made by: git archive COMMIT | tar -x -C DIR")
    p.add_argument("--lesson", action="store_true",
                   help="also time the lesson's pool code (bench/lesson_pool.py) under 'sockscope run' against "
                        "the same program untraced, in the same turns")
    p.add_argument("--python-too", action="store_true",
                   help="also time a server recording through the Python hot path (SOCKSCOPE_PURE_PYTHON=1), "
                        "as where no C compiler built the C one")
    p.add_argument("--client", nargs=4, metavar=("HOST", "PORT", "CONNS", "SECONDS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.client:
        host, port, conns, secs = args.client
        print(json.dumps(python_client(host, int(port), int(conns), float(secs))))
        return 0
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1_000_000)
    args.rounds = args.rounds or (4 if args.quick else 12)
    args.seconds = args.seconds or (1.0 if args.quick else 2.0)
    args.rate_seconds = args.rate_seconds or (5.0 if args.quick else 60.0)
    tool = args.load if args.load != "auto" else ("wrk" if shutil.which("wrk") else "python")
    from tracer.record import hotpath

    print(f"# sockscope recorder bench: Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"switch interval {sys.getswitchinterval() * 1000:g} ms; recording: {hotpath.describe()}")
    try:
        return _bench(args, tool)
    finally:
        release_children()  # whatever ended the bench (a server that died, an error of its own): none left behind


def _bench(args: argparse.Namespace, tool: str) -> int:
    """The parts asked for, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="sockscope-bench-") as folder:
        stop_children_on_signal(folder)
        records: list[str] = []
        if args.only == "lesson":
            args.lesson = True
        if args.only in (None, "cost", "lesson"):
            load_before = _load_average()
            cost_free, rec1, bars_free = overhead(tool, args, False, folder)
            cost_pinned, rec2, bars_pinned = overhead(tool, args, True, folder)
            records = rec1 + rec2
            print(f"\n## the bars (requests/s lost with tracing on; load average {load_before} before, "
                  f"{_load_average()} after: other work on this machine)")
            for label, bars in (("unpinned", bars_free), ("pinned", bars_pinned)):
                for what, words in bars:
                    print(f"  {label}, {what}: {words}")
        if args.only in (None, "rate"):
            print(f"\n## sustained rate: {args.rate:,} events/s for {args.rate_seconds:g} s "
                  f"from {args.threads} threads")
            r = sustained(args.rate, args.rate_seconds, args.threads, folder)
            lost = r["emitted"] - r["events"]
            print(f"emitted {r['emitted']:,} in {r['elapsed']:.1f} s = {r['emitted'] / r['elapsed']:,.0f} events/s; "
                  f"trailer events {r['events']:,}, dropped {r['dropped']}, event lines {r['lines']:,}, "
                  f"lost {lost}; {r['bytes'] / max(r['lines'], 1):.1f} bytes/event")
        if records:
            bytes_per_event(records)
        if args.only in (None, "instructions"):
            instructions(folder, args.workers, lesson=args.lesson)
        if args.only is None:
            print("\nsummary (cost = requests/s lost with tracing on; the noise floor is the same figure for two "
                  "untraced servers: a cost inside it is not told apart from nothing)")
            print(f"  unpinned: {cost_free}")
            print(f"  pinned:   {cost_pinned}")
            print(f"  sustained {r['emitted'] / r['elapsed']:,.0f} events/s with {lost} lost, {r['dropped']} dropped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
