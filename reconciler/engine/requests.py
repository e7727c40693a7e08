"""Requests: the blocked actions of a plan, addressed to the people who may perform them (R2, R3).

`apply --request` applies what the actor may do and what does not wait on a
blocked action, and asks whoever may perform each blocked action to do it:
the reseller for a manager change, the CM for a coordinator assignment.
notify/ words the e-mail; this decides what is asked and of whom.

What waits on a blocked action is held back with it: what comes after it in
the dependency graph (engine/ordering.py), the rest of its unit (a team
change and the access it causes, engine/units.py), and so on from those, so
the store is never left with a team change without its access or the other
way round.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from reconciler.core.kinds import Effect, Kind, Record
from reconciler.core.model import Team
from reconciler.core.plan import Action, Plan, renamed_users
from reconciler.core.records import MADE, MOOT, Closure, Request, Snapshot
from reconciler.core.wording import target_label
from reconciler.engine.ordering import dependencies
from reconciler.engine.permissions import Authority, who_may
from reconciler.engine.units import units


@dataclass(frozen=True)
class Split:
    """A plan taken apart: what runs now, what is asked for, what waits for it."""

    runnable: Plan
    blocked: tuple[Action, ...]
    held_back: tuple[Action, ...]


def split_blocked(plan: Plan, snapshot: Snapshot) -> Split:
    """The permitted actions that wait on no blocked action, as a plan of their own; `snapshot` is the
    store the plan was made from, whose teams say which actions are one unit."""
    held = holds(plan.actions, snapshot.state.teams)
    return Split(
        runnable=replace(
            plan, actions=tuple(a for i, a in enumerate(plan.actions) if a.permitted and i not in held)
        ),
        blocked=plan.blocked,
        held_back=tuple(a for i, a in enumerate(plan.actions) if i in held),
    )


def holds(actions: Sequence[Action], teams: Sequence[Team]) -> dict[int, int]:
    """The permitted actions that `apply --request` holds back, by position, each with the blocked
    action it waits on (its position): one after it in the dependency graph, one of its unit, or one
    after or beside one of those. `teams` are the store's, before the plan."""
    blocked = [i for i, action in enumerate(actions) if not action.permitted]
    if not blocked:
        return {}
    then: dict[int, list[int]] = defaultdict(list)
    for first, after in dependencies(actions):
        then[first].append(after)
    for k, unit in enumerate(units(actions, teams)):
        whole = -1 - k  # the unit as a node of its own: a unit of n actions is 2n edges, not n²
        then[whole] = list(unit)
        for i in unit:
            then[i].append(whole)
    # Breadth first from the blocked actions in plan order: each held action names the nearest.
    waits_on = {i: i for i in blocked}
    pending = deque(blocked)
    while pending:
        i = pending.popleft()
        for j in then.get(i, ()):
            if j not in waits_on:
                waits_on[j] = waits_on[i]
                pending.append(j)
    return {i: first for i, first in waits_on.items() if i >= 0 and actions[i].permitted}


def with_holds(actions: Sequence[Action], teams: Sequence[Team]) -> list[Action]:
    """`actions` with each one `apply --request` would hold back saying which blocked action it waits
    on (`held`), for the plan's reports; the others as they are."""
    held = holds(actions, teams)
    marked = list(actions)
    for i, first in held.items():
        blocking = actions[first]
        marked[i] = replace(
            actions[i], held=f"waits on {blocking.kind} {target_label(blocking)}, which is blocked"
        )
    return marked


def requests_of(plan: Plan, snapshot: Snapshot, day: str) -> list[Request]:
    """A request per blocked action, addressed to who may perform it; `day` (an ISO date) is when it
    is asked: the same request asked again that day is not sent again, the next day it is a reminder."""
    authority = Authority.of(snapshot, plan.actor, renamed_users(plan.actions))
    return [
        Request(
            key=_key(plan.lineage, day, plan.actor, action),
            requester=plan.actor,
            kind=action.kind,
            target=dict(action.target),
            before=None if action.before is None else dict(action.before),
            after=None if action.after is None else dict(action.after),
            requested_of=who_may(action, authority),
        )
        for action in plan.blocked
    ]


def _key(lineage: str, day: str, actor: str, action: Action) -> str:
    """The same request asked again the same day has the same key, so CI re-running an apply records
    and mails it once; a request still wanted the next day is a new one, a reminder."""
    identity = [lineage, day, actor, action.kind, dict(action.target), action.before, action.after]
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Closing:
    """An open request that an apply closes: MADE when it runs the very change asked for, MOOT when
    it makes another change of that record, or removes the record or what holds it; `by` is that
    action, which notify/ words."""

    request: Request
    outcome: str
    by: Action

    @property
    def closure(self) -> Closure:
        """What the store is told (Transaction.closes)."""
        return Closure(self.request.key, self.outcome)

    def describe(self) -> str:
        """`contract.manager_change 110001234567 asked by alice@…: applied`, or `…: no longer needed
        (serial.remove 399-…)`: for the apply's report."""
        request = self.request
        asked = request.as_action()
        how = (
            "applied"
            if self.outcome == MADE
            else f"no longer needed ({self.by.kind} {target_label(self.by)})"
        )
        return f"{request.kind} {target_label(asked)} asked by {request.requester}: {how}"


#: Kinds that set the same field of the same record, so one makes a request of the other moot: a
#: serial handed back to its CM is not then given to the coordinator a request named.
_SAME_CHANGE = {
    Kind.SERIAL_ASSIGN_COORDINATOR: Kind.SERIAL_UNASSIGN_COORDINATOR,
    Kind.SERIAL_UNASSIGN_COORDINATOR: Kind.SERIAL_ASSIGN_COORDINATOR,
}
#: The fields of a request's `after` that name a person the change needs: a contract's new manager,
#: a serial's new coordinator.
_PEOPLE_AFTER = ("manager", "coordinator")


def closings(requests: Sequence[Request], actions: Sequence[Action]) -> list[Closing]:
    """The `requests` (open ones) that applying `actions` closes, in the order given, each once.

    - MADE: an action of the request's kind on the same record whose `after` is the request's.
    - MOOT: an action of the request's kind (or one that sets the same field: assigning and
      unassigning a serial's coordinator) on the same record with another `after`; or a removal of
      the request's record or of one its target names: `contract.remove` for every request on that
      contract (its coordinators, serials, their access), `serial.remove` for the serial and its
      access, `user.remove` for the user (their access, team memberships, coordinator roles) and for
      a request that would make them a contract's manager or a serial's coordinator,
      `coordinator.remove` for that role and a request giving them a serial of that contract,
      `team.remove` for the team, and `access.revoke`, `team.member_remove`, `team.access_revoke` for
      a request to change or add that very record.

    `actions` are those the apply runs: a blocked action, or one held back, closes nothing. MADE
    wins over MOOT: a revocation asked for and run as its user is removed was made as asked.
    """
    if not requests:
        return []
    changes: dict[tuple[Kind, tuple[str, ...]], list[Action]] = defaultdict(list)
    removals: dict[tuple[Record, tuple[str, ...]], Action] = {}
    for action in actions:
        keys = _record_key(action.kind.record, action.target)
        changes[action.kind, keys].append(action)
        if action.kind.effect is Effect.REMOVE:
            removals.setdefault((action.kind.record, keys), action)
    found = []
    for request in requests:
        closing = _closing(request, changes, removals)
        if closing is not None:
            found.append(closing)
    return found


def _closing(
    request: Request,
    changes: Mapping[tuple[Kind, tuple[str, ...]], Sequence[Action]],
    removals: Mapping[tuple[Record, tuple[str, ...]], Action],
) -> Closing | None:
    kind, target = request.kind, request.target
    keys = _record_key(kind.record, target)
    same = changes.get((kind, keys), ())
    wanted = _plain(request.after)
    for action in same:
        if _plain(action.after) == wanted:
            return Closing(request, MADE, action)
    other = [*same, *changes.get((_SAME_CHANGE[kind], keys), ())] if kind in _SAME_CHANGE else same
    if other:
        return Closing(request, MOOT, other[0])
    removed = _removal(request, removals)
    return None if removed is None else Closing(request, MOOT, removed)


def _removal(request: Request, removals: Mapping[tuple[Record, tuple[str, ...]], Action]) -> Action | None:
    """The removal that leaves `request` nothing to change, if the apply runs one."""
    target, after = request.target, request.after or {}
    for record in Record:
        keys = record.keys
        if all(key in target for key in keys):
            removed = removals.get((record, tuple(target[key] for key in keys)))
            if removed is not None:
                return removed
    # A person the request names otherwise: as coordinator, or as the manager or coordinator it asks for.
    people = [target.get("coordinator"), *(after.get(name) for name in _PEOPLE_AFTER)]
    for person in people:
        if isinstance(person, str) and (removed := removals.get((Record.USER, (person,)))) is not None:
            return removed
    coordinator = after.get("coordinator")
    if isinstance(coordinator, str) and "contract" in target:
        return removals.get((Record.COORDINATOR, (target["contract"], coordinator)))
    return None


def _record_key(record: Record, target: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(target.get(key, "") for key in record.keys)


def _plain(record: Mapping[str, object] | None) -> object:
    """A record as the store keeps it (JSON: a tuple is a list), so that one kept and one planned compare."""
    return None if record is None else json.loads(json.dumps(record, sort_keys=True))
