"""Chinese and English: the catalog is complete and compiled, the language is chosen as users expect, and the
CLI, check's findings and the Markdown report speak it (issue 13)."""

from __future__ import annotations

import gettext
import os
import subprocess
import sys
from pathlib import Path

import pytest

import servers
from tests.handmade import US, Lines, pool_known
from tracer import cli, locale
from tracer.commands import compare
from tracer.locale import catalog, outside
from tracer.locale.cells import cell_len, ljust, rjust, truncate

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "tracer" / "locale" / "zh_CN" / "LC_MESSAGES" / "sockscope.po"
MO = PO.with_suffix(".mo")
SOURCES = sorted(p for folder in ("tracer", "servers") for p in (ROOT / folder).rglob("*.py") if p.name != "catalog.py")


def entries() -> dict[tuple[str, str | None], catalog.Entry]:
    _header, found = catalog.read_po(PO.read_text(encoding="utf-8"))
    return {e.key: e for e in found}


# ---------------------------------------------------------------- the catalog
def test_every_marked_string_is_translated_with_the_same_placeholders():
    marked = catalog.extract(SOURCES, ROOT)
    assert len(marked) > 300  # the walk sees the marks (CLI, check, reports, argparse's words)
    known = entries()
    missing = [f"{e.places[0]}: {e.msgid!r}" for k, e in marked.items() if k not in known or not known[k].translated]
    assert not missing, "untranslated (python tools/i18n.py extract, then translate):\n" + "\n".join(missing)
    differ = []
    for key, e in marked.items():
        want = catalog.placeholders(e.msgid)
        if e.plural is not None:
            assert catalog.placeholders(e.plural) == want, f"{e.places[0]}: singular and plural fill different fields"
        for text in known[key].msgstr:
            if catalog.placeholders(text) != want:
                differ.append(f"{e.places[0]}: {e.msgid!r} fills {want}, its translation {catalog.placeholders(text)}")
    assert not differ, "\n".join(differ)


def test_no_message_is_built_before_it_is_looked_up():
    """``_(f"...")`` can never be found in a catalog: the text must be a literal, filled in by .format."""
    assert catalog.unmarkable(SOURCES) == []


def test_the_committed_mo_is_compiled_from_the_committed_po():
    assert MO.read_bytes() == catalog.compile_file(PO), "stale .mo: run python tools/i18n.py compile"


def test_the_compiled_catalog_reads_back_through_gettext(tmp_path):
    """The pure-Python compiler writes what gettext reads: one message, a plural, the header's plural rule."""
    po = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Plural-Forms: nplurals=2; '
          'plural=(n != 1);\\n"\n\nmsgid "socket"\nmsgstr "套接字"\n\n'
          'msgid "{n} connection"\nmsgid_plural "{n} connections"\nmsgstr[0] "{n} 个连接"\nmsgstr[1] "{n} 条"\n\n'
          '#, fuzzy\nmsgid "guess"\nmsgstr "猜的"\n')
    header, found = catalog.read_po(po)
    path = tmp_path / "x.mo"
    path.write_bytes(catalog.compile_mo(header, found))
    with open(path, "rb") as f:
        t = gettext.GNUTranslations(f)
    assert t.gettext("socket") == "套接字"
    assert t.ngettext("{n} connection", "{n} connections", 1) == "{n} 个连接"
    assert t.ngettext("{n} connection", "{n} connections", 3) == "{n} 条"
    assert t.gettext("guess") == "guess"  # fuzzy: left out, as msgfmt does


def test_po_round_trip_keeps_every_entry():
    header, found = catalog.read_po(PO.read_text(encoding="utf-8"))
    again_header, again = catalog.read_po(catalog.write_po(header, found))
    assert again_header == header and [(e.key, e.msgstr) for e in again] == [(e.key, e.msgstr) for e in found]


def test_server_descriptions_are_marked_word_for_word():
    """servers/ imports nothing of sockscope: its descriptions are marked in tracer/locale/outside.py."""
    assert outside.SERVER_DESCRIPTIONS == servers.DESCRIPTIONS


def test_the_package_ships_the_catalog():
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # (tomllib is 3.11+; we support 3.10)
    packages = next(line for line in config.splitlines() if line.startswith("packages = [\"tracer\""))
    assert '"tracer.locale"' in packages
    data = config.split("[tool.setuptools.package-data]")[1].split("\n[")[0]
    assert '"locale/*/LC_MESSAGES/*.mo"' in data
    assert gettext.find(locale.DOMAIN, str(locale.LOCALEDIR), ["zh_CN"]) == str(MO)


@pytest.mark.parametrize(("text", "fields"), [
    ("{n:,} events", ["{n:,}"]), ("{a} {b!r}", ["{a}", "{b!r}"]), ("%(prog)s: %s", ["%(prog)s", "%s"]),
    ("100%% done", []), ("plain", []),
])
def test_placeholders(text, fields):
    assert catalog.placeholders(text) == sorted(fields)


# ---------------------------------------------------------------- which language
@pytest.mark.parametrize(("cli_lang", "env", "want"), [
    ("en", {"SOCKSCOPE_LANG": "zh", "LANG": "zh_CN.UTF-8"}, "en"),  # --lang first
    ("zh", {"SOCKSCOPE_LANG": "en", "LANG": "en_US.UTF-8"}, "zh"),
    (None, {"SOCKSCOPE_LANG": "zh", "LANG": "en_US.UTF-8"}, "zh"),  # then SOCKSCOPE_LANG
    (None, {"SOCKSCOPE_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
    (None, {"SOCKSCOPE_LANG": "zh_CN.UTF-8"}, "zh"),
    (None, {"SOCKSCOPE_LANG": "klingon", "LANG": "zh_CN.UTF-8"}, "zh"),  # a value it cannot read: the locale
    (None, {"LANG": "zh_CN.UTF-8"}, "zh"),  # then the locale
    (None, {"LANG": "zh_SG.UTF-8"}, "zh"),
    (None, {"LANG": "zh_Hans_CN.UTF-8"}, "zh"),
    (None, {"LANG": "zh_TW.UTF-8"}, "en"),  # Traditional: no catalog
    (None, {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL over LANG
    (None, {"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),  # LC_MESSAGES over LANG
    (None, {"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"),  # an empty one does not count
    (None, {}, "en"),
])
def test_language_chosen_from_lang_option_then_env_then_locale(cli_lang, env, want):
    assert locale.choose(cli_lang, env) == want


@pytest.mark.parametrize(("argv", "want"), [
    (["--lang", "zh", "check", "f"], "zh"), (["check", "--lang=zh", "f"], "zh"), (["check", "f", "--lang", "en"], "en"),
    (["check", "f"], None), (["check", "--", "--lang", "zh"], None), (["--lang", "xx", "check"], None),
    (["run", "prog.py", "--lang", "zh"], None),  # a traced program's own option
    (["run", "--lang", "zh", "prog.py"], "zh"),
])
def test_lang_is_read_before_the_command_line_is_parsed(argv, want):
    assert cli.lang_asked(argv) == want


@pytest.mark.parametrize(("argv", "want"), [
    (["export", "f", "-f", "csv"], "export"), (["--lang", "zh", "check", "f"], "check"), (["--lang", "check"], None),
    (["nosuch"], None), (["--help"], None), ([], None), (["--", "export"], None),
])
def test_only_the_command_asked_is_imported(argv, want):
    assert cli.command_asked(argv) == want


def test_a_command_builds_its_parser_alone_and_help_lists_them_all():
    # 'sockscope export' imported every command's module (the bench's Rich and servers, run's runner): ~0.5 s
    code = ("import sys; from tracer import cli; cli.main(['scenarios']); "
            "print(sorted(m for m in sys.modules if m.startswith('tracer.commands.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "['tracer.commands.scenarios']"
    parser = cli.build_parser()
    assert len(parser._subparsers._group_actions[0].choices) == 13  # type: ignore[union-attr]


def test_switching_language_at_run_time():
    assert locale.set_language("zh") == "zh" and locale._("connections") == "连接"
    assert locale.set_language("en") == "en" and locale._("connections") == "connections"
    with pytest.raises(ValueError):
        locale.set_language("fr")


# ---------------------------------------------------------------- the CLI in both languages
def run_cli(*args: str, lang_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCKSCOPE_LANG", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([sys.executable, "-m", "tracer", *args], capture_output=True, text=True, timeout=60,
                          env={**env, **lang_env, "PYTHONPATH": str(ROOT)}, cwd=ROOT)


def test_help_in_chinese_from_lang_and_in_english_by_default():
    zh = run_cli("--help", lang_env={"LANG": "zh_CN.UTF-8"})
    assert zh.returncode == 0
    assert zh.stdout.startswith("用法：sockscope")
    assert "录制、回放并导出" in zh.stdout and "选项" in zh.stdout and "显示这条帮助信息并退出" in zh.stdout
    en = run_cli("--help", lang_env={"LANG": "C.UTF-8"})
    assert en.stdout.startswith("usage: sockscope") and "Record, replay and export" in en.stdout
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en.stdout.replace("简体中文", ""))


def test_a_command_help_in_chinese_from_the_lang_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["check", "--help", "--lang", "zh"])
    out = capsys.readouterr().out
    assert "按连接的生命周期检查一个录制文件" in out or "把每个连接的事件" in out
    assert "退出码：0 没有问题" in out


def test_one_line_error_in_both_languages(tmp_path, capsys):
    missing = str(tmp_path / "nothere.jsonl")
    assert cli.main(["--lang", "zh", "check", missing]) == 2
    err = capsys.readouterr().err
    assert err == f"错误：{missing}: 没有这个文件\n"
    assert cli.main(["--lang", "en", "check", missing]) == 2
    assert capsys.readouterr().err == f"error: {missing}: no such file\n"


def test_usage_error_in_chinese_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--lang", "zh", "export"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("错误：缺少必需的参数：") and "sockscope export --help" in err


def never_closed(n: int) -> Lines:
    """A thread server whose ``n`` connections are each served by a thread that never closes them."""
    r = Lines("thread").lane(0, "MainThread").lane(1, "accept")
    for c in range(1, n + 1):
        r.lane(1 + c, f"recv-{c}")
    r.ev(0, 0, "listen", 0, 0, 128)
    for c in range(1, n + 1):
        t = c * 100 * US
        r.ev(t, 5 * US, "accept", 1, c, -1, f"127.0.0.1:{40000 + c}")
        r.ev(t + 6 * US, 0, "thread_start", 1 + c, c)
        r.ev(t + 7 * US, 3 * US, "recv", 1 + c, c, 40)
        r.ev(t + 11 * US, 1 * US, "send", 1 + c, c, 200)
    return r.end(alive=[1] + [1 + c for c in range(1, n + 1)])


@pytest.mark.parametrize(("n", "en", "zh"), [
    (1, "1 finding: 1 connection never closed", "发现 1 个问题：1 个连接从未关闭"),
    (3, "3 findings: 3 connections never closed", "发现 3 个问题：3 个连接从未关闭"),
])
def test_check_findings_plural_forms_at_1_and_3(tmp_path, capsys, n, en, zh):
    path = str(never_closed(n).write(tmp_path / "r.jsonl"))
    assert cli.main(["check", path]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1].endswith(en)
    assert cli.main(["--lang", "zh", "check", path]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1].endswith(zh)
    assert "从未被服务端关闭" in out[0] and "状态：服务中" in out[0]


def test_check_clean_plural(tmp_path, capsys):
    path = str(pool_known().write(tmp_path / "k.jsonl"))
    assert cli.main(["check", path]) == 0
    assert "connections follow the lifecycle" in capsys.readouterr().out
    assert cli.main(["--lang", "zh", "check", path]) == 0
    assert "个连接都符合生命周期" in capsys.readouterr().out


def test_markdown_report_in_chinese(tmp_path, capsys):
    path = str(never_closed(3).write(tmp_path / "r.jsonl"))
    assert cli.main(["--lang", "zh", "export", path, "--format", "md", "-o", "-"]) == 0
    text = capsys.readouterr().out
    for words in ("# sockscope 报告：", "## 计数", "## 每个连接的时间花在了哪里", "## `sockscope check` 发现的问题",
                  "被 accept 的连接", "完成连接队列", "从未关闭", "连接从未关闭"):
        assert words in text, words
    assert "## Counts" not in text


def test_markdown_counters_in_chinese_are_named_in_words(capsys):
    """The report listed 'ctx_involuntary最高': the context-switch counters by their recorded names."""
    path = str(Path(__file__).parent.parent / "recordings" / "thread-context-switches.jsonl")
    assert cli.main(["--lang", "zh", "export", path, "--format", "md", "-o", "-"]) == 0
    text = capsys.readouterr().out
    assert "上下文切换（等待）最高" in text and "上下文切换（抢占）最高" in text
    assert "ctx_voluntary" not in text and "ctx_involuntary" not in text


def test_svg_labels_in_chinese_with_a_cjk_font_stack(tmp_path, capsys):
    path = str(pool_known().write(tmp_path / "k.jsonl"))
    assert cli.main(["--lang", "zh", "export", path, "--format", "svg", "-o", "-"]) == 0
    svg = capsys.readouterr().out
    assert "Noto Sans CJK SC" in svg and "PingFang SC" in svg and "Microsoft YaHei" in svg
    assert "阻塞:<" in svg and "颜色与时间线界面一致" in svg


def test_compare_table_aligns_chinese_labels():
    rows = [("被 accept 的连接", "10", "20", "2×"), ("events", "1", "2", "2×")]
    lines = compare.plain(rows, "A：thread", "B：pool").splitlines()
    ends = {cell_len(line) for line in lines}
    assert len(ends) == 1, lines  # every row ends in the same column, in cells


# ---------------------------------------------------------------- widths
def test_cells_count_a_chinese_character_as_two():
    assert cell_len("连接 3") == 6 and cell_len("abc") == 3
    assert ljust("连接", 6) == "连接  " and rjust("连接", 5) == " 连接"
    assert truncate("完成连接队列", 7) == "完成连…" and cell_len(truncate("完成连接队列", 7)) <= 7
    assert truncate("abc", 3) == "abc"


def test_no_module_that_translates_binds_underscore_itself():
    """``head, _, rest = ...`` in a function that calls ``_()`` makes ``_`` local there: an UnboundLocalError in
    front of a user, only in the branch that runs it (a throwaway name in a live_app watch did exactly that)."""
    import ast

    bad = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not any(isinstance(n, ast.ImportFrom) and n.module == "tracer.locale"
                   and any(a.name == "_" for a in n.names) for n in tree.body):
            continue
        in_comprehension = {id(name) for comp in ast.walk(tree)
                            if isinstance(comp, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp))
                            for gen in comp.generators for name in ast.walk(gen.target)}
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                bad += [f"{path.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(func)
                        if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store)
                        and id(n) not in in_comprehension]
    assert bad == []


def test_chinese_breaks_between_characters_and_keeps_ascii_words_whole() -> None:
    """The lesson panel's wrap: Rich alone breaks only at spaces and leaves half-empty Chinese lines."""
    from tracer.locale.cells import break_offsets, cell_len

    text = "16 个客户端，4 个工作线程，每个请求要处理 200 ms（═，处理函数像在等数据库一样睡眠）。"
    cuts = [0, *break_offsets(text, 30), len(text)]
    lines = [text[a:b].rstrip() for a, b in zip(cuts, cuts[1:], strict=False)]
    assert all(cell_len(line) <= 30 for line in lines)
    assert all(cell_len(line) >= 28 for line in lines[:-1]), lines  # full lines, not ragged
    assert not any(line.lstrip()[0] in "，。）" for line in lines)  # no line starts with closing punctuation
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert break_offsets("recv and worker_3 here", 10) == [9, 18]  # English: at spaces, words whole
