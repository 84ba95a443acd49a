"""The house rules of ``tracer/``, read from the code with ``ast``: no import circles, the library never
imports the CLI, Textual only in the UI, and no two library modules with the same name.

Every import counts, also those inside functions (a lazy import still ties two modules) and those
under ``if TYPE_CHECKING`` (mypy follows them).  A regression here names the modules that broke a rule.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRACER = ROOT / "tracer"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in TRACER.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """The modules ``path`` imports (``from a.b import c`` counts as a.b.c when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES)
    return found


GRAPH = {name: {m for m in imports_of(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def library(name: str) -> bool:
    return not (name in ("tracer.cli", "tracer.__main__", "tracer.entry") or name.startswith("tracer.commands"))


def test_the_rules_read_the_whole_tree():
    """The graph is not empty by accident: the walk sees the stages and their arrows."""
    assert {"tracer.record.recorder", "tracer.recording.reader", "tracer.tui.app", "tracer.cli"} <= set(MODULES)
    assert "tracer.recording.format" in GRAPH["tracer.record.recorder"]
    assert "tracer.tui.app" in GRAPH["tracer.tui.live_app"]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the modules along it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circles():
    # a package's face (its __init__) is imported by every module under it: leave those arrows out
    graph = {n: {m for m in deps if not n.startswith(m + ".")} for n, deps in GRAPH.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_library_never_imports_the_cli():
    wrong = sorted(f"{n} imports {m}" for n, deps in GRAPH.items() if library(n)
                   for m in deps if not library(m))
    assert not wrong, wrong


def test_textual_only_in_the_ui():
    wrong = sorted(n for n, p in MODULES.items() if not n.startswith("tracer.tui")
                   and any(m == "textual" or m.startswith("textual.") for m in imports_of(p)))
    assert not wrong, f"Textual imported outside tracer/tui/: {wrong}"


def test_reading_a_recording_loads_no_writer():
    """replay, check and export must not load the recorder or the C extension."""
    seen: set[str] = set()
    todo = ["tracer.recording.reader", "tracer.recording.follow", "tracer.analysis.check", "tracer.export"]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(GRAPH.get(n, ()))
    assert not {m for m in seen if m.startswith("tracer.record.")}, sorted(seen)


@pytest.mark.parametrize("folder", ["record", "recording", "analysis", "timeline", "run", "clients", "export"])
def test_library_modules_have_one_name_each(folder):
    """No two library modules share a stem (``live.py`` three times over was the bug); commands/ may mirror
    the library's name for the same job (``commands/check.py`` runs ``analysis/check.py``)."""
    stems: dict[str, list[str]] = defaultdict(list)
    for name in MODULES:
        if library(name) and not name.endswith(("__init__", "__main__")) and name.count(".") >= 1:
            stems[name.rsplit(".", 1)[1]].append(name)
    clashes = {s: ns for s, ns in stems.items() if len(ns) > 1 and any(n.startswith(f"tracer.{folder}.") for n in ns)}
    assert not clashes, clashes
