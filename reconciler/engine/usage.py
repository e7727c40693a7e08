"""Seats and renewals: how each serial's seats are used and when each contract ends, from a snapshot.

What a manager reads before a renewal: which serials are full, which seats
nobody uses, who never accepted the invitation, which contracts end soon.
A serial's assigned users are the distinct users with effective access
(`Snapshot.grants`: direct and team grants together, each user once, as R8
counts them). Stale invitations are the ones `drift --stale-invites` names
(`stale_invites`, one function for both). `now` is a parameter, as in
drift, so that the result depends on its input only; days are counted in
UTC, as the store writes its times. Asked for (`usage --expiring DAYS`), the
entries that end within those days, and those past their day the store
still holds, come with it (engine/expiring.py).

Each grant and each serial is looked at once, by key: at 100,000 users
this is a small part of reading the snapshot.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from reconciler.core.errors import StoreError
from reconciler.core.records import INVITED, ContractUsage, SerialUsage, Snapshot, StaleInvite, Usage
from reconciler.engine.drift import stale_invites, utc
from reconciler.engine.expiring import expiring, within

#: A renewal is due when the contract ends within this many days, unless told otherwise.
DEFAULT_RENEWAL_DAYS = 90


def seat_usage(
    snapshot: Snapshot,
    now: datetime,
    renewal_days: int = DEFAULT_RENEWAL_DAYS,
    stale_after_days: int | None = None,
    expiring_days: int | None = None,
) -> Usage:
    """The seat and renewal report of `snapshot` as of `now` (its UTC date is the report's day).

    Contracts come sorted by number, each with its serials sorted by number.
    With `stale_after_days`, each serial lists its users still invited that
    many days or more after they were added. With `expiring_days`, the report
    lists the grants, memberships and users whose last day is at most that
    many days away, or past, by date.
    """
    today = utc(now).astimezone(UTC).date()
    assigned: dict[str, int] = {}
    invited: dict[str, int] = {}
    stale_of: dict[str, list[StaleInvite]] = {}
    status = snapshot.user_status
    stale = {invite.user: invite for invite in stale_invites(snapshot, now, stale_after_days)}
    for user, serial in snapshot.grants:
        assigned[serial] = assigned.get(serial, 0) + 1
        if status.get(user) == INVITED:
            invited[serial] = invited.get(serial, 0) + 1
            invite = stale.get(user)  # a stale invitation is an invited user's
            if invite is not None:
                stale_of.setdefault(serial, []).append(invite)
    contracts = []
    for contract in sorted(snapshot.state.contracts, key=lambda c: c.number):
        serials = tuple(
            SerialUsage(
                number=serial.number,
                product=serial.product,
                group=serial.group,
                coordinator=contract.coordinator_of(serial),
                seats=serial.seats,
                assigned=assigned.get(serial.number, 0),
                invited=invited.get(serial.number, 0),
                stale_invites=tuple(sorted(stale_of.get(serial.number, ()), key=lambda i: i.user)),
            )
            for serial in sorted(contract.serials, key=lambda s: s.number)
        )
        days_left = None if contract.ends is None else (_day(contract.ends, contract.number) - today).days
        contracts.append(
            ContractUsage(
                number=contract.number,
                manager=contract.manager,
                ends=contract.ends,
                days_left=days_left,
                renewal_due=days_left is not None and days_left <= renewal_days,
                serials=serials,
            )
        )
    ending = () if expiring_days is None else within(expiring(snapshot, today.isoformat()), expiring_days)
    return Usage(
        lineage=snapshot.lineage,
        revision=snapshot.revision,
        today=today.isoformat(),
        renewal_days=renewal_days,
        stale_after_days=stale_after_days,
        contracts=tuple(contracts),
        expiring_days=expiring_days,
        expiring=ending,
    )


def _day(text: str, contract: str) -> date:
    """The day a contract ends; the YAML's schema lets only ISO dates through, so another is the store's."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise StoreError(
            f"contract {contract} ends on {text!r} in the store, which is not a date (YYYY-MM-DD); "
            "apply the YAML again to correct it"
        ) from None
