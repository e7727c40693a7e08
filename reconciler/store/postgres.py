"""The shared store: one PostgreSQL database, for a team and CI runners that come and go.

Each call opens one connection and uses it for everything it does, so
whatever it holds (a transaction, the apply lock) ends with it: a run that
crashes, is killed or is cancelled leaves nothing behind.

Reads for plan and drift run in one REPEATABLE READ, READ ONLY transaction,
so they see one revision, and take no lock. An apply takes a session
advisory lock keyed by the store's lineage, waiting at most `lock_timeout`
seconds; records who holds it in `apply_lock` (the lock itself carries no
holder); then in one transaction re-reads the revision, writes every action
in batches (per run of actions of one kind: one COPY for plain inserts, else
one pipelined `executemany`; the audit log by COPY), bumps the revision and
commits. Any error rolls all of it back. What an apply does is shared with
SQLite (sql.py); this module connects, locks, begins and bulk-writes.

One failure is not a rollback: the connection dropping while COMMIT is in
flight, when the server may have committed and the answer was lost. The
apply notes its transaction's id before writing; then, on a new
connection, the server's own record of that transaction (`pg_xact_status`)
says whether it committed, and the revision and the audit log are checked
to hold this apply's entries. Committed: the apply succeeded (the `notice`
says the answer was lost). Not committed: StoreError, nothing applied.
Neither the server reachable again nor the transaction ended within
SETTLE_TIMEOUT: OutcomeUnknown, which says how to find out. A transaction
still open on the server (its session has not noticed its client is gone,
as after a network partition) is ended with `pg_terminate_backend` once
SETTLE_GRACE has passed, only if its session still has that transaction.

The URL is handed to libpq as it is, so the password comes from the URL,
PGPASSWORD or ~/.pgpass as libpq finds it; `url` is the redacted form, the
only one this module ever shows.

Many stores may share one database, each in a schema of its own, named
first on the search_path the URL sets (`?options=-csearch_path%3Dacme`).
Every table, index, trigger and sequence of a store lives in its schema and
is found through the search_path; the apply lock is keyed by the store's
lineage, so stores in two schemas never wait for each other. PostgreSQL
skips a schema on the path that does not exist and uses the next one, which
may hold another account's store: so a store is only opened when the schema
it uses is the one the path names first, and `init` creates that schema
(under the migrations' lock) when it is missing.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from reconciler.core.errors import OutcomeUnknown, StoreError, StoreExists, StoreLocked, StoreNotFound, plural
from reconciler.core.plan import Plan
from reconciler.core.records import Transaction, Written
from reconciler.store import migrations
from reconciler.store.locking import DEFAULT_LOCK_TIMEOUT, Holder, locked_message
from reconciler.store.rows import audit_row
from reconciler.store.sql import CommitLost, SqlStore, percent_s
from reconciler.store.statements import READS, Params, plain_insert
from reconciler.store.urls import redact_url

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict
except ImportError:  # pragma: no cover - tested in a virtual environment without the extra
    raise StoreError(
        "a postgresql:// store needs the PostgreSQL driver: pip install 'licence-reconciler[postgresql]'"
    ) from None

#: Seconds to wait for the server to answer a connection, unless the URL says otherwise.
CONNECT_TIMEOUT = 10

#: After a COMMIT lost its answer: seconds the server may keep the transaction open before its
#: session is ended, and seconds in all to wait for the transaction to end before giving up.
SETTLE_GRACE = 1.0
SETTLE_TIMEOUT = 10.0


@dataclass
class _CommitLost(CommitLost):
    """COMMIT was sent and the connection died before its answer came: it may have committed."""

    xid: int  # the transaction's 64-bit id (epoch and xid), as pg_current_xact_id gives it
    backend_pid: int  # the server process of the lost session
    reason: str  # what the driver said, on one line


def _as_copy(statement: str) -> str | None:
    """`COPY table (columns) FROM STDIN` for an INSERT whose values are all parameters, else None."""
    insert = plain_insert(statement)
    return f"COPY {insert[0]} ({insert[1]}) FROM STDIN" if insert else None


class PostgresStore(SqlStore):
    """A store in the PostgreSQL database at `url` (postgresql://user@host:port/db)."""

    dialect = "postgresql"

    def __init__(self, url: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self._conninfo = url
        self.url = redact_url(url)
        self.lock_timeout = lock_timeout

    def _sql(self, statement: str) -> str:
        return percent_s(statement)

    @contextmanager
    def _creating(self) -> Iterator[psycopg.Connection[Any]]:
        with self._connection(create=True) as db:
            migrations.begin(db, self.dialect)
            try:
                self._use_named_schema(db, create=True)
                if migrations.current_version(db, self.dialect):
                    raise StoreExists(f"a store already exists at {self.url}; it was left as it is")
                yield db
            except BaseException:
                _rollback(db)
                raise
            db.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[psycopg.Connection[Any]]:
        with self._connection() as db, _transaction(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"):
            yield db

    @contextmanager
    def _writing(self) -> Iterator[psycopg.Connection[Any]]:
        with self._connection() as db, _transaction(db, "BEGIN"):
            yield db

    @contextmanager
    def _applying(self, actor: str) -> Iterator[psycopg.Connection[Any]]:
        """The apply's transaction; raises _CommitLost when the connection dies while COMMIT is in flight."""
        with self._connection() as db:
            lineage = dict(db.execute(READS["meta"]).fetchall())["lineage"]
            with self._apply_lock(db, lineage, actor):
                db.execute("BEGIN")
                try:
                    # Taken before anything is written, so that a lost COMMIT can be asked about.
                    xid, backend_pid = _transaction_id(db), db.info.backend_pid
                    yield db
                except BaseException:
                    _rollback(db)
                    raise
                try:
                    db.execute("COMMIT")
                except psycopg.OperationalError as error:
                    # An error the server sent (a serialization failure…) is an answer: it rolled back.
                    if not db.broken:
                        raise
                    raise _CommitLost(xid, backend_pid, self._reason(error)) from None

    def _settle(self, lost: CommitLost, transaction: Transaction, written: Written) -> Written:
        """Whether the apply whose COMMIT lost its answer committed, asked on a new connection: what it
        wrote if it did; StoreError if it did not; OutcomeUnknown if the store cannot say."""
        if not isinstance(lost, _CommitLost):
            raise lost
        plan, actor, notice = transaction.plan, transaction.actor, transaction.notice
        what = f"the connection to {self.url} was lost while the apply committed ({lost.reason})"
        try:
            db = psycopg.connect(self._conninfo, autocommit=True, **self._defaults())
        except psycopg.Error as error:
            raise self._unknown(
                f"{what}, and the store cannot be reached again to tell whether it did "
                f"({self._reason(error)})",
                plan,
                actor,
            ) from None
        try:
            status = _outcome(db, lost)
            if status == "aborted":
                raise StoreError(
                    f"{what}; reconnected, the store says the transaction did not commit: nothing was "
                    "applied, and it is safe to run the apply again"
                )
            if status != "committed":
                still = f"the server still shows its session open, pid {lost.backend_pid}"
                raise self._unknown(
                    f"{what}, and after {SETTLE_TIMEOUT:g} s the store still cannot tell whether it did "
                    f"({still if status == 'in progress' else 'the server no longer knows the transaction'})",
                    plan,
                    actor,
                )
            revision, mismatch = _audited(db, plan, actor)
        except psycopg.Error as error:
            raise self._unknown(
                f"{what}, and the store failed again while telling whether it did ({self._reason(error)})",
                plan,
                actor,
            ) from None
        finally:
            db.close()
        if mismatch:
            raise self._unknown(
                f"{what}; reconnected, the store says the transaction committed, but {mismatch}", plan, actor
            )
        if notice:
            later = revision > plan.revision_after
            moved = f" (the store has moved on to revision {revision} since)" if later else ""
            notice(
                f"{what}; reconnected, the store says it did commit, as revision {plan.revision_after}"
                f"{moved}: the apply is done, and its e-mail was queued with it."
            )
        return written

    def _unknown(self, why: str, plan: Plan, actor: str) -> OutcomeUnknown:
        """OutcomeUnknown, saying how to tell once the store answers: by the audit log, or for a plan of
        nothing but requests (which leaves no audit entry) by the outbox."""
        if not plan.actions:
            return OutcomeUnknown(
                f"{why}. It committed whole or not at all; to find out which, run `reconciler outbox "
                f"--queued` on {self.url} once it answers: if its requests are not there, nothing was "
                "recorded and it is safe to run the apply again"
            )
        count = len(plan.actions)
        entry = f"Revision {plan.revision_after}, applied by {actor} at …: {count} {plural(count, 'action')}"
        return OutcomeUnknown(
            f"{why}. It committed whole or not at all; to find out which, run `reconciler history "
            f"--limit 1` on {self.url} once it answers: `{entry}` means this apply is done and its e-mail "
            f"queued; a store still at revision {plan.revision} means nothing was applied and it is safe "
            "to run the apply again"
        )

    def _write_rows(self, db: psycopg.Connection[Any], statement: str, rows: Sequence[Params]) -> None:
        """One batch: COPY where it can load the rows (far fewer round trips), else pipelined executemany."""
        if not rows:
            return
        copy_sql = _as_copy(statement)
        cursor = db.cursor()
        if copy_sql is None:
            cursor.executemany(percent_s(statement), rows)
            return
        with cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)

    @contextmanager
    def _connection(self, create: bool = False) -> Iterator[psycopg.Connection[Any]]:
        try:
            db = psycopg.connect(self._conninfo, autocommit=True, **self._defaults())
        except psycopg.Error as error:
            message = self._clean(error).strip()
            if re.search(r'database "[^"]*" does not exist', message):
                message += "; create the database first (createdb), then run `reconciler init` on it"
            raise StoreError(f"cannot connect to {self.url}: {message}") from None
        try:
            if not create:
                self._use_named_schema(db)
                if not migrations.current_version(db, self.dialect):
                    raise StoreNotFound(
                        f"no store at {self.url}; create one with `reconciler init --reseller EMAIL`"
                    )
                migrations.check(db, self.dialect, self.url)
            yield db
        except psycopg.Error as error:
            raise StoreError(f"{self.url}: {self._reason(error)}") from None
        finally:
            db.close()

    def _use_named_schema(self, db: psycopg.Connection[Any], create: bool = False) -> None:
        """Make sure `db` uses the schema its search_path names for the store. PostgreSQL would skip a
        missing one, or one this role may not use, for the next schema on the path, which may hold
        another account's store: refused, except that `init` (`create`, in its transaction) creates a
        missing one."""
        named, current = _search_path(db)
        refused = StoreError if create else StoreNotFound
        if named is None:
            raise refused(
                f"the search_path of {self.url} names no schema to keep the store in; name one first, "
                "as in ?options=-csearch_path%3DNAME"
            )
        if named.startswith("pg_"):
            raise refused(
                f'the search_path of {self.url} names "{named}" first, a schema PostgreSQL keeps for '
                "itself; name the store's own schema first"
            )
        if named == current:
            return
        where = f'the schema "{named}" at {self.url}, the first its search_path names'
        instead = (
            f'; refused rather than use "{current}", the next schema on the path, which may hold '
            "another account's store"
            if current
            else ""
        )
        if _schema_exists(db, named):
            raise refused(
                f"this role lacks the USAGE privilege on {where}{instead}; have the schema's owner grant "
                "it USAGE (and CREATE, for `reconciler init`)"
            )
        if not create:
            raise StoreNotFound(
                f"there is no {where.removeprefix('the ')}{instead}; run `reconciler init --reseller "
                "EMAIL` with this URL to create the schema and its store"
            )
        # Another init waits for the migrations' lock this one holds; IF NOT EXISTS is for a schema made
        # meanwhile by other hands. Either way, the schema made is checked below to be the one used.
        try:
            db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(named)))
        except pg_errors.InsufficientPrivilege as error:
            raise StoreError(
                f"cannot create {where}: {self._reason(error)}; have the database's owner create it and "
                "grant this role USAGE and CREATE on it, then run `reconciler init` again"
            ) from None
        if _search_path(db)[1] != named:
            raise StoreError(f"created {where}, but PostgreSQL does not use it")

    def _defaults(self) -> dict[str, Any]:
        """Connection settings the URL does not set itself; what it sets wins."""
        try:
            given = conninfo_to_dict(self._conninfo)
        except psycopg.Error as error:
            raise StoreError(f"cannot read the store URL {self.url}: {self._clean(error)}") from None
        defaults: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT, "application_name": "reconciler"}
        return {key: value for key, value in defaults.items() if key not in given}

    def _clean(self, error: psycopg.Error) -> str:
        """The server's message (and detail), with nothing of the password in it."""
        diag = error.diag
        text = diag.message_primary or str(error).strip()
        if diag.message_detail:
            text += f" ({diag.message_detail})"
        password = self._password()
        if password:
            text = text.replace(password, "***")
        return redact_url(text)

    def _reason(self, error: psycopg.Error) -> str:
        """`_clean(error)` on one line: libpq explains a lost connection over three."""
        return self._clean(error).strip().splitlines()[0].strip()

    def _password(self) -> str | None:
        with suppress(psycopg.Error):
            value = conninfo_to_dict(self._conninfo).get("password")
            return str(value) if value else None
        return None

    @contextmanager
    def _apply_lock(self, db: psycopg.Connection[Any], lineage: str, actor: str) -> Iterator[None]:
        """Hold the store's advisory lock, recording its holder, or raise StoreLocked."""
        key = _lock_key(lineage)
        if not _take_lock(db, key, self.lock_timeout):
            raise StoreLocked(locked_message(self.url, _holder(db, key), self.lock_timeout))
        holder = Holder.this_process(actor)
        try:
            db.execute(
                "INSERT INTO apply_lock (lock_key, backend_pid, pid, actor, host, command, since) "
                "VALUES (%s, pg_backend_pid(), %s, %s, %s, %s, %s) "
                "ON CONFLICT (lock_key) DO UPDATE SET backend_pid = excluded.backend_pid, "
                "pid = excluded.pid, actor = excluded.actor, host = excluded.host, "
                "command = excluded.command, since = excluded.since",
                (key, holder.pid, holder.actor, holder.host, holder.command, holder.since),
            )
            yield
        finally:
            # Best effort: if the connection is gone, so is the lock, and the row is stale.
            with suppress(psycopg.Error):
                db.execute(
                    "DELETE FROM apply_lock WHERE lock_key = %s AND backend_pid = pg_backend_pid()", (key,)
                )
                db.execute("SELECT pg_advisory_unlock(%s)", (key,))


@contextmanager
def _transaction(db: psycopg.Connection[Any], begin: str) -> Iterator[None]:
    db.execute(begin)
    try:
        yield
    except BaseException:
        _rollback(db)
        raise
    db.execute("COMMIT")


def _rollback(db: psycopg.Connection[Any]) -> None:
    # A broken connection rolls back on the server by itself; report the first error, not this one.
    with suppress(psycopg.Error):
        db.execute("ROLLBACK")


def _transaction_id(db: psycopg.Connection[Any]) -> int:
    """The id of the transaction `db` is in, assigned now if it has none yet."""
    modern = db.info.server_version >= 130000  # pg_current_xact_id came in 13; txid_current is older
    query = "SELECT pg_current_xact_id()::text::bigint" if modern else "SELECT txid_current()"
    row = db.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def _outcome(db: psycopg.Connection[Any], lost: _CommitLost) -> str | None:
    """`committed` or `aborted` once the lost transaction has ended; `in progress` if it is still open
    after SETTLE_TIMEOUT; None if the server no longer knows it. Its session, if still there after
    SETTLE_GRACE, is ended (it can never hear from its client again)."""
    modern = db.info.server_version >= 130000
    query = "SELECT pg_xact_status(%s::text::xid8)" if modern else "SELECT txid_status(%s)"
    started = time.monotonic()
    terminated = False
    while True:
        row = db.execute(query, (lost.xid,)).fetchone()
        status: str | None = row[0] if row else None
        waited = time.monotonic() - started
        if status != "in progress" or waited >= SETTLE_TIMEOUT:
            return status
        if waited >= SETTLE_GRACE and not terminated:
            terminated = True
            # Only the lost session, and only while it still has this transaction: a pid can be reused.
            with suppress(pg_errors.InsufficientPrivilege):
                db.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid = %s AND backend_xid::text = %s",
                    (lost.backend_pid, str(lost.xid & 0xFFFF_FFFF)),
                )
        time.sleep(0.02)


def _audited(db: psycopg.Connection[Any], plan: Plan, actor: str) -> tuple[int, str | None]:
    """The store's revision now, and what in it does not fit `plan` having committed (None if all does):
    the revision must have reached the plan's, and the audit log hold this apply's entries at it."""
    row = db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
    revision = int(row[0]) if row else -1
    if revision < plan.revision_after:
        return revision, f"the store is at revision {revision}, not {plan.revision_after}"
    if not plan.actions:
        return revision, None
    row = db.execute(
        "SELECT count(*), min(actor), max(actor), "
        "(SELECT kind || ' ' || target FROM audit_log WHERE revision = %s ORDER BY id LIMIT 1), "
        "(SELECT kind || ' ' || target FROM audit_log WHERE revision = %s ORDER BY id DESC LIMIT 1) "
        "FROM audit_log WHERE revision = %s",
        (plan.revision_after,) * 3,
    ).fetchone()
    # Kind and target as the apply wrote them: audit_row is the one encoding of an audit entry.
    first, last = (audit_row(plan.revision_after, actor, "", a) for a in (plan.actions[0], plan.actions[-1]))
    expected = (len(plan.actions), actor, actor, f"{first[3]} {first[4]}", f"{last[3]} {last[4]}")
    if row is None or tuple(row) != expected:
        return revision, f"its audit log at revision {plan.revision_after} does not hold this apply's entries"
    return revision, None


def _search_path(db: psycopg.Connection[Any]) -> tuple[str | None, str | None]:
    """The schema `db`'s search_path names for the store (see `named_schema`), and the one PostgreSQL
    uses (current_schema(): the first on the path that exists and this role may use)."""
    row = db.execute(
        "SELECT current_schema(), current_setting('search_path'), current_user, "
        "(SELECT has_schema_privilege(oid, 'USAGE') FROM pg_namespace WHERE nspname = current_user)"
    ).fetchone()
    assert row is not None
    current, setting, user, own_schema = row
    return named_schema(setting, user if own_schema else None), current


def _schema_exists(db: psycopg.Connection[Any], name: str) -> bool:
    return db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone() is not None


#: One entry of a search_path setting: a quoted name (`""` inside is a quote) or a plain one, then a
#: comma or the end.
_PATH_ENTRY = re.compile(r'\s*(?:"((?:[^"]|"")*)"|([^",\s]+))\s*(?:,|$)')
_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
#: PostgreSQL's limit on a name, in bytes (NAMEDATALEN - 1): it cuts longer ones.
_NAME_BYTES = 63


def named_schema(search_path: str, own_schema: str | None) -> str | None:
    """The schema a search_path setting names for a store, read as PostgreSQL reads it: its first
    entry, where `$user` stands for `own_schema`, the role's own schema if it has one it may use, and is
    skipped otherwise (the default path is `"$user", public`); None if it names none. Unquoted names
    are folded to lower case (ASCII letters only), quoted ones kept as written."""
    for found in _PATH_ENTRY.finditer(search_path):
        quoted, plain = found.groups()
        name = quoted.replace('""', '"') if quoted is not None else plain.translate(_UPPER)
        name = name.encode()[:_NAME_BYTES].decode(errors="ignore")
        if name == "$user":
            if own_schema:
                return own_schema
            continue
        if name:
            return name
    return None


def _lock_key(lineage: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of a store's lineage."""
    digest = hashlib.blake2b(f"reconciler apply {lineage}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _take_lock(db: psycopg.Connection[Any], key: int, timeout: float) -> bool:
    if timeout <= 0:
        row = db.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        return bool(row and row[0])
    # lock_timeout bounds the wait for advisory locks too; 0 would mean "forever", hence the max.
    db.execute("SELECT set_config('lock_timeout', %s, false)", (f"{max(1, round(timeout * 1000))}ms",))
    try:
        db.execute("SELECT pg_advisory_lock(%s)", (key,))
    except pg_errors.LockNotAvailable:
        return False
    finally:
        db.execute("RESET lock_timeout")
    return True


def _holder(db: psycopg.Connection[Any], key: int) -> Holder | str | None:
    """Who holds the advisory lock `key` now: their own record if it is theirs, else what the server knows."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    row = db.execute(
        "SELECT l.pid, h.actor, h.host, h.pid, h.command, h.since, a.application_name, host(a.client_addr), "
        "a.backend_start "
        "FROM pg_locks l "
        "LEFT JOIN apply_lock h ON h.lock_key = %s AND h.backend_pid = l.pid "
        "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (key, unsigned >> 32, unsigned & 0xFFFF_FFFF),
    ).fetchone()
    if row is None:
        return None
    backend, actor, host, pid, command, since, application, client, started = row
    if actor is not None:
        return Holder(actor=actor, host=host, pid=pid, command=command, since=since)
    where = f" from {client}" if client else ""
    since_text = f" since {started.astimezone(UTC).isoformat(timespec='seconds')}" if started else ""
    return f"{application or 'a client'}{where} (server pid {backend}){since_text}"
