"""What a seat and renewal report puts first, the same in every format: what needs action.

Full serials (nobody can be given access without a seat more), serials with
seats nobody uses (money at the renewal), users still invited long after
they were added (a mistyped address, someone who left; each once, with every
serial they hold), and contracts whose renewal is due (soonest first, those
that have ended before them). The text, markdown and HTML reports each lay
this out their own way; none of them decides it.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.errors import plural
from reconciler.core.records import ContractUsage, SerialUsage, Usage


@dataclass(frozen=True)
class StaleUser:
    """A user still invited, since when, and the serials whose seats they hold meanwhile."""

    user: str
    invited_at: str
    serials: tuple[str, ...]


@dataclass(frozen=True)
class Attention:
    """What needs action in a usage report, in the order a report shows it."""

    full: tuple[tuple[ContractUsage, SerialUsage], ...] = ()
    unused: tuple[tuple[ContractUsage, SerialUsage], ...] = ()
    stale: tuple[StaleUser, ...] = ()
    renewals: tuple[ContractUsage, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.full or self.unused or self.stale or self.renewals)

    @property
    def unused_seats(self) -> int:
        return sum(serial.free for _, serial in self.unused)


def attention(usage: Usage) -> Attention:
    """What needs action in `usage`: full serials, unused seats, stale invitations, renewals due."""
    placed = [(contract, serial) for contract in usage.contracts for serial in contract.serials]
    stale: dict[str, tuple[str, list[str]]] = {}
    for _, serial in placed:
        for invite in serial.stale_invites:
            stale.setdefault(invite.user, (invite.invited_at, []))[1].append(serial.number)
    return Attention(
        full=tuple((c, s) for c, s in placed if s.full),
        unused=tuple((c, s) for c, s in placed if s.free),
        stale=tuple(
            StaleUser(user, at, tuple(sorted(serials))) for user, (at, serials) in sorted(stale.items())
        ),
        renewals=tuple(
            sorted(
                (c for c in usage.contracts if c.renewal_due),
                key=lambda c: (c.days_left if c.days_left is not None else 0, c.number),
            )
        ),
    )


def totals(usage: Usage) -> dict[str, int]:
    """The report's counts: contracts, serials, seats, assigned, free, invited (seats held by users
    still invited, as assigned counts seats), and what needs action (`stale_invites`: people)."""
    serials = [serial for contract in usage.contracts for serial in contract.serials]
    found = attention(usage)
    return {
        "contracts": len(usage.contracts),
        "serials": len(serials),
        "seats": sum(s.seats for s in serials),
        "assigned": sum(s.assigned for s in serials),
        "free": sum(s.free for s in serials),
        "invited": sum(s.invited for s in serials),
        "full": len(found.full),
        "unused": len(found.unused),
        "stale_invites": len(found.stale),
        "renewals_due": len(found.renewals),
    }


def when_it_ends(contract: ContractUsage) -> str:
    """`ends 2027-03-31, in 120 days`, `ends today (2026-12-01)`, `ended 2026-11-20, 11 days ago`."""
    days = contract.days_left
    if contract.ends is None or days is None:
        return "no end date recorded"
    if days == 0:
        return f"ends today ({contract.ends})"
    if days > 0:
        return f"ends {contract.ends}, in {days:,} {plural(days, 'day')}"
    return f"ended {contract.ends}, {-days:,} {plural(-days, 'day')} ago"
