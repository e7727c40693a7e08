"""What only the SQL stores have: migrations and schema versions, raw rows, and the two dialects'
schemas kept alike. What every store does is tested in test_store_contract.py."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from conftest import ACCOUNT, RESELLER, ROOT, Backend, WriteYaml, apply_yaml, plan_yaml
from mailserver import MailServer
from required import require

from reconciler.cli import cli
from reconciler.commands.apply import run_apply
from reconciler.core.errors import StoreError, StoreTooNew
from reconciler.core.kinds import Kind
from reconciler.core.plan import Action
from reconciler.core.records import Request, Transaction
from reconciler.store import migrations, open_store
from reconciler.store.sqlite import BUSY_TIMEOUT_SECONDS, SqliteStore

sys.path.insert(0, str(ROOT / "tests" / "bench"))
from generate import write_account


def test_init_runs_every_migration(backend: Backend, store_url: str) -> None:
    [(version,)] = backend.query(store_url, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert int(version) == migrations.latest(backend.name) >= 1


def test_unknown_urls_are_refused() -> None:
    with pytest.raises(StoreError, match="unknown store URL 'mysql://x'"):
        open_store("mysql://x")


def test_a_store_newer_than_the_program_is_refused(backend: Backend, store_url: str) -> None:
    plan = plan_yaml(store_url, ACCOUNT)
    backend.query(store_url, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    before = backend.table_dump(store_url)
    message = (
        f"{backend.where(store_url)} has schema version 99, newer than this reconciler knows "
        f"({migrations.latest(backend.name)}); upgrade reconciler"
    )
    with pytest.raises(StoreTooNew) as raised:
        open_store(store_url).snapshot()
    assert str(raised.value) == message
    with pytest.raises(StoreTooNew):
        run_apply(open_store(store_url), plan, RESELLER)
    assert backend.table_dump(store_url) == before


def test_every_applied_action_is_in_the_audit_log(backend: Backend, store_url: str) -> None:
    plan = apply_yaml(store_url, ACCOUNT)
    rows = backend.query(store_url, "SELECT revision, actor, kind, target FROM audit_log ORDER BY id")
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, RESELLER, a.kind) for a in plan.actions]
    assert rows[0][3] == '{"user": "alice@acme.example"}'


def test_a_request_already_recorded_is_not_recorded_again(backend: Backend, store_url: str) -> None:
    ask = Request("key-1", "alice@acme.example", Kind.SERIAL_CREATE, {"serial": "1"}, None, {}, (RESELLER,))
    again = Request("key-1", "bob@acme.example", Kind.SERIAL_CREATE, {"serial": "2"}, None, {}, (RESELLER,))
    store = open_store(store_url)
    store.apply(Transaction(plan_yaml(store_url, "version: 1\n"), requests=[ask]))
    store.apply(Transaction(plan_yaml(store_url, "version: 1\n"), requests=[again]))
    rows = backend.query(store_url, "SELECT key, requester, target FROM requests")
    assert rows == [("key-1", "alice@acme.example", '{"serial": "1"}')]


#: The seats rule as 0001 made it (and SQLite's 0008 remade it), before 0011 kept counts: each insert
#: into access counted the serial's access.
_COUNTING_SEATS = {
    "sqlite": (
        """CREATE TRIGGER access_within_seats AFTER INSERT ON access
        WHEN (SELECT COUNT(*) FROM access WHERE serial = NEW.serial)
           > (SELECT seats FROM serials WHERE number = NEW.serial)
        BEGIN SELECT RAISE(ABORT, 'seats exceeded'); END""",
        """CREATE TRIGGER seats_cover_access AFTER UPDATE OF seats ON serials
        WHEN (SELECT COUNT(*) FROM access WHERE serial = NEW.number) > NEW.seats
        BEGIN SELECT RAISE(ABORT, 'seats exceeded'); END""",
    ),
    "postgresql": (
        """CREATE FUNCTION access_within_seats() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT COUNT(*) FROM access WHERE serial = NEW.serial)
               > (SELECT seats FROM serials WHERE number = NEW.serial) THEN
                RAISE EXCEPTION 'seats exceeded' USING ERRCODE = 'check_violation',
                    DETAIL = format('serial %s has more users than seats', NEW.serial);
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE CONSTRAINT TRIGGER access_within_seats AFTER INSERT ON access DEFERRABLE INITIALLY IMMEDIATE "
        "FOR EACH ROW EXECUTE FUNCTION access_within_seats()",
        """CREATE FUNCTION seats_cover_access() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT COUNT(*) FROM access WHERE serial = NEW.number) > NEW.seats THEN
                RAISE EXCEPTION 'seats exceeded' USING ERRCODE = 'check_violation',
                    DETAIL = format('serial %s has more users than seats', NEW.number);
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE CONSTRAINT TRIGGER seats_cover_access AFTER UPDATE OF seats ON serials "
        "DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION seats_cover_access()",
    ),
}
#: The triggers 0011 made that keep the seat counts, on access.
SEAT_COUNTERS = {
    "sqlite": ("access_counted_on_insert", "access_counted_on_delete", "access_counted_on_update"),
    "postgresql": (
        "access_counted_on_insert",
        "access_counted_on_delete",
        "access_counted_on_update",
        "access_counted_on_truncate",
    ),
}


def drop_expiry(backend: Backend, url: str) -> None:
    """The store as 0012 left it: no `expires` of users, grants and team members (0013)."""
    for table in ("users", "access", "team_members"):
        backend.query(url, f"ALTER TABLE {table} DROP COLUMN expires")
    if backend.name == "postgresql":
        # The column took with it the key that includes it; 0008's key held the two flags.
        backend.query(
            url,
            "ALTER TABLE access ADD CONSTRAINT access_pkey PRIMARY KEY (user_email, serial) "
            "INCLUDE (download, direct_download)",
        )


def drop_admin(backend: Backend, url: str) -> None:
    """The store as 0011 left it: no audit subjects, sources or closed requests (0012), nor expiry (0013)."""
    drop_expiry(backend, url)
    backend.query(url, "DROP INDEX audit_log_by_subject")
    backend.query(url, "ALTER TABLE audit_log DROP COLUMN subject")
    backend.query(url, "DROP TABLE sources")
    backend.query(url, "DROP INDEX requests_open")
    for column in ("outcome", "closed_revision", "closed_at"):
        backend.query(url, f"ALTER TABLE requests DROP COLUMN {column}")


def drop_seat_counts(backend: Backend, url: str) -> None:
    """The seats rule as it was before 0011: no serials.assigned, each insert counted."""
    drop_admin(backend, url)
    made = (*SEAT_COUNTERS[backend.name], "seats_cover_access")
    if backend.name == "sqlite":
        for trigger in made:
            backend.query(url, f"DROP TRIGGER {trigger}")
    else:  # each function, and its trigger with it
        backend.query(url, f"DROP FUNCTION {', '.join(f'{name}()' for name in made)} CASCADE")
    backend.query(url, "ALTER TABLE serials DROP COLUMN assigned")
    for statement in _COUNTING_SEATS[backend.name]:
        backend.query(url, statement)


def drop_directory_ids(backend: Backend, url: str) -> None:
    """The store as 0009 left it: users without directory ids (0010), serials without seat counts (0011)."""
    drop_seat_counts(backend, url)
    if backend.name == "sqlite":  # SQLite drops no column an index names
        backend.query(url, "DROP INDEX users_by_directory_id")
    backend.query(url, "ALTER TABLE users DROP COLUMN directory_id")


def test_a_store_of_version_11_learns_whom_each_audit_entry_concerns(
    backend: Backend, store_url: str
) -> None:
    apply_yaml(store_url, ACCOUNT)
    apply_yaml(store_url, ACCOUNT.replace("manager: alice@acme.example", "manager: carol@acme.example"))
    drop_admin(backend, store_url)
    backend.query(store_url, "UPDATE meta SET value = '11' WHERE key = 'schema_version'")
    store = open_store(store_url)
    assert [a.revision for a in store.history(10, user="carol@acme.example")] == [2, 1]  # opened and migrated
    assert backend.query(store_url, "SELECT kind, subject FROM audit_log ORDER BY id") == [
        ("user.add", "alice@acme.example"),
        ("user.add", "bob@acme.example"),
        ("user.add", "carol@acme.example"),
        ("contract.create", "alice@acme.example"),
        ("coordinator.add", "bob@acme.example"),
        ("serial.create", None),
        ("serial.create", None),
        ("serial.assign_coordinator", "bob@acme.example"),
        ("access.grant", "bob@acme.example"),
        ("access.grant", "carol@acme.example"),
        ("contract.manager_change", "carol@acme.example"),
    ]
    assert store.requests() == ()
    assert backend.query(store_url, "SELECT COUNT(*) FROM sources") == [(0,)]


def test_a_store_of_version_10_counts_each_serials_users_once_migrated(
    backend: Backend, store_url: str
) -> None:
    # Both serials full: 399-12345678 held by Bob and Alice, 399-12345679 by Carol.
    alice_too = '    last_name: Moreau\n    access:\n      - serial: "399-12345678"\n'
    apply_yaml(store_url, ACCOUNT.replace("    last_name: Moreau\n", alice_too))
    drop_seat_counts(backend, store_url)
    backend.query(store_url, "UPDATE meta SET value = '10' WHERE key = 'schema_version'")
    before = backend.table_dump(store_url)
    assert plan_yaml(store_url, ACCOUNT).actions  # opened and migrated (alice's grant is to go)
    [(version,)] = backend.query(store_url, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert int(version) == migrations.latest(backend.name) == 13
    assert backend.query(store_url, "SELECT number, seats, assigned FROM serials ORDER BY number") == [
        ("399-12345678", 2, 2),
        ("399-12345679", 1, 1),
    ]
    # Every row as it was, but for the counts (and the audit log's subjects, 0012), and with no dates
    # (0013: the last column of users, access and team_members).
    after = [row for row in backend.table_dump(store_url) if row[0] not in ("meta", "serials", "audit_log")]
    dated = [row for row in after if row[0] in ("users", "access", "team_members")]
    assert dated and all(row[-1] is None for row in dated)
    assert [row[:-1] if row in dated else row for row in after] == [
        row for row in before if row[0] not in ("meta", "serials", "audit_log")
    ]
    triggers = {fact for fact in schema_of(backend, store_url) if fact.startswith("trigger ")}
    assert triggers == {
        *(f"trigger {name} on access" for name in SEAT_COUNTERS[backend.name]),
        "trigger seats_cover_access on serials",
    }
    # The counts hold the rule.
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.CheckViolation), match="seats exceeded"):
        backend.query(
            store_url,
            "INSERT INTO access (user_email, serial, download, direct_download) "
            "VALUES ('alice@acme.example', '399-12345679', false, false)",
        )
    apply_yaml(store_url, ACCOUNT)
    assert backend.query(store_url, "SELECT number, assigned FROM serials ORDER BY number") == [
        ("399-12345678", 1),
        ("399-12345679", 1),
    ]


def test_a_store_of_version_9_learns_directory_ids_each_held_by_one_user(
    backend: Backend, store_url: str
) -> None:
    apply_yaml(store_url, ACCOUNT)
    drop_directory_ids(backend, store_url)
    backend.query(store_url, "UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    assert plan_yaml(store_url, ACCOUNT).actions == ()  # opened, migrated, and read as it was
    assert backend.query(store_url, "SELECT directory_id FROM users") == [(None,)] * 3
    with_id = ACCOUNT.replace("first_name: Alice", "id: 5f0c-alice\n    first_name: Alice")
    apply_yaml(store_url, with_id)
    assert backend.query(store_url, "SELECT email FROM users WHERE directory_id = '5f0c-alice'") == [
        ("alice@acme.example",)
    ]
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation), match=r"(?i)unique"):
        backend.query(
            store_url, "UPDATE users SET directory_id = '5f0c-alice' WHERE email = 'bob@acme.example'"
        )


def test_an_older_store_is_brought_up_to_date_when_opened(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    # The store as version 3 left it, with its grants: before serials counted their users (0011), users'
    # directory ids (0010), before the outbox kept senders and uncertain deliveries (0009), access
    # in key order (0008), contracts' end dates (0007), adopted audit entries (0006), teams (0005)
    # and, on SQLite, before the two indexes of 0004 (PostgreSQL had them from 0001).
    drop_directory_ids(backend, store_url)
    backend.query(store_url, "ALTER TABLE outbox DROP COLUMN sender")
    backend.query(store_url, "ALTER TABLE outbox DROP COLUMN uncertain_since")
    backend.query(store_url, "ALTER TABLE contracts DROP COLUMN ends")
    backend.query(store_url, "ALTER TABLE audit_log DROP COLUMN adopted")
    for table in ("team_access", "team_members", "teams"):
        backend.query(store_url, f"DROP TABLE {table}")
    backend.query(store_url, "ALTER TABLE access DROP COLUMN direct_download")
    if backend.name == "postgresql":
        # The column took with it the key that includes it (0008); version 3's key held no flags.
        backend.query(store_url, "ALTER TABLE access ADD PRIMARY KEY (user_email, serial)")
    if backend.name == "sqlite":
        backend.query(store_url, "DROP INDEX coordinators_by_email")
        backend.query(store_url, "DROP INDEX serials_by_coordinator")
    backend.query(store_url, "UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    before = backend.query(store_url, "SELECT user_email, serial, download FROM access ORDER BY 1, 2")
    assert before
    assert plan_yaml(store_url, ACCOUNT).actions == ()  # opened, migrated, and read as it was
    [(version,)] = backend.query(store_url, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert int(version) == migrations.latest(backend.name) == 13
    # What was applied before --adopt existed was applied, not adopted.
    [applied] = open_store(store_url).history(10)
    assert applied.changes and not applied.adopted and not any(c.adopted for c in applied.changes)
    facts = schema_of(backend, store_url)
    assert {
        "index coordinators_by_email on coordinators (email)",
        "index serials_by_coordinator on serials (contract, coordinator)",
        "index team_members_by_user on team_members (user_email)",
    } <= facts
    # Every grant the store had is the user's own.
    after = backend.query(
        store_url, "SELECT user_email, serial, download, direct_download FROM access ORDER BY 1, 2"
    )
    assert [tuple(row[:3]) for row in after] == [tuple(row) for row in before]
    assert all(bool(row[3]) == bool(row[2]) and row[3] is not None for row in after)


def test_messages_queued_before_senders_were_kept_go_from_their_message_ids_domain(
    backend: Backend, store_url: str
) -> None:
    apply_yaml(store_url, ACCOUNT)
    apply_yaml(
        store_url,
        ACCOUNT.replace('- serial: "399-12345679"\n', '- {serial: "399-12345679", download: true}\n'),
    )
    # The outbox as version 8 left it: no sender kept, no delivery found uncertain. One message was
    # queued with the default sender, one with licences@acme.example, as their Message-IDs' domains say.
    drop_directory_ids(backend, store_url)
    backend.query(store_url, "ALTER TABLE outbox DROP COLUMN sender")
    backend.query(store_url, "ALTER TABLE outbox DROP COLUMN uncertain_since")
    backend.query(
        store_url,
        "UPDATE outbox SET message_id = replace(message_id, '@localhost>', '@acme.example>') "
        "WHERE recipient = 'carol@acme.example' AND revision = 2",
    )
    backend.query(store_url, "UPDATE meta SET value = '8' WHERE key = 'schema_version'")
    senders = {(e.message.to, e.revision): e.message.sender for e in open_store(store_url).outbox()}
    assert senders == {
        ("alice@acme.example", 1): "reconciler@localhost",
        ("bob@acme.example", 1): "reconciler@localhost",
        ("carol@acme.example", 1): "reconciler@localhost",
        ("carol@acme.example", 2): "reconciler@acme.example",
    }
    assert [e.status for e in open_store(store_url).outbox()] == ["queued"] * 4, "none became uncertain"


def test_both_dialects_are_at_the_same_schema_version() -> None:
    assert [n for n, _ in migrations.available("sqlite")] == [
        n for n, _ in migrations.available("postgresql")
    ]


# --- the two dialects' schemas, read from their catalogs ------------------------------------------

#: Tables that only one backend has, by design.
ONLY_IN = {
    # Who holds the advisory lock, which cannot say it itself; SQLite records it in a file beside the store.
    "postgresql": {"apply_lock"},
    # SQLite's own bookkeeping for AUTOINCREMENT; PostgreSQL's identity columns keep theirs in sequences.
    "sqlite": {"sqlite_sequence"},
}
#: Facts about shared tables that only one backend has, by design.
ONLY_FACTS_IN: dict[str, set[str]] = {
    # TRUNCATE fires no DELETE trigger, so it has a trigger of its own to keep the seat counts; SQLite
    # has no TRUNCATE (its DELETE without WHERE fires the DELETE trigger).
    "postgresql": {"trigger access_counted_on_truncate on access"},
    "sqlite": set(),
}

#: `name INTEGER ... CHECK (name IN (0, 1))`: SQLite's boolean.
_SQLITE_BOOLEAN = re.compile(
    r"\b(\w+)\s+INTEGER\b[^,]*?\bCHECK\s*\(\s*\1\s+IN\s*\(\s*0\s*,\s*1\s*\)\s*\)", re.I
)
#: `name TEXT CHECK (... date(name, ...) ...)`: SQLite's date, ISO 8601 text that must be a real day.
_SQLITE_DATE = re.compile(r"\b(\w+)\s+TEXT\b[^,]*?\bCHECK\b[^,]*?\bdate\s*\(\s*\1\s*,", re.I)


def _type(declared: str) -> str:
    declared = declared.lower()
    if "int" in declared:
        return "integer"
    if "bool" in declared:
        return "boolean"
    if "text" in declared or "char" in declared:
        return "text"
    return declared


def _columns(names: object) -> str:
    return ", ".join(names)  # type: ignore[arg-type]


def sqlite_schema(backend: Backend, url: str) -> set[str]:
    """The schema of a SQLite store, one fact a line, as `postgresql_schema` words the same facts."""
    facts = set()
    tables = backend.query(url, "SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    for table, sql in tables:
        facts.add(f"table {table}")
        booleans = {name.lower() for name in _SQLITE_BOOLEAN.findall(sql or "")}
        dates = {name.lower() for name in _SQLITE_DATE.findall(sql or "")}
        info = backend.query(url, f"PRAGMA table_info({table})")
        primary = [name for _, name, _, _, _, pk in sorted(info, key=lambda column: column[5]) if pk]
        for _, name, declared, notnull, _, _ in info:
            kind = (
                "boolean"
                if name.lower() in booleans
                else "date"
                if name.lower() in dates
                else _type(declared)
            )
            # SQLite lets NULL into a PRIMARY KEY column not declared NOT NULL (a quirk it keeps for old
            # files); a key is NOT NULL in PostgreSQL and in the SQL standard, and none is ever NULL here.
            null = "not null" if notnull or name in primary else "null"
            facts.add(f"column {table}.{name} {kind} {null}")
        if primary:
            facts.add(f"primary key {table} ({_columns(primary)})")
        keys: dict[int, list[tuple[int, str, str, str | None, str, str]]] = {}
        for key, seq, parent, column, to, on_update, on_delete, _ in backend.query(
            url, f"PRAGMA foreign_key_list({table})"
        ):
            keys.setdefault(key, []).append((seq, parent, column, to, on_update, on_delete))
        for parts in keys.values():
            parts.sort()
            parent = parts[0][1]
            to = [part[3] for part in parts]
            if None in to:  # REFERENCES parent with no columns: its primary key
                parent_info = backend.query(url, f"PRAGMA table_info({parent})")
                to = [name for _, name, _, _, _, pk in sorted(parent_info, key=lambda c: c[5]) if pk]
            facts.add(
                f"foreign key {table} ({_columns(p[2] for p in parts)}) references {parent} ({_columns(to)})"
                f" on update {parts[0][4].lower()} on delete {parts[0][5].lower()}"
            )
        for _, index, unique, origin, partial in backend.query(url, f"PRAGMA index_list({table})"):
            info = backend.query(url, f"PRAGMA index_info({index})")
            columns = _columns(name for _, _, name in sorted(info))
            if origin == "pk":
                continue  # the primary key's, above
            if origin == "u":
                facts.add(f"unique {table} ({columns})")
                continue
            facts.add(_index_fact(index, table, columns, bool(unique), bool(partial)))
    for trigger, table in backend.query(
        url, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"
    ):
        facts.add(f"trigger {trigger} on {table}")
    return facts


def postgresql_schema(backend: Backend, url: str) -> set[str]:
    """The schema of a PostgreSQL store (the tables of its schema), one fact a line."""
    facts = set()
    for (table,) in backend.query(
        url,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    ):
        facts.add(f"table {table}")
    for table, name, nullable, declared in backend.query(
        url,
        "SELECT table_name, column_name, is_nullable, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema()",
    ):
        facts.add(f"column {table}.{name} {_type(declared)} {'null' if nullable == 'YES' else 'not null'}")
    attnames = (
        "array(SELECT a.attname FROM unnest({keys}) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.attnum ORDER BY k.n)"
    )
    actions = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
    for table, columns, parent, to, on_update, on_delete in backend.query(
        url,
        f"SELECT t.relname, {attnames.format(keys='c.conkey', rel='c.conrelid')}, p.relname, "
        f"{attnames.format(keys='c.confkey', rel='c.confrelid')}, c.confupdtype, c.confdeltype "
        "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid "
        "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    ):
        facts.add(
            f"foreign key {table} ({_columns(columns)}) references {parent} ({_columns(to)})"
            f" on update {actions[on_update]} on delete {actions[on_delete]}"
        )
    for index, table, columns, unique, primary, partial, constraint in backend.query(
        url,
        # The key's columns only: an index's INCLUDE columns are stored in it, not part of its key.
        "SELECT i.relname, t.relname, "
        f"{attnames.format(keys='(x.indkey::int2[])[0:x.indnkeyatts - 1]', rel='x.indrelid')}, "
        "x.indisunique, x.indisprimary, x.indpred IS NOT NULL, "
        "EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u')) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "WHERE t.relnamespace = current_schema()::regnamespace",
    ):
        if primary:
            facts.add(f"primary key {table} ({_columns(columns)})")
        elif constraint:
            facts.add(f"unique {table} ({_columns(columns)})")
        else:
            facts.add(_index_fact(index, table, _columns(columns), unique, partial))
    for trigger, table in backend.query(
        url,
        "SELECT g.tgname, t.relname FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid "
        "WHERE NOT g.tgisinternal AND t.relnamespace = current_schema()::regnamespace",
    ):
        facts.add(f"trigger {trigger} on {table}")
    return facts


def _index_fact(name: str, table: str, columns: str, unique: bool, partial: bool) -> str:
    return f"index {name} on {table} ({columns}){' unique' if unique else ''}{' partial' if partial else ''}"


def schema_of(backend: Backend, url: str) -> set[str]:
    return sqlite_schema(backend, url) if backend.name == "sqlite" else postgresql_schema(backend, url)


def _of_table(fact: str, tables: set[str]) -> bool:
    """Whether `fact` is about one of `tables` (its own line, a column, a key or an index on it)."""
    words = re.split(r"[ .(]", fact)
    return any(table in words for table in tables)


def test_the_two_dialects_make_the_same_schema(tmp_path: Path, postgres: Backend) -> None:
    sqlite = Backend("sqlite", tmp_path)
    schemas = {}
    for backend in (sqlite, postgres):
        url = backend.new_url()
        open_store(url).initialize([RESELLER])
        schemas[backend.name] = schema_of(backend, url)
    for name, tables in ONLY_IN.items():
        assert {f"table {table}" for table in tables} <= schemas[name], f"{name} lost a table of its own"
    for name, facts in ONLY_FACTS_IN.items():
        assert facts <= schemas[name], f"{name} lost a fact of its own"
    expected = set().union(*ONLY_IN.values())
    only = {
        name: sorted(
            fact for fact in facts - schemas[other] - ONLY_FACTS_IN[name] if not _of_table(fact, expected)
        )
        for name, facts, other in (
            ("sqlite", schemas["sqlite"], "postgresql"),
            ("postgresql", schemas["postgresql"], "sqlite"),
        )
    }
    assert only == {"sqlite": [], "postgresql": []}, "the dialects' schemas differ:\n" + "\n".join(
        f"  only in {name}: {fact}" for name, facts in only.items() for fact in facts
    )
    assert "column users.protected boolean not null" in schemas["sqlite"], "booleans are read as booleans"
    assert any(fact.startswith("foreign key serials (contract, coordinator)") for fact in schemas["sqlite"])


# --- a full disk and a read-only folder (SQLite) ------------------------------------------------------


def full_message(path: Path, said: str = "database or disk is full") -> str:
    """The error a full disk gives, as a pattern: the free space is the disk's at that moment."""
    return (
        f"{re.escape(str(path))}: {re.escape(said)}: the disk that holds {re.escape(str(path.parent))} has "
        r"[\d,]+ bytes free; nothing was written \(the store is as it was\)\. "
        r"Free some space there, then run the command again"
    )


class CappedStore(SqliteStore):
    """A real SQLite store whose file may grow by `room` pages at most (`PRAGMA max_page_count`):
    SQLite's own SQLITE_FULL, as a full disk gives it, on any machine."""

    room = 3

    @contextmanager
    def _connection(
        self, create: bool = False, timeout: float = BUSY_TIMEOUT_SECONDS
    ) -> Iterator[sqlite3.Connection]:
        with super()._connection(create, timeout) as db:
            [(pages,)] = db.execute("PRAGMA page_count").fetchall()
            db.execute(f"PRAGMA max_page_count = {pages + self.room}")
            yield db


def with_users(count: int) -> str:
    """ACCOUNT and `count` more users (its users come last)."""
    return ACCOUNT + "".join(
        f"  - {{email: user{n}@acme.example, first_name: User, last_name: N{n}}}\n" for n in range(count)
    )


def test_sqlite_full_in_the_middle_of_an_apply_is_reported_as_itself(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    open_store(url).initialize([RESELLER])
    apply_yaml(url, ACCOUNT)
    before = Backend("sqlite", tmp_path).table_dump(url)
    plan = plan_yaml(url, with_users(300))
    with pytest.raises(StoreError) as raised:
        run_apply(CappedStore(url, path), plan, RESELLER)
    # SQLite rolled the transaction back itself; a second ROLLBACK must not hide why.
    assert re.fullmatch(full_message(path), str(raised.value)), str(raised.value)
    assert Backend("sqlite", tmp_path).table_dump(url) == before
    assert [p.name for p in tmp_path.iterdir()] == ["store.db"]


class Disk:
    """A file system of the test's own (a tmpfs mounted for it), to fill up or make read-only."""

    def __init__(self, folder: Path, as_root: list[str]) -> None:
        self.folder = folder
        self.as_root = as_root
        self.store = folder / "store.db"
        self.url = f"sqlite:///{self.store}"
        self._filler = folder / "filler"

    def free(self) -> int:
        stat = os.statvfs(self.folder)
        return stat.f_bavail * stat.f_frsize

    def fill(self, leave: int = 0) -> None:
        """Fill the disk but `leave` bytes (a multiple of the page size)."""
        with self._filler.open("ab") as filler:
            filler.write(bytes(self.free() - leave))
        assert self.free() == leave

    def empty(self) -> None:
        self._filler.unlink()

    def read_only(self) -> None:
        subprocess.run([*self.as_root, "mount", "-o", "remount,ro", str(self.folder)], check=True)

    def names(self) -> list[str]:
        """What the folder holds besides the filler."""
        return sorted(p.name for p in self.folder.iterdir() if p != self._filler)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        extra = {"RECONCILER_STORE": self.url, "RECONCILER_ACTOR": RESELLER, **(env or {})}
        return CliRunner().invoke(cli, list(args), env=extra)


def _mount(folder: Path) -> tuple[str, list[str]]:
    """Mount a 2 MiB tmpfs at `folder` as root (or through sudo without a password): what stopped
    it ("" when mounted), and the prefix that runs a command as root."""
    as_root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if as_root and shutil.which("sudo") is None:
        return "mounting a file system needs root, and sudo is missing", as_root
    done = subprocess.run(
        [*as_root, "mount", "-t", "tmpfs", "-o", "size=2m,mode=1777", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        return f"cannot mount a tmpfs at {folder} ({done.stderr.strip() or done.returncode})", as_root
    return "", as_root


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    """A 2 MiB file system of the test's own, unmounted after it."""
    folder = tmp_path / "disk"
    folder.mkdir()
    problem, as_root = _mount(folder)
    require(
        problem,
        "the SQLite store's tests on a full disk and in a read-only folder",
        "run them as root, or where sudo needs no password",
    )
    try:
        yield Disk(folder, as_root)
    finally:
        subprocess.run([*as_root, "umount", str(folder)], check=True)


def test_a_full_disk_fails_a_large_apply_with_its_cause_and_changes_nothing(
    disk: Disk, write_yaml: WriteYaml
) -> None:
    assert disk.run("init", "--reseller", RESELLER).exit_code == 0
    with write_yaml("", "large.yaml").open("w", encoding="utf-8") as large:
        write_account(large, 1000, contracts=2, serials_per_contract=5)
    disk.fill(leave=512 * 1024)
    result = disk.run("apply", large.name, "--auto-approve")
    assert result.exit_code == 1
    assert re.fullmatch(f"Error: {full_message(disk.store)}\n", result.stderr), result.stderr
    assert disk.names() == ["store.db"]
    disk.empty()
    assert disk.run("history").stdout == "Nothing has been applied to this store yet.\n"


def test_a_disk_too_full_for_sqlites_shared_memory_says_so_and_leaves_no_stray_files(
    disk: Disk, write_yaml: WriteYaml
) -> None:
    assert disk.run("init", "--reseller", RESELLER).exit_code == 0
    account = str(write_yaml(ACCOUNT))
    assert disk.run("apply", account, "--auto-approve").exit_code == 0
    disk.fill(leave=0)
    for args in (["history"], ["plan", account], ["export"]):
        result = disk.run(*args)
        assert result.exit_code == 1, args
        assert result.stderr == (
            f"Error: {disk.store}: disk I/O error (SQLITE_IOERR_SHMSIZE): the disk that holds {disk.folder} "
            "has 0 bytes free. If it is full, free some space there, else check the disk; then run the "
            "command again\n"
        ), args
        assert disk.names() == ["store.db"], args  # no -shm nor -wal left behind
    disk.empty()
    assert disk.run("plan", account, "--detailed-exitcode").exit_code == 0


def test_an_apply_with_no_room_for_the_note_of_who_holds_the_lock_reports_the_full_disk(
    disk: Disk, write_yaml: WriteYaml
) -> None:
    assert disk.run("init", "--reseller", RESELLER).exit_code == 0
    disk.fill(leave=32 * 1024)  # SQLite's shared memory fits; the holder file beside the store does not
    result = disk.run("apply", str(write_yaml(ACCOUNT)), "--auto-approve")
    assert result.exit_code == 1
    assert re.fullmatch(f"Error: {full_message(disk.store)}\n", result.stderr), result.stderr
    assert disk.names() == ["store.db"]
    disk.empty()
    assert disk.run("history").stdout == "Nothing has been applied to this store yet.\n"


def test_init_on_a_full_disk_leaves_no_half_made_store(disk: Disk) -> None:
    disk.fill(leave=0)
    result = disk.run("init", "--reseller", RESELLER)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {disk.store}: "), result.stderr
    assert "the disk that holds" in result.stderr and "bytes free" in result.stderr, result.stderr
    assert disk.names() == []
    disk.empty()
    created = disk.run("init", "--reseller", RESELLER)
    assert created.exit_code == 0, created.output


def test_notify_on_a_full_disk_sends_nothing_and_keeps_the_queue(
    disk: Disk, write_yaml: WriteYaml, smtp_server: MailServer
) -> None:
    assert disk.run("init", "--reseller", RESELLER).exit_code == 0
    assert disk.run("apply", str(write_yaml(ACCOUNT)), "--auto-approve").exit_code == 0
    queued = open_store(disk.url).queued_count()
    assert queued
    disk.fill(leave=32 * 1024)
    result = disk.run("notify", env={"RECONCILER_SMTP_URL": smtp_server.url})
    assert result.exit_code == 1
    assert re.fullmatch(f"Error: {full_message(disk.store)}\n", result.stderr), result.stderr
    assert smtp_server.received == []
    assert disk.names() == ["store.db"]
    disk.empty()
    assert open_store(disk.url).queued_count() == queued


def test_a_read_only_folder_is_named_with_what_to_do(disk: Disk, write_yaml: WriteYaml) -> None:
    assert disk.run("init", "--reseller", RESELLER).exit_code == 0
    account = str(write_yaml(ACCOUNT))
    assert disk.run("apply", account, "--auto-approve").exit_code == 0
    disk.read_only()
    said = (
        f"Error: {disk.store}: unable to open database file: the folder {disk.folder} is read-only, and "
        "SQLite writes beside the store (its -wal and -shm files) even to read it. Make the folder "
        "writable, or copy the store to a folder that is\n"
    )
    for args in (["history"], ["plan", account], ["apply", account, "--auto-approve"], ["notify"]):
        result = disk.run(*args, env={"RECONCILER_SMTP_URL": "smtp://127.0.0.1:1"})
        assert (result.exit_code, result.stderr) == (1, said), args
    other = disk.folder / "other.db"
    result = disk.run("init", "--reseller", RESELLER, "--store", f"sqlite:///{other}")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: cannot create {other}: the folder {disk.folder} is read-only (Read-only file system). "
        "Make the folder writable, or create the store in a folder that is\n",
    )
    assert disk.names() == ["store.db"]


#: A direct grant's record, as the diff writes it.
AFTER = {"download": False, "via": ["direct"]}


def _staging(url: str) -> SqliteStore:
    """The SQLite store at `url`, staging every INSERT into a table with triggers, however few its rows."""
    store = open_store(url)
    assert isinstance(store, SqliteStore)
    store.staged_rows = 0
    return store


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_grants_staged_in_bulk_land_as_those_written_row_by_row(tmp_path: Path) -> None:
    by_row, staged = (f"sqlite:///{tmp_path / name}.db" for name in ("by-row", "staged"))
    for url in (by_row, staged):
        open_store(url).initialize([RESELLER])
    run_apply(open_store(by_row), plan_yaml(by_row, ACCOUNT), RESELLER)
    run_apply(_staging(staged), plan_yaml(staged, ACCOUNT), RESELLER)
    access = "SELECT user_email, serial, download, direct_download FROM access ORDER BY user_email, serial"
    counts = "SELECT number, assigned FROM serials ORDER BY number"
    assert (
        _rows(staged, access)
        == _rows(by_row, access)
        == [
            ("bob@acme.example", "399-12345678", 1, 1),
            ("carol@acme.example", "399-12345679", 0, 0),
        ]
    )
    assert _rows(staged, counts) == _rows(by_row, counts) == [("399-12345678", 1), ("399-12345679", 1)]


@pytest.mark.parametrize(
    ("grants", "refused"),
    [
        # A grant with a seat free, then one on the serial whose one seat Carol has.
        ([("399-12345678", "alice@acme.example"), ("399-12345679", "alice@acme.example")], "seats exceeded"),
        ([("399-12345678", "nobody@acme.example")], "FOREIGN KEY constraint failed"),
    ],
)
def test_a_staged_grant_the_database_refuses_is_refused_whole(
    tmp_path: Path, grants: list[tuple[str, str]], refused: str
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_store(url).initialize([RESELLER])
    apply_yaml(url, ACCOUNT)
    plan = plan_yaml(url, ACCOUNT)
    actions = tuple(
        Action(Kind.ACCESS_GRANT, {"contract": "110001234567", "serial": serial, "user": user}, None, AFTER)
        for serial, user in grants
    )
    before = [_rows(url, f"SELECT * FROM {table}") for table in ("access", "serials", "audit_log")]
    with pytest.raises(StoreError, match=refused):
        run_apply(_staging(url), replace(plan, actions=actions), RESELLER)
    assert [_rows(url, f"SELECT * FROM {table}") for table in ("access", "serials", "audit_log")] == before
