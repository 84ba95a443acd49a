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

from tracer.recording.events import KINDS, Look
from tracer.timeline import palette
from tracer.timeline.track import BLOCKED, IDLE, MARK, QUEUED, WORKING

LOOK_STYLE = {
    IDLE: Style(color=palette.LIFE_COLOUR),
    BLOCKED: Style(color=palette.LOOK_COLOURS[Look.BLOCKED]),
    WORKING: Style(color=palette.LOOK_COLOURS[Look.WORKING]),
    QUEUED: Style(color=palette.LOOK_COLOURS[Look.QUEUED]),
    MARK: Style(color=palette.TEXT_COLOUR),
}
KIND_STYLE = {KINDS[name].code: Style(color=colour, bold=True) for name, colour in palette.KIND_COLOURS.items()}
CLIENT_ARROW = Style(color=palette.CLIENT_ARROW_COLOUR, bold=True)
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
    """Cut or pad ``text`` to exactly ``width`` cells (an ellipsis marks a cut)."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)
