"""The seeds' scenarios, end to end through the command line, on a real store of each backend.

An account as the articles describe it: the reseller sets it up, the
Contract Manager (Alice) names a Software Coordinator (Bob) who may manage
users, Bob adds a user on his serial and is refused on another, the CM
asks for a manager change only the reseller may make, and Bob leaves.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import RESELLER, Backend

from reconciler.cli import cli
from reconciler.store import open_store

START = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    serials:
      - {number: "399-12345678", product: AutoCAD, seats: 3, group: Design Studio}
      - {number: "399-12345679", product: Revit, seats: 2, group: Design Studio}
users:
  - {email: alice@acme.example, first_name: Alice, last_name: Moreau}
  - {email: bob@acme.example, first_name: Bob, last_name: Okafor}
"""

WITH_BOB = START.replace(
    "    serials:\n",
    "    coordinators:\n      - {email: bob@acme.example, manage_users: true}\n    serials:\n",
).replace("seats: 3, group: Design Studio}", "seats: 3, group: Design Studio, coordinator: bob@acme.example}")

DAVE = '  - {email: dave@acme.example, first_name: Dave, last_name: Lee, access: [{serial: "%s"}]}\n'


class Account:
    """A store and a desired-state file, driven through the CLI as a user would."""

    def __init__(self, url: str, folder: Path) -> None:
        self.runner = CliRunner()
        self.url = url
        self.file = folder / "account.yaml"
        assert self.run("init", "--reseller", RESELLER).exit_code == 0

    def run(self, *args: str) -> Result:
        return self.runner.invoke(cli, [*args, "--store", self.url])

    def plan(self, text: str, actor: str) -> Result:
        self.file.write_text(text)
        return self.run("plan", str(self.file), "--actor", actor)

    def apply(self, text: str, actor: str) -> Result:
        self.file.write_text(text)
        return self.run("apply", str(self.file), "--actor", actor, "--auto-approve")

    def serial_coordinators(self) -> dict[str, str | None]:
        [contract] = open_store(self.url).snapshot().state.contracts
        return {s.number: s.coordinator for s in contract.serials}


@pytest.fixture
def account(backend: Backend, tmp_path: Path) -> Account:
    return Account(backend.new_url(), tmp_path)


def test_the_reseller_creates_the_account(account: Account) -> None:
    result = account.apply(START, RESELLER)
    assert result.exit_code == 0, result.output
    assert "Plan: 5 to add, 0 to change, 0 to remove, 0 blocked." in result.output
    assert result.output.endswith(
        "Apply complete: 5 added, 0 changed, 0 removed. The store is at revision 1.\n"
    )
    snapshot = open_store(account.url).snapshot()
    assert snapshot.user_status == {"alice@acme.example": "invited", "bob@acme.example": "invited"}


def test_the_contract_manager_names_a_coordinator(account: Account) -> None:
    account.apply(START, RESELLER)
    result = account.apply(WITH_BOB, "alice@acme.example")
    assert result.exit_code == 0, result.output
    assert "  + coordinator.add bob@acme.example on 110001234567: manage_users yes\n" in result.output
    assert (
        "  ~ serial.assign_coordinator 399-12345678: coordinator (none) → bob@acme.example\n" in result.output
    )
    assert account.serial_coordinators() == {"399-12345678": "bob@acme.example", "399-12345679": None}


def test_the_coordinator_adds_a_user_on_his_serial(account: Account) -> None:
    account.apply(WITH_BOB, RESELLER)
    result = account.apply(WITH_BOB + DAVE % "399-12345678", "bob@acme.example")
    assert result.exit_code == 0, result.output
    assert "  + user.add dave@acme.example: Dave Lee\n" in result.output
    assert "  + access.grant dave@acme.example on 399-12345678\n" in result.output
    assert open_store(account.url).snapshot().user_status["dave@acme.example"] == "invited"


def test_the_coordinator_is_refused_on_a_serial_he_does_not_coordinate(account: Account) -> None:
    account.apply(WITH_BOB, RESELLER)
    result = account.apply(WITH_BOB + DAVE % "399-12345679", "bob@acme.example")
    assert result.exit_code == 3
    assert (
        "      blocked: giving dave@acme.example access to serial 399-12345679 needs the Contract Manager: "
        f"ask alice@acme.example or {RESELLER}\n" in result.output
    )
    assert (
        "Error: 1 action of the plan is blocked for lack of permission; nothing was applied\n"
        in result.stderr
    )
    assert "dave@acme.example" not in open_store(account.url).snapshot().user_status


def test_the_manager_change_is_refused_to_the_cm_and_made_by_the_reseller(account: Account) -> None:
    account.apply(WITH_BOB, RESELLER)
    to_bob = WITH_BOB.replace("manager: alice@acme.example", "manager: bob@acme.example")
    refused = account.plan(to_bob, "alice@acme.example")
    assert refused.exit_code == 3
    assert (
        "  ~ contract.manager_change 110001234567: manager alice@acme.example → bob@acme.example\n"
        "      blocked: changing the Contract Manager of contract 110001234567 needs the reseller: "
        f"ask {RESELLER} (a Contract Manager can only request it)\n" in refused.output
    )
    accepted = account.apply(to_bob, RESELLER)
    assert accepted.exit_code == 0, accepted.output
    [contract] = open_store(account.url).snapshot().state.contracts
    assert contract.manager == "bob@acme.example"


def test_removing_a_coordinator_from_all_hands_his_serials_back(account: Account) -> None:
    two_serials = WITH_BOB.replace(
        "seats: 2, group: Design Studio}", "seats: 2, group: Design Studio, coordinator: bob@acme.example}"
    )
    account.apply(two_serials, RESELLER)
    assert set(account.serial_coordinators().values()) == {"bob@acme.example"}
    result = account.apply(START, "alice@acme.example")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert lines == [
        "  ~ serial.unassign_coordinator 399-12345678: coordinator bob@acme.example → (none)",
        "  ~ serial.unassign_coordinator 399-12345679: coordinator bob@acme.example → (none)",
        "  - coordinator.remove bob@acme.example on 110001234567",
    ]
    assert account.serial_coordinators() == {"399-12345678": None, "399-12345679": None}
