"""Strings sockscope shows that are written outside ``tracer/``: argparse's words and the lesson servers' descriptions.

``servers/`` is the lesson's code and imports nothing of sockscope, so its
descriptions (``servers.DESCRIPTIONS``) are marked here, word for word; a test
fails when the two differ.

The words of argparse (``usage:``, ``options``, its errors) are here so that ``--help`` is all Chinese.

argparse marks its own strings with ``gettext`` (domain ``messages``), which no
catalog of ours answers; ``tracer.cli`` points argparse's ``_``/``ngettext`` at
:mod:`tracer.locale` instead, and these are the strings it then asks for
(CPython 3.10 to 3.13; one argparse changes and the test of the catalog still
passes, the new words just stay English).
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from tracer.locale import N_, N_n, _, full_width_headings, listed


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one translated line (argparse's own starts with English
    ``error:`` and repeats the usage block, which is in --help); headings with the Chinese colon."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, _("error: {message} (see '{prog} --help')").format(message=message, prog=self.prog) + "\n")

    def format_help(self) -> str:
        return full_width_headings(super().format_help())  # 选项：, not 选项:

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own joins the choices with ', ' in any language: 'en', 'zh' for 'en'、'zh'
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(action, _("invalid choice: %(value)r (choose from %(choices)s)") % {
                "value": value, "choices": listed(map(repr, action.choices))})

ARGPARSE = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("optional arguments"),  # Python 3.9's name for "options"
    N_("show this help message and exit"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("one of the arguments %s is required"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_n("expected %s argument", "expected %s arguments"),
)

SERVER_DESCRIPTIONS = {
    "single": N_("one thread accepts and serves one connection at a time"),
    "thread": N_("an accept thread and a new thread per connection"),
    "pool": N_("the accept loop hands connections to a ThreadPoolExecutor"),
    "selectors": N_("one thread multiplexes every connection with selectors"),
    "asyncio": N_("one thread runs an asyncio event loop, a coroutine per connection"),
}
