"""Text widths in terminal cells: a Chinese character takes two, so padding counts cells, not characters.

Pure standard library (``unicodedata``), for the plain-text tables of ``compare``
and ``bench`` and the SVG's label widths; the TUI uses Rich's own
``cell_len``, which agrees with this for every character the catalogs hold.
"""

from __future__ import annotations

import re
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


_TOKEN = re.compile(r"[ \t]+|[!-~]+|.")
_NO_BREAK_BEFORE = set("，。、：；）！？》」』")  # a line never starts with these
_NO_BREAK_AFTER = set("（《「『")  # nor ends with these


def _tokens(line: str) -> list[tuple[int, int]]:
    """``line`` in unbreakable pieces (start, end): ASCII words whole, a CJK character each, punctuation glued."""
    out: list[tuple[int, int]] = []
    glue_next = False
    for m in _TOKEN.finditer(line):
        a, b = m.span()
        joins_prev = out and (glue_next or (line[a] in _NO_BREAK_BEFORE and not line[out[-1][1] - 1].isspace()))
        if joins_prev:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
        glue_next = line[b - 1] in _NO_BREAK_AFTER
    return out


def break_offsets(line: str, width: int) -> list[int]:
    """Where to break ``line`` (no newline in it) to fit ``width`` cells: between CJK characters or at spaces.

    Why not Rich's wrap: it breaks only at spaces, so a Chinese sentence with
    "200 ms" in it breaks at that space and leaves half a line empty.  A piece
    wider than ``width`` is cut by characters.
    """
    breaks: list[int] = []
    col = 0
    for a, b in _tokens(line):
        piece = line[a:b]
        w = cell_len(piece)
        if piece.isspace():
            col += w
            continue
        if col + w > width and col > 0:
            breaks.append(a)
            col = 0
        if w > width:
            for i, ch in enumerate(piece):
                cw = char_cells(ch)
                if col + cw > width and col > 0:
                    breaks.append(a + i)
                    col = 0
                col += cw
        else:
            col += w
    return breaks
