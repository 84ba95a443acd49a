"""Exports of a recording: Perfetto's protobuf trace, Chrome/Perfetto trace JSON, CSV, SVG and Markdown.

Each format is a module with ``write(rec, out, sel, progress) -> int`` (the
number of events written or drawn) that streams to a text file, or to a
binary one where the module says ``BINARY = True`` (perfetto).  What to
export is a :class:`Selection`: a time range and a set of lanes.  An event is
*in range* when it overlaps ``[t_from, t_to]``.
"""

from __future__ import annotations

import importlib
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import BinaryIO, TextIO

from tracer import units
from tracer.errors import UsageError
from tracer.locale import _, listed
from tracer.recording.model import Lane, Recording

# format -> (module, file suffix)
FORMATS: dict[str, tuple[str, str]] = {
    "perfetto": ("tracer.export.perfetto", ".perfetto-trace"),
    "chrome": ("tracer.export.chrome", ".trace.json"),
    "csv": ("tracer.export.csvout", ".csv"),
    "svg": ("tracer.export.svg", ".svg"),
    "md": ("tracer.export.markdown", ".md"),
}

def parse_time(text: str) -> int:
    """``--from``/``--to``: :func:`tracer.units.parse_time` (a plain number is ms), as a usage error."""
    try:
        return units.parse_time(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@dataclass(frozen=True)
class Selection:
    """What part of a recording to export.

    Attributes:
        t_from: ns since the start.
        t_to: ns since the start; None for the recording's end.
        lanes: lane ids in the order to show them; None for every lane.
    """

    t_from: int = 0
    t_to: int | None = None
    lanes: tuple[int, ...] | None = None

    def bounds(self, rec: Recording) -> tuple[int, int]:
        """The range ``(lo, hi)`` in ns."""
        return self.t_from, rec.t_max if self.t_to is None else self.t_to

    def lane_list(self, rec: Recording) -> list[Lane]:
        if self.lanes is None:
            return list(rec.lanes.values())
        return [rec.lanes[i] for i in self.lanes]

    @property
    def whole(self) -> bool:
        return self.t_from == 0 and self.t_to is None and self.lanes is None


def span_of(lane: Lane, lo: int, hi: int) -> tuple[int, int]:
    """Indices ``[a, b)`` holding every event of ``lane`` that overlaps ``[lo, hi]``.

    Events are sorted by start, so those starting after ``hi`` are out; of those
    starting before ``lo``, only ones starting within the lane's longest duration
    of ``lo`` can reach into the range.  Some in ``[a, b)`` may end before
    ``lo``: :func:`in_range` skips them.
    """
    t, dur = lane.t, lane.dur
    first = bisect_left(t, lo)
    a = first
    if first:
        for i in range(bisect_left(t, lo - max(dur)), first):
            if t[i] + dur[i] >= lo:
                a = i
                break
    return a, bisect_right(t, hi)


def in_range(lane: Lane, lo: int, hi: int) -> Iterator[int]:
    """Indices of ``lane``'s events overlapping ``[lo, hi]``, in start order."""
    a, b = span_of(lane, lo, hi)
    t, dur = lane.t, lane.dur
    for i in range(a, b):
        if t[i] + dur[i] >= lo:
            yield i


def select(rec: Recording, t_from: int | None = None, t_to: int | None = None,
           lane_specs: Iterable[str] | None = None) -> Selection:
    """Check a time range and lane choices against ``rec`` and make a :class:`Selection`.

    Args:
        t_from, t_to: ns, or None for the start/end.
        lane_specs: lane ids, names or glob patterns (``worker*``), or ``server``/``client``
            for a side; comma-separated lists allowed.

    Raises:
        UsageError: an empty or inverted range, or a lane choice that matches nothing.
    """
    lo = t_from or 0
    if t_to is not None and t_to <= lo:
        raise UsageError(_("--to ({to:g} ms) must be after --from ({start:g} ms)").format(to=t_to / 1e6,
                                                                                          start=lo / 1e6))
    if lo and lo >= rec.t_max:
        raise UsageError(_("--from {start:g} ms is after the recording's end ({end:g} ms)").format(
            start=lo / 1e6, end=rec.t_max / 1e6))
    lanes = None
    specs = [s.strip() for spec in (lane_specs or []) for s in spec.split(",") if s.strip()]
    if specs:
        lanes = tuple(_match_lanes(rec, specs))
    return Selection(lo, t_to, lanes)


def _match_lanes(rec: Recording, specs: list[str]) -> list[int]:
    chosen: list[int] = []
    for spec in specs:
        if spec.lstrip("-").isdigit():
            hits = [int(spec)] if int(spec) in rec.lanes else []
        elif spec in ("server", "client") and not any(lane.name == spec for lane in rec.lanes.values()):
            hits = [lane.id for lane in rec.lanes.values() if lane.side == spec]
        else:
            hits = [lane.id for lane in rec.lanes.values() if fnmatchcase(lane.name, spec)]
        if not hits:
            names = ", ".join(f"{lane.id}={lane.name}" for lane in list(rec.lanes.values())[:12])
            more = " ..." if len(rec.lanes) > 12 else ""
            raise UsageError(_("no lane matches {spec!r}; the lanes are {names}{more}").format(
                spec=spec, names=names, more=more))
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def is_binary(fmt: str) -> bool:
    """Whether format ``fmt`` writes bytes (open its output with "wb") rather than text."""
    return bool(getattr(importlib.import_module(FORMATS[fmt][0]), "BINARY", False))


def write(fmt: str, rec: Recording, out: TextIO | BinaryIO, sel: Selection | None = None,
          progress: Progress | None = None) -> int:
    """Export ``rec`` to ``out`` in format ``fmt`` (a key of :data:`FORMATS`); ``out`` is binary if
    :func:`is_binary`."""
    if fmt not in FORMATS:
        raise UsageError(_("unknown format {format!r}; choose one of {formats}").format(
            format=fmt, formats=listed(FORMATS)))
    module = importlib.import_module(FORMATS[fmt][0])
    return int(module.write(rec, out, sel or Selection(), progress))


class Progress:
    """A one-line progress report on stderr, shown only when stderr is a terminal.

    Args:
        label: what is being done (``loading``, ``export svg``).
        stream: where to write (default stderr).
    """

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.on = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.on or total <= 0:
            return
        pct = min(100, done * 100 // total)
        if pct != self._last:
            self._last = pct
            self.stream.write(f"\r{self.label}: {pct:3d}%")
            self.stream.flush()

    def done(self) -> None:
        if self.on and self._last >= 0:
            self.stream.write("\r" + " " * (len(self.label) + 6) + "\r")
            self.stream.flush()
            self._last = -1
