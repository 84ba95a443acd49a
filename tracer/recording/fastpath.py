"""Which reader fast path is in force: the C extension ``tracer.recording._fastread`` when built, else None.

``SOCKSCOPE_PURE_PYTHON=1`` turns it off (for comparing the two paths); an
install without a C compiler has none, and the Python code reads the same model.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from tracer.recording.events import BY_CODE

VERSION = 6  # of the contract with tracer/recording/_fastread.c (its FASTREAD_VERSION)


def pure_python_asked() -> bool:
    """``SOCKSCOPE_PURE_PYTHON`` set to a true value: the reader's and the exports' C paths are off."""
    return os.environ.get("SOCKSCOPE_PURE_PYTHON", "").strip().lower() not in ("", "0", "no", "false", "off")


def load_extension(name: str, version: int) -> Any:
    """The C extension ``name`` (the reader's, the exports'), if built, of contract ``version``, and not turned
    off by ``SOCKSCOPE_PURE_PYTHON``; else None (the Python code does the same)."""
    if pure_python_asked():
        return None
    try:
        module = importlib.import_module(name)
    except ImportError:  # built without a C compiler
        return None
    if getattr(module, "VERSION", None) != version:
        return None  # left behind by an older build (pip install -e . builds it again)
    return module


def _load_native() -> Any:
    """The reader's C fast path, if built, current (its kinds too), and not turned off."""
    fastread = load_extension("tracer.recording._fastread", VERSION)
    if fastread is None or tuple(fastread.KINDS) != tuple(k.name for k in BY_CODE):
        return None  # (kinds: left behind by an older build)
    return fastread


native = _load_native()
