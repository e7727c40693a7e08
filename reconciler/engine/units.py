"""Units: a team change and the access it causes, applied together or held back together.

A team's bookkeeping (`team.member_*`, `team.access_*`) changes where some
users' effective access comes from; the `access.*` actions beside it change
that access. Applied apart, the store would keep a grant that nothing gives
any more (drift shows it `via (none)`), or a team member without the access
the team gives. So the actions that touch one user's access to one serial
(the bookkeeping that changes its sources, and the `access.*` action that
changes the access) are one unit, and a unit runs whole or not at all.

Which grants a team change touches is read from the team tables, as the
store has them before the plan and as the plan's own team changes leave
them (a member whose e-mail the plan changes by the new address), never
guessed from names; so a saved plan, or one cut by `--target`,
is read as exactly as a fresh one:

| action                          | touches the access of                                  |
|---------------------------------|--------------------------------------------------------|
| `team.member_add`/`_remove` T, U | U, to each serial T gives before or after the plan    |
| `team.access_*` T, S            | each member of T, before or after the plan, to S       |
| `access.*` U, S                 | U, to S                                                |

Before or after, both: a change held back by `apply --request` leaves its part of the team as it
was, so a member added beside a held revoke of the team's access would get that access (and a
revoke applied beside a held member add would leave the member without it), unless the two are
one unit.

A user moved between two teams that give the same serial keeps their access
(no `access.*` action), but the two moves touch that grant: they are one unit
too. `team.create` and `team.remove` touch no grant themselves: their members
and access are actions of their own, which the dependency graph orders
around them (engine/ordering.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from reconciler.core.kinds import Kind, Record
from reconciler.core.model import Team
from reconciler.core.plan import Action, renamed_users

#: A user's access to a serial, as (user, serial).
GrantKey = tuple[str, str]

_TEAM_CHANGES = frozenset(
    {
        Kind.TEAM_MEMBER_ADD,
        Kind.TEAM_MEMBER_REMOVE,
        Kind.TEAM_ACCESS_GRANT,
        Kind.TEAM_ACCESS_UPDATE,
        Kind.TEAM_ACCESS_REVOKE,
    }
)


class _Tables:
    """A team's members and the serials it gives, before the plan and after it."""

    def __init__(self, teams: Iterable[Team], actions: Sequence[Action]) -> None:
        # A member whose e-mail the plan changes is named by the new address in its actions.
        moved = renamed_users(actions)
        self.members_before: dict[str, set[str]] = {
            t.name: {moved.get(member, member) for member in t.members} for t in teams
        }
        self.serials_before: dict[str, set[str]] = {t.name: {a.serial for a in t.access} for t in teams}
        self.members_after = {name: set(found) for name, found in self.members_before.items()}
        self.serials_after = {name: set(found) for name, found in self.serials_before.items()}
        for action in actions:
            kind, target = action.kind, action.target
            if kind is Kind.TEAM_REMOVE:
                self.members_after.pop(target["team"], None)
                self.serials_after.pop(target["team"], None)
            elif kind is Kind.TEAM_MEMBER_ADD:
                self.members_after.setdefault(target["team"], set()).add(target["user"])
            elif kind is Kind.TEAM_MEMBER_REMOVE:
                self.members_after.get(target["team"], set()).discard(target["user"])
            elif kind is Kind.TEAM_ACCESS_GRANT:
                self.serials_after.setdefault(target["team"], set()).add(target["serial"])
            elif kind is Kind.TEAM_ACCESS_REVOKE:
                self.serials_after.get(target["team"], set()).discard(target["serial"])

    def touched(self, action: Action) -> Iterator[GrantKey]:
        """The grants `action` changes, or changes the sources of."""
        kind, target = action.kind, action.target
        if kind.record is Record.ACCESS:
            yield target["user"], target["serial"]
            return
        team = target.get("team", "")
        if kind is Kind.TEAM_MEMBER_ADD or kind is Kind.TEAM_MEMBER_REMOVE:
            serials = self.serials_before.get(team, set()) | self.serials_after.get(team, set())
            yield from ((target["user"], s) for s in sorted(serials))
        elif kind in _TEAM_CHANGES:  # the team's access to one serial
            members = self.members_before.get(team, set()) | self.members_after.get(team, set())
            yield from ((user, target["serial"]) for user in sorted(members))


def units(actions: Sequence[Action], teams: Iterable[Team]) -> list[tuple[int, ...]]:
    """The units of more than one action among `actions`, by position, each in the actions' order;
    `teams` are the store's before the plan."""
    if not any(action.kind in _TEAM_CHANGES for action in actions):
        return []  # without team changes every action is a unit of its own
    tables = _Tables(teams, actions)
    parent = list(range(len(actions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_to_touch: dict[GrantKey, int] = {}
    for i, action in enumerate(actions):
        for grant in tables.touched(action):
            other = first_to_touch.setdefault(grant, i)
            a, b = root(other), root(i)
            if a != b:
                parent[max(a, b)] = min(a, b)
    grouped: dict[int, list[int]] = defaultdict(list)
    for i in range(len(actions)):
        grouped[root(i)].append(i)
    return [tuple(members) for members in grouped.values() if len(members) > 1]
