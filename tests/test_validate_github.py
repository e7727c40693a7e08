"""`validate --format github`: one GitHub Actions annotation per problem, on the file as the repository
names it, escaped as GitHub reads workflow commands; nothing at all when the account is valid."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACCOUNT

from reconciler.cli import cli
from reconciler.core.diagnostics import Diagnostic
from reconciler.loading import repository_paths
from reconciler.report.github import annotation_lines

BROKEN = ACCOUNT.replace("seats: 2", "seats: two").replace(
    "carol@acme.example\n    first_name: Carol", "carol@acme\n    first_name: Carol"
)


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git work tree in tmp_path; the test runs from outside it, with no GITHUB_WORKSPACE."""
    top = tmp_path / "repo"
    top.mkdir()
    subprocess.run(["git", "init", "--quiet", str(top)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    return top


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_broken_account_is_one_annotation_a_problem_on_the_file_from_the_repositorys_root(
    runner: CliRunner, repository: Path
) -> None:
    account = write(repository / "accounts" / "acme" / "account.yaml", BROKEN)
    result = runner.invoke(cli, ["validate", str(account.parent), "--format", "github"])
    assert result.exit_code == 1
    assert result.stdout == (
        "::error file=accounts/acme/account.yaml,line=12,col=16,title=reconciler validate::"
        "contracts[0].serials[0].seats: expected a whole number, got the text 'two'\n"
        "::error file=accounts/acme/account.yaml,line=28,col=12,title=reconciler validate::"
        "users[2].email: 'carol@acme' is not a valid e-mail address: "
        "the part after the @-sign is not valid. It should have a period\n"
    )
    assert result.stderr == "Invalid: 2 errors in 1 file.\n"


def test_a_valid_account_prints_nothing_and_exits_0(runner: CliRunner, repository: Path) -> None:
    account = write(repository / "account.yaml", ACCOUNT)
    result = runner.invoke(cli, ["validate", str(account), "--format", "github"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_a_file_name_and_a_message_are_escaped_as_github_reads_them(
    runner: CliRunner, repository: Path
) -> None:
    account = write(repository / "acme, inc: 100%" / "users.yaml", "version: 1\nusers: {}\n")
    result = runner.invoke(cli, ["validate", str(account), "--format", "github"])
    assert result.exit_code == 1
    assert result.stdout == (
        "::error file=acme%2C inc%3A 100%25/users.yaml,line=2,col=8,title=reconciler validate::"
        "users: expected a list, got a mapping\n"
    )
    problem = Diagnostic("a.yaml", 3, 0, "users[0]", "100% wrong: see\r\nthe line, then \u202efix it")
    assert list(annotation_lines([problem], {"a.yaml": "x:y,z.yaml"})) == [
        "::error file=x%3Ay%2Cz.yaml,line=3,title=reconciler validate::"
        "users[0]: 100%25 wrong: see%0D%0Athe line, then \ufffdfix it"
    ]
    unplaced = Diagnostic("b.yaml", 0, 0, "", "cannot read: Permission denied")
    assert list(annotation_lines([unplaced], {})) == [
        "::error file=b.yaml,title=reconciler validate::cannot read: Permission denied"
    ]


def test_without_git_the_file_is_named_from_github_workspace_then_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "workspace"
    inside = write(workspace / "team" / "account.yaml", ACCOUNT)
    elsewhere = write(tmp_path / "here" / "sub" / "account.yaml", ACCOUNT)
    outside = write(tmp_path / "outside.yaml", ACCOUNT)
    monkeypatch.chdir(tmp_path / "here")
    found = repository_paths(
        [str(inside), "./sub/account.yaml", str(elsewhere), str(outside)],
        {"GITHUB_WORKSPACE": str(workspace)},
    )
    assert found == {
        str(inside): "team/account.yaml",
        "./sub/account.yaml": "sub/account.yaml",
        str(elsewhere): "sub/account.yaml",
        str(outside): str(outside),
    }


def test_git_top_level_wins_over_github_workspace(repository: Path) -> None:
    account = write(repository / "deep" / "er" / "account.yaml", ACCOUNT)
    found = repository_paths([str(account)], {"GITHUB_WORKSPACE": str(repository.parent)})
    assert found == {str(account): "deep/er/account.yaml"}
