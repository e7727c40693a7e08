"""Who may do what: the permission table of docs/plan-and-apply.md, judged action by action.

One account is set up by the reseller: contract A (CM Alice) with serial A1
coordinated by Bob (an SC who may manage users), A2 coordinated by Erin (an
SC who may not), A3 coordinated by nobody (so by Alice, R4), and Dave, an SC
who may manage users but coordinates no serial; contract B (CM Frank) with
serial B1. Carol and Heidi are end users; Mallory is not in the store at all.

Each test edits that desired state so the plan holds the action under test,
plans it as one actor, and checks `permitted`, `requires` and `reason`.
Permissions are judged against the store before the plan (R10); an SC never
touches a CM, a reseller or another SC; removing a user revokes each grant
on its own; nobody removes themselves; blocked actions are counted and make
`reconciler plan` exit 3.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import RESELLER, apply_yaml, plan_yaml

from reconciler.cli import cli
from reconciler.core.kinds import Kind
from reconciler.core.plan import Action, Plan
from reconciler.core.planfile import plan_to_json
from reconciler.store import open_store

CONTRACT_A, CONTRACT_B, CONTRACT_C = "110001234567", "220001234567", "330001234567"
A1, A2, A3, A4, B1 = "399-10000001", "399-10000002", "399-10000003", "399-10000004", "399-20000001"

ALICE = "alice@acme.example"  # CM of contract A
FRANK = "frank@acme.example"  # CM of contract B
BOB = "bob@acme.example"  # SC with manage_users, coordinates A1
DAVE = "dave@acme.example"  # SC with manage_users, coordinates no serial
ERIN = "erin@acme.example"  # SC without manage_users, coordinates A2
CAROL = "carol@acme.example"  # end user with access to A1 and A3
HEIDI = "heidi@acme.example"  # end user, the target of user.* actions
GINA = "gina@acme.example"  # not in the store; added by user.add
MALLORY = "mallory@elsewhere.example"  # not in the store; an unknown actor
HEIDI_ID = "5f0c7a2e-heidi"  # Heidi's id in the company directory
HEIDI_NEW = "heidi.berg@acme.example"  # the address the directory gives Heidi in user.change_email

BASE = f"""\
version: 1
contracts:
  - number: "{CONTRACT_A}"
    manager: {ALICE}
    coordinators:
      - {{email: {BOB}, manage_users: true}}
      - {{email: {DAVE}, manage_users: true}}
      - {{email: {ERIN}}}
    serials:
      - {{number: "{A1}", product: AutoCAD, seats: 5, group: Design, coordinator: {BOB}}}
      - {{number: "{A2}", product: Revit, seats: 5, coordinator: {ERIN}}}
      - {{number: "{A3}", product: Inventor, seats: 5}}
  - number: "{CONTRACT_B}"
    manager: {FRANK}
    serials:
      - {{number: "{B1}", product: Maya, seats: 5}}
users:
  - {{email: {RESELLER}, first_name: Olga, last_name: Orders}}
  - {{email: {ALICE}, first_name: Alice, last_name: Moreau}}
  - {{email: {BOB}, first_name: Bob, last_name: Okafor}}
  - email: {CAROL}
    first_name: Carol
    last_name: Smith
    access:
      - {{serial: "{A1}"}}
      - {{serial: "{A3}"}}
  - {{email: {DAVE}, first_name: Dave, last_name: Lee}}
  - {{email: {ERIN}, first_name: Erin, last_name: Weiss}}
  - {{email: {FRANK}, first_name: Frank, last_name: Ndiaye}}
  - {{email: {HEIDI}, id: {HEIDI_ID}, first_name: Heidi, last_name: Berg}}
teams:
  - {{name: Studio, access: [{{serial: "{A1}"}}]}}
  - {{name: Reviewers, members: [{HEIDI}]}}
"""

Doc = dict[str, Any]


# --- helpers ---------------------------------------------------------------------------------


def contract(doc: Doc, number: str) -> Doc:
    return next(c for c in doc["contracts"] if c["number"] == number)


def serial(doc: Doc, number: str) -> Doc:
    return next(s for c in doc["contracts"] for s in c.get("serials", ()) if s["number"] == number)


def user(doc: Doc, email: str) -> Doc:
    return next(u for u in doc["users"] if u["email"] == email)


def team(doc: Doc, name: str) -> Doc:
    return next(t for t in doc["teams"] if t["name"] == name)


def coordinator(doc: Doc, number: str, email: str) -> Doc:
    return next(k for k in contract(doc, number)["coordinators"] if k["email"] == email)


def edited(*edits: Callable[[Doc], object]) -> str:
    """BASE with `edits` applied to its parsed document, as YAML text."""
    doc = yaml.safe_load(BASE)
    for edit in edits:
        edit(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def only(plan: Plan, kind: str, **target: str) -> Action:
    """The single action of `kind` (whose target includes `target`) in `plan`."""
    found = [
        a for a in plan.actions if a.kind == kind and all(a.target.get(k) == v for k, v in target.items())
    ]
    assert len(found) == 1, (
        f"expected one {kind} {target}, got {[(a.kind, dict(a.target)) for a in plan.actions]}"
    )
    return found[0]


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store holding BASE; plans only read it, so the module shares it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('permissions') / 'store.db'}"
    open_store(url).initialize([RESELLER])
    apply_yaml(url, BASE)
    return url


@pytest.fixture
def fresh(store_url: str) -> str:
    """A store of its own holding BASE, for tests that apply changes."""
    apply_yaml(store_url, BASE)
    return store_url


# --- the table, row by row and column by column ----------------------------------------------

#: For each action kind: its row of the table, and the edit of BASE that makes the plan hold it.
KINDS: dict[str, tuple[str, Callable[[Doc], object]]] = {
    "contract.create": (
        "reseller",
        lambda d: d["contracts"].append({"number": CONTRACT_C, "manager": ALICE}),
    ),
    "contract.remove": ("reseller", lambda d: d["contracts"].remove(contract(d, CONTRACT_B))),
    "contract.manager_change": ("reseller", lambda d: contract(d, CONTRACT_A).update(manager=FRANK)),
    "serial.create": (
        "reseller",
        lambda d: contract(d, CONTRACT_A)["serials"].append(
            {"number": A4, "product": "Civil 3D", "seats": 1}
        ),
    ),
    "serial.remove": ("reseller", lambda d: contract(d, CONTRACT_A)["serials"].remove(serial(d, A2))),
    "serial.seats_change": ("reseller", lambda d: serial(d, A1).update(seats=6)),
    "serial.product_change": ("reseller", lambda d: serial(d, A1).update(product="AutoCAD LT")),
    # Protection takes the role that may remove the thing: unprotecting is half a removal.
    "contract.protect": ("reseller", lambda d: contract(d, CONTRACT_A).update(protect=True)),
    # The end date comes with a purchase or a renewal: the reseller's alone.
    "contract.ends_change": ("reseller", lambda d: contract(d, CONTRACT_A).update(ends="2027-03-31")),
    "serial.protect": ("reseller", lambda d: serial(d, A1).update(protect=True)),
    "coordinator.add": (
        "manager",
        lambda d: contract(d, CONTRACT_A)["coordinators"].append({"email": CAROL}),
    ),
    "coordinator.update": ("manager", lambda d: coordinator(d, CONTRACT_A, ERIN).update(manage_users=True)),
    "coordinator.remove": (
        "manager",
        lambda d: contract(d, CONTRACT_A)["coordinators"].remove(coordinator(d, CONTRACT_A, DAVE)),
    ),
    "serial.assign_coordinator": ("manager", lambda d: serial(d, A3).update(coordinator=DAVE)),
    "serial.unassign_coordinator": ("manager", lambda d: serial(d, A1).pop("coordinator")),
    "serial.rename_group": ("manager", lambda d: serial(d, A1).update(group="Studio 2")),
    "user.add": (
        "users",
        lambda d: d["users"].append({"email": GINA, "first_name": "Gina", "last_name": "Rossi"}),
    ),
    "user.update": ("users", lambda d: user(d, HEIDI).update(last_name="Berg-Hansen")),
    "user.remove": ("users", lambda d: d["users"].remove(user(d, HEIDI))),
    "user.protect": ("users", lambda d: user(d, HEIDI).update(protect=True)),
    # The directory changed Heidi's address: judged as user.update.
    "user.change_email": (
        "users",
        lambda d: (user(d, HEIDI).update(email=HEIDI_NEW), team(d, "Reviewers").update(members=[HEIDI_NEW])),
    ),
    "access.grant": ("access", lambda d: user(d, HEIDI).update(access=[{"serial": A1}])),
    "access.update": ("access", lambda d: user(d, CAROL)["access"][0].update(download=True)),
    "access.revoke": ("access", lambda d: user(d, CAROL)["access"].pop(0)),
    # A team's bookkeeping needs the right to manage users; its access, access rights on the serial.
    "team.create": ("users", lambda d: d["teams"].append({"name": "Night shift"})),
    "team.update": ("users", lambda d: team(d, "Studio").update(description="Architects")),
    "team.remove": ("users", lambda d: d["teams"].remove(team(d, "Reviewers"))),
    "team.member_add": ("users", lambda d: team(d, "Studio").update(members=[CAROL])),
    "team.member_remove": ("users", lambda d: team(d, "Reviewers").update(members=[])),
    # The day a membership ends: bookkeeping of the team, as putting someone in it.
    "team.member_update": (
        "users",
        lambda d: team(d, "Reviewers").update(members=[{"email": HEIDI, "expires": "2027-12-31"}]),
    ),
    "team.access_grant": ("access", lambda d: team(d, "Reviewers").update(access=[{"serial": A1}])),
    "team.access_update": ("access", lambda d: team(d, "Studio")["access"][0].update(download=True)),
    "team.access_revoke": ("access", lambda d: team(d, "Studio").update(access=[])),
}

#: The least role each row requires, for the targets KINDS picks (A1 has an SC who may manage users).
REQUIRES = {
    "reseller": "reseller",
    "manager": "contract_manager",
    "users": "software_coordinator",
    "access": "software_coordinator",
}

#: The rows each actor may act on (the columns of the table).
ALLOWED: dict[str, set[str]] = {
    RESELLER: {"reseller", "manager", "users", "access"},
    ALICE: {"manager", "users", "access"},  # CM of this contract
    FRANK: {"users"},  # CM of another contract
    BOB: {"users", "access"},  # SC with manage_users who coordinates A1
    DAVE: {"users"},  # SC with manage_users who does not coordinate A1
    ERIN: set(),  # SC without manage_users
    CAROL: set(),  # end user
    MALLORY: set(),  # unknown actor
}


def test_every_kind_of_the_table_is_covered() -> None:
    assert set(KINDS) == set(Kind)


@pytest.mark.parametrize("actor", list(ALLOWED), ids=lambda a: a.split("@")[0])
@pytest.mark.parametrize("kind", list(KINDS))
def test_table_who_may_do_what(account: str, kind: str, actor: str) -> None:
    row, edit = KINDS[kind]
    action = only(plan_yaml(account, edited(edit), actor), kind)
    assert action.requires == REQUIRES[row]
    assert action.permitted is (row in ALLOWED[actor])
    if action.permitted:
        assert action.reason is None
    else:
        assert action.reason


@pytest.mark.parametrize(
    ("kind", "actor", "reason"),
    [
        (
            "serial.seats_change",
            ALICE,
            f"only a reseller ({RESELLER}) may change the seats of AutoCAD (serial {A1}); "
            "a Contract Manager can only request it (apply --request asks the reseller)",
        ),
        (
            "contract.manager_change",
            ALICE,
            f"only a reseller ({RESELLER}) may change the Contract Manager of contract {CONTRACT_A}; "
            "a Contract Manager can only request it (apply --request asks the reseller)",
        ),
        (
            "serial.seats_change",
            BOB,
            f"only a reseller ({RESELLER}) may change the seats of AutoCAD (serial {A1})",
        ),
        (
            "serial.rename_group",
            BOB,
            f"only the Contract Manager of contract {CONTRACT_A} ({ALICE}) or a reseller ({RESELLER}) "
            f"may rename the group of AutoCAD (serial {A1})",
        ),
        (
            "coordinator.add",
            FRANK,
            f"only the Contract Manager of contract {CONTRACT_A} ({ALICE}) or a reseller ({RESELLER}) "
            f"may name {CAROL} a coordinator on contract {CONTRACT_A}",
        ),
        (
            "user.add",
            ERIN,
            f"only a Contract Manager ({ALICE}, {FRANK}), a coordinator with the right to manage users "
            f"({BOB}, {DAVE}) or a reseller ({RESELLER}) may add user {GINA}",
        ),
        (
            "access.grant",
            DAVE,
            f"only the coordinator of serial {A1} with the right to manage users ({BOB}), the Contract Manager of "
            f"contract {CONTRACT_A} ({ALICE}) or a reseller ({RESELLER}) "
            f"may give {HEIDI} access to AutoCAD (serial {A1})",
        ),
        (
            "access.revoke",
            MALLORY,
            f"only the coordinator of serial {A1} with the right to manage users ({BOB}), the Contract Manager of "
            f"contract {CONTRACT_A} ({ALICE}) or a reseller ({RESELLER}) "
            f"may take {CAROL}'s access to AutoCAD (serial {A1}) away",
        ),
    ],
)
def test_blocked_reason_names_who_can_do_it(account: str, kind: str, actor: str, reason: str) -> None:
    action = only(plan_yaml(account, edited(KINDS[kind][1]), actor), kind)
    assert action.permitted is False
    assert action.reason == reason


def test_actor_email_is_case_insensitive(account: str) -> None:
    action = only(
        plan_yaml(account, edited(KINDS["serial.rename_group"][1]), "Alice@ACME.example"),
        "serial.rename_group",
    )
    assert action.permitted is True


# --- access: requires follows the serial's coordinator ---------------------------------------


@pytest.mark.parametrize(
    ("number", "actor", "permitted"),
    [
        (A3, ALICE, True),  # no SC: the CM's serial (R4)
        (A3, BOB, False),
        (A2, ALICE, True),
        (A2, ERIN, False),  # coordinates A2 but may not manage users
        (B1, FRANK, True),
        (B1, ALICE, False),  # CM of another contract
    ],
)
def test_access_on_a_serial_without_a_user_managing_sc_needs_the_cm(
    account: str, number: str, actor: str, permitted: bool
) -> None:
    text = edited(lambda d: user(d, HEIDI).update(access=[{"serial": number}]))
    action = only(plan_yaml(account, text, actor), "access.grant")
    assert action.requires == "contract_manager"
    assert action.permitted is permitted


# --- R10: judged against the store before the change -----------------------------------------


def test_r10_sc_named_in_the_same_plan_cannot_grant_access(account: str) -> None:
    """Carol names herself SC with manage_users on A3 and grants Heidi access there: all blocked."""
    text = edited(
        lambda d: contract(d, CONTRACT_A)["coordinators"].append({"email": CAROL, "manage_users": True}),
        lambda d: serial(d, A3).update(coordinator=CAROL),
        lambda d: user(d, HEIDI).update(access=[{"serial": A3}]),
    )
    plan = plan_yaml(account, text, CAROL)
    grant = only(plan, "access.grant", user=HEIDI)
    assert grant.permitted is False
    assert grant.requires == "contract_manager"
    assert grant.reason == (
        f"only the Contract Manager of contract {CONTRACT_A} ({ALICE}) or a reseller ({RESELLER}) "
        f"may give {HEIDI} access to Inventor (serial {A3})"
    )
    assert only(plan, "coordinator.add").permitted is False
    assert only(plan, "serial.assign_coordinator").permitted is False


def test_r10_sc_given_a_serial_in_the_same_plan_cannot_grant_on_it(account: str) -> None:
    """Dave (manage_users) is assigned A3 in the plan; his grant on A3 is judged as before: blocked."""
    text = edited(
        lambda d: serial(d, A3).update(coordinator=DAVE),
        lambda d: user(d, HEIDI).update(access=[{"serial": A3}]),
    )
    plan = plan_yaml(account, text, DAVE)
    assert only(plan, "access.grant").permitted is False
    assert only(plan, "serial.assign_coordinator").permitted is False


def test_r10_new_cm_cannot_act_as_cm_in_the_same_plan(account: str) -> None:
    """Bob makes himself CM of contract A and renames A1's group: both blocked."""
    text = edited(
        lambda d: contract(d, CONTRACT_A).update(manager=BOB),
        KINDS["serial.rename_group"][1],
    )
    plan = plan_yaml(account, text, BOB)
    assert only(plan, "contract.manager_change").permitted is False
    rename = only(plan, "serial.rename_group")
    assert rename.permitted is False
    assert rename.requires == "contract_manager"
    assert rename.reason == (
        f"only the Contract Manager of contract {CONTRACT_A} ({ALICE}) or a reseller ({RESELLER}) "
        f"may rename the group of AutoCAD (serial {A1})"
    )


def test_r10_rights_lost_in_the_same_plan_still_count(account: str) -> None:
    """Bob's manage_users is turned off in the plan; his grant on A1 is judged on the store as it is."""
    text = edited(
        lambda d: coordinator(d, CONTRACT_A, BOB).update(manage_users=False),
        KINDS["access.grant"][1],
    )
    plan = plan_yaml(account, text, BOB)
    assert only(plan, "coordinator.update").permitted is False
    assert only(plan, "access.grant").permitted is True


# --- an SC never changes or removes a CM, a reseller or another SC ---------------------------

#: Edits that update or remove a privileged user (removing a CM needs the contract to change CM too).
PRIVILEGED_TARGETS: dict[str, tuple[str, str, Callable[[Doc], object]]] = {
    "update-cm": ("user.update", ALICE, lambda d: user(d, ALICE).update(last_name="Moreau-Diaz")),
    "remove-cm": (
        "user.remove",
        ALICE,
        lambda d: (contract(d, CONTRACT_A).update(manager=FRANK), d["users"].remove(user(d, ALICE))),
    ),
    "update-reseller": ("user.update", RESELLER, lambda d: user(d, RESELLER).update(first_name="Oleg")),
    "remove-reseller": ("user.remove", RESELLER, lambda d: d["users"].remove(user(d, RESELLER))),
    "update-other-sc": ("user.update", DAVE, lambda d: user(d, DAVE).update(last_name="Li")),
    "remove-other-sc": (
        "user.remove",
        DAVE,
        lambda d: (
            contract(d, CONTRACT_A)["coordinators"].remove(coordinator(d, CONTRACT_A, DAVE)),
            d["users"].remove(user(d, DAVE)),
        ),
    ),
}


@pytest.mark.parametrize("case", list(PRIVILEGED_TARGETS))
def test_sc_never_changes_or_removes_a_cm_reseller_or_other_sc(account: str, case: str) -> None:
    kind, target, edit = PRIVILEGED_TARGETS[case]
    action = only(plan_yaml(account, edited(edit), BOB), kind, user=target)
    assert action.permitted is False
    assert action.requires in {"contract_manager", "reseller"}
    assert action.reason


def test_sc_blocked_on_a_cm_is_told_to_ask_that_cm_or_the_reseller(account: str) -> None:
    action = only(plan_yaml(account, edited(PRIVILEGED_TARGETS["update-cm"][2]), BOB), "user.update")
    assert action.requires == "contract_manager"
    assert action.reason == (
        f"only a Contract Manager ({ALICE}, {FRANK}) or a reseller ({RESELLER}) may change user {ALICE}"
    )


def test_sc_blocked_on_a_reseller_is_told_to_ask_the_reseller(account: str) -> None:
    action = only(plan_yaml(account, edited(PRIVILEGED_TARGETS["update-reseller"][2]), BOB), "user.update")
    assert action.requires == "reseller"
    assert action.reason == f"only a reseller ({RESELLER}) may change user {RESELLER}"


def test_sc_who_may_manage_users_may_correct_their_own_record(account: str) -> None:
    action = only(
        plan_yaml(account, edited(lambda d: user(d, BOB).update(last_name="Ng")), BOB), "user.update"
    )
    assert action.requires == "software_coordinator"
    assert action.permitted is True


def test_cm_may_change_an_sc_user(account: str) -> None:
    action = only(plan_yaml(account, edited(PRIVILEGED_TARGETS["update-other-sc"][2]), ALICE), "user.update")
    assert action.requires == "contract_manager"
    assert action.permitted is True


def test_cm_may_change_her_own_user_record(account: str) -> None:
    action = only(plan_yaml(account, edited(PRIVILEGED_TARGETS["update-cm"][2]), ALICE), "user.update")
    assert action.requires == "contract_manager"
    assert action.permitted is True


def test_reason_for_a_blocked_change_of_an_sc_names_a_contract_manager(account: str) -> None:
    action = only(plan_yaml(account, edited(PRIVILEGED_TARGETS["update-other-sc"][2]), BOB), "user.update")
    assert action.permitted is False
    assert action.reason is not None
    # Not Bob: an SC changes no other SC's record, whatever rights they hold; Dave may correct his own.
    assert action.reason == (
        f"only a Contract Manager ({ALICE}, {FRANK}), the coordinator whose record it is ({DAVE}) "
        f"or a reseller ({RESELLER}) may change user {DAVE}"
    )


# --- removing a user revokes each grant, each judged on its own ------------------------------

REMOVE_CAROL = edited(lambda d: d["users"].remove(user(d, CAROL)))


@pytest.mark.parametrize(
    ("actor", "remove", "revoke_a1", "revoke_a3"),
    [
        (BOB, True, True, False),  # Bob coordinates A1, not A3
        (ALICE, True, True, True),  # the CM of both
        (DAVE, True, False, False),  # manages users, coordinates neither
        (FRANK, True, False, False),  # CM of another contract
    ],
)
def test_removing_a_user_judges_each_revoke_on_its_own(
    account: str, actor: str, remove: bool, revoke_a1: bool, revoke_a3: bool
) -> None:
    plan = plan_yaml(account, REMOVE_CAROL, actor)
    assert only(plan, "user.remove", user=CAROL).permitted is remove
    assert only(plan, "access.revoke", serial=A1).permitted is revoke_a1
    assert only(plan, "access.revoke", serial=A3).permitted is revoke_a3


def test_sc_removing_a_user_is_blocked_on_the_other_serial(account: str) -> None:
    revoke = only(plan_yaml(account, REMOVE_CAROL, BOB), "access.revoke", serial=A3)
    assert revoke.requires == "contract_manager"
    assert revoke.reason == (
        f"only the Contract Manager of contract {CONTRACT_A} ({ALICE}) or a reseller ({RESELLER}) "
        f"may take {CAROL}'s access to Inventor (serial {A3}) away"
    )


# --- nobody removes themselves ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "requires", "edit"),
    [
        (RESELLER, "reseller", PRIVILEGED_TARGETS["remove-reseller"][2]),
        (RESELLER.upper(), "reseller", PRIVILEGED_TARGETS["remove-reseller"][2]),
        (DAVE, "contract_manager", PRIVILEGED_TARGETS["remove-other-sc"][2]),
    ],
    ids=["reseller", "reseller-upper-case", "sc"],
)
def test_actor_cannot_remove_themselves(
    account: str, actor: str, requires: str, edit: Callable[[Doc], object]
) -> None:
    me = actor.lower()
    action = only(plan_yaml(account, edited(edit), actor), "user.remove", user=me)
    assert action.permitted is False
    assert action.requires == requires
    assert action.reason == f"{me} cannot remove themselves; ask another administrator"


def test_reseller_may_remove_another_user(account: str) -> None:
    assert only(plan_yaml(account, REMOVE_CAROL, RESELLER), "user.remove").permitted is True


# --- blocked actions are counted, and make `plan` exit 3 -------------------------------------


def test_summary_counts_blocked_actions(account: str) -> None:
    plan = plan_yaml(account, REMOVE_CAROL, BOB)
    assert plan.summary() == {"add": 0, "change": 0, "remove": 3, "blocked": 1}
    assert plan_to_json(plan)["summary"]["blocked"] == 1
    assert [a.kind for a in plan.blocked] == ["access.revoke"]


def test_summary_counts_no_blocked_actions_when_all_permitted(account: str) -> None:
    assert plan_yaml(account, REMOVE_CAROL, ALICE).summary() == {
        "add": 0,
        "change": 0,
        "remove": 3,
        "blocked": 0,
    }


def _cli_plan(tmp_path: Path, store: str, text: str, actor: str) -> int:
    path = tmp_path / "account.yaml"
    path.write_text(text, encoding="utf-8")
    # A reviewed removal: only permissions decide here (a mass removal exits 3 too, test_guards.py).
    result = CliRunner().invoke(
        cli, ["plan", str(path), "--allow-mass-removal", "--store", store, "--actor", actor]
    )
    return result.exit_code


@pytest.mark.parametrize(
    ("actor", "text", "code"),
    [
        (BOB, REMOVE_CAROL, 3),  # the revoke on A3 is blocked
        (ALICE, REMOVE_CAROL, 0),
        (BOB, edited(KINDS["access.revoke"][1]), 0),
        (RESELLER, edited(PRIVILEGED_TARGETS["remove-reseller"][2]), 3),  # removes the actor
        (MALLORY, edited(KINDS["user.add"][1]), 3),
        (MALLORY, BASE, 0),  # nothing to do, nothing blocked
    ],
    ids=["sc-blocked", "cm-ok", "sc-ok", "self-removal", "unknown", "no-change"],
)
def test_cli_plan_exits_3_when_blocked(
    tmp_path: Path, account: str, actor: str, text: str, code: int
) -> None:
    assert _cli_plan(tmp_path, account, text, actor) == code


def test_cli_plan_json_reports_blocked(tmp_path: Path, account: str) -> None:
    path = tmp_path / "account.yaml"
    path.write_text(REMOVE_CAROL, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["plan", str(path), "--store", account, "--actor", BOB, "--format", "json"]
    )
    assert result.exit_code == 3
    data = yaml.safe_load(result.stdout)
    assert data["summary"]["blocked"] == 1
    [blocked] = [a for a in data["actions"] if not a["permitted"]]
    assert blocked["target"]["serial"] == A3
    assert blocked["requires"] == "contract_manager"


# --- after apply, the new roles count --------------------------------------------------------


def test_rights_granted_by_an_applied_plan_count_in_the_next(fresh: str) -> None:
    """The counterpart of R10: once Carol is SC of A3 with manage_users in the store, she may grant there."""
    name_carol = (
        lambda d: contract(d, CONTRACT_A)["coordinators"].append({"email": CAROL, "manage_users": True}),
        lambda d: serial(d, A3).update(coordinator=CAROL),
    )
    apply_yaml(fresh, edited(*name_carol), ALICE)
    text = edited(*name_carol, lambda d: user(d, HEIDI).update(access=[{"serial": A3}]))
    grant = only(plan_yaml(fresh, text, CAROL), "access.grant")
    assert grant.requires == "software_coordinator"
    assert grant.permitted is True


def test_sc_without_manage_users_may_not_change_even_their_own_record(account: str) -> None:
    action = only(
        plan_yaml(account, edited(lambda d: user(d, ERIN).update(last_name="Ng")), ERIN), "user.update"
    )
    assert action.permitted is False


# --- self-protection: no actor's plan takes away what lets them apply ---------------------------

#: (actor, the edit that would take their power away, the kind that would do it)
SAWING_OFF_THE_BRANCH = {
    "CM hands her contract away": (
        ALICE,
        lambda d: contract(d, CONTRACT_A).update(manager=FRANK),
        "contract.manager_change",
    ),
    "CM removes her contract": (
        ALICE,
        lambda d: (
            d["contracts"].remove(contract(d, CONTRACT_A)),
            user(d, CAROL).pop("access"),
            team(d, "Studio").pop("access"),
        ),
        "contract.remove",
    ),
    "SC ends their own role": (
        BOB,
        lambda d: (
            contract(d, CONTRACT_A)["serials"][0].pop("coordinator"),
            contract(d, CONTRACT_A)["coordinators"].remove(coordinator(d, CONTRACT_A, BOB)),
        ),
        "coordinator.remove",
    ),
    "SC drops their own right to manage users": (
        BOB,
        lambda d: coordinator(d, CONTRACT_A, BOB).update(manage_users=False),
        "coordinator.update",
    ),
    "SC removes themselves": (BOB, lambda d: d["users"].remove(user(d, BOB)), "user.remove"),
    "CM removes the reseller": (ALICE, lambda d: d["users"].remove(user(d, RESELLER)), "user.remove"),
}


@pytest.mark.parametrize("case", list(SAWING_OFF_THE_BRANCH))
def test_no_plan_takes_away_the_actors_own_power(account: str, case: str) -> None:
    actor, edit, kind = SAWING_OFF_THE_BRANCH[case]
    plan = plan_yaml(account, edited(edit), actor)
    assert [a.permitted for a in plan.actions if a.kind == kind] == [False]
    assert plan.blocked, "apply refuses the whole plan (exit 3)"


def test_the_reseller_stays_a_reseller_whatever_the_yaml_says(account: str) -> None:
    """Resellers live in the store, named at init: a plan can remove a reseller's user record at most."""
    text = edited(lambda d: d["users"].remove(user(d, RESELLER)))
    remove = only(plan_yaml(account, text, RESELLER), "user.remove")
    assert remove.permitted is False  # nobody removes themselves
    assert "cannot remove themselves" in (remove.reason or "")
    assert RESELLER in open_store(account).snapshot().resellers


@pytest.mark.parametrize(
    ("target", "permitted"),
    [(ALICE, False), (RESELLER, False), (DAVE, False), (BOB, True), (HEIDI, True)],
    ids=["the CM", "the reseller", "another SC", "himself", "an end user"],
)
def test_an_sc_gives_access_on_his_serial_to_anyone_but_a_cm_a_reseller_or_another_sc(
    account: str, target: str, permitted: bool
) -> None:
    def grant(d: Doc) -> None:
        user(d, target).setdefault("access", []).append({"serial": A1})

    action = only(plan_yaml(account, edited(grant), BOB), "access.grant", user=target)
    assert action.permitted is permitted
    assert action.requires == ("software_coordinator" if permitted else "contract_manager")
