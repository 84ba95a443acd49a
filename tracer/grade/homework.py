"""Homework definitions: TOML a teacher writes, checked before anything runs.

A homework is the scenarios to run at a submission (``[[run]]``, in order,
each with its parameters) and the requirements over what the recording shows
(``[[require]]``, each a type of :data:`tracer.grade.requirements.TYPES` and
its bounds).  Everything is validated here, so that a typo in a homework file
is one line naming the table, the key and what was expected
(``homework.toml: [[require]] 3 (latency): under: expected a time such as
'500ms' or '2s', got true``), never a failure half-way through thirty
submissions.  The shipped homeworks are in ``tracer/grade/homeworks/``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracer.clients import scenarios
from tracer.errors import UsageError
from tracer.grade.requirements import MISSING, TYPES
from tracer.locale import N_, _, listed
from tracer.units import parse_time

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has it as tomli (a dependency there)
    import tomli as tomllib

SHIPPED = Path(__file__).with_name("homeworks")

# The shipped homeworks' titles and abouts, word for word as in their .toml files (a test holds them equal), for
# the catalog: a report shows _(title), which leaves a teacher's own title as written.
SHIPPED_WORDS = (
    N_("A web server with IO multiplexing"),
    N_("One thread, many connections: idle ones cost no thread, slow ones stop no one."),
    N_("A web server with a pool of threads"),
    N_("At most 10 workers, reused; a burst larger than the pool queues and is still served; every connection "
       "closed."),
    N_("A web server with a thread per connection"),
    N_("Serve every request on a kept-alive connection, close every connection, refuse garbage."),
)

# Scenarios whose parameters set the server's own knobs (--backlog, --cpu-ms): a submission takes none.
_KNOBBED = {name for name, s in scenarios.SCENARIOS.items() if s.knobs}
GRADABLE = tuple(name for name in scenarios.SCENARIOS if name not in _KNOBBED)
TIME_LIMIT = 120.0  # seconds one submission may take in all, unless the homework says
_COMMON_REQUIRE = {"type", "title", "required", "points"}


@dataclass(frozen=True)
class Run:
    """One scenario fired at the submission.

    Attributes:
        name: what requirements call it (default: the scenario's name; unique).
        scenario: a key of :data:`tracer.clients.scenarios.SCENARIOS`.
        params: every parameter, resolved (defaults filled in).
    """

    name: str
    scenario: str
    params: Mapping[str, float | int]

    def overrides(self) -> dict[str, str]:
        """The parameters as ``--set`` values for the client process."""
        return {k: f"{v:g}" if isinstance(v, float) else str(v) for k, v in self.params.items()}


@dataclass(frozen=True)
class Requirement:
    """One thing the submission must show.

    Attributes:
        type: a key of :data:`tracer.grade.requirements.TYPES`.
        params: its bounds and the runs it reads, typed.
        title: what the report calls it (default: the type's own words).
        required: a failure fails the homework (else it only costs its points).
        points: what it is worth in the score.
    """

    type: str
    params: Mapping[str, Any]
    title: str
    required: bool = True
    points: int = 1


@dataclass(frozen=True)
class Homework:
    """A whole homework: its runs, in order, and its requirements."""

    name: str
    title: str
    about: str
    path: str
    runs: tuple[Run, ...]
    requirements: tuple[Requirement, ...]
    time_limit: float = TIME_LIMIT
    extra: Mapping[str, Any] = field(default_factory=dict)

    def run(self, name: str) -> Run:
        return next(r for r in self.runs if r.name == name)


def shipped_names() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def find(spec: str) -> str:
    """The file of homework ``spec``: a path to a TOML file, or the name of a shipped homework.

    Raises:
        UsageError: neither, with the shipped names.
    """
    if spec.endswith(".toml") or os.sep in spec or (os.altsep and os.altsep in spec):
        if not os.path.isfile(spec):
            raise UsageError(_("--homework {spec}: no such file").format(spec=spec))
        return spec
    shipped = SHIPPED / f"{spec}.toml"
    if shipped.is_file():
        return str(shipped)
    if os.path.isfile(spec):
        return spec
    raise UsageError(_("unknown homework {spec!r}; give a .toml file or one of: {names}").format(
        spec=spec, names=listed(shipped_names())))


def load(spec: str) -> Homework:
    """Read and check the homework ``spec`` (a name or a file).

    Raises:
        UsageError: a missing file, bad TOML, an unknown scenario, parameter or
            requirement type (listing the valid ones), a bound of the wrong type.
    """
    path = find(spec)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(_("{path}: not valid TOML: {why}").format(path=path, why=exc)) from None
    except OSError as exc:
        raise UsageError(_("{path}: cannot read: {why}").format(path=path, why=exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise UsageError(_("{path}: not UTF-8 text").format(path=path)) from None
    return parse(data, path)


def parse(data: Mapping[str, Any], path: str = "<homework>") -> Homework:
    """A :class:`Homework` from a TOML document already read (see :func:`load`)."""
    unknown = set(data) - {"homework", "run", "require"}
    if unknown:
        raise UsageError(_("{path}: unknown table {table!r}; a homework has [homework], [[run]] and [[require]]")
                         .format(path=path, table=sorted(unknown)[0]))
    head = _table(data.get("homework", {}), f"{path}: [homework]")
    runs = _runs(data.get("run"), path)
    names = {r.name: r for r in runs}
    reqs = data.get("require")
    if not isinstance(reqs, list) or not reqs:
        raise UsageError(_("{path}: expected at least one [[require]] table; the types are: {types}").format(
            path=path, types=listed(TYPES)))
    requirements = tuple(_requirement(item, f"{path}: [[require]] {i}", names) for i, item in enumerate(reqs, 1))
    limit = head.get("time_limit", TIME_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 1 <= limit <= 3600:
        raise UsageError(_("{path}: [homework] time_limit: expected seconds from 1 to 3600, got {value!r}").format(
            path=path, value=limit))
    for key in ("title", "about"):
        if not isinstance(head.get(key, ""), str):
            raise UsageError(_("{path}: [homework] {key}: expected a string, got {value!r}").format(
                path=path, key=key, value=head[key]))
    name = Path(path).stem
    return Homework(name, head.get("title", name), head.get("about", ""), path, runs, requirements, float(limit),
                    {k: v for k, v in head.items() if k not in ("title", "about", "time_limit")})


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UsageError(_("{where}: expected a table, got {value!r}").format(where=where, value=value))
    return value


def _runs(items: Any, path: str) -> tuple[Run, ...]:
    if not isinstance(items, list) or not items:
        raise UsageError(_("{path}: expected at least one [[run]] table; the scenarios are: {names}").format(
            path=path, names=listed(GRADABLE)))
    runs: list[Run] = []
    for i, item in enumerate(items, 1):
        where = f"{path}: [[run]] {i}"
        item = _table(item, where)
        name = item.get("scenario")
        if name not in scenarios.SCENARIOS:
            raise UsageError(_("{where}: unknown scenario {name!r}; choose one of {names}").format(
                where=where, name=name, names=listed(GRADABLE)))
        if name in _KNOBBED:
            knobs = listed(f"--{k.replace('_', '-')}" for k in scenarios.SCENARIOS[name].knobs)
            raise UsageError(_("{where}: scenario {name!r} sets the server's own {knobs}, which a submission does "
                               "not take; choose one of {names}").format(where=where, name=name, knobs=knobs,
                                                                         names=listed(GRADABLE)))
        label = item.get("name", name)
        if not isinstance(label, str) or not label:
            raise UsageError(_("{where}: name: expected a string, got {value!r}").format(where=where, value=label))
        if any(r.name == label for r in runs):
            raise UsageError(_("{where}: a second run called {name!r}: give it another name = \"...\"").format(
                where=where, name=label))
        raw = {k: v for k, v in item.items() if k not in ("scenario", "name")}
        for key, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UsageError(_("{where} ({name}): {key}: expected a number, got {value!r}").format(
                    where=where, name=name, key=key, value=value))
        try:
            params = scenarios.get(name).resolve({k: str(v) for k, v in raw.items()})
        except UsageError as exc:
            raise UsageError(f"{where}: {str(exc).removeprefix('--set ')}") from None
        runs.append(Run(label, name, params))
    return tuple(runs)


def _requirement(item: Any, where: str, runs: Mapping[str, Run]) -> Requirement:
    item = _table(item, where)
    kind = item.get("type")
    spec = TYPES.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise UsageError(_("{where}: unknown requirement type {kind!r}; choose one of {types}").format(
            where=where, kind=kind, types=listed(TYPES)))
    where = f"{where} ({kind})"
    allowed = set(spec.params) | _COMMON_REQUIRE
    for key in item:
        if key not in allowed:
            raise UsageError(_("{where}: unknown key {key!r}; it takes: {keys}").format(
                where=where, key=key, keys=listed(sorted(allowed - {"type"}))))
    params: dict[str, Any] = {}
    for key, param in spec.params.items():
        if key not in item:
            if param.default is MISSING:
                raise UsageError(_("{where}: expected {key} ({help})").format(
                    where=where, key=key, help=_(param.help).format(scenario=param.scenario)))
            params[key] = param.default
            continue
        params[key] = _typed(item[key], param.kind, f"{where}: {key}", runs, param.scenario)
    title, required, points = item.get("title"), item.get("required", True), item.get("points", 1)
    if title is not None and not isinstance(title, str):
        raise UsageError(_("{where}: title: expected a string, got {value!r}").format(where=where, value=title))
    if not isinstance(required, bool):
        raise UsageError(_("{where}: required: expected true or false, got {value!r}").format(where=where,
                                                                                             value=required))
    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
        raise UsageError(_("{where}: points: expected a whole number >= 0, got {value!r}").format(where=where,
                                                                                                 value=points))
    return Requirement(kind, params, title or spec.describe(params), required, points)


def _typed(value: Any, kind: str, where: str, runs: Mapping[str, Run], scenario: str | None) -> Any:
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UsageError(_("{where}: expected a whole number >= 0, got {value!r}").format(where=where,
                                                                                            value=value))
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise UsageError(_("{where}: expected a number >= 0, got {value!r}").format(where=where, value=value))
        return float(value)
    if kind == "time":  # ns; a string with a unit, or a number of ms (the project's one rule)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UsageError(_("{where}: expected a time such as '500ms' or '2s', got {value!r}").format(
                where=where, value=value))
        try:
            return parse_time(str(value))
        except ValueError:
            raise UsageError(_("{where}: expected a time such as '500ms' or '2s', got {value!r}").format(
                where=where, value=value)) from None
    if kind == "runs":
        if not isinstance(value, list):
            raise UsageError(_("{where}: expected a list of run names, got {value!r}").format(where=where,
                                                                                            value=value))
        return tuple(_run_name(v, where, runs, scenario) for v in value)
    return _run_name(value, where, runs, scenario)


def _run_name(value: Any, where: str, runs: Mapping[str, Run], scenario: str | None) -> str:
    if not isinstance(value, str) or value not in runs:
        raise UsageError(_("{where}: expected the name of a [[run]] ({names}), got {value!r}").format(
            where=where, names=listed(runs), value=value))
    if scenario is not None and runs[value].scenario != scenario:
        raise UsageError(_("{where}: run {name!r} is a {scenario} run; this needs a {needed} run").format(
            where=where, name=value, scenario=runs[value].scenario, needed=scenario))
    return value
