"""What only the memory store has: names within one process, stores of their own, its lock, and
applying every action from its kind's record and effect alone. Its share of the Store protocol is
tested with the other stores' in test_store_contract.py."""

from __future__ import annotations

import inspect
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace

import memory_store
import pytest
from conftest import ACCOUNT, RESELLER, apply_yaml, plan_yaml
from memory_store import MemoryStore, forget, open_any_store

from reconciler.core.errors import StoreError, StoreLocked, StoreNotFound
from reconciler.core.kinds import Kind
from reconciler.core.records import Request, Transaction


@pytest.fixture
def url() -> Iterator[str]:
    name = f"memory://test-{uuid.uuid4().hex}"
    yield name
    forget(name)


def test_every_open_of_one_name_sees_one_store_and_other_names_others(url: str) -> None:
    open_any_store(url).initialize([RESELLER])
    apply_yaml(url, ACCOUNT)
    assert open_any_store(url).snapshot().revision == 1
    with pytest.raises(StoreNotFound, match=f"no store at {url}2;"):
        open_any_store(url + "2").snapshot()


def test_a_store_made_directly_is_its_own() -> None:
    first, second = MemoryStore(), MemoryStore()
    first.initialize([RESELLER])
    with pytest.raises(StoreNotFound):
        second.snapshot()
    assert second.initialize([RESELLER]).lineage != first.snapshot().lineage


def test_a_forgotten_store_is_gone(url: str) -> None:
    open_any_store(url).initialize([RESELLER])
    forget(url)
    with pytest.raises(StoreNotFound):
        open_any_store(url).snapshot()


def test_a_memory_url_names_its_store() -> None:
    with pytest.raises(StoreError, match=r"^memory://: name the store, as in memory://tests$"):
        open_any_store("memory://")


def test_an_apply_while_another_runs_waits_then_fails_naming_it(url: str) -> None:
    open_any_store(url).initialize([RESELLER])
    plan = plan_yaml(url, ACCOUNT)
    applying, done = threading.Event(), threading.Event()

    def hold(written: int, total: int) -> None:
        applying.set()
        done.wait(10)

    first = threading.Thread(target=lambda: open_any_store(url).apply(Transaction(plan, progress=hold)))
    first.start()
    try:
        assert applying.wait(10)
        with pytest.raises(StoreLocked) as raised:
            open_any_store(url, lock_timeout=0.05).apply(Transaction(plan))
    finally:
        done.set()
        first.join()
    message = str(raised.value)
    assert message.startswith(f"the store {url} is locked: another apply holds it: {RESELLER} on ")
    assert message.endswith(
        "gave up after 0.05 s, nothing was applied. "
        "Try again when it is done, or wait longer with --lock-timeout SECONDS"
    )
    assert open_any_store(url).snapshot().revision == 1


def test_what_an_apply_calls_back_reads_the_store_as_it_was_and_writes_nothing(url: str) -> None:
    open_any_store(url).initialize([RESELLER])
    plan = plan_yaml(url, ACCOUNT)
    seen: list[int] = []
    refused: list[str] = []

    def meanwhile(written: int, total: int) -> None:
        seen.append(open_any_store(url).snapshot().revision)
        for write in (
            lambda: open_any_store(url).apply(Transaction(plan)),
            lambda: open_any_store(url).mark_sent(1),
        ):
            with pytest.raises(StoreLocked) as raised:
                write()
            refused.append(str(raised.value))

    open_any_store(url).apply(Transaction(plan, progress=meanwhile))
    assert set(seen) == {0}
    assert refused[0].startswith(f"the store {url} is locked: this thread is applying ({RESELLER} on ")
    assert open_any_store(url).snapshot().revision == 1


def test_a_request_already_recorded_is_not_recorded_again(url: str) -> None:
    store = open_any_store(url)
    store.initialize([RESELLER])
    ask = Request("key-1", "alice@acme.example", Kind.SERIAL_CREATE, {"serial": "1"}, None, {}, (RESELLER,))
    again = replace(ask, requester="bob@acme.example")
    store.apply(Transaction(plan_yaml(url, "version: 1\n"), requests=[ask]))
    store.apply(Transaction(plan_yaml(url, "version: 1\n"), requests=[again, replace(ask, key="key-2")]))
    assert [(r.request, r.open) for r in store.requests()] == [(ask, True), (replace(ask, key="key-2"), True)]


def test_what_an_apply_wrote_is_the_stores_not_the_plans(url: str) -> None:
    store = open_any_store(url)
    store.initialize([RESELLER])
    plan = plan_yaml(url, ACCOUNT)
    store.apply(Transaction(plan))
    [added] = [a for a in plan.actions if a.kind is Kind.COORDINATOR_ADD]
    assert added.after is not None
    added.after["shipping"]["name"] = "Changed afterwards"  # type: ignore[index]
    [contract] = store.snapshot().state.contracts
    assert contract.coordinators[0].shipping is not None
    assert contract.coordinators[0].shipping.name == "Acme HQ"


def test_no_kind_has_code_of_its_own() -> None:
    """Actions are applied from their kind's record and effect: no kind is named in the store."""
    source = inspect.getsource(memory_store)
    assert not [kind.name for kind in Kind if f"Kind.{kind.name}" in source]
    assert "WRITES" not in source
