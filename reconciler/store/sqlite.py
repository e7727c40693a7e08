"""The embedded store: one SQLite file, for one machine.

Every apply is one `BEGIN IMMEDIATE` transaction: it takes SQLite's write
lock (waiting for it at most `lock_timeout` seconds, the busy timeout, and
recording its holder in a file beside the store, since the lock cannot say
who holds it), re-reads the revision under it, writes every action in
batches (one `executemany` per run of actions of one kind; many grants staged
in a temporary table and moved across in one statement), bumps the
revision and logs each action, then commits; any error rolls all of it back.
Reads for plan and drift run in one transaction, so they see one revision.
What an apply does is shared with PostgreSQL (sql.py); this module connects,
locks and begins.

When the disk fills up or the folder cannot be written, the error is SQLite's
own, with what to do (`_explained`). After some errors (a full disk, an I/O
error) SQLite has rolled the transaction back itself; the rollback here then
has nothing to undo and never hides the error. Whatever fails leaves the store
as it was: an `init` that fails leaves no half-made file, and a connection that
could not set up SQLite's shared memory on a full disk leaves no -wal or -shm
behind (`_remove_stray_index`).
"""

from __future__ import annotations

import errno
import os
import shutil
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
from reconciler.store.statements import Params, plain_insert

BUSY_TIMEOUT_SECONDS = 30.0
#: The page cache of an apply's connection, in KiB (PRAGMA cache_size takes KiB when negative). An
#: apply keeps every page it changes until COMMIT; in SQLite's default 2 MiB, the grants' random
#: inserts into the index access_by_serial push dirty pages out to the -wal (40 MB of them at 100,000
#: users) and read them back, over and over. At 100,000 users and 300,000 grants the whole store is
#: 40 MB: 64 MiB holds it, nothing spills, and the grants' inserts took 1.7 s instead of 3.7 s (32 MiB:
#: 2.3 s; 128 and 256 MiB: 1.7 s, no better). A whole first apply of them, audit log and all (128 MB),
#: took 5-7 s with 64 MiB as with 256 MiB, 8-10 s with 2 MiB. Only an apply's connection has it, and
#: only while open: SQLite takes the memory as pages are used.
APPLY_CACHE_KIB = 65536
#: SQLite's primary result codes (https://sqlite.org/rescode.html): the low byte of an extended code.
_READONLY, _IOERR, _FULL, _CANTOPEN = 8, 10, 13, 14
#: The files SQLite keeps beside a store: the write-ahead log, its shared-memory index, a rollback journal.
_BESIDE = ("-wal", "-shm", "-journal")


class SqliteStore(SqlStore):
    """A store in the SQLite file at `path`."""

    dialect = "sqlite"
    #: An INSERT of more rows than this into a table with triggers is staged (see `_write_rows`).
    staged_rows = 1000

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
        _claim(self.path)
        try:
            with self._connection(create=True) as db:
                db.execute("PRAGMA journal_mode = WAL")
                with _transaction(db, "IMMEDIATE"):
                    yield db
        except BaseException:
            # Nothing was there before: leave nothing, not a file that a second init takes for a store.
            for name in (self.path, *(_beside(self.path, suffix) for suffix in _BESIDE)):
                with suppress(OSError):
                    name.unlink(missing_ok=True)
            raise

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
            db.execute(f"PRAGMA cache_size = -{APPLY_CACHE_KIB}")
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
                db.execute("COMMIT")
            except BaseException:
                _roll_back(db)
                raise
            finally:
                remove_holder_file(self._holder_path, holder)

    def _write_rows(self, db: sqlite3.Connection, statement: str, rows: Sequence[Params]) -> None:
        """The rows by one `executemany`; but many rows for a table with triggers (access: its seat
        counts) are staged in a temporary table, then moved across in one INSERT … SELECT. SQLite runs
        a statement that fires triggers with a statement journal, and an executemany is one statement
        a row: 300,000 grants went in in 2.1 s row by row, 1.0 s staged (the staging included). Either
        way each row fires its triggers in turn, and any error is the same error, rolled back whole."""
        insert = plain_insert(statement) if len(rows) > self.staged_rows else None
        if insert is None or not _has_triggers(db, insert[0]):
            db.executemany(statement, rows)
            return
        table, columns = insert
        db.execute(f"CREATE TEMP TABLE staged ({columns})")
        try:
            db.executemany(f"INSERT INTO temp.staged VALUES ({', '.join('?' * len(rows[0]))})", rows)
            db.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM temp.staged ORDER BY rowid")
        finally:
            # After a full disk SQLite has rolled back the transaction, the table with it: nothing to drop.
            with suppress(sqlite3.Error):
                db.execute("DROP TABLE IF EXISTS temp.staged")

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
            raise StoreError(_explained(error, self.path)) from None
        try:
            db.execute("PRAGMA foreign_keys = ON")
            if not create:
                migrations.check(db, self.dialect, self.path)
            yield db
        except sqlite3.Error as error:
            db.close()
            if _primary(error) in (_IOERR, _FULL):
                _remove_stray_index(self.path)
            raise StoreError(_explained(error, self.path)) from None
        finally:
            db.close()


@contextmanager
def _transaction(db: sqlite3.Connection, mode: str) -> Iterator[None]:
    db.execute(f"BEGIN {mode}")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        _roll_back(db)
        raise


def _has_triggers(db: sqlite3.Connection, table: str) -> bool:
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? LIMIT 1", (table,)
    )
    return found.fetchone() is not None


def _roll_back(db: sqlite3.Connection) -> None:
    """Roll back what is left of the transaction. After some errors (a full disk, an I/O error) SQLite
    has rolled it back itself: a second ROLLBACK would fail, and its error hide the one that counts."""
    if db.in_transaction:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")


def _claim(path: Path) -> None:
    """Create the store's file, empty, for `init`: of two inits at once, the second finds it taken."""
    try:
        path.open("xb").close()
    except FileExistsError:
        raise StoreExists(f"a store already exists at {path}; it was left as it is") from None
    except OSError as error:
        folder = path.absolute().parent
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise StoreError(
                f"cannot create {path}: the folder {folder} is read-only ({error.strerror}). "
                "Make the folder writable, or create the store in a folder that is"
            ) from None
        raise StoreError(f"cannot create {path}: {error.strerror or error}") from None


def _primary(error: sqlite3.Error) -> int:
    """The primary result code of SQLite's error (0 when the driver gives none)."""
    return (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF


def _explained(error: sqlite3.Error, path: Path) -> str:
    """What went wrong with the store at `path` in SQLite's words, and, for a full disk or a folder
    SQLite cannot write in, what to do about it."""
    said, code = str(error), _primary(error)
    folder = path.absolute().parent
    if code == _FULL:
        return (
            f"{path}: {said}: the disk that holds {folder} has {_free(folder)}; nothing was written "
            "(the store is as it was). Free some space there, then run the command again"
        )
    if code == _IOERR:
        # SQLite says only "disk I/O error" when a full disk leaves no room for its shared memory.
        return (
            f"{path}: {said} ({getattr(error, 'sqlite_errorname', 'SQLITE_IOERR')}): the disk that holds "
            f"{folder} has {_free(folder)}. If it is full, free some space there, else check the disk; "
            "then run the command again"
        )
    if code in (_CANTOPEN, _READONLY) and not os.access(folder, os.W_OK):
        return (
            f"{path}: {said}: the folder {folder} is read-only, and SQLite writes beside the store (its -wal "
            "and -shm files) even to read it. Make the folder writable, or copy the store to a folder that is"
        )
    return f"{path}: {said}"


def _free(folder: Path) -> str:
    try:
        return f"{shutil.disk_usage(folder).free:,} bytes free"
    except OSError:
        return "an unknown number of bytes free"


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _remove_stray_index(path: Path) -> None:
    """Remove the empty -wal and the -shm that a connection leaves when a full disk kept it from
    setting up SQLite's shared memory; SQLite removes them when its last connection closes, but not
    after that. Only when no other connection has the store open, and the -wal holds nothing.

    In exclusive locking mode, SQLite keeps the index in this process's memory instead of the -shm,
    and takes the store's exclusive lock at the first read: it grants that only when no other
    connection, of this process or another, has the store open. Closing, it removes the -wal."""
    wal, shm = _beside(path, "-wal"), _beside(path, "-shm")
    with suppress(OSError, sqlite3.Error):
        if not shm.exists() or (wal.exists() and wal.stat().st_size):
            return
        db = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            db.execute("SELECT count(*) FROM sqlite_master").fetchall()
            shm.unlink()
        finally:
            db.close()
