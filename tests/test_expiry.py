"""Access that ends by itself: `expires` on a user's grant, a team member and a user, judged by `--today`.

Each test applies an account on the day before something ends, then plans it on the day after, on
SQLite and PostgreSQL, through the command line as a user runs it: exactly what ended is taken away,
each removal with its reason, and nothing else changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import RESELLER, WriteYaml

from reconciler.cli import cli

ACCOUNT = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    ends: 2027-12-31
    coordinators:
      - email: bob@acme.example
        manage_users: true
      - email: sam@acme.example
    serials:
      - number: "399-12345678"
        product: AutoCAD
        seats: 10
        coordinator: bob@acme.example
      - number: "399-12345679"
        product: Revit
        seats: 10
        coordinator: sam@acme.example
users:
  - email: alice@acme.example
    first_name: Alice
    last_name: Moreau
  - email: bob@acme.example
    first_name: Bob
    last_name: Okafor
  - email: sam@acme.example
    first_name: Sam
    last_name: Ng
  - email: carol@acme.example
    first_name: Carol
    last_name: Smith
    access:
      - serial: "399-12345678"
        download: true
        expires: 2027-01-15
      - serial: "399-12345679"
  - email: dan@acme.example
    first_name: Dan
    last_name: Diaz
    expires: "2027-02-01"
    access:
      - serial: "399-12345678"
  - email: eve@acme.example
    first_name: Eve
    last_name: Evans
  - email: fay@acme.example
    first_name: Fay
    last_name: Fox
    access:
      - serial: "399-12345678"
      - serial: "399-12345679"
teams:
  - name: Temps
    members:
      - {email: eve@acme.example, expires: 2027-03-01}
      - dan@acme.example
      - fay@acme.example
    access:
      - serial: "399-12345679"
"""

CM, SC, SC_WITHOUT = "alice@acme.example", "bob@acme.example", "sam@acme.example"


def _run(runner: CliRunner, args: list[str], store_url: str, actor: str = RESELLER) -> Any:
    return runner.invoke(cli, [*args, "--store", store_url, "--actor", actor])


def _plan(runner: CliRunner, path: Path, store_url: str, today: str, actor: str = RESELLER) -> dict[str, Any]:
    result = _run(
        runner,
        ["plan", str(path), "--today", today, "--format", "json", "--max-removal-ratio", "1"],
        store_url,
        actor,
    )
    assert result.exit_code in (0, 3), result.output
    plan: dict[str, Any] = json.loads(result.stdout)
    return plan


def _changes(plan: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """Each action as (kind, its target's values, its reason), in the plan's order."""
    return [
        (a["kind"], " ".join(a["target"][key] for key in sorted(a["target"])), a.get("reason"))
        for a in plan["actions"]
    ]


@pytest.fixture
def applied(runner: CliRunner, write_yaml: WriteYaml, store_url: str) -> Path:
    """The account, applied on 2027-01-15: the last day of Carol's AutoCAD; nothing has ended yet."""
    path = write_yaml(ACCOUNT)
    result = _run(runner, ["apply", str(path), "--today", "2027-01-15", "--auto-approve"], store_url)
    assert result.exit_code == 0, result.output
    assert _plan(runner, path, store_url, "2027-01-15")["actions"] == []
    return path


def test_on_the_day_after_exactly_the_expired_grant_is_revoked_with_its_reason(
    runner: CliRunner, applied: Path, store_url: str
) -> None:
    plan = _plan(runner, applied, store_url, "2027-01-16")
    assert _changes(plan) == [
        ("access.revoke", "110001234567 399-12345678 carol@acme.example", "expired 2027-01-15")
    ]
    assert plan["actions"][0]["expired"] == "2027-01-15"
    assert plan["actions"][0]["before"] == {"download": True, "via": ["direct"], "expires": "2027-01-15"}
    assert plan["actions"][0]["notifications"] == [{"to": "carol@acme.example", "event": "access.revoked"}]
    text = _run(runner, ["plan", str(applied), "--today", "2027-01-16"], store_url)
    assert text.exit_code == 0, text.output
    assert "expired 2027-01-15" in text.output
    result = _run(runner, ["apply", str(applied), "--today", "2027-01-16", "--auto-approve"], store_url)
    assert result.exit_code == 0, result.output
    # The file still lists the ended grant; the store no longer holds it, and nothing is planned.
    assert _plan(runner, applied, store_url, "2027-01-16")["actions"] == []


def test_a_team_member_leaves_the_team_with_the_access_only_it_gave(
    runner: CliRunner, applied: Path, store_url: str
) -> None:
    plan = _plan(runner, applied, store_url, "2027-03-02")
    ended = [change for change in _changes(plan) if "eve@" in change[1]]
    assert ended == [
        ("team.member_remove", "Temps eve@acme.example", "expired 2027-03-01"),
        ("access.revoke", "110001234567 399-12345679 eve@acme.example", "expired 2027-03-01"),
    ]
    # Fay stays in the team, and her own Revit grant beside it is untouched.
    assert not [change for change in _changes(plan) if "fay@" in change[1]]


def test_a_user_who_expires_is_removed_with_every_grant_and_membership(
    runner: CliRunner, applied: Path, store_url: str
) -> None:
    plan = _plan(runner, applied, store_url, "2027-02-02")
    reason = "expired 2027-02-01"
    assert sorted(change for change in _changes(plan) if "dan@" in change[1]) == [
        ("access.revoke", "110001234567 399-12345678 dan@acme.example", reason),
        ("access.revoke", "110001234567 399-12345679 dan@acme.example", reason),
        ("team.member_remove", "Temps dan@acme.example", reason),
        ("user.remove", "dan@acme.example", reason),
    ]
    # Carol's grant ended before, and nothing else did.
    assert {change[1].split()[-1] for change in _changes(plan)} == {"carol@acme.example", "dan@acme.example"}
    result = _run(
        runner,
        ["apply", str(applied), "--today", "2027-02-02", "--auto-approve", "--allow-mass-removal"],
        store_url,
    )
    assert result.exit_code == 0, result.output
    assert _plan(runner, applied, store_url, "2027-02-02")["actions"] == []


def test_the_removal_guard_counts_what_expired(runner: CliRunner, applied: Path, store_url: str) -> None:
    # Past every date: Carol's grant, Dan and his two, Eve's: 4 of the store's 7 grants.
    result = _run(runner, ["apply", str(applied), "--today", "2027-06-01", "--auto-approve"], store_url)
    assert result.exit_code == 1, result.output
    assert "removes 4 of the 7 access grants in the store (57%)" in result.output


def test_moving_a_date_is_a_change_of_the_record_and_sends_no_mail(
    runner: CliRunner, applied: Path, store_url: str
) -> None:
    moved = ACCOUNT.replace("expires: 2027-01-15", "expires: 2027-01-31").replace(
        "expires: 2027-03-01", "expires: 2027-04-01"
    )
    moved = moved.replace('    expires: "2027-02-01"\n', "")
    applied.write_text(moved)
    plan = _plan(runner, applied, store_url, "2027-01-16")
    records = {(a["kind"], a["target"].get("user")): (a["before"], a["after"]) for a in plan["actions"]}
    assert records == {
        ("user.update", "dan@acme.example"): (
            {"first_name": "Dan", "last_name": "Diaz", "expires": "2027-02-01"},
            {"first_name": "Dan", "last_name": "Diaz"},
        ),
        ("team.member_update", "eve@acme.example"): ({"expires": "2027-03-01"}, {"expires": "2027-04-01"}),
        ("access.update", "carol@acme.example"): (
            {"download": True, "via": ["direct"], "expires": "2027-01-15"},
            {"download": True, "via": ["direct"], "expires": "2027-01-31"},
        ),
    }
    assert all(a["notifications"] == [] and "reason" not in a for a in plan["actions"])


@pytest.mark.parametrize(
    ("actor", "permitted"),
    [(RESELLER, True), (CM, True), (SC, True), (SC_WITHOUT, False)],
    ids=["reseller", "contract-manager", "coordinator-managing-users", "coordinator-not-managing-users"],
)
def test_each_role_may_let_a_grant_end_as_it_may_revoke_it(
    runner: CliRunner, applied: Path, store_url: str, actor: str, permitted: bool
) -> None:
    plan = _plan(runner, applied, store_url, "2027-01-16", actor)
    [action] = plan["actions"]
    assert (action["kind"], action["expired"], action["permitted"]) == (
        "access.revoke",
        "2027-01-15",
        permitted,
    )
    if permitted:
        assert action["reason"] == "expired 2027-01-15"
        return
    # Blocked: the reason says who may, as for any revoke; that it expired is still said.
    assert action["reason"].startswith("only the coordinator of serial 399-12345678")
    text = _run(runner, ["plan", str(applied), "--today", "2027-01-16"], store_url, actor)
    assert text.exit_code == 3, text.output
    assert "2027-01-15" in text.output
    requested = _run(
        runner,
        ["apply", str(applied), "--today", "2027-01-16", "--auto-approve", "--request"],
        store_url,
        actor,
    )
    assert requested.exit_code == 0, requested.output
    listed = runner.invoke(cli, ["requests", "--format", "json", "--store", store_url])
    assert listed.exit_code == 0, listed.output
    [request] = json.loads(listed.stdout)["requests"]
    assert (request["kind"], request["target"]["user"]) == ("access.revoke", "carol@acme.example")


def test_a_saved_plan_keeps_each_reason_and_applies(
    runner: CliRunner, applied: Path, store_url: str, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    result = _run(
        runner,
        ["plan", str(applied), "--today", "2027-03-02", "--out", str(saved), "--max-removal-ratio", "1"],
        store_url,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(saved.read_text())
    assert data["format_version"] == 7
    assert {a["expired"] for a in data["actions"]} == {"2027-01-15", "2027-02-01", "2027-03-01"}
    shown = runner.invoke(cli, ["show", str(saved)])
    assert shown.exit_code == 0, shown.output
    assert "expired 2027-03-01" in shown.output
    result = _run(runner, ["apply", str(saved), "--auto-approve", "--allow-mass-removal"], store_url)
    assert result.exit_code == 0, result.output
    assert _plan(runner, applied, store_url, "2027-03-02")["actions"] == []


def test_the_same_day_gives_the_same_plan_byte_for_byte(
    runner: CliRunner, applied: Path, store_url: str
) -> None:
    args = ["plan", str(applied), "--today", "2027-03-02", "--format", "json", "--max-removal-ratio", "1"]
    first, second = _run(runner, args, store_url), _run(runner, args, store_url)
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
