"""The SQL each action kind runs, with its parameters; shared by every store.

Statements use `?` placeholders; a store whose driver wants another style
converts them once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Params = tuple[Any, ...]
#: The parameters of one action's statement, from its target, its `after` and the time of the apply.
ParamsOf = Callable[[Mapping[str, str], Mapping[str, Any], str], Params]


def _shipping(record: Mapping[str, Any]) -> Params:
    shipping = record["shipping"] or {}
    return shipping.get("name"), shipping.get("address"), shipping.get("country")


#: kind -> (statement, its parameters for one action).
WRITES: dict[str, tuple[str, ParamsOf]] = {
    "user.add": (
        "INSERT INTO users (email, first_name, last_name, status, added_at, protected) "
        "VALUES (?, ?, ?, 'invited', ?, ?)",
        lambda t, new, now: (t["user"], new["first_name"], new["last_name"], now, new.get("protect", False)),
    ),
    "user.protect": (
        "UPDATE users SET protected = ? WHERE email = ?",
        lambda t, new, now: (new["protect"], t["user"]),
    ),
    "user.update": (
        "UPDATE users SET first_name = ?, last_name = ? WHERE email = ?",
        lambda t, new, now: (new["first_name"], new["last_name"], t["user"]),
    ),
    "user.remove": ("DELETE FROM users WHERE email = ?", lambda t, new, now: (t["user"],)),
    "contract.create": (
        "INSERT INTO contracts (number, manager, protected) VALUES (?, ?, ?)",
        lambda t, new, now: (t["contract"], new["manager"], new.get("protect", False)),
    ),
    "contract.protect": (
        "UPDATE contracts SET protected = ? WHERE number = ?",
        lambda t, new, now: (new["protect"], t["contract"]),
    ),
    "contract.manager_change": (
        "UPDATE contracts SET manager = ? WHERE number = ?",
        lambda t, new, now: (new["manager"], t["contract"]),
    ),
    "contract.remove": ("DELETE FROM contracts WHERE number = ?", lambda t, new, now: (t["contract"],)),
    "coordinator.add": (
        "INSERT INTO coordinators (contract, email, manage_users, shipping_name, shipping_address, "
        "shipping_country) VALUES (?, ?, ?, ?, ?, ?)",
        lambda t, new, now: (
            t["contract"],
            t["coordinator"],
            new["manage_users"],
            *_shipping(new),
        ),
    ),
    "coordinator.update": (
        "UPDATE coordinators SET manage_users = ?, shipping_name = ?, shipping_address = ?, "
        "shipping_country = ? WHERE contract = ? AND email = ?",
        lambda t, new, now: (
            new["manage_users"],
            *_shipping(new),
            t["contract"],
            t["coordinator"],
        ),
    ),
    "coordinator.remove": (
        "DELETE FROM coordinators WHERE contract = ? AND email = ?",
        lambda t, new, now: (t["contract"], t["coordinator"]),
    ),
    "serial.create": (
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
    "serial.protect": (
        "UPDATE serials SET protected = ? WHERE number = ?",
        lambda t, new, now: (new["protect"], t["serial"]),
    ),
    "serial.remove": ("DELETE FROM serials WHERE number = ?", lambda t, new, now: (t["serial"],)),
    "serial.seats_change": (
        "UPDATE serials SET seats = ? WHERE number = ?",
        lambda t, new, now: (new["seats"], t["serial"]),
    ),
    "serial.product_change": (
        "UPDATE serials SET product = ? WHERE number = ?",
        lambda t, new, now: (new["product"], t["serial"]),
    ),
    "serial.rename_group": (
        "UPDATE serials SET group_name = ? WHERE number = ?",
        lambda t, new, now: (new["group"], t["serial"]),
    ),
    "serial.assign_coordinator": (
        "UPDATE serials SET coordinator = ? WHERE number = ?",
        lambda t, new, now: (new["coordinator"], t["serial"]),
    ),
    "serial.unassign_coordinator": (
        "UPDATE serials SET coordinator = NULL WHERE number = ?",
        lambda t, new, now: (t["serial"],),
    ),
    "access.grant": (
        "INSERT INTO access (user_email, serial, download) VALUES (?, ?, ?)",
        lambda t, new, now: (t["user"], t["serial"], new["download"]),
    ),
    "access.update": (
        "UPDATE access SET download = ? WHERE user_email = ? AND serial = ?",
        lambda t, new, now: (new["download"], t["user"], t["serial"]),
    ),
    "access.revoke": (
        "DELETE FROM access WHERE user_email = ? AND serial = ?",
        lambda t, new, now: (t["user"], t["serial"]),
    ),
}

AUDIT = (
    "INSERT INTO audit_log (revision, actor, at, kind, target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)"
)

READS = {
    "meta": "SELECT key, value FROM meta",
    "resellers": "SELECT email FROM resellers ORDER BY email",
    "users": "SELECT email, first_name, last_name, status, added_at, protected FROM users ORDER BY email",
    "contracts": "SELECT number, manager, protected FROM contracts ORDER BY number",
    "coordinators": (
        "SELECT contract, email, manage_users, shipping_name, shipping_address, shipping_country "
        "FROM coordinators ORDER BY contract, email"
    ),
    "serials": (
        "SELECT number, contract, product, seats, group_name, coordinator, protected "
        "FROM serials ORDER BY number"
    ),
    "access": "SELECT user_email, serial, download FROM access ORDER BY user_email, serial",
}

OUTBOX_INSERT = (
    "INSERT INTO outbox (message_id, kind, revision, recipient, subject, body_text, body_html, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING"
)
REQUEST_INSERT = (
    "INSERT INTO requests (key, revision, requester, requested_at, kind, target, before, after, "
    "requested_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"
)
_OUTBOX_COLUMNS = (
    "id, message_id, kind, revision, recipient, subject, body_text, body_html, created_at, attempts, "
    "last_error, sent_at"
)
OUTBOX_ALL = f"SELECT {_OUTBOX_COLUMNS} FROM outbox ORDER BY id"
OUTBOX_QUEUED = f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE sent_at IS NULL ORDER BY id"
OUTBOX_QUEUED_COUNT = "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"
#: Claims up to `limit` queued messages after an id that nobody else holds, until the lease runs out.
OUTBOX_CLAIM = (
    "UPDATE outbox SET claimed_until = ? WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL "
    "AND id > ? AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY id LIMIT ?) "
    f"RETURNING {_OUTBOX_COLUMNS}"
)
OUTBOX_SENT = "UPDATE outbox SET sent_at = ?, claimed_until = NULL, last_error = NULL WHERE id = ?"
OUTBOX_FAILED = (
    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, claimed_until = NULL "
    "WHERE id = ? AND sent_at IS NULL"
)
OUTBOX_RELEASE = "UPDATE outbox SET claimed_until = NULL WHERE id = ? AND sent_at IS NULL"

#: The audit log of the last `?` applies, newest first, each apply's actions in the order they ran.
HISTORY = (
    "SELECT revision, actor, at, kind, target, before, after FROM audit_log "
    "WHERE revision IN (SELECT DISTINCT revision FROM audit_log ORDER BY revision DESC LIMIT ?) "
    "ORDER BY revision DESC, id"
)
