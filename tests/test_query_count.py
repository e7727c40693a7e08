"""No N+1 queries: a plan reads the store in the same number of statements at 200 users as at 2,000.

Statements are counted at the driver (SQLite's trace callback, psycopg's
execute), so nothing the store does can hide from the count.
"""

from __future__ import annotations

import io
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import RESELLER, ROOT, Backend

from reconciler.commands.apply import ApplyOptions, run_apply
from reconciler.core.model import DesiredState
from reconciler.engine.planner import make_plan
from reconciler.loading import load_sources
from reconciler.loading.files import Source
from reconciler.store import open_store

sys.path.insert(0, str(ROOT / "tests" / "bench"))
from generate import write_account


def account(users: int) -> DesiredState:
    text = io.StringIO()
    write_account(text, users)
    state = load_sources([Source("account.yaml", text.getvalue().encode())]).state
    assert state is not None
    return state


@contextmanager
def counted(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement the store sends while the block runs."""
    seen: list[str] = []
    if backend.name == "sqlite":
        connect = sqlite3.connect

        def tracing_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            db = connect(*args, **kwargs)
            db.set_trace_callback(seen.append)
            return db

        monkeypatch.setattr(sqlite3, "connect", tracing_connect)
    else:
        import psycopg

        for owner, name in (
            (psycopg.Connection, "execute"),
            (psycopg.Cursor, "execute"),
            (psycopg.Cursor, "executemany"),
        ):
            original = getattr(owner, name)

            def wrapper(self: Any, query: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                seen.append(str(query))
                return _original(self, query, *args, **kwargs)

            monkeypatch.setattr(owner, name, wrapper)
    yield seen
    monkeypatch.undo()


def statements_of_a_plan(backend: Backend, monkeypatch: pytest.MonkeyPatch, users: int) -> tuple[int, int]:
    """Statements of a plan against an empty store, then against a store that holds the account."""
    url = backend.new_url()
    open_store(url).initialize([RESELLER])
    desired = account(users)
    with counted(backend, monkeypatch) as empty:
        plan = make_plan(desired, open_store(url).snapshot(), RESELLER)
    run_apply(open_store(url), plan, RESELLER, ApplyOptions(allow_mass_removal=True))
    with counted(backend, monkeypatch) as full:
        assert make_plan(desired, open_store(url).snapshot(), RESELLER).actions == ()
    return len(empty), len(full)


def test_a_plan_reads_the_store_in_a_fixed_number_of_statements(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = statements_of_a_plan(backend, monkeypatch, 200)
    large = statements_of_a_plan(backend, monkeypatch, 2_000)
    assert small == large
    assert min(small) > 0, "the count sees the store's statements"
    assert max(large) < 40, f"{large} statements to read a store is more than reading it takes"
