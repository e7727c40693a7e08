"""What every store offers, whatever database is behind it: the one interface the rest of reconciler
knows a store by (as httpx's transports behind one `handle_request`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from reconciler.core.records import (
    Activation,
    Applied,
    OutboxCounts,
    OutboxEntry,
    RecordedRequest,
    ResellersChanged,
    Snapshot,
    Transaction,
    Written,
)


class Store(Protocol):
    """A place the account lives: SQLite for one machine, PostgreSQL for a team (and, for tests, the
    memory store of tests/memory_store.py)."""

    url: str

    def initialize(self, resellers: Sequence[str]) -> Snapshot:
        """Create an empty store naming its resellers; raises StoreExists."""
        ...

    def snapshot(self) -> Snapshot:
        """The whole store at its current revision, read consistently."""
        ...

    def apply(self, transaction: Transaction) -> Written:
        """Write `transaction` whole or not at all, in one database transaction: run every action of its
        plan, queue its outbox and record its requests; the audit log names the plan's actor.

        Returns what it wrote: the revision afterwards (one more when the plan
        has actions), and the messages and requests it added. A message or
        request already in the store (by Message-ID, by key), or twice in the
        transaction, is added once: the first time, and only that one is
        returned. Raises StalePlan, leaving the store unchanged, when the store
        is not at the plan's lineage and revision once the transaction holds it.
        Its `progress`, if given, hears how many actions are written: (done, total);
        `notice` what the user should know of an apply that succeeded all the same
        (PostgreSQL: the answer to its COMMIT was lost, and asking again found it committed).
        When the answer to the commit is lost and the store cannot tell whether it
        committed, raises OutcomeUnknown.

        With its `adopt` (`apply --adopt`), the plan records an account that already
        exists elsewhere: its users are added `active`, and each audit entry is
        marked adopted. Inside the transaction, before anything is written, it
        raises AdoptRefused, leaving the store unchanged, when the store holds
        any user, contract or team, or the actor is none of its resellers; so of
        two adopts at once, the second refuses.
        """
        ...

    def outbox(self, queued_only: bool = False) -> list[OutboxEntry]:
        """The outbox, oldest first; with `queued_only`, the messages `notify` would send."""
        ...

    def queued_count(self) -> int:
        """How many messages wait to be sent (held by a delivery or not), without reading them."""
        ...

    def outbox_counts(self) -> OutboxCounts:
        """How many queued messages nobody holds, and how many a delivery holds now, until when."""
        ...

    def uncertain(self) -> list[OutboxEntry]:
        """The uncertain messages, oldest first: a server may or may not have them."""
        ...

    def claim_queued(self, limit: int, lease_seconds: float, after_id: int = 0) -> list[OutboxEntry]:
        """Up to `limit` queued messages with ids above `after_id`, held for this caller until
        marked sent, failed or uncertain, or until the lease ends; one held elsewhere is skipped."""
        ...

    def mark_sent(self, entry_id: int) -> None:
        """A server accepted the message: it is never sent again."""
        ...

    def mark_failed(self, entry_id: int, error: str | None) -> None:
        """Delivery failed (counted, with why) or was not tried (`error` None): it stays queued."""
        ...

    def mark_uncertain(self, entry_id: int, error: str) -> None:
        """The whole message went out and the server's answer was lost (counted, with why): it is
        uncertain, released, and never claimed again unless `requeue_uncertain` is asked to."""
        ...

    def requeue_uncertain(self, entry_ids: Sequence[int]) -> list[int]:
        """Queue the uncertain messages among `entry_ids` again, to be sent as they are (same
        Message-ID); returns those it queued, in order. Any other id is left as it is."""
        ...

    def activate_users(self, emails: Sequence[str], actor: str) -> Activation:
        """Mark the invited users among `emails` active, as their first sign-in does, in one short
        transaction, each recorded in the audit log as `actor`'s at the store's revision (which does not
        move: a saved plan stays good); says which were activated, already active, or unknown."""
        ...

    def change_resellers(
        self, actor: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> ResellersChanged:
        """Add and remove resellers, under the apply lock, audited as `actor`'s; the revision moves when
        anything changed (a saved plan was judged with the old resellers). Raises ResellersOnly unless
        `actor` is a reseller, LastReseller when none would be left; either way nothing is changed."""
        ...

    def history(
        self, limit: int, user: str | None = None, since: str | None = None, kinds: Sequence[str] = ()
    ) -> tuple[Applied, ...]:
        """The last `limit` applies and chores from the audit log, newest first, with their sources;
        with `user`, `since` (an ISO date or time) or `kinds` (a kind, or a family such as `access`),
        only the entries that match, and only the applies that have any."""
        ...

    def requests(self, open_only: bool = False) -> tuple[RecordedRequest, ...]:
        """The requests `apply --request` recorded, oldest first; with `open_only`, those no apply closed."""
        ...

    def user_snapshot(self, email: str) -> Snapshot:
        """The part of the store that concerns one user, read consistently: the user (absent when the
        store has none), their grants and teams, the serials they hold or coordinate, those serials'
        and their own contracts with the coordinators and managers named, and the resellers."""
        ...
