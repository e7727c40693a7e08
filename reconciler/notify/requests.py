"""Requests by e-mail: each person asked hears, in one message, every blocked change asked of them.

What is asked, and of whom, is the engine's (engine/requests.py); this words it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.plan import Action, Plan
from reconciler.core.records import REQUEST, Message, Request
from reconciler.core.wording import describe, details, target_label
from reconciler.notify.compose import DEFAULT_MAIL, MailSettings, message_id, render_html, render_text


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
                subject=scrub(f"Request from {plan.actor}: {title}"),
                text=render_text("Hello,", intro, lines, footer),
                html=render_html("Hello,", intro, lines, footer),
                sender=settings.sender,
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
