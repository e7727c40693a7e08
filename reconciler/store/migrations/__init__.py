"""Versioned schema migrations: `<dialect>/NNNN_name.sql`, applied in order, once each.

The store records the version it is at in `meta.schema_version`. A store
newer than this program is refused rather than misread. The dialects are
`sqlite` and `postgresql`; each has its own folder of scripts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from reconciler.core.errors import StoreTooNew


class _Cursor(Protocol):
    def fetchone(self) -> Any: ...


class Connection(Protocol):
    """What migrations need of a connection: sqlite3's and psycopg's both fit."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> _Cursor: ...


#: Whether the store's `meta` table exists, per dialect.
_HAS_META = {
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
    "postgresql": (
        "SELECT 1 FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name = 'meta'"
    ),
}
_PLACEHOLDER = {"sqlite": "?", "postgresql": "%s"}
#: Starts a transaction that no other migration of the same store runs beside.
_BEGIN = {
    "sqlite": ("BEGIN IMMEDIATE",),
    # Transaction-scoped, so it ends with the transaction whatever happens; the key is fixed.
    "postgresql": ("BEGIN", "SELECT pg_advisory_xact_lock(7308604986519037285)"),
}


def available(dialect: str) -> list[tuple[int, str]]:
    """(version, SQL text) of every migration for `dialect`, oldest first."""
    folder = resources.files(__package__) / dialect
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest(dialect: str) -> int:
    return available(dialect)[-1][0]


def current_version(db: Connection, dialect: str = "sqlite") -> int:
    """The schema version of the store `db` holds; 0 when it holds none."""
    if not db.execute(_HAS_META[dialect]).fetchone():
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def begin(db: Connection, dialect: str) -> None:
    """Start a transaction that migrations of the same store wait for."""
    for statement in _BEGIN[dialect]:
        db.execute(statement)


def migrate(db: Connection, dialect: str) -> None:
    """Bring the schema up to date; the caller holds a transaction (see `begin`)."""
    version = current_version(db, dialect)
    for number, script in available(dialect):
        if number > version:
            for statement in _statements(script, dialect):
                db.execute(statement)
            version = number
    mark = _PLACEHOLDER[dialect]
    db.execute(
        f"INSERT INTO meta (key, value) VALUES ('schema_version', {mark}) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(version),),
    )


def check(db: Connection, dialect: str, where: Path | str) -> None:
    """Refuse a store newer than this program; migrate an older one."""
    version, newest = current_version(db, dialect), latest(dialect)
    if version > newest:
        raise StoreTooNew(
            f"{where} has schema version {version}, newer than this reconciler knows ({newest}); "
            "upgrade reconciler"
        )
    if version < newest:
        begin(db, dialect)
        try:
            migrate(db, dialect)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def _statements(script: str, dialect: str) -> list[str]:
    """Split a script into statements (triggers hold `;` inside), without executescript's implicit COMMIT.

    PostgreSQL takes a whole script (plpgsql bodies and all) as one simple query.
    """
    if dialect != "sqlite":
        return [script]
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    return statements
