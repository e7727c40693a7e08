"""Stores: where the account lives. `open_store(url)` picks the backend by the URL's scheme."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.errors import StoreError
from reconciler.store.locking import DEFAULT_LOCK_TIMEOUT
from reconciler.store.protocol import Store
from reconciler.store.sqlite import SqliteStore
from reconciler.store.urls import redact_url

DEFAULT_URL = "sqlite:///reconciler.db"

__all__ = ["DEFAULT_LOCK_TIMEOUT", "DEFAULT_URL", "Store", "open_store", "redact_url"]


def open_store(url: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Store:
    """The store at `url`: `sqlite:///relative.db`, `sqlite:////absolute/path.db` or
    `postgresql://user@host:port/database`. A `memory://` URL is refused: the memory store is a
    test double (tests/memory_store.py), gone when its process ends, and every run of the command
    line is a process of its own.

    An apply waits at most `lock_timeout` seconds for another one to finish.
    """
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path:
            raise StoreError(f"{url}: name a file, as in sqlite:///reconciler.db")
        return SqliteStore(url, Path(path), lock_timeout)
    if url.startswith(("postgresql://", "postgres://")):
        # Imported here so that SQLite users never load the PostgreSQL driver.
        from reconciler.store.postgres import PostgresStore

        return PostgresStore(url, lock_timeout)
    if url.startswith("memory://"):
        raise StoreError(
            f"{redact_url(url)}: a memory store would be gone when this command ends, and no other command "
            "could see it; use sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE"
        )
    raise StoreError(
        f"unknown store URL {redact_url(url)!r}; use sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE"
    )
