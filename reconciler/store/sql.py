"""What both SQL stores do the same way, written once: read a snapshot, apply a plan, keep the outbox.

A backend (sqlite.py, postgres.py) supplies only what differs between the
databases: how to connect, how to begin a transaction of each sort, how to
take the apply lock, how to write a batch of rows fast, its placeholder
style, and, where the answer to COMMIT can be lost (CommitLost), how to find
out what became of the apply (`_settle`). Everything else, and every
statement (statements.py), is shared.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import groupby
from typing import Any, TypeVar

from reconciler.core.errors import AdoptRefused, StoreError
from reconciler.core.kinds import Kind
from reconciler.core.plan import Plan
from reconciler.core.records import (
    Applied,
    OutboxCounts,
    OutboxEntry,
    Progress,
    Snapshot,
    Transaction,
    Written,
)
from reconciler.store import migrations
from reconciler.store import statements as sql
from reconciler.store.rows import (
    audit_rows,
    history_from_rows,
    now_text,
    outbox_entry,
    outbox_row,
    request_row,
    snapshot_from_rows,
)
from reconciler.store.statements import WRITES, Params, Write

#: A connection of either driver: sqlite3's and psycopg's both have `execute` and `executemany`.
Connection = Any

_T = TypeVar("_T")
#: Keys looked up in one statement: within SQLite's and PostgreSQL's limits on parameters, and few
#: round trips for the few thousand messages of the largest apply.
_KEYS_A_QUERY = 500


class CommitLost(Exception):
    """COMMIT was sent and the connection died before its answer came: the apply may have committed."""


class SqlStore(ABC):
    """A store in a SQL database. Subclasses connect, lock and bulk-write; this does the rest."""

    url: str
    #: The dialect's folder of migrations, and the key of its statement variants.
    dialect: str

    # --- what a backend supplies ------------------------------------------------------------------

    @abstractmethod
    def _creating(self) -> AbstractContextManager[Connection]:
        """A connection to a place with no store yet, in a transaction that no other `init` of the same
        store runs beside; raises StoreExists when there is a store."""

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Connection]:
        """A connection in a read-only transaction that sees one revision of the store."""

    @abstractmethod
    def _writing(self) -> AbstractContextManager[Connection]:
        """A connection in a short write transaction (the outbox's bookkeeping, a user's status)."""

    @abstractmethod
    def _applying(self, actor: str) -> AbstractContextManager[Connection]:
        """A connection holding the store's apply lock (raises StoreLocked after the lock timeout), in
        the transaction an apply writes in; committed when the block ends, rolled back if it fails."""

    @abstractmethod
    def _write_rows(self, db: Connection, statement: str, rows: Sequence[Params]) -> None:
        """Run `statement` (with `?` placeholders) once per row, as fast as the database allows."""

    def _sql(self, statement: str) -> str:
        """`statement` in the driver's placeholder style; the shared statements use `?`."""
        return statement

    # --- the Store protocol -----------------------------------------------------------------------

    def initialize(self, resellers: Sequence[str]) -> Snapshot:
        with self._creating() as db:
            migrations.migrate(db, self.dialect)
            self._write_rows(db, sql.META_INSERT, [("lineage", str(uuid.uuid4())), ("revision", "0")])
            self._write_rows(db, sql.RESELLER_INSERT, [(reseller.lower(),) for reseller in resellers])
        return self.snapshot()

    def snapshot(self) -> Snapshot:
        with self._reading() as db:
            rows = {name: db.execute(statement).fetchall() for name, statement in sql.READS.items()}
        return snapshot_from_rows(rows)

    def apply(self, transaction: Transaction) -> Written:
        written: Written | None = None
        try:
            with self._applying(transaction.actor) as db:
                written = self._write(db, transaction)
        except CommitLost as lost:
            if written is None:
                raise
            return self._settle(lost, transaction, written)
        assert written is not None  # the block ran to its end, or the store raised
        return written

    def _write(self, db: Connection, transaction: Transaction) -> Written:
        """Everything an apply writes, in the transaction `db` holds; what it wrote."""
        plan, actor, adopt = transaction.plan, transaction.actor, transaction.adopt
        now = now_text()
        writes = {**WRITES, **sql.ADOPT_WRITES} if adopt else WRITES
        meta = dict(db.execute(self._sql(sql.META_FOR_APPLY[self.dialect])).fetchall())
        if adopt:  # under the apply lock: of two adopts at once, the second sees the first's account
            self._check_adoptable(db, actor)
        revision = plan.check_current(meta["lineage"], int(meta["revision"]))
        for statement, rows in _action_batches(plan, writes, now, transaction.progress):
            self._write_rows(db, statement, rows)
        if plan.actions:
            self._write_rows(db, sql.AUDIT, audit_rows(revision, actor, now, plan.actions, adopt))
            db.execute(self._sql(sql.REVISION_UPDATE), (str(revision),))
        # Under the apply lock no other apply adds to either meanwhile: what is not there yet is new.
        recorded = self._not_held(db, sql.REQUESTS_HELD, transaction.requests, lambda r: r.key)
        self._write_rows(db, sql.REQUEST_INSERT, [request_row(revision, now, r) for r in recorded])
        queued = self._not_held(db, sql.OUTBOX_HELD, transaction.outbox, lambda m: m.message_id)
        self._write_rows(db, sql.OUTBOX_INSERT, [outbox_row(revision, now, m) for m in queued])
        return Written(revision, tuple(queued), tuple(recorded))

    def _not_held(
        self, db: Connection, statement: str, items: Sequence[_T], key: Callable[[_T], str]
    ) -> list[_T]:
        """The first of `items` with each `key`, in order, of those whose key `statement` (a SELECT of
        the keys among `{}`) does not find in the store."""
        first: dict[str, _T] = {}
        for item in items:
            first.setdefault(key(item), item)
        keys, held = list(first), set[str]()
        for start in range(0, len(keys), _KEYS_A_QUERY):
            chunk = keys[start : start + _KEYS_A_QUERY]
            query = self._sql(statement.format(", ".join("?" * len(chunk))))
            held.update(found for (found,) in db.execute(query, chunk).fetchall())
        return [item for name, item in first.items() if name not in held]

    def _settle(self, lost: CommitLost, transaction: Transaction, written: Written) -> Written:
        """What became of an apply whose COMMIT lost its answer: `written` when it committed, else an
        error saying so. A backend whose `_applying` raises CommitLost says how it finds out."""
        raise lost

    def _check_adoptable(self, db: Connection, actor: str) -> None:
        """Raise AdoptRefused unless the store holds no account and `actor` is one of its resellers."""
        resellers = {email for (email,) in db.execute(sql.READS["resellers"]).fetchall()}
        users, contracts, teams = db.execute(sql.ACCOUNT_COUNTS).fetchone()
        counts = {"users": users, "contracts": contracts, "teams": teams}
        AdoptRefused.unless_adoptable(self.url, actor, resellers, counts)

    def outbox(self, queued_only: bool = False) -> list[OutboxEntry]:
        with self._reading() as db:
            rows = db.execute(sql.OUTBOX_QUEUED if queued_only else sql.OUTBOX_ALL).fetchall()
        return [outbox_entry(row) for row in rows]

    def queued_count(self) -> int:
        with self._reading() as db:
            count: int = db.execute(sql.OUTBOX_QUEUED_COUNT).fetchone()[0]
        return count

    def outbox_counts(self) -> OutboxCounts:
        now = _lease_time(datetime.now(UTC))
        with self._reading() as db:
            queued, held, until = db.execute(self._sql(sql.OUTBOX_COUNTS), (now, now, now)).fetchone()
        return OutboxCounts(int(queued), int(held), until)

    def uncertain(self) -> list[OutboxEntry]:
        with self._reading() as db:
            rows = db.execute(sql.OUTBOX_UNCERTAIN_LIST).fetchall()
        return [outbox_entry(row) for row in rows]

    def claim_queued(self, limit: int, lease_seconds: float, after_id: int = 0) -> list[OutboxEntry]:
        now = datetime.now(UTC)
        until = _lease_time(now + timedelta(seconds=lease_seconds))
        params = (until, after_id, _lease_time(now), limit)
        with self._writing() as db:
            rows = db.execute(self._sql(sql.OUTBOX_CLAIM[self.dialect]), params).fetchall()
        return sorted((outbox_entry(row) for row in rows), key=lambda entry: entry.id)

    def mark_sent(self, entry_id: int) -> None:
        with self._writing() as db:
            db.execute(self._sql(sql.OUTBOX_SENT), (now_text(), entry_id))

    def mark_failed(self, entry_id: int, error: str | None) -> None:
        with self._writing() as db:
            if error is None:
                db.execute(self._sql(sql.OUTBOX_RELEASE), (entry_id,))
            else:
                db.execute(self._sql(sql.OUTBOX_FAILED), (error, entry_id))

    def mark_uncertain(self, entry_id: int, error: str) -> None:
        with self._writing() as db:
            db.execute(self._sql(sql.OUTBOX_UNCERTAIN), (now_text(), error, entry_id))

    def requeue_uncertain(self, entry_ids: Sequence[int]) -> list[int]:
        with self._writing() as db:
            return [i for i in entry_ids if db.execute(self._sql(sql.OUTBOX_REQUEUE), (i,)).rowcount]

    def activate_user(self, email: str) -> None:
        with self._writing() as db:
            found = db.execute(self._sql(sql.USER_ACTIVATE), (email.lower(),)).rowcount
        if not found:
            raise StoreError(f"no user {email} in the store")

    def history(self, limit: int) -> tuple[Applied, ...]:
        with self._reading() as db:
            rows = db.execute(self._sql(sql.HISTORY), (limit,)).fetchall()
        return history_from_rows(rows)


def _lease_time(moment: datetime) -> str:
    """A claim's time as the outbox keeps it: ISO 8601 in UTC to the millisecond, so text compares
    as time does."""
    return moment.isoformat(timespec="milliseconds")


@cache
def percent_s(statement: str) -> str:
    """`statement` with psycopg's `%s` placeholders for the shared `?`."""
    return statement.replace("?", "%s")


def _action_batches(
    plan: Plan, writes: Mapping[Kind, tuple[Write, ...]], now: str, progress: Progress | None
) -> Iterator[tuple[str, list[Params]]]:
    """Each run of same-kind actions, in plan order, as its kind's statements (of `writes`) in turn,
    each with its parameters for every action of the run; `progress` hears of a run once the caller
    has written all of it and asks for the next."""
    done = 0
    for kind, run in groupby(plan.actions, key=lambda action: action.kind):
        actions = list(run)
        for statement, params_of in writes[kind]:
            yield statement, [params_of(action.target, action.after or {}, now) for action in actions]
        done += len(actions)
        if progress:
            progress(done, len(plan.actions))
