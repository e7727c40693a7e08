"""The action kinds, and one table that says what each one means.

Per kind, one row: its effect (how a summary counts it), its tie-break rank
(its place in the table: where the dependency graph leaves the order open,
a plan lists kinds in this order), the scope of authority it needs (who may
perform it, before who the actor is), its phrase (how a reason or a request
names it) and the e-mail it causes (who hears, about what: R9).
Permissions, ordering, the store's statements, the recipients of mail and
the renderers look a kind up here instead of keeping lists of their own.
Adding a kind is one member, one row, and its statements in
`store/statements.py`.

This module imports nothing of reconciler's: everything else may read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any


class Effect(StrEnum):
    """What an action does to its record, as a plan's summary counts it."""

    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"


class Role(StrEnum):
    """The roles an action may require, least first."""

    SOFTWARE_COORDINATOR = "software_coordinator"
    CONTRACT_MANAGER = "contract_manager"
    RESELLER = "reseller"


class Scope(Enum):
    """Whose an action is to take, before who the actor is (docs/plan-and-apply.md's permission table)."""

    PURCHASE = "purchase"  # comes from a purchase: the reseller's; a CM can only request it (R2)
    RESELLER = "reseller"  # the reseller's alone
    CONTRACT = "contract"  # the contract's CM (R3)
    USERS = "users"  # whoever may manage users (R6)
    SERIAL = "serial"  # the contract's CM, or the serial's SC who may manage users (R6)
    TEAMS = "teams"  # whoever may manage users, on any team (its access is judged per serial)


class Record(StrEnum):
    """The kinds of record an action is about, in the order reports list them."""

    USER = "user"
    CONTRACT = "contract"
    COORDINATOR = "coordinator"
    SERIAL = "serial"
    TEAM = "team"
    TEAM_MEMBER = "team_member"
    TEAM_ACCESS = "team_access"
    ACCESS = "access"

    @property
    def keys(self) -> tuple[str, ...]:
        """The target keys that name one record of this kind."""
        return _RECORD_KEYS[self]


_RECORD_KEYS = {
    Record.USER: ("user",),
    Record.CONTRACT: ("contract",),
    Record.COORDINATOR: ("contract", "coordinator"),
    Record.SERIAL: ("serial",),
    Record.TEAM: ("team",),
    Record.TEAM_MEMBER: ("team", "user"),
    Record.TEAM_ACCESS: ("team", "serial"),
    Record.ACCESS: ("user", "serial"),
}


@dataclass(frozen=True)
class Reference:
    """A foreign key of the store: the `fields` of a `child` record name a `parent` record (in the
    order of the parent's keys); a child whose fields are not all set names none. With `limit`, the
    parent's field that bounds how many children may name it (a serial's seats, R8)."""

    child: Record
    fields: tuple[str, ...]
    parent: Record
    limit: str | None = None

    def parent_key(self, values: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
        """The parent `values` (a child's fields) name, or None."""
        if values is None:
            return None
        if len(self.fields) == 1:  # most are, and a plan asks for every grant's twice
            value = values.get(self.fields[0])
            return None if value is None else (value,)
        key = tuple([values.get(name) for name in self.fields])
        return None if None in key else key


#: The store's foreign keys, as its migrations write them in SQL (store/migrations): what checks a
#: saved plan before it is applied (engine/integrity.py) and the tests' memory store read.
REFERENCES = (
    Reference(Record.CONTRACT, ("manager",), Record.USER),
    Reference(Record.COORDINATOR, ("contract",), Record.CONTRACT),
    Reference(Record.COORDINATOR, ("coordinator",), Record.USER),
    Reference(Record.SERIAL, ("contract",), Record.CONTRACT),
    # A serial's SC is a coordinator of the serial's own contract.
    Reference(Record.SERIAL, ("contract", "coordinator"), Record.COORDINATOR),
    Reference(Record.TEAM_MEMBER, ("team",), Record.TEAM),
    Reference(Record.TEAM_MEMBER, ("user",), Record.USER),
    Reference(Record.TEAM_ACCESS, ("team",), Record.TEAM),
    Reference(Record.TEAM_ACCESS, ("serial",), Record.SERIAL),
    Reference(Record.ACCESS, ("user",), Record.USER),
    Reference(Record.ACCESS, ("serial",), Record.SERIAL, limit="seats"),
)
#: The references a record makes, and those made to it.
REFERENCES_FROM = {record: tuple(r for r in REFERENCES if r.child is record) for record in Record}
REFERENCES_TO = {record: tuple(r for r in REFERENCES if r.parent is record) for record in Record}


#: The keys an action's target may have, in the order a tie-break compares them.
TARGET_KEYS = ("team", "contract", "serial", "coordinator", "user")


class Event(StrEnum):
    """What a person is told of (R9)."""

    USER_INVITED = "user.invited"
    USER_REMOVED = "user.removed"
    ACCESS_GRANTED = "access.granted"
    ACCESS_CHANGED = "access.changed"
    ACCESS_REVOKED = "access.revoked"
    COORDINATOR_ASSIGNED = "coordinator.assigned"
    COORDINATOR_UNASSIGNED = "coordinator.unassigned"
    COORDINATOR_REMOVED = "coordinator.removed"
    MANAGER_CHANGED = "manager.changed"
    GROUP_RENAMED = "group.renamed"


class Audience(Enum):
    """Who hears of an action, named by where their address is in it or in the store."""

    USER = "the target user"
    COORDINATOR = "the target coordinator"
    NEW_COORDINATOR = "the serial's coordinator after"
    OLD_COORDINATOR = "the serial's coordinator before"
    NEW_MANAGER = "the contract's manager after"
    OLD_MANAGER = "the contract's manager before"
    RESELLERS = "every reseller"
    SERIAL_COORDINATOR = "whoever coordinates the serial now (the CM where no SC is named)"


@dataclass(frozen=True, slots=True)
class Notice:
    """An e-mail a kind of action causes: to whom, about what; with `when_changed`, only when the
    action's `before` and `after` differ in that field."""

    audience: Audience
    event: Event
    when_changed: str | None = None


class Kind(StrEnum):
    """Every action kind, by its name in a plan. The table below gives each its meaning."""

    USER_CHANGE_EMAIL = "user.change_email"
    USER_ADD = "user.add"
    USER_UPDATE = "user.update"
    USER_PROTECT = "user.protect"
    CONTRACT_CREATE = "contract.create"
    CONTRACT_MANAGER_CHANGE = "contract.manager_change"
    CONTRACT_PROTECT = "contract.protect"
    CONTRACT_ENDS_CHANGE = "contract.ends_change"
    COORDINATOR_ADD = "coordinator.add"
    COORDINATOR_UPDATE = "coordinator.update"
    SERIAL_CREATE = "serial.create"
    SERIAL_PROTECT = "serial.protect"
    SERIAL_PRODUCT_CHANGE = "serial.product_change"
    SERIAL_RENAME_GROUP = "serial.rename_group"
    SERIAL_ASSIGN_COORDINATOR = "serial.assign_coordinator"
    TEAM_CREATE = "team.create"
    TEAM_UPDATE = "team.update"
    TEAM_MEMBER_REMOVE = "team.member_remove"
    TEAM_ACCESS_REVOKE = "team.access_revoke"
    TEAM_MEMBER_ADD = "team.member_add"
    TEAM_MEMBER_UPDATE = "team.member_update"
    TEAM_ACCESS_UPDATE = "team.access_update"
    TEAM_ACCESS_GRANT = "team.access_grant"
    TEAM_REMOVE = "team.remove"
    ACCESS_REVOKE = "access.revoke"
    SERIAL_UNASSIGN_COORDINATOR = "serial.unassign_coordinator"
    SERIAL_SEATS_CHANGE = "serial.seats_change"
    ACCESS_UPDATE = "access.update"
    ACCESS_GRANT = "access.grant"
    SERIAL_REMOVE = "serial.remove"
    COORDINATOR_REMOVE = "coordinator.remove"
    CONTRACT_REMOVE = "contract.remove"
    USER_REMOVE = "user.remove"

    @property
    def info(self) -> KindInfo:
        return TABLE[self]

    #: Set on each kind from TABLE below: a plain attribute, as a plan of 400,000 actions asks for it
    #: millions of times and an enum's property is a Python call each time.
    effect: Effect

    @property
    def rank(self) -> int:
        """The tie-break: the kind's place in TABLE."""
        return RANK[self]

    @property
    def record(self) -> Record:
        return _RECORD_OF[self]


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What one kind of action means."""

    effect: Effect
    scope: Scope
    #: The action in words, with its target's keys (and `new_coordinator`) to fill in.
    phrase: str
    mail: tuple[Notice, ...] = ()
    #: For a kind that gives its record a new key: the field of `after` that holds it. The record
    #: moves there, and every record that refers to it follows (its children, and theirs).
    new_key: str | None = None


_ADD, _CHANGE, _REMOVE = Effect.ADD, Effect.CHANGE, Effect.REMOVE
_A, _E = Audience, Event
_HANDOVER = (
    Notice(_A.NEW_COORDINATOR, _E.COORDINATOR_ASSIGNED),
    Notice(_A.OLD_COORDINATOR, _E.COORDINATOR_UNASSIGNED),
)

#: One row per kind, in tie-break order: what others stand on first, removals last.
TABLE: dict[Kind, KindInfo] = {
    # The directory changed a user's e-mail (their `id` is the same): first, as everything the plan
    # says of the user names the new address, and a new user may take the old one.
    Kind.USER_CHANGE_EMAIL: KindInfo(
        _CHANGE, Scope.USERS, "changing the e-mail address of user {user}", new_key="email"
    ),
    Kind.USER_ADD: KindInfo(_ADD, Scope.USERS, "adding user {user}", (Notice(_A.USER, _E.USER_INVITED),)),
    Kind.USER_UPDATE: KindInfo(_CHANGE, Scope.USERS, "changing user {user}"),
    Kind.USER_PROTECT: KindInfo(_CHANGE, Scope.USERS, "changing the protection of user {user}"),
    Kind.CONTRACT_CREATE: KindInfo(_ADD, Scope.PURCHASE, "creating contract {contract}"),
    Kind.CONTRACT_MANAGER_CHANGE: KindInfo(
        _CHANGE,
        Scope.PURCHASE,
        "changing the Contract Manager of contract {contract}",
        (
            Notice(_A.OLD_MANAGER, _E.MANAGER_CHANGED),
            Notice(_A.NEW_MANAGER, _E.MANAGER_CHANGED),
            Notice(_A.RESELLERS, _E.MANAGER_CHANGED),
        ),
    ),
    Kind.CONTRACT_PROTECT: KindInfo(
        _CHANGE, Scope.RESELLER, "changing the protection of contract {contract}"
    ),
    # The end date comes with the purchase or its renewal: the reseller's to set, change or drop.
    Kind.CONTRACT_ENDS_CHANGE: KindInfo(
        _CHANGE, Scope.RESELLER, "changing the end date of contract {contract}"
    ),
    Kind.COORDINATOR_ADD: KindInfo(
        _ADD, Scope.CONTRACT, "naming {coordinator} a coordinator on contract {contract}"
    ),
    Kind.COORDINATOR_UPDATE: KindInfo(
        _CHANGE, Scope.CONTRACT, "changing coordinator {coordinator} on contract {contract}"
    ),
    Kind.SERIAL_CREATE: KindInfo(_ADD, Scope.PURCHASE, "adding serial {serial}"),
    Kind.SERIAL_PROTECT: KindInfo(_CHANGE, Scope.RESELLER, "changing the protection of serial {serial}"),
    Kind.SERIAL_PRODUCT_CHANGE: KindInfo(_CHANGE, Scope.PURCHASE, "changing the product of serial {serial}"),
    Kind.SERIAL_RENAME_GROUP: KindInfo(
        _CHANGE,
        Scope.CONTRACT,
        "renaming the group of serial {serial}",
        (Notice(_A.SERIAL_COORDINATOR, _E.GROUP_RENAMED),),
    ),
    Kind.SERIAL_ASSIGN_COORDINATOR: KindInfo(
        _CHANGE, Scope.CONTRACT, "giving serial {serial} to {new_coordinator}", _HANDOVER
    ),
    Kind.TEAM_CREATE: KindInfo(_ADD, Scope.TEAMS, "creating team {team}"),
    Kind.TEAM_UPDATE: KindInfo(_CHANGE, Scope.TEAMS, "changing team {team}"),
    Kind.TEAM_MEMBER_REMOVE: KindInfo(_REMOVE, Scope.TEAMS, "taking {user} out of team {team}"),
    Kind.TEAM_ACCESS_REVOKE: KindInfo(
        _REMOVE, Scope.SERIAL, "taking team {team}'s access to serial {serial} away"
    ),
    Kind.TEAM_MEMBER_ADD: KindInfo(_ADD, Scope.TEAMS, "putting {user} in team {team}"),
    # The day a membership ends (expires): set, moved or dropped.
    Kind.TEAM_MEMBER_UPDATE: KindInfo(
        _CHANGE, Scope.TEAMS, "changing the end of {user}'s place in team {team}"
    ),
    Kind.TEAM_ACCESS_UPDATE: KindInfo(
        _CHANGE, Scope.SERIAL, "changing team {team}'s access to serial {serial}"
    ),
    Kind.TEAM_ACCESS_GRANT: KindInfo(_ADD, Scope.SERIAL, "giving team {team} access to serial {serial}"),
    Kind.TEAM_REMOVE: KindInfo(_REMOVE, Scope.TEAMS, "removing team {team}"),
    Kind.ACCESS_REVOKE: KindInfo(
        _REMOVE,
        Scope.SERIAL,
        "taking {user}'s access to serial {serial} away",
        (Notice(_A.USER, _E.ACCESS_REVOKED),),
    ),
    Kind.SERIAL_UNASSIGN_COORDINATOR: KindInfo(
        _CHANGE, Scope.CONTRACT, "handing serial {serial} back to the Contract Manager", _HANDOVER
    ),
    Kind.SERIAL_SEATS_CHANGE: KindInfo(_CHANGE, Scope.PURCHASE, "changing the seats of serial {serial}"),
    Kind.ACCESS_UPDATE: KindInfo(
        _CHANGE,
        Scope.SERIAL,
        "changing {user}'s access to serial {serial}",
        # A change of the grant's sources alone (a direct grant beside a team's) changes nothing the
        # user can do: they hear of a change of download rights only.
        (Notice(_A.USER, _E.ACCESS_CHANGED, when_changed="download"),),
    ),
    Kind.ACCESS_GRANT: KindInfo(
        _ADD,
        Scope.SERIAL,
        "giving {user} access to serial {serial}",
        (Notice(_A.USER, _E.ACCESS_GRANTED),),
    ),
    Kind.SERIAL_REMOVE: KindInfo(_REMOVE, Scope.PURCHASE, "removing serial {serial}"),
    Kind.COORDINATOR_REMOVE: KindInfo(
        _REMOVE,
        Scope.CONTRACT,
        "removing coordinator {coordinator} from contract {contract}",
        (Notice(_A.COORDINATOR, _E.COORDINATOR_REMOVED),),
    ),
    Kind.CONTRACT_REMOVE: KindInfo(_REMOVE, Scope.PURCHASE, "removing contract {contract}"),
    Kind.USER_REMOVE: KindInfo(
        _REMOVE, Scope.USERS, "removing user {user}", (Notice(_A.USER, _E.USER_REMOVED),)
    ),
}

RANK: dict[Kind, int] = {kind: rank for rank, kind in enumerate(TABLE)}


def _record_of(kind: Kind) -> Record:
    """The record a kind is about, by its name: `serial.create` a serial, `team.member_add` a team member."""
    family, _, verb = kind.value.partition(".")
    part, underscore, _ = verb.partition("_")
    if family == Record.TEAM and underscore and part in ("member", "access"):
        return Record(f"{family}_{part}")
    return Record(family)


_RECORD_OF: dict[Kind, Record] = {kind: _record_of(kind) for kind in Kind}

for _kind, _info in TABLE.items():
    _kind.effect = _info.effect

if set(TABLE) != set(Kind):  # pragma: no cover - a kind without a row is a bug found at import
    raise AssertionError(f"kinds without a row: {sorted(set(Kind) - set(TABLE))}")
