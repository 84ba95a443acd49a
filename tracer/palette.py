"""Colours and glyphs of event kinds: the one mapping the timeline UI and the exports share.

A colour and a glyph carry the same meaning (see ``../shared/UI.md``), so a
picture still reads in monochrome: ``▒`` blocked in the kernel, ``█`` working,
``░`` waiting in the pool's queue, ``●``/``○`` a thread starts/ends, ``×`` a
socket closes, ``→``/``←`` a client's request out and response in.

Colours are ``#rrggbb`` strings, which Textual, Rich and SVG all accept.
"""

from __future__ import annotations

from tracer.events import KINDS, Look

LOOK_COLOURS: dict[Look, str] = {
    Look.BLOCKED: "#5b8cc4",  # blue: asleep in the kernel
    Look.WORKING: "#f0a030",  # orange: doing something
    Look.QUEUED: "#a77dc2",  # purple: a connection waits for a worker
    Look.MARK: "#8a8a8a",  # grey: an instant
}

# Kinds that deserve a shade of their own within their look.
KIND_COLOURS: dict[str, str] = {
    "accept": "#3f6fa8",  # darker blue than recv: the accept loop stands out
    "recv": "#6f9fd8",
    "select": "#4b7fb8",
    "connect": "#8fb4e0",
    "send": "#f0a030",
    "work": "#e2c040",
    "close": "#d0453a",  # red: the end of a connection
    "thread_start": "#3a9a48",  # green
    "thread_exit": "#707070",
    "submit": "#a77dc2",
    "start": "#7d55a8",
    "listen": "#2aa6a6",
}

# The pool queue's wait (submit -> start) is not an event of its own.
QUEUED_COLOUR = LOOK_COLOURS[Look.QUEUED]
COUNTER_COLOURS: dict[str, str] = {"backlog": "#c0504d", "queue": "#a77dc2", "threads": "#3a9a48"}

LOOK_GLYPHS: dict[Look, str] = {Look.BLOCKED: "▒", Look.WORKING: "█", Look.QUEUED: "░", Look.MARK: "┊"}
KIND_GLYPHS: dict[str, str] = {"thread_start": "●", "thread_exit": "○", "close": "×"}
CLIENT_GLYPHS: dict[str, str] = {"send": "→", "recv": "←"}
SHORT_GLYPH = "┊"  # an event too short to draw at this zoom
PLAYHEAD_GLYPH = "┃"


def colour(kind: str) -> str:
    """The colour of ``kind`` (a kind's name)."""
    found = KIND_COLOURS.get(kind)
    return found if found is not None else LOOK_COLOURS[KINDS[kind].look]


def glyph(kind: str, side: str = "server") -> str:
    """The one-cell glyph of ``kind`` on a lane of ``side``."""
    if side == "client" and kind in CLIENT_GLYPHS:
        return CLIENT_GLYPHS[kind]
    found = KIND_GLYPHS.get(kind)
    return found if found is not None else LOOK_GLYPHS[KINDS[kind].look]
