"""Colours for the timeline's looks and marks, and making untrusted text safe to show.

Glyphs and colours both come from :mod:`tracer.timeline.palette`, the one palette
the exports use too; glyphs carry the meaning on a monochrome terminal, colours
repeat it.  Names and peers come from recordings, so they are
never parsed as markup (only ``Text`` and ``Segment`` are built from them) and
control characters are shown escaped.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.style import Style

from tracer.recording.events import KINDS
from tracer.timeline import palette
from tracer.timeline.track import IDLE, INK_OF_CODE, MARK, SEVERAL_CODE

# A cell's colour: its class of time (one ink per kind of wait or work), or its instant's kind.
LOOK_STYLE = {IDLE: Style(color=palette.LIFE_COLOUR), MARK: Style(color=palette.TEXT_COLOUR),
              **{code: Style(color=ink.colour) for code, ink in INK_OF_CODE.items()}}
KIND_STYLE = {KINDS[name].code: Style(color=colour, bold=True) for name, colour in palette.KIND_COLOURS.items()}
KIND_STYLE[SEVERAL_CODE] = Style(color=palette.SEVERAL.colour, bold=True)
CLIENT_ARROW = Style(color=palette.CLIENT_ARROW_COLOUR, bold=True)
PLAYHEAD = Style(color="#ffff5f", bold=True)
LABEL = Style(color="#d0d0d0")
LABEL_CURSOR = Style(color="#000000", bgcolor="#d0d0d0", bold=True)
GROUP = Style(color="#87afaf", bold=True)
COUNTER = Style(color=palette.COUNTER_COLOUR)
COUNTER_NOTE = Style(color="#ffffff", bgcolor="#303030", bold=True)
DIM = Style(color="#808080")

_cache: dict[tuple[int, int, bool, str, bool], Style] = {}


def cell_style(look: int, code: int, glyph: str, highlight: bool, selected: bool) -> Style:
    """The style of one timeline cell (cached: a frame asks for thousands)."""
    key = (look, code, highlight, glyph, selected)
    style = _cache.get(key)
    if style is None:
        if glyph in ("→", "←"):
            style = CLIENT_ARROW
        else:
            style = KIND_STYLE.get(code) if look == MARK else None
            style = style or LOOK_STYLE.get(look, LOOK_STYLE[MARK])
        if selected:
            style = style + Style(bgcolor=palette.SELECTED_BG, color="#000000" if look == MARK else None)
        elif highlight:
            style = style + Style(bgcolor=palette.HIGHLIGHT_BG)
        _cache[key] = style
    return style


def clean(text: object, limit: int = 200) -> str:
    """Untrusted text made printable: control characters (escapes, newlines) shown as ``\\x1b``."""
    s = str(text)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in s)


def fit(text: str, width: int) -> str:
    """Cut or pad ``text`` to exactly ``width`` cells (an ellipsis marks a cut).

    A Chinese character is two cells: a cut never splits one, and the ellipsis
    follows the last whole character (``完成连接…``), the padding after it.
    """
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    if text.isascii():
        return text[: width - 1] + "…"
    keep = set_cell_size(text, width - 1)
    k = len(keep)
    while k and cell_len(text[:k]) > width - 1:  # set_cell_size pads a half character with a space
        k -= 1
    return set_cell_size(text[:k] + "…", width)


def fit_name(text: str, width: int) -> str:
    """Like :func:`fit`, but a long name keeps its numbered end, which tells threads apart.

    ``ThreadPoolExecutor-0_0`` and ``ThreadPoolExecutor-0_1`` would both be cut to
    ``ThreadPoolExecu…``; here they are ``ThreadPoo…-0_0`` and ``ThreadPoo…-0_1``.
    The numbered end is the trailing run of digits, ``-``, ``_`` and spaces that
    starts with a separator, kept when it is at most a third of the width and two; any other
    name (and a Chinese one) keeps its start, as :func:`fit` cuts it.
    """
    if width < 8 or cell_len(text) <= width or not text.isascii():
        return fit(text, width)
    tail = text[len(text.rstrip("0123456789-_ ")):]
    if not tail or tail[0] not in "-_ " or len(tail) > (width - 1) // 3 + 2:
        return fit(text, width)
    return text[:width - 1 - len(tail)] + "…" + tail
