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

from bisect import bisect_right
from dataclasses import dataclass

from tracer.recording.events import KINDS, Look
from tracer.recording.model import Recording

MIN_GAP = 1_000_000  # ns: points closer than this are always one burst
GAP_SHARE = 0.1  # a pause longer than this share of the active span separates two bursts
_QUIET = {KINDS["listen"].code}
_SPANS_END_ONLY = {k.code for k in KINDS.values() if k.look is Look.BLOCKED}
_ENDED_BY_STOP = ("shutdown", "error")


@dataclass(frozen=True)
class Burst:
    """One stretch of activity: ``[t0, t1]`` ns, and how many points it holds."""

    t0: int
    t1: int
    points: int

    @property
    def span(self) -> int:
        return self.t1 - self.t0


def spans(rec: Recording) -> list[tuple[int, int]]:
    """Every stretch of activity, sorted: an instant or a wait's end is a point, a send or work its whole span."""
    out: list[tuple[int, int]] = []
    for lane in list(rec.lanes.values()):
        n = len(lane)
        t, dur, kind, details = lane.t, lane.dur, lane.kind, lane.details
        for i in range(n):
            code = kind[i]
            if code in _QUIET:
                continue
            detail = details.get(i) if details else None
            if isinstance(detail, str) and detail.startswith(_ENDED_BY_STOP):
                continue  # the accept loop woken at shutdown: not something the student did
            end = t[i] + dur[i]
            out.append((end, end) if code in _SPANS_END_ONLY else (t[i], end))
    out.sort()
    return out


def points(rec: Recording) -> list[int]:
    """Where activity starts and ends, sorted (ns)."""
    return sorted(x for a, b in spans(rec) for x in (a, b))


def bursts(rec: Recording, found: list[tuple[int, int]] | None = None) -> list[Burst]:
    """The recording's bursts of activity, in time order: stretches closer than the gap, merged."""
    found = spans(rec) if found is None else found
    if not found:
        return []
    whole = max(b for _, b in found) - found[0][0]
    gap = max(MIN_GAP, whole * GAP_SHARE)
    out: list[Burst] = []
    start, end, count = found[0][0], found[0][1], 0
    for a, b in found:
        if a - end > gap:
            out.append(Burst(start, end, count))
            start, end, count = a, b, 0
        end = max(end, b)
        count += 1
    out.append(Burst(start, end, count))
    return out


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
