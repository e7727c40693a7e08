"""Users known by the directory's id: a new e-mail address is the same person, not a new one.

A user may carry `id`, the directory's immutable id (`entryUUID`,
`objectGUID`), and the store keeps it. When the YAML gives an id the store
holds under another address, the directory changed that user's e-mail: the
plan says so in one `user.change_email`, and everything else is compared with
the store's side renamed (the user, the contracts they manage, what they
coordinate, their teams and their access), so that nothing else changes
unless something else did. An address the store holds for another user is
not taken over in the same plan: the two changes are for two plans.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reconciler.core.errors import UnsupportedChange
from reconciler.core.kinds import Kind
from reconciler.core.model import Contract, DesiredState, Grants, Serial, Team, User, effective_access
from reconciler.core.plan import Action
from reconciler.core.records import Snapshot
from reconciler.core.shapes import email_record


def email_changes(desired: DesiredState, current: DesiredState) -> list[Action]:
    """A `user.change_email` for each user of `current` whose id `desired` gives another address;
    UnsupportedChange when that address is another user's in `current`."""
    by_id = {user.id: user for user in desired.users if user.id is not None}
    if not by_id:  # an account without a directory: nothing to look for
        return []
    held: dict[str, User] | None = None
    changes = []
    for old in current.users:
        if old.id is None:
            continue
        new = by_id.get(old.id)
        if new is None or new.email == old.email:
            continue
        if held is None:
            held = {user.email: user for user in current.users}
        holder = held.get(new.email)
        if holder is not None:
            whose = f"id {holder.id}" if holder.id is not None else "no directory id"
            raise UnsupportedChange(
                f"user {old.id} changes e-mail from {old.email} to {new.email}, and the store holds "
                f"{new.email} for another user ({whose}): free that address in one change (remove that "
                f"user or change their address), then plan this one"
            )
        after = {"email": new.email, "id": old.id}
        changes.append(Action(Kind.USER_CHANGE_EMAIL, {"user": old.email}, email_record(old), after))
    return changes


def renamed_state(
    state: DesiredState, grants: Grants | None, moved: Mapping[str, str]
) -> tuple[DesiredState, Grants]:
    """`state` and its effective access (`grants`, by default what `state` gives) with each user of
    `moved` (old address to new) under their new address, wherever an address stands."""
    if grants is None:
        grants = effective_access(state)
    if not moved:
        return state, grants
    users = [replace(user, email=moved[user.email]) if user.email in moved else user for user in state.users]
    renamed = replace(
        state,
        users=tuple(sorted(users, key=lambda user: user.email)),
        contracts=tuple(_contract(contract, moved) for contract in state.contracts),
        teams=tuple(_team(team, moved) for team in state.teams),
    )
    return renamed, {(moved.get(user, user), serial): grant for (user, serial), grant in grants.items()}


def renamed_snapshot(snapshot: Snapshot, moved: Mapping[str, str]) -> Snapshot:
    """`snapshot` as it is once the users of `moved` (old address to new) have their new address."""
    if not moved:
        return snapshot
    state, grants = renamed_state(snapshot.state, snapshot.grants, moved)
    return replace(snapshot, state=state, grants=grants)


def _contract(contract: Contract, moved: Mapping[str, str]) -> Contract:
    touched = (
        contract.manager in moved
        or any(coordinator.email in moved for coordinator in contract.coordinators)
        or any(serial.coordinator in moved for serial in contract.serials)
    )
    if not touched:
        return contract
    coordinators = [
        replace(coordinator, email=moved.get(coordinator.email, coordinator.email))
        for coordinator in contract.coordinators
    ]
    return replace(
        contract,
        manager=moved.get(contract.manager, contract.manager),
        coordinators=tuple(sorted(coordinators, key=lambda coordinator: coordinator.email)),
        serials=tuple(_serial(serial, moved) for serial in contract.serials),
    )


def _serial(serial: Serial, moved: Mapping[str, str]) -> Serial:
    if serial.coordinator is None or serial.coordinator not in moved:
        return serial
    return replace(serial, coordinator=moved[serial.coordinator])


def _team(team: Team, moved: Mapping[str, str]) -> Team:
    if not any(member in moved for member in team.members):
        return team
    return replace(
        team,
        members=tuple(sorted(moved.get(member, member) for member in team.members)),
        member_expires=tuple(sorted((moved.get(member, member), day) for member, day in team.member_expires)),
    )
