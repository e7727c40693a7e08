"""The reports the HTML tests look at, made as users make them, and the same with placeholder text.

`example_plan`, `hostile_plan`, `rtl_plan`, `example_drift`, `hostile_drift`, `rtl_drift`: through the command line
(`plan --format json`, `drift --format json`) on SQLite stores made as tests/test_golden.py makes them
(fixed lineage and dates); `usage_of`, the usage command's report on a fixed day. `placeholders`
replaces every string users wrote with a plain one of the same order, so a page rendered from both
must have the same elements.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from conftest import EXAMPLES
from test_golden import CASES, GOLDEN, Case, make_store

from reconciler.cli import cli
from reconciler.commands.operations import usage_report
from reconciler.core.kinds import Record
from reconciler.core.plan import Plan
from reconciler.core.planfile import load_plan
from reconciler.core.records import Difference, Drift, StaleInvite, Usage
from reconciler.core.workspace import AccountRun, AccountStatus
from reconciler.store import open_store

HOSTILE = GOLDEN / "hostile-names" / "account.yaml"
#: An account written right to left, as accepted: a first name in Hebrew, a last name in Arabic that
#: starts with digits (a left-to-right page that joins the two without isolating each shows
#: "مريم +1+1 שלום", the last name first), a product, group, team and shipping place in either script.
RTL_FIRST, RTL_LAST = "שלום", "1+1+ مريم"
RTL = f"""\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    coordinators:
      - email: dana@acme.example
        manage_users: true
        shipping: {{name: "مكتب دبي", address: "شارع 12", country: AE}}
    serials:
      - number: "399-12345678"
        product: "أوتوكاد 2025"
        seats: 5
        group: "סטודיו 3"
        coordinator: dana@acme.example
users:
  - {{email: alice@acme.example, first_name: Alice, last_name: Moreau}}
  - {{email: dana@acme.example, first_name: "דנה", last_name: "לוי"}}
  - email: shalom@acme.example
    first_name: "{RTL_FIRST}"
    last_name: "{RTL_LAST}"
    access:
      - serial: "399-12345678"
teams:
  - name: "צוות עיצוב 2"
    description: "مهندسون 7 في دبي"
    members: [shalom@acme.example]
    access:
      - serial: "399-12345678"
"""
#: The day the usage report is made, fixed so that the page is the same every run.
TODAY = "2026-12-01"
#: Renewals due within this many days: the example's first contract (ends 2027-03-31) is.
RENEWAL_DAYS = 180


def _case(name: str) -> Case:
    return next(case for case in CASES if case.name == name)


def _plan(folder: Path, case: Case) -> Plan:
    url = make_store(folder, case)
    result = CliRunner().invoke(
        cli, ["plan", str(case.desired), "--format", "json", "--actor", case.actor, "--store", url]
    )
    assert result.exit_code == case.exit_code, result.output
    return load_plan(result.stdout, "plan.json")


def example_plan(folder: Path) -> Plan:
    """The quick start: examples/acme into a new store, as the reseller."""
    return _plan(folder, _case("example-plan"))


def hostile_plan(folder: Path) -> Plan:
    """The hostile-names account into a new store, as the reseller."""
    return _plan(folder, _case("hostile-names"))


def change_as_cm_plan(folder: Path) -> Plan:
    """Alice, the Contract Manager, edits the applied example: some of it is blocked."""
    return _plan(folder, _case("example-change-as-cm"))


def _rtl_account(folder: Path) -> Path:
    path = folder / "rtl.yaml"
    path.write_text(RTL, encoding="utf-8")
    return path


def rtl_plan(folder: Path) -> Plan:
    """The right-to-left account into a new store, as the reseller."""
    return _plan(folder, dataclasses.replace(_case("hostile-names"), desired=_rtl_account(folder)))


def _drift(folder: Path, case: Case) -> Drift:
    url = make_store(folder, case)
    result = CliRunner().invoke(
        cli, ["drift", str(case.desired), *case.args, "--store", url, "--format", "json"]
    )
    assert result.exit_code == case.exit_code, result.output
    return drift_from_json(json.loads(result.stdout))


def example_drift(folder: Path) -> Drift:
    """The golden drift: the store changed outside git, two users never signed in."""
    return _drift(folder, _case("drift"))


def hostile_drift(folder: Path) -> Drift:
    """The hostile-names account in the store, the example in git: every hostile record is drift."""
    case = dataclasses.replace(_case("drift"), store=HOSTILE, invited=("bob@acme.example",))
    return _drift(folder, case)


def rtl_drift(folder: Path) -> Drift:
    """The right-to-left account in the store, the example in git: each of its records is drift."""
    case = dataclasses.replace(_case("drift"), store=_rtl_account(folder), invited=("shalom@acme.example",))
    return _drift(folder, case)


def drift_from_json(data: Mapping[str, Any]) -> Drift:
    def differences(key: str) -> tuple[Difference, ...]:
        return tuple(Difference(Record(d["record"]), d["target"], d["store"], d["git"]) for d in data[key])

    return Drift(
        data["store"]["lineage"],
        data["store"]["revision"],
        differences("only_in_store"),
        differences("only_in_git"),
        differences("differ"),
        tuple(StaleInvite(s["user"], s["invited_at"]) for s in data.get("stale_invites", [])),
        data.get("stale_after_days"),
        data.get("products", {}),
    )


def usage_of(url: str) -> Usage:
    """The seat and renewal report of the store at `url` as `reconciler usage --stale-invites 30
    --renewal-days 180` makes it, on TODAY."""
    now = datetime.fromisoformat(TODAY).replace(tzinfo=UTC)
    return usage_report(open_store(url), now, RENEWAL_DAYS, 30)


def example_usage(folder: Path) -> Usage:
    """The example account applied, everyone but two signed in, as the golden drift's store."""
    case = dataclasses.replace(_case("drift"), store=EXAMPLES / "acme")
    return usage_of(make_store(folder, case))


def hostile_usage(folder: Path) -> Usage:
    """The hostile-names account applied, two of its users still invited."""
    case = dataclasses.replace(
        _case("drift"), store=HOSTILE, invited=("bob@acme.example", "alice@acme.example")
    )
    return usage_of(make_store(folder, case))


def rtl_usage(folder: Path) -> Usage:
    """The right-to-left account applied, its users still invited."""
    case = dataclasses.replace(
        _case("drift"), store=_rtl_account(folder), invited=("shalom@acme.example", "dana@acme.example")
    )
    return usage_of(make_store(folder, case))


def rtl_strings() -> list[str]:
    """Every string a user wrote in the right-to-left account, numbers and e-mails too."""
    return _strings(yaml.safe_load(RTL), skip=())


def hostile_strings() -> list[str]:
    """Every string a user wrote in the hostile-names account, as written."""
    return _strings(yaml.safe_load(HOSTILE.read_text(encoding="utf-8")), skip=("number", "serial"))


def _strings(document: Any, skip: tuple[str, ...]) -> list[str]:
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key not in skip:
            found.append(value)

    walk(document)
    return sorted(set(found))


#: Strings of ours that the reports compare or look up: not users' writing, kept as they are.
_OURS = frozenset({"direct", "remove", "keep", "revoke"})


def placeholders(value: Any) -> Any:
    """`value` (a plan, drift or usage) with every string users wrote replaced by `vNNNNNN`, numbered in
    the strings' sorted order so that everything sorts as before and the same string stays the same."""
    strings: set[str] = set()
    _walk(value, strings.add)
    mapping = {text: f"v{rank:06d}" for rank, text in enumerate(sorted(strings - _OURS))}
    return _walk(value, lambda text: mapping.get(text, text))


#: A plan's maps whose keys are users' writing (serial numbers, e-mails), not field names.
_KEYED = {"products", "user_names"}


def _walk(value: Any, on_string: Any) -> Any:
    if value is None or isinstance(value, Enum | bool | int | float):
        return value
    if isinstance(value, str):
        if value.startswith("team:"):  # a grant's source: the team's name is users' writing
            return "team:" + str(on_string(value[5:]) or value[5:])
        result = on_string(value)
        return value if result is None else result
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _walk(getattr(value, f.name), on_string) for f in dataclasses.fields(value) if f.init
        }
        for name in _KEYED.intersection(changes):  # maps keyed by what users wrote, too
            changes[name] = {_walk(k, on_string): v for k, v in changes[name].items()}
        return dataclasses.replace(value, **changes)
    if isinstance(value, Mapping):
        return {k: _walk(v, on_string) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_walk(v, on_string) for v in value)
    return value


def accounts_plans(folder: Path) -> tuple[AccountRun[Plan], ...]:
    """A workspace's plans: one with changes, one blocked, one that could not be read."""
    for name in ("acme", "hanse"):
        (folder / name).mkdir()
    return (
        AccountRun("acme", AccountStatus.CHANGES, example_plan(folder / "acme")),
        AccountRun(
            "hanse",
            AccountStatus.BLOCKED,
            change_as_cm_plan(folder / "hanse"),
            reason="1 action blocked for lack of permission (apply needs --request)",
        ),
        AccountRun(
            "nordwind",
            AccountStatus.ERROR,
            reason="invalid: 1 error in 1 file",
            details=("accounts/nordwind/users.yaml:3:5: users[0].email: 'x' is not a valid e-mail address",),
        ),
    )


def hostile_accounts(folder: Path) -> tuple[AccountRun[Plan], ...]:
    """The hostile-names account's plan among a workspace's, with a hostile reason beside it."""
    strings = hostile_strings()
    return (
        AccountRun("hostile", AccountStatus.CHANGES, hostile_plan(folder)),
        AccountRun("quoted", AccountStatus.ERROR, reason=strings[0], details=tuple(strings[1:4])),
    )
