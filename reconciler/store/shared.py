"""What every store does the same way in an apply: check the plan is current, turn its actions into
batches of statement parameters, build the rows of the audit log, the outbox and requests. SQL
text lives in statements.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from reconciler.errors import StalePlan
from reconciler.notify.message import Message, Request
from reconciler.plan import Action, Plan
from reconciler.store.base import Progress
from reconciler.store.statements import WRITES, Params

#: One encoder for every audit and request row: json.dumps with options builds a new one per call.
to_json = json.JSONEncoder(sort_keys=True).encode


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def outbox_row(revision: int, now: str, message: Message) -> tuple[Any, ...]:
    m = message
    return (m.message_id, m.kind, revision, m.to, m.subject, m.text, m.html, now)


def request_row(revision: int, now: str, request: Request) -> tuple[Any, ...]:
    return (
        request.key,
        revision,
        request.requester,
        now,
        request.kind,
        to_json(request.target),
        None if request.before is None else to_json(request.before),
        None if request.after is None else to_json(request.after),
        ",".join(request.requested_of),
    )


def audit_row(revision: int, actor: str, now: str, action: Action) -> tuple[Any, ...]:
    return (
        revision,
        actor,
        now,
        action.kind,
        to_json(dict(action.target)),
        None if action.before is None else to_json(action.before),
        None if action.after is None else to_json(action.after),
    )


def stale_message(plan: Plan, lineage: str, revision: int) -> str:
    if lineage != plan.lineage:
        return (
            f"the plan was made for another store (lineage {plan.lineage}, this one is {lineage}); "
            "nothing was applied"
        )
    return (
        f"the plan was made at revision {plan.revision} but the store is at revision {revision}; "
        "nothing was applied: run `reconciler plan` again"
    )


def check_current(plan: Plan, lineage: str, revision: int) -> int:
    """The store's revision after `plan`; raises StalePlan unless the store, at `lineage` and
    `revision` as read inside the apply's transaction, is where the plan was made."""
    if lineage != plan.lineage or revision != plan.revision:
        raise StalePlan(stale_message(plan, lineage, revision))
    return plan.revision_after


def action_batches(plan: Plan, now: str, progress: Progress | None) -> Iterator[tuple[str, list[Params]]]:
    """Each run of same-kind actions, in plan order, as (kind, the parameters of its statement);
    `progress` hears of a batch once the caller has written it and asks for the next."""
    done = 0
    for kind, run in groupby(plan.actions, key=lambda action: action.kind):
        params_of = WRITES[kind][1]
        rows = [params_of(action.target, action.after or {}, now) for action in run]
        yield kind, rows
        done += len(rows)
        if progress:
            progress(done, len(plan.actions))
