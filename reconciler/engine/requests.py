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
from collections.abc import Sequence
from dataclasses import dataclass, replace

from reconciler.core.model import Team
from reconciler.core.plan import Action, Plan, renamed_users
from reconciler.core.records import Request, Snapshot
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
