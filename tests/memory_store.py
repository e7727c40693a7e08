"""The memory store: a test double with the whole Store protocol and no database behind it.

It lives with the tests, not in the package: a memory store lasts as long as
its process, and every run of the command line is a process of its own, so
`reconciler.store.open_store` refuses a `memory://` URL. The fixtures, and
every test that may be given a memory store, open a store by URL with
`open_any_store` here: `memory://NAME` is the store of that NAME in this
process (every open of one NAME sees one store, as two opens of one SQLite
file do, until `forget` drops it), and any other URL is what `open_store`
opens. A `MemoryStore()` made directly is a store of its own.

It keeps what the SQL stores keep, the way a plan names it: a table per kind
of record (`kinds.Record`), each row keyed by the record's target keys
(`Record.keys`) and holding the fields an action's `after` carries. An
action is applied from its kind's record and effect alone (an add inserts
the row, a change sets the fields its `after` names, a removal deletes the
row; a kind that gives its record a new key, `KindInfo.new_key`, moves the row
and every row that refers to it, as the SQL statements of `user.change_email`
do), never by code for its kind. What the databases enforce is data here
too, checked after every action as SQLite checks its foreign keys and
triggers after every statement: `_TABLES` (the fields an add must give, the
defaults, what only the store writes) and `core.kinds.REFERENCES` (the
store's foreign keys, which the check of a saved plan reads too, and the
seats a serial's access may not exceed: R8). A refused action
raises StoreError and leaves the store as it was: an apply works on a copy
of the tables and puts it in place only once every action is in.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

from reconciler.core.errors import (
    AdoptRefused,
    LastReseller,
    ResellersOnly,
    StoreError,
    StoreExists,
    StoreLocked,
    StoreNotFound,
)
from reconciler.core.kinds import REFERENCES, REFERENCES_FROM, REFERENCES_TO, Effect, Record, Reference
from reconciler.core.plan import Action
from reconciler.core.records import (
    ACTIVE,
    INVITED,
    Activation,
    Applied,
    Chore,
    OutboxCounts,
    OutboxEntry,
    RecordedRequest,
    ResellersChanged,
    Snapshot,
    Transaction,
    Written,
)
from reconciler.core.shapes import direct_download
from reconciler.store import Store, open_store
from reconciler.store.locking import DEFAULT_LOCK_TIMEOUT, Holder, locked_message
from reconciler.store.rows import (
    audit_row,
    chore_rows,
    history_from_rows,
    now_text,
    snapshot_from_rows,
    source_json,
    to_json,
)

SCHEME = "memory://"

#: A record's key: the values of its kind's target keys (`Record.keys`), in that order.
Key = tuple[str, ...]
#: A record: its keys and its fields, by name.
Row = dict[str, Any]

#: The default of a field that the add sets to the time of the apply.
_NOW = "<the time of the apply>"


@dataclass(frozen=True)
class _Table:
    """What the store keeps of one kind of record, and the checks its SQL table makes.

    `required` and `defaults` are the fields an action may write (NOT NULL
    without a default, and the rest); `kept` those only the store writes, set
    when the record is added, and `adopted` what an add by `apply --adopt`
    keeps instead (a user already in the portal is active); `computed` the columns a statement's parameters
    derive from an action's `after` (as the SQL statements do), set by every
    add and change; `optional` the fields a record names only when they are set (a user's, a grant's,
    a membership's `expires`), which an add or change of the whole record (its `after` names every
    required field; not `user.protect`'s) sets to None when its `after` leaves them out, as the SQL
    statements do; `from_target` the target keys beyond the
    record's own that an add keeps (a serial's contract); `at_least_one` the
    fields with CHECK (field >= 1), `dates` those that must be a real day as ISO text (a contract's
    `ends`: SQLite's CHECK, PostgreSQL's DATE). `table` and `columns` give the rows of
    `statements.READS`, so that a snapshot is made as the SQL stores make it.
    """

    table: str
    columns: tuple[str, ...]  # "a.b" is key b of field a
    required: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    kept: Mapping[str, Any] = field(default_factory=dict)
    adopted: Mapping[str, Any] = field(default_factory=dict)
    computed: Mapping[str, Callable[[Mapping[str, Any]], Any]] = field(default_factory=dict)
    optional: tuple[str, ...] = ()
    from_target: tuple[str, ...] = ()
    at_least_one: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()

    @property
    def writable(self) -> tuple[str, ...]:
        return (*self.required, *self.defaults, *self.optional)

    def whole(self, after: Mapping[str, Any]) -> bool:
        """Whether `after` is the whole record, not a few of its fields: its optional ones left out are unset."""
        return all(name in after for name in self.required)

    def row(self, values: Row) -> tuple[Any, ...]:
        return tuple(_column(values, name) for name in self.columns)


def _is_day(value: Any) -> bool:
    """Whether `value` is a day as ISO 8601 text, YYYY-MM-DD, that the calendar has."""
    try:
        return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _column(values: Row, name: str) -> Any:
    head, _, inner = name.partition(".")
    value = values.get(head)
    return (value or {}).get(inner) if inner else value


_TABLES: dict[Record, _Table] = {
    Record.USER: _Table(
        "users",
        ("user", "first_name", "last_name", "status", "added_at", "protect", "id", "expires"),
        required=("first_name", "last_name"),
        defaults={"protect": False, "id": None},
        kept={"status": INVITED, "added_at": _NOW},
        adopted={"status": ACTIVE},
        optional=("expires",),
        dates=("expires",),
    ),
    Record.CONTRACT: _Table(
        "contracts",
        ("contract", "manager", "protect", "ends"),
        required=("manager",),
        defaults={"protect": False, "ends": None},
        dates=("ends",),
    ),
    Record.COORDINATOR: _Table(
        "coordinators",
        ("contract", "coordinator", "manage_users", "shipping.name", "shipping.address", "shipping.country"),
        required=("manage_users",),
        defaults={"shipping": None},
    ),
    Record.SERIAL: _Table(
        "serials",
        ("serial", "contract", "product", "seats", "group", "coordinator", "protect"),
        required=("product", "seats"),
        defaults={"group": None, "coordinator": None, "protect": False},
        from_target=("contract",),
        at_least_one=("seats",),
    ),
    Record.TEAM: _Table("teams", ("team", "description"), required=(), defaults={"description": None}),
    Record.TEAM_MEMBER: _Table(
        "team_members", ("team", "user", "expires"), required=(), optional=("expires",), dates=("expires",)
    ),
    Record.TEAM_ACCESS: _Table("team_access", ("team", "serial", "download"), required=("download",)),
    Record.ACCESS: _Table(
        "access",
        ("user", "serial", "download", "direct_download", "expires"),
        required=("download",),
        computed={"direct_download": direct_download},
        optional=("expires",),
        dates=("expires",),
    ),
}


Tables = dict[Record, dict[Key, Row]]


@dataclass
class _Mail:
    """An outbox entry, and until when a delivery holds it (ISO 8601, as the SQL stores keep it)."""

    entry: OutboxEntry
    claimed_until: str | None = None


@dataclass
class _Database:
    """Everything one memory store holds; `lock` is held by every call that reads or writes it.

    The lock is re-entrant so that what an apply calls back (its progress) may read the store, and
    sees it as it was before the apply, as another connection would; `holder` says an apply runs, and
    refuses other writes meanwhile.
    """

    lock: threading.RLock = field(default_factory=threading.RLock)
    lineage: str | None = None  # None until the store is initialized
    revision: int = 0
    resellers: frozenset[str] = frozenset()
    tables: Tables = field(default_factory=lambda: {record: {} for record in Record})
    audit: list[tuple[Any, ...]] = field(default_factory=list)  # rows as statements.AUDIT writes them
    outbox: list[_Mail] = field(default_factory=list)
    requests: dict[str, RecordedRequest] = field(default_factory=dict)
    sources: dict[int, str] = field(default_factory=dict)  # JSON, as the SQL stores keep them
    holder: Holder | None = None  # who is applying


_NAMED: dict[str, _Database] = {}
_NAMED_LOCK = threading.Lock()


def open_any_store(url: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Store:
    """The store at `url`, of any kind: the memory store a `memory://NAME` URL names, or whatever
    `reconciler.store.open_store` opens; for fixtures and tests whose URL may name a memory store."""
    if url.startswith(SCHEME):
        return open_memory_store(url, lock_timeout)
    return open_store(url, lock_timeout)


def open_memory_store(url: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> MemoryStore:
    """The store of this process named by `url` (memory://NAME), empty until initialized."""
    name = url.removeprefix(SCHEME)
    if not url.startswith(SCHEME) or not name:
        raise StoreError(f"{url}: name the store, as in memory://tests")
    with _NAMED_LOCK:
        database = _NAMED.setdefault(name, _Database())
    return MemoryStore(url, lock_timeout, database)


def forget(url: str) -> None:
    """Drop the store `url` names, as dropping its database would (tests clean up with this)."""
    with _NAMED_LOCK:
        _NAMED.pop(url.removeprefix(SCHEME), None)


class MemoryStore:
    """A store in memory; see the module's docstring. `MemoryStore()` is a store of its own."""

    def __init__(
        self, url: str = SCHEME, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, database: _Database | None = None
    ) -> None:
        self.url = url
        self.lock_timeout = lock_timeout
        self._db = _Database() if database is None else database

    def initialize(self, resellers: Sequence[str]) -> Snapshot:
        with self._db.lock:
            if self._db.lineage is not None:
                raise StoreExists(f"a store already exists at {self.url}; it was left as it is")
            self._db.lineage = str(uuid.uuid4())
            self._db.resellers = frozenset(reseller.lower() for reseller in resellers)
        return self.snapshot()

    def snapshot(self) -> Snapshot:
        with self._holding() as db:
            return snapshot_from_rows(self._rows(db))

    def _rows(self, db: _Database) -> dict[str, Any]:
        """Every table's rows, as statements.READS reads them."""
        rows: dict[str, Any] = {
            "meta": [("lineage", db.lineage), ("revision", str(db.revision))],
            "resellers": [(email,) for email in sorted(db.resellers)],
        }
        for record, table in _TABLES.items():
            found = db.tables[record]
            rows[table.table] = [table.row(found[key]) for key in sorted(found)]
        held = sorted(db.requests.values(), key=lambda r: (r.requested_at, r.request.key))
        rows["open_requests"] = [_request_row(r) for r in held if r.open]
        return rows

    def user_snapshot(self, email: str) -> Snapshot:
        """As statements.USER_READS reads it, by filtering every table's rows."""
        email = email.lower()
        with self._holding() as db:
            rows = self._rows(db)
        serials = {s for u, s, *_ in rows["access"] if u == email}
        serials |= {number for number, _, _, _, _, coordinator, _ in rows["serials"] if coordinator == email}
        contracts = {contract for number, contract, *_ in rows["serials"] if number in serials}
        contracts |= {number for number, manager, *_ in rows["contracts"] if manager == email}
        contracts |= {contract for contract, coordinator, *_ in rows["coordinators"] if coordinator == email}
        serial_sc = {number: sc for number, _, _, _, _, sc, _ in rows["serials"] if number in serials}
        named = {email} | {m for n, m, *_ in rows["contracts"] if n in contracts} | set(serial_sc.values())
        teams = {team for team, user, *_ in rows["team_members"] if user == email}
        return snapshot_from_rows(
            {
                "meta": rows["meta"],
                "resellers": rows["resellers"],
                "users": [row for row in rows["users"] if row[0] in named],
                "contracts": [row for row in rows["contracts"] if row[0] in contracts],
                "coordinators": [
                    row
                    for row in rows["coordinators"]
                    if row[0] in contracts and (row[1] == email or row[1] in serial_sc.values())
                ],
                "serials": [row for row in rows["serials"] if row[0] in serials],
                "access": [row for row in rows["access"] if row[0] == email],
                "teams": [row for row in rows["teams"] if row[0] in teams],
                "team_members": [row for row in rows["team_members"] if row[1] == email],
                "team_access": [row for row in rows["team_access"] if row[0] in teams],
            }
        )

    def apply(self, transaction: Transaction) -> Written:
        plan, actor, adopt = transaction.plan, transaction.actor, transaction.adopt
        now = now_text()
        with self._applying(actor) as db:
            if adopt:
                self._check_adoptable(db, actor)
            revision = plan.check_current(str(db.lineage), db.revision)
            work = _Work(db.tables, now, self.url, adopt)
            done = 0
            for _, run in groupby(plan.actions, key=lambda action: action.kind):
                for action in run:
                    work.apply(action)
                    done += 1
                if transaction.progress:
                    transaction.progress(done, len(plan.actions))
            # Every action is in: the rest cannot fail, so the store changes all at once here.
            db.tables = work.tables
            if plan.actions:
                db.audit.extend(audit_row(revision, actor, now, action, adopt) for action in plan.actions)
                db.revision = revision
                if transaction.source is not None and transaction.source.known:
                    db.sources[revision] = source_json(transaction.source)
            recorded = []
            for request in transaction.requests:
                if request.key not in db.requests:
                    db.requests[request.key] = RecordedRequest(request, revision, now)
                    recorded.append(request)
            closed = []
            for closure in transaction.closes:
                asked = db.requests.get(closure.key)
                if asked is not None and asked.open:
                    db.requests[closure.key] = replace(
                        asked, outcome=closure.outcome, closed_revision=revision, closed_at=now
                    )
                    closed.append(closure.key)
            held = {mail.entry.message.message_id for mail in db.outbox}
            queued = []
            for message in transaction.outbox:
                if message.message_id not in held:
                    held.add(message.message_id)
                    db.outbox.append(_Mail(OutboxEntry(len(db.outbox) + 1, message, revision, now)))
                    queued.append(message)
        return Written(revision, tuple(queued), tuple(recorded), tuple(closed))

    def _check_adoptable(self, db: _Database, actor: str) -> None:
        """Raise AdoptRefused unless the store holds no account and `actor` is one of its resellers."""
        counts = {
            "users": len(db.tables[Record.USER]),
            "contracts": len(db.tables[Record.CONTRACT]),
            "teams": len(db.tables[Record.TEAM]),
        }
        AdoptRefused.unless_adoptable(self.url, actor, db.resellers, counts)

    def outbox(self, queued_only: bool = False) -> list[OutboxEntry]:
        with self._holding() as db:
            return [mail.entry for mail in db.outbox if not queued_only or mail.entry.queued]

    def queued_count(self) -> int:
        with self._holding() as db:
            return sum(1 for mail in db.outbox if mail.entry.queued)

    def outbox_counts(self) -> OutboxCounts:
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._holding() as db:
            queued = [mail for mail in db.outbox if mail.entry.queued]
            held = sorted(
                m.claimed_until for m in queued if m.claimed_until is not None and m.claimed_until >= at
            )
        return OutboxCounts(len(queued) - len(held), len(held), held[-1] if held else None)

    def uncertain(self) -> list[OutboxEntry]:
        with self._holding() as db:
            return [mail.entry for mail in db.outbox if mail.entry.uncertain]

    def claim_queued(self, limit: int, lease_seconds: float, after_id: int = 0) -> list[OutboxEntry]:
        now = datetime.now(UTC)
        until = (now + timedelta(seconds=lease_seconds)).isoformat(timespec="milliseconds")
        at = now.isoformat(timespec="milliseconds")
        claimed: list[OutboxEntry] = []
        with self._holding(writing=True) as db:
            for mail in db.outbox:
                if len(claimed) >= limit:
                    break
                free = mail.claimed_until is None or mail.claimed_until < at
                if mail.entry.queued and mail.entry.id > after_id and free:
                    mail.claimed_until = until
                    claimed.append(mail.entry)
        return claimed

    def mark_sent(self, entry_id: int) -> None:
        with self._holding(writing=True) as db:
            for mail in _by_id(db, entry_id):
                mail.entry = replace(mail.entry, sent_at=now_text(), last_error=None)
                mail.claimed_until = None

    def mark_failed(self, entry_id: int, error: str | None) -> None:
        with self._holding(writing=True) as db:
            for mail in _by_id(db, entry_id):
                if not mail.entry.queued:
                    continue
                if error is not None:
                    mail.entry = replace(mail.entry, attempts=mail.entry.attempts + 1, last_error=error)
                mail.claimed_until = None

    def mark_uncertain(self, entry_id: int, error: str) -> None:
        with self._holding(writing=True) as db:
            for mail in _by_id(db, entry_id):
                if mail.entry.sent_at is None:
                    attempts = mail.entry.attempts + 1
                    mail.entry = replace(
                        mail.entry, attempts=attempts, last_error=error, uncertain_since=now_text()
                    )
                    mail.claimed_until = None

    def requeue_uncertain(self, entry_ids: Sequence[int]) -> list[int]:
        queued: list[int] = []
        with self._holding(writing=True) as db:
            for entry_id in entry_ids:
                for mail in _by_id(db, entry_id):
                    if mail.entry.uncertain:
                        mail.entry = replace(mail.entry, uncertain_since=None)
                        queued.append(entry_id)
        return queued

    def activate_users(self, emails: Sequence[str], actor: str) -> Activation:
        wanted = list(dict.fromkeys(email.lower() for email in emails))
        with self._holding(writing=True) as db:
            users = db.tables[Record.USER]
            status = {e: users[(e,)]["status"] for e in wanted if (e,) in users}
            activation = Activation(
                activated=tuple(e for e in wanted if status.get(e) == INVITED),
                already_active=tuple(e for e in wanted if status.get(e) == ACTIVE),
                unknown=tuple(e for e in wanted if e not in status),
            )
            for e in activation.activated:
                users[(e,)] = {**users[(e,)], "status": ACTIVE}
            db.audit += chore_rows(
                db.revision, actor, now_text(), Chore.USER_ACTIVATE, "user", activation.activated
            )
        return activation

    def change_resellers(
        self, actor: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> ResellersChanged:
        actor = actor.lower()
        with self._applying(actor) as db:
            if actor not in db.resellers:
                raise ResellersOnly(f"{actor} is not a reseller of this store; nothing was changed")
            added = tuple(dict.fromkeys(e.lower() for e in add if e.lower() not in db.resellers))
            removed = tuple(dict.fromkeys(e.lower() for e in remove if e.lower() in db.resellers))
            left = (db.resellers | set(added)) - set(removed)
            if not left:
                raise LastReseller("not removed: the last reseller; nothing was changed")
            if added or removed:
                db.revision += 1
                now = now_text()
                db.audit += chore_rows(db.revision, actor, now, Chore.RESELLER_ADD, "reseller", added)
                db.audit += chore_rows(db.revision, actor, now, Chore.RESELLER_REMOVE, "reseller", removed)
                db.resellers = frozenset(left)
            return ResellersChanged(db.revision, tuple(sorted(left)), added, removed)

    def history(
        self, limit: int, user: str | None = None, since: str | None = None, kinds: Sequence[str] = ()
    ) -> tuple[Applied, ...]:
        """As statements.history_query reads it: the matching entries of the newest `limit` batches
        (one transaction's entries: revision, actor and time) that have any."""
        with self._holding() as db:
            matching = [
                (i, row)
                for i, row in enumerate(db.audit)
                if (user is None or row[8] == user.lower())
                and (since is None or row[2] >= since)
                and (not kinds or any(row[3] == k or row[3].startswith(f"{k}.") for k in kinds))
            ]
            newest: dict[tuple[Any, ...], int] = {}
            for i, row in matching:
                newest[_batch(row)] = i
            batches = sorted(newest, key=lambda batch: -newest[batch])[: max(limit, 0)]
            order = {batch: n for n, batch in enumerate(batches)}
            rows = sorted((order[_batch(row)], i, row[:8]) for i, row in matching if _batch(row) in order)
            sources = dict(db.sources)
        return history_from_rows([row for _, _, row in rows], sources)

    def requests(self, open_only: bool = False) -> tuple[RecordedRequest, ...]:
        with self._holding() as db:
            held = sorted(db.requests.values(), key=lambda r: (r.requested_at, r.request.key))
        return tuple(r for r in held if r.open or not open_only)

    @contextmanager
    def _holding(self, writing: bool = False) -> Iterator[_Database]:
        """The store, held for one call; StoreNotFound before it is initialized. A write while an
        apply runs in this thread (from its progress callback) is refused: the apply would undo it."""
        with self._db.lock:
            db = self._initialized()
            if writing and db.holder is not None:
                raise self._busy(db.holder)
            yield db

    @contextmanager
    def _applying(self, actor: str) -> Iterator[_Database]:
        """The store, held for an apply (waiting at most `lock_timeout` for another), its holder recorded."""
        timeout = self.lock_timeout
        if not (self._db.lock.acquire(timeout=timeout) if timeout > 0 else self._db.lock.acquire(False)):
            raise StoreLocked(locked_message(self.url, self._db.holder, timeout))
        try:
            db = self._initialized()
            if db.holder is not None:  # an apply of this thread, calling back
                raise self._busy(db.holder)
            db.holder = Holder.this_process(actor)
            try:
                yield db
            finally:
                db.holder = None
        finally:
            self._db.lock.release()

    def _busy(self, holder: Holder) -> StoreLocked:
        return StoreLocked(
            f"the store {self.url} is locked: this thread is applying ({holder.describe()}) and called "
            "back; nothing was written, since the apply would undo it"
        )

    def _initialized(self) -> _Database:
        if self._db.lineage is None:
            raise StoreNotFound(f"no store at {self.url}; create one with `reconciler init --reseller EMAIL`")
        return self._db


class _Work:
    """The tables an apply changes: a copy of the store's, checked after every action.

    Rows are never changed in place (a change puts a new row), so a copy of
    each table's index is enough. `children` counts, per reference, how many
    records name each parent: what a removal and the seats limit look at.
    """

    def __init__(self, tables: Tables, now: str, url: str, adopt: bool = False) -> None:
        self.tables = {record: dict(rows) for record, rows in tables.items()}
        self.now = now
        self.url = url
        self.adopt = adopt
        self.children = {
            reference: Counter(
                key
                for row in self.tables[reference.child].values()
                if (key := reference.parent_key(row)) is not None
            )
            for reference in REFERENCES
        }

    def apply(self, action: Action) -> None:
        """Apply one action, from its kind's record and effect; raise StoreError if a check fails."""
        record, effect = action.kind.record, action.kind.effect
        key = self._key(action)
        rows = self.tables[record]
        old = rows.get(key)
        new_key = action.kind.info.new_key
        if new_key is not None:
            if old is not None:
                self._move(action, key, (str((action.after or {})[new_key]),))
            return
        if effect is Effect.ADD:
            if old is not None:
                raise self._refused(action, f"unique key: the store already has {_name(record, key)}")
            new: Row | None = self._added(action, key)
        elif old is None:
            return  # as an UPDATE or DELETE that matches no row
        elif effect is Effect.CHANGE:
            table = _TABLES[record]
            after = action.after or {}
            new = {**old, **{name: _copied(after[name]) for name in table.writable if name in after}}
            new.update((name, derive(after)) for name, derive in table.computed.items())
            if table.whole(after):
                new.update((name, _copied(after.get(name))) for name in table.optional)
        else:
            new = None
        if new is not None:
            self._check_fields(action, record, key, new)
        self._recount(record, old, new)
        if new is None:
            del rows[key]
        else:
            rows[key] = new
        self._check_references(action, record, key, new)

    def _move(self, action: Action, key: Key, new_key: Key) -> None:
        """The record at `key` moved to `new_key`, with the fields the action's `after` names, and every
        record that refers to it with it."""
        record = action.kind.record
        rows = self.tables[record]
        if new_key in rows:
            raise self._refused(action, f"unique key: the store already has {_name(record, new_key)}")
        table = _TABLES[record]
        after = action.after or {}
        new = {**rows.pop(key), **dict(zip(record.keys, new_key, strict=True))}
        new.update((name, _copied(after[name])) for name in table.writable if name in after)
        self._check_fields(action, record, new_key, new)
        rows[new_key] = new
        self._follow(record, key, new_key)

    def _follow(self, parent: Record, key: Key, new_key: Key) -> None:
        """Every record that refers to the `parent` at `key` refers to it at `new_key`; one whose own
        key holds that reference moves too, and what refers to it follows it."""
        for reference in REFERENCES_TO[parent]:
            rows = self.tables[reference.child]
            for child_key, row in list(rows.items()):
                if reference.parent_key(row) != key:
                    continue
                moved = {**row, **dict(zip(reference.fields, new_key, strict=True))}
                moved_key = tuple(moved[name] for name in reference.child.keys)
                self._recount(reference.child, row, moved)
                del rows[child_key]
                rows[moved_key] = moved
                if moved_key != child_key:
                    self._follow(reference.child, child_key, moved_key)

    def _key(self, action: Action) -> Key:
        missing = [name for name in action.kind.record.keys if name not in action.target]
        if missing:
            raise self._refused(action, f"the target has no {', '.join(missing)}")
        return tuple(action.target[name] for name in action.kind.record.keys)

    def _added(self, action: Action, key: Key) -> Row:
        record = action.kind.record
        table = _TABLES[record]
        kept = {**table.kept, **table.adopted} if self.adopt else table.kept
        after = action.after or {}
        given = {**after, **action.target}
        missing = [name for name in (*table.required, *table.from_target) if name not in given]
        if missing:
            raise self._refused(action, f"{_name(record, key)} needs {', '.join(missing)}")
        return {
            **dict(zip(record.keys, key, strict=True)),
            **{name: action.target[name] for name in table.from_target},
            **{name: self.now if value == _NOW else value for name, value in kept.items()},
            **{name: _copied(after.get(name, default)) for name, default in table.defaults.items()},
            **{name: _copied(after.get(name)) for name in table.optional},
            **{name: _copied(after[name]) for name in table.required},
            **{name: derive(after) for name, derive in table.computed.items()},
        }

    def _check_fields(self, action: Action, record: Record, key: Key, new: Row) -> None:
        table = _TABLES[record]
        for name in table.required:
            if new[name] is None:
                raise self._refused(action, f"not null: {_name(record, key)} needs {name}")
        for name in table.at_least_one:
            if new[name] < 1:
                raise self._refused(action, f"check: {name} of {_name(record, key)} must be at least 1")
        for name in table.dates:
            if new[name] is not None and not _is_day(new[name]):
                raise self._refused(action, f"check: {name} of {_name(record, key)} must be a real day")

    def _recount(self, record: Record, old: Row | None, new: Row | None) -> None:
        for reference in REFERENCES_FROM[record]:
            counts = self.children[reference]
            if (before := reference.parent_key(old)) is not None:
                counts[before] -= 1
            if (after := reference.parent_key(new)) is not None:
                counts[after] += 1

    def _check_references(self, action: Action, record: Record, key: Key, new: Row | None) -> None:
        """What the foreign keys and the seats triggers check once a statement has run."""
        for reference in REFERENCES_FROM[record]:
            if (parent := reference.parent_key(new)) is not None:
                found = self.tables[reference.parent].get(parent)
                if found is None:
                    raise self._refused(action, f"foreign key: there is no {_name(reference.parent, parent)}")
                self._check_limit(action, reference, parent, found)
        for reference in REFERENCES_TO[record]:
            if new is None and (count := self.children[reference][key]):
                raise self._refused(
                    action,
                    f"foreign key: {count} {reference.child} {_records(count)} still "
                    f"{'refers' if count == 1 else 'refer'} to {_name(record, key)}",
                )
            if new is not None:
                self._check_limit(action, reference, key, new)

    def _check_limit(self, action: Action, reference: Reference, parent: Key, found: Row) -> None:
        if reference.limit is None:
            return
        count, limit = self.children[reference][parent], found[reference.limit]
        if count > limit:
            raise self._refused(
                action,
                f"seats exceeded: {_name(reference.parent, parent)} would have {count} {reference.child} "
                f"{_records(count)} for {limit} {reference.limit}",
            )

    def _refused(self, action: Action, problem: str) -> StoreError:
        return StoreError(f"{self.url}: {action.kind} {dict(action.target)} refused: {problem}")


def _name(record: Record, key: Key) -> str:
    return f"{record} {'/'.join(key)}"


def _records(count: int) -> str:
    return "record" if count == 1 else "records"


def _request_row(held: RecordedRequest) -> tuple[Any, ...]:
    """A request as statements.REQUESTS_OPEN reads it."""
    request = held.request
    return (
        request.key,
        request.requester,
        request.kind.value,
        to_json(request.target),
        None if request.before is None else to_json(request.before),
        None if request.after is None else to_json(request.after),
        ",".join(request.requested_of),
        held.revision,
        held.requested_at,
        held.outcome,
        held.closed_revision,
        held.closed_at,
    )


def _batch(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """An audit row's apply or chore, as statements.history_query tells them apart."""
    return (*row[:3], row[3] == Chore.USER_ACTIVATE)


def _copied(value: Any) -> Any:
    """A value of an action's `after`, kept apart from the plan (whose mappings its caller may change)."""
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _by_id(db: _Database, entry_id: int) -> list[_Mail]:
    # An entry's id is its place in the outbox, counted from 1: entries are only ever added.
    return db.outbox[entry_id - 1 : entry_id] if entry_id >= 1 else []
