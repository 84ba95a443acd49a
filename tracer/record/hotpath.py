"""Which hot path records: the C one (``tracer/record/_hotpath.c``) when it was built, else Python.

``pip install`` builds the C extension when a C compiler and Python's headers
are present (``setup.py``); where they are not, the build goes on without it
and the recorder and traced sockets use their Python versions, which record
the same events and cost the server more.  ``SOCKSCOPE_PURE_PYTHON=1`` asks
for the Python versions even when the C one is built (for comparing the two).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from tracer.locale import _

VERSION = 4  # of the contract with tracer/record/_hotpath.c (its HOTPATH_VERSION)


def _load() -> tuple[Any, bool]:
    """The C module if it is there and current; and whether one was there but stale.

    Stale: built from older source, as an editable install (``pip install
    -e .``) is after an update until it is installed again.
    """
    try:
        module = importlib.import_module("tracer.record._hotpath")
    except ImportError:  # built without a C compiler
        return None, False
    if getattr(module, "VERSION", None) != VERSION:
        return None, True
    return module, False


native, stale = _load()


def built() -> bool:
    """Whether the C hot path was built with this install."""
    return native is not None


_NO = ("", "0", "no", "false", "off")


def _pure_python_env() -> str | None:
    """``SOCKSCOPE_PURE_PYTHON`` when it asks for the Python hot path (1, yes, true, on, ...), else None."""
    value = os.environ.get("SOCKSCOPE_PURE_PYTHON", "")
    return None if value.strip().lower() in _NO else value


def asked(choice: bool | None = None) -> bool:
    """Whether the C hot path is asked for: ``choice`` if given, else unless ``SOCKSCOPE_PURE_PYTHON`` says yes."""
    if choice is None:
        return _pure_python_env() is None
    return choice


def wanted(choice: bool | None = None) -> bool:
    """Whether to record through the C hot path: asked for, and built."""
    return asked(choice) and native is not None


_warned = False


def warn_stale() -> None:
    """Say once per process that the C hot path is out of date and not used."""
    global _warned
    if not _warned:
        _warned = True
        print(_("sockscope: note: the C hot path is out of date (run pip install -e . to rebuild it); "
                "recording through the Python one meanwhile"), file=sys.stderr)


def describe() -> str:
    """Which hot path records, in a few words (``--version``, benchmarks)."""
    if stale:
        return _("Python hot path: the C extension is out of date; run pip install -e . to rebuild it")
    if native is None:
        return _("Python hot path: the C extension was not built (no C compiler at install?); "
                 "with gcc and Python's headers, run pip install -e . again")
    env = _pure_python_env()
    return _("C hot path") if env is None else _("Python hot path: SOCKSCOPE_PURE_PYTHON={value}").format(value=env)
