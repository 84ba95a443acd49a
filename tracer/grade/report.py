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
from tracer.locale import N_, _, listed
from tracer.locale.cells import cell_len, ljust

# The rows of recordings/LESSONS.md that the requirement types point to, in a few words.
LESSON_ROWS = {
    1: N_("a blocking call puts the thread to sleep"),
    2: N_("thread-per-connection grows threads with connections"),
    3: N_("threads created per connection; a pool reuses them"),
    4: N_("a saturated pool queues connections"),
    5: N_("the lesson's pool spends one worker on the accept loop"),
    6: N_("a slow client pins a worker"),
    7: N_("the listen backlog is a queue in the kernel"),
    8: N_("idle connections cost a thread each, or nothing"),
    10: N_("IO multiplexing serves everyone from one thread"),
    11: N_("a blocking call inside an event loop freezes every client"),
    12: N_("the lesson's own bugs: one recv per connection, no close"),
    15: N_("where each connection's time went"),
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
    """``pass``, ``fail`` or ``error``: data in csv and json, whatever the language."""
    return {0: "pass", 1: "fail"}.get(g.exit_code, "error")


_RESULT_WORDS = {"pass": N_("pass"), "fail": N_("fail"), "error": N_("error")}


def result_shown(g: Grade) -> str:
    """:func:`result_word` for a person (the text table, the Markdown one), in the language in force."""
    return _(_RESULT_WORDS[result_word(g)])


def lesson_row(row: int) -> str:
    return _(LESSON_ROWS[row]) if row in LESSON_ROWS else ""


def could_not_run(g: Grade) -> str:
    return _("could not run: {why}").format(why=g.why)


def score(g: Grade) -> str:
    return f"{g.points}/{g.total}" if g.status == "graded" else "–"


def failed_names(g: Grade) -> list[str]:
    return [i.requirement.type if _unique_type(g, i) else i.requirement.title for i in g.failed]


def _unique_type(g: Grade, item: Item) -> bool:
    return sum(1 for r in g.homework.requirements if r.type == item.requirement.type) == 1


# ---------------------------------------------------------------- text
def text(g: Grade, explain: bool = False) -> str:
    """The report of one submission."""
    lines = [_("{submission}: homework {name} ({title})").format(submission=g.target.label, name=g.homework.name,
                                                                  title=_(g.homework.title))]
    if g.status != "graded":
        lines.append("  " + could_not_run(g))
        return "\n".join(lines)
    for item in g.items:
        lines += _item_lines(g, item, explain)
    for note in g.notes:
        lines.append("  " + _("note: {message}").format(message=note))
    verdict = _("passes") if g.exit_code == 0 else _("fails")
    lines.append("  " + _("score {points}/{total}: {verdict} ({seconds:.1f} s); recording: {path}").format(
        points=g.points, total=g.total, verdict=verdict, seconds=g.seconds, path=g.path))
    return "\n".join(lines)


def _item_lines(g: Grade, item: Item, explain: bool) -> list[str]:
    v, req = item.verdict, item.requirement
    # each mark four cells wide in either language ("PASS", "通过"): the lines under it stay aligned
    mark = _("PASS") if v.passed else (_("FAIL") if req.required else _("miss"))
    lines = ["  " + _("{mark}  {title}: {measured} (want {bound})").format(mark=mark, title=req.title,
                                                                          measured=v.measured, bound=v.bound)]
    if v.passed:
        return lines
    pad = " " * 8
    lines.append(pad + _("why: {why}").format(why=_(TYPES[req.type].why)))
    if v.evidence:
        lines.append(pad + v.evidence)
    if g.path and (v.at is not None or v.conn is not None):
        lines.append(pad + _("open it: {command}").format(command=replay_command(g.path, v.at, v.conn)))
    if explain:
        for row in lessons(item):
            lines.append(pad + _("lesson: sockscope lesson {row} (recordings/LESSONS.md row {row}: {about})").format(
                row=row, about=lesson_row(row)))
    return lines


def table(grades: Sequence[Grade]) -> str:
    """One line per submission: file, score, result, what failed."""
    rows = [(_("file"), _("score"), _("result"), _("failed"))]
    rows += [(g.target.label, score(g), result_shown(g),
              listed(failed_names(g)) if g.status == "graded" else could_not_run(g))
             for g in grades]
    widths = [max(cell_len(r[i]) for r in rows) for i in range(3)]  # in cells: a Chinese word is two wide
    return "\n".join(f"{ljust(r[0], widths[0])}  {ljust(r[1], widths[1])}  {ljust(r[2], widths[2])}  {r[3]}".rstrip()
                     for r in rows)


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
    lines = [_("| file | score | result | failed |"), "|---|---|---|---|"]
    for g in grades:
        failed = listed(failed_names(g)) if g.status == "graded" else could_not_run(g)
        lines.append(f"| {_md(g.target.label)} | {score(g)} | {result_shown(g)} | {_md(failed)} |")
    for g in grades:
        if not g.failed and not g.notes:
            continue
        lines += ["", f"## {_md(g.target.label)}", ""]
        for item in g.failed:
            v = item.verdict
            lines.append(_("- **{title}**: {measured} (want {bound}). {why}.").format(
                title=_md(item.requirement.title), measured=_md(v.measured), bound=_md(v.bound),
                why=_md(_(TYPES[item.requirement.type].why))))
            if v.evidence:
                lines.append(f"  {_md(v.evidence)}")
            if g.path and (v.at is not None or v.conn is not None):
                lines.append(f"  `{replay_command(g.path, v.at, v.conn)}`")
            if explain:
                lines += ["  " + _("Lesson: `sockscope lesson {row}` ({about})").format(row=row, about=lesson_row(row))
                          for row in lessons(item)]
        lines += ["- " + _("note: {message}").format(message=_md(note)) for note in g.notes]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
