"""The embedded store: one SQLite file, for one machine.

Every apply is one `BEGIN IMMEDIATE` transaction: it takes SQLite's write
lock (waiting for it at most `lock_timeout` seconds, the busy timeout, and
recording its holder in a file beside the store, since the lock cannot say
who holds it), re-reads the revision under it, writes every action in
batches (one `executemany` per run of actions of one kind), bumps the
revision and logs each action, then commits; any error rolls all of it back.
Reads for plan and drift run in one transaction, so they see one revision.
What an apply does is shared with PostgreSQL (sql.py); this module connects,
locks and begins.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from reconciler.core.errors import StoreError, StoreExists, StoreLocked, StoreNotFound
from reconciler.store import migrations
from reconciler.store.locking import (
    DEFAULT_LOCK_TIMEOUT,
    Holder,
    locked_message,
    read_holder_file,
    remove_holder_file,
    write_holder_file,
)
from reconciler.store.sql import SqlStore
from reconciler.store.statements import Params

BUSY_TIMEOUT_SECONDS = 30.0


class SqliteStore(SqlStore):
    """A store in the SQLite file at `path`."""

    dialect = "sqlite"

    def __init__(self, url: str, path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.url = url
        self.path = path
        self.lock_timeout = lock_timeout

    @contextmanager
    def _creating(self) -> Iterator[sqlite3.Connection]:
        if self.path.exists():
            raise StoreExists(f"a store already exists at {self.path}; it was left as it is")
        if not self.path.parent.is_dir():
            raise StoreError(f"cannot create {self.path}: the folder {self.path.parent} does not exist")
        with self._connection(create=True) as db:
            db.execute("PRAGMA journal_mode = WAL")
            with _transaction(db, "IMMEDIATE"):
                yield db

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as db, _transaction(db, "DEFERRED"):
            yield db

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as db, _transaction(db, "IMMEDIATE"):
            yield db

    @contextmanager
    def _applying(self, actor: str) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction, its holder recorded beside the store; StoreLocked after lock_timeout."""
        with self._connection(timeout=self.lock_timeout) as db:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                holder = read_holder_file(self._holder_path)
                raise StoreLocked(locked_message(str(self.path), holder, self.lock_timeout)) from None
            holder = Holder.this_process(actor)
            write_holder_file(self._holder_path, holder)
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")
            finally:
                remove_holder_file(self._holder_path, holder)

    def _write_rows(self, db: sqlite3.Connection, statement: str, rows: Sequence[Params]) -> None:
        db.executemany(statement, rows)

    @property
    def _holder_path(self) -> Path:
        return self.path.with_name(self.path.name + "-holder")

    @contextmanager
    def _connection(
        self, create: bool = False, timeout: float = BUSY_TIMEOUT_SECONDS
    ) -> Iterator[sqlite3.Connection]:
        if not create and not self.path.exists():
            raise StoreNotFound(
                f"no store at {self.path}; create one with `reconciler init --reseller EMAIL`"
            )
        try:
            db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open {self.path}: {error}") from None
        try:
            db.execute("PRAGMA foreign_keys = ON")
            if not create:
                migrations.check(db, self.dialect, self.path)
            yield db
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: {error}") from None
        finally:
            db.close()


@contextmanager
def _transaction(db: sqlite3.Connection, mode: str) -> Iterator[None]:
    db.execute(f"BEGIN {mode}")
    try:
        yield
    except BaseException:
        # After some errors (disk full, I/O) SQLite has rolled back already; report the first error.
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
