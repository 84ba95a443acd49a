"""Where the action is: the recording's bursts of activity, with the dead time between them left out.

A recording is mostly waiting: a server sits in ``accept`` for a second before the
first client comes, a keep-alive client thinks for 300 ms, the accept loop is woken
at shutdown.  Fitted to the whole recording, the moment that matters is a few
columns wide (``sockscope demo``: the burst was the last 8 of 100 columns).

Activity is when something happened: a call returned (a wait ended, bytes
came), a send or the handler's work ran (its whole span), a thread started or
ended, a socket closed.  The start of a long wait is not (nothing happens
then), nor are ``listen`` and calls ended by the server stopping.  Stretches
closer than a gap belong to one burst; the gap is a tenth of the whole active span, and
at least 1 ms, so a burst of 16 clients is one burst and a second round 300 ms
later is another.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass

from tracer.recording.events import KINDS, Look
from tracer.recording.fastpath import native
from tracer.recording.model import Lane, Recording

MIN_GAP = 1_000_000  # ns: points closer than this are always one burst
GAP_SHARE = 0.1  # a pause longer than this share of the active span separates two bursts
_QUIET = {KINDS["listen"].code}
_SPANS_END_ONLY = {k.code for k in KINDS.values() if k.look is Look.BLOCKED}
_ENDED_BY_STOP = ("shutdown", "error")
# what each kind code is to a burst, for the C path: 0 a span, 1 left out, 2 a point at its end
_HOW = bytes(1 if c in _QUIET else 2 if c in _SPANS_END_ONLY else 0 for c in range(256))


@dataclass(frozen=True)
class Burst:
    """One stretch of activity: ``[t0, t1]`` ns, and how many points it holds."""

    t0: int
    t1: int
    points: int
    conns: int = 0  # of the points, those of a connection (accepted, read, written, closed): not start-up


    @property
    def span(self) -> int:
        return self.t1 - self.t0


def spans(rec: Recording) -> list[tuple[int, int]]:
    """Every stretch of activity, sorted: an instant or a wait's end is a point, a send or work its whole span."""
    return [(a, b) for a, b, _conn in conn_spans(rec)]


def _stopped(lane: Lane, ended: dict[int, set[int]]) -> array[int]:
    """The lane's events whose detail says the stop ended them (the accept loop woken at shutdown: not something
    the student did), in order; each distinct detail looked at once (``ended``: id(table) -> its value numbers
    that say so: the table is the recording's, shared by the lanes)."""
    det = lane.details
    table = det.table
    bad = ended.get(id(table))
    if bad is None:
        bad = ended[id(table)] = {v for v, d in enumerate(table.items)
                                  if isinstance(d, str) and d.startswith(_ENDED_BY_STOP)}
    return array("i", [i for i, v in zip(det.idx, det.vid, strict=True) if v in bad] if bad else [])


def conn_spans(rec: Recording) -> list[tuple[int, int, bool]]:
    """:func:`spans`, each with whether it is a connection's (an event with a connection id)."""
    out: list[tuple[int, int, bool]] = []
    quiet, end_only = _QUIET, _SPANS_END_ONLY
    # Over the lanes' columns at once: a loop over indices with a details.get each held the UI ~5 s at the end
    # of loading a 1M-event recording (bursts() goes to C when it is built).
    ended: dict[int, set[int]] = {}
    for lane in list(rec.lanes.values()):
        stopped = set(_stopped(lane, ended))
        rows = zip(range(len(lane)), lane.t, lane.dur, lane.kind, lane.conn, strict=False)  # (spare room)
        out += [((t + d, t + d, c != 0) if k in end_only else (t, t + d, c != 0))
                for i, t, d, k, c in rows if k not in quiet and i not in stopped]
    out.sort()
    return out


def points(rec: Recording) -> list[int]:
    """Where activity starts and ends, sorted (ns)."""
    return sorted(x for a, b in spans(rec) for x in (a, b))


def bursts(rec: Recording, found: list[tuple[int, int]] | list[tuple[int, int, bool]] | None = None) -> list[Burst]:
    """The recording's bursts of activity, in time order: stretches closer than the gap, merged.

    ``found``: spans, each optionally with whether it is a connection's (see :func:`conn_spans`).
    """
    if found is None and hasattr(native, "bursts"):  # the same, in C (see _fastread.c): ~3 s at 1M events in Python
        ended: dict[int, set[int]] = {}
        lanes = [(lane.t, lane.dur, lane.kind, lane.conn, len(lane), _stopped(lane, ended))
                 for lane in list(rec.lanes.values())]
        return [Burst(*b) for b in native.bursts(lanes, _HOW, MIN_GAP, GAP_SHARE)]
    found = conn_spans(rec) if found is None else found
    if not found:
        return []
    whole = max(s[1] for s in found) - found[0][0]
    gap = max(MIN_GAP, whole * GAP_SHARE)
    out: list[Burst] = []
    start, end, count, conns = found[0][0], found[0][1], 0, 0
    for span in found:
        a, b = span[0], span[1]
        if a - end > gap:
            out.append(Burst(start, end, count, conns))
            start, end, count, conns = a, b, 0, 0
        end = max(end, b)
        count += 1
        conns += len(span) > 2 and bool(span[2])  # type: ignore[misc]
    out.append(Burst(start, end, count, conns))
    return out


def interesting(found: list[Burst]) -> list[Burst]:
    """The bursts a fit frames: from the first that serves a connection to the last that does.

    A student's program starts its threads and its accept loop long before the first request comes (and its
    waits are drawn to the stop): framing that start-up too squeezed the requests into a few columns.  With no
    connection at all, every burst.
    """
    talk = [k for k, b in enumerate(found) if b.conns]
    return found[talk[0]:talk[-1] + 1] if talk else found


def active_window(rec: Recording) -> tuple[int, int] | None:
    """From the first activity point to the last (None: nothing happened)."""
    found = bursts(rec)
    return (found[0].t0, found[-1].t1) if found else None


def main_burst(found: list[Burst]) -> Burst | None:
    """The burst with the most activity (the one a demo opens on)."""
    return max(found, key=lambda b: (b.points, -b.t0), default=None)


def next_burst(found: list[Burst], t: float, forward: bool) -> Burst | None:
    """The first burst that starts after ``t`` (forward), or the last that starts before it."""
    starts = [b.t0 for b in found]
    if forward:
        i = bisect_right(starts, t)
        return found[i] if i < len(found) else None
    i = bisect_right(starts, t - 1) - 1
    while i >= 0 and found[i].t0 >= t:
        i -= 1
    return found[i] if i >= 0 else None


def frame(burst: Burst, margin: float = 0.06) -> tuple[float, float]:
    """A window showing ``burst`` with a little room each side (at least 1 ms wide)."""
    span = max(burst.span, 1_000_000)
    return burst.t0 - span * margin, burst.t0 + span * (1 + margin)
