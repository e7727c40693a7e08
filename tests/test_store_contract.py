"""The Store protocol's contract, on every store: SQLite, PostgreSQL and memory.

Each test runs once per store and sees it only through the protocol:
a store is compared before and after by what it shows (snapshot, history,
outbox; for a SQL store, every row of every table as well: Backend.contents).
What only the SQL stores have (migrations, schema versions, raw rows) is in
test_store.py, but for one thing: the seats rule, which their databases keep
themselves against any statement, is tested here with raw SQL too, beside the
protocol's tests of it.
"""

from __future__ import annotations

import sqlite3
import textwrap
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

import psycopg
import pytest
from conftest import ACCOUNT, RESELLER, Backend, apply_yaml, plan_yaml
from memory_store import open_any_store

from reconciler.commands.apply import ApplyOptions, run_apply
from reconciler.core.errors import AdoptRefused, StalePlan, StoreError, StoreExists, StoreNotFound
from reconciler.core.kinds import Kind
from reconciler.core.model import DesiredState, build_state
from reconciler.core.plan import Action, Plan
from reconciler.core.records import Activation, Chore, Message, OutboxCounts, Request, Transaction
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.store import Store

CONTRACT = "110001234567"


def desired(text: str) -> DesiredState:
    return build_state([parse(Source("desired.yaml", textwrap.dedent(text).encode())).document])


# --- init and snapshot -----------------------------------------------------------------------------


def test_init_names_the_resellers_and_starts_at_revision_0(any_backend: Backend) -> None:
    snapshot = open_any_store(any_backend.new_url()).initialize(["Orders@CADpartners.example", "b@r.example"])
    assert snapshot.revision == 0
    assert snapshot.resellers == {"orders@cadpartners.example", "b@r.example"}
    assert len(snapshot.lineage) == 36


def test_init_refuses_an_existing_store(any_backend: Backend, any_store_url: str) -> None:
    before = any_backend.contents(any_store_url)
    with pytest.raises(StoreExists) as raised:
        open_any_store(any_store_url).initialize(["x@y.example"])
    assert str(raised.value) == (
        f"a store already exists at {any_backend.where(any_store_url)}; it was left as it is"
    )
    assert any_backend.contents(any_store_url) == before


def test_a_missing_store_is_named_with_the_fix(any_backend: Backend) -> None:
    url = any_backend.new_url()
    with pytest.raises(StoreNotFound) as raised:
        open_any_store(url).snapshot()
    assert str(raised.value) == (
        f"no store at {any_backend.where(url)}; create one with `reconciler init --reseller EMAIL`"
    )
    if any_backend.name == "sqlite":
        assert not any_backend.folder.joinpath(url.rsplit("/", 1)[1]).exists()
    elif any_backend.name == "postgresql":
        assert any_backend.table_dump(url) == []
    with pytest.raises(StoreNotFound):
        open_any_store(url).outbox()  # still none: reading made none


def test_the_snapshot_reads_back_what_was_applied(any_store_url: str) -> None:
    plan = apply_yaml(any_store_url, ACCOUNT)
    snapshot = open_any_store(any_store_url).snapshot()
    assert snapshot.revision == 1
    assert plan_yaml(any_store_url, ACCOUNT).actions == ()
    assert [u.email for u in snapshot.state.users] == [
        "alice@acme.example",
        "bob@acme.example",
        "carol@acme.example",
    ]
    assert len(plan.actions) == 10
    assert snapshot.state == desired(ACCOUNT)
    assert snapshot.user_status == dict.fromkeys(
        ["alice@acme.example", "bob@acme.example", "carol@acme.example"], "invited"
    )


def test_two_opens_of_one_url_see_one_store(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    assert open_any_store(any_store_url).snapshot() == open_any_store(any_store_url).snapshot()
    assert open_any_store(any_store_url).snapshot().revision == 1


def test_the_snapshot_knows_when_each_user_was_added(any_store_url: str) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    apply_yaml(any_store_url, ACCOUNT)
    added = open_any_store(any_store_url).snapshot().user_added
    assert set(added) == {"alice@acme.example", "bob@acme.example", "carol@acme.example"}
    for at in added.values():
        assert before <= datetime.fromisoformat(at) <= datetime.now(UTC)


def test_activate_marks_invited_users_active_and_says_which_were_not(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    store = open_any_store(any_store_url)
    first = store.activate_users(["Carol@acme.example", "zed@acme.example", "carol@acme.example"], RESELLER)
    assert first == Activation(activated=("carol@acme.example",), unknown=("zed@acme.example",))
    again = store.activate_users(["carol@acme.example", "bob@acme.example"], "portal@acme.example")
    assert again == Activation(activated=("bob@acme.example",), already_active=("carol@acme.example",))
    snapshot = store.snapshot()
    assert (snapshot.revision, snapshot.user_status["carol@acme.example"]) == (1, "active")
    assert snapshot.user_status["alice@acme.example"] == "invited"


def test_an_activation_is_in_the_history_at_the_revision_it_left_alone(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    store = open_any_store(any_store_url)
    store.activate_users(["carol@acme.example", "bob@acme.example"], "portal@acme.example")
    store.activate_users(["nobody@acme.example"], "portal@acme.example")  # activates none: no entry
    latest, applied = store.history(10)
    assert (latest.revision, latest.actor, latest.source) == (1, "portal@acme.example", None)
    assert [(c.kind, c.target) for c in latest.changes] == [
        (Chore.USER_ACTIVATE, {"user": "carol@acme.example"}),
        (Chore.USER_ACTIVATE, {"user": "bob@acme.example"}),
    ]
    assert (applied.revision, applied.actor, len(applied.changes)) == (1, RESELLER, 10)
    assert [a.revision for a in store.history(1)] == [1] and store.history(1)[
        0
    ].actor == "portal@acme.example"


# --- every kind of action --------------------------------------------------------------------------

#: Three changes that between them make every kind of action: an account set up, changed, cut down.
EVERY_KIND = (
    # user.add, contract.create, coordinator.add, serial.create, serial.assign_coordinator, access.grant
    """\
    version: 1
    contracts:
      - number: "110001234567"
        manager: alice@acme.example
        coordinators:
          - {email: bob@acme.example, manage_users: true, shipping: {name: Acme HQ, address: "1 Main St", country: US}}
        serials:
          - {number: "399-12345678", product: AutoCAD, seats: 2, group: Design Studio, coordinator: bob@acme.example}
          - {number: "399-12345679", product: Revit, seats: 1}
      - number: "110009999999"
        manager: dave@acme.example
        ends: 2027-03-31
        coordinators:
          - {email: erin@acme.example}
        serials:
          - {number: "399-99999999", product: Inventor, seats: 1, coordinator: erin@acme.example}
    users:
      - {email: alice@acme.example, first_name: Alice, last_name: Moreau}
      - {email: bob@acme.example, first_name: Bob, last_name: Okafor, access: [{serial: "399-12345678", download: true, expires: "2027-05-31"}]}
      - {email: carol@acme.example, first_name: Carol, last_name: Smith, access: [{serial: "399-12345679"}]}
      - {email: dave@acme.example, first_name: Dave, last_name: Lee, expires: "2027-03-31"}
      - {email: erin@acme.example, id: 5f0c-erin, first_name: Erin, last_name: Berg, access: [{serial: "399-99999999"}]}
    teams:
      - {name: Design, description: Architects, members: [{email: alice@acme.example, expires: "2027-06-30"}], access: [{serial: "399-12345678"}]}
      - {name: Reviewers, members: [carol@acme.example], access: [{serial: "399-12345679", download: true}]}
    """,
    # team.create, team.member_add, team.access_grant (and the access.grant they cause); a user, a grant
    # and a membership dated (expires)
    # user.update, user.protect, contract.manager_change, contract.ends_change (set and moved),
    # contract.protect, coordinator.update,
    # serial.protect, serial.product_change, serial.rename_group, serial.seats_change,
    # serial.unassign_coordinator, serial.assign_coordinator, access.update, access.revoke, access.grant,
    # user.change_email (of a coordinator with a serial and access of her own),
    # team.member_update (a membership's date moved), a grant's date moved, a user's date dropped
    """\
    version: 1
    contracts:
      - number: "110001234567"
        manager: carol@acme.example
        protect: true
        ends: "2028-06-30"
        coordinators:
          - {email: bob@acme.example, manage_users: false, shipping: {name: Acme North, address: "2 Side St", country: GB}}
        serials:
          - {number: "399-12345678", product: AutoCAD LT, seats: 3, group: Studio North, protect: true}
          - {number: "399-12345679", product: Revit, seats: 1, coordinator: bob@acme.example}
      - number: "110009999999"
        manager: dave@acme.example
        ends: "2027-12-31"
        coordinators:
          - {email: erin.berg@acme.example}
        serials:
          - {number: "399-99999999", product: Inventor, seats: 1, coordinator: erin.berg@acme.example}
    users:
      - {email: alice@acme.example, first_name: Alicia, last_name: Moreau, access: [{serial: "399-12345679"}]}
      - {email: bob@acme.example, first_name: Bob, last_name: Okafor, protect: true, access: [{serial: "399-12345678", expires: "2027-08-31"}]}
      - {email: carol@acme.example, first_name: Carol, last_name: Smith}
      - {email: dave@acme.example, first_name: Dave, last_name: Lee}
      - {email: erin.berg@acme.example, id: 5f0c-erin, first_name: Erin, last_name: Berg, access: [{serial: "399-99999999"}]}
    teams:
      - {name: Design, description: Architects in Oslo, members: [{email: alice@acme.example, expires: "2027-09-30"}, carol@acme.example], access: [{serial: "399-12345678", download: true}]}
      - {name: Reviewers, access: [{serial: "399-12345679"}]}
    """,
    # team.update, team.member_add, team.member_remove, team.access_update
    # contract.ends_change (dropped), access.revoke, serial.remove, coordinator.remove, contract.remove,
    # user.remove
    """\
    version: 1
    contracts:
      - number: "110001234567"
        manager: carol@acme.example
        protect: true
        coordinators:
          - {email: bob@acme.example, manage_users: false, shipping: {name: Acme North, address: "2 Side St", country: GB}}
        serials:
          - {number: "399-12345678", product: AutoCAD LT, seats: 3, group: Studio North, protect: true}
          - {number: "399-12345679", product: Revit, seats: 1, coordinator: bob@acme.example}
    users:
      - {email: alice@acme.example, first_name: Alicia, last_name: Moreau, access: [{serial: "399-12345679"}]}
      - {email: bob@acme.example, first_name: Bob, last_name: Okafor, protect: true, access: [{serial: "399-12345678"}]}
      - {email: carol@acme.example, first_name: Carol, last_name: Smith}
    teams:
      - {name: Reviewers}
    """,
    # team.member_remove, team.access_revoke, team.remove
)


def test_every_kind_of_action_applies_and_reads_back(any_store_url: str) -> None:
    applied: set[Kind] = set()
    for revision, text in enumerate(EVERY_KIND, start=1):
        plan = plan_yaml(any_store_url, text)
        run_apply(open_any_store(any_store_url), plan, RESELLER, ApplyOptions(allow_mass_removal=True))
        applied |= {action.kind for action in plan.actions}
        snapshot = open_any_store(any_store_url).snapshot()
        assert (snapshot.revision, snapshot.state) == (revision, desired(text))
        assert plan_yaml(any_store_url, text).actions == ()
    assert applied == set(Kind), f"kinds no step made: {sorted(set(Kind) - applied)}"


# --- the audit log ---------------------------------------------------------------------------------


def test_every_applied_action_is_in_the_history(any_store_url: str) -> None:
    plan = apply_yaml(any_store_url, ACCOUNT)
    [applied] = open_any_store(any_store_url).history(10)
    assert (applied.revision, applied.actor) == (1, RESELLER)
    assert [(c.kind, c.target, c.before, c.after) for c in applied.changes] == [
        (a.kind, dict(a.target), a.before, a.after) for a in plan.actions
    ]
    assert applied.changes[0].target == {"user": "alice@acme.example"}


def test_history_returns_the_last_applies_newest_first_each_in_apply_order(any_store_url: str) -> None:
    store = open_any_store(any_store_url)
    assert store.history(5) == ()
    first = apply_yaml(any_store_url, ACCOUNT)
    second = apply_yaml(any_store_url, ACCOUNT.replace("seats: 2", "seats: 3"))
    history = store.history(5)
    assert [(h.revision, h.actor, len(h.changes)) for h in history] == [(2, RESELLER, 1), (1, RESELLER, 10)]
    assert [c.kind for c in history[1].changes] == [a.kind for a in first.actions]
    [change] = history[0].changes
    [action] = second.actions
    assert (change.kind, change.target, change.before, change.after) == (
        "serial.seats_change",
        dict(action.target),
        {"seats": 2},
        {"seats": 3},
    )
    assert history[0].at >= history[1].at
    assert [h.revision for h in store.history(1)] == [2]


# --- what an apply refuses, leaving the store as it was -----------------------------------------------


def test_a_plan_for_an_older_revision_is_refused_and_changes_nothing(
    any_backend: Backend, any_store_url: str
) -> None:
    old = plan_yaml(any_store_url, ACCOUNT)
    apply_yaml(
        any_store_url, "version: 1\nusers:\n  - {email: x@acme.example, first_name: X, last_name: Y}\n"
    )
    before = any_backend.contents(any_store_url)
    with pytest.raises(StalePlan, match=r"made at revision 0 but the store is at revision 1"):
        run_apply(open_any_store(any_store_url), old, RESELLER)
    assert any_backend.contents(any_store_url) == before


def test_a_plan_for_another_store_is_refused(any_backend: Backend, any_store_url: str) -> None:
    other = any_backend.new_url()
    open_any_store(other).initialize([RESELLER])
    before = any_backend.contents(other)
    with pytest.raises(StalePlan, match="made for another store"):
        run_apply(open_any_store(other), plan_yaml(any_store_url, ACCOUNT), RESELLER)
    assert any_backend.contents(other) == before


#: How each store words a broken foreign key.
FOREIGN_KEY = {
    "sqlite": "FOREIGN KEY constraint failed",
    "postgresql": 'violates foreign key constraint "access_serial_fkey"',
    "memory": "foreign key: there is no serial 399-00000000",
}


def test_a_failure_part_way_leaves_the_store_as_it_was(any_backend: Backend, any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    plan = plan_yaml(any_store_url, ACCOUNT.replace("Carol", "Caroline").replace("seats: 2", "seats: 3"))
    # A last action the database refuses: a grant on a serial that does not exist.
    bad = Action(
        Kind.ACCESS_GRANT,
        {"contract": CONTRACT, "serial": "399-00000000", "user": "carol@acme.example"},
        None,
        {"download": False, "via": ["direct"]},
    )
    before = any_backend.contents(any_store_url)
    with pytest.raises(StoreError, match=FOREIGN_KEY[any_backend.name]):
        run_apply(open_any_store(any_store_url), replace(plan, actions=(*plan.actions, bad)), RESELLER)
    assert any_backend.contents(any_store_url) == before


def test_the_database_refuses_more_users_than_seats(any_backend: Backend, any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    plan = plan_yaml(any_store_url, ACCOUNT)
    grant = Action(
        Kind.ACCESS_GRANT,
        {"contract": CONTRACT, "serial": "399-12345679", "user": "alice@acme.example"},
        None,
        {"download": False, "via": ["direct"]},
    )
    before = any_backend.contents(any_store_url)
    with pytest.raises(StoreError, match="seats exceeded"):
        run_apply(open_any_store(any_store_url), replace(plan, actions=(grant,)), RESELLER)
    assert any_backend.contents(any_store_url) == before


def test_fewer_seats_than_users_are_refused(any_backend: Backend, any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    plan = plan_yaml(any_store_url, ACCOUNT)
    serial = {"contract": CONTRACT, "serial": "399-12345678"}
    actions = (
        Action(
            Kind.ACCESS_GRANT,
            {**serial, "user": "alice@acme.example"},
            None,
            {"download": False, "via": ["direct"]},
        ),
        Action(Kind.SERIAL_SEATS_CHANGE, serial, {"seats": 2}, {"seats": 1}),
    )
    before = any_backend.contents(any_store_url)
    with pytest.raises(StoreError, match="seats exceeded"):
        run_apply(open_any_store(any_store_url), replace(plan, actions=actions), RESELLER)
    assert any_backend.contents(any_store_url) == before


# --- the seats rule, kept by the database itself (the SQL stores) ----------------------------------
# Raw SQL on a plain connection of each backend's own driver, with no reconciler code in the way: a
# statement that leaves a serial with more users than seats is refused whole, whoever runs it.

#: What each driver raises when the database refuses a statement for the seats.
SEATS_REFUSED = (sqlite3.IntegrityError, psycopg.errors.CheckViolation)
#: Users of ACCOUNT but `{0}`, each granted `{1}`, in one statement.
GRANT_ALL_BUT = (
    "INSERT INTO access (user_email, serial, download, direct_download) "
    "SELECT email, '{1}', false, false FROM users WHERE email <> '{0}'"
)


def grant(user: str, serial: str) -> str:
    return (
        "INSERT INTO access (user_email, serial, download, direct_download) "
        f"VALUES ('{user}', '{serial}', false, false)"
    )


def assigned(backend: Backend, url: str) -> dict[str, int]:
    """Each serial's count of users, as the store keeps it."""
    return dict(backend.query(url, "SELECT number, assigned FROM serials"))


def counted(backend: Backend, url: str) -> dict[str, int]:
    """Each serial's users, counted."""
    return dict(
        backend.query(
            url,
            "SELECT s.number, COUNT(a.serial) FROM serials s LEFT JOIN access a ON a.serial = s.number "
            "GROUP BY s.number",
        )
    )


def test_the_database_itself_refuses_a_user_past_the_seats(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)  # 399-12345679: 1 seat, Carol's
    before = backend.contents(store_url)
    with pytest.raises(SEATS_REFUSED, match="seats exceeded"):
        backend.query(store_url, grant("alice@acme.example", "399-12345679"))
    assert backend.contents(store_url) == before


def test_the_database_itself_refuses_many_rows_past_the_seats_whole(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)  # 399-12345678: 2 seats, Bob's; Alice's and Carol's would make 3
    before = backend.contents(store_url)
    with pytest.raises(SEATS_REFUSED, match="seats exceeded"):
        backend.query(store_url, GRANT_ALL_BUT.format("bob@acme.example", "399-12345678"))
    assert backend.contents(store_url) == before
    if backend.name == "postgresql":  # a bulk load too
        with (
            psycopg.connect(store_url, autocommit=True) as db,
            pytest.raises(psycopg.errors.CheckViolation, match="seats exceeded") as raised,
            db.cursor() as cursor,
            cursor.copy("COPY access (user_email, serial, download, direct_download) FROM STDIN") as copy,
        ):
            for user in ("alice@acme.example", "carol@acme.example"):
                copy.write_row((user, "399-12345678", False, False))
        assert raised.value.diag.message_detail == "serial 399-12345678 has more users than seats"
        assert backend.contents(store_url) == before


def test_the_database_itself_refuses_fewer_seats_than_users(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    backend.query(store_url, grant("alice@acme.example", "399-12345678"))  # both its seats taken
    before = backend.contents(store_url)
    with pytest.raises(SEATS_REFUSED, match="seats exceeded"):
        backend.query(store_url, "UPDATE serials SET seats = 1 WHERE number = '399-12345678'")
    assert backend.contents(store_url) == before
    backend.query(store_url, "UPDATE serials SET seats = 3 WHERE number = '399-12345678'")
    assert assigned(backend, store_url) == {"399-12345678": 2, "399-12345679": 1}


def test_the_database_counts_a_seat_left_and_taken_again(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    backend.query(store_url, "DELETE FROM access WHERE user_email = 'carol@acme.example'")
    backend.query(store_url, grant("alice@acme.example", "399-12345679"))
    assert assigned(backend, store_url) == {"399-12345678": 1, "399-12345679": 1}
    # Many rows at once, within the seats: Alice's and Carol's in Bob's place.
    backend.query(store_url, "DELETE FROM access WHERE serial = '399-12345678'")
    backend.query(store_url, GRANT_ALL_BUT.format("bob@acme.example", "399-12345678"))
    assert (
        assigned(backend, store_url) == {"399-12345678": 2, "399-12345679": 1} == counted(backend, store_url)
    )
    users = open_any_store(store_url).snapshot().state.users
    assert {(u.email, a.serial) for u in users for a in u.access} == {
        ("alice@acme.example", "399-12345678"),
        ("alice@acme.example", "399-12345679"),
        ("carol@acme.example", "399-12345678"),
    }
    # Everything at once (TRUNCATE fires no DELETE trigger on PostgreSQL: it has its own).
    backend.query(store_url, "TRUNCATE access" if backend.name == "postgresql" else "DELETE FROM access")
    assert assigned(backend, store_url) == {"399-12345678": 0, "399-12345679": 0}


def test_the_database_counts_a_grant_moved_to_another_serial(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    backend.query(
        store_url, "UPDATE access SET serial = '399-12345678' WHERE user_email = 'carol@acme.example'"
    )
    assert assigned(backend, store_url) == {"399-12345678": 2, "399-12345679": 0}
    backend.query(store_url, grant("alice@acme.example", "399-12345679"))
    before = backend.contents(store_url)
    with pytest.raises(SEATS_REFUSED, match="seats exceeded"):
        backend.query(
            store_url, "UPDATE access SET serial = '399-12345679' WHERE user_email = 'carol@acme.example'"
        )
    assert backend.contents(store_url) == before
    # A grant that moves to another user (a change of e-mail) stays counted once.
    backend.query(
        store_url,
        "INSERT INTO users (email, first_name, last_name, status, added_at) "
        "VALUES ('caroline@acme.example', 'Caroline', 'Smith', 'invited', '2025-01-01T00:00:00+00:00')",
    )
    backend.query(
        store_url,
        "UPDATE access SET user_email = 'caroline@acme.example' WHERE user_email = 'carol@acme.example'",
    )
    assert (
        assigned(backend, store_url) == {"399-12345678": 2, "399-12345679": 1} == counted(backend, store_url)
    )


def _action(kind: Kind, target: dict[str, str], after: dict[str, object] | None = None) -> Action:
    return Action(kind, target, None, after)


#: Actions each store refuses on ACCOUNT, as its foreign keys, keys and checks do.
REFUSED = {
    "access for an unknown user": _action(
        Kind.ACCESS_GRANT,
        {"contract": CONTRACT, "serial": "399-12345678", "user": "zed@acme.example"},
        {"download": False, "via": ["direct"]},
    ),
    "access to an unknown serial": _action(
        Kind.ACCESS_GRANT,
        {"contract": CONTRACT, "serial": "399-00000000", "user": "alice@acme.example"},
        {"download": False, "via": ["direct"]},
    ),
    "a serial of an unknown contract": _action(
        Kind.SERIAL_CREATE,
        {"contract": "110000000000", "serial": "399-00000001"},
        {"product": "Inventor", "seats": 1, "group": None},
    ),
    "a coordinator who is not a user": _action(
        Kind.COORDINATOR_ADD,
        {"contract": CONTRACT, "coordinator": "zed@acme.example"},
        {"manage_users": False, "shipping": None},
    ),
    "a serial's coordinator who is not a coordinator of its contract": _action(
        Kind.SERIAL_ASSIGN_COORDINATOR,
        {"contract": CONTRACT, "serial": "399-12345679"},
        {"coordinator": "carol@acme.example"},
    ),
    "a new contract's manager who is not a user": _action(
        Kind.CONTRACT_CREATE, {"contract": "110000000000"}, {"manager": "zed@acme.example"}
    ),
    "a contract manager who is not a user": _action(
        Kind.CONTRACT_MANAGER_CHANGE, {"contract": CONTRACT}, {"manager": "zed@acme.example"}
    ),
    "removing a contract's manager": _action(Kind.USER_REMOVE, {"user": "alice@acme.example"}),
    "removing a coordinator's user": _action(Kind.USER_REMOVE, {"user": "bob@acme.example"}),
    "removing a user with access": _action(Kind.USER_REMOVE, {"user": "carol@acme.example"}),
    "removing a serial with access": _action(
        Kind.SERIAL_REMOVE, {"contract": CONTRACT, "serial": "399-12345679"}
    ),
    "removing a contract with serials": _action(Kind.CONTRACT_REMOVE, {"contract": CONTRACT}),
    "removing a coordinator still given a serial": _action(
        Kind.COORDINATOR_REMOVE, {"contract": CONTRACT, "coordinator": "bob@acme.example"}
    ),
    "adding a user twice": _action(
        Kind.USER_ADD, {"user": "alice@acme.example"}, {"first_name": "A", "last_name": "B"}
    ),
    "a serial of no seats": _action(
        Kind.SERIAL_SEATS_CHANGE, {"contract": CONTRACT, "serial": "399-12345678"}, {"seats": 0}
    ),
}


@pytest.mark.parametrize("action", REFUSED.values(), ids=REFUSED.keys())
def test_what_the_database_enforces_is_refused_and_changes_nothing(
    any_backend: Backend, any_store_url: str, action: Action
) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    plan = plan_yaml(any_store_url, ACCOUNT)
    before = any_backend.contents(any_store_url)
    # One that the store takes first, to be undone.
    fine = _action(Kind.USER_UPDATE, {"user": "carol@acme.example"}, {"first_name": "C", "last_name": "S"})
    with pytest.raises(StoreError):
        run_apply(open_any_store(any_store_url), replace(plan, actions=(fine, action)), RESELLER)
    assert any_backend.contents(any_store_url) == before


def test_a_change_or_removal_of_a_record_the_store_lacks_changes_nothing(any_store_url: str) -> None:
    # As a SQL UPDATE or DELETE that matches no row: the planner never makes one, but all stores agree.
    apply_yaml(any_store_url, ACCOUNT)
    store = open_any_store(any_store_url)
    before = store.snapshot().state
    ghost = {"user": "zed@acme.example"}
    actions = (
        _action(Kind.USER_UPDATE, ghost, {"first_name": "Z", "last_name": "Z"}),
        _action(Kind.USER_REMOVE, ghost),
    )
    store.apply(Transaction(replace(plan_yaml(any_store_url, ACCOUNT), actions=actions)))
    assert store.snapshot().state == before


def test_an_empty_plan_leaves_the_revision_alone(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    assert run_apply(open_any_store(any_store_url), plan_yaml(any_store_url, ACCOUNT), RESELLER).revision == 1
    assert open_any_store(any_store_url).snapshot().revision == 1
    assert len(open_any_store(any_store_url).history(10)) == 1


def test_progress_hears_of_every_action_written(any_store_url: str) -> None:
    plan = plan_yaml(any_store_url, ACCOUNT)
    heard: list[tuple[int, int]] = []
    open_any_store(any_store_url).apply(
        Transaction(plan, progress=lambda done, total: heard.append((done, total)))
    )
    assert heard[-1] == (10, 10)
    assert [done for done, _ in heard] == sorted({done for done, _ in heard})


# --- the outbox --------------------------------------------------------------------------------------


def messages(*names: str) -> list[Message]:
    return [
        Message(f"<{name}@test>", f"{name}@acme.example", f"About {name}", "text", "<p>html</p>", "ops@test")
        for name in names
    ]


def queue(url: str, *names: str) -> Store:
    """The store at `url` with a message to each of `names` queued by an apply of no actions."""
    store = open_any_store(url)
    store.apply(Transaction(empty_plan(store), messages(*names)))
    return store


def empty_plan(store: Store) -> Plan:
    snapshot = store.snapshot()
    return Plan(snapshot.lineage, snapshot.revision, RESELLER, "")


NAMES = ("ann", "ben", "cat", "dan", "eve")


def test_an_apply_queues_its_messages_oldest_first(any_store_url: str) -> None:
    plan = plan_yaml(any_store_url, ACCOUNT)
    store = open_any_store(any_store_url)
    store.apply(Transaction(plan, messages(*NAMES)))
    entries = store.outbox()
    assert [e.message for e in entries] == messages(*NAMES)
    assert [e.id for e in entries] == sorted({e.id for e in entries})
    assert {(e.revision, e.attempts, e.last_error, e.sent_at, e.queued) for e in entries} == {
        (1, 0, None, None, True)
    }
    assert store.outbox(queued_only=True) == entries
    assert store.queued_count() == 5


def test_a_message_already_in_the_outbox_is_not_added_twice(any_store_url: str) -> None:
    store = queue(any_store_url, *NAMES)
    before = store.outbox()
    store.apply(Transaction(empty_plan(store), messages("ann", "fay", "fay", "ben")))
    after = store.outbox()
    assert after[:5] == before
    assert [e.message.to for e in after[5:]] == ["fay@acme.example"]
    assert store.queued_count() == 6


def test_an_apply_says_which_messages_and_requests_it_wrote(any_store_url: str) -> None:
    store = queue(any_store_url, "ann", "ben")
    ask = Request("key-1", "alice@acme.example", Kind.SERIAL_CREATE, {"serial": "1"}, None, {}, (RESELLER,))
    first = store.apply(Transaction(empty_plan(store), requests=[ask]))
    assert (first.revision, first.queued, first.recorded) == (0, (), (ask,))
    other = replace(ask, key="key-2")
    written = store.apply(
        Transaction(empty_plan(store), messages("ann", "fay", "fay", "ben", "gus"), [ask, other, other])
    )
    assert written.revision == 0
    assert written.queued == tuple(messages("fay", "gus")), "only what the outbox did not hold, once each"
    assert written.recorded == (other,)
    assert [e.message for e in store.outbox()] == messages("ann", "ben", "fay", "gus")
    plan = plan_yaml(any_store_url, ACCOUNT)
    applied = store.apply(Transaction(plan, messages("hal")))
    assert (applied.revision, applied.queued, applied.recorded) == (1, tuple(messages("hal")), ())


def test_a_claim_holds_the_oldest_queued_messages_until_its_lease_ends(any_store_url: str) -> None:
    store = queue(any_store_url, *NAMES)
    ids = [e.id for e in store.outbox()]
    assert [e.id for e in store.claim_queued(2, 600)] == ids[:2]
    assert [e.id for e in store.claim_queued(10, 600)] == ids[2:], "held messages are skipped"
    assert store.claim_queued(10, 600) == []
    assert store.queued_count() == 5, "a claimed message is still queued"
    assert [e.message for e in store.outbox(queued_only=True)] == messages(*NAMES)


def test_a_claim_takes_only_messages_after_the_given_id(any_store_url: str) -> None:
    store = queue(any_store_url, *NAMES)
    ids = [e.id for e in store.outbox()]
    assert [e.id for e in store.claim_queued(2, 600, after_id=ids[1])] == ids[2:4]
    assert [e.id for e in store.claim_queued(10, 600)] == [ids[0], ids[1], ids[4]]


def test_a_lease_that_ran_out_frees_its_messages(any_store_url: str) -> None:
    store = queue(any_store_url, *NAMES)
    ids = [e.id for e in store.outbox()]
    assert [e.id for e in store.claim_queued(3, 0)] == ids[:3]
    time.sleep(0.01)
    assert [e.id for e in store.claim_queued(10, 600)] == ids


def test_a_sent_message_is_never_claimed_again(any_store_url: str) -> None:
    store = queue(any_store_url, *NAMES)
    [first, *_] = store.claim_queued(5, 0)
    store.mark_sent(first.id)
    [sent] = [e for e in store.outbox() if e.id == first.id]
    assert (sent.queued, sent.attempts, sent.last_error) == (False, 0, None)
    assert sent.sent_at is not None and sent.sent_at >= sent.created_at
    assert store.queued_count() == 4
    assert first.id not in {e.id for e in store.outbox(queued_only=True)}
    time.sleep(0.01)
    assert first.id not in {e.id for e in store.claim_queued(10, 600)}


def test_a_failed_message_is_counted_and_freed_and_stays_queued(any_store_url: str) -> None:
    store = queue(any_store_url, *NAMES)
    [first] = store.claim_queued(1, 600)

    def entry() -> tuple[object, ...]:
        [found] = [e for e in store.outbox() if e.id == first.id]
        return found.queued, found.attempts, found.last_error

    store.mark_failed(first.id, "the server refused it")
    assert entry() == (True, 1, "the server refused it")
    assert [e.id for e in store.claim_queued(1, 600)] == [first.id], "freed at once"
    store.mark_failed(first.id, None)  # not tried: freed, not counted
    assert entry() == (True, 1, "the server refused it")
    assert [e.id for e in store.claim_queued(1, 600)] == [first.id]
    store.mark_failed(first.id, "refused again")
    assert entry() == (True, 2, "refused again")
    store.mark_sent(first.id)
    assert entry() == (False, 2, None), "sending clears the error"
    store.mark_failed(first.id, "too late")
    assert entry() == (False, 2, None), "a sent message is not failed afterwards"
    assert store.queued_count() == 4


def test_an_uncertain_message_is_never_claimed_until_it_is_queued_again(any_store_url: str) -> None:
    store = queue(any_store_url, *NAMES)
    first, second = store.claim_queued(2, 600)
    store.mark_uncertain(first.id, "no answer after the whole message went out")
    store.mark_failed(second.id, None)
    [found] = store.uncertain()
    assert (found.id, found.status, found.queued, found.attempts, found.last_error) == (
        first.id,
        "uncertain",
        False,
        1,
        "no answer after the whole message went out",
    )
    assert found.uncertain_since is not None and found.sent_at is None
    time.sleep(0.01)
    assert first.id not in {e.id for e in store.claim_queued(10, 0)}, "released, and still not claimed"
    assert store.queued_count() == 4
    assert first.id not in {e.id for e in store.outbox(queued_only=True)}
    assert store.requeue_uncertain([second.id, first.id, first.id, 999]) == [first.id], "only the uncertain"
    assert store.uncertain() == []
    [again] = [e for e in store.outbox() if e.id == first.id]
    assert (again.status, again.message) == ("queued", first.message), "the same message, queued again"
    time.sleep(0.01)
    assert first.id in {e.id for e in store.claim_queued(10, 600)}


def test_a_sent_message_is_never_made_uncertain_nor_queued_again(any_store_url: str) -> None:
    store = queue(any_store_url, "ann")
    [entry] = store.claim_queued(1, 600)
    store.mark_sent(entry.id)
    store.mark_uncertain(entry.id, "too late")
    assert store.requeue_uncertain([entry.id]) == []
    [after] = store.outbox()
    assert (after.status, after.last_error) == ("sent", None)


def test_the_counts_tell_messages_a_delivery_holds_from_those_nobody_holds(any_store_url: str) -> None:
    store = queue(any_store_url, *NAMES)
    assert store.outbox_counts() == OutboxCounts(5, 0, None)
    before = datetime.now(UTC).isoformat(timespec="milliseconds")
    store.claim_queued(2, 600)
    counts = store.outbox_counts()
    assert (counts.queued, counts.held) == (3, 2)
    assert counts.held_until is not None and counts.held_until > before
    [lapsing] = store.claim_queued(1, 0)
    time.sleep(0.01)
    assert (store.outbox_counts().queued, store.outbox_counts().held) == (3, 2), "a lease run out holds none"
    store.mark_uncertain(lapsing.id, "no answer")
    assert (store.outbox_counts().queued, store.outbox_counts().held) == (2, 2), "nor does an uncertain one"


def test_two_claimants_at_once_never_get_the_same_message(any_store_url: str) -> None:
    store = queue(any_store_url, *(f"u{i}" for i in range(120)))
    got: list[list[int]] = [[], []]

    def claim(mine: list[int]) -> None:
        after = 0
        while batch := open_any_store(any_store_url).claim_queued(7, 600, after):
            mine.extend(e.id for e in batch)
            after = batch[-1].id

    threads = [threading.Thread(target=claim, args=(mine,)) for mine in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(got[0]) & set(got[1])
    assert sorted(got[0] + got[1]) == [e.id for e in store.outbox()]


def test_a_refused_apply_queues_nothing(any_store_url: str) -> None:
    old = plan_yaml(any_store_url, ACCOUNT)
    apply_yaml(any_store_url, ACCOUNT)
    store = open_any_store(any_store_url)
    before = store.outbox()
    with pytest.raises(StalePlan):
        store.apply(Transaction(old, messages("ann")))
    bad = _action(Kind.USER_REMOVE, {"user": "alice@acme.example"})
    with pytest.raises(StoreError):
        store.apply(Transaction(replace(plan_yaml(any_store_url, ACCOUNT), actions=(bad,)), messages("ben")))
    assert store.outbox() == before


# --- adopting an account (apply --adopt) -----------------------------------------------------------


def test_adopting_records_the_account_as_there_already(any_store_url: str) -> None:
    store = open_any_store(any_store_url)
    plan = plan_yaml(any_store_url, ACCOUNT)
    assert any(action.notifications for action in plan.actions)  # applied, it would tell people
    result = run_apply(store, plan, RESELLER, ApplyOptions(adopt=True))
    assert (result.revision, result.messages, result.requests) == (1, (), ())
    snapshot = store.snapshot()
    assert snapshot.user_status == {
        "alice@acme.example": "active",
        "bob@acme.example": "active",
        "carol@acme.example": "active",
    }
    assert store.outbox() == []
    [adopted] = store.history(10)
    assert (adopted.revision, adopted.actor, adopted.adopted) == (1, RESELLER, True)
    assert [c.kind for c in adopted.changes] == [a.kind for a in plan.actions]
    assert all(change.adopted for change in adopted.changes)
    assert plan_yaml(any_store_url, ACCOUNT).actions == ()
    # What comes after an adoption is applied as ever: invited, told, and not marked adopted.
    apply_yaml(any_store_url, ACCOUNT + "  - {email: dan@acme.example, first_name: Dan, last_name: Lee}\n")
    assert store.snapshot().user_status["dan@acme.example"] == "invited"
    assert [m.message.to for m in store.outbox()] == ["dan@acme.example"]
    latest, first = store.history(10)
    assert (latest.adopted, [c.adopted for c in latest.changes], first.adopted) == (False, [False], True)


def test_adopting_into_a_store_with_an_account_is_refused_unchanged(
    any_backend: Backend, any_store_url: str
) -> None:
    store = open_any_store(any_store_url)
    # Both planned at revision 0, as two adopts at once would be; the first one in wins.
    first, second = plan_yaml(any_store_url, ACCOUNT), plan_yaml(any_store_url, ACCOUNT)
    store.apply(Transaction(first, adopt=True))
    before = any_backend.contents(any_store_url)
    with pytest.raises(AdoptRefused) as raised:
        store.apply(Transaction(second, adopt=True))  # the check is the store's own, in its transaction
    assert str(raised.value) == (
        f"not adopted: {store.url} already holds an account (3 users, 1 contract), and --adopt records "
        "one only into a store that has none; nothing was changed. Plan and apply the YAML without "
        "--adopt (each new user is then invited), or adopt it into a new store made with "
        "`reconciler init --reseller EMAIL`"
    )
    assert any_backend.contents(any_store_url) == before


def test_a_store_with_only_a_team_holds_an_account(any_store_url: str) -> None:
    apply_yaml(any_store_url, "version: 1\nteams:\n  - name: Design\n")
    store = open_any_store(any_store_url)
    with pytest.raises(AdoptRefused, match=r"already holds an account \(1 team\)"):
        store.apply(Transaction(plan_yaml(any_store_url, ACCOUNT), adopt=True))


def test_only_a_reseller_adopts(any_backend: Backend, any_store_url: str) -> None:
    store = open_any_store(any_store_url)
    plan = plan_yaml(any_store_url, ACCOUNT, actor="alice@acme.example")
    before = any_backend.contents(any_store_url)
    with pytest.raises(AdoptRefused) as raised:
        # The actor as typed, not as a plan of ours has it: the store compares it in lower case.
        store.apply(Transaction(replace(plan, actor="Alice@acme.example"), adopt=True))
    assert str(raised.value) == (
        f"not adopted: alice@acme.example is not a reseller of this store ({RESELLER}), and only a "
        "reseller may record an account as already existing; nothing was changed. Ask a reseller to "
        "run `reconciler apply PATH... --adopt`"
    )
    assert any_backend.contents(any_store_url) == before


def test_two_adopts_at_once_one_refuses(any_backend: Backend, any_store_url: str) -> None:
    """Each thread plans against the empty store and adopts; the store lets one in and refuses the other."""
    plans = [plan_yaml(any_store_url, ACCOUNT), plan_yaml(any_store_url, ACCOUNT)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def adopt(plan: Plan) -> None:
        start.wait()
        try:
            open_any_store(any_store_url).apply(Transaction(plan, adopt=True))
            outcomes.append("adopted")
        except AdoptRefused as refused:
            outcomes.append(str(refused).split(",")[0])

    threads = [threading.Thread(target=adopt, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    where = open_any_store(any_store_url).url
    assert sorted(outcomes) == ["adopted", f"not adopted: {where} already holds an account (3 users"]
    assert [a.revision for a in open_any_store(any_store_url).history(10)] == [1]
