"""A user known by the directory's id keeps it, and a new e-mail address from the directory is one
`user.change_email`: the same person at a new address, with every role, team and grant they had.

The account, on every store: Ann (directory id ANN_ID) is the Contract Manager of contract A, the
Software Coordinator of B's serial (with `manage_users`), a member of team Studio (which gives B's
serial) and holds a grant of her own on A's serial. Frank is B's CM; Carl an SC of B who may manage
users, Erin one who may not; Bob an end user in Studio. The directory then gives Ann the address
ann.lee@.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import RESELLER, apply_yaml, plan_yaml
from memory_store import open_any_store

from reconciler.cli import cli
from reconciler.commands.apply import run_apply
from reconciler.core.errors import PlanFileError, UnsupportedChange
from reconciler.core.kinds import Effect, Kind
from reconciler.core.model import DesiredState, Grant, User, build_state
from reconciler.core.plan import Action
from reconciler.engine.drift import find_drift
from reconciler.engine.integrity import check_saved
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.report.yaml import part_yaml

A, B = "110001234567", "220001234567"
A1, B1 = "399-10000001", "399-20000001"
ANN, NEW = "ann@acme.example", "ann.lee@acme.example"
BOB, CARL, ERIN, FRANK = "bob@acme.example", "carl@acme.example", "erin@acme.example", "frank@acme.example"
STRANGER = "nobody@elsewhere.example"
ANN_ID, BOB_ID, CARL_ID, FRANK_ID = "0b6a5c1e-ann", "0b6a5c1e-bob", "0b6a5c1e-carl", "0b6a5c1e-frank"

ACCOUNT = f"""\
version: 1
contracts:
  - number: "{A}"
    manager: {ANN}
    serials:
      - {{number: "{A1}", product: AutoCAD, seats: 3}}
  - number: "{B}"
    manager: {FRANK}
    coordinators:
      - {{email: {ANN}, manage_users: true, shipping: {{name: Acme HQ, address: "1 Main St", country: US}}}}
      - {{email: {ERIN}}}
      - {{email: {CARL}, manage_users: true}}
    serials:
      - {{number: "{B1}", product: Revit, seats: 2, group: Design, coordinator: {ANN}}}
users:
  - email: {ANN}
    id: {ANN_ID}
    first_name: Ann
    last_name: Lee
    access: [{{serial: "{A1}", download: true}}]
  - {{email: {BOB}, id: {BOB_ID}, first_name: Bob, last_name: Okafor}}
  - {{email: {CARL}, id: {CARL_ID}, first_name: Carl, last_name: Berg}}
  - {{email: {ERIN}, first_name: Erin, last_name: Weiss}}
  - {{email: {FRANK}, id: {FRANK_ID}, first_name: Frank, last_name: Ndiaye}}
teams:
  - name: Studio
    members: [{ANN}, {BOB}]
    access: [{{serial: "{B1}"}}]
  - name: Night shift
"""
#: The directory gave Ann a new address; the account names her by it everywhere.
MOVED = ACCOUNT.replace(ANN, NEW)
#: The directory gave Bob a new address: an end user, whom an SC who may manage users may change.
BOB_NEW = "bob.okafor@acme.example"
BOB_MOVED = ACCOUNT.replace(BOB, BOB_NEW)


def state_of(text: str) -> DesiredState:
    return build_state([parse(Source("desired.yaml", text.encode())).document])


def change_email(old: str, new: str, directory_id: str) -> tuple[Kind, dict[str, str], object, object]:
    return (
        Kind.USER_CHANGE_EMAIL,
        {"user": old},
        {"email": old, "id": directory_id},
        {"email": new, "id": directory_id},
    )


def shown(action: Action) -> tuple[Kind, dict[str, str], object, object]:
    return action.kind, dict(action.target), action.before, action.after


# --- the plan and the store, on every store --------------------------------------------------------


def test_a_new_address_is_one_change_and_the_user_keeps_every_role_team_and_grant(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    store = open_any_store(any_store_url)
    store.activate_users([ANN], RESELLER)
    before = store.snapshot()

    plan = plan_yaml(any_store_url, MOVED)
    assert [shown(action) for action in plan.actions] == [change_email(ANN, NEW, ANN_ID)]
    (action,) = plan.actions
    assert action.effect is Effect.CHANGE
    assert action.notifications == ()  # no invitation, and no access changed
    assert (action.requires, action.permitted) == ("contract_manager", True)  # Ann is a CM
    assert plan.summary() == {"add": 0, "change": 1, "remove": 0, "blocked": 0}

    run_apply(store, plan, RESELLER)
    after = store.snapshot()
    assert [(u.email, u.id) for u in after.state.users] == [
        (NEW, ANN_ID),
        (BOB, BOB_ID),
        (CARL, CARL_ID),
        (ERIN, None),
        (FRANK, FRANK_ID),
    ]
    (ann,) = [u for u in after.state.users if u.email == NEW]
    assert (ann.first_name, ann.last_name, [(a.serial, a.download) for a in ann.access]) == (
        "Ann",
        "Lee",
        [(A1, True)],
    )
    # Still the person who signed in, when she was first added: not a new, invited user.
    assert after.user_status[NEW] == "active" and ANN not in after.user_status
    assert after.user_added[NEW] == before.user_added[ANN]
    contract_a, contract_b = after.state.contracts
    assert contract_a.manager == NEW
    assert [(k.email, k.manage_users, k.shipping is not None) for k in contract_b.coordinators] == [
        (NEW, True, True),
        (CARL, True, False),
        (ERIN, False, False),
    ]
    assert contract_b.serials[0].coordinator == NEW
    assert {t.name: t.members for t in after.state.teams} == {"Night shift": (), "Studio": (NEW, BOB)}
    assert after.grants == {
        (NEW, A1): Grant(True, ("direct",), True),
        (BOB, B1): Grant(False, ("team:Studio",)),
        (NEW, B1): Grant(False, ("team:Studio",)),
    }
    assert [entry for entry in store.outbox() if entry.revision == after.revision] == []  # no e-mail

    assert plan_yaml(any_store_url, MOVED).actions == ()
    assert not find_drift(state_of(MOVED), after, datetime.now(UTC)).found


def test_a_new_address_and_new_names_are_a_change_of_address_then_an_update(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    renamed = MOVED.replace("first_name: Ann\n    last_name: Lee", "first_name: Ann\n    last_name: Lee-Berg")
    plan = plan_yaml(any_store_url, renamed)
    assert [shown(action) for action in plan.actions] == [
        change_email(ANN, NEW, ANN_ID),
        (
            Kind.USER_UPDATE,
            {"user": NEW},
            {"first_name": "Ann", "last_name": "Lee", "id": ANN_ID},
            {"first_name": "Ann", "last_name": "Lee-Berg", "id": ANN_ID},
        ),
    ]
    run_apply(open_any_store(any_store_url), plan, RESELLER)
    assert plan_yaml(any_store_url, renamed).actions == ()


def test_the_first_pull_teaches_the_store_each_id_by_an_update(any_store_url: str) -> None:
    without_ids = ACCOUNT.replace(f"id: {ANN_ID}\n    ", "").replace(f", id: {BOB_ID}", "")
    apply_yaml(any_store_url, without_ids)
    plan = plan_yaml(any_store_url, ACCOUNT)
    assert [shown(action) for action in plan.actions] == [
        (
            Kind.USER_UPDATE,
            {"user": ANN},
            {"first_name": "Ann", "last_name": "Lee"},
            {"first_name": "Ann", "last_name": "Lee", "id": ANN_ID},
        ),
        (
            Kind.USER_UPDATE,
            {"user": BOB},
            {"first_name": "Bob", "last_name": "Okafor"},
            {"first_name": "Bob", "last_name": "Okafor", "id": BOB_ID},
        ),
    ]
    assert all(action.notifications == () for action in plan.actions)
    run_apply(open_any_store(any_store_url), plan, RESELLER)
    users = open_any_store(any_store_url).snapshot().state.users
    assert {u.email: u.id for u in users}[ANN] == ANN_ID
    # The id known, the next change of address is one change.
    assert [shown(a) for a in plan_yaml(any_store_url, MOVED).actions] == [change_email(ANN, NEW, ANN_ID)]


def test_a_user_whose_id_the_yaml_drops_has_it_dropped_from_the_store(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    without = ACCOUNT.replace(f", id: {BOB_ID}", "")
    plan = plan_yaml(any_store_url, without)
    assert [shown(action) for action in plan.actions] == [
        (
            Kind.USER_UPDATE,
            {"user": BOB},
            {"first_name": "Bob", "last_name": "Okafor", "id": BOB_ID},
            {"first_name": "Bob", "last_name": "Okafor", "id": None},
        )
    ]
    run_apply(open_any_store(any_store_url), plan, RESELLER)
    assert {u.email: u.id for u in open_any_store(any_store_url).snapshot().state.users}[BOB] is None
    assert plan_yaml(any_store_url, without).actions == ()


@pytest.mark.parametrize(
    ("taken", "whose"), [(ERIN, "no directory id"), (FRANK, f"id {FRANK_ID}")], ids=["without id", "with id"]
)
def test_an_address_another_user_holds_is_refused_naming_both(
    any_store_url: str, taken: str, whose: str
) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    # The directory gives Bob's id the address of someone the store holds, who is not in the YAML.
    text = ACCOUNT.replace(BOB, taken)
    text = "\n".join(
        line for line in text.split("\n") if not line.startswith(f"  - {{email: {taken}, ") or BOB_ID in line
    )
    with pytest.raises(UnsupportedChange) as raised:
        plan_yaml(any_store_url, text)
    assert str(raised.value) == (
        f"user {BOB_ID} changes e-mail from {BOB} to {taken}, and the store holds {taken} for another user "
        f"({whose}): free that address in one change (remove that user or change their address), "
        "then plan this one"
    )


def test_a_new_user_may_take_the_old_address_after_the_change(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    text = MOVED.replace(
        f"  - {{email: {BOB}",
        f"  - {{email: {ANN}, id: 77-another-ann, first_name: Ann, last_name: Berg}}\n  - {{email: {BOB}",
    )
    plan = plan_yaml(any_store_url, text)
    assert [(a.kind, dict(a.target)) for a in plan.actions] == [
        (Kind.USER_CHANGE_EMAIL, {"user": ANN}),
        (Kind.USER_ADD, {"user": ANN}),
    ]
    run_apply(open_any_store(any_store_url), plan, RESELLER)
    users = open_any_store(any_store_url).snapshot().state.users
    assert {u.email: u.id for u in users if u.email in (ANN, NEW)} == {ANN: "77-another-ann", NEW: ANN_ID}


def test_unmanaged_users_kept_do_not_keep_the_old_address(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    text = MOVED.replace("version: 1\n", "version: 1\nunmanaged_users: keep\n")
    plan = plan_yaml(any_store_url, text)
    assert [shown(action) for action in plan.actions] == [change_email(ANN, NEW, ANN_ID)]
    assert plan.unmanaged == ()


def test_a_target_of_either_address_takes_the_change(any_store_url: str) -> None:
    from reconciler.core.model import build_state as build
    from reconciler.engine.planner import PlanOptions, make_plan

    apply_yaml(any_store_url, ACCOUNT)
    snapshot = open_any_store(any_store_url).snapshot()
    for target in (f"user:{NEW}", f"user:{ANN}"):
        plan = make_plan(build([_document(MOVED)]), snapshot, RESELLER, PlanOptions(targets=(target,)))
        assert [shown(action) for action in plan.actions] == [change_email(ANN, NEW, ANN_ID)]


def _document(text: str) -> dict[str, object]:
    return dict(parse(Source("desired.yaml", text.encode())).document)


# --- mail: what concerns the user later in the plan goes to the new address ------------------------


def test_the_users_mail_goes_to_the_new_address(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    store = open_any_store(any_store_url)
    # Ann's own grant gains download rights; the group of the serial she coordinates is renamed.
    text = MOVED.replace(f'access: [{{serial: "{A1}", download: true}}]', f'access: [{{serial: "{A1}"}}]')
    text = text.replace("group: Design", "group: Design Oslo")
    plan = plan_yaml(any_store_url, text)
    assert [(a.kind, [(n.to, n.event.value) for n in a.notifications]) for a in plan.actions] == [
        (Kind.USER_CHANGE_EMAIL, []),
        (Kind.SERIAL_RENAME_GROUP, [(NEW, "group.renamed")]),
        (Kind.ACCESS_UPDATE, [(NEW, "access.changed")]),
    ]
    written = run_apply(store, plan, RESELLER)
    mail = [entry.message for entry in store.outbox() if entry.revision == written.revision]
    assert [(message.to, message.text.splitlines()[0]) for message in mail] == [(NEW, "Hello Ann,")]


# --- the command line: JSON, text, markdown, a saved plan ------------------------------------------


class Account:
    """The account's store and its YAML, driven through the command line."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.runner = CliRunner()
        self.account = self.write("account.yaml", ACCOUNT)
        applied = self.run("apply", str(self.account), "--actor", RESELLER, "--auto-approve")
        assert applied.exit_code == 0, applied.output

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, *args: str) -> Result:
        return self.runner.invoke(cli, [*args, "--store", self.url])

    def state(self) -> DesiredState:
        return open_any_store(self.url).snapshot().state


@pytest.fixture
def account(store_url: str, tmp_path: Path) -> Account:
    return Account(store_url, tmp_path)


def test_the_json_plan_has_the_kind_and_the_format_version(account: Account) -> None:
    moved = account.write("moved.yaml", MOVED)
    result = account.run("plan", str(moved), "--actor", RESELLER, "--format", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["format_version"] == 7
    assert plan["summary"] == {"add": 0, "change": 1, "remove": 0, "blocked": 0}
    assert plan["actions"] == [
        {
            "kind": "user.change_email",
            "target": {"user": ANN},
            "before": {"email": ANN, "id": ANN_ID},
            "after": {"email": NEW, "id": ANN_ID},
            "requires": "contract_manager",
            "permitted": True,
            "notifications": [],
        }
    ]


def test_the_text_and_markdown_plans_say_it_in_a_line(account: Account) -> None:
    moved = account.write("moved.yaml", MOVED)
    text = account.run("plan", str(moved), "--actor", RESELLER)
    assert text.exit_code == 0, text.output
    assert (
        f"\n  ~ user.change_email {ANN}: email {ANN} → {NEW}\n\nPlan: 0 to add, 1 to change," in text.output
    )
    markdown = account.run("plan", str(moved), "--actor", RESELLER, "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    assert (
        f"**`user.change_email`**: 1 to change\n\n```diff\n! {ANN}: email {ANN} → {NEW}\n```"
        in markdown.output
    )


def test_a_saved_plan_applies_and_the_export_plans_to_nothing(account: Account) -> None:
    moved = account.write("moved.yaml", MOVED)
    saved = account.folder / "plan.json"
    assert account.run("plan", str(moved), "--actor", RESELLER, "--out", str(saved)).exit_code == 0
    applied = account.run("apply", str(saved), "--actor", RESELLER, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 0 added, 1 changed, 0 removed." in applied.output
    assert "Queued" not in applied.output  # nobody is e-mailed: no invitation
    assert account.state() == state_of(MOVED)
    exported = account.run("export")
    assert exported.exit_code == 0, exported.output
    assert f"  - email: {NEW}\n    id: {ANN_ID}\n    first_name: Ann\n" in exported.stdout
    assert f"  - email: {ERIN}\n    first_name: Erin\n" in exported.stdout  # no id, none written
    export = account.write("export.yaml", exported.stdout)
    planned = account.run("plan", str(export), "--actor", RESELLER, "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert account.run("drift", str(moved)).exit_code == 0


def test_drift_shows_an_address_changed_in_git_and_not_applied(account: Account) -> None:
    moved = account.write("moved.yaml", MOVED)
    drift = account.run("drift", str(moved))
    assert drift.exit_code == 2, drift.output
    assert f"  ~ user {ANN}: email {NEW} → {ANN}\n" in drift.output


# --- who may: judged as user.update, and applied or requested whole --------------------------------

#: Who may change Bob's address (an end user's): whoever may manage users.
ROLES = {
    "the reseller": (RESELLER, True),
    "a CM": (FRANK, True),
    "an SC who may manage users": (CARL, True),
    "an SC who may not manage users": (ERIN, False),
    "an end user": (BOB, False),
    "an unknown address": (STRANGER, False),
}


@pytest.mark.parametrize("request_blocked", [False, True], ids=["apply", "apply --request"])
@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_applies_the_change_whole_or_not_at_all(
    account: Account, role: str, request_blocked: bool
) -> None:
    actor, permitted = ROLES[role]
    # The new address and a new last name: a change of address, then an update at the new address.
    text = BOB_MOVED.replace("last_name: Okafor", "last_name: Okafor-Lund")
    moved = account.write("moved.yaml", text)
    options = ["--request"] if request_blocked else []
    result = account.run("apply", str(moved), "--actor", actor, "--auto-approve", *options)
    assert result.exit_code == (0 if permitted or request_blocked else 3), result.output
    assert account.state() == state_of(text if permitted else ACCOUNT)
    if request_blocked and not permitted:
        assert f"Requested user.change_email {BOB} from " in result.output
        assert f"Requested user.update {BOB_NEW} from " in result.output


def test_a_cms_address_is_the_cms_to_change_and_what_waits_on_it_is_held_back(account: Account) -> None:
    # Carl, an SC who may manage users, changes Frank's (a CM's) address and puts him in a team.
    text = ACCOUNT.replace(FRANK, "frank.n@acme.example").replace(
        "  - name: Night shift\n", "  - name: Night shift\n    members: [frank.n@acme.example]\n"
    )
    moved = account.write("moved.yaml", text)
    plan = account.run("plan", str(moved), "--actor", CARL)
    assert plan.exit_code == 3, plan.output
    assert (
        f"  ~ user.change_email {FRANK}: email {FRANK} → frank.n@acme.example\n"
        f"      blocked: only a Contract Manager ({ANN}, {FRANK}) or a reseller ({RESELLER}) "
        f"may change the e-mail address of user {FRANK}\n"
        "  + team.member_add frank.n@acme.example in team Night shift\n"
        f"      held back: waits on user.change_email {FRANK}, which is blocked\n"
    ) in plan.output
    result = account.run("apply", str(moved), "--actor", CARL, "--auto-approve", "--request")
    assert result.exit_code == 0, result.output
    assert f"Requested user.change_email {FRANK} from {FRANK} or {RESELLER}.\n" in result.output
    assert account.state() == state_of(ACCOUNT)
    # Ann, a CM, may.
    assert account.run("apply", str(moved), "--actor", ANN, "--auto-approve").exit_code == 0
    assert account.state() == state_of(text)


def test_roles_are_those_the_store_knows_at_the_old_address(any_store_url: str) -> None:
    """R10 holds across the change: Ann, a CM, at her new address is still a CM, so the SC of a serial
    (Ann herself here) may not give her access there; the serial's contract's CM must."""
    apply_yaml(any_store_url, ACCOUNT)
    text = MOVED.replace(
        f'access: [{{serial: "{A1}", download: true}}]',
        f'access: [{{serial: "{A1}", download: true}}, {{serial: "{B1}"}}]',
    )
    plan = plan_yaml(any_store_url, text, ANN)
    assert [(a.kind, dict(a.target).get("user"), a.requires, a.permitted) for a in plan.actions] == [
        (Kind.USER_CHANGE_EMAIL, ANN, "contract_manager", True),
        (Kind.ACCESS_UPDATE, NEW, "contract_manager", False),
    ]
    assert plan.actions[1].reason == (
        f"only the Contract Manager of contract {B} ({FRANK}) or a reseller ({RESELLER}) "
        f"may change {NEW}'s access to Revit (serial {B1})"
    )


def test_an_sc_may_change_their_own_address(account: Account) -> None:
    text = ACCOUNT.replace(CARL, "carl.berg@acme.example")
    plan = plan_yaml(account.url, text, CARL)
    assert [(a.kind, a.requires, a.permitted) for a in plan.actions] == [
        (Kind.USER_CHANGE_EMAIL, "software_coordinator", True)
    ]


# --- a saved plan is checked against the store -----------------------------------------------------


def test_a_saved_change_of_address_is_checked_against_the_store(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    snapshot = open_any_store(any_store_url).snapshot()
    renamed = MOVED.replace("last_name: Lee\n", "last_name: Lee-Berg\n")
    actions = plan_yaml(any_store_url, renamed).actions
    check_saved(actions, snapshot)  # as made
    change, update = actions

    def refused(edited: list[Action]) -> str:
        with pytest.raises(PlanFileError) as raised:
            check_saved(edited, snapshot)
        return str(raised.value)

    to_frank = Action(change.kind, change.target, change.before, {"email": FRANK, "id": ANN_ID})
    assert f"and user {FRANK} is another user" in refused([to_frank])
    new_id = Action(change.kind, change.target, change.before, {"email": NEW, "id": "forged"})
    assert "which changes the user's id" in refused([new_id])
    stale = Action(change.kind, change.target, {"email": ANN, "id": "forged"}, change.after)
    assert f'with before {{"email": "{ANN}", "id": "forged"}}' in refused([stale])
    assert f"runs user.update {NEW} before user.change_email {ANN}" in refused([update, change])
    assert f"user.update {NEW}, and the store holds no such user" in refused([update])


@pytest.mark.parametrize(
    ("after", "problem"),
    [
        ({"id": ANN_ID}, "whose before and after hold email, id, and a user.change_email changes email, id"),
        (
            {"email": "Ann.Lee@acme", "id": ANN_ID},
            'whose new address is "Ann.Lee@acme", not a new e-mail address',
        ),
    ],
    ids=["no address", "not an address"],
)
def test_a_saved_plan_with_a_broken_change_of_address_is_refused_in_words(
    account: Account, after: dict[str, str], problem: str
) -> None:
    from test_plan_integrity import sealed

    saved = account.folder / "plan.json"
    moved = account.write("moved.yaml", MOVED)
    assert account.run("plan", str(moved), "--actor", RESELLER, "--out", str(saved)).exit_code == 0
    data = json.loads(saved.read_text())
    data["actions"][0]["after"] = after
    saved.write_text(sealed({key: value for key, value in data.items() if key != "checksum"}))
    shown_plan = CliRunner().invoke(cli, ["show", str(saved)])  # it only prints: its fields as they are
    assert shown_plan.exit_code == 0, shown_plan.output
    assert f"  ~ user.change_email {ANN}" in shown_plan.output
    result = account.run("apply", str(saved), "--auto-approve", "--actor", RESELLER)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: the saved plan has user.change_email {ANN} {problem}")
    assert account.state() == state_of(ACCOUNT)


# --- the YAML written back ------------------------------------------------------------------------


def test_a_file_part_without_names_is_written_without_them() -> None:
    from reconciler.core.model import Access

    part = DesiredState(
        users=(
            User(NEW, None, None, (Access(A1, True),)),
            User(BOB, "Bob", "Okafor", id=BOB_ID),
        )
    )
    assert part_yaml(part, ("users",)) == (
        "users:\n"
        f"  - email: {NEW}\n"
        "    access:\n"
        f'      - serial: "{A1}"\n'
        "        download: true\n"
        f"  - email: {BOB}\n"
        f"    id: {BOB_ID}\n"
        "    first_name: Bob\n"
        "    last_name: Okafor\n"
    )


def test_fmt_puts_the_id_by_the_email_and_keeps_the_comments(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    path.write_text(
        "version: 1\n"
        "users:\n"
        "  # from the directory\n"
        f"  - {{first_name: Bob, last_name: Okafor, id: {BOB_ID}, email: {BOB}}}  # Bob\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["fmt", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == (
        "version: 1\n"
        "users:\n"
        "  # from the directory\n"
        f"  - email: {BOB}  # Bob\n"
        f"    id: {BOB_ID}\n"
        "    first_name: Bob\n"
        "    last_name: Okafor\n"
    )
