"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the mail tests."""

from __future__ import annotations

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
        return "250 OK"


class MailServer:
    """Listens on 127.0.0.1 at a free port; `stop()` and `start()` keep the port."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.refuse_after: int | None = None  # answer 421 once this many messages were accepted
        self.refuse_recipient: str | None = None  # answer 550 to this address
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
