"""Shared fixtures: a click runner, a writer of desired-state files, and stores on every backend.

Store and CLI tests take `store_url` (or `backend`), which runs them once on
SQLite and once on PostgreSQL; tests of the Store protocol alone take
`any_store_url` (or `any_backend`), which runs them on the memory store too
(tests/memory_store.py; its `open_any_store` opens a store of any URL, memory://
too, and is how the fixtures and tests open one). The PostgreSQL half creates a database
`reconciler_test_<uuid>` on the server named by RECONCILER_TEST_POSTGRES
(by default postgresql://127.0.0.1:5432/postgres, as the OS user), gives
each store a schema of its own in it (through the URL's
`options=-csearch_path=…`: a schema takes 2 ms to create, a database 250 ms)
and drops it all afterwards. When the server cannot be reached those tests
skip, unless CI is set: then they fail.
"""

from __future__ import annotations

import getpass
import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import settings
from ldap_server import ldap_tree, slapd, slapd_certificates  # noqa: F401  (the directory fixtures, for every test)
from mailserver import MailServer
from memory_store import forget, open_any_store
from required import require
from scim_server import capping_scim, scim, scim_proxy, scim_server  # noqa: F401  (the SCIM fixtures, for every test)

from reconciler.core.plan import Plan

ROOT = Path(__file__).resolve().parent.parent

# With CI set, property tests draw the same examples every run, so a landing never fails by luck;
# on a laptop they draw new ones each run, and what they find is kept in .hypothesis/ to replay.
# Neither has Hypothesis' deadline: it is a timed unit test, and a busy machine made one example
# of test_export_scalars take 515 ms and fail; speed is measured by tests/bench/, never here.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("laptop", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "laptop")
EXAMPLES = ROOT / "examples"

#: A small valid account, the base most tests edit one field of.
ACCOUNT = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    coordinators:
      - email: bob@acme.example
        manage_users: true
        shipping: {name: Acme HQ, address: "1 Main St", country: US}
    serials:
      - number: "399-12345678"
        product: AutoCAD
        seats: 2
        group: Design Studio
        coordinator: bob@acme.example
      - number: "399-12345679"
        product: Revit
        seats: 1
users:
  - email: alice@acme.example
    first_name: Alice
    last_name: Moreau
  - email: bob@acme.example
    first_name: Bob
    last_name: Okafor
    access:
      - serial: "399-12345678"
        download: true
  - email: carol@acme.example
    first_name: Carol
    last_name: Smith
    access:
      - serial: "399-12345679"
"""


@pytest.fixture(autouse=True)
def _no_reconciler_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own RECONCILER_* settings (a real SMTP server!) never reach a test."""
    import os

    for name in [name for name in os.environ if name.startswith("RECONCILER_")]:
        monkeypatch.delenv(name)
    # Every file a test reads, here or in a command it runs, is read by the fast path and the strict one
    # both, which must agree (reconciler/loading/fast.py).
    monkeypatch.setenv("RECONCILER_FAST", "check")
    # The day `expires` dates are judged on, where a test does not say (--today): fixed, so that the
    # example's dates and the goldens read the same in any year.
    monkeypatch.setenv("RECONCILER_TODAY", TODAY)


@pytest.fixture(autouse=True)
def _no_job_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run in GitHub Actions too: keep their reports out of the real job summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


WriteYaml = Callable[..., Path]


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    """Write `text` (dedented) to `name` under a temporary folder; returns the path."""

    def write(text: str | bytes, name: str = "account.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


RESELLER = "orders@cadpartners.example"
#: The day the tests' commands judge `expires` on (RECONCILER_TODAY), unless one says --today.
TODAY = "2026-12-07"


POSTGRES_ADMIN_URL = os.environ.get("RECONCILER_TEST_POSTGRES", "postgresql://127.0.0.1:5432/postgres")
#: The SQL backends.
BACKENDS = ("sqlite", "postgresql")
#: Every store behind the Store protocol.
STORES = (*BACKENDS, "memory")


class Backend:
    """Where a test's stores live: files in its temporary folder, databases it creates and drops, or
    memory stores it forgets."""

    def __init__(self, name: str, folder: Path, database: str | None = None) -> None:
        self.name = name
        self.folder = folder
        self.database = database
        self.databases: list[str] = []
        self.schemas: list[str] = []
        self.memory: list[str] = []
        self.files = 0

    @property
    def is_sql(self) -> bool:
        return self.name in BACKENDS

    def new_url(self, password: str | None = None, own_database: bool = False) -> str:
        """The URL of a place with no store in it yet.

        For PostgreSQL, a new schema in the session's database, or with
        `own_database` a new database, whose public schema the store takes.
        """
        if self.name == "sqlite":
            self.files += 1
            return f"sqlite:///{self.folder / f'store-{self.files}.db'}"
        if self.name == "memory":
            self.memory.append(f"memory://test-{uuid.uuid4().hex}")
            return self.memory[-1]
        if own_database or self.database is None:
            name = f"reconciler_test_{uuid.uuid4().hex}"
            _admin_execute(f"CREATE DATABASE {name}")
            self.databases.append(name)
            return _with_database(POSTGRES_ADMIN_URL, name, password)
        schema = f"store_{uuid.uuid4().hex}"
        url = _with_database(POSTGRES_ADMIN_URL, self.database, password)
        self.query(url, f"CREATE SCHEMA {schema}")
        self.schemas.append(schema)
        return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"

    def where(self, url: str) -> str:
        """How the store at `url` is named in messages: a file's path, or the URL without its password."""
        from reconciler.store import redact_url

        return url.removeprefix("sqlite:///") if self.name == "sqlite" else redact_url(url)

    def contents(self, url: str) -> tuple[object, ...]:
        """What the store holds, to compare it before and after: all it shows through the Store
        protocol (snapshot, history, outbox) and, for a SQL store, every row of every table too."""
        store = open_any_store(url)
        shown = (store.snapshot(), store.history(1_000_000), store.outbox())
        return (*shown, self.table_dump(url)) if self.is_sql else shown

    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        """The rows of one statement, run straight on the store's database (autocommit)."""
        assert self.is_sql, f"the {self.name} store has no SQL to query"
        if self.name == "sqlite":
            import sqlite3

            db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            try:
                return db.execute(sql).fetchall()
            finally:
                db.close()
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:
            cursor = pg.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def table_dump(self, url: str) -> list[tuple[object, ...]]:
        """Every row of every table, to compare a store before and after."""
        if self.name == "sqlite":
            tables_sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        else:
            tables_sql = (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY table_name"
            )
        tables = [name for (name,) in self.query(url, tables_sql)]
        return [
            (table, *row)
            for table in tables
            for row in sorted(self.query(url, f"SELECT * FROM {table}"), key=repr)
        ]

    def drop_all(self) -> None:
        for url in self.memory:
            forget(url)
        if self.schemas and self.database:
            url = _with_database(POSTGRES_ADMIN_URL, self.database, None)
            self.query(url, f"DROP SCHEMA IF EXISTS {', '.join(self.schemas)} CASCADE")
        for name in self.databases:
            _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _with_database(url: str, database: str, password: str | None) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc
    if password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':')[0] or getpass.getuser()}:{password}@{host}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, parts.fragment))


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql)


_postgres_problem: list[str] = []


def _require_postgres() -> None:
    """Skip (on a laptop) or fail (when CI is set) unless the test server answers; asks it once."""
    if not _postgres_problem:
        try:
            _admin_execute("SELECT 1")
            _postgres_problem.append("")
        except Exception as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            _postgres_problem.append(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable ({first_line})")
    require(
        _postgres_problem[0],
        "the PostgreSQL half of the suite",
        "set RECONCILER_TEST_POSTGRES to a server to run the PostgreSQL half",
    )


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of the test session's own, dropped at its end."""
    _require_postgres()
    name = f"reconciler_test_{uuid.uuid4().hex}"
    _admin_execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each SQL backend in turn; the PostgreSQL one drops every schema and database the test made."""
    yield from _backend(request, tmp_path)


@pytest.fixture(params=STORES)
def any_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each store in turn, the memory store too: for tests of the Store protocol alone."""
    yield from _backend(request, tmp_path)


def _backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    database = None
    if request.param == "postgresql":
        _require_postgres()
        database = request.getfixturevalue("postgres_database")
    chosen = Backend(request.param, tmp_path, database)
    try:
        yield chosen
    finally:
        chosen.drop_all()


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Backend]:
    """The PostgreSQL backend alone, for what only it has (passwords, databases, sessions)."""
    _require_postgres()
    chosen = Backend("postgresql", tmp_path, None)
    try:
        yield chosen
    finally:
        chosen.drop_all()


@pytest.fixture
def store_url(backend: Backend) -> str:
    """A new store on each backend in turn, with RESELLER as its reseller."""
    url = backend.new_url()
    open_any_store(url).initialize([RESELLER])
    return url


@pytest.fixture
def any_store_url(any_backend: Backend) -> str:
    """A new store on each backend, the memory store too, with RESELLER as its reseller."""
    url = any_backend.new_url()
    open_any_store(url).initialize([RESELLER])
    return url


def plan_yaml(store_url: str, text: str, actor: str = RESELLER) -> Plan:
    """The plan of desired-state `text` (dedented) against the store, as `actor`."""
    from reconciler.core.model import build_state
    from reconciler.engine.planner import make_plan
    from reconciler.loading.events import parse
    from reconciler.loading.files import Source

    document = parse(Source("desired.yaml", textwrap.dedent(text).encode())).document
    return make_plan(build_state([document]), open_any_store(store_url).snapshot(), actor)


def apply_yaml(store_url: str, text: str, actor: str = RESELLER) -> Plan:
    """Plan `text` as `actor` and apply it; returns the plan it applied."""
    from reconciler.commands.apply import run_apply

    plan = plan_yaml(store_url, text, actor)
    run_apply(open_any_store(store_url), plan, actor)
    return plan


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    """A real SMTP server on loopback; its URL is `smtp_server.url`."""
    server = MailServer()
    server.start()
    yield server
    server.stop()
