"""Desired state against the store: the changes, record by record, not yet ordered or judged.

Each side is indexed once by identity (contract number, serial number,
(contract, coordinator), user e-mail, team name, (team, member), (team,
serial), (user, serial)), and each record is compared once, so the cost
grows with the size of the account and nothing else.

A user the directory gave a new e-mail (the same `id`, engine/identity.py)
is one `user.change_email`, and the store's side is renamed before the rest
is compared, so the change of address changes nothing else.

Access is compared as it is in effect: a user's own grants and their teams'
together (`model.effective_access`). Team records are bookkeeping beside it:
putting a user in a team is a `team.member_add`, and the access that gives
them is an `access.grant` of its own, only where they had none before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler.core.errors import UnsupportedChange
from reconciler.core.kinds import Kind
from reconciler.core.model import (
    Access,
    Contract,
    Coordinator,
    DesiredState,
    Grant,
    Grants,
    Serial,
    Team,
    User,
    effective_access,
)
from reconciler.core.plan import Action, renamed_users
from reconciler.core.shapes import (
    access_entry_record,
    access_record,
    contract_record,
    coordinator_record,
    member_record,
    serial_record,
    team_record,
    user_record,
)
from reconciler.engine.identity import email_changes, renamed_state


@dataclass(frozen=True)
class _Index:
    """One side of the diff, keyed by identity."""

    contracts: dict[str, Contract]
    serials: dict[str, tuple[str, Serial]]
    coordinators: dict[tuple[str, str], Coordinator]
    users: dict[str, User]
    teams: dict[str, Team]
    members: dict[tuple[str, str], str | None]  # (team, user): the membership's last day, if it has one
    team_access: dict[tuple[str, str], Access]
    access: Grants

    @classmethod
    def of(cls, state: DesiredState, grants: Grants | None = None) -> _Index:
        return cls(
            contracts={c.number: c for c in state.contracts},
            serials={s.number: (c.number, s) for c in state.contracts for s in c.serials},
            coordinators={(c.number, k.email): k for c in state.contracts for k in c.coordinators},
            users={u.email: u for u in state.users},
            teams={t.name: t for t in state.teams},
            members=_members_of(state.teams),
            team_access={(t.name, a.serial): a for t in state.teams for a in t.access},
            access=effective_access(state) if grants is None else grants,
        )


def _members_of(teams: tuple[Team, ...]) -> dict[tuple[str, str], str | None]:
    members: dict[tuple[str, str], str | None] = {}
    for team in teams:
        members.update(((team.name, email), None) for email in team.members)
        members.update(((team.name, email), day) for email, day in team.member_expires)
    return members


def diff(
    desired: DesiredState,
    current: DesiredState,
    current_access: Grants | None = None,
    desired_access: Grants | None = None,
) -> list[Action]:
    """Every action that takes `current` to `desired`, unordered and unjudged.

    `current_access` is the effective access the store keeps; by default, what `current` gives;
    `desired_access`, what `desired` gives, when the caller has it already.
    """
    changes = email_changes(desired, current)
    if changes:
        current, current_access = renamed_state(current, current_access, renamed_users(changes))
    want, have = _Index.of(desired, desired_access), _Index.of(current, current_access)
    return [
        *changes,
        *_users(want, have),
        *_contracts(want, have),
        *_coordinators(want, have),
        *_serials(want, have),
        *_teams(want, have),
        *_members(want, have),
        *_team_access(want, have),
        *_access(want, have),
    ]


def _in_effect(grant: Grant) -> tuple[bool, bool | None, str | None]:
    """What an access change is judged on: what the user may do, and their own grant and its last day.
    Which teams give it is bookkeeping of its own: moving a user between two teams that give the same
    serial changes no access."""
    return grant.download, grant.direct_download, grant.expires


def _protected(record: dict[str, Any], protect: bool) -> dict[str, Any]:
    """An added record, with `protect` named only when set, so plans without it stay as they were."""
    return {**record, "protect": True} if protect else record


def _protection(kind: Kind, target: Mapping[str, str], old: bool, new: bool) -> Iterator[Action]:
    if old != new:
        yield Action(kind, target, {"protect": old}, {"protect": new})


def _users(want: _Index, have: _Index) -> Iterator[Action]:
    for email, user in want.users.items():
        old = have.users.get(email)
        if old is None:
            yield Action(Kind.USER_ADD, {"user": email}, None, _protected(user_record(user), user.protect))
            continue
        before, after = user_record(old), user_record(user)
        if before != after:
            if "id" in before and "id" not in after:  # the YAML drops the id: the store forgets it
                after["id"] = None
            yield Action(Kind.USER_UPDATE, {"user": email}, before, after)
        yield from _protection(Kind.USER_PROTECT, {"user": email}, old.protect, user.protect)
    for email, old in have.users.items():
        if email not in want.users:
            yield Action(Kind.USER_REMOVE, {"user": email}, user_record(old), None)


def _contracts(want: _Index, have: _Index) -> Iterator[Action]:
    for number, contract in want.contracts.items():
        old = have.contracts.get(number)
        target = {"contract": number}
        if old is None:
            after = _protected(contract_record(contract), contract.protect)
            yield Action(Kind.CONTRACT_CREATE, target, None, after)
            continue
        if old.manager != contract.manager:
            yield Action(
                Kind.CONTRACT_MANAGER_CHANGE, target, {"manager": old.manager}, {"manager": contract.manager}
            )
        if old.ends != contract.ends:  # setting an end date, moving it, or dropping it
            yield Action(Kind.CONTRACT_ENDS_CHANGE, target, {"ends": old.ends}, {"ends": contract.ends})
        yield from _protection(Kind.CONTRACT_PROTECT, target, old.protect, contract.protect)
    for number, old in have.contracts.items():
        if number not in want.contracts:
            yield Action(Kind.CONTRACT_REMOVE, {"contract": number}, contract_record(old), None)


def _coordinators(want: _Index, have: _Index) -> Iterator[Action]:
    for (number, email), coordinator in want.coordinators.items():
        old = have.coordinators.get((number, email))
        target = {"contract": number, "coordinator": email}
        if old is None:
            yield Action(Kind.COORDINATOR_ADD, target, None, coordinator_record(coordinator))
        elif old != coordinator:
            yield Action(
                Kind.COORDINATOR_UPDATE, target, coordinator_record(old), coordinator_record(coordinator)
            )
    for (number, email), old in have.coordinators.items():
        if (number, email) not in want.coordinators:
            target = {"contract": number, "coordinator": email}
            yield Action(Kind.COORDINATOR_REMOVE, target, coordinator_record(old), None)


def _serials(want: _Index, have: _Index) -> Iterator[Action]:
    for number, (contract, serial) in want.serials.items():
        target = {"contract": contract, "serial": number}
        if number not in have.serials:
            yield Action(Kind.SERIAL_CREATE, target, None, _protected(serial_record(serial), serial.protect))
            if serial.coordinator:
                yield _coordinator_change(target, None, serial.coordinator)
            continue
        old_contract, old = have.serials[number]
        if old_contract != contract:
            raise UnsupportedChange(
                f"serial {number} moves from contract {old_contract} to {contract}; "
                "remove it in one change and add it to the other contract in the next"
            )
        yield from _serial_changes(target, old, serial)
    for number, (contract, old) in have.serials.items():
        if number not in want.serials:
            before = {**serial_record(old), "coordinator": old.coordinator}
            yield Action(Kind.SERIAL_REMOVE, {"contract": contract, "serial": number}, before, None)


def _serial_changes(target: Mapping[str, str], old: Serial, new: Serial) -> Iterator[Action]:
    if old.product != new.product:
        yield Action(Kind.SERIAL_PRODUCT_CHANGE, target, {"product": old.product}, {"product": new.product})
    if old.seats != new.seats:
        yield Action(Kind.SERIAL_SEATS_CHANGE, target, {"seats": old.seats}, {"seats": new.seats})
    if old.group != new.group:
        yield Action(Kind.SERIAL_RENAME_GROUP, target, {"group": old.group}, {"group": new.group})
    if old.coordinator != new.coordinator:
        yield _coordinator_change(target, old.coordinator, new.coordinator)
    yield from _protection(Kind.SERIAL_PROTECT, target, old.protect, new.protect)


def _coordinator_change(target: Mapping[str, str], old: str | None, new: str | None) -> Action:
    kind = Kind.SERIAL_UNASSIGN_COORDINATOR if new is None else Kind.SERIAL_ASSIGN_COORDINATOR
    return Action(kind, target, {"coordinator": old}, {"coordinator": new})


def _teams(want: _Index, have: _Index) -> Iterator[Action]:
    for name, team in want.teams.items():
        old = have.teams.get(name)
        if old is None:
            yield Action(Kind.TEAM_CREATE, {"team": name}, None, team_record(team))
        elif old.description != team.description:
            yield Action(Kind.TEAM_UPDATE, {"team": name}, team_record(old), team_record(team))
    for name, old in have.teams.items():
        if name not in want.teams:
            yield Action(Kind.TEAM_REMOVE, {"team": name}, team_record(old), None)


def _members(want: _Index, have: _Index) -> Iterator[Action]:
    wanted, had = want.members, have.members
    for name, email in sorted(wanted.keys() - had.keys()):
        yield Action(
            Kind.TEAM_MEMBER_ADD, {"team": name, "user": email}, None, member_record(wanted[name, email])
        )
    moved = sorted(key for key, day in wanted.items() if key in had and had[key] != day)
    for name, email in moved:
        before, after = member_record(had[name, email]), member_record(wanted[name, email])
        yield Action(Kind.TEAM_MEMBER_UPDATE, {"team": name, "user": email}, before, after)
    for name, email in sorted(had.keys() - wanted.keys()):
        yield Action(
            Kind.TEAM_MEMBER_REMOVE, {"team": name, "user": email}, member_record(had[name, email]), None
        )


def _team_access(want: _Index, have: _Index) -> Iterator[Action]:
    for (name, number), access in want.team_access.items():
        old = have.team_access.get((name, number))
        target = {"team": name, "contract": want.serials[number][0], "serial": number}
        if old is None:
            yield Action(Kind.TEAM_ACCESS_GRANT, target, None, access_entry_record(access))
        elif old.download != access.download:
            yield Action(
                Kind.TEAM_ACCESS_UPDATE, target, access_entry_record(old), access_entry_record(access)
            )
    for (name, number), old in have.team_access.items():
        if (name, number) not in want.team_access:
            target = {"team": name, "contract": have.serials[number][0], "serial": number}
            yield Action(Kind.TEAM_ACCESS_REVOKE, target, access_entry_record(old), None)


def _access(want: _Index, have: _Index) -> Iterator[Action]:
    # One record for equal grants: a first plan's 300,000 grants have a handful of different ones,
    # and nothing changes a plan's records.
    record = cache(access_record)
    for key, grant in want.access.items():  # key: (user, serial), looked up as it is, not rebuilt
        old = have.access.get(key)
        if old is None:
            yield Action(Kind.ACCESS_GRANT, _access_target(want, key), None, record(grant))
        elif _in_effect(old) != _in_effect(grant):
            yield Action(Kind.ACCESS_UPDATE, _access_target(want, key), record(old), record(grant))
    for key, old in have.access.items():
        if key not in want.access:
            yield Action(Kind.ACCESS_REVOKE, _access_target(have, key), record(old), None)


def _access_target(side: _Index, key: tuple[str, str]) -> dict[str, str]:
    """A user's access to a serial as a target, made only for a change: most grants are unchanged."""
    email, number = key
    return {"contract": side.serials[number][0], "serial": number, "user": email}
