"""Access that ends by itself: entries whose last day has passed leave the desired state before the diff.

An `expires` date is the last day of an access entry, a team membership or a user. From the day
after, `expire` takes the entry out of the desired state, so the diff plans its removal as it would for
an entry deleted from the file (`access.revoke`, `team.member_remove`, `user.remove`, and the grants
those take with them), and the removal guard counts it as any removal. `Expiries` remembers what
expired and when, so each removal says why: `reason: expired DATE`.

Dates are ISO 8601 text ("2027-03-31"), which compare as the days they name.
"""

from __future__ import annotations

from collections.abc import Mapping
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
