"""The recording format's one home: its name and version, peeks at a file's header, and whether a
new recording may be written at a path.

The three writers (the Python formatter, the C formatter through the recorder, and the recorder's
header and trailer) and every reader take the name and version from here; ``reader`` parses
whole files, this module only looks at a first line.
"""

from __future__ import annotations

import json
import os

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


def _holds_a_recording(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 16)
    except OSError:
        return True  # unreadable: opening it for writing says why, in its own words
    try:
        header = json.loads(first)
    except ValueError:
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT_NAME
