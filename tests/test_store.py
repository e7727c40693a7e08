"""What only the SQL stores have: migrations and schema versions, raw rows. What every store does
is tested in test_store_contract.py."""

from __future__ import annotations

import pytest
from conftest import ACCOUNT, RESELLER, Backend, apply_yaml, plan_yaml

from reconciler.apply import apply_plan
from reconciler.errors import StoreError, StoreTooNew
from reconciler.kinds import Kind
from reconciler.records import Request
from reconciler.store import migrations, open_store


def test_init_runs_every_migration(backend: Backend, store_url: str) -> None:
    [(version,)] = backend.query(store_url, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert int(version) == migrations.latest(backend.name) >= 1


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


def test_every_applied_action_is_in_the_audit_log(backend: Backend, store_url: str) -> None:
    plan = apply_yaml(store_url, ACCOUNT)
    rows = backend.query(store_url, "SELECT revision, actor, kind, target FROM audit_log ORDER BY id")
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, RESELLER, a.kind) for a in plan.actions]
    assert rows[0][3] == '{"user": "alice@acme.example"}'


def test_a_request_already_recorded_is_not_recorded_again(backend: Backend, store_url: str) -> None:
    ask = Request("key-1", "alice@acme.example", Kind.SERIAL_CREATE, {"serial": "1"}, None, {}, (RESELLER,))
    again = Request("key-1", "bob@acme.example", Kind.SERIAL_CREATE, {"serial": "2"}, None, {}, (RESELLER,))
    store = open_store(store_url)
    store.apply(plan_yaml(store_url, "version: 1\n"), RESELLER, requests=[ask])
    store.apply(plan_yaml(store_url, "version: 1\n"), RESELLER, requests=[again])
    rows = backend.query(store_url, "SELECT key, requester, target FROM requests")
    assert rows == [("key-1", "alice@acme.example", '{"serial": "1"}')]
