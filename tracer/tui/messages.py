"""Messages between the loader thread, the widgets and the app (dataclasses, posted in batches)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from tracer.recording.events import Event
from tracer.recording.follow import Batch
from tracer.timeline.rows import Timeline

if TYPE_CHECKING:
    from tracer.recording.follow import Loader


class _FromLoader(Message):
    loader: Loader | None

    @property
    def stale(self) -> bool:
        """Its loader was told to stop before this was handled (a reload replaced it): to be ignored.

        (Posted from the loader's thread, it can be handled after the UI has already started a new loader.)
        """
        return self.loader is not None and self.loader.stopping.is_set()


@dataclass
class Loaded(_FromLoader):
    """The loader took in one more chunk (posted from the loader's thread, one per chunk)."""

    batch: Batch
    timeline: Timeline
    loader: Loader | None = None


@dataclass
class LoadFailed(_FromLoader):
    """The recording cannot be read: ``error`` is one line for the user; ``loader``, the one that failed."""

    error: str
    loader: Loader | None = None


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
