"""A reseller's many accounts: reconciler.yaml, --account/--all/--changed, one report, apply per account.

Each test builds a real workspace in a git repository: account folders of
real YAML, a store per account (SQLite files, or PostgreSQL schemas of one
database), and runs the command line as a user does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import ACCOUNT, RESELLER, Backend
from mailserver import MailServer

from reconciler.cli import cli
from reconciler.commands.workspace import AccountJob, run_each
from reconciler.core.workspace import AccountEntry, AccountRun, AccountStatus
from reconciler.store import open_store

#: A second user for an account, to make a change.
DANA = """\
  - email: dana@acme.example
    first_name: Dana
    last_name: Lee
"""


def git(root: Path, *arguments: str) -> str:
    done = subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


class Workspace:
    """A workspace on disk: reconciler.yaml, a folder and a store per account, in a git repository whose
    `main` holds the accounts as applied."""

    def __init__(self, root: Path, backend: Backend, names: list[str], shared: tuple[str, ...] = ()) -> None:
        self.root, self.backend, self.names = root, backend, names
        self.stores = {name: backend.new_url() for name in names}
        self.shared = shared
        self.extra: dict[str, str] = {}
        for name in names:
            self.folder(name).mkdir(parents=True)
            (self.folder(name) / "account.yaml").write_text(ACCOUNT, encoding="utf-8")
            init = CliRunner().invoke(cli, ["init", "--reseller", RESELLER, "--store", self.stores[name]])
            assert init.exit_code == 0, init.output
        self.write()
        git(root, "init", "-q", "-b", "main")
        git(root, "config", "user.email", "ci@cadpartners.example")
        git(root, "config", "user.name", "CI")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "accounts")

    def folder(self, name: str) -> Path:
        return self.root / "accounts" / name

    def write(self) -> None:
        lines = ["version: 1", "accounts:"]
        for name in self.names:
            lines += [f"  - name: {name}", f"    path: accounts/{name}", f"    store: {self.stores[name]}"]
            lines += [f"    actor: {RESELLER}"]
            lines += [f"    {line}" for line in self.extra.get(name, "").splitlines()]
        if self.shared:
            lines.append(f"shared: [{', '.join(json.dumps(path) for path in self.shared)}]")
        (self.root / "reconciler.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def apply_all(self) -> None:
        """Bring every store to its folder, as `main` says."""
        for name in self.names:
            done = CliRunner().invoke(
                cli,
                [
                    "apply",
                    str(self.folder(name)),
                    "--store",
                    self.stores[name],
                    "--actor",
                    RESELLER,
                    "--auto-approve",
                ],
            )
            assert done.exit_code == 0, done.output

    def add_user(self, name: str) -> None:
        with (self.folder(name) / "account.yaml").open("a", encoding="utf-8") as file:
            file.write(DANA)

    def users(self, name: str) -> list[str]:
        return self.users_at(self.stores[name])

    @staticmethod
    def users_at(url: str) -> list[str]:
        return sorted(user.email for user in open_store(url).snapshot().state.users)


Run = Callable[..., Result]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    """`reconciler ARGS` in the workspace's folder, as a user types it there."""
    monkeypatch.chdir(tmp_path)

    def invoke(*arguments: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, list(arguments), env=env)

    return invoke


@pytest.fixture
def three(backend: Backend, tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path, backend, ["acme", "hanse", "nordwind"])
    workspace.apply_all()
    return workspace


def plans(result: Result) -> dict[str, dict[str, object]]:
    document = json.loads(result.stdout)
    assert document["format_version"] == 1
    return {account["name"]: account for account in document["accounts"]}


def test_changed_plans_exactly_the_accounts_a_branch_touched(run: Run, three: Workspace) -> None:
    git(three.root, "checkout", "-q", "-b", "work")
    three.add_user("hanse")
    git(three.root, "commit", "-qam", "dana joins hanse")
    (three.folder("nordwind") / "more.yaml").write_text("version: 1\n", encoding="utf-8")  # untracked
    result = run("plan", "--changed", "--base", "main", "--format", "json")
    assert result.exit_code == 0, result.output
    found = plans(result)
    assert list(found) == ["hanse", "nordwind"]
    assert found["hanse"]["status"] == "changes"
    assert found["nordwind"]["status"] == "done"
    hanse = found["hanse"]["plan"]
    assert isinstance(hanse, dict)
    assert [action["kind"] for action in hanse["actions"]] == ["user.add"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_changed_sees_untracked_files_of_a_workspace_below_the_repository_s_top(
    run: Run, backend: Backend, tmp_path: Path
) -> None:
    workspace = Workspace(tmp_path / "licences", backend, ["acme", "hanse"])
    shutil.rmtree(workspace.root / ".git")  # one repository for the company, the workspace in a folder of it
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "ci@cadpartners.example")
    git(tmp_path, "config", "user.name", "CI")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "licences")
    git(tmp_path, "checkout", "-q", "-b", "work")
    (workspace.folder("hanse") / "more.yaml").write_text("version: 1\n", encoding="utf-8")  # untracked
    result = run(
        "plan", "--changed", "--base", "main", "--workspace", "licences/reconciler.yaml", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert list(plans(result)) == ["hanse"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_changed_sees_untracked_files_of_an_account_folder_beside_the_workspace_s_folder(
    run: Run, backend: Backend, tmp_path: Path
) -> None:
    # The workspace in a folder of the repository; hanse's files beside it, through a symlinked folder.
    workspace = Workspace(tmp_path / "licences", backend, ["acme", "hanse"])
    shutil.rmtree(workspace.root / ".git")
    (tmp_path / "customers").mkdir()
    workspace.folder("hanse").rename(tmp_path / "customers" / "hanse")
    workspace.folder("hanse").symlink_to(tmp_path / "customers" / "hanse", target_is_directory=True)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "ci@cadpartners.example")
    git(tmp_path, "config", "user.name", "CI")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "licences")
    git(tmp_path, "checkout", "-q", "-b", "work")
    (tmp_path / "customers" / "hanse" / "more.yaml").write_text("version: 1\n", encoding="utf-8")  # untracked
    result = run(
        "plan", "--changed", "--base", "main", "--workspace", "licences/reconciler.yaml", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert list(plans(result)) == ["hanse"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_changed_reads_a_file_name_that_is_not_utf_8(run: Run, backend: Backend, tmp_path: Path) -> None:
    workspace = Workspace(tmp_path, backend, ["acme", "hanse"])
    git(tmp_path, "checkout", "-q", "-b", "work")
    (workspace.folder("hanse") / os.fsdecode(b"caf\xe9.yaml")).write_text("version: 1\n", encoding="utf-8")
    result = run("plan", "--changed", "--base", "main", "--format", "json")
    assert result.exit_code == 0, result.output
    assert list(plans(result)) == ["hanse"]


def test_a_change_under_a_shared_path_concerns_every_account(
    run: Run, backend: Backend, tmp_path: Path
) -> None:
    workspace = Workspace(tmp_path, backend, ["acme", "hanse"], shared=("policies/**",))
    git(tmp_path, "checkout", "-q", "-b", "work")
    (tmp_path / "policies" / "deep").mkdir(parents=True)
    (tmp_path / "policies" / "deep" / "rule.yaml").write_text("x: 1\n", encoding="utf-8")
    result = run("plan", "--changed", "--base", "main", "--format", "json")
    assert list(plans(result)) == ["acme", "hanse"]
    unrelated = tmp_path / "README.md"
    unrelated.write_text("hello\n", encoding="utf-8")
    (tmp_path / "policies" / "deep" / "rule.yaml").unlink()
    assert workspace.names == ["acme", "hanse"]
    nothing = run("plan", "--changed", "--base", "main", "--format", "json")
    assert (nothing.exit_code, plans(nothing)) == (0, {})
    assert "No account to run: the selection is empty." in nothing.stderr


def test_a_shared_path_is_that_folder_or_file_not_every_name_it_begins(
    run: Run, backend: Backend, tmp_path: Path
) -> None:
    Workspace(tmp_path, backend, ["acme", "hanse"], shared=("policies", "rules.yaml"))
    git(tmp_path, "checkout", "-q", "-b", "work")
    (tmp_path / "policies-old").mkdir()
    (tmp_path / "policies-old" / "rule.yaml").write_text("x: 1\n", encoding="utf-8")
    (tmp_path / "policies.md").write_text("# Policies\n", encoding="utf-8")
    (tmp_path / "rules.yaml.orig").write_text("x: 1\n", encoding="utf-8")
    unrelated = run("plan", "--changed", "--base", "main", "--format", "json")
    assert (unrelated.exit_code, plans(unrelated)) == (0, {})
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "rule.yaml").write_text("x: 1\n", encoding="utf-8")
    shared = run("plan", "--changed", "--base", "main", "--format", "json")
    assert list(plans(shared)) == ["acme", "hanse"]


def test_an_unset_variable_is_one_line_naming_it(run: Run, tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  - name: acme\n    path: accounts/acme\n    store: ${ACME_STORE}\n",
        encoding="utf-8",
    )
    result = run("plan", "--all")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: reconciler.yaml:5:12: accounts[0].store: ${ACME_STORE} is not set; set the environment "
        "variable ACME_STORE\n"
    )


def test_among_several_accounts_an_unset_variable_is_its_accounts_error(run: Run, three: Workspace) -> None:
    """A nightly drift of every customer still reports the others when one customer's secret is missing."""
    three.stores["hanse"] = "${HANSE_STORE}"
    three.write()
    result = run("drift", "--all", "--format", "json")
    assert result.exit_code == 1
    found = plans(result)
    assert {name: account["status"] for name, account in found.items()} == {
        "acme": "done",
        "hanse": "error",
        "nordwind": "done",
    }
    assert found["hanse"]["reason"] == (
        "reconciler.yaml:9:12: accounts[1].store: ${HANSE_STORE} is not set; set the environment variable "
        "HANSE_STORE"
    )


def test_a_flag_takes_the_place_of_a_setting_whose_variable_is_not_set(run: Run, three: Workspace) -> None:
    """Flags win over the file: --store for one account needs no ${VAR} of the file's store."""
    three.stores["acme"], url = "${ACME_STORE}", three.stores["acme"]
    three.write()
    three.add_user("acme")
    unset = run("plan", "--account", "acme")
    assert unset.exit_code == 1
    assert "${ACME_STORE} is not set" in unset.stderr
    flagged = run("plan", "--account", "acme", "--store", url, "--format", "json")
    assert flagged.exit_code == 0, flagged.output
    plan = plans(flagged)["acme"]["plan"]
    assert isinstance(plan, dict)
    assert plan["summary"]["add"] == 1
    inside = run("plan", "accounts/acme", "--store", url, "--format", "json")
    assert inside.exit_code == 0, inside.output


def test_a_variable_set_to_nothing_is_not_a_store(run: Run, three: Workspace) -> None:
    """A secret missing in GitHub Actions is a variable set to nothing: the account must not fall back to
    RECONCILER_STORE, which may be another account's store."""
    three.stores["acme"] = "${ACME_STORE}"
    three.write()
    three.add_user("acme")
    env = {"ACME_STORE": "", "RECONCILER_STORE": three.stores["hanse"]}
    result = run("apply", "--account", "acme", "--auto-approve", env=env)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: reconciler.yaml:5:12: accounts[0].store: ${ACME_STORE} is empty; set the environment "
        "variable ACME_STORE\n"
    )
    assert "dana@acme.example" not in three.users("hanse")


def test_a_password_written_in_the_file_is_refused(run: Run, tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  - name: acme\n    path: accounts/acme\n"
        "    store: postgresql://ci:hunter2@db/licences\n",
        encoding="utf-8",
    )
    result = run("plan", "--all")
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    assert result.stderr.startswith(
        "reconciler.yaml:5:12: accounts[0].store: a password is written in the file"
    )


def test_a_password_from_a_variable_is_never_shown_even_when_not_url_encoded(
    run: Run, tmp_path: Path
) -> None:
    """A base64 secret has / in it: the URL it makes cannot be read, and saying so must not show it."""
    (tmp_path / "accounts" / "acme").mkdir(parents=True)
    (tmp_path / "accounts" / "acme" / "account.yaml").write_text(ACCOUNT, encoding="utf-8")
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  - name: acme\n    path: accounts/acme\n"
        "    store: postgresql://ci:${DB_PASSWORD}@127.0.0.1:5432/licences\n"
        f"    actor: {RESELLER}\n",
        encoding="utf-8",
    )
    env = {"DB_PASSWORD": "Zq9/Xv7+Kp="}
    for output_format in ("text", "markdown", "json", "html"):
        result = run("plan", "--all", "--format", output_format, "--out", "plans", env=env)
        assert result.exit_code == 1
        assert "acme" in result.stdout
        shown = result.output + (tmp_path / "plans" / "accounts.json").read_text(encoding="utf-8")
        assert "Zq9" not in shown
        assert "Xv7" not in shown


def test_an_unknown_account_is_named_with_a_suggestion(run: Run, three: Workspace) -> None:
    result = run("plan", "--account", "nordwnd")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: reconciler.yaml has no account 'nordwnd'; did you mean 'nordwind'?\n",
    )


def test_flags_that_do_not_go_together_are_usage_errors(run: Run, three: Workspace) -> None:
    both = run("plan", "--all", "--changed")
    assert (both.exit_code, both.stderr.splitlines()[-1]) == (
        1,
        "Error: --all and --changed do not go together: choose the accounts one way",
    )
    paths = run("plan", "accounts/acme", "--all")
    assert paths.exit_code == 1
    assert "give no PATH" in paths.stderr
    jobs = run("plan", "accounts/acme", "--jobs", "2")
    assert jobs.exit_code == 1
    assert "--jobs runs several accounts at once" in jobs.stderr


def test_exit_codes_are_the_worst_accounts(run: Run, three: Workspace) -> None:
    assert run("plan", "--all").exit_code == 0
    assert run("plan", "--all", "--detailed-exitcode").exit_code == 0
    three.add_user("acme")
    assert run("plan", "--all", "--detailed-exitcode").exit_code == 2
    assert run("plan", "--all").exit_code == 0
    # Hanse is planned by someone who may not add users there: blocked outranks changes.
    three.extra["hanse"] = "decommission: false"
    three.write()
    three.add_user("hanse")
    blocked = run("plan", "--all", "--actor", "carol@acme.example", "--detailed-exitcode", "--format", "json")
    assert blocked.exit_code == 3
    assert {name: account["status"] for name, account in plans(blocked).items()} == {
        "acme": "blocked",
        "hanse": "blocked",
        "nordwind": "done",
    }
    # An invalid account outranks everything, and the others are still planned and reported.
    (three.folder("nordwind") / "account.yaml").write_text("version: 2\n", encoding="utf-8")
    failed = run("plan", "--all", "--detailed-exitcode", "--format", "json")
    assert failed.exit_code == 1
    found = plans(failed)
    assert found["nordwind"]["status"] == "error"
    assert found["nordwind"]["details"] == [
        f"{Path('accounts/nordwind/account.yaml')}:1:10: version: unsupported version 2; this reconciler "
        "reads version 1"
    ]
    assert found["acme"]["status"] == "changes"


def test_one_account_failing_at_apply_leaves_the_others_applied_and_a_rerun_applies_it(
    run: Run, three: Workspace, tmp_path: Path
) -> None:
    for name in three.names:
        three.add_user(name)
    planned = run("plan", "--all", "--out", "plans")
    assert planned.exit_code == 0, planned.output
    assert sorted(path.name for path in (tmp_path / "plans").iterdir()) == [
        "accounts.json",
        "acme.json",
        "hanse.json",
        "nordwind.json",
    ]
    # Hanse's store cannot be reached when the plans are applied.
    good = three.stores["hanse"]
    three.stores["hanse"] = good.replace("store", "moved") if three.backend.name == "sqlite" else good + "x"
    three.write()
    first = run("apply", "plans", "--auto-approve")
    assert first.exit_code == 1
    assert "acme: applied, 1 added, 0 changed, 0 removed" in first.stdout
    assert "nordwind: applied, 1 added" in first.stdout
    assert first.stderr.startswith("hanse: not applied: ")
    assert "Applied 2 of 3 accounts; 1 failed, 0 blocked." in first.stderr
    assert "dana@acme.example" in three.users("acme")
    assert "dana@acme.example" not in three.users_at(good)
    three.stores["hanse"] = good
    three.write()
    again = run("apply", "plans", "--auto-approve")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[-4:] == [
        "acme: applied already, revision 2.",
        "hanse: applied, 1 added, 0 changed, 0 removed; the store is at revision 2; 1 e-mail queued.",
        "nordwind: applied already, revision 2.",
        "Applied 1 of 3 accounts; 0 failed, 0 blocked.",
    ]
    assert "dana@acme.example" in three.users("hanse")
    third = run("apply", "plans", "--auto-approve")
    assert third.exit_code == 0
    assert "Applied 0 of 3 accounts" in third.stdout


@pytest.mark.parametrize(
    "index",
    [
        {"format_version": 1},
        {"format_version": 1, "accounts": ["acme"]},
        {"format_version": 1, "accounts": [{"name": "../acme", "plan": "../acme.json"}]},
        {"format_version": 1, "accounts": [{"name": "acme", "status": "applied"}]},
    ],
)
def test_a_saved_folder_whose_index_is_not_as_plan_writes_it_is_refused(
    run: Run, three: Workspace, tmp_path: Path, index: dict[str, object]
) -> None:
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "accounts.json").write_text(json.dumps(index), encoding="utf-8")
    result = run("apply", "plans", "--auto-approve")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: {Path('plans/accounts.json')} is not a saved plan's index: its `accounts` must be a list of "
        "{name, status, plan}, as `plan --out DIR` writes it; plan the accounts again into a new folder\n"
    )
    again = run("plan", "--all", "--out", "plans")
    assert again.exit_code == 1
    assert "is not a saved plan's index" in again.stderr


def test_an_account_applied_but_not_marked_in_the_folder_is_said_applied(
    run: Run, three: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mark is written after the commit: failing to write it must not report a committed apply as not
    applied, nor lose what it did."""
    three.add_user("acme")
    assert run("plan", "--all", "--out", "plans").exit_code == 0
    write_text = Path.write_text

    def full_disk(path: Path, *arguments: object, **options: object) -> int:
        if path.suffix == ".applied":
            raise OSError(28, "No space left on device")
        return write_text(path, *arguments, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full_disk)
    result = run("apply", "plans", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "acme: applied, 1 added, 0 changed, 0 removed; the store is at revision 2" in result.stdout
    assert "Applied 1 of 3 accounts; 0 failed, 0 blocked." in result.stdout
    assert (
        f"Warning: acme: applied, but not marked so ({Path('plans/acme.applied')}: No space left on device)"
        in result.stderr
    )
    assert "dana@acme.example" in three.users("acme")


def test_a_deleted_folder_is_blocked_until_the_account_is_decommissioned(run: Run, three: Workspace) -> None:
    for path in three.folder("nordwind").iterdir():
        path.unlink()
    three.folder("nordwind").rmdir()
    blocked = run("plan", "--all")
    assert blocked.exit_code == 3
    assert (
        f"its folder {Path('accounts/nordwind')} is gone, and its store holds 1 contract and 3 users: nothing "
        "is planned. Restore the folder; or, to close the account and remove all of it, mark it "
        "`decommission: true` in reconciler.yaml"
    ) in blocked.stdout
    refused = run("apply", "--all", "--auto-approve")
    assert refused.exit_code == 3
    assert len(three.users("nordwind")) == 3
    three.extra["nordwind"] = "decommission: true"
    three.write()
    planned = run("plan", "--account", "nordwind", "--format", "json")
    assert planned.exit_code == 0, planned.output
    plan = plans(planned)["nordwind"]["plan"]
    assert isinstance(plan, dict)
    assert plan["summary"]["remove"] > 3
    assert plan["guards"] == []
    # Until it is applied, the nightly drift sees what is left to remove, not a folder gone by mistake.
    left = run("drift", "--all", "--format", "json")
    assert (left.exit_code, plans(left)["nordwind"]["status"]) == (2, "changes")
    applied = run("apply", "--account", "nordwind", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert three.users("nordwind") == []
    assert open_store(three.stores["nordwind"]).snapshot().state.contracts == ()
    closed = run("drift", "--all", "--format", "json")
    assert (closed.exit_code, plans(closed)["nordwind"]["status"]) == (0, "done")


def test_decommission_on_an_account_that_still_declares_users_is_an_error(run: Run, three: Workspace) -> None:
    three.extra["acme"] = "decommission: true"
    three.write()
    result = run("plan", "--all", "--format", "json")
    assert result.exit_code == 1
    assert plans(result)["acme"]["reason"] == (
        f"reconciler.yaml marks it `decommission: true`, and its files in {Path('accounts/acme')} still "
        "declare users or contracts; empty its folder to close the account, or drop the mark"
    )


def test_settings_come_from_the_flag_then_the_file_then_the_environment(
    run: Run, three: Workspace, backend: Backend
) -> None:
    three.add_user("acme")
    elsewhere = backend.new_url()
    # The file's store and actor win over the environment's…
    env = {"RECONCILER_STORE": elsewhere, "RECONCILER_ACTOR": "carol@acme.example"}
    by_file = run("plan", "--account", "acme", "--format", "json", env=env)
    assert by_file.exit_code == 0, by_file.output
    plan = plans(by_file)["acme"]["plan"]
    assert isinstance(plan, dict)
    assert (plan["actor"], plan["summary"]["add"]) == (RESELLER, 1)
    # …and a PATH inside an account's folder takes that account's settings, with no flag at all.
    inside = run("plan", "accounts/acme", "--format", "json", env=env)
    assert inside.exit_code == 0, inside.output
    assert json.loads(inside.stdout)["summary"]["add"] == 1
    # A flag typed on the command line wins over the file.
    by_flag = run("plan", "--account", "acme", "--actor", "carol@acme.example", "--format", "json")
    assert plans(by_flag)["acme"]["status"] == "blocked"
    init = CliRunner().invoke(cli, ["init", "--reseller", RESELLER, "--store", elsewhere])
    assert init.exit_code == 0
    other_store = run("plan", "--account", "acme", "--store", elsewhere, "--format", "json")
    other = plans(other_store)["acme"]["plan"]
    assert isinstance(other, dict)
    assert other["summary"]["add"] == 10  # the empty store: the whole account to add, Dana too
    # One --store for several accounts would mix them: refused.
    mixed = run("plan", "--all", "--store", elsewhere)
    assert mixed.exit_code == 1
    assert "--store names one store, and each account has its own" in mixed.stderr


def test_paths_in_two_accounts_folders_are_not_planned_as_one_account(run: Run, three: Workspace) -> None:
    """Merged, two customers' files would be planned into whichever store the environment names."""
    three.add_user("hanse")
    env = {"RECONCILER_STORE": three.stores["acme"], "RECONCILER_ACTOR": RESELLER}
    two = run("plan", "accounts/acme", "accounts/hanse", env=env)
    assert (two.exit_code, two.stdout) == (1, "")
    assert two.stderr == (
        "Error: accounts/acme accounts/hanse: the files of 2 accounts of reconciler.yaml (acme, hanse), each "
        "with a store of its own; name one account's folder, or choose the accounts with --account acme "
        "--account hanse\n"
    )
    every = run("apply", "accounts", "--auto-approve", env=env)
    assert every.exit_code == 1
    assert every.stderr.startswith(
        "Error: accounts: the files of 3 accounts of reconciler.yaml (acme, hanse, "
    )
    assert "dana@acme.example" not in three.users("acme")
    one = run("plan", "accounts/hanse", "--format", "json", env=env)
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["summary"]["add"] == 1


def test_the_workspace_mail_settings_win_over_the_environment(
    run: Run, three: Workspace, smtp_server: MailServer, tmp_path: Path
) -> None:
    text = (tmp_path / "reconciler.yaml").read_text(encoding="utf-8")
    mail = "mail: {smtp_url: '${LICENCE_SMTP}', from: licences@cadpartners.example}\n"
    (tmp_path / "reconciler.yaml").write_text(text + mail, encoding="utf-8")
    three.add_user("acme")
    three.add_user("nordwind")
    env = {
        "LICENCE_SMTP": smtp_server.url,
        "RECONCILER_SMTP_URL": "smtp://127.0.0.1:9",
        "RECONCILER_MAIL_FROM": "x@y.example",
    }
    result = run("apply", "--all", "--auto-approve", env=env)
    assert result.exit_code == 0, result.output
    assert "acme: applied, 1 added, 0 changed, 0 removed; the store is at revision" in result.stdout
    # Each store's outbox goes out: the invitations the first apply queued without a server, and Dana's.
    assert "1 e-mail queued, 4 sent." in result.stdout
    assert "hanse: no changes." in result.stdout
    to_dana = smtp_server.to("dana@acme.example")
    assert len(to_dana) == 2
    assert {r.mail_from for r in to_dana} == {"licences@cadpartners.example"}


def test_mail_an_apply_could_not_send_is_said_with_why_and_how_to_send_it(run: Run, three: Workspace) -> None:
    three.add_user("acme")
    env = {"RECONCILER_SMTP_URL": "smtp://127.0.0.1:9", "RECONCILER_SMTP_ATTEMPTS": "1"}
    result = run("apply", "--all", "--auto-approve", env=env)
    assert result.exit_code == 0, result.output  # applied: the mail waits in the outbox
    applied = (
        "acme: applied, 1 added, 0 changed, 0 removed; the store is at revision 2; 1 e-mail queued, 0 sent."
    )
    assert applied in result.stdout
    unsent = result.stderr.splitlines()
    assert unsent[0] == "acme: 4 e-mails still queued; `reconciler notify --account acme` tries again."
    assert unsent[1].startswith("  smtp://127.0.0.1:9: ")


def test_jobs_give_the_same_report_as_one_at_a_time(run: Run, three: Workspace) -> None:
    three.add_user("hanse")
    (three.folder("nordwind") / "account.yaml").write_text("version: 2\n", encoding="utf-8")
    alone = run("plan", "--all", "--format", "json")
    together = run("plan", "--all", "--format", "json", "--jobs", "2")
    assert (alone.exit_code, together.exit_code) == (1, 1)
    assert alone.stdout == together.stdout
    text = run("plan", "--all", "--jobs", "3")
    assert text.stdout == run("plan", "--all").stdout
    (three.folder("nordwind") / "account.yaml").write_text(ACCOUNT, encoding="utf-8")
    assert run("plan", "--all", "--out", "plans").exit_code == 0
    saved = run("apply", "plans", "--jobs", "2", "--auto-approve")
    assert saved.exit_code == 0, saved.output
    assert "Applied 1 of 3 accounts; 0 failed, 0 blocked." in saved.stdout


def test_drift_and_usage_over_every_account(run: Run, three: Workspace) -> None:
    clean = run("drift", "--all", "--format", "json")
    assert clean.exit_code == 0, clean.output
    assert {name: account["status"] for name, account in plans(clean).items()} == dict.fromkeys(
        three.names, "done"
    )
    three.add_user("nordwind")  # git has Dana, the store does not
    drifted = run("drift", "--all", "--format", "json")
    assert drifted.exit_code == 2
    found = plans(drifted)
    assert found["nordwind"]["status"] == "changes"
    drift = found["nordwind"]["drift"]
    assert isinstance(drift, dict)
    assert [item["target"] for item in drift["only_in_git"]] == [{"user": "dana@acme.example"}]
    usage = run("usage", "--all", "--format", "json")
    assert usage.exit_code == 0, usage.output
    assert list(plans(usage)) == three.names
    assert run("usage", "--all", "--format", "csv").exit_code == 1


class Many(Workspace):
    """A reseller's 200 accounts: stores created empty, so every account's plan adds it whole."""

    def __init__(self, root: Path, backend: Backend, count: int) -> None:
        self.root, self.backend = root, backend
        self.names = [f"customer-{index:03}" for index in range(count)]
        self.stores = {name: f"sqlite:///{root / 'stores' / name}.db" for name in self.names}
        self.shared, self.extra = ("policies/**",), {}
        (root / "stores").mkdir()
        (root / ".gitignore").write_text("stores/\n", encoding="utf-8")
        for name in self.names:
            self.folder(name).mkdir(parents=True)
            (self.folder(name) / "account.yaml").write_text(ACCOUNT, encoding="utf-8")
            open_store(self.stores[name]).initialize([RESELLER])
        self.write()
        git(root, "init", "-q", "-b", "main")
        git(root, "config", "user.email", "ci@cadpartners.example")
        git(root, "config", "user.name", "CI")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "accounts")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_pull_request_in_a_200_account_workspace(run: Run, backend: Backend, tmp_path: Path) -> None:
    many = Many(tmp_path, backend, 200)
    git(tmp_path, "checkout", "-q", "-b", "work")
    touched = ["customer-007", "customer-100", "customer-199"]
    for name in touched:
        many.add_user(name)
    git(tmp_path, "commit", "-qam", "three customers change")
    three = run("plan", "--changed", "--base", "main", "--format", "json")
    assert three.exit_code == 0, three.output
    assert list(plans(three)) == touched
    # A change under `shared` concerns every account: all 200 planned, and the comment still fits.
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "contractors.yaml").write_text("rule: none\n", encoding="utf-8")
    everyone = run("plan", "--changed", "--base", "main", "--format", "markdown", "--jobs", "2")
    assert everyone.exit_code == 0, everyone.output
    assert len(everyone.stdout) <= 65_536
    table = [line for line in everyone.stdout.splitlines() if line.startswith("| customer-")]
    assert [line.split(" | ")[0].removeprefix("| ") for line in table] == many.names


def test_a_change_to_the_workspace_file_concerns_the_entries_it_changed(run: Run, three: Workspace) -> None:
    git(three.root, "checkout", "-q", "-b", "work")
    three.extra["hanse"] = "decommission: false"
    three.write()
    one = run("plan", "--changed", "--base", "main", "--format", "json")
    assert list(plans(one)) == ["hanse"]
    three.shared = ("policies/**",)
    three.write()
    every = run("plan", "--changed", "--base", "main", "--format", "json")
    assert list(plans(every)) == three.names


def test_changed_needs_a_base_it_can_find(run: Run, three: Workspace) -> None:
    missing = run("plan", "--changed", "--base", "origin/nowhere")
    assert (missing.exit_code, missing.stderr) == (
        1,
        "Error: --base origin/nowhere: no such branch, tag or commit here; fetch it first\n",
    )
    git(three.root, "branch", "-m", "main", "trunk")
    unnamed = run("plan", "--changed")
    assert unnamed.exit_code == 1
    assert unnamed.stderr.startswith(
        "Error: --changed compares with the base branch, and none of origin/HEAD, origin/main, "
        "origin/master, main, master exists here; name it with --base REF"
    )
    in_ci = run("plan", "--changed", env={"GITHUB_BASE_REF": "trunk"})
    assert "origin/trunk" in in_ci.stderr


def test_an_invalid_workspace_file_is_placed_line_by_line(run: Run, tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  - name: Acme\n    path: ../acme\n    actr: x@y.example\n"
        "  - name: acme\n    path: accounts/acme\n  - name: acme\n    path: accounts/acme\n",
        encoding="utf-8",
    )
    result = run("plan", "--all")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "reconciler.yaml:3:11: accounts[0].name: 'Acme' is not an account's name: lower-case letters, "
        "digits, - and _, starting with a letter or digit (like acme or nordwind-gmbh)",
        "reconciler.yaml:4:11: accounts[0].path: '../acme' is not a path inside the workspace: write it "
        "from reconciler.yaml's folder with / between folders, without .. (like accounts/acme)",
        "reconciler.yaml:5:5: accounts[0].actr: unknown field 'actr'; did you mean 'actor'?",
        "Invalid: 3 errors in 1 file.",
    ]
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  - name: acme\n    path: accounts/acme\n"
        "  - name: acme\n    path: accounts/acme/\n",
        encoding="utf-8",
    )
    twice = run("plan", "--all")
    assert twice.stderr.splitlines() == [
        "reconciler.yaml:5:11: accounts[1].name: the account 'acme' is declared twice",
        "reconciler.yaml:6:11: accounts[1].path: the folder 'accounts/acme/' is already the folder of account 'acme'",
        "Invalid: 2 errors in 1 file.",
    ]


def test_two_accounts_may_share_neither_a_store_nor_a_folder_within_another(run: Run, tmp_path: Path) -> None:
    """Each would be planned with the other's users and contracts, or remove what the other put there."""
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n"
        "  - name: customers\n    path: accounts\n    store: ${CUSTOMERS_STORE}\n"
        "  - name: acme\n    path: accounts/acme\n    store: sqlite:///acme.db\n"
        "  - name: nordwind\n    path: nordwind\n    store: sqlite:///acme.db\n",
        encoding="utf-8",
    )
    result = run("plan", "--all")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "reconciler.yaml:7:11: accounts[1].path: the folder 'accounts/acme' is inside the folder of account "
        "'customers' ('accounts'), whose files would then be its too; give each account a folder of its own, "
        "side by side",
        "reconciler.yaml:11:12: accounts[2].store: account 'acme' has this store too; each account needs a "
        "store of its own (a database, or a schema of one, or a SQLite file)",
        "Invalid: 2 errors in 1 file.",
    ]


def test_without_a_workspace_the_selection_flags_say_what_is_missing(run: Run, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the repository's root: the search for reconciler.yaml stops here
    result = run("plan", "--all")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: --all runs on the accounts of a workspace, and there is no reconciler.yaml in this folder or "
        "above it in the repository"
    )


def test_an_account_nobody_acts_on_is_its_own_error(run: Run, three: Workspace) -> None:
    text = (three.root / "reconciler.yaml").read_text(encoding="utf-8")
    (three.root / "reconciler.yaml").write_text(
        text.replace(f"    actor: {RESELLER}\n", "", 1), encoding="utf-8"
    )
    result = run("plan", "--all", "--format", "json")
    assert result.exit_code == 1
    found = plans(result)
    assert found["acme"]["reason"] == (
        "nobody acts on account acme: give it `actor:` in reconciler.yaml, or pass --actor EMAIL"
    )
    assert found["hanse"]["status"] == "done"


def test_an_actor_that_is_not_an_e_mail_address_is_an_error_as_with_one_account(
    run: Run, three: Workspace
) -> None:
    three.add_user("acme")
    result = run("plan", "--all", "--actor", "orders", "--format", "json")
    assert result.exit_code == 1
    assert {
        name: (account["status"], account["reason"]) for name, account in plans(result).items()
    } == dict.fromkeys(three.names, ("error", "the actor 'orders' is not an e-mail address"))
    one = run("plan", "accounts/acme", "--actor", "orders")
    assert (one.exit_code, one.stderr) == (1, "Error: the actor 'orders' is not an e-mail address\n")


def test_notify_sends_each_accounts_outbox(
    run: Run, three: Workspace, smtp_server: MailServer, tmp_path: Path
) -> None:
    result = run("notify", "--all", env={"RECONCILER_SMTP_URL": smtp_server.url})
    assert result.exit_code == 0, result.output
    assert result.stdout.count("Sent 3 e-mails; none left in the outbox.") == 3
    assert result.stdout.splitlines()[0] == "acme:"
    assert len(smtp_server.received) == 9
    again = run("notify", "--account", "hanse", env={"RECONCILER_SMTP_URL": smtp_server.url})
    assert again.stdout == "hanse:\nSent 0 e-mails; none left in the outbox.\n"
    # Uncertain messages are sent again by their ids in one account's outbox: with one --account.
    resent = run(
        "notify", "--account", "hanse", "--resend-uncertain", env={"RECONCILER_SMTP_URL": smtp_server.url}
    )
    assert (resent.exit_code, resent.stdout) == (
        0,
        "hanse:\nNo uncertain e-mail to send again.\nSent 0 e-mails; none left in the outbox.\n",
    )
    every = run("notify", "--all", "--resend", "3", env={"RECONCILER_SMTP_URL": smtp_server.url})
    assert every.exit_code == 1
    assert "--resend names one store's messages: run it with one --account NAME" in every.stderr


def test_notify_over_accounts_says_how_to_send_each_account_s_mail_again(run: Run, three: Workspace) -> None:
    # `reconciler notify` alone, at the workspace's root, has no store: each account's retry names it.
    env = {"RECONCILER_SMTP_URL": "smtp://127.0.0.1:1", "RECONCILER_SMTP_ATTEMPTS": "1"}
    result = run("notify", "--all", env=env)
    assert result.exit_code == 1, result.output
    for name in three.names:
        assert f"3 still queued: run `reconciler notify --account {name}` to try again." in result.stderr
    assert "run `reconciler notify` to try again" not in result.stderr


DANA_WITH_ACCESS = (
    DANA
    + """    access:
      - serial: "399-12345678"
"""
)


@pytest.mark.parametrize(
    ("actor", "manages", "request_", "code", "said"),
    [
        (RESELLER, True, False, 0, "acme: applied, 2 added"),
        ("alice@acme.example", True, False, 0, "acme: applied, 2 added"),  # the Contract Manager
        (
            "bob@acme.example",
            True,
            False,
            0,
            "acme: applied, 2 added",
        ),  # an SC who manages users, on his serial
        ("bob@acme.example", False, False, 3, "acme: not applied: 2 actions of the plan are blocked"),
        ("bob@acme.example", False, True, 0, "acme: applied, 0 added, 0 changed, 0 removed; 2 requested"),
        ("carol@acme.example", True, False, 3, "acme: not applied: 2 actions of the plan are blocked"),
        ("carol@acme.example", True, True, 0, "acme: applied, 0 added, 0 changed, 0 removed; 2 requested"),
    ],
)
def test_each_role_applies_what_it_may_and_requests_the_rest_whole(
    run: Run, three: Workspace, actor: str, manages: bool, request_: bool, code: int, said: str
) -> None:
    account = three.folder("acme") / "account.yaml"
    if not manages:  # Bob coordinates the serial, and may not manage its users
        account.write_text(account.read_text().replace("manage_users: true", "manage_users: false"))
        three.apply_all()
    with account.open("a", encoding="utf-8") as file:
        file.write(DANA_WITH_ACCESS)
    result = run(
        "apply", "--account", "acme", "--actor", actor, "--auto-approve", *(["--request"] if request_ else [])
    )
    assert result.exit_code == code, result.output
    assert said in result.output
    added = "dana@acme.example" in three.users("acme")
    assert added is (code == 0 and not request_)  # the user and her access together, or neither
    # Whatever was applied, the store agrees with itself: a plan of its own export changes nothing.
    exported = run("export", "--store", three.stores["acme"])
    assert exported.exit_code == 0, exported.output
    (three.root / "exported.yaml").write_text(exported.stdout, encoding="utf-8")
    again = run(
        "plan", "exported.yaml", "--store", three.stores["acme"], "--actor", RESELLER, "--detailed-exitcode"
    )
    assert again.exit_code == 0, again.output


def test_a_decommission_is_applied_whole_even_with_request(run: Run, three: Workspace) -> None:
    """A protected contract blocks its removal for everybody: the account is not half closed."""
    account = three.folder("acme") / "account.yaml"
    account.write_text(
        ACCOUNT.replace('  - number: "110001234567"\n', '  - number: "110001234567"\n    protect: true\n')
    )
    three.apply_all()
    for path in three.folder("acme").iterdir():
        path.unlink()
    three.folder("acme").rmdir()
    three.extra["acme"] = "decommission: true"
    three.write()
    planned = run("plan", "--account", "acme")
    assert planned.exit_code == 3
    assert (
        "(a decommission is applied whole: lift what blocks it first, such as `protect: true`)"
        in planned.stdout
    )
    result = run("apply", "--account", "acme", "--request", "--auto-approve")
    assert result.exit_code == 3, result.output
    assert "acme: not applied: " in result.stderr
    assert len(three.users("acme")) == 3
    assert len(open_store(three.stores["acme"]).snapshot().state.contracts) == 1


def die_on_hanse(job: AccountJob) -> AccountRun[str]:
    """Work whose process dies on one account, as a worker killed or out of memory would."""
    if job.name == "hanse":
        os._exit(1)
    return AccountRun(job.name, AccountStatus.DONE, "done")


def test_a_worker_process_that_dies_fails_its_accounts_not_the_report() -> None:
    names = ["acme", "hanse", "nordwind", "zeta"]
    jobs = [AccountJob(AccountEntry(name, Path(name)), None, None) for name in names]
    runs = run_each(die_on_hanse, jobs, workers=2)
    assert [run.name for run in runs] == names
    hanse = runs[1]
    assert (hanse.status, hanse.reason) == (
        AccountStatus.ERROR,
        "its worker process ended before it finished (killed, or out of memory); run it again, with fewer --jobs",
    )
    assert all(run.result == "done" for run in runs if run.status is AccountStatus.DONE)
