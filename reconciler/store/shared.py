"""What every store writes the same way: the rows of the audit log, the outbox and requests,
and the message that refuses a stale plan. SQL text lives in statements.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from reconciler.notify.message import Message, Request
from reconciler.plan import Action, Plan

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
