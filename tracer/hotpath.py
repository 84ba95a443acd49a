"""Which hot path records: the C one (``tracer/_hotpath.c``) when it was built, else Python.

``pip install`` builds the C extension when a C compiler and Python's headers
are present (``setup.py``); where they are not, the build goes on without it
and the recorder and traced sockets use their Python versions, which record
the same events and cost the server more.  ``SOCKSCOPE_PURE_PYTHON=1`` asks
for the Python versions even when the C one is built (for comparing the two).
"""

from __future__ import annotations

import os
from typing import Any

native: Any
try:
    from tracer import _hotpath as native  # type: ignore[attr-defined, no-redef]
except ImportError:  # built without a C compiler
    native = None


def built() -> bool:
    """Whether the C hot path was built with this install."""
    return native is not None


def wanted(choice: bool | None = None) -> bool:
    """Whether to record through the C hot path: ``choice`` if given, else unless ``SOCKSCOPE_PURE_PYTHON=1``."""
    if choice is None:
        choice = os.environ.get("SOCKSCOPE_PURE_PYTHON", "") in ("", "0")
    return choice and native is not None


def describe() -> str:
    """Which hot path records, in a few words (``--version``, benchmarks)."""
    if native is None:
        return "Python hot path: the C extension was not built"
    return "C hot path" if wanted() else "Python hot path: SOCKSCOPE_PURE_PYTHON=1"
