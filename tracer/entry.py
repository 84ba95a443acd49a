"""The ``sockscope`` command's first lines: a Ctrl-C while Python is still importing is one word, not a
traceback.

``tracer.cli`` imports every command, Rich and argparse: about 100 ms in which a Ctrl-C (a student
who launched the TUI by mistake) printed a ``KeyboardInterrupt`` traceback from inside an import,
before ``cli.main`` could catch anything.  This module imports nothing heavy, so the console script
(and ``python -m tracer``) enter the ``try`` below within a millisecond of starting; before that, from
the first line of ``tracer/__init__.py`` (pip's wrapper imports the package first), a Ctrl-C is held:
"interrupted", exit 130 (``tracer._hold_ctrl_c``).

What is left is before any line of ours, and no code of ours can run there (measured with strace on
a 2-core machine at load ~10, non-editable install: about 15 ms): Python's own start-up after it
installs its SIGINT handler (``site`` and the ``.pth`` files: ~5 ms; an editable install's finder adds
~20 ms there, importing pathlib), and pip's wrapper's ``import re`` (~10 ms: re, enum, functools).
A Ctrl-C there prints Python's traceback ("Fatal Python error: init_import_site" in ``site``). Before
Python's handler, a Ctrl-C ends the process silently. Closing it would take a ``.pth`` line run by
every Python of the environment, or a launcher other than pip's: neither is worth 15 ms.
"""

from __future__ import annotations

import sys

import tracer


def main(argv: list[str] | None = None) -> int:
    """``tracer.cli.main``, with a Ctrl-C during its imports answered as one during a command is."""
    try:
        _release_ctrl_c()  # from here a Ctrl-C is a KeyboardInterrupt, caught below
        from tracer.cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _release_ctrl_c() -> None:
    """Ctrl-C back to Python's ``KeyboardInterrupt``, if :func:`tracer._hold_ctrl_c` held it."""
    import _signal  # built in, as in tracer/__init__.py (a Ctrl-C before the next line: still held)

    if _signal.getsignal(_signal.SIGINT) is tracer._interrupted_while_starting:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
