"""The SQLite store: creation, migrations, one-transaction apply, stale plans, the database's own guards."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import ACCOUNT, RESELLER, Backend, apply_yaml, plan_yaml

from reconciler.apply import apply_plan
from reconciler.errors import StalePlan, StoreError, StoreExists, StoreNotFound, StoreTooNew
from reconciler.kinds import Kind
from reconciler.plan import Action
from reconciler.store import migrations, open_store


def test_init_names_the_resellers_and_starts_at_revision_0(backend: Backend) -> None:
    snapshot = open_store(backend.new_url()).initialize(["Orders@CADpartners.example", "b@r.example"])
    assert snapshot.revision == 0
    assert snapshot.resellers == {"orders@cadpartners.example", "b@r.example"}
    assert len(snapshot.lineage) == 36


def test_init_runs_every_migration(backend: Backend, store_url: str) -> None:
    [(version,)] = backend.query(store_url, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert int(version) == migrations.latest(backend.name) >= 1


def test_init_refuses_an_existing_store(backend: Backend, store_url: str) -> None:
    before = backend.table_dump(store_url)
    with pytest.raises(StoreExists) as raised:
        open_store(store_url).initialize(["x@y.example"])
    assert str(raised.value) == f"a store already exists at {backend.where(store_url)}; it was left as it is"
    assert backend.table_dump(store_url) == before


def test_a_missing_store_is_named_with_the_fix(backend: Backend) -> None:
    url = backend.new_url()
    with pytest.raises(StoreNotFound) as raised:
        open_store(url).snapshot()
    assert str(raised.value) == (
        f"no store at {backend.where(url)}; create one with `reconciler init --reseller EMAIL`"
    )
    if backend.name == "sqlite":
        assert not backend.folder.joinpath(url.rsplit("/", 1)[1]).exists()
    else:
        assert backend.table_dump(url) == []


def test_unknown_urls_are_refused() -> None:
    with pytest.raises(StoreError, match="unknown store URL 'mysql://x'"):
        open_store("mysql://x")


def test_a_store_newer_than_the_program_is_refused(backend: Backend, store_url: str) -> None:
    plan = plan_yaml(store_url, ACCOUNT)
    backend.query(store_url, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    before = backend.table_dump(store_url)
    message = (
        f"{backend.where(store_url)} has schema version 99, newer than this reconciler knows "
        f"({migrations.latest(backend.name)}); upgrade reconciler"
    )
    with pytest.raises(StoreTooNew) as raised:
        open_store(store_url).snapshot()
    assert str(raised.value) == message
    with pytest.raises(StoreTooNew):
        apply_plan(open_store(store_url), plan)
    assert backend.table_dump(store_url) == before


def test_the_snapshot_reads_back_what_was_applied(store_url: str) -> None:
    plan = apply_yaml(store_url, ACCOUNT)
    snapshot = open_store(store_url).snapshot()
    assert snapshot.revision == 1
    assert plan_yaml(store_url, ACCOUNT).actions == ()
    assert [u.email for u in snapshot.state.users] == [
        "alice@acme.example",
        "bob@acme.example",
        "carol@acme.example",
    ]
    assert len(plan.actions) == 10


def test_every_applied_action_is_in_the_audit_log(backend: Backend, store_url: str) -> None:
    plan = apply_yaml(store_url, ACCOUNT)
    rows = backend.query(store_url, "SELECT revision, actor, kind, target FROM audit_log ORDER BY id")
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, RESELLER, a.kind) for a in plan.actions]
    assert rows[0][3] == '{"user": "alice@acme.example"}'


def test_activate_marks_an_invited_user_active(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    open_store(store_url).activate_user("Carol@acme.example")
    assert open_store(store_url).snapshot().user_status["carol@acme.example"] == "active"
    with pytest.raises(StoreError, match=r"no user zed@acme\.example"):
        open_store(store_url).activate_user("zed@acme.example")


def test_a_plan_for_an_older_revision_is_refused_and_changes_nothing(
    backend: Backend, store_url: str
) -> None:
    old = plan_yaml(store_url, ACCOUNT)
    apply_yaml(store_url, "version: 1\nusers:\n  - {email: x@acme.example, first_name: X, last_name: Y}\n")
    before = backend.table_dump(store_url)
    with pytest.raises(StalePlan, match=r"made at revision 0 but the store is at revision 1"):
        apply_plan(open_store(store_url), old)
    assert backend.table_dump(store_url) == before


def test_a_plan_for_another_store_is_refused(backend: Backend, store_url: str) -> None:
    other = backend.new_url()
    open_store(other).initialize([RESELLER])
    with pytest.raises(StalePlan, match="made for another store"):
        apply_plan(open_store(other), plan_yaml(store_url, ACCOUNT))


#: How each backend words a broken foreign key.
FOREIGN_KEY = {
    "sqlite": "FOREIGN KEY constraint failed",
    "postgresql": 'violates foreign key constraint "access_serial_fkey"',
}


def test_a_failure_part_way_leaves_the_store_as_it_was(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    plan = plan_yaml(store_url, ACCOUNT.replace("Carol", "Caroline").replace("seats: 2", "seats: 3"))
    # A last action the database refuses: a grant on a serial that does not exist.
    bad = Action(
        Kind.ACCESS_GRANT,
        {"contract": "110001234567", "serial": "399-00000000", "user": "carol@acme.example"},
        None,
        {"download": False},
    )
    before = backend.table_dump(store_url)
    with pytest.raises(StoreError, match=FOREIGN_KEY[backend.name]):
        apply_plan(open_store(store_url), replace(plan, actions=(*plan.actions, bad)))
    assert backend.table_dump(store_url) == before


def test_the_database_refuses_more_users_than_seats(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    plan = plan_yaml(store_url, ACCOUNT)
    grant = Action(
        Kind.ACCESS_GRANT,
        {"contract": "110001234567", "serial": "399-12345679", "user": "alice@acme.example"},
        None,
        {"download": False},
    )
    with pytest.raises(StoreError, match="seats exceeded"):
        apply_plan(open_store(store_url), replace(plan, actions=(grant,)))


def test_an_empty_plan_leaves_the_revision_alone(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    assert apply_plan(open_store(store_url), plan_yaml(store_url, ACCOUNT)).revision == 1
    assert open_store(store_url).snapshot().revision == 1


def test_the_snapshot_knows_when_each_user_was_added(store_url: str) -> None:
    from datetime import UTC, datetime

    before = datetime.now(UTC).replace(microsecond=0)
    apply_yaml(store_url, ACCOUNT)
    added = open_store(store_url).snapshot().user_added
    assert set(added) == {"alice@acme.example", "bob@acme.example", "carol@acme.example"}
    for at in added.values():
        assert before <= datetime.fromisoformat(at) <= datetime.now(UTC)


def test_history_returns_the_last_applies_newest_first_each_in_apply_order(store_url: str) -> None:
    store = open_store(store_url)
    assert store.history(5) == ()
    first = apply_yaml(store_url, ACCOUNT)
    second = apply_yaml(store_url, ACCOUNT.replace("seats: 2", "seats: 3"))
    history = store.history(5)
    assert [(h.revision, h.actor, len(h.changes)) for h in history] == [(2, RESELLER, 1), (1, RESELLER, 10)]
    assert [c.kind for c in history[1].changes] == [a.kind for a in first.actions]
    [change] = history[0].changes
    [action] = second.actions
    assert (change.kind, change.target, change.before, change.after) == (
        "serial.seats_change",
        dict(action.target),
        {"seats": 2},
        {"seats": 3},
    )
    assert history[0].at >= history[1].at
    assert [h.revision for h in store.history(1)] == [2]
