"""``sockscope record MODEL --scenario NAME -o FILE``: a server and a scenario's clients, into one recording."""

from __future__ import annotations

import argparse

from servers import Settings
from tracer import scenarios
from tracer.commands.common import add_model_argument, add_server_options, settings_from
from tracer.errors import UsageError

# Server options a scenario may imply; left None here so that we know which the user gave.
_KNOB_DESTS = ("backlog", "pause_accept_ms", "cpu_ms")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="run a server and a scenario's clients; write one recording",
                       description="Start a lesson server in its own process and a scenario's clients in another, "
                                   "record both sides on one clock into FILE, stop the server cleanly and "
                                   "summarise. 'sockscope scenarios' lists the scenarios and their parameters.")
    add_model_argument(p)
    p.set_defaults(model=None)
    p.add_argument("--scenario", "-s", metavar="NAME", help="one of: " + ", ".join(scenarios.SCENARIOS))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a scenario parameter, e.g. --set clients=50 (repeatable)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="the recording to write (default: MODEL-NAME.jsonl); an earlier recording there is replaced, "
                        "any other file is left alone")
    p.add_argument("--regenerate-all", action="store_true",
                   help="remake every shipped recording in recordings/ (and its index in recordings/README.md)")
    add_server_options(p)
    p.set_defaults(func=run, **{dest: None for dest in _KNOB_DESTS})
    for action in p._actions:  # 'model' is optional only for --regenerate-all
        if action.dest == "model":
            action.nargs = "?"


def settings_with_defaults(args: argparse.Namespace) -> tuple[Settings, set[str]]:
    """Settings from ``args``; and the knobs the user gave (they win over a scenario's)."""
    explicit = {dest for dest in _KNOB_DESTS if getattr(args, dest) is not None}
    defaults = Settings()
    for dest in _KNOB_DESTS:
        if getattr(args, dest) is None:
            setattr(args, dest, getattr(defaults, dest))
    return settings_from(args), explicit


def run(args: argparse.Namespace) -> int:
    if args.regenerate_all:
        if args.model or args.scenario or args.output or args.set:
            raise UsageError("--regenerate-all remakes the shipped recordings: give no MODEL, --scenario, -o or --set")
        from tracer.shipped import regenerate

        return regenerate()
    if args.model is None:
        raise UsageError("expected a MODEL (or --regenerate-all)")
    if not args.scenario:
        raise UsageError(f"expected --scenario NAME, one of: {', '.join(scenarios.SCENARIOS)}")
    scenario = scenarios.get(args.scenario)
    overrides = scenarios.parse_sets(args.set)
    params = scenario.resolve(overrides)  # bad parameters fail before any process starts
    cfg, explicit = settings_with_defaults(args)
    path = args.output or f"{cfg.model}-{scenario.name}.jsonl"
    from tracer.record import Progress, record, report
    from tracer.recorder import check_recording_path

    check_recording_path(path)  # before any process starts, or anything is printed
    with Progress(f"{cfg.model} under {scenario.name}", total=scenario.connections(params)) as progress:
        result = record(cfg, scenario.name, overrides, path, explicit=explicit, progress=progress)
    report(result)
    return 0
