"""What a grade says, as text for a person and as md/csv/json for a gradebook (strings; the command prints).

A failure names the connection or the moment that shows it and the command
that opens the recording there (``sockscope replay FILE --at 3.2s --conn 17``);
with ``explain``, also the lesson (``sockscope lesson N``, a row of
``recordings/LESSONS.md``) where what went wrong can be watched.
"""

from __future__ import annotations

import csv
import io
import json
import shlex
from collections.abc import Sequence
from typing import Any

from tracer.grade.requirements import TYPES
from tracer.grade.session import Grade, Item

# The rows of recordings/LESSONS.md that the requirement types point to, in a few words.
LESSON_ROWS = {
    1: "a blocking call puts the thread to sleep",
    2: "thread-per-connection grows threads with connections",
    3: "threads created per connection; a pool reuses them",
    4: "a saturated pool queues connections",
    5: "the lesson's pool spends one worker on the accept loop",
    6: "a slow client pins a worker",
    7: "the listen backlog is a queue in the kernel",
    8: "idle connections cost a thread each, or nothing",
    10: "IO multiplexing serves everyone from one thread",
    11: "a blocking call inside an event loop freezes every client",
    12: "the lesson's own bugs: one recv per connection, no close",
    15: "where each connection's time went",
}


def lessons(item: Item) -> tuple[int, ...]:
    """The LESSONS.md rows that show what went wrong: the failure's own, else its type's."""
    v = item.verdict
    return v.lessons if v.lessons is not None else TYPES[item.requirement.type].lessons


def at_text(ns: int) -> str:
    """A time ``--at`` reads back exactly enough: ``3.200s``, ``324.498ms``."""
    return f"{ns / 1e9:.3f}s" if ns >= 1_000_000_000 else f"{ns / 1e6:.3f}ms"


def replay_command(path: str, at: int | None, conn: int | None) -> str:
    argv = ["sockscope", "replay", path]
    if at is not None:
        argv += ["--at", at_text(at)]
    if conn is not None:
        argv += ["--conn", str(conn)]
    return shlex.join(argv)


def result_word(g: Grade) -> str:
    return {0: "pass", 1: "fail"}.get(g.exit_code, "error")


def score(g: Grade) -> str:
    return f"{g.points}/{g.total}" if g.status == "graded" else "–"


def failed_names(g: Grade) -> list[str]:
    return [i.requirement.type if _unique_type(g, i) else i.requirement.title for i in g.failed]


def _unique_type(g: Grade, item: Item) -> bool:
    return sum(1 for r in g.homework.requirements if r.type == item.requirement.type) == 1


# ---------------------------------------------------------------- text
def text(g: Grade, explain: bool = False) -> str:
    """The report of one submission."""
    lines = [f"{g.target.label}: homework {g.homework.name} ({g.homework.title})"]
    if g.status != "graded":
        lines.append(f"  could not run: {g.why}")
        return "\n".join(lines)
    for item in g.items:
        lines += _item_lines(g, item, explain)
    for note in g.notes:
        lines.append(f"  note: {note}")
    verdict = {0: "passes", 1: "fails"}[g.exit_code]
    lines.append(f"  score {g.points}/{g.total}: {verdict} ({g.seconds:.1f} s); recording: {g.path}")
    return "\n".join(lines)


def _item_lines(g: Grade, item: Item, explain: bool) -> list[str]:
    v, req = item.verdict, item.requirement
    mark = "PASS" if v.passed else ("FAIL" if req.required else "miss")
    lines = [f"  {mark}  {req.title}: {v.measured} (want {v.bound})"]
    if v.passed:
        return lines
    lines.append(f"        why: {TYPES[req.type].why}")
    if v.evidence:
        lines.append(f"        {v.evidence}")
    if g.path and (v.at is not None or v.conn is not None):
        lines.append(f"        open it: {replay_command(g.path, v.at, v.conn)}")
    if explain:
        for row in lessons(item):
            lines.append(f"        lesson: sockscope lesson {row} (recordings/LESSONS.md row {row}: "
                         f"{LESSON_ROWS.get(row, '')})")
    return lines


def table(grades: Sequence[Grade]) -> str:
    """One line per submission: file, score, result, what failed."""
    rows = [("file", "score", "result", "failed")]
    rows += [(g.target.label, score(g), result_word(g),
              ", ".join(failed_names(g)) if g.status == "graded" else f"could not run: {g.why}")
             for g in grades]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip() for r in rows)


# ---------------------------------------------------------------- gradebook formats
def as_csv(grades: Sequence[Grade]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["file", "score", "points", "total", "result", "failed", "recording", "why"])
    for g in grades:
        w.writerow([g.target.label, score(g), g.points, g.total, result_word(g), "; ".join(failed_names(g)),
                    g.path or "", g.why or "; ".join(g.notes)])
    return out.getvalue()


def as_json(grades: Sequence[Grade]) -> str:
    return json.dumps([to_dict(g) for g in grades], indent=2, ensure_ascii=False) + "\n"


def to_dict(g: Grade) -> dict[str, Any]:
    return {
        "file": g.target.label, "homework": g.homework.name, "result": result_word(g), "exit_status": g.exit_code,
        "points": g.points, "total": g.total, "recording": g.path, "could_not_run": g.why, "notes": g.notes,
        "seconds": round(g.seconds, 2),
        "runs": [{"name": w.name, "scenario": w.scenario, "status": w.status, "why": w.why} for w in g.runs],
        "requirements": [{
            "type": i.requirement.type, "title": i.requirement.title, "required": i.requirement.required,
            "points": i.requirement.points, "passed": i.passed, "measured": i.verdict.measured,
            "bound": i.verdict.bound, "evidence": i.verdict.evidence, "at_ns": i.verdict.at, "conn": i.verdict.conn,
            "replay": replay_command(g.path, i.verdict.at, i.verdict.conn)
            if g.path and not i.passed and (i.verdict.at is not None or i.verdict.conn is not None) else None,
        } for i in g.items],
    }


def as_markdown(grades: Sequence[Grade], explain: bool = False) -> str:
    lines = ["| file | score | result | failed |", "|---|---|---|---|"]
    for g in grades:
        failed = ", ".join(failed_names(g)) if g.status == "graded" else f"could not run: {g.why}"
        lines.append(f"| {_md(g.target.label)} | {score(g)} | {result_word(g)} | {_md(failed)} |")
    for g in grades:
        if not g.failed and not g.notes:
            continue
        lines += ["", f"## {_md(g.target.label)}", ""]
        for item in g.failed:
            v = item.verdict
            lines.append(f"- **{_md(item.requirement.title)}**: {_md(v.measured)} (want {_md(v.bound)}). "
                         f"{_md(TYPES[item.requirement.type].why)}.")
            if v.evidence:
                lines.append(f"  {_md(v.evidence)}")
            if g.path and (v.at is not None or v.conn is not None):
                lines.append(f"  `{replay_command(g.path, v.at, v.conn)}`")
            if explain:
                lines += [f"  Lesson: `sockscope lesson {row}` ({LESSON_ROWS.get(row, '')})"
                          for row in lessons(item)]
        lines += [f"- note: {_md(note)}" for note in g.notes]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
