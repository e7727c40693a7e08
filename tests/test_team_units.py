"""A team change and the access it causes are one unit: judged together, applied or requested together.

One account on each backend: contract C1 (CM Alice) with serial S1, coordinated
by Bob (an SC who may manage users); Erin is an SC of C1 who may not manage
users. Contract C2 (CM Zoe) has serial S2, coordinated by Zoe herself. The
team Review gives S2, and only S2, to Carol. The change under test swaps
Carol for Dana in that team: two bookkeeping actions, and the revocation and
the grant on S2 they cause, which only Zoe or the reseller may make.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import RESELLER

from reconciler.cli import cli
from reconciler.core.model import DesiredState, build_state, effective_access
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.store import open_store

C1, C2, S1, S2 = "110000000001", "110000000002", "399-10000001", "399-20000001"
ALICE, BOB, CAROL, DANA, ERIN, ZOE = (
    f"{name}@acme.example" for name in ("alice", "bob", "carol", "dana", "erin", "zoe")
)
STRANGER = "nobody@elsewhere.example"

BEFORE = f"""\
version: 1
contracts:
  - number: "{C1}"
    manager: {ALICE}
    coordinators:
      - {{email: {BOB}, manage_users: true}}
      - {{email: {ERIN}, manage_users: false}}
    serials:
      - {{number: "{S1}", product: AutoCAD, seats: 3, coordinator: {BOB}}}
  - number: "{C2}"
    manager: {ZOE}
    serials:
      - {{number: "{S2}", product: Revit, seats: 3}}
users:
  - {{email: {ALICE}, first_name: Alice, last_name: Moreau}}
  - {{email: {BOB}, first_name: Bob, last_name: Okafor}}
  - {{email: {CAROL}, first_name: Carol, last_name: Smith}}
  - {{email: {DANA}, first_name: Dana, last_name: Lund}}
  - {{email: {ERIN}, first_name: Erin, last_name: Weiss}}
  - {{email: {ZOE}, first_name: Zoe, last_name: Berg}}
teams:
  - name: Review
    members: [{CAROL}]
    access: [{{serial: "{S2}"}}]
"""
SWAPPED = BEFORE.replace(f"members: [{CAROL}]", f"members: [{DANA}]")


def state_of(text: str) -> DesiredState:
    return build_state([parse(Source("desired.yaml", text.encode())).document])


class Account:
    """The account's store and its YAML, driven through the command line."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.runner = CliRunner()
        self.before = self.write("before.yaml", BEFORE)
        self.swapped = self.write("swapped.yaml", SWAPPED)
        applied = self.run("apply", str(self.before), "--actor", RESELLER, "--auto-approve")
        assert applied.exit_code == 0, applied.output

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, *args: str) -> Result:
        return self.runner.invoke(cli, [*args, "--store", self.url])

    def check_consistent(self) -> None:
        """The store's access is what its own team tables and direct grants give, drift of its own
        export finds nothing, and a plan of that export is empty."""
        snapshot = open_store(self.url).snapshot()
        assert snapshot.grants == effective_access(snapshot.state)
        assert all(grant.via for grant in snapshot.grants.values()), snapshot.grants
        exported = self.run("export")
        assert exported.exit_code == 0, exported.output
        export = self.write("export.yaml", exported.stdout)
        drift = self.run("drift", str(export))
        assert (drift.exit_code, "via (none)" in drift.output) == (0, False), drift.output
        plan = self.run("plan", str(export), "--actor", RESELLER, "--detailed-exitcode")
        assert plan.exit_code == 0, plan.output


@pytest.fixture
def account(store_url: str, tmp_path: Path) -> Account:
    return Account(store_url, tmp_path)


def test_an_sc_swapping_a_member_of_a_team_on_another_contracts_serial_holds_the_whole_unit_back(
    account: Account,
) -> None:
    result = account.run("apply", str(account.swapped), "--actor", BOB, "--auto-approve", "--request")
    assert result.exit_code == 0, result.output
    account.check_consistent()
    assert open_store(account.url).snapshot().state == state_of(BEFORE), "nothing of the unit was applied"
    # Against git, the store lacks the whole swap, and holds no grant that nothing gives.
    drift = account.run("drift", str(account.swapped))
    assert drift.exit_code == 2
    assert "via (none)" not in drift.output
    assert f"+ member {CAROL} of team Review" in drift.output
    assert f"- member {DANA} of team Review" in drift.output
    # One request per blocked action, as for any blocked action; the bookkeeping waits with them.
    asked = f"from {ZOE} or {RESELLER}.\n"
    assert f"Requested access.revoke {C2} {S2} {CAROL} {asked}" in result.output
    assert f"Requested access.grant {C2} {S2} {DANA} {asked}" in result.output
    assert result.output.count("Requested ") == 2
    assert (
        "Held back 2 actions that wait on a request: "
        f"team.member_remove {CAROL} in team Review, team.member_add {DANA} in team Review\n"
    ) in result.output


#: Who may do the swap, and what the store holds after `apply` as them, with `--request` or without:
#: all of it (the reseller; Zoe, CM of the serial's contract), or none of it.
ROLES = {
    "the reseller": (RESELLER, SWAPPED),
    "the CM of the serial's contract": (ZOE, SWAPPED),
    "the CM of another contract": (ALICE, BEFORE),
    "an SC who may manage users, of another contract": (BOB, BEFORE),
    "an SC who may not manage users": (ERIN, BEFORE),
    "an end user": (CAROL, BEFORE),
    "an unknown address": (STRANGER, BEFORE),
}


@pytest.mark.parametrize("request_blocked", [False, True], ids=["apply", "apply --request"])
@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_leaves_the_store_consistent(account: Account, role: str, request_blocked: bool) -> None:
    actor, expected = ROLES[role]
    options = ["--request"] if request_blocked else []
    result = account.run("apply", str(account.swapped), "--actor", actor, "--auto-approve", *options)
    permitted = expected == SWAPPED
    assert result.exit_code == (0 if permitted or request_blocked else 3), result.output
    account.check_consistent()
    assert open_store(account.url).snapshot().state == state_of(expected)


def test_the_plan_says_which_blocked_action_each_held_back_action_waits_on(account: Account) -> None:
    result = account.run("plan", str(account.swapped), "--actor", BOB)
    assert result.exit_code == 3, result.output
    ask = f"only the Contract Manager of contract {C2} ({ZOE}) or a reseller ({RESELLER}) may"
    assert (
        f"  - team.member_remove {CAROL} in team Review\n"
        f"      held back: waits on access.revoke {CAROL} on {S2}, which is blocked\n"
        f"  + team.member_add {DANA} in team Review\n"
        f"      held back: waits on access.grant {DANA} on {S2}, which is blocked\n"
        f"  - access.revoke {CAROL} on {S2}: via team:Review\n"
        f"      blocked: {ask} take {CAROL}'s access to Revit (serial {S2}) away\n"
        f"  + access.grant {DANA} on {S2}: via team:Review\n"
        f"      blocked: {ask} give {DANA} access to Revit (serial {S2})\n"
        "\nPlan: 2 to add, 0 to change, 2 to remove, 2 blocked.\n"
    ) in result.output
    markdown = account.run("plan", str(account.swapped), "--actor", BOB, "--format", "markdown").output
    assert (
        f"- {CAROL} in team Review   (held back: waits on access.revoke {CAROL} on {S2}, which is blocked)\n"
        in (markdown)
    )
    # Zoe may make the whole swap: nothing is held back, nor said to be.
    assert "held back" not in account.run("plan", str(account.swapped), "--actor", ZOE).output


#: Carol moves from Review (S2) to a new team Both, which gives S1 and S2: her access to S2 stays as it
#: is (no access action), only its source changes; Bob may give Both S1, not S2.
MOVED = BEFORE.replace(f"members: [{CAROL}]", "members: []") + (
    f'  - {{name: Both, members: [{CAROL}], access: [{{serial: "{S1}"}}, {{serial: "{S2}"}}]}}\n'
)


def test_a_move_between_teams_that_changes_no_access_is_held_back_with_the_rest_of_its_unit(
    account: Account,
) -> None:
    moved = account.write("moved.yaml", MOVED)
    result = account.run("apply", str(moved), "--actor", BOB, "--auto-approve", "--request")
    assert result.exit_code == 0, result.output
    account.check_consistent()
    # Taking Carol out of Review touches her access to S2, which Both would give in its place: without
    # Both's access to S2, which is blocked, it would leave her S2 grant with no source.
    assert f"Requested team.access_grant Both {C2} {S2} from {ZOE} or {RESELLER}.\n" in result.output
    assert result.output.count("Requested ") == 1
    assert (
        "Held back 4 actions that wait on a request: "
        f"team.member_remove {CAROL} in team Review, team.member_add {CAROL} in team Both, "
        f"team.access_grant team Both on {S1}, access.grant {CAROL} on {S1}\n"
    ) in result.output
    state = open_store(account.url).snapshot().state
    assert [(t.name, t.members, [a.serial for a in t.access]) for t in state.teams] == [
        ("Both", (), []),
        ("Review", (CAROL,), [S2]),
    ]


def test_a_saved_plan_applied_with_request_holds_the_same_unit_back(account: Account) -> None:
    saved = account.folder / "plan.json"
    planned = account.run("plan", str(account.swapped), "--actor", BOB, "--out", str(saved))
    assert planned.exit_code == 3, planned.output
    result = account.run("apply", str(saved), "--actor", BOB, "--auto-approve", "--request")
    assert result.exit_code == 0, result.output
    assert "Held back 2 actions that wait on a request: " in result.output
    account.check_consistent()
    assert open_store(account.url).snapshot().state == state_of(BEFORE)


def test_a_direct_grant_beside_a_held_back_team_change_is_applied(account: Account) -> None:
    # Bob puts Dana in Dev, which gives S2 (not his to give), and gives her S1 himself: her own grant
    # is no part of the team's unit, and does not wait on it.
    own = f'first_name: Dana, last_name: Lund, access: [{{serial: "{S1}"}}]}}'
    text = BEFORE.replace("first_name: Dana, last_name: Lund}", own) + (
        f'  - {{name: Dev, members: [{DANA}], access: [{{serial: "{S2}"}}]}}\n'
    )
    path = account.write("direct.yaml", text)
    plan = account.run("plan", str(path), "--actor", BOB)
    assert f"  + access.grant {DANA} on {S1}\n  + access.grant {DANA} on {S2}: via team:Dev\n" in plan.output
    result = account.run("apply", str(path), "--actor", BOB, "--auto-approve", "--request")
    assert result.exit_code == 0, result.output
    assert (
        f"Held back 1 action that waits on a request: team.member_add {DANA} in team Dev\n" in result.output
    )
    account.check_consistent()
    snapshot = open_store(account.url).snapshot()
    assert snapshot.grants[(DANA, S1)].via == ("direct",)
    assert (DANA, S2) not in snapshot.grants


def test_a_target_takes_whole_units_so_a_team_move_never_leaves_a_grant_that_nothing_gives(
    account: Account,
) -> None:
    """`--target user:carol`: Carol moves from Review (S2) to a new team Both (S1 and S2). Her member
    changes, and Both's access to S2 that keeps her grant on S2, are one unit; a target that took the
    member changes alone left her grant on S2 with no source."""
    both = SWAPPED.replace(f"members: [{DANA}]", "members: []") + (
        f"""  - name: Both
    members: [{CAROL}]
    access: [{{serial: "{S1}"}}, {{serial: "{S2}"}}]
"""
    )
    moved = account.write("moved.yaml", both)
    target = ("--target", f"user:{CAROL}")
    planned = account.run("plan", str(moved), "--actor", RESELLER, *target)
    assert planned.exit_code == 0, planned.output
    assert f"+ team.access_grant team Both on {S2}" in planned.output
    result = account.run("apply", str(moved), "--actor", RESELLER, "--auto-approve", *target)
    assert result.exit_code == 0, result.output
    account.check_consistent()
    grants = open_store(account.url).snapshot().grants
    assert grants[(CAROL, S2)].via == ("team:Both",)
    assert grants[(CAROL, S1)].via == ("team:Both",)
