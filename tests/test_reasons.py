"""What a blocked action's reason says, held against what the permission rules do.

A reason names the people who may perform the action on its target (R2, R3,
R6, judged against the store before the plan, R10). Here every kind of
action, and the cases where who may depends on who acts (an SC's own record,
an SC's own access, another SC's access), is planned once as each person in
the store: the people the reason names are exactly the people the plan
permits it to. An actor who holds no role is told so once, at the top of the
plan, in every format; a saved plan keeps it, and `show` prints it again.
Every store kind: the rules read the store.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import RESELLER, apply_yaml, open_any_store, plan_yaml
from test_permissions import (
    A1,
    A2,
    ALICE,
    B1,
    BASE,
    BOB,
    CAROL,
    CONTRACT_A,
    DAVE,
    ERIN,
    FRANK,
    HEIDI,
    KINDS,
    MALLORY,
    Doc,
    contract,
    edited,
    serial,
    user,
)

from reconciler.cli import cli
from reconciler.core.kinds import Role
from reconciler.core.plan import Action, Plan, Standing
from reconciler.core.planfile import dump_plan, load_plan
from reconciler.engine.permissions import Authority, who_may
from reconciler.report import markdown, text
from reconciler.report.notes import plan_notes

#: Everyone in BASE's store: the reseller, the CMs, the SCs with and without manage_users, end users.
PEOPLE = (RESELLER, ALICE, FRANK, BOB, DAVE, ERIN, CAROL, HEIDI)


def _grant(email: str, number: str) -> Callable[[Doc], object]:
    return lambda d: user(d, email).setdefault("access", []).append({"serial": number})


#: Beyond one edit per kind: the cases where who may depends on who the user is, or who acts.
CASES: dict[str, tuple[str, Callable[[Doc], object]]] = {
    **{kind: (kind, edit) for kind, (_, edit) in KINDS.items()},
    "an SC's own record": ("user.update", lambda d: user(d, BOB).update(last_name="Okafor-Lee")),
    "a record of an SC without manage_users": ("user.update", lambda d: user(d, ERIN).update(last_name="W")),
    "a CM's record": ("user.update", lambda d: user(d, ALICE).update(last_name="Moreau-Blanc")),
    "the reseller's record": ("user.update", lambda d: user(d, RESELLER).update(last_name="O")),
    "removing an SC": ("user.remove", lambda d: d["users"].remove(user(d, DAVE))),
    "another SC's access on an SC's serial": ("access.grant", _grant(ERIN, A1)),
    "the SC's own access on their serial": ("access.grant", _grant(BOB, A1)),
    "a CM's access on an SC's serial": ("access.grant", _grant(FRANK, A1)),
    "access on a serial whose SC may not manage users": ("access.grant", _grant(HEIDI, A2)),
    "access on the other contract": ("access.grant", _grant(HEIDI, B1)),
    "a new serial's group": (
        "serial.create",
        lambda d: contract(d, CONTRACT_A)["serials"].append(
            {"number": "399-10000009", "product": "X", "seats": 1}
        ),
    ),
    "a serial given to an SC": ("serial.assign_coordinator", lambda d: serial(d, A2).update(coordinator=BOB)),
}


def _named(reason: str) -> set[str]:
    """The addresses a reason names as those who may: before the ` may ` that starts the action."""
    assert reason.startswith("only "), reason
    who = reason.split(" may ", 1)[0]
    return set(re.findall(r"[\w.+-]+@[\w.-]+", who))


def _blocked(plan: Plan, kind: str) -> Action:
    found = [a for a in plan.actions if a.kind == kind and not a.permitted]
    assert found, [(a.kind, a.permitted) for a in plan.actions]
    return found[0]


@pytest.fixture
def store(store_url: str) -> str:
    apply_yaml(store_url, BASE)
    return store_url


def test_a_reason_names_exactly_the_people_the_rules_permit(store: str) -> None:
    for case, (kind, edit) in CASES.items():
        yaml_text = edited(edit)
        action = _blocked(plan_yaml(store, yaml_text, MALLORY), kind)
        named = _named(action.reason or "")
        permitted = set()
        for person in PEOPLE:
            judged = next(
                a
                for a in plan_yaml(store, yaml_text, person).actions
                if (a.kind, a.target) == (kind, action.target)
            )
            if judged.permitted:
                permitted.add(person)
        assert named == permitted, (case, action.reason)
        # Requests go to who_may's people, as before: each of them may; the reason may name more
        # (any Contract Manager may manage users, a request goes to the ones concerned).
        snapshot = open_any_store(store).snapshot()
        assert set(who_may(action, Authority.of(snapshot, MALLORY))) <= named, case


@pytest.mark.parametrize(
    ("case", "actor", "reason"),
    [
        (
            "serial.seats_change",
            ALICE,
            f"only a reseller ({RESELLER}) may change the seats of AutoCAD (serial {A1}); "
            "a Contract Manager can only request it (apply --request asks the reseller)",
        ),
        (
            "serial.rename_group",
            BOB,
            f"only the Contract Manager of contract {CONTRACT_A} ({ALICE}) or a reseller ({RESELLER}) "
            f"may rename the group of AutoCAD (serial {A1})",
        ),
        (
            "access.grant",
            ERIN,
            f"only the coordinator of serial {A1} with the right to manage users ({BOB}), the Contract Manager "
            f"of contract {CONTRACT_A} ({ALICE}) or a reseller ({RESELLER}) may give {HEIDI} access to "
            f"AutoCAD (serial {A1})",
        ),
        (
            "another SC's access on an SC's serial",
            BOB,
            f"only the Contract Manager of contract {CONTRACT_A} ({ALICE}) or a reseller ({RESELLER}) "
            f"may give {ERIN} access to AutoCAD (serial {A1})",
        ),
        (
            "user.add",
            ERIN,
            f"only a Contract Manager ({ALICE}, {FRANK}), a coordinator with the right to manage users "
            f"({BOB}, {DAVE}) or a reseller ({RESELLER}) may add user gina@acme.example",
        ),
        (
            "an SC's own record",
            ERIN,
            f"only a Contract Manager ({ALICE}, {FRANK}), the coordinator whose record it is "
            f"({BOB}) or a reseller ({RESELLER}) may change user {BOB}",
        ),
        (
            "removing an SC",
            BOB,
            f"only a Contract Manager ({ALICE}, {FRANK}) or a reseller ({RESELLER}) may remove user {DAVE}",
        ),
        ("the reseller's record", ALICE, f"only a reseller ({RESELLER}) may change user {RESELLER}"),
    ],
)
def test_a_reason_for_each_role(store: str, case: str, actor: str, reason: str) -> None:
    kind, edit = CASES[case]
    assert _blocked(plan_yaml(store, edited(edit), actor), kind).reason == reason


def test_a_long_list_of_people_is_cut_short(store: str) -> None:
    def many_managers(d: Doc) -> None:
        for n in range(7):
            d["users"].append({"email": f"cm{n}@acme.example", "first_name": "C", "last_name": str(n)})
            d["contracts"].append({"number": f"55000000000{n}", "manager": f"cm{n}@acme.example"})

    apply_yaml(store, edited(many_managers))
    add = _blocked(plan_yaml(store, edited(many_managers, KINDS["user.add"][1]), ERIN), "user.add")
    assert add.reason is not None
    assert (
        f"a Contract Manager ({ALICE}, cm0@acme.example, cm1@acme.example, cm2@acme.example, " in add.reason
    )
    assert "cm3@acme.example and 4 more)" in add.reason


# --- an actor with no role -------------------------------------------------------------------

TYPO = "orders@cadpartner.example"
NOTE = (
    f"{TYPO} holds no role in this store (no reseller, Contract Manager or coordinator has that address): "
    f"every action is blocked. Is --actor spelt right? Did you mean {RESELLER} (a reseller)?"
)


@pytest.mark.parametrize(
    ("actor", "roles"),
    [
        (RESELLER, (Role.RESELLER,)),
        (ALICE, (Role.CONTRACT_MANAGER,)),
        (BOB, (Role.SOFTWARE_COORDINATOR,)),
        (ERIN, (Role.SOFTWARE_COORDINATOR,)),
        (CAROL, ()),
        (TYPO, ()),
    ],
)
def test_the_plan_knows_the_actors_roles(store: str, actor: str, roles: tuple[Role, ...]) -> None:
    plan = plan_yaml(store, edited(KINDS["user.add"][1]), actor)
    lookalikes = (RESELLER,) if actor == TYPO else ()
    assert plan.standing == Standing(roles, (RESELLER,), lookalikes)
    told = [note.text for note in plan_notes(plan) if note.label == "No role"]
    assert told == (
        [NOTE]
        if actor == TYPO
        else [NOTE.replace(TYPO, CAROL).split(" Did you")[0] + f" The reseller is {RESELLER}."]
        if not roles
        else []
    )


def test_an_actor_with_no_role_is_told_once_in_every_format(store: str, tmp_path: Path) -> None:
    desired = tmp_path / "account.yaml"
    desired.write_text(edited(KINDS["user.add"][1]), encoding="utf-8")
    saved = tmp_path / "plan.json"
    runner = CliRunner()
    outputs = {}
    for output_format in ("text", "markdown", "json", "html"):
        args = ["plan", str(desired), "--actor", TYPO, "--store", store, "--format", output_format]
        if output_format == "json":
            args += ["--out", str(saved)]
        result = runner.invoke(cli, args)
        assert result.exit_code == 3, result.output
        outputs[output_format] = result.stdout
    assert outputs["text"].count(NOTE) == 1
    # Markdown breaks an address's @ with a zero-width joiner, so that no one is pinged.
    assert outputs["markdown"].replace("@\u200d", "@").count(f"> **No role:** {NOTE}") == 1
    assert outputs["markdown"].index("No role") < outputs["markdown"].index("Blocked")
    standing = json.loads(outputs["json"])["actor_standing"]
    assert standing == {"roles": [], "resellers": [RESELLER], "lookalikes": [RESELLER], "note": NOTE}
    assert outputs["html"].count("holds no role in this store") == 1
    # Each blocked action still says who may perform it, without repeating the note.
    assert all(NOTE not in (a["reason"]) for a in json.loads(outputs["json"])["actions"])
    shown = runner.invoke(cli, ["show", str(saved)])
    assert shown.exit_code == 0 and shown.stdout.count(NOTE) == 1
    assert load_plan(saved.read_text(encoding="utf-8"), "plan.json").standing == Standing(
        (), (RESELLER,), (RESELLER,)
    )
    assert (
        markdown.render_plan(load_plan(saved.read_text(encoding="utf-8"), "plan.json")).count("No role") == 1
    )


def test_an_actor_with_a_role_is_told_nothing_of_it(store: str) -> None:
    for actor in (RESELLER, ALICE, BOB, ERIN):
        plan = plan_yaml(store, edited(KINDS["user.add"][1]), actor)
        assert "holds no role" not in "\n".join(text.render_plan(plan))
        assert "holds no role" not in dump_plan(plan)


def test_a_saved_plan_of_format_4_is_read_without_roles_products_or_names(store: str) -> None:
    plan = plan_yaml(store, edited(KINDS["access.grant"][1]), MALLORY)
    assert plan.products[A1] == "AutoCAD" and plan.user_names[HEIDI] == ("Heidi", "Berg")
    data = json.loads(dump_plan(plan))
    for key in ("actor_standing", "products", "user_names", "checksum"):
        del data[key]
    data["format_version"] = 4
    body = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False)
    # Sealed as `write_plan` seals it: the SHA-256 of the text without the checksum's line.
    head, tail = (
        body[: body.index('\n  "desired_digest"') + 1],
        body[body.index('\n  "desired_digest"') + 1 :],
    )
    checksum = "sha256:" + hashlib.sha256((head + tail).encode()).hexdigest()
    old = load_plan(head + f'  "checksum": "{checksum}",\n' + tail, "old.json")
    assert (old.standing, old.products, old.user_names) == (None, {}, {})
    assert old.actions == plan.actions
    assert "No role" not in "\n".join(text.render_plan(old))
