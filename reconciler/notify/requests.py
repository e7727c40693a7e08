"""Requests: the blocked actions of a plan, sent to the people who may perform them (R2, R3).

`apply --request` applies what the actor may do and what does not wait on a
blocked action, and e-mails each blocked action, with its exact change, to
whoever may perform it: the reseller for a manager change, the CM for a
coordinator assignment.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from reconciler.errors import plural
from reconciler.notify.compose import DEFAULT_MAIL, MailSettings, render_html, render_text
from reconciler.notify.message import REQUEST, Message, Request, message_id
from reconciler.ordering import waits_on
from reconciler.permissions import Authority, describe, who_may
from reconciler.plan import Action, Plan
from reconciler.report.text import details, target_label
from reconciler.store.base import Snapshot


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


def compose_requests(
    plan: Plan, requests: Sequence[Request], settings: MailSettings = DEFAULT_MAIL
) -> list[Message]:
    """One e-mail per person asked, listing every change asked of them."""
    blocked = {request.key: action for request, action in zip(requests, plan.blocked, strict=True)}
    asked: dict[str, list[Request]] = defaultdict(list)
    for request in requests:
        for person in request.requested_of:
            asked[person].append(request)
    messages = []
    for person in sorted(asked):
        actions = [blocked[r.key] for r in asked[person]]
        lines = [_line(action) for action in actions]
        intro = (
            f"{plan.actor} asks you for {len(lines)} {plural(len(lines), 'change')} to the licence account "
            "that they may not make themselves:"
        )
        footer = (
            "To make it, run `reconciler plan` on the account's YAML as yourself (--actor) and apply it, "
            f"or make it in the portal. Asked at revision {plan.revision}."
        )
        title = describe(actions[0]) if len(actions) == 1 else f"{len(actions)} changes to the account"
        messages.append(
            Message(
                message_id=message_id(
                    plan.lineage,
                    REQUEST,
                    person,
                    *sorted(r.key for r in asked[person]),
                    domain=settings.domain,
                ),
                to=person,
                subject=f"Request from {plan.actor}: {title}",
                text=render_text("Hello,", intro, lines, footer),
                html=render_html("Hello,", intro, lines, footer),
                kind=REQUEST,
            )
        )
    return messages


def _line(action: Action) -> str:
    change = details(action)
    what = describe(action)
    return f"{what[0].upper()}{what[1:]} ({action.kind} {target_label(action)}" + (
        f": {change})" if change else ")"
    )


def _key(lineage: str, day: str, actor: str, action: Action) -> str:
    """The same request asked again the same day has the same key, so CI re-running an apply records
    and mails it once; a request still wanted the next day is a new one, a reminder."""
    identity = [lineage, day, actor, action.kind, dict(action.target), action.before, action.after]
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
