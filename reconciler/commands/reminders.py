"""`reconciler remind`, as one call: the reminders due today, composed and queued in the store's outbox.

Read from the store, never from the YAML: a date that a plan has not
applied yet is not the account's. Which reminders are due is the engine's
(engine/reminders.py), their words notify's (notify/reminders.py); here they
are written to the outbox by the store's one transaction, as an apply's mail
is, with a plan of no action made at the revision the snapshot was read at.
So nothing else is written: no record changes, the audit log has nothing to
say and the revision stays where it is (a saved plan stays good); and the
outbox keeps each Message-ID once, so a reminder queued by an earlier run is
not queued again. An apply that moves the store between the read and the
write makes the write stale: the reminders are worked out again from the
store as it is now. `notify` delivers them.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.core.errors import StalePlan
from reconciler.core.plan import Plan
from reconciler.core.records import Reminded, Transaction
from reconciler.engine.reminders import DEFAULT_MARKS, check_marks, due_reminders
from reconciler.notify.compose import DEFAULT_MAIL, MailSettings
from reconciler.notify.reminders import compose_reminders
from reconciler.store.protocol import Store

#: Who the store's lock names while reminders are queued (no plan's actor: nobody changes anything).
REMINDING = "reconciler remind"
#: How many times the reminders are worked out again when an apply moved the store meanwhile.
ATTEMPTS = 3


def queue_reminders(
    store: Store,
    today: str,
    marks: Iterable[int] = DEFAULT_MARKS,
    mail: MailSettings = DEFAULT_MAIL,
) -> Reminded:
    """Queue in `store`'s outbox the reminders due on `today` (ISO 8601) at `marks` (days before an
    expiry), each once ever; returns which were queued now and which were queued already.

    Raises InputError for marks that are no days, StalePlan when applies kept moving the store
    meanwhile ATTEMPTS times over, and what the store raises (StoreError, StoreLocked).
    """
    checked = check_marks(marks)
    for attempt in range(1, ATTEMPTS + 1):
        snapshot = store.snapshot()
        due = due_reminders(snapshot, today, checked)
        reminded = Reminded(snapshot.lineage, snapshot.revision, today, checked)
        if not due:
            return reminded
        messages = compose_reminders(due, snapshot, mail)
        # No action: the store runs none, records no audit entry and stays at this revision.
        nothing = Plan(snapshot.lineage, snapshot.revision, REMINDING, desired_digest="")
        try:
            written = store.apply(Transaction(nothing, messages))
        except StalePlan:
            if attempt == ATTEMPTS:
                raise
            continue
        new = {message.message_id for message in written.queued}
        queued = tuple(r for r, m in zip(due, messages, strict=True) if m.message_id in new)
        already = tuple(r for r, m in zip(due, messages, strict=True) if m.message_id not in new)
        return Reminded(snapshot.lineage, written.revision, today, checked, queued, already)
    raise AssertionError("unreachable: the last attempt returns or raises")
