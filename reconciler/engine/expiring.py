"""What the store holds until a day: each dated entry, how many days it has left, and what ends with it.

An `expires` date (engine/expiry.py) stands on a user's own grant, on a team
membership or on a user. Read from a snapshot of the store, each becomes an
`Expiring`: the entry, its last day, the days left from `today` (negative
once it has passed: the store still holds it until a plan removes it), and
the serials that end with it, each with its coordinator (R4: its Software
Coordinator, else the contract's Manager), who is the one to move the date.

`usage --expiring` lists them, `drift` names those past their day, and
`remind` (engine/reminders.py) tells people before the day comes. Pure: the
snapshot and the day in, the entries out, sorted by date, then by entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date

from reconciler.core.errors import StoreError
from reconciler.core.kinds import Kind, Record
from reconciler.core.model import DIRECT, TEAM_SOURCE, Grant
from reconciler.core.plan import Action
from reconciler.core.records import Expiring, ServedSerial, Snapshot
from reconciler.engine.expiry import Expiries
from reconciler.engine.people import full_names, served_serial


def expiring(snapshot: Snapshot, today: str) -> tuple[Expiring, ...]:
    """Every dated entry `snapshot` holds, with its days left as of `today` (ISO 8601), sorted by date
    and then by entry (`Expiring.sort_key`)."""
    day = date.fromisoformat(today)
    served = _served(snapshot)
    held: dict[str, list[str]] = {}
    for user, serial in snapshot.grants:
        held.setdefault(user, []).append(serial)
    found = list(_entries(snapshot, day, served, held))
    return tuple(sorted(found, key=Expiring.sort_key))


def past_their_day(entries: tuple[Expiring, ...]) -> tuple[Expiring, ...]:
    """Those of `entries` whose last day has passed: what a plan made today removes."""
    return tuple(entry for entry in entries if entry.days_left < 0)


def within(entries: tuple[Expiring, ...], days: int) -> tuple[Expiring, ...]:
    """Those of `entries` that end within `days` days, and those already past their day."""
    return tuple(entry for entry in entries if entry.days_left <= days)


def without_expired(actions: Iterable[Action], expiries: Expiries, held: Iterable[Expiring]) -> list[Action]:
    """`actions` (of git, expired, against the store) but those that take away an entry `held` lists:
    the store holds it past its day, and a report lists it as that, once."""
    listed = {_key(entry.record, entry.target) for entry in held}
    if not listed:
        return list(actions)
    return [action for action in actions if not (_explained_by(action, expiries) & listed)]


def _key(record: Record, target: Mapping[str, str]) -> tuple[str, ...]:
    if record is Record.ACCESS:
        return ("access", target["user"], target["serial"])
    if record is Record.TEAM_MEMBER:
        return ("member", target["team"].casefold(), target["user"])
    return ("user", target["user"])


def _explained_by(action: Action, expiries: Expiries) -> set[tuple[str, ...]]:
    """The ended entries that take `action`'s record away (as `Expiries.date_of` finds its day)."""
    if expiries.date_of(action) is None:
        return set()
    user = action.target.get("user", "")
    found: set[tuple[str, ...]] = {("user", user)} if user in expiries.users else set()
    if action.kind is Kind.TEAM_MEMBER_REMOVE:
        found.add(("member", action.target["team"].casefold(), user))
    via = (action.before or {}).get("via", ())
    if "serial" in action.target and DIRECT in via:
        found.add(("access", user, action.target["serial"]))
    found.update(
        ("member", source[len(TEAM_SOURCE) :].casefold(), user) for source in via if source != DIRECT
    )
    return found


def _entries(
    snapshot: Snapshot, today: date, served: Mapping[str, ServedSerial], held: Mapping[str, list[str]]
) -> Iterator[Expiring]:
    grants = snapshot.grants
    for user in snapshot.state.users:
        if user.expires is not None:
            serials = _each(served, sorted(held.get(user.email, ())))
            left = _left(user.expires, today, f"user {user.email}")
            yield Expiring(Record.USER, {"user": user.email}, user.expires, left, serials)
        for access in user.access:
            if access.expires is None:
                continue
            serials = _each(served, [access.serial])
            grant = grants.get((user.email, access.serial))
            kept: tuple[str, ...] = (access.serial,) if _through_another(grant, DIRECT) else ()
            target = {"user": user.email, "serial": access.serial}
            if serials:
                target["contract"] = serials[0].contract
            left = _left(access.expires, today, f"the access of {user.email} to serial {access.serial}")
            yield Expiring(Record.ACCESS, target, access.expires, left, serials, kept)
    for team in snapshot.state.teams:
        if not team.member_expires:
            continue
        source = TEAM_SOURCE + team.name
        numbers = sorted(access.serial for access in team.access)
        for email, expires in team.member_expires:
            kept = tuple(
                number for number in numbers if _through_another(grants.get((email, number)), source)
            )
            yield Expiring(
                Record.TEAM_MEMBER,
                {"team": team.name, "user": email},
                expires,
                _left(expires, today, f"member {email} of team {team.name}"),
                _each(served, numbers),
                kept,
            )


def _through_another(grant: Grant | None, source: str) -> bool:
    """Whether `grant` comes from a source other than `source` too: it outlasts that one."""
    return grant is not None and any(via != source for via in grant.via)


def _served(snapshot: Snapshot) -> dict[str, ServedSerial]:
    """Each serial of the store as a reminder names it: product, contract, group, and its coordinator
    by address and name (R4)."""
    state = snapshot.state
    names = full_names(state)
    return {
        serial.number: served_serial(contract, serial, names)
        for contract in state.contracts
        for serial in contract.serials
    }


def _each(served: Mapping[str, ServedSerial], numbers: list[str]) -> tuple[ServedSerial, ...]:
    """The serials of `numbers` the store has (it keeps no grant without its serial)."""
    return tuple(served[number] for number in numbers if number in served)


def _left(expires: str, today: date, what: str) -> int:
    """The days from `today` to `expires`; the schema lets only ISO dates through, so another is the
    store's, and a StoreError naming `what` holds it."""
    try:
        return (date.fromisoformat(expires) - today).days
    except ValueError:
        raise StoreError(
            f"{what} expires on {expires!r} in the store, which is not a date (YYYY-MM-DD); apply the YAML "
            "again to correct it"
        ) from None
