"""The licence portal's own scenarios, end to end through the command line, on a real store of each
backend and a real SMTP server on loopback: each checks the change and who received what.

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
from mailserver import MailServer, Received

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

    def __init__(self, url: str, folder: Path, mail: MailServer) -> None:
        self.runner = CliRunner()
        self.url = url
        self.file = folder / "account.yaml"
        self.mail = mail
        self.env = {"RECONCILER_SMTP_URL": mail.url, "RECONCILER_MAIL_FROM": "licences@acme.example"}
        assert self.run("init", "--reseller", RESELLER).exit_code == 0

    def run(self, *args: str) -> Result:
        return self.runner.invoke(cli, [*args, "--store", self.url], env=self.env)

    def inbox(self) -> dict[str, list[Received]]:
        """What each person received since the last call, by address."""
        received, self.mail.received[:] = list(self.mail.received), []
        found: dict[str, list[Received]] = {}
        for message in received:
            for to in message.rcpt_tos:
                found.setdefault(to, []).append(message)
        return found

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
def account(backend: Backend, tmp_path: Path, smtp_server: MailServer) -> Account:
    return Account(backend.new_url(), tmp_path, smtp_server)


def subjects(inbox: dict[str, list[Received]]) -> dict[str, list[str]]:
    return {to: [m.subject for m in messages] for to, messages in sorted(inbox.items())}


def test_the_reseller_creates_the_account(account: Account) -> None:
    result = account.apply(START, RESELLER)
    assert result.exit_code == 0, result.output
    assert "Plan: 5 to add, 0 to change, 0 to remove, 0 blocked.\n" in result.output
    assert "E-mail: 2 people will hear of 2 changes, in one message each.\n" in result.output
    assert "Apply complete: 5 added, 0 changed, 0 removed. The store is at revision 1.\n" in result.output
    assert "Sent 2 e-mails; none left in the outbox.\n" in result.output
    snapshot = open_store(account.url).snapshot()
    assert snapshot.user_status == {"alice@acme.example": "invited", "bob@acme.example": "invited"}
    inbox = account.inbox()
    assert subjects(inbox) == {
        "alice@acme.example": ["You are invited to your company's licence account"],
        "bob@acme.example": ["You are invited to your company's licence account"],
    }
    [invitation] = inbox["alice@acme.example"]
    assert invitation.text.startswith("Hello Alice,\n")
    assert "sign in with the temporary password the portal sends you, and change it when asked" in (
        invitation.text
    )
    assert invitation.email["From"] == "licences@acme.example"
    assert invitation.mail_from == "licences@acme.example"


def test_the_contract_manager_names_a_coordinator(account: Account) -> None:
    account.apply(START, RESELLER)
    account.inbox()
    result = account.apply(WITH_BOB, "alice@acme.example")
    assert result.exit_code == 0, result.output
    assert "  + coordinator.add bob@acme.example on 110001234567: manage_users yes\n" in result.output
    assert (
        "  ~ serial.assign_coordinator 399-12345678: coordinator (none) → bob@acme.example\n" in result.output
    )
    assert account.serial_coordinators() == {"399-12345678": "bob@acme.example", "399-12345679": None}
    inbox = account.inbox()
    assert subjects(inbox) == {
        "bob@acme.example": ["You are now a Software Coordinator on contract 110001234567"],
    }
    assert (
        "- You are now the Software Coordinator of AutoCAD (serial 399-12345678, group Design Studio) "
        "on contract 110001234567" in inbox["bob@acme.example"][0].text
    )


def test_the_coordinator_adds_a_user_on_his_serial(account: Account) -> None:
    account.apply(WITH_BOB, RESELLER)
    result = account.apply(WITH_BOB + DAVE % "399-12345678", "bob@acme.example")
    assert result.exit_code == 0, result.output
    assert "  + user.add dave@acme.example: Dave Lee\n" in result.output
    assert "  + access.grant dave@acme.example on 399-12345678\n" in result.output
    assert open_store(account.url).snapshot().user_status["dave@acme.example"] == "invited"
    account.inbox()  # (the setup's invitations)
    account.apply(WITH_BOB + DAVE % "399-12345678", "bob@acme.example")
    assert account.inbox() == {}, "a second apply of the same YAML sends nothing"


def test_a_new_user_with_access_gets_one_message_saying_both(account: Account) -> None:
    account.apply(WITH_BOB, RESELLER)
    account.inbox()
    account.apply(WITH_BOB + DAVE % "399-12345678", "bob@acme.example")
    inbox = account.inbox()
    assert list(inbox) == ["dave@acme.example"]
    [message] = inbox["dave@acme.example"]
    assert message.text.splitlines()[2:5] == [
        "bob@acme.example changed your company's licence account. What concerns you:",
        "",
        "- You have been invited. To activate your account, sign in with the temporary password the "
        "portal sends you, and change it when asked.",
    ]
    assert (
        "- You now have access to AutoCAD (serial 399-12345678, group Design Studio), without download rights."
        in message.text
    )
    assert "<li>You now have access to AutoCAD (serial 399-12345678, group Design Studio)" in message.html


def test_access_granted_changed_and_revoked_reach_the_user(account: Account) -> None:
    both = WITH_BOB + DAVE % "399-12345678"
    account.apply(both, RESELLER)
    account.inbox()
    with_download = both.replace(
        'access: [{serial: "399-12345678"}]', 'access: [{serial: "399-12345678", download: true}]'
    )
    account.apply(with_download, RESELLER)
    assert subjects(account.inbox()) == {"dave@acme.example": ["Your product access changed: AutoCAD"]}
    moved = both.replace('access: [{serial: "399-12345678"}]', 'access: [{serial: "399-12345679"}]')
    account.apply(moved, RESELLER)
    inbox = account.inbox()
    assert subjects(inbox) == {"dave@acme.example": ["Your product access changed: AutoCAD, Revit"]}
    text = inbox["dave@acme.example"][0].text
    assert "- Your access to AutoCAD (serial 399-12345678, group Design Studio) has been removed." in text
    assert "- You now have access to Revit (serial 399-12345679, group Design Studio)" in text


def test_removing_a_user_tells_them_once(account: Account) -> None:
    account.apply(WITH_BOB + DAVE % "399-12345678", RESELLER)
    account.inbox()
    result = account.apply(WITH_BOB, "alice@acme.example")
    assert result.exit_code == 0, result.output
    inbox = account.inbox()
    assert subjects(inbox) == {
        "dave@acme.example": ["You were removed from your company's licence account"],
    }
    text = inbox["dave@acme.example"][0].text
    assert "- Your access to AutoCAD (serial 399-12345678, group Design Studio) has been removed." in text
    assert "- You have been removed from the account: you can no longer sign in to it." in text


def test_the_coordinator_is_refused_on_a_serial_he_does_not_coordinate(account: Account) -> None:
    account.apply(WITH_BOB, RESELLER)
    result = account.apply(WITH_BOB + DAVE % "399-12345679", "bob@acme.example")
    assert result.exit_code == 3
    assert (
        "      blocked: only the Contract Manager of contract 110001234567 (alice@acme.example) or a reseller "
        f"({RESELLER}) may give dave@acme.example access to Revit (serial 399-12345679)\n" in result.output
    )
    assert (
        "Error: 1 action of the plan is blocked for lack of permission; nothing was applied "
        "(use --request to ask whoever may)\n" in result.stderr
    )
    assert "dave@acme.example" not in open_store(account.url).snapshot().user_status
    account.inbox()
    assert account.apply(WITH_BOB + DAVE % "399-12345679", "bob@acme.example").exit_code == 3
    assert account.inbox() == {}, "a refused apply sends nothing"


def test_the_manager_change_is_refused_to_the_cm_and_made_by_the_reseller(account: Account) -> None:
    account.apply(WITH_BOB, RESELLER)
    to_bob = WITH_BOB.replace("manager: alice@acme.example", "manager: bob@acme.example")
    refused = account.plan(to_bob, "alice@acme.example")
    assert refused.exit_code == 3
    assert (
        "  ~ contract.manager_change 110001234567: manager alice@acme.example → bob@acme.example\n"
        f"      blocked: only a reseller ({RESELLER}) may change the Contract Manager of contract 110001234567; "
        "a Contract Manager can only request it (apply --request asks the reseller)\n" in refused.output
    )
    account.inbox()
    accepted = account.apply(to_bob, RESELLER)
    assert accepted.exit_code == 0, accepted.output
    [contract] = open_store(account.url).snapshot().state.contracts
    assert contract.manager == "bob@acme.example"
    inbox = account.inbox()
    assert subjects(inbox) == {
        person: ["Contract 110001234567 has a new Contract Manager"]
        for person in ("alice@acme.example", "bob@acme.example", RESELLER)
    }
    assert (
        "- The Contract Manager of contract 110001234567 changed from alice@acme.example to bob@acme.example."
        in inbox[RESELLER][0].text
    )


def test_the_cm_requests_a_manager_change_and_the_reseller_is_asked_once(account: Account) -> None:
    account.apply(WITH_BOB, RESELLER)
    account.inbox()
    to_bob = WITH_BOB.replace("manager: alice@acme.example", "manager: bob@acme.example")
    with_carol = to_bob + "  - {email: carol@acme.example, first_name: Carol, last_name: Smith}\n"
    account.file.write_text(with_carol)
    result = account.run(
        "apply", str(account.file), "--actor", "alice@acme.example", "--auto-approve", "--request"
    )
    assert result.exit_code == 0, result.output
    assert f"Requested contract.manager_change 110001234567 from {RESELLER}.\n" in result.output
    assert "Apply complete: 1 added, 0 changed, 0 removed. The store is at revision 2.\n" in result.output
    [contract] = open_store(account.url).snapshot().state.contracts
    assert contract.manager == "alice@acme.example", "a request changes nothing"
    inbox = account.inbox()
    assert subjects(inbox) == {
        "carol@acme.example": ["You are invited to your company's licence account"],
        RESELLER: ["Request from alice@acme.example: changing the Contract Manager of contract 110001234567"],
    }
    request = inbox[RESELLER][0].text
    assert (
        "- Changing the Contract Manager of contract 110001234567 (contract.manager_change 110001234567: "
        "manager alice@acme.example → bob@acme.example)" in request
    )
    again = account.run(
        "apply", str(account.file), "--actor", "alice@acme.example", "--auto-approve", "--request"
    )
    assert again.exit_code == 0, again.output
    assert account.inbox() == {}, "the same request is not sent twice"
    assert (
        f"Already requested contract.manager_change 110001234567 from {RESELLER}: asked before, "
        "so not asked again.\n" in again.output
    )
    assert "Requested contract.manager_change" not in again.output
    assert "Queued" not in again.output and "Sent" not in again.output
    assert "No e-mail queued: the outbox already holds the 1 message this apply would send.\n" in again.output


def test_removing_a_coordinator_from_all_hands_his_serials_back(account: Account) -> None:
    two_serials = WITH_BOB.replace(
        "seats: 2, group: Design Studio}", "seats: 2, group: Design Studio, coordinator: bob@acme.example}"
    )
    account.apply(two_serials, RESELLER)
    account.inbox()
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
    assert subjects(account.inbox()) == {"bob@acme.example": ["Your licence account changed (3 changes)"]}


def test_the_coordinator_requests_a_serial_and_the_cm_and_reseller_are_asked(account: Account) -> None:
    account.apply(WITH_BOB, RESELLER)
    account.inbox()
    both = WITH_BOB.replace(
        "seats: 2, group: Design Studio}", "seats: 2, group: Design Studio, coordinator: bob@acme.example}"
    )
    account.file.write_text(both)
    result = account.run(
        "apply", str(account.file), "--actor", "bob@acme.example", "--auto-approve", "--request"
    )
    assert result.exit_code == 0, result.output
    assert (
        f"Requested serial.assign_coordinator 110001234567 399-12345679 from alice@acme.example or {RESELLER}.\n"
        in result.output
    )
    assert account.serial_coordinators()["399-12345679"] is None
    subject = "Request from bob@acme.example: giving serial 399-12345679 to bob@acme.example"
    assert subjects(account.inbox()) == {"alice@acme.example": [subject], RESELLER: [subject]}
