"""Homework files: the shipped ones load, and every kind of mistake in one is one line naming what is wrong."""

from __future__ import annotations

import pytest

from tracer.cli import main
from tracer.errors import UsageError
from tracer.grade import homework
from tracer.grade.requirements import TYPES

GOOD = """
[homework]
title = "mine"

[[run]]
scenario = "burst"
clients = 5

[[run]]
name = "second"
scenario = "burst"
clients = 7

[[require]]
type = "latency"
run = "second"
under = "250ms"
"""


def write(tmp_path, text: str) -> str:
    path = tmp_path / "hw.toml"
    path.write_text(text)
    return str(path)


def test_the_shipped_homeworks_load_with_their_runs_and_requirements():
    assert homework.shipped_names() == ["multiplexed-server", "pool-server", "thread-server"]
    pool = homework.load("pool-server")
    assert [r.scenario for r in pool.runs] == ["burst", "churn", "keepalive", "slowloris", "hostile"]
    assert {r.type for r in pool.requirements} == {"answered", "closed", "max-threads", "reuse", "latency",
                                                   "slow-client", "hostile"}
    assert pool.run("burst").params["clients"] == 30 and pool.run("burst").params["timeout"] == 3.0
    used = {r.type for name in homework.shipped_names() for r in homework.load(name).requirements}
    assert used == set(TYPES), "every requirement type is used by a shipped homework"


def test_a_teachers_file_types_its_bounds_and_names_its_runs(tmp_path):
    hw = homework.load(write(tmp_path, GOOD))
    assert hw.title == "mine" and [r.name for r in hw.runs] == ["burst", "second"]
    (req,) = hw.requirements
    assert req.params == {"run": "second", "under": 250_000_000, "percentile": 99.0}
    assert req.title == "p99 latency under 250 ms in second" and req.required and req.points == 1
    assert hw.run("second").overrides()["clients"] == "7"


@pytest.mark.parametrize("change, message", [
    (("type = \"latency\"", "type = \"fast\""),
     "[[require]] 1: unknown requirement type 'fast'; choose one of answered, closed, max-threads"),
    (("scenario = \"burst\"\nclients = 5", "scenario = \"storm\""),
     "[[run]] 1: unknown scenario 'storm'; choose one of burst, ramp, keepalive, churn, slowloris, idle, hostile"),
    (("scenario = \"burst\"\nclients = 5", "scenario = \"backlog\""),
     "scenario 'backlog' sets the server's own --backlog, --pause-accept-ms, which a submission does not take"),
    (("clients = 5", "clients = \"five\""), "[[run]] 1 (burst): clients: expected a number, got 'five'"),
    (("clients = 5", "clients = 5000"), "[[run]] 1: clients: expected a whole number from 1 to 1000, got '5000'"),
    (("clients = 5", "flavour = 1"), "[[run]] 1: scenario burst has no parameter 'flavour'; it has: clients"),
    (("under = \"250ms\"", "under = true"), "[[require]] 1 (latency): under: expected a time such as '500ms' or "
                                            "'2s', got True"),
    (("under = \"250ms\"", "under = \"soon\""), "under: expected a time such as '500ms' or '2s', got 'soon'"),
    (("under = \"250ms\"", ""), "[[require]] 1 (latency): expected under (the bound, e.g. '500ms')"),
    (("run = \"second\"", "run = \"third\""),
     "run: expected the name of a [[run]] (burst, second), got 'third'"),
    (("run = \"second\"", "run = \"second\"\nslack = 3"), "(latency): unknown key 'slack'; it takes: percentile"),
    (("type = \"latency\"\nrun = \"second\"\nunder = \"250ms\"", "type = \"max-threads\"\nthreads = 2.5"),
     "[[require]] 1 (max-threads): threads: expected a whole number >= 0, got 2.5"),
    (("type = \"latency\"\nrun = \"second\"\nunder = \"250ms\"", "type = \"idle-threads\"\nrun = \"burst\""),
     "[[require]] 1 (idle-threads): run: run 'burst' is a burst run; this needs a idle run"),
    (("name = \"second\"", "name = \"burst\""), "[[run]] 2: a second run called 'burst'"),
    (("[homework]", "[homework]\ntime_limit = \"long\""), "time_limit: expected seconds from 1 to 3600, got 'long'"),
    (("[homework]", "[grading]"), "unknown table 'grading'; a homework has [homework], [[run]] and [[require]]"),
    (("under = \"250ms\"", "under = \"250ms\"\nrequired = \"yes\""), "required: expected true or false, got 'yes'"),
    (("clients = 5", "clients = 5 5"), "not valid TOML"),
])
def test_a_mistake_in_a_homework_file_is_one_line_saying_what_is_wrong(tmp_path, change, message):
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(UsageError) as err:
        homework.load(path)
    assert message in str(err.value)
    assert str(err.value).startswith(path) and "\n" not in str(err.value)


def test_no_runs_or_no_requirements_lists_what_there_is(tmp_path):
    with pytest.raises(UsageError, match=r"at least one \[\[run\]\] table; the scenarios are: burst"):
        homework.load(write(tmp_path, "[homework]\n"))
    with pytest.raises(UsageError, match=r"at least one \[\[require\]\] table; the types are: answered, closed"):
        homework.load(write(tmp_path, "[[run]]\nscenario = \"burst\"\n"))


@pytest.mark.parametrize("argv, message", [
    (["grade", "pool", "--homework", "no-such-homework"],
     "unknown homework 'no-such-homework'; give a .toml file or one of: multiplexed-server, pool-server, "
     "thread-server"),
    (["grade", "pool", "--homework", "missing/hw.toml"], "--homework missing/hw.toml: no such file"),
    (["grade", "pool"], "expected --homework NAME|FILE; the shipped ones are: multiplexed-server"),
    (["grade", "--homework", "pool-server"], "expected a SUBMISSION to grade"),
    (["grade", "selectors", "--as-taught", "--homework", "pool-server"], "the lesson has no selectors server"),
    (["grade", "pool", "--homework", "pool-server", "-o", "pyproject.toml"], "it holds something else"),
])
def test_cli_bad_input_is_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1


def test_list_names_the_homeworks_the_types_and_the_scenarios(capsys):
    assert main(["grade", "--list"]) == 0
    out = capsys.readouterr().out
    for name in [*homework.shipped_names(), *TYPES]:
        assert f"  {name} " in out
    assert "hostile" in out.splitlines()[-1] and "backlog" not in out.splitlines()[-1]


def test_the_readme_documents_every_requirement_type_and_homework():
    from pathlib import Path

    text = (Path(__file__).parent.parent / "README.md").read_text()
    section = text[text.index("## Grading homework"):text.index("## How it fits together")]
    for name in TYPES:
        assert f"| `{name}` |" in section, name
    for name in homework.shipped_names():
        assert f"| `{name}` |" in section, name
