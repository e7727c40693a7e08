"""Reminders by e-mail before an expiry: the holder of a dated entry, and the coordinators of what ends
with it, hear the date, what ends, and who can move the date.

Which reminders are due is the engine's (engine/reminders.py); this words
them. Each message greets its reader by name where the store knows them as
a user, names the day and the days left, lists each serial that ends
(product, serial, group, contract, and who coordinates it), and says what to
do: to the holder, whom to ask to move the date; to a coordinator, how to
move it. Every piece of text goes through the composer's renderers: scrubbed,
and escaped in HTML. Subjects hold e-mail addresses, product names, serial
numbers and the date, as compose.py's do.

A reminder's Message-ID is made of the store's lineage, the entry (what the
date stands on, and its target), its date, the mark and the person, and of
nothing that changes from one day to the next: the outbox, which keeps one
message per Message-ID, queues each reminder once however often `remind`
runs, and a new date makes a new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.kinds import TARGET_KEYS, Record
from reconciler.core.records import (
    HOLDER,
    NOTIFICATION,
    Expiring,
    Message,
    Named,
    Reminder,
    ServedSerial,
    Snapshot,
)
from reconciler.notify.compose import DEFAULT_MAIL, MailSettings, message_id, render_html, render_text
from reconciler.notify.requests import full_names, greeting

#: What the Message-ID of a reminder is made of, beside its entry: one word for all of them.
REMINDER = "reminder"


def reminder_id(reminder: Reminder, lineage: str, settings: MailSettings = DEFAULT_MAIL) -> str:
    """The Message-ID of `reminder`: the same for the same entry, date, mark and person, every day."""
    entry = reminder.expiring
    target = [f"{key}={entry.target[key]}" for key in TARGET_KEYS if key in entry.target]
    return message_id(
        lineage,
        REMINDER,
        entry.record,
        *target,
        entry.expires,
        reminder.mark,
        reminder.to,
        domain=settings.domain,
    )


def compose_reminders(
    reminders: Sequence[Reminder], snapshot: Snapshot, settings: MailSettings = DEFAULT_MAIL
) -> list[Message]:
    """One e-mail per reminder, in their order; `snapshot` (the store they were found in) names the
    people and is the account they belong to."""
    names = full_names(snapshot)
    messages = []
    for reminder in reminders:
        entry, to = reminder.expiring, reminder.to
        holder = reminder.role == HOLDER
        intro = _intro(entry, holder, names)
        lines = [_serial_line(serial, entry, holder) for serial in entry.serials]
        footer = _what_to_do(entry, holder, names)
        messages.append(
            Message(
                message_id=reminder_id(reminder, snapshot.lineage, settings),
                to=to,
                subject=scrub(_subject(entry, holder)),
                text=render_text(greeting(to, names), intro, lines, footer),
                html=render_html(greeting(to, names), intro, lines, footer),
                sender=settings.sender,
                kind=NOTIFICATION,
            )
        )
    return messages


def _subject(entry: Expiring, holder: bool) -> str:
    """`Reminder: your access to AutoCAD (serial 399-12345678) lasts until 2027-03-31`."""
    whose = "your" if holder else f"{entry.user}'s"
    products = _products(entry.serials)
    if entry.record is Record.ACCESS:
        what = (
            f"{whose} access to {products} (serial {entry.target['serial']})"
            if products
            else f"{whose} access"
        )
    elif entry.record is Record.TEAM_MEMBER:
        what = f"{whose} access to {products} through a team" if products else f"{whose} membership of a team"
    else:
        what = f"{whose} licence account" if holder else f"{entry.user}'s place in the licence account"
    return f"Reminder: {what} lasts until {entry.expires}"


def _products(serials: Sequence[ServedSerial]) -> str:
    unique = list(dict.fromkeys(serial.product for serial in serials))
    shown = ", ".join(unique[:3])
    return shown + (f" and {len(unique) - 3} more" if len(unique) > 3 else "")


def _intro(entry: Expiring, holder: bool, names: Mapping[str, str]) -> str:
    """What ends, and when: `Your access to the serial below lasts until 2027-03-31, in 14 days.`"""
    until = f"lasts until {entry.expires} ({_when(entry.days_left)})"
    after = "from the day after, the first apply of the account removes it"
    person = _person(Named(entry.user, names.get(entry.user)))
    if entry.record is Record.ACCESS:
        whose = "Your access" if holder else f"The access of {person}"
        ends = f"{whose} to the serial below {until}; {after}"
    elif entry.record is Record.TEAM_MEMBER:
        team = entry.target["team"]
        whose = "Your membership" if holder else f"The membership of {person}"
        ends = f"{whose} of the team {team} {until}; {after}"
        if entry.serials:
            ends += ", with the access the team gives"
    else:
        whose = "Your place" if holder else f"The place of {person}"
        ends = f"{whose} in your company's licence account {until}; {after}: no more signing in"
        if entry.serials:
            ends += ", and no more access"
    return ends + (":" if entry.serials else ".")


def _when(days: int) -> str:
    if days == 0:
        return "that is today"
    if days == 1:
        return "tomorrow"
    return f"in {days:,} {plural(days, 'day')}"


def _serial_line(serial: ServedSerial, entry: Expiring, holder: bool) -> str:
    """`AutoCAD (serial 399-12345678, group Design Studio) on contract 110001234567, coordinated by Bob
    Okafor (bob@acme.example)`, and whether the user keeps it another way."""
    group = f", group {serial.group}" if serial.group else ""
    role = "the Contract Manager" if serial.by_manager else "its Software Coordinator"
    line = (
        f"{serial.product} (serial {serial.number}{group}) on contract {serial.contract}; "
        f"{role}: {_person(serial.coordinator)}"
    )
    if serial.number in entry.kept:
        line += f" ({'you keep' if holder else 'they keep'} this one: it comes another way too)"
    return line


def _what_to_do(entry: Expiring, holder: bool, names: Mapping[str, str]) -> str:
    """Whom to ask (the holder) or what to do (a coordinator), and that nothing is needed otherwise."""
    field = _field(entry)
    if holder:
        people = [
            _person(Named(email, names.get(email))) for email in entry.coordinators if email != entry.user
        ]
        whom = _listed(people) if people else "whoever looks after your company's licence account"
        return (
            f"If you still need it after {entry.expires}, ask {whom} to move the date ({field}) in the "
            "account's files; otherwise there is nothing to do. Sent by reconciler."
        )
    return (
        f"If they still need it after {entry.expires}, move the date ({field}) in the account's files and "
        "apply the change, or ask the Contract Manager to; otherwise there is nothing to do: the first apply "
        "after that day removes it. Sent by reconciler."
    )


def _field(entry: Expiring) -> str:
    """Where the date is written in the account's files."""
    if entry.record is Record.ACCESS:
        return f"`expires` of the access to serial {entry.target['serial']} of user {entry.user}"
    if entry.record is Record.TEAM_MEMBER:
        return f"`expires` of member {entry.user} of team {entry.target['team']}"
    return f"`expires` of user {entry.user}"


def _person(person: Named) -> str:
    """`Bob Okafor (bob@acme.example)`, or the address alone for one the store knows by no name."""
    return f"{person.name} ({person.email})" if person.name else person.email


def _listed(items: Sequence[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
