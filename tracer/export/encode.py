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

from array import array
from bisect import bisect_left
from collections import Counter
from typing import Any

from tracer.recording.fastpath import load_extension

VERSION = 3  # of the contract with tracer/export/_encode.c (its ENCODE_VERSION)


class _Never(Exception):
    """Stands for the encoder's ``Unsupported`` when there is no encoder (so ``except`` lines still read)."""


def _load_native() -> Any:
    """The C encoder, if built, current, and not turned off by ``SOCKSCOPE_PURE_PYTHON``."""
    return load_extension("tracer.export._encode", VERSION)


native = _load_native()
Unsupported: type[Exception] = native.Unsupported if native is not None else _Never


def lane_details(lane: Any, a: int, b: int) -> tuple[array, array, list[Any], list[int]]:
    """A lane's details of events ``[a, b)`` as the C encoder takes them: (event indices, each one's number
    in the lane's own table, that table's values in the order first seen, how often each is seen).

    Read from ``lane.details``' columns (``idx``, ``vid`` over ``table``) without a Python step per detail.
    """
    try:
        d = lane.details
        all_idx, all_vid, items = d.idx, d.vid, d.table.items
    except AttributeError as exc:  # the model keeps its details otherwise: the Python loops read them
        raise Unsupported(f"details: {exc}") from None
    k0, k1 = bisect_left(all_idx, a), bisect_left(all_idx, b)
    idx, vid = all_idx[k0:k1], all_vid[k0:k1]
    seen = Counter(vid)  # insertion order: the order first seen
    local = {v: k for k, v in enumerate(seen)}
    return (idx, array("i", map(local.__getitem__, vid)), [items[v] for v in seen], list(seen.values()))
