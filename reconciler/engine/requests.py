"""Requests: the blocked actions of a plan, addressed to the people who may perform them (R2, R3).

`apply --request` applies what the actor may do and what does not wait on a
blocked action, and asks whoever may perform each blocked action to do it:
the reseller for a manager change, the CM for a coordinator assignment.
notify/ words the e-mail; this decides what is asked and of whom.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from reconciler.core.plan import Action, Plan
from reconciler.core.records import Request, Snapshot
from reconciler.engine.ordering import waits_on
from reconciler.engine.permissions import Authority, who_may


@dataclass(frozen=True)
class Split:
    """A plan taken apart: what runs now, what is asked for, what waits for it."""

    runnable: Plan
    blocked: tuple[Action, ...]
    held_back: tuple[Action, ...]


def split_blocked(plan: Plan) -> Split:
    """The permitted actions that wait on no blocked action, as a plan of their own."""
    before = waits_on(plan.actions)
    stopped: set[int] = set()
    # The plan is in dependency order, so whatever an action waits on was decided before it.
    for i, action in enumerate(plan.actions):
        if not action.permitted or any(first in stopped for first in before[i]):
            stopped.add(i)
    runnable = tuple(a for i, a in enumerate(plan.actions) if i not in stopped)
    return Split(
        runnable=replace(plan, actions=runnable),
        blocked=plan.blocked,
        held_back=tuple(a for i, a in enumerate(plan.actions) if i in stopped and a.permitted),
    )


def requests_of(plan: Plan, snapshot: Snapshot, day: str) -> list[Request]:
    """A request per blocked action, addressed to who may perform it; `day` (an ISO date) is when it
    is asked: the same request asked again that day is not sent again, the next day it is a reminder."""
    authority = Authority.of(snapshot, plan.actor)
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
