"""examples/workspace/: the workspace a reseller starts from reads, and each of its accounts is valid.

Its reconciler.yaml names three accounts, each a folder of desired-state files
with a store of its own; the file is read by the reader every command uses,
with the variables it names set as CI sets them from secrets. Each account is
valid, laid out as `reconciler fmt` writes it (so the pre-commit hook passes
on a copy), and plans cleanly, as the reseller, into a new store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES

from reconciler.cli import cli
from reconciler.core.workspace import WORKSPACE_FILE
from reconciler.loading.workspace import VARIABLE, read_workspace

WORKSPACE = EXAMPLES / "workspace"
NAMES = ["acme", "nordwind", "brightwater"]
#: What CI's secrets give the file's ${VAR}s.
ENVIRONMENT = {
    "ACME_STORE": "postgresql://reconciler-acme@db.acme.example/licences",
    "LICENCES_DB_PASSWORD": "s3cret",
    "RECONCILER_SMTP_URL": "smtp://mail.cadpartners.example:587?starttls=true",
}
RESELLER = "orders@cadpartners.example"


def test_the_workspace_file_reads_with_its_variables_set() -> None:
    workspace = read_workspace(WORKSPACE / WORKSPACE_FILE, ENVIRONMENT)
    assert [entry.name for entry in workspace.accounts] == NAMES
    by_name = {entry.name: entry for entry in workspace.accounts}
    assert by_name["acme"].store == ENVIRONMENT["ACME_STORE"]
    for name in ("nordwind", "brightwater"):  # one database, a schema per account
        assert by_name[name].store == (
            f"postgresql://reconciler:s3cret@db.cadpartners.example/licences?options=-csearch_path%3D{name}"
        )
    assert {entry.actor for entry in workspace.accounts} == {RESELLER}
    assert not any(entry.decommission for entry in workspace.accounts)
    assert workspace.shared == ("policies/**",)
    assert workspace.mail["RECONCILER_SMTP_URL"] == ENVIRONMENT["RECONCILER_SMTP_URL"]
    assert set(workspace.mail) == {"RECONCILER_SMTP_URL", "RECONCILER_MAIL_FROM", "RECONCILER_PORTAL_URL"}


def test_the_variables_it_names_are_the_ones_set_here() -> None:
    """The workflows set these from secrets (tests/test_workflows.py checks that they do)."""
    lines = (WORKSPACE / WORKSPACE_FILE).read_text(encoding="utf-8").splitlines()
    named = {name for line in lines if not line.lstrip().startswith("#") for name in VARIABLE.findall(line)}
    assert named == set(ENVIRONMENT)


def test_each_account_is_a_folder_of_its_own_and_every_folder_an_account() -> None:
    workspace = read_workspace(WORKSPACE / WORKSPACE_FILE, ENVIRONMENT)
    folders = sorted(path for path in (WORKSPACE / "accounts").iterdir() if path.is_dir())
    assert sorted(entry.path for entry in workspace.accounts) == [path.resolve() for path in folders]


@pytest.mark.parametrize("name", NAMES)
def test_each_account_is_valid_and_in_fmts_layout(runner: CliRunner, name: str) -> None:
    folder = str(WORKSPACE / "accounts" / name)
    validated = runner.invoke(cli, ["validate", folder])
    assert validated.exit_code == 0, validated.output
    assert validated.stdout.startswith("Valid: ")
    formatted = runner.invoke(cli, ["fmt", "--check", folder])
    assert formatted.exit_code == 0, formatted.output


def test_the_accounts_are_distinct_customers() -> None:
    domains = {
        name: {
            line.split("@", 1)[1].strip()
            for path in (WORKSPACE / "accounts" / name).glob("*.yaml")
            for line in path.read_text(encoding="utf-8").splitlines()
            if "@" in line and not line.lstrip().startswith("#")
        }
        for name in NAMES
    }
    assert domains == {name: {f"{name}.example"} for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_each_account_plans_into_a_new_store_as_the_reseller(
    runner: CliRunner, tmp_path: Path, name: str
) -> None:
    store = ["--store", f"sqlite:///{tmp_path / 'store.db'}"]
    assert runner.invoke(cli, ["init", "--reseller", RESELLER, *store]).exit_code == 0
    planned = runner.invoke(
        cli,
        ["plan", str(WORKSPACE / "accounts" / name), *store, "--actor", RESELLER, "--detailed-exitcode"],
    )
    assert planned.exit_code == 2, planned.output  # changes, none blocked
    assert "0 to remove, 0 blocked." in planned.stdout
