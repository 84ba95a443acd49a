"""Colours for the timeline's looks and marks, and making untrusted text safe to show.

Glyphs (in :mod:`tracer.timeline`) carry the meaning on a monochrome terminal;
these colours repeat it.  Names and peers come from recordings, so they are
never parsed as markup (only ``Text`` and ``Segment`` are built from them) and
control characters are shown escaped.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.style import Style

from tracer import timeline as tl
from tracer.events import KINDS

BLOCKED = "#5f87ff"
WORKING = "#ffaf00"
QUEUED = "#d75fd7"
LIFE = "#585858"
HIGHLIGHT_BG = "#4a4a00"
SELECTED_BG = "#87875f"

LOOK_STYLE = {
    tl.IDLE: Style(color=LIFE),
    tl.BLOCKED: Style(color=BLOCKED),
    tl.WORKING: Style(color=WORKING),
    tl.QUEUED: Style(color=QUEUED),
    tl.MARK: Style(color="#d0d0d0"),
}
MARK_COLOUR = {
    "close": "#ff5f5f",
    "thread_start": "#5fd75f",
    "thread_exit": "#a8a8a8",
    "listen": "#00d7d7",
    "submit": QUEUED,
    "start": QUEUED,
}
KIND_STYLE = {KINDS[name].code: Style(color=colour, bold=True) for name, colour in MARK_COLOUR.items()}
CLIENT_ARROW = Style(color="#00d7ff", bold=True)
PLAYHEAD = Style(color="#ffff5f", bold=True)
LABEL = Style(color="#d0d0d0")
LABEL_CURSOR = Style(color="#000000", bgcolor="#d0d0d0", bold=True)
GROUP = Style(color="#87afaf", bold=True)
COUNTER = Style(color="#87afaf")
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
            style = KIND_STYLE.get(code) or LOOK_STYLE[look]
        if selected:
            style = style + Style(bgcolor=SELECTED_BG, color="#000000" if look == tl.MARK else None)
        elif highlight:
            style = style + Style(bgcolor=HIGHLIGHT_BG)
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
    """Cut or pad ``text`` to exactly ``width`` cells (an ellipsis marks a cut)."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)
