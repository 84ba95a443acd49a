"""One error family for everything sockscope reports to a user.

The CLI turns a :class:`TracerError` into one ``error: ...`` line and an exit
code; the UI turns it into a notification.  Code that raises one says what was
expected and what came instead.
"""

from __future__ import annotations


class TracerError(Exception):
    """Base class of every error sockscope explains to its user."""

    exit_code = 2


class UsageError(TracerError):
    """A command line or setting that cannot be acted on."""


class RecordingError(TracerError):
    """A recording that cannot be read.

    Args:
        path: the file's name, as the user gave it.
        line: the 1-based line number, or 0 for the file as a whole.
        message: what was expected and what came.
    """

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


class ServerError(TracerError):
    """A lesson server that cannot start or keep running."""
