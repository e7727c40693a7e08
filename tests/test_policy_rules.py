"""Policy rules (`policies:`) through the command line, as a user runs them: each effect in a plan,
compile errors placed inside the expression, verdicts placed on the record's line, evaluation errors,
every role, determinism, saved plans, and validate without the `[policy]` extra.

Each plan test applies ACCOUNT to a store (SQLite and PostgreSQL) first, then adds rules and a change,
so that the plan touches only what the change names.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import RESELLER, ROOT, Backend

from reconciler.cli import cli
from reconciler.policy.cel import INSTALL
from reconciler.policy.vocabulary import VARIABLES

ACCOUNT = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    ends: "2027-12-31"
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
  - number: "110009876543"
    manager: alice@acme.example
    serials:
      - number: "562-20000001"
        product: Inventor
        seats: 5
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
      - serial: "399-12345679"
  - email: dave@acme.example
    first_name: Dave
    last_name: Diaz
"""
TEAMS = """\
version: 1
teams:
  - name: Studio
    members:
      - carol@acme.example
    access:
      - serial: "399-12345678"
        download: true
"""
#: A user at another domain, with a grant of Revit (Sam's serial).
OUTSIDER = """\
  - email: zed@elsewhere.example
    first_name: Zed
    last_name: Quinn
    access:
      - serial: "399-12345679"
"""
ELSEWHERE = 'user.domain != "acme.example"'

CM, SC, SC_WITHOUT = "alice@acme.example", "bob@acme.example", "sam@acme.example"


def _rule(rule_id: str, applies_to: str, when: str, effect: str, extra: str = "") -> str:
    return (
        f"version: 1\npolicies:\n  - id: {rule_id}\n    applies_to: {applies_to}\n"
        f"    when: '{when}'\n    effect: {effect}\n{extra}"
    )


def _run(runner: CliRunner, args: list[str], store_url: str, actor: str = RESELLER) -> Result:
    result = runner.invoke(cli, [*args, "--store", store_url, "--actor", actor])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _plan(
    runner: CliRunner, folder: Path, store_url: str, actor: str = RESELLER, *extra: str
) -> tuple[int, dict[str, Any]]:
    result = _run(runner, ["plan", str(folder), "--format", "json", *extra], store_url, actor)
    assert result.exit_code in (0, 2, 3), result.output
    return result.exit_code, json.loads(result.stdout)


def _line(path: Path, text: str) -> int:
    [line] = [n for n, got in enumerate(path.read_text().splitlines(), 1) if got.startswith(text)]
    return line


@pytest.fixture
def account(runner: CliRunner, tmp_path: Path, store_url: str) -> Path:
    """ACCOUNT and TEAMS in a folder, applied to the store."""
    folder = tmp_path / "account"
    folder.mkdir()
    (folder / "users.yaml").write_text(ACCOUNT)
    (folder / "teams.yaml").write_text(TEAMS)
    result = _run(runner, ["apply", str(folder), "--auto-approve"], store_url)
    assert result.exit_code == 0, result.output
    return folder


def _add_outsider(account: Path, policy: str) -> None:
    (account / "policies.yaml").write_text(policy)
    users = account / "users.yaml"
    users.write_text(users.read_text() + OUTSIDER)


# (a) Each effect through plan.


def test_a_deny_blocks_the_actions_and_apply_refuses_even_with_request(
    runner: CliRunner, account: Path, store_url: str, backend: Backend
) -> None:
    _add_outsider(
        account, _rule("acme-only", "user", ELSEWHERE, "deny", "    message: acme addresses only\n")
    )
    code, plan = _plan(runner, account, store_url)
    assert code == 3
    [verdict] = plan["policy"]["verdicts"]
    users = account / "users.yaml"
    assert (verdict["rule"], verdict["effect"], verdict["record"], verdict["file"], verdict["line"]) == (
        "acme-only",
        "deny",
        "user zed@elsewhere.example",
        str(users),
        _line(users, "  - email: zed@elsewhere.example"),
    )
    assert verdict["message"] == "acme addresses only"
    actions = [(a["kind"], a.get("denied"), a["permitted"]) for a in plan["actions"]]
    assert actions == [("user.add", "acme-only", False), ("access.grant", "acme-only", False)]
    assert all("policy acme-only denies it: acme addresses only" in a["reason"] for a in plan["actions"])
    before = backend.contents(store_url)
    for args in (["--auto-approve"], ["--auto-approve", "--request"]):
        refused = _run(runner, ["apply", str(account), *args], store_url)
        assert refused.exit_code == 3, refused.output
        assert "acme-only" in refused.output
        assert backend.contents(store_url) == before


def test_a_warning_is_listed_and_blocks_nothing(runner: CliRunner, account: Path, store_url: str) -> None:
    _add_outsider(account, _rule("acme-only", "user", ELSEWHERE, "warn"))
    code, plan = _plan(runner, account, store_url)
    assert code == 0
    [verdict] = plan["policy"]["verdicts"]
    assert (verdict["rule"], verdict["effect"], verdict["record"], verdict["message"]) == (
        "acme-only",
        "warn",
        "user zed@elsewhere.example",
        ELSEWHERE,  # without a message, the rule's condition
    )
    assert [(a["kind"], a.get("denied"), a["permitted"]) for a in plan["actions"]] == [
        ("user.add", None, True),
        ("access.grant", None, True),
    ]
    assert _plan(runner, account, store_url, RESELLER, "--detailed-exitcode")[0] == 2
    text = _run(runner, ["plan", str(account)], store_url)
    assert text.exit_code == 0, text.output
    assert "acme-only" in text.output
    applied = _run(runner, ["apply", str(account), "--auto-approve"], store_url)
    assert applied.exit_code == 0, applied.output


def test_require_approvals_puts_the_count_in_the_plan(
    runner: CliRunner, account: Path, store_url: str
) -> None:
    _add_outsider(
        account,
        _rule("two-reviews", "plan", "plan.users_added > 0", "require_approvals", "    approvals: 2\n"),
    )
    code, plan = _plan(runner, account, store_url)
    assert code == 0
    assert (plan["policy"]["required_approvals"], plan["policy"]["approvals_from"]) == (2, ["two-reviews"])
    [verdict] = plan["policy"]["verdicts"]
    assert (verdict["effect"], verdict["approvals"], verdict["record"]) == (
        "require_approvals",
        2,
        "the plan",
    )
    assert all(a["permitted"] and not a.get("denied") for a in plan["actions"])


# (b) Ten broken expressions, ten placed errors, one run.

#: (id, applies_to, expression, where in it the error is, what its message says)
BROKEN = [
    (
        "ends-early",
        "user",
        "user.email ==",
        len("user.email =="),
        "the condition ends where more was expected",
    ),
    ("three-ampersands", "user", 'user.email == "a" &&& true', len('user.email == "a" &&'), "syntax error"),
    ("open-string", "grant", 'grant.serial == "399', len("grant.serial == "), "syntax error"),
    ("misspelt", "user", 'user.mail == "a"', len("user"), "unknown variable 'user.mail'"),
    ("wrong-record", "plan", 'user.email == "a"', len("user"), "plan.seats_added"),
    ("int-vs-string", "user", 'user.serial_count == "3"', len("user.serial_count "), "(int, string)"),
    ("not-a-bool", "user", "user.serial_count + 1", 0, "gives an int, not a bool"),
    ("no-such-function", "user", "frobnicate(user.email)", len("frobnicate"), "'frobnicate'"),
    ("bool-method", "grant", 'grant.download.endsWith("x")', len("grant.download.endsWith"), "endsWith"),
    ("list-vs-int", "user", "user.serials > 3", len("user.serials "), "'>'"),
]


def test_ten_broken_expressions_give_ten_placed_errors_in_one_run(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "users.yaml").write_text(ACCOUNT)
    lines = ["version: 1", "policies:"]
    expected = []
    for rule_id, applies_to, when, at, said in BROKEN:
        lines += [
            f"  - id: {rule_id}",
            f"    applies_to: {applies_to}",
            f"    when: '{when}'",
            "    effect: deny",
        ]
        # The expression starts after `    when: '`: column 12.
        expected.append((f"{tmp_path / 'policies.yaml'}:{len(lines) - 1}:{12 + at}:", rule_id, said))
    (tmp_path / "policies.yaml").write_text("\n".join(lines) + "\n")
    result = runner.invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if "policies.yaml:" in line]
    assert len(errors) == 10, result.output
    for error, (place, rule_id, said) in zip(errors, expected, strict=True):
        assert error.startswith(place), (error, place)
        assert f"policy {rule_id}: " in error
        assert said in error, error
    misspelt = next(error for error in errors if "policy misspelt" in error)
    assert all(f"{v.name}" in misspelt for v in VARIABLES["user"])
    assert "user.email" in misspelt


def test_an_error_in_a_literal_block_is_placed_on_its_own_line(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "users.yaml").write_text(ACCOUNT)
    policies = tmp_path / "policies.yaml"
    policies.write_text(
        textwrap.dedent(
            """\
            version: 1
            policies:
              - id: two-lines
                applies_to: serial
                when: |
                  serial.seats > 3 &&
                  serial.product > 2
                effect: warn
            """
        )
    )
    result = runner.invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(
        f"{policies}:7:{7 + len('serial.product ')}: policies[0].when: policy two-lines"
    )


def test_an_error_in_a_folded_block_is_placed_on_its_own_line(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "users.yaml").write_text(ACCOUNT)
    policies = tmp_path / "policies.yaml"
    policies.write_text(
        "version: 1\npolicies:\n  - id: two-lines\n    applies_to: serial\n    when: >-\n"
        "      serial.seats > 3 &&\n      serial.product > 2\n    effect: warn\n"
    )
    result = runner.invoke(cli, ["validate", str(tmp_path)])
    assert result.output.startswith(f"{policies}:7:{7 + len('serial.product ')}:"), result.output


def test_an_error_after_an_escape_is_placed_at_its_column(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "users.yaml").write_text(ACCOUNT)
    policies = tmp_path / "policies.yaml"
    source = r"user.email == \"a\" && user.serial_count == \"3\""
    policies.write_text(
        f'version: 1\npolicies:\n  - id: quoted\n    applies_to: user\n    when: "{source}"\n    effect: deny\n'
    )
    result = runner.invoke(cli, ["validate", str(tmp_path)])
    assert result.output.startswith(f"{policies}:5:{12 + source.rindex('== ' + chr(92))}:"), result.output


# (c) A grant only a team gives is placed on the team's line.


def test_a_deny_on_a_team_grant_is_placed_on_the_team(
    runner: CliRunner, account: Path, store_url: str
) -> None:
    (account / "policies.yaml").write_text(
        _rule("own-downloads-only", "grant", "grant.download && !grant.direct", "deny")
    )
    teams = account / "teams.yaml"
    teams.write_text(
        TEAMS.replace(
            "      - carol@acme.example\n", "      - carol@acme.example\n      - dave@acme.example\n"
        )
    )
    code, plan = _plan(runner, account, store_url)
    assert code == 3
    [verdict] = plan["policy"]["verdicts"]
    assert (verdict["record"], verdict["file"], verdict["line"]) == (
        "access dave@acme.example on 399-12345678",
        str(teams),
        _line(teams, "  - name: Studio"),
    )
    assert [(a["kind"], a.get("denied")) for a in plan["actions"]] == [
        ("team.member_add", None),
        ("access.grant", "own-downloads-only"),
    ]


# (d) A rule that cannot be evaluated for a record.


def test_a_missing_value_is_a_placed_error_that_blocks(
    runner: CliRunner, account: Path, store_url: str
) -> None:
    (account / "policies.yaml").write_text(_rule("ends-soon", "grant", "contract.days_left < 30", "deny"))
    users = account / "users.yaml"
    # Dave gets Inventor, of the contract that does not say when it ends.
    users.write_text(ACCOUNT + '    access:\n      - serial: "562-20000001"\n')
    result = _run(runner, ["plan", str(account), "--format", "json"], store_url)
    assert result.exit_code == 3, result.output
    [verdict] = json.loads(result.stdout)["policy"]["verdicts"]
    assert (verdict["rule"], verdict["effect"], verdict["record"], verdict["file"], verdict["line"]) == (
        "ends-soon",
        "error",
        "access dave@acme.example on 562-20000001",
        str(users),
        _line(users, '      - serial: "562-20000001"'),
    )
    assert "contract.days_left" in verdict["message"]
    text = _run(runner, ["plan", str(account)], store_url)
    assert text.exit_code == 3
    assert "contract.days_left" in text.output
    # Guarded as the docs say, it holds for no record.
    (account / "policies.yaml").write_text(
        _rule("ends-soon", "grant", 'contract.ends != "" && contract.days_left < 30', "deny")
    )
    code, plan = _plan(runner, account, store_url)
    assert (code, plan["policy"]["verdicts"]) == (0, [])


# (e) A rule applies whoever plans.


@pytest.mark.parametrize(
    "actor",
    [RESELLER, CM, SC, SC_WITHOUT],
    ids=["reseller", "contract-manager", "coordinator-managing-users", "coordinator-not-managing-users"],
)
def test_every_role_sees_the_deny_and_request_is_refused(
    runner: CliRunner, account: Path, store_url: str, backend: Backend, actor: str
) -> None:
    _add_outsider(account, _rule("acme-only", "user", ELSEWHERE, "deny"))
    code, plan = _plan(runner, account, store_url, actor)
    assert code == 3
    [verdict] = plan["policy"]["verdicts"]
    assert (verdict["rule"], verdict["record"]) == ("acme-only", "user zed@elsewhere.example")
    assert [(a["kind"], a.get("denied"), a["permitted"]) for a in plan["actions"]] == [
        ("user.add", "acme-only", False),
        ("access.grant", "acme-only", False),
    ]
    before = backend.contents(store_url)
    refused = _run(runner, ["apply", str(account), "--auto-approve", "--request"], store_url, actor)
    assert refused.exit_code == 3, refused.output
    assert backend.contents(store_url) == before
    listed = runner.invoke(cli, ["requests", "--format", "json", "--store", store_url])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["requests"] == []


# (f) Determinism.


def test_the_same_plan_twice_is_the_same_bytes(runner: CliRunner, account: Path, store_url: str) -> None:
    (account / "policies.yaml").write_text(
        _rule("acme-only", "user", ELSEWHERE, "deny")
        + "  - id: warn-grants\n    applies_to: grant\n    when: 'grant.new'\n    effect: warn\n"
        + "  - id: reviews\n    applies_to: plan\n    when: 'plan.actions > 0'\n"
        + "    effect: require_approvals\n    approvals: 1\n"
    )
    users = account / "users.yaml"
    users.write_text(users.read_text() + OUTSIDER)
    args = ["plan", str(account), "--format", "json"]
    first, second = _run(runner, args, store_url), _run(runner, args, store_url)
    assert first.exit_code == 3, first.output
    assert len(json.loads(first.stdout)["policy"]["verdicts"]) == 3
    assert first.stdout == second.stdout


# (g) A saved plan with a deny.


def test_a_saved_plan_with_a_deny_does_not_apply(
    runner: CliRunner, account: Path, store_url: str, backend: Backend, tmp_path: Path
) -> None:
    _add_outsider(account, _rule("acme-only", "user", ELSEWHERE, "deny"))
    saved = tmp_path / "plan.json"
    planned = _run(runner, ["plan", str(account), "--out", str(saved)], store_url)
    assert planned.exit_code == 3, planned.output
    assert [v["rule"] for v in json.loads(saved.read_text())["policy"]["verdicts"]] == ["acme-only"]
    before = backend.contents(store_url)
    for args in (["--auto-approve"], ["--auto-approve", "--request"]):
        refused = _run(runner, ["apply", str(saved), *args], store_url)
        assert refused.exit_code == 3, refused.output
        assert backend.contents(store_url) == before


# (h) Without the [policy] extra.


def test_validate_without_the_extra_says_how_to_install_it(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reconciler.loading.policies
    import reconciler.policy.cel

    monkeypatch.setattr(reconciler.policy.cel, "available", lambda: False)
    monkeypatch.setattr(reconciler.loading.policies, "available", lambda: False)
    (tmp_path / "users.yaml").write_text(ACCOUNT)
    (tmp_path / "policies.yaml").write_text(_rule("acme-only", "user", ELSEWHERE, "deny"))
    result = runner.invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    told = [line for line in result.output.splitlines() if INSTALL in line]
    assert len(told) == 1, result.output
    assert INSTALL == "pip install 'licence-reconciler[policy]'"
    assert told[0].startswith(f"{tmp_path / 'policies.yaml'}:2:")


# The docs list every variable.


def test_the_docs_list_every_variable() -> None:
    page = (ROOT / "docs" / "policy.md").read_text()
    for applies_to, variables in VARIABLES.items():
        assert f"`{applies_to}`" in page
        for variable in variables:
            assert f"| `{variable.name}` | {variable.type.value} |" in page, variable.name


# Edge cases a review found.


def test_a_team_named_as_a_user_is_no_trouble_to_a_rule_on_the_user(
    runner: CliRunner, account: Path, store_url: str
) -> None:
    teams = account / "teams.yaml"
    teams.write_text(teams.read_text() + "  - name: carol@acme.example\n")
    (account / "policies.yaml").write_text(_rule("acme-only", "grant", ELSEWHERE, "deny"))
    users = account / "users.yaml"
    users.write_text(
        users.read_text().replace(
            '      - serial: "399-12345679"\n',
            '      - serial: "399-12345679"\n      - serial: "562-20000001"\n',
        )
    )
    code, plan = _plan(runner, account, store_url)
    assert (code, plan["policy"]["verdicts"]) == (0, [])


def test_a_saved_plan_edited_to_drop_a_denial_is_refused(
    runner: CliRunner, account: Path, store_url: str, backend: Backend, tmp_path: Path
) -> None:
    _add_outsider(account, _rule("acme-only", "user", ELSEWHERE, "deny"))
    out = tmp_path / "plan.json"
    assert _run(runner, ["plan", str(account), "--out", str(out)], store_url).exit_code == 3
    data = json.loads(out.read_text())
    for action in data["actions"]:
        if action.pop("denied", None):
            action.pop("reason")
            action["permitted"] = True
    data["summary"]["blocked"] = 0
    placeholder = "<checksum>"
    text = json.dumps({**data, "checksum": placeholder}, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    rest = text.replace(f'  "checksum": "{placeholder}",\n', "").encode()
    out.write_text(text.replace(placeholder, "sha256:" + hashlib.sha256(rest).hexdigest()))
    before = backend.contents(store_url)
    result = _run(runner, ["apply", str(out), "--auto-approve"], store_url)
    assert result.exit_code == 1
    assert "policy acme-only blocks actions on user zed@elsewhere.example that the plan does not mark " in (
        result.output
    )
    assert backend.contents(store_url) == before


def test_a_user_who_changes_address_is_not_new_and_nor_is_their_access(
    runner: CliRunner, tmp_path: Path, store_url: str
) -> None:
    folder = tmp_path / "account"
    folder.mkdir()
    users = folder / "users.yaml"
    users.write_text(
        ACCOUNT.replace("  - email: carol@acme.example\n", "  - email: carol@acme.example\n    id: u-carol\n")
    )
    assert _run(runner, ["apply", str(folder), "--auto-approve"], store_url).exit_code == 0
    users.write_text(
        users.read_text()
        .replace("carol@acme.example", "carol.smith@acme.example")
        .replace(
            '      - serial: "399-12345679"\n', '      - serial: "399-12345679"\n        download: true\n'
        )
    )
    (folder / "policies.yaml").write_text(
        "version: 1\npolicies:\n"
        "  - {id: new-grant, applies_to: grant, when: grant.new, effect: deny}\n"
        "  - {id: new-user, applies_to: user, when: user.new, effect: deny}\n"
        "  - {id: people, applies_to: plan, when: plan.users_touched > 1, effect: deny}\n"
    )
    code, plan = _plan(runner, folder, store_url)
    assert [a["kind"] for a in plan["actions"]] == ["user.change_email", "access.update"]
    assert (code, plan["policy"]["verdicts"]) == (0, [])


def test_approvals_written_as_a_float_are_a_count(runner: CliRunner, account: Path, store_url: str) -> None:
    _add_outsider(
        account, _rule("two", "plan", "plan.users_added > 0", "require_approvals", "    approvals: 2.0\n")
    )
    _, plan = _plan(runner, account, store_url)
    assert plan["policy"]["required_approvals"] == 2
    assert type(plan["policy"]["required_approvals"]) is int


def test_a_triple_quoted_string_hides_no_variable_the_rule_reads(
    runner: CliRunner, account: Path, store_url: str
) -> None:
    _add_outsider(account, _rule("triple", "user", '"""a"b""" != user.email', "warn"))
    _, plan = _plan(runner, account, store_url)
    assert [(v["effect"], v["record"]) for v in plan["policy"]["verdicts"]] == [
        ("warn", "user zed@elsewhere.example")
    ]


def test_a_targeted_plan_counts_the_whole_change_for_rules_over_the_plan(
    runner: CliRunner, account: Path, store_url: str
) -> None:
    users = account / "users.yaml"
    users.write_text(users.read_text().replace("seats: 10", "seats: 12"))  # +2 on each of two serials
    rule = _rule("seats", "plan", "plan.seats_added > 3", "require_approvals", "    approvals: 2\n")
    (account / "policies.yaml").write_text(rule)
    _, plan = _plan(runner, account, store_url, RESELLER, "--target", "serial:399-12345678")
    assert [a["kind"] for a in plan["actions"]] == ["serial.seats_change"]
    assert plan["policy"]["required_approvals"] == 2
