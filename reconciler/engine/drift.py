"""Drift: how the store differs from git, found by the same diff a plan uses, read the other way.

A plan asks "what must change in the store to match git"; drift asks "what
was changed in the store outside git". Each action of `diff(git, store)`
answers both: an add is something git has and the store lacks, a removal
something the store has and git lacks, a change fields that differ. Changes
to one record (a serial's seats and its group, say) become one difference,
and a serial missing from the store carries its coordinator with it.

Users still `invited` long after they were added are reported beside the
drift when asked for: an invitation nobody accepted is usually a typo or a
person who left. So are the grants, memberships and users the store still
holds after their last day (`expires` before the UTC day of `now`): git says
they ended, and no plan has taken them away yet. Git is read as a plan made
that day reads it (engine/expiry.py): what ended is not declared any more, so
what an apply removed when it ended is no drift, and what the store still
holds is listed once, in its own section, not again as only in the store.
`now` is a parameter so that the result depends on its input only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.core.errors import StoreError
from reconciler.core.kinds import Effect, Kind, Record
from reconciler.core.model import DesiredState
from reconciler.core.records import INVITED, Difference, Drift, Snapshot, StaleInvite
from reconciler.engine.diff import diff
from reconciler.engine.expiring import expiring, past_their_day, without_expired
from reconciler.engine.expiry import expire
from reconciler.engine.unmanaged import DEFAULT_POLICY, with_unmanaged


def find_drift(
    desired: DesiredState,
    snapshot: Snapshot,
    now: datetime,
    stale_after_days: int | None = None,
    unmanaged: str | None = None,
) -> Drift:
    """How the store in `snapshot` differs from `desired`; invitations older than the days given at `now`,
    and what the store holds past its last day as of `now`'s UTC day."""
    # Users the YAML leaves unmanaged on purpose (unmanaged_users: keep or revoke) are not drift.
    policy = unmanaged or desired.unmanaged_users or DEFAULT_POLICY
    goal, _ = with_unmanaged(desired, snapshot.state, policy)
    # Git as a plan made today reads it: what ended is no longer declared, so that once an apply took it
    # away it is no difference; while the store still holds it, it is listed once, as past its day.
    today = utc(now).astimezone(UTC).date().isoformat()
    goal, expiries = expire(goal, today)
    expired = past_their_day(expiring(snapshot, today))
    actions = without_expired(diff(goal, snapshot.state, snapshot.grants), expiries, expired)
    created = {a.target["serial"] for a in actions if a.kind == Kind.SERIAL_CREATE}
    assigned = {
        a.target["serial"]: (a.after or {}).get("coordinator")
        for a in actions
        if a.kind == Kind.SERIAL_ASSIGN_COORDINATOR and a.target["serial"] in created
    }
    only_in_store: list[Difference] = []
    only_in_git: list[Difference] = []
    changed: dict[tuple[Record, tuple[tuple[str, str], ...]], tuple[dict[str, Any], dict[str, Any]]] = {}
    for action in actions:
        record = action.kind.record
        target = dict(action.target)
        if action.effect is Effect.REMOVE:
            only_in_store.append(Difference(record, target, action.before, None))
        elif action.kind == Kind.SERIAL_CREATE:
            git = {**(action.after or {}), "coordinator": assigned.get(target["serial"])}
            only_in_git.append(Difference(record, target, None, git))
        elif action.effect is Effect.ADD:
            only_in_git.append(Difference(record, target, None, action.after))
        elif target.get("serial") not in created:
            store, git = changed.setdefault((record, tuple(sorted(target.items()))), ({}, {}))
            before, after = action.before or {}, action.after or {}
            for name in after.keys() | before.keys():
                if before.get(name) != after.get(name):  # a grant's sources, say, may be the same
                    store[name], git[name] = before.get(name), after.get(name)
    differ = [
        Difference(record, dict(target), store, git) for (record, target), (store, git) in changed.items()
    ]
    named = {d.target["serial"] for d in (*only_in_store, *only_in_git, *differ) if "serial" in d.target}
    return Drift(
        lineage=snapshot.lineage,
        revision=snapshot.revision,
        only_in_store=_sorted(only_in_store),
        only_in_git=_sorted(only_in_git),
        differ=_sorted(differ),
        stale_invites=stale_invites(snapshot, now, stale_after_days),
        stale_after_days=stale_after_days,
        products=_products(named, goal, snapshot.state),
        expired=expired,
    )


def _products(serials: set[str], desired: DesiredState, stored: DesiredState) -> dict[str, str]:
    """The product of each of `serials`: the store's, else git's (a serial only in git)."""
    products = {}
    for state in (desired, stored):  # the store's last, so that it wins
        for contract in state.contracts:
            for serial in contract.serials:
                if serial.number in serials:
                    products[serial.number] = serial.product
    return dict(sorted(products.items()))


def _sorted(differences: list[Difference]) -> tuple[Difference, ...]:
    return tuple(sorted(differences, key=Difference.sort_key))


def stale_invites(snapshot: Snapshot, now: datetime, days: int | None) -> tuple[StaleInvite, ...]:
    """The users still invited `days` or more after they were added, as of `now`, by e-mail; none
    when `days` is None. `drift` and `usage` both ask this, so the two name the same people."""
    if days is None:
        return ()
    cutoff = utc(now) - timedelta(days=days)
    return tuple(
        StaleInvite(email, snapshot.user_added[email])
        for email, status in sorted(snapshot.user_status.items())
        if status == INVITED and _added(snapshot, email) <= cutoff
    )


def _added(snapshot: Snapshot, email: str) -> datetime:
    """When the store says `email` was added; a StoreError when what it holds is not a time."""
    written = snapshot.user_added[email]
    try:
        return utc(datetime.fromisoformat(written))
    except ValueError:
        raise StoreError(
            f"the store says user {email} was added at {written!r}, which is not an ISO 8601 time; "
            "fix its users.added_at"
        ) from None


def utc(moment: datetime) -> datetime:
    """`moment` with a time zone; one without is taken as UTC, as the store writes it."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
