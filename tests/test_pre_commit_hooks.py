"""The pre-commit hooks (.pre-commit-hooks.yaml), run as a user runs them: `pre-commit try-repo`.

try-repo installs the hook repository into a virtual environment of pre-commit's own, as a user's
`pre-commit install` would. Pointed at a working tree with uncommitted changes it builds a shadow
clone from the tracked files' changes and the staged ones (untracked files are left out), a new one
on each call, and so a new environment each time. So the hooks are tried from a snapshot of the
working tree committed once per module (untracked files too: a new hook file counts before it is
committed), and PRE_COMMIT_HOME is one temporary folder per module: the environment is built once.
Building it installs the package and its dependencies with pip: it needs PyPI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, ROOT
from required import require


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def committed(repo: Path) -> None:
    git("add", "-A", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "snapshot", cwd=repo)


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as it is, committed in a repository of its own."""
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        require("pre-commit is not installed", "the pre-commit hook tests", "pip install -e '.[test]'")
    snapshot = tmp_path_factory.mktemp("hooks-repo")
    files = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, snapshot / name)
    git("init", "-q", cwd=snapshot)
    committed(snapshot)
    return snapshot


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def account_repo(tmp_path: Path) -> Iterator[Path]:
    """A user's repository with the example account in account/, as the hooks expect by default."""
    repo = tmp_path / "licences"
    shutil.copytree(EXAMPLES / "acme", repo / "account")
    git("init", "-q", cwd=repo)
    committed(repo)
    yield repo


def try_repo(
    hook: str, repo: Path, hooks_repo: Path, home: Path, files: tuple[str, ...] = (), staged: bool = False
) -> subprocess.CompletedProcess[str]:
    """The hook run as pre-commit runs it: on every file, on `files` only, or with `staged` on what is
    staged, as on a commit of just those."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("RECONCILER_", "PYTHONPATH", "PRE_COMMIT", "VIRTUAL_ENV"))
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(hooks_repo),
            hook,
            *(("--files", *files) if files else () if staged else ("--all-files",)),
            "--color=never",
        ],
        cwd=repo,
        env={**env, "PRE_COMMIT_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_hook_ids_are_ours_and_the_manifest_is_valid() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {hook["id"]: hook for hook in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert list(hooks) == ["reconciler-validate", "reconciler-fmt"]
    # Both read the whole account (its files refer to each other): the folder, not the changed files.
    for hook in hooks.values():
        assert (hook["pass_filenames"], hook["args"]) == (False, ["account"]), hook["id"]
    assert hooks["reconciler-validate"]["always_run"] is True  # a commit that only deletes files too
    assert {hook["language"] for hook in hooks.values()} == {"python"}
    assert yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]["entry"] == "reconciler validate"


def test_validate_passes_a_valid_account_and_names_the_line_of_a_problem(
    account_repo: Path, hooks_repo: Path, pre_commit_home: Path
) -> None:
    good = try_repo("reconciler-validate", account_repo, hooks_repo, pre_commit_home)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "reconciler validate" in good.stdout and "Passed" in good.stdout
    contracts = account_repo / "account" / "contracts.yaml"
    contracts.write_text(contracts.read_text().replace("seats: 10", "seats: 0", 1), encoding="utf-8")
    git("add", "-A", cwd=account_repo)
    bad = try_repo("reconciler-validate", account_repo, hooks_repo, pre_commit_home)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert (
        "account/contracts.yaml:29:16: contracts[0].serials[0].seats: must be at least 1, not 0" in bad.stdout
    )


def test_validate_runs_on_a_commit_that_only_deletes_a_file(
    account_repo: Path, hooks_repo: Path, pre_commit_home: Path
) -> None:
    """pre-commit lists no deleted files: without always_run the hook would skip, and the commit go in."""
    git("rm", "-q", "account/contracts.yaml", cwd=account_repo)
    checked = try_repo("reconciler-validate", account_repo, hooks_repo, pre_commit_home, staged=True)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "Skipped" not in checked.stdout and "no contract declares the serial" in checked.stdout


def test_fmt_rewrites_a_file_and_the_hook_fails_until_it_is_added(
    account_repo: Path, hooks_repo: Path, pre_commit_home: Path
) -> None:
    users = account_repo / "account" / "users.yaml"
    users.write_text(users.read_text().replace("last_name: Moreau", "last_name: Moreau   "), encoding="utf-8")
    git("add", "-A", cwd=account_repo)
    # A commit of users.yaml alone: its grants name serials that contracts.yaml declares, so fmt must
    # still read the whole account.
    first = try_repo("reconciler-fmt", account_repo, hooks_repo, pre_commit_home, ("account/users.yaml",))
    assert first.returncode == 1 and "files were modified by this hook" in first.stdout, first.stdout
    assert "last_name: Moreau   " not in users.read_text()
    git("add", "-A", cwd=account_repo)
    second = try_repo("reconciler-fmt", account_repo, hooks_repo, pre_commit_home, ("account/users.yaml",))
    assert second.returncode == 0, second.stdout + second.stderr
    users.write_text("version: 1\nusers: [\n", encoding="utf-8")
    git("add", "-A", cwd=account_repo)
    broken = try_repo("reconciler-fmt", account_repo, hooks_repo, pre_commit_home)
    assert broken.returncode == 1 and "account/users.yaml:" in broken.stdout, broken.stdout
