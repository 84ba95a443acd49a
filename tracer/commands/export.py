"""``sockscope export FILE --format perfetto|chrome|csv|svg|md``: homework exports."""

from __future__ import annotations

import argparse
import os
import sys

from tracer import export, outputs
from tracer.errors import UsageError
from tracer.export.csvout import COLUMNS
from tracer.locale import _, listed, ngettext
from tracer.recording.reader import load


def epilog() -> str:
    """The formats, the CSV's columns (their names stay English: they are the file's), times and lanes."""
    return _("""formats:
  perfetto  Perfetto's own protobuf trace: open it in https://ui.perfetto.dev or trace_processor
            (compressed: 5-10x smaller than chrome, about 30x at 1M events: for big recordings)
  chrome    Chrome trace JSON: open it in https://ui.perfetto.dev or chrome://tracing (up to 256 MB)
  csv       one row per event (RFC 4180, header row), for a spreadsheet or pandas
  svg       the timeline as a picture (one row per thread, time axis, legend)
  md        a Markdown report: counts, waits with p50/p90/p99, throughput, check's findings

csv columns:
""") + "\n".join(f"  {name:<12}{_(what)}" for name, what in COLUMNS) + "\n\n" + _(
        """times (--from, --to): 12ms, 3.5s, 250us, 100ns; a plain number is ms.
lanes (--lanes): ids, names or patterns, comma-separated: --lanes 'MainThread,worker*' or --lanes client
""")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help=_("export a recording (Perfetto trace, CSV, SVG, Markdown report)"),
                       description=_("Export a recording for a report or another tool."), epilog=epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE", help=_("a recording (.jsonl)"))
    p.add_argument("--format", "-f", required=True, metavar="FORMAT",
                   help=_("perfetto, chrome (or json), csv, svg or md (or markdown)"))
    p.add_argument("-o", "--output", metavar="OUT",
                   help=_("where to write (default: FILE with the format's suffix; '-' for standard output)"))
    p.add_argument("--from", dest="t_from", metavar="T", help=_("start of the time range (default: the start)"))
    p.add_argument("--to", dest="t_to", metavar="T", help=_("end of the time range (default: the end)"))
    p.add_argument("--lanes", action="append", metavar="LANES", help=_("only these lanes (repeatable)"))
    p.add_argument("--width", type=int, default=1200, metavar="PX",
                   help=_("svg: picture width in pixels (default 1200)"))
    p.set_defaults(func=run)


ALIASES = {"json": "chrome", "markdown": "md", "protobuf": "perfetto", "proto": "perfetto"}
CHROME_LIMIT = 256 * 1024 * 1024  # chrome://tracing will not open a trace bigger than this


def run(args: argparse.Namespace) -> int:
    fmt = ALIASES.get(args.format.lower(), args.format.lower())
    if fmt not in export.FORMATS:
        raise UsageError(_("unknown format {format!r}; choose one of {formats}").format(
            format=args.format, formats=listed(export.FORMATS)))
    if not 300 <= args.width <= 20000:
        raise UsageError(_("expected --width from 300 to 20000 pixels, got {width}").format(width=args.width))
    t_from = export.parse_time(args.t_from) if args.t_from is not None else None
    t_to = export.parse_time(args.t_to) if args.t_to is not None else None
    out_path = args.output or default_output(args.file, fmt)
    if out_path != "-":
        check_output(out_path, args.file)
    progress = export.Progress(_("loading {file}").format(file=args.file))
    rec = load(args.file, progress=progress)
    progress.done()
    for warning in rec.warnings:  # a cut-off last line, no trailer: export what is there, and say so
        print(_("warning: {message}").format(message=warning), file=sys.stderr)
    sel = export.select(rec, t_from, t_to, args.lanes)
    progress = export.Progress(_("export {format}").format(format=fmt))
    if out_path == "-":
        n = _write(fmt, rec, sys.stdout, sel, progress, args.width)
    else:
        n = _write_file(fmt, rec, out_path, sel, progress, args.width)
        progress.done()
        print(ngettext("sockscope: wrote {path} ({format}, {n:,} event)",
                       "sockscope: wrote {path} ({format}, {n:,} events)", n).format(path=out_path, format=fmt, n=n))
        if fmt == "chrome" and os.path.getsize(out_path) > CHROME_LIMIT:
            print(_("warning: {message}").format(message=_(
                "{path} is {size:,.0f} MB: chrome://tracing will not open a trace over 256 MB, and ui.perfetto.dev "
                "may run out of memory; --format perfetto writes a far smaller one").format(
                    path=out_path, size=os.path.getsize(out_path) / 2**20)), file=sys.stderr)
    progress.done()
    return 0


def default_output(path: str, fmt: str) -> str:
    """FILE with its ``.jsonl`` replaced by the format's suffix."""
    stem, ext = os.path.splitext(path)
    return (stem if ext in (".jsonl", ".json", ".ndjson") else path) + export.FORMATS[fmt][1]


def check_output(out: str, src: str) -> None:
    outputs.check_output_path(out)
    if os.path.exists(out) and os.path.exists(src) and os.path.samefile(out, src):
        raise UsageError(_("cannot write {path}: it is the recording itself").format(path=out))


def _write(fmt: str, rec, out, sel, progress, width: int) -> int:  # type: ignore[no-untyped-def]
    if fmt == "svg":
        from tracer.export import svg

        return svg.write(rec, out, sel, progress, width=width)
    if export.is_binary(fmt) and out is sys.stdout:
        n = export.write(fmt, rec, sys.stdout.buffer, sel, progress)
        sys.stdout.buffer.flush()
        return n
    return export.write(fmt, rec, out, sel, progress)


def _write_file(fmt: str, rec, path: str, sel, progress, width: int) -> int:  # type: ignore[no-untyped-def]
    """Write as ``> path`` would: a regular file through a temporary one (a failed export leaves no half
    file), a device or FIFO in place, a symlink's target (:mod:`tracer.outputs`)."""
    binary = export.is_binary(fmt)
    with outputs.output_file(path, newline="", binary=binary) as out:
        return export.write(fmt, rec, out, sel, progress) if binary else _write(fmt, rec, out, sel, progress, width)
