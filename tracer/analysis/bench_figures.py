"""What ``sockscope bench`` measured, and what it means: figures with their spread, ties, ranks, the verdict.

No IO here: :mod:`tracer.run.benchmark` measures :class:`Sample` rows (one load run
each) and :class:`Capacity` rows, this module turns them into :class:`Figure` values
(a rate with a 95% interval, latencies with their min–max over rounds) and into
sentences, and the table, the charts and every output format read the same
figures, so a number in the verdict is a number in the table.

The spread: rounds are interleaved across models (each model takes its turn,
round after round), so whatever else the machine did in a round fell on all of
them alike; a rate is whole responses over the time the load ran, summed over
rounds, and its 95% interval comes from resampling whole rounds (bootstrap,
2,000 draws, a fixed seed so the same rounds give the same interval).  A ratio
between two models resamples the same rounds for both (they ran side by side).
Two models whose ratio's interval holds 1 are *tied*: within each other's noise.
"""

from __future__ import annotations

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
                  max(s.cpu_share for s in samples), first.generator, _cpu_per_request(samples))


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
    groups: dict[tuple[str, str, int], list[Sample]] = {}
    for s in samples:
        if s.generator == generator:
            groups.setdefault((s.contender, s.mode, s.connections), []).append(s)
    return [figure(g) for g in groups.values()]


def ratio(samples: list[Sample], a: str, b: str, mode: str, connections: int,
          generator: str = "builtin") -> Ratio | None:
    """a's rate over b's at one load, over the rounds both ran (None when either is missing or b served nothing)."""
    pick = {name: _rounds([s for s in samples if s.contender == name and s.mode == mode
                           and s.connections == connections and s.generator == generator]) for name in (a, b)}
    rounds = sorted(set(pick[a]) & set(pick[b]))
    if not rounds:
        return None

    def stat(picked: list[int]) -> float:
        below = _rate(pick[b], picked)
        return _rate(pick[a], picked) / below if below else float("inf")

    if stat(rounds) == float("inf"):
        return None
    low, high = _interval(rounds, stat)
    return Ratio(a, b, stat(rounds), low, high, len(rounds))


def rank_key(f: Figure) -> tuple[float, float]:
    """What all clients got: a figure that starved connections ranks after every one that served them all."""
    return (f.starved / f.connections, -f.rps)


def ranking(figs: list[Figure], samples: list[Sample]) -> list[tuple[int, Figure, bool]]:
    """(place, figure, tied with the one above) in rank order; a tie shares the place above it."""
    ordered = sorted(figs, key=rank_key)
    out: list[tuple[int, Figure, bool]] = []
    for i, f in enumerate(ordered):
        tied = False
        if i and not f.starved and not ordered[i - 1].starved:
            r = ratio(samples, ordered[i - 1].contender, f.contender, f.mode, f.connections, f.generator)
            tied = r is not None and r.tied
        elif i and f.starved and ordered[i - 1].starved == f.starved:
            r = ratio(samples, ordered[i - 1].contender, f.contender, f.mode, f.connections, f.generator)
            tied = r is not None and r.tied
        out.append((out[-1][0] if tied else i + 1, f, tied))
    return out


def fmt_ratio(r: Ratio) -> str:
    if r.rounds < 2:
        return _("{value:.2f}× (one round: no interval, so no tie or rank can be told from noise)").format(
            value=r.value)
    return (_("{value:.1f}× (95%: {low:.1f}–{high:.1f}×)") if r.value >= 1.95 else
            _("{value:.2f}× (95%: {low:.2f}–{high:.2f}×)")).format(value=r.value, low=r.low, high=r.high)
