"""Records as the rows a store keeps, and rows read back as records: the same for every store."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from itertools import groupby
from json.encoder import encode_basestring_ascii
from typing import Any

from reconciler.core.kinds import Kind
from reconciler.core.model import (
    DIRECT,
    Access,
    Contract,
    Coordinator,
    DesiredState,
    Grant,
    Grants,
    Serial,
    Shipping,
    Team,
    User,
    team_grants,
)
from reconciler.core.plan import Action
from reconciler.core.records import (
    Applied,
    AuditEntry,
    Chore,
    Message,
    OutboxEntry,
    RecordedRequest,
    Request,
    Snapshot,
    Source,
)
from reconciler.store.statements import Params

Rows = Sequence[Sequence[Any]]

#: json's C encoder, as JSONEncoder.iterencode makes it (None on a Python without json's accelerator).
_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)

#: One encoder for every audit and request row: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(sort_keys=True)
to_json = _ENCODER.encode


def snapshot_from_rows(rows: Mapping[str, Rows]) -> Snapshot:
    """The Snapshot of the rows of each table, read by `statements.READS` (sorted by key)."""
    meta: dict[str, str] = {key: value for key, value in rows["meta"]}
    teams = _teams_from_rows(rows)
    own_access, grants = _access_from_rows(rows["access"], teams)
    users, user_status, user_added = _users_from_rows(rows["users"], own_access)
    state = DesiredState(contracts=_contracts_from_rows(rows), users=users, teams=teams)
    return Snapshot(
        lineage=meta["lineage"],
        revision=int(meta["revision"]),
        resellers=frozenset(email for (email,) in rows["resellers"]),
        state=state,
        user_status=user_status,
        user_added=user_added,
        grants=grants,
        open_requests=tuple(recorded_request(row) for row in rows.get("open_requests", ())),
    )


def _contracts_from_rows(rows: Mapping[str, Rows]) -> tuple[Contract, ...]:
    coordinators: dict[str, list[Coordinator]] = defaultdict(list)
    for contract, email, manage_users, name, address, country in rows["coordinators"]:
        shipping = Shipping(name, address, country) if name is not None else None
        coordinators[contract].append(Coordinator(email, bool(manage_users), shipping))
    serials: dict[str, list[Serial]] = defaultdict(list)
    for number, contract, product, seats, group, coordinator, protected in rows["serials"]:
        serials[contract].append(Serial(number, product, seats, group, coordinator, bool(protected)))
    return tuple(
        Contract(
            number,
            manager,
            tuple(coordinators[number]),
            tuple(serials[number]),
            bool(protected),
            _day(ends),
        )
        for number, manager, protected, ends in rows["contracts"]
    )


def _day(value: Any) -> str | None:
    """A date column's value as ISO 8601 text: SQLite keeps the text, PostgreSQL's DATE gives a date
    (whose str is ISO 8601)."""
    return None if value is None else str(value)


def _teams_from_rows(rows: Mapping[str, Rows]) -> tuple[Team, ...]:
    members: dict[str, list[str]] = defaultdict(list)
    until: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for team, email, expires in rows["team_members"]:
        members[team].append(email)
        if expires is not None:
            until[team].append((email, str(expires)))
    access: dict[str, list[Access]] = defaultdict(list)
    for team, serial, download in rows["team_access"]:
        access[team].append(Access(serial, bool(download)))
    # Sorted here, as the model sorts them: a database's collation may order names otherwise.
    return tuple(
        sorted(
            (
                Team(
                    name,
                    description,
                    tuple(sorted(members[name])),
                    tuple(access[name]),
                    member_expires=tuple(sorted(until[name])) if name in until else (),
                )
                for name, description in rows["teams"]
            ),
            key=lambda team: team.name,
        )
    )


def _access_from_rows(access: Rows, teams: Sequence[Team]) -> tuple[dict[str, list[Access]], Grants]:
    """Each user's own grants, and the effective access the store keeps, each grant's sources as its
    teams say (the store keeps which teams give what, not which gave each grant: moving between two
    teams changes no grant). `expires` is the user's own grant's last day, None without one."""
    giving = team_grants(teams)  # the teams are sorted by name, so each grant's sources come out sorted
    # Records are frozen, so equal ones can be one object: 300,000 grants hold a few thousand values.
    shared_access, shared_grant = cache(Access), cache(Grant)
    own: dict[str, list[Access]] = defaultdict(list)
    grants: Grants = {}
    for email, serial, download, direct, expires in access:
        key = (email, serial)
        through_teams = giving.get(key)
        sources = through_teams.via if through_teams is not None else ()
        if direct is None:
            grants[key] = shared_grant(bool(download), sources, None)
        else:
            day = None if expires is None else str(expires)
            own[email].append(shared_access(serial, bool(direct), day))
            grants[key] = shared_grant(bool(download), (DIRECT, *sources), bool(direct), day)
    return own, grants


def _users_from_rows(
    users: Rows, own_access: Mapping[str, list[Access]]
) -> tuple[tuple[User, ...], dict[str, str], dict[str, str]]:
    """The users, and each one's status and when they were added."""
    found: list[User] = []
    status: dict[str, str] = {}
    added: dict[str, str] = {}
    for email, first, last, user_status, added_at, protected, directory_id, expires in users:
        found.append(
            User(
                email,
                first,
                last,
                tuple(own_access.get(email, ())),
                bool(protected),
                directory_id,
                _day(expires),
            )
        )
        status[email] = user_status
        added[email] = added_at
    return tuple(found), status, added


def outbox_entry(row: Sequence[Any]) -> OutboxEntry:
    """An outbox row, in the column order of statements.OUTBOX_ALL."""
    (
        entry_id,
        message_id,
        kind,
        revision,
        recipient,
        subject,
        text,
        html,
        sender,
        created_at,
        attempts,
        error,
        sent,
        uncertain,
    ) = row
    message = Message(message_id, recipient, subject, text, html, sender, kind)
    return OutboxEntry(entry_id, message, revision, created_at, attempts, error, sent, uncertain)


def history_from_rows(rows: Rows, sources: Mapping[int, str] | None = None) -> tuple[Applied, ...]:
    """The applies (and chores) in rows read by `statements.HISTORY` or `history_query`, in the order
    read; `sources` are the JSON sources of revisions that have one (an apply's, never a chore's)."""
    applies = []
    batch = lambda row: (row[0], row[1], row[2], row[3] == Chore.USER_ACTIVATE)  # noqa: E731 - as the query
    for (revision, actor, at, _), run in groupby(rows, key=batch):
        changes = tuple(
            AuditEntry(
                _audit_kind(kind),
                json.loads(target),
                _json_or_none(before),
                _json_or_none(after),
                bool(adopted),
            )
            for _, _, _, kind, target, before, after, adopted in run
        )
        source = (sources or {}).get(int(revision))
        if source is not None and any(isinstance(change.kind, Chore) for change in changes):
            source = None
        applies.append(Applied(int(revision), actor, at, changes, source_from_json(source)))
    return tuple(applies)


def _audit_kind(kind: str) -> Kind | Chore:
    return Chore(kind) if kind in _CHORES else Kind(kind)


_CHORES = frozenset(chore.value for chore in Chore)


def source_from_json(text: str | None) -> Source | None:
    """A source as `source_json` wrote it; None for none (or one this version does not read)."""
    if text is None:
        return None
    fields = json.loads(text)
    known = {name: str(value) for name, value in fields.items() if name in Source.__dataclass_fields__}
    return Source(**known) if known else None


def source_json(source: Source) -> str:
    return to_json(source.as_dict())


def recorded_request(row: Sequence[Any]) -> RecordedRequest:
    """A request row, in the column order of statements.REQUESTS_ALL."""
    (
        key,
        requester,
        kind,
        target,
        before,
        after,
        asked,
        revision,
        at,
        outcome,
        closed_revision,
        closed_at,
    ) = row
    request = Request(
        key,
        requester,
        Kind(kind),
        json.loads(target),
        _json_or_none(before),
        _json_or_none(after),
        tuple(asked.split(",")) if asked else (),
    )
    return RecordedRequest(
        request,
        int(revision),
        str(at),
        outcome,
        None if closed_revision is None else int(closed_revision),
        closed_at,
    )


def _json_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def outbox_row(revision: int, now: str, message: Message) -> Params:
    m = message
    return (m.message_id, m.kind, revision, m.to, m.subject, m.text, m.html, now, m.sender)


def request_row(revision: int, now: str, request: Request) -> Params:
    return (
        request.key,
        revision,
        request.requester,
        now,
        request.kind.value,
        to_json(request.target),
        None if request.before is None else to_json(request.before),
        None if request.after is None else to_json(request.after),
        ",".join(request.requested_of),
    )


def audit_row(revision: int, actor: str, now: str, action: Action, adopted: bool = False) -> Params:
    """An action's audit entry; `adopted` when `apply --adopt` recorded it as already there."""
    return (
        revision,
        actor,
        now,
        action.kind.value,
        to_json(dict(action.target)),
        None if action.before is None else to_json(action.before),
        None if action.after is None else to_json(action.after),
        adopted,
        subject(action.kind, action.target, action.before, action.after),
    )


#: The kinds whose entry concerns a person named in a record rather than the target: the field, and
#: whether it is read from the record after the change (else before it).
_NAMED_IN_RECORD = {
    Kind.CONTRACT_CREATE: ("manager", True),
    Kind.CONTRACT_MANAGER_CHANGE: ("manager", True),
    Kind.SERIAL_ASSIGN_COORDINATOR: ("coordinator", True),
    Kind.SERIAL_UNASSIGN_COORDINATOR: ("coordinator", False),
}


def subject(
    kind: Kind, target: Mapping[str, str], before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> str | None:
    """Whom an audit entry concerns, for `users show` and `history --user`: the target's user or
    coordinator, a contract's new manager, the coordinator a serial is given or taken from; None for
    the rest (a serial, a team). Migration 0012 works it out the same way for older entries."""
    found = target.get("user") or target.get("coordinator")
    named = _NAMED_IN_RECORD.get(kind)
    if found is None and named is not None:
        record = after if named[1] else before
        person = None if record is None else record.get(named[0])
        return person if isinstance(person, str) else None
    return found


def chore_rows(
    revision: int, actor: str, now: str, chore: Chore, key: str, emails: Sequence[str]
) -> list[Params]:
    """The audit entries of a chore done to each of `emails` (its target `{key: email}`)."""
    return [
        (revision, actor, now, chore.value, to_json({key: email}), None, None, False, email)
        for email in emails
    ]


def audit_rows(
    revision: int, actor: str, now: str, actions: Sequence[Action], adopted: bool = False
) -> list[Params]:
    """The audit entries of all `actions`: `audit_row` of each, the same values, twice as fast.

    `to_json` builds json's C encoder anew for each value (3 a row), half of what it takes: here one
    encoder encodes them all. And a record that the action before had too is not encoded again: the
    diff gives equal grants one record, and a plan lists them in runs (a serial's grants), so most
    grants of a plan made in the same run have the record the one before had. (A saved plan's
    records are each their own object: there one encoder is what is saved.) An action this cannot
    encode goes to `audit_row`, which raises what it always has."""
    # The encoder JSONEncoder.iterencode makes for to_json, C's, with its options but the check for
    # circular records (a tenth of the time): one runs into RecursionError here, and then audit_row
    # raises "Circular reference detected" as it always has.
    if _C_MAKE_ENCODER is None:  # a Python without json's C accelerator
        return [audit_row(revision, actor, now, action, adopted) for action in actions]
    encode = _C_MAKE_ENCODER(
        None, _ENCODER.default, encode_basestring_ascii, None, ": ", ", ", True, False, True
    )
    join = "".join
    last_before = last_after = before_json = after_json = None
    rows: list[Params] = []
    for action in actions:
        try:
            target, before, after = action.target, action.before, action.after
            if before is not last_before:
                before_json = None if before is None else join(encode(before, 0))
                last_before = before
            if after is not last_after:
                after_json = None if after is None else join(encode(after, 0))
                last_after = after
            kind = action.kind
            row: Params = (
                revision,
                actor,
                now,
                kind.value,
                join(encode(target if type(target) is dict else dict(target), 0)),
                before_json,
                after_json,
                adopted,
                target.get("user") or target.get("coordinator") or subject(kind, target, before, after),
            )
        except Exception:  # whatever it is, audit_row raises it as it always has
            row = audit_row(revision, actor, now, action, adopted)
        rows.append(row)
    return rows
