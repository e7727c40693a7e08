"""What every store offers, whatever database is behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.model import DesiredState
from reconciler.notify.message import Message, OutboxEntry, Request
from reconciler.plan import Plan

#: Reports how much of a long piece of work is done: (done, total).
Progress = Callable[[int, int], None]

INVITED = "invited"
ACTIVE = "active"


@dataclass(frozen=True)
class Snapshot:
    """The store at one revision, read in one transaction.

    `state` is the account in the same model as the YAML; what only the
    store knows (who the resellers are, which users are still invited)
    sits beside it. `user_added` is when each user was added, as ISO 8601 in UTC.
    """

    lineage: str
    revision: int
    resellers: frozenset[str]
    state: DesiredState
    user_status: Mapping[str, str] = field(default_factory=dict)
    user_added: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEntry:
    """One action as an apply ran it, from the audit log."""

    kind: str
    target: Mapping[str, str]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


@dataclass(frozen=True)
class Applied:
    """One apply: the revision it made, who ran it, when (ISO 8601, UTC) and what it changed."""

    revision: int
    actor: str
    at: str
    changes: tuple[AuditEntry, ...]


class Store(Protocol):
    """A place the account lives: SQLite for one machine, PostgreSQL for a team."""

    url: str

    def initialize(self, resellers: Sequence[str]) -> Snapshot:
        """Create an empty store naming its resellers; raises StoreExists."""
        ...

    def snapshot(self) -> Snapshot:
        """The whole store at its current revision, read consistently."""
        ...

    def apply(
        self,
        plan: Plan,
        actor: str,
        outbox: Sequence[Message] = (),
        requests: Sequence[Request] = (),
        progress: Progress | None = None,
    ) -> int:
        """Run every action of `plan` in one transaction, queue `outbox` and record `requests` in it.

        Returns the revision afterwards: one more when the plan has actions.
        Raises StalePlan, leaving the store unchanged, when the store is not
        at the plan's lineage and revision once the transaction holds it.
        A message or request already in the store is not added twice.
        `progress`, if given, hears how many actions are written: (done, total).
        """
        ...

    def outbox(self, queued_only: bool = False) -> list[OutboxEntry]:
        """The outbox, oldest first."""
        ...

    def queued_count(self) -> int:
        """How many messages wait to be sent, without reading them."""
        ...

    def claim_queued(self, limit: int, lease_seconds: float, after_id: int = 0) -> list[OutboxEntry]:
        """Up to `limit` queued messages with ids above `after_id`, held for this caller until
        marked sent or failed, or until the lease ends; one held elsewhere is skipped."""
        ...

    def mark_sent(self, entry_id: int) -> None:
        """A server accepted the message: it is never sent again."""
        ...

    def mark_failed(self, entry_id: int, error: str | None) -> None:
        """Delivery failed (counted, with why) or was not tried (`error` None): it stays queued."""
        ...

    def activate_user(self, email: str) -> None:
        """Mark an invited user active, as their first sign-in does."""
        ...

    def history(self, limit: int) -> tuple[Applied, ...]:
        """The last `limit` applies from the audit log, newest first."""
        ...

    def close(self) -> None: ...
