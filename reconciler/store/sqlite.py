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

import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from reconciler.errors import StalePlan, StoreError, StoreExists, StoreLocked, StoreNotFound
from reconciler.plan import Plan
from reconciler.store import migrations
from reconciler.store.base import Snapshot
from reconciler.store.locking import (
    DEFAULT_LOCK_TIMEOUT,
    Holder,
    locked_message,
    read_holder_file,
    remove_holder_file,
    write_holder_file,
)
from reconciler.store.rows import snapshot_from_rows
from reconciler.store.statements import AUDIT, READS, WRITES

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

    def apply(self, plan: Plan, actor: str) -> int:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connection(timeout=self.lock_timeout) as db, self._apply_lock(db, actor):
            meta = dict(db.execute(READS["meta"]).fetchall())
            if meta["lineage"] != plan.lineage or int(meta["revision"]) != plan.revision:
                raise StalePlan(_stale_message(plan, meta["lineage"], int(meta["revision"])))
            revision = plan.revision + 1
            for kind, run in groupby(plan.actions, key=lambda action: action.kind):
                sql, params_of = WRITES[kind]
                db.executemany(sql, [params_of(a.target, a.after or {}, now) for a in run])
            db.executemany(AUDIT, [_audit_row(revision, actor, now, a) for a in plan.actions])
            db.execute("UPDATE meta SET value = ? WHERE key = 'revision'", (str(revision),))
        return revision

    def activate_user(self, email: str) -> None:
        with self._connection() as db, _transaction(db, "IMMEDIATE"):
            found = db.execute(
                "UPDATE users SET status = 'active' WHERE email = ?", (email.lower(),)
            ).rowcount
        if not found:
            raise StoreError(f"no user {email} in the store")

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
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _audit_row(revision: int, actor: str, now: str, action: Any) -> tuple[Any, ...]:
    return (
        revision,
        actor,
        now,
        action.kind,
        json.dumps(dict(action.target), sort_keys=True),
        None if action.before is None else json.dumps(action.before, sort_keys=True),
        None if action.after is None else json.dumps(action.after, sort_keys=True),
    )


def _stale_message(plan: Plan, lineage: str, revision: int) -> str:
    if lineage != plan.lineage:
        return (
            f"the plan was made for another store (lineage {plan.lineage}, this one is {lineage}); "
            "nothing was applied"
        )
    return (
        f"the plan was made at revision {plan.revision} but the store is at revision {revision}; "
        "nothing was applied: run `reconciler plan` again"
    )
