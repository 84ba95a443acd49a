"""SIGINT at random instants into a lesson server under loopback load; every recording checked.

Run by tests/test_interrupts.py in a process of its own (signals go to this process's main thread):
``python -m tests.sigstorm DIR --models pool,single --seconds 2 [--signals N]`` (each model until it
has had N signals, or for the seconds given, whichever comes first). The main thread runs the server
(``run_server``, as ``sockscope serve --record`` does) again and again; a killer thread waits for it to
listen, lets load threads hammer it, and sends one to twelve SIGINTs at random instants (the first after
0-8 ms, the rest 0-1 ms apart, so some land while it stops). Each recording must then have:
every accept closed (those open at the stop closed as ``shutdown``), no finding by ``check``, 0
dropped, and a trailer whose event count is the number of event lines. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from servers import Settings
from tracer.analysis.check import check
from tracer.recording.reader import load
from tracer.run import runner

REQUEST = b"GET / HTTP/1.1\r\nHost: storm\r\n\r\n"


class Load:
    """Client threads that keep connecting to the current server and asking for the page."""

    def __init__(self, n: int) -> None:
        self.address: tuple[str, int] | None = None
        self.changed = threading.Condition()
        self.quit = False
        self.requests = 0
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)]
        for t in self.threads:
            t.start()

    def point_at(self, address: tuple[str, int] | None) -> None:
        with self.changed:
            self.address = address
            self.changed.notify_all()

    def stop(self) -> None:
        self.quit = True
        self.point_at(None)
        for t in self.threads:
            t.join(5)

    def _run(self, i: int) -> None:
        rng = random.Random(i)
        while not self.quit:
            with self.changed:
                self.changed.wait_for(lambda: self.address is not None or self.quit, timeout=1)
                address = self.address
            if address is None:
                continue
            try:
                with socket.create_connection(address, timeout=1) as s:
                    for _ in range(rng.randint(1, 4)):
                        s.sendall(REQUEST)
                        if not s.recv(65536):
                            break
                        self.requests += 1
            except OSError:
                with self.changed:  # refused or reset: the server stopped; wait for the next one
                    self.changed.wait_for(lambda a=address: self.address != a or self.quit, timeout=0.05)


def storm(main: int, listening: threading.Event, finished: threading.Event, rng: random.Random,
          sent: list[int]) -> None:
    """Wait for the server to listen, then SIGINT it at random instants until it has returned."""
    if not listening.wait(10):
        return
    time.sleep(rng.uniform(0, 0.008))  # a random instant under load, not a wait for a condition
    for _ in range(rng.randint(1, 12)):
        if finished.is_set():
            return
        signal.pthread_kill(main, signal.SIGINT)
        sent[0] += 1
        time.sleep(rng.uniform(0, 0.001))


def verify(path: Path) -> list[str]:
    """What is wrong with the recording at ``path`` (empty: nothing)."""
    rec = load(path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    events = sum(isinstance(x, list) for x in lines)
    problems = [f"{f.code} at line {f.line}: {f.message}" for f in check(rec, n_lines=len(lines))]
    if rec.trailer is None:
        problems.append("no trailer")
    elif rec.trailer.get("events") != events:
        problems.append(f"trailer says {rec.trailer.get('events')} events, the file holds {events}")
    if rec.dropped:
        problems.append(f"{rec.dropped} dropped")
    server = {lane.id for lane in rec.server_lanes()}
    accepts = {e.conn for e in rec.events() if e.kind == "accept" and e.conn > 0 and e.lane in server}
    closes = {e.conn for e in rec.events() if e.kind == "close" and e.conn > 0 and e.lane in server}
    if accepts != closes:
        problems.append(f"{len(accepts)} accepts, {len(closes)} closes: never closed {sorted(accepts - closes)}")
    return problems


def run_model(model: str, folder: Path, seconds: float, rng: random.Random, load: Load,
              enough: float = float("inf")) -> dict[str, Any]:
    main = threading.main_thread().ident
    assert main is not None
    runs = signals = closed_at_stop = 0
    failures: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(failures) < 5 and signals < enough:
        path = folder / f"{model}-{runs}.jsonl"
        listening, finished, sent = threading.Event(), threading.Event(), [0]

        def on_listen(address: tuple[str, int], listening: threading.Event = listening) -> None:
            load.point_at(address)
            listening.set()

        killer = threading.Thread(target=storm, args=(main, listening, finished, rng, sent), daemon=True)
        killer.start()
        raised: list[str] = []
        try:
            runner.run_server(Settings(model=model, workers=4, timeout=5), str(path), on_listen=on_listen,
                              quiet=True)
        except Exception as exc:  # a stop that ends in an error is a finding, and the storm goes on
            raised.append(f"the server raised {exc!r}")
        finally:
            finished.set()
            load.point_at(None)
            killer.join(10)
        runs += 1
        signals += sent[0]
        problems = raised + verify(path)
        if problems:
            failures.append(f"{path.name}: {'; '.join(problems)}")
        else:
            closed_at_stop += sum(1 for e in load_events(path) if e[2] == "close" and e[-1] == "shutdown")
            path.unlink()
    return {"model": model, "runs": runs, "signals": signals, "closed_at_stop": closed_at_stop,
            "failures": failures}


def load_events(path: Path) -> list[list[Any]]:
    return [x for x in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if isinstance(x, list)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--models", default="single,thread,pool,selectors,asyncio")
    ap.add_argument("--seconds", type=float, default=2.0, help="per model, at most")
    ap.add_argument("--signals", type=int, default=0, help="per model: stop once this many were sent (0: no limit)")
    ap.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "big"))
    args = ap.parse_args()
    signal.signal(signal.SIGINT, lambda signum, frame: None)  # a signal sent as a server returned: ignored
    rng = random.Random(args.seed)
    load = Load(4)
    enough = args.signals or float("inf")
    results = [run_model(m, args.folder, args.seconds, rng, load, enough) for m in args.models.split(",")]
    load.stop()
    print(json.dumps({"seed": args.seed, "requests": load.requests, "models": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
