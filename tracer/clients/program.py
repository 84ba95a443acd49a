"""The scenario clients as a program of their own: ``python -m tracer.clients ADDRESS --scenario NAME``.

ADDRESS is what :func:`tracer.addresses.show` writes: ``127.0.0.1:8000``,
``[::1]:8000`` or ``unix:/tmp/s.sock``.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from tracer import addresses, child, locale
from tracer.addresses import Address
from tracer.clients import scenarios
from tracer.clients.toolkit import CONNS_PER_ROUND, Clients, Outcome, client_recorder, next_round, ranges
from tracer.errors import TracerError
from tracer.locale import N_, _, listed, ngettext
from tracer.locale.outside import Parser


def run_scenario(address: Address, name: str, overrides: Mapping[str, Any] | None = None,
                 record: str | None = None, *, round_no: int | None = None,
                 on_progress: Callable[[int, int], None] | None = None,
                 on_start: Callable[[Clients], None] | None = None) -> Outcome:
    """Fire scenario ``name`` at ``address`` from this process; return when every client is done.

    Args:
        address: the server's (host, port), IPv4 or IPv6, or its Unix socket path.
        name: a key of :data:`tracer.scenarios.SCENARIOS`.
        overrides: parameter values (strings are parsed), e.g. ``{"clients": 50}``.
        record: a recording to append client lanes to (the server's), or None.
        round_no: which client range to use in ``record`` (default: the next unused).
        on_progress: called with (connections done, planned) as they end.
        on_start: called with the :class:`Clients` before they run (to keep a handle to ``stop()``).

    Raises:
        UsageError: unknown scenario or parameter.
        RecordingError: ``record`` has no header to take the clock from.
    """
    scenario = scenarios.get(name)
    params = scenario.resolve(overrides)
    round_no = round_no if round_no is not None or record is None else next_round(record)
    rec = client_recorder(record, round_no) if record else None
    first_conn = ranges(round_no)[1] if round_no else CONNS_PER_ROUND
    # A second firing into the same recording must not reuse the first one's lane names:
    # round 1 is client-1, client-2 ...; round k is rk.client-1 ... (sorted after, in firing order).
    prefix = "client-" if round_no in (None, 1) else f"r{round_no}.client-"
    clients = Clients(address, rec, timeout=float(params["timeout"]), deadline=float(params["deadline"]),
                      first_conn_id=first_conn, total=scenario.connections(params), on_progress=on_progress,
                      name_prefix=prefix)
    if rec is not None:
        rec.mark(f"scenario {name}: " + " ".join(f"{k}={v:g}" for k, v in params.items()))
    if on_start is not None:
        on_start(clients)
    try:
        scenario.run(clients, params)
    finally:
        clients.outcome.elapsed = round(clients.elapsed(), 6)
        if rec is not None:
            rec.close()
            if rec.dropped:
                print(_("sockscope: the client recorder dropped {n} events").format(n=rec.dropped), file=sys.stderr)
    return clients.outcome


def argv(address: Address, name: str, overrides: Mapping[str, Any] | None = None,
         record: str | None = None, *, round_no: int | None = None) -> list[str]:
    """The command line running :func:`run_scenario` in a process of its own (its own GIL)."""
    cmd = child.module_argv("tracer.clients", addresses.show(address), "--scenario", name)
    if record:
        cmd += ["--record", record]
    if round_no is not None:
        cmd += ["--round", str(round_no)]
    for key, value in (overrides or {}).items():
        cmd += ["--set", f"{key}={value}"]
    return cmd


# ---------------------------------------------------------------- as a program
def _address(text: str) -> Address:
    try:
        address = addresses.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if isinstance(address, str) and not addresses.unix_supported():
        raise argparse.ArgumentTypeError(_("this Python has no Unix sockets (AF_UNIX)"))
    return address


def main(args: list[str] | None = None) -> int:
    argv = sys.argv[1:] if args is None else list(args)
    asked = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--lang"), None)
    # --lang, else the parent's language (SOCKSCOPE_LANG, from child.env): the help and the errors
    locale.set_language(asked if asked in locale.LANGUAGES else locale.choose())
    setattr(argparse, "_", locale._)  # noqa: B010 (argparse's own words too: see tracer/locale/outside.py)
    setattr(argparse, "ngettext", locale.ngettext)  # noqa: B010
    p = Parser(prog="python -m tracer.clients", description=_(
        "Fire one scenario's clients at a server, appending their lanes to its recording. This is the client "
        "process sockscope record, live and demo start; FILE must be the recording a running server writes "
        "(sockscope serve MODEL --record FILE)."))
    p.add_argument("address", type=_address, metavar="ADDRESS",
                   help=_("where the server listens: HOST:PORT, [IPV6]:PORT or unix:PATH"))
    p.add_argument("--scenario", required=True,
                   help=_("one of: {names}").format(names=listed(scenarios.SCENARIOS)))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=_("a scenario parameter"))
    p.add_argument("--record", metavar="FILE", help=_("the server's recording, to append client lanes to"))
    p.add_argument("--round", type=int, dest="round_no",
                   help=_("client range in FILE (default: the next unused)"))
    p.add_argument("--lang", choices=locale.LANGUAGES, help=_("language: zh (简体中文) or en (default: "
                                                               "SOCKSCOPE_LANG, else the locale, LANG)"))
    ns = p.parse_args(argv)
    running: list[Clients] = []

    def stop(signum: int, frame: Any) -> None:
        for c in running:
            c.stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    out = threading.Lock()

    def progress(done: int, total: int) -> None:
        with out:  # one write per line: client threads call this at once
            sys.stdout.write(f"progress {done} {total}\n")
            sys.stdout.flush()

    try:
        outcome = run_scenario(ns.address, ns.scenario, scenarios.parse_sets(ns.set), ns.record,
                               round_no=ns.round_no, on_progress=progress, on_start=running.append)
    except TracerError as exc:
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return exc.exit_code
    print("outcome " + json.dumps(asdict(outcome)), flush=True)
    for error in outcome.errors:
        print(_("error: {message}").format(message=error), file=sys.stderr)
    return 1 if outcome.errors else 0


def parse_outcome(lines: Sequence[str]) -> Outcome | None:
    """The :class:`Outcome` a client process printed, from its stdout lines."""
    for line in reversed(lines):
        if line.startswith("outcome "):
            return Outcome(**json.loads(line[len("outcome "):]))
    return None


def summarize(outcome: Outcome) -> str:
    """``20 connections: 18 ok, 2 refused; 18 replies`` ."""
    counts = collections.Counter(outcome.outcomes)
    parts = _(", ").join(f"{n} {outcome_words(why)}" for why, n in counts.most_common())
    return ngettext("{n} connection: {parts}; {replies} replies", "{n} connections: {parts}; {replies} replies",
                    outcome.connections).format(n=outcome.connections, parts=parts or _("none"),
                                                replies=outcome.replies)


OUTCOMES = {"ok": N_("ok"), "refused": N_("refused"), "timeout": N_("timeout"), "reset": N_("reset"),
            "eof": N_("eof"), "skipped": N_("skipped"), "no reply": N_("no reply")}


def outcome_words(why: str) -> str:
    """How a client's connection ended, in the language in force (an unknown reason as it is)."""
    return _(OUTCOMES[why]) if why in OUTCOMES else why


if __name__ == "__main__":
    sys.exit(main())
