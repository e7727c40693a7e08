"""The outbox for a terminal: a line per message, or each message whole with `full`.

#3  queued  carol@acme.example  Access granted: AutoCAD  (2 attempts: connection refused)
#4  sent    bob@acme.example    You are now a Software Coordinator on contract 110001234567

Outbox: 1 queued, 1 sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from reconciler.core.characters import scrub
from reconciler.core.records import OutboxEntry


def render_outbox(entries: Sequence[OutboxEntry], full: bool = False) -> Iterator[str]:
    """The outbox line by line, scrubbed: a message queued before its text was checked shows U+FFFD."""
    return (scrub(line) for line in _lines(entries, full))


def _lines(entries: Sequence[OutboxEntry], full: bool) -> Iterator[str]:
    if not entries:
        yield "The outbox is empty."
        return
    width = max(len(e.message.to) for e in entries)
    for entry in entries:
        if full:
            yield from _whole(entry)
        else:
            yield (
                f"#{entry.id:<4} {_status(entry):<6}  {entry.message.to:<{width}}  {entry.message.subject}"
                + (_trouble(entry))
            )
    queued = sum(1 for e in entries if e.queued)
    yield ""
    yield f"Outbox: {queued} queued, {len(entries) - queued} sent."


def _status(entry: OutboxEntry) -> str:
    return "queued" if entry.queued else "sent"


def _trouble(entry: OutboxEntry) -> str:
    if not entry.queued or not entry.attempts:
        return ""
    tries = "1 attempt" if entry.attempts == 1 else f"{entry.attempts} attempts"
    return f"  ({tries}: {entry.last_error})"


def _whole(entry: OutboxEntry) -> Iterator[str]:
    message = entry.message
    yield f"--- #{entry.id} {_status(entry)}{_trouble(entry)}"
    yield f"To: {message.to}"
    yield f"Subject: {message.subject}"
    yield f"From: {message.sender}"
    yield ""
    yield from message.text.rstrip("\n").splitlines()
    yield ""
