"""Versioned schema migrations: `<dialect>/NNNN_name.sql`, applied in order, once each.

The store records the version it is at in `meta.schema_version`. A store
newer than this program is refused rather than misread.
"""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from reconciler.errors import StoreTooNew


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


def current_version(db: sqlite3.Connection) -> int:
    has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(db: sqlite3.Connection, dialect: str) -> None:
    """Bring the schema up to date; the caller holds a transaction."""
    version = current_version(db)
    for number, script in available(dialect):
        if number > version:
            for statement in _statements(script):
                db.execute(statement)
            version = number
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(version),),
    )


def check(db: sqlite3.Connection, dialect: str, where: Path) -> None:
    """Refuse a store newer than this program; migrate an older one."""
    version, newest = current_version(db), latest(dialect)
    if version > newest:
        raise StoreTooNew(
            f"{where} has schema version {version}, newer than this reconciler knows ({newest}); "
            "upgrade reconciler"
        )
    if version < newest:
        db.execute("BEGIN IMMEDIATE")
        try:
            migrate(db, dialect)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """Split a script into statements (triggers hold `;` inside), without executescript's implicit COMMIT."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    return statements
