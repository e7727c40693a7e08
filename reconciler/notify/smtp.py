"""Where mail goes: `RECONCILER_SMTP_URL`, parsed once, and one SMTP connection at a time.

    smtp://host:port                      plain SMTP (port 25 when omitted)
    smtp://host:587?starttls=true         upgrade with STARTTLS
    smtps://user:password@host            SMTP over TLS (port 465 when omitted)

The password may come from the URL or from `RECONCILER_SMTP_PASSWORD`; it is
never printed: `redacted` is what messages show. Who a message comes from is
the message's own, fixed when it was queued (compose.MailSettings), not a
setting of the delivery.

A connection knows when a message has gone out whole: once the line with the
lone "." that ends DATA was handed to the network, the server may take the
message for delivery, and it says so only in its reply. A failure before that
is a message not delivered; the reply lost after it (the connection dropped,
the wait timed out) is ReplyLost: the message may or may not have been taken
(RFC 5321 §6.1), and sending it again may deliver it twice.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from reconciler.core.errors import InputError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: bool = False  # SMTP over TLS from the first byte (smtps)
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings | None:
        """The settings in `env`, or None when RECONCILER_SMTP_URL is not set."""
        url = env.get("RECONCILER_SMTP_URL", "").strip()
        if not url:
            return None
        return parse_smtp_url(url, password=env.get("RECONCILER_SMTP_PASSWORD") or None)

    @property
    def redacted(self) -> str:
        """The URL without its password, for messages."""
        scheme = "smtps" if self.tls else "smtp"
        user = f"{self.username}:***@" if self.password else (f"{self.username}@" if self.username else "")
        query = "?starttls=true" if self.starttls else ""
        return f"{scheme}://{user}{self.host}:{self.port}{query}"


def parse_smtp_url(url: str, password: str | None = None) -> SmtpSettings:
    """Settings from an smtp:// or smtps:// URL; a password in the URL wins over `password`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise InputError("RECONCILER_SMTP_URL must look like smtp://host:port or smtps://user@host")
    try:
        port = parts.port
    except ValueError:
        raise InputError("RECONCILER_SMTP_URL has a port that is not a number") from None
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"starttls", "timeout"})
    if unknown:
        raise InputError(
            f"RECONCILER_SMTP_URL: unknown option {', '.join(unknown)}; known: starttls, timeout"
        )
    tls = parts.scheme == "smtps"
    timeout = _seconds(query.get("timeout", "30"))
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if tls else 25),
        tls=tls,
        starttls=query.get("starttls", "").lower() in _TRUE,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else password,
        timeout=timeout,
    )


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise InputError(f"RECONCILER_SMTP_URL: timeout must be a number of seconds above 0, not {text!r}")
    return seconds


class ReplyLost(Exception):
    """The whole message went out and no answer came: the connection dropped or the wait timed out.
    The server may have taken it. Its argument is what failed, `cause` the error itself."""

    def __init__(self, what: str, cause: OSError) -> None:
        super().__init__(what)
        self.cause = cause


class _Smtp(smtplib.SMTP):
    """smtplib's SMTP, noting when a message has gone out whole: `sendmail` hands DATA's text, ended
    by CRLF "." CRLF, to `send` in one piece, and everything else it sends is a command."""

    message_out = False

    def send(self, s: ReadableBuffer | str) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.message_out = True


class _SmtpOverTls(_Smtp, smtplib.SMTP_SSL):
    """The same, over TLS from the first byte."""


class SmtpConnection:
    """One connection to the server, logged in; `send` hands it one message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        context = ssl.create_default_context()
        if settings.tls:
            self._smtp: _Smtp = _SmtpOverTls(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            self._smtp = _Smtp(settings.host, settings.port, timeout=settings.timeout)
        try:
            if settings.starttls:
                self._smtp.starttls(context=context)
            if settings.username:
                self._smtp.login(settings.username, settings.password or "")
        except BaseException:
            self.close()
            raise

    def send(self, email: EmailMessage, sender: str, recipient: str) -> None:
        """Send from `sender` to `recipient` only, whatever the headers say. Raises ReplyLost when the
        message went out whole and the server's answer did not come; smtplib's errors otherwise (an
        answer the server gave, or a failure before the message was out, when it cannot have it)."""
        self._smtp.message_out = False
        try:
            self._smtp.send_message(email, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPResponseException:
            raise  # an answer: the server said what became of the message
        except OSError as error:  # SMTPServerDisconnected, a timeout, a reset: no answer
            if self._smtp.message_out:
                raise ReplyLost(str(error) or type(error).__name__, error) from error
            raise

    def close(self) -> None:
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            self._smtp.close()
