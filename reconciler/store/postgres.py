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

The URL is handed to libpq as it is, so the password comes from the URL,
PGPASSWORD or ~/.pgpass as libpq finds it; `url` is the redacted form, the
only one this module ever shows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC
from functools import cache
from typing import Any

from reconciler.errors import StoreError, StoreExists, StoreLocked, StoreNotFound
from reconciler.store import migrations
from reconciler.store.locking import DEFAULT_LOCK_TIMEOUT, Holder, locked_message
from reconciler.store.sql import SqlStore, percent_s
from reconciler.store.statements import READS, Params
from reconciler.store.urls import redact_url

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg.conninfo import conninfo_to_dict
except ImportError:  # pragma: no cover - tested in a virtual environment without the extra
    raise StoreError(
        "a postgresql:// store needs the PostgreSQL driver: pip install 'reconciler[postgresql]'"
    ) from None

#: Seconds to wait for the server to answer a connection, unless the URL says otherwise.
CONNECT_TIMEOUT = 10


@cache
def _as_copy(statement: str) -> str | None:
    """`COPY table (columns) FROM STDIN` for an INSERT whose values are all parameters, else None."""
    found = re.fullmatch(r"INSERT INTO (\w+) \(([^)]*)\) VALUES \(\?(?:, \?)*\)", statement)
    return f"COPY {found[1]} ({found[2]}) FROM STDIN" if found else None


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
        with self._connection() as db:
            lineage = dict(db.execute(READS["meta"]).fetchall())["lineage"]
            with self._apply_lock(db, lineage, actor), _transaction(db, "BEGIN"):
                yield db

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
