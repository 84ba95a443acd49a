"""The message catalogs' tooling in pure Python: find marked strings, read and write ``.po``, compile ``.mo``.

Used at development time by ``tools/i18n.py`` (``extract``, ``compile``,
``check``) and by the tests; never at run time (``gettext`` reads the ``.mo``).
No ``msgfmt``, ``babel`` or ``polib`` is needed: a ``.po`` here is the subset
this project writes (``msgctxt`` is not used), and the ``.mo`` is GNU's format
(magic, a table of originals, a table of translations, sorted by original),
byte-for-byte what CPython's ``Tools/i18n/msgfmt.py`` makes of the same entries
minus its hash table, which ``gettext`` does not need.
"""

from __future__ import annotations

import ast
import re
import string
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

MARKERS = {"_": 1, "N_": 1, "ngettext": 2, "N_n": 2}  # function name -> how many leading string arguments it marks


@dataclass
class Entry:
    """One message: the English (and its plural), the translation(s), where the source uses it."""

    msgid: str
    plural: str | None = None
    msgstr: list[str] = field(default_factory=lambda: [""])
    places: list[str] = field(default_factory=list)
    fuzzy: bool = False

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.msgid, self.plural)

    @property
    def translated(self) -> bool:
        return not self.fuzzy and all(self.msgstr) and bool(self.msgstr)


# ---------------------------------------------------------------- extraction
def extract(paths: Iterable[Path], root: Path) -> dict[tuple[str, str | None], Entry]:
    """Every ``_()``, ``N_()`` and ``ngettext()`` string in the Python files ``paths``, in source order."""
    found: dict[tuple[str, str | None], Entry] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            marked = _marked(node)
            if marked is None:
                continue
            msgid, plural = marked
            entry = found.setdefault((msgid, plural), Entry(msgid, plural))
            entry.places.append(f"{path.relative_to(root).as_posix()}:{getattr(node, 'lineno', 0)}")
    return dict(sorted(found.items(), key=lambda kv: _place_key(kv[1].places[0])))


def _marked(node: ast.AST) -> tuple[str, str | None] | None:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.func.id not in MARKERS:
        return None
    need = MARKERS[node.func.id]
    args = node.args[:need]
    if len(args) < need or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
        return None  # _(variable): a table's string, marked with N_ where it is written
    texts = [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return texts[0], texts[1] if need == 2 else None


def unmarkable(paths: Iterable[Path]) -> list[str]:
    """Calls of ``_``/``ngettext`` whose text is built (an f-string, a join): they can never be translated."""
    bad = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in MARKERS
                    and node.args and isinstance(node.args[0], (ast.JoinedStr, ast.BinOp))):
                bad.append(f"{path}:{node.lineno}")
    return bad


def _place_key(place: str) -> tuple[str, int]:
    path, _, line = place.rpartition(":")
    return path, int(line)


# ---------------------------------------------------------------- placeholders
_PERCENT = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([sdrifgx%])")


def placeholders(text: str) -> list[str]:
    """The fields a message fills in, sorted: ``{n}``, ``{n:,}``, ``%(prog)s``, ``%s`` (argparse's own)."""
    fields = []
    if "%" in text:
        for m in _PERCENT.finditer(text):
            if m.group(2) != "%":
                fields.append(f"%({m.group(1)}){m.group(2)}" if m.group(1) else f"%{m.group(2)}")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return sorted(fields + ["<broken braces>"])
    for _literal, name, spec, conv in parsed:
        if name is not None:
            fields.append("{" + name + ("!" + conv if conv else "") + (":" + spec if spec else "") + "}")
    return sorted(fields)


# ---------------------------------------------------------------- .po
def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n") + '"'


def _lines(keyword: str, text: str) -> list[str]:
    if "\n" not in text[:-1]:
        return [f"{keyword} {_quote(text)}"]
    parts = text.splitlines(keepends=True)
    return [f'{keyword} ""'] + [_quote(p) for p in parts]


def _unquote(text: str) -> str:
    body = text.strip()
    if not (body.startswith('"') and body.endswith('"')):
        raise ValueError(f"expected a quoted string, got {text!r}")
    return ast.literal_eval(body)


def read_po(text: str) -> tuple[str, list[Entry]]:
    """The header's text and the entries of a ``.po`` file (obsolete ``#~`` entries are skipped)."""
    entries: list[Entry] = []
    current: Entry | None = None
    last: tuple[str, int] | None = None  # what a continuation line adds to
    flags: list[str] = []
    places: list[str] = []
    header = ""

    def close() -> None:
        nonlocal current, header
        if current is not None:
            if current.msgid == "" and current.plural is None:
                header = current.msgstr[0]
            else:
                entries.append(current)
        current = None

    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            flags += [f.strip() for f in line[2:].split(",")]
        elif line.startswith("#:"):
            places += line[2:].split()
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            assert current is not None, f"line {n}: msgid_plural before msgid"
            current.plural = _unquote(line[len("msgid_plural "):])
            last = ("plural", 0)
        elif line.startswith("msgid "):
            close()
            current = Entry(_unquote(line[len("msgid "):]), places=places, fuzzy="fuzzy" in flags)
            current.msgstr = []
            flags, places = [], []
            last = ("msgid", 0)
        elif line.startswith("msgstr"):
            assert current is not None, f"line {n}: msgstr before msgid"
            m = re.match(r"msgstr(?:\[(\d+)\])?\s+(.*)", line)
            if m is None:
                raise ValueError(f"line {n}: cannot read {raw!r}")
            index = int(m.group(1) or 0)
            while len(current.msgstr) <= index:
                current.msgstr.append("")
            current.msgstr[index] = _unquote(m.group(2))
            last = ("msgstr", index)
        elif line.startswith('"'):
            if current is None or last is None:
                raise ValueError(f"line {n}: a string continues nothing")
            more = _unquote(line)
            if last[0] == "msgid":
                current.msgid += more
            elif last[0] == "plural":
                current.plural = (current.plural or "") + more
            else:
                current.msgstr[last[1]] += more
        else:
            raise ValueError(f"line {n}: cannot read {raw!r}")
    close()
    return header, entries


def write_po(header: str, entries: Iterable[Entry]) -> str:
    """A ``.po`` file's text: the header entry, then each entry with its places."""
    out = ['msgid ""', 'msgstr ""'] + [_quote(p) for p in header.splitlines(keepends=True)]
    out.append("")
    for e in entries:
        for i in range(0, len(e.places), 3):
            out.append("#: " + " ".join(e.places[i:i + 3]))
        if e.fuzzy:
            out.append("#, fuzzy")
        if _has_format(e):
            out.append("#, python-brace-format")
        out += _lines("msgid", e.msgid)
        if e.plural is not None:
            out += _lines("msgid_plural", e.plural)
            for i, s in enumerate(e.msgstr or [""]):
                out += _lines(f"msgstr[{i}]", s)
        else:
            out += _lines("msgstr", e.msgstr[0] if e.msgstr else "")
        out.append("")
    return "\n".join(out)


def _has_format(e: Entry) -> bool:
    return any(p.startswith("{") for p in placeholders(e.msgid))


def merge(old: list[Entry], found: dict[tuple[str, str | None], Entry]) -> list[Entry]:
    """The entries ``found`` in the source, keeping the translations ``old`` had for them."""
    known = {e.key: e for e in old}
    merged = []
    for key, e in found.items():
        before = known.get(key)
        if before is not None:
            e.msgstr, e.fuzzy = before.msgstr, before.fuzzy
        merged.append(e)
    return merged


# ---------------------------------------------------------------- .mo
def compile_mo(header: str, entries: Iterable[Entry]) -> bytes:
    """GNU ``.mo`` bytes of the translated entries (untranslated and fuzzy ones are left out, as msgfmt does)."""
    pairs = {b"": header.encode("utf-8")}
    for e in entries:
        if not e.translated:
            continue
        key = e.msgid if e.plural is None else e.msgid + "\0" + e.plural
        pairs[key.encode("utf-8")] = "\0".join(e.msgstr).encode("utf-8")
    keys = sorted(pairs)
    ids = strs = b""
    offsets = []
    for k in keys:
        offsets.append((len(ids), len(k), len(strs), len(pairs[k])))
        ids += k + b"\0"
        strs += pairs[k] + b"\0"
    n = len(keys)
    start_ids = 7 * 4 + 16 * n  # the header, then both tables
    start_strs = start_ids + len(ids)
    koffsets: list[int] = []
    voffsets: list[int] = []
    for o1, l1, o2, l2 in offsets:
        koffsets += [l1, o1 + start_ids]
        voffsets += [l2, o2 + start_strs]
    head = struct.pack("Iiiiiii", 0x950412DE, 0, n, 7 * 4, 7 * 4 + n * 8, 0, 0)
    return head + struct.pack(f"{len(koffsets)}i", *koffsets) + struct.pack(f"{len(voffsets)}i", *voffsets) \
        + ids + strs


def compile_file(po: Path) -> bytes:
    """The ``.mo`` bytes of the ``.po`` file ``po``."""
    header, entries = read_po(po.read_text(encoding="utf-8"))
    return compile_mo(header, entries)
