"""Formatting a recording's lines, in the recorder's writer thread or in a child process.

:func:`format_lines` turns a batch of declarations (already JSON) and event
tuples into JSON Lines.  :class:`Formatter` runs it in a child process
(``Recorder(offload=True)``, as ``sockscope serve`` records): formatting holds
the GIL ~500 ns per event, which a server's threads would wait for, while
``marshal`` hands the raw tuples over in ~90 ns and the pipe write releases
the GIL.

The pipe carries length-prefixed ``marshal`` frames: ``("batch", lines,
events)`` any number of times, then ``("end", trailer_json, write_it)``; the
child answers the last with the trailer it wrote (its own count of the events
it wrote, and of those it could not) on its stdout.
"""

from __future__ import annotations

import errno
import json
import marshal
import signal
import struct
import subprocess
import sys
from typing import Any, BinaryIO, TextIO

from tracer import child, locale
from tracer.locale import _
from tracer.record import fds

# An event line; ``%`` over the event tuple is several times cheaper than json.dumps.
_EVENT = '[%d,%d,"%s",%d,%d,%d]\n'
_EVENT_DETAIL = '[%d,%d,"%s",%d,%d,%d,%s]\n'


def event_line(ev: tuple[Any, ...]) -> str:
    """One event's line (the C queue hands over those it does not write itself)."""
    if len(ev) == 6:
        return _EVENT % ev
    return _EVENT_DETAIL % (*ev[:6], json.dumps(ev[6], ensure_ascii=False))


def format_lines(head: list[str], batch: list[tuple[Any, ...]]) -> str:
    """JSON Lines for declarations/counters/marks (already JSON) then events, in that order."""
    lines = [line + "\n" for line in head]
    append = lines.append
    for ev in batch:
        if len(ev) == 6:  # the tuple itself is the format's argument: no per-field indexing
            append(_EVENT % ev)
        else:
            append(_EVENT_DETAIL % (*ev[:6], json.dumps(ev[6], ensure_ascii=False)))
    return "".join(lines)


class Formatter:
    """A child process that formats and writes batches, so the server's GIL is spent on serving.

    Formatting an event takes ~500 ns of Python holding the GIL; ``marshal``
    hands the raw tuples over in ~90 ns, and the pipe write releases the GIL.
    The child starts a session of its own (Ctrl-C in the terminal is the
    server's to handle), ignores SIGINT/SIGTERM for the same reason, writes
    what it receives until the pipe closes, and ends with the trailer.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        # Both pipes on descriptors of ours (tracer.record.fds): above the low numbers a traced program's files
        # get, never written once the program closed them, closed by us only while still ours
        assert proc.stdin is not None and proc.stdout is not None
        self._in, self._out = fds.Held.taken_from(proc.stdin), fds.Held.taken_from(proc.stdout)
        self.pipe: BinaryIO | None = open(self._in.fd, "wb", closefd=False)  # noqa: SIM115 (closed by finish)
        proc.stdin = None  # (communicate must not close it: finish does, while it is ours)
        proc.stdout = open(self._out.fd, "rb", closefd=False)  # noqa: SIM115 (read and closed by communicate)

    @classmethod
    def start(cls, path: str) -> Formatter | None:
        try:
            proc = subprocess.Popen(child.module_argv("tracer.record.formatter", path), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, env=child.env(), start_new_session=True)
        except OSError:
            return None  # no process to spare: format in this one, as without offload
        return cls(proc)

    def ours(self) -> bool:
        """Whether our end of the pipe is still ours (a traced program may close descriptors it did not open)."""
        return self.pipe is not None and self._in.ours()

    def abandon(self) -> None:
        """Our end of the pipe was closed under us: the child reads to the end of what was sent, writes it and
        exits; wait for that (the recorder goes on in its own process, appending after it)."""
        self._close_pipe()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._close_out()

    def send(self, message: tuple[Any, ...]) -> None:
        """One frame down the pipe; the caller asked :meth:`ours` first (the recorder before each batch)."""
        if self.pipe is None:
            raise OSError(errno.EBADF, _("the program closed the descriptor of its pipe"))
        data = marshal.dumps(message)
        self.pipe.write(struct.pack("<I", len(data)) + data)
        self.pipe.flush()

    def finish(self, end: dict[str, Any], write_trailer: bool, path: str, alive: bool = True) -> dict[str, Any]:
        """Send the trailer, wait for the child, and return the trailer it wrote.

        Args:
            alive: False when sending already failed (and was reported): just reap the child.
        """
        if not alive:
            self._reap()
            return end
        try:
            if not self.ours():
                raise OSError(errno.EBADF, _("the program closed the descriptor of its pipe"))
            self.send(("end", json.dumps(end, ensure_ascii=False), write_trailer))
            self._close_pipe()  # the child reads to the end, writes the trailer, exits
            if not self._out.ours():  # (closed under us: its answer cannot be read; the child still wrote it)
                self._close_out()
                self.proc.wait(timeout=30)
                return end
            out, _err = self.proc.communicate(timeout=30)
            self._close_out()
            return json.loads(out)  # type: ignore[no-any-return]
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            self._reap()
            print(_("sockscope: recording to {path}: the formatter process failed ({why}); no trailer written").format(
                path=path, why=exc), file=sys.stderr)
            return end


    def _close_pipe(self) -> None:
        pipe, self.pipe = self.pipe, None
        try:
            if pipe is not None and self._in.ours():
                pipe.close()  # (its descriptor stays: closefd=False)
        except OSError:
            pass  # the unflushed rest of a batch the child will never read
        self._in.close()

    def _close_out(self) -> None:
        out, self.proc.stdout = self.proc.stdout, None
        if out is not None and self._out.ours():
            out.close()  # (its descriptor stays: closefd=False)
        self._out.close()

    def _reap(self) -> None:
        self.proc.kill()
        self._close_pipe()
        self._close_out()
        self.proc.wait()


def _close_quietly(f: TextIO | None) -> None:
    try:
        f.close()  # type: ignore[union-attr]
    except (OSError, ValueError):
        pass  # the buffer cannot be written: that was just reported; close() still closed the file


def main() -> int:
    """The formatter process: batches in on stdin, lines out to the recording, the trailer out on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    path = sys.argv[1]
    locale.set_language(locale.choose())  # the recorder's language (SOCKSCOPE_LANG, from child.env)
    stdin = sys.stdin.buffer
    written = dropped = 0
    broken: str | None = None
    try:
        f: TextIO | None = open(path, "a", encoding="utf-8", newline="\n")
    except OSError as exc:
        f, broken = None, str(exc)
    while True:
        size = stdin.read(4)
        if len(size) < 4:
            return 0  # the server is gone without a trailer: what came is written
        message = marshal.loads(stdin.read(struct.unpack("<I", size)[0]))
        if message[0] == "end":
            break
        _kind, head, batch = message
        if broken is None:
            try:
                f.write(format_lines(head, batch))  # type: ignore[union-attr]
                f.flush()  # type: ignore[union-attr]
                written += len(batch)
                continue
            except (OSError, ValueError) as exc:
                broken = str(exc)
                print(_("sockscope: recording to {path} stopped: {why}; the server goes on").format(path=path, why=exc),
                      file=sys.stderr)
                _close_quietly(f)  # its unwritable buffer would fail again, noisily, at exit (Python 3.13)
        dropped += len(batch)
    end = json.loads(message[1])
    end["events"], end["dropped"] = written, end["dropped"] + dropped
    if message[2] and broken is None:
        try:
            f.write(json.dumps(end, ensure_ascii=False) + "\n")  # type: ignore[union-attr]
            f.close()  # type: ignore[union-attr]
        except OSError as exc:
            print(_("sockscope: recording to {path}: the trailer could not be written: {why}").format(
                path=path, why=exc), file=sys.stderr)
    sys.stdout.write(json.dumps(end))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
