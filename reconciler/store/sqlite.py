"""The embedded store: one SQLite file, for one machine.

Every apply is one `BEGIN IMMEDIATE` transaction: it takes SQLite's write
lock (waiting for it at most `lock_timeout` seconds, the busy timeout, and
recording its holder in a file beside the store, since the lock cannot say
who holds it), re-reads the revision under it, writes every action in batches (one
`executemany` per run of actions of one kind), bumps the revision and logs
each action, then commits; any error rolls all of it back. Reads for plan
and drift run in one transaction, so they see one revision.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler.errors import StoreError, StoreExists, StoreLocked, StoreNotFound
from reconciler.notify.message import Message, OutboxEntry, Request
from reconciler.plan import Plan
from reconciler.store import migrations
from reconciler.store import statements as sql
from reconciler.store.base import Applied, Progress, Snapshot
from reconciler.store.locking import (
    DEFAULT_LOCK_TIMEOUT,
    Holder,
    locked_message,
    read_holder_file,
    remove_holder_file,
    write_holder_file,
)
from reconciler.store.rows import history_from_rows, outbox_entry, snapshot_from_rows
from reconciler.store.shared import (
    action_batches,
    audit_row,
    check_current,
    now_text,
    outbox_row,
    request_row,
)
from reconciler.store.statements import AUDIT, HISTORY, READS, WRITES

BUSY_TIMEOUT_SECONDS = 30.0


class SqliteStore:
    """A store in the SQLite file at `path`."""

    def __init__(self, url: str, path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.url = url
        self.path = path
        self.lock_timeout = lock_timeout

    def initialize(self, resellers: Sequence[str]) -> Snapshot:
        if self.path.exists():
            raise StoreExists(f"a store already exists at {self.path}; it was left as it is")
        if not self.path.parent.is_dir():
            raise StoreError(f"cannot create {self.path}: the folder {self.path.parent} does not exist")
        with self._connection(create=True) as db:
            db.execute("PRAGMA journal_mode = WAL")
            with _transaction(db, "IMMEDIATE"):
                migrations.migrate(db, "sqlite")
                lineage = str(uuid.uuid4())
                db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)", [("lineage", lineage), ("revision", "0")]
                )
                db.executemany("INSERT INTO resellers (email) VALUES (?)", [(r.lower(),) for r in resellers])
        return self.snapshot()

    def snapshot(self) -> Snapshot:
        with self._connection() as db, _transaction(db, "DEFERRED"):
            rows = {name: db.execute(sql).fetchall() for name, sql in READS.items()}
        return snapshot_from_rows(rows)

    def apply(
        self,
        plan: Plan,
        actor: str,
        outbox: Sequence[Message] = (),
        requests: Sequence[Request] = (),
        progress: Progress | None = None,
    ) -> int:
        now = now_text()
        with self._connection(timeout=self.lock_timeout) as db, self._apply_lock(db, actor):
            meta = dict(db.execute(READS["meta"]).fetchall())
            revision = check_current(plan, meta["lineage"], int(meta["revision"]))
            for kind, rows in action_batches(plan, now, progress):
                db.executemany(WRITES[kind][0], rows)
            if plan.actions:
                db.executemany(AUDIT, [audit_row(revision, actor, now, a) for a in plan.actions])
                db.execute("UPDATE meta SET value = ? WHERE key = 'revision'", (str(revision),))
            db.executemany(sql.REQUEST_INSERT, [request_row(revision, now, r) for r in requests])
            db.executemany(sql.OUTBOX_INSERT, [outbox_row(revision, now, m) for m in outbox])
        return revision

    def outbox(self, queued_only: bool = False) -> list[OutboxEntry]:
        with self._connection() as db:
            rows = db.execute(sql.OUTBOX_QUEUED if queued_only else sql.OUTBOX_ALL).fetchall()
        return [outbox_entry(row) for row in rows]

    def queued_count(self) -> int:
        with self._connection() as db:
            count: int = db.execute(sql.OUTBOX_QUEUED_COUNT).fetchone()[0]
        return count

    def claim_queued(self, limit: int, lease_seconds: float, after_id: int = 0) -> list[OutboxEntry]:
        now = datetime.now(UTC)
        until = (now + timedelta(seconds=lease_seconds)).isoformat(timespec="milliseconds")
        with self._connection() as db, _transaction(db, "IMMEDIATE"):
            now_text = now.isoformat(timespec="milliseconds")
            rows = db.execute(sql.OUTBOX_CLAIM, (until, after_id, now_text, limit))
            claimed = [outbox_entry(row) for row in rows.fetchall()]
        return sorted(claimed, key=lambda entry: entry.id)

    def mark_sent(self, entry_id: int) -> None:
        with self._connection() as db, _transaction(db, "IMMEDIATE"):
            db.execute(sql.OUTBOX_SENT, (now_text(), entry_id))

    def mark_failed(self, entry_id: int, error: str | None) -> None:
        with self._connection() as db, _transaction(db, "IMMEDIATE"):
            if error is None:
                db.execute(sql.OUTBOX_RELEASE, (entry_id,))
            else:
                db.execute(sql.OUTBOX_FAILED, (error, entry_id))

    def activate_user(self, email: str) -> None:
        with self._connection() as db, _transaction(db, "IMMEDIATE"):
            found = db.execute(
                "UPDATE users SET status = 'active' WHERE email = ?", (email.lower(),)
            ).rowcount
        if not found:
            raise StoreError(f"no user {email} in the store")

    def history(self, limit: int) -> tuple[Applied, ...]:
        with self._connection() as db:
            rows = db.execute(HISTORY, (limit,)).fetchall()
        return history_from_rows(rows)

    def close(self) -> None:
        """Nothing stays open between calls."""

    @contextmanager
    def _apply_lock(self, db: sqlite3.Connection, actor: str) -> Iterator[None]:
        """An IMMEDIATE transaction, its holder recorded beside the store; StoreLocked after lock_timeout."""
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
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")
        finally:
            remove_holder_file(self._holder_path, holder)

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
                migrations.check(db, "sqlite", self.path)
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
