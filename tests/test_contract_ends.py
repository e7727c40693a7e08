"""A contract's end date (`ends`) and `contract.ends_change`, end to end: the YAML, the schema, the
plan, who may, both SQL stores and their migration, export, drift and every report."""

from __future__ import annotations

import datetime
import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ACCOUNT, RESELLER, Backend, WriteYaml, apply_yaml, plan_yaml
from memory_store import open_any_store
from test_store import drop_directory_ids

from reconciler.cli import cli
from reconciler.commands.apply import run_apply
from reconciler.core.errors import InvalidDesiredState, StoreError
from reconciler.core.kinds import Effect, Kind, Record, Scope
from reconciler.core.model import build_state
from reconciler.core.plan import Action
from reconciler.core.planfile import dump_plan
from reconciler.core.records import REQUEST
from reconciler.engine.drift import find_drift
from reconciler.engine.requests import requests_of
from reconciler.loading import load_desired_state
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.notify.compose import compose_notifications
from reconciler.report import history, markdown, text
from reconciler.report.json import history_json
from reconciler.store import migrations

CONTRACT = "110001234567"
ALICE = "alice@acme.example"  # the base account's Contract Manager
MANAGER_LINE = f"    manager: {ALICE}\n"
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


def with_ends(value: str | None) -> str:
    """The base account with its contract's `ends` written as `value` (verbatim: quote it yourself)."""
    assert ACCOUNT.count(MANAGER_LINE) == 1
    return ACCOUNT if value is None else ACCOUNT.replace(MANAGER_LINE, f"{MANAGER_LINE}    ends: {value}\n")


def ends_actions(url: str, account: str, actor: str = RESELLER) -> list[Action]:
    return [a for a in plan_yaml(url, account, actor).actions if a.kind is Kind.CONTRACT_ENDS_CHANGE]


@pytest.fixture
def memory_url(tmp_path: Path) -> str:
    """A memory store holding the base account without an end date: for the engine's tests."""
    backend = Backend("memory", tmp_path)
    url = backend.new_url()
    open_any_store(url).initialize([RESELLER])
    apply_yaml(url, ACCOUNT)
    return url


# --- the YAML and the schema -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "written", ["2027-03-31", '"2027-03-31"', "'2027-03-31'"], ids=["plain", "double", "single"]
)
def test_plain_and_quoted_dates_reach_the_model_as_the_same_text(write_yaml: WriteYaml, written: str) -> None:
    # YAML 1.2's core schema has no timestamps: the strict loader keeps a plain date as text.
    document = parse(Source("a.yaml", with_ends(written).encode())).document
    assert document["contracts"][0]["ends"] == "2027-03-31"
    [contract] = load_desired_state([str(write_yaml(with_ends(written)))]).contracts
    assert contract.ends == "2027-03-31"
    assert type(contract.ends) is str


def test_a_contract_without_ends_has_none(write_yaml: WriteYaml) -> None:
    [contract] = load_desired_state([str(write_yaml(ACCOUNT))]).contracts
    assert contract.ends is None


def test_a_leap_day_is_a_date_only_in_a_leap_year(write_yaml: WriteYaml) -> None:
    [contract] = load_desired_state([str(write_yaml(with_ends("2028-02-29")))]).contracts
    assert contract.ends == "2028-02-29"
    with pytest.raises(InvalidDesiredState):
        load_desired_state([str(write_yaml(with_ends("2100-02-29")))])


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (
            "2027-02-30",
            "'2027-02-30' is not a day of the calendar (day is out of range for month); "
            'write a real day, like "2027-03-31"',
        ),
        (
            '"2027-02-30"',
            "'2027-02-30' is not a day of the calendar (day is out of range for month); "
            'write a real day, like "2027-03-31"',
        ),
        (
            "2027-13-01",
            "'2027-13-01' is not a day of the calendar (month must be in 1..12); "
            'write a real day, like "2027-03-31"',
        ),
        (
            "2027-02-29",
            "'2027-02-29' is not a day of the calendar (day is out of range for month); "
            'write a real day, like "2027-03-31"',
        ),
        ("next year", "'next year' is not a date; write it as YYYY-MM-DD, like \"2027-03-31\""),
        ("2027-3-31", "'2027-3-31' is not a date; write it as YYYY-MM-DD, like \"2027-03-31\""),
        ('"2027-03-31 "', "'2027-03-31 ' is not a date; write it as YYYY-MM-DD, like \"2027-03-31\""),
        ("0999-12-31", "'0999-12-31' is out of range; write a year from 1000 to 9999, like \"2027-03-31\""),
        (
            "20270331",
            "expected text, got the number 20270331; quote it so that YAML keeps it as written",
        ),
    ],
)
def test_validate_refuses_what_is_not_a_real_day_naming_file_line_and_field(
    write_yaml: WriteYaml, written: str, message: str
) -> None:
    path = write_yaml(with_ends(written))
    with pytest.raises(InvalidDesiredState) as raised:
        load_desired_state([str(path)])
    found = [str(d).replace(str(path.parent) + "/", "") for d in raised.value.diagnostics]
    # Line 5, column 11: the value after "    ends: ", below the contract's manager.
    assert found == [f"account.yaml:5:11: contracts[0].ends: {message}"]


def test_a_timestamp_tag_is_refused(write_yaml: WriteYaml) -> None:
    path = write_yaml(with_ends("!!timestamp 2027-03-31"))
    with pytest.raises(InvalidDesiredState) as raised:
        load_desired_state([str(path)])
    assert [d.message for d in raised.value.diagnostics] == ["the tag !!timestamp is not supported"]


def test_the_command_line_says_the_same_and_exits_1(runner: CliRunner, write_yaml: WriteYaml) -> None:
    path = write_yaml(with_ends("next year"))
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5:11: contracts[0].ends: 'next year' is not a date;" in result.output


def test_the_schema_pattern_knows_every_day_of_four_centuries() -> None:
    """The published pattern, as editors run it, against the calendar, day by day and past each end."""
    import re

    from reconciler.loading.schema import schema_document

    pattern = re.compile(schema_document()["$defs"]["date"]["pattern"])
    for year in (1000, 1899, 1900, 1999, 2000, 2001, 2024, 2027, 2100, 2400, 9999, *range(2024, 2433, 4)):
        for month in range(0, 14):
            for day in range(0, 33):
                written = f"{year:04d}-{month:02d}-{day:02d}"
                try:
                    datetime.date(year, month, day)
                except ValueError:
                    real = False
                else:
                    real = True
                assert bool(pattern.match(written)) is real, written


# --- the plan --------------------------------------------------------------------------------------


def test_a_new_contract_names_its_end_date_and_one_without_names_none(tmp_path: Path) -> None:
    backend = Backend("memory", tmp_path)
    empty = backend.new_url()
    open_any_store(empty).initialize([RESELLER])
    [create] = [
        a for a in plan_yaml(empty, with_ends('"2027-03-31"')).actions if a.kind is Kind.CONTRACT_CREATE
    ]
    assert create.after == {"manager": ALICE, "ends": "2027-03-31"}
    [create] = [a for a in plan_yaml(empty, ACCOUNT).actions if a.kind is Kind.CONTRACT_CREATE]
    assert create.after == {"manager": ALICE}  # as before ends existed: the plan's bytes are the same


def test_setting_moving_and_dropping_an_end_date_are_each_a_change(memory_url: str) -> None:
    [added] = ends_actions(memory_url, with_ends("2027-03-31"))
    assert (added.effect, added.target, added.before, added.after) == (
        Effect.CHANGE,
        {"contract": CONTRACT},
        {"ends": None},
        {"ends": "2027-03-31"},
    )
    apply_yaml(memory_url, with_ends("2027-03-31"))
    assert ends_actions(memory_url, with_ends('"2027-03-31"')) == []  # quoted or not: the same day
    [moved] = ends_actions(memory_url, with_ends("2028-03-31"))
    assert (moved.before, moved.after) == ({"ends": "2027-03-31"}, {"ends": "2028-03-31"})
    [dropped] = ends_actions(memory_url, ACCOUNT)
    assert (dropped.before, dropped.after) == ({"ends": "2027-03-31"}, {"ends": None})
    assert [a.kind for a in plan_yaml(memory_url, with_ends("2028-03-31")).actions] == [
        Kind.CONTRACT_ENDS_CHANGE
    ]


def test_a_removed_contract_keeps_its_end_date_in_before(memory_url: str) -> None:
    apply_yaml(memory_url, with_ends("2027-03-31"))
    [removal] = [a for a in plan_yaml(memory_url, "version: 1\n").actions if a.kind is Kind.CONTRACT_REMOVE]
    assert removal.before == {"manager": ALICE, "ends": "2027-03-31"}


def test_the_kind_is_the_resellers_alone_and_tells_nobody() -> None:
    info = Kind.CONTRACT_ENDS_CHANGE.info
    assert (info.effect, info.scope, info.mail) == (Effect.CHANGE, Scope.RESELLER, ())
    assert Kind.CONTRACT_ENDS_CHANGE.record is Record.CONTRACT
    assert Kind.CONTRACT_PROTECT.rank < Kind.CONTRACT_ENDS_CHANGE.rank < Kind.COORDINATOR_ADD.rank


# --- who may ---------------------------------------------------------------------------------------


def test_the_contract_manager_is_blocked_and_the_reseller_may(memory_url: str) -> None:
    [as_cm] = ends_actions(memory_url, with_ends("2027-03-31"), ALICE)
    assert (as_cm.permitted, as_cm.requires) == (False, "reseller")
    assert as_cm.reason == f"only a reseller ({RESELLER}) may change the end date of contract {CONTRACT}"
    [as_reseller] = ends_actions(memory_url, with_ends("2027-03-31"))
    assert (as_reseller.permitted, as_reseller.requires, as_reseller.reason) == (True, "reseller", None)
    [as_sc] = ends_actions(memory_url, with_ends("2027-03-31"), "bob@acme.example")
    assert as_sc.permitted is False


def test_the_blocked_change_is_requested_of_the_reseller(memory_url: str) -> None:
    plan = plan_yaml(memory_url, with_ends("2027-03-31"), ALICE)
    [request] = requests_of(plan, open_any_store(memory_url).snapshot(), "2026-12-01")
    assert (request.kind, request.target, request.requested_of) == (
        Kind.CONTRACT_ENDS_CHANGE,
        {"contract": CONTRACT},
        (RESELLER,),
    )
    assert (request.before, request.after) == ({"ends": None}, {"ends": "2027-03-31"})


def test_apply_request_asks_the_reseller_by_mail_and_changes_nothing(
    runner: CliRunner, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_any_store(url).initialize([RESELLER])
    apply_yaml(url, ACCOUNT)
    path = write_yaml(with_ends("2027-03-31"))
    args = ["apply", str(path), "--store", url, "--actor", ALICE, "--auto-approve", "--request"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert open_any_store(url).snapshot().state.contracts[0].ends is None
    [request] = [e.message for e in open_any_store(url).outbox() if e.message.kind == REQUEST]
    assert request.to == RESELLER
    assert request.subject == f"Request from {ALICE}: changing the end date of contract {CONTRACT}"
    assert (
        f"Changing the end date of contract {CONTRACT} (contract.ends_change {CONTRACT}: "
        "ends (none) → 2027-03-31)"
    ) in request.text


# --- both SQL stores -------------------------------------------------------------------------------


def test_apply_keeps_the_end_date_and_the_snapshot_gives_it_back(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, with_ends("2027-03-31"))
    [contract] = open_any_store(store_url).snapshot().state.contracts
    assert contract.ends == "2027-03-31" and type(contract.ends) is str
    [(kept,)] = backend.query(store_url, "SELECT ends FROM contracts")
    # SQLite keeps the ISO text; PostgreSQL a DATE, read back as the same text.
    assert kept == ("2027-03-31" if backend.name == "sqlite" else datetime.date(2027, 3, 31))
    assert plan_yaml(store_url, with_ends('"2027-03-31"')).actions == ()
    apply_yaml(store_url, with_ends("2028-02-29"))
    assert open_any_store(store_url).snapshot().state.contracts[0].ends == "2028-02-29"
    apply_yaml(store_url, ACCOUNT)
    assert open_any_store(store_url).snapshot().state.contracts[0].ends is None
    assert backend.query(store_url, "SELECT ends FROM contracts") == [(None,)]
    assert plan_yaml(store_url, ACCOUNT).actions == ()


# Not "2027-3-31": PostgreSQL's DATE reads it as 2027-03-31 (validation never lets it through).
@pytest.mark.parametrize("day", ["2027-02-30", "2027-04-31", "next year"])
def test_the_store_refuses_a_day_the_calendar_lacks(
    any_backend: Backend, any_store_url: str, day: str
) -> None:
    """Past validation (an edited plan file, a bug): the store itself refuses it, and changes nothing."""
    apply_yaml(any_store_url, ACCOUNT)
    plan = plan_yaml(any_store_url, with_ends("2027-03-31"))
    [action] = plan.actions
    bad = replace(action, after={"ends": day})
    before = any_backend.contents(any_store_url)
    with pytest.raises(StoreError):
        run_apply(open_any_store(any_store_url), replace(plan, actions=(bad,)), RESELLER)
    assert any_backend.contents(any_store_url) == before


def test_a_store_at_migration_6_is_brought_to_7_and_keeps_end_dates(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    # The store as 0006 left it: no contracts.ends (nor users.directory_id).
    drop_directory_ids(backend, store_url)
    backend.query(store_url, "ALTER TABLE contracts DROP COLUMN ends")
    backend.query(store_url, "UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    assert plan_yaml(store_url, ACCOUNT).actions == ()  # opened, migrated, read as it was
    [(version,)] = backend.query(store_url, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert int(version) == migrations.latest(backend.name) >= 7
    assert backend.query(store_url, "SELECT ends FROM contracts") == [(None,)]
    apply_yaml(store_url, with_ends("2027-03-31"))
    assert open_any_store(store_url).snapshot().state.contracts[0].ends == "2027-03-31"


# --- export ----------------------------------------------------------------------------------------


def test_export_writes_the_end_date_quoted_and_plans_back_to_no_change(
    runner: CliRunner, backend: Backend, store_url: str
) -> None:
    apply_yaml(store_url, with_ends("2027-03-31"))
    for extra in ([], ["--contract", CONTRACT]):
        result = runner.invoke(cli, ["export", "--store", store_url, *extra])
        assert result.exit_code == 0, result.output
        assert f'  - number: "{CONTRACT}"\n    manager: {ALICE}\n    ends: "2027-03-31"\n' in result.output
        # YAML 1.1 (PyYAML) reads the quoted date as text, not as a timestamp.
        assert yaml.safe_load(result.output)["contracts"][0]["ends"] == "2027-03-31"
        assert plan_yaml(store_url, result.output).actions == ()


def test_export_of_a_contract_without_an_end_date_writes_none(memory_url: str) -> None:
    from reconciler.report.yaml import export_yaml

    exported = export_yaml(open_any_store(memory_url).snapshot().state)
    assert "ends" not in exported
    assert plan_yaml(memory_url, exported).actions == ()


# --- drift -----------------------------------------------------------------------------------------


def test_drift_reports_an_end_date_changed_outside_git(memory_url: str) -> None:
    apply_yaml(memory_url, with_ends("2026-12-31"))  # someone shortened it in the portal
    git = build_state([parse(Source("a.yaml", with_ends("2027-03-31").encode())).document])
    drift = find_drift(git, open_any_store(memory_url).snapshot(), NOW)
    [difference] = drift.differ
    assert (difference.record, difference.target) == (Record.CONTRACT, {"contract": CONTRACT})
    assert (difference.store, difference.git) == ({"ends": "2026-12-31"}, {"ends": "2027-03-31"})
    assert (drift.only_in_store, drift.only_in_git) == ((), ())
    lines = list(text.render_drift(drift))
    assert f"  ~ contract {CONTRACT}: ends 2027-03-31 → 2026-12-31" in lines
    assert f"! contract {CONTRACT}: ends 2027-03-31 → 2026-12-31" in markdown.render_drift(drift)


def test_drift_reports_an_end_date_git_has_and_the_store_lacks(memory_url: str) -> None:
    git = build_state([parse(Source("a.yaml", with_ends("2027-03-31").encode())).document])
    drift = find_drift(git, open_any_store(memory_url).snapshot(), NOW)
    assert [(d.store, d.git) for d in drift.differ] == [({"ends": None}, {"ends": "2027-03-31"})]
    assert f"  ~ contract {CONTRACT}: ends 2027-03-31 → (none)" in list(text.render_drift(drift))


def test_the_drift_command_exits_2_on_a_changed_end_date(
    runner: CliRunner, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_any_store(url).initialize([RESELLER])
    apply_yaml(url, with_ends("2026-12-31"))
    result = runner.invoke(cli, ["drift", str(write_yaml(with_ends("2027-03-31"))), "--store", url])
    assert result.exit_code == 2
    assert f"  ~ contract {CONTRACT}: ends 2027-03-31 → 2026-12-31\n" in result.output


# --- the reports -----------------------------------------------------------------------------------


def test_the_text_markdown_and_json_plan_show_the_change(memory_url: str) -> None:
    plan = plan_yaml(memory_url, with_ends("2027-03-31"), ALICE)
    [action] = plan.actions
    assert list(text.render_action(action)) == [
        f"  ~ contract.ends_change {CONTRACT}: ends (none) → 2027-03-31",
        f"      blocked: only a reseller ({RESELLER}) may change the end date of contract {CONTRACT}",
    ]
    report = markdown.render_plan(plan)
    assert f"#### Contract {CONTRACT}\n\n**`contract.ends_change`**: 1 to change, 1 blocked\n" in report
    assert f"! {CONTRACT}: ends (none) → 2027-03-31   (blocked)" in report
    assert f"| `contract.ends_change` | {CONTRACT} | the reseller |" in report
    [data] = json.loads(dump_plan(plan))["actions"]
    assert data == {
        "kind": "contract.ends_change",
        "target": {"contract": CONTRACT},
        "before": {"ends": None},
        "after": {"ends": "2027-03-31"},
        "permitted": False,
        "requires": "reseller",
        "reason": f"only a reseller ({RESELLER}) may change the end date of contract {CONTRACT}",
        "notifications": [],
    }


def test_removing_an_end_date_reads_as_a_change_to_none(memory_url: str) -> None:
    apply_yaml(memory_url, with_ends("2027-03-31"))
    [action] = plan_yaml(memory_url, ACCOUNT).actions
    assert list(text.render_action(action)) == [
        f"  ~ contract.ends_change {CONTRACT}: ends 2027-03-31 → (none)"
    ]


def test_a_new_contracts_end_date_is_shown_beside_its_manager(tmp_path: Path) -> None:
    url = Backend("memory", tmp_path).new_url()
    open_any_store(url).initialize([RESELLER])
    [create] = [a for a in plan_yaml(url, with_ends("2027-03-31")).actions if a.kind is Kind.CONTRACT_CREATE]
    assert list(text.render_action(create)) == [
        f"  + contract.create {CONTRACT}: manager {ALICE}, ends 2027-03-31"
    ]


def test_history_shows_the_applied_change_and_nobody_is_emailed(memory_url: str) -> None:
    plan = apply_yaml(memory_url, with_ends("2027-03-31"))
    store = open_any_store(memory_url)
    assert compose_notifications(plan, store.snapshot(), 2) == []
    [latest, _] = store.history(2)
    lines = list(history.render_history([latest]))
    assert lines[1:] == [f"  ~ contract.ends_change {CONTRACT}: ends (none) → 2027-03-31"]
    assert f"! contract.ends_change {CONTRACT}: ends (none) → 2027-03-31" in history.render_history_markdown(
        [latest]
    )
    [entry] = json.loads(history_json([latest]))["applies"][0]["actions"]
    assert (entry["kind"], entry["before"], entry["after"]) == (
        "contract.ends_change",
        {"ends": None},
        {"ends": "2027-03-31"},
    )
