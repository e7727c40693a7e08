"""A request's life: asked with `apply --request`, listed by `reconciler requests`, and closed, its
requester told once, when a later apply makes the change (applied) or makes it moot.

The rules that close a request are pure (engine/requests.py `closings`) and
tested on their own, kind by kind; the rest runs through the command line on
SQLite and PostgreSQL, with the mail read from the outbox, and once over a
real SMTP server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import RESELLER
from mailserver import MailServer
from memory_store import open_any_store

from reconciler.cli import cli
from reconciler.commands.apply import ApplyOptions, run_apply
from reconciler.core.kinds import TABLE, Effect, Kind, Record
from reconciler.core.plan import Action
from reconciler.core.records import MADE, MOOT, Message, RecordedRequest, Request, Snapshot, Source
from reconciler.engine.planner import make_plan
from reconciler.engine.requests import Closing, closings
from reconciler.loading import load_desired_state
from reconciler.notify.requests import compose_closings, compose_requests, whereabouts
from reconciler.report.requests import render_requests, requests_json, requests_markdown

ALICE, BOB, CAROL, DANA = (f"{name}@acme.example" for name in ("alice", "bob", "carol", "dana"))
CONTRACT, AUTOCAD, REVIT = "110001234567", "399-12345678", "399-12345679"

#: Alice is the CM; Bob an SC who may manage users (AutoCAD), Dana one who may not (Revit).
BASE = f"""\
version: 1
contracts:
  - number: "{CONTRACT}"
    manager: {ALICE}
    coordinators:
      - {{email: {BOB}, manage_users: true}}
      - {{email: {DANA}}}
    serials:
      - {{number: "{AUTOCAD}", product: AutoCAD, seats: 3, group: Design Studio, coordinator: {BOB}}}
      - {{number: "{REVIT}", product: Revit, seats: 2, coordinator: {DANA}}}
users:
  - {{email: {ALICE}, first_name: Alice, last_name: Moreau}}
  - {{email: {BOB}, first_name: Bob, last_name: Okafor}}
  - {{email: {CAROL}, first_name: Carol, last_name: Smith}}
  - {{email: {DANA}, first_name: Dana, last_name: Lee}}
"""
#: What the CM asks the reseller for: a new CM, more seats.
TO_BOB_AND_SEATS = BASE.replace(f"manager: {ALICE}", f"manager: {BOB}").replace("seats: 3", "seats: 5")
CAROL_ON_REVIT = BASE.replace(
    "first_name: Carol, last_name: Smith}",
    f'first_name: Carol, last_name: Smith, access: [{{serial: "{REVIT}"}}]}}',
)
CAROL_ON_REVIT_DOWNLOADING = CAROL_ON_REVIT.replace(
    f'serial: "{REVIT}"}}', f'serial: "{REVIT}", download: true}}'
)
MORE_REVIT_SEATS = BASE.replace("seats: 2", "seats: 4")
WITHOUT_REVIT = BASE.replace(
    f'      - {{number: "{REVIT}", product: Revit, seats: 2, coordinator: {DANA}}}\n', ""
)


class Account:
    """A store on one backend and a desired-state file, driven through the CLI."""

    def __init__(self, url: str, folder: Path, env: dict[str, str] | None = None) -> None:
        self.runner = CliRunner()
        self.url, self.folder, self.env = url, folder, env or {}
        self.seen: set[str] = set()
        self.apply(BASE, RESELLER)
        self.new_mail()

    def run(self, *args: str) -> Result:
        return self.runner.invoke(cli, [*args, "--store", self.url], env=self.env)

    def apply(self, text: str, actor: str, *options: str) -> Result:
        path = self.folder / "account.yaml"
        path.write_text(text)
        result = self.run("apply", str(path), "--actor", actor, "--auto-approve", *options)
        assert result.exit_code == 0, result.output
        return result

    def ask(self, text: str, actor: str) -> Result:
        return self.apply(text, actor, "--request")

    def new_mail(self) -> dict[str, list[Message]]:
        """The messages queued since the last call, by recipient."""
        found: dict[str, list[Message]] = {}
        for entry in open_any_store(self.url).outbox():
            if entry.message.message_id not in self.seen:
                self.seen.add(entry.message.message_id)
                found.setdefault(entry.message.to, []).append(entry.message)
        return found

    def requests(self, *options: str) -> list[dict[str, Any]]:
        result = self.run("requests", "--format", "json", *options)
        assert result.exit_code == 0, result.output
        found: list[dict[str, Any]] = json.loads(result.output)["requests"]
        return found


@pytest.fixture
def account(store_url: str, tmp_path: Path) -> Account:
    return Account(store_url, tmp_path)


def subjects(mail: dict[str, list[Message]]) -> dict[str, list[str]]:
    return {to: sorted(m.subject for m in messages) for to, messages in sorted(mail.items())}


def statuses(found: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["kind"], r["requester"], r["status"]) for r in found]


# --- through the command line, on each backend --------------------------------------------------


def test_the_cm_asks_the_reseller_who_applies_it_and_the_cm_hears_once(account: Account) -> None:
    asked = account.ask(TO_BOB_AND_SEATS, ALICE)
    assert f"Requested contract.manager_change {CONTRACT} from {RESELLER}.\n" in asked.output
    [request] = account.new_mail()[RESELLER]
    assert request.text.startswith(f"Hello {RESELLER},\n"), "a reseller who is no user: by address"
    assert "Hello,\n" not in request.text
    assert request.subject == "Request from alice@acme.example: 2 changes to the account"
    opened = account.requests("--open")
    assert sorted(statuses(opened)) == [
        ("contract.manager_change", ALICE, "open"),
        ("serial.seats_change", ALICE, "open"),
    ]
    assert {r["description"] for r in opened} == {
        f"Changing the Contract Manager of contract {CONTRACT}",
        f"Changing the seats of serial {AUTOCAD}",
    }
    assert all(r["requested_of"] == [RESELLER] and r["revision"] == 1 for r in opened)

    applied = account.apply(TO_BOB_AND_SEATS, RESELLER)
    assert "Apply complete: 0 added, 2 changed, 0 removed. The store is at revision 2.\n" in applied.output
    assert (
        f"Closed the request for contract.manager_change {CONTRACT} asked by {ALICE}: applied; the requester "
        "is told by e-mail.\n" in applied.output
    )
    assert (
        f"Closed the request for serial.seats_change {AUTOCAD} asked by {ALICE}: applied;" in applied.output
    )
    mail = account.new_mail()
    assert subjects(mail)[ALICE] == [
        f"Contract {CONTRACT} has a new Contract Manager",
        f"Your request was applied: changing the Contract Manager of contract {CONTRACT}",
        f"Your request was applied: changing the seats of serial {AUTOCAD}",
    ]
    [seats] = [m for m in mail[ALICE] if "seats" in m.subject]
    assert seats.text.startswith("Hello Alice Moreau,\n")
    assert f"Your request to {RESELLER} was applied by {RESELLER} at revision 2:" in seats.text
    assert (
        f"- Changing the seats of serial {AUTOCAD} (serial.seats_change {AUTOCAD}: seats 3 → 5)" in seats.text
    )
    assert "at revision 1. Nothing more to do." in seats.text
    assert account.requests("--open") == []
    closed = account.requests()
    assert [(r["status"], r["closed_revision"]) for r in closed] == [("applied", 2), ("applied", 2)]

    again = account.apply(TO_BOB_AND_SEATS, RESELLER)  # nothing to do: nobody hears anything
    assert "Closed" not in again.output
    account.apply(TO_BOB_AND_SEATS.replace("seats: 2", "seats: 3"), RESELLER)  # a later, other change
    assert "Your request" not in str(subjects(account.new_mail())), "the requester heard once"
    assert [r["status"] for r in account.requests()] == ["applied", "applied"]


def test_an_sc_without_manage_users_asks_the_cm_who_applies_it(account: Account) -> None:
    account.ask(CAROL_ON_REVIT, DANA)
    mail = account.new_mail()
    assert subjects(mail) == {
        ALICE: [f"Request from {DANA}: giving {CAROL} access to serial {REVIT}"],
        RESELLER: [f"Request from {DANA}: giving {CAROL} access to serial {REVIT}"],
    }
    assert mail[ALICE][0].text.startswith("Hello Alice Moreau,\n")
    [opened] = account.requests("--open")
    assert (opened["kind"], opened["requested_of"]) == ("access.grant", [ALICE, RESELLER])
    assert opened["target"] == {"contract": CONTRACT, "serial": REVIT, "user": CAROL}

    account.apply(CAROL_ON_REVIT, ALICE)
    mail = account.new_mail()
    [closure] = mail[DANA]
    assert closure.subject == f"Your request was applied: giving {CAROL} access to serial {REVIT}"
    assert closure.text.startswith("Hello Dana Lee,\n")
    assert f"Your request to {ALICE} or {RESELLER} was applied by {ALICE} at revision 2:" in closure.text
    assert mail[CAROL][0].subject == "Access granted: Revit"
    assert statuses(account.requests()) == [("access.grant", DANA, "applied")]


def test_an_sc_who_manages_users_asks_and_another_change_makes_it_moot(account: Account) -> None:
    account.ask(CAROL_ON_REVIT, BOB)  # Revit is Dana's serial, not Bob's
    assert subjects(account.new_mail())[ALICE] == [
        f"Request from {BOB}: giving {CAROL} access to serial {REVIT}"
    ]
    account.apply(CAROL_ON_REVIT_DOWNLOADING, ALICE)
    [closure] = account.new_mail()[BOB]
    assert closure.subject == f"Your request is no longer needed: giving {CAROL} access to serial {REVIT}"
    assert closure.text.startswith("Hello Bob Okafor,\n")
    assert f"is no longer needed: {ALICE} applied another change at revision 2:" in closure.text
    assert (
        f"- You asked for: Giving {CAROL} access to serial {REVIT} (access.grant {CAROL} on {REVIT})\n"
        in (closure.text)
    )
    assert (
        f"- Applied instead: Giving {CAROL} access to serial {REVIT} (access.grant {CAROL} on {REVIT}: "
        "download yes)\n" in closure.text
    )
    assert "plan it again against the account as it is now" in closure.text
    assert statuses(account.requests()) == [("access.grant", BOB, "moot")]


def test_removing_the_serial_makes_a_request_moot_and_leaves_the_others_open(account: Account) -> None:
    ends = BASE.replace(f"manager: {ALICE}\n", f'manager: {ALICE}\n    ends: "2027-03-31"\n', 1)
    account.ask(MORE_REVIT_SEATS, ALICE)
    account.ask(ends, ALICE)
    account.new_mail()
    account.apply(BASE.replace("seats: 3", "seats: 4"), RESELLER)  # neither record the requests name
    assert "Your request" not in str(subjects(account.new_mail()))
    assert sorted(statuses(account.requests("--open"))) == [
        ("contract.ends_change", ALICE, "open"),
        ("serial.seats_change", ALICE, "open"),
    ]

    removed = account.apply(WITHOUT_REVIT.replace("seats: 3", "seats: 4"), RESELLER)
    assert (
        f"Closed the request for serial.seats_change {REVIT} asked by {ALICE}: no longer needed "
        f"(serial.remove {REVIT}); the requester is told by e-mail.\n" in removed.output
    )
    assert "contract.ends_change" not in removed.output
    [closure] = account.new_mail()[ALICE]
    assert closure.subject == f"Your request is no longer needed: changing the seats of serial {REVIT}"
    assert f"- Applied instead: Removing serial {REVIT} (serial.remove {REVIT})\n" in closure.text
    assert statuses(account.requests("--open")) == [("contract.ends_change", ALICE, "open")]
    [moot] = [r for r in account.requests() if r["status"] == "moot"]
    assert (moot["kind"], moot["closed_revision"]) == ("serial.seats_change", 3)


def test_the_same_change_asked_on_two_days_is_closed_twice_and_told_once(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Tomorrow(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Tomorrow:
            return cls(2099, 1, 2, tzinfo=UTC)

    account.ask(MORE_REVIT_SEATS, ALICE)
    monkeypatch.setattr("reconciler.commands.apply.datetime", Tomorrow)
    account.ask(MORE_REVIT_SEATS, ALICE)  # a reminder: a new request, asked again of the reseller
    assert subjects(account.new_mail()) == {
        RESELLER: [f"Request from {ALICE}: changing the seats of serial {REVIT}"] * 2
    }
    assert statuses(account.requests("--open")) == [("serial.seats_change", ALICE, "open")] * 2

    applied = account.apply(MORE_REVIT_SEATS, RESELLER)
    assert account.requests("--open") == []
    assert [r["status"] for r in account.requests()] == ["applied", "applied"]
    [closure] = account.new_mail()[ALICE]
    assert closure.subject == f"Your request was applied: changing the seats of serial {REVIT}"
    assert closure.text.count("at revision 1") == 2, "asked twice, both named"
    assert "Apply complete" in applied.output


def test_requests_lists_newest_first_in_text_and_says_so_when_there_are_none(account: Account) -> None:
    empty = account.run("requests")
    assert (empty.exit_code, empty.output) == (
        0,
        "No requests yet: `apply --request` records one for each blocked change it asks someone to make.\n",
    )
    account.ask(CAROL_ON_REVIT, DANA)
    time.sleep(1.1)  # the store keeps when each was asked to the second
    account.ask(MORE_REVIT_SEATS, ALICE)
    account.apply(CAROL_ON_REVIT, ALICE)
    text = account.run("requests")
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[0] == f"open     serial.seats_change {REVIT}: seats 2 → 4"
    assert lines[1:4] == [
        f"           Changing the seats of serial {REVIT}",
        f"           asked by {ALICE} of {RESELLER}",
        "           asked at revision 1, " + lines[3].rpartition(", ")[2],
    ]
    assert lines[4] == f"applied  access.grant {CAROL} on {REVIT}"
    assert lines[6] == f"           asked by {DANA} of {ALICE} or {RESELLER}"
    assert lines[8].startswith("           applied at revision 2, ")
    assert lines[-1] == "2 requests: 1 open, 1 applied, 0 no longer needed."
    only_open = account.run("requests", "--open")
    assert only_open.output.splitlines()[-1] == "1 request: 1 open, 0 applied, 0 no longer needed."
    markdown = account.run("requests", "--format", "markdown").output
    assert markdown.startswith("| status | change | asked by | asked of | asked | closed |\n|---|")
    assert "alice@\u200dacme.example" in markdown, "addresses are not autolinked in a comment"


def test_a_closure_mail_arrives_once_over_smtp(
    store_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    account = Account(store_url, tmp_path, {"RECONCILER_SMTP_URL": smtp_server.url})
    account.ask(MORE_REVIT_SEATS, ALICE)
    smtp_server.received.clear()
    account.apply(MORE_REVIT_SEATS, RESELLER)
    again = account.run("notify")
    assert again.exit_code == 0, again.output
    account.apply(MORE_REVIT_SEATS, RESELLER)
    [closure] = smtp_server.to(ALICE)
    assert closure.subject == f"Your request was applied: changing the seats of serial {REVIT}"
    assert closure.text.startswith("Hello Alice Moreau,\n")
    assert (
        f"- Changing the seats of serial {REVIT} (serial.seats_change {REVIT}: seats 2 → 4)" in closure.text
    )
    assert "<p>Hello Alice Moreau,</p>" in closure.html
    assert smtp_server.recipients() == [ALICE]


# --- the apply's source in the mail, and what it cannot inject -----------------------------------

SOURCE = Source(
    commit="1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
    commit_url="https://github.com/acme/licences/commit/1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
    pull_request="https://github.com/acme/licences/pull/7",
    run="https://github.com/acme/licences/actions/runs/42",
    text='<b>deploy</b>\nBcc: eve@evil.example "Monday"',
)


def plan_of(url: str, text: str, actor: str, folder: Path) -> Any:
    path = folder / "desired.yaml"
    path.write_text(text)
    return make_plan(load_desired_state([str(path)]), open_any_store(url).snapshot(), actor)


def test_request_and_closure_mails_say_where_the_change_is(any_store_url: str, tmp_path: Path) -> None:
    store = open_any_store(any_store_url)
    run_apply(store, plan_of(any_store_url, BASE, RESELLER, tmp_path), RESELLER)
    before = {e.message.message_id for e in store.outbox()}
    options = ApplyOptions(request=True, source=SOURCE)
    run_apply(store, plan_of(any_store_url, MORE_REVIT_SEATS, ALICE, tmp_path), ALICE, options)
    [request] = [e.message for e in store.outbox() if e.message.message_id not in before]
    assert (
        "Asked at revision 1. The change is in pull request https://github.com/acme/licences/pull/7, commit "
        "1a2b3c4d5e6f, run https://github.com/acme/licences/actions/runs/42. Its note: "
        '"<b>deploy</b>\ufffdBcc: eve@evil.example "Monday"".\n' in request.text
    ), request.text
    assert "&lt;b&gt;deploy&lt;/b&gt;" in request.html and "<b>deploy" not in request.html
    assert "\nBcc:" not in request.text

    before = {e.message.message_id for e in store.outbox()}
    applied = run_apply(
        store,
        plan_of(any_store_url, MORE_REVIT_SEATS, RESELLER, tmp_path),
        RESELLER,
        ApplyOptions(source=SOURCE),
    )
    [closed] = applied.closed
    assert (closed.outcome, closed.request.kind) == (MADE, Kind.SERIAL_SEATS_CHANGE)
    [closure] = [
        e.message for e in store.outbox() if e.message.message_id not in before and e.message.to == ALICE
    ]
    assert "The change is in pull request https://github.com/acme/licences/pull/7, commit 1a2b3c4d5e6f" in (
        closure.text
    )


def test_a_request_another_apply_closed_meanwhile_is_not_counted_nor_mailed_again(
    any_store_url: str, tmp_path: Path
) -> None:
    store = open_any_store(any_store_url)
    run_apply(store, plan_of(any_store_url, BASE, RESELLER, tmp_path), RESELLER)
    run_apply(
        store, plan_of(any_store_url, MORE_REVIT_SEATS, ALICE, tmp_path), ALICE, ApplyOptions(request=True)
    )
    stale = store.requests(open_only=True)
    first = run_apply(store, plan_of(any_store_url, MORE_REVIT_SEATS, RESELLER, tmp_path), RESELLER)
    assert [c.request.key for c in first.closed] == [stale[0].request.key]
    closures = [e for e in store.outbox() if e.message.subject.startswith("Your request")]
    assert len(closures) == 1

    class Stale:
        """The store, but its snapshot's open requests read before the other apply closed one."""

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        def snapshot(self) -> Snapshot:
            return replace(store.snapshot(), open_requests=stale)

    # An apply that also runs the change (the seats back and forth), judged on that stale list.
    back = run_apply(store, plan_of(any_store_url, BASE, RESELLER, tmp_path), RESELLER)
    assert back.closed == ()
    second = run_apply(Stale(), plan_of(any_store_url, MORE_REVIT_SEATS, RESELLER, tmp_path), RESELLER)  # type: ignore[arg-type]
    assert second.closed == (), "the store had closed it: it closes nothing"
    assert [e for e in store.outbox() if e.message.subject.startswith("Your request")] == closures
    assert second.already_queued == 1, "the closure mail, whose Message-ID the outbox holds"
    [recorded] = store.requests()
    assert (recorded.outcome, recorded.closed_revision) == (MADE, first.revision)


# --- the rules that close a request (pure) --------------------------------------------------------


def request(kind: Kind, target: dict[str, str], after: dict[str, Any] | None, before: Any = None) -> Request:
    return Request(
        f"key-{kind}-{sorted(target.items())}-{after}", DANA, kind, target, before, after, (ALICE,)
    )


def action(kind: Kind, target: dict[str, str], after: dict[str, Any] | None, before: Any = None) -> Action:
    return Action(kind, target, before, after)


SERIAL_T = {"contract": CONTRACT, "serial": REVIT}
ACCESS_T = {"contract": CONTRACT, "serial": REVIT, "user": CAROL}
COORD_T = {"contract": CONTRACT, "coordinator": BOB}
TEAM_ACCESS_T = {"team": "Design", "contract": CONTRACT, "serial": REVIT}
MEMBER_T = {"team": "Design", "user": CAROL}

#: A request on each kind of record, as a non-reseller may be blocked on any kind: target and after.
REQUESTED = {
    Kind.CONTRACT_MANAGER_CHANGE: ({"contract": CONTRACT}, {"manager": BOB}),
    Kind.CONTRACT_ENDS_CHANGE: ({"contract": CONTRACT}, {"ends": "2027-03-31"}),
    Kind.SERIAL_SEATS_CHANGE: (SERIAL_T, {"seats": 4}),
    Kind.SERIAL_PRODUCT_CHANGE: (SERIAL_T, {"product": "Revit LT"}),
    Kind.SERIAL_ASSIGN_COORDINATOR: (SERIAL_T, {"coordinator": BOB}),
    Kind.SERIAL_RENAME_GROUP: (SERIAL_T, {"group": "Studio"}),
    Kind.ACCESS_GRANT: (ACCESS_T, {"download": False, "via": ["direct"]}),
    Kind.ACCESS_UPDATE: (ACCESS_T, {"download": True, "via": ["direct"]}),
    Kind.COORDINATOR_UPDATE: (COORD_T, {"manage_users": True}),
    Kind.USER_UPDATE: ({"user": CAROL}, {"first_name": "Caroline", "last_name": "Smith"}),
    Kind.TEAM_ACCESS_GRANT: (TEAM_ACCESS_T, {"download": False}),
    Kind.TEAM_MEMBER_ADD: (MEMBER_T, {}),
    Kind.TEAM_UPDATE: ({"team": "Design"}, {"description": "Oslo"}),
}


@pytest.mark.parametrize("kind", sorted(REQUESTED), ids=str)
def test_the_same_change_closes_a_request_as_applied_and_another_as_moot(kind: Kind) -> None:
    target, after = REQUESTED[kind]
    asked = request(kind, target, after)
    same = action(kind, dict(target), json.loads(json.dumps(after)))
    assert closings([asked], [same]) == [Closing(asked, MADE, same)]
    other = action(kind, dict(target), {**after, "other": 1})
    assert closings([asked], [other]) == [Closing(asked, MOOT, other)]
    elsewhere = action(kind, {**target, **{k: "other" for k in kind.record.keys}}, after)
    assert closings([asked], [elsewhere]) == [], "the same change to another record closes nothing"


def test_every_kind_of_record_is_one_a_request_may_be_on() -> None:
    assert {kind.record for kind in REQUESTED} == set(Record)
    assert all(TABLE[kind].effect is not Effect.REMOVE for kind in REQUESTED)


def test_a_requested_removal_is_applied_by_the_removal_even_beside_the_users(monkeypatch: Any) -> None:
    asked = request(Kind.ACCESS_REVOKE, ACCESS_T, None, {"download": False})
    revoke = action(Kind.ACCESS_REVOKE, ACCESS_T, None, {"download": False})
    gone = action(Kind.USER_REMOVE, {"user": CAROL}, None, {"first_name": "Carol"})
    assert closings([asked], [revoke, gone]) == [Closing(asked, MADE, revoke)]


REMOVALS = {
    "contract.remove": action(Kind.CONTRACT_REMOVE, {"contract": CONTRACT}, None),
    "serial.remove": action(Kind.SERIAL_REMOVE, SERIAL_T, None),
    "user.remove carol": action(Kind.USER_REMOVE, {"user": CAROL}, None),
    "user.remove bob": action(Kind.USER_REMOVE, {"user": BOB}, None),
    "coordinator.remove bob": action(Kind.COORDINATOR_REMOVE, COORD_T, None),
    "access.revoke": action(Kind.ACCESS_REVOKE, ACCESS_T, None),
    "team.remove": action(Kind.TEAM_REMOVE, {"team": "Design"}, None),
    "team.member_remove": action(Kind.TEAM_MEMBER_REMOVE, MEMBER_T, None),
    "team.access_revoke": action(Kind.TEAM_ACCESS_REVOKE, TEAM_ACCESS_T, None),
}

#: For each requested kind, the removals that make it moot; every other removal leaves it open.
MOOTED_BY = {
    Kind.CONTRACT_MANAGER_CHANGE: {"contract.remove", "user.remove bob"},  # Bob was to be the CM
    Kind.CONTRACT_ENDS_CHANGE: {"contract.remove"},
    Kind.SERIAL_SEATS_CHANGE: {"contract.remove", "serial.remove"},
    Kind.SERIAL_PRODUCT_CHANGE: {"contract.remove", "serial.remove"},
    # Bob was to coordinate it: without his role on the contract, or without him, it cannot be.
    Kind.SERIAL_ASSIGN_COORDINATOR: {
        "contract.remove",
        "serial.remove",
        "user.remove bob",
        "coordinator.remove bob",
    },
    Kind.SERIAL_RENAME_GROUP: {"contract.remove", "serial.remove"},
    Kind.ACCESS_GRANT: {"contract.remove", "serial.remove", "user.remove carol", "access.revoke"},
    Kind.ACCESS_UPDATE: {"contract.remove", "serial.remove", "user.remove carol", "access.revoke"},
    Kind.COORDINATOR_UPDATE: {"contract.remove", "user.remove bob", "coordinator.remove bob"},
    Kind.USER_UPDATE: {"user.remove carol"},
    Kind.TEAM_ACCESS_GRANT: {"contract.remove", "serial.remove", "team.remove", "team.access_revoke"},
    Kind.TEAM_MEMBER_ADD: {"user.remove carol", "team.remove", "team.member_remove"},
    Kind.TEAM_UPDATE: {"team.remove"},
}


@pytest.mark.parametrize("kind", sorted(REQUESTED), ids=str)
def test_a_removal_of_the_record_or_what_holds_it_makes_a_request_moot(kind: Kind) -> None:
    target, after = REQUESTED[kind]
    asked = request(kind, target, after)
    for name, removal in REMOVALS.items():
        expected = [Closing(asked, MOOT, removal)] if name in MOOTED_BY[kind] else []
        assert closings([asked], [removal]) == expected, name


def test_handing_a_serial_back_makes_a_request_to_give_it_moot() -> None:
    asked = request(Kind.SERIAL_ASSIGN_COORDINATOR, SERIAL_T, {"coordinator": BOB})
    back = action(Kind.SERIAL_UNASSIGN_COORDINATOR, SERIAL_T, {"coordinator": None})
    assert closings([asked], [back]) == [Closing(asked, MOOT, back)]


def test_blocked_actions_close_nothing_and_open_requests_keep_their_order() -> None:
    first = request(Kind.SERIAL_SEATS_CHANGE, SERIAL_T, {"seats": 4})
    second = request(Kind.CONTRACT_ENDS_CHANGE, {"contract": CONTRACT}, {"ends": "2027-03-31"})
    untouched = request(Kind.USER_UPDATE, {"user": CAROL}, {"first_name": "C"})
    ends = action(Kind.CONTRACT_ENDS_CHANGE, {"contract": CONTRACT}, {"ends": "2027-03-31"})
    seats = action(Kind.SERIAL_SEATS_CHANGE, SERIAL_T, {"seats": 4})
    assert closings([first, second, untouched], [ends, seats]) == [
        Closing(first, MADE, seats),
        Closing(second, MADE, ends),
    ]
    assert closings([], [ends]) == [] and closings([first], []) == []
    assert Closing(first, MADE, seats).closure.key == first.key


# --- the mails and the list, composed -------------------------------------------------------------


def test_the_source_is_worded_as_far_as_it_is_known() -> None:
    assert whereabouts(None) == "" and whereabouts(Source()) == ""
    assert whereabouts(Source(commit="abcdef0123456789", commit_url="https://x.example/c/abcdef")) == (
        "The change is in commit https://x.example/c/abcdef."
    )
    assert whereabouts(Source(text="deploy of Monday")) == 'Its note: "deploy of Monday".'


def test_a_closure_message_id_is_the_same_each_time_and_per_request(tmp_path: Path) -> None:
    url = "memory://closure-ids"
    store = open_any_store(url)
    store.initialize([RESELLER])
    run_apply(store, plan_of(url, BASE, RESELLER, tmp_path), RESELLER)
    plan = plan_of(url, MORE_REVIT_SEATS, RESELLER, tmp_path)
    asked = request(Kind.SERIAL_SEATS_CHANGE, SERIAL_T, {"seats": 4})
    other = replace(asked, key="another")
    recorded = {r.key: RecordedRequest(r, 1, "2099-01-01T10:00:00+00:00") for r in (asked, other)}
    [seats] = plan.actions
    one = compose_closings([Closing(asked, MADE, seats)], recorded, plan)
    assert one == compose_closings([Closing(asked, MADE, seats)], recorded, plan)
    assert one[0].message_id != compose_closings([Closing(other, MADE, seats)], recorded, plan)[0].message_id
    assert one[0].text.startswith(f"Hello {DANA},"), "no snapshot, no name: the address"
    assert one[0].kind == "request"


def test_a_name_cannot_inject_into_a_request_mail(any_store_url: str, tmp_path: Path) -> None:
    store = open_any_store(any_store_url)
    run_apply(store, plan_of(any_store_url, BASE, RESELLER, tmp_path), RESELLER)
    snapshot = store.snapshot()
    users = tuple(
        replace(u, first_name="<img src=x>", last_name="Moreau\nBcc: eve@evil.example")
        if u.email == ALICE
        else u
        for u in snapshot.state.users
    )
    snapshot = replace(snapshot, state=replace(snapshot.state, users=users))
    plan = plan_of(any_store_url, MORE_REVIT_SEATS, BOB, tmp_path)
    asked = [request(Kind.SERIAL_SEATS_CHANGE, SERIAL_T, {"seats": 4})]
    asked = [replace(asked[0], requested_of=(ALICE,))]
    [message] = compose_requests(plan, asked, snapshot)
    assert message.text.startswith("Hello <img src=x> Moreau\ufffdBcc: eve@evil.example,\n")
    assert "<p>Hello &lt;img src=x&gt; Moreau\ufffdBcc: eve@evil.example,</p>" in message.html


def test_the_reports_of_no_open_request_and_json() -> None:
    assert list(render_requests([], open_only=True)) == [
        "No open requests: nothing asked with `apply --request` is waiting to be made."
    ]
    asked = request(Kind.SERIAL_SEATS_CHANGE, SERIAL_T, {"seats": 4}, {"seats": 2})
    older = RecordedRequest(asked, 1, "2099-01-01T10:00:00+00:00", MOOT, 3, "2099-01-03T10:00:00+00:00")
    newer = RecordedRequest(replace(asked, key="k2"), 2, "2099-01-02T10:00:00+00:00")
    data = json.loads(requests_json([older, newer]))
    assert data["format_version"] == 1
    assert data["summary"] == {"open": 1, "applied": 0, "moot": 1}
    assert [(r["key"], r["status"], r["closed_revision"]) for r in data["requests"]] == [
        ("k2", "open", None),
        (asked.key, "moot", 3),
    ]
    assert data["requests"][1]["description"] == f"Changing the seats of serial {REVIT}"
    text = list(render_requests([older, newer]))
    assert (
        text[0].startswith("open  ")
        and "no longer needed: another change was applied at revision 3" in text[-3]
    )
    assert "| no longer needed |" in requests_markdown([older])
