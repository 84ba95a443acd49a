"""Scenarios: named, parameterised sets of real clients, each showing one lesson.

A scenario is a table entry: a one-line description, its parameters (with
defaults small enough to read on a screen, and a one-line help each), the
server knobs it implies (``backlog`` sets ``--backlog`` and
``--pause-accept-ms``; ``cpu`` sets ``--cpu-ms``) and a ``run`` function that
drives a :class:`tracer.clients.Clients`.  Every run is bounded: counts are
capped by each parameter's maximum, and time by the ``deadline`` parameter
that every scenario has.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tracer.errors import UsageError
from tracer.locale import N_, _, listed

if TYPE_CHECKING:
    from tracer.clients.toolkit import Clients

Number = int | float


@dataclass(frozen=True)
class Param:
    """One parameter of a scenario: its default (whose type it keeps) and bounds."""

    name: str
    default: Number
    help: str
    minimum: Number = 0
    maximum: Number = 10_000

    def parse(self, text: str) -> Number:
        """``text`` as this parameter's type, within its bounds.

        Raises:
            UsageError: not a number of the right kind, or out of bounds.
        """
        kind = _("a whole number") if isinstance(self.default, int) else _("a number")
        try:
            value: Number = int(text) if isinstance(self.default, int) else float(text)
        except ValueError:
            raise UsageError(_("--set {name}: expected {kind}, got {text!r}").format(
                name=self.name, kind=kind, text=text)) from None
        if not self.minimum <= value <= self.maximum:
            raise UsageError(_("--set {name}: expected {kind} from {low:g} to {high:g}, got {text!r}").format(
                name=self.name, kind=kind, low=self.minimum, high=self.maximum, text=text))
        return value


@dataclass(frozen=True)
class Scenario:
    """A named set of clients.

    Attributes:
        name: what ``--scenario`` takes.
        description: one line a student understands.
        params: the scenario's own parameters (the common ones are added).
        knobs: server setting -> the parameter that sets it (``{"backlog": "backlog"}``).
        connections: how many connections a run makes, from the parameters (for progress).
        run: drives the clients; returns when every client is done.
        lessons: the LESSONS.md rows it shows.
    """

    name: str
    description: str
    params: tuple[Param, ...]
    knobs: Mapping[str, str]
    connections: Callable[[Mapping[str, Number]], int]
    run: Callable[[Clients, Mapping[str, Number]], None]
    lessons: tuple[int, ...] = ()

    def all_params(self) -> tuple[Param, ...]:
        return self.params + COMMON

    def defaults(self) -> dict[str, Number]:
        return {p.name: p.default for p in self.all_params()}

    def resolve(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Number]:
        """The parameters: defaults, overridden by ``overrides`` (strings are parsed).

        Raises:
            UsageError: an unknown parameter (listing the valid ones) or a bad value.
        """
        table = {p.name: p for p in self.all_params()}
        values = self.defaults()
        for key, raw in (overrides or {}).items():
            param = table.get(key)
            if param is None:
                raise UsageError(_("scenario {name} has no parameter {key!r}; it has: {params}").format(
                    name=self.name, key=key, params=listed(
                        _("{name} (default {default:g})").format(name=p.name, default=p.default)
                        for p in self.all_params())))
            values[key] = param.parse(raw if isinstance(raw, str) else str(raw))
        return values

    def server_settings(self, values: Mapping[str, Number]) -> dict[str, Number]:
        """The server knobs these parameter values imply (setting name -> value)."""
        return {setting: values[param] for setting, param in self.knobs.items()}


COMMON = (
    Param("timeout", 5.0, N_("seconds a client waits for a connect or a reply before giving up"), 0.05, 600),
    Param("deadline", 30.0, N_("seconds after which every client stops, whatever it was doing"), 0.1, 3600),
)


def parse_sets(items: Iterable[str]) -> dict[str, str]:
    """``["clients=20", "every_ms=50"]`` -> ``{"clients": "20", ...}``.

    Raises:
        UsageError: an item without ``=``.
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(_("--set: expected key=value, got {item!r}").format(item=item))
        out[key.strip()] = value.strip()
    return out


def get(name: str) -> Scenario:
    """The scenario called ``name``.

    Raises:
        UsageError: an unknown name, with the list of valid ones.
    """
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UsageError(_("unknown scenario {name!r}; choose one of {names}").format(
            name=name, names=listed(SCENARIOS))) from None


# ---------------------------------------------------------------- the scenarios
# Each run function uses only Clients' public methods; one thread per
# concurrent client, named client-1, client-2, ... (its lane's name).


def _requests(c: Clients, k: int, n: int, think_ms: Number = 0) -> None:
    """One connection, ``n`` requests on it, ``think_ms`` between them."""
    with c.connection() as sock:
        for i in range(n):
            if sock is None or c.stopped or not c.request(sock):
                return
            if think_ms and i < n - 1 and not c.sleep(think_ms / 1000):
                return


def _burst(c: Clients, p: Mapping[str, Number]) -> None:
    c.run(int(p["clients"]), lambda k: _requests(c, k, int(p["requests"])), together=True)


def _ramp(c: Clients, p: Mapping[str, Number]) -> None:
    n, every = int(p["clients"]), p["every_ms"] / 1000
    release = c.elapsed() + (n - 1) * every + p["hold_ms"] / 1000

    def client(k: int) -> None:
        if not c.sleep_until(k * every):
            return
        with c.connection() as sock:
            if sock is not None and c.request(sock):
                c.sleep_until(release)  # stays connected: one more thread each, on thread-per-connection

    c.run(n, client)


def _keepalive(c: Clients, p: Mapping[str, Number]) -> None:
    c.run(int(p["clients"]), lambda k: _requests(c, k, int(p["requests"]), p["think_ms"]), together=True)


def _churn(c: Clients, p: Mapping[str, Number]) -> None:
    n = int(p["clients"])
    total = int(p["connections"])

    def client(k: int) -> None:
        for _k in range(total // n + (k < total % n)):  # the connections, shared out
            if c.stopped:
                return
            _requests(c, k, 1)

    c.run(n, client)


def _slowloris(c: Clients, p: Mapping[str, Number]) -> None:
    slow, fast = int(p["slow"]), int(p["fast"])

    def client(k: int) -> None:
        if k < slow:
            with c.connection() as sock:
                if sock is not None and c.dribble(sock, int(p["chunk"]), p["gap_ms"] / 1000):
                    c.read_reply(sock)
        elif c.sleep_until(p["fast_after_ms"] / 1000):
            _requests(c, k, 1)

    c.run(slow + fast, client)


def _idle(c: Clients, p: Mapping[str, Number]) -> None:
    idle, busy = int(p["idle"]), int(p["busy"])
    busy_done = threading.Event()
    connected = threading.Semaphore(0)

    def idler(k: int) -> None:
        with c.connection() as sock:
            connected.release()
            if sock is not None:
                c.wait(busy_done)  # holds the connection open, sending nothing

    def worker(k: int) -> None:
        _requests(c, k, int(p["requests"]), p["think_ms"])

    idlers = c.start(idle, idler)
    for _i in range(idle):  # the busy ones come once the idle ones are in
        if not c.acquire(connected):
            break
    c.join(c.start(busy, worker, first=idle + 1))
    busy_done.set()
    c.join(idlers)


def _backlog(c: Clients, p: Mapping[str, Number]) -> None:
    c.run(int(p["clients"]), lambda k: _requests(c, k, 1), together=True)


def _cpu(c: Clients, p: Mapping[str, Number]) -> None:
    c.run(int(p["clients"]), lambda k: _requests(c, k, int(p["requests"])), together=True)


def _hostile(c: Clients, p: Mapping[str, Number]) -> None:
    """The hostile requests together, one per connection (cycling through the table); then the probes."""
    from tracer.clients.http import HOSTILE

    n, wait = int(p["clients"]), p["close_ms"] / 1000

    def attacker(k: int) -> None:
        with c.connection() as sock:
            if sock is not None:
                c.hostile(sock, HOSTILE[k % len(HOSTILE)][1], wait)

    c.join(c.start(n, attacker, together=True))
    c.join(c.start(int(p["probes"]), lambda k: _requests(c, k, 1), first=n + 1))


def _n(*names: str) -> Callable[[Mapping[str, Number]], int]:
    return lambda p: sum(int(p[name]) for name in names)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("burst", N_("N clients connect at once, one request each"), (
        Param("clients", 20, N_("clients connecting at once"), 1, 1000),
        Param("requests", 1, N_("requests per connection"), 1, 1000),
    ), {}, _n("clients"), _burst, (4, 5, 14, 15)),
    Scenario("ramp", N_("clients arrive one by one and stay connected (thread growth)"), (
        Param("clients", 12, N_("clients, one arriving every every_ms"), 1, 1000),
        Param("every_ms", 100.0, N_("ms between arrivals"), 0, 10_000),
        Param("hold_ms", 500.0, N_("ms every client stays after the last one arrived"), 0, 60_000),
    ), {}, _n("clients"), _ramp, (2,)),
    Scenario("keepalive", N_("a few clients, many requests each on one connection"), (
        Param("clients", 3, N_("clients, each with one connection"), 1, 1000),
        Param("requests", 10, N_("requests per connection"), 1, 10_000),
        Param("think_ms", 50.0, N_("ms a client waits between its requests"), 0, 10_000),
    ), {}, _n("clients"), _keepalive, (1, 12, 14)),
    Scenario("churn", N_("many short connections in a row (thread creation vs reuse)"), (
        Param("connections", 30, N_("connections in all, one request each"), 1, 10_000),
        Param("clients", 2, N_("clients making them side by side"), 1, 1000),
    ), {}, _n("connections"), _churn, (3,)),
    Scenario("slowloris", N_("clients send their request a few bytes at a time; then quick ones arrive"), (
        Param("slow", 4, N_("slow clients, dribbling their request"), 0, 1000),
        Param("fast", 4, N_("quick clients, one request each"), 0, 1000),
        Param("chunk", 3, N_("bytes per send of a slow client"), 1, 1000),
        Param("gap_ms", 100.0, N_("ms between a slow client's sends"), 0, 10_000),
        Param("fast_after_ms", 200.0, N_("ms before the quick clients arrive"), 0, 60_000),
    ), {}, _n("slow", "fast"), _slowloris, (6,)),
    Scenario("idle", N_("many connections that send nothing, plus a few busy ones"), (
        Param("idle", 30, N_("idle connections, held open without a byte"), 0, 1000),
        Param("busy", 3, N_("busy clients"), 0, 1000),
        Param("requests", 5, N_("requests per busy client"), 1, 10_000),
        Param("think_ms", 100.0, N_("ms a busy client waits between requests"), 0, 10_000),
    ), {}, _n("idle", "busy"), _idle, (8,)),
    Scenario("backlog", N_("a burst larger than the backlog while the accept loop is paused"), (
        Param("clients", 20, N_("clients connecting at once"), 1, 1000),
        Param("backlog", 4, N_("the server's listen() backlog (--backlog)"), 1, 4096),
        Param("pause_ms", 1500.0, N_("ms the accept loop starts late (--pause-accept-ms)"), 0, 60_000),
    ), {"backlog": "backlog", "pause_accept_ms": "pause_ms"}, _n("clients"), _backlog, (7, 15)),
    Scenario("cpu", N_("a burst against a handler that computes (the GIL)"), (
        Param("clients", 8, N_("clients connecting at once"), 1, 1000),
        Param("requests", 1, N_("requests per connection"), 1, 1000),
        Param("cpu_ms", 50.0, N_("ms each request computes (--cpu-ms)"), 0, 10_000),
    ), {"cpu_ms": "cpu_ms"}, _n("clients"), _cpu, (9,)),
    Scenario("hostile", "malformed requests (a TLS hello, a 16 KiB header, NUL bytes ...); then ordinary ones", (
        Param("clients", 10, "hostile connections at once, one bad request each, cycling through the list", 1, 100),
        Param("probes", 3, "ordinary clients afterwards, one request each: is it still serving?", 0, 100),
        Param("close_ms", 500.0, "ms a client waits for the close after a success answer to its bad request", 0,
              10_000),
    ), {}, _n("clients", "probes"), _hostile, ()),
)}
