"""validate --format markdown: why a pull request has no plan, as a comment nobody can inject into."""

from __future__ import annotations

from click.testing import CliRunner
from conftest import WriteYaml

from reconciler.cli import cli
from reconciler.report.markdown import PLAN_MARKER, inert


def test_an_invalid_account_becomes_a_plan_comment_that_says_why(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "version: 1\n"
        "users:\n"
        "  - email: a@b.example\n"
        "    first_name: A\n"
        "    last_name: B\n"
        '    "`x` <img src=x onerror=alert(1)> @org/team [y](javascript:alert(1))": 1\n'
    )
    result = CliRunner().invoke(cli, ["validate", str(path), "--format", "markdown"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:2] == [PLAN_MARKER, "### reconciler: invalid: 1 error in 1 file"]
    [problem] = [line for line in lines if line.startswith("- ")]
    assert problem.startswith(f"- {inert(str(path))}:6:5: users\\[0\\]")
    assert "<img" not in result.stdout and "&lt;img" in problem
    assert "@\u200dorg/team" in problem
    assert "\\[y\\]" in problem and "[y](javascript" not in problem  # escaped: text, not a link
    assert "\\`x\\`" in problem


def test_a_valid_account_says_so(write_yaml: WriteYaml) -> None:
    result = CliRunner().invoke(cli, ["validate", str(write_yaml("version: 1\n")), "--format", "markdown"])
    assert (result.exit_code, result.stdout) == (
        0,
        "Valid: 0 contracts, 0 serials, 0 users, 0 access grants.\n",
    )
