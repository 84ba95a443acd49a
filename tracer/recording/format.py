"""The recording format's one home: its name and version, peeks at a file's header, and whether a
new recording may be written at a path.

The three writers (the Python formatter, the C formatter through the recorder, and the recorder's
header and trailer) and every reader take the name and version from here; ``reader`` parses
whole files, this module only looks at a first line.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator

from tracer import outputs
from tracer.errors import RecordingError, TracerError
from tracer.locale import _

FORMAT_NAME = "sockscope"
FORMAT_VERSION = 1


def read_t0(path: str) -> int:
    """The recording's ``t0_monotonic_ns``, from its header.

    Raises:
        RecordingError: no such file, or no header with ``t0_monotonic_ns`` yet.
    """
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
    except OSError as exc:
        raise RecordingError(path, 0, _("cannot read it: {why}").format(why=exc.strerror or exc)) from None
    try:
        return int(json.loads(first)["t0_monotonic_ns"])
    except (ValueError, KeyError, TypeError):
        raise RecordingError(path, 1, _("expected a header with t0_monotonic_ns, got {line!r}").format(
            line=first[:60])) from None


def check_recording_path(path: str) -> None:
    """Raise TracerError if a new recording cannot go to ``path``; create nothing.

    A new recording may go where nothing is, or over an empty file or an
    earlier recording: running the same command again replaces its recording.
    Not over anything else (``--record server.py`` by a slip of the finger),
    and not into a device or pipe (``/dev/full`` would never be a recording:
    ``record`` reads it back).  A symlink is followed, as a shell redirect
    would: its target is judged, and written (:mod:`tracer.outputs`).
    """
    target = outputs.target_of(path)
    kind = outputs.kind_of(target)
    if kind == "folder":
        raise TracerError(_("cannot write recording {path}: it is a folder").format(path=path))
    if kind == "missing":
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(folder):
            raise TracerError(_("cannot write recording {path}: folder {folder} does not exist").format(
                path=path, folder=folder))
        return
    if kind == "special":
        raise TracerError(_("cannot write recording {path}: it is not a regular file (a device or a pipe?)").format(
            path=path))
    if os.path.getsize(target) and not _holds_a_recording(target):
        raise TracerError(_("not writing a recording over {path}: it holds something else (a mistyped name?); "
                            "choose another name").format(path=path))


@contextlib.contextmanager
def earlier_kept_on_failure(path: str) -> Iterator[None]:
    """Keep an earlier recording at ``path`` until a new one is really there.

    The writers open ``path`` when the server starts and remove it when the server
    never listened (port in use, a missing module): without this, that failed start
    would take the student's earlier recording with it. The earlier file waits beside
    it under a hidden name, comes back if no new recording stands at ``path`` when the
    block ends (however it ends), and is dropped otherwise. If sockscope itself is
    killed in between, the hidden ``.sockscope-earlier-*`` file is left, not lost. Only a
    recording is moved: anything else at ``path`` stays for the writers' own check to refuse.
    """
    target = outputs.target_of(path)
    aside: str | None = None
    if outputs.kind_of(target) == "file" and os.path.getsize(target) and _holds_a_recording(target):
        folder = os.path.dirname(os.path.abspath(target))
        try:
            fd, aside = tempfile.mkstemp(prefix=".sockscope-earlier-", dir=folder)
            os.close(fd)
            os.replace(target, aside)
        except OSError:  # a folder we cannot write: the recording is written in place, as before
            if aside is not None and os.path.lexists(aside):
                os.unlink(aside)
            aside = None
    try:
        yield
    finally:
        if aside is not None:
            try:
                if os.path.lexists(target):
                    os.unlink(aside)
                else:
                    os.replace(aside, target)
            except OSError:
                pass  # the earlier file stays under its hidden name: nothing is lost


def _holds_a_recording(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 16)
    except OSError:
        return True  # unreadable: opening it for writing says why, in its own words
    return is_header_line(first)


def is_header_line(first: bytes) -> bool:
    """Whether ``first`` (a file's first line) is a sockscope recording's header."""
    try:
        header = json.loads(first)
    except ValueError:
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT_NAME
