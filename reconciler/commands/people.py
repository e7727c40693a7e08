"""What `users show` does, as one call: read the part of the store that concerns one user and their
last changes, and put them together (engine/people.py).

It reads only that part (`Store.user_snapshot`, the audit log by its indexed
subject), so it answers as fast for a store of 100,000 users as of ten.
"""

from __future__ import annotations

from reconciler.core.records import UserOverview
from reconciler.engine.people import check_known, user_overview
from reconciler.store.protocol import Store

#: How many of the applies that concerned the user `users show` lists, newest first.
CHANGES_SHOWN = 10


def show_user(store: Store, email: str, changes: int = CHANGES_SHOWN) -> UserOverview:
    """What `email` (any case) has in `store` and why, with the last `changes` applies that concerned
    them; InputError, naming the address, when the store has no such user."""
    snapshot = store.user_snapshot(email)
    check_known(snapshot, email)
    return user_overview(snapshot, email, store.history(changes, user=email))
