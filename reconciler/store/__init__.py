"""Stores: where the account lives. `open_store(url)` picks the backend by the URL's scheme."""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import StoreError
from reconciler.store.base import Snapshot, Store
from reconciler.store.sqlite import SqliteStore

DEFAULT_URL = "sqlite:///reconciler.db"

__all__ = ["DEFAULT_URL", "Snapshot", "Store", "open_store"]


def open_store(url: str) -> Store:
    """The store at `url`: `sqlite:///relative.db` or `sqlite:////absolute/path.db`."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path:
            raise StoreError(f"{url}: name a file, as in sqlite:///reconciler.db")
        return SqliteStore(url, Path(path))
    if url.startswith(("postgresql://", "postgres://")):
        raise StoreError("PostgreSQL stores are not supported yet; use sqlite:///FILE")
    raise StoreError(f"unknown store URL {url!r}; use sqlite:///FILE")
