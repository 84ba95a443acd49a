"""The language sockscope speaks: English or Simplified Chinese, with ``gettext`` from the standard library.

How this works
--------------
Strings are marked where they are used: ``_("...")`` for one message,
``ngettext("1 connection", "{n} connections", n)`` for a count, and ``N_("...")``
for a string kept in a table and translated where it is shown (``_(CODES[code])``).
Placeholders are ``str.format`` fields, never f-strings, so that the catalog holds
the sentence as a translator sees it: ``_("{n} events").format(n=...)``.

``_`` looks the message up in the catalog of the language *now* in force, so the
TUI can switch language at run time; a table of ``N_`` strings is translated each
time it is shown, never once at import.

The catalogs are ``tracer/locale/zh_CN/LC_MESSAGES/sockscope.po`` (edited by
hand) and the ``.mo`` beside it, compiled by ``python tools/i18n.py compile``
(pure Python, :mod:`tracer.locale.catalog`) and committed, so that an install
needs nothing but Python; ``tests/test_locale.py`` fails when the ``.mo`` is
older than the ``.po`` or a marked string has no translation.

Which language: :func:`choose` — ``--lang``, else ``SOCKSCOPE_LANG``, else the
locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, the first one set, as POSIX reads
them); ``zh_CN``, ``zh_SG``, ``zh_Hans*`` and a bare ``zh`` mean Simplified Chinese,
anything else English (there is no Traditional Chinese catalog: ``zh_TW`` stays English).
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

DOMAIN = "sockscope"
LOCALEDIR = Path(__file__).resolve().parent
LANGUAGES = ("en", "zh")  # what --lang takes
_CATALOG = {"zh": "zh_CN"}  # language -> the catalog's folder

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def _(message: str) -> str:
    """``message`` in the language in force (as written when there is no translation)."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted message that suits ``n`` (Chinese has one form for every count)."""
    return _translation.ngettext(singular, plural, n)


def listed(items: Iterable[object]) -> str:
    """A list of numbers or names for display: ``1, 4, 15`` in English, ``1、4、15`` in Chinese (the enumeration
    comma; ``_(", ")`` is the comma between clauses, ``，``)."""
    return _("{before}, {after}").format(before="", after="").join(map(str, items))


def N_(message: str) -> str:  # noqa: N802 (the gettext convention's name)
    """Mark ``message`` for the catalog without translating it here: a table's entry, translated where shown."""
    return message


def N_n(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802
    """Mark a counted message for the catalog without translating it (``ngettext(*pair, n)`` where shown)."""
    return singular, plural


def language() -> str:
    """The language in force: ``en`` or ``zh``."""
    return _language


def set_language(lang: str) -> str:
    """Speak ``lang`` (``en`` or ``zh``) from now on; return it.

    A catalog that cannot be found leaves English in force (the package was
    installed without its ``.mo``): the program still works, untranslated.
    """
    global _translation, _language
    if lang not in LANGUAGES:
        raise ValueError(f"expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    if lang == "en":
        _translation, _language = gettext.NullTranslations(), "en"
        return _language
    found = gettext.translation(DOMAIN, str(LOCALEDIR), languages=[_CATALOG[lang]], fallback=True)
    _translation = found
    _language = lang if type(found) is not gettext.NullTranslations else "en"
    return _language


def from_locale(value: str) -> str:
    """The language a locale name asks for: ``zh_CN.UTF-8`` → ``zh``; ``C``, ``en_US``, ``zh_TW`` → ``en``."""
    name = value.split(".")[0].split("@")[0].replace("-", "_").lower()
    if name in ("zh", "zh_cn", "zh_sg") or name.startswith("zh_hans"):
        return "zh"
    return "en"


def parse_choice(value: str) -> str | None:
    """``SOCKSCOPE_LANG``'s value as a language: ``zh``/``en`` or a locale name; None if it names neither."""
    text = value.strip().lower()
    if text in LANGUAGES:
        return text
    if text.startswith("zh"):
        return from_locale(text)
    if text.startswith("en") or text in ("c", "posix"):
        return "en"
    return None


def choose(cli: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to speak: ``cli`` (``--lang``), else ``SOCKSCOPE_LANG``, else the locale; English otherwise."""
    env = os.environ if environ is None else environ
    if cli:
        return cli
    asked = parse_choice(env.get("SOCKSCOPE_LANG", ""))
    if asked is not None:
        return asked
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:  # POSIX: the first one set decides, even when it says English
            return from_locale(value)
    return "en"


_HEADING = re.compile(r"^(\S[^\n]*[\u4e00-\u9fff）]):$", re.M)  # a heading line ending in Chinese, then ":"


def full_width_headings(text: str) -> str:
    """argparse's section headings with the Chinese colon (``选项：``): it appends an ASCII ``:`` itself."""
    return _HEADING.sub(r"\1：", text)
