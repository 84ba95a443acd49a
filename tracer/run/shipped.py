"""The recordings shipped in ``recordings/``: what makes each one, and one command to remake them all.

``sockscope record --regenerate-all`` (or ``python -m tracer.run.shipped``) runs
every entry of :data:`SHIPPED` and rewrites the ``## Shipped recordings``
section of ``recordings/README.md`` from the same table, so the index, the
commands in it and the files never disagree.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from servers import Settings
from tracer.clients import scenarios
from tracer.locale import N_, _, ngettext
from tracer.outputs import write_text

if TYPE_CHECKING:
    from tracer.run import headless

FOLDER = "recordings"  # where --regenerate-all writes: the repository's folder, from its root


def shipped_folder() -> str:
    """Where the shipped recordings are, wherever the user stands: ``recordings/`` beside the package."""
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), FOLDER)
    return here if os.path.isdir(here) else FOLDER
_SETTING_TYPES: dict[str, Any] = {f.name: {"int": int, "float": float, "bool": bool, "str": str}.get(str(f.type), float)
                                  for f in fields(Settings) if f.name != "model"}
SECTION = "## Shipped recordings"


@dataclass(frozen=True)
class Shipped:
    """One shipped recording.

    Attributes:
        file: its name in ``recordings/``, saying what it shows.
        rows: the LESSONS.md rows it shows.
        model: the server: a built-in model, or a script (``servers/lesson/thread_server.py``) run
            unmodified, as ``sockscope record SCRIPT`` runs it.
        options: server options, as on the command line (for a script: ``--port 0``, ``--host H``).
        scenario: the scenario's name; empty: the script is a whole program, clients and all, made
            with ``sockscope run -o FILE SCRIPT``.
        sets: scenario parameters, ``key=value``.
        look: what to look at, in a sentence a student understands.
    """

    file: str
    rows: tuple[int, ...]
    model: str
    options: tuple[str, ...]
    scenario: str
    sets: tuple[str, ...]
    look: str

    @property
    def is_program(self) -> bool:
        return self.model.endswith(".py")

    def argv(self, folder: str = FOLDER) -> list[str]:
        """The ``sockscope record`` (or, for a whole program, ``sockscope run``) command line that makes it afresh."""
        if not self.scenario:
            return ["sockscope", "run", "-o", os.path.join(folder, self.file), *self.options, self.model]
        sets = [x for s in self.sets for x in ("--set", s)]
        return ["sockscope", "record", self.model, *self.options, "--scenario", self.scenario, *sets,
                "-o", os.path.join(folder, self.file)]

    def command(self, folder: str = FOLDER) -> str:
        return shlex.join(self.argv(folder))

    def settings(self) -> tuple[Settings, set[str]]:
        """The server settings its options give, and which of the scenario's knobs they set.

        The options are a handful of ``--flag value`` pairs (and ``--as-taught``), read
        here against :class:`~servers.Settings`' fields, so that the library needs no CLI;
        a test parses the same argv with ``sockscope``'s own parser and finds the same.
        """
        from tracer.run import headless  # (recording needs it; reading the table does not)

        if self.is_program:  # only --host and --port apply to a program: they become sockscope run's options
            port = dict(zip(self.options[::2], self.options[1::2], strict=True)).get("--port")
            return Settings(model=os.path.basename(self.model), port=int(port or 0),
                            program=(*self.options, self.model)), set()
        given: dict[str, Any] = {}
        opts = list(self.options)
        while opts:
            flag = opts.pop(0)
            name = flag.removeprefix("--").replace("-", "_")
            if name not in _SETTING_TYPES:
                raise ValueError(f"{self.file}: unknown server option {flag!r}")
            kind = _SETTING_TYPES[name]
            given[name] = True if kind is bool else kind(opts.pop(0))
        return Settings(model=self.model, **given), set(given) & headless.KNOBS

    def make(self, folder: str = FOLDER) -> headless.Result:
        """Record it into ``folder``.

        Raises:
            ServerError: a whole program (no scenario) ended with a non-zero status.
        """
        from tracer.run import headless

        if not self.scenario:
            return self._run(os.path.join(folder, self.file))
        cfg, explicit = self.settings()
        return headless.record(cfg, self.scenario, scenarios.parse_sets(self.sets),
                                   os.path.join(folder, self.file), explicit=explicit)


    def _run(self, path: str) -> headless.Result:
        """A whole program under ``sockscope run``: its output is its own (it prints what it received)."""
        from tracer.errors import ServerError
        from tracer.recording.reader import load
        from tracer.run import headless
        from tracer.run.programs import run_program, spec_of

        ended = run_program(spec_of(self.settings()[0].program), path)
        if ended.status != 0:
            raise ServerError(f"{self.model} ended with exit status {ended.status}; {path} is not a lesson's "
                              "recording")
        return headless.Result(path, load(path), None, ended.status)


SHIPPED: tuple[Shipped, ...] = (
    Shipped("thread-keepalive-blocking-recv.jsonl", (1, 14), "thread", (), "keepalive",
            ("clients=2", "requests=4", "think_ms=300"),
            N_("recv-1 sleeps inside recv for 300 ms between requests; client-1's send ends exactly where "
               "that recv ends: the blocked thread wakes when the bytes arrive.")),
    Shipped("thread-ramp-grows-threads.jsonl", (2,), "thread", (), "ramp", ("clients=12", "every_ms=100"),
            N_("one new recv-N lane per arriving client, each blocked in recv while its client stays; "
               "the threads counter climbs by one every 100 ms.")),
    Shipped("thread-churn-thread-per-connection.jsonl", (3,), "thread", (), "churn",
            ("connections=20", "clients=2"),
            N_("20 short connections, 20 recv-N lanes: each opens with thread_start and ends with thread_exit.")),
    Shipped("pool-churn-reuses-workers.jsonl", (3,), "pool", ("--workers", "4"), "churn",
            ("connections=20", "clients=2"),
            N_("the same 20 connections on the pool: a start on the same few worker lanes again and again, "
               "no thread created per connection.")),
    Shipped("pool-saturated-queue.jsonl", (4, 15), "pool", ("--workers", "4", "--work-ms", "200"), "burst",
            ("clients=16",),
            N_("16 clients, 4 workers busy 200 ms per request: the submit -> start gap grows by 200 ms per "
               "rank in the queue; the queue counter climbs to 12 and drains.")),
    Shipped("pool-as-taught-accept-worker.jsonl", (5, 12), "pool", ("--as-taught", "--workers", "4"), "idle",
            ("idle=5", "busy=2", "requests=1", "timeout=2"),
            N_("worker_0 runs the accept loop for good, so 4 workers serve only 3 connections at once: "
               "3 idle clients pin the rest, the other connections wait in the queue and the busy clients "
               "give up (timeout).")),
    Shipped("pool-as-taught-one-worker-never-serves.jsonl", (5,), "pool", ("--as-taught", "--workers", "1"),
            "burst", ("clients=3", "timeout=2"),
            N_("with 1 worker, the as-taught pool accepts (submit) and never serves: no start, every client "
               "times out.")),
    Shipped("pool-slowloris-stalls.jsonl", (6,), "pool", ("--workers", "4"), "slowloris", (),
            N_("4 slow clients dribbling 3 bytes every 100 ms pin all 4 workers in recv; the 4 quick clients "
               "wait in the pool's queue for a second until a slow one finishes.")),
    Shipped("thread-slowloris-grows.jsonl", (6,), "thread", (), "slowloris", (),
            N_("the same clients on thread-per-connection: one more lane per slow client, and the quick "
               "clients are served at once.")),
    Shipped("thread-backlog-kernel-queue.jsonl", (7, 15), "thread", (), "backlog",
            ("clients=12", "backlog=3", "pause_ms=1500"),
            N_("accept starts 1.5 s late: the first clients' connect returns at once, long before their "
               "accept (the kernel's backlog counter holds 4 = backlog + 1); the rest have their SYN dropped "
               "while the queue is full, and their connect takes seconds: the kernel's SYN retries.")),
    Shipped("thread-idle-connections.jsonl", (8,), "thread", (), "idle", ("idle=100", "busy=5"),
            N_("100 idle connections cost 100 lanes blocked in recv (and 100 threads); 5 busy clients are "
               "served alongside.")),
    Shipped("thread-cpu-gil.jsonl", (9,), "thread", (), "cpu", ("clients=8", "cpu_ms=50"),
            N_("8 threads compute 50 ms each at the same time, but the work spans stretch to ~400 ms: the GIL "
               "runs one at a time, so more threads bring no more throughput, only longer latency.")),
    Shipped("thread-as-taught-no-close.jsonl", (12,), "thread", ("--as-taught",), "keepalive",
            ("clients=3", "requests=2", "timeout=1"),
            N_("the lesson's handler: one recv and one send per connection, no close although the reply says "
               "keep-alive. When a handler's thread ends, Python's garbage collection closes its socket (not "
               "traced), so two clients' second requests get end-of-file after ~50 ms; the accept loop's conn "
               "variable still holds the last socket accepted, so that client waits 1 s and times out. "
               "sockscope check lists the connections never closed.")),
    Shipped("selectors-slowloris-responsive.jsonl", (6,), "selectors", (), "slowloris", (),
            N_("the same clients on IO multiplexing: one thread; each slow client's few bytes are one short "
               "recv after a select, and the quick clients are answered at once, between them.")),
    Shipped("selectors-idle-one-lane.jsonl", (8,), "selectors", (), "idle", ("idle=100", "busy=5"),
            N_("100 idle connections and 5 busy ones on selectors: one lane, no thread per connection; the idle "
               "sockets only sit in the selector until their clients close them.")),
    Shipped("selectors-one-thread-serves-all.jsonl", (10,), "selectors", (), "burst", ("clients=20",),
            N_("one lane does everything: select (count = sockets ready), accept, recv, send, close, for all "
               "20 clients. How many threads does this server have? One.")),
    Shipped("selectors-blocking-handler-freezes.jsonl", (11,), "selectors", ("--work-ms", "200"), "burst",
            ("clients=5",),
            N_("a handler that sleeps 200 ms inside the event loop: the one lane stops in work, no select, no "
               "accept, and every other client waits its turn: the last answer comes after ~1 s.")),
    Shipped("tcp-stream-udp-datagrams.jsonl", (16,), "recordings/programs/stream_and_datagram.py", (), "", (),
            N_("one program, both protocols: the client lane sends the same three 5-byte messages to a TCP "
               "server and a UDP server; both read late, so tcp-server's one recv returns all 15 bytes run "
               "together (TCP is a byte stream), while udp-server needs three recvfrom of 5 bytes each (a "
               "datagram arrives whole).")),
    Shipped("thread-server-as-typed.jsonl", (18,), "servers/lesson/thread_server.py", ("--port", "0"), "keepalive",
            ("clients=3", "requests=2", "timeout=1"),
            N_("the lesson's thread server, unmodified: the accept lane (its accept thread) accepts every "
               "connection, each recv-N lane recvs once, sends once and ends without close; sockscope check "
               "lists every connection as never closed.")),
    Shipped("pool-server-as-typed.jsonl", (18,), "servers/lesson/pool_server.py", ("--port", "0"), "idle",
            ("idle=5", "busy=2", "requests=1", "timeout=2"),
            N_("the lesson's pool server, unmodified: ThreadPoolExecutor-0_0 runs the accept loop and sits in "
               "accept for good; the other workers each take a connection, and idle clients pin them in recv.")),
    Shipped("thread-context-switches.jsonl", (17,), "thread", (), "burst", ("clients=50",),
            N_("50 clients at once on thread-per-connection: the ctx sw counters (the process's voluntary and "
               "involuntary context switches, from getrusage) climb with every thread and every blocking call.")),
    Shipped("selectors-context-switches.jsonl", (17,), "selectors", (), "burst", ("clients=50",),
            N_("the same burst on selectors: one thread, and a fraction of the context switches.")),
    Shipped("single-both-ends.jsonl", (14, 15), "single", ("--work-ms", "50"), "burst", ("clients=5",),
            N_("client lanes and the server's one lane on one axis: connect, accept, request, response, close "
               "for each client in turn; the later clients wait in the backlog while the first is served.")),
)


def find(path: str, model: str | None = None) -> Shipped | None:
    """The shipped recording a file is (by its name, and its model if given), or None."""
    name = os.path.basename(path)
    for item in SHIPPED:
        if item.file == name and (model is None or item.model == model):
            return item
    return None


def setting_words(model: str, settings: dict[str, Any]) -> list[str]:
    """The settings that make a recording's lesson, in words: ``pool``, ``4 workers``, ``as taught``, ...

    Only what differs from the plain server is said, but the backlog always (the sketch in UI.md does).
    """
    words = [model]
    workers = settings.get("workers")
    if model == "pool" and workers is not None:
        words.append(ngettext("{n} worker", "{n} workers", workers if isinstance(workers, int) else 2).format(
            n=workers))
    if settings.get("as_taught"):
        words.append(_("as taught"))
    for key, label in (("work_ms", N_("work {ms} ms (sleeps)")), ("cpu_ms", N_("cpu {ms} ms (computes)")),
                       ("pause_accept_ms", N_("accept paused {ms} ms"))):
        value = settings.get(key)
        if isinstance(value, (int, float)) and value:
            words.append(_(label).format(ms=f"{value:g}"))
    if settings.get("backlog") is not None:
        words.append(_("backlog {n}").format(n=settings["backlog"]))
    return words


def regenerate(folder: str = FOLDER, only: list[str] | None = None,
               on_start: Callable[[Shipped], None] | None = None,
               on_done: Callable[[Shipped, headless.Result], None] | None = None) -> int:
    """Remake the shipped recordings (or those named in ``only``) and the README index.

    Args:
        on_start, on_done: told of each recording before and after it is made (the command prints).

    Returns:
        How many were made (errors raise :class:`~tracer.errors.TracerError`).
    """
    os.makedirs(folder, exist_ok=True)
    made = 0
    for item in SHIPPED:
        if only and item.file not in only:
            continue
        if on_start:
            on_start(item)
        result = item.make(folder)
        made += 1
        if on_done:
            on_done(item, result)
    write_readme(os.path.join(folder, "README.md"))
    return made


def readme_section() -> str:
    """The ``## Shipped recordings`` section of ``recordings/README.md``."""
    lines = [SECTION, "",
             "Small recordings of the lessons in [`LESSONS.md`](LESSONS.md) (rows 1-12, 14-18; row 13 is "
             "`sockscope bench`), made by "
             "`sockscope record`. Open one with `sockscope replay recordings/FILE`. Remake them all with "
             "`sockscope record --regenerate-all` (from the repository's root); each line below is the "
             "exact command for one.", ""]
    for item in SHIPPED:
        rows = ", ".join(map(str, item.rows))
        lines += [f"### `{item.file}` (row{'s' if len(item.rows) > 1 else ''} {rows})", "", item.look, "",
                  "```sh", item.command(), "```", ""]
    return "\n".join(lines)


def write_readme(path: str) -> None:
    """Replace (or append) our section of ``path``, leaving the other sections as they are."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    start = text.find(SECTION)
    if start < 0:
        before, after = text.rstrip("\n") + ("\n\n" if text.strip() else ""), ""
    else:
        end = text.find("\n## ", start + len(SECTION))
        before, after = text[:start], (text[end + 1:] if end >= 0 else "")
    body = readme_section()
    write_text(path, before + body + ("\n" + after if after else ""))


if __name__ == "__main__":
    regenerate(only=sys.argv[1:] or None, on_start=lambda item: print(f"sockscope: {item.command()}", flush=True))
