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

from reconciler.core.errors import AdoptRefused, LastReseller, ResellersOnly
from reconciler.core.kinds import Kind
from reconciler.core.plan import Plan
from reconciler.core.records import (
    Activation,
    Applied,
    Chore,
    OutboxCounts,
    OutboxEntry,
    Progress,
    RecordedRequest,
    ResellersChanged,
    Snapshot,
    Transaction,
    Written,
)
from reconciler.store import migrations
from reconciler.store import statements as sql
from reconciler.store.rows import (
    audit_rows,
    chore_rows,
    history_from_rows,
    now_text,
    outbox_entry,
    outbox_row,
    recorded_request,
    request_row,
    snapshot_from_rows,
    source_json,
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
            if transaction.source is not None and transaction.source.known:
                db.execute(self._sql(sql.SOURCE_INSERT), (revision, source_json(transaction.source)))
        # Under the apply lock no other apply adds to either meanwhile: what is not there yet is new.
        recorded = self._not_held(db, sql.REQUESTS_HELD, transaction.requests, lambda r: r.key)
        self._write_rows(db, sql.REQUEST_INSERT, [request_row(revision, now, r) for r in recorded])
        close = self._sql(sql.REQUEST_CLOSE)
        closed = tuple(
            c.key for c in transaction.closes if db.execute(close, (c.outcome, revision, now, c.key)).rowcount
        )
        queued = self._not_held(db, sql.OUTBOX_HELD, transaction.outbox, lambda m: m.message_id)
        self._write_rows(db, sql.OUTBOX_INSERT, [outbox_row(revision, now, m) for m in queued])
        return Written(revision, tuple(queued), tuple(recorded), closed)

    def _not_held(
        self, db: Connection, statement: str, items: Sequence[_T], key: Callable[[_T], str]
    ) -> list[_T]:
        """The first of `items` with each `key`, in order, of those whose key `statement` (a SELECT of
        the keys among `{}`) does not find in the store."""
        first: dict[str, _T] = {}
        for item in items:
            first.setdefault(key(item), item)
        held = {found for (found,) in self._in_chunks(db, statement, list(first))}
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

    def activate_users(self, emails: Sequence[str], actor: str) -> Activation:
        wanted = list(dict.fromkeys(email.lower() for email in emails))
        now = now_text()
        with self._writing() as db:
            status = dict(self._in_chunks(db, sql.USER_STATUSES, wanted))
            activation = Activation(
                activated=tuple(e for e in wanted if status.get(e) == "invited"),
                already_active=tuple(e for e in wanted if status.get(e) == "active"),
                unknown=tuple(e for e in wanted if e not in status),
            )
            if activation.activated:
                revision = int(dict(db.execute(sql.READS["meta"]).fetchall())["revision"])
                self._write_rows(db, sql.USER_ACTIVATE, [(e,) for e in activation.activated])
                rows = chore_rows(revision, actor, now, Chore.USER_ACTIVATE, "user", activation.activated)
                self._write_rows(db, sql.AUDIT, rows)
        return activation

    def change_resellers(
        self, actor: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> ResellersChanged:
        actor, now = actor.lower(), now_text()
        with self._applying(actor) as db:
            meta = dict(db.execute(self._sql(sql.META_FOR_APPLY[self.dialect])).fetchall())
            resellers = {email for (email,) in db.execute(sql.READS["resellers"]).fetchall()}
            if actor not in resellers:
                raise ResellersOnly(
                    f"{actor} is not a reseller of this store ({', '.join(sorted(resellers))}); only a "
                    "reseller may add or remove one. Nothing was changed"
                )
            added = tuple(dict.fromkeys(e.lower() for e in add if e.lower() not in resellers))
            removed = tuple(dict.fromkeys(e.lower() for e in remove if e.lower() in resellers))
            left = (resellers | set(added)) - set(removed)
            if not left:
                raise LastReseller(
                    f"not removed: {', '.join(removed)} {'is' if len(removed) == 1 else 'are'} the last "
                    "reseller of this store, and a store needs one to name the others. Add another "
                    "with `reconciler resellers add EMAIL` first; nothing was changed"
                )
            revision = int(meta["revision"])
            if added or removed:
                revision += 1
                self._write_rows(db, sql.RESELLER_INSERT, [(e,) for e in added])
                self._write_rows(db, sql.RESELLER_DELETE, [(e,) for e in removed])
                rows = chore_rows(revision, actor, now, Chore.RESELLER_ADD, "reseller", added)
                rows += chore_rows(revision, actor, now, Chore.RESELLER_REMOVE, "reseller", removed)
                self._write_rows(db, sql.AUDIT, rows)
                db.execute(self._sql(sql.REVISION_UPDATE), (str(revision),))
        return ResellersChanged(revision, tuple(sorted(left)), added, removed)

    def history(
        self, limit: int, user: str | None = None, since: str | None = None, kinds: Sequence[str] = ()
    ) -> tuple[Applied, ...]:
        params: list[Any] = [user.lower()] if user else []
        params += [since] if since else []
        for kind in kinds:
            params += [kind, f"{kind}.%"]
        query = self._sql(sql.history_query(bool(user), bool(since), len(kinds)))
        with self._reading() as db:
            rows = db.execute(query, (*params, limit)).fetchall()
            revisions = sorted({int(row[0]) for row in rows})
            sources = dict(self._in_chunks(db, sql.SOURCES_OF, revisions))
        return history_from_rows(rows, {int(revision): text for revision, text in sources.items()})

    def requests(self, open_only: bool = False) -> tuple[RecordedRequest, ...]:
        with self._reading() as db:
            rows = db.execute(sql.REQUESTS_OPEN if open_only else sql.REQUESTS_ALL).fetchall()
        return tuple(recorded_request(row) for row in rows)

    def user_snapshot(self, email: str) -> Snapshot:
        email = email.lower()
        with self._reading() as db:
            rows = {
                name: db.execute(self._sql(statement), (email,) * statement.count("?")).fetchall()
                for name, statement in sql.USER_READS.items()
            }
        return snapshot_from_rows(rows)

    def _in_chunks(self, db: Connection, statement: str, keys: Sequence[Any]) -> list[Any]:
        """What `statement` (a SELECT of the keys among `{}`) finds for `keys`, a few hundred at a time."""
        found: list[Any] = []
        for start in range(0, len(keys), _KEYS_A_QUERY):
            chunk = keys[start : start + _KEYS_A_QUERY]
            found += db.execute(self._sql(statement.format(", ".join("?" * len(chunk)))), chunk).fetchall()
        return found


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
