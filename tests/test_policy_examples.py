"""The example policy rules (examples/policies/): each validates beside the Acme example, holds for
the change it is written against, and does not hold without it.

Each test applies examples/acme to a store (SQLite and PostgreSQL), copies one rule file into the
account's folder, plans it as is (the rule does not hold: no verdict), makes one small change that
breaks the rule, and plans again through the command line: the exact verdict (rule, effect, record,
file and line) and the exit code (with --detailed-exitcode: 3 for a deny, 2 for a warn or
require_approvals, which are changes that apply may make).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, RESELLER

from reconciler.cli import cli

POLICIES = EXAMPLES / "policies"

#: A user's entry appended to users.yaml.
CONTRACTOR = """
  - email: zed.quinn@contractors.example
    first_name: Zed
    last_name: Quinn
    access:
      - serial: "399-12345678"
        download: true
"""
OUTSIDER = """
  - email: zed.quinn@mail.example
    first_name: Zed
    last_name: Quinn
"""
BOB = '      - serial: "562-20000001"\n        download: true\n\n  - email: carol'
MATEO = "  - email: mateo.garcia@acme.example\n    first_name: Mateo\n    last_name: García\n"


def _line(path: Path, text: str) -> int:
    """The line (from 1) of `path` that starts with `text`: the only one."""
    [line] = [n for n, got in enumerate(path.read_text().splitlines(), 1) if got.startswith(text)]
    return line


def _edit(path: Path, change: Callable[[str], str]) -> None:
    before = path.read_text()
    after = change(before)
    assert after != before
    path.write_text(after)


def _plan(runner: CliRunner, folder: Path, store_url: str) -> tuple[int, dict[str, Any]]:
    args = ["plan", str(folder), "--format", "json", "--detailed-exitcode", "--store", store_url]
    result = runner.invoke(cli, [*args, "--actor", RESELLER])
    assert result.exit_code in (0, 2, 3), result.output
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def _verdict(plan: dict[str, Any]) -> tuple[object, ...]:
    [verdict] = plan["policy"]["verdicts"]
    return (
        verdict["rule"],
        verdict["effect"],
        verdict["record"],
        Path(verdict["file"]).name,
        verdict["line"],
    )


@pytest.fixture
def account(runner: CliRunner, tmp_path: Path, store_url: str) -> Path:
    """examples/acme, copied and applied to the store."""
    folder = tmp_path / "acme"
    shutil.copytree(EXAMPLES / "acme", folder)
    result = runner.invoke(
        cli, ["apply", str(folder), "--auto-approve", "--store", store_url, "--actor", RESELLER]
    )
    assert result.exit_code == 0, result.output
    return folder


def _with_rule(runner: CliRunner, account: Path, store_url: str, name: str) -> None:
    """Copy the example rule into the account; it validates, and the plan holds no verdict yet."""
    shutil.copy(POLICIES / f"{name}.yaml", account)
    validated = runner.invoke(cli, ["validate", str(account)])
    assert validated.exit_code == 0, validated.output
    code, plan = _plan(runner, account, store_url)
    assert plan["policy"]["verdicts"] == [], plan["policy"]
    assert plan["policy"]["rules"] == 1
    assert code in (0, 2)


def test_every_example_is_tested_and_validates_beside_acme(runner: CliRunner) -> None:
    names = sorted(path.stem for path in POLICIES.glob("*.yaml"))
    assert names == sorted(
        [
            "at-most-three-serials",
            "big-seat-changes",
            "company-domains-only",
            "no-download-for-contractors",
            "no-new-grants-near-contract-end",
        ]
    )
    for name in names:
        text = (POLICIES / f"{name}.yaml").read_text()
        assert text.startswith("# "), name
        assert f"  - id: {name}\n" in text
        result = runner.invoke(cli, ["validate", str(EXAMPLES / "acme"), str(POLICIES / f"{name}.yaml")])
        assert result.exit_code == 0, (name, result.output)


def test_no_download_for_contractors(runner: CliRunner, account: Path, store_url: str) -> None:
    _with_rule(runner, account, store_url, "no-download-for-contractors")
    users = account / "users.yaml"
    _edit(users, lambda text: text + CONTRACTOR)
    code, plan = _plan(runner, account, store_url)
    assert code == 3
    assert _verdict(plan) == (
        "no-download-for-contractors",
        "deny",
        "access zed.quinn@contractors.example on 399-12345678",
        "users.yaml",
        _last_serial_line(users),
    )
    denied = [(a["kind"], a["target"]["user"]) for a in plan["actions"] if a.get("denied")]
    assert denied == [("access.grant", "zed.quinn@contractors.example")]


def _last_serial_line(path: Path) -> int:
    """The line of the last `- serial:` of `path` (the grant just appended)."""
    return max(
        n for n, got in enumerate(path.read_text().splitlines(), 1) if got.startswith("      - serial:")
    )


def test_at_most_three_serials(runner: CliRunner, account: Path, store_url: str) -> None:
    _with_rule(runner, account, store_url, "at-most-three-serials")
    users = account / "users.yaml"
    # Bob has two serials; two more make four.
    _edit(
        users,
        lambda text: text.replace(
            BOB,
            BOB.replace("\n\n", '\n      - serial: "399-12345680"\n      - serial: "562-20000002"\n\n'),
        ),
    )
    code, plan = _plan(runner, account, store_url)
    assert code == 2  # a warning blocks nothing: the plan is changes, as without it
    assert _verdict(plan) == (
        "at-most-three-serials",
        "warn",
        "user bob.okafor@acme.example",
        "users.yaml",
        _line(users, "  - email: bob.okafor@acme.example"),
    )
    assert not [a for a in plan["actions"] if a.get("denied")]
    assert all(a["permitted"] for a in plan["actions"])


def test_company_domains_only(runner: CliRunner, account: Path, store_url: str) -> None:
    _with_rule(runner, account, store_url, "company-domains-only")
    users = account / "users.yaml"
    _edit(users, lambda text: text + OUTSIDER)
    code, plan = _plan(runner, account, store_url)
    assert code == 3
    assert _verdict(plan) == (
        "company-domains-only",
        "deny",
        "user zed.quinn@mail.example",
        "users.yaml",
        _line(users, "  - email: zed.quinn@mail.example"),
    )
    denied = [(a["kind"], a["target"]["user"]) for a in plan["actions"] if a.get("denied")]
    assert denied == [("user.add", "zed.quinn@mail.example")]


def test_no_new_grants_near_contract_end(runner: CliRunner, account: Path, store_url: str) -> None:
    users, contracts = account / "users.yaml", account / "contracts.yaml"
    # A new grant on the first contract, which ends on 2027-03-31: 114 days after TODAY, so it may.
    _edit(users, lambda text: text.replace(MATEO, MATEO + '    access:\n      - serial: "399-12345681"\n'))
    _with_rule(runner, account, store_url, "no-new-grants-near-contract-end")
    # The contract now ends ten days after TODAY (2026-12-07).
    _edit(contracts, lambda text: text.replace('ends: "2027-03-31"', 'ends: "2026-12-17"'))
    code, plan = _plan(runner, account, store_url)
    assert code == 3
    assert _verdict(plan) == (
        "no-new-grants-near-contract-end",
        "deny",
        "access mateo.garcia@acme.example on 399-12345681",
        "users.yaml",
        _last_serial_line(users),
    )
    assert [(a["kind"], a.get("denied")) for a in plan["actions"]] == [
        ("contract.ends_change", None),
        ("access.grant", "no-new-grants-near-contract-end"),
    ]


def test_big_seat_changes(runner: CliRunner, account: Path, store_url: str) -> None:
    _with_rule(runner, account, store_url, "big-seat-changes")
    contracts = account / "contracts.yaml"
    # AutoCAD 399-12345678 from 10 seats to 70: 60 added.
    _edit(contracts, lambda text: text.replace("seats: 10\n", "seats: 70\n"))
    code, plan = _plan(runner, account, store_url)
    assert code == 2
    rule = account / "big-seat-changes.yaml"
    assert _verdict(plan) == (
        "big-seat-changes",
        "require_approvals",
        "the plan",
        "big-seat-changes.yaml",
        _line(rule, "  - id: big-seat-changes"),
    )
    assert (plan["policy"]["required_approvals"], plan["policy"]["approvals_from"]) == (
        2,
        ["big-seat-changes"],
    )
    assert all(a["permitted"] for a in plan["actions"])
    # 50 seats added is not more than 50.
    _edit(contracts, lambda text: text.replace("seats: 70\n", "seats: 60\n"))
    code, plan = _plan(runner, account, store_url)
    assert (code, plan["policy"]["verdicts"], plan["policy"]["required_approvals"]) == (2, [], 0)
