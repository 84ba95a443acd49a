"""The command line and environment of sockscope's own child processes.

A server, the scenario clients, the load generator and the formatter each run
in a process of their own (each with its own GIL), and must run this same
sockscope.  ``python -m`` would put the current folder first on the module
path, so a ``tracer/`` folder there (an old checkout, say) would run instead;
``-P`` (Python 3.11 and later) leaves the current folder out.  ``PYTHONPATH``
names this copy's folder, for a checkout run without installing it.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module_argv(module: str, *args: str) -> list[str]:
    """``python -m MODULE ARGS`` with this interpreter, the current folder left off the module path."""
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    return [sys.executable, *safe_path, "-m", module, *args]


def env(**extra: str) -> dict[str, str]:
    """This process's environment, with this copy of sockscope first on ``PYTHONPATH``."""
    out = dict(os.environ, **extra)
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return out
