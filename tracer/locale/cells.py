"""Text widths in terminal cells: a Chinese character takes two, so padding counts cells, not characters.

Pure standard library (``unicodedata``), for the plain-text tables of ``compare``
and ``bench`` and the SVG's label widths; the TUI uses Rich's own
``cell_len``, which agrees with this for every character the catalogs hold.
"""

from __future__ import annotations

import unicodedata


def char_cells(ch: str) -> int:
    """2 for a wide or full-width character (CJK, ``，``), 0 for a combining mark, else 1."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_len(text: str) -> int:
    """How many cells ``text`` takes: ``cell_len("连接 3") == 6``."""
    if text.isascii():
        return len(text)
    return sum(char_cells(ch) for ch in text)


def ljust(text: str, width: int) -> str:
    """``text`` padded on the right to ``width`` cells."""
    return text + " " * max(0, width - cell_len(text))


def rjust(text: str, width: int) -> str:
    """``text`` padded on the left to ``width`` cells."""
    return " " * max(0, width - cell_len(text)) + text


def truncate(text: str, width: int, mark: str = "…") -> str:
    """``text`` cut at a character boundary to at most ``width`` cells, ``mark`` (one cell) where it was cut."""
    if cell_len(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = char_cells(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + mark
