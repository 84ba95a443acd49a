"""Which export encoder is in force: the C extension ``tracer.export._encode`` when built, else None.

``tracer/export/_encode.c`` holds the per-event loops of the Chrome, CSV and Perfetto exports (one
lane's columns, read through the buffer protocol, to JSON events, CSV rows or TrackEvent packets);
the Python loops in chrome.py, csvout.py and perfetto.py write the same bytes and stay as the
fallback.  ``SOCKSCOPE_PURE_PYTHON=1`` turns the C encoder off (for comparing the two paths); an
install without a C compiler has none.  Columns the encoder cannot read (a typecode that is not an
integer one, a kind code out of range) make it raise :data:`Unsupported` before it writes anything,
and that lane is written by the Python loop.
"""

from __future__ import annotations

import os
from typing import Any

VERSION = 1  # of the contract with tracer/export/_encode.c (its ENCODE_VERSION)


class _Never(Exception):
    """Stands for the encoder's ``Unsupported`` when there is no encoder (so ``except`` lines still read)."""


def _load_native() -> Any:
    """The C encoder, if built, current, and not turned off by ``SOCKSCOPE_PURE_PYTHON``."""
    if os.environ.get("SOCKSCOPE_PURE_PYTHON", "").strip().lower() not in ("", "0", "no", "false", "off"):
        return None
    try:
        from tracer.export import _encode  # type: ignore[attr-defined]
    except ImportError:  # built without a C compiler
        return None
    if getattr(_encode, "VERSION", None) != VERSION:
        return None  # left behind by an older build (pip install -e . builds it again)
    return _encode


native = _load_native()
Unsupported: type[Exception] = native.Unsupported if native is not None else _Never
