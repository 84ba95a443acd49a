"""What ``sockscope bench`` measured, and what it means: figures with their spread, ties, ranks, the verdict.

No IO here: :mod:`tracer.run.benchmark` measures :class:`Sample` rows (one load run
each) and :class:`Capacity` rows, this module turns them into :class:`Figure` values
(a rate with a 95% interval, latencies with their min–max over rounds) and into
sentences, and the table, the charts and every output format read the same
figures, so a number in the verdict is a number in the table.

The spread: rounds are interleaved across models (each model takes its turn,
round after round, the rounds spread over the whole run), so whatever else the
machine did in a round fell on all of them alike; a rate is whole responses
over the time the load ran, summed over rounds, and its 95% interval comes from
resampling whole rounds (bootstrap, 2,000 draws, a fixed seed so the same rounds
give the same interval).

A ratio between two models is taken round by round: a's rate over b's *in the
same round* (they ran seconds apart), then a Student t interval over the
logarithms of those per-round ratios (the value is their geometric mean).  A
drift of the whole machine over the run (the second of two runs 5-30% faster
across the board, measured) moves both rates of a round alike and cancels in
their ratio; a bootstrap of three or five rounds cannot see it and is too sure
of itself, which is why the interval is a t interval and not a resampling.
Two models whose ratio's interval holds 1 are *tied*: within each other's noise.

A model that starved connections is compared by what all its clients got (how
many connections it never answered, over the rounds), not by its requests/s,
which are the lucky few's: see :func:`order`.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from tracer.locale import _

DRAWS = 2000
TRACED = " traced"  # a contender measured with tracing on is named after its model, then this


def untraced_name(contender: str) -> str:
    """``selectors traced`` -> ``selectors``: the model a traced contender is, untraced."""
    return contender.removesuffix(TRACED)


def is_traced(contender: str) -> bool:
    return contender.endswith(TRACED)
LIMITED_CPU = 0.9  # a one-thread load generator at 90% of a core is the bottleneck, not the server


@dataclass(frozen=True)
class Sample:
    """One load run against one contender."""

    contender: str
    mode: str  # keep-alive | close
    connections: int
    round: int
    generator: str  # builtin | wrk
    requests: int
    seconds: float
    p50_us: float
    p99_us: float
    starved: int = 0
    min_answered: int = 0
    errors: int = 0
    refused: int = 0
    timeouts: int = 0
    cpu_share: float = 0.0  # the load generator's CPU time over the run's length
    server_cpu_s: float | None = None  # the server process's CPU time over the run (None: not measurable)
    requests_all: int = 0  # answers over the whole run, warm-up too (what server_cpu_s paid for)
    closes: int = 0  # keep-alive connections the server closed after answering (the client reconnected)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Capacity:
    """Idle connections held open plus a few busy ones: what the server paid, and whether the busy were served."""

    contender: str
    idle: int  # asked for
    held: int  # established
    busy: int
    busy_served: int  # busy connections answered at least once
    busy_rps: float
    rss_kb: int | None  # None: not measurable here (no /proc, or a --target)
    base_rss_kb: int | None
    threads: int | None
    note: str = ""


@dataclass(frozen=True)
class Figure:
    """A contender's rate at one load, over every round, with its spread."""

    contender: str
    mode: str
    connections: int
    rounds: int
    rps: float
    rps_low: float
    rps_high: float
    p50_ms: float  # median over rounds
    p99_ms: float
    p99_ms_low: float
    p99_ms_high: float
    starved: int  # the most starved in any round
    errors: int
    timeouts: int
    cpu_share: float  # the load generator's, the highest of the rounds
    generator: str
    server_us_per_request: float | None = None  # server CPU per answer: steadier than req/s on a busy machine
    starved_low: int = 0  # the fewest starved in any round (``starved`` is the most)
    closes_each: bool = False  # keep-alive, yet the server closed the connection after (nearly) every answer

    @property
    def limited(self) -> bool:
        """The load generator ran near a full core: the server may do more than this."""
        return self.generator == "builtin" and self.cpu_share >= LIMITED_CPU


@dataclass(frozen=True)
class Ratio:
    """a's rate over b's at one load, with a 95% interval; tied when the interval holds 1."""

    a: str
    b: str
    value: float
    low: float
    high: float
    rounds: int = 2

    @property
    def tied(self) -> bool:
        """Within each other's noise (one round has no interval, so it cannot say)."""
        return self.rounds >= 2 and self.low <= 1.0 <= self.high


@dataclass
class BenchResult:
    """Everything one bench run measured, with its settings and the machine it ran on."""

    settings: dict[str, Any]
    machine: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)
    capacity: list[Capacity] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    partial: str = ""  # why the run stopped early ("" when it finished)
    planned_runs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"settings": self.settings, "machine": self.machine, "partial": self.partial,
                "planned_runs": self.planned_runs,
                "figures": [asdict(f) for f in figures(self.samples)],
                "comparisons": comparisons(self.samples),
                "cross_check": (lambda c: c.to_json() if c else None)(
                    cross_check(self.samples, int(self.settings.get("headline", 50)))),
                "samples": [asdict(s) for s in self.samples], "capacity": [asdict(c) for c in self.capacity],
                "recorded": self.recorded, "notes": self.notes}


def _rounds(samples: list[Sample]) -> dict[int, Sample]:
    return {s.round: s for s in samples}


def _interval(rounds: list[int], stat: Any) -> tuple[float, float]:
    """95% bootstrap interval of ``stat(picked rounds)``, resampling whole rounds."""
    if len(rounds) < 2:
        v = stat(rounds)
        return v, v
    rng = random.Random(1)
    values = sorted(stat([rng.choice(rounds) for _ in rounds]) for _ in range(DRAWS))
    return values[int(0.025 * DRAWS)], values[int(0.975 * DRAWS) - 1]


def _rate(by_round: dict[int, Sample], picked: list[int]) -> float:
    seconds = sum(by_round[r].seconds for r in picked)
    return sum(by_round[r].requests for r in picked) / seconds if seconds else 0.0


def figure(samples: list[Sample]) -> Figure:
    """The figure of one contender at one load (``samples``: its rounds, one generator)."""
    first = samples[0]
    by_round = _rounds(samples)
    rounds = sorted(by_round)
    low, high = _interval(rounds, lambda picked: _rate(by_round, picked))
    p50 = sorted(s.p50_us for s in samples)[len(samples) // 2] / 1000
    p99s = sorted(s.p99_us / 1000 for s in samples)
    return Figure(first.contender, first.mode, first.connections, len(rounds), _rate(by_round, rounds), low, high,
                  p50, p99s[len(p99s) // 2], p99s[0], p99s[-1], max(s.starved for s in samples),
                  sum(s.errors + s.refused for s in samples), sum(s.timeouts for s in samples),
                  max(s.cpu_share for s in samples), first.generator, _cpu_per_request(samples),
                  min(s.starved for s in samples), _closes_each(samples))


def _closes_each(samples: list[Sample]) -> bool:
    """Keep-alive connections the server closed after nearly every answer: it closes after each request."""
    answers = sum(s.requests_all or s.requests for s in samples)
    return samples[0].mode == "keep-alive" and answers > 0 and sum(s.closes for s in samples) >= 0.9 * answers


def _cpu_per_request(samples: list[Sample]) -> float | None:
    """The server's CPU time over the answers it paid for (warm-up too), in µs; None when none were measured.

    Only rounds with answers in the measured window count: a server that answers
    each connection once and closes it (the lesson's ``thread_server.py`` under
    keep-alive) serves 0 requests/s, and its few warm-up answers over the whole
    run's CPU would be a figure for nothing the table shows.
    """
    paid = [s for s in samples if s.server_cpu_s is not None and s.requests and s.requests_all]
    if not paid:
        return None
    return sum(s.server_cpu_s or 0.0 for s in paid) / sum(s.requests_all for s in paid) * 1e6


def figures(samples: list[Sample], generator: str = "builtin") -> list[Figure]:
    """One figure per (contender, mode, connections), in the order first measured."""
    return list(_figures(tuple(samples), generator))


@functools.lru_cache(maxsize=16)
def _figures(samples: tuple[Sample, ...], generator: str) -> tuple[Figure, ...]:
    """Cached: the table, the charts, the verdict and every format ask for the same figures, and each
    figure's bootstrap is 2,000 draws (a default run's verdict took 5 s of them, under load, uncached)."""
    groups: dict[tuple[str, str, int], list[Sample]] = {}
    for s in samples:
        if s.generator == generator:
            groups.setdefault((s.contender, s.mode, s.connections), []).append(s)
    return tuple(figure(g) for g in groups.values())


# Student's t at 97.5% for 1..30 degrees of freedom (no scipy here for one table): a two-sided 95% interval.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    return T975[df - 1] if df <= len(T975) else 1.96


def paired_interval(ratios: list[float]) -> tuple[float, float, float]:
    """(geometric mean, low, high) of per-round ratios: a 95% t interval over their logarithms."""
    logs = [math.log(r) for r in ratios]
    n = len(logs)
    mean = sum(logs) / n
    if n < 2:
        return math.exp(mean), math.exp(mean), math.exp(mean)
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1))
    half = t975(n - 1) * sd / math.sqrt(n)
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def per_round(samples: list[Sample], name: str, mode: str, connections: int,
              generator: str = "builtin") -> dict[int, Sample]:
    return _rounds([s for s in samples if s.contender == name and s.mode == mode and s.connections == connections
                    and s.generator == generator])


def ratio(samples: list[Sample], a: str, b: str, mode: str, connections: int,
          generator: str = "builtin") -> Ratio | None:
    """a's rate over b's at one load, round by round (paired in time), over the rounds both ran.

    None when either is missing or b served nothing.  A round where one of them
    served nothing has no finite ratio to take the logarithm of: then the
    interval falls back to resampling the same rounds for both (still paired).
    """
    pa, pb = per_round(samples, a, mode, connections, generator), per_round(samples, b, mode, connections, generator)
    rounds = sorted(set(pa) & set(pb))
    if not rounds:
        return None
    ratios = [pa[r].rps / pb[r].rps if pb[r].rps else 0.0 for r in rounds]
    if all(x > 0 for x in ratios):
        value, low, high = paired_interval(ratios)
        return Ratio(a, b, value, low, high, len(rounds))

    def stat(picked: list[int]) -> float:
        below = _rate(pb, picked)
        return _rate(pa, picked) / below if below else float("inf")

    if stat(rounds) == float("inf"):
        return None
    low, high = _interval(rounds, stat)
    return Ratio(a, b, stat(rounds), low, high, len(rounds))


def order(fa: Figure, fb: Figure, samples: list[Sample]) -> int:
    """1 when ``fa`` did better than ``fb`` beyond noise, -1 when worse, 0 when tied.

    Models that served every client: by the ratio of their requests/s, paired in
    time (tied when its interval holds 1).  When either starved connections, by
    what all its clients got: the one that left fewer connections unanswered in
    *every* round is ahead; when their starved counts overlap over the rounds,
    they are tied, whatever their requests/s (those are the lucky few's).  Only
    when both starved the same number in every round are their requests/s
    compared (the same number of clients got them).
    """
    if fa.starved or fb.starved:
        same = fa.starved_low == fa.starved == fb.starved_low == fb.starved
        if not same:
            if fa.starved < fb.starved_low:
                return 1
            if fb.starved < fa.starved_low:
                return -1
            return 0
    r = ratio(samples, fa.contender, fb.contender, fa.mode, fa.connections, fa.generator)
    if r is None:
        return 0 if fb.rps == 0 and fa.rps == 0 else (1 if fb.rps == 0 else -1)
    return 0 if r.rounds < 2 or r.tied else (1 if r.value > 1 else -1)


def comparisons(samples: list[Sample], generator: str = "builtin") -> list[dict[str, Any]]:
    """Every pair of models at every load: their ratio (paired in time, 95% interval) and the bench's order
    (1: a ahead beyond noise, -1: b ahead, 0: tied), as the JSON output carries them for ``bench_twice.py``."""
    figs = figures(samples, generator)
    out = []
    for i, fa in enumerate(figs):
        for fb in figs[i + 1:]:
            if (fa.mode, fa.connections) != (fb.mode, fb.connections):
                continue
            r = ratio(samples, fa.contender, fb.contender, fa.mode, fa.connections, generator)
            out.append({"mode": fa.mode, "connections": fa.connections, "a": fa.contender, "b": fb.contender,
                        "ratio": None if r is None else r.value, "low": None if r is None else r.low,
                        "high": None if r is None else r.high, "rounds": 0 if r is None else r.rounds,
                        "starved": [fa.starved, fb.starved], "order": order(fa, fb, samples)})
    return out


@dataclass(frozen=True)
class CrossCheck:
    """selectors/thread at the headline load by the built-in generator and by wrk, from the same rounds (each
    round: both generators against both servers, back to back), and built-in/wrk round by round."""

    a: str
    b: str
    connections: int
    builtin: Ratio
    wrk: Ratio
    agreement: Ratio  # (built-in a/b) / (wrk a/b), per round; the bar: within 30% of 1

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "connections": self.connections, "builtin": asdict(self.builtin),
                "wrk": asdict(self.wrk), "agreement": asdict(self.agreement)}


def cross_check(samples: list[Sample], connections: int) -> CrossCheck | None:
    """The wrk cross-check of selectors/thread (untraced, else traced) at ``connections`` keep-alive."""
    names = {s.contender for s in samples if s.generator == "wrk"}
    traced = next((t for t in ("", TRACED) if {"selectors" + t, "thread" + t} <= names), None)
    if traced is None:
        return None
    a, b = "selectors" + traced, "thread" + traced
    ours = ratio(samples, a, b, "keep-alive", connections)
    theirs = ratio(samples, a, b, "keep-alive", connections, "wrk")
    if ours is None or theirs is None:
        return None
    got = {g: [per_round(samples, n, "keep-alive", connections, g) for n in (a, b)] for g in ("builtin", "wrk")}
    rounds = sorted(set.intersection(*(set(x) for pair in got.values() for x in pair)))
    shares = []
    for r in rounds:
        (ba, bb), (wa, wb) = ((x[r].rps for x in got[g]) for g in ("builtin", "wrk"))
        if bb and wa and wb and ba:
            shares.append((ba / bb) / (wa / wb))
    if not shares:
        return None
    value, low, high = paired_interval(shares)
    return CrossCheck(a, b, connections, ours, theirs, Ratio("builtin", "wrk", value, low, high, len(shares)))


def rank_key(f: Figure) -> tuple[float, float]:
    """What all clients got: a figure that starved connections ranks after every one that served them all,
    and among those that starved, the fewer starved first."""
    return (f.starved / f.connections, -f.rps)


def ranking(figs: list[Figure], samples: list[Sample]) -> list[tuple[int, Figure, bool]]:
    """(place, figure, tied with the one above) in rank order; a tie shares the place above it."""
    ordered = sorted(figs, key=rank_key)
    out: list[tuple[int, Figure, bool]] = []
    for i, f in enumerate(ordered):
        tied = bool(i) and order(ordered[i - 1], f, samples) == 0
        out.append((out[-1][0] if tied else i + 1, f, tied))
    return out


def fmt_ratio(r: Ratio) -> str:
    if r.rounds < 2:
        return _("{value:.2f}× (one round: no interval, so no tie or rank can be told from noise)").format(
            value=r.value)
    return (_("{value:.1f}× (95%: {low:.1f}–{high:.1f}×)") if r.value >= 1.95 else
            _("{value:.2f}× (95%: {low:.2f}–{high:.2f}×)")).format(value=r.value, low=r.low, high=r.high)
