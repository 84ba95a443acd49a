"""``sockscope scenarios``: the scenarios, one line each, and their parameters."""

from __future__ import annotations

import argparse

from tracer.clients.scenarios import SCENARIOS
from tracer.locale import _, listed, ngettext


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scenarios", help=_("list the client scenarios and their parameters"),
                       description=_("List the scenarios 'sockscope record MODEL --scenario NAME' can run, with "
                                     "their parameters (set one with --set KEY=VALUE) and the server options "
                                     "they imply."))
    p.add_argument("name", nargs="?", metavar="NAME", help=_("show only this scenario"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tracer.clients.scenarios import get

    chosen = [get(args.name)] if args.name else list(SCENARIOS.values())
    for i, s in enumerate(chosen):
        if i:
            print()
        rows = ("  " + ngettext("(recordings/LESSONS.md row {rows})", "(recordings/LESSONS.md rows {rows})",
                                len(s.lessons)).format(rows=listed(s.lessons))) if s.lessons else ""
        print(f"{s.name:<10} {_(s.description)}{rows}")
        for p in s.all_params():
            knob = next((k for k, v in s.knobs.items() if v == p.name), None)
            sets = " " + _("[sets --{option}]").format(option=knob.replace("_", "-")) if knob else ""
            print(f"    {p.name + '=' + format(p.default, 'g'):<20} {_(p.help)}{sets}")
    if args.name:  # an example with the scenario asked about, and its first parameter
        s = chosen[0]
        first = s.params[0] if s.params else None
        sets = f" --set {first.name}={format(first.default, 'g')}" if first else ""
        print("\n" + _("example: {command}").format(
            command=f"sockscope record thread --scenario {s.name}{sets} -o {s.name}.jsonl"))
    else:
        print("\n" + _("example: {command}").format(
            command="sockscope record pool --workers 4 --scenario burst --set clients=20 -o burst.jsonl"))
    return 0
