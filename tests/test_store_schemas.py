"""Many accounts' stores in one PostgreSQL database, each in the schema its URL's search_path names first.

`init` creates that schema; everything else refuses one that is missing,
since PostgreSQL would quietly use the next schema on the path, which may
hold another account's store. Two schemas' stores share nothing: tables,
lineage, apply lock, outbox and audit log are each their own.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import ACCOUNT, EXAMPLES, RESELLER, Backend

from reconciler.cli import cli

#: A second account, as small as conftest's and with the same serial numbers, of other people.
NORDWIND = ACCOUNT.replace("acme.example", "nordwind.example").replace("Acme HQ", "Nordwind HQ")


def in_schema(url: str, search_path: str) -> str:
    """`url` with a search_path of its own (given URL-encoded, as a user writes it in the URL)."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{search_path}"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def init(url: str) -> Result:
    return run("init", "--reseller", RESELLER, "--store", url)


def apply(url: str, path: Path, *options: str) -> Result:
    return run("apply", str(path), "--auto-approve", "--actor", RESELLER, "--store", url, *options)


@pytest.fixture
def database(postgres: Backend) -> str:
    """The URL of a new, empty database, dropped after the test."""
    return postgres.new_url(own_database=True)


@pytest.fixture
def nordwind_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "nordwind.yaml"
    path.write_text(NORDWIND)
    return path


def test_two_accounts_in_two_schemas_of_one_database_keep_apart(
    postgres: Backend, database: str, nordwind_yaml: Path
) -> None:
    acme, nordwind = in_schema(database, "acme"), in_schema(database, "nordwind")
    created = [init(acme), init(nordwind)]
    assert [r.exit_code for r in created] == [0, 0], [r.output for r in created]
    assert created[0].output.startswith(f"Created store {acme} (lineage ")
    assert created[1].output.startswith(f"Created store {nordwind} (lineage ")
    applied = [apply(acme, EXAMPLES / "acme"), apply(nordwind, nordwind_yaml)]
    assert [r.exit_code for r in applied] == [0, 0], [r.output for r in applied]

    # Each schema holds a whole store of its own, triggers' functions too; public holds nothing.
    tables = dict(
        postgres.query(
            database,
            "SELECT table_schema, array_agg(table_name::text ORDER BY table_name) "
            "FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "GROUP BY table_schema",
        )
    )
    assert set(tables) == {"acme", "nordwind"}
    assert tables["acme"] == tables["nordwind"]
    assert {"meta", "users", "access", "audit_log", "outbox", "apply_lock"} <= set(tables["acme"])
    functions = postgres.query(
        database,
        "SELECT n.nspname::text, array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN ('acme', 'nordwind', 'public') "
        "GROUP BY n.nspname ORDER BY n.nspname",
    )
    counters = [f"access_counted_on_{event}" for event in ("delete", "insert", "truncate", "update")]
    assert functions == [(schema, [*counters, "seats_cover_access"]) for schema in ("acme", "nordwind")]

    # Their own rows: meta (lineage, revision), users, audit log and outbox.
    def rows(schema: str, sql: str) -> list[tuple[object, ...]]:
        return postgres.query(database, sql.format(schema=schema))

    meta = {s: dict(rows(s, "SELECT key, value FROM {schema}.meta")) for s in ("acme", "nordwind")}
    assert meta["acme"]["lineage"] != meta["nordwind"]["lineage"]
    assert f"(lineage {meta['acme']['lineage']})" in created[0].output
    assert f"(lineage {meta['nordwind']['lineage']})" in created[1].output
    assert (meta["acme"]["revision"], meta["nordwind"]["revision"]) == ("1", "1")
    for schema, other in (("acme", "nordwind"), ("nordwind", "acme")):
        users = [email for (email,) in rows(schema, "SELECT email FROM {schema}.users")]
        assert users and all(email.endswith(f"@{schema}.example") for email in users), users
        assert rows(
            schema, f"SELECT count(*) FROM {{schema}}.audit_log WHERE target LIKE '%{other}.example%'"
        ) == [(0,)]
        assert rows(schema, "SELECT count(*) > 0 FROM {schema}.audit_log") == [(True,)]
        recipients = [to for (to,) in rows(schema, "SELECT recipient FROM {schema}.outbox")]
        assert recipients and not any(f"{other}.example" in to for to in recipients), recipients

    # Each export is its own account; each account's YAML plans no change against its own store, and
    # nordwind's against acme's would remove acme's people (blocked, exit 3, by the removal guard).
    exports = {s: run("export", "--store", url) for s, url in (("acme", acme), ("nordwind", nordwind))}
    assert "alice.moreau@acme.example" in exports["acme"].output
    assert "nordwind.example" not in exports["acme"].output
    assert "alice@nordwind.example" in exports["nordwind"].output
    assert "acme.example" not in exports["nordwind"].output
    plans = [
        run("plan", str(path), "--detailed-exitcode", "--actor", RESELLER, "--store", url).exit_code
        for path, url in (
            (EXAMPLES / "acme", acme),
            (nordwind_yaml, nordwind),
            (nordwind_yaml, acme),
        )
    ]
    assert plans == [0, 0, 3]


def test_a_seats_trigger_counts_the_access_of_its_own_schema(
    postgres: Backend, database: str, nordwind_yaml: Path, tmp_path: Path
) -> None:
    import psycopg

    acme, nordwind = in_schema(database, "acme"), in_schema(database, "nordwind")
    # Serial 399-12345679 has 1 seat in each: held by Carol in nordwind, free in acme.
    free = tmp_path / "acme.yaml"
    free.write_text(ACCOUNT.replace('      - serial: "399-12345679"\n', '      - serial: "399-12345678"\n'))
    for url, path in ((acme, free), (nordwind, nordwind_yaml)):
        assert init(url).exit_code == 0
        assert apply(url, path).exit_code == 0
    with psycopg.connect(acme, autocommit=True) as db:
        db.execute(
            "INSERT INTO access (user_email, serial, download) VALUES ('alice@acme.example', '399-12345679', false)"
        )
    with (
        psycopg.connect(nordwind, autocommit=True) as db,
        pytest.raises(psycopg.errors.CheckViolation) as raised,
    ):
        db.execute(
            "INSERT INTO access (user_email, serial, download) "
            "VALUES ('alice@nordwind.example', '399-12345679', false)"
        )
    assert raised.value.diag.message_detail == "serial 399-12345679 has more users than seats"
    # Each schema's count is of its own access: Alice's grant, and its removal, count in acme alone.
    of_schema = "SELECT '{0}', assigned FROM {0}.serials WHERE number = '399-12345679'"

    def assigned() -> dict[str, int]:
        both = f"{of_schema.format('acme')} UNION ALL {of_schema.format('nordwind')}"
        return dict(postgres.query(database, both))

    assert assigned() == {"acme": 1, "nordwind": 1}
    with psycopg.connect(acme, autocommit=True) as db:
        db.execute("DELETE FROM access WHERE serial = '399-12345679'")
    assert assigned() == {"acme": 0, "nordwind": 1}


def test_a_schema_that_is_not_there_is_refused_not_passed_over(
    postgres: Backend, database: str, nordwind_yaml: Path
) -> None:
    # A store in public, as a database of one account keeps it: a missing schema must not reach it.
    assert init(database).exit_code == 0
    assert apply(database, nordwind_yaml).exit_code == 0
    alone, then_public = in_schema(database, "nordwind"), in_schema(database, "nordwind,public")
    fix = "run `reconciler init --reseller EMAIL` with this URL to create the schema and its store"
    for url, instead in (
        (alone, ""),
        (
            then_public,
            '; refused rather than use "public", the next schema on the path, which may hold another '
            "account's store",
        ),
    ):
        expected = f'Error: there is no schema "nordwind" at {url}, the first its search_path names{instead}; {fix}\n'
        planned = run("plan", str(EXAMPLES / "acme"), "--actor", RESELLER, "--store", url)
        assert (planned.exit_code, planned.stderr) == (1, expected)
        for result in (
            apply(url, EXAMPLES / "acme", "--lock-timeout", "0"),
            run("export", "--store", url),
            run("drift", str(EXAMPLES / "acme"), "--store", url),
            run("outbox", "--store", url),
        ):
            assert (result.exit_code, result.stderr) == (1, expected), result.output
    assert postgres.query(database, "SELECT value FROM meta WHERE key = 'revision'") == [("1",)]
    assert postgres.query(database, "SELECT count(*) FROM pg_namespace WHERE nspname = 'nordwind'") == [(0,)]
    # init with the same URL makes the schema, and the store in it, leaving public's alone.
    assert init(then_public).exit_code == 0
    planned = run(
        "plan", str(nordwind_yaml), "--detailed-exitcode", "--actor", RESELLER, "--store", then_public
    )
    assert planned.exit_code == 2, planned.output
    assert postgres.query(database, "SELECT count(*) FROM nordwind.users") == [(0,)]
    assert postgres.query(database, "SELECT count(*) FROM public.users") == [(3,)]


def test_a_search_path_that_names_no_schema_of_its_own_is_refused(database: str) -> None:
    for path, problem in (
        (
            "%22%22",
            "names no schema to keep the store in; name one first, as in ?options=-csearch_path%3DNAME",
        ),
        (
            "pg_temp,public",
            'names "pg_temp" first, a schema PostgreSQL keeps for itself; name the store\'s own schema first',
        ),
    ):
        url = in_schema(database, path)
        for result in (init(url), run("export", "--store", url)):
            assert (result.exit_code, result.stderr) == (1, f"Error: the search_path of {url} {problem}\n")


def test_a_second_init_of_a_schema_finds_its_store(database: str) -> None:
    acme = in_schema(database, "acme")
    assert init(acme).exit_code == 0
    again = init(acme)
    assert (again.exit_code, again.stderr) == (
        1,
        f"Error: a store already exists at {acme}; it was left as it is\n",
    )


def test_stores_in_two_schemas_apply_at_the_same_time(
    database: str, nordwind_yaml: Path, tmp_path: Path
) -> None:
    from reconciler.store.postgres import PostgresStore

    acme, nordwind = in_schema(database, "acme"), in_schema(database, "nordwind")
    assert [init(acme).exit_code, init(nordwind).exit_code] == [0, 0]
    account = tmp_path / "acme.yaml"
    account.write_text(ACCOUNT)
    # acme's apply lock held, its transaction open, as by an apply under way.
    with PostgresStore(acme)._applying("someone@cadpartners.example"):
        waiting = apply(acme, account, "--lock-timeout", "0")
        beside = apply(nordwind, nordwind_yaml, "--lock-timeout", "0")
        # The migrations' lock (init) is held only while they run, and is not the apply lock.
        third = init(in_schema(database, "zuid"))
    assert waiting.exit_code == 1
    assert waiting.stderr.startswith(f"Error: the store {acme} is locked: another apply holds it: someone@")
    assert beside.exit_code == 0, beside.output
    assert "The store is at revision 1.\n" in beside.output
    assert third.exit_code == 0, third.output
    after = apply(acme, account, "--lock-timeout", "0")
    assert after.exit_code == 0, after.output


def test_a_quoted_schema_keeps_its_case_and_an_unquoted_one_is_folded(
    postgres: Backend, database: str
) -> None:
    quoted, spaced, folded = (
        in_schema(database, p) for p in ("%22Nordwind%22", "%22Nord%5C%20West%22", "ACME")
    )
    assert [init(quoted).exit_code, init(spaced).exit_code, init(in_schema(database, "acme")).exit_code] == [
        0,
        0,
        0,
    ]
    assert postgres.query(
        database, "SELECT nspname::text FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' ORDER BY nspname"
    ) == [("Nord West",), ("Nordwind",), ("acme",), ("information_schema",), ("public",)]
    assert postgres.query(database, 'SELECT count(*) FROM "Nordwind".meta') == [(3,)]
    assert run("export", "--store", quoted).exit_code == 0
    assert run("export", "--store", spaced).exit_code == 0
    assert run("export", "--store", folded).exit_code == 0  # ACME, unquoted, is acme
    # Nordwind unquoted is nordwind, not "Nordwind": a schema that is not there.
    unquoted = in_schema(database, "Nordwind")
    result = run("export", "--store", unquoted)
    assert (result.exit_code, result.stderr) == (
        1,
        f'Error: there is no schema "nordwind" at {unquoted}, the first its search_path names; run '
        "`reconciler init --reseller EMAIL` with this URL to create the schema and its store\n",
    )


def test_a_role_that_may_not_create_or_use_the_schema_is_told_so(postgres: Backend, database: str) -> None:
    from urllib.parse import urlsplit

    role = f"reconciler_test_{uuid.uuid4().hex[:12]}"
    postgres.query(database, f"CREATE ROLE {role} LOGIN PASSWORD 'x'")
    try:
        assert init(in_schema(database, "acme")).exit_code == 0  # as the owner
        parts = urlsplit(database)
        host = parts.netloc.rpartition("@")[2]
        as_role = parts._replace(netloc=f"{role}:x@{host}").geturl()
        shown = as_role.replace(":x@", ":***@")
        missing, unusable = in_schema(as_role, "nordwind"), in_schema(as_role, "acme,public")
        created = init(missing)
        assert (created.exit_code, created.stderr) == (
            1,
            f'Error: cannot create the schema "nordwind" at {in_schema(shown, "nordwind")}, the first its '
            f"search_path names: permission denied for database {parts.path[1:]}; have the database's owner "
            "create it and grant this role USAGE and CREATE on it, then run `reconciler init` again\n",
        )
        exported = run("export", "--store", unusable)
        assert (exported.exit_code, exported.stderr) == (
            1,
            f'Error: this role lacks the USAGE privilege on the schema "acme" at {in_schema(shown, "acme,public")}, '
            'the first its search_path names; refused rather than use "public", the next schema on the path, '
            "which may hold another account's store; have the schema's owner grant it USAGE (and CREATE, for "
            "`reconciler init`)\n",
        )
    finally:
        postgres.query(database, f"DROP ROLE {role}")


@pytest.mark.parametrize(
    ("search_path", "own_schema", "named"),
    [
        ("nordwind", None, "nordwind"),
        ("Nordwind, public", None, "nordwind"),
        ('"Nordwind", public', None, "Nordwind"),
        ('"Nord West",public', None, "Nord West"),
        ('"a""b"', None, 'a"b'),
        ('"$user", public', None, "public"),
        ('"$user", public', "ci", "ci"),
        ("$user,acme", None, "acme"),
        ("ÄCME", None, "Äcme"),  # only ASCII letters are folded, as PostgreSQL does in UTF-8
        ("x" * 70, None, "x" * 63),
        ('""', None, None),
        ("", None, None),
    ],
)
def test_the_schema_a_search_path_names_is_read_as_postgresql_reads_it(
    search_path: str, own_schema: str | None, named: str | None
) -> None:
    pytest.importorskip("psycopg")
    from reconciler.store.postgres import named_schema

    assert named_schema(search_path, own_schema) == named
