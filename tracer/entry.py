"""The ``sockscope`` command's first lines: a Ctrl-C while Python is still importing is one word, not a
traceback.

``tracer.cli`` imports every command, Rich and argparse: about 100 ms in which a Ctrl-C (a student
who launched the TUI by mistake) printed a ``KeyboardInterrupt`` traceback from inside an import,
before ``cli.main`` could catch anything.  This module imports nothing heavy, so the console script
(and ``python -m tracer``) enter the ``try`` below within a millisecond of starting.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """``tracer.cli.main``, with a Ctrl-C during its imports answered as one during a command is."""
    try:
        from tracer.cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
