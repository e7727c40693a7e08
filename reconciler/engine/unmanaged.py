"""What to do with users the store has and the YAML does not (as Adobe's User Sync and peribolos offer).

- `remove` (the default): the YAML is the truth; they are removed with their access;
- `revoke`: they stay, but lose all their access;
- `keep`: they stay as they are, in the teams the YAML still has; the plan
  only lists them.

Done by laying them over the desired state before the diff, so the diff and
the ordering need to know nothing about it.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.core.errors import UnsupportedChange
from reconciler.core.model import DesiredState, Team, effective_access

POLICIES = ("remove", "revoke", "keep")
DEFAULT_POLICY = "remove"


def with_unmanaged(
    desired: DesiredState, current: DesiredState, policy: str
) -> tuple[DesiredState, tuple[str, ...]]:
    """The state to plan towards under `policy`, and the unmanaged users it keeps."""
    wanted = {user.email for user in desired.users}
    # A user the YAML names by their directory id under another address is managed: their e-mail changes.
    ids = {user.id for user in desired.users if user.id is not None}
    unmanaged = [
        user for user in current.users if user.email not in wanted and (user.id is None or user.id not in ids)
    ]
    if policy == "remove" or not unmanaged:
        return desired, ()
    serials = {s.number: s for c in desired.contracts for s in c.serials}
    kept = [
        replace(user, access=tuple(a for a in user.access if a.serial in serials) if policy == "keep" else ())
        for user in unmanaged
    ]
    merged = replace(desired, users=tuple(sorted((*desired.users, *kept), key=lambda u: u.email)))
    if policy == "keep":
        merged = replace(
            merged, teams=_with_kept_members(desired.teams, current.teams, {u.email for u in kept})
        )
        _check_seats(merged, kept_emails={u.email for u in kept})
    return merged, tuple(user.email for user in unmanaged)


def _with_kept_members(
    teams: tuple[Team, ...], current: tuple[Team, ...], kept: set[str]
) -> tuple[Team, ...]:
    """`teams` with the kept users still members where the store has them in a team of that name."""
    had = {team.name: [m for m in team.members if m in kept] for team in current}
    return tuple(
        replace(team, members=tuple(sorted({*team.members, *had[team.name]}))) if had.get(team.name) else team
        for team in teams
    )


def _check_seats(state: DesiredState, kept_emails: set[str]) -> None:
    holders: dict[str, list[str]] = {}
    for email, number in effective_access(state):
        holders.setdefault(number, []).append(email)
    for contract in state.contracts:
        for serial in contract.serials:
            found = holders.get(serial.number, [])
            if len(found) > serial.seats:
                kept = sorted(email for email in found if email in kept_emails)
                raise UnsupportedChange(
                    f"with unmanaged_users: keep, serial {serial.number} would have {len(found)} users for "
                    f"{serial.seats} seats (kept: {', '.join(kept)}); add seats, or use revoke or remove"
                )
