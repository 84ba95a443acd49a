"""Read a recording in chunks, and keep reading it while it grows.

How this works
--------------
:class:`Follower` remembers where it stopped in a file.  Each :meth:`Follower.poll`
reads what was appended since, in bounded chunks, and returns only *complete*
lines (a list, or with ``split=False`` one string of them); a half-written last
line is kept until its newline arrives.  If the file
shrinks or is replaced (its inode changes), the follower starts over from the
top and says so with ``reset=True``: whoever built a recording from the old
lines throws it away.

:class:`Loader` drives a :class:`~tracer.recording.reader.Builder` from a follower and
hands batches to a callback.  It runs in a worker thread (the UI's, or a
test's); replay stops at the end of the file, follow mode keeps polling.  The
one code path serves both, which is the point of live mode reading the file.

The loader hands each chunk to the C reader as one string (``feed_block``, as
:func:`~tracer.recording.reader.load` does), not a str a line: a line it does not
take, and the lines ``str.splitlines`` ends where the C path does not look
(\x0b \x0c \x1c-\x1e, a lone CR; a chunk that is not ASCII goes to the lines
whole), go to :meth:`Builder.feed_lines` cut by ``splitlines`` as before, so the
lines, their numbers and the errors are the same.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from tracer.errors import RecordingError
from tracer.locale import _
from tracer.recording.model import Recording
from tracer.recording.reader import LINE_LIMIT, Builder

CHUNK = 1 << 18  # bytes of the first read: small, so that the first screen comes early
MAX_CHUNK = 1 << 23  # reads double up to this: fewer, bigger batches load a big file faster
# characters the C reader takes in one call: it holds the GIL meanwhile, and a whole 8 MB read (~0.1 s, more on a
# busy machine) was that long without a key or a frame in the UI loading it
SLICE = 1 << 20


@dataclass
class Poll:
    """What one :meth:`Follower.poll` found."""

    lines: list[str]  # (empty with split=False: see text)
    reset: bool = False  # the file was truncated or replaced: start over with these lines
    size: int = 0  # the file's size when polled
    offset: int = 0  # bytes consumed so far (complete lines only)
    text: str = ""  # with split=False: the complete lines read, as one string (lines_read not counted)


class Follower:
    """Incremental reader of a file that may still be growing.

    Args:
        path: the file.
        chunk: the most bytes the first :meth:`poll` reads; it doubles while a poll fills it.
        max_chunk: the most bytes any poll reads.

    Raises:
        RecordingError: (from :meth:`poll`) the file is missing, a folder, unreadable or not UTF-8.
    """

    def __init__(self, path: str | os.PathLike[str], chunk: int = CHUNK, max_chunk: int = MAX_CHUNK) -> None:
        self.path = os.fspath(path)
        self.chunk = chunk
        self.max_chunk = max_chunk
        self.offset = 0  # bytes of complete lines handed out
        self.partial = b""  # a last line without its newline yet
        self._ident: tuple[int, int] | None = None
        self._file: BinaryIO | None = None
        self.lines_read = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> os.stat_result:
        try:
            st = os.stat(self.path)
            if self._file is None:
                self._file = open(self.path, "rb")  # noqa: SIM115 - kept open across polls
                st = os.fstat(self._file.fileno())
        except FileNotFoundError:
            raise RecordingError(self.path, 0, _("no such file")) from None
        except IsADirectoryError:
            raise RecordingError(self.path, 0, _("is a folder, not a recording")) from None
        except PermissionError:
            raise RecordingError(self.path, 0, _("permission denied")) from None
        return st

    def poll(self, split: bool = True) -> Poll:
        """Read what was appended since the last poll (at most ``chunk`` bytes); complete lines only.

        ``split=False``: the lines as one string in ``Poll.text``; the caller adds them to ``lines_read``
        (which numbers the line of a UTF-8 error) once it has cut them.
        """
        st = self._open()
        reset = False
        ident = (st.st_dev, st.st_ino)
        if self._ident is not None and (ident != self._ident or st.st_size < self.offset + len(self.partial)):
            self.close()  # replaced or truncated: read the new file from its top
            st = self._open()
            ident = (st.st_dev, st.st_ino)
            self.offset, self.partial, self.lines_read, reset = 0, b"", 0, True
        self._ident = ident
        assert self._file is not None
        self._file.seek(self.offset + len(self.partial))
        data = self._file.read(self.chunk)
        if not data:
            return Poll([], reset, st.st_size, self.offset)
        if len(data) == self.chunk:  # more is waiting: read more at once next time
            self.chunk = min(self.chunk * 2, max(self.max_chunk, self.chunk))
        data = self.partial + data
        cut = data.rfind(b"\n") + 1
        self.partial = data[cut:]
        try:
            text = data[:cut].decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self.lines_read + data[: exc.start].count(b"\n") + 1
            raise RecordingError(self.path, line, _("expected UTF-8 text, got byte {byte:#x}").format(
                byte=data[exc.start])) from None
        self.offset += cut
        if not split:
            return Poll([], reset, max(st.st_size, self.offset), self.offset, text)
        lines = text.splitlines(keepends=True)
        self.lines_read += len(lines)
        return Poll(lines, reset, max(st.st_size, self.offset), self.offset)

    @property
    def at_end(self) -> bool:
        """Whether the last poll reached the end of the file as it was then."""
        try:
            return os.stat(self.path).st_size <= self.offset + len(self.partial)
        except OSError:
            return True


@dataclass
class Batch:
    """What a :class:`Loader` hands over after each chunk."""

    recording: Recording
    done: int  # bytes consumed
    total: int  # file size
    new_lines: int
    reset: bool = False  # a new Recording replaces the old one (the file was truncated/replaced)
    finished: bool = False  # replay: the whole file is in; follow: never set


class Loader:
    """Feeds a follower's lines to a Builder, in a worker thread; hands out batches.

    Args:
        path: the recording.
        on_batch: called (in the loader's thread) after every chunk with a :class:`Batch`.
        follow: keep polling for new lines at the end of the file instead of finishing.
        interval: seconds between polls at the end of a growing file.
        chunk: bytes of the first read (later reads grow, see :class:`Follower`).
    """

    def __init__(self, path: str | os.PathLike[str], on_batch: Callable[[Batch], None], *, follow: bool = False,
                 interval: float = 0.1, chunk: int = CHUNK) -> None:
        self.path = os.fspath(path)
        self.on_batch = on_batch
        self.follow = follow
        self.interval = interval
        self.follower = Follower(self.path, chunk, max(chunk, MAX_CHUNK))
        self.builder = Builder(self.path)
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> Recording:
        """Read until the end (replay) or until :meth:`stop` (follow).

        Raises:
            RecordingError: the file cannot be read or is not a recording.
        """
        with self.follower:
            while not self.stopping.is_set():
                if self.step() and not self.follower.at_end:
                    continue
                if not self.follow:
                    return self._finish()
                self._resort()
                self.stopping.wait(self.interval)
        return self.builder.rec

    def step(self) -> bool:
        """One poll: feed the complete lines appended since the last, hand out a batch; whether it read bytes."""
        f = self.follower
        was = f.offset + len(f.partial)
        poll = f.poll(split=False)
        if poll.reset:
            self.builder = Builder(self.path)
        before = self.builder.line_no
        self._feed(poll.text)
        new = self.builder.line_no - before
        self.follower.lines_read = self.builder.line_no  # the lines as splitlines cuts them
        if new or poll.reset:
            self.on_batch(Batch(self.builder.rec, poll.offset, poll.size, new, poll.reset))
        return poll.reset or f.offset + len(f.partial) != was  # (a line longer than the read: read on)

    def _feed(self, text: str) -> None:
        feed_text(self.builder, text)

    def _finish(self) -> Recording:
        tail = self.follower.partial
        cut_off = False
        if tail.strip():
            try:
                self.builder.feed(tail.decode("utf-8"))
            except (RecordingError, UnicodeDecodeError):
                if self.builder.line_no <= 1:
                    raise RecordingError(self.path, 1,
                                         _("expected a sockscope header line, got a cut-off line")) from None
                cut_off = True
        rec = self.builder.finish(cut_off=cut_off)
        self.on_batch(Batch(rec, self.follower.offset + len(tail), self.follower.offset + len(tail), 0, False, True))
        return rec

    def _resort(self) -> None:
        """Lanes written out of order by interleaved writers get sorted while following."""
        for lane in list(self.builder.rec.lanes.values()):
            if not lane._sorted:
                lane._sort()


# the line ends of str.splitlines that the C block path does not cut at (it leaves non-ASCII text to the lines);
# looked for with str.find, one each: a regex character class scanned 42 MB in 0.42 s, five finds in 0.02 s
_OTHER_ENDS = "\x0b\x0c\x1c\x1d\x1e"


def _next_other_end(text: str, at: int) -> int:
    found = [k for k in (text.find(c, at) for c in _OTHER_ENDS) if k >= 0]
    return min(found) if found else len(text)


def feed_text(builder: Builder, text: str) -> None:
    """Feed ``text`` (whole lines) to ``builder`` as ``builder.feed_lines(text.splitlines(keepends=True))`` would.

    The C path (``feed_block``) reads the text in place; where it stops, the line up to the next newline goes
    the careful way (cut by splitlines: a lone CR or a form feed in it makes more than one), then C goes on.
    Cutting just after a newline never changes how splitlines cuts the rest, so the lines are the same.
    """
    block = getattr(builder.fast, "feed_block", None)
    if block is None or not text.isascii():  # (isascii is a flag on a str: free)
        builder.feed_lines(text.splitlines(keepends=True))
        return
    at, n, other = 0, len(text), -1
    while at < n:
        if builder.line_no:  # (the header is the careful path's)
            if other < at:
                other = _next_other_end(text, at)
            stop = n if other == n else text.rfind("\n", at, other) + 1  # C stops before the line holding one
            while stop > at:  # a slice at a time, cut after a newline: the UI's thread gets the GIL between two
                cut = stop if stop - at <= SLICE else text.rfind("\n", at, at + SLICE) + 1 or stop
                took = block(builder, text, at, cut, LINE_LIMIT)
                at = took
                if took < cut:  # a line C does not take: the careful way, below
                    break
            if at >= n:
                return
        end = text.find("\n", at) + 1 or n
        builder.feed_lines(text[at:end].splitlines(keepends=True))
        at = end
