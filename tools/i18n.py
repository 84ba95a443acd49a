"""The message catalogs at development time (pure Python: no msgfmt, babel or polib needed).

    python tools/i18n.py extract   # add the source's new _()/N_()/ngettext strings to the .po (translations kept)
    python tools/i18n.py compile   # write the .mo next to the .po (commit both)
    python tools/i18n.py check     # exit 1 if the .mo is stale or a string is untranslated (what the tests check)
    python tools/i18n.py todo      # list the untranslated strings

The source strings are found with ``ast`` in ``tracer/`` and ``servers/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracer.locale import catalog  # noqa: E402

PO = ROOT / "tracer" / "locale" / "zh_CN" / "LC_MESSAGES" / "sockscope.po"
MO = PO.with_suffix(".mo")
HEADER = ("Project-Id-Version: sockscope\n"
          "Language: zh_CN\n"
          "MIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=UTF-8\n"
          "Content-Transfer-Encoding: 8bit\n"
          "Plural-Forms: nplurals=1; plural=0;\n")


def sources() -> list[Path]:
    return sorted(p for folder in ("tracer", "servers") for p in (ROOT / folder).rglob("*.py")
                  if p.name != "catalog.py")


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "check"
    found = catalog.extract(sources(), ROOT)
    header, old = catalog.read_po(PO.read_text(encoding="utf-8")) if PO.exists() else (HEADER, [])
    if what == "extract":
        merged = catalog.merge(old, found)
        PO.write_text(catalog.write_po(header or HEADER, merged), encoding="utf-8")
        todo = sum(1 for e in merged if not e.translated)
        print(f"{PO.relative_to(ROOT)}: {len(merged)} strings, {todo} to translate")
        return 0
    if what == "compile":
        MO.write_bytes(catalog.compile_mo(header, old))
        print(f"wrote {MO.relative_to(ROOT)} ({sum(1 for e in old if e.translated)} translated strings)")
        return 0
    if what == "todo":
        for e in catalog.merge(old, found):
            if not e.translated:
                print(f"{e.places[0]}: {e.msgid!r}")
        return 0
    if what == "check":
        problems = []
        if not MO.exists() or MO.read_bytes() != catalog.compile_mo(header, old):
            problems.append(f"{MO.relative_to(ROOT)} is stale: run python tools/i18n.py compile")
        known = {e.key: e for e in old}
        problems += [f"{e.places[0]}: not in the catalog: {e.msgid!r}" for k, e in found.items() if k not in known]
        problems += [f"{e.places[0]}: untranslated: {e.msgid!r}" for k, e in found.items()
                     if k in known and not known[k].translated]
        for line in problems:
            print(line)
        return 1 if problems else 0
    print(f"expected extract, compile, check or todo, got {what!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
