"""The recorder's own descriptors, kept out of a traced program's way.

A program may close descriptors it did not open (daemons close every one above 2) and then open its own
files, which get the lowest free numbers: the number of the recording (or of the formatter's pipe) may then
name the program's file. So the recorder's descriptors are moved above :data:`LOW` where ``fcntl`` allows,
each remembers what it named (device, inode), :meth:`Held.ours` asks before each use whether it still does,
and only a descriptor still ours is ever closed: the file objects over them are made with ``closefd=False``.
"""

from __future__ import annotations

import os
from typing import IO, Any

LOW = 100  # descriptors below this are left to the program


def move_up(fd: int) -> int:
    """``fd`` moved to the lowest free number >= :data:`LOW` (close-on-exec), or left where it is."""
    try:
        import fcntl
    except ImportError:  # Windows: where it is (there, closing another's handle is an error of its own)
        return fd
    try:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, LOW)
    except OSError:  # a low limit of open files: where it is
        return fd
    os.close(fd)
    return high


def ident(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


class Held:
    """A descriptor of ours: moved up, and what it names remembered."""

    def __init__(self, fd: int) -> None:
        self.fd = move_up(fd)
        self.ident = ident(self.fd)

    @classmethod
    def taken_from(cls, f: IO[Any]) -> Held:
        """The descriptor of file object ``f``, made ours (a copy, moved up); ``f`` is closed."""
        held = cls(os.dup(f.fileno()))
        f.close()
        return held

    def ours(self) -> bool:
        """Whether the number still names what it named (False once the program closed it, or reused it)."""
        try:
            return self.fd >= 0 and ident(self.fd) == self.ident
        except OSError:
            return False

    def close(self) -> None:
        """Close it if it is still ours (never a number the program reused)."""
        if self.ours():
            os.close(self.fd)
        self.fd = -1
