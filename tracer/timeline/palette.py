"""Glyphs and colours of what a timeline shows: the one mapping the timeline UI and the exports share.

Each kind of time a thread spends has its own **ink** (a glyph and a colour), so
that waiting to accept, waiting for bytes, waiting in ``select``, waiting to
connect, waiting in the pool's queue or the kernel's backlog, sending, and the
handler's own work (sleeping as on a database, or computing) can be told apart
on a monochrome terminal too (the glyph carries the meaning, the colour repeats
it; see ``../shared/UI.md``).  Instants have glyphs of their own: ``●``/``○`` a
thread starts/ends, ``×`` a socket closes, ``※`` several of those in one cell.

Colours are ``#rrggbb`` strings (xterm-256 shades), which Textual, Rich and SVG all accept.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tracer.locale import N_
from tracer.recording.events import KINDS, Look


@dataclass(frozen=True)
class Ink:
    """How one kind of time is drawn.

    Attributes:
        name: its name (``recv``, ``queue``, ``cpu`` ...).
        glyph: one terminal cell's character.
        colour: ``#rrggbb``.
        words: what it means, in a line a student understands (help screen, legend).
        short: one or two words for the one-line legend.
    """

    name: str
    glyph: str
    colour: str
    words: str
    short: str


# The kinds of time, in the order the legend lists them.  A zoomed-out cell shows the one that took most of it.
SPAN_INKS: tuple[Ink, ...] = (
    Ink("accept", "┅", "#00afaf", N_("waiting to accept: the thread sleeps in accept() until a client connects"),
        N_("accept")),
    Ink("recv", "▒", "#5f87ff", N_("waiting for bytes: the thread sleeps in recv() until the peer sends"), N_("recv")),
    Ink("select", "≈", "#af87ff", N_("waiting in select(): the event loop sleeps until some socket is ready"),
        N_("select")),
    Ink("connect", "▪", "#87d7ff", N_("waiting to connect: the client's handshake (its SYN retries when dropped)"),
        N_("connect")),
    Ink("queue", "░", "#d75fd7", N_("waiting in the pool's queue for a free worker (submit → start)"),
        N_("pool queue")),
    Ink("backlog", "▚", "#ff875f", N_("waiting in the kernel's backlog: connected, not yet accepted"), N_("backlog")),
    Ink("send", "█", "#ffaf00", N_("sending: send() copies the reply to the kernel"), N_("send")),
    Ink("work", "═", "#d7d75f", N_("the handler waits (--work-ms: it sleeps, as on a database; other threads run)"),
        N_("work (sleep)")),
    Ink("cpu", "▓", "#ff5f00", N_("the handler computes (--cpu-ms: it holds the GIL; other threads wait)"),
        N_("work (cpu)")),
)
INKS: dict[str, Ink] = {ink.name: ink for ink in SPAN_INKS}

# Instants: glyph, colour, words.
MARK_INKS: tuple[Ink, ...] = (
    Ink("thread_start", "●", "#5fd75f", N_("a thread starts"), N_("start")),
    Ink("close", "×", "#ff5f5f", N_("a socket closes"), N_("close")),
    Ink("thread_exit", "○", "#a8a8a8", N_("a thread ends"), N_("exit")),
    Ink("listen", "◇", "#00d7d7", N_("the server socket starts listening"), N_("listen")),
    Ink("submit", "»", "#d75fd7", N_("a connection is handed to the pool's queue"), N_("submit")),
    Ink("start", "▸", "#d75fd7", N_("a worker picks a connection from the pool's queue"), N_("pick up")),
)
MARKS: dict[str, Ink] = {ink.name: ink for ink in MARK_INKS}
SEVERAL = Ink("several", "※", "#ffffff",
              N_("several of ● × ○ in one cell (a thread that starts and ends there): zoom in (+) to tell them apart"),
              N_("several"))
CLOSE_EXIT = Ink("close_exit", "⊗", "#ff5f5f", N_("a socket closes and its thread ends, in one cell"), N_("close+exit"))
# Instants a zoomed-out cell never drops: a cell holding one shows it (several: SEVERAL), whatever else it holds.
LIFECYCLE = ("thread_start", "close", "thread_exit", "listen")

# The looks' colours (older names; the SVG legend groups by look).
LOOK_COLOURS: dict[Look, str] = {
    Look.BLOCKED: INKS["recv"].colour,
    Look.WORKING: INKS["send"].colour,
    Look.QUEUED: INKS["queue"].colour,
    Look.MARK: "#a8a8a8",
}
KIND_COLOURS: dict[str, str] = {ink.name: ink.colour for ink in MARK_INKS}

LIFE_COLOUR = "#585858"  # a thread alive but in no traced call (─)
TEXT_COLOUR = "#d0d0d0"  # instants and labels on the dark background
HIGHLIGHT_BG = "#4a4a00"  # cells of the connection under the cursor
SELECTED_BG = "#87875f"  # the selected event
QUEUED_COLOUR = INKS["queue"].colour  # the pool queue's wait (submit -> start) is not an event of its own
CLIENT_ARROW_COLOUR = "#00d7ff"  # a client's request out and response in (→, ←)
COUNTER_COLOURS: dict[str, str] = {"backlog": INKS["backlog"].colour, "queue": QUEUED_COLOUR, "threads": "#5fd75f",
                                   "ctx_voluntary": "#87afff", "ctx_involuntary": "#ff8787"}
COUNTER_COLOUR = "#87afaf"  # a counter without a colour of its own

CLIENT_GLYPHS: dict[str, str] = {"send": "→", "recv": "←"}
SHORT_GLYPH = "┊"  # an event too short to draw at this zoom
LIFE_GLYPH = "─"  # the thread is alive but in no traced call
PLAYHEAD_GLYPH = "┃"
LOOK_GLYPHS: dict[Look, str] = {Look.BLOCKED: "▒", Look.WORKING: "█", Look.QUEUED: "░", Look.MARK: SHORT_GLYPH}
KIND_GLYPHS: dict[str, str] = {ink.name: ink.glyph for ink in MARK_INKS}

# The span ink of each event kind (``work`` is ``cpu`` when its detail says it computed).
KIND_INK: dict[str, str] = {"accept": "accept", "recv": "recv", "select": "select", "connect": "connect",
                            "send": "send", "work": "work"}


def colour(kind: str) -> str:
    """The colour of ``kind`` (a kind's name, or an ink's: ``queue``, ``cpu``)."""
    if kind in MARKS:
        return MARKS[kind].colour
    if kind in INKS:
        return INKS[kind].colour
    if kind in KIND_INK:
        return INKS[KIND_INK[kind]].colour
    return LOOK_COLOURS[KINDS[kind].look]


# ---------------------------------------------------------------- the ASCII glyph set
# Block and box characters are "ambiguous width" (Unicode's East Asian Width A): a terminal in a Chinese
# locale may draw them two cells wide, which shifts every column after them.  With --ascii (or
# SOCKSCOPE_ASCII=1) every glyph the timeline draws is swapped, one character for one, so the columns stay.
ASCII_GLYPHS: dict[str, str] = {
    "▒": ":", "█": "#", "░": ".", "┊": "'", "┃": "|", "│": "|", "─": "-", "┼": "+", "┴": "+", "┬": "+",
    "├": "+", "┤": "+", "┸": "+", "━": "=", "▼": "v", "▾": "v", "▸": ">", "▶": ">", "◀": "<", "‖": "=",
    "●": "*", "○": "o", "×": "x", "◇": "L", "»": ">", "→": ">", "←": "<", "•": "*", "…": "~", "·": ".",
    "▁": "_", "▂": "_", "▃": "-", "▄": "-", "▅": "=", "▆": "=", "▇": "#",
    # the inks of #12's guided lessons (accept, select, connect, backlog, work, cpu, several)
    "┅": "_", "≈": "~", "⋯": ",", "▪": ",", "▚": "%", "═": "=", "▓": "@", "※": "!", "⊗": "X",
}
ASCII_TABLE = str.maketrans(ASCII_GLYPHS)
_ascii = False


def ascii_asked(environ: dict[str, str] | None = None) -> bool:
    """Does ``SOCKSCOPE_ASCII`` ask for the ASCII glyph set (``1``, ``yes``, ``true``, ``on``)?"""
    env = os.environ if environ is None else environ
    return env.get("SOCKSCOPE_ASCII", "").strip().lower() in ("1", "yes", "true", "on")


def set_ascii(on: bool) -> None:
    """Draw the timeline with ASCII characters (True) or with block and box characters (False)."""
    global _ascii
    _ascii = on


def ascii_on() -> bool:
    return _ascii


def glyphs(text: str) -> str:
    """``text`` as the glyph set in force draws it (unchanged unless ASCII is on)."""
    return text.translate(ASCII_TABLE) if _ascii else text
