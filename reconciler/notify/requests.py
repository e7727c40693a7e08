"""Requests by e-mail: each person asked hears, in one message, every blocked change asked of them; and
each requester hears, once, when a later apply made the change or made it moot.

What is asked, of whom, and which apply closes it is the engine's
(engine/requests.py); this words it. Each message greets its reader by name
where the store knows them as a user (a reseller who is not one: by address),
and says where the change is when the apply knows its source: the pull
request, the commit, the CI run, what the person applying said. Every piece
of text goes through the composer's renderers: scrubbed, and escaped in HTML.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.plan import Action, Plan
from reconciler.core.records import MADE, REQUEST, Message, RecordedRequest, Request, Snapshot, Source
from reconciler.core.wording import describe, details, target_label
from reconciler.notify.compose import DEFAULT_MAIL, MailSettings, message_id, render_html, render_text


def compose_requests(
    plan: Plan,
    requests: Sequence[Request],
    snapshot: Snapshot | None = None,
    settings: MailSettings = DEFAULT_MAIL,
    source: Source | None = None,
) -> list[Message]:
    """One e-mail per person asked, listing every change asked of them; `snapshot` (the store the
    plan was made from) names the people, `source` says where the change is."""
    blocked = {request.key: action for request, action in zip(requests, plan.blocked, strict=True)}
    asked: dict[str, list[Request]] = defaultdict(list)
    for request in requests:
        for person in request.requested_of:
            asked[person].append(request)
    names = full_names(snapshot)
    messages = []
    for person in sorted(asked):
        actions = [blocked[r.key] for r in asked[person]]
        lines = [change_line(action) for action in actions]
        intro = (
            f"{plan.actor} asks you for {len(lines)} {plural(len(lines), 'change')} to the licence account "
            "that they may not make themselves:"
        )
        footer = (
            "To make it, run `reconciler plan` on the account's YAML as yourself (--actor) and apply it, "
            f"or make it in the portal. Asked at revision {plan.revision}." + _then(whereabouts(source))
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
                text=render_text(greeting(person, names), intro, lines, footer),
                html=render_html(greeting(person, names), intro, lines, footer),
                sender=settings.sender,
                kind=REQUEST,
            )
        )
    return messages


class Closed(Protocol):
    """A request an apply closes, as engine/requests.py's `Closing` is: the request, MADE or MOOT, and
    the action of the apply that made the change or made it moot."""

    @property
    def request(self) -> Request: ...

    @property
    def outcome(self) -> str: ...

    @property
    def by(self) -> Action: ...


def compose_closings(
    closed: Sequence[Closed],
    asked: Mapping[str, RecordedRequest],
    plan: Plan,
    snapshot: Snapshot | None = None,
    settings: MailSettings = DEFAULT_MAIL,
    source: Source | None = None,
) -> list[Message]:
    """One e-mail to the requester of each request `plan` closes: applied, or no longer needed and why.

    `asked` are the requests as the store keeps them, by key (when each was asked). The same change
    asked on two days is two requests, closed together: their requester hears once, of both. Each
    message's Message-ID is made of its requests' keys and "closed", so the outbox, which keeps one
    message per Message-ID, never queues it twice.
    """
    same: dict[tuple[object, ...], list[Closed]] = defaultdict(list)
    for closing in closed:
        request = closing.request
        identity = (request.requester, request.kind, _frozen(request.target), _frozen(request.after))
        same[identity].append(closing)
    names = full_names(snapshot)
    revision = plan.revision_after
    where = _then(whereabouts(source))
    messages = []
    for group in same.values():
        first = group[0]
        request, wanted = first.request, first.request.as_action()
        to = " or ".join(request.requested_of) or "whoever may make it"
        if first.outcome == MADE:
            subject = f"Your request was applied: {describe(wanted)}"
            intro = f"Your request to {to} was applied by {plan.actor} at revision {revision}:"
            lines = [change_line(wanted)]
            after = "Nothing more to do."
        else:
            subject = f"Your request is no longer needed: {describe(wanted)}"
            intro = (
                f"Your request to {to} is no longer needed: {plan.actor} applied another change at "
                f"revision {revision}:"
            )
            lines = [f"You asked for: {change_line(wanted)}", f"Applied instead: {change_line(first.by)}"]
            after = "If the change is still wanted, plan it again against the account as it is now."
        keys = sorted(closing.request.key for closing in group)
        footer = f"{_when_asked([asked[key] for key in keys if key in asked])}{where} {after}"
        messages.append(
            Message(
                message_id=message_id(*keys, "closed", domain=settings.domain),
                to=request.requester,
                subject=scrub(subject),
                text=render_text(greeting(request.requester, names), intro, lines, footer),
                html=render_html(greeting(request.requester, names), intro, lines, footer),
                sender=settings.sender,
                kind=REQUEST,
            )
        )
    return messages


def _when_asked(recorded: Sequence[RecordedRequest]) -> str:
    """`Asked on 2025-03-01 at revision 3.`, each time it was asked, oldest first."""
    times = sorted(recorded, key=lambda r: (r.requested_at, r.revision))
    if not times:
        return "Asked before."
    return "Asked " + " and ".join(f"on {r.requested_at[:10]} at revision {r.revision}" for r in times) + "."


def _then(sentence: str) -> str:
    return f" {sentence}" if sentence else ""


def _frozen(record: Mapping[str, object] | None) -> str:
    return repr(sorted((record or {}).items()))


def greeting(person: str, names: Mapping[str, str]) -> str:
    """`Hello Alice Moreau,`; by address for one the store knows by no name (a reseller)."""
    return f"Hello {names.get(person) or person},"


def full_names(snapshot: Snapshot | None) -> dict[str, str]:
    """Each user's first and last name, by e-mail, as the store has them."""
    if snapshot is None:
        return {}
    return {
        user.email: " ".join(part for part in (user.first_name, user.last_name) if part)
        for user in snapshot.state.users
    }


def whereabouts(source: Source | None) -> str:
    """Where a change is, as a sentence: `The change is in pull request https://…/pull/7, commit
    1a2b3c4d5e6f, run https://…/runs/42. Its note: "deploy of Monday".`; empty when nothing is known."""
    if source is None or not source.known:
        return ""
    parts = []
    if source.pull_request:
        parts.append(f"pull request {source.pull_request}")
    if source.commit:
        commit = source.commit_url if source.commit_url and not source.pull_request else source.commit[:12]
        parts.append(f"commit {commit}")
    if source.run:
        parts.append(f"run {source.run}")
    where = f"The change is in {', '.join(parts)}." if parts else ""
    note = f'Its note: "{source.text}".' if source.text else ""
    return " ".join(part for part in (where, note) if part)


def change_line(action: Action) -> str:
    """`Changing the seats of serial 399-… (serial.seats_change 399-…: seats 2 → 5)`."""
    change = details(action)
    what = describe(action)
    return f"{what[0].upper()}{what[1:]} ({action.kind} {target_label(action)}" + (
        f": {change})" if change else ")"
    )
