"""`reconciler policy check`: every policy rule over every record of an account, each verdict on its
file, line and column, and the exit code a plan touching them would have (3 for a deny)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES

from reconciler.cli import cli

pytest.importorskip("cel_expr_python")

DENY_BOB = """\
  - id: no-download-for-bob
    applies_to: grant
    when: 'user.email.startsWith("bob.") && grant.download'
    effect: deny
    message: bob gets no download rights
"""
WARN_SMALL = """\
  - id: small-serials
    applies_to: serial
    when: 'serial.seats < 5'
    effect: warn
    message: a serial this small costs more per seat
"""
RENEW_SOON = """\
  - id: renew-soon
    applies_to: serial
    when: 'contract.days_left < 30'
    effect: warn
"""


@pytest.fixture
def account(tmp_path: Path) -> Path:
    """A copy of examples/acme, to add a policies.yaml to."""
    folder = tmp_path / "acme"
    shutil.copytree(EXAMPLES / "acme", folder)
    return folder


def with_rules(account: Path, *rules: str) -> Path:
    (account / "policies.yaml").write_text("version: 1\npolicies:\n" + "".join(rules), encoding="utf-8")
    return account


def check(runner: CliRunner, account: Path, *args: str) -> Result:
    return runner.invoke(cli, ["policy", "check", str(account), "--today", "2027-03-10", *args])


def line_of(path: Path, text: str, after: str = "") -> tuple[int, int]:
    """The line (1-based) and column of the first `text` after the first `after` in `path`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    found = next(i for i in range(start, len(lines)) if text in lines[i])
    return found + 1, lines[found].index(text) + 1


def test_a_deny_is_placed_on_the_users_access_entry_and_exits_3(runner: CliRunner, account: Path) -> None:
    result = check(runner, with_rules(account, DENY_BOB))
    assert result.exit_code == 3, result.output
    users = account / "users.yaml"
    line, column = line_of(users, 'serial: "399-12345678"', after="bob.okafor@acme.example")
    expected = (
        f"{users}:{line}:{column}: deny no-download-for-bob: bob gets no download rights "
        "(access bob.okafor@acme.example on 399-12345678)"
    )
    lines = result.stdout.splitlines()
    assert expected in lines
    assert lines[-1].startswith("1 rule over ")
    assert lines[-1].endswith(": 2 denied, 0 warnings, 0 could not be evaluated.")
    assert lines[:-1] == sorted(lines[:-1])


def test_warnings_alone_exit_0(runner: CliRunner, account: Path) -> None:
    result = check(runner, with_rules(account, WARN_SMALL))
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stdout.splitlines() if ": warn small-serials: " in line]
    assert warned and all(line.startswith(f"{account / 'contracts.yaml'}:") for line in warned)
    assert result.stdout.splitlines()[-1].endswith(
        f": 0 denied, {len(warned)} warnings, 0 could not be evaluated."
    )


def test_a_rule_that_cannot_be_evaluated_blocks_with_its_place_and_no_traceback(
    runner: CliRunner, account: Path
) -> None:
    result = check(runner, with_rules(account, RENEW_SOON))
    assert result.exit_code == 3, result.output
    contracts = account / "contracts.yaml"
    line, column = line_of(contracts, 'number: "562-20000001"')
    errors = [line for line in result.stdout.splitlines() if ": error renew-soon: " in line]
    assert errors[0].startswith(
        f"{contracts}:{line}:{column}: error renew-soon: contract.days_left has no value"
    )
    assert errors[0].endswith("(serial 562-20000001)")
    assert f", {len(errors)} could not be evaluated." in result.stdout
    assert "Traceback" not in result.output and "internal error" not in result.output


def test_github_format_is_an_error_per_deny_and_a_warning_per_warn(runner: CliRunner, account: Path) -> None:
    result = check(runner, with_rules(account, DENY_BOB, WARN_SMALL), "--format", "github")
    assert result.exit_code == 3, result.output
    lines = result.stdout.splitlines()
    line, column = line_of(account / "users.yaml", 'serial: "399-12345678"', after="bob.okafor@acme.example")
    assert (
        f"::error file={account / 'users.yaml'},line={line},col={column},title=policy no-download-for-bob"
        "::bob gets no download rights (access bob.okafor@acme.example on 399-12345678)"
    ) in lines
    assert all(line.startswith(("::error file=", "::warning file=")) for line in lines)
    assert any(line.startswith("::warning ") and "title=policy small-serials::" in line for line in lines)
    assert "2 denied" in result.stderr


def test_json_has_the_counts_and_every_verdict(runner: CliRunner, account: Path) -> None:
    result = check(runner, with_rules(account, DENY_BOB, WARN_SMALL, RENEW_SOON), "--format", "json")
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    verdicts = report["verdicts"]
    assert report["rules"] == 3 and report["records"] > 0
    assert report["denied"] == sum(v["effect"] == "deny" for v in verdicts) == 2
    assert report["warnings"] == sum(v["effect"] == "warn" for v in verdicts) > 0
    assert report["errors"] == sum(v["effect"] == "error" for v in verdicts) > 0
    assert all(v["file"] and v["line"] and v["column"] for v in verdicts)


def test_markdown_makes_what_users_wrote_inert(runner: CliRunner, account: Path) -> None:
    rule = DENY_BOB.replace("bob gets no download rights", "'**no** <b>download</b>'")
    result = check(runner, with_rules(account, rule), "--format", "markdown")
    assert result.exit_code == 3, result.output
    assert result.stdout.startswith("**Policy check**: 1 rule over ")
    assert "\\*\\*no\\*\\* &lt;b&gt;download&lt;/b&gt;" in result.stdout


def test_files_without_rules_exit_0(runner: CliRunner, account: Path) -> None:
    result = check(runner, account)
    assert (result.exit_code, result.stdout) == (
        0,
        "No policy rules over records in these files (rules over the plan are judged by `plan`).\n",
    )


def test_an_expression_that_does_not_compile_is_placed_and_exits_1(runner: CliRunner, account: Path) -> None:
    result = check(runner, with_rules(account, DENY_BOB.replace("grant.download", "grant.nope")))
    assert result.exit_code == 1
    policies = account / "policies.yaml"
    line, column = line_of(policies, "grant.nope")
    said = re.search(
        rf"^{re.escape(str(policies))}:{line}:(\d+): policies\[0\]\.when: (.*)$", result.stderr, re.M
    )
    assert said is not None, result.stderr
    assert column <= int(said[1]) < column + len("grant.nope")  # CEL points at the name, or its dot
    assert said[2].startswith("policy no-download-for-bob: unknown variable 'grant.nope'")
    assert result.stdout == "" and "Traceback" not in result.output


def test_the_help_has_examples(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["policy", "check", "--help"])
    assert result.exit_code == 0
    assert "reconciler policy check examples/acme" in result.output
