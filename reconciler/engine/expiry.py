"""Access that ends by itself: entries whose last day has passed leave the desired state before the diff.

An `expires` date is the last day of an access entry, a team membership or a user. From the day
after, `expire` takes the entry out of the desired state, so the diff plans its removal as it would for
an entry deleted from the file (`access.revoke`, `team.member_remove`, `user.remove`, and the grants
those take with them), and the removal guard counts it as any removal. `Expiries` remembers what
expired and when, so each removal says why: `reason: expired DATE`.

Once the store holds such a removal, the entry in the file is only history: `ended`, `split_applied`
and `without` say which entries those are and take them out of a file's part of the account, for
`fmt --drop-expired` to write.

Dates are ISO 8601 text ("2027-03-31"), which compare as the days they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from reconciler.core.kinds import Kind
from reconciler.core.model import DIRECT, TEAM_SOURCE, DesiredState, Team, User
from reconciler.core.plan import Action


@dataclass(frozen=True)
class Expiries:
    """What expired, by what a removal's target names, each with its last day."""

    users: Mapping[str, str] = field(default_factory=dict)
    access: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (user, serial): a user's own grant
    members: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (team, user)

    def __bool__(self) -> bool:
        return bool(self.users or self.access or self.members)

    def date_of(self, action: Action) -> str | None:
        """The last day of what `action` takes away because it expired, or None when it is not that.

        A grant goes when the user's own entry, the user, or a membership of a team that gave it
        expired; the latest of those days is the one it lasted until.
        """
        kind, target = action.kind, action.target
        if kind is Kind.USER_REMOVE:
            return self.users.get(target["user"])
        if kind is Kind.TEAM_MEMBER_REMOVE:
            return self.members.get((target["team"], target["user"])) or self.users.get(target["user"])
        if kind is not Kind.ACCESS_REVOKE and kind is not Kind.ACCESS_UPDATE:
            return None
        user = target["user"]
        via = (action.before or {}).get("via", ())
        days = [self.users.get(user)]
        if DIRECT in via:
            days.append(self.access.get((user, target["serial"])))
        days += [self.members.get((source[len(TEAM_SOURCE) :], user)) for source in via if source != DIRECT]
        found = [day for day in days if day is not None]
        return max(found) if found else None


NOTHING_EXPIRED = Expiries()


def expire(state: DesiredState, today: str) -> tuple[DesiredState, Expiries]:
    """`state` without what expired before `today` (ISO 8601), and what that was.

    An account without a date passed is returned as it is, after one look at each entry.
    """
    users: dict[str, str] = {}
    access: dict[tuple[str, str], str] = {}
    members: dict[tuple[str, str], str] = {}
    kept_users: list[User] = []
    for user in state.users:
        if user.expires is not None and user.expires < today:
            users[user.email] = user.expires
            continue
        ended = [a for a in user.access if a.expires is not None and a.expires < today]
        if ended:
            access.update(((user.email, a.serial), str(a.expires)) for a in ended)
            user = replace(user, access=tuple(a for a in user.access if a not in ended))
        kept_users.append(user)
    teams = [_team_today(team, today, users, members) for team in state.teams]
    if not (users or access or members):
        return state, NOTHING_EXPIRED
    kept = replace(state, users=tuple(kept_users), teams=tuple(teams))
    return kept, Expiries(users, access, members)


def _team_today(team: Team, today: str, gone: Mapping[str, str], members: dict[tuple[str, str], str]) -> Team:
    """`team` without its members whose membership, or who themselves, expired."""
    ended = {email for email, day in team.member_expires if day < today}
    members.update(((team.name, email), day) for email, day in team.member_expires if email in ended)
    ended.update(email for email in team.members if email in gone)
    if not ended:
        return team
    return replace(
        team,
        members=tuple(email for email in team.members if email not in ended),
        member_expires=tuple(pair for pair in team.member_expires if pair[0] not in ended),
    )


def with_reasons(actions: list[Action], expiries: Expiries) -> list[Action]:
    """`actions`, each removal of what expired marked with the day it lasted until."""
    if not expiries:
        return actions
    marked = []
    for action in actions:
        day = expiries.date_of(action)
        marked.append(action if day is None else replace(action, expired=day))
    return marked


# Taking ended entries out of the files once applied (`fmt --drop-expired`) -----------------------------


@dataclass(frozen=True)
class Ended:
    """One entry of the YAML whose last day, `day`, has passed: the user `user` (with `serial` and `team`
    None), their own access to `serial`, or their membership of `team`."""

    user: str
    day: str
    serial: str | None = None
    team: str | None = None

    def sort_key(self) -> tuple[str, str, str]:
        """By user, then the user themselves, their grants by serial, their teams by name."""
        return (self.user, self.serial or "", self.team or "")


def ended(state: DesiredState, today: str) -> list[Ended]:
    """The entries of `state` that ended before `today`, as `expire` finds them, sorted.

    A user who ended takes their access and memberships with them: those are not listed again, but
    a membership that ended on its own day is.
    """
    _, expiries = expire(state, today)
    return sorted(
        [Ended(user, day) for user, day in expiries.users.items()]
        + [Ended(user, day, serial=serial) for (user, serial), day in expiries.access.items()]
        + [Ended(user, day, team=team) for (team, user), day in expiries.members.items()],
        key=Ended.sort_key,
    )


def split_applied(entries: Iterable[Ended], store: DesiredState) -> tuple[list[Ended], list[Ended]]:
    """`entries` in two: those whose removal `store` (a snapshot's state) holds already, and those it
    still holds: the user, their own grant to the serial, their place in the team (team names compared
    ignoring case, as the rules compare them). Only presence counts: what the store no longer holds
    was removed by an apply, or never added."""
    grants = {(user.email, access.serial) for user in store.users for access in user.access}
    emails = {user.email for user in store.users}
    places = {(team.name.casefold(), email) for team in store.teams for email in team.members}
    applied: list[Ended] = []
    held: list[Ended] = []
    for entry in entries:
        if entry.team is not None:
            holds = (entry.team.casefold(), entry.user) in places
        elif entry.serial is not None:
            holds = (entry.user, entry.serial) in grants
        else:
            holds = entry.user in emails
        (held if holds else applied).append(entry)
    return applied, held


def without(state: DesiredState, entries: Iterable[Ended]) -> tuple[DesiredState, list[Ended]]:
    """`state` without `entries`, and those of them it held, sorted.

    A user taken out leaves every team of `state` too: each such membership is among those returned,
    with the user's day. Everything else stays as it is, in its order.
    """
    gone: dict[str, str] = {}
    grants: dict[tuple[str, str], str] = {}
    places: dict[tuple[str, str], str] = {}  # (team's name folded, user)
    for entry in entries:
        if entry.team is not None:
            places[(entry.team.casefold(), entry.user)] = entry.day
        elif entry.serial is not None:
            grants[(entry.user, entry.serial)] = entry.day
        else:
            gone[entry.user] = entry.day
    held: list[Ended] = []
    users: list[User] = []
    for user in state.users:
        if user.email in gone:
            held.append(Ended(user.email, gone[user.email]))
            continue
        kept = tuple(access for access in user.access if (user.email, access.serial) not in grants)
        held += [
            Ended(user.email, grants[(user.email, access.serial)], serial=access.serial)
            for access in user.access
            if access not in kept
        ]
        users.append(user if len(kept) == len(user.access) else replace(user, access=kept))
    teams: list[Team] = []
    for team in state.teams:
        name = team.name.casefold()
        leaving = {
            email: places.get((name, email)) or gone[email]
            for email in team.members
            if email in gone or (name, email) in places
        }
        held += [Ended(email, day, team=team.name) for email, day in leaving.items()]
        if leaving:
            team = replace(
                team,
                members=tuple(email for email in team.members if email not in leaving),
                member_expires=tuple(pair for pair in team.member_expires if pair[0] not in leaving),
            )
        teams.append(team)
    if not held:
        return state, []
    return replace(state, users=tuple(users), teams=tuple(teams)), sorted(held, key=Ended.sort_key)
