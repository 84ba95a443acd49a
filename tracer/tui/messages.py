"""Messages between the loader thread, the widgets and the app (dataclasses, posted in batches)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tracer.recording.events import Event
from tracer.recording.follow import Batch
from tracer.timeline.rows import Timeline


@dataclass
class Loaded(Message):
    """The loader took in one more chunk (posted from the loader's thread, one per chunk)."""

    batch: Batch
    timeline: Timeline


@dataclass
class LoadFailed(Message):
    """The recording cannot be read: ``error`` is one line for the user."""

    error: str


@dataclass
class TimelineChanged(Message):
    """The view, the playhead or the selection moved: panels around the timeline redraw."""


@dataclass
class Seek(Message):
    """The user clicked the ruler at time ``t`` (ns)."""

    t: int


@dataclass
class ZoomAt(Message):
    """The user turned the wheel over the ruler: zoom by ``factor`` around time ``t``."""

    factor: float
    t: float


@dataclass
class UserMoved(Message):
    """The user moved the view or selected with the mouse: stop fitting and following."""


@dataclass
class JumpTo(Message):
    """The user clicked a line of a connection's story: go to that event."""

    event: Event
