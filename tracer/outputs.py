"""Writing a user-given output path the way a shell redirect (``> PATH``) would.

Why this exists: writing a temporary file and ``os.replace``-ing it over the
output is the safe way to replace a *regular file* (a failed write leaves the
old one whole), but over anything else it destroys what was there: run as
root, ``export -o /dev/null`` left a plain file where the null device was, and
then tmux, ssh and shells failed ("No such device").  A FIFO was replaced (its
reader never got the data) and a symlink was replaced by a file (its target
untouched).  So, as ``sh -c 'cmd > PATH'`` does:

- a symlink is followed: its final target is what gets written, the link stays;
- a device, FIFO or socket is opened and written to in place (a FIFO's open
  waits for its reader, as the shell's does);
- only a regular file, or a path where nothing is yet, is written through a
  temporary file in the same folder and renamed over it, keeping the old
  file's permission bits.  If that folder cannot take a temporary file but
  the file itself is writable, it is written in place.

Every command that writes a path the user named goes through
:func:`output_file` (recordings through :func:`tracer.recording.format.check_recording_path`,
which asks :func:`kind_of` and refuses anything but a regular file).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import Any

from tracer.errors import TracerError
from tracer.locale import _


def kind_of(path: str) -> str:
    """What ``path`` names once symlinks are followed: ``missing``, ``file``, ``folder`` or ``special``.

    ``special`` is a device, FIFO or socket: something to open and write to,
    never to replace.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except NotADirectoryError:
        return "missing"  # a/b where a is a file: opening it says why
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return "special"


def target_of(path: str) -> str:
    """The path a write to ``path`` really lands on: a symlink's final target (a dangling one's too)."""
    return os.path.realpath(path) if os.path.islink(path) else path


def check_output_path(path: str) -> None:
    """Raise TracerError if nothing could be written at ``path`` (no folder, a folder); create nothing."""
    target = target_of(path)
    kind = kind_of(target)
    if kind == "folder":
        raise TracerError(_("cannot write {path}: it is a folder").format(path=path))
    if kind == "missing":
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(folder):
            raise TracerError(_("cannot write {path}: folder {folder} does not exist").format(path=path, folder=folder))


@contextlib.contextmanager
def output_file(path: str, *, encoding: str = "utf-8", newline: str | None = None,
                binary: bool = False) -> Iterator[Any]:
    """A text file (a binary one with ``binary``) to write ``path``'s new content into, as ``> path`` would.

    The content lands when the ``with`` block ends without an exception; one
    raised inside leaves a regular file (or the lack of one) as it was.  A
    device or FIFO gets the bytes as they are written.

    Raises:
        TracerError: the path cannot be written (no folder, a folder, permission denied, ...).
    """
    check_output_path(path)
    target = target_of(path)
    if kind_of(target) == "special":
        with _opened(path, target, encoding, newline, binary) as f:
            yield f
        return
    folder = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".sockscope-", dir=folder)
    except OSError as exc:
        if kind_of(target) == "file" and os.access(target, os.W_OK):  # a writable file in a locked folder
            with _opened(path, target, encoding, newline, binary) as f:
                yield f
            return
        raise TracerError(_("cannot write {path}: {why}").format(path=path, why=exc.strerror or exc)) from None
    try:
        with (open(fd, "wb") if binary else open(fd, "w", encoding=encoding, newline=newline)) as f:
            yield f
        _set_mode(tmp, target)
        os.replace(tmp, target)
    except OSError as exc:
        raise TracerError(_("cannot write {path}: {why}").format(path=path, why=exc.strerror or exc)) from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def _opened(path: str, target: str, encoding: str, newline: str | None, binary: bool = False) -> Iterator[Any]:
    """``target`` opened for writing in place (a device, a FIFO, a file in a folder we cannot write)."""
    try:
        f = open(target, "wb") if binary else open(target, "w", encoding=encoding, newline=newline)
    except OSError as exc:
        raise TracerError(_("cannot write {path}: {why}").format(path=path, why=exc.strerror or exc)) from None
    try:
        with f:
            yield f
    except OSError as exc:
        raise TracerError(_("cannot write {path}: {why}").format(path=path, why=exc.strerror or exc)) from None


def _set_mode(tmp: str, target: str) -> None:
    """The permissions the file at ``target`` had, or an ordinary new file's (0666 less the umask)."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        mode = 0o666 & ~mask
    os.chmod(tmp, mode)


def write_text(path: str, text: str, *, encoding: str = "utf-8", newline: str | None = None) -> None:
    """Write ``text`` to ``path`` as ``> path`` would (see :func:`output_file`)."""
    with output_file(path, encoding=encoding, newline=newline) as f:
        f.write(text)
