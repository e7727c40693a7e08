"""The order a plan runs in: a dependency graph, walked topologically.

An edge (a, b) says action a must run before action b. The edges:

- what others stand on comes first: a user before the contract they manage,
  the coordinator role they take and the access they get; a contract before
  its coordinators and serials; a serial before its access and its
  coordinator; a coordinator before the serials given to them;
- removals run in reverse: access before its serial and its user; a serial
  handed back (or removed) before its coordinator is removed (R5); serials
  and coordinators before their contract; a contract or a manager change
  before the old manager's user is removed;
- on one serial, revocations come first, then a change of seats, then
  grants, so the seats in use never exceed the seats there are;
- a team before its members and its access, and those before the team is
  removed; a user and a serial before they join a team, and after they
  leave it; a team's bookkeeping before the access it causes, so that a
  plan reads cause, then effect. Which team change caused an access change
  is read from the access's sources (`via`): a grant through team T waits
  for T's new member or T's new access, not for every team change of that
  user or serial.

- a user's change of e-mail before anything that names the new address
  (their update, roles, teams and access), and before a new user takes the
  old one.

Where the graph leaves the order open, the tie-break is the action's kind
(its rank in `kinds.TABLE`) and then its target, so the same input gives the same plan.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from reconciler.core.kinds import RANK, Kind
from reconciler.core.model import TEAM_SOURCE
from reconciler.core.plan import Action

Edge = tuple[int, int]
SortKey = Callable[[Action], Any]


def plan_order(actions: Sequence[Action], sort_key: SortKey = Action.sort_key) -> list[Action]:
    """`actions` in an order that respects every dependency."""
    if sort_key is Action.sort_key and not _AFTER_UNSETTLED and not _BEFORE_UNSETTLED:
        # Every rule runs from a kind ranked before to one ranked after, and the tie-break sorts by rank
        # first: sorted by it, the actions keep every edge, and the walk in `ordered` would give this
        # very order. So the graph is not built (at 400,000 actions, a second of a first plan).
        return sorted(actions, key=sort_key)
    return ordered(actions, list(dependencies(actions)), sort_key)


#: Where a rule finds a value in an action: its target, or its `after` or `before` record; or, as a
#: rule's first field, ("via", "after") or ("via", "before"): each team among an access record's sources.
_Field = tuple[str, str]
#: A rule: the kind of the other action, and the fields of this one that name it (in the order of
#: that kind's `_FOUND_BY`).
_Rule = tuple[Kind, tuple[_Field, ...]]


def _t(key: str) -> _Field:
    return ("target", key)


_TEAMS_AFTER: _Field = ("via", "after")
_TEAMS_BEFORE: _Field = ("via", "before")


#: How each kind that others wait for, or hold up, is found: by these target keys. A revocation is
#: found by its serial alone: a grant waits for every revocation on its serial.
_FOUND_BY: dict[Kind, tuple[str, ...]] = {
    Kind.USER_ADD: ("user",),
    Kind.USER_REMOVE: ("user",),
    Kind.CONTRACT_CREATE: ("contract",),
    Kind.CONTRACT_REMOVE: ("contract",),
    Kind.SERIAL_CREATE: ("serial",),
    Kind.SERIAL_REMOVE: ("serial",),
    Kind.SERIAL_SEATS_CHANGE: ("serial",),
    Kind.COORDINATOR_ADD: ("contract", "coordinator"),
    Kind.COORDINATOR_REMOVE: ("contract", "coordinator"),
    Kind.ACCESS_REVOKE: ("serial",),
    Kind.TEAM_CREATE: ("team",),
    Kind.TEAM_REMOVE: ("team",),
    Kind.TEAM_MEMBER_ADD: ("team", "user"),
    Kind.TEAM_MEMBER_REMOVE: ("team", "user"),
    Kind.TEAM_ACCESS_GRANT: ("team", "serial"),
    Kind.TEAM_ACCESS_UPDATE: ("team", "serial"),
    Kind.TEAM_ACCESS_REVOKE: ("team", "serial"),
}

#: Kinds found by a field of their `after` instead: a change of e-mail address, by the new address.
_FOUND_BY_AFTER: dict[Kind, str] = {Kind.USER_CHANGE_EMAIL: "email"}

#: What a user's effective access waits for: the changes of the teams it comes through that caused it.
_TEAM_CAUSES: tuple[_Rule, ...] = (
    (Kind.TEAM_MEMBER_ADD, (_TEAMS_AFTER, _t("user"))),
    (Kind.TEAM_ACCESS_GRANT, (_TEAMS_AFTER, _t("serial"))),
    (Kind.TEAM_ACCESS_UPDATE, (_TEAMS_AFTER, _t("serial"))),
)

#: What each kind must run after (the module docstring says why).
_AFTER: dict[Kind, tuple[_Rule, ...]] = {
    Kind.CONTRACT_CREATE: ((Kind.USER_ADD, (("after", "manager"),)),),
    Kind.CONTRACT_MANAGER_CHANGE: ((Kind.USER_ADD, (("after", "manager"),)),),
    Kind.COORDINATOR_ADD: ((Kind.CONTRACT_CREATE, (_t("contract"),)), (Kind.USER_ADD, (_t("coordinator"),))),
    Kind.SERIAL_CREATE: ((Kind.CONTRACT_CREATE, (_t("contract"),)),),
    Kind.SERIAL_ASSIGN_COORDINATOR: (
        (Kind.SERIAL_CREATE, (_t("serial"),)),
        (Kind.COORDINATOR_ADD, (_t("contract"), ("after", "coordinator"))),
    ),
    Kind.ACCESS_GRANT: (
        (Kind.USER_ADD, (_t("user"),)),
        (Kind.SERIAL_CREATE, (_t("serial"),)),
        (Kind.SERIAL_SEATS_CHANGE, (_t("serial"),)),
        (Kind.ACCESS_REVOKE, (_t("serial"),)),
        *_TEAM_CAUSES,
    ),
    Kind.ACCESS_UPDATE: _TEAM_CAUSES,
    Kind.ACCESS_REVOKE: (
        (Kind.TEAM_MEMBER_REMOVE, (_TEAMS_BEFORE, _t("user"))),
        (Kind.TEAM_ACCESS_REVOKE, (_TEAMS_BEFORE, _t("serial"))),
    ),
    Kind.SERIAL_SEATS_CHANGE: ((Kind.ACCESS_REVOKE, (_t("serial"),)),),
    Kind.TEAM_MEMBER_ADD: ((Kind.TEAM_CREATE, (_t("team"),)), (Kind.USER_ADD, (_t("user"),))),
    Kind.TEAM_ACCESS_GRANT: ((Kind.TEAM_CREATE, (_t("team"),)), (Kind.SERIAL_CREATE, (_t("serial"),))),
}

#: Where each kind names a user: what waits for that user's change of e-mail address, when the plan has
#: one (the plan names them by the new address, which the store has once that change is in).
_NAMES_A_USER: dict[Kind, tuple[_Field, ...]] = {
    Kind.USER_UPDATE: (_t("user"),),
    Kind.USER_PROTECT: (_t("user"),),
    Kind.USER_REMOVE: (_t("user"),),
    Kind.CONTRACT_CREATE: (("after", "manager"),),
    Kind.CONTRACT_MANAGER_CHANGE: (("before", "manager"), ("after", "manager")),
    Kind.COORDINATOR_ADD: (_t("coordinator"),),
    Kind.COORDINATOR_UPDATE: (_t("coordinator"),),
    Kind.COORDINATOR_REMOVE: (_t("coordinator"),),
    Kind.SERIAL_ASSIGN_COORDINATOR: (("before", "coordinator"), ("after", "coordinator")),
    Kind.SERIAL_UNASSIGN_COORDINATOR: (("before", "coordinator"),),
    Kind.SERIAL_REMOVE: (("before", "coordinator"),),
    Kind.TEAM_MEMBER_ADD: (_t("user"),),
    Kind.TEAM_MEMBER_REMOVE: (_t("user"),),
    Kind.ACCESS_GRANT: (_t("user"),),
    Kind.ACCESS_UPDATE: (_t("user"),),
    Kind.ACCESS_REVOKE: (_t("user"),),
}
for _kind, _fields in _NAMES_A_USER.items():
    _renamed_first = tuple((Kind.USER_CHANGE_EMAIL, (field,)) for field in _fields)
    _AFTER[_kind] = (*_AFTER.get(_kind, ()), *_renamed_first)

_OLD_COORDINATOR_REMOVED: _Rule = (Kind.COORDINATOR_REMOVE, (_t("contract"), ("before", "coordinator")))
_OLD_MANAGER_REMOVED: _Rule = (Kind.USER_REMOVE, (("before", "manager"),))

#: What each kind must run before.
_BEFORE: dict[Kind, tuple[_Rule, ...]] = {
    Kind.USER_CHANGE_EMAIL: ((Kind.USER_ADD, (_t("user"),)),),  # a new user who takes the old address
    Kind.SERIAL_ASSIGN_COORDINATOR: (_OLD_COORDINATOR_REMOVED,),
    Kind.SERIAL_UNASSIGN_COORDINATOR: (_OLD_COORDINATOR_REMOVED,),
    Kind.SERIAL_REMOVE: (_OLD_COORDINATOR_REMOVED, (Kind.CONTRACT_REMOVE, (_t("contract"),))),
    Kind.COORDINATOR_REMOVE: (
        (Kind.CONTRACT_REMOVE, (_t("contract"),)),
        (Kind.USER_REMOVE, (_t("coordinator"),)),
    ),
    Kind.ACCESS_REVOKE: ((Kind.USER_REMOVE, (_t("user"),)), (Kind.SERIAL_REMOVE, (_t("serial"),))),
    Kind.CONTRACT_REMOVE: (_OLD_MANAGER_REMOVED,),
    Kind.CONTRACT_MANAGER_CHANGE: (_OLD_MANAGER_REMOVED,),
    Kind.TEAM_MEMBER_REMOVE: ((Kind.USER_REMOVE, (_t("user"),)), (Kind.TEAM_REMOVE, (_t("team"),))),
    Kind.TEAM_ACCESS_REVOKE: ((Kind.SERIAL_REMOVE, (_t("serial"),)), (Kind.TEAM_REMOVE, (_t("team"),))),
}


def _unsettled(rules: Mapping[Kind, tuple[_Rule, ...]], other_first: bool) -> dict[Kind, tuple[_Rule, ...]]:
    """The `rules` whose edges may still point backwards in actions that list their kinds in rank
    order: those whose other kind is not ranked before this one (`other_first`), or not after it."""

    def settled(kind: Kind, other: Kind) -> bool:
        return RANK[other] < RANK[kind] if other_first else RANK[other] > RANK[kind]

    kept = {kind: tuple(rule for rule in them if not settled(kind, rule[0])) for kind, them in rules.items()}
    return {kind: them for kind, them in kept.items() if them}


#: The rules the kinds' ranks do not keep. The kind table is ordered so that there are none; should a
#: rule ever go against it, checking a saved plan's order still follows that rule's edges.
_AFTER_UNSETTLED = _unsettled(_AFTER, other_first=True)
_BEFORE_UNSETTLED = _unsettled(_BEFORE, other_first=False)


class _Lookup:
    """Finds the actions a rule points at, by kind and the values they are found by."""

    def __init__(self, actions: Sequence[Action]) -> None:
        self._index: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, action in enumerate(actions):
            keys = _FOUND_BY.get(action.kind)
            if keys is not None:
                self._index[(action.kind, *(action.target[key] for key in keys))].append(i)
            elif action.kind in _FOUND_BY_AFTER:
                value = (action.after or {}).get(_FOUND_BY_AFTER[action.kind])
                if isinstance(value, str):
                    self._index[(action.kind, value)].append(i)
        self._kinds = {key[0] for key in self._index}

    def can_find(self, rules: Mapping[Kind, tuple[_Rule, ...]]) -> dict[Kind, tuple[_Rule, ...]]:
        """`rules` without those that point at a kind these actions lack: a first plan of 300,000
        grants, say, has no revocations, team changes or seat changes for them to wait on."""
        kept = {kind: tuple(rule for rule in them if rule[0] in self._kinds) for kind, them in rules.items()}
        return {kind: them for kind, them in kept.items() if them}

    def find(self, action: Action, rules: tuple[_Rule, ...]) -> list[int]:
        """The actions `rules` name for `action`; a rule whose field is empty names none."""
        found: list[int] = []
        for kind, fields in rules:
            key: list[str] = [kind]
            teams: list[str] | None = None
            for where, name in fields:
                if where == "via":  # a rule's first field: the key is looked up once for each team
                    teams = _teams(getattr(action, name))
                    continue
                record = action.target if where == "target" else getattr(action, where) or {}
                value = record.get(name)
                if value is None:
                    break
                key.append(value)
            else:
                if teams is None:
                    found += self._index.get(tuple(key), ())
                else:
                    for team in teams:
                        found += self._index.get((kind, team, *key[1:]), ())
        return found


def _teams(record: Mapping[str, Any] | None) -> list[str]:
    """The teams an access record's sources name."""
    sources = () if record is None else record.get("via", ())
    return [source[len(TEAM_SOURCE) :] for source in sources if source.startswith(TEAM_SOURCE)]


def dependencies(actions: Sequence[Action]) -> Iterator[Edge]:
    """Every (before, after) pair among `actions`."""
    return _edges(actions, _AFTER, _BEFORE)


def unsettled_dependencies(actions: Sequence[Action]) -> Iterator[Edge]:
    """The (before, after) pairs among `actions` that could run the wrong way round: every one, unless
    the actions list their kinds in rank order (as `ordered` does wherever the graph lets it); then
    only those of rules that go against the ranks, as every other edge runs forwards."""
    ranks = [RANK[action.kind] for action in actions]
    if ranks != sorted(ranks):
        return dependencies(actions)
    return _edges(actions, _AFTER_UNSETTLED, _BEFORE_UNSETTLED)


def _edges(
    actions: Sequence[Action],
    waiting_rules: Mapping[Kind, tuple[_Rule, ...]],
    holding_rules: Mapping[Kind, tuple[_Rule, ...]],
) -> Iterator[Edge]:
    """The (before, after) pairs among `actions` that `waiting_rules` (what each kind runs after) and
    `holding_rules` (what it runs before) make."""
    if not waiting_rules and not holding_rules:  # no rule to follow: indexing the actions would be wasted
        return
    lookup = _Lookup(actions)
    waits_for, holds_up = lookup.can_find(waiting_rules), lookup.can_find(holding_rules)
    for i, action in enumerate(actions):
        after = waits_for.get(action.kind)
        if after is not None:
            for first in lookup.find(action, after):
                yield first, i
        before = holds_up.get(action.kind)
        if before is not None:
            for then in lookup.find(action, before):
                yield i, then


def waits_on(actions: Sequence[Action]) -> dict[int, list[int]]:
    """For each action (by index), the actions that must run before it."""
    waits: dict[int, list[int]] = defaultdict(list)
    for first, then in dependencies(actions):
        waits[then].append(first)
    return waits


def ordered(
    actions: Sequence[Action], edges: Sequence[Edge], sort_key: SortKey = Action.sort_key
) -> list[Action]:
    """`actions` in dependency order, taking the least `sort_key` among the ready ones.

    Kahn's algorithm. A cycle would be a bug in `dependencies`; it is
    reported with the actions on it, in a stable order.
    """
    # Rank the actions by their tie-break once, with one C sort; the heap then compares small ints,
    # not tuples of strings (at 400,000 actions, four times faster).
    keys = [sort_key(action) for action in actions]
    by_key = sorted(range(len(actions)), key=keys.__getitem__)
    rank = [0] * len(actions)
    for position, i in enumerate(by_key):
        rank[i] = position
    if all(rank[first] < rank[then] for first, then in edges):
        # The tie-break alone keeps every dependency, as the kind table's order mostly does: the walk
        # below would take the least-ranked action each time, which is always ready.
        return [actions[i] for i in by_key]
    successors: list[list[int]] = [[] for _ in actions]
    waiting = [0] * len(actions)
    for first, then in edges:
        successors[first].append(then)
        waiting[then] += 1
    ready = [rank[i] for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    result: list[Action] = []
    while ready:
        i = by_key[heapq.heappop(ready)]
        result.append(actions[i])
        for then in successors[i]:
            waiting[then] -= 1
            if waiting[then] == 0:
                heapq.heappush(ready, rank[then])
    if len(result) != len(actions):
        stuck = sorted(f"{actions[i].kind} {dict(actions[i].target)}" for i, n in enumerate(waiting) if n)
        raise AssertionError("the plan's dependencies form a cycle: " + "; ".join(stuck))
    return result
