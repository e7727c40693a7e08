"""What to do with users the store has and the YAML does not (as Adobe's User Sync and peribolos offer).

- `remove` (the default): the YAML is the truth; they are removed with their access;
- `revoke`: they stay, but lose all their access;
- `keep`: they stay as they are; the plan only lists them.

Done by laying them over the desired state before the diff, so the diff and
the ordering need to know nothing about it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from reconciler.errors import UnsupportedChange
from reconciler.model import DesiredState, User

POLICIES = ("remove", "revoke", "keep")
DEFAULT_POLICY = "remove"


def with_unmanaged(
    desired: DesiredState, current: DesiredState, policy: str
) -> tuple[DesiredState, tuple[str, ...]]:
    """The state to plan towards under `policy`, and the unmanaged users it keeps."""
    wanted = {user.email for user in desired.users}
    unmanaged = [user for user in current.users if user.email not in wanted]
    if policy == "remove" or not unmanaged:
        return desired, ()
    serials = {s.number: s for c in desired.contracts for s in c.serials}
    kept = [
        replace(user, access=tuple(a for a in user.access if a.serial in serials) if policy == "keep" else ())
        for user in unmanaged
    ]
    merged = replace(desired, users=tuple(sorted((*desired.users, *kept), key=lambda u: u.email)))
    if policy == "keep":
        _check_seats(merged, kept_emails={u.email for u in kept})
    return merged, tuple(user.email for user in unmanaged)


def _check_seats(state: DesiredState, kept_emails: set[str]) -> None:
    used = Counter(a.serial for u in state.users for a in u.access)
    for contract in state.contracts:
        for serial in contract.serials:
            count = used[serial.number]
            if count > serial.seats:
                kept = sorted(
                    u.email for u in state.users if u.email in kept_emails and serial.number in _serials_of(u)
                )
                raise UnsupportedChange(
                    f"with unmanaged_users: keep, serial {serial.number} would have {count} users for "
                    f"{serial.seats} seats (kept: {', '.join(kept)}); add seats, or use revoke or remove"
                )


def _serials_of(user: User) -> set[str]:
    return {access.serial for access in user.access}
