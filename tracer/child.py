"""The command line and environment of sockscope's own child processes.

A server, the scenario clients, the load generator and the formatter each run
in a process of their own (each with its own GIL), and must run this same
sockscope.  ``python -m`` would put the current folder first on the module
path, so a ``tracer/`` folder there (an old checkout, say) would run instead;
``-P`` (Python 3.11 and later; a few lines of ``-c`` on 3.10) leaves the
current folder out.  ``PYTHONPATH`` names this copy's folder, for a checkout
run without installing it.
"""

from __future__ import annotations

import os
import sys

from tracer import locale

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module_argv(module: str, *args: str) -> list[str]:
    """``python -m MODULE ARGS`` with this interpreter, the current folder left off the module path."""
    if sys.version_info >= (3, 11):
        return [sys.executable, "-P", "-m", module, *args]
    # 3.10 has no -P: drop what -c put first on the path (the current folder), then run the module as -m would
    code = f"import runpy, sys; del sys.path[0]; runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    return [sys.executable, "-c", code, *args]


def env(**extra: str) -> dict[str, str]:
    """This process's environment, with this copy of sockscope first on ``PYTHONPATH``."""
    out = dict(os.environ, **extra)
    out["SOCKSCOPE_LANG"] = extra.get("SOCKSCOPE_LANG", locale.language())  # a child's errors in our language
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return out
