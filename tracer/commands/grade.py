"""``sockscope grade SUBMISSION... --homework NAME|FILE``: servers checked against a homework, with evidence."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import servers
from servers import Settings
from tracer.commands.common import non_negative, positive_int
from tracer.errors import UsageError
from tracer.locale import _, listed


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grade", help=_("check a server against a homework's requirements, with the recording as evidence"),
        description=_("Run each SUBMISSION (a built-in model, or a student's program.py), fire the homework's "
                      "scenarios at it, record everything into one recording per submission, and report each "
                      "requirement: pass or fail, the measured value beside the bound, and for a failure the "
                      "connection or moment that shows it, with the replay command that opens it there."),
        epilog=_("exit status: 0 every required item passes, 1 one fails, 2 a submission could not be run "
                 "(or bad input). Shipped homeworks: thread-server, pool-server, multiplexed-server; "
                 "'sockscope grade --list' shows them and the requirement types. A submission runs in its own "
                 "process on 127.0.0.1, in a fresh temporary folder, with a time limit: that is not a sandbox."))
    p.add_argument("targets", nargs="*", metavar="SUBMISSION",
                   help=_("a model ({models}), a program.py, or a folder of them").format(
                       models=listed(servers.MODELS)))
    p.add_argument("--homework", "-w", metavar="NAME|FILE", help=_("a shipped homework's name or a .toml file"))
    p.add_argument("-o", "--output", metavar="PATH",
                   help=_("the recording (one submission; default grade.jsonl) or a folder of them, one per "
                          "submission (several; default grades/)"))
    p.add_argument("--format", choices=("text", "md", "csv", "json"), default="text",
                   help=_("text (default): a report per submission; md, csv, json: for a gradebook"))
    p.add_argument("--explain", action="store_true", help=_("for each failure, the lesson that shows it"))
    p.add_argument("--time-limit", type=non_negative, metavar="SECONDS",
                   help=_("seconds one submission may take in all (default: the homework's)"))
    p.add_argument("--list", action="store_true", help=_("list the shipped homeworks and the requirement types"))
    g = p.add_argument_group(_("built-in models"))
    g.add_argument("--workers", type=positive_int, default=10, help=_("pool size for the pool model (default 10)"))
    g.add_argument("--as-taught", action="store_true", help=_("the lesson's code as written"))
    g.add_argument("--work-ms", type=non_negative, default=0, help=_("each request waits this long (blocks a loop)"))
    g.add_argument("--cpu-ms", type=non_negative, default=0, help=_("each request computes this long"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tracer.grade import homework as hw

    if args.list:
        print(listing())
        return 0
    if not args.homework:
        raise UsageError(_("expected --homework NAME|FILE; the shipped ones are: {names}").format(
            names=listed(hw.shipped_names())))
    if not args.targets:
        raise UsageError(_("expected a SUBMISSION to grade: a model ({models}), a program.py or a folder of them")
                         .format(models=listed(servers.MODELS)))
    work = hw.load(args.homework)
    if args.time_limit:
        from dataclasses import replace

        work = replace(work, time_limit=args.time_limit)
    targets = expand(args)
    paths = recording_paths(targets, args.output)
    from tracer.recording.format import check_recording_path

    for path in paths:  # before anything runs
        check_recording_path(path)
    return grade_all(targets, paths, work, args)


def grade_all(targets: list, paths: list[str], work: object, args: argparse.Namespace) -> int:
    from tracer.grade import report
    from tracer.grade.session import NOT_A_SANDBOX, grade

    grades = []
    for n, (target, path) in enumerate(zip(targets, paths, strict=True), 1):
        of = f" ({n}/{len(targets)})" if len(targets) > 1 else ""
        print(_("sockscope: grading {submission}{of} against {homework} ...").format(
            submission=target.label, of=of, homework=work.name), file=sys.stderr, flush=True)  # type: ignore[attr-defined]
        g = grade(target, work, path,  # type: ignore[arg-type]
                  on_run=lambda i, w: print(_("sockscope:   run {n}: {name}").format(n=i, name=w.name),
                                            file=sys.stderr, flush=True))
        grades.append(g)
        if args.format == "text":
            print(report.text(g, args.explain) + "\n", flush=True)
    if args.format == "text":
        if len(grades) > 1:
            print(report.table(grades))
    else:
        print({"md": lambda gs: report.as_markdown(gs, args.explain), "csv": report.as_csv,
               "json": report.as_json}[args.format](grades), end="")
    if any(t.program for t in targets):
        print(_("note: {message}").format(message=_(NOT_A_SANDBOX)),
              file=sys.stderr if args.format != "text" else sys.stdout)
    return max(g.exit_code for g in grades)


def expand(args: argparse.Namespace) -> list:
    """The submissions: models with the options' settings, files, the .py files of folders."""
    from tracer.grade.session import Target

    out = []
    for spec in args.targets:
        if spec in servers.MODELS:
            if args.as_taught and spec not in servers.AS_TAUGHT:
                raise UsageError(_("--as-taught: the lesson has no {model} server; it has {models}").format(
                    model=spec, models=listed(servers.AS_TAUGHT)))
            cfg = Settings(model=spec, workers=args.workers, as_taught=args.as_taught, work_ms=args.work_ms,
                           cpu_ms=args.cpu_ms)
            out.append(Target(_model_label(cfg), cfg=cfg))
        elif os.path.isdir(spec):
            files = sorted(str(p) for p in Path(spec).glob("*.py"))
            if not files:
                raise UsageError(_("{path}: a folder without .py files").format(path=spec))
            out += [Target(f, program=f) for f in files]
        else:
            out.append(Target(spec, program=spec))
    return out


def _model_label(cfg: Settings) -> str:
    label = cfg.model
    if cfg.as_taught:
        label += " --as-taught"
    if cfg.model == "pool" and cfg.workers != 10:
        label += f" --workers {cfg.workers}"
    for name, value in (("work-ms", cfg.work_ms), ("cpu-ms", cfg.cpu_ms)):
        if value:
            label += f" --{name} {value:g}"
    return label


def recording_paths(targets: list, output: str | None) -> list[str]:
    """One recording per submission: ``output`` itself for one, files in the folder ``output`` for several."""
    if len(targets) == 1:
        return [output or "grade.jsonl"]
    folder = output or "grades"
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(_("-o {folder}: grading several submissions writes a folder of recordings; "
                           "{folder} is a file").format(folder=folder))
    os.makedirs(folder, exist_ok=True)
    seen: set[str] = set()
    paths = []
    for t in targets:
        stem = Path(t.program).stem if t.program else t.label.replace(" --", "-").replace(" ", "-")
        name, k = stem, 2
        while name in seen:
            name, k = f"{stem}-{k}", k + 1
        seen.add(name)
        paths.append(os.path.join(folder, f"{name}.jsonl"))
    return paths


def listing() -> str:
    from tracer.grade import homework as hw
    from tracer.grade.requirements import TYPES

    lines = [_("homeworks (--homework NAME, or your own .toml):")]
    for name in hw.shipped_names():
        h = hw.load(name)
        lines.append(f"  {name:<20} {_(h.title)}: {', '.join(r.scenario for r in h.runs)}")
    lines.append(_("requirement types ([[require]] type = ...):"))
    for t in TYPES.values():
        keys = listed(f"{k} ({p.kind})" for k, p in t.params.items()) or _("no keys")
        lines.append(f"  {t.name:<13} " + _("passes when {passes}; keys: {keys}").format(passes=_(t.passes), keys=keys))
    lines.append(_("scenarios ([[run]] scenario = ...): {names}").format(names=listed(hw.GRADABLE)))
    return "\n".join(lines)
