"""The e-mails an apply sends: one per person, listing all that changed for them (R9).

Composed from the plan and the store as it is before the apply, so a saved
plan can be turned into mail without the YAML. Every piece of user-written
text ends up in the HTML part escaped, and headers hold only validated
e-mail addresses, serial and contract numbers and product names.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from reconciler.errors import plural
from reconciler.notify.message import Message, message_id
from reconciler.plan import Action, Plan
from reconciler.store.base import Snapshot

#: Subjects longer than this list a few products and say how many more.
_SUBJECT_ITEMS = 3


@dataclass(frozen=True)
class MailSettings:
    """What the e-mails say about where the account lives."""

    domain: str = "reconciler.localhost"
    portal_url: str | None = None


DEFAULT_MAIL = MailSettings()


@dataclass(frozen=True)
class SerialFacts:
    product: str
    group: str | None
    contract: str


@dataclass(frozen=True)
class Facts:
    """Names and products, as the store has them with the plan's adds and changes laid over."""

    names: Mapping[str, str]  # e-mail -> first name
    serials: Mapping[str, SerialFacts]

    @classmethod
    def of(cls, snapshot: Snapshot, actions: Iterable[Action]) -> Facts:
        state = snapshot.state
        names = {u.email: u.first_name for u in state.users}
        serials = {
            s.number: SerialFacts(s.product, s.group, c.number) for c in state.contracts for s in c.serials
        }
        for action in actions:
            after = action.after or {}
            if action.kind in ("user.add", "user.update"):
                names[action.target["user"]] = after["first_name"]
            elif action.kind == "serial.create":
                serials[action.target["serial"]] = SerialFacts(
                    after["product"], after.get("group"), action.target["contract"]
                )
            elif action.kind in ("serial.product_change", "serial.rename_group"):
                known = serials.get(action.target["serial"])
                if known is not None:
                    serials[action.target["serial"]] = replace(
                        known,
                        product=after.get("product", known.product),
                        group=after.get("group", known.group),
                    )
        return cls(names, serials)

    def product(self, serial: str) -> str:
        found = self.serials.get(serial)
        return found.product if found else "a product"

    def serial_label(self, serial: str) -> str:
        found = self.serials.get(serial)
        if found is None:
            return f"serial {serial}"
        group = f", group {found.group}" if found.group else ""
        return f"{found.product} (serial {serial}{group})"


def compose_notifications(
    plan: Plan, snapshot: Snapshot, revision: int, settings: MailSettings = DEFAULT_MAIL
) -> list[Message]:
    """One message per person the plan's notifications name, in order of address."""
    facts = Facts.of(snapshot, plan.actions)
    items: dict[str, list[tuple[str, Action]]] = defaultdict(list)
    for action in plan.actions:
        for notification in action.notifications:
            items[notification.to].append((notification.event, action))
    return [_message(person, items[person], plan, facts, revision, settings) for person in sorted(items)]


def _message(
    person: str,
    events: Sequence[tuple[str, Action]],
    plan: Plan,
    facts: Facts,
    revision: int,
    settings: MailSettings,
) -> Message:
    lines = [sentence(event, action, person, facts, settings) for event, action in events]
    greeting = f"Hello {facts.names[person]}," if person in facts.names else "Hello,"
    intro = f"{plan.actor} changed your company's licence account. What concerns you:"
    footer = f"Sent by reconciler for revision {revision} of the account. Questions? Write to {plan.actor}."
    return Message(
        message_id=message_id(plan.lineage, revision, person, domain=settings.domain),
        to=person,
        subject=subject([event for event, _ in events], [a for _, a in events], facts),
        text=render_text(greeting, intro, lines, footer),
        html=render_html(greeting, intro, lines, footer),
    )


def sentence(event: str, action: Action, person: str, facts: Facts, settings: MailSettings) -> str:
    """What `event` means for `person`, in one sentence."""
    target, before, after = action.target, action.before or {}, action.after or {}
    serial = target.get("serial", "")
    match event:
        case "user.invited":
            where = f" at {settings.portal_url}" if settings.portal_url else ""
            return (
                f"You have been invited. To activate your account, sign in{where} with the temporary "
                "password the portal sends you, and change it when asked."
            )
        case "user.removed":
            return "You have been removed from the account: you can no longer sign in to it."
        case "access.granted":
            return f"You now have access to {facts.serial_label(serial)}, {_download(after)}."
        case "access.changed":
            return f"Your access to {facts.serial_label(serial)} changed: it now comes {_download(after)}."
        case "access.revoked":
            return f"Your access to {facts.serial_label(serial)} has been removed."
        case "coordinator.assigned":
            return (
                f"You are now the Software Coordinator of {facts.serial_label(serial)} on contract "
                f"{target['contract']}: you will hear of its new releases and extensions."
            )
        case "coordinator.unassigned":
            heir = after.get("coordinator") or "the Contract Manager"
            return f"You are no longer the Software Coordinator of {facts.serial_label(serial)}; {heir} is."
        case "coordinator.removed":
            return f"Your Software Coordinator role on contract {target['contract']} has ended."
        case "manager.changed":
            return (
                f"The Contract Manager of contract {target['contract']} changed from "
                f"{before['manager']} to {after['manager']}."
            )
        case "group.renamed":
            return (
                f"The group of serial {serial} ({facts.product(serial)}) was renamed from "
                f"{before.get('group') or '(none)'} to {after.get('group') or '(none)'}."
            )
    raise ValueError(f"no wording for the event {event}")


def subject(events: Sequence[str], actions: Sequence[Action], facts: Facts) -> str:
    """A subject that says what happened, most important first."""
    kinds = set(events)
    products = [facts.product(a.target["serial"]) for a in actions if a.kind.startswith("access.")]
    if "user.invited" in kinds:
        return "You are invited to your company's licence account"
    if "user.removed" in kinds:
        return "You were removed from your company's licence account"
    if kinds == {"access.granted"}:
        return "Access granted: " + _listed(products)
    if kinds == {"access.revoked"}:
        return "Access removed: " + _listed(products)
    if kinds <= {"access.granted", "access.changed", "access.revoked"}:
        return "Your product access changed: " + _listed(products)
    if len(kinds) == 1:
        return _ONE_KIND_SUBJECTS[events[0]].format(**actions[0].target)
    return f"Your licence account changed ({len(events)} {plural(len(events), 'change')})"


_ONE_KIND_SUBJECTS = {
    "coordinator.assigned": "You are now a Software Coordinator on contract {contract}",
    "coordinator.unassigned": "You are no longer Software Coordinator of serial {serial}",
    "coordinator.removed": "Your Software Coordinator role on contract {contract} ended",
    "manager.changed": "Contract {contract} has a new Contract Manager",
    "group.renamed": "The group of serial {serial} was renamed",
}


def _listed(products: Sequence[str]) -> str:
    unique = list(dict.fromkeys(products))
    shown = ", ".join(unique[:_SUBJECT_ITEMS])
    more = len(unique) - _SUBJECT_ITEMS
    return shown + (f" and {more} more" if more > 0 else "")


def _download(after: Mapping[str, object]) -> str:
    if after.get("download"):
        return "with download rights for extensions and upgrades"
    return "without download rights"


def render_text(greeting: str, intro: str, lines: Sequence[str], footer: str) -> str:
    body = "\n".join(f"- {line}" for line in lines)
    return f"{greeting}\n\n{intro}\n\n{body}\n\n-- \n{footer}\n"


def render_html(greeting: str, intro: str, lines: Sequence[str], footer: str) -> str:
    """The same message as HTML; every piece of text is escaped, only the markup is ours."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (
        '<!DOCTYPE html>\n<html><body style="font-family: sans-serif">'
        f"<p>{html.escape(greeting)}</p><p>{html.escape(intro)}</p><ul>{items}</ul>"
        f'<p style="color: #666">{html.escape(footer)}</p></body></html>\n'
    )
