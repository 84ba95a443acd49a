"""The CLI in Chinese beyond the one-line helps (issue 13): run, grade, serve/live/record, export, the reader's
errors, --version; each checks a translated sentence appears and that the English stays as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracer import cli

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "programs"


def sockscope(*args: str, lang: str, cwd: Path = ROOT, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """``python -m tracer ARGS`` with ``SOCKSCOPE_LANG=lang`` (no other locale variable)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOCKSCOPE_LANG", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([sys.executable, "-m", "tracer", *args], capture_output=True, text=True, timeout=timeout,
                          env={**env, "SOCKSCOPE_LANG": lang, "PYTHONPATH": str(ROOT)}, cwd=cwd)


def flat(text: str) -> str:
    """``text`` without its white space (where argparse wrapped a help is not the point)."""
    return "".join(text.split())


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# ---------------------------------------------------------------- run
FORKS_ON_EVERY_ADDRESS = """\
import os, socket
s = socket.socket()
s.bind(("0.0.0.0", 0))
s.listen()
if os.fork() == 0:
    os._exit(0)
os.wait()
s.close()
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_run_notes_and_summary_in_chinese_and_english(tmp_path):
    """The traced program's own process speaks the parent's language: the loopback and fork notes, the summary."""
    script = tmp_path / "forks.py"
    script.write_text(FORKS_ON_EVERY_ADDRESS, encoding="utf-8")
    zh = sockscope("run", "-o", str(tmp_path / "zh.jsonl"), str(script), lang="zh", cwd=tmp_path)
    assert zh.returncode == 0, zh.stderr
    assert "sockscope：正在运行 forks.py，录制到" in zh.stderr
    assert "改为绑定 127.0.0.1:" in zh.stderr and "只限本机" in zh.stderr
    assert "它启动的进程不会被追踪" in zh.stderr
    assert "forks.py 已结束，退出状态 0；" in zh.stderr and "用这个命令打开它：sockscope replay" in zh.stderr
    assert "sockscope：程序监听 http://127.0.0.1:" in zh.stderr  # translated; the parent reads the URL at its end
    en = sockscope("run", "-o", str(tmp_path / "en.jsonl"), str(script), lang="en", cwd=tmp_path)
    assert en.returncode == 0, en.stderr
    assert "bound to 127.0.0.1:" in en.stderr and "this machine only" in en.stderr
    assert "processes it starts are not traced" in en.stderr and "forks.py ended with exit status 0;" in en.stderr
    assert not has_chinese(en.stderr)


@pytest.mark.parametrize(("argv", "zh", "en"), [
    (["run", "nothere.py"], "错误：没有这个文件：nothere.py（应当是一个 Python 程序，或 -m MODULE）",
     "error: no such file: nothere.py (expected a Python program, or -m MODULE)"),
    (["run"], "错误：需要一个要运行的程序", "error: expected a program to run"),
    (["run", "-m", "no_such_module_zh", "-o", "-"], "没有名为 'no_such_module_zh' 的模块",
     "no module named 'no_such_module_zh'"),
])
def test_run_errors_are_one_line_in_both_languages(tmp_path, argv, zh, en):
    for lang, want in (("zh", zh), ("en", en)):
        done = sockscope(*argv, lang=lang, cwd=tmp_path)
        assert done.returncode == 2
        lines = [line for line in done.stderr.splitlines() if not line.startswith(("sockscope:", "sockscope："))]
        assert len(lines) == 1 and want in lines[0], done.stderr


def test_run_syntax_error_in_chinese(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n", encoding="utf-8")
    assert cli.main(["--lang", "zh", "run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("  File") and f"错误：{bad} 有语法错误（见上面）；什么都没有运行，也没有录制\n" in err


def test_run_help_in_chinese(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--lang", "zh", "run", "--help"])
    out = capsys.readouterr().out
    assert "追踪什么（程序完全不需要知道 sockscope）" in out and "运行一个模块，和 python -m 一样" in out
    with pytest.raises(SystemExit):
        cli.main(["--lang", "en", "run", "--help"])
    assert "what is traced, in a program that never heard of sockscope:" in capsys.readouterr().out


# ---------------------------------------------------------------- serve, live, record
@pytest.mark.parametrize(("command", "zh", "en"), [
    ("serve", "运行一个课程服务端，直到按 Ctrl-C", "Run one lesson server until Ctrl-C."),
    ("live", "按键向服务端发出场景客户端：b burst", "Keys fire scenario clients at the server: b burst"),
    ("record", "监听的地址：IPv4 或 IPv6 地址", "address to listen on: an IPv4 or IPv6 one"),
])
def test_server_commands_help_in_chinese(capsys, command, zh, en):
    with pytest.raises(SystemExit):
        cli.main(["--lang", "zh", command, "--help"])
    out = flat(capsys.readouterr().out)  # argparse wraps, between Chinese characters too
    assert flat(zh) in out and flat("thread（一个 accept 线程，每个连接一个新线程）") in out
    with pytest.raises(SystemExit):
        cli.main(["--lang", "en", command, "--help"])
    assert en in " ".join(capsys.readouterr().out.split())


def test_record_summary_in_chinese_and_english(tmp_path):
    """The summary's middle sentence (model, settings, connections, requests, threads) in both languages."""
    zh = sockscope("record", "thread", "-s", "burst", "--set", "clients=3", "-o", str(tmp_path / "zh.jsonl"),
                   lang="zh", cwd=tmp_path)
    assert zh.returncode == 0, zh.stderr
    assert "thread 服务端（backlog 128）：3 个连接被 accept；响应了 3 个请求；创建了" in zh.stdout
    assert "同时存活最多" in zh.stdout
    en = sockscope("record", "thread", "-s", "burst", "--set", "clients=3", "-o", str(tmp_path / "en.jsonl"),
                   lang="en", cwd=tmp_path)
    assert en.returncode == 0, en.stderr
    assert "thread server (backlog 128): 3 connections accepted; 3 requests answered; " in en.stdout
    assert "threads created, at most" in en.stdout and not has_chinese(en.stdout)


@pytest.mark.parametrize(("argv", "zh"), [
    (["record", "pool", "-s", "burst", "-o", "{tmp}/no/folder.jsonl"],
     "错误：无法写入录制文件 {tmp}/no/folder.jsonl：文件夹 {tmp}/no 不存在"),
    (["record", "pool", "-s", "burst", "-o", "{tmp}"], "错误：无法写入录制文件 {tmp}：它是一个文件夹"),
    (["serve", "pool", "--unix", "{tmp}/no/s.sock"], "错误：--unix：文件夹 {tmp}/no 不存在"),
    (["serve", "pool", "--unix", "{tmp}/s.sock", "--port", "1"],
     "错误：--unix 监听的是路径，不是端口：请给出 --port 或 --unix，不能都给"),
    (["serve", "pool", "--host", "[::1"],
     "错误：--host：应当是 127.0.0.1、::1 或 [::1] 这样的地址，得到的是 '[::1'"),
    (["serve"], "错误：需要一个 MODEL（或 -m MODULE）"),
])
def test_recording_path_and_bind_errors_in_chinese(tmp_path, capsys, argv, zh):
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert cli.main(["--lang", "zh", *argv]) == 2
    assert capsys.readouterr().err == zh.format(tmp=tmp_path) + "\n"


def test_unix_socket_in_use_is_said_in_chinese(tmp_path, capsys):
    import socket

    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("no AF_UNIX here")
    path = str(tmp_path / "s.sock")
    other = socket.socket(socket.AF_UNIX)
    try:
        other.bind(path)
        other.listen()
        assert cli.main(["--lang", "zh", "serve", "pool", "--unix", path]) == 2
        assert capsys.readouterr().err == f"错误：--unix：另一个服务端正在 {path} 上监听\n"
    finally:
        other.close()


# ---------------------------------------------------------------- export, the reader, --version
def small_recording(tmp_path: Path) -> str:
    from tests.handmade import pool_known

    return str(pool_known().write(tmp_path / "k.jsonl"))


def test_export_wrote_line_and_write_errors_in_chinese(tmp_path, capsys):
    path = small_recording(tmp_path)
    out = tmp_path / "k.csv"
    assert cli.main(["--lang", "zh", "export", path, "--format", "csv", "-o", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"sockscope：已写入 {out}（csv，")
    assert cli.main(["--lang", "en", "export", path, "--format", "csv", "-o", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"sockscope: wrote {out} (csv, ")
    assert cli.main(["--lang", "zh", "export", path, "--format", "md", "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"错误：无法写入 {tmp_path}：它是一个文件夹\n"
    assert cli.main(["--lang", "zh", "export", path, "--format", "md", "-o", str(tmp_path / "no" / "r.md")]) == 2
    assert capsys.readouterr().err == f"错误：无法写入 {tmp_path / 'no' / 'r.md'}：文件夹 {tmp_path / 'no'} 不存在\n"


@pytest.mark.parametrize(("line", "zh", "en"), [
    ('["x",0,"accept",0,1,0]', "t 应当是整数，得到的是 'x'", "expected an integer t, got 'x'"),
    ('[0,0,"nap",0,1,0]', "应当是一种事件类型（", "expected an event kind ("),
    ('[0,0,"accept",7,1,0]', "事件在泳道 7 上，但这条泳道在它之前没有声明",
     "event on lane 7, which was not declared before it"),
    ('{"lane":0,"name":"again"}', "泳道 0 声明了两次", "lane 0 declared twice"),
    ('{"c":"x"}', '应当是一个计数器 {"c": str, "t": int, "v": int}',
     'expected a counter {"c": str, "t": int, "v": int}'),
    ("[1,2", "应当是一个 JSON 值，得到的是 '[1,2\\n'（", "expected a JSON value, got '[1,2\\n' ("),
])
@pytest.mark.parametrize("pure", ["0", "1"])  # the C fast reader hands a bad line to the Python one
def test_a_corrupted_event_line_is_one_line_in_both_languages(tmp_path, capsys, monkeypatch, line, zh, en, pure):
    from tracer.recording import reader

    if pure == "0" and reader.native is None:
        pytest.skip("the C fast reader was not built")
    if pure == "1":
        monkeypatch.setattr(reader, "native", None)
    path = tmp_path / "bad.jsonl"
    path.write_text('{"format":"sockscope","version":1,"t0_monotonic_ns":1}\n{"lane":0,"name":"m"}\n' + line + "\n"
                    + '[5,0,"accept",0,2,0]\n', encoding="utf-8")
    assert cli.main(["--lang", "zh", "check", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"错误：{path}:3: {zh}")
    assert cli.main(["--lang", "en", "check", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {path}:3: {en}")


def test_version_says_the_hot_path_in_chinese(capsys, monkeypatch):
    from tracer.record import hotpath

    monkeypatch.setattr(hotpath, "stale", True)
    with pytest.raises(SystemExit):
        cli.main(["--lang", "zh", "--version"])
    assert "(Python 热路径：C 扩展已过期；运行 pip install -e . 重新构建)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["--lang", "en", "--version"])
    assert "Python hot path: the C extension is out of date" in capsys.readouterr().out


def test_the_stale_hot_path_note_in_chinese(capsys, monkeypatch):
    from tracer import locale
    from tracer.record import hotpath

    monkeypatch.setattr(hotpath, "_warned", False)
    locale.set_language("zh")
    hotpath.warn_stale()
    assert capsys.readouterr().err == ("sockscope：提示：C 热路径已过期（运行 pip install -e . 重新构建）；"
                                       "暂时用 Python 热路径录制\n")


# ---------------------------------------------------------------- grade
def test_grade_report_in_chinese_and_english(tmp_path):
    """The report a student reads: marks, measured beside the bound, why, the story, the lesson, the score."""
    args = ("grade", "thread", "--as-taught", "--homework", "thread-server", "--explain")
    zh = sockscope(*args, "-o", str(tmp_path / "zh.jsonl"), lang="zh", cwd=tmp_path, timeout=180)
    assert zh.returncode == 1, zh.stderr
    out = zh.stdout
    assert "thread --as-taught：作业 thread-server（每个连接一个线程的 Web 服务端）" in out
    assert "  失败  每个连接都由服务端关闭：" in out and "（要求 没有问题）" in out
    assert "        原因：连接一直开着：服务端从不调用 close()" in out
    assert "之后的下一个请求从未得到响应" in out and "        打开它：sockscope replay " in out
    assert "课程：sockscope lesson 12（recordings/LESSONS.md 第 12 行：" in out
    assert "  得分 " in out and "：未通过（" in out
    assert "发送了发到普通端口上的 TLS 握手：服务端响应了 200" in out  # the hostile client's words (kept open: timing)
    assert "sockscope：正在按作业 thread-server 评分 thread --as-taught" in zh.stderr
    en = sockscope(*args, "-o", str(tmp_path / "en.jsonl"), lang="en", cwd=tmp_path, timeout=180)
    assert en.returncode == 1, en.stderr
    assert "  FAIL  every connection closed by the server: " in en.stdout and "(want no findings)" in en.stdout
    assert "        why: connections are left open: the server never calls close()" in en.stdout
    assert not has_chinese(en.stdout + en.stderr)


def test_grade_crash_before_listening_is_said_in_chinese(tmp_path):
    """The child's notes are Chinese too ('sockscope：'): the one line still names the program's own error."""
    program = str(PROGRAMS / "grade" / "crashes.py")
    zh = sockscope("grade", program, "--homework", "thread-server", "-o", str(tmp_path / "c.jsonl"), lang="zh",
                   cwd=tmp_path, timeout=120)
    assert zh.returncode == 2, zh.stderr
    line = next(x for x in zh.stdout.splitlines() if "无法运行：" in x)
    assert "RuntimeError: forgot to bind" in line and "在监听之前就退出了" in line, zh.stdout
    assert "注意：每份提交都在单独的进程里运行" in zh.stdout


def test_grade_list_and_errors_in_chinese(capsys):
    assert cli.main(["--lang", "zh", "grade", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("作业（--homework NAME，或你自己的 .toml）：")
    assert "用线程池的 Web 服务端" in out and "通过条件：每个发送了请求的连接都收到了全部响应" in out
    assert cli.main(["--lang", "zh", "grade", "thread"]) == 2
    assert capsys.readouterr().err.startswith("错误：需要 --homework NAME|FILE；随附的作业有：")
    assert cli.main(["--lang", "zh", "grade", "thread", "--homework", "nope"]) == 2
    assert capsys.readouterr().err.startswith("错误：未知的作业 'nope'；")
    with pytest.raises(SystemExit):
        cli.main(["--lang", "zh", "grade", "--help"])
    assert "向它发出作业的各个场景" in flat(capsys.readouterr().out)


def test_shipped_homework_words_are_marked_word_for_word():
    """The shipped .toml titles are in the catalog through homework.SHIPPED_WORDS: a test holds the two equal."""
    from tracer.grade import homework

    words = set()
    for name in homework.shipped_names():
        h = homework.load(name)
        words |= {h.title, h.about}
    assert words == set(homework.SHIPPED_WORDS)


def test_grade_table_aligns_in_cells():
    """Several submissions: the summary table's columns line up in Chinese (a Chinese word is two cells)."""
    from tracer import locale
    from tracer.grade import report
    from tracer.grade.homework import load
    from tracer.grade.session import Grade, Target
    from tracer.locale.cells import cell_len

    locale.set_language("zh")
    work = load("thread-server")
    grades = [Grade(Target("a.py", program="a.py"), work, None, status="could not run", why="x"),
              Grade(Target("longer_name.py", program="longer_name.py"), work, "p.jsonl")]
    lines = report.table(grades).splitlines()
    assert lines[0].startswith("文件")
    starts = {cell_len(line[: line.index(word)]) for line, word in zip(lines, ("结果", "出错", "通过"), strict=True)}
    assert len(starts) == 1, lines


def test_replay_help_and_export_range_errors_in_chinese(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--lang", "zh", "replay", "--help"])
    out = flat(capsys.readouterr().out)
    assert flat("打开时把播放头放在 TIME") in out and flat("打开时选中连接 N 在 --at 处的事件") in out
    path = small_recording(tmp_path)
    assert cli.main(["--lang", "zh", "export", path, "--format", "csv", "-o", "-", "--lanes", "nope"]) == 2
    assert capsys.readouterr().err.startswith("错误：没有泳道匹配 'nope'；泳道有 ")
    assert cli.main(["--lang", "zh", "export", path, "--format", "csv", "-o", "-", "--from", "5ms", "--to", "2ms"]) == 2
    assert capsys.readouterr().err == "错误：--to（2 ms）必须在 --from（5 ms）之后\n"


def test_a_teachers_homework_errors_in_chinese(tmp_path, capsys):
    bad = tmp_path / "hw.toml"
    bad.write_text('[[run]]\nscenario = "burst"\n\n[[require]]\ntype = "latency"\nrun = "burst"\nunder = "fast"\n',
                   encoding="utf-8")
    assert cli.main(["--lang", "zh", "grade", "thread", "--homework", str(bad)]) == 2
    assert capsys.readouterr().err == (f"错误：{bad}: [[require]] 1 (latency): under："
                                       "应当是 '500ms' 或 '2s' 这样的时间，得到的是 'fast'\n")
    assert cli.main(["--lang", "en", "grade", "thread", "--homework", str(bad)]) == 2
    assert capsys.readouterr().err == (f"error: {bad}: [[require]] 1 (latency): under: expected a time such as '500ms' "
                                       "or '2s', got 'fast'\n")


def test_recorder_errors_in_chinese(tmp_path):
    """The recorder's own refusals: an append to a recording that is not there."""
    from tracer import locale
    from tracer.errors import TracerError
    from tracer.record import recorder

    locale.set_language("zh")
    missing = str(tmp_path / "gone.jsonl")
    with pytest.raises(TracerError) as raised:
        recorder.open_for_writing(missing, truncate=False)
    assert str(raised.value) == f"无法追加到录制文件 {missing}：没有这个文件"
    locale.set_language("en")
    with pytest.raises(TracerError) as raised:
        recorder.open_for_writing(missing, truncate=False)
    assert str(raised.value) == f"cannot append to recording {missing}: no such file"


@pytest.mark.parametrize(("reason", "zh"), [
    ("answered 200 and kept open", "响应了 200 并且让连接一直开着"), ("answered 200", "响应了 200"),
    ("no answer and kept open", "没有响应，并且让连接一直开着"), ("closed by server", "closed by server"),
])
def test_a_hostile_clients_verdict_in_words(reason, zh):
    from tracer import locale
    from tracer.grade.requirements import _reason_words

    assert _reason_words(reason) == reason  # English: the verdict as the client wrote it
    locale.set_language("zh")
    assert _reason_words(reason) == zh


@pytest.mark.parametrize("how", ["--lang", "SOCKSCOPE_LANG"])
def test_the_client_process_help_in_chinese(how: str, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (newcomer's check): `python -m tracer.clients --help` was English only."""
    from tracer.clients import program

    argv = ["--help"]
    if how == "--lang":
        argv += ["--lang", "zh"]
    else:
        monkeypatch.setenv("SOCKSCOPE_LANG", "zh")
    with pytest.raises(SystemExit) as done:
        program.main(argv)
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：python -m tracer.clients")
    assert "向服务端发起一个场景的客户端" in out and "一个场景参数" in out and "显示这条帮助信息并退出" in out
    assert "Fire one scenario" not in out and "a scenario parameter" not in out


@pytest.mark.parametrize(("lang", "start"), [("zh", "错误：缺少必需的参数"), ("en", "error: the following arguments")])
def test_the_client_process_bad_command_line_is_one_translated_line(lang: str, start: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (newcomer's check): `python -m tracer.clients --lang zh` with no address said argparse's own
    'python -m tracer.clients: error: ...' in English, after the usage block; now one line, as sockscope says it."""
    from tracer.clients import program

    with pytest.raises(SystemExit) as done:
        program.main(["--lang", lang])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(start), err
    assert err.count("\n") == 1 and "python -m tracer.clients --help" in err, err
    assert "usage" not in err and "用法" not in err


def test_help_headings_end_in_the_chinese_colon(capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (newcomer's check): argparse appends an ASCII ':' to each heading ('选项:', '服务端:')."""
    with pytest.raises(SystemExit):
        cli.main(["--lang", "zh", "demo", "--help"])
    lines = capsys.readouterr().out.splitlines()
    assert "选项：" in lines and "服务端：" in lines, lines
    assert not [line for line in lines if line.endswith(":") and not line.isascii()], lines
    with pytest.raises(SystemExit):
        cli.main(["--lang", "en", "demo", "--help"])
    assert "options:" in capsys.readouterr().out.splitlines()  # English as it was


def test_the_live_help_says_each_scenario_with_the_chinese_colon(chinese: None) -> None:
    from rich.console import Console

    from tracer.tui.live_app import live_help

    console = Console(width=100, record=True)
    console.print(live_help())
    text = console.export_text()
    assert "burst：" in text and "burst: " not in text, text


@pytest.mark.parametrize(("lang", "numbers", "rows"), [("zh", "1、2、3、4、5", "第 4、5、14、15 行"),
                                                       ("en", "1, 2, 3, 4, 5", "rows 4, 5, 14, 15")])
def test_lists_of_numbers_take_the_enumeration_comma_in_chinese(lang: str, numbers: str, rows: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (newcomer's check): lists of numbers and names were joined with ', ' in Chinese too
    ('现有课程为 1, 2, 3'); the separator is a translated string (tracer.locale.listed), 、 in Chinese."""
    assert cli.main(["--lang", lang, "lesson", "99"]) == 2
    assert numbers in capsys.readouterr().err
    assert cli.main(["--lang", lang, "scenarios", "burst"]) == 0
    assert rows in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "zh", "en"), [
    (["nosuchcommand"], "（可选：'serve'、'replay'、'export'", "(choose from 'serve', 'replay', 'export'"),
    (["serve", "nosuch"], "可选：single、thread、pool、selectors、asyncio",
     "choose one of single, thread, pool, selectors, asyncio"),
])
def test_lists_of_choices_join_as_the_language_does(capsys, argv, zh, en):
    """Regression (newcomer's check): argparse's own 'invalid choice' and our 'choose one of' joined the
    choices with ', ' under --lang zh too; Chinese lists them with '、' (tracer.locale.listed)."""
    for lang, want in (("zh", zh), ("en", en)):
        try:
            code = cli.main(["--lang", lang, *argv])
        except SystemExit as exc:  # (argparse's own errors exit)
            code = exc.code
        assert code == 2
        err = capsys.readouterr().err
        assert want in err and len(err.splitlines()) == 1, err
