"""Times and small charts as a person reads and types them: the one parser and the one formatter.

Every time a user types (the go-to box, ``export --from/--to``, ``--at``) goes
through :func:`parse_time`, with one rule: a unit may follow the number (``ns``,
``us``/``µs``, ``ms``, ``s``) and **a plain number is milliseconds**, the unit
the lessons speak in (``--work-ms 200``).  Every time shown goes through
:func:`fmt_time`.
"""

from __future__ import annotations

import math
import re

from tracer.locale import _

NS_PER = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
PLAIN_UNIT = "ms"  # what a number without a unit means
_TIME = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s)?$")


def parse_time(text: str) -> int:
    """A time a user typed, in ns: ``12.5ms``, ``300 us``, ``2s``, ``1,500 ns``; ``250`` is 250 ms.

    Raises:
        ValueError: not a time >= 0, with a message saying what was expected.
    """
    s = text.strip().lower().replace(" ", "").replace(",", "")
    m = _TIME.match(s)
    if not m:
        raise ValueError(_("expected a time such as 12ms, 3.5s, 250us or 100ns (a plain number is ms), "
                           "got {text!r}").format(text=text))
    return round(float(m.group(1)) * NS_PER[m.group(2) or PLAIN_UNIT])


def fmt_time(ns: float | None, digits: int = 3, significant: bool = False) -> str:
    """A time or duration in the unit that suits it: ``812 ns``, ``3.210 ms``, ``1.500 s``.

    Args:
        digits: decimals shown (``significant=False``), or significant digits.
        significant: ``12.3 µs``, ``4.56 ms`` (statistics) rather than fixed decimals (the timeline).
    """
    if ns is None:
        return "–"
    a = abs(ns)
    if a < 1_000:
        return f"{ns:.0f} ns"
    div, unit = next((d, u) for d, u in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")) if a >= d)
    if significant:
        value = ns / div
        return f"{value:.{digits}g} {unit}" if abs(value) < 100 else f"{value:.0f} {unit}"
    return f"{ns / div:.{digits}f} {unit}"


def nice_step(ns: float) -> int:
    """The smallest 1-2-5 step (ns) at least ``ns``: the ruler's and the picture's ticks."""
    ns = max(ns, 1.0)
    e = 10 ** math.floor(math.log10(ns))
    for m in (1, 2, 5, 10):
        if m * e >= ns:
            return int(m * e)
    return int(10 * e)  # pragma: no cover


SPARKS = "▁▂▃▄▅▆▇█"  # a sparkline's eight heights (a blank is zero)


def spark(value: float, top: float) -> str:
    """One sparkline cell for ``value`` on a scale whose highest cell is ``top``."""
    if value <= 0 or top <= 0:
        return " "
    return SPARKS[min(len(SPARKS), max(1, round(value / top * len(SPARKS)))) - 1]


def sparkline(values: list[float]) -> str:
    """One character per value, scaled to the largest (a blank for zero)."""
    top = max(values, default=0)
    return "".join(spark(v, top) for v in values)
