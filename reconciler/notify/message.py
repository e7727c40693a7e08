"""E-mail as plain data: what the outbox stores and delivery reads.

A Message is composed before an apply, written to the store's outbox in the
apply's own transaction, and turned into MIME only when it is delivered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

NOTIFICATION = "notification"
REQUEST = "request"


@dataclass(frozen=True)
class Message:
    """One e-mail to one person: a plain-text body and an HTML alternative."""

    message_id: str
    to: str
    subject: str
    text: str
    html: str
    kind: str = NOTIFICATION


@dataclass(frozen=True)
class OutboxEntry:
    """A message in the store's outbox, with its delivery record."""

    id: int
    message: Message
    revision: int
    created_at: str
    attempts: int = 0
    last_error: str | None = None
    sent_at: str | None = None

    @property
    def queued(self) -> bool:
        return self.sent_at is None


def message_id(*parts: object, domain: str) -> str:
    """A Message-ID that the same parts always give, so a resent message is recognisably the same."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


@dataclass(frozen=True)
class Request:
    """A blocked action sent to the people who may perform it; `key` records it once."""

    key: str
    requester: str
    kind: str
    target: dict[str, str]
    before: dict[str, object] | None
    after: dict[str, object] | None
    requested_of: tuple[str, ...]
