"""`reconciler validate` as a user runs it: exit codes, output, JSON, help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACCOUNT, EXAMPLES, ROOT, WriteYaml

from reconciler.cli import cli

INVALID = Path(__file__).parent / "data" / "invalid"


def expected_line(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode()
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: '"
    return first.removeprefix("# expect: ")


def test_the_example_account_is_valid(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", str(EXAMPLES / "acme")])
    assert result.exit_code == 0, result.output
    assert result.output == "Valid: 2 contracts, 6 serials, 13 users, 1 team, 18 access grants.\n"


def test_a_file_named_twice_is_read_once(runner: CliRunner, tmp_path: Path) -> None:
    """`acme acme/users.yaml`, `acme ./acme` or a link to a file: one file, not a user declared twice."""
    acme = EXAMPLES / "acme"
    (tmp_path / "users.yaml").symlink_to(acme / "users.yaml")
    for paths in ([acme, acme / "users.yaml"], [acme, Path(f"{acme}/./")], [acme, tmp_path / "users.yaml"]):
        result = runner.invoke(cli, ["validate", *map(str, paths)])
        assert (result.exit_code, result.output) == (0, runner.invoke(cli, ["validate", str(acme)]).output), (
            paths
        )


def test_one_of_each_is_counted_in_the_singular(runner: CliRunner, write_yaml: WriteYaml) -> None:
    path = write_yaml(
        """\
        version: 1
        contracts:
          - number: "110001234567"
            manager: alice@acme.example
            serials: [{number: "399-12345678", product: AutoCAD, seats: 1}]
        users:
          - email: alice@acme.example
            first_name: Alice
            last_name: Moreau
            access: [{serial: "399-12345678"}]
        """
    )
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.output == "Valid: 1 contract, 1 serial, 1 user, 1 access grant.\n"


@pytest.mark.parametrize("path", sorted(INVALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_bad_example_fails_with_its_error_located(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    result = CliRunner().invoke(cli, ["validate", path.name])
    assert result.exit_code == 1
    assert result.stdout == expected_line(path) + "\n"
    assert result.stderr == "Invalid: 1 error in 1 file.\n"
    assert "Traceback" not in result.output


def test_json_lists_the_same_errors(runner: CliRunner, write_yaml: WriteYaml) -> None:
    path = write_yaml(ACCOUNT.replace("seats: 2", "seats: 0").replace("version: 1", "version: 9"))
    result = runner.invoke(cli, ["validate", "--format", "json", str(path)])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "file": str(path),
            "line": 1,
            "column": 10,
            "path": "version",
            "message": "unsupported version 9; this reconciler reads version 1",
            "severity": "error",
        },
        {
            "file": str(path),
            "line": 12,
            "column": 16,
            "path": "contracts[0].serials[0].seats",
            "message": "must be at least 1, not 0",
            "severity": "error",
        },
    ]


def test_json_of_a_valid_account_is_an_empty_list(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", "--format", "json", str(EXAMPLES / "acme")])
    assert (result.exit_code, result.stdout) == (0, "[]\n")


def test_errors_from_several_files_are_sorted_by_file_and_line(
    runner: CliRunner, write_yaml: WriteYaml
) -> None:
    write_yaml("version: 1\nusers:\n  - {email: x@acme.example}\n", "b.yaml")
    write_yaml("version: 7\n", "a.yaml")
    folder = write_yaml("version: 1\ncontracts: {}\n", "c.yaml").parent
    result = runner.invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split(":")[0].rsplit("/", 1)[-1] for line in lines] == [
        "a.yaml",
        "b.yaml",
        "c.yaml",
    ]
    assert result.stderr == "Invalid: 3 errors in 3 files.\n"


def test_usage_errors_exit_1(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert "Missing argument 'PATH...'" in result.stderr
    assert runner.invoke(cli, ["validate", "--format", "xml", "x.yaml"]).exit_code == 1
    assert runner.invoke(cli, ["no-such-command"]).exit_code == 1


def test_help_has_an_example(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", "--help"])
    assert result.exit_code == 0
    assert "reconciler validate examples/acme" in result.output
    top = runner.invoke(cli, ["--help"])
    assert "Exit codes: 0 success, 1 error (usage errors included)" in top.output


def test_the_console_script_runs_as_a_subprocess(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nusers:\n  - email: nobody\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    good = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(EXAMPLES / "acme")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (good.returncode, good.stdout) == (
        0,
        "Valid: 2 contracts, 6 serials, 13 users, 1 team, 18 access grants.\n",
    )
    failed = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert failed.returncode == 1
    assert failed.stdout == (
        f"{bad}:3:5: users[0].first_name: the user 'nobody' has no first_name and no last_name; give both\n"
        f"{bad}:3:12: users[0].email: 'nobody' is not a valid e-mail address: an email address must have an @-sign\n"
    )
    assert failed.stderr == "Invalid: 2 errors in 1 file.\n"


def test_a_file_over_the_size_limit_is_refused_unread(
    write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_MAX_FILE_MIB", "0.001")  # 1,048 bytes
    path = write_yaml("version: 1\n" + "# padding\n" * 200)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stdout == (
        f"{path}: the file is 2,011 bytes, more than the 1,048 bytes a file may be; split it into several "
        "files in a folder, or raise RECONCILER_MAX_FILE_MIB\n"
    )


def test_an_overlong_value_is_refused(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "version: 1\nusers:\n  - email: a@b.example\n    first_name: " + "x" * 10_001 + "\n    last_name: Y\n"
    )
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:4:17: a value of 10,001 characters; at most 10,000 are allowed\n" in result.output


def test_a_key_that_reorders_text_is_shown_scrubbed(runner: CliRunner, write_yaml: WriteYaml) -> None:
    # A key is not text the schema checks: it is an unknown field, named in the message and the path.
    path = write_yaml(
        'version: 1\nusers:\n  - {email: a@b.example, first_name: A, last_name: B, "na\u202eme": 1}\n'
    )
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stdout == (
        f"{path}:3:55: users[0].na\ufffdme: unknown field 'na\ufffdme'; expected one of: access, email, "
        "expires, first_name, id, last_name, protect\n"
    )


TEAMED = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    serials:
      - {number: "399-12345678", product: AutoCAD, seats: 2}
      - {number: "399-12345679", product: Revit, seats: 5}
users:
  - {email: alice@acme.example, first_name: Alice, last_name: Moreau, access: [{serial: "399-12345678"}]}
  - {email: bob@acme.example, first_name: Bob, last_name: Okafor}
teams:
  - name: Design Studio
    description: Architects in Oslo
    members: [Alice@acme.example, bob@acme.example]
    access:
      - {serial: "399-12345678", download: true}
      - {serial: "399-12345679"}
"""


def test_an_account_with_teams_is_valid(runner: CliRunner, write_yaml: WriteYaml) -> None:
    result = runner.invoke(cli, ["validate", str(write_yaml(TEAMED))])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Valid: 1 contract, 2 serials, 2 users, ")


def test_every_team_problem_is_reported_at_once(runner: CliRunner, write_yaml: WriteYaml) -> None:
    path = write_yaml(
        TEAMED
        + """\
  - name: design studio
    members: [carol@acme.example, bob@acme.example, BOB@acme.example]
    access:
      - {serial: "399-12345678"}
      - {serial: "399-00000000"}
      - {serial: "399-12345678"}
"""
    )
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    # Four grants of 399-12345678 but two users, Alice and Bob: its 2 seats are not over-filled (R8).
    assert result.stdout == (
        f"{path}:18:11: teams[1].name: the team 'design studio' is declared twice (team names ignore case); "
        f"first at {path}:12:11\n"
        f"{path}:19:15: teams[1].members[0]: the team member 'carol@acme.example' is not a declared user; "
        "add them under `users`\n"
        f"{path}:19:53: teams[1].members[2]: 'bob@acme.example' is listed twice as a member of this team\n"
        f"{path}:22:18: teams[1].access[1].serial: no contract declares the serial '399-00000000'\n"
        f"{path}:23:18: teams[1].access[2].serial: access to the serial '399-12345678' is listed twice for "
        "this team\n"
    )
    assert result.stderr == "Invalid: 5 errors in 1 file.\n"
