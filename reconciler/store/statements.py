"""Every statement the SQL stores run, shared by both; the few that differ by dialect are keyed by it.

`WRITES` is each action kind's write statements, each with its parameters:
one entry per kind of `kinds.Kind`, most of them one statement. Statements
use `?` placeholders; a store whose driver wants another style converts
them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from reconciler.core.kinds import Kind
from reconciler.core.shapes import direct_download

Params = tuple[Any, ...]
#: The parameters of one action's statement, from its target, its `after` and the time of the apply.
ParamsOf = Callable[[Mapping[str, str], Mapping[str, Any], str], Params]


def _shipping(record: Mapping[str, Any]) -> Params:
    shipping = record["shipping"] or {}
    return shipping.get("name"), shipping.get("address"), shipping.get("country")


@cache
def plain_insert(statement: str) -> tuple[str, str] | None:
    """The table and the list of columns of an INSERT whose values are all parameters (which a store
    may load in bulk: PostgreSQL by COPY), else None."""
    found = re.fullmatch(r"INSERT INTO (\w+) \(([^)]*)\) VALUES \(\?(?:, \?)*\)", statement)
    return (found[1], found[2]) if found else None


#: A statement, and its parameters for one action.
Write = tuple[str, ParamsOf]


#: A new user, every value a parameter, the status too: PostgreSQL loads such an INSERT by COPY.
_USER_INSERT = (
    "INSERT INTO users (email, first_name, last_name, status, added_at, protected, directory_id, expires) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _new_user(status: str) -> ParamsOf:
    """The parameters of `_USER_INSERT` for a user added with `status`."""

    def row(t: Mapping[str, str], new: Mapping[str, Any], now: str) -> Params:
        return (
            t["user"],
            new["first_name"],
            new["last_name"],
            status,
            now,
            new.get("protect", False),
            new.get("id"),
            new.get("expires"),
        )

    return row


#: kind -> its statement, for the kinds that write one (all but a change of e-mail).
_ONE: dict[Kind, Write] = {
    Kind.USER_ADD: (_USER_INSERT, _new_user("invited")),
    Kind.USER_PROTECT: (
        "UPDATE users SET protected = ? WHERE email = ?",
        lambda t, new, now: (new["protect"], t["user"]),
    ),
    Kind.USER_UPDATE: (
        "UPDATE users SET first_name = ?, last_name = ?, directory_id = ?, expires = ? WHERE email = ?",
        lambda t, new, now: (
            new["first_name"],
            new["last_name"],
            new.get("id"),
            new.get("expires"),
            t["user"],
        ),
    ),
    Kind.USER_REMOVE: ("DELETE FROM users WHERE email = ?", lambda t, new, now: (t["user"],)),
    Kind.CONTRACT_CREATE: (
        "INSERT INTO contracts (number, manager, protected, ends) VALUES (?, ?, ?, ?)",
        lambda t, new, now: (t["contract"], new["manager"], new.get("protect", False), new.get("ends")),
    ),
    Kind.CONTRACT_PROTECT: (
        "UPDATE contracts SET protected = ? WHERE number = ?",
        lambda t, new, now: (new["protect"], t["contract"]),
    ),
    Kind.CONTRACT_ENDS_CHANGE: (
        "UPDATE contracts SET ends = ? WHERE number = ?",
        lambda t, new, now: (new["ends"], t["contract"]),
    ),
    Kind.CONTRACT_MANAGER_CHANGE: (
        "UPDATE contracts SET manager = ? WHERE number = ?",
        lambda t, new, now: (new["manager"], t["contract"]),
    ),
    Kind.CONTRACT_REMOVE: ("DELETE FROM contracts WHERE number = ?", lambda t, new, now: (t["contract"],)),
    Kind.COORDINATOR_ADD: (
        "INSERT INTO coordinators (contract, email, manage_users, shipping_name, shipping_address, "
        "shipping_country) VALUES (?, ?, ?, ?, ?, ?)",
        lambda t, new, now: (
            t["contract"],
            t["coordinator"],
            new["manage_users"],
            *_shipping(new),
        ),
    ),
    Kind.COORDINATOR_UPDATE: (
        "UPDATE coordinators SET manage_users = ?, shipping_name = ?, shipping_address = ?, "
        "shipping_country = ? WHERE contract = ? AND email = ?",
        lambda t, new, now: (
            new["manage_users"],
            *_shipping(new),
            t["contract"],
            t["coordinator"],
        ),
    ),
    Kind.COORDINATOR_REMOVE: (
        "DELETE FROM coordinators WHERE contract = ? AND email = ?",
        lambda t, new, now: (t["contract"], t["coordinator"]),
    ),
    Kind.SERIAL_CREATE: (
        "INSERT INTO serials (number, contract, product, seats, group_name, protected) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        lambda t, new, now: (
            t["serial"],
            t["contract"],
            new["product"],
            new["seats"],
            new["group"],
            new.get("protect", False),
        ),
    ),
    Kind.SERIAL_PROTECT: (
        "UPDATE serials SET protected = ? WHERE number = ?",
        lambda t, new, now: (new["protect"], t["serial"]),
    ),
    Kind.SERIAL_REMOVE: ("DELETE FROM serials WHERE number = ?", lambda t, new, now: (t["serial"],)),
    Kind.SERIAL_SEATS_CHANGE: (
        "UPDATE serials SET seats = ? WHERE number = ?",
        lambda t, new, now: (new["seats"], t["serial"]),
    ),
    Kind.SERIAL_PRODUCT_CHANGE: (
        "UPDATE serials SET product = ? WHERE number = ?",
        lambda t, new, now: (new["product"], t["serial"]),
    ),
    Kind.SERIAL_RENAME_GROUP: (
        "UPDATE serials SET group_name = ? WHERE number = ?",
        lambda t, new, now: (new["group"], t["serial"]),
    ),
    Kind.SERIAL_ASSIGN_COORDINATOR: (
        "UPDATE serials SET coordinator = ? WHERE number = ?",
        lambda t, new, now: (new["coordinator"], t["serial"]),
    ),
    Kind.SERIAL_UNASSIGN_COORDINATOR: (
        "UPDATE serials SET coordinator = NULL WHERE number = ?",
        lambda t, new, now: (t["serial"],),
    ),
    Kind.TEAM_CREATE: (
        "INSERT INTO teams (name, description) VALUES (?, ?)",
        lambda t, new, now: (t["team"], new["description"]),
    ),
    Kind.TEAM_UPDATE: (
        "UPDATE teams SET description = ? WHERE name = ?",
        lambda t, new, now: (new["description"], t["team"]),
    ),
    Kind.TEAM_REMOVE: ("DELETE FROM teams WHERE name = ?", lambda t, new, now: (t["team"],)),
    Kind.TEAM_MEMBER_ADD: (
        "INSERT INTO team_members (team, user_email, expires) VALUES (?, ?, ?)",
        lambda t, new, now: (t["team"], t["user"], new.get("expires")),
    ),
    Kind.TEAM_MEMBER_UPDATE: (
        "UPDATE team_members SET expires = ? WHERE team = ? AND user_email = ?",
        lambda t, new, now: (new.get("expires"), t["team"], t["user"]),
    ),
    Kind.TEAM_MEMBER_REMOVE: (
        "DELETE FROM team_members WHERE team = ? AND user_email = ?",
        lambda t, new, now: (t["team"], t["user"]),
    ),
    Kind.TEAM_ACCESS_GRANT: (
        "INSERT INTO team_access (team, serial, download) VALUES (?, ?, ?)",
        lambda t, new, now: (t["team"], t["serial"], new["download"]),
    ),
    Kind.TEAM_ACCESS_UPDATE: (
        "UPDATE team_access SET download = ? WHERE team = ? AND serial = ?",
        lambda t, new, now: (new["download"], t["team"], t["serial"]),
    ),
    Kind.TEAM_ACCESS_REVOKE: (
        "DELETE FROM team_access WHERE team = ? AND serial = ?",
        lambda t, new, now: (t["team"], t["serial"]),
    ),
    # `expires` is the user's own grant's last day: an access record names it only where that has one.
    Kind.ACCESS_GRANT: (
        "INSERT INTO access (user_email, serial, download, direct_download, expires) VALUES (?, ?, ?, ?, ?)",
        lambda t, new, now: (
            t["user"],
            t["serial"],
            new["download"],
            direct_download(new),
            new.get("expires"),
        ),
    ),
    Kind.ACCESS_UPDATE: (
        "UPDATE access SET download = ?, direct_download = ?, expires = ? "
        "WHERE user_email = ? AND serial = ?",
        lambda t, new, now: (
            new["download"],
            direct_download(new),
            new.get("expires"),
            t["user"],
            t["serial"],
        ),
    ),
    Kind.ACCESS_REVOKE: (
        "DELETE FROM access WHERE user_email = ? AND serial = ?",
        lambda t, new, now: (t["user"], t["serial"]),
    ),
}


def _moved(t: Mapping[str, str], new: Mapping[str, Any], now: str) -> Params:
    """The new address, then the old: what most statements of a change of e-mail take."""
    return new["email"], t["user"]


#: A user's change of e-mail: the user is copied to the new address, everything that refers to them
#: moves there, and the old row goes. The foreign keys are checked at each statement (SQLite's, and
#: PostgreSQL's, which are not deferrable), so nothing ever refers to an address that is not there.
#: The audit log, the outbox and the requests keep addresses as history, and are left as they were.
_CHANGE_EMAIL: tuple[Write, ...] = (
    (
        "INSERT INTO users (email, first_name, last_name, status, added_at, protected, expires) "
        "SELECT ?, first_name, last_name, status, added_at, protected, expires FROM users WHERE email = ?",
        _moved,
    ),
    ("UPDATE contracts SET manager = ? WHERE manager = ?", _moved),
    (
        "INSERT INTO coordinators (contract, email, manage_users, shipping_name, shipping_address, "
        "shipping_country) SELECT contract, ?, manage_users, shipping_name, shipping_address, "
        "shipping_country FROM coordinators WHERE email = ?",
        _moved,
    ),
    ("UPDATE serials SET coordinator = ? WHERE coordinator = ?", _moved),
    ("DELETE FROM coordinators WHERE email = ?", lambda t, new, now: (t["user"],)),
    # An UPDATE, not a copy: the seats trigger counts what is inserted.
    ("UPDATE access SET user_email = ? WHERE user_email = ?", _moved),
    ("UPDATE team_members SET user_email = ? WHERE user_email = ?", _moved),
    ("DELETE FROM users WHERE email = ?", lambda t, new, now: (t["user"],)),
    # Unique: set once the old row, which held it, is gone.
    ("UPDATE users SET directory_id = ? WHERE email = ?", lambda t, new, now: (new["id"], new["email"])),
)

#: kind -> its statements, in the order they run, each for every action of a run of that kind before
#: the next (the actions of a run are of distinct records, and no two changes of e-mail chain).
WRITES: dict[Kind, tuple[Write, ...]] = {
    **{kind: (write,) for kind, write in _ONE.items()},
    Kind.USER_CHANGE_EMAIL: _CHANGE_EMAIL,
}

#: What `apply --adopt` writes instead of WRITES: a user already in the portal is active, not invited.
ADOPT_WRITES: dict[Kind, tuple[Write, ...]] = {
    Kind.USER_ADD: ((_USER_INSERT, _new_user("active")),),
}

AUDIT = (
    "INSERT INTO audit_log (revision, actor, at, kind, target, before, after, adopted, subject) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: Where the apply that made a revision came from (JSON of a Source).
SOURCE_INSERT = "INSERT INTO sources (revision, source) VALUES (?, ?)"

#: How many users, contracts and teams the store holds: an account, to `apply --adopt`.
ACCOUNT_COUNTS = (
    "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM contracts), (SELECT COUNT(*) FROM teams)"
)

META_INSERT = "INSERT INTO meta (key, value) VALUES (?, ?)"
RESELLER_INSERT = "INSERT INTO resellers (email) VALUES (?)"
RESELLER_DELETE = "DELETE FROM resellers WHERE email = ?"
REVISION_UPDATE = "UPDATE meta SET value = ? WHERE key = 'revision'"
USER_ACTIVATE = "UPDATE users SET status = 'active' WHERE email = ?"
#: The status of each of the `{}` users the store holds.
USER_STATUSES = "SELECT email, status FROM users WHERE email IN ({})"

#: Requests, oldest first; `REQUESTS_OPEN` only those no apply has closed.
_REQUEST_COLUMNS = (
    "key, requester, kind, target, before, after, requested_of, revision, requested_at, outcome, "
    "closed_revision, closed_at"
)
REQUESTS_ALL = f"SELECT {_REQUEST_COLUMNS} FROM requests ORDER BY requested_at, key"
REQUESTS_OPEN = f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE outcome IS NULL ORDER BY requested_at, key"

READS = {
    "meta": "SELECT key, value FROM meta",
    "resellers": "SELECT email FROM resellers ORDER BY email",
    "users": (
        "SELECT email, first_name, last_name, status, added_at, protected, directory_id, expires FROM users "
        "ORDER BY email"
    ),
    "contracts": "SELECT number, manager, protected, ends FROM contracts ORDER BY number",
    "coordinators": (
        "SELECT contract, email, manage_users, shipping_name, shipping_address, shipping_country "
        "FROM coordinators ORDER BY contract, email"
    ),
    "serials": (
        "SELECT number, contract, product, seats, group_name, coordinator, protected "
        "FROM serials ORDER BY number"
    ),
    "access": (
        "SELECT user_email, serial, download, direct_download, expires FROM access "
        "ORDER BY user_email, serial"
    ),
    "teams": "SELECT name, description FROM teams ORDER BY name",
    "team_members": "SELECT team, user_email, expires FROM team_members ORDER BY team, user_email",
    "team_access": "SELECT team, serial, download FROM team_access ORDER BY team, serial",
    "open_requests": REQUESTS_OPEN,
}

#: The outbox and the requests take only what they do not hold yet (`OUTBOX_HELD`, `REQUESTS_HELD`,
#: read under the apply lock, so nothing comes in between): plain INSERTs, which PostgreSQL loads by COPY.
OUTBOX_INSERT = (
    "INSERT INTO outbox (message_id, kind, revision, recipient, subject, body_text, body_html, created_at, "
    "sender) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: Which of the `{}` message ids (or request keys) the store holds already.
OUTBOX_HELD = "SELECT message_id FROM outbox WHERE message_id IN ({})"
REQUESTS_HELD = "SELECT key FROM requests WHERE key IN ({})"
REQUEST_INSERT = (
    "INSERT INTO requests (key, revision, requester, requested_at, kind, target, before, after, "
    "requested_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_OUTBOX_COLUMNS = (
    "id, message_id, kind, revision, recipient, subject, body_text, body_html, sender, created_at, "
    "attempts, last_error, sent_at, uncertain_since"
)
#: A message `notify` sends: neither sent nor uncertain.
_QUEUED = "sent_at IS NULL AND uncertain_since IS NULL"
OUTBOX_ALL = f"SELECT {_OUTBOX_COLUMNS} FROM outbox ORDER BY id"
OUTBOX_QUEUED = f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE {_QUEUED} ORDER BY id"
OUTBOX_UNCERTAIN_LIST = (
    f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE sent_at IS NULL AND uncertain_since IS NOT NULL ORDER BY id"
)
OUTBOX_QUEUED_COUNT = f"SELECT COUNT(*) FROM outbox WHERE {_QUEUED}"
#: Queued messages nobody holds, those a claim holds at `?` (the time now, thrice), and its last end.
OUTBOX_COUNTS = (
    "SELECT COALESCE(SUM(CASE WHEN claimed_until IS NULL OR claimed_until < ? THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN claimed_until >= ? THEN 1 ELSE 0 END), 0), "
    f"MAX(CASE WHEN claimed_until >= ? THEN claimed_until END) FROM outbox WHERE {_QUEUED}"
)
#: Claims up to `limit` queued messages after an id that nobody else holds, until the lease runs out.
_OUTBOX_CLAIM = (
    f"UPDATE outbox SET claimed_until = ? WHERE id IN (SELECT id FROM outbox WHERE {_QUEUED} "
    "AND id > ? AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY id LIMIT ?{lock}) "
    f"RETURNING {_OUTBOX_COLUMNS}"
)
OUTBOX_CLAIM = {
    "sqlite": _OUTBOX_CLAIM.format(lock=""),
    # SKIP LOCKED: under READ COMMITTED two claims could otherwise pick the same rows in their
    # subqueries, and both would send them. (SQLite's write lock runs one claim at a time.)
    "postgresql": _OUTBOX_CLAIM.format(lock=" FOR UPDATE SKIP LOCKED"),
}
OUTBOX_SENT = "UPDATE outbox SET sent_at = ?, claimed_until = NULL, last_error = NULL WHERE id = ?"
OUTBOX_FAILED = (
    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, claimed_until = NULL "
    f"WHERE id = ? AND {_QUEUED}"
)
OUTBOX_RELEASE = f"UPDATE outbox SET claimed_until = NULL WHERE id = ? AND {_QUEUED}"
OUTBOX_UNCERTAIN = (
    "UPDATE outbox SET uncertain_since = ?, attempts = attempts + 1, last_error = ?, claimed_until = NULL "
    "WHERE id = ? AND sent_at IS NULL"
)
OUTBOX_REQUEUE = (
    "UPDATE outbox SET uncertain_since = NULL "
    "WHERE id = ? AND sent_at IS NULL AND uncertain_since IS NOT NULL"
)

#: The audit log of the last `?` applies, newest first, each apply's actions in the order they ran.
HISTORY = (
    "SELECT revision, actor, at, kind, target, before, after, adopted FROM audit_log "
    "WHERE revision IN (SELECT DISTINCT revision FROM audit_log ORDER BY revision DESC LIMIT ?) "
    "ORDER BY revision DESC, id"
)


def history_query(user: bool, since: bool, kinds: int) -> str:
    """The audit entries that match (`subject = ?` for a `user`, `at >= ?` `since` a day, `kinds` pairs of
    `kind = ? OR kind LIKE ?` for a kind or a family of kinds) of the last `?` applies (or chores) that
    have any, newest first, each one's entries in the order they ran. An apply or a chore is one
    transaction's entries: its revision, actor and time together, and whether they are activations."""
    conditions = ["subject = ?"] if user else []
    if since:
        conditions.append("at >= ?")
    if kinds:
        conditions.append("(" + " OR ".join(["kind = ? OR kind LIKE ?"] * kinds) + ")")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    return (
        "WITH matching AS (SELECT id, revision, actor, at, kind, target, before, after, adopted, "
        f"CASE WHEN kind = '{_SIGN_IN}' THEN 1 ELSE 0 END AS signed_in FROM audit_log {where}), "
        "batches AS (SELECT revision, actor, at, signed_in, MAX(id) AS newest FROM matching "
        "GROUP BY revision, actor, at, signed_in ORDER BY newest DESC LIMIT ?) "
        "SELECT m.revision, m.actor, m.at, m.kind, m.target, m.before, m.after, m.adopted FROM matching m "
        "JOIN batches b ON m.revision = b.revision AND m.actor = b.actor AND m.at = b.at "
        "AND m.signed_in = b.signed_in ORDER BY b.newest DESC, m.id"
    )


#: Activations are kept at the revision of the apply before them, maybe in its second and by its actor:
#: a batch is told apart by being of them or not.
_SIGN_IN = "user.activate"


#: The sources of the `{}` revisions that have one.
SOURCES_OF = "SELECT revision, source FROM sources WHERE revision IN ({})"

#: Close a request still open: (outcome, closed_revision, closed_at, key).
REQUEST_CLOSE = (
    "UPDATE requests SET outcome = ?, closed_revision = ?, closed_at = ? WHERE key = ? AND outcome IS NULL"
)

#: One user's part of the store, in the shapes of `READS`: the user, their grants and teams, the
#: serials they hold or coordinate and the contracts of those or that they manage, with those contracts'
#: coordinators and the users named by them all. Each `?` is the user's address.
_THEIR_SERIALS = (
    "SELECT serial FROM access WHERE user_email = ? UNION SELECT number FROM serials WHERE coordinator = ?"
)
_THEIR_CONTRACTS = (
    f"SELECT contract FROM serials WHERE number IN ({_THEIR_SERIALS}) "
    "UNION SELECT number FROM contracts WHERE manager = ? "
    "UNION SELECT contract FROM coordinators WHERE email = ?"
)
_THEIR_TEAMS = "SELECT team FROM team_members WHERE user_email = ?"
USER_READS = {
    "meta": READS["meta"],
    "resellers": READS["resellers"],
    "users": (
        "SELECT email, first_name, last_name, status, added_at, protected, directory_id, expires FROM users "
        # One IN of a UNION, not ORs: PostgreSQL reads an OR of subqueries by scanning every user.
        f"WHERE email IN (SELECT ? UNION SELECT manager FROM contracts WHERE number IN ({_THEIR_CONTRACTS}) "
        f"UNION SELECT coordinator FROM serials WHERE number IN ({_THEIR_SERIALS})) ORDER BY email"
    ),
    "contracts": (
        f"SELECT number, manager, protected, ends FROM contracts WHERE number IN ({_THEIR_CONTRACTS}) "
        "ORDER BY number"
    ),
    "coordinators": (
        "SELECT contract, email, manage_users, shipping_name, shipping_address, shipping_country "
        f"FROM coordinators WHERE contract IN ({_THEIR_CONTRACTS}) AND "
        f"(email = ? OR email IN (SELECT coordinator FROM serials WHERE number IN ({_THEIR_SERIALS}))) "
        "ORDER BY contract, email"
    ),
    "serials": (
        "SELECT number, contract, product, seats, group_name, coordinator, protected "
        f"FROM serials WHERE number IN ({_THEIR_SERIALS}) ORDER BY number"
    ),
    "access": (
        "SELECT user_email, serial, download, direct_download, expires FROM access WHERE user_email = ? "
        "ORDER BY user_email, serial"
    ),
    "teams": f"SELECT name, description FROM teams WHERE name IN ({_THEIR_TEAMS}) ORDER BY name",
    "team_members": (
        "SELECT team, user_email, expires FROM team_members WHERE user_email = ? ORDER BY team, user_email"
    ),
    "team_access": (
        f"SELECT team, serial, download FROM team_access WHERE team IN ({_THEIR_TEAMS}) ORDER BY team, serial"
    ),
}

#: The store's lineage and revision, read inside an apply's transaction; PostgreSQL locks the rows too.
META_FOR_APPLY = {"sqlite": READS["meta"], "postgresql": READS["meta"] + " FOR UPDATE"}
