"""Which reader fast path is in force: the C extension ``tracer.recording._fastread`` when built, else None.

``SOCKSCOPE_PURE_PYTHON=1`` turns it off (for comparing the two paths); an
install without a C compiler has none, and the Python code reads the same model.
"""

from __future__ import annotations

import os
from typing import Any

from tracer.recording.events import BY_CODE

VERSION = 3  # of the contract with tracer/recording/_fastread.c (its FASTREAD_VERSION)


def pure_python_asked() -> bool:
    """``SOCKSCOPE_PURE_PYTHON`` set to a true value: the reader's and the exports' C paths are off."""
    return os.environ.get("SOCKSCOPE_PURE_PYTHON", "").strip().lower() not in ("", "0", "no", "false", "off")


def _load_native() -> Any:
    """The C fast path, if built, current, and not turned off by ``SOCKSCOPE_PURE_PYTHON``."""
    if pure_python_asked():
        return None
    try:
        from tracer.recording import _fastread  # type: ignore[attr-defined]
    except ImportError:  # built without a C compiler
        return None
    if getattr(_fastread, "VERSION", None) != VERSION or tuple(_fastread.KINDS) != tuple(k.name for k in BY_CODE):
        return None  # left behind by an older build (pip install -e . builds it again)
    return _fastread


native = _load_native()
