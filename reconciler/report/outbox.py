"""The outbox for a terminal: a line per message, or each message whole with `full`.

#3  queued     carol@acme.example  Access granted: AutoCAD  (2 attempts: connection refused)
#4  uncertain  dan@acme.example    Access granted: Revit  (uncertain since 2025-03-01T09:30:00+00:00: …)
#5  sent       bob@acme.example    You are now a Software Coordinator on contract 110001234567

Outbox: 1 queued, 1 uncertain, 1 sent.

The status column is as wide as its widest word: an outbox with nothing
uncertain reads as it always has.
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
    status_width = max(len(e.status) for e in entries)
    for entry in entries:
        if full:
            yield from _whole(entry)
        else:
            yield (
                f"#{entry.id:<4} {entry.status:<{status_width}}  {entry.message.to:<{width}}  "
                f"{entry.message.subject}{_trouble(entry)}"
            )
    queued = sum(1 for e in entries if e.queued)
    uncertain = sum(1 for e in entries if e.uncertain)
    sent = len(entries) - queued - uncertain
    yield ""
    yield f"Outbox: {queued} queued, " + (f"{uncertain} uncertain, " if uncertain else "") + f"{sent} sent."


def _trouble(entry: OutboxEntry) -> str:
    if entry.uncertain:
        return f"  (uncertain since {entry.uncertain_since}: {entry.last_error})"
    if not entry.queued or not entry.attempts:
        return ""
    tries = "1 attempt" if entry.attempts == 1 else f"{entry.attempts} attempts"
    return f"  ({tries}: {entry.last_error})"


def _whole(entry: OutboxEntry) -> Iterator[str]:
    message = entry.message
    yield f"--- #{entry.id} {entry.status}{_trouble(entry)}"
    yield f"To: {message.to}"
    yield f"Subject: {message.subject}"
    yield f"From: {message.sender}"
    yield ""
    yield from message.text.rstrip("\n").splitlines()
    yield ""
