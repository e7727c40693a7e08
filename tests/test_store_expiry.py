"""Every store keeps the `expires` dates: a user's, their own grant's, a team membership's.

Each is written by the action that adds or changes its record (`user.add`,
`user.update`, `access.grant`, `access.update`, `team.member_add`,
`team.member_update`), follows a user to a new address, and is read back into
the snapshot as ISO 8601 text, so that a file with dates plans no change
against the store it was applied to. Migration 0013 gives a store made before
dates a NULL date everywhere.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace

import pytest
from click.testing import CliRunner
from conftest import RESELLER, Backend, apply_yaml, plan_yaml
from memory_store import open_any_store
from test_store import drop_expiry

from reconciler.cli import cli
from reconciler.commands.apply import ApplyOptions, run_apply
from reconciler.core.errors import StoreError
from reconciler.core.kinds import Kind
from reconciler.core.model import Access, DesiredState, Grant, build_state, effective_access
from reconciler.core.records import Snapshot
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.store import migrations
from reconciler.store.sqlite import SqliteStore

ALICE, BOB, CAROL = "alice@acme.example", "bob@acme.example", "carol@acme.example"
AUTOCAD, REVIT = "399-12345678", "399-12345679"

#: Bob is in the account until a day, and so is his own grant to AutoCAD, which team Temps gives him
#: too; Carol is in Temps until a day, and has AutoCAD through it alone.
DATED = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    serials:
      - number: "399-12345678"
        product: AutoCAD
        seats: 10
      - number: "399-12345679"
        product: Revit
        seats: 10
users:
  - email: alice@acme.example
    first_name: Alice
    last_name: Moreau
  - email: bob@acme.example
    first_name: Bob
    last_name: Okafor
    expires: "2030-06-30"
    access:
      - {serial: "399-12345678", download: true, expires: "2030-03-31"}
      - serial: "399-12345679"
  - email: carol@acme.example
    first_name: Carol
    last_name: Smith
teams:
  - name: Temps
    members:
      - {email: carol@acme.example, expires: "2030-01-31"}
      - bob@acme.example
    access:
      - serial: "399-12345678"
"""

#: Every date moved, and one set where there was none, of each sort: Alice's, Bob's grant to Revit,
#: Bob's place in Temps.
MOVED = (
    DATED.replace('expires: "2030-06-30"', 'expires: "2030-07-31"')
    .replace('expires: "2030-03-31"', 'expires: "2030-04-30"')
    .replace('expires: "2030-01-31"', 'expires: "2030-02-28"')
    .replace("    last_name: Moreau\n", '    last_name: Moreau\n    expires: "2030-12-31"\n')
    .replace('      - serial: "399-12345679"\n', '      - {serial: "399-12345679", expires: "2030-05-31"}\n')
    .replace("      - bob@acme.example\n", '      - {email: bob@acme.example, expires: "2030-05-31"}\n')
)

#: No dates at all: each one dropped.
UNDATED = (
    DATED.replace('    expires: "2030-06-30"\n', "")
    .replace(', expires: "2030-03-31"', "")
    .replace('{email: carol@acme.example, expires: "2030-01-31"}', "carol@acme.example")
)


def desired(text: str) -> DesiredState:
    return build_state([parse(Source("desired.yaml", textwrap.dedent(text).encode())).document])


def assert_holds(snapshot: Snapshot, text: str) -> None:
    """The store holds the account of `text`, dates and all, and its effective access."""
    assert snapshot.state == desired(text)
    assert snapshot.grants == effective_access(desired(text))


def kinds_and_targets(url: str, text: str) -> list[tuple[Kind, dict[str, str]]]:
    return sorted(((a.kind, dict(a.target)) for a in plan_yaml(url, text).actions), key=repr)


def test_the_dates_are_read_back_as_they_were_applied(any_store_url: str) -> None:
    apply_yaml(any_store_url, DATED)
    snapshot = open_any_store(any_store_url).snapshot()
    users = {user.email: user for user in snapshot.state.users}
    assert (users[ALICE].expires, users[BOB].expires, users[CAROL].expires) == (None, "2030-06-30", None)
    assert users[BOB].access == (Access(AUTOCAD, True, "2030-03-31"), Access(REVIT, False, None))
    assert snapshot.grants[BOB, AUTOCAD] == Grant(True, ("direct", "team:Temps"), True, "2030-03-31")
    assert snapshot.grants[BOB, REVIT] == Grant(False, ("direct",), False, None)
    assert snapshot.grants[CAROL, AUTOCAD] == Grant(False, ("team:Temps",), None, None)  # teams' alone
    [team] = snapshot.state.teams
    assert (team.members, team.member_expires) == ((BOB, CAROL), ((CAROL, "2030-01-31"),))
    assert_holds(snapshot, DATED)
    assert plan_yaml(any_store_url, DATED).actions == ()


def test_each_date_is_set_moved_and_dropped(any_store_url: str) -> None:
    apply_yaml(any_store_url, DATED)
    store = open_any_store(any_store_url)
    team_member = {"team": "Temps"}
    assert kinds_and_targets(any_store_url, MOVED) == sorted(
        [
            (Kind.USER_UPDATE, {"user": ALICE}),
            (Kind.USER_UPDATE, {"user": BOB}),
            (Kind.ACCESS_UPDATE, {"contract": "110001234567", "serial": AUTOCAD, "user": BOB}),
            (Kind.ACCESS_UPDATE, {"contract": "110001234567", "serial": REVIT, "user": BOB}),
            (Kind.TEAM_MEMBER_UPDATE, {**team_member, "user": BOB}),
            (Kind.TEAM_MEMBER_UPDATE, {**team_member, "user": CAROL}),
        ],
        key=repr,
    )
    apply_yaml(any_store_url, MOVED)
    assert_holds(store.snapshot(), MOVED)
    assert plan_yaml(any_store_url, MOVED).actions == ()

    apply_yaml(any_store_url, UNDATED)
    snapshot = store.snapshot()
    assert_holds(snapshot, UNDATED)
    assert all(user.expires is None for user in snapshot.state.users)
    assert all(access.expires is None for user in snapshot.state.users for access in user.access)
    assert all(grant.expires is None for grant in snapshot.grants.values())
    assert snapshot.state.teams[0].member_expires == ()
    assert plan_yaml(any_store_url, UNDATED).actions == ()

    # And back: dates set where none was, each by its change alone.
    apply_yaml(any_store_url, DATED)
    assert_holds(store.snapshot(), DATED)


def test_a_change_of_a_users_protection_keeps_their_date(any_store_url: str) -> None:
    apply_yaml(any_store_url, DATED)
    protected = DATED.replace("    last_name: Okafor\n", "    last_name: Okafor\n    protect: true\n")
    assert [a.kind for a in plan_yaml(any_store_url, protected).actions] == [Kind.USER_PROTECT]
    apply_yaml(any_store_url, protected)
    assert_holds(open_any_store(any_store_url).snapshot(), protected)


def test_one_users_part_of_the_store_has_their_dates(any_store_url: str) -> None:
    apply_yaml(any_store_url, DATED)
    store = open_any_store(any_store_url)
    bob = store.user_snapshot(BOB)
    [user] = [user for user in bob.state.users if user.email == BOB]
    assert (user.expires, user.access) == (
        "2030-06-30",
        (Access(AUTOCAD, True, "2030-03-31"), Access(REVIT, False, None)),
    )
    assert bob.grants[BOB, AUTOCAD].expires == "2030-03-31"
    assert [(t.name, t.members, t.member_expires) for t in bob.state.teams] == [("Temps", (BOB,), ())]
    carol = store.user_snapshot(CAROL)
    assert [(t.name, t.members, t.member_expires) for t in carol.state.teams] == [
        ("Temps", (CAROL,), ((CAROL, "2030-01-31"),))
    ]


def test_the_dates_follow_a_user_to_a_new_address(any_store_url: str) -> None:
    with_id = DATED.replace("    first_name: Bob\n", "    id: 5f0c-bob\n    first_name: Bob\n")
    apply_yaml(any_store_url, with_id)
    moved = with_id.replace(BOB, "robert@acme.example")
    plan = apply_yaml(any_store_url, moved)
    assert [a.kind for a in plan.actions] == [Kind.USER_CHANGE_EMAIL]
    snapshot = open_any_store(any_store_url).snapshot()
    assert_holds(snapshot, moved)
    assert snapshot.grants["robert@acme.example", AUTOCAD].expires == "2030-03-31"
    assert plan_yaml(any_store_url, moved).actions == ()


def test_a_dated_place_in_a_team_follows_a_user_to_a_new_address(any_store_url: str) -> None:
    with_id = MOVED.replace("    first_name: Bob\n", "    id: 5f0c-bob\n    first_name: Bob\n")
    apply_yaml(any_store_url, with_id)
    moved = with_id.replace(BOB, "robert@acme.example")
    apply_yaml(any_store_url, moved)
    snapshot = open_any_store(any_store_url).snapshot()
    assert_holds(snapshot, moved)
    assert ("robert@acme.example", "2030-05-31") in snapshot.state.teams[0].member_expires
    assert plan_yaml(any_store_url, moved).actions == ()


def test_an_adopted_account_keeps_its_dates(any_store_url: str) -> None:
    store = open_any_store(any_store_url)
    run_apply(store, plan_yaml(any_store_url, DATED), RESELLER, ApplyOptions(adopt=True))
    assert_holds(store.snapshot(), DATED)
    assert plan_yaml(any_store_url, DATED).actions == ()


def with_many(count: int) -> str:
    """DATED and `count` more users, each dated, with a dated grant of their own and a dated place in Temps."""
    day = lambda month, n: f'"2030-{month:02}-{1 + n % 28:02}"'  # noqa: E731
    users = "".join(
        f"  - email: user{n}@acme.example\n    first_name: User\n    last_name: N{n}\n    expires: {day(2, n)}\n"
        f'    access:\n      - {{serial: "399-12345679", expires: {day(3, n)}}}\n'
        for n in range(count)
    )
    members = "".join(
        f"      - {{email: user{n}@acme.example, expires: {day(1, n)}}}\n" for n in range(count)
    )
    text = DATED.replace("seats: 10", "seats: 2000").replace("teams:\n", users + "teams:\n")
    return text.replace("      - bob@acme.example\n", "      - bob@acme.example\n" + members)


def test_dates_written_in_bulk_are_read_back(backend: Backend, store_url: str) -> None:
    """Many users, grants and members at once: PostgreSQL loads them by COPY, SQLite stages grants."""
    many = with_many(1200)
    store = open_any_store(store_url)
    if isinstance(store, SqliteStore):
        store.staged_rows = 0  # every grant staged, however few
    run_apply(store, plan_yaml(store_url, many), RESELLER)
    snapshot = store.snapshot()
    assert_holds(snapshot, many)
    assert snapshot.grants["user7@acme.example", REVIT].expires == "2030-03-08"
    assert ("user7@acme.example", "2030-01-08") in snapshot.state.teams[0].member_expires
    assert plan_yaml(store_url, many).actions == ()


@pytest.mark.parametrize("kind", [Kind.USER_UPDATE, Kind.ACCESS_UPDATE, Kind.TEAM_MEMBER_UPDATE])
def test_a_day_the_calendar_lacks_is_refused_by_the_store(
    any_backend: Backend, any_store_url: str, kind: Kind
) -> None:
    """Past validation (an edited plan file, a bug): the store itself refuses it, and changes nothing."""
    apply_yaml(any_store_url, DATED)
    plan = plan_yaml(any_store_url, MOVED)
    [action] = [a for a in plan.actions if a.kind is kind and a.target["user"] == BOB][:1]
    bad = replace(action, after={**(action.after or {}), "expires": "2030-02-30"})
    before = any_backend.contents(any_store_url)
    with pytest.raises(StoreError):
        run_apply(open_any_store(any_store_url), replace(plan, actions=(bad,)), RESELLER)
    assert any_backend.contents(any_store_url) == before


# --- what only the SQL stores have -------------------------------------------------------------------


def _access_key_columns(backend: Backend, url: str) -> list[str]:
    """PostgreSQL: the columns access's key index holds, its key's and those it includes."""
    [(columns,)] = backend.query(
        url,
        "SELECT array_agg(a.attname::text ORDER BY k.n) FROM pg_index x, "
        "unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attnum = k.attnum "
        "WHERE x.indexrelid = 'access_pkey'::regclass AND a.attrelid = x.indrelid",
    )
    return list(columns)


def test_a_store_at_migration_12_is_brought_to_13_with_no_dates(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, UNDATED)
    drop_expiry(backend, store_url)
    backend.query(store_url, "UPDATE meta SET value = '12' WHERE key = 'schema_version'")
    before = backend.table_dump(store_url)
    assert plan_yaml(store_url, UNDATED).actions == ()  # opened, migrated, read as it was
    [(version,)] = backend.query(store_url, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert int(version) == migrations.latest(backend.name) == 13
    for table in ("users", "access", "team_members"):
        dates = backend.query(store_url, f"SELECT expires FROM {table}")
        assert dates and set(dates) == {(None,)}, table
    # Every row as it was, with a NULL date after it.
    dated = ("users", "access", "team_members")
    after = [row for row in backend.table_dump(store_url) if row[0] != "meta"]
    assert [row[:-1] if row[0] in dated else row for row in after] == [r for r in before if r[0] != "meta"]
    if backend.name == "postgresql":
        expected = ["user_email", "serial", "download", "direct_download", "expires"]
        assert _access_key_columns(backend, store_url) == expected
    apply_yaml(store_url, DATED)
    assert_holds(open_any_store(store_url).snapshot(), DATED)


def test_a_new_postgresql_store_reads_access_and_its_dates_from_the_key(postgres: Backend) -> None:
    url = postgres.new_url()
    open_any_store(url).initialize([RESELLER])
    assert _access_key_columns(postgres, url) == [
        "user_email",
        "serial",
        "download",
        "direct_download",
        "expires",
    ]


def test_export_and_users_show_read_a_store_with_dates(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, DATED)
    runner = CliRunner()
    exported = runner.invoke(cli, ["export", "--store", store_url])
    assert exported.exit_code == 0, exported.output
    assert BOB in exported.output
    shown = runner.invoke(cli, ["users", "show", BOB, "--store", store_url])
    assert shown.exit_code == 0, shown.output
    assert BOB in shown.output
