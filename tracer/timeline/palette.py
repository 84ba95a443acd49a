"""Colours and glyphs of event kinds: the one mapping the timeline UI and the exports share.

A colour and a glyph carry the same meaning (see ``../shared/UI.md``), so a
picture still reads in monochrome: ``▒`` blocked in the kernel, ``█`` working,
``░`` waiting in the pool's queue, ``●``/``○`` a thread starts/ends, ``×`` a
socket closes, ``→``/``←`` a client's request out and response in.

Colours are ``#rrggbb`` strings, which Textual, Rich and SVG all accept.
"""

from __future__ import annotations

from tracer.recording.events import KINDS, Look

# The timeline UI's colours (xterm-256 shades, so a terminal shows them as they are).
LOOK_COLOURS: dict[Look, str] = {
    Look.BLOCKED: "#5f87ff",  # blue: asleep in the kernel (accept, recv, select, connect)
    Look.WORKING: "#ffaf00",  # amber: doing something (send, work)
    Look.QUEUED: "#d75fd7",  # magenta: a connection waits for a worker
    Look.MARK: "#a8a8a8",  # grey: an instant
}

# Instants that deserve a colour of their own; spans take their look's colour.
KIND_COLOURS: dict[str, str] = {
    "close": "#ff5f5f",  # red: the end of a connection
    "thread_start": "#5fd75f",  # green
    "thread_exit": "#a8a8a8",
    "listen": "#00d7d7",
    "submit": LOOK_COLOURS[Look.QUEUED],
    "start": LOOK_COLOURS[Look.QUEUED],
}

LIFE_COLOUR = "#585858"  # a thread alive but in no traced call (─)
TEXT_COLOUR = "#d0d0d0"  # instants and labels on the dark background
HIGHLIGHT_BG = "#4a4a00"  # cells of the connection under the cursor
SELECTED_BG = "#87875f"  # the selected event
QUEUED_COLOUR = LOOK_COLOURS[Look.QUEUED]  # the pool queue's wait (submit -> start) is not an event of its own
CLIENT_ARROW_COLOUR = "#00d7ff"  # a client's request out and response in (→, ←)
COUNTER_COLOURS: dict[str, str] = {"backlog": "#ff5f5f", "queue": QUEUED_COLOUR, "threads": "#5fd75f"}

LOOK_GLYPHS: dict[Look, str] = {Look.BLOCKED: "▒", Look.WORKING: "█", Look.QUEUED: "░", Look.MARK: "┊"}
KIND_GLYPHS: dict[str, str] = {"thread_start": "●", "thread_exit": "○", "close": "×"}
CLIENT_GLYPHS: dict[str, str] = {"send": "→", "recv": "←"}
SHORT_GLYPH = "┊"  # an event too short to draw at this zoom
PLAYHEAD_GLYPH = "┃"


def colour(kind: str) -> str:
    """The colour of ``kind`` (a kind's name)."""
    found = KIND_COLOURS.get(kind)
    return found if found is not None else LOOK_COLOURS[KINDS[kind].look]
