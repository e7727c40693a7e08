"""One user, whole: what they have and why, from the part of the store that concerns them.

`users show` reads `Store.user_snapshot(email)` (the user, their grants and
teams, the serials they hold or coordinate, those serials' contracts and the
people named on them) and the last applies that concerned them, and this
puts them together: their roles, each effective grant with the sources that
give it and the download right, each serial's coordinator as R4 has it (its
Software Coordinator, or else the contract's Manager), with names where the
store has them. Pure, and as small as the user: it never looks at the
account as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.core.errors import InputError
from reconciler.core.model import DIRECT, Contract, DesiredState, Serial
from reconciler.core.records import (
    Applied,
    Coordinating,
    HeldGrant,
    Membership,
    Named,
    ServedSerial,
    Snapshot,
    UserOverview,
)


def check_known(snapshot: Snapshot, email: str) -> None:
    """Raise InputError, naming the address, unless `snapshot` holds the user `email` (any case)."""
    if email.lower() not in snapshot.user_status:
        raise InputError(
            f"the store has no user {email.lower()}; check the address (`reconciler export --format csv` "
            "lists every user)"
        )


def full_names(state: DesiredState) -> dict[str, str]:
    """`First Last` of each user who has both names, by e-mail."""
    return {u.email: f"{u.first_name} {u.last_name}" for u in state.users if u.first_name and u.last_name}


def served_serial(contract: Contract, serial: Serial, names: Mapping[str, str]) -> ServedSerial:
    """`serial` of `contract` as a person reads it: product, contract, group, and its coordinator (R4)
    by address and, from `names` (`full_names`), by name."""
    coordinator = contract.coordinator_of(serial)
    return ServedSerial(
        number=serial.number,
        product=serial.product,
        contract=contract.number,
        group=serial.group,
        coordinator=Named(coordinator, names.get(coordinator)),
        by_manager=serial.coordinator is None,
    )


def user_overview(snapshot: Snapshot, email: str, history: Sequence[Applied] = ()) -> UserOverview:
    """What `email` has and why, from `snapshot` (a user snapshot, or the whole store) and `history`
    (the applies that concerned them, newest first, as the store's `history(user=…)` returns them).

    Raises InputError when the snapshot has no such user.
    """
    email = email.lower()
    check_known(snapshot, email)
    state = snapshot.state
    user = next(u for u in state.users if u.email == email)
    names = full_names(state)
    serials = {
        serial.number: (contract, serial) for contract in state.contracts for serial in contract.serials
    }

    teams = [team for team in state.teams if email in team.members]
    team_download = {
        (team.source, access.serial): access.download for team in teams for access in team.access
    }
    grants = []
    for (holder, number), grant in sorted(snapshot.grants.items()):
        if holder != email:
            continue
        found = serials.get(number)
        if found is None:  # the store keeps no grant without its serial; a snapshot made by hand might
            continue
        contract, serial = found
        download_via = tuple(
            source
            for source in grant.via
            if (grant.direct_download if source == DIRECT else team_download.get((source, number), False))
        )
        grants.append(
            HeldGrant(
                served_serial(contract, serial, names),
                grant.download,
                grant.via,
                download_via,
                grant.direct_download,
            )
        )
    coordinates = tuple(
        Coordinating(
            contract=contract.number,
            manager=Named(contract.manager, names.get(contract.manager)),
            manage_users=coordinator.manage_users,
            shipping=None
            if coordinator.shipping is None
            else {
                "name": coordinator.shipping.name,
                "address": coordinator.shipping.address,
                "country": coordinator.shipping.country,
            },
            serials=tuple(
                served_serial(contract, s, names) for s in contract.serials if s.coordinator == email
            ),
        )
        for contract in sorted(state.contracts, key=lambda c: c.number)
        for coordinator in contract.coordinators
        if coordinator.email == email
    )
    return UserOverview(
        lineage=snapshot.lineage,
        revision=snapshot.revision,
        email=email,
        first_name=user.first_name,
        last_name=user.last_name,
        status=snapshot.user_status[email],
        added_at=snapshot.user_added.get(email),
        directory_id=user.id,
        protected=user.protect,
        reseller=email in snapshot.resellers,
        manages=tuple(sorted(c.number for c in state.contracts if c.manager == email)),
        coordinates=coordinates,
        teams=tuple(Membership(team.name, team.description) for team in teams),
        grants=tuple(grants),
        history=tuple(history),
    )
