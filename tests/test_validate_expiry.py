"""`validate --today`: an `expires` date already past is a warning, placed as an error is, in every
format; validate exits 0 when there are only warnings. A date after the contract's end and an
expiring Contract Manager or coordinator stay errors. The fast path finds the same warnings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, WriteYaml

from reconciler.cli import cli
from reconciler.core.diagnostics import Diagnostic, Severity
from reconciler.loading import Source, fast, load_sources
from reconciler.report.escaping import inert
from reconciler.report.github import annotation_lines

ACCOUNT = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    ends: 2027-12-31
    coordinators:
      - email: bob@acme.example
    serials:
      - number: "399-12345678"
        product: AutoCAD
        seats: 10
users:
  - email: alice@acme.example
    first_name: Alice
    last_name: Moreau
  - email: bob@acme.example
    first_name: Bob
    last_name: Okafor
  - email: carol@acme.example
    first_name: Carol
    last_name: Smith
    access:
      - serial: "399-12345678"
        expires: 2027-01-15
  - email: dan@acme.example
    first_name: Dan
    last_name: Diaz
    expires: "2027-02-01"
teams:
  - name: Temps
    members:
      - {email: eve@acme.example, expires: 2027-03-01}
      - dan@acme.example
    access:
      - serial: "399-12345678"
  - name: Site
    members: [eve@acme.example]
"""
EVE = """\
  - email: eve@acme.example
    first_name: Eve
    last_name: Evans
"""
#: Eve declared last among the users, before the teams.
VALID = ACCOUNT.replace("teams:\n", EVE + "teams:\n", 1)

#: Where each date stands in VALID: (line, column) of its value, and the path.
CAROL_ACCESS = (24, 18, "users[2].access[0].expires")
DAN = (28, 14, "users[3].expires")
EVE_IN_TEMPS = (35, 44, "teams[0].members[0].expires")
THEN = "once applied, `reconciler fmt --drop-expired` takes it out of the file"


def validate(runner: CliRunner, path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, ["validate", str(path), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def warning_line(path: Path, where: tuple[int, int, str], message: str) -> str:
    line, column, field = where
    return f"{path}:{line}:{column}: warning: {field}: {message}"


def test_a_date_already_past_is_a_warning_at_its_place_and_validate_exits_0(
    runner: CliRunner, write_yaml: WriteYaml
) -> None:
    path = write_yaml(VALID)
    code, out, err = validate(runner, path, "--today", "2027-03-02")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        warning_line(
            path,
            CAROL_ACCESS,
            f"the access to serial '399-12345678' expired 2027-01-15 (today is 2027-03-02): the plan "
            f"revokes it; {THEN}",
        ),
        warning_line(
            path,
            DAN,
            "the user 'dan@acme.example' expired 2027-02-01 (today is 2027-03-02): the plan removes them "
            f"with their access; {THEN}",
        ),
        warning_line(
            path,
            EVE_IN_TEMPS,
            "the membership of 'eve@acme.example' in team 'Temps' expired 2027-03-01 (today is 2027-03-02): "
            f"the plan takes them out of the team; {THEN}",
        ),
        "Valid: 1 contract, 1 serial, 5 users, 2 teams, 3 access grants; 3 warnings.",
    ]


@pytest.mark.parametrize(
    ("today", "warned"),
    [
        ("2027-01-15", []),  # Carol's last day: not past yet
        ("2027-01-16", [CAROL_ACCESS[2]]),
        ("2027-02-02", [CAROL_ACCESS[2], DAN[2]]),
        ("2027-03-01", [CAROL_ACCESS[2], DAN[2]]),
    ],
)
def test_a_date_warns_from_the_day_after_it(
    runner: CliRunner, write_yaml: WriteYaml, today: str, warned: list[str]
) -> None:
    code, out, _ = validate(runner, write_yaml(VALID), "--today", today, "--format", "json")
    assert code == 0
    found = json.loads(out)
    assert [problem["path"] for problem in found] == warned
    assert {problem["severity"] for problem in found} <= {"warning"}


def test_without_today_dates_are_judged_on_todays_date_in_utc(
    runner: CliRunner, write_yaml: WriteYaml
) -> None:
    long_ago = VALID.replace("2027-01-15", "2001-01-15")
    code, out, _ = validate(runner, write_yaml(long_ago))
    assert code == 0
    assert f"{CAROL_ACCESS[2]}: the access to serial '399-12345678' expired 2001-01-15" in out
    assert out.endswith("; 1 warning.\n")


def test_the_example_account_has_dates_and_no_warning(runner: CliRunner) -> None:
    text = "".join(path.read_text(encoding="utf-8") for path in sorted((EXAMPLES / "acme").glob("*.yaml")))
    assert text.count("expires:") >= 2
    code, out, _ = validate(runner, EXAMPLES / "acme", "--today", "2027-01-01")
    assert code == 0 and "warning" not in out


def test_json_lists_warnings_with_their_severity(runner: CliRunner, write_yaml: WriteYaml) -> None:
    path = write_yaml(VALID)
    code, out, _ = validate(runner, path, "--today", "2027-01-16", "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {
            "file": str(path),
            "line": CAROL_ACCESS[0],
            "column": CAROL_ACCESS[1],
            "path": CAROL_ACCESS[2],
            "message": f"the access to serial '399-12345678' expired 2027-01-15 (today is 2027-01-16): the plan "
            f"revokes it; {THEN}",
            "severity": "warning",
        }
    ]


def test_github_annotates_a_warning_as_a_warning(
    runner: CliRunner, write_yaml: WriteYaml, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    write_yaml(VALID, "acme/account.yaml")
    code, out, err = validate(runner, tmp_path / "acme", "--today", "2027-01-16", "--format", "github")
    assert (code, err) == (0, "Valid, with 1 warning.\n")
    line, column, field = CAROL_ACCESS
    assert out == (
        f"::warning file=acme/account.yaml,line={line},col={column},title=reconciler validate::{field}: "
        f"the access to serial '399-12345678' expired 2027-01-15 (today is 2027-01-16): the plan revokes it; "
        f"{THEN}\n"
    )
    # Nothing at all when nothing has expired, as before.
    assert validate(runner, tmp_path / "acme", "--today", "2027-01-15", "--format", "github") == (0, "", "")


def test_annotation_lines_say_each_problems_severity() -> None:
    error = Diagnostic("a.yaml", 3, 5, "users[0]", "bad")
    warning = Diagnostic("a.yaml", 4, 6, "users[0].expires", "past", Severity.WARNING)
    assert list(annotation_lines([error, warning], {})) == [
        "::error file=a.yaml,line=3,col=5,title=reconciler validate::users[0]: bad",
        "::warning file=a.yaml,line=4,col=6,title=reconciler validate::users[0].expires: past",
    ]


def test_markdown_lists_the_warnings_escaped_under_the_counts(
    runner: CliRunner, write_yaml: WriteYaml
) -> None:
    path = write_yaml(VALID)
    code, out, _ = validate(runner, path, "--today", "2027-01-16", "--format", "markdown")
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == ["Valid: 1 contract, 1 serial, 5 users, 2 teams, 3 access grants; 1 warning:", ""]
    [item] = lines[2:]
    assert item.startswith(
        f"- {inert(str(path))}:24:18: warning: users\\[2\\].access\\[0\\].expires: the access"
    )
    assert "\\`reconciler fmt --drop-expired\\`" in item


# --- the errors: they stay errors, and the warnings come with them ----------------------------------------


def test_an_access_that_outlasts_its_contract_is_an_error(runner: CliRunner, write_yaml: WriteYaml) -> None:
    path = write_yaml(VALID.replace("expires: 2027-01-15", "expires: 2028-01-15"))
    code, out, err = validate(runner, path, "--today", "2027-01-01")
    assert code == 1
    assert out == (
        f"{path}:24:18: users[2].access[0].expires: the access expires on 2028-01-15 but the contract of "
        "serial '399-12345678' ends on 2027-12-31; end it on 2027-12-31 or earlier\n"
    )
    assert err == "Invalid: 1 error in 1 file.\n"


@pytest.mark.parametrize(
    ("who", "line", "role"),
    [
        ("alice", 15, "the Contract Manager of contract '110001234567'"),
        ("bob", 18, "a coordinator on contract '110001234567'"),
    ],
)
def test_a_contract_manager_or_coordinator_who_expires_is_an_error(
    runner: CliRunner, write_yaml: WriteYaml, who: str, line: int, role: str
) -> None:
    name = {"alice": "Alice", "bob": "Bob"}[who]
    path = write_yaml(
        VALID.replace(f"first_name: {name}\n", f"first_name: {name}\n    expires: 2027-06-30\n")
    )
    code, out, err = validate(runner, path, "--today", "2027-01-01")
    assert code == 1
    assert out.startswith(
        f"{path}:{line}:14: users[{0 if who == 'alice' else 1}].expires: '{who}@acme.example' "
    )
    assert f"is {role} and cannot expire" in out
    assert err == "Invalid: 1 error in 1 file.\n"


def test_errors_and_warnings_come_together_in_file_order(runner: CliRunner, write_yaml: WriteYaml) -> None:
    path = write_yaml(VALID.replace("first_name: Alice\n", "first_name: Alice\n    expires: 2027-06-30\n"))
    code, out, err = validate(runner, path, "--today", "2027-01-16")
    assert code == 1
    lines = out.splitlines()
    assert [line.split(": ")[0:2] for line in lines] == [
        [f"{path}:15:14", "users[0].expires"],
        [f"{path}:25:18", "warning"],
    ]
    assert err == "Invalid: 1 error in 1 file; 1 warning.\n"
    code, out, _ = validate(runner, path, "--today", "2027-01-16", "--format", "json")
    assert [problem["severity"] for problem in json.loads(out)] == ["error", "warning"]
    code, out, _ = validate(runner, path, "--today", "2027-01-16", "--format", "markdown")
    assert "### reconciler: invalid: 1 error in 1 file; 1 warning" in out
    assert sum(line.startswith("- ") for line in out.splitlines()) == 2


def test_a_warning_in_a_valid_file_is_said_beside_another_files_errors(
    runner: CliRunner, write_yaml: WriteYaml
) -> None:
    folder = write_yaml(VALID, "account/a.yaml").parent
    write_yaml("version: 7\n", "account/b.yaml")
    code, out, err = validate(runner, folder, "--today", "2027-01-16")
    assert code == 1
    assert [line.rsplit("/", 1)[-1].split(": ")[:2] for line in out.splitlines()] == [
        ["a.yaml:24:18", "warning"],
        ["b.yaml:1:10", "version"],
    ]
    assert err == "Invalid: 1 error in 1 file; 1 warning.\n"


# --- the fast path -------------------------------------------------------------------------------------


@pytest.mark.skipif(not fast.INSTALLED, reason="the [fast] extra is not installed")
def test_the_fast_path_gives_the_same_warnings(
    runner: CliRunner, write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_yaml(VALID)
    assert fast.valid_document(Source(str(path), path.read_bytes())) is not None  # the fast path takes it
    said = {}
    for switch in ("0", "1", "check"):
        monkeypatch.setenv(fast.SWITCH, switch)
        said[switch] = [validate(runner, path, "--today", "2027-03-02", "--format", form) for form in FORMATS]
    assert said["1"] == said["0"] == said["check"]
    assert said["1"][0][1].count(": warning: ") == 3


FORMATS = ("text", "json", "markdown", "github")


@pytest.mark.skipif(not fast.INSTALLED, reason="the [fast] extra is not installed")
def test_the_loaded_warnings_are_the_same_whichever_path_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = [Source("account.yaml", VALID.encode())]
    loaded = {}
    for switch in ("0", "1"):
        monkeypatch.setenv(fast.SWITCH, switch)
        loaded[switch] = load_sources(sources, today="2027-03-02")
    assert loaded["0"].warnings == loaded["1"].warnings
    assert [w.severity for w in loaded["1"].warnings] == [Severity.WARNING] * 3
    assert loaded["1"].state == loaded["0"].state and loaded["1"].problems == ()
    assert load_sources(sources).warnings == ()  # no day, no warning: fmt, plan and the rest as before
