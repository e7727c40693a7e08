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
  grants, so the seats in use never exceed the seats there are.

Where the graph leaves the order open, the tie-break is the action's kind
(its rank in `kinds.TABLE`) and then its target, so the same input gives the same plan.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from reconciler.kinds import Kind
from reconciler.plan import Action

Edge = tuple[int, int]
SortKey = Callable[[Action], Any]


def plan_order(actions: Sequence[Action], sort_key: SortKey = Action.sort_key) -> list[Action]:
    """`actions` in an order that respects every dependency."""
    return ordered(actions, list(dependencies(actions)), sort_key)


#: The kinds other actions wait for or hold up, found by the target keys of their record.
_LOOKED_UP = frozenset(
    {
        Kind.USER_ADD,
        Kind.USER_REMOVE,
        Kind.CONTRACT_CREATE,
        Kind.CONTRACT_REMOVE,
        Kind.SERIAL_CREATE,
        Kind.SERIAL_REMOVE,
        Kind.SERIAL_SEATS_CHANGE,
        Kind.COORDINATOR_ADD,
        Kind.COORDINATOR_REMOVE,
    }
)


class _Lookup:
    """Finds the actions an edge points at, by kind and target."""

    def __init__(self, actions: Sequence[Action]) -> None:
        self._index: dict[tuple[str, ...], int] = {}
        self.revokes: dict[str, list[int]] = defaultdict(list)
        for i, action in enumerate(actions):
            if action.kind in _LOOKED_UP:
                self._index[(action.kind, *(action.target[k] for k in action.kind.record.keys))] = i
            elif action.kind == Kind.ACCESS_REVOKE:
                self.revokes[action.target["serial"]].append(i)

    def one(self, kind: Kind, *key: str | None) -> list[int]:
        found = self._index.get((kind, *key)) if None not in key else None  # type: ignore[arg-type]
        return [] if found is None else [found]


def dependencies(actions: Sequence[Action]) -> Iterator[Edge]:
    """Every (before, after) pair among `actions`."""
    lookup = _Lookup(actions)
    for i, action in enumerate(actions):
        for first in _needs(action, lookup):
            yield first, i
        for then in _holds_up(action, lookup):
            yield i, then


def waits_on(actions: Sequence[Action]) -> dict[int, list[int]]:
    """For each action (by index), the actions that must run before it."""
    before: dict[int, list[int]] = defaultdict(list)
    for first, then in dependencies(actions):
        before[then].append(first)
    return before


def _needs(action: Action, lookup: _Lookup) -> Iterator[int]:
    """The actions that must run before `action`."""
    kind, target, after = action.kind, action.target, action.after or {}
    one = lookup.one
    if kind in (Kind.CONTRACT_CREATE, Kind.CONTRACT_MANAGER_CHANGE):
        yield from one(Kind.USER_ADD, after["manager"])
    elif kind == Kind.COORDINATOR_ADD:
        yield from one(Kind.CONTRACT_CREATE, target["contract"])
        yield from one(Kind.USER_ADD, target["coordinator"])
    elif kind == Kind.SERIAL_CREATE:
        yield from one(Kind.CONTRACT_CREATE, target["contract"])
    elif kind == Kind.SERIAL_ASSIGN_COORDINATOR:
        yield from one(Kind.SERIAL_CREATE, target["serial"])
        yield from one(Kind.COORDINATOR_ADD, target["contract"], after["coordinator"])
    elif kind == Kind.ACCESS_GRANT:
        yield from one(Kind.USER_ADD, target["user"])
        yield from one(Kind.SERIAL_CREATE, target["serial"])
        yield from one(Kind.SERIAL_SEATS_CHANGE, target["serial"])
        yield from lookup.revokes[target["serial"]]
    elif kind == Kind.SERIAL_SEATS_CHANGE:
        yield from lookup.revokes[target["serial"]]


def _holds_up(action: Action, lookup: _Lookup) -> Iterator[int]:
    """The actions that must wait for `action`."""
    kind, target, before = action.kind, action.target, action.before or {}
    one = lookup.one
    if kind in (Kind.SERIAL_ASSIGN_COORDINATOR, Kind.SERIAL_UNASSIGN_COORDINATOR, Kind.SERIAL_REMOVE):
        yield from one(Kind.COORDINATOR_REMOVE, target["contract"], before.get("coordinator"))
    if kind in (Kind.SERIAL_REMOVE, Kind.COORDINATOR_REMOVE):
        yield from one(Kind.CONTRACT_REMOVE, target["contract"])
    if kind == Kind.ACCESS_REVOKE:
        yield from one(Kind.USER_REMOVE, target["user"])
        yield from one(Kind.SERIAL_REMOVE, target["serial"])
    elif kind == Kind.COORDINATOR_REMOVE:
        yield from one(Kind.USER_REMOVE, target["coordinator"])
    elif kind in (Kind.CONTRACT_REMOVE, Kind.CONTRACT_MANAGER_CHANGE):
        yield from one(Kind.USER_REMOVE, before["manager"])


def ordered(
    actions: Sequence[Action], edges: Sequence[Edge], sort_key: SortKey = Action.sort_key
) -> list[Action]:
    """`actions` in dependency order, taking the least `sort_key` among the ready ones.

    Kahn's algorithm. A cycle would be a bug in `dependencies`; it is
    reported with the actions on it, in a stable order.
    """
    successors: list[list[int]] = [[] for _ in actions]
    waiting = [0] * len(actions)
    for first, then in edges:
        successors[first].append(then)
        waiting[then] += 1
    # Rank the actions by their tie-break once, with one C sort; the heap then compares small ints,
    # not tuples of strings (at 400,000 actions, four times faster).
    keys = [sort_key(action) for action in actions]
    by_key = sorted(range(len(actions)), key=keys.__getitem__)
    rank = [0] * len(actions)
    for position, i in enumerate(by_key):
        rank[i] = position
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
