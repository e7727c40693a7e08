"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the mail tests.

It can misbehave as real servers and networks do: refuse a recipient, answer
421 after some messages, drop the connection before DATA, take a message and
be slow to answer, or take a message and lose the answer (the connection
closes after the client's final ".", the message kept as received).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    """One message as the server got it: the envelope and the parsed e-mail."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    email: EmailMessage
    data: bytes  # the message as it came, after the final "." was taken off

    @property
    def subject(self) -> str:
        return str(self.email["Subject"])

    @property
    def text(self) -> str:
        part = self.email.get_body(("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")

    @property
    def html(self) -> str:
        part = self.email.get_body(("html",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.server.drop_at_rcpt > 0:
            self.server.drop_at_rcpt -= 1
            server.transport.close()  # gone before DATA: the client knows nothing was taken
            return "250 OK"
        if address == self.server.refuse_recipient:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.server.lock:
            accepted = len(self.server.received)
            if self.server.refuse_after is not None and accepted >= self.server.refuse_after:
                return "421 Service not available, closing transmission channel"
            parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.server.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), parsed, envelope.original_content)
            )
            self.server.taken += 1
            every = self.server.lose_reply_every
            if every is not None and self.server.taken % every == 0:
                # Taken for delivery, and the connection drops before the reply: what the client sees
                # is a server gone after the final ".", as when a network path or the server dies.
                self.server.replies_lost += 1
                server.transport.close()
        if self.server.reply_delay:  # taken, and slow to say so
            await asyncio.sleep(self.server.reply_delay)
        return "250 OK"  # not sent when the connection is closed: nothing reaches the client


class MailServer:
    """Listens on 127.0.0.1 at a free port; `stop()` and `start()` keep the port."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.refuse_after: int | None = None  # answer 421 once this many messages were accepted
        self.refuse_recipient: str | None = None  # answer 550 to this address
        #: Lose the reply to every Nth message taken (1: to every one): the message is kept as received,
        #: and the connection closes after the client's final "." instead of answering it.
        self.lose_reply_every: int | None = None
        self.taken = 0  # messages taken, counted over the server's life
        self.replies_lost = 0
        self.drop_at_rcpt = 0  # close the connection at the next N RCPT commands, before any DATA
        self.reply_delay = 0.0  # seconds between taking a message and answering
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        """What `address` received, in order."""
        return [r for r in self.received if address in r.rcpt_tos]

    def recipients(self) -> list[str]:
        """Everybody who received something, once each, sorted."""
        return sorted({to for r in self.received for to in r.rcpt_tos})
