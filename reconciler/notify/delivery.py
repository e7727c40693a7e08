"""Delivery: the outbox, over SMTP, each message marked sent only once the server accepted it.

A message the server refuses stays queued with the reason; when the server
cannot be reached after the retries, the run stops and everything left stays
queued for the next `reconciler notify`. A failure before the whole message
went out is retried: the server cannot have it. A reply lost after it went
out (the connection dropped or timed out before the server answered) is
never retried: the server may have taken the message (RFC 5321 §6.1), so it
is marked uncertain, named in the report, and queued again only when a
resend is asked for (`send_queued`'s `resend`), under the same Message-ID.

Claims on the store are leases that keep two deliveries running at once from
sending a message twice; the report counts what another delivery holds apart
from what is still queued because it failed or was not tried.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from reconciler.core.errors import InputError, plural
from reconciler.core.records import OutboxCounts, OutboxEntry, Progress
from reconciler.notify.mime import to_email
from reconciler.notify.smtp import ReplyLost, SmtpConnection, SmtpSettings


class Outbox(Protocol):
    """What delivery needs of a store: its queue, claimed a batch at a time. Every Store has it."""

    def claim_queued(self, limit: int, lease_seconds: float, after_id: int = 0) -> list[OutboxEntry]: ...

    def mark_sent(self, entry_id: int) -> None: ...

    def mark_failed(self, entry_id: int, error: str | None) -> None: ...

    def mark_uncertain(self, entry_id: int, error: str) -> None: ...

    def requeue_uncertain(self, entry_ids: Sequence[int]) -> list[int]: ...

    def queued_count(self) -> int: ...

    def outbox_counts(self) -> OutboxCounts: ...

    def uncertain(self) -> list[OutboxEntry]: ...


BATCH = 100
#: How long a claim holds a message: far longer than sending a batch takes.
LEASE_SECONDS = 600.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to try: waits of first_wait, ×factor, … between attempts."""

    attempts: int = 3
    first_wait: float = 1.0
    factor: float = 2.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetryPolicy:
        """The policy RECONCILER_SMTP_ATTEMPTS asks for (3 attempts by default); InputError for a value
        that is not a whole number of at least 1."""
        attempts = env.get("RECONCILER_SMTP_ATTEMPTS", "3")
        if not attempts.isdigit() or int(attempts) < 1:
            raise InputError("RECONCILER_SMTP_ATTEMPTS must be a whole number of at least 1")
        return cls(attempts=int(attempts))

    def waits(self) -> Iterator[float]:
        """The wait before each attempt: none before the first."""
        wait = self.first_wait
        for attempt in range(self.attempts):
            yield 0.0 if attempt == 0 else wait
            if attempt:
                wait *= self.factor


@dataclass
class DeliveryReport:
    """What a delivery did, and the queue as it left it.

    `still_queued` messages wait for the next delivery (they failed, or were
    not tried), each reason once in `reasons`; `held` are another delivery's,
    which is sending them now (its claim ends by `held_until` at the latest).
    `uncertain` are the messages whose reply this delivery lost, each with why
    as its `last_error`; `uncertain_before` those uncertain already (or found
    so by another delivery meanwhile). `requeued` is what a resend queued again
    before the delivery, None when none was asked for.
    """

    sent: int = 0
    still_queued: int = 0
    held: int = 0
    held_until: str | None = None
    reasons: list[str] = field(default_factory=list)
    uncertain: list[OutboxEntry] = field(default_factory=list)
    uncertain_before: list[OutboxEntry] = field(default_factory=list)
    requeued: list[int] | None = None

    def note(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    @property
    def settled(self) -> bool:
        """Whether nothing this delivery had to send is left to chance: none of it still queued (what
        another delivery holds is that one's to report), none found uncertain."""
        return not (self.still_queued or self.uncertain)


class Unreachable(Exception):
    """The server could not be reached, or dropped us, on every attempt."""


class Refused(Exception):
    """The server refused this one message for good."""


class Uncertain(Exception):
    """The whole message went out and the server's answer was lost: it may have been delivered."""


Connect = Callable[[SmtpSettings], SmtpConnection]


class Courier:
    """Sends messages over one connection, reconnecting and waiting as the policy says."""

    def __init__(
        self,
        settings: SmtpSettings,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        connect: Connect = SmtpConnection,
    ) -> None:
        self.settings, self.policy, self.sleep, self.connect = settings, policy, sleep, connect
        self._connection: SmtpConnection | None = None

    def worst_case_seconds(self) -> float:
        """How long one message may take when every attempt times out."""
        return self.policy.attempts * self.settings.timeout + sum(self.policy.waits())

    def send(self, entry: OutboxEntry) -> None:
        """Deliver one message, retrying as the policy says; raises Refused, Unreachable, or Uncertain
        (never retried: the server may have the message)."""
        try:
            email = to_email(entry.message, entry.created_at)
        except (ValueError, UnicodeError) as error:
            raise Refused(f"it cannot be written as an e-mail ({error})") from None
        problem = "no attempt made"
        for wait in self.policy.waits():
            self.sleep(wait)
            try:
                if self._connection is None:
                    self._connection = self.connect(self.settings)
                self._connection.send(email, entry.message.sender, entry.message.to)
                return
            except ReplyLost as lost:
                self.close()
                raise Uncertain(self._unanswered(lost)) from None
            except smtplib.SMTPRecipientsRefused as error:
                raise Refused(_refusal(next(iter(error.recipients.values())))) from None
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
                if error.smtp_code >= 500:
                    raise Refused(_refusal((error.smtp_code, error.smtp_error))) from None
                problem = _refusal((error.smtp_code, error.smtp_error))
            except (smtplib.SMTPException, OSError) as error:
                problem = f"{self.settings.redacted}: {_describe(error)}"
            self.close()
        raise Unreachable(problem)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _unanswered(self, lost: ReplyLost) -> str:
        if isinstance(lost.cause, TimeoutError):
            return (
                f"no answer came within {self.settings.timeout:g} s after the whole message went out "
                f"({self.settings.redacted}: timed out)"
            )
        return (
            "the connection was lost after the whole message went out, before the server answered "
            f"({self.settings.redacted}: {lost})"
        )


def deliver(store: Outbox, courier: Courier, progress: Progress | None = None) -> DeliveryReport:
    """Send every queued message once, oldest first; say what was sent and what still waits, and why.

    `progress`, if given, hears how many messages have been sent of those queued at the start.
    """
    queued = store.queued_count() if progress else 0
    report = DeliveryReport()
    last_id = 0
    # A claim must outlive the batch even if every message times out, or another delivery could
    # claim and send a message this one is still sending.
    batch_size = max(1, min(BATCH, int(LEASE_SECONDS // courier.worst_case_seconds())))
    try:
        while batch := store.claim_queued(batch_size, LEASE_SECONDS, after_id=last_id):
            last_id = batch[-1].id
            if not _send_batch(store, courier, batch, report, progress, queued):
                break
    finally:
        courier.close()
    return _finish(store, report)


def send_queued(
    store: Outbox,
    courier: Courier | None,
    progress: Progress | None = None,
    *,
    resend: Sequence[int] = (),
    resend_uncertain: bool = False,
) -> DeliveryReport:
    """`reconciler notify`: deliver the queue through `courier`; without one (no SMTP server set),
    an InputError that says how many messages wait and how to read them.

    `resend` names uncertain messages by outbox id (`resend_uncertain`: every one) to queue again
    first, and so to send once more as they are, under the same Message-ID: asked for by someone who
    found they did not arrive. An id that is not an uncertain message is an InputError, and then
    nothing is queued again or sent.
    """
    if courier is None:
        queued = store.queued_count()
        raise InputError(
            f"RECONCILER_SMTP_URL is not set, so nothing was sent ({queued} {plural(queued, 'e-mail')} "
            "queued); set it to smtp://host:port, or write the queue to a Maildir with "
            "`reconciler outbox --maildir DIR`"
        )
    requeued = _requeue(store, resend, resend_uncertain) if resend or resend_uncertain else None
    report = deliver(store, courier, progress)
    report.requeued = requeued
    return report


def _requeue(store: Outbox, resend: Sequence[int], every: bool) -> list[int]:
    uncertain = [entry.id for entry in store.uncertain()]
    others = [entry_id for entry_id in dict.fromkeys(resend) if entry_id not in uncertain]
    if others:
        named = _and([f"#{entry_id}" for entry_id in others])
        are = "is not an uncertain message" if len(others) == 1 else "are not uncertain messages"
        raise InputError(
            f"nothing was sent: {named} {are} (`reconciler outbox` shows each message's state); --resend "
            "sends again only a message whose delivery is unknown"
        )
    return store.requeue_uncertain(uncertain if every else list(dict.fromkeys(resend)))


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _send_batch(
    store: Outbox,
    courier: Courier,
    batch: list[OutboxEntry],
    report: DeliveryReport,
    progress: Progress | None,
    queued: int,
) -> bool:
    """Send a claimed batch; False when the server is out of reach. Whatever happens, nothing of the
    batch stays claimed: what was not tried is released for the next delivery."""
    position = 0
    try:
        for position, entry in enumerate(batch):
            try:
                courier.send(entry)
            except Refused as refused:
                store.mark_failed(entry.id, str(refused))
                report.note(f"{entry.message.to}: {refused}")
                continue
            except Uncertain as uncertain:
                store.mark_uncertain(entry.id, str(uncertain))
                report.uncertain.append(replace(entry, last_error=str(uncertain)))
                continue
            except Unreachable as unreachable:
                store.mark_failed(entry.id, str(unreachable))
                report.note(str(unreachable))
                position += 1
                return False
            store.mark_sent(entry.id)
            report.sent += 1
            if progress:
                progress(report.sent, queued)
        position = len(batch)
        return True
    finally:
        for untried in batch[position:]:
            store.mark_failed(untried.id, None)


def _finish(store: Outbox, report: DeliveryReport) -> DeliveryReport:
    counts = store.outbox_counts()
    report.still_queued, report.held, report.held_until = counts.queued, counts.held, counts.held_until
    found = {entry.id for entry in report.uncertain}
    report.uncertain_before = [entry for entry in store.uncertain() if entry.id not in found]
    return report


def _refusal(reply: tuple[int, bytes | str]) -> str:
    code, text = reply
    said = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"the server refused it ({code} {said.strip()})"


def _describe(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__
