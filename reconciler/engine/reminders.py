"""Which reminders are due before an expiry, and to whom: `reconciler remind`, decided.

Each dated entry the store holds (engine/expiring.py) is due a reminder
when its day is near: at each mark of `remind --days` (14 and 3 by default),
the reminder of the smallest mark its days left are within, from the mark
down to its last day (0). Its holder hears, and the coordinator of each
serial that ends with it (R4: the serial's Software Coordinator, else the
contract's Manager), who can move the date.

Run every day, this names the same reminder again until the next mark is
reached: the outbox keeps each message once by its Message-ID, made of the
entry, its date, the mark and the person (notify/reminders.py), so each is
queued once. A run missed at one mark sends that mark's reminder late, and
the next mark's when it comes; a run first made inside the last mark sends
only that one. A new date is a new entry: it is reminded of again.

Pure: the snapshot, the day and the marks in, the reminders out.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.core.errors import InputError
from reconciler.core.records import COORDINATOR, HOLDER, Expiring, Reminder, Snapshot
from reconciler.engine.expiring import expiring

#: The days before an expiry that a reminder goes out, when `remind --days` does not say.
DEFAULT_MARKS = (14, 3)


def due_reminders(
    snapshot: Snapshot, today: str, marks: Iterable[int] = DEFAULT_MARKS
) -> tuple[Reminder, ...]:
    """The reminders due on `today` (ISO 8601) at `marks` (days before a date), in the order of the
    entries (by date, then entry), each entry's holder first, then its coordinators by address."""
    marks = check_marks(marks)
    due = []
    for entry in expiring(snapshot, today):
        mark = due_mark(entry, marks)
        if mark is None:
            continue
        due.append(Reminder(entry, mark, entry.user, HOLDER))
        due += [
            Reminder(entry, mark, person, COORDINATOR)
            for person in entry.coordinators
            if person != entry.user
        ]
    return tuple(due)


def due_mark(entry: Expiring, marks: tuple[int, ...]) -> int | None:
    """The smallest of `marks` (sorted) that `entry`'s days left are within, from 0 up; None when it is
    further off than any, or past its day."""
    if entry.days_left < 0:
        return None
    return next((mark for mark in marks if entry.days_left <= mark), None)


def check_marks(marks: Iterable[int]) -> tuple[int, ...]:
    """`marks`, each once, smallest first; InputError for none, or for one below 0."""
    checked = tuple(sorted(set(marks)))
    if not checked:
        raise InputError("name at least one number of days before an expiry to remind at, as in --days 14,3")
    if checked[0] < 0:
        raise InputError(f"--days counts days before an expiry: {checked[0]} is below 0")
    return checked
