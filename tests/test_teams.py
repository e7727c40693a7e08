"""Teams: access by group. A user's effective access is their own grants and their teams', together.

One account on each backend: contract C (CM Alice) with serial S1, coordinated
by Bob (an SC who may manage users), and S2, coordinated by Alice herself;
Dave is an SC who may manage users and coordinates nothing. The team Design
gives S1 to Carol and Dana; the team Review gives S1 to Erin. Carol also has
a grant of her own to S2.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import EXAMPLES, RESELLER, apply_yaml, plan_yaml

from reconciler.cli import cli
from reconciler.commands.apply import run_apply
from reconciler.core.kinds import Event, Kind, Record
from reconciler.core.model import Grant, build_state, effective_access
from reconciler.core.plan import Action, Plan
from reconciler.engine.drift import find_drift
from reconciler.engine.planner import PlanOptions, make_plan
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.report.markdown import render_plan
from reconciler.report.text import render_plan as render_text_plan
from reconciler.report.yaml import export_yaml
from reconciler.store import open_store

C, S1, S2 = "110001234567", "399-10000001", "399-10000002"
C_EXAMPLE = "110001234567"  # the example's contract of the Design Studio's serials
ALICE, BOB, CAROL, DANA, DAVE, ERIN, HEIDI = (
    f"{name}@acme.example" for name in ("alice", "bob", "carol", "dana", "dave", "erin", "heidi")
)

BASE = f"""\
version: 1
contracts:
  - number: "{C}"
    manager: {ALICE}
    coordinators:
      - {{email: {BOB}, manage_users: true}}
      - {{email: {DAVE}, manage_users: true}}
    serials:
      - {{number: "{S1}", product: AutoCAD, seats: 4, coordinator: {BOB}}}
      - {{number: "{S2}", product: Revit, seats: 3}}
users:
  - {{email: {ALICE}, first_name: Alice, last_name: Moreau}}
  - {{email: {BOB}, first_name: Bob, last_name: Okafor}}
  - {{email: {CAROL}, first_name: Carol, last_name: Smith, access: [{{serial: "{S2}"}}]}}
  - {{email: {DANA}, first_name: Dana, last_name: Lund}}
  - {{email: {DAVE}, first_name: Dave, last_name: Lee}}
  - {{email: {ERIN}, first_name: Erin, last_name: Weiss}}
  - {{email: {HEIDI}, first_name: Heidi, last_name: Berg}}
teams:
  - name: Design
    description: Architects
    members: [{CAROL}, {DANA}]
    access: [{{serial: "{S1}"}}]
  - name: Review
    members: [{ERIN}]
    access: [{{serial: "{S1}"}}]
"""

Doc = dict[str, Any]


def edited(edit: Any) -> str:
    doc = yaml.safe_load(BASE)
    edit(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def team(doc: Doc, name: str) -> Doc:
    return next(t for t in doc["teams"] if t["name"] == name)


def user(doc: Doc, email: str) -> Doc:
    return next(u for u in doc["users"] if u["email"] == email)


def kinds(plan: Plan) -> list[tuple[Kind, dict[str, str]]]:
    return [(a.kind, dict(a.target)) for a in plan.actions]


def one(plan: Plan, kind: Kind, **target: str) -> Action:
    found = [
        a for a in plan.actions if a.kind is kind and all(a.target.get(k) == v for k, v in target.items())
    ]
    assert len(found) == 1, kinds(plan)
    return found[0]


def state_of(text: str) -> Any:
    return build_state([parse(Source("desired.yaml", text.encode())).document])


@pytest.fixture
def account(store_url: str) -> str:
    apply_yaml(store_url, BASE)
    return store_url


# --- what the store keeps --------------------------------------------------------------------------


def test_the_store_keeps_the_union_of_direct_and_team_access(account: str) -> None:
    snapshot = open_store(account).snapshot()
    assert snapshot.state == state_of(BASE)
    assert snapshot.grants == effective_access(state_of(BASE))
    assert snapshot.grants[(CAROL, S1)] == Grant(False, ("team:Design",))
    assert snapshot.grants[(CAROL, S2)] == Grant(False, ("direct",), False)
    assert plan_yaml(account, BASE).actions == ()


def test_the_first_plan_creates_the_team_then_its_members_then_the_access_they_get(store_url: str) -> None:
    plan = plan_yaml(store_url, BASE)
    order = [(a.kind, a.target.get("team"), a.target.get("user")) for a in plan.actions]
    design = order.index((Kind.TEAM_CREATE, "Design", None))
    member = order.index((Kind.TEAM_MEMBER_ADD, "Design", CAROL))
    grant = order.index((Kind.ACCESS_GRANT, None, CAROL))
    assert design < member < grant
    assert order.index((Kind.TEAM_ACCESS_GRANT, "Design", None)) < grant
    carol = one(plan, Kind.ACCESS_GRANT, user=CAROL, serial=S1)
    assert carol.after == {"download": False, "via": ["team:Design"]}
    assert [(n.to, n.event) for n in carol.notifications] == [(CAROL, Event.ACCESS_GRANTED)]


def test_download_comes_from_any_source_and_the_users_own_grant_is_kept_apart(account: str) -> None:
    def edit(doc: Doc) -> None:
        team(doc, "Design")["access"][0]["download"] = True
        user(doc, CAROL)["access"].append({"serial": S1})  # her own grant, without download

    text = edited(edit)
    plan = plan_yaml(account, text)
    carol = one(plan, Kind.ACCESS_UPDATE, user=CAROL, serial=S1)
    assert carol.before == {"download": False, "via": ["team:Design"]}
    assert carol.after == {"direct_download": False, "download": True, "via": ["direct", "team:Design"]}
    run_apply(open_store(account), plan, RESELLER)
    snapshot = open_store(account).snapshot()
    assert snapshot.grants[(CAROL, S1)] == Grant(True, ("direct", "team:Design"), False)
    # The export gives the grant back where it was written: Carol's own without download, the team's with.
    assert state_of(export_yaml(snapshot.state)) == state_of(text)
    assert plan_yaml(account, export_yaml(snapshot.state)).actions == ()


# --- mail follows effective access only ------------------------------------------------------------


def test_moving_a_user_between_teams_that_give_the_same_serial_changes_no_access(account: str) -> None:
    def edit(doc: Doc) -> None:
        team(doc, "Design")["members"].remove(DANA)
        team(doc, "Review")["members"].append(DANA)

    plan = plan_yaml(account, edited(edit))
    assert kinds(plan) == [
        (Kind.TEAM_MEMBER_REMOVE, {"team": "Design", "user": DANA}),
        (Kind.TEAM_MEMBER_ADD, {"team": "Review", "user": DANA}),
    ]
    assert all(not a.notifications for a in plan.actions)
    result = run_apply(open_store(account), plan, RESELLER)
    assert result.messages == ()
    snapshot = open_store(account).snapshot()
    assert snapshot.grants[(DANA, S1)].via == ("team:Review",)
    assert plan_yaml(account, edited(edit)).actions == ()


def test_leaving_a_team_while_a_direct_grant_remains_revokes_nothing(account: str) -> None:
    apply_yaml(account, edited(lambda d: user(d, CAROL)["access"].append({"serial": S1})))
    plan = plan_yaml(
        account,
        edited(
            lambda d: (
                user(d, CAROL)["access"].append({"serial": S1}),
                team(d, "Design")["members"].remove(CAROL),
            )
        ),
    )
    assert kinds(plan) == [(Kind.TEAM_MEMBER_REMOVE, {"team": "Design", "user": CAROL})]
    assert not plan.actions[0].notifications


def test_adding_a_member_grants_what_the_team_gives_and_e_mails_only_them(account: str) -> None:
    plan = plan_yaml(account, edited(lambda d: team(d, "Design")["members"].append(HEIDI)))
    assert kinds(plan) == [
        (Kind.TEAM_MEMBER_ADD, {"team": "Design", "user": HEIDI}),
        (Kind.ACCESS_GRANT, {"contract": C, "serial": S1, "user": HEIDI}),
    ]
    assert [(n.to, n.event) for a in plan.actions for n in a.notifications] == [(HEIDI, Event.ACCESS_GRANTED)]
    result = run_apply(open_store(account), plan, RESELLER)
    [message] = result.messages
    assert message.to == HEIDI
    assert "as a member of the team Design" in message.text


def test_removing_a_team_takes_its_members_and_access_out_first_and_revokes_what_it_gave(
    account: str,
) -> None:
    plan = plan_yaml(account, edited(lambda d: d["teams"].remove(team(d, "Review"))))
    assert [a.kind for a in plan.actions] == [
        Kind.TEAM_MEMBER_REMOVE,
        Kind.TEAM_ACCESS_REVOKE,
        Kind.TEAM_REMOVE,
        Kind.ACCESS_REVOKE,
    ]
    revoke = plan.actions[-1]
    assert (revoke.target["user"], revoke.before) == (ERIN, {"download": False, "via": ["team:Review"]})
    run_apply(open_store(account), plan, RESELLER)
    assert (ERIN, S1) not in open_store(account).snapshot().grants


# --- who may ----------------------------------------------------------------------------------------


def test_an_sc_cannot_reach_a_serial_they_do_not_coordinate_through_a_team(account: str) -> None:
    # Dave may manage users but coordinates no serial: he may put Heidi in Design, not give her S1.
    plan = plan_yaml(account, edited(lambda d: team(d, "Design")["members"].append(HEIDI)), DAVE)
    assert one(plan, Kind.TEAM_MEMBER_ADD).permitted
    grant = one(plan, Kind.ACCESS_GRANT)
    assert (grant.permitted, grant.requires) == (False, "software_coordinator")
    assert grant.reason and grant.reason.startswith(
        f"only the coordinator of serial {S1} with the right to manage users ({BOB}), "
    )
    assert grant.reason.endswith(f"may give {HEIDI} access to AutoCAD (serial {S1})")
    # Bob coordinates S1: the same change is his to make.
    assert not plan_yaml(account, edited(lambda d: team(d, "Design")["members"].append(HEIDI)), BOB).blocked


def test_a_team_given_a_serial_needs_access_rights_on_that_serial(account: str) -> None:
    plan = plan_yaml(account, edited(lambda d: team(d, "Review")["access"].append({"serial": S2})), BOB)
    team_grant = one(plan, Kind.TEAM_ACCESS_GRANT)
    assert (team_grant.permitted, team_grant.requires) == (False, "contract_manager")
    assert not one(plan, Kind.ACCESS_GRANT, user=ERIN).permitted  # and the grant it causes, on its own
    assert not plan_yaml(
        account, edited(lambda d: team(d, "Review")["access"].append({"serial": S2})), ALICE
    ).blocked


def test_team_bookkeeping_needs_the_right_to_manage_users(account: str) -> None:
    text = edited(lambda d: team(d, "Design").update(description="Architects in Oslo"))
    assert one(plan_yaml(account, text, DAVE), Kind.TEAM_UPDATE).permitted
    blocked = one(plan_yaml(account, text, CAROL), Kind.TEAM_UPDATE)
    assert (blocked.permitted, blocked.requires) == (False, "software_coordinator")


# --- drift, targets and reports ------------------------------------------------------------------------


def test_drift_sees_a_team_changed_outside_git(account: str) -> None:
    apply_yaml(account, edited(lambda d: team(d, "Design")["members"].append(HEIDI)))
    drift = find_drift(state_of(BASE), open_store(account).snapshot(), datetime.now(UTC))
    found = {(d.record, tuple(sorted(d.target.items()))) for d in drift.only_in_store}
    assert found == {
        (Record.TEAM_MEMBER, (("team", "Design"), ("user", HEIDI))),
        (Record.ACCESS, (("contract", C), ("serial", S1), ("user", HEIDI))),
    }


def test_a_target_team_plans_that_team_and_the_access_it_causes(account: str) -> None:
    def edit(doc: Doc) -> None:
        team(doc, "Design")["members"].append(HEIDI)
        team(doc, "Review")["members"].append(BOB)
        user(doc, DANA)["last_name"] = "Lund-Berg"

    desired = state_of(edited(edit))
    plan = make_plan(desired, open_store(account).snapshot(), RESELLER, PlanOptions(targets=("team:Design",)))
    assert kinds(plan) == [
        (Kind.TEAM_MEMBER_ADD, {"team": "Design", "user": HEIDI}),
        (Kind.ACCESS_GRANT, {"contract": C, "serial": S1, "user": HEIDI}),
    ]


def test_reports_show_which_team_caused_an_access_change(account: str) -> None:
    def edit(doc: Doc) -> None:
        team(doc, "Design")["members"] += [HEIDI, ALICE]
        team(doc, "Design")["members"].remove(DANA)

    plan = plan_yaml(account, edited(edit))
    text = "\n".join(render_text_plan(plan))
    assert f"+ access.grant {HEIDI} on {S1}: via team:Design" in text
    assert f"- access.revoke {DANA} on {S1}: via team:Design" in text
    markdown = render_plan(plan)
    section = markdown[markdown.index("#### Team Design") :]
    # The team's member changes, adds and removals, in one block.
    block = section[section.index("**members**") : section.index("```\n", section.index("```diff") + 7)]
    assert block.count(" in team Design") == 3
    assert f"+ {ALICE} in team Design" in block and f"- {DANA} in team Design" in block


# --- the example account --------------------------------------------------------------------------


def test_adding_one_member_to_the_examples_team_plans_that_and_the_grants_it_causes(
    store_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    common = ["--store", store_url, "--actor", RESELLER]
    assert runner.invoke(cli, ["apply", str(EXAMPLES / "acme"), "--auto-approve", *common]).exit_code == 0
    edited_example = tmp_path / "acme"
    shutil.copytree(EXAMPLES / "acme", edited_example)
    teams = edited_example / "teams.yaml"
    erik = "erik.nilsen@acme.example"
    text = teams.read_text(encoding="utf-8")
    teams.write_text(
        text.replace(
            "      - carol.smith@acme.example\n", f"      - carol.smith@acme.example\n      - {erik}\n"
        )
    )
    result = runner.invoke(cli, ["plan", str(edited_example), "--format", "json", *common])
    assert result.exit_code == 0, result.output
    actions = json.loads(result.stdout)["actions"]
    assert [(a["kind"], a["target"]) for a in actions] == [
        (Kind.TEAM_MEMBER_ADD, {"team": "Design Studio", "user": erik}),
        (Kind.ACCESS_GRANT, {"contract": C_EXAMPLE, "serial": "399-12345678", "user": erik}),
        (Kind.ACCESS_GRANT, {"contract": C_EXAMPLE, "serial": "399-12345679", "user": erik}),
    ]
    assert [a["after"] for a in actions[1:]] == [{"download": False, "via": ["team:Design Studio"]}] * 2
    assert [n for a in actions for n in a["notifications"]] == [
        {"event": Event.ACCESS_GRANTED, "to": erik}
    ] * 2
    applied = runner.invoke(cli, ["apply", str(edited_example), "--auto-approve", *common])
    assert applied.exit_code == 0, applied.output
    queued = [
        entry.message for entry in open_store(store_url).outbox(queued_only=True) if entry.revision == 2
    ]
    assert [m.to for m in queued] == [erik]  # one message, and no invitation: Erik has an account
    assert (
        "invited" not in queued[0].text and queued[0].text.count("as a member of the team Design Studio") == 2
    )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("keep", []),
        ("revoke", [Kind.TEAM_MEMBER_REMOVE, Kind.ACCESS_REVOKE]),
        ("remove", [Kind.TEAM_MEMBER_REMOVE, Kind.ACCESS_REVOKE, Kind.USER_REMOVE]),
    ],
)
def test_a_user_the_yaml_no_longer_declares_keeps_their_teams_only_when_kept(
    account: str, policy: str, expected: list[Kind]
) -> None:
    def without_erin(doc: Doc) -> None:
        doc["users"].remove(user(doc, ERIN))
        team(doc, "Review")["members"].remove(ERIN)
        doc["unmanaged_users"] = policy

    plan = plan_yaml(account, edited(without_erin))
    assert [a.kind for a in plan.actions] == expected
    assert plan.unmanaged == (() if policy == "remove" else (ERIN,))
