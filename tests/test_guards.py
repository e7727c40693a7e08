"""The safety guards a user sees: mass removal, unmanaged users, --target."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from conftest import RESELLER, WriteYaml, apply_yaml

from reconciler.cli import cli
from reconciler.store import open_store

HEAD = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    serials:
      - {number: "399-12345678", product: AutoCAD, seats: 10}
      - {number: "399-12345679", product: Revit, seats: 2}
users:
  - {email: alice@acme.example, first_name: Alice, last_name: Moreau}
"""
NAMES = ["bea", "carl", "dina", "emil", "fay", "gus", "hal"]


def member(name: str, serial: str = "399-12345678") -> str:
    title = name.title()
    return f'  - {{email: {name}@acme.example, first_name: {title}, last_name: X, access: [{{serial: "{serial}"}}]}}\n'


#: Alice and seven users with access to AutoCAD: eight users, seven grants.
EIGHT = HEAD + "".join(member(name) for name in NAMES)


def run(store_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--actor", RESELLER, "--store", store_url])


# --- the removal guard -------------------------------------------------------------------------


def test_removing_a_third_of_the_users_is_refused_and_changes_nothing(
    store_url: str, write_yaml: WriteYaml
) -> None:
    apply_yaml(store_url, EIGHT)
    fewer = write_yaml(HEAD + "".join(member(name) for name in NAMES[3:]))
    planned = run(store_url, "plan", str(fewer))
    assert planned.exit_code == 3  # blocked: apply refuses it as it stands
    assert (
        "Removal guard: the plan removes 3 of the 8 users in the store (38%), more than the 25% allowed: "
        "apply refuses it without --allow-mass-removal.\n" in planned.output
    )
    assert "Removal guard: the plan removes 3 of the 7 access grants in the store (43%)" in planned.output
    refused = run(store_url, "apply", str(fewer), "--auto-approve")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: the plan removes 3 of the 8 users in the store (38%), more than the 25% allowed; "
        "the plan removes 3 of the 7 access grants in the store (43%), more than the 25% allowed. "
        "Nothing was applied: check the YAML, and if this is meant, apply with --allow-mass-removal\n"
    )
    assert len(open_store(store_url).snapshot().state.users) == 8
    allowed = run(store_url, "apply", str(fewer), "--auto-approve", "--allow-mass-removal")
    assert allowed.exit_code == 0, allowed.output
    assert len(open_store(store_url).snapshot().state.users) == 5


FEWER = HEAD + "".join(member(name) for name in NAMES[3:])
GUARD_NOTE = (
    "Removal guard: the plan removes 3 of the 8 users in the store (38%), more than the 25% allowed: "
    "apply refuses it without --allow-mass-removal."
)


def test_a_mass_removal_plans_blocked_in_every_format_until_it_is_allowed(
    store_url: str, write_yaml: WriteYaml
) -> None:
    apply_yaml(store_url, EIGHT)
    fewer, out = str(write_yaml(FEWER)), str(write_yaml("", "plan.json"))
    for output_format, says in [
        ("text", GUARD_NOTE + "\n"),
        ("markdown", f"> **{GUARD_NOTE.replace(': the', ':** the', 1)}\n"),
        ("json", '"guards": [\n    {\n      "max_ratio": 0.25,\n      "removed": 3,\n      "total": 8,\n'),
        ("html", f"<b>Removal guard:</b> {GUARD_NOTE.removeprefix('Removal guard: ')}</p>"),
    ]:
        planned = run(
            store_url, "plan", fewer, "--format", output_format, "--detailed-exitcode", "--out", out
        )
        assert (planned.exit_code, planned.stderr) == (3, ""), output_format
        assert says in planned.stdout, output_format
    assert run(store_url, "apply", out, "--auto-approve").exit_code == 1
    assert open_store(store_url).snapshot().revision == 1

    # Reviewed: the same plan, exit 2 as any change; the note stays, and apply still needs its own flag.
    reviewed = run(store_url, "plan", fewer, "--detailed-exitcode", "--allow-mass-removal", "--out", out)
    assert reviewed.exit_code == 2, reviewed.output
    assert GUARD_NOTE in reviewed.stdout
    assert reviewed.stdout.endswith(
        f"Saved the plan to {out}; apply it with `reconciler apply {out} --allow-mass-removal`.\n"
    )
    assert run(store_url, "apply", out, "--auto-approve").exit_code == 1
    applied = run(store_url, "apply", out, "--auto-approve", "--allow-mass-removal")
    assert applied.exit_code == 0, applied.output
    assert len(open_store(store_url).snapshot().state.users) == 5


#: Alice, the Contract Manager, may remove users but not change a serial's seats (the reseller's).
SEATS = ("seats: 10}", "seats: 12}")


BLOCKED_NOTE = (
    "Blocked: 1 action the actor may not perform: apply refuses the plan without --request, "
    "which applies the rest and asks whoever may perform it."
)


def test_a_blocked_plan_names_the_flag_apply_needs_in_every_format(
    store_url: str, write_yaml: WriteYaml
) -> None:
    apply_yaml(store_url, EIGHT)
    path = str(write_yaml(EIGHT.replace(*SEATS)))
    for output_format, says in [
        ("text", BLOCKED_NOTE + "\n"),
        ("markdown", f"> **{BLOCKED_NOTE.replace(': 1', ':** 1', 1)}\n"),
        ("html", f"<b>Blocked:</b> {BLOCKED_NOTE.removeprefix('Blocked: ')}</p>"),
    ]:
        planned = CliRunner().invoke(
            cli,
            ["plan", path, "--format", output_format, "--actor", "alice@acme.example", "--store", store_url],
        )
        assert (planned.exit_code, planned.stderr) == (3, ""), output_format
        assert says in planned.stdout, output_format
    requested = CliRunner().invoke(
        cli,
        ["apply", path, "--request", "--auto-approve", "--actor", "alice@acme.example", "--store", store_url],
    )
    assert requested.exit_code == 0, requested.output
    assert "Requested serial.seats_change 110001234567 399-12345678 from orders@cadpartners.example.\n" in (
        requested.stdout
    )


@pytest.mark.parametrize("allow", [False, True], ids=["as-is", "allow-mass-removal"])
@pytest.mark.parametrize(
    ("change", "actor"),
    [
        (EIGHT.replace(member("hal"), ""), RESELLER),  # nothing apply refuses
        (FEWER, RESELLER),  # a mass removal
        (EIGHT.replace(*SEATS), "alice@acme.example"),  # a blocked action
        (FEWER.replace(*SEATS), "alice@acme.example"),  # both
    ],
    ids=["fine", "mass-removal", "blocked", "both"],
)
def test_plan_exits_3_exactly_when_apply_would_refuse(
    store_url: str, write_yaml: WriteYaml, change: str, actor: str, allow: bool
) -> None:
    apply_yaml(store_url, EIGHT)
    flags = ["--allow-mass-removal"] if allow else []
    path = str(write_yaml(change))
    as_actor = ["--actor", actor, "--store", store_url]
    planned = CliRunner().invoke(cli, ["plan", path, "--detailed-exitcode", *flags, *as_actor])
    applied = CliRunner().invoke(cli, ["apply", path, "--auto-approve", *flags, *as_actor])
    assert planned.exit_code in (2, 3), planned.output
    assert (planned.exit_code == 3) == (applied.exit_code != 0), (planned.output, applied.output)
    if applied.exit_code:
        assert open_store(store_url).snapshot().revision == 1


def test_the_guard_is_in_the_json_plan_and_a_saved_plan_can_be_judged_at_another_ratio(
    store_url: str, write_yaml: WriteYaml, tmp_path: object
) -> None:
    apply_yaml(store_url, EIGHT)
    fewer = write_yaml(HEAD + "".join(member(name) for name in NAMES[3:]))
    out = str(write_yaml("", "plan.json"))
    planned = json.loads(run(store_url, "plan", str(fewer), "--format", "json", "--out", out).stdout)
    assert planned["store"]["users"] == 8 and planned["store"]["access"] == 7
    assert planned["guards"] == [
        {"what": "users", "removed": 3, "total": 8, "max_ratio": 0.25},
        {"what": "access", "removed": 3, "total": 7, "max_ratio": 0.25},
    ]
    assert run(store_url, "apply", out, "--auto-approve").exit_code == 1
    assert run(store_url, "apply", out, "--auto-approve", "--max-removal-ratio", "0.4").exit_code == 1
    looser = run(store_url, "apply", out, "--auto-approve", "--max-removal-ratio", "0.5")
    assert looser.exit_code == 0, looser.output


def test_an_empty_file_cannot_empty_the_account(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, EIGHT)
    result = run(store_url, "apply", str(write_yaml("version: 1\n")), "--auto-approve")
    assert result.exit_code == 1
    assert "the plan removes 8 of the 8 users in the store (100%)" in result.stderr
    assert open_store(store_url).snapshot().revision == 1


def test_one_removal_is_never_a_mass_removal(store_url: str, write_yaml: WriteYaml) -> None:
    small = HEAD + member("bea")
    apply_yaml(store_url, small)
    result = run(store_url, "apply", str(write_yaml(HEAD)), "--auto-approve")
    assert result.exit_code == 0, result.output  # 1 of 2 users, 1 of 1 grants: one person leaving
    assert "Removal guard" not in result.output


def test_a_quarter_exactly_is_allowed(store_url: str, write_yaml: WriteYaml) -> None:
    alice_too = EIGHT.replace("last_name: Moreau}", 'last_name: Moreau, access: [{serial: "399-12345678"}]}')
    apply_yaml(store_url, alice_too)  # eight users, eight grants
    two_fewer = alice_too.replace(member("bea"), "").replace(member("carl"), "")
    result = run(store_url, "apply", str(write_yaml(two_fewer)), "--auto-approve")
    assert result.exit_code == 0, result.output  # 2 of 8 is 25 %, not more
    assert "Removal guard" not in result.output


@pytest.mark.parametrize("ratio", ["-0.1", "1.5"])
def test_a_ratio_outside_0_to_1_is_refused(store_url: str, write_yaml: WriteYaml, ratio: str) -> None:
    result = run(store_url, "plan", str(write_yaml(EIGHT)), "--max-removal-ratio", ratio)
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: --max-removal-ratio must be between 0 and 1, not {float(ratio)}\n",
    )


# --- users the YAML does not manage --------------------------------------------------------------

WITHOUT_BEA = EIGHT.replace(member("bea"), "")


def users_and_grants(store_url: str) -> dict[str, list[str]]:
    return {u.email: [a.serial for a in u.access] for u in open_store(store_url).snapshot().state.users}


def test_by_default_the_yaml_is_the_truth(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, EIGHT)
    result = run(store_url, "apply", str(write_yaml(WITHOUT_BEA)), "--auto-approve")
    assert "  - user.remove bea@acme.example\n" in result.output
    assert "bea@acme.example" not in users_and_grants(store_url)


def test_keep_leaves_unmanaged_users_as_they_are_and_lists_them(
    store_url: str, write_yaml: WriteYaml
) -> None:
    apply_yaml(store_url, EIGHT)
    kept = write_yaml("unmanaged_users: keep\n" + WITHOUT_BEA)
    planned = run(store_url, "plan", str(kept), "--format", "json")
    assert json.loads(planned.stdout)["unmanaged"] == {"policy": "keep", "users": ["bea@acme.example"]}
    result = run(store_url, "apply", str(kept), "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "No changes." in result.output
    assert (
        "Unmanaged: 1 user in the store but not in the YAML, kept as they are (unmanaged_users: keep): "
        "bea@acme.example.\n" in result.output
    )
    assert users_and_grants(store_url)["bea@acme.example"] == ["399-12345678"]


def test_revoke_keeps_the_user_and_takes_their_access(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, EIGHT)
    result = run(store_url, "apply", str(write_yaml(WITHOUT_BEA)), "--unmanaged", "revoke", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "  - access.revoke bea@acme.example on 399-12345678\n" in result.output
    assert "user.remove" not in result.output
    assert users_and_grants(store_url)["bea@acme.example"] == []


def test_the_command_line_overrides_the_yaml(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, EIGHT)
    kept = write_yaml("unmanaged_users: keep\n" + WITHOUT_BEA)
    result = run(store_url, "apply", str(kept), "--unmanaged", "remove", "--auto-approve")
    assert "  - user.remove bea@acme.example\n" in result.output


def test_files_that_disagree_on_the_policy_are_invalid(store_url: str, write_yaml: WriteYaml) -> None:
    write_yaml("version: 1\nunmanaged_users: keep\n", "account/a.yaml")
    folder = write_yaml(
        EIGHT.replace("version: 1\n", "version: 1\nunmanaged_users: revoke\n"), "account/b.yaml"
    )
    result = CliRunner().invoke(cli, ["validate", str(folder.parent)])
    assert result.exit_code == 1
    assert (
        f"{folder}:2:18: unmanaged_users: unmanaged_users is 'revoke' here but 'keep' at "
        f"{folder.parent / 'a.yaml'}:2:18; the files must agree" in result.output
    )


def test_keeping_users_that_would_overfill_a_serial_is_refused(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, EIGHT)
    fewer_seats = WITHOUT_BEA.replace("seats: 10", "seats: 6")
    result = run(store_url, "plan", str(write_yaml(fewer_seats)), "--unmanaged", "keep")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: with unmanaged_users: keep, serial 399-12345678 would have 7 users for 6 seats "
        "(kept: bea@acme.example); add seats, or use revoke or remove\n"
    )


# --- --target --------------------------------------------------------------------------------------


def test_a_target_plans_one_user_with_what_they_need(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, HEAD)
    full = write_yaml(EIGHT + member("ivy", "399-12345679"))
    result = run(store_url, "plan", str(full), "--target", "user:IVY@acme.example")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert lines == [
        "  + user.add ivy@acme.example: Ivy X",
        "  + access.grant ivy@acme.example on 399-12345679",
    ]
    assert (
        "Targeted: only user:ivy@acme.example and what it needs; the rest of the YAML waits for a full plan.\n"
        in result.output
    )
    assert json.loads(
        run(store_url, "plan", str(full), "--target", "user:ivy@acme.example", "--format", "json").stdout
    )["targets"] == ["user:ivy@acme.example"]


def test_a_target_pulls_in_the_revocations_that_free_its_seats(store_url: str, write_yaml: WriteYaml) -> None:
    two = HEAD + member("bea", "399-12345679") + member("carl", "399-12345679")
    apply_yaml(store_url, two)
    swapped = HEAD + member("bea", "399-12345679") + member("carl") + member("dina", "399-12345679")
    result = run(
        store_url, "apply", str(write_yaml(swapped)), "--target", "user:dina@acme.example", "--auto-approve"
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert lines == [
        "  + user.add dina@acme.example: Dina X",
        "  - access.revoke carl@acme.example on 399-12345679",
        "  + access.grant dina@acme.example on 399-12345679",
    ]
    assert "carl@acme.example" in users_and_grants(store_url), "carl's own grant waits for a full plan"
    assert users_and_grants(store_url)["carl@acme.example"] == []


def test_a_team_target_ignores_case_as_team_names_do(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, EIGHT)
    # casefold, not lower: "STRASSE" and "Straße" are one name, as validation counts them.
    team = (
        'teams:\n  - {name: Straße Studio, members: [bea@acme.example], access: [{serial: "399-12345679"}]}\n'
    )
    with_team = write_yaml(EIGHT + team)
    result = run(store_url, "plan", str(with_team), "--target", "team:STRASSE STUDIO")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert lines == [
        "  + team.create team Straße Studio",
        "  + team.member_add bea@acme.example in team Straße Studio",
        "  + team.access_grant team Straße Studio on 399-12345679",
        "  + access.grant bea@acme.example on 399-12345679: via team:Straße Studio",
    ]
    twice = run(
        store_url, "plan", str(with_team), "--target", "team:straße studio", "--target", "team:STRASSE STUDIO"
    )
    assert "Targeted: only team:straße studio and what it needs;" in twice.output
    apply_yaml(store_url, EIGHT + team)
    gone = run(store_url, "plan", str(write_yaml(EIGHT, "no-team.yaml")), "--target", "team:straße STUDIO")
    assert gone.exit_code == 0, gone.output
    assert "  - team.remove team Straße Studio\n" in gone.output


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("user", "--target 'user': use contract:NUMBER, serial:NUMBER, user:EMAIL or team:NAME"),
        ("group:x", "--target 'group:x': use contract:NUMBER, serial:NUMBER, user:EMAIL or team:NAME"),
        ("contract:999", "--target contract:999: not in the YAML nor in the store"),
        ("team:Nobody", "--target team:Nobody: not in the YAML nor in the store"),
    ],
)
def test_a_bad_target_is_refused(store_url: str, write_yaml: WriteYaml, target: str, message: str) -> None:
    result = run(store_url, "plan", str(write_yaml(EIGHT)), "--target", target)
    assert (result.exit_code, result.stderr) == (1, f"Error: {message}\n")


# --- protect: true ----------------------------------------------------------------------------------

PROTECTED_BEA = EIGHT.replace("first_name: Bea, last_name: X", "first_name: Bea, last_name: X, protect: true")


def test_a_protected_user_cannot_be_removed_until_unprotected(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, PROTECTED_BEA)
    without = write_yaml(WITHOUT_BEA, "without-bea.yaml")
    refused = run(store_url, "apply", str(without), "--auto-approve")
    assert refused.exit_code == 3
    assert (
        "  - user.remove bea@acme.example\n"
        "      blocked: user bea@acme.example is protected (protect: true); set protect: false and apply "
        "that first, then remove it\n" in refused.output
    )
    assert "bea@acme.example" in users_and_grants(store_url)

    unprotect = run(store_url, "apply", str(write_yaml(EIGHT)), "--auto-approve")
    assert unprotect.exit_code == 0, unprotect.output
    assert "  ~ user.protect bea@acme.example: protect yes → no\n" in unprotect.output
    removed = run(store_url, "apply", str(without), "--auto-approve")
    assert removed.exit_code == 0, removed.output
    assert "bea@acme.example" not in users_and_grants(store_url)


def test_protected_contracts_and_serials_stop_even_the_reseller(
    store_url: str, write_yaml: WriteYaml
) -> None:
    protected = HEAD.replace(
        "manager: alice@acme.example\n", "manager: alice@acme.example\n    protect: true\n"
    ).replace("seats: 2}", "seats: 2, protect: true}")
    first = run(store_url, "apply", str(write_yaml(protected)), "--auto-approve")
    assert first.exit_code == 0, first.output
    assert "  + contract.create 110001234567: manager alice@acme.example, protect yes\n" in first.output
    without_serial = protected.replace(
        '      - {number: "399-12345679", product: Revit, seats: 2, protect: true}\n', ""
    )
    result = run(store_url, "plan", str(write_yaml(without_serial)))
    assert result.exit_code == 3
    assert "blocked: serial 399-12345679 is protected (protect: true)" in result.output
    only_alice = "version: 1\nusers:\n  - {email: alice@acme.example, first_name: Alice, last_name: Moreau}\n"
    result = run(store_url, "plan", str(write_yaml(only_alice)))
    assert "blocked: contract 110001234567 is protected (protect: true)" in result.output
    assert "blocked: serial 399-12345679 is protected (protect: true)" in result.output


def test_only_who_may_remove_it_may_unprotect_it(store_url: str, write_yaml: WriteYaml) -> None:
    protected = HEAD.replace("seats: 2}", "seats: 2, protect: true}")
    apply_yaml(store_url, protected)
    result = CliRunner().invoke(
        cli, ["plan", str(write_yaml(HEAD)), "--actor", "alice@acme.example", "--store", store_url]
    )
    assert result.exit_code == 3
    assert (
        "blocked: only a reseller (orders@cadpartners.example) may change the protection of Revit (serial 399-12345679)"
        in result.output
    )


def test_protection_survives_export(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, PROTECTED_BEA)
    exported = CliRunner().invoke(cli, ["export", "--store", store_url]).output
    assert (
        "  - email: bea@acme.example\n    first_name: Bea\n    last_name: X\n    protect: true\n" in exported
    )
    again = run(store_url, "plan", str(write_yaml(exported)), "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_users_kept_on_purpose_are_not_drift(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, EIGHT)
    kept = write_yaml("unmanaged_users: keep\n" + WITHOUT_BEA)
    assert CliRunner().invoke(cli, ["drift", str(kept), "--store", store_url]).exit_code == 0
    removed = CliRunner().invoke(cli, ["drift", str(kept), "--unmanaged", "remove", "--store", store_url])
    assert removed.exit_code == 2
    assert "bea@acme.example" in removed.output
